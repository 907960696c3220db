"""The example environments of the checklist profiles run end to end (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden_lib.checklist import filled_checklist, headline
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

    # issue 15: the headline counts every outcome; "Every check ran" only when no row is "not run"
    assert html.escape(headline(env.profile, table), quote=False)[:60] in summary
    if "not run" in statuses:
        assert "Every check ran" not in summary and "checklist row(s) were not run" in summary
    # a row with service selectors shows only its own services' findings of that check
    services = {"postgres", "minio", "redis", "pgbouncer", "worker", "web", "api"}
    for item, evidence in zip(env.profile.items, table["evidence"], strict=True):
        for ref in item.checks:
            mine = {t.removeprefix("service:") for t in ref.targets if t.startswith("service:")}
            if mine:
                foreign = [f"{ref.id} [service {o}]" for o in services - mine]
                assert not any(f in evidence for f in foreign), (item.id, evidence)


@pytest.mark.parametrize(
    ("example", "item", "own", "foreign"),
    [
        ("liveshop-production", "thirdparty.postgres", "service postgres", "service minio"),
        ("ocmt-production", "ratelimit.authentication", "/login", "/api/v1/streams"),
        ("ocmt-production", "ratelimit.password_reset", "/password-reset", "/login"),
        ("dstream-production", "surface.turn_hint", "hint turn-ice", "hint wss-relay"),
    ],
)
def test_rows_come_from_their_own_target(examples_run, example, item, own, foreign):
    _, reports = examples_run
    env = load_environment(EXAMPLES / f"{example}.yaml")
    run_dir = (reports / example / "latest").resolve()
    table = filled_checklist(env.profile, flatten(collect(env, run_dir)))
    row = table.iloc[[i.id for i in env.profile.items].index(item)]
    assert row["status"] not in ("not run", "not covered"), row["evidence"]
    assert own in row["evidence"] and foreign not in row["evidence"], row["evidence"]
