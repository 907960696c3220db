"""The schedule recipes in examples/schedules/ parse, and every harden command in them is valid."""

from __future__ import annotations

import ast
import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

from harden_lib.cli import build_parser

SCHEDULES = Path(__file__).resolve().parent.parent / "examples" / "schedules"
_COMMAND = re.compile(r"harden\s+(?:run|diff|drift|prune|history)\b[^\n;&|>\"`]*")


def harden_commands(text: str) -> list[list[str]]:
    """Every `harden …` command line in a text, as argv (GitHub ${{ }} expressions made concrete)."""
    text = re.sub(r"\$\{\{\s*matrix\.environment\s*\}\}", "staging", text)
    return [shlex.split(m.group(0))[1:] for m in _COMMAND.finditer(text)]


def assert_valid(argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse rejects it
        pytest.fail(f"invalid harden command {argv}: exit {exc.code}")
    assert args.command in ("run", "diff", "drift", "prune", "history")


def _cron_field(value: str, low: int, high: int) -> bool:
    for part in value.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if not all(b.isdigit() and low <= int(b) <= high for b in bounds) or len(bounds) > 2:
            return False
    return True


def test_cron_entries():
    lines = [line for line in (SCHEDULES / "harden.cron").read_text().splitlines() if line and not line.startswith("#")]
    entries = [line for line in lines if not re.match(r"^[A-Z_]+=", line)]
    assert len(entries) == 2
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    commands = []
    for entry in entries:
        fields = entry.split(None, 6)
        assert all(_cron_field(f, lo, hi) for f, (lo, hi) in zip(fields[:5], ranges, strict=True)), entry
        assert fields[5] == "harden"  # /etc/cron.d lines name the user
        commands += harden_commands(fields[6])
    assert [c[0] for c in commands] == ["run", "prune"]
    for argv in commands:
        assert_valid(argv)


def test_systemd_service_and_timer():
    def unit(name: str) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(strict=True, interpolation=None, comment_prefixes=("#", ";"))
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read_string((SCHEDULES / name).read_text())
        return parser

    service, timer = unit("harden-audit.service"), unit("harden-audit.timer")
    assert service["Service"]["Type"] == "oneshot"
    exec_start = service["Service"]["ExecStart"]
    assert exec_start.startswith("/") and "harden run" in exec_start
    for argv in harden_commands(exec_start):
        assert_valid(argv)
    assert service["Service"]["SuccessExitStatus"] == "1"  # NO-GO is a result, not a unit failure
    assert timer["Timer"]["Unit"] == "harden-audit.service"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", timer["Timer"]["OnCalendar"])
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_github_actions_workflow():
    workflow = yaml.safe_load((SCHEDULES / "github-actions.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # PyYAML reads `on:` as true
    assert {"push", "schedule", "workflow_dispatch"} <= set(triggers)
    assert workflow["permissions"]["security-events"] == "write"
    audit = workflow["jobs"]["audit"]
    steps = audit["steps"]
    commands = [argv for step in steps if "run" in step for argv in harden_commands(step["run"])]
    assert [c[0] for c in commands] == ["run", "diff"]
    for argv in commands:
        assert_valid(argv)
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    sarif = uses["github/codeql-action/upload-sarif"]["with"]["sarif_file"]
    assert sarif.endswith("/latest/findings.sarif")
    assert uses["actions/upload-artifact"]["with"]["path"].startswith("reports/")
    assert workflow["jobs"]["deploy"]["needs"] == "audit"  # the gate


def test_airflow_dag():
    source = (SCHEDULES / "airflow_harden_dag.py").read_text()
    tree = ast.parse(source)
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant | ast.List)
    }  # fmt: skip
    assert constants["ENVIRONMENTS"] == ["staging", "production"]
    runs = [constants["RUN_COMMAND"].format(home=constants["HARDEN_HOME"], env=e) for e in constants["ENVIRONMENTS"]]
    commands = [
        argv for text in [*runs, constants["DRIFT_COMMAND"].format(home="/x")] for argv in harden_commands(text)
    ]
    assert [c[:3] for c in commands[:2]] == [["run", "--env", "staging"], ["run", "--env", "production"]]
    for argv in commands:
        assert_valid(argv)
    operators = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "BashOperator"]
    assert len(operators) == 2  # one in the per-environment comprehension, one for drift
    compile(source, "airflow_harden_dag.py", "exec")


def test_readme_documents_the_schedules():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in ("harden.cron", "harden-audit.timer", "github-actions.yml", "airflow_harden_dag.py"):
        assert f"examples/schedules/{name}" in readme
    for argv in harden_commands(readme):
        usage_pattern = any(token.startswith(("[", "<")) or token in ("N", "E") for token in argv)
        if len(argv) > 1 and argv[0] in ("diff", "drift", "prune", "history") and not usage_pattern:
            assert_valid(argv)
