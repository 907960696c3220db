"""Several environments on one shared pool of warm kernels (issue 12)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.params import environment_names
from harden_lib.runner import Runner

pytestmark = pytest.mark.e2e

CANARY = "isolation-canary-7f3a9c2e51"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def two_environments(tmp_path_factory):
    """alpha knows CANARY as a secret (env file); beta shows the same text as a plain description."""
    root = tmp_path_factory.mktemp("parallel")
    params = root / "params"
    _write(params, "alpha.env", f"SESSION_SECRET={CANARY}\nNODE_ENV=production\n")
    _write(params, "beta.env", "NODE_ENV=development\n")
    _write(
        params,
        "alpha.yaml",
        """
        environment: alpha
        areas: [config, operations]
        config:
          env_file: alpha.env
          rules: [{kind: required, keys: [SESSION_SECRET, NODE_ENV]}]
        """,
    )
    _write(
        params,
        "beta.yaml",
        f"""
        environment: beta
        description: label {CANARY} shown on purpose
        areas: [config, operations]
        config:
          env_file: beta.env
          rules: [{{kind: equals, key: NODE_ENV, value: production}}]
        """,
    )
    _write(params, "base/shared.yaml", "gate: {fail_on: high}\n")
    _write(params, "template.example.yaml", "environment: template\n")
    lines: list[str] = []
    runner = Runner(reports_dir=root / "reports", params_dir=params, workers=2, progress=lines.append)
    result = runner.run(["alpha", "beta"])
    return root, result, lines, runner


def test_every_environment_gets_its_reports_and_summary(two_environments):
    root, result, _lines, _runner = two_environments
    assert [e.environment for e in result.environments] == ["alpha", "beta"]
    for env in result.environments:
        assert env.run_dir is not None and (env.run_dir / "summary.html").is_file(), env
        assert (root / "reports" / env.environment / "latest").resolve() == env.run_dir.resolve()
        run = json.loads((env.run_dir / "run.json").read_text())
        assert {a["area"] for a in run["areas"]} == {"config", "operations", "summary"}
        assert all(a["ok"] for a in run["areas"]), run["areas"]
    beta = result.environments[1]
    assert beta.exit_code == 1 and beta.verdict == "NO-GO"  # NODE_ENV=development fails its rule


def test_the_pool_is_shared_and_kernels_are_reused(two_environments):
    _, _, lines, runner = two_environments
    assert any("6 notebooks of 2 environment(s) queued on 2 local warm kernels" in line for line in lines)
    assert any(re.search(r"\[6/6 notebooks, \d/2 environments\]", line) for line in lines), lines
    assert any("ETA" in line for line in lines)
    lanes = runner.executor_stats["lanes"]
    assert sum(lane["notebooks"] for lane in lanes) == 6
    assert sum(lane["kernels_started"] for lane in lanes) == 2, "two kernels for six notebooks"


def test_a_secret_of_one_environment_never_scrubs_or_leaks_in_another(two_environments):
    _root, result, _, _ = two_environments
    alpha, beta = (e.run_dir for e in result.environments)
    for path in alpha.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text(errors="replace"), f"alpha's secret leaked into {path.name}"
    beta_config = (beta / "config.html").read_text()
    assert CANARY in beta_config, "beta's own (non-secret) text must not be scrubbed by alpha's secrets"
    assert "[REDACTED]" not in beta_config


def test_all_runs_every_environment_file_but_bases_and_templates(two_environments, tmp_path):
    root, *_ = two_environments
    assert environment_names(root / "params") == ["alpha", "beta"]
    code = cli.main(["run", "--all", "--params-dir", str(root / "params"), "--reports", str(tmp_path / "r")])
    assert code == 1  # beta is NO-GO
    assert sorted(p.name for p in (tmp_path / "r").iterdir() if p.is_dir()) == ["alpha", "beta"]


def test_fresh_kernels_still_work(two_environments, tmp_path):
    root, *_ = two_environments
    runner = Runner(
        reports_dir=tmp_path / "r", params_dir=root / "params", workers=2, fresh_kernels=True, progress=lambda m: None
    )
    result = runner.run(["alpha"])
    assert result.environments[0].exit_code == 0
    assert all(lane["kernels_started"] == 0 for lane in runner.executor_stats["lanes"])  # papermill's own
    run = json.loads((result.environments[0].run_dir / "run.json").read_text())
    assert {a["kernel"] for a in run["areas"]} == {"fresh"}


def test_run_option_errors_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "--env", "demo", "--all"])
    assert caught.value.code == 64
    assert cli.main(["run", "--env", "demo", "--executor", "dask"]) == 64
    assert "--scheduler" in capsys.readouterr().err
    assert cli.main(["run", "--env", "demo", "--scheduler", "tcp://127.0.0.1:8786"]) == 64
