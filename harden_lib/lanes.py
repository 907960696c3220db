"""Warm kernel lanes: one long-lived Jupyter kernel per worker, reused across notebooks.

Measured on 2 cores, starting a kernel and importing pandas, matplotlib, httpx and harden_lib
costs ~2.3 s, more than most area notebooks need to run. A lane starts its kernel once, in
its own thread while the runner does other work, preloads those imports
(``harden_lib.kernel_state.preload``) and then executes notebook after notebook through
papermill, handing it the running kernel manager (papermill passes ``km`` through to
nbclient, which then leaves the kernel running). Before every notebook the kernel is reset
(``kernel_state.reset``); after a notebook that raised, timed out or killed its kernel the
lane replaces the kernel, so a broken state never reaches the next notebook.

``fresh=True`` is the old behaviour (``--fresh-kernels``): papermill starts and stops one
kernel per notebook.

The same ``KernelLane`` serves the local pool (N lanes sharing one priority queue) and the
Dask executor (one private lane per Dask worker, see ``harden_lib.executors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Kernel start failures worth one retry (papermill issue 511: parallel kernels racing).
STARTUP_RACES = ("Address already in use", "Kernel didn't respond", "Kernel died before replying")
ENGINE_NAME = "harden-lane"
RESET_TIMEOUT = 60.0
#: No IPython history database: papermill never reads it, and writing it (SQLite, shared by every
#: kernel of the user) cost ~80 ms per reset and serialised parallel kernels on its lock.
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]
_MAX_ERROR = 500


@dataclass(frozen=True)
class NotebookTask:
    """One notebook execution: plain data, so it can travel to a Dask worker."""

    environment: str
    area: str
    notebook: str  # path of the committed notebook
    output: str  # path of the executed notebook to write
    parameters: dict[str, str]  # references only (params path, run folder), never secrets
    cwd: str  # working directory of the kernel (the notebooks folder)
    cell_timeout: int
    log_path: str  # where this notebook's kernel output goes (the run's logs/ folder)
    env_vars: dict[str, str] = field(default_factory=dict)  # e.g. the demo target's URL; no secrets
    priority: int = 10  # lower runs first (summaries jump the queue)


@dataclass
class NotebookResult:
    environment: str
    area: str
    ok: bool = False
    error: str | None = None
    seconds: float = 0.0
    lane: str = ""
    #: "warm" (reused kernel), "fresh" (a kernel started for this notebook), "replaced" (after a failure)
    kernel: str = "warm"
    #: files the notebook wrote, relative to its run folder (Dask workers return them; local: empty)
    files: dict[str, bytes] = field(default_factory=dict)
    notebook_json: str | None = None  # the executed notebook, when it has to travel back


def _register_engine() -> None:
    """A papermill engine that runs a notebook on the lane's kernel through the lane's client.

    papermill's own nbclient engine would also accept ``km``, but nbclient would connect a new
    client per notebook (each readiness check waits 0.2 s for IOPub to fall silent) and leave
    its ZMQ channels open when it does not own the kernel manager. The lane's one client is
    also used to reset the kernel, silently, before the first cell.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if ENGINE_NAME in papermill_engines._engines:
        return

    class LaneClient(PapermillNotebookClient):
        """Resets the warm kernel through the lane's own client before the first cell runs."""

        lane_reset_code = ""

        def papermill_execute_cells(self) -> None:
            if self.lane_reset_code:
                reply = self.wait_for_reply(
                    self.kc.execute(self.lane_reset_code, silent=True, store_history=False, allow_stdin=False)
                )
                content = (reply or {}).get("content", {})
                if content.get("status") != "ok":
                    raise LaneResetError(f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")
            super().papermill_execute_cells()

    class LaneEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(  # type: ignore[override]
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            lane_kc: Any = None,
            lane_reset_code: str = "",
            partial_output: str | None = None,
            **kwargs: Any,
        ) -> Any:
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = LaneClient(nb_man, **final)
            client.kc = lane_kc  # the lane's connected client: no new connection, no 0.2 s readiness wait
            client.lane_reset_code = lane_reset_code
            try:
                return client.execute()
            except BaseException:
                if partial_output:  # what ran before the failure is evidence: keep it
                    with contextlib.suppress(Exception):
                        import nbformat

                        nbformat.write(nb_man.nb, partial_output)
                raise
            finally:
                client.kc = None  # the lane owns it

    papermill_engines.register(ENGINE_NAME, LaneEngine)


class LaneResetError(RuntimeError):
    """The warm kernel could not be reset before a notebook: the notebook did not start."""


def _kernel_manager_logging_to(log_path: Path) -> type:
    """A kernel manager whose kernel writes stdout/stderr to ``log_path`` instead of our terminal."""
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> Any:
            with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
                kw["stdout"] = kw["stderr"] = log
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return LoggedKernelManager


def describe_failure(exc: BaseException, cell_timeout: int) -> str:
    """A one-line reason for a failed notebook, without internal class names where we know better."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(exc, papermill.PapermillExecutionError):
        return f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
    if isinstance(exc, CellTimeoutError):
        return f"a cell ran longer than {cell_timeout} s (execution.cell_timeout)"
    if isinstance(exc, DeadKernelError):
        return "the kernel died (out of memory or crashed)"
    if isinstance(exc, LaneResetError):
        return f"the kernel could not be reset before the notebook: {exc}"
    return f"{type(exc).__name__}: {exc}"


class KernelLane:
    """One worker thread that owns one kernel and executes notebooks from ``inbox`` one by one.

    ``inbox`` holds ``(priority, sequence, task, future)``; a ``None`` task stops the lane.
    """

    _sequence = itertools.count()

    def __init__(
        self,
        name: str,
        inbox: queue.PriorityQueue,
        *,
        log_dir: Path,
        cwd: Path,
        fresh: bool = False,
        preload_modules: tuple[str, ...] = (),
        scrub: Any = None,
    ) -> None:
        self.name = name
        self.inbox = inbox
        self.cwd = Path(cwd)
        self.fresh = fresh
        self.preload_modules = preload_modules
        self.log_path = Path(log_dir) / f"{name}.kernel.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.km: Any = None
        self.kc: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.kernels_started = 0
        self.notebooks_run = 0
        self.startup_seconds: list[float] = []
        self.preload_report = ""
        self._needs_new_kernel = True
        self._scrub = scrub or (lambda text: text)
        self.thread = threading.Thread(target=self._main, name=f"harden-{name}", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> KernelLane:
        self.thread.start()
        return self

    @classmethod
    def submit_to(cls, inbox: queue.PriorityQueue, task: NotebookTask) -> Future:
        future: Future = Future()
        inbox.put((task.priority, next(cls._sequence), task, future))
        return future

    @classmethod
    def stop_message(cls) -> tuple[int, int, None, None]:
        return (1 << 30, next(cls._sequence), None, None)

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        _register_engine()
        try:
            if not self.fresh:  # start and preload while the runner prepares the environments
                with contextlib.suppress(Exception):
                    self._replace_kernel()  # a failure is retried when the first notebook arrives
            while True:
                _, _, task, future = self.inbox.get()
                if task is None:
                    break
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(self.execute(task))
                except BaseException as exc:  # never leave a caller waiting
                    future.set_exception(exc)
                if self._needs_new_kernel and not self.fresh:
                    with contextlib.suppress(Exception):  # now, so the next notebook finds a warm kernel
                        self._replace_kernel()
        finally:
            self._shutdown()
            with contextlib.suppress(Exception):
                self.loop.close()

    def _run(self, coro: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(coro)

    def _replace_kernel(self) -> None:
        """Stop the current kernel (if any), start a new one, connect the lane's client, preload."""
        self._shutdown()
        self._needs_new_kernel = True
        # A new event loop per kernel: a notebook that failed can leave the old client's sockets
        # registered with the loop, and a new socket reusing that descriptor would never wake up.
        if self.loop is not None:
            with contextlib.suppress(Exception):
                self.loop.close()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        started = time.monotonic()
        manager_class = _kernel_manager_logging_to(self.log_path)
        self.km = manager_class(kernel_name="python3")
        self._run(self.km.start_kernel(cwd=str(self.cwd), extra_arguments=KERNEL_ARGUMENTS))
        self.kc = self.km.client()
        self.kc.start_channels()
        self._run(self.kc.wait_for_ready(timeout=60))
        modules = json.dumps(list(self.preload_modules))
        self.preload_report = self._execute_code(
            f"import json as _j, harden_lib.kernel_state as _ks\nprint(_ks.preload(tuple(_j.loads({modules!r}))))"
            "\ndel _j, _ks",
            timeout=120,
        )
        self.kernels_started += 1
        self.startup_seconds.append(round(time.monotonic() - started, 3))
        self._needs_new_kernel = False

    def _shutdown(self) -> None:
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            with contextlib.suppress(Exception):
                self._run(self.km.shutdown_kernel(now=True))
            with contextlib.suppress(Exception):
                self._run(self.km.cleanup_resources())
            self.km = None

    def _execute_code(self, code: str, timeout: float = RESET_TIMEOUT) -> str:
        """Run ``code`` in the lane's kernel outside any notebook; returns its stdout; raises on error."""
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout":
                out.append(content.get("text", ""))
            elif kind == "error":
                errors.append(f"{content.get('ename')}: {content.get('evalue')}")

        reply = self._run(
            self.kc.execute_interactive(
                code, store_history=False, silent=False, timeout=timeout, output_hook=hook, allow_stdin=False
            )
        )
        if errors or reply["content"].get("status") != "ok":
            raise RuntimeError("; ".join(errors) or f"kernel reply {reply['content'].get('status')}")
        return "".join(out).strip()

    def _kernel_ready(self) -> bool:
        if self._needs_new_kernel or self.km is None or self.kc is None:
            return False
        try:
            return bool(self._run(self.km.is_alive()))
        except Exception:
            return False

    # ------------------------------------------------------------------ execution

    def execute(self, task: NotebookTask) -> NotebookResult:
        result = NotebookResult(task.environment, task.area, lane=self.name)
        began = time.monotonic()
        Path(task.log_path).parent.mkdir(parents=True, exist_ok=True)
        if self.fresh:
            result.kernel = "fresh"
            self._execute_fresh(task, result)
        else:
            self._execute_warm(task, result)
        result.seconds = time.monotonic() - began
        if result.error:
            result.error = self._scrub(result.error)[:_MAX_ERROR]
        self.notebooks_run += 1
        return result

    def _execute_warm(self, task: NotebookTask, result: NotebookResult) -> None:
        import papermill

        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        if not self._kernel_ready():
            result.kernel = "replaced" if self.kernels_started else "fresh"
            for attempt in (1, 2):  # one retry: parallel kernel starts can race (papermill #511)
                try:
                    self._replace_kernel()
                    break
                except Exception as exc:
                    if attempt == 2:
                        result.error = f"the kernel could not be started: {exc}"
                        self._shutdown()
                        return
        reset = f"__import__('harden_lib.kernel_state').kernel_state.reset({dict(task.env_vars)!r}, {task.cwd!r})"
        try:
            papermill.execute_notebook(
                task.notebook,
                task.output,
                parameters=task.parameters,
                engine_name=ENGINE_NAME,
                kernel_name="python3",
                km=self.km,
                lane_kc=self.kc,
                lane_reset_code=reset,
                partial_output=task.output,
                request_save_on_cell_execute=False,
                progress_bar=False,
                log_output=False,
                execution_timeout=task.cell_timeout,
            )
            result.ok = True
        except Exception as exc:
            result.error = describe_failure(exc, task.cell_timeout)
            self._needs_new_kernel = True  # never reuse a kernel a notebook broke or left mid-cell
        finally:
            self._copy_log(offset, Path(task.log_path))

    def _execute_fresh(self, task: NotebookTask, result: NotebookResult) -> None:
        """The one-kernel-per-notebook path (``--fresh-kernels``), with one retry for start-up races."""
        import papermill

        for attempt in (1, 2):
            try:
                papermill.execute_notebook(
                    task.notebook,
                    task.output,
                    parameters=task.parameters,
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=task.cell_timeout,
                    cwd=task.cwd,
                    kernel_manager_class=_kernel_manager_logging_to(Path(task.log_path)),
                )
                result.ok = True
                result.error = None
                return
            except Exception as exc:
                message = describe_failure(exc, task.cell_timeout)
                if attempt == 1 and any(race in message for race in STARTUP_RACES):
                    continue
                result.error = message
                return

    def _copy_log(self, offset: int, destination: Path) -> None:
        """This notebook's slice of the lane's kernel log, scrubbed, into the run's logs folder."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                chunk = log.read(1_000_000)
        except OSError:
            return
        with open(destination, "a", encoding="utf-8") as out:  # created even when the kernel said nothing
            out.write(self._scrub(chunk.decode("utf-8", errors="replace")))

    def stats(self) -> dict[str, Any]:
        return {
            "lane": self.name,
            "kernels_started": self.kernels_started,
            "notebooks": self.notebooks_run,
            "startup_seconds": self.startup_seconds,
        }
