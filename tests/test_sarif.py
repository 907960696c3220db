"""SARIF 2.1.0 and findings.json, validated against the official SARIF schema and harden's own schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harden_lib.environment import load_environment
from harden_lib.exports import write_findings_json
from harden_lib.findings import Finding, Severity, Status
from harden_lib.sarif import SARIF_SCHEMA, sarif_document, validate_sarif

FINDINGS_SCHEMA = Path(__file__).resolve().parent.parent / "harden_lib" / "schemas" / "findings.schema.json"


def _findings_validator():
    schema = json.loads(FINDINGS_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_vendored_schema_is_the_official_sarif_2_1_0():
    schema = json.loads(SARIF_SCHEMA.read_text())
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert "sarif-2.1.0" in schema["id"] and schema["$schema"].startswith("http://json-schema.org/draft-04")
    jsonschema.Draft4Validator.check_schema(schema)


def test_validation_can_fail():
    assert validate_sarif({"version": "2.1.0", "runs": [{"results": []}]})  # no tool: invalid
    assert validate_sarif({"version": "2.2", "runs": []})
    errors = list(_findings_validator().iter_errors({"schema_version": 2, "environment": "x", "run_id": "r"}))
    assert errors


def test_demo_run_sarif_is_valid_and_points_at_files_and_lines(demo_run):
    _, _, run_dir = demo_run
    document = json.loads((run_dir / "findings.sarif").read_text())
    assert validate_sarif(document) == []
    run = document["runs"][0]
    results = run["results"]
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    reported = [f for f in findings if f["status"] in ("fail", "error", "warn", "waived")]
    assert len(results) == len(reported)
    ids = {r["partialFingerprints"]["hardenFindingId/v1"] for r in results}
    assert ids == {f["id"] for f in reported}
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {f["check_id"] for f in reported}
    # an env-file finding keyed by name is placed on the line that assigns the key
    by_target = {r["properties"]["target"]: r for r in results}
    env_key = next(t for t in by_target if t.endswith(":DSTREAM_DEVTOOLS"))
    location = by_target[env_key]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("demo.env")
    env_file = next(Path(p) for p in Path(__file__).resolve().parent.parent.glob("harden_lib/demo/demo.env"))
    line = env_file.read_text().splitlines()[location["region"]["startLine"] - 1]
    assert line.startswith("DSTREAM_DEVTOOLS=")
    # a committed secret: the file and the line the secrets area reported
    committed = next(r for t, r in by_target.items() if t.startswith("sample-repo/app/settings.py:"))
    region = committed["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert str(region) == committed["properties"]["target"].rsplit(":", 1)[1]
    # blocking findings are errors; the level of the rest follows severity
    for result in results:
        if result["properties"]["blocking"]:
            assert result["level"] == "error"
    waived = [r for r in results if r["properties"]["status"] == "waived"]
    assert waived and all(r["suppressions"][0]["kind"] == "external" for r in waived)


def test_demo_and_example_findings_json_match_the_schema(demo_run, examples_run):
    validator = _findings_validator()
    _, _, run_dir = demo_run
    paths = [
        run_dir / "findings.json",
        *sorted(p.resolve() / "findings.json" for p in examples_run[1].glob("*/latest")),
    ]
    for path in paths:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(json.loads(path.read_text()))]
        assert errors == [], path


def test_unit_findings_json_and_sarif(tmp_path):
    env_file = tmp_path / "deploy" / "prod.env"
    env_file.parent.mkdir()
    env_file.write_text("# prod\nAPP_ENV=production\nexport SESSION_KEY = short\n")

    (tmp_path / "prod.yaml").write_text("environment: prod\nareas: [config]\nconfig: {env_file: deploy/prod.env}\n")
    env = load_environment(tmp_path / "prod.yaml")
    found = [
        Finding(area="config", check_id="config.session_key", title="Session key strong", status=Status.FAIL,
                severity=Severity.CRITICAL, target="prod.env:SESSION_KEY", observed="5 characters"),
        Finding(area="headers", check_id="headers.hsts", title="HSTS <b>", status=Status.WARN,
                severity=Severity.MEDIUM, target="https://shop.example.org/", references=("MDN <https://developer.mozilla.org/x>",)),
        Finding(area="tls", check_id="tls.expiry", title="Not expiring", status=Status.PASS, severity=Severity.HIGH,
                target="shop.example.org:443"),
    ]  # fmt: skip
    document = sarif_document("prod", "r1", found, blocking=found[:1], env=env, root=tmp_path, verdict="NO-GO")
    assert validate_sarif(document) == []
    results = document["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["config.session_key", "headers.hsts"]  # the pass is left out
    config, headers = results
    assert config["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "deploy/prod.env", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }
    assert config["level"] == "error" and headers["level"] == "warning"
    assert headers["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "prod.yaml"
    assert document["runs"][0]["tool"]["driver"]["rules"][1]["helpUri"] == "https://developer.mozilla.org/x"

    path = tmp_path / "findings.json"
    write_findings_json(path, "prod", "r1", found, blocking=found[:1], verdict="NO-GO", fail_on="high",
                        started="2026-11-30T10:00:00+00:00", exit_code=1)  # fmt: skip
    data = json.loads(path.read_text())
    assert list(_findings_validator().iter_errors(data)) == []
    assert [f["blocking"] for f in data["findings"]] == [True, False, False]
    assert data["gate"] == {"fail_on": "high", "blocking": 1}


@pytest.mark.parametrize("broken", [{"id": "no digest"}, {"status": "failed"}, {"blocking": "yes"}])
def test_schema_rejects_wrong_findings(tmp_path, broken):
    found = [Finding(area="a", check_id="a.b", title="t", status=Status.FAIL, severity=Severity.LOW)]
    path = tmp_path / "f.json"
    write_findings_json(path, "prod", "r1", found)
    data = json.loads(path.read_text())
    data["findings"][0].update(broken)
    assert list(_findings_validator().iter_errors(data))
