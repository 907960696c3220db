"""The HTML entry pages: one per run (verdict, areas, links) and one across all runs.

Jinja autoescapes every value; run records and findings are scrubbed again here
(``redact.scrub_tree``), so an index page never shows more than the exports do, including a
``run.json`` written by an older version of harden.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harden_lib.exports import scrub_findings
from harden_lib.findings import SEVERITY_ORDER, STATUS_ORDER, Finding, atomic_write_text
from harden_lib.redact import scrub_tree
from harden_lib.render import REPORT_ASSETS, TEMPLATES, breakable, finding_anchor, write_assets


def _jinja():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    # Autoescape: finding text can contain what a scanned server sent.
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    env.globals["anchor"] = finding_anchor
    env.filters["brk"] = _breakable
    return env


def _breakable(value: object):
    """Jinja filter: escaped text whose long tokens may wrap (``render.breakable``)."""
    from markupsafe import Markup

    return Markup(breakable("" if value is None else str(value)))


def run_nav(run_info: dict[str, Any], current: str) -> list[dict[str, Any]]:
    """The navigation bar of the run's own pages (overview, decision, summary, every area).

    Built from ``run.json``'s areas (their exported ``html`` file names), so it lists exactly
    the pages that exist; ``current`` is the file name of the page being written.
    """
    items = [
        {"label": "Overview", "href": "index.html"},
        {"label": "Decision", "href": "executive.html"},
    ]
    areas = [a for a in run_info.get("areas", []) if isinstance(a, dict) and a.get("html")]
    summary = [a for a in areas if a.get("area") == "summary"]
    items += [{"label": "Summary", "href": a["html"]} for a in summary]
    items += [
        {"label": a.get("title") or a.get("area") or a["html"], "href": a["html"]} for a in areas if a not in summary
    ]
    for item in items:
        item["current"] = item["href"] == current
    return [i for i in items if _relative_page(i["href"])]


def _relative_page(href: object) -> bool:
    """A link to a page of the same run folder (no path, no scheme): run.json is data, checked anyway."""
    text = str(href)
    return bool(text) and not any(c in text for c in "/\\:") and not text.startswith(".")


def shared_css() -> str:
    """The shared stylesheet, for pages outside a run folder (the all-runs index inlines it)."""
    return (REPORT_ASSETS / "harden.css").read_text(encoding="utf-8")


def write_run_index(
    run_dir: Path, run_info: dict[str, Any], blocking: Sequence[Finding], *, trends: bool | None = None
) -> Path:
    """The run's entry page. "Since the last run" comes from the run's ``since_last.json`` (issue 13);
    ``trends`` links the trends report (default: when ``trends.html`` exists)."""
    from harden_lib.diff import load_since_last

    write_assets(run_dir)
    since_last = load_since_last(run_dir)
    run = scrub_tree(run_info)
    html = (
        _jinja()
        .get_template("run_index.html.j2")
        .render(
            run=run,
            nav=run_nav(run, "index.html"),
            blocking=scrub_findings(list(blocking)),  # every blocker: an explorable table, never cut
            statuses=[s.value for s in STATUS_ORDER],
            status_rank={s.value: i for i, s in enumerate(STATUS_ORDER)},
            severity_rank={s.value: i for i, s in enumerate(SEVERITY_ORDER)},
            area_pages={a.get("area"): a["html"] for a in run.get("areas", []) if a.get("html")},
            since_last=scrub_tree(since_last) if since_last else None,
            trends=(run_dir / "trends.html").is_file() if trends is None else trends,
            sarif=(run_dir / "findings.sarif").is_file(),
        )
    )
    path = run_dir / "index.html"
    atomic_write_text(path, html)
    return path


def list_runs(reports_dir: Path) -> list[dict[str, Any]]:
    """Every completed run under ``reports_dir`` (those with a run.json), newest first."""
    runs = []
    for run_json in sorted(Path(reports_dir).glob("*/*/run.json")):
        if run_json.parent.name == "latest" or run_json.parent.is_symlink():
            continue
        try:
            info = scrub_tree(json.loads(run_json.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(info, dict):
            continue
        latest = run_json.parent.parent / "latest"
        info["latest"] = latest.is_symlink() and latest.resolve() == run_json.parent.resolve()
        info["href"] = f"{run_json.parent.parent.name}/{run_json.parent.name}/index.html"
        if (run_json.parent / "trends.html").is_file():  # issue 13
            info["trends_href"] = f"{run_json.parent.parent.name}/{run_json.parent.name}/trends.html"
        runs.append(info)
    runs.sort(key=lambda r: (r.get("environment", ""), r.get("started", "")), reverse=True)
    return runs


def write_reports_index(reports_dir: Path) -> Path:
    runs = list_runs(reports_dir)
    by_env: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: r.get("started", ""), reverse=True):
        by_env.setdefault(run.get("environment", "?"), []).append(run)
    html = (
        _jinja()
        .get_template("reports_index.html.j2")
        .render(
            runs=runs,
            css=shared_css(),
            by_env=dict(sorted(by_env.items())),
            updated=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )
    path = Path(reports_dir) / "index.html"
    atomic_write_text(path, html)
    return path
