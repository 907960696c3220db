"""Benchmark: drawing the headers evidence for 40 pages, one chart per page vs one chart and one table.

The headers notebook used to draw a modifier chart per URL (19-32 s for 40 URLs in a real run);
it now draws one score chart for every page (capped at 40 bars), one table of every test's
modifier per page, and the detailed modifier chart only for the three lowest-scoring pages.
Both ways are timed here side by side on the same scores, rendered to PNG as in a report.

Issue 14 adds the size of one report page: the same notebook (a findings table of ``--rows`` rows
and one chart) exported with nbconvert's stock ``lab`` template and a pandas ``Styler`` table (how
pages were written before: ~265 KB of inline JupyterLab CSS plus per-cell CSS) and with harden's
template, which links the run's shared ``assets/harden.css`` and renders ``render.ReportTable``.

Run: ``python benchmarks/bench_render.py [--pages 40] [--rows 60]``; writes ``benchmarks/results/bench_render.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_render.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--rows", type=int, default=60, help="rows of the findings table in the page-size test")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from harden_lib.checks import headers
    from harden_lib.checks.headers.observatory import score_results
    from harden_lib.render import figure_png
    from tests.test_observatory import PERFECT

    weak = {**PERFECT, "content-security-policy": "csp-implemented-with-unsafe-inline"}
    scores = {f"https://site-{i}.example/": score_results(PERFECT if i % 3 else weak) for i in range(args.pages)}
    figure_png(headers.plot_modifiers(next(iter(scores.values()))))  # warm the font cache for both

    started = time.perf_counter()
    for score in scores.values():
        figure_png(headers.plot_modifiers(score))
        headers.score_frame(score)
    per_page = time.perf_counter() - started

    started = time.perf_counter()
    figure_png(headers.plot_scores(scores))
    headers.scores_frame(scores)
    for score in sorted(scores.values(), key=lambda s: s.score)[:3]:
        figure_png(headers.plot_modifiers(score))
    combined = time.perf_counter() - started

    result = {
        "benchmark": f"headers evidence for {args.pages} pages rendered to PNG",
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "one_chart_per_page_s": round(per_page, 3),
        "one_chart_plus_table_s": round(combined, 3),
        "speedup": round(per_page / combined, 1),
        "page_size": page_sizes(args.rows),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def page_sizes(rows: int) -> dict[str, int | float]:
    """Bytes of one report page, before (stock lab template + Styler) and after (harden's template)."""
    import pandas as pd
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from harden_lib.findings import Finding, Severity, Status
    from harden_lib.render import REPORT_ASSETS, figure_png, notebook_to_html, plot_status_counts, style_findings

    findings = [
        Finding(
            area="headers",
            check_id=f"headers.rule_{i}",
            title=f"Header rule {i} is set",
            status=list(Status)[i % len(Status)],
            severity=list(Severity)[i % len(Severity)],
            target=f"https://app.example.test/page/{i}",
            observed="Content-Security-Policy: default-src 'self'; script-src 'self' https://cdn.example.test",
        )
        for i in range(rows)
    ]
    frame = pd.DataFrame([f.model_dump() for f in findings])
    columns = ["check_id", "title", "status", "severity", "target", "observed"]
    chart = base64.b64encode(figure_png(plot_status_counts(findings))).decode()

    def notebook(table_html: str):
        outputs = [
            new_output("display_data", data={"text/html": table_html, "text/plain": "table"}),
            new_output("display_data", data={"image/png": chart, "text/plain": "chart"}),
        ]
        nb = new_notebook(cells=[new_code_cell("show()", outputs=outputs)])
        nb.metadata["harden"] = {"title": "Security headers", "environment": "bench", "run_id": "r1"}
        return nb

    styler = frame[columns].style.format(escape="html").hide(axis="index")
    styler = styler.map(lambda v: "color: #c62828; font-weight: 600", subset=["status"])
    before = HTMLExporter(template_name="lab", exclude_input=True).from_notebook_node(notebook(styler.to_html()))[0]
    after = notebook_to_html(notebook(style_findings(frame, columns).to_html()))
    shared = sum(len((REPORT_ASSETS / name).read_bytes()) for name in ("harden.css", "tables.js"))
    image = len(chart)
    return {
        "rows": rows,
        "before_bytes": len(before.encode()),
        "after_bytes": len(after.encode()),
        "chart_png_base64_bytes": image,
        "before_without_chart": len(before.encode()) - image,
        "after_without_chart": len(after.encode()) - image,
        "shared_assets_bytes_once_per_run": shared,
    }


if __name__ == "__main__":
    raise SystemExit(main())
