"""Backup freshness from real listings: `ls -l --time-style=full-iso` of real files, restic's own JSON
from a real repository, the documented pgBackRest / WAL-G JSON shapes, commands that fail."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from harden_lib.checks import backups
from harden_lib.checks.backups import BackupSource, BackupsParams, check_backups, check_source, parse_listing
from harden_lib.environment import load_environment
from harden_lib.findings import Status
from tests.datastore_servers import in_ci

NOW = datetime.now(UTC)


def ls_listing(folder: Path, ages_hours: list[float]) -> str:
    """Real files with real modification times, listed by the real ls."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, hours in enumerate(ages_hours):
        path = folder / f"db-{index}.dump.gz"
        path.write_bytes(b"x" * (index + 1))
        stamp = (NOW - timedelta(hours=hours)).timestamp()
        os.utime(path, (stamp, stamp))
    return subprocess.run(
        ["ls", "-l", "--time-style=full-iso", str(folder)], check=True, capture_output=True, text=True
    ).stdout


def test_ls_full_iso_listing_fresh_and_stale(tmp_path):
    text = ls_listing(tmp_path / "fresh", [70, 46.5, 3.1])
    (tmp_path / "fresh.txt").write_text(text)
    found = check_source(BackupSource(name="nightly", file=tmp_path / "fresh.txt"), 26)
    assert (found.check_id, found.status, found.target) == ("backups.fresh", Status.PASS, "nightly")
    assert "3.1 h old" in found.observed and "3 timestamps read as text lines" in found.observed
    stale_text = ls_listing(tmp_path / "stale", [200, 51])
    (tmp_path / "stale.txt").write_text(stale_text)
    stale = check_source(BackupSource(name="nightly", file=tmp_path / "stale.txt"), 26)
    assert stale.status is Status.FAIL and "2.1 days old" in stale.observed
    # the same listing passes under a limit that allows it (per source over the default)
    ok = check_source(BackupSource(name="weekly", file=tmp_path / "stale.txt", max_age_hours=24 * 7), 26)
    assert ok.status is Status.PASS


def test_ls_default_short_dates_are_refused_with_the_fix(tmp_path):
    ls_listing(tmp_path / "b", [1])
    short = subprocess.run(["ls", "-l", str(tmp_path / "b")], check=True, capture_output=True, text=True).stdout
    (tmp_path / "short.txt").write_text(short)
    found = check_source(BackupSource(name="b", file=tmp_path / "short.txt"), 26)
    assert found.status is Status.ERROR and "--time-style=full-iso" in found.observed


def test_command_output_and_failing_commands(tmp_path):
    folder = tmp_path / "dumps"
    ls_listing(folder, [5, 1.5])
    found = check_source(BackupSource(name="cmd", command=["ls", "-l", "--time-style=full-iso", str(folder)]), 26)
    assert found.status is Status.PASS and "1.5 h old" in found.observed and "command `ls -l" in found.observed
    missing = check_source(BackupSource(name="cmd", command=["ls", "-l", str(tmp_path / "nope")]), 26)
    assert missing.status is Status.ERROR and "exited with code" in missing.observed
    slow = check_source(BackupSource(name="cmd", command=[sys.executable, "-c", "import time; time.sleep(30)"],
                                     timeout=0.5), 26)  # fmt: skip
    assert slow.status is Status.ERROR and "did not finish within 0.5s" in slow.observed
    absent = check_source(BackupSource(name="cmd", command=["no-such-backup-tool-xyz", "list"]), 26)
    assert absent.status is Status.ERROR and "could not start" in absent.observed


def test_unreadable_empty_and_timestampless_listings_are_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n")
    (tmp_path / "words.txt").write_text("backup ok\nbackup ok\n")
    (tmp_path / "nodates.json").write_text(json.dumps([{"name": "x", "size": 3}]))
    for name, needle in (
        ("absent.txt", "does not exist"),
        ("empty.txt", "empty"),
        ("words.txt", "no ISO-8601"),
        ("nodates.json", "no backup timestamp"),
    ):
        found = check_source(BackupSource(name="b", file=tmp_path / name), 26)
        assert found.status is Status.ERROR, name
        assert needle in found.observed, (name, found.observed)
    found = check_source(BackupSource(name="b", file=tmp_path), 26)
    assert found.status is Status.ERROR and "directory" in found.observed


def test_future_timestamps_warn_and_are_not_counted(tmp_path):
    future = (NOW + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = (NOW - timedelta(hours=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = (NOW - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "a.log").write_text(f"{stale} done\n{future} done\n")
    found = check_source(BackupSource(name="b", file=tmp_path / "a.log"), 26)
    assert found.status is Status.FAIL  # the future line does not hide the stale one
    (tmp_path / "b.log").write_text(f"{fresh} done\n{future} done\n")
    found = check_source(BackupSource(name="b", file=tmp_path / "b.log"), 26)
    assert found.status is Status.WARN and "1 timestamps in the future" in found.observed
    (tmp_path / "c.log").write_text(f"{future} done\n")
    assert check_source(BackupSource(name="b", file=tmp_path / "c.log"), 26).status is Status.WARN


def test_naive_timestamps_use_the_configured_zone(tmp_path):
    # 20 h ago in UTC written as local time of a zone 8 hours ahead of UTC with no offset
    local = (NOW - timedelta(hours=20)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Singapore"))
    (tmp_path / "l.txt").write_text(local.strftime("backup finished %Y-%m-%d %H:%M\n"))
    as_utc = check_source(BackupSource(name="b", file=tmp_path / "l.txt"), 14)
    in_zone = check_source(BackupSource(name="b", file=tmp_path / "l.txt", naive_timezone="Asia/Singapore"), 14)
    assert as_utc.status is Status.PASS  # read as UTC it looks 12 h old
    # minutes only in the file, and NOW is taken at import: allow for the suite's own running time
    assert in_zone.status is Status.FAIL and re.search(r"\b20\.[0-3] h old", in_zone.observed), in_zone.observed
    with pytest.raises(ValidationError, match="IANA"):
        BackupSource(name="b", file="x", naive_timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="exactly one"):
        BackupSource(name="b")


def test_pgbackrest_and_walg_json_shapes():
    stop = int((NOW - timedelta(hours=7)).timestamp())
    pgbackrest = [
        {
            "archive": [{"database": {"id": 1}, "id": "15-1", "max": "000000010000000000000004"}],
            "backup": [
                {"label": "20261128-010000F", "timestamp": {"start": stop - 90000, "stop": stop - 86400},
                 "type": "full"},
                {"label": "20261129-010000F_20261129-010000I", "timestamp": {"start": stop - 60, "stop": stop},
                 "type": "incr"},
            ],
            "db": [{"id": 1, "system-id": 7, "version": "15"}],
            "name": "main",
            "status": {"code": 0, "message": "ok"},
        }
    ]  # fmt: skip
    listing = parse_listing(json.dumps(pgbackrest))
    assert listing.format == "pgBackRest info JSON"
    assert max(listing.times) == datetime.fromtimestamp(stop, UTC)
    walg = [
        {"backup_name": "base_000000010000000000000002", "time": "2026-11-28T01:00:03.52Z",
         "wal_file_name": "000000010000000000000002", "start_time": "2026-11-28T00:59:59Z",
         "finish_time": "2026-11-28T01:00:03Z", "is_permanent": False},
        {"backup_name": "base_000000010000000000000009", "time": "2026-11-29T23:30:00+02:00",
         "wal_file_name": "000000010000000000000009"},
    ]  # fmt: skip
    listing = parse_listing(json.dumps(walg))
    assert listing.format == "WAL-G backup-list JSON"
    assert max(listing.times) == datetime(2026, 11, 29, 21, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def restic_repo(tmp_path_factory):
    """A real restic repository with one snapshot (the Debian package restic)."""
    if shutil.which("restic") is None:
        if in_ci():
            pytest.fail("CI=true but restic is not installed (apt-get install -y restic)", pytrace=False)
        pytest.skip("restic is not installed (apt-get install -y restic)")
    root = tmp_path_factory.mktemp("restic")
    env = {**os.environ, "RESTIC_REPOSITORY": str(root / "repo"), "RESTIC_PASSWORD": "test-only-repo-password"}
    (root / "data").mkdir()
    (root / "data" / "dump.sql").write_text("-- dump\n")
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    subprocess.run(["restic", "backup", str(root / "data")], env=env, check=True, capture_output=True)
    return env


def test_real_restic_snapshots_json(restic_repo, tmp_path):
    out = subprocess.run(["restic", "snapshots", "--json"], env=restic_repo, check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    (tmp_path / "snapshots.json").write_text(out)
    found = check_source(BackupSource(name="restic", file=tmp_path / "snapshots.json"), 26)
    assert found.status is Status.PASS, found.observed
    assert "restic snapshots JSON" in found.observed
    # one hour from now, with a 30-minute limit, the same snapshot is stale
    later = check_source(BackupSource(name="restic", file=tmp_path / "snapshots.json", max_age_hours=0.5), 26,
                         now=datetime.now(UTC) + timedelta(hours=1))  # fmt: skip
    assert later.status is Status.FAIL


def test_params_section_and_nothing_configured(tmp_path):
    assert [(f.check_id, f.status) for f in check_backups(BackupsParams())] == [("backups.configured", Status.SKIP)]
    (tmp_path / "listing.txt").write_text(ls_listing(tmp_path / "d", [1]))
    (tmp_path / "p.yaml").write_text(
        "environment: t\nbackups:\n  max_age_hours: 12\n  sources:\n    - {name: db, file: listing.txt}\n"
    )
    env = load_environment(tmp_path / "p.yaml")
    [found] = backups.run(env)
    assert found.status is Status.PASS and found.expected == "newest backup at most 12 h old"
    assert not backups.source_table(env.backups).empty
    assert backups.AREA.name == "backups" and backups.AREA.params is BackupsParams


def test_other_tools_text_listings(tmp_path):
    """barman list-backup (ctime with a year), pgbackrest info text (+00 offsets), borg list, ISO basic labels."""
    day = NOW - timedelta(hours=30)
    ahead = day.astimezone(__import__("datetime").timezone(timedelta(hours=1)))
    listings = {
        "barman.txt": f"main {day:%Y%m%dT%H%M%S} - {day:%a %b %d %H:%M:%S %Y} - Size: 1.2 GiB - WAL Size: 3 MiB\n",
        "pgbackrest.txt": (
            "stanza: main\n    status: ok\n\n        full backup: 20261128-010000F\n"
            f"            timestamp start/stop: {ahead:%Y-%m-%d %H:%M:%S}+01 / {ahead:%Y-%m-%d %H:%M:%S}+01\n"
        ),
        "borg.txt": f"host-2026  {day:%a, %Y-%m-%d %H:%M:%S} [0a1b2c3d4e5f]\n",
        "labels.txt": f"backup-{day:%Y%m%d-%H%M%S}F\n",
    }
    for name, text in listings.items():
        (tmp_path / name).write_text(text)
        found = check_source(BackupSource(name=name, file=tmp_path / name), 26)
        assert found.status is Status.FAIL and "30.0 h old" in found.observed, (name, found.observed)
        ok = check_source(BackupSource(name=name, file=tmp_path / name), 31)
        assert ok.status is Status.PASS, name


def test_hostile_listings(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100000)
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe2026-11-30 01:00 \x00\x01 backup\n")
    deep = check_source(BackupSource(name="b", file=tmp_path / "deep.json"), 26)
    assert deep.status is Status.ERROR  # not JSON (too deep) and no date on the line
    binary = check_source(BackupSource(name="b", file=tmp_path / "binary.txt"), 24 * 3650)
    assert binary.status in (Status.PASS, Status.WARN, Status.FAIL)  # undecodable bytes replaced, the date read


def test_an_empty_newest_dump_fails(tmp_path):
    """A pg_dump that failed leaves an empty file: the listing's size column shows it (ls -l, aws s3 ls)."""
    folder = tmp_path / "dumps"
    ls_listing(folder, [26, 2])
    newest = sorted(folder.iterdir())[-1]
    newest.write_bytes(b"")
    stamp = (NOW - timedelta(hours=2)).timestamp()
    os.utime(newest, (stamp, stamp))
    text = subprocess.run(["ls", "-l", "--time-style=full-iso", str(folder)], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip
    (tmp_path / "ls.txt").write_text(text)
    found = check_source(BackupSource(name="b", file=tmp_path / "ls.txt"), 26)
    assert found.status is Status.FAIL and "only 0 bytes" in found.observed
    two = (NOW - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "s3.txt").write_text(f"{two}   52428800 db/nightly.dump.gz\n")
    ok = check_source(BackupSource(name="s3", file=tmp_path / "s3.txt", min_size_bytes=1_000_000), 26)
    assert ok.status is Status.PASS and "52428800 bytes" in ok.observed
    small = check_source(BackupSource(name="s3", file=tmp_path / "s3.txt", min_size_bytes=100_000_000), 26)
    assert small.status is Status.FAIL
