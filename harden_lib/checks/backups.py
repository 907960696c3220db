"""Backups: the newest backup is younger than the limit, read from the backup tool's own listing.

"Daily backups are enabled" is attested on paper; whether last night's backup exists is a fact
the backup tool prints. This area reads that listing (a file exported by the backup job, or a
command the audit runs) and judges the newest timestamp in it::

    backups:
      max_age_hours: 26                    # default for every source
      sources:
        - name: postgres-nightly
          file: ../evidence/backups.txt    # ls -l --time-style=full-iso, aws s3 ls, a job log …
        - name: pgbackrest
          command: [pgbackrest, info, --output=json]
          max_age_hours: 30
          naive_timezone: UTC              # zone of timestamps written without one

Formats, detected from the text: JSON from pgBackRest (``info --output=json``: each backup's
``timestamp.stop``), WAL-G (``backup-list --json`` / ``--detail``: ``time``, ``finish_time``),
restic (``snapshots --json``: ``time``) and any JSON with time-named fields (``time``,
``timestamp``, ``created``, ``CreatedAt``, ``LastModified``, ``end_time`` …, ISO 8601 or epoch
seconds); otherwise text lines with an ISO-8601 date and time each (``ls -l
--time-style=full-iso``, ``aws s3 ls``, ``gsutil ls -l``, ``pgbackrest info`` text with ``+00``
offsets, log lines), or a ctime with a year (``Mon Nov 30 02:05:03 2026``: barman, ``date``), or ISO
basic form (``20261130T020001``: barman and pgBackRest labels). A listing in ``ls -l``'s
default form (``Nov 30 02:00``, no year) is refused with the option to add.

Findings (area ``backups``, target the source name): ``backups.fresh`` — pass when the newest
backup is within the limit, fail when older (by how much), warn when some timestamps lie in the
future (a clock or time-zone problem that could hide a stale backup: they are not counted), error
when the listing cannot be read, is empty or holds no timestamp; fail too when the listing shows
sizes (``ls -l``, ``aws s3 ls``) and the newest backup is smaller than ``min_size_bytes`` (default
1: a dump that failed leaves an empty file). ``backups.configured`` skips
when no source is configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.checks.evidence_source import TextSource, read_source
from harden_lib.findings import Finding, Status

if TYPE_CHECKING:
    import pandas as pd

    from harden_lib.environment import Environment

#: Timestamps this far in the future are accepted as clock skew between hosts.
SKEW = timedelta(minutes=5)
#: JSON keys whose values are backup times (lower-cased; ``stop`` only inside ``timestamp``).
TIME_KEYS = frozenset(
    {
        "time",
        "timestamp",
        "created",
        "createdat",
        "created_at",
        "creation_time",
        "lastmodified",
        "last_modified",
        "modify_time",
        "modified",
        "mtime",
        "start_time",
        "finish_time",
        "end_time",
        "endtime",
        "finished_at",
        "completed_at",
        "date",
        "backup_time",
        "backup_start",
        "backup_end",
    }
)
_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:\s?(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)(?![\d:]))?"
)
#: ISO 8601 basic format as backup labels write it (barman 20261130T020001, pgBackRest labels 20261130-020001F).
_BASIC = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[T-](\d{2})(\d{2})(\d{2})(Z)?(?![\d])")
#: ctime with a year, as barman and date(1) print it: Mon Nov 30 02:05:03 2026 (UTC optional)
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_CTIME = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\s+"
    r"(\d{2}):(\d{2}):(\d{2})\s+(?:(UTC|GMT|Z)\s+)?(\d{4})\b"
)
_LS_DEFAULT = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+(?:\d{2}:\d{2}|\d{4})\b")


class BackupSource(TextSource):
    """One backup listing: a file or a command's output, and its limit."""

    name: str = Field(min_length=1, max_length=80, description="label of the backup set (the finding's target)")
    max_age_hours: float | None = Field(None, gt=0, le=24 * 400, description="overrides backups.max_age_hours")
    naive_timezone: str = Field("UTC", description="IANA zone of timestamps written without an offset")
    min_size_bytes: int = Field(
        1, ge=0, description="smallest acceptable newest backup where the listing shows sizes (ls -l, aws s3 ls)"
    )

    @field_validator("naive_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name (e.g. UTC, Europe/Berlin)") from None
        return value


class BackupsParams(BaseModel):
    """The ``backups:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    max_age_hours: float = Field(26.0, gt=0, le=24 * 400, description="newest backup at most this old")
    sources: list[BackupSource] = Field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    """The timestamps read from one listing and the format they were read as."""

    times: tuple[datetime, ...]
    format: str
    problem: str = ""
    #: size in bytes of the entry at each time, where the listing shows one (ls -l, aws s3 ls)
    sizes: dict[datetime, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- parsing


def _parse_iso(match: re.Match[str], zone: ZoneInfo) -> datetime | None:
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if offset in (None, ""):
        return value.replace(tzinfo=zone)
    if offset in ("Z", "UTC", "GMT"):
        return value.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return (value - sign * delta).replace(tzinfo=UTC)


#: ``ls -l``: mode, links, owner, group, SIZE, date; ``aws s3 ls``: date, time, SIZE, key
_LS_SIZE = re.compile(r"^[-dlcbps][-rwxsStTl.+@]{9,10}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\d{4}-\d{2}-\d{2}")
_S3_SIZE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+(\d+)\s+\S")


def _size_of(line: str) -> int | None:
    match = _LS_SIZE.match(line) or _S3_SIZE.match(line.strip())
    return int(match.group(1)) if match else None


def _line_time(line: str, zone: ZoneInfo) -> datetime | None:
    """The first date-time of a listing line: extended ISO 8601, ctime with a year, or basic ISO 8601."""
    match = _ISO.search(line)
    if match:
        return _parse_iso(match, zone)
    ctime = _CTIME.search(line)
    if ctime:
        month, day, hour, minute, second, utc, year = ctime.groups()
        try:
            value = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
        except ValueError:
            return None
        return value.replace(tzinfo=UTC if utc else zone)
    basic = _BASIC.search(line)
    if basic:
        year, month, day, hour, minute, second, utc = basic.groups()
        try:
            value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except ValueError:
            return None
        return value.replace(tzinfo=UTC if utc else zone)
    return None


def _time_value(value: Any, zone: ZoneInfo) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e12:  # milliseconds
            seconds /= 1000
        if 946684800 <= seconds <= 4102444800:  # 2000 … 2100: anything else is not a time
            return datetime.fromtimestamp(seconds, UTC)
        return None
    if isinstance(value, str):
        match = _ISO.search(value)
        return _parse_iso(match, zone) if match else None
    return None


def _json_times(node: Any, zone: ZoneInfo, depth: int = 0) -> Iterator[datetime]:
    if depth > 20:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            lowered = str(key).lower()
            if lowered == "timestamp" and isinstance(value, dict):  # pgBackRest: {"start": …, "stop": …}
                for part in ("stop", "start"):
                    if (parsed := _time_value(value.get(part), zone)) is not None:
                        yield parsed
                        break
                continue
            if lowered in TIME_KEYS and not isinstance(value, dict | list):
                if (parsed := _time_value(value, zone)) is not None:
                    yield parsed
                continue
            yield from _json_times(value, zone, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _json_times(item, zone, depth + 1)


def _json_format(data: Any) -> str:
    """Which tool wrote a JSON listing, by its shape (for the finding's text only)."""
    items = data if isinstance(data, list) else [data]
    first = next((i for i in items if isinstance(i, dict)), {})
    if "backup" in first and ("archive" in first or "db" in first):
        return "pgBackRest info JSON"
    if "backup_name" in first:
        return "WAL-G backup-list JSON"
    if "short_id" in first or {"paths", "hostname", "tree"} <= set(first):
        return "restic snapshots JSON"
    return "JSON"


def parse_listing(text: str, naive_timezone: str = "UTC") -> Listing:
    """Every backup timestamp in a listing (JSON by shape, else one ISO date-time per line)."""
    zone = ZoneInfo(naive_timezone)
    stripped = text.strip()
    if not stripped:
        return Listing((), "empty", "the listing is empty")
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            data = None
        if data is not None:
            times = tuple(_json_times(data, zone))
            kind = _json_format(data)
            if not times:
                return Listing((), kind, f"{kind} with no backup timestamp (no time-named field)")
            return Listing(times, kind)
    times: list[datetime] = []
    sizes: dict[datetime, int] = {}
    default_ls = 0
    for line in stripped.splitlines():
        parsed = _line_time(line, zone)
        if parsed is not None:
            times.append(parsed)
            size = _size_of(line)
            if size is not None:
                sizes[parsed] = min(size, sizes.get(parsed, size))
        elif _LS_DEFAULT.search(line):
            default_ls += 1
    if not times:
        if default_ls:
            return Listing(
                (),
                "ls -l",
                "the listing uses ls -l's short dates (no year, no zone): list it with ls -l --time-style=full-iso",
            )
        return Listing((), "text", "no ISO-8601 date and time (YYYY-MM-DD HH:MM) on any line")
    return Listing(tuple(times), "text lines", sizes=sizes)


# --------------------------------------------------------------------------- judging


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def check_source(source: BackupSource, default_max_age_hours: float, now: datetime | None = None) -> Finding:
    """One listing's ``backups.fresh`` finding."""
    now = now or datetime.now(UTC)
    limit = source.max_age_hours or default_max_age_hours
    expected = f"newest backup at most {limit:g} h old"
    read = read_source(source)
    if read.problem and not read.text.strip():
        return finding("backups.fresh", Status.ERROR, source.name, f"{read.label}: {read.problem}", expected=expected)
    if read.problem:  # a command that failed: its output is not trusted as a listing
        return finding("backups.fresh", Status.ERROR, source.name, f"{read.label}: {read.problem}", expected=expected)
    listing = parse_listing(read.text, source.naive_timezone)
    if listing.problem:
        return finding(
            "backups.fresh", Status.ERROR, source.name, f"{read.label}: {listing.problem}", expected=expected
        )
    future = [t for t in listing.times if t > now + SKEW]
    past = [t for t in listing.times if t <= now + SKEW]
    note = f"{len(listing.times)} timestamps read as {listing.format} from {read.label}"
    if read.truncated:
        note += " (listing cut at the size limit)"
    if not past:
        return finding(
            "backups.fresh",
            Status.WARN,
            source.name,
            f"every timestamp is in the future (latest {max(future):%Y-%m-%d %H:%M} UTC): clock or time zone "
            f"wrong; {note}",
            expected=expected,
        )
    newest = max(past)
    age = now - newest
    size = listing.sizes.get(newest)
    shown_size = f", {size} bytes" if size is not None else ""
    observed = f"newest backup {newest:%Y-%m-%d %H:%M} UTC{shown_size}, {_age(max(age, timedelta(0)))} old; {note}"
    if size is not None and size < source.min_size_bytes:
        return finding(
            "backups.fresh",
            Status.FAIL,
            source.name,
            f"the newest backup is only {size} bytes (at least {source.min_size_bytes} expected: a failed dump "
            f"leaves an empty file); {observed}",
            expected=expected + f", at least {source.min_size_bytes} bytes",
        )
    if age > timedelta(hours=limit):
        return finding("backups.fresh", Status.FAIL, source.name, observed, expected=expected)
    if future:
        return finding(
            "backups.fresh",
            Status.WARN,
            source.name,
            f"{len(future)} timestamps in the future (latest {max(future):%Y-%m-%d %H:%M} UTC, not counted: "
            f"clock or time zone wrong); {observed}",
            expected=expected,
        )
    return finding("backups.fresh", Status.PASS, source.name, observed, expected=expected)


def check_backups(params: BackupsParams, now: datetime | None = None) -> list[Finding]:
    if not params.sources:
        return [finding("backups.configured", Status.SKIP, "(no backup listings)", "backups.sources is empty")]
    return [check_source(source, params.max_age_hours, now) for source in params.sources]


def run(env: Environment) -> list[Finding]:
    """The backups area's findings for one environment (the notebook calls this)."""
    return check_backups(env.backups)


def source_table(params: BackupsParams) -> pd.DataFrame:
    """Where each listing comes from and its limit (evidence for the report)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "backup set": s.name,
                "source": s.file.name if s.file else "command",
                "max age (h)": s.max_age_hours or params.max_age_hours,
                "naive time zone": s.naive_timezone,
            }
            for s in params.sources
        ]
    )


AREA = AreaSpec(
    name="backups",
    title="Backups",
    purpose="The newest backup of each backup set is younger than its limit, read from the backup tool's listing.",
    params=BackupsParams,
    order=115,
)
