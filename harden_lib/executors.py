"""Where notebooks execute: warm kernel lanes on this machine, or Dask workers for a fleet.

Both executors take a ``NotebookTask`` and return a ``concurrent.futures.Future`` of a
``NotebookResult``, so the runner schedules every (environment, area) pair the same way
whatever runs them.

* ``LocalExecutor``: N ``KernelLane`` threads sharing one priority queue (summaries first).
* ``DaskExecutor``: each notebook is a Dask task. A worker plugin gives every Dask worker its
  own warm lane; the task executes in a scratch folder on the worker and returns the files the
  notebook wrote (executed notebook, findings, kernel log), which the driver writes into the
  run folder. So workers need no shared reports folder: only the same harden version and the
  params files (and what they reference) at the same paths. ``latest`` switching, the indexes
  and every export stay on the driver.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from harden_lib.lanes import KernelLane, NotebookResult, NotebookTask

#: Name of the worker plugin that owns each Dask worker's lane.
PLUGIN_NAME = "harden-kernel-lane"


class Executor(Protocol):
    name: str

    def submit(self, task: NotebookTask, inputs: Mapping[str, bytes] | None = None) -> Future: ...

    def close(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


def area_modules(areas: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"harden_lib.checks.{a}" for a in areas)


class LocalExecutor:
    """Warm kernel lanes in this process (threads), one kernel each."""

    name = "local"

    def __init__(
        self,
        workers: int,
        *,
        cwd: Path,
        log_dir: Path | None = None,
        fresh: bool = False,
        preload_modules: tuple[str, ...] = (),
    ) -> None:
        self.inbox: queue.PriorityQueue = queue.PriorityQueue()
        self.fresh = fresh
        # The lanes' own kernel logs hold whatever any kernel printed, for every environment; each
        # notebook's slice is copied (and scrubbed) into its run folder, and the rest is removed at close.
        self._own_log_dir = log_dir is None
        log_dir = Path(tempfile.mkdtemp(prefix="harden-lanes-")) if log_dir is None else log_dir
        self.log_dir = log_dir
        self.lanes = [
            KernelLane(
                f"lane-{i + 1}", self.inbox, log_dir=log_dir, cwd=cwd, fresh=fresh, preload_modules=preload_modules
            ).start()
            for i in range(max(1, workers))
        ]

    def submit(self, task: NotebookTask, inputs: Mapping[str, bytes] | None = None) -> Future:
        # Local lanes read and write the run folder directly: ``inputs`` are already there.
        return KernelLane.submit_to(self.inbox, task)

    def close(self) -> None:
        for _ in self.lanes:
            self.inbox.put(KernelLane.stop_message())
        for lane in self.lanes:
            lane.thread.join(timeout=30)
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def stats(self) -> dict[str, Any]:
        return {"executor": self.name, "fresh_kernels": self.fresh, "lanes": [lane.stats() for lane in self.lanes]}


# --------------------------------------------------------------------------- Dask


def _lane_plugin_class() -> type:
    from distributed import WorkerPlugin

    class KernelLanePlugin(WorkerPlugin):
        """Gives a Dask worker one warm kernel lane for its whole life (started at worker set-up)."""

        name = PLUGIN_NAME

        def __init__(self, preload_modules: tuple[str, ...] = (), fresh: bool = False) -> None:
            self.preload_modules = tuple(preload_modules)
            self.fresh = fresh
            self.lane: KernelLane | None = None

        def setup(self, worker: Any) -> None:
            from harden_lib.runner import notebooks_dir

            scratch = Path(tempfile.mkdtemp(prefix="harden-lane-"))
            self.lane = KernelLane(
                f"dask-{worker.name}",
                queue.PriorityQueue(),
                log_dir=scratch,
                cwd=notebooks_dir(),
                fresh=self.fresh,
                preload_modules=self.preload_modules,
            ).start()

        def teardown(self, worker: Any) -> None:
            if self.lane is not None:
                self.lane.inbox.put(KernelLane.stop_message())
                self.lane.thread.join(timeout=30)
                shutil.rmtree(self.lane.log_path.parent, ignore_errors=True)

    return KernelLanePlugin


def run_on_worker_lane(task: NotebookTask, inputs: Mapping[str, bytes]) -> NotebookResult:
    """The Dask task: run ``task`` on this worker's lane in a scratch run folder, return its files.

    The notebook file and the run folder's inputs (for the summary: every area's findings)
    travel with the task; the notebooks folder of the worker's own harden install is the
    kernel's working directory.
    """
    from distributed import get_worker

    from harden_lib.runner import notebooks_dir

    plugin = get_worker().plugins.get(PLUGIN_NAME)
    lane: KernelLane | None = getattr(plugin, "lane", None)
    if lane is None:
        raise RuntimeError("this Dask worker has no harden kernel lane (the worker plugin is not registered)")
    scratch = Path(tempfile.mkdtemp(prefix="harden-task-"))
    try:
        for relative, content in inputs.items():
            path = _inside(scratch, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        notebook = scratch / ".notebook" / Path(task.notebook).name
        local = replace(
            task,
            notebook=str(notebook),
            output=str(scratch / Path(task.output).name),
            parameters={**task.parameters, "run_dir": str(scratch)},
            log_path=str(scratch / "logs" / Path(task.log_path).name),
            cwd=str(notebooks_dir()),
        )
        result: NotebookResult = KernelLane.submit_to(lane.inbox, local).result()
        for path in sorted(scratch.rglob("*")):
            relative = path.relative_to(scratch).as_posix()
            if path.is_file() and not relative.startswith(".notebook/") and relative not in inputs:
                result.files[relative] = path.read_bytes()
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing paths that climb out of ``folder``."""
    path = (folder / relative).resolve()
    if folder.resolve() not in path.parents:
        raise ValueError(f"refusing a path outside the run folder: {relative!r}")
    return path


class DaskExecutor:
    """Notebook executions as Dask tasks on workers that keep warm kernels (a worker plugin)."""

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 2,
        fresh: bool = False,
        preload_modules: tuple[str, ...] = (),
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            from harden_lib.errors import HardenError

            raise HardenError(
                "the Dask executor needs the 'distributed' package: pip install 'harden[dask]' "
                "(or pip install 'dask[distributed]')"
            ) from None
        self.cluster = None
        if scheduler:
            self.name = "dask"
            self.client = Client(scheduler, timeout="30s")
        else:
            self.name = "dask-local"
            self.cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,  # logging.ERROR: the driver's progress lines stay readable
            )
            self.client = Client(self.cluster)
        self.fresh = fresh
        plugin = _lane_plugin_class()(preload_modules=preload_modules, fresh=fresh)
        self.client.register_plugin(plugin, name=PLUGIN_NAME)
        self._lock = threading.Lock()

    def submit(self, task: NotebookTask, inputs: Mapping[str, bytes] | None = None) -> Future:
        files = dict(inputs or {})
        files[f".notebook/{Path(task.notebook).name}"] = Path(task.notebook).read_bytes()
        dask_future = self.client.submit(
            run_on_worker_lane,
            task,
            files,
            pure=False,
            priority=-task.priority,  # Dask runs higher priorities first; ours: lower first
            key=f"harden-{task.environment}-{task.area}-{id(task):x}",
        )
        future: Future = Future()

        def done(finished: Any) -> None:
            try:
                future.set_result(finished.result())
            except BaseException as exc:
                future.set_exception(exc)

        dask_future.add_done_callback(done)
        return future

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()

    def stats(self) -> dict[str, Any]:
        info: dict[str, Any] = {"executor": self.name, "fresh_kernels": self.fresh}
        with contextlib.suppress(Exception):
            info["workers"] = len(self.client.scheduler_info().get("workers", {}))
        return info
