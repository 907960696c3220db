"""What changed between two runs of one environment: new failures, fixed, still failing …

Findings are matched by their stable id (``harden_lib.identity``). "Failing" means ``fail`` or
``error`` (a check that could not run is never counted as fixed). The categories:

* **new**: failing now, not failing (or not there) in the old run;
* **fixed**: failing in the old run, present now and passing (``pass``, ``warn``, ``skip``,
  ``manual``) — a failure that is now *waived* is not fixed, it is a waiver that started;
* **still failing**: failing in both, with how long it has been failing without a break
  (``days_open``, from the history of the environment);
* **changed**: every other status or severity change of a finding present in both runs;
* **waivers started / ended**: a finding that became ``waived``, or stopped being waived (the
  waiver expired or was removed: the check counts normally again);
* **no longer reported**: failing before and absent now (an area not run this time, a target
  removed from params) — listed apart, because nobody fixed it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from harden_lib.history.store import FindingRecord, RunRecord

if TYPE_CHECKING:
    import pandas as pd

    from harden_lib.findings import Finding
    from harden_lib.history.store import HistoryStore

FAILING = ("fail", "error")
_SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


@dataclass
class Change:
    """One finding's move between two runs."""

    finding_id: str
    area: str
    check_id: str
    title: str
    target: str
    severity: str
    status: str
    old_status: str | None = None
    old_severity: str | None = None
    blocking: bool = False
    days_open: float | None = None
    remediation: str = ""
    waiver: str = ""


@dataclass
class RunDiff:
    environment: str
    old: RunRecord | None
    new: RunRecord | None
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    waivers_started: list[Change] = field(default_factory=list)
    waivers_ended: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)

    @property
    def first_run(self) -> bool:
        return self.old is None

    @property
    def has_changes(self) -> bool:
        return bool(
            self.new_failures or self.fixed or self.changed or self.waivers_started or self.waivers_ended or self.gone
        )

    @property
    def headline(self) -> str:
        if self.old is None:
            return "No earlier run of this environment is recorded: nothing to compare yet."
        parts = [f"{len(self.new_failures)} new", f"{len(self.fixed)} fixed"]
        return "Since the last run: " + ", ".join(parts) + f" ({len(self.still_failing)} still failing)."

    def sections(self) -> list[tuple[str, list[Change]]]:
        return [
            ("New failures", self.new_failures),
            ("Fixed", self.fixed),
            ("Still failing", self.still_failing),
            ("Status or severity changed", self.changed),
            ("Waivers started", self.waivers_started),
            ("Waivers ended (expired or removed)", self.waivers_ended),
            ("No longer reported", self.gone),
        ]

    def to_dict(self) -> dict[str, Any]:
        def run(record: RunRecord | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {
                "environment": record.environment,
                "run_id": record.run_id,
                "started": record.started.isoformat(timespec="seconds"),
                "verdict": record.verdict,
                "exit_code": record.exit_code,
            }

        return {
            "environment": self.environment,
            "old": run(self.old),
            "new": run(self.new),
            "headline": self.headline,
            "counts": {
                "new": len(self.new_failures),
                "fixed": len(self.fixed),
                "still_failing": len(self.still_failing),
                "changed": len(self.changed),
                "waivers_started": len(self.waivers_started),
                "waivers_ended": len(self.waivers_ended),
                "no_longer_reported": len(self.gone),
            },
            "new_failures": [asdict(c) for c in self.new_failures],
            "fixed": [asdict(c) for c in self.fixed],
            "still_failing": [asdict(c) for c in self.still_failing],
            "changed": [asdict(c) for c in self.changed],
            "waivers_started": [asdict(c) for c in self.waivers_started],
            "waivers_ended": [asdict(c) for c in self.waivers_ended],
            "no_longer_reported": [asdict(c) for c in self.gone],
        }

    def frame(self, which: str) -> pd.DataFrame:
        """One section as a table (``new_failures``, ``fixed``, ``still_failing`` …) for notebooks."""
        import pandas as pd

        items = getattr(self, which)
        from harden_lib.findings import ordered_categories  # issue 14: severity/status in the model's order

        columns = ["severity", "status", "old_status", "area", "check_id", "title", "target", "days_open"]
        return ordered_categories(pd.DataFrame([asdict(c) for c in items], columns=[*columns, "finding_id"])[columns])

    def text(self, limit: int = 50) -> str:
        """The diff as plain text (what ``harden diff`` prints)."""
        lines = []
        if self.new is not None:
            old = f"{self.old.run_id} ({self.old.verdict})" if self.old else "(none)"
            lines.append(f"{self.environment}: {old} -> {self.new.run_id} ({self.new.verdict})")
        lines.append(self.headline)
        for title, items in self.sections():
            if not items:
                continue
            lines.append("")
            lines.append(f"{title} ({len(items)})")
            for change in items[:limit]:
                lines.append("  " + _line(change, title))
            if len(items) > limit:
                lines.append(f"  … and {len(items) - limit} more")
        return "\n".join(lines)


def _line(change: Change, section: str) -> str:
    where = f" [{change.target}]" if change.target else ""
    text = f"{change.severity:<8} {change.check_id}{where}: {change.title}"
    if change.old_status and change.old_status != change.status:
        text += f" ({change.old_status} -> {change.status})"
    elif section.startswith("New"):
        text += f" ({change.status})"
    if change.old_severity and change.old_severity != change.severity:
        text += f" (severity {change.old_severity} -> {change.severity})"
    if change.days_open is not None and section.startswith("Still"):
        text += f", failing for {change.days_open:.1f} days"
    return text


def _change(new: FindingRecord, old: FindingRecord | None) -> Change:
    return Change(
        finding_id=new.finding_id,
        area=new.area,
        check_id=new.check_id,
        title=new.title,
        target=new.target,
        severity=new.severity,
        status=new.status,
        old_status=old.status if old else None,
        old_severity=old.severity if old and old.severity != new.severity else None,
        blocking=new.blocking,
        remediation=new.remediation,
        waiver=new.waiver,
    )


def _order(change: Change) -> tuple:
    return (-_SEVERITY_RANK.get(change.severity, 0), change.area, change.check_id, change.target)


def diff_findings(
    old: Sequence[FindingRecord] | None,
    new: Sequence[FindingRecord],
    *,
    environment: str = "",
    old_run: RunRecord | None = None,
    new_run: RunRecord | None = None,
    status_history: dict[str, list[tuple[datetime, str]]] | None = None,
) -> RunDiff:
    """Compare two runs' findings by id (``old`` None: the first run, nothing to compare)."""
    result = RunDiff(environment=environment or (new_run.environment if new_run else ""), old=old_run, new=new_run)
    if old is None:
        return result
    before = {f.finding_id: f for f in old}
    now = {f.finding_id: f for f in new}
    for finding_id, finding in now.items():
        previous = before.get(finding_id)
        change = _change(finding, previous)
        was_failing = previous is not None and previous.failing
        if finding.failing and not was_failing:
            if previous is not None and previous.status == "waived":
                result.waivers_ended.append(change)
            result.new_failures.append(change)
        elif finding.failing and was_failing:
            change.days_open = _days_open(finding_id, new_run, status_history)
            result.still_failing.append(change)
            if previous.status != finding.status or previous.severity != finding.severity:
                result.changed.append(change)
        elif finding.status == "waived" and (previous is None or previous.status != "waived"):
            result.waivers_started.append(change)
        elif previous is not None and previous.status == "waived":
            result.waivers_ended.append(change)
        elif was_failing:
            result.fixed.append(change)
        elif previous is not None and (previous.status != finding.status or previous.severity != finding.severity):
            result.changed.append(change)
    for finding_id, previous in before.items():
        if finding_id not in now and previous.failing:
            change = _change(previous, previous)
            change.status, change.old_status = "not reported", previous.status
            result.gone.append(change)
    for items in (result.new_failures, result.fixed, result.changed, result.waivers_started, result.waivers_ended):
        items.sort(key=_order)
    result.gone.sort(key=_order)
    result.still_failing.sort(key=lambda c: (-(c.days_open or 0.0), *_order(c)))
    return result


def _days_open(
    finding_id: str, new_run: RunRecord | None, history: dict[str, list[tuple[datetime, str]]] | None
) -> float | None:
    """Days since the failure's current unbroken streak began (runs without the finding are skipped)."""
    if new_run is None or not history:
        return None
    entries = [(t, s) for t, s in history.get(finding_id, []) if t < new_run.started]
    start = new_run.started
    for started, status in reversed(entries):
        if status not in FAILING:
            break
        start = started
    return round((new_run.started - start).total_seconds() / 86400, 2)


# --------------------------------------------------------------------------- with the store


def diff_runs(store: HistoryStore, old: RunRecord | None, new: RunRecord) -> RunDiff:
    old_findings = store.findings(old) if old is not None else None
    new_findings = store.findings(new)
    still = {f.finding_id for f in new_findings if f.failing}
    if old_findings is not None:
        still &= {f.finding_id for f in old_findings if f.failing}
    history = store.status_history(new.environment, still) if old is not None and still else {}
    return diff_findings(
        old_findings, new_findings, environment=new.environment, old_run=old, new_run=new, status_history=history
    )


def diff_latest(store: HistoryStore, environment: str) -> RunDiff:
    """The newest recorded run of ``environment`` against the one before it."""
    runs = store.runs(environment, limit=2)
    if not runs:
        return RunDiff(environment=environment, old=None, new=None)
    return diff_runs(store, runs[1] if len(runs) > 1 else None, runs[0])


def diff_live(
    store: HistoryStore, run: RunRecord, findings: Sequence[FindingRecord], areas: Collection[str] | None = None
) -> RunDiff:  # the run is not recorded yet (the summary runs before the reports are written)
    """``findings`` of a run still in progress against the newest recorded run before it.

    ``areas``: a partial run (``harden run --areas``) is compared on its own areas only (and the
    governance findings), so the areas it did not audit are not "no longer reported".
    """
    previous = store.previous(run)
    old_findings = store.findings(previous) if previous is not None else None
    if old_findings is not None and areas is not None:
        old_findings = [f for f in old_findings if f.area in areas or f.area == "governance"]
    still = {f.finding_id for f in findings if f.failing}
    history = store.status_history(run.environment, still) if previous is not None and still else {}
    return diff_findings(
        old_findings, findings, environment=run.environment, old_run=previous, new_run=run, status_history=history
    )


def records_from_findings(
    findings: Sequence[Finding], ids: Sequence[str], blocking: Sequence[bool]
) -> list[FindingRecord]:
    """``Finding`` objects (already scrubbed) as the records the store and the diff use."""
    return [
        FindingRecord(
            finding_id=finding_id,
            area=f.area,
            check_id=f.check_id,
            status=f.status.value,
            severity=f.severity.value,
            title=f.title,
            target=f.target,
            observed=f.observed,
            expected=f.expected,
            remediation=f.remediation,
            raw_status=f.raw_status.value if f.raw_status else None,
            waiver=f.waiver,
            blocking=flag,
            references=list(f.references),
        )
        for f, finding_id, flag in zip(findings, ids, blocking, strict=True)
    ]


# --------------------------------------------------------------------------- the summary's file

SINCE_LAST_FILE = "since_last.json"


def save_since_last(diff: RunDiff, path) -> None:
    """The diff the summary notebook and the run index show (already scrubbed text)."""
    from harden_lib.findings import atomic_write_text
    from harden_lib.redact import scrub_tree

    atomic_write_text(path, json.dumps(scrub_tree(diff.to_dict()), indent=2, ensure_ascii=False) + "\n")


def load_since_last(run_dir) -> dict[str, Any] | None:
    from pathlib import Path

    path = Path(run_dir) / SINCE_LAST_FILE if run_dir else None
    if path is None or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def since_last_markdown(document: dict[str, Any] | None) -> str:
    """The one-line "since the last run" statement (Markdown, escaped)."""
    from harden_lib.render import md_escape

    if document is None:
        return "_No earlier run of this environment is recorded (or history is off): nothing to compare yet._"
    old = document.get("old") or {}
    counts = document.get("counts") or {}
    if not old:
        return md_escape(str(document.get("headline", "")))
    extra = [
        f"{counts.get(key, 0)} {label}"
        for key, label in (
            ("changed", "changed"),
            ("waivers_started", "waiver(s) started"),
            ("waivers_ended", "waiver(s) ended"),
            ("no_longer_reported", "no longer reported"),
        )
        if counts.get(key)
    ]
    return (
        f"**Since the last run** ({md_escape(old.get('run_id', ''))}, {md_escape(old.get('verdict', ''))}): "
        f"**{counts.get('new', 0)} new**, **{counts.get('fixed', 0)} fixed**, "
        f"{counts.get('still_failing', 0)} still failing" + (f"; {', '.join(extra)}" if extra else "") + "."
    )


def show_since_last(run_dir: str | None, limit: int = 25) -> None:
    """For the summary notebook: the statement, then the new, fixed and longest-failing lists."""
    import pandas as pd
    from IPython.display import Markdown, display

    from harden_lib.render import style_findings

    document = load_since_last(run_dir)
    display(Markdown(since_last_markdown(document)))
    if not document or not document.get("old"):
        return
    columns = ["severity", "status", "old_status", "area", "check_id", "title", "target", "days_open"]
    for key, title, shown in (
        ("new_failures", "New failures", [c for c in columns if c != "days_open"]),
        ("fixed", "Fixed", [c for c in columns if c != "days_open"]),
        ("still_failing", "Still failing, longest first", columns),
        ("waivers_started", "Waivers started", [c for c in columns if c != "days_open"]),
        ("waivers_ended", "Waivers ended (expired or removed)", [c for c in columns if c != "days_open"]),
    ):
        items = document.get(key) or []
        if not items:
            continue
        display(Markdown(f"**{title}** ({len(items)})"))
        frame = pd.DataFrame(items[:limit], columns=columns)[shown]
        display(style_findings(frame))
