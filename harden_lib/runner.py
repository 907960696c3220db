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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harden_lib.areas import AREAS, SUMMARY
from harden_lib.errors import HardenError
from harden_lib.exports import write_findings_csv, write_findings_json, write_junit
from harden_lib.findings import Finding, atomic_write_text
from harden_lib.notebook import DEMO_CA_VAR, DEMO_HTTP_URL_VAR, DEMO_URL_VAR, attach_demo, project_root
from harden_lib.params import Environment, environment_path, load_environment
from harden_lib.redact import SECRETS, register_secret, scrub
from harden_lib.reports_index import write_reports_index, write_run_index
from harden_lib.summary import EXECUTION_FILE, collect, flatten, verdict

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_INCOMPLETE = 2
EXIT_USAGE = 64

#: Parameters every notebook's ``parameters`` cell must declare (references, never secrets).
NOTEBOOK_PARAMETERS = ("params_path", "run_dir")

#: Kernel start failures worth one retry (papermill issue 511: parallel kernels racing).
_STARTUP_RACES = ("Address already in use", "Kernel didn't respond", "Kernel died before replying")


@dataclass
class AreaRun:
    area: str
    title: str
    ok: bool = False
    seconds: float = 0.0
    error: str | None = None
    html: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


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
    return project_root() / "notebooks"


def _kernel_manager_logging_to(log_path: Path) -> type:
    """A kernel manager whose kernel writes stdout/stderr to ``log_path`` instead of our terminal.

    Kernels otherwise print their own warnings (e.g. ipykernel's TCP notice) into the
    runner's progress output; in the run's ``logs/`` folder they are kept as evidence.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> Any:
            with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
                kw["stdout"] = kw["stderr"] = log
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return LoggedKernelManager


class Progress:
    """Area started / finished lines with elapsed time, safe to call from worker threads."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self.lock:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=self.stream, flush=True)


class Runner:
    """Runs environments one after another, each environment's areas in parallel."""

    def __init__(
        self,
        *,
        reports_dir: Path | str = "reports",
        params_dir: Path | str = "params",
        notebooks: Path | str | None = None,
        workers: int = 2,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        # Absolute, because kernels run with the notebooks folder as their working directory.
        self.reports_dir = Path(reports_dir).resolve()
        self.params_dir = Path(params_dir).resolve()
        self.notebooks = (Path(notebooks) if notebooks else notebooks_dir()).resolve()
        self.workers = max(1, workers)
        self.progress = progress or Progress()

    # ------------------------------------------------------------------ public

    def run(self, env_names: Sequence[str], areas: Sequence[str] | None = None) -> RunResult:
        results = []
        for name in env_names:
            results.append(self.run_environment(name, areas))
        write_reports_index(self.reports_dir)
        return RunResult(results)

    def run_environment(self, name: str, areas: Sequence[str] | None = None) -> EnvRun:
        started = time.monotonic()
        started_at = datetime.now(UTC)
        outcome = EnvRun(environment=name)
        params_path = environment_path(name, self.params_dir)
        try:
            env = self._prepare(params_path)
        except HardenError as exc:
            outcome.error = scrub(str(exc))
            self.progress(f"[{name}] cannot run: {outcome.error}")
            return outcome
        selected = [a for a in env.areas if areas is None or a in areas]
        outcome.run_id = new_run_id(started_at)
        run_dir = self.reports_dir / env.name / outcome.run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        outcome.run_dir = run_dir
        self.progress(f"[{name}] run {outcome.run_id}: areas {', '.join(selected) or '(none)'}")

        area_runs = self._execute_areas(env, params_path, run_dir, selected)
        self._write_execution(run_dir, area_runs)
        summary_run = self._execute_one(SUMMARY, params_path, run_dir, env)
        area_runs[SUMMARY] = summary_run

        per_area = collect(env.model_copy(update={"areas": selected}), run_dir)
        decision = verdict(env, per_area)
        for area, findings in per_area.items():
            if area in area_runs:  # 'governance' has no notebook of its own
                area_runs[area].counts = _counts(findings)
        summary_run.counts = _counts(flatten(per_area))
        complete = all(r.ok for r in area_runs.values())
        outcome.areas = list(area_runs.values())
        outcome.verdict = decision.result.verdict
        outcome.headline = decision.headline
        outcome.exit_code = EXIT_INCOMPLETE if not complete else (EXIT_GO if decision.result.go else EXIT_NO_GO)
        if not complete:
            outcome.headline += " The run is incomplete: see the areas marked 'no'."

        self._export_html(env, outcome, run_dir, list(area_runs))
        _scrub_logs(run_dir / "logs")
        findings = flatten(per_area)
        durations = {a: r.seconds for a, r in area_runs.items()}
        write_findings_json(run_dir / "findings.json", env.name, outcome.run_id, findings)
        write_findings_csv(run_dir / "findings.csv", env.name, findings)
        write_junit(run_dir / "junit.xml", env.name, findings, durations)
        run_info = self._run_info(env, outcome, started_at, time.monotonic() - started, decision.result.blocking)
        atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
        write_run_index(run_dir, run_info, decision.result.blocking)
        _switch_latest(run_dir)
        self.progress(f"[{name}] {outcome.headline} Report: {run_dir / 'index.html'}")
        return outcome

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

    def _execute_areas(
        self, env: Environment, params_path: Path, run_dir: Path, areas: list[str]
    ) -> dict[str, AreaRun]:
        results: dict[str, AreaRun] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="harden-area") as pool:
            futures = {pool.submit(self._execute_one, a, params_path, run_dir, env): a for a in areas}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
        return {a: results[a] for a in areas}

    def _execute_one(self, area: str, params_path: Path, run_dir: Path, env: Environment) -> AreaRun:
        import papermill
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        title = AREAS[area].title if area in AREAS else "Summary: GO / NO-GO"
        result = AreaRun(area=area, title=title)
        output = run_dir / f"{area}.ipynb"
        log_path = run_dir / "logs" / f"{area}.kernel.log"
        log_path.parent.mkdir(exist_ok=True)
        parameters = {"params_path": str(params_path.resolve()), "run_dir": str(run_dir.resolve())}
        self.progress(f"[{env.name}] {area} started")
        began = time.monotonic()
        for attempt in (1, 2):
            try:
                papermill.execute_notebook(
                    str(self.notebooks / f"{area}.ipynb"),
                    str(output),
                    parameters=parameters,
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=env.execution.cell_timeout,
                    cwd=str(self.notebooks),
                    kernel_manager_class=_kernel_manager_logging_to(log_path),
                )
                result.ok = True
                break
            except papermill.PapermillExecutionError as exc:
                result.error = f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
            except CellTimeoutError:
                result.error = f"a cell ran longer than {env.execution.cell_timeout} s (execution.cell_timeout)"
            except DeadKernelError:
                result.error = "the kernel died (out of memory or crashed)"
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                if attempt == 1 and any(race in message for race in _STARTUP_RACES):
                    self.progress(f"[{env.name}] {area} kernel start failed ({message[:80]}); retrying once")
                    continue
                result.error = message
            break
        result.seconds = time.monotonic() - began
        if result.error:
            result.error = scrub(result.error)[:500]
        state = "finished" if result.ok else f"FAILED ({result.error})"
        self.progress(f"[{env.name}] {area} {state} in {result.seconds:.1f}s")
        return result

    def _write_execution(self, run_dir: Path, runs: dict[str, AreaRun]) -> None:
        document = {
            "areas": {a: {"ok": r.ok, "error": r.error, "seconds": round(r.seconds, 3)} for a, r in runs.items()}
        }
        atomic_write_text(run_dir / EXECUTION_FILE, json.dumps(document, indent=2) + "\n")

    def _export_html(self, env: Environment, outcome: EnvRun, run_dir: Path, areas: list[str]) -> None:
        import nbformat

        from harden_lib import __version__
        from harden_lib.render import notebook_to_html

        for run in outcome.areas:
            path = run_dir / f"{run.area}.ipynb"
            notebook = nbformat.read(path, as_version=4) if path.is_file() else _placeholder_notebook(run)
            _scrub_notebook(notebook)
            notebook.metadata["harden"] = {
                "title": run.title,
                "environment": env.name,
                "run_id": outcome.run_id,
                "generated": datetime.now(UTC).isoformat(timespec="seconds"),
                "version": __version__,
            }
            nbformat.write(notebook, path)
            html_name = f"{run.area}.html"
            try:
                atomic_write_text(run_dir / html_name, notebook_to_html(notebook))
                run.html = html_name
            except Exception as exc:
                run.ok = False
                run.error = scrub(f"HTML export failed: {type(exc).__name__}: {exc}")[:500]

    def _run_info(
        self,
        env: Environment,
        outcome: EnvRun,
        started_at: datetime,
        seconds: float,
        blocking: Sequence[Finding],
    ) -> dict[str, Any]:
        return {
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


def _placeholder_notebook(run: AreaRun):
    """A one-cell notebook that says why an area has no executed notebook."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_markdown_cell(
            f"# {run.title}\n\nThis area did not run: {run.error or 'no executed notebook was written'}."
        )
    )
    return notebook


def _scrub_notebook(notebook: Any) -> int:
    """Replace any registered secret value in outputs; returns how many fields changed."""
    if not len(SECRETS):
        return 0
    changed = 0

    def clean(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            new = scrub(value)
            changed += new != value
            return new
        if isinstance(value, list):
            return [clean(v) for v in value]
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
    if not folder.is_dir() or not len(SECRETS):
        return
    for log in folder.glob("*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        cleaned = scrub(text)
        if cleaned != text:
            atomic_write_text(log, cleaned)


def _switch_latest(run_dir: Path) -> None:
    """Point ``<env>/latest`` at this run with an atomic rename of a fresh symlink."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{secrets.token_hex(4)}"
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)
