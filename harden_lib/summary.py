"""The summary area: every area's findings, the GO / NO-GO decision, and why.

An area whose notebook crashed, or that left no findings, is not silently absent: it becomes
an ``error`` finding of severity critical, so the gate stays closed until it runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harden_lib import governance
from harden_lib.areas import AREAS
from harden_lib.errors import HardenError
from harden_lib.findings import (
    SEVERITY_ORDER,
    STATUS_ORDER,
    Finding,
    GateResult,
    Status,
    findings_path,
    gate,
    load_findings,
)
from harden_lib.redact import scrub_output

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

#: Written by the runner before the summary runs: which area notebooks completed.
EXECUTION_FILE = "execution.json"


def area_error(area: str, message: str) -> Finding:
    """Stands in for an area that could not produce findings (``<area>.execution`` in the catalog)."""
    from harden_lib.catalog import finding

    return finding(f"{area}.execution", Status.ERROR, area, message)  # the builder scrubs and caps


def read_execution(run_dir: Path) -> dict[str, dict]:
    """Per area: did its notebook complete (``ok``) and, if not, why (``error``)."""
    path = Path(run_dir) / EXECUTION_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("areas", {})
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise HardenError(f"{path}: unreadable execution record ({exc})") from None


def collect(env: Environment, run_dir: str | os.PathLike[str] | None = None) -> dict[str, list[Finding]]:
    """Findings per enabled area: from a run directory, or by running the checks right here.

    Governance is applied last (waivers, attestations voided by failing checks, sign-offs and
    waiver findings under the ``governance`` pseudo-area), so every export sees the same view.

    With no run directory (an auditor opening the summary notebook on its own) the areas'
    checks run in this process, so the notebook works top to bottom on its defaults.
    """
    result: dict[str, list[Finding]] = {}
    if not run_dir:
        for area in env.areas:
            try:
                result[area] = AREAS[area].runner()(env)
            except Exception as exc:
                result[area] = [area_error(area, f"{type(exc).__name__}: {exc}")]
        return governance.apply(env, result)
    today = governance.run_day(run_dir)  # the day the area notebooks judged the waivers on
    run_dir = Path(run_dir)
    execution = read_execution(run_dir)
    # The areas the runner actually ran (``--areas`` may select a subset of env.areas).
    areas = [a for a in execution if a in AREAS] or env.areas
    for area in areas:
        state = execution.get(area, {})
        path = findings_path(run_dir, area)
        if state and not state.get("ok", False):
            found = load_findings(path) if path.is_file() else []
            result[area] = [*found, area_error(area, state.get("error") or "the notebook did not complete")]
        elif path.is_file():
            try:
                result[area] = load_findings(path)
            except HardenError as exc:
                result[area] = [area_error(area, str(exc))]
        else:
            result[area] = [area_error(area, "no findings were saved for this area")]
    return governance.apply(env, result, today)


def flatten(per_area: dict[str, list[Finding]]) -> list[Finding]:
    return [f for findings in per_area.values() for f in findings]


@dataclass(frozen=True)
class Verdict:
    """The environment's decision with the sentence a stakeholder reads first."""

    environment: str
    result: GateResult

    @property
    def headline(self) -> str:
        return f"{self.result.verdict} for {self.environment}: {self.result.reason}"


def verdict(env: Environment, per_area: dict[str, list[Finding]]) -> Verdict:
    return Verdict(env.name, gate(flatten(per_area), env.gate.fail_on))


def counts_frame(per_area: dict[str, list[Finding]]) -> pd.DataFrame:
    """Area × status counts (all statuses as columns, in report order)."""
    import pandas as pd

    rows = []
    for area, findings in per_area.items():
        row = {"area": area} | {s.value: 0 for s in STATUS_ORDER}
        for finding in findings:
            row[finding.status.value] += 1
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["area", *[s.value for s in STATUS_ORDER]]).set_index("area")
    decided = frame.drop(columns=[Status.SKIP.value]).sum(axis=1)
    # Not-applicable checks are left out of the denominator (as OpenSCAP and Prowler do).
    frame["pass rate"] = (frame[Status.PASS.value] / decided.where(decided > 0)).round(2)
    return frame


def failures_by_severity(per_area: dict[str, list[Finding]]) -> pd.DataFrame:
    """How many fail / error findings at each severity, per area."""
    import pandas as pd

    rows = []
    for area, findings in per_area.items():
        row = {"area": area} | {s.value: 0 for s in SEVERITY_ORDER}
        for finding in findings:
            if finding.status in (Status.FAIL, Status.ERROR):
                row[finding.severity.value] += 1
        rows.append(row)
    return pd.DataFrame(rows, columns=["area", *[s.value for s in SEVERITY_ORDER]]).set_index("area")


def top_failures(per_area: dict[str, list[Finding]], limit: int | None = None) -> pd.DataFrame:
    """The worst failures first, with their remediation: the to-do list of a NO-GO.

    Every failure by default (a report that silently keeps the first 15 of 64 hides the rest);
    ``limit`` is for callers that say themselves how many they show.
    """
    from harden_lib.findings import findings_frame

    failing = [f for f in flatten(per_area) if f.status is Status.FAIL]
    failing.sort(key=lambda f: (-f.severity.rank, f.area, f.check_id, f.target))
    frame = findings_frame(failing if limit is None else failing[:limit])
    return frame[["severity", "area", "check_id", "title", "target", "observed", "remediation"]]


#: What the summary's to-do tables show: what, where and how to fix (the evidence is on the area page;
#: an ``observed`` column made the table wider than the page).
_BLOCKER_COLUMNS = ["severity", "status", "area", "check_id", "title", "target", "remediation"]


def blockers(env: Environment, per_area: dict[str, list[Finding]]) -> pd.DataFrame:
    """Every finding that closes the gate (fail or error at or above ``gate.fail_on``), worst first.

    All of them, never a first page: this is the list the go-live waits on.
    """
    from harden_lib.findings import findings_frame

    return findings_frame(verdict(env, per_area).result.blocking)[_BLOCKER_COLUMNS]


def other_failures(env: Environment, per_area: dict[str, list[Finding]]) -> pd.DataFrame:
    """Failing checks below the gate's severity: not blocking, still to plan, worst first."""
    from harden_lib.findings import findings_frame

    blocking = {id(f) for f in verdict(env, per_area).result.blocking}
    rest = [f for f in flatten(per_area) if f.status is Status.FAIL and id(f) not in blocking]
    rest.sort(key=lambda f: (-f.severity.rank, f.area, f.check_id, f.target))
    return findings_frame(rest)[_BLOCKER_COLUMNS]


def errors(per_area: dict[str, list[Finding]]) -> pd.DataFrame:
    """Every check that could not run, with its message."""
    from harden_lib.findings import findings_frame

    frame = findings_frame([f for f in flatten(per_area) if f.status is Status.ERROR])
    return frame[["area", "check_id", "target", "severity", "observed"]]


def plot_area_status(per_area: dict[str, list[Finding]]) -> Figure:
    """A stacked horizontal bar per area: how its findings split by status."""
    from harden_lib.render import plot_stacked_status

    counts = counts_frame(per_area).drop(columns=["pass rate"])
    return plot_stacked_status(
        {area: {k: int(v) for k, v in row.items()} for area, row in counts.iterrows()}, "Findings per area by status"
    )


def plot_failures_by_severity(per_area: dict[str, list[Finding]]) -> Figure:
    """Failing and errored checks by severity: what the gate looks at."""
    from harden_lib.render import figure

    frame = failures_by_severity(per_area).sum(axis=0)
    colours = {"critical": "#7f0000", "high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "info": "#90a4ae"}
    fig = figure(6.0, 2.8)
    ax = fig.subplots()
    bars = ax.bar(frame.index, frame.values, color=[colours[s] for s in frame.index])
    ax.bar_label(bars, padding=2)
    ax.set_ylabel("fail + error findings")
    ax.set_title("Failures by severity")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


#: Longest params value shown (characters); longer ones end with "…" (the README's reports section says so).
_PARAM_CHARS = 2000


def params_table(env: Environment) -> pd.DataFrame:
    """The run's params as written (``${VAR}`` placeholders, literal secrets masked), one row per key."""
    import pandas as pd

    rows: list[tuple[str, str]] = []

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
            for index, value in enumerate(node):
                walk(value, f"{prefix}[{index}]")
        else:
            text = scrub_output(json.dumps(node, default=str, ensure_ascii=False))
            rows.append((prefix, text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 1] + "…"))

    walk(env.redacted_params(), "")
    files = ", ".join(str(p) for p in env.files)
    rows.insert(0, ("(files)", files))
    rows.insert(1, ("(digest)", env.digest()))
    return pd.DataFrame(rows, columns=["key", "value"])
