"""The history store: every completed run and its findings (redacted, as exported).

SQLAlchemy Core over SQLite by default (``reports/history.sqlite``, created on first use) or
PostgreSQL for a team (``history.url`` in params or ``HARDEN_HISTORY_URL``). The schema is
managed by Alembic (``harden_lib/history/migrations``) and migrated on open, under a lock, so
two processes opening a fresh store at once do not race to create it.

Concurrent writers: every write is one short transaction. On SQLite it starts with
``BEGIN IMMEDIATE`` (the write lock is taken up front, so a second writer waits for it — up to
the busy timeout — instead of failing on a read-then-write upgrade), in WAL mode so readers are
not blocked; on PostgreSQL, the ``(environment, run_id)`` unique key makes recording the same
run twice (a run, then ``harden history import`` of its folder) a no-op instead of a duplicate.

A run is recorded from the files the run wrote (``run.json`` and ``findings.json``): the store
holds exactly what the exports show, already scrubbed, and ``harden history import`` of an old
reports folder takes the same path as a live run.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from harden_lib.errors import HardenError
from harden_lib.redact import redact_url, scrub_output, scrub_tree

ENV_VAR = "HARDEN_HISTORY_URL"
DEFAULT_FILE = "history.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key for migrations ("harden history" as a 63-bit number).
_PG_LOCK = 0x68617264656E68

METADATA = sa.MetaData()
RUNS = sa.Table(
    "harden_runs",
    METADATA,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(200), nullable=False),
    sa.Column("started", sa.DateTime, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("params_digest", sa.String(128), nullable=False, server_default=""),
    sa.Column("fail_on", sa.String(20), nullable=False, server_default="high"),
    sa.Column("blocking", sa.Integer, nullable=False, server_default="0"),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("versions", sa.JSON, nullable=False),
    sa.Column("report_dir", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.String(20), nullable=False, server_default="run"),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("environment", "run_id", name="uq_harden_runs_env_run"),
    sa.Index("ix_harden_runs_env_started", "environment", "started"),
)
FINDINGS = sa.Table(
    "harden_findings",
    METADATA,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("harden_runs.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("finding_id", sa.String(300), nullable=False),
    sa.Column("area", sa.String(100), nullable=False),
    sa.Column("check_id", sa.String(200), nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("raw_status", sa.String(20), nullable=True),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("target", sa.Text, nullable=False, server_default=""),
    sa.Column("observed", sa.Text, nullable=False, server_default=""),
    sa.Column("expected", sa.Text, nullable=False, server_default=""),
    sa.Column("remediation", sa.Text, nullable=False, server_default=""),
    sa.Column("waiver", sa.Text, nullable=False, server_default=""),
    sa.Column("blocking", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("refs", sa.JSON, nullable=False),
    sa.Index("ix_harden_findings_run", "run_pk"),
    sa.Index("ix_harden_findings_fid", "finding_id"),
)


class HistoryError(HardenError):
    """The history store could not be opened, read or written (the message is safe to show)."""


@dataclass
class RunRecord:
    """One completed run of one environment."""

    environment: str
    run_id: str
    started: datetime
    verdict: str
    exit_code: int
    duration_s: float = 0.0
    params_digest: str = ""
    fail_on: str = "high"
    blocking: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    report_dir: str = ""
    source: str = "run"
    pk: int | None = None

    @property
    def label(self) -> str:
        return f"{self.environment}/{self.run_id}"


@dataclass
class FindingRecord:
    """One finding of a recorded run, with its stable id and whether it closed the gate."""

    finding_id: str
    area: str
    check_id: str
    status: str
    severity: str
    title: str = ""
    target: str = ""
    observed: str = ""
    expected: str = ""
    remediation: str = ""
    raw_status: str | None = None
    waiver: str = ""
    blocking: bool = False
    references: list[str] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.status in ("fail", "error")


# --------------------------------------------------------------------------- where


def history_url(env: Any = None, reports_dir: str | os.PathLike[str] | None = None) -> str:
    """The store of an environment: ``history.url``, else ``HARDEN_HISTORY_URL``, else SQLite.

    The SQLite default lives in the reports folder (``reports/history.sqlite``), next to the
    runs it describes.
    """
    section = getattr(env, "history", None)
    url = getattr(section, "url", None) or os.environ.get(ENV_VAR, "").strip()
    if url:
        return url
    if reports_dir is None:
        from harden_lib.notebook import project_root

        reports_dir = project_root() / "reports"
    return f"sqlite:///{Path(reports_dir).resolve() / DEFAULT_FILE}"


def display_url(url: str) -> str:
    """The URL as it may be shown: without its password (and without registered secrets)."""
    return scrub_output(redact_url(url))


def _engine_url(url: str) -> str:
    # SQLAlchemy's bare postgresql:// means psycopg2; harden ships psycopg 3.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _reason(exc: BaseException) -> str:
    """A short, scrubbed reason without exception class names or SQL."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else "unknown error"
    return scrub_output(redact_url(text))[:300]


# --------------------------------------------------------------------------- the store


class HistoryStore:
    """Runs and findings in one SQL database. Open with ``HistoryStore(url)``; close when done."""

    def __init__(self, url: str, *, migrate: bool = True, busy_timeout: float = 60.0) -> None:
        self.url = url
        self.shown = display_url(url)
        try:
            engine_url = sa.make_url(_engine_url(url))
        except Exception:
            raise HistoryError(f"history URL {self.shown} is not a valid SQLAlchemy URL") from None
        self.sqlite = engine_url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.sqlite:
            database = engine_url.database or ""
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            kwargs["pool_pre_ping"] = True
            if engine_url.get_backend_name() == "postgresql":
                kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            self.engine = sa.create_engine(engine_url, **kwargs)
        except Exception as exc:
            raise HistoryError(f"cannot use the history store {self.shown}: {_reason(exc)}") from None
        if self.sqlite:
            _sqlite_pragmas(self.engine)
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self, write: bool = False):
        try:
            return self.engine.begin() if write else self.engine.connect()
        except Exception as exc:
            raise HistoryError(f"cannot open the history store {self.shown}: {_reason(exc)}") from None

    def migrate(self) -> str:
        """Bring the schema to the newest revision (a no-op when it is there); returns the revision."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            with self.engine.begin() as conn:
                if not self.sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                if current != head:
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        except HistoryError:
            raise
        except Exception as exc:
            raise HistoryError(f"cannot open the history store {self.shown}: {_reason(exc)}") from None
        return head or ""

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # ------------------------------------------------------------------ writing

    def record(self, run: RunRecord, findings: Sequence[FindingRecord]) -> bool:
        """Record one run with its findings; False when that run was recorded already."""
        now = datetime.now(UTC).replace(tzinfo=None)
        row = {
            "environment": run.environment,
            "run_id": run.run_id,
            "started": _naive_utc(run.started),
            "duration_s": float(run.duration_s or 0.0),
            "verdict": run.verdict,
            "exit_code": int(run.exit_code),
            "params_digest": run.params_digest or "",
            "fail_on": run.fail_on or "high",
            "blocking": int(run.blocking),
            "counts": dict(run.counts),
            "versions": dict(run.versions),
            "report_dir": run.report_dir or "",
            "source": run.source,
            "recorded_at": now,
        }
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    sa.select(RUNS.c.pk).where(RUNS.c.environment == run.environment, RUNS.c.run_id == run.run_id)
                ).first()
                if exists is not None:
                    run.pk = exists.pk
                    return False
                pk = conn.execute(RUNS.insert().values(**row)).inserted_primary_key[0]
                if findings:
                    conn.execute(FINDINGS.insert(), [_finding_row(pk, f) for f in findings])
        except sa.exc.IntegrityError:
            # Another writer recorded the same run between our check and our insert.
            return False
        except Exception as exc:
            raise HistoryError(f"cannot write to the history store {self.shown}: {_reason(exc)}") from None
        run.pk = pk
        return True

    def delete_runs(self, pks: Iterable[int]) -> int:
        """Delete runs (and their findings); returns how many runs were deleted."""
        keys = sorted(set(pks))
        if not keys:
            return 0
        try:
            with self.engine.begin() as conn:
                conn.execute(FINDINGS.delete().where(FINDINGS.c.run_pk.in_(keys)))
                return conn.execute(RUNS.delete().where(RUNS.c.pk.in_(keys))).rowcount or 0
        except Exception as exc:
            raise HistoryError(f"cannot write to the history store {self.shown}: {_reason(exc)}") from None

    # ------------------------------------------------------------------ reading

    def _read(self, statement) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(statement))
        except Exception as exc:
            raise HistoryError(f"cannot read the history store {self.shown}: {_reason(exc)}") from None

    def environments(self) -> list[str]:
        return [r.environment for r in self._read(sa.select(RUNS.c.environment).distinct().order_by("environment"))]

    def runs(
        self, environment: str | None = None, *, limit: int | None = None, before: datetime | None = None
    ) -> list[RunRecord]:
        """Recorded runs, newest first (of one environment, or all)."""
        query = sa.select(RUNS)
        if environment is not None:
            query = query.where(RUNS.c.environment == environment)
        if before is not None:
            query = query.where(RUNS.c.started < _naive_utc(before))
        query = query.order_by(RUNS.c.started.desc(), RUNS.c.pk.desc())
        if limit is not None:
            query = query.limit(limit)
        return [_run_record(r) for r in self._read(query)]

    def run(self, environment: str, run_id: str) -> RunRecord | None:
        """A run by its id, or by a unique prefix of it; ``latest`` is the newest run."""
        if run_id == "latest":
            found = self.runs(environment, limit=1)
            return found[0] if found else None
        rows = self._read(
            sa.select(RUNS).where(RUNS.c.environment == environment, RUNS.c.run_id.startswith(run_id, autoescape=True))
        )
        exact = [r for r in rows if r.run_id == run_id]
        if exact:
            return _run_record(exact[0])
        if len(rows) > 1:
            raise HistoryError(f"run id '{run_id}' of {environment} is ambiguous ({len(rows)} runs start with it)")
        return _run_record(rows[0]) if rows else None

    def previous(self, run: RunRecord) -> RunRecord | None:
        """The run of the same environment recorded just before ``run`` (by start time)."""
        older = [r for r in self.runs(run.environment, limit=50, before=_aware(run.started)) if r.run_id != run.run_id]
        return older[0] if older else None

    def findings(self, run: RunRecord | int) -> list[FindingRecord]:
        pk = run if isinstance(run, int) else run.pk
        rows = self._read(sa.select(FINDINGS).where(FINDINGS.c.run_pk == pk).order_by(FINDINGS.c.pk))
        return [_finding_record(r) for r in rows]

    def status_history(self, environment: str, finding_ids: Iterable[str]) -> dict[str, list[tuple[datetime, str]]]:
        """Per finding id: (run start, status) in every recorded run of the environment, oldest first."""
        ids = sorted(set(finding_ids))
        out: dict[str, list[tuple[datetime, str]]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            rows = self._read(
                sa.select(FINDINGS.c.finding_id, FINDINGS.c.status, RUNS.c.started)
                .join(RUNS, RUNS.c.pk == FINDINGS.c.run_pk)
                .where(RUNS.c.environment == environment, FINDINGS.c.finding_id.in_(chunk))
                .order_by(RUNS.c.started, RUNS.c.pk)
            )
            for row in rows:
                out[row.finding_id].append((_aware(row.started), row.status))
        return out

    def findings_frame(self, environment: str | None = None, *, runs: int | None = None):
        """Every finding of the newest ``runs`` runs (per environment) as one DataFrame, for trends."""
        import pandas as pd

        recorded = self.runs(environment)
        if runs is not None:
            kept: list[RunRecord] = []
            per_env: dict[str, int] = {}
            for run in recorded:
                per_env[run.environment] = per_env.get(run.environment, 0) + 1
                if per_env[run.environment] <= runs:
                    kept.append(run)
            recorded = kept
        by_pk = {r.pk: r for r in recorded}
        rows: list[dict[str, Any]] = []
        keys = sorted(by_pk)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for row in self._read(sa.select(FINDINGS).where(FINDINGS.c.run_pk.in_(chunk))):
                run = by_pk[row.run_pk]
                rows.append(
                    {
                        "environment": run.environment,
                        "run_id": run.run_id,
                        "started": _aware(run.started),
                        **{k: v for k, v in row._mapping.items() if k not in ("pk", "run_pk", "refs")},
                    }
                )
        kept_columns = [c.name for c in FINDINGS.columns if c.name not in ("pk", "run_pk", "refs")]
        columns = ["environment", "run_id", "started", *kept_columns]
        from harden_lib.findings import ordered_categories  # issue 14: severity/status in the model's order

        return ordered_categories(pd.DataFrame(rows, columns=columns))


def _sqlite_pragmas(engine: sa.Engine) -> None:
    """Driver-level autocommit, ``BEGIN IMMEDIATE`` for every transaction, WAL, foreign keys."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        with contextlib.suppress(Exception):  # a read-only or network file system: the default journal works
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _finding_row(run_pk: int, f: FindingRecord) -> dict[str, Any]:
    return {
        "run_pk": run_pk,
        "finding_id": f.finding_id,
        "area": f.area,
        "check_id": f.check_id,
        "title": f.title,
        "status": f.status,
        "raw_status": f.raw_status,
        "severity": f.severity,
        "target": f.target,
        "observed": f.observed,
        "expected": f.expected,
        "remediation": f.remediation,
        "waiver": f.waiver,
        "blocking": bool(f.blocking),
        "refs": list(f.references),
    }


def _run_record(row: Any) -> RunRecord:
    return RunRecord(
        environment=row.environment,
        run_id=row.run_id,
        started=_aware(row.started),
        verdict=row.verdict,
        exit_code=row.exit_code,
        duration_s=row.duration_s,
        params_digest=row.params_digest,
        fail_on=row.fail_on,
        blocking=row.blocking,
        counts=dict(row.counts or {}),
        versions=dict(row.versions or {}),
        report_dir=row.report_dir,
        source=row.source,
        pk=row.pk,
    )


def _finding_record(row: Any) -> FindingRecord:
    return FindingRecord(
        finding_id=row.finding_id,
        area=row.area,
        check_id=row.check_id,
        status=row.status,
        severity=row.severity,
        title=row.title,
        target=row.target,
        observed=row.observed,
        expected=row.expected,
        remediation=row.remediation,
        raw_status=row.raw_status,
        waiver=row.waiver,
        blocking=bool(row.blocking),
        references=list(row.refs or []),
    )


# --------------------------------------------------------------------------- from a run folder


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str) and value:
        try:
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    return datetime.now(UTC)


def read_run_dir(run_dir: str | os.PathLike[str]) -> tuple[RunRecord, list[FindingRecord]]:
    """A run folder's ``run.json`` + ``findings.json`` as records (scrubbed again on the way in).

    Works for folders written before findings had ids: ids are then computed here, with the
    environment's ``base_url`` from ``run.json`` when it was written in the params.
    """
    folder = Path(run_dir)
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        document = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HistoryError(f"{folder}: not a completed run folder (no {Path(exc.filename).name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HistoryError(f"{folder}: unreadable run files ({_reason(exc)})") from None
    if not isinstance(info, dict) or not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise HistoryError(f"{folder}: run.json or findings.json does not have the expected shape")
    info, document = scrub_tree(info), scrub_tree(document)
    environment = str(info.get("environment") or document.get("environment") or folder.parent.name)
    run_id = str(info.get("run_id") or document.get("run_id") or folder.name)
    gate_info = info.get("gate") if isinstance(info.get("gate"), dict) else {}
    fail_on = str(gate_info.get("fail_on") or (document.get("gate") or {}).get("fail_on") or "high")
    items = [f for f in document["findings"] if isinstance(f, dict)]
    ids = [str(f.get("id") or "") for f in items]
    if not all(ids):
        from harden_lib.identity import IdentityContext, assign_ids

        params = info.get("params") if isinstance(info.get("params"), dict) else {}
        context = IdentityContext.for_urls(params.get("base_url"), params.get("http_url"))
        ids = assign_ids(items, context)
    from harden_lib.findings import Severity

    threshold = Severity(fail_on).rank if fail_on in Severity.__members__.values() else Severity.HIGH.rank
    findings = []
    for finding_id, item in zip(ids, items, strict=True):
        status, severity = str(item.get("status", "")), str(item.get("severity", "info"))
        blocking = item.get("blocking")
        if not isinstance(blocking, bool):
            rank = Severity(severity).rank if severity in Severity.__members__.values() else 0
            blocking = status in ("fail", "error") and rank >= threshold
        references = item.get("references") or []
        findings.append(
            FindingRecord(
                finding_id=finding_id,
                area=str(item.get("area", "")),
                check_id=str(item.get("check_id", "")),
                status=status,
                severity=severity,
                title=str(item.get("title", "")),
                target=str(item.get("target", "")),
                observed=str(item.get("observed", "")),
                expected=str(item.get("expected", "")),
                remediation=str(item.get("remediation", "")),
                raw_status=item.get("raw_status") or None,
                waiver=str(item.get("waiver", "") or ""),
                blocking=blocking,
                references=[str(r) for r in references] if isinstance(references, list) else [str(references)],
            )
        )
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    run = RunRecord(
        environment=environment,
        run_id=run_id,
        started=_parse_time(info.get("started")),
        verdict=str(info.get("verdict") or document.get("verdict") or "ERROR"),
        exit_code=int(info.get("exit_code", 2)),
        duration_s=float(info.get("duration_s") or 0.0),
        params_digest=str(info.get("params_digest") or ""),
        fail_on=fail_on,
        blocking=sum(f.blocking for f in findings),
        counts=counts,
        versions={str(k): str(v) for k, v in (info.get("versions") or {}).items()},
        report_dir=str(folder.resolve()),
    )
    return run, findings


def record_run_dir(store: HistoryStore, run_dir: str | os.PathLike[str], *, source: str = "run") -> RunRecord:
    """Record a run folder; returns its record (``pk`` set whether it was new or already there)."""
    run, findings = read_run_dir(run_dir)
    run.source = source
    store.record(run, findings)
    return run


def import_reports(store: HistoryStore, reports_dir: str | os.PathLike[str]) -> tuple[int, int, list[str]]:
    """Record every completed run folder under ``reports_dir`` (``<env>/<run>/``), oldest first.

    Returns (recorded, already there, problems); ``latest`` links are not followed twice.
    """
    recorded = skipped = 0
    problems: list[str] = []
    folders = sorted(
        {p.parent.resolve() for p in Path(reports_dir).glob("*/*/findings.json") if not p.parent.is_symlink()}
    )
    for folder in folders:
        try:
            run, findings = read_run_dir(folder)
        except HistoryError as exc:
            problems.append(str(exc))
            continue
        run.source = "import"
        if store.record(run, findings):
            recorded += 1
        else:
            skipped += 1
    return recorded, skipped, problems
