"""``harden run``: execute the area notebooks of one or more environments and write the reports.

Design choices, from measurements on a 2-core machine: one long-lived process drives
papermill in a small thread pool (a kernel start costs ~0.7 s; a papermill CLI process
~3.8 s and an nbconvert CLI process ~3.2 s), and HTML is exported in-process with one reused
exporter (~0.03 s per notebook after the first). A notebook that raises still gets its HTML,
its area becomes ``error`` in the summary, and the exit code says the run was incomplete.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import platform
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden_lib import governance
from harden_lib.areas import AREAS, SUMMARY
from harden_lib.environment import Environment, load_environment
from harden_lib.errors import HardenError
from harden_lib.exports import (
    scrub_area_files,
    scrub_findings,
    write_findings_csv,
    write_findings_json,
    write_junit,
)
from harden_lib.findings import Finding, atomic_write_text
from harden_lib.identity import IdentityContext
from harden_lib.lanes import NotebookResult, NotebookTask
from harden_lib.notebook import DEMO_CA_VAR, DEMO_HTTP_URL_VAR, DEMO_URL_VAR, attach_demo, project_root
from harden_lib.params import environment_path
from harden_lib.redact import (
    SecretRegistry,
    redact_text,
    register_secret,
    scrub,
    scrub_output,
    scrub_tree,
    secret_scope,
)
from harden_lib.reports_index import write_reports_index, write_run_index
from harden_lib.sarif import write_sarif
from harden_lib.summary import EXECUTION_FILE, collect, flatten, verdict

if TYPE_CHECKING:
    from harden_lib.executors import Executor

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_INCOMPLETE = 2
EXIT_USAGE = 64

#: Parameters every notebook's ``parameters`` cell must declare (references, never secrets).
NOTEBOOK_PARAMETERS = ("params_path", "run_dir")

#: Where notebooks execute: warm lanes here, a Dask LocalCluster, or an existing Dask scheduler.
EXECUTORS = ("local", "dask-local", "dask")


@dataclass
class AreaRun:
    area: str
    title: str
    ok: bool = False
    seconds: float = 0.0
    error: str | None = None
    html: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    kernel: str = ""  # warm (reused), fresh or replaced


@dataclass
class EnvRun:
    environment: str
    run_id: str = ""
    run_dir: Path | None = None
    verdict: str = "ERROR"
    headline: str = ""
    exit_code: int = EXIT_INCOMPLETE
    areas: list[AreaRun] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunResult:
    environments: list[EnvRun]

    @property
    def exit_code(self) -> int:
        codes = [e.exit_code for e in self.environments] or [EXIT_INCOMPLETE]
        if EXIT_INCOMPLETE in codes:
            return EXIT_INCOMPLETE
        return EXIT_NO_GO if EXIT_NO_GO in codes else EXIT_GO


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def notebooks_dir() -> Path:
    """The area notebooks: the checkout's ``notebooks/`` (what JupyterLab users edit), else the
    copy an installed wheel ships as ``harden_lib/notebooks/`` (setup.py maps the folder)."""
    checkout = project_root() / "notebooks"
    if (checkout / "summary.ipynb").is_file():
        return checkout
    return Path(__file__).resolve().parent / "notebooks"


class _Counter:
    """Notebooks and environments done so far, and a naive ETA, for the progress lines."""

    def __init__(self, total: int, environments: int) -> None:
        self.total = total
        self.environments = environments
        self.notebooks = 0
        self.environments_done = 0
        self.started = time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        left = self.total - self.notebooks
        eta = f", ETA {elapsed / self.notebooks * left:.0f}s" if self.notebooks and left else ""
        return (
            f"[{self.notebooks}/{self.total} notebooks, {self.environments_done}/{self.environments} environments{eta}]"
        )


class Progress:
    """Area started / finished lines with elapsed time, safe to call from worker threads."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self.lock:
            # Progress lines carry URLs and error texts: the same redaction as command output.
            print(f"[{time.monotonic() - self.started:6.1f}s] {redact_text(message)}", file=self.stream, flush=True)


@dataclass
class _EnvState:
    """One environment's progress through a run (the runner's bookkeeping, not exported)."""

    name: str
    outcome: EnvRun
    registry: SecretRegistry
    started: float
    started_at: datetime
    params_path: Path
    env: Environment | None = None
    selected: list[str] = field(default_factory=list)
    results: dict[str, AreaRun] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    #: only some of the environment's areas were selected (``--areas``): the run is partial
    partial: bool = False
    #: areas that run once the others are done (attestations voided by other areas' failures)
    deferred: list[str] = field(default_factory=list)


class Runner:
    """Runs every (environment, area) notebook on one shared pool of warm kernels.

    Every environment's areas are queued at once; an environment's summary jumps the queue
    as soon as its own areas are done, and its reports are written (in a background thread)
    while other environments' notebooks still run. Each environment has its own secret
    registry, so one environment's secrets never scrub, or leak into, another's reports.
    """

    def __init__(
        self,
        *,
        reports_dir: Path | str = "reports",
        params_dir: Path | str = "params",
        notebooks: Path | str | None = None,
        workers: int = 2,
        progress: Callable[[str], None] | None = None,
        fresh_kernels: bool = False,
        executor: str | Executor = "local",
        scheduler: str | None = None,
        keep: int | None = None,
        junit_all: bool = False,
        latest: bool = False,
    ) -> None:
        # Absolute, because kernels run with the notebooks folder as their working directory.
        self.reports_dir = Path(reports_dir).resolve()
        self.params_dir = Path(params_dir).resolve()
        self.notebooks = (Path(notebooks) if notebooks else notebooks_dir()).resolve()
        self.workers = max(1, workers)
        self.progress = progress or Progress()
        self.fresh_kernels = fresh_kernels
        #: an executor started by the caller (tests, benchmarks) is reused across runs, never closed here
        self.shared_executor: Executor | None = None
        if not isinstance(executor, str):
            self.shared_executor, executor = executor, executor.name
        elif executor not in EXECUTORS:
            raise HardenError(f"unknown executor '{executor}'; known: {', '.join(EXECUTORS)}")
        if executor == "dask" and not scheduler and self.shared_executor is None:
            raise HardenError("--executor dask needs --scheduler tcp://HOST:8786")
        self.executor_name = executor
        self.scheduler = scheduler
        self.executor_stats: dict[str, Any] = {}
        # issue 13: retention after each environment, JUnit's old view, the trends notebooks in flight
        self.keep = keep
        self.junit_all = junit_all
        #: issue 14: a partial run (--areas) replaces the 'latest' of a complete run only when asked
        self.latest = latest
        self._executor: Executor | None = None
        self._trends: list[tuple[_EnvState, Future]] = []
        self._trends_lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def run(self, env_names: Sequence[str], areas: Sequence[str] | None = None) -> RunResult:
        # Kernels start and preload while the environments are prepared.
        executor = self.shared_executor or self._start_executor()
        self._executor = executor
        states: list[_EnvState] = []
        try:
            states = [self._open(name, areas) for name in env_names]
            self._schedule(executor, [s for s in states if s.env is not None])
        finally:
            self.executor_stats = executor.stats()
            if executor is not self.shared_executor:
                executor.close()
        write_reports_index(self.reports_dir)
        return RunResult([s.outcome for s in states])

    def run_environment(self, name: str, areas: Sequence[str] | None = None) -> EnvRun:
        return self.run([name], areas).environments[0]

    # ------------------------------------------------------------------ scheduling

    def _start_executor(self) -> Executor:
        from harden_lib.executors import DaskExecutor, LocalExecutor, area_modules

        preload = area_modules(list(AREAS))
        if self.executor_name == "local":
            return LocalExecutor(self.workers, cwd=self.notebooks, fresh=self.fresh_kernels, preload_modules=preload)
        return DaskExecutor(
            scheduler=self.scheduler if self.executor_name == "dask" else None,
            workers=self.workers,
            fresh=self.fresh_kernels,
            preload_modules=preload,
        )

    def _open(self, name: str, areas: Sequence[str] | None) -> _EnvState:
        """Load and check one environment's params and create its run folder (errors are kept)."""
        started_at = datetime.now(UTC)
        state = _EnvState(
            name=name,
            outcome=EnvRun(environment=name),
            registry=SecretRegistry(),
            started=time.monotonic(),
            started_at=started_at,
            params_path=environment_path(name, self.params_dir),
        )
        with secret_scope(state.registry):
            try:
                env = self._prepare(state.params_path)
            except HardenError as exc:
                state.outcome.error = scrub(str(exc))
                self.progress(f"[{name}] cannot run: {state.outcome.error}")
                return state
        state.env = env
        state.selected = [a for a in env.areas if areas is None or a in areas]
        if areas is not None and not state.selected:
            state.outcome.error = (
                f"none of the areas asked for ({', '.join(areas) or 'none'}) is enabled for this environment; "
                f"its areas: {', '.join(env.areas)}"
            )
            self.progress(f"[{name}] cannot run: {state.outcome.error}")
            state.env = None
            return state
        state.partial = set(state.selected) != set(env.areas)
        skipped = [a for a in (areas or []) if a not in env.areas]
        if skipped:  # asked for, but not enabled for this environment: say so rather than drop it silently
            self.progress(f"[{name}] not enabled for this environment, not run: {', '.join(skipped)}")
        state.pending = set(state.selected)
        if governance.depends_on_other_areas(env) and governance.ATTESTATION_AREA in state.selected:
            # Its attestations are voided by other areas' failures: its page must see them (issue 14).
            state.deferred = [governance.ATTESTATION_AREA] if len(state.selected) > 1 else []
        state.outcome.run_id = new_run_id(started_at)
        run_dir = self.reports_dir / env.name / state.outcome.run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        (run_dir / "logs").mkdir()
        state.outcome.run_dir = run_dir
        self.progress(f"[{name}] run {state.outcome.run_id}: areas {', '.join(state.selected) or '(none)'}")
        return state

    def _schedule(self, executor: Executor, states: list[_EnvState]) -> None:
        """Submit every area of every environment; each summary as soon as its areas are done."""
        total = sum(len(s.selected) + 1 for s in states)
        counter = _Counter(total=total, environments=len(states))
        if states:
            self.progress(f"{total} notebooks of {len(states)} environment(s) queued on {self._where()}")
        futures: dict[Future, tuple[_EnvState, str]] = {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harden-reports") as reports:
            finishing: list[Future] = []
            for state in states:
                for area in _longest_first(state):
                    if area not in state.deferred:
                        futures[self._submit(executor, state, area)] = (state, area)
                if not state.selected:
                    futures[self._submit_summary(executor, state)] = (state, SUMMARY)
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    state, area = futures.pop(future)
                    run = self._area_run(state, area, future)
                    counter.notebooks += 1
                    verb = "finished" if run.ok else f"FAILED ({run.error})"
                    self.progress(f"[{state.name}] {area} {verb} in {run.seconds:.1f}s  {counter.line()}")
                    if area == SUMMARY:
                        state.results[SUMMARY] = run
                        finishing.append(reports.submit(self._finish_in_scope, state, counter))
                        continue
                    state.results[area] = run
                    state.pending.discard(area)
                    if state.deferred and state.pending == set(state.deferred):
                        for later in state.deferred:  # every other area is done: their findings are saved
                            futures[self._submit(executor, state, later, with_findings=True)] = (state, later)
                        state.deferred = []
                    elif not state.pending:
                        futures[self._submit_summary(executor, state)] = (state, SUMMARY)
                    reports.submit(self._export_in_scope, state, run)
            for job in finishing:
                job.result()
            self._wait_trends()

    def _where(self) -> str:
        kernels = "fresh kernels" if self.fresh_kernels else "warm kernels"
        if self.executor_name == "local":
            return f"{self.workers} local {kernels}"
        if self.executor_name == "dask-local":
            return f"a Dask LocalCluster of {self.workers} workers ({kernels})"
        return f"the Dask scheduler {self.scheduler} ({kernels})"

    def _task(self, state: _EnvState, area: str, priority: int) -> NotebookTask:
        assert state.env is not None and state.outcome.run_dir is not None
        run_dir = state.outcome.run_dir
        return NotebookTask(
            environment=state.name,
            area=area,
            notebook=str(self.notebooks / f"{area}.ipynb"),
            output=str(run_dir / f"{area}.ipynb"),
            parameters={"params_path": str(state.params_path.resolve()), "run_dir": str(run_dir)},
            cwd=str(self.notebooks),
            cell_timeout=state.env.execution.cell_timeout,
            log_path=str(run_dir / "logs" / f"{area}.kernel.log"),
            env_vars=_demo_variables() if state.env.demo.enabled else {},
            priority=priority,
        )

    def _submit(self, executor: Executor, state: _EnvState, area: str, with_findings: bool = False) -> Future:
        """Queue one area; ``with_findings`` ships the run's saved findings along (a remote Dask worker
        has no run folder of its own), for an area governed by the others' results."""
        task = self._task(state, area, priority=10)
        if not with_findings:
            return executor.submit(task)
        assert state.outcome.run_dir is not None
        folder = state.outcome.run_dir / "findings"
        inputs = {f"findings/{p.name}": p.read_bytes() for p in sorted(folder.glob("*.json"))}
        return executor.submit(task, inputs)

    def _submit_summary(self, executor: Executor, state: _EnvState) -> Future:
        assert state.outcome.run_dir is not None
        self._write_execution(state.outcome.run_dir, state.results)
        self._since_last_run(state)  # issue 13: the summary shows what changed since the last run
        return executor.submit(self._task(state, SUMMARY, priority=0), _summary_inputs(state.outcome.run_dir))

    def _area_run(self, state: _EnvState, area: str, future: Future) -> AreaRun:
        """The executor's result as an ``AreaRun``; files a remote worker returned are written here."""
        title = AREAS[area].title if area in AREAS else "Summary: GO / NO-GO"
        run = AreaRun(area=area, title=title)
        try:
            result: NotebookResult = future.result()
        except Exception as exc:  # the executor itself failed (a lost Dask worker, …)
            run.error = f"the notebook could not be executed: {type(exc).__name__}: {exc}"
        else:
            run.ok, run.error, run.seconds = result.ok, result.error, result.seconds
            run.kernel = result.kernel
            assert state.outcome.run_dir is not None
            for relative, content in result.files.items():
                path = state.outcome.run_dir / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        if run.error:
            with secret_scope(state.registry):
                run.error = scrub(run.error)[:500]
        return run

    def _finish_in_scope(self, state: _EnvState, counter: _Counter) -> None:
        with secret_scope(state.registry):
            try:
                self._finish(state)
            except Exception as exc:  # never lose the other environments' reports over one
                state.outcome.error = scrub(f"writing the reports failed: {type(exc).__name__}: {exc}")[:500]
                state.outcome.exit_code = EXIT_INCOMPLETE
                self.progress(f"[{state.name}] {state.outcome.error}")
        counter.environments_done += 1

    def _finish(self, state: _EnvState) -> None:
        """Collect the findings, decide, write every report and export, switch ``latest``."""
        env, outcome, run_dir = state.env, state.outcome, state.outcome.run_dir
        assert env is not None and run_dir is not None
        area_runs = {a: state.results[a] for a in [*state.selected, SUMMARY] if a in state.results}
        scrub_area_files(run_dir)  # the kernels may not have known every secret this process knows
        per_area = collect(env.model_copy(update={"areas": state.selected}), run_dir)
        per_area = {area: scrub_findings(found) for area, found in per_area.items()}
        decision = verdict(env, per_area)
        for area, findings in per_area.items():
            if area in area_runs:  # 'governance' has no notebook of its own
                area_runs[area].counts = _counts(findings)
        summary_run = area_runs[SUMMARY]
        summary_run.counts = _counts(flatten(per_area))
        complete = all(r.ok for r in area_runs.values())
        outcome.areas = list(area_runs.values())
        outcome.verdict = decision.result.verdict
        outcome.headline = decision.headline
        outcome.exit_code = EXIT_INCOMPLETE if not complete else (EXIT_GO if decision.result.go else EXIT_NO_GO)
        if not complete:
            outcome.headline += " The run is incomplete: see the areas marked 'no'."

        self._export_html(env, outcome, run_dir, outcome.areas, state)
        _scrub_logs(run_dir / "logs")
        findings = flatten(per_area)
        durations = {a: r.seconds for a, r in area_runs.items()}
        blocking = decision.result.blocking
        identity = IdentityContext.for_environment(env)
        write_findings_json(
            run_dir / "findings.json",
            env.name,
            outcome.run_id,
            findings,
            blocking=blocking,
            verdict=outcome.verdict,
            fail_on=env.gate.fail_on.value,
            started=state.started_at.isoformat(timespec="seconds"),
            exit_code=outcome.exit_code,
            context=identity,
            partial=state.partial,
            areas=state.selected,
        )
        write_findings_csv(
            run_dir / "findings.csv", env.name, findings, run_id=outcome.run_id, blocking=blocking, context=identity
        )
        junit = run_dir / "junit.xml"
        write_junit(
            junit,
            env.name,
            findings,
            durations,
            blocking=blocking,
            all_failures=self.junit_all,
            partial=state.partial,
            areas=state.selected,
        )
        write_sarif(
            run_dir / "findings.sarif",
            env.name,
            outcome.run_id,
            findings,
            blocking=blocking,
            env=env,
            verdict=outcome.verdict,
            context=identity,
            partial=state.partial,
            areas=state.selected,
        )
        run_info = self._run_info(env, outcome, state.started_at, time.monotonic() - state.started, blocking)
        run_info["partial"] = state.partial  # issue 14: a run of some areas says so everywhere
        run_info["areas_selected"] = list(state.selected)
        atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
        # issue 13: record the run, then the index (with "since the last run" and the trends link).
        # issue 14: a partial run that does not become 'latest' is not the environment's state either:
        # it is not recorded in the history (trends and the next run's diff compare complete runs).
        becomes_latest = not state.partial or self.latest or not _latest_is_complete(run_dir.parent)
        history_hooks = _history_hooks()
        recorded = history_hooks.record(env, run_dir, self.reports_dir, self.progress) if becomes_latest else None
        trends = self._trends_wanted(state, recorded)
        from harden_lib.executive import write_executive  # issue 14 (B): the decision page, never raises

        write_executive(run_dir, env, run_info, findings, blocking)
        write_run_index(run_dir, run_info, blocking, trends=trends)
        if becomes_latest:
            _switch_latest(run_dir)
        else:
            self.progress(
                f"[{state.name}] a partial run (areas {', '.join(state.selected)}): 'latest' still points at the "
                "last complete run and the history does not record it (harden run --latest does both)"
            )
        self.progress(f"[{state.name}] {outcome.headline} Report: {run_dir / 'index.html'}")
        history_hooks.notify_and_prune(env, outcome, run_dir, self.reports_dir, recorded, self.keep, self.progress)
        if trends:
            self._submit_trends(state)

    # ------------------------------------------------------------------ history (issue 13)

    def _since_last_run(self, state: _EnvState) -> None:
        """``since_last.json`` for the summary and the index; a failure here never stops the run."""
        assert state.env is not None and state.outcome.run_dir is not None
        with secret_scope(state.registry):
            try:
                _history_hooks().since_last_run(
                    state.env,
                    state.selected,
                    state.outcome.run_dir,
                    state.outcome.run_id,
                    state.started_at,
                    self.reports_dir,
                    self.progress,
                    partial=state.partial,  # issue 14: compared on the areas it audited only
                )
            except Exception as exc:
                self.progress(f"[{state.name}] comparing with the last run failed: {scrub(str(exc))[:300]}")

    def _trends_wanted(self, state: _EnvState, recorded: Any) -> bool:
        """The trends notebook runs from an environment's second recorded run on (a trend needs two)."""
        if recorded is None or self._executor is None or not (self.notebooks / "trends.ipynb").is_file():
            return False
        _run, diff = recorded
        return diff.old is not None

    def _submit_trends(self, state: _EnvState) -> None:
        assert state.env is not None and state.outcome.run_dir is not None and self._executor is not None
        inputs = _history_hooks().trends_inputs(state.env, state.outcome.run_dir, self.reports_dir, self.progress)
        if inputs is None:
            return
        future = self._executor.submit(self._task(state, "trends", priority=5), inputs)
        with self._trends_lock:
            self._trends.append((state, future))

    def _wait_trends(self) -> None:
        """Wait for the trends notebooks and export them to HTML (a failed one gets its placeholder)."""
        with self._trends_lock:
            pending, self._trends = self._trends, []
        for state, future in pending:
            assert state.env is not None and state.outcome.run_dir is not None
            run = AreaRun(area="trends", title="Trends")
            try:
                result: NotebookResult = future.result()
                run.ok, run.error, run.seconds = result.ok, result.error, result.seconds
                for relative, content in result.files.items():
                    path = state.outcome.run_dir / relative
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(content)
            except Exception as exc:
                run.error = f"the trends notebook could not be executed: {exc}"
            with secret_scope(state.registry):
                if run.error:
                    run.error = scrub(run.error)[:500]
                self._export_one(state.env, state.outcome.run_id, state.outcome.run_dir, run, state)
                _scrub_logs(state.outcome.run_dir / "logs")
            verb = "finished" if run.ok else f"FAILED ({run.error})"
            self.progress(f"[{state.name}] trends {verb} in {run.seconds:.1f}s")

    # ------------------------------------------------------------------ steps

    def _prepare(self, params_path: Path) -> Environment:
        env = load_environment(params_path)
        if env.demo.enabled:
            from harden_lib.demo import running_demo

            target = running_demo()
            # Kernels inherit this process's environment: they audit the same target.
            os.environ[DEMO_URL_VAR] = target.base_url
            os.environ[DEMO_HTTP_URL_VAR] = target.http_url
            os.environ[DEMO_CA_VAR] = str(target.ca_path)
            for value in target.secret_values().values():
                register_secret(value)
            env = attach_demo(env)
        _register_env_file_secrets(env)
        for area in [*env.areas, SUMMARY]:
            self._check_notebook_parameters(area)
        return env

    def _check_notebook_parameters(self, area: str) -> None:
        """papermill only warns about unknown parameters; a missing one must be an error here."""
        import papermill

        path = self.notebooks / f"{area}.ipynb"
        if not path.is_file():
            raise HardenError(f"{path}: notebook for area '{area}' does not exist")
        declared = papermill.inspect_notebook(str(path))
        missing = [p for p in NOTEBOOK_PARAMETERS if p not in declared]
        if missing:
            raise HardenError(f"{path}: parameters cell does not declare {', '.join(missing)}")

    def _write_execution(self, run_dir: Path, runs: dict[str, AreaRun]) -> None:
        document = {
            "areas": {a: {"ok": r.ok, "error": r.error, "seconds": round(r.seconds, 3)} for a, r in runs.items()}
        }
        atomic_write_text(run_dir / EXECUTION_FILE, json.dumps(document, indent=2) + "\n")

    def _export_html(
        self,
        env: Environment,
        outcome: EnvRun,
        run_dir: Path,
        runs: Sequence[AreaRun],
        state: _EnvState | None = None,
    ) -> None:
        """HTML for every run that has none yet (areas are usually exported as soon as they finish)."""
        for run in runs:
            if run.html is None:
                self._export_one(env, outcome.run_id, run_dir, run, state)

    def _export_one(
        self, env: Environment, run_id: str, run_dir: Path, run: AreaRun, state: _EnvState | None = None
    ) -> None:
        """One executed notebook, scrubbed and stamped, as an offline HTML report.

        The stamp (``notebook.metadata["harden"]``, described in the README's Reports section) gives
        the page its ``<title>`` and the navigation bar to every page of the run.
        """
        import nbformat

        from harden_lib import __version__
        from harden_lib.render import notebook_to_html

        path = run_dir / f"{run.area}.ipynb"
        notebook = nbformat.read(path, as_version=4) if path.is_file() else _placeholder_notebook(run)
        _scrub_notebook(notebook)
        notebook.metadata["harden"] = {
            "title": run.title,
            "environment": env.name,
            "run_id": run_id,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": __version__,
        } | page_metadata(env, run_id, run_dir, run, state)
        nbformat.write(notebook, path)
        html_name = f"{run.area}.html"
        try:
            atomic_write_text(run_dir / html_name, notebook_to_html(notebook))
            run.html = html_name
        except Exception as exc:
            run.ok = False
            run.error = scrub(f"HTML export failed: {type(exc).__name__}: {exc}")[:500]

    def _export_in_scope(self, state: _EnvState, run: AreaRun) -> None:
        """Export an area's report while the other notebooks still run (in the reports thread)."""
        assert state.env is not None and state.outcome.run_dir is not None
        with secret_scope(state.registry):
            try:
                self._export_one(state.env, state.outcome.run_id, state.outcome.run_dir, run, state)
            except Exception:  # retried by _finish, which reports the failure
                run.html = None

    def _run_info(
        self,
        env: Environment,
        outcome: EnvRun,
        started_at: datetime,
        seconds: float,
        blocking: Sequence[Finding],
    ) -> dict[str, Any]:
        info = {
            "environment": env.name,
            "run_id": outcome.run_id,
            "started": started_at.isoformat(timespec="seconds"),
            "duration_s": round(seconds, 3),
            "user": _safe(getpass.getuser),
            "host": _safe(socket.gethostname),
            "params_file": str(env.source),
            "params_files": [str(p) for p in env.files],
            "params_digest": env.digest(),
            "params": env.redacted_params(),
            "versions": _versions(),
            "verdict": outcome.verdict,
            "headline": outcome.headline,
            "exit_code": outcome.exit_code,
            "gate": {"fail_on": env.gate.fail_on.value, "blocking": len(blocking)},
            "areas": [asdict(a) for a in outcome.areas],
            "counts": next((a.counts for a in outcome.areas if a.area == SUMMARY), _counts_from_areas(outcome.areas)),
        }
        return scrub_tree(info)  # run.json and the run's index page show it


# --------------------------------------------------------------------------- helpers


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    return counts


def _counts_from_areas(areas: Sequence[AreaRun]) -> dict[str, int]:
    total: dict[str, int] = {}
    for run in areas:
        if run.area == SUMMARY:
            continue
        for status, n in run.counts.items():
            total[status] = total.get(status, 0) + n
    return total


def _safe(call: Callable[[], str]) -> str:
    try:
        return call()
    except Exception:
        return ""


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from harden_lib import __version__

    out = {"harden": __version__, "python": platform.python_version()}
    for package in ("papermill", "nbconvert", "nbclient", "pandas", "matplotlib", "httpx", "pydantic"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def _register_env_file_secrets(env: Environment) -> None:
    """Teach this process the env file's secret values, so executed notebooks can be scrubbed."""
    env_file = env.config.env_file
    if env_file and Path(env_file).is_file():
        with contextlib.suppress(Exception):
            from harden_lib.checks.config import load_env_file

            load_env_file(Path(env_file))  # registers secret-like values as a side effect


#: Seconds an area usually takes when no earlier run of the environment says otherwise (demo, 2 cores).
_TYPICAL_SECONDS = {"commands": 2.0, "tls": 1.3, "headers": 0.7, "surface": 0.6, "config": 0.5}


def _longest_first(state: _EnvState) -> list[str]:
    """The environment's areas, longest first (from its last run's durations), so no long one ends last.

    With a handful of kernels the wall time is set by the last notebook to finish; starting the
    long ones first (longest-processing-time scheduling) keeps a 2 s area from becoming the tail.
    """
    seconds = dict(_TYPICAL_SECONDS)
    assert state.env is not None
    previous = state.outcome.run_dir.parent / "latest" / "run.json" if state.outcome.run_dir else None
    if previous is not None and previous.is_file():
        with contextlib.suppress(Exception):
            for area in json.loads(previous.read_text(encoding="utf-8")).get("areas", []):
                seconds[str(area["area"])] = float(area["seconds"])
    order = {area: index for index, area in enumerate(state.selected)}
    return sorted(state.selected, key=lambda area: (-seconds.get(area, 0.4), order[area]))


def _history_hooks():
    """``harden_lib.history.hooks``, imported on first use (it brings SQLAlchemy; the CLI need not)."""
    from harden_lib.history import hooks

    return hooks


def _demo_variables() -> dict[str, str]:
    """Where the runner's demo target listens, for the kernels (URLs and a CA path: no secrets)."""
    return {var: os.environ[var] for var in (DEMO_URL_VAR, DEMO_HTTP_URL_VAR, DEMO_CA_VAR) if var in os.environ}


def _summary_inputs(run_dir: Path) -> dict[str, bytes]:
    """What the summary notebook reads from the run folder (sent along to a remote worker)."""
    files = {EXECUTION_FILE: (run_dir / EXECUTION_FILE).read_bytes()}
    if (run_dir / "since_last.json").is_file():  # issue 13: what changed since the last run
        files["since_last.json"] = (run_dir / "since_last.json").read_bytes()
    for path in sorted((run_dir / "findings").glob("*.json")):
        files[f"findings/{path.name}"] = path.read_bytes()
    return files


def _placeholder_notebook(run: AreaRun):
    """A one-cell notebook that says why an area has no executed notebook."""
    import nbformat

    from harden_lib.render import md_escape

    notebook = nbformat.v4.new_notebook()
    reason = md_escape(run.error or "no executed notebook was written")  # error texts quote hostile input
    notebook.cells.append(
        nbformat.v4.new_markdown_cell(f"# {md_escape(run.title)}\n\nThis area did not run: {reason}.")
    )
    return notebook


def _scrub_notebook(notebook: Any) -> int:
    """Scrub sources and outputs (``redact.scrub_output``); returns how many fields changed."""
    changed = 0

    def clean(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            new = scrub_output(value)
            changed += new != value
            return new
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in notebook.cells:
        cell.source = clean(cell.source)
        for output in cell.get("outputs", []):
            for key in ("text", "evalue", "traceback"):
                if key in output:
                    output[key] = clean(output[key])
            for mime, data in list(output.get("data", {}).items()):
                if not mime.startswith("image/"):
                    output["data"][mime] = clean(data)
    return changed


def _scrub_logs(folder: Path) -> None:
    """Kernel logs are written by code we do not control: scrub known secrets out of them."""
    if not folder.is_dir():
        return
    for log in folder.glob("*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        cleaned = scrub_output(text)
        if cleaned != text:
            atomic_write_text(log, cleaned)


def _latest_is_complete(env_dir: Path) -> bool:
    """Whether ``<env>/latest`` points at a complete run (not partial): a partial run must not replace it.

    A ``run.json`` that cannot be read, or was written before runs recorded ``partial``, counts as
    complete: replacing an unknown latest with a partial run would be the surprising choice.
    """
    run_json = env_dir / "latest" / "run.json"
    if not run_json.is_file():
        return False
    try:
        return not json.loads(run_json.read_text(encoding="utf-8")).get("partial", False)
    except (OSError, ValueError, AttributeError):
        return True


#: The run's decision page (B's executive.py), listed in the navigation when the module exists.
EXECUTIVE_PAGE = ("Decision", "executive.html")


def page_metadata(
    env: Environment, run_id: str, run_dir: Path, run: AreaRun, state: _EnvState | None = None
) -> dict[str, Any]:
    """What a report page needs beyond its notebook: its ``<title>`` and the navigation to every page.

    ``page_title`` reads "<page title> · <environment> · <run id>"; ``nav`` lists the overview, the
    decision page (when present), the summary and every area of the run in params order, each with
    its file name (relative: pages link to their neighbours in the run folder). Plain text: the
    template escapes it.
    """
    import importlib.util

    areas = list(state.selected) if state is not None else [a for a in env.areas if (run_dir / f"{a}.ipynb").exists()]
    kind = "summary" if run.area == SUMMARY else ("area" if run.area in AREAS else run.area)
    nav: list[dict[str, Any]] = [{"label": "Overview", "href": "index.html", "kind": "overview"}]
    if importlib.util.find_spec("harden_lib.executive") is not None:
        nav.append({"label": EXECUTIVE_PAGE[0], "href": EXECUTIVE_PAGE[1], "kind": "executive"})
    nav.append({"label": "Summary", "href": f"{SUMMARY}.html", "kind": "summary"})
    for area in areas:
        title = AREAS[area].title if area in AREAS else area
        nav.append({"label": title, "href": f"{area}.html", "kind": "area", "area": area})
    for item in nav:
        item["current"] = item["href"] == f"{run.area}.html"
    verdict: str | None = None
    if kind == "area":
        from harden_lib.findings import findings_path, gate, load_findings

        path = findings_path(run_dir, run.area)
        verdict = "NO-GO"  # an area that did not complete closes the gate (the summary adds its error)
        if run.ok and path.is_file():
            with contextlib.suppress(Exception):
                verdict = gate(load_findings(path), env.gate.fail_on).verdict
    elif kind == "summary" and state is not None and state.outcome.verdict in ("GO", "NO-GO"):
        verdict = state.outcome.verdict
    return {
        "page_title": f"{run.title} · {env.name} · {run_id}",
        "page": run.area,
        "kind": kind,
        "partial": bool(state.partial) if state is not None else False,
        "verdict": verdict,
        "nav": nav,
    }


def _switch_latest(run_dir: Path) -> None:
    """Point ``<env>/latest`` at this run with an atomic rename of a fresh symlink."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{secrets.token_hex(4)}"
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)
