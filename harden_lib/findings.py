"""The finding model every area produces (DESIGN §4), its table form, JSON I/O and the gate.

All areas emit the same shape so that the summary, exports and history can treat them alike;
that is why the column order is fixed here and nowhere else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harden_lib.errors import HardenError

if TYPE_CHECKING:  # pandas is heavy; import it only where a frame is built
    import pandas as pd

FINDINGS_SCHEMA_VERSION = 1


class Status(StrEnum):
    """Outcome of one check on one target."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"  # the check could not run: never silently a pass
    SKIP = "skip"  # not applicable / not configured
    MANUAL = "manual"  # needs a human attestation
    WAIVED = "waived"  # a fail under a valid waiver


class Severity(StrEnum):
    """How much a failure of the check matters; ordered by ``rank``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe, so comparisons read naturally (``a.rank >= b.rank``)."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}

#: Order used everywhere statuses are listed (tables, charts, counts).
STATUS_ORDER: tuple[Status, ...] = (
    Status.FAIL,
    Status.ERROR,
    Status.WARN,
    Status.MANUAL,
    Status.WAIVED,
    Status.PASS,
    Status.SKIP,
)
SEVERITY_ORDER: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))

#: The fixed column order of every findings table and export.
COLUMNS: tuple[str, ...] = (
    "area",
    "check_id",
    "title",
    "status",
    "severity",
    "target",
    "observed",
    "expected",
    "remediation",
    "references",
    "raw_status",
    "waiver",
)

#: Longest text kept in a finding field; scanned servers control some of it.
MAX_FIELD_CHARS = 2000


class Finding(BaseModel):
    """One check on one target. ``observed`` must already be redacted by the check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area: str
    check_id: str
    title: str
    status: Status
    severity: Severity
    target: str = ""
    observed: str = ""
    expected: str = ""
    remediation: str = ""
    references: tuple[str, ...] = Field(default_factory=tuple)
    #: the check's own outcome when governance changed ``status`` (a waived fail, a voided attestation)
    raw_status: Status | None = None
    #: the waiver in force: reason, approver, expiry
    waiver: str = ""
    #: why ``severity`` differs from the check catalog's default (empty when it does not)
    severity_reason: str = ""

    def model_post_init(self, __context: Any) -> None:
        for name in ("title", "target", "observed", "expected", "remediation"):
            value = getattr(self, name)
            if len(value) > MAX_FIELD_CHARS:
                object.__setattr__(self, name, value[: MAX_FIELD_CHARS - 1] + "…")

    @property
    def key(self) -> tuple[str, str]:
        """Identity across runs (with the environment): history and waivers key on it."""
        return (self.check_id, self.target)

    def row(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["references"] = "; ".join(self.references)
        data["raw_status"] = data["raw_status"] or ""
        return {col: data[col] for col in COLUMNS}


#: Categories of a frame's ``severity`` column, least severe first, so comparisons read as the model
#: does: ``frame[frame.severity >= "high"]`` is high or critical, and ``sort_values("severity",
#: ascending=False)`` puts critical first.
SEVERITY_CATEGORIES: tuple[str, ...] = tuple(s.value for s in reversed(SEVERITY_ORDER))
#: Categories of a frame's ``status`` column, least concerning first (the reverse of ``STATUS_ORDER``):
#: ``frame.status >= "warn"`` is warn, error or fail; descending sorts put fail first.
STATUS_CATEGORIES: tuple[str, ...] = tuple(s.value for s in reversed(STATUS_ORDER))


def ordered_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Make a frame's ``severity`` and ``status`` columns ordered categoricals in the model's order.

    Every DataFrame the library returns passes through here, so ``>=``, ``max()`` and sorting mean
    the same in every table. A column holding values outside the model (a checklist's "not covered",
    an attestation's "never") is left as it is rather than turned into missing values.
    """
    import pandas as pd

    for column, categories in (("severity", SEVERITY_CATEGORIES), ("status", STATUS_CATEGORIES)):
        if column not in frame.columns:
            continue
        values = frame[column]
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype) and dtype.ordered and tuple(dtype.categories) == categories:
            continue
        present = values.dropna().astype(str)
        if not present.isin(categories).all():
            continue
        frame[column] = pd.Categorical(values.astype("object"), categories=list(categories), ordered=True)
    return frame


def worst_first(frame: pd.DataFrame, then: Sequence[str] = ("check_id", "target")) -> pd.DataFrame:
    """Sorted worst first: status (fail first), then severity (critical first), then ``then`` ascending."""
    keys = [c for c in ("status", "severity") if c in frame.columns]
    rest = [c for c in then if c in frame.columns]
    frame = ordered_categories(frame)
    return frame.sort_values(
        [*keys, *rest], ascending=[False] * len(keys) + [True] * len(rest), kind="stable"
    ).reset_index(drop=True)


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a DataFrame with the fixed column order and ordered categoricals.

    Status and severity are ordered categoricals (``ordered_categories``): ``frame.severity >= "high"``
    selects high and critical, and ``sort_values(..., ascending=False)`` puts the worst first.
    """
    import pandas as pd

    frame = pd.DataFrame([f.row() for f in findings], columns=list(COLUMNS))
    return ordered_categories(frame)


def findings_path(run_dir: Path, area: str) -> Path:
    return Path(run_dir) / "findings" / f"{area}.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide reports from the web server sharing them
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_findings(findings: Sequence[Finding], run_dir: Path | str, area: str) -> Path:
    """Save one area's findings as ``<run_dir>/findings/<area>.json`` (atomically)."""
    path = findings_path(Path(run_dir), area)
    document = {
        "schema": FINDINGS_SCHEMA_VERSION,
        "area": area,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "findings": [f.model_dump(mode="json") for f in findings],
    }
    from harden_lib.redact import scrub_tree  # the secrets and URL credentials this process knows

    atomic_write_text(path, json.dumps(scrub_tree(document), indent=2, ensure_ascii=False) + "\n")
    return path


def load_findings(path: Path | str) -> list[Finding]:
    """Load one area's findings file; a damaged file is a clear error, not a traceback."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HardenError(f"{path}: findings file does not exist") from exc
    except json.JSONDecodeError as exc:
        raise HardenError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise HardenError(f"{path}: expected an object with a 'findings' list")
    out: list[Finding] = []
    for index, item in enumerate(document["findings"]):
        try:
            out.append(Finding.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise HardenError(f"{path}: findings[{index}].{where}: {first['msg']}") from None
    return out


def load_run_findings(run_dir: Path | str) -> dict[str, list[Finding]]:
    """Every area's findings saved under a run directory, keyed by area."""
    folder = Path(run_dir) / "findings"
    return {p.stem: load_findings(p) for p in sorted(folder.glob("*.json"))}


@dataclass(frozen=True)
class GateResult:
    """The GO / NO-GO decision and the findings that closed the gate."""

    go: bool
    fail_on: Severity
    blocking: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        return "GO" if self.go else "NO-GO"

    @property
    def reason(self) -> str:
        if self.go:
            return f"No failing or errored check at or above severity '{self.fail_on}'."
        fails = sum(1 for f in self.blocking if f.status is Status.FAIL)
        errors = sum(1 for f in self.blocking if f.status is Status.ERROR)
        parts = []
        if fails:
            parts.append(f"{fails} failing check{'s' if fails != 1 else ''}")
        if errors:
            parts.append(f"{errors} check{'s' if errors != 1 else ''} that could not run")
        return f"{' and '.join(parts)} at or above severity '{self.fail_on}'."


def gate(findings: Iterable[Finding], fail_on: Severity | str = Severity.HIGH) -> GateResult:
    """NO-GO when any ``fail`` or ``error`` is at or above ``fail_on`` (DESIGN §4).

    ``error`` counts like ``fail``: a check that could not run is never silently a pass.
    ``waived`` never closes the gate.
    """
    threshold = Severity(fail_on)
    blocking = tuple(
        sorted(
            (f for f in findings if f.status in (Status.FAIL, Status.ERROR) and f.severity.rank >= threshold.rank),
            key=lambda f: (-f.severity.rank, f.area, f.check_id, f.target),
        )
    )
    return GateResult(go=not blocking, fail_on=threshold, blocking=blocking)
