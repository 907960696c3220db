"""The Dask executor on a real ``distributed.LocalCluster`` (processes) gives the local results (issue 12)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harden_lib.areas import AREAS
from harden_lib.executors import DaskExecutor, area_modules
from harden_lib.runner import Runner

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def _identity(reports: Path, environment: str) -> list[tuple[str, str, str, str]]:
    """(area, check id, target, status) of every finding; demo ports and run ids normalised away."""
    document = json.loads((reports / environment / "latest" / "findings.json").read_text())
    rows = []
    for f in document["findings"]:
        target = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", f["target"])
        rows.append((f["area"], f["check_id"], target, f["status"]))
    return sorted(rows)


@pytest.fixture(scope="module")
def dask_executor():
    executor = DaskExecutor(workers=2, preload_modules=area_modules(list(AREAS)))
    yield executor
    executor.close()


def _demo_pair(dask_executor, root: Path, lines: list[str]):
    """The demo run locally, then on Dask right after it, each from a fresh rate limiter."""
    from harden_lib.demo import running_demo

    local_reports, reports = root / "local", root / "dask"
    running_demo().reset_rate_limits()
    Runner(reports_dir=local_reports, params_dir=ROOT / "params", progress=lambda m: None).run(["demo"])
    running_demo().reset_rate_limits()  # the local run used them up: compare like with like
    demo = Runner(reports_dir=reports, params_dir=ROOT / "params", executor=dask_executor, progress=lines.append)
    return demo.run(["demo"]), reports, local_reports


@pytest.fixture(scope="module")
def dask_runs(dask_executor, tmp_path_factory):
    from harden_lib.demo import running_demo

    lines: list[str] = []
    demo_result, reports, local_reports = _demo_pair(dask_executor, tmp_path_factory.mktemp("pair1"), lines)
    first_difference = None
    if _identity(reports, "demo") != _identity(local_reports, "demo"):
        # Timing-bound checks (a rate-limit burst's time cap, a WebSocket handshake timeout) can
        # flip on a loaded machine whatever executes them: one more pair decides, and the first
        # difference is reported as a warning so it stays visible.
        first_difference = _difference(_identity(reports, "demo"), _identity(local_reports, "demo"))
        demo_result, reports, local_reports = _demo_pair(dask_executor, tmp_path_factory.mktemp("pair2"), lines)
    examples = sorted(p.stem for p in (ROOT / "params" / "examples").glob("*.yaml"))
    runner = Runner(
        reports_dir=reports, params_dir=ROOT / "params" / "examples", executor=dask_executor, progress=lines.append
    )
    running_demo().reset_rate_limits()
    examples_result = runner.run(examples)
    return reports, demo_result, examples_result, lines, local_reports, first_difference


def _difference(dask: list, local: list) -> str:
    only_dask, only_local = sorted(set(dask) - set(local)), sorted(set(local) - set(dask))
    return f"only with Dask: {only_dask[:10]}; only local: {only_local[:10]}"


def _same(dask: list, local: list) -> None:
    assert dask == local, _difference(dask, local)


def test_dask_runs_the_demo_with_the_local_findings(dask_runs):
    reports, demo_result, _, lines, local_reports, first_difference = dask_runs
    if first_difference:
        import warnings

        warnings.warn(
            f"the first local/Dask demo pair differed (timing-bound checks?): {first_difference}", stacklevel=2
        )
    env = demo_result.environments[0]
    assert env.exit_code == 1 and env.verdict == "NO-GO"
    run = json.loads((env.run_dir / "run.json").read_text())
    assert all(a["ok"] for a in run["areas"]), run["areas"]
    assert any("Dask" in line for line in lines)
    _same(_identity(reports, "demo"), _identity(local_reports, "demo"))


def test_dask_runs_the_examples_with_the_local_findings(dask_runs, examples_run):
    reports, _, examples_result, *_ = dask_runs
    _, local_reports = examples_run
    assert [e.exit_code for e in examples_result.environments] == [1] * len(examples_result.environments)
    for env in examples_result.environments:
        _same(_identity(reports, env.environment), _identity(local_reports, env.environment))


def test_files_come_back_from_the_workers(dask_runs):
    _, demo_result, *_ = dask_runs
    run_dir = demo_result.environments[0].run_dir
    for name in ("config.ipynb", "summary.ipynb", "findings/config.json", "logs/config.kernel.log", "summary.html"):
        assert (run_dir / name).is_file(), name
    # the workers ran in scratch folders: no scratch path leaks into the reports the driver wrote
    assert "harden-task-" not in (run_dir / "summary.html").read_text()


def test_every_worker_keeps_one_warm_kernel(dask_executor):
    def lane_stats(dask_worker):
        plugin = dask_worker.plugins["harden-kernel-lane"]
        return plugin.lane.stats()

    stats = dask_executor.client.run(lane_stats)
    assert len(stats) == 2
    notebooks = sum(s["notebooks"] for s in stats.values())
    assert notebooks >= 13, stats
    assert all(s["kernels_started"] <= 2 for s in stats.values()), stats  # warm: not one per notebook
