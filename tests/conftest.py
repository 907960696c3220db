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
    return code, reports, (reports / "demo" / "latest").resolve()


@pytest.fixture(scope="session")
def examples_run(tmp_path_factory):
    """Every example environment in one ``harden run --all`` (they share the warm kernels)."""
    from harden_lib import cli
    from harden_lib.demo import running_demo

    running_demo().reset_rate_limits()  # each run starts from a fresh limiter, whatever ran before
    reports = tmp_path_factory.mktemp("examples") / "reports"
    code = cli.main(["run", "--all", "--params-dir", str(EXAMPLES), "--reports", str(reports)])
    return code, reports
