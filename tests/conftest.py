"""Shared fixtures. Servers are real and local (127.0.0.1); certificates are made per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden_lib.demo.certs import CertBundle, generate_chain
from harden_lib.redact import SECRETS


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    """One CA + leaf for 127.0.0.1/localhost, shared by the session's HTTPS servers."""
    return generate_chain(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def _fresh_secret_registry():
    """Each test starts with an empty registry so scrubbing is tested, not inherited."""
    SECRETS.clear()
    yield
    SECRETS.clear()


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "params" / "examples"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo audited the README's way: from a project folder, relative --reports/--params-dir.

    Session-scoped: the end-to-end, leak and executor tests all read this one run.
    Returns (exit code, reports folder, run folder).
    """
    from harden_lib import cli
    from harden_lib.demo import running_demo

    running_demo().reset_rate_limits()  # each run starts from a fresh limiter, whatever ran before
    work = tmp_path_factory.mktemp("work")
    (work / "params").symlink_to(ROOT / "params")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        code = cli.main(["run", "--env", "demo", "--reports", "reports", "--params-dir", "params"])
    reports = work / "reports"
    record_run_findings(reports)
    return code, reports, (reports / "demo" / "latest").resolve()


@pytest.fixture(scope="session")
def examples_run(tmp_path_factory):
    """Every example environment in one ``harden run --all`` (they share the warm kernels)."""
    from harden_lib import cli
    from harden_lib.demo import running_demo

    running_demo().reset_rate_limits()  # each run starts from a fresh limiter, whatever ran before
    reports = tmp_path_factory.mktemp("examples") / "reports"
    code = cli.main(["run", "--all", "--params-dir", str(EXAMPLES), "--reports", str(reports)])
    record_run_findings(reports)
    return code, reports


# --------------------------------------------------------------------------- catalog coverage
# Every check id a test emits is recorded (the builder raises on ids not in the catalog), and
# so are the ids of the notebook runs (their kernels are other processes: read from the run
# folders). When the whole suite ran, every catalog entry must have been emitted at least once.


def pytest_configure(config):
    from harden_lib import catalog as catalog_module

    catalog_module.EMITTED = {}


def record_run_findings(reports: Path) -> None:
    """Add the check ids and statuses of every findings.json under ``reports`` to the record."""
    import json

    from harden_lib import catalog as catalog_module

    if catalog_module.EMITTED is None:
        return
    for path in reports.rglob("findings.json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for item in document.get("findings", []):
            statuses = catalog_module.EMITTED.setdefault(item["check_id"], set())
            statuses.add(item.get("raw_status") or item["status"])


def _whole_suite(session) -> bool:
    config = session.config
    if config.option.keyword or config.option.markexpr or getattr(config.option, "lf", False):
        return False
    tests_dir = ROOT / "tests"
    return all(Path(arg).resolve() in (tests_dir, ROOT) for arg in config.args) and session.testsfailed == 0


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """With pytest-xdist, each worker sends what it emitted; the controller judges the whole."""
    from harden_lib import catalog as catalog_module

    for check_id, statuses in getattr(node, "workeroutput", {}).get("harden_emitted", {}).items():
        catalog_module.EMITTED.setdefault(check_id, set()).update(statuses)


def pytest_sessionfinish(session, exitstatus):
    from harden_lib import catalog as catalog_module
    from harden_lib.catalog import catalog

    emitted = catalog_module.EMITTED or {}
    if hasattr(session.config, "workerinput"):  # an xdist worker: report to the controller
        session.config.workeroutput["harden_emitted"] = {k: sorted(v) for k, v in emitted.items()}
        return
    if not _whole_suite(session):
        return
    never = [s.id for s in catalog() if not any(s.matches(i) for i in emitted)]
    one_sided = [
        s.id
        for s in catalog()
        if not s.family
        and s.id in emitted
        and not ({"fail", "warn", "error"} & emitted[s.id] and {"pass", "skip", "manual"} & emitted[s.id])
    ]
    session.config._harden_catalog = (len(catalog()), never, one_sided)
    if never:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    result = getattr(terminalreporter.config, "_harden_catalog", None)
    if result is None:
        return
    total, never, one_sided = result
    terminalreporter.section("check catalog coverage")
    terminalreporter.write_line(f"{total} catalog entries; {total - len(never)} emitted by the tests")
    if one_sided:
        terminalreporter.write_line(f"{len(one_sided)} seen with only one kind of outcome: {', '.join(one_sided)}")
    if never:
        terminalreporter.write_line(f"FAILED: never emitted by any test: {', '.join(never)}", red=True)
