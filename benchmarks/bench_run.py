"""Benchmark: `harden run --env demo` against the same notebooks scripted by hand.

Three ways, interleaved round by round so machine load hits them alike: ``harden run`` (warm
kernel lanes, the default), ``harden run --fresh-kernels`` (one kernel per notebook) and the
hand-scripted CLI loop. Targets (issue 12): harden run at least 6x faster than by hand, and at
most 12 s, on 2 cores.

The hand-scripted way is what a user would write without the runner: one ``papermill`` CLI
process and one ``jupyter nbconvert`` CLI process per notebook, one after another. Both
sides audit the same embedded demo target and produce the same HTML reports.

Run: ``python benchmarks/bench_run.py [--repeat N]``. Prints both wall times and the ratio
and writes them to ``benchmarks/results/bench_run.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_run.json"


def harden_run(reports: Path, *extra: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "harden"), "run", "--env", "demo", "--reports", str(reports), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"harden run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def by_hand(out: Path, areas: list[str], demo_env: dict[str, str]) -> float:
    """papermill CLI + nbconvert CLI per notebook, sequentially (areas first, then the summary)."""
    out.mkdir(parents=True, exist_ok=True)
    params = str(ROOT / "params" / "demo.yaml")
    env = {**os.environ, **demo_env}
    started = time.perf_counter()
    for area in [*areas, "summary"]:
        executed = out / f"{area}.ipynb"
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(ROOT / "notebooks" / f"{area}.ipynb"),
                str(executed),
                "-p",
                "params_path",
                params,
                "-p",
                "run_dir",
                str(out),
                "--no-progress-bar",
                "--cwd",
                str(ROOT / "notebooks"),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            env=env,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from harden_lib.demo import DemoTarget
    from harden_lib.environment import load_environment
    from harden_lib.notebook import DEMO_CA_VAR, DEMO_HTTP_URL_VAR, DEMO_URL_VAR

    areas = load_environment(ROOT / "params" / "demo.yaml").areas
    work = Path(tempfile.mkdtemp(prefix="harden-bench-"))
    runner_times, fresh_times, manual_times = [], [], []
    try:
        with DemoTarget() as target:
            demo_env = {
                DEMO_URL_VAR: target.base_url,
                DEMO_HTTP_URL_VAR: target.http_url,
                DEMO_CA_VAR: str(target.ca_path),
            }
            for i in range(args.repeat):
                runner_times.append(harden_run(work / f"runner-{i}"))
                fresh_times.append(harden_run(work / f"fresh-{i}", "--fresh-kernels"))
                manual_times.append(by_hand(work / f"manual-{i}", areas, demo_env))
                print(
                    f"round {i + 1}: harden run {runner_times[-1]:.2f} s, --fresh-kernels {fresh_times[-1]:.2f} s, "
                    f"by hand {manual_times[-1]:.2f} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    runner_median, manual_median = statistics.median(runner_times), statistics.median(manual_times)
    fresh_median = statistics.median(fresh_times)
    result = {
        "benchmark": "full demo audit: harden run vs papermill CLI + jupyter nbconvert CLI per notebook",
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "notebooks": len(areas) + 1,
        "repeat": args.repeat,
        "harden_run_s": [round(t, 2) for t in runner_times],
        "fresh_kernels_s": [round(t, 2) for t in fresh_times],
        "by_hand_s": [round(t, 2) for t in manual_times],
        "harden_run_median_s": round(runner_median, 2),
        "fresh_kernels_median_s": round(fresh_median, 2),
        "by_hand_median_s": round(manual_median, 2),
        "speedup": round(manual_median / runner_median, 2),
        "warm_over_fresh": round(fresh_median / runner_median, 2),
        "targets": {"speedup_at_least": 6.0, "harden_run_at_most_s": 12.0},
        "targets_met": manual_median / runner_median >= 6.0 and runner_median <= 12.0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"harden run (median of {args.repeat}): {runner_median:.2f} s")
    print(f"harden run --fresh-kernels (median): {fresh_median:.2f} s")
    print(f"by hand    (median of {args.repeat}): {manual_median:.2f} s")
    print(f"ratio by hand / harden run: {result['speedup']:.2f}x  -> {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
