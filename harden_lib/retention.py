"""Retention: ``harden prune --keep N [--older-than 90d]`` and ``harden run --keep N``.

Both the report folders (``reports/<env>/<run>/``) and the history rows are pruned by the same
rule, per environment: a run is deleted when it is not among the newest ``keep`` runs (when
``keep`` is given) **and** it started before the ``older_than`` cut-off (when that is given).
Never deleted: the run ``<env>/latest`` points at, and folders without a ``run.json`` (a run
still being written, or one that crashed before its reports: nothing to judge its age by).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from harden_lib.errors import HardenError

if TYPE_CHECKING:
    from harden_lib.history.store import HistoryStore

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` … as a timedelta (a clear error otherwise)."""
    match = _AGE.match(text or "")
    if not match:
        raise HardenError(f"--older-than: '{text}' is not an age such as 90d, 12h or 2w")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


@dataclass
class _Run:
    environment: str
    run_id: str
    started: datetime
    folder: Path | None = None
    history_pk: int | None = None


@dataclass
class PruneResult:
    deleted_folders: list[str] = field(default_factory=list)
    deleted_history: list[str] = field(default_factory=list)
    kept: int = 0
    dry_run: bool = False

    def text(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"{verb} {len(self.deleted_folders)} report folder(s) and {len(self.deleted_history)} history run(s); "
            f"{self.kept} run(s) kept"
        ]
        lines += [f"  {verb} reports/{name}" for name in self.deleted_folders]
        only_history = sorted(set(self.deleted_history) - set(self.deleted_folders))
        lines += [f"  {verb} history {name}" for name in only_history]
        return "\n".join(lines)


def _started(folder: Path) -> datetime | None:
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        value = datetime.fromisoformat(str(info["started"]).replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _latest_target(env_dir: Path) -> str | None:
    link = env_dir / "latest"
    if link.is_symlink() or link.exists():
        try:
            return link.resolve().name
        except OSError:
            return None
    return None


def prune(
    reports_dir: str | Path,
    store: HistoryStore | None = None,
    *,
    keep: int | None = None,
    older_than: timedelta | None = None,
    environments: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneResult:
    """Apply the retention rule (see the module doc) to report folders and history rows."""
    if keep is None and older_than is None:
        raise HardenError("prune needs --keep N and/or --older-than AGE")
    if keep is not None and keep < 1:
        raise HardenError("--keep must be at least 1 (the latest run is never deleted)")
    reports = Path(reports_dir)
    now = now or datetime.now(UTC)
    runs: dict[tuple[str, str], _Run] = {}
    protected: set[tuple[str, str]] = set()
    names = set(environments or [])
    if reports.is_dir():
        for env_dir in sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()):
            if names and env_dir.name not in names:
                continue
            latest = _latest_target(env_dir)
            for folder in env_dir.iterdir():
                if folder.is_symlink() or not folder.is_dir() or folder.name.startswith("."):
                    continue
                started = _started(folder)
                if started is None:
                    continue
                runs[(env_dir.name, folder.name)] = _Run(env_dir.name, folder.name, started, folder=folder)
            if latest:
                protected.add((env_dir.name, latest))
    if store is not None:
        for record in store.runs():
            if names and record.environment not in names:
                continue
            key = (record.environment, record.run_id)
            if key in runs:
                runs[key].history_pk = record.pk
            else:
                runs[key] = _Run(record.environment, record.run_id, record.started, history_pk=record.pk)
    result = PruneResult(dry_run=dry_run)
    by_env: dict[str, list[_Run]] = {}
    for run in runs.values():
        by_env.setdefault(run.environment, []).append(run)
    doomed_pks: list[int] = []
    for environment, items in by_env.items():
        items.sort(key=lambda r: (r.started, r.run_id), reverse=True)
        if not any(key[0] == environment for key in protected):
            protected.add((environment, items[0].run_id))  # no latest link: the newest run stands in
        for index, run in enumerate(items):
            beyond_keep = keep is None or index >= keep
            old_enough = older_than is None or run.started < now - older_than
            if (run.environment, run.run_id) in protected or not (beyond_keep and old_enough):
                result.kept += 1
                continue
            label = f"{run.environment}/{run.run_id}"
            if run.folder is not None:
                result.deleted_folders.append(label)
                if not dry_run:
                    shutil.rmtree(run.folder)
            if run.history_pk is not None:
                result.deleted_history.append(label)
                doomed_pks.append(run.history_pk)
    if store is not None and doomed_pks and not dry_run:
        store.delete_runs(doomed_pks)
    result.deleted_folders.sort()
    result.deleted_history.sort()
    return result
