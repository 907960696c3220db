"""Warm kernel lanes: reuse, isolation between notebooks, replacement after failures (issue 12)."""

from __future__ import annotations

import json
import queue
import textwrap
from pathlib import Path

import nbformat
import pytest

from harden_lib.lanes import KernelLane, NotebookTask

PARAMETERS = 'params_path = ""\nrun_dir = ""'


def _notebook(folder: Path, name: str, *codes: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}))
    nb.cells.extend(nbformat.v4.new_code_cell(textwrap.dedent(code)) for code in codes)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.fixture
def lane(tmp_path):
    inbox: queue.PriorityQueue = queue.PriorityQueue()
    lane = KernelLane("lane-t", inbox, log_dir=tmp_path / "lanes", cwd=tmp_path).start()
    yield lane
    inbox.put(KernelLane.stop_message())
    lane.thread.join(timeout=30)


def _run(lane: KernelLane, tmp_path: Path, notebook: Path, env_vars: dict[str, str] | None = None, timeout: int = 60):
    out = tmp_path / "out" / notebook.name
    out.parent.mkdir(exist_ok=True)
    task = NotebookTask(
        environment="t",
        area=notebook.stem,
        notebook=str(notebook),
        output=str(out),
        parameters={"params_path": "", "run_dir": str(tmp_path / "out")},
        cwd=str(tmp_path),
        cell_timeout=timeout,
        log_path=str(tmp_path / "out" / "logs" / f"{notebook.stem}.log"),
        env_vars=env_vars or {},
    )
    return KernelLane.submit_to(lane.inbox, task).result(timeout=120), out


LEAVE_STATE = """
    import os, sys
    import matplotlib, matplotlib.pyplot as plt
    from harden_lib.redact import register_secret, scrub
    canary_name = "left behind"
    register_secret("lane-secret-of-env-A-123")
    os.environ["HARDEN_TEST_LEFTOVER"] = "yes"
    matplotlib.rcParams["lines.linewidth"] = 9.5
    plt.figure()
    os.chdir("/")
    import harden_lib.http as h
    h._ssl_context(None)
    print("pid", os.getpid())
"""

INSPECT_STATE = """
    import os, matplotlib, matplotlib.pyplot as plt
    from harden_lib.redact import scrub
    import harden_lib.http as h
    import json
    print(json.dumps({
        "pid": os.getpid(),
        "canary": "canary_name" in globals(),
        "scrubbed": scrub("x lane-secret-of-env-A-123 y") != "x lane-secret-of-env-A-123 y",
        "leftover": os.environ.get("HARDEN_TEST_LEFTOVER"),
        "task_var": os.environ.get("HARDEN_TASK_VAR"),
        "linewidth": matplotlib.rcParams["lines.linewidth"],
        "figures": len(plt.get_fignums()),
        "cwd": os.getcwd(),
        "ssl_cache": h._ssl_context.cache_info().currsize,
    }))
"""


def test_a_warm_kernel_is_reused_and_nothing_crosses_notebooks(lane, tmp_path):
    first, _ = _run(lane, tmp_path, _notebook(tmp_path, "a", LEAVE_STATE))
    second, out = _run(lane, tmp_path, _notebook(tmp_path, "b", INSPECT_STATE), env_vars={"HARDEN_TASK_VAR": "b-only"})
    assert first.ok and second.ok, (first.error, second.error)
    assert first.kernel == second.kernel == "warm", "the lane started and preloaded its kernel before any task"
    seen = json.loads(_outputs(out).strip().splitlines()[-1])
    pid_a = int(_outputs(tmp_path / "out" / "a.ipynb").split("pid", 1)[1].split()[0])
    assert seen["pid"] == pid_a, "the second notebook ran in the same (warm) kernel"
    assert seen["canary"] is False, "a name defined by one notebook is absent in the next"
    assert seen["scrubbed"] is False, "a secret registered by one notebook does not scrub in the next"
    assert seen["leftover"] is None and seen["task_var"] == "b-only"
    assert seen["linewidth"] != 9.5 and seen["figures"] == 0
    assert seen["cwd"] == str(tmp_path) and seen["ssl_cache"] == 0
    counts = [c.execution_count for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "execution counts restart at 1 for every notebook"
    assert lane.kernels_started == 1


def test_a_notebook_that_raises_gets_a_fresh_kernel_for_the_next(lane, tmp_path):
    boom, out = _run(lane, tmp_path, _notebook(tmp_path, "boom", "x = 1", "raise ValueError('boom in lane')"))
    assert not boom.ok and "ValueError: boom in lane" in boom.error
    assert "boom in lane" in _outputs(out) or out.is_file(), "the executed notebook with its error is kept"
    after, _ = _run(lane, tmp_path, _notebook(tmp_path, "after", "print('fine')"))
    assert after.ok and after.kernel in ("replaced", "warm")
    assert lane.kernels_started == 2, "the kernel a notebook broke was replaced"


def test_a_dead_kernel_is_replaced_and_the_partial_notebook_kept(lane, tmp_path):
    dead, out = _run(lane, tmp_path, _notebook(tmp_path, "dead", "print('before death')", "import os\nos._exit(3)"))
    assert not dead.ok and "kernel died" in dead.error
    assert "before death" in _outputs(out), "cells that ran before the crash are evidence"
    after, _ = _run(lane, tmp_path, _notebook(tmp_path, "alive", "print('alive again')"))
    assert after.ok
    assert "alive again" in _outputs(tmp_path / "out" / "alive.ipynb")


def test_a_cell_timeout_names_the_setting_and_the_kernel_is_replaced(lane, tmp_path):
    slow, _ = _run(lane, tmp_path, _notebook(tmp_path, "slow", "import time\ntime.sleep(30)"), timeout=2)
    assert not slow.ok and "execution.cell_timeout" in slow.error
    after, _ = _run(lane, tmp_path, _notebook(tmp_path, "quick", "print('quick')"))
    assert after.ok and lane.kernels_started == 2


def test_fresh_kernels_start_one_kernel_per_notebook(tmp_path):
    inbox: queue.PriorityQueue = queue.PriorityQueue()
    lane = KernelLane("lane-f", inbox, log_dir=tmp_path / "lanes", cwd=tmp_path, fresh=True).start()
    try:
        a, out_a = _run(lane, tmp_path, _notebook(tmp_path, "fa", "import os\nprint('pid', os.getpid())"))
        b, out_b = _run(lane, tmp_path, _notebook(tmp_path, "fb", "import os\nprint('pid', os.getpid())"))
    finally:
        inbox.put(KernelLane.stop_message())
        lane.thread.join(timeout=30)
    assert a.ok and b.ok and a.kernel == b.kernel == "fresh"
    assert _outputs(out_a) != _outputs(out_b), "two different kernel processes"


def test_the_local_pool_removes_its_own_kernel_logs_when_closed(tmp_path):
    """Each notebook's slice is copied into its run folder; the lanes' whole logs must not linger."""
    from harden_lib.executors import LocalExecutor

    executor = LocalExecutor(1, cwd=tmp_path)
    log_dir = executor.log_dir
    result = executor.submit(
        NotebookTask(
            environment="t",
            area="n",
            notebook=str(_notebook(tmp_path, "n", "print('hello from the lane')")),
            output=str(tmp_path / "n.out.ipynb"),
            parameters={"params_path": "", "run_dir": str(tmp_path)},
            cwd=str(tmp_path),
            cell_timeout=60,
            log_path=str(tmp_path / "logs" / "n.log"),
        )
    ).result(timeout=120)
    assert result.ok and log_dir.is_dir()
    executor.close()
    assert not log_dir.exists()
    assert (tmp_path / "logs" / "n.log").is_file(), "the notebook's own slice stays in its run folder"
