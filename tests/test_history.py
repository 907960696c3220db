"""The history store on SQLite and on a real PostgreSQL: migrations, recording, import, concurrency."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harden_lib.diff import diff_runs
from harden_lib.history.store import (
    METADATA,
    FindingRecord,
    HistoryError,
    HistoryStore,
    RunRecord,
    history_url,
    import_reports,
    read_run_dir,
)
from tests.datastore_servers import admin_sql, start_postgres, stop_postgres

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _finding(finding_id: str, status: str, severity: str = "high", **extra) -> FindingRecord:
    check = finding_id.split("@")[0]
    return FindingRecord(finding_id, check.split(".")[0], check, status, severity, title=check, **extra)


def _run(environment: str, run_id: str, started: datetime, verdict: str = "NO-GO") -> RunRecord:
    return RunRecord(environment, run_id, started, verdict, 1 if verdict == "NO-GO" else 0)


def exercise(store: HistoryStore) -> None:
    """The same behaviour on every backend."""
    assert store.revision() == "0001"
    first = _run("prod", "r1", T0)
    assert store.record(first, [_finding("tls.expiry@aa", "fail"), _finding("headers.hsts@bb", "pass")])
    assert not store.record(_run("prod", "r1", T0), [])  # the same run twice: recorded once
    second = _run("prod", "r2", T0 + timedelta(days=3))
    store.record(second, [_finding("tls.expiry@aa", "fail"), _finding("headers.hsts@bb", "fail", "medium")])
    store.record(_run("staging", "s1", T0 + timedelta(days=1), "GO"), [_finding("tls.expiry@aa", "pass")])
    assert store.environments() == ["prod", "staging"]
    assert [r.run_id for r in store.runs("prod")] == ["r2", "r1"]
    assert store.run("prod", "r1").run_id == "r1"
    with pytest.raises(HistoryError, match="ambiguous"):
        store.run("prod", "r")
    assert store.run("prod", "latest").run_id == "r2"
    assert store.previous(second).run_id == "r1"
    diff = diff_runs(store, first, second)
    assert [c.finding_id for c in diff.new_failures] == ["headers.hsts@bb"]
    assert [(c.finding_id, c.days_open) for c in diff.still_failing] == [("tls.expiry@aa", 3.0)]
    frame = store.findings_frame(runs=1)
    assert sorted(set(frame["run_id"])) == ["r2", "s1"]
    assert store.delete_runs([first.pk]) == 1
    assert [r.run_id for r in store.runs("prod")] == ["r2"]
    assert store.findings(first) == []


def test_sqlite_store_created_on_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'reports' / 'history.sqlite'}"
    with HistoryStore(url) as store:
        exercise(store)
    assert (tmp_path / "reports" / "history.sqlite").is_file()
    with HistoryStore(url) as store:  # reopening migrates nothing and keeps the data
        assert [r.run_id for r in store.runs()] == ["r2", "s1"]


def test_default_url_is_in_the_reports_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HARDEN_HISTORY_URL", raising=False)
    assert history_url(None, tmp_path / "reports") == f"sqlite:///{(tmp_path / 'reports').resolve()}/history.sqlite"
    monkeypatch.setenv("HARDEN_HISTORY_URL", "postgresql://h@db.example.org/h")
    assert history_url(None, tmp_path) == "postgresql://h@db.example.org/h"


def test_migrations_match_the_tables(tmp_path):
    """The Alembic revisions create exactly the tables the code queries (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with HistoryStore(f"sqlite:///{tmp_path / 'h.sqlite'}") as store, store.engine.connect() as conn:
        problems = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert problems == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, UTC, timedelta
    from harden_lib.history.store import HistoryStore, RunRecord, FindingRecord
    url, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.005)
    store = HistoryStore(url)  # both writers may be the first to open (and create) the store
    for i in range(15):
        run = RunRecord(name, f"{name}-{i}", datetime.now(UTC) + timedelta(seconds=i), "GO", 0)
        findings = [FindingRecord(f"c.{k}@{i}", "c", f"c.{k}", "pass", "low") for k in range(40)]
        assert store.record(run, findings)
    print("ok", name)
    """
)


def concurrent_writers(url: str) -> None:
    import time

    start = time.time() + 1.5
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, name, str(start)], stdout=subprocess.PIPE, text=True)
        for name in ("alpha", "beta")
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with HistoryStore(url) as store:
        runs = store.runs()
        assert len(runs) == 30 and {r.environment for r in runs} == {"alpha", "beta"}
        assert all(len(store.findings(r)) == 40 for r in runs[:3])


def test_two_concurrent_writers_on_a_fresh_sqlite_file(tmp_path):
    concurrent_writers(f"sqlite:///{tmp_path / 'fresh.sqlite'}")


def _write_run_folder(reports: Path, environment: str, run_id: str, started: datetime, findings: list[dict]) -> Path:
    folder = reports / environment / run_id
    folder.mkdir(parents=True)
    info = {
        "environment": environment,
        "run_id": run_id,
        "started": started.isoformat(),
        "duration_s": 3.5,
        "verdict": "NO-GO",
        "exit_code": 1,
        "gate": {"fail_on": "high", "blocking": 1},
        "params": {"base_url": "https://shop.example.org"},
        "versions": {"harden": "0.1.0"},
    }
    (folder / "run.json").write_text(json.dumps(info))
    # the older findings.json shape: no schema_version, no id, no blocking
    (folder / "findings.json").write_text(
        json.dumps({"environment": environment, "run_id": run_id, "findings": findings})
    )
    return folder


def test_import_old_report_folders_once(tmp_path):
    reports = tmp_path / "reports"
    base = {"title": "t", "observed": "", "expected": "", "remediation": "", "references": [], "waiver": ""}
    _write_run_folder(
        reports,
        "shop",
        "20260301T000000Z-aaaa",
        T0,
        [
            {**base, "area": "headers", "check_id": "headers.hsts", "status": "fail", "severity": "high",
             "target": "https://shop.example.org/"},
            {**base, "area": "tls", "check_id": "tls.expiry", "status": "warn", "severity": "medium",
             "target": "shop.example.org:443"},
        ],
    )  # fmt: skip
    _write_run_folder(
        reports,
        "shop",
        "20260308T000000Z-bbbb",
        T0 + timedelta(days=7),
        [
            {**base, "area": "headers", "check_id": "headers.hsts", "status": "pass", "severity": "high",
             "target": "https://SHOP.example.org:443"},
        ],
    )  # fmt: skip
    (reports / "shop" / "latest").symlink_to("20260308T000000Z-bbbb")
    (reports / "shop" / "broken").mkdir()
    (reports / "shop" / "broken" / "findings.json").write_text("{not json")
    with HistoryStore(f"sqlite:///{reports / 'history.sqlite'}") as store:
        recorded, skipped, problems = import_reports(store, reports)
        assert (recorded, skipped, len(problems)) == (2, 0, 1)
        assert "broken" in problems[0]
        assert import_reports(store, reports)[:2] == (0, 2)
        old, new = store.runs("shop")[1], store.runs("shop")[0]
        first = store.findings(old)
        assert first[0].blocking is True and first[1].blocking is False  # computed from fail_on
        diff = diff_runs(store, old, new)
        # ids computed on import: the same URL written another way is the same finding
        assert [c.check_id for c in diff.fixed] == ["headers.hsts"] and not diff.new_failures


def test_read_run_dir_refuses_a_folder_without_its_files(tmp_path):
    with pytest.raises(HistoryError, match="not a completed run folder"):
        read_run_dir(tmp_path)


def test_unusable_url_is_a_clear_error():
    with pytest.raises(HistoryError, match="not a valid SQLAlchemy URL"):
        HistoryStore("not a url at all")


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres(None, ssl=False)
    password = secrets.token_urlsafe(18)
    admin_sql(server, f"CREATE ROLE harden LOGIN PASSWORD '{password}'", "CREATE DATABASE harden_history OWNER harden")
    try:
        yield server, f"postgresql://harden:{password}@127.0.0.1:{server.port}/harden_history", password
    finally:
        stop_postgres(server)


def test_postgresql_store(postgres):
    _, url, password = postgres
    admin = postgres[0]
    admin_sql(admin, "DROP DATABASE IF EXISTS harden_a", "CREATE DATABASE harden_a OWNER harden")
    with HistoryStore(url.replace("/harden_history", "/harden_a")) as store:
        assert password not in store.shown and store.engine.dialect.name == "postgresql"
        exercise(store)


def test_postgresql_concurrent_writers_on_a_fresh_database(postgres):
    server, url, _ = postgres
    admin_sql(server, "DROP DATABASE IF EXISTS harden_b", "CREATE DATABASE harden_b OWNER harden")
    concurrent_writers(url.replace("/harden_history", "/harden_b"))


def test_postgresql_wrong_password_never_shows_a_password(postgres):
    _, url, password = postgres
    wrong = secrets.token_urlsafe(18)
    with pytest.raises(HistoryError) as caught:
        HistoryStore(url.replace(password, wrong))
    message = str(caught.value)
    assert wrong not in message and password not in message
    assert "password authentication failed" in message and "harden_history" in message
    assert "OperationalError" not in message
