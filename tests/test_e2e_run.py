"""End to end: `harden run` executes the real notebooks through papermill on the demo target."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from dotenv import dotenv_values

from harden_lib import cli
from harden_lib.redact import is_secret_key
from harden_lib.runner import Runner, notebooks_dir

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def demo_secret_values() -> list[str]:
    """Every secret value the demo plants: env-file secrets, URL passwords, the demo's cookies."""
    from urllib.parse import urlsplit

    from harden_lib.demo import running_demo

    values = []
    for key, value in dotenv_values(ROOT / "harden_lib" / "demo" / "demo.env").items():
        if value and is_secret_key(key) and len(value) >= 6:
            values.append(value)
        if value and "://" in value and "@" in value:
            password = urlsplit(value).password
            if password:
                values.append(password)
    values.extend(running_demo().secret_values().values())
    # Literals planted in the demo's container files and printed by its verification commands.
    values += ["wk_live_4f9a8c1e2b7d6a5f3e0c9b8a7d6e5f4a", "Mig-2024-supersecret-P4ss", "Wm-demo-pa55-7d1f"]
    values.append("tok_demo_9f8e7d6c5b4a3f2e1d0c")
    assert len(values) >= 4, "the demo must plant secrets for this test to mean something"
    return values


def test_demo_is_no_go_with_every_report(demo_run):
    code, reports, run_dir = demo_run
    assert code == 1
    for name in (
        "config.html",
        "headers.html",
        "tls.html",
        "secrets.html",
        "operations.html",
        "surface.html",
        "cors.html",
        "ratelimit.html",
        "datastores.html",
        "containers.html",
        "dependencies.html",
        "commands.html",
        "summary.html",
        "index.html",
        "findings.json",
        "findings.csv",
        "junit.xml",
        "run.json",
        "config.ipynb",
        "headers.ipynb",
        "summary.ipynb",
    ):
        assert (run_dir / name).is_file(), name
    assert (reports / "index.html").is_file()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["verdict"] == "NO-GO" and run["exit_code"] == 1
    assert all(area["ok"] for area in run["areas"]), run["areas"]
    assert set(run["versions"]) >= {"harden", "papermill", "nbconvert"}
    assert len(run["params_digest"]) == 64


def test_html_has_no_code_and_needs_no_network(demo_run):
    _, _, run_dir = demo_run
    for html_file in run_dir.glob("*.html"):
        html = html_file.read_text()
        # The code of the notebooks must not be in the reports (the CSS names its classes, so
        # look for the code itself).
        assert "open_environment(" not in html and "from harden_lib" not in html, html_file.name
        assert "hl-ipython3" not in html, html_file.name  # highlighted code input
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html), html_file.name
    summary = (run_dir / "summary.html").read_text()
    assert "NO-GO" in summary and "data:image/png;base64" in summary


def test_findings_have_specific_ids_and_statuses(demo_run):
    _, _, run_dir = demo_run
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    by_id: dict[str, set[str]] = {}
    for f in findings:
        by_id.setdefault(f["check_id"], set()).add(f["status"])
    statuses_per_area = {}
    for f in findings:
        statuses_per_area.setdefault(f["area"], set()).add(f["status"])
    for area in ("config", "headers", "tls", "secrets", "operations", "surface", "cors", "ratelimit", "datastores"):
        assert {"pass", "fail", "warn"} <= statuses_per_area[area], (area, statuses_per_area[area])
    assert by_id["headers.hsts.max_age"] == {"fail"}
    assert by_id["headers.x_content_type_options"] == {"pass"}
    assert by_id["headers.csp.unsafe_inline"] == {"fail"}
    assert "fail" in by_id["headers.cookies.httponly"]
    # The demo certificate expires in 20 days and TLS 1.2 still offers CBC suites (not Mozilla intermediate).
    assert by_id["tls.cert.expiry"] == {"warn"} and by_id["tls.cipher.cbc"] == {"warn"}
    assert by_id["tls.cert.trusted"] == {"pass"} and by_id["tls.protocol.tls1_0"] == {"pass"}
    assert by_id["tls.mozilla.intermediate"] == {"fail"}
    assert "fail" in by_id["surface.assets.forbidden"] and by_id["surface.source_map"] == {"fail"}
    assert "fail" in by_id["cors.wildcard"] and "fail" in by_id["cors.ws.origin"]
    assert by_id["ratelimit.enforced"] == {"pass", "warn", "fail"}
    assert by_id["datastores.redis.auth_required"] == {"fail"}
    assert by_id["datastores.postgres.sslmode"] == {"pass", "fail"}
    for area in ("containers", "dependencies", "commands"):
        assert {"pass", "fail", "warn"} <= statuses_per_area[area], (area, statuses_per_area[area])
    assert by_id["containers.privileged"] == {"pass", "fail"} and "fail" in by_id["containers.secrets"]
    assert by_id["dependencies.vulnerability"] == {"fail", "warn"} and by_id["dependencies.report"] == {"pass"}
    assert by_id["commands.run"] == {"pass", "fail", "warn", "skip", "error"}  # error: the one that times out
    # Governance: a valid waiver, an expired one, a typo, a stale attestation, a missing sign-off.
    assert by_id["headers.server_banner"] == {"waived"}
    assert by_id["headers.x_powered_by"] == {"fail"}  # its waiver expired
    assert by_id["governance.waiver.expired"] == {"warn"}
    assert by_id["governance.waiver.unmatched"] == {"warn"}
    assert by_id["operations.backups.restore_tested"] == {"fail"}
    assert by_id["operations.oncall.rotation"] == {"manual"}
    assert by_id["secrets.env.shared"] == {"pass", "fail"}
    signoffs = {f["target"]: f["status"] for f in findings if f["check_id"] == "governance.signoff"}
    assert signoffs == {"engineering": "pass", "ops": "fail"}


def test_junit_and_csv_have_one_row_per_finding(demo_run):
    _, _, run_dir = demo_run
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    junit = (run_dir / "junit.xml").read_text()
    assert junit.count("<testcase ") == len(findings)
    # only what closes the gate is a JUnit failure (issue 13; `--junit-all` for every fail)
    assert junit.count("<failure ") == sum(f["status"] == "fail" and f["blocking"] for f in findings)
    rows = (run_dir / "findings.csv").read_text().strip().splitlines()
    assert rows[0].startswith("environment,area,check_id,title,status,severity")
    assert len(rows) >= len(findings) + 1


def test_no_secret_in_any_produced_file(demo_run):
    _, reports, _ = demo_run
    secrets = demo_secret_values()
    for path in reports.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, f"a demo secret leaked into {path.relative_to(reports)}"


CRASHING_PARAMS = """
    environment: crashy
    areas: [config, headers]
    base_url: https://127.0.0.1:9
    config: {env_file: missing.env}
"""


def test_a_crashing_notebook_is_an_error_area_with_its_html(tmp_path):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(notebooks_dir(), notebooks)
    nb = nbformat.read(notebooks / "config.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('boom from the config notebook')"))
    nbformat.write(nb, notebooks / "config.ipynb")
    nb = nbformat.read(notebooks / "headers.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(3)  # the kernel dies"))
    nbformat.write(nb, notebooks / "headers.ipynb")
    params = tmp_path / "params"
    params.mkdir()
    (params / "crashy.yaml").write_text(textwrap.dedent(CRASHING_PARAMS))
    (params / "broken.yaml").write_text("areas: [nope]\n")

    runner = Runner(reports_dir=tmp_path / "reports", params_dir=params, notebooks=notebooks, progress=lambda m: None)
    result = runner.run(["broken", "crashy"])
    assert result.exit_code == 2
    broken, crashy = result.environments
    assert broken.run_dir is None and "unknown area(s) nope" in broken.error
    run_dir = crashy.run_dir
    assert (run_dir / "config.html").is_file() and (run_dir / "summary.html").is_file()
    assert "boom from the config notebook" in (run_dir / "config.html").read_text()
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    execution = [f for f in findings if f["check_id"] == "config.execution"]
    assert execution and execution[0]["status"] == "error" and "RuntimeError" in execution[0]["observed"]
    dead = [f for f in findings if f["check_id"] == "headers.execution"]
    assert dead and dead[0]["status"] == "error" and "kernel died" in dead[0]["observed"]
    assert (run_dir / "headers.html").is_file()
    assert (tmp_path / "reports" / "crashy" / "latest").resolve() == run_dir.resolve()


def test_usage_errors_exit_64(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["run"])
    assert caught.value.code == 64
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "--env", "demo", "--areas", "nope"])
    assert caught.value.code == 64


def test_validate_command(tmp_path, capsys):
    assert cli.main(["validate", str(ROOT / "params" / "demo.yaml")]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("gate: {fail_on: sometimes}\n")
    assert cli.main(["validate", str(bad)]) == 2
    assert "gate.fail_on" in capsys.readouterr().err


@pytest.fixture(scope="module")
def default_lanes(tmp_path_factory):
    """Two warm lanes whose kernels know of no runner's demo target (as in a fresh JupyterLab)."""
    import os

    from harden_lib.areas import AREAS
    from harden_lib.executors import LocalExecutor, area_modules
    from harden_lib.notebook import DEMO_CA_VAR, DEMO_HTTP_URL_VAR, DEMO_URL_VAR

    saved = {v: os.environ.pop(v) for v in (DEMO_URL_VAR, DEMO_HTTP_URL_VAR, DEMO_CA_VAR) if v in os.environ}
    executor = LocalExecutor(
        2, log_dir=tmp_path_factory.mktemp("lanes"), cwd=notebooks_dir(), preload_modules=area_modules(list(AREAS))
    )
    yield executor
    executor.close()
    os.environ.update(saved)


AREA_NOTEBOOKS = [
    "config",
    "headers",
    "tls",
    "secrets",
    "operations",
    "surface",
    "cors",
    "ratelimit",
    "datastores",
    "containers",
    "dependencies",
    "commands",
    "summary",
]


@pytest.fixture(scope="module")
def default_runs(default_lanes, tmp_path_factory):
    """Every notebook executed on its default parameters (no params path, no run folder)."""
    from harden_lib.lanes import NotebookTask

    out = tmp_path_factory.mktemp("defaults")
    futures = {}
    for area in AREA_NOTEBOOKS:
        task = NotebookTask(
            environment="defaults",
            area=area,
            notebook=str(notebooks_dir() / f"{area}.ipynb"),
            output=str(out / f"{area}.ipynb"),
            parameters={},
            cwd=str(notebooks_dir()),
            cell_timeout=300,
            log_path=str(out / "logs" / f"{area}.log"),
        )
        futures[area] = default_lanes.submit(task)
    return out, {area: future.result(timeout=600) for area, future in futures.items()}


@pytest.mark.parametrize("area", AREA_NOTEBOOKS)
def test_notebook_runs_on_its_defaults_like_in_jupyterlab(area, default_runs):
    """Opened in JupyterLab with default parameters, a notebook starts the demo target itself.

    The notebooks run on warm kernels that were started without any runner's demo variables,
    so each kernel finds no demo and starts its own, exactly as a kernel in JupyterLab does.
    """
    out, results = default_runs
    assert results[area].ok, results[area].error
    executed = nbformat.read(out / f"{area}.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the area shows at least one chart"
    assert not (notebooks_dir() / "findings").exists(), "with no run_dir nothing is saved"


# --------------------------------------------------------------------------- partial runs (issue 14)


def _partial_run(reports: Path, areas: str, *extra: str, executor=None, lines: list | None = None) -> Path:
    """``harden run --env demo --areas …`` through the CLI, or (``executor``: shared warm kernels,
    cheaper) through the runner with the same options."""
    from harden_lib.demo import running_demo

    running_demo().reset_rate_limits()
    if executor is None:
        where = ["--reports", str(reports), "--params-dir", str(ROOT / "params")]
        code = cli.main(["run", "--env", "demo", "--areas", areas, *where, *extra])
    else:
        chosen = cli._split_areas(areas)  # the CLI's own parsing of --areas
        runner = Runner(
            reports_dir=reports,
            params_dir=ROOT / "params",
            executor=executor,
            latest="--latest" in extra,
            progress=(lines.append if lines is not None else lambda m: None),
        )
        code = runner.run(["demo"], chosen).exit_code
    assert code in (0, 1)
    runs = sorted(p for p in (reports / "demo").iterdir() if not p.is_symlink() and p.name != "latest")
    return max(runs, key=lambda p: json.loads((p / "run.json").read_text())["started"] + p.name)


def _latest(reports: Path) -> Path:
    return (reports / "demo" / "latest").resolve()


def test_a_partial_run_says_so_everywhere_and_keeps_the_complete_latest(tmp_path):
    import xml.etree.ElementTree as ET

    from harden_lib.areas import AREAS
    from harden_lib.executors import LocalExecutor, area_modules

    reports = tmp_path / "reports"
    lines: list[str] = []
    executor = LocalExecutor(2, cwd=notebooks_dir(), preload_modules=area_modules(list(AREAS)))
    try:
        # No earlier run: the partial run becomes latest (there is nothing better to point at).
        first = _partial_run(reports, "headers", executor=executor)
        assert _latest(reports) == first.resolve()
        # An earlier complete run (a run.json written before runs recorded 'partial' counts as complete).
        complete = reports / "demo" / "20200101T000000Z-0000"
        shutil.copytree(first, complete)
        info = json.loads((complete / "run.json").read_text())
        info.pop("partial"), info.pop("areas_selected")
        (complete / "run.json").write_text(json.dumps(info))
        (reports / "demo" / "latest").unlink()
        (reports / "demo" / "latest").symlink_to(complete.name)

        partial = _partial_run(reports, "headers, tls,headers", executor=executor, lines=lines)  # spaces, repeats
        assert _latest(reports) == complete.resolve(), "a partial run does not replace a complete latest"
        assert any("partial run" in line for line in lines)
        forced = _partial_run(reports, "tls", "--latest")  # the CLI's --latest
        assert _latest(reports) == forced.resolve(), "--latest makes a partial run the latest"
        again = _partial_run(reports, "headers", executor=executor)
        assert _latest(reports) == again.resolve(), "a partial run may replace a partial latest"
    finally:
        executor.close()

    run = json.loads((partial / "run.json").read_text())
    assert run["partial"] is True and run["areas_selected"] == ["headers", "tls"]
    findings = json.loads((partial / "findings.json").read_text())
    assert findings["partial"] is True and findings["areas"] == ["headers", "tls"]
    assert {f["area"] for f in findings["findings"]} <= {"headers", "tls", "governance"}
    sarif = json.loads((partial / "findings.sarif").read_text())
    assert sarif["runs"][0]["properties"]["partial"] is True
    assert sarif["runs"][0]["properties"]["areas"] == ["headers", "tls"]
    suites = list(ET.parse(partial / "junit.xml").getroot().iter("testsuite"))
    assert suites
    for suite in suites:
        props = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}
        assert props["partial"] == "true" and props["areas"] == "headers,tls"
    assert "Partial run" in (partial / "index.html").read_text()
    for page in ("headers", "tls", "summary"):
        meta = nbformat.read(partial / f"{page}.ipynb", as_version=4).metadata["harden"]
        assert meta["partial"] is True
        assert [i["area"] for i in meta["nav"] if i["kind"] == "area"] == ["headers", "tls"]

    since = json.loads((again / "since_last.json").read_text())  # against 'forced' (tls only)
    assert since["old"] and since["old"]["run_id"] == forced.name
    gone = {c["area"] for key in ("fixed", "no_longer_reported") for c in since.get(key, [])}
    assert "tls" not in gone, "compared on its own areas: tls, not audited now, is not 'no longer reported'"
    assert since.get("new_failures"), "headers failures are new compared with a tls-only run"

    from harden_lib.history.store import HistoryStore, history_url

    with HistoryStore(history_url(None, reports)) as store:
        recorded = {r.run_id for r in store.runs("demo")}
    assert recorded == {first.name, forced.name, again.name}, "the run kept out of 'latest' is not in the history"


@pytest.mark.parametrize("value", ["", ",", " , ,", "  "])
def test_an_empty_areas_list_is_a_usage_error(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "--env", "demo", "--areas", value, "--reports", str(tmp_path / "reports")])
    assert caught.value.code == 64
    err = capsys.readouterr().err
    assert "--areas" in err and "name at least one of" in err and "headers" in err
    assert not (tmp_path / "reports").exists(), "no report is written for a usage error"


def test_areas_not_enabled_for_the_environment_run_nothing(tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    (params / "small.yaml").write_text("areas: [config]\nbase_url: https://127.0.0.1:9/\n")
    lines: list[str] = []
    runner = Runner(reports_dir=tmp_path / "reports", params_dir=params, progress=lines.append)
    result = runner.run(["small"], ["headers"])
    assert result.exit_code == 2
    [env] = result.environments
    assert env.run_dir is None and "none of the areas asked for (headers)" in env.error and "config" in env.error
    assert not (tmp_path / "reports" / "small").exists()
    # some asked for are enabled: those run, the others are named, not dropped silently
    result = runner.run(["small"], ["config", "headers"])
    [env] = result.environments
    assert env.run_dir is not None and [a.area for a in env.areas] == ["config", "summary"]
    assert any("not enabled for this environment, not run: headers" in line for line in lines)
    assert json.loads((env.run_dir / "run.json").read_text())["partial"] is False  # every enabled area ran
