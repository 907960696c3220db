"""Benchmark: drawing the headers evidence for 40 pages, one chart per page vs one chart and one table.

The headers notebook used to draw a modifier chart per URL (19-32 s for 40 URLs in a real run);
it now draws one score chart for every page (capped at 40 bars), one table of every test's
modifier per page, and the detailed modifier chart only for the three lowest-scoring pages.
Both ways are timed here side by side on the same scores, rendered to PNG as in a report.

Run: ``python benchmarks/bench_render.py [--pages 40]``; writes ``benchmarks/results/bench_render.json``.
"""

from __future__ import annotations

import argparse
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
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
