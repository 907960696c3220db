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
from harden_lib.findings import STATUS_ORDER, Finding, atomic_write_text
from harden_lib.redact import scrub_tree
from harden_lib.render import TEMPLATES


def _jinja():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    # Autoescape: finding text can contain what a scanned server sent.
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))


def write_run_index(
    run_dir: Path, run_info: dict[str, Any], blocking: Sequence[Finding], *, trends: bool | None = None
) -> Path:
    """The run's entry page. "Since the last run" comes from the run's ``since_last.json`` (issue 13);
    ``trends`` links the trends report (default: when ``trends.html`` exists)."""
    from harden_lib.diff import load_since_last

    since_last = load_since_last(run_dir)
    html = (
        _jinja()
        .get_template("run_index.html.j2")
        .render(
            run=scrub_tree(run_info),
            blocking=scrub_findings(list(blocking)[:30]),
            statuses=[s.value for s in STATUS_ORDER],
            since_last=scrub_tree(since_last) if since_last else None,
            since_last_limit=30,
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
            by_env=dict(sorted(by_env.items())),
            updated=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )
    path = Path(reports_dir) / "index.html"
    atomic_write_text(path, html)
    return path
