"""Retention: `harden prune --keep N [--older-than AGE]` on report folders and history rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from harden_lib import cli
from harden_lib.errors import HardenError
from harden_lib.history.store import HistoryStore, import_reports
from harden_lib.retention import parse_age, prune

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _reports(tmp_path, ages_days: dict[str, list[int]], latest_index: int = 0):
    """Run folders (with run.json and findings.json) per environment, ``ages_days`` old; latest → one of them."""
    reports = tmp_path / "reports"
    for environment, ages in ages_days.items():
        names = []
        for age in ages:
            started = NOW - timedelta(days=age)
            run_id = started.strftime("%Y%m%dT%H%M%SZ") + "-0000"
            folder = reports / environment / run_id
            folder.mkdir(parents=True)
            info = {"environment": environment, "run_id": run_id, "started": started.isoformat(), "verdict": "GO",
                    "exit_code": 0, "gate": {"fail_on": "high"}, "counts": {}}  # fmt: skip
            (folder / "run.json").write_text(json.dumps(info))
            (folder / "findings.json").write_text(json.dumps({"findings": []}))
            names.append(run_id)
        (reports / environment / "latest").symlink_to(names[min(latest_index, len(names) - 1)])
    return reports


def _left(reports, environment):
    return sorted(p.name for p in (reports / environment).iterdir() if not p.is_symlink())


def test_keep_n_deletes_folders_and_history_but_never_latest(tmp_path):
    # latest points at the OLDEST run on purpose (a later run failed to complete): it must survive
    reports = _reports(tmp_path, {"prod": [1, 5, 9, 20, 40], "staging": [2, 3]}, latest_index=4)
    with HistoryStore(f"sqlite:///{reports / 'history.sqlite'}") as store:
        assert import_reports(store, reports)[0] == 7
        (reports / "prod" / "20261130T115959Z-wip").mkdir()  # a run still being written: no run.json
        result = prune(reports, store, keep=2, now=NOW)
        prod = _left(reports, "prod")
        assert len(prod) == 4 and "20261130T115959Z-wip" in prod
        assert (reports / "prod" / "latest").resolve().is_dir()
        assert sorted(r.run_id for r in store.runs("prod")) == sorted(p for p in prod if not p.endswith("wip"))
        assert len(result.deleted_folders) == 2 and result.deleted_folders == result.deleted_history
        assert len(_left(reports, "staging")) == 2 and len(store.runs("staging")) == 2


def test_older_than_only_deletes_old_runs(tmp_path):
    reports = _reports(tmp_path, {"prod": [1, 5, 100, 200]})
    with HistoryStore(f"sqlite:///{reports / 'history.sqlite'}") as store:
        import_reports(store, reports)
        dry = prune(reports, store, keep=1, older_than=parse_age("90d"), now=NOW, dry_run=True)
        assert len(dry.deleted_folders) == 2 and len(_left(reports, "prod")) == 4  # nothing deleted
        prune(reports, store, keep=1, older_than=timedelta(days=90), now=NOW)
        assert len(_left(reports, "prod")) == 2 and len(store.runs("prod")) == 2


def test_history_rows_without_folders_are_pruned_too(tmp_path):
    reports = _reports(tmp_path, {"prod": [1, 2, 3]})
    with HistoryStore(f"sqlite:///{reports / 'history.sqlite'}") as store:
        import_reports(store, reports)
        for folder in _left(reports, "prod")[:2]:  # folders deleted by hand: only rows remain
            import shutil

            shutil.rmtree(reports / "prod" / folder)
        result = prune(reports, store, keep=1, now=NOW)
        assert len(result.deleted_history) == 2 and not result.deleted_folders
        assert len(store.runs("prod")) == 1


def test_prune_command(tmp_path, capsys):
    reports = _reports(tmp_path, {"prod": [1, 2, 3, 4]})
    code = cli.main(["prune", "--keep", "2", "--reports", str(reports), "--env", "prod"])
    assert code == 0 and len(_left(reports, "prod")) == 2
    assert "deleted 2 report folder(s)" in capsys.readouterr().out
    assert (reports / "index.html").is_file()
    assert cli.main(["prune", "--reports", str(reports)]) == 64


@pytest.mark.parametrize("bad", ["90", "ninety days", "-3d", "3y"])
def test_bad_ages_are_clear_errors(bad):
    with pytest.raises(HardenError, match="not an age"):
        parse_age(bad)
    assert parse_age("12h") == timedelta(hours=12) and parse_age("2W") == timedelta(weeks=2)
