"""Dependencies area on real-format audit outputs (tests/fixtures/dependencies)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden_lib.checks import dependencies
from harden_lib.environment import load_environment

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dependencies"


def env_with(tmp_path: Path, reports: list[Path], extra: str = "") -> object:
    params = tmp_path / "p.yaml"
    params.write_text(
        f"environment: t\nareas: [dependencies]\ndependencies:\n  reports: {[str(r) for r in reports]!r}\n{extra}"
    )
    return load_environment(params)


@pytest.mark.parametrize(
    ("name", "tool", "count"),
    [
        ("npm-audit.json", "npm audit", 2),
        ("pip-audit.json", "pip-audit", 2),
        ("osv-scanner.json", "osv-scanner", 2),
        ("trivy.json", "trivy", 3),
    ],
)
def test_each_format_is_recognised(name, tool, count):
    found_tool, vulns = dependencies.parse_report(FIXTURES / name)
    assert found_tool == tool and len(vulns) == count


def test_normalised_fields_per_tool():
    _, npm = dependencies.parse_report(FIXTURES / "npm-audit.json")
    minimist = next(v for v in npm if v.package == "minimist")
    assert minimist.ids == ["GHSA-xvch-5gv4-984h"] and minimist.severity == "critical" and minimist.fixed == "1.2.6"
    assert not any(v.package == "mkdirp" for v in npm)  # only vulnerable *through* minimist
    _, trivy = dependencies.parse_report(FIXTURES / "trivy.json")
    t = next(v for v in trivy if v.package == "minimist")
    assert t.version == "1.2.5" and "GHSA-xvch-5gv4-984h" in t.ids and t.fixed.startswith("1.2.6")
    _, osv = dependencies.parse_report(FIXTURES / "osv-scanner.json")
    django = next(v for v in osv if v.package == "django")
    assert django.severity == "high" and django.fixed == "4.2.3" and "CVE-2023-36053" in django.ids


def test_dedupe_across_tools_and_gate(tmp_path):
    env = env_with(tmp_path, sorted(FIXTURES.glob("*.json")))
    report = dependencies.audit(env)
    vulns = {f.target: f for f in report.findings if f.check_id == "dependencies.vulnerability"}
    assert len(vulns) == 7  # 9 records, 2 reported twice
    minimist = vulns["minimist@1.2.5 CVE-2021-44906"]
    assert minimist.status == "fail" and minimist.severity == "critical"
    assert "npm audit, trivy" in minimist.observed and "GHSA-xvch-5gv4-984h" in minimist.observed
    django = vulns["django@4.2.0 CVE-2023-36053"]  # pip-audit has no severity, osv-scanner says 7.5
    assert django.status == "fail" and django.severity == "high" and "assumed" not in django.observed
    requests = vulns["requests@2.31.0 CVE-2024-35195"]
    assert requests.status == "fail" and "assumed high" in requests.observed
    assert vulns["semver GHSA-c2qf-rxjj-qqgw"].status == "warn"
    assert (
        vulns["libssl3@3.1.4-r5 CVE-2024-5535"].status == "warn"
        and vulns["libssl3@3.1.4-r5 CVE-2024-5535"].severity == "low"
    )
    assert {f.status for f in report.findings if f.check_id == "dependencies.report"} == {"pass"}
    assert list(report.table()["package"][:1]) == ["minimist"]


def test_threshold_is_configurable(tmp_path):
    env = env_with(tmp_path, [FIXTURES / "pip-audit.json"], "  fail_on: critical\n  unknown_severity: medium\n")
    statuses = {f.target: f.status for f in dependencies.run(env) if f.check_id == "dependencies.vulnerability"}
    assert statuses == {"django@4.2.0 CVE-2023-36053": "warn", "requests@2.31.0 CVE-2024-35195": "warn"}


def test_malformed_unknown_and_missing_files_are_errors_naming_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"results": [')
    unknown = tmp_path / "other.json"
    unknown.write_text(json.dumps({"hello": "world"}))
    npm6 = tmp_path / "npm6.json"
    npm6.write_text(json.dumps({"advisories": {}, "metadata": {}}))
    findings = dependencies.run(
        env_with(tmp_path, [bad, unknown, npm6, tmp_path / "gone.json", FIXTURES / "trivy.json"])
    )
    errors = {f.target: f.observed for f in findings if f.status == "error"}
    assert set(errors) == {"broken.json", "other.json", "npm6.json", "gone.json"}
    assert "not valid JSON" in errors["broken.json"] and "unknown format" in errors["other.json"]
    assert "npm 7" in errors["npm6.json"] and "does not exist" in errors["gone.json"]
    assert sum(f.check_id == "dependencies.vulnerability" for f in findings) == 3  # trivy still read


def test_charts_render(tmp_path):
    report = dependencies.audit(env_with(tmp_path, sorted(FIXTURES.glob("*.json"))))
    assert dependencies.plot_by_severity(report) and dependencies.plot_by_package(report)


def test_findings_come_from_the_catalog_with_a_reason_for_each_other_severity(tmp_path):
    """Severities other than the catalog's default say why: the advisory's own, or assumed."""
    from harden_lib.catalog import catalog

    env = env_with(
        tmp_path, [*sorted(FIXTURES.glob("*.json")), tmp_path / "missing.json"], "  required_tools: [trivy image]\n"
    )
    findings = dependencies.run(env) + dependencies.run(env_with(tmp_path, []))
    spec_ids = {s.id for s in catalog().for_area("dependencies")} - {"dependencies.execution"}
    assert {f.check_id for f in findings} == spec_ids
    default = catalog().lookup("dependencies.vulnerability").severity
    vulns = {f.target: f for f in findings if f.check_id == "dependencies.vulnerability"}
    for f in vulns.values():
        assert bool(f.severity_reason) == (f.severity is not default), f.target
    assert "highest reported by npm audit, trivy" in vulns["minimist@1.2.5 CVE-2021-44906"].severity_reason
    assumed = dependencies.run(env_with(tmp_path, [FIXTURES / "pip-audit.json"], "  unknown_severity: critical\n"))
    assert {f.severity_reason for f in assumed if f.check_id == "dependencies.vulnerability"} == {
        "assumed: no tool reported a severity (dependencies.unknown_severity)"
    }
    read = [f for f in findings if f.check_id == "dependencies.report" and f.status == "pass"]
    assert read and all(f.remediation == "" for f in read), "a pass has nothing to fix"
    [error] = [f for f in findings if f.check_id == "dependencies.report" and f.status == "error"]
    assert error.target == "missing.json" and any("<https://" in r for r in error.references)


def test_area_interface_and_empty_chart():
    assert dependencies.AREA.name == "dependencies" and dependencies.AREA.params is dependencies.DependenciesParams
    empty = dependencies.plot_by_package(dependencies.DependenciesAudit())
    assert [t.get_text() for t in empty.axes[0].texts] == ["no known vulnerability"]


# --------------------------------------------------------------------------- tools and age (issue 15)


def _copy(source: Path, folder: Path, name: str | None = None, *, age_days: float | None = None, **changes) -> Path:
    """A copy of a real-format report, optionally with fields changed and the file dated ``age_days`` ago."""
    import os
    import time

    doc = json.loads(source.read_text())
    doc.update(changes)
    target = folder / (name or source.name)
    target.write_text(json.dumps(doc))
    if age_days is not None:
        stamp = time.time() - age_days * 86400
        os.utime(target, (stamp, stamp))
    return target


def test_required_tool_an_npm_audit_does_not_stand_in_for_an_image_scan(tmp_path):
    npm = _copy(FIXTURES / "npm-audit.json", tmp_path)
    fs_scan = _copy(FIXTURES / "trivy.json", tmp_path, "trivy-fs.json", ArtifactType="filesystem", ArtifactName=".")
    env = env_with(tmp_path, [npm, fs_scan], "  required_tools: [trivy-image, npm, osv-scanner, trivy]\n")
    found = {f.target: f for f in dependencies.run(env) if f.check_id == "dependencies.required_tool"}
    assert {k: f.status for k, f in found.items()} == {
        "trivy image": "fail",  # a filesystem scan is not an image scan
        "npm audit": "pass",
        "osv-scanner": "fail",
        "trivy": "pass",
    }
    assert "trivy-fs.json (trivy filesystem .)" in found["trivy image"].observed
    reports = {f.target: f.observed for f in dependencies.run(env) if f.check_id == "dependencies.report"}
    assert reports["trivy-fs.json"].startswith("trivy output of filesystem ., ")
    old_trivy = _copy(FIXTURES / "trivy.json", tmp_path, "old-trivy.json", ArtifactType=None)  # before ArtifactType
    [old] = [f for f in dependencies.run(env_with(tmp_path, [old_trivy], "  required_tools: [trivy image]\n"))
             if f.check_id == "dependencies.required_tool"]  # fmt: skip
    assert old.status == "pass"
    image = env_with(tmp_path, [FIXTURES / "trivy.json"], "  required_tools: [trivy image]\n")
    [ok] = [f for f in dependencies.run(image) if f.check_id == "dependencies.required_tool"]
    assert ok.status == "pass" and ok.observed == "trivy image report: trivy.json"
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    none = env_with(tmp_path, [broken], "  required_tools: [pip-audit]\n")
    [missing] = [f for f in dependencies.run(none) if f.check_id == "dependencies.required_tool"]
    assert missing.status == "fail" and "none readable" in missing.observed


def test_report_age_from_created_at_or_file_date_and_says_which(tmp_path):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    two_days_ago = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    fresh_trivy = _copy(FIXTURES / "trivy.json", tmp_path, "fresh-trivy.json", CreatedAt=two_days_ago, age_days=40)
    old_trivy = _copy(FIXTURES / "trivy.json", tmp_path, "old-trivy.json", age_days=0)  # CreatedAt 2024-06-12
    new_npm = _copy(FIXTURES / "npm-audit.json", tmp_path, "npm-new.json", age_days=1)
    old_pip = _copy(FIXTURES / "pip-audit.json", tmp_path, "pip-old.json", age_days=9)
    future = _copy(FIXTURES / "trivy.json", tmp_path, "future.json",
                   CreatedAt=(now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))  # fmt: skip
    env = env_with(tmp_path, [fresh_trivy, old_trivy, new_npm, old_pip, future])
    ages = {f.target: f for f in dependencies.run(env) if f.check_id == "dependencies.report_age"}
    assert {k: f.status for k, f in ages.items()} == {
        "fresh-trivy.json": "pass",  # its own timestamp wins over the file's 40-day-old date
        "old-trivy.json": "fail",  # a freshly copied file does not make an old scan new
        "npm-new.json": "pass",
        "pip-old.json": "fail",
        "future.json": "warn",
    }
    assert "from the report's CreatedAt" in ages["fresh-trivy.json"].observed
    assert "2024-06-12 09:14 UTC" in ages["old-trivy.json"].observed
    assert "from the file's modification time (pip-audit writes no timestamp)" in ages["pip-old.json"].observed
    assert ages["pip-old.json"].expected == "at most 7 days old"
    relaxed = env_with(tmp_path, [old_pip], "  max_age_days: 10\n")
    [ok] = [f for f in dependencies.run(relaxed) if f.check_id == "dependencies.report_age"]
    assert ok.status == "pass" and ok.observed.startswith("9.0 days old")


def test_required_tools_names_are_checked():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        dependencies.DependenciesParams(required_tools=["snyk"])
    assert dependencies.DependenciesParams(required_tools=["NPM", "trivy_image"]).required_tools == [
        "npm audit",
        "trivy image",
    ]


def test_hostile_reports_are_errors_in_plain_words(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 50000)
    shaped = tmp_path / "shaped.json"
    shaped.write_text(json.dumps({"SchemaVersion": 2, "Results": [{"Vulnerabilities": ["not an object"]}]}))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    findings = dependencies.run(env_with(tmp_path, [deep, shaped, binary]))
    errors = {f.target: f.observed for f in findings if f.status == "error"}
    assert "nested deeper" in errors["deep.json"]
    assert "malformed (an entry has an unexpected shape or value)" in errors["shaped.json"]
    assert "not UTF-8 text" in errors["binary.json"]
    for text in errors.values():
        assert "Error" not in text and "(" + "'" not in text, text
