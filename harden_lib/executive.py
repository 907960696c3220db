"""The decision page of a run (``executive.html``): everything a go/no-go meeting needs, on one page.

The overview lists areas and exports; the area pages hold the evidence. The people who decide
need neither first: they need the verdict, *every* blocker (never "30 of 49"), grouped by the
area whose owner fixes it and with the fix in owner-facing words, the sign-offs, the waivers in
force and those about to expire, and what changed since the last run. Each blocker links to its
row on the area page (``render.finding_anchor``), so the evidence is one click away.

The page prints to A4 with nothing cut: no folded cells, tables that wrap, page-break rules in
the shared stylesheet. Every value reaches the page through Jinja's autoescape, after the same
scrub as every export (``exports.scrub_findings`` / ``redact.scrub_tree``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden_lib.findings import SEVERITY_ORDER, STATUS_ORDER, Finding, Status, atomic_write_text

if TYPE_CHECKING:
    from harden_lib.environment import Environment

EXECUTIVE_PAGE = "executive.html"
#: A waiver in force that expires within this many days is listed as "expiring soon".
EXPIRING_SOON_DAYS = 14
#: Observed text on the decision page is cut here (the area page shows the rest); the page says so.
OBSERVED_CHARS = 300
_SEVERITY_RANK = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}
_STATUS_RANK = {s.value: i for i, s in enumerate(STATUS_ORDER)}


@dataclass
class AreaBlockers:
    """The blockers one area's owner has to fix."""

    area: str
    title: str
    page: str | None
    blockers: list[dict[str, Any]] = field(default_factory=list)


def _short(text: str, limit: int = OBSERVED_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + f"… (cut at {limit} of {len(text)} characters)"


def _blocker_row(finding: Finding, page: str | None) -> dict[str, Any]:
    from harden_lib.render import finding_anchor

    remediation = finding.remediation.strip() or (
        f"Make it so: {finding.expected}" if finding.expected else "See the check's explanation on the area page."
    )
    return {
        "severity": finding.severity.value,
        "status": finding.status.value,
        "check_id": finding.check_id,
        "title": finding.title,
        "target": finding.target,
        "observed": _short(finding.observed),
        "remediation": remediation,
        "href": f"{page}#{finding_anchor(finding.check_id, finding.target)}" if page else None,
    }


def group_blockers(blocking: Sequence[Finding], areas: Sequence[dict[str, Any]]) -> list[AreaBlockers]:
    """Every blocker, grouped by area in the run's area order, worst first within an area."""
    order = {a.get("area"): i for i, a in enumerate(areas)}
    info = {a.get("area"): a for a in areas}
    groups: dict[str, AreaBlockers] = {}
    ranked = sorted(
        blocking,
        key=lambda f: (
            _SEVERITY_RANK.get(f.severity.value, 9),
            _STATUS_RANK.get(f.status.value, 9),
            f.check_id,
            f.target,
        ),
    )
    for finding in ranked:
        group = groups.get(finding.area)
        if group is None:
            meta = info.get(finding.area, {})
            title = meta.get("title") or (
                "Governance (sign-offs, waivers)" if finding.area == "governance" else finding.area
            )
            group = groups[finding.area] = AreaBlockers(finding.area, str(title), meta.get("html") or None)
        group.blockers.append(_blocker_row(finding, group.page))
    return sorted(groups.values(), key=lambda g: (order.get(g.area, len(order)), g.area))


def waiver_rows(env: Environment, findings: Sequence[Finding], today: date) -> list[dict[str, Any]]:
    """Every waiver of the environment: in force or expired, days left, what it waives in this run."""
    active = [w for w in env.waivers if w.in_force(today)]
    waived = [f for f in findings if f.status is Status.WAIVED]
    rows = []
    for waiver in env.waivers:
        days_left = (waiver.expires - today).days
        in_force = waiver.in_force(today)
        rows.append(
            {
                "check": waiver.label(),
                "in_force": in_force,
                "state": "in force" if in_force else "expired",
                "expires": waiver.expires.isoformat(),
                "days_left": days_left,
                "expiring": in_force and days_left <= EXPIRING_SOON_DAYS,
                "approved_by": waiver.approved_by,
                "reason": waiver.reason,
                "waived": sum(1 for f in waived if next((w for w in active if w.matches(f)), None) is waiver),
            }
        )
    rows.sort(key=lambda r: (not r["in_force"], r["days_left"]))
    return rows


def signoff_rows(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The sign-off findings of this run (one per required role), as the gate judged them."""
    return [
        {"role": f.target, "status": f.status.value, "observed": f.observed, "remediation": f.remediation}
        for f in findings
        if f.check_id == "governance.signoff"
    ]


def _changes(run_dir: Path) -> dict[str, Any]:
    from harden_lib.diff import load_since_last
    from harden_lib.redact import scrub_tree

    document = load_since_last(run_dir)
    if document is None:
        return {"state": "unknown"}
    document = scrub_tree(document)
    if not document.get("old"):
        return {"state": "first"}
    return {"state": "compared", **document}


def render_executive(
    run_dir: Path,
    env: Environment,
    run_info: dict[str, Any],
    findings: Sequence[Finding],
    blocking: Sequence[Finding],
    *,
    today: date | None = None,
) -> str:
    """The decision page's HTML (see the module doc)."""
    from harden_lib.exports import scrub_findings
    from harden_lib.redact import scrub_tree
    from harden_lib.render import finding_anchor
    from harden_lib.reports_index import _jinja, run_nav

    today = today or date.today()
    run = scrub_tree(run_info)
    findings = scrub_findings(list(findings))
    blocking = scrub_findings(list(blocking))
    areas = [a for a in run.get("areas", []) if isinstance(a, dict)]
    groups = group_blockers(blocking, areas)
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    waivers = scrub_tree(waiver_rows(env, findings, today))
    return (
        _jinja()
        .get_template("executive.html.j2")
        .render(
            run=run,
            nav=run_nav(run, EXECUTIVE_PAGE),
            groups=groups,
            blocker_count=len(blocking),
            counts=counts,
            statuses=[s.value for s in STATUS_ORDER],
            signoffs=signoff_rows(findings),
            signoffs_required=list(env.signoffs.required),
            waivers=waivers,
            expiring=[w for w in waivers if w["expiring"]],
            expiring_days=EXPIRING_SOON_DAYS,
            changes=_changes(run_dir),
            area_pages={a.get("area"): a.get("html") for a in areas if a.get("html")},
            anchor=finding_anchor,
            today=today.isoformat(),
        )
    )


def write_executive(
    run_dir: Path,
    env: Environment,
    run_info: dict[str, Any],
    findings: Sequence[Finding],
    blocking: Sequence[Finding],
    *,
    today: date | None = None,
) -> Path:
    """Write ``executive.html`` (and the shared assets) into the run folder.

    Never raises: the decision page is one report among others, and a failure here must not cost
    the run its exports. A page that could not be built says so in plain words.
    """
    from harden_lib.render import write_assets

    path = Path(run_dir) / EXECUTIVE_PAGE
    try:
        write_assets(run_dir)
        html = render_executive(Path(run_dir), env, run_info, findings, blocking, today=today)
    except Exception as exc:  # written as a page that says what went wrong
        from html import escape

        from harden_lib.redact import scrub_output

        message = escape(scrub_output(str(exc))[:300])
        html = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Decision page not written</title>'
            '<link rel="stylesheet" href="assets/harden.css"></head><body><main id="content">'
            "<h1>The decision page could not be written</h1>"
            f'<p>{message}</p><p><a href="index.html">Run overview</a> (verdict and every blocker)</p>'
            "</main></body></html>"
        )
    atomic_write_text(path, html)
    return path
