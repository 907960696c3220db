"""Two real runs with a params change between them: new and fixed in `harden diff`, the index, the summary.

The environment is small (config + operations) and its runs share one warm kernel, so the whole
module costs a few seconds. A third run with ``keep=2`` checks retention after a run.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.executors import LocalExecutor, area_modules
from harden_lib.runner import Runner, notebooks_dir

PARAMS = """\
environment: shop-prod
description: a small shop
production: true
areas: [config, operations]
gate: {{fail_on: high}}
config:
  env_file: shop.env
  rules:
    - {{kind: equals, id: config.log_level, key: LOG_LEVEL, value: {log_level}, severity: high,
       title: Log level is the production one}}
    - {{kind: equals, id: config.runtime, key: APP_RUNTIME, value: {runtime}, severity: critical,
       title: The app runs its production runtime}}
    - {{kind: equals, id: config.region, key: REGION, value: eu-west-3, severity: medium, title: Region pinned}}
"""
ENV_FILE = "LOG_LEVEL=warning\nAPP_RUNTIME=prod\nREGION=eu-west-1\n"


def _params(folder: Path, log_level: str, runtime: str) -> None:
    (folder / "shop-prod.yaml").write_text(PARAMS.format(log_level=log_level, runtime=runtime))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("diff")
    params, reports = work / "params", work / "reports"
    params.mkdir()
    (params / "shop.env").write_text(ENV_FILE)
    lines: list[str] = []
    executor = LocalExecutor(1, cwd=notebooks_dir(), preload_modules=area_modules(["config", "operations"]))
    try:
        runner = Runner(reports_dir=reports, params_dir=params, executor=executor, progress=lines.append)
        _params(params, log_level="debug", runtime="prod")  # log level fails, runtime passes
        first = runner.run_environment("shop-prod")
        _params(params, log_level="warning", runtime="node")  # log level fixed, runtime now fails
        second = runner.run_environment("shop-prod")
        texts = {}
        for form in ("text", "json"):
            args = ["diff", "--env", "shop-prod", "--reports", str(reports), "--params-dir", str(params)]
            texts[form] = _capture([*args, "--format", form])
        explicit = _capture(
            ["diff", "--env", "shop-prod", first.run_id[:18], second.run_id, "--reports", str(reports), "--exit-code"]
        )
        first_summary = (first.run_dir / "summary.html").read_text()  # before --keep 2 deletes it
        third = Runner(reports_dir=reports, params_dir=params, executor=executor, progress=lines.append, keep=2)
        last = third.run_environment("shop-prod")
    finally:
        executor.close()
    return {"first": first, "second": second, "third": last, "reports": reports, "diff": texts,
            "explicit": explicit, "lines": lines, "first_summary": first_summary}  # fmt: skip


def _capture(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, out.getvalue()


def test_harden_diff_lists_new_and_fixed(two_runs):
    code, text = two_runs["diff"]["text"]
    assert code == 0, text
    assert "Since the last run: 1 new, 1 fixed (1 still failing)." in text
    new_section = text.split("New failures (1)")[1].split("\n\n")[0]
    fixed_section = text.split("Fixed (1)")[1].split("\n\n")[0]
    assert "config.runtime" in new_section and "(pass -> fail)" in new_section
    assert "config.log_level" in fixed_section and "(fail -> pass)" in fixed_section
    assert "config.region" in text.split("Still failing (1)")[1]
    document = json.loads(two_runs["diff"]["json"][1])
    assert document["counts"]["new"] == 1 and document["counts"]["fixed"] == 1
    assert [c["check_id"] for c in document["new_failures"]] == ["config.runtime"]
    assert [c["check_id"] for c in document["fixed"]] == ["config.log_level"]
    assert document["old"]["run_id"] == two_runs["first"].run_id
    assert document["new"]["run_id"] == two_runs["second"].run_id


def test_explicit_runs_and_exit_code(two_runs):
    code, text = two_runs["explicit"]
    assert code == 1 and "1 new, 1 fixed" in text  # --exit-code: new failures exit 1


def test_index_and_summary_show_since_the_last_run(two_runs):
    run_dir = two_runs["second"].run_dir
    index = (run_dir / "index.html").read_text()
    section = index.split("Since the last run</h2>")[1].split("<h2>Areas</h2>")[0]
    assert "<b>1 new</b>, <b>1 fixed</b>" in section
    new_list = section.split('id="since-new_failures"')[1].split("</table>")[0]
    fixed_list = section.split('id="since-fixed"')[1].split("</table>")[0]
    assert "config.runtime" in new_list and "config.log_level" not in new_list
    assert "config.log_level" in fixed_list and "config.runtime" not in fixed_list
    summary = (run_dir / "summary.html").read_text()
    since = summary.split("Since the last run</strong>")[1]
    assert "1 new" in since and "1 fixed" in since
    assert "config.runtime" in since.split("New failures")[1].split("Fixed")[0]
    assert "config.log_level" in since.split("Fixed")[1].split("Still failing")[0]
    # the first run had nothing to compare with, and says so
    assert "nothing to compare yet" in two_runs["first_summary"]


def test_trends_notebook_runs_from_the_second_run(two_runs):
    first, second = two_runs["first"].run_dir, two_runs["second"].run_dir
    assert not (first / "trends.html").exists()
    html = (second / "trends.html").read_text()
    assert "2 recorded run(s) of 1 environment(s)" in html and "Oldest open failures" in html
    assert "config.region" in html.split("Oldest open failures")[1]
    assert '<a href="trends.html">' in (second / "index.html").read_text()


def test_exports_carry_ids_blocking_and_gate_view(two_runs):
    run_dir = two_runs["second"].run_dir
    document = json.loads((run_dir / "findings.json").read_text())
    assert document["schema_version"] == 2 and document["verdict"] == "NO-GO"
    assert document["run_id"] == two_runs["second"].run_id and document["gate"]["fail_on"] == "high"
    by_check = {f["check_id"]: f for f in document["findings"]}
    assert by_check["config.runtime"]["blocking"] is True
    assert by_check["config.region"]["status"] == "fail" and by_check["config.region"]["blocking"] is False
    rows = list(csv.DictReader((run_dir / "findings.csv").open()))
    assert {r["run_id"] for r in rows} == {two_runs["second"].run_id}
    assert {r["check_id"]: r["blocking"] for r in rows}["config.region"] == "no"
    junit = ET.parse(run_dir / "junit.xml").getroot()
    failures = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failures == ["config.runtime [shop.env:APP_RUNTIME]"]
    region = next(c for c in junit.iter("testcase") if c.get("name").startswith("config.region"))
    properties = {p.get("name"): p.get("value") for p in region.iter("property")}
    assert properties["status"] == "fail" and properties["blocking"] == "no"


def test_keep_after_a_run_prunes_folders_and_history(two_runs):
    reports = two_runs["reports"]
    folders = sorted(p.name for p in (reports / "shop-prod").iterdir() if not p.is_symlink())
    assert folders == sorted([two_runs["second"].run_id, two_runs["third"].run_id])
    assert not two_runs["first"].run_dir.exists()
    code, listing = _capture(["history", "list", "--reports", str(reports)])
    assert code == 0 and two_runs["first"].run_id not in listing and two_runs["third"].run_id in listing
    assert any("--keep 2: deleted 1 report folder(s) and 1 history run(s)" in line for line in two_runs["lines"])
