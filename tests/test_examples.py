"""The example environments of the checklist profiles run end to end (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden_lib.checklist import filled_checklist
from harden_lib.environment import load_environment
from harden_lib.summary import collect, flatten

EXAMPLES = Path(__file__).resolve().parent.parent / "params" / "examples"
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_runs_and_reads_like_the_filled_in_checklist(example, examples_run):
    code, reports = examples_run
    assert code == 1  # the examples carry realistic mistakes
    run_dir = (reports / example.stem / "latest").resolve()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["exit_code"] == 1 and all(a["ok"] for a in run["areas"]), run["areas"]
    env = load_environment(example)
    assert env.profile is not None
    table = filled_checklist(env.profile, flatten(collect(env, run_dir)))
    statuses = set(table["status"])
    assert {"pass", "fail"} <= statuses, statuses
    assert len(table) == len(env.profile.items)
    summary = (run_dir / "summary.html").read_text()
    assert env.profile.title in summary
    # the checklist's own wording appears in the report, item by item (HTML-escaped)
    import html

    first, last = env.profile.items[0], env.profile.items[-1]
    assert html.escape(first.text, quote=False)[:40] in summary
    assert html.escape(last.text, quote=False)[:40] in summary
