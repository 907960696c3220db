"""The check catalog: the one finding builder, families, listings, explanations (issue 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harden_lib import catalog as cat
from harden_lib.catalog import Catalog, CheckSpec, Reference
from harden_lib.findings import Severity, Status
from harden_lib.redact import register_secret

ROOT = Path(__file__).resolve().parent.parent


def _spec(check_id: str, **kw) -> CheckSpec:
    area = check_id.split(".", 1)[0]
    base = {
        "id": check_id,
        "area": area,
        "title": f"title of {check_id}",
        "severity": Severity.HIGH,
        "risk": "what an attacker gains when this fails",
        "remediation": "the concrete configuration that fixes it",
        "expected": "what passes",
        "references": [Reference(title="MDN: HSTS", url="https://developer.mozilla.org/x")],
        "tags": ["web"],
    }
    return CheckSpec.model_validate({**base, **kw})


@pytest.fixture
def fake_catalog(monkeypatch):
    specs = Catalog(
        [
            _spec("demoarea.thing"),
            _spec("demoarea.other", severity=Severity.LOW),
            _spec("config.env_file"),
            _spec("config.*", family=True, defined_by="config.rules[].id", title="A config rule holds"),
        ]
    )
    monkeypatch.setattr(cat, "catalog", lambda: specs)
    return specs


def test_the_builder_takes_wording_from_the_catalog(fake_catalog):
    f = cat.finding("demoarea.thing", Status.FAIL, "https://user:pw@host/x?token=abc", "seen")
    assert (f.area, f.title, f.severity, f.expected) == (
        "demoarea",
        "title of demoarea.thing",
        Severity.HIGH,
        "what passes",
    )
    assert f.remediation == "the concrete configuration that fixes it"
    assert f.references == ("MDN: HSTS <https://developer.mozilla.org/x>",)
    assert "pw" not in f.target and "abc" not in f.target, "URL credentials are redacted in targets"
    assert cat.finding("demoarea.thing", Status.PASS, "t").remediation == "", "a pass has nothing to fix"


def test_severity_override_needs_a_reason(fake_catalog):
    with pytest.raises(ValueError, match="severity_reason"):
        cat.finding("demoarea.thing", Status.FAIL, "t", severity=Severity.CRITICAL)
    f = cat.finding("demoarea.thing", Status.FAIL, "t", severity=Severity.CRITICAL, severity_reason="advisory says so")
    assert f.severity is Severity.CRITICAL and f.severity_reason == "advisory says so"
    same = cat.finding("demoarea.thing", Status.FAIL, "t", severity=Severity.HIGH)
    assert same.severity_reason == ""


def test_observed_is_redacted_capped_and_keeps_markup_readable(fake_catalog):
    register_secret("s3cr3t-value-123")
    observed = "value s3cr3t-value-123 at https://u:pw@h/?api_key=k1 -> <script>\x1b[31m" + "x" * 5000
    f = cat.finding("demoarea.thing", Status.FAIL, "t", observed)
    assert "s3cr3t-value-123" not in f.observed and "pw@" not in f.observed and "k1" not in f.observed
    assert "-> <script>" in f.observed, "no \\x3c escapes: reports escape HTML themselves"
    assert "\x1b" not in f.observed and "\\x1b" in f.observed
    assert len(f.observed) <= cat.MAX_OBSERVED


def test_unknown_ids_are_errors_and_families_match_by_prefix(fake_catalog):
    with pytest.raises(cat.UnknownCheckError, match=r"demoarea\.typo"):
        cat.finding("demoarea.typo", Status.FAIL, "t")
    member = cat.finding("config.relays.wss", Status.FAIL, "env:KEY", title="Relays use wss://")
    assert member.title == "Relays use wss://" and member.area == "config"
    assert fake_catalog.lookup("config.env_file").title == "title of config.env_file", "exact ids win over families"


def test_ids_named_in_params_must_resolve(fake_catalog):
    defined = cat.defined_ids(
        {
            "config": {"rules": [{"kind": "url", "id": "config.relays.wss"}, {"kind": "required"}]},
            "attestations": [{"id": "backups.tested"}],
        }
    )
    assert defined == {"config.relays.wss", "config.required", "operations.backups.tested"}
    assert cat.resolves("demoarea.thing") and cat.resolves("demoarea.*")
    assert cat.resolves("config.relays.wss", defined)
    assert not cat.resolves("config.relays.wsss", defined), "a typo in a rule id is caught"
    assert not cat.resolves("demoarea.nope") and not cat.resolves("nothing.*")


def test_specs_are_validated_when_loaded(tmp_path):
    bad = tmp_path / "demoarea.yaml"
    bad.write_text(
        "area: demoarea\nchecks:\n  - {id: other.thing, title: T T T, severity: high, risk: r, remediation: r}\n"
    )
    with pytest.raises(cat.HardenError, match=r"demoarea.yaml: checks\[0\]"):
        cat.load_area_file(bad)
    bad.write_text(
        "area: demoarea\nchecks:\n  - id: demoarea.x\n    title: A title\n    severity: high\n"
        "    risk: long enough risk text\n    remediation: long enough fix text\n"
        "    references: [{title: evil, url: 'javascript:alert(1)'}]\n"
    )
    with pytest.raises(cat.HardenError, match="url"):
        cat.load_area_file(bad)


def test_explanations_link_references_and_escape_text(fake_catalog):
    from harden_lib.render import explanations_html, fixes_frame

    html = explanations_html(["demoarea.thing", "unknown.id"])
    assert '<a href="https://developer.mozilla.org/x"' in html and "Why it matters" in html
    assert "unknown.id" not in html
    findings = [
        cat.finding("demoarea.other", Status.WARN, "a"),
        cat.finding("demoarea.thing", Status.FAIL, "b"),
        cat.finding("demoarea.thing", Status.PASS, "c"),
        cat.finding("demoarea.other", Status.FAIL, "d"),
    ]
    todo = fixes_frame(findings)
    assert list(todo["target"]) == ["b", "d", "a"], "worst severity first, then fail before warn"


def test_params_imports_no_area_module():
    code = (
        "import sys, harden_lib.params\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('harden_lib.checks'))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "", f"harden_lib.params imported area modules: {result.stdout}"


def test_docs_checks_md_is_generated_from_the_catalog():
    """docs/checks.md must be what `harden checks --format markdown` prints (make docs)."""
    from harden_lib.areas import AREAS
    from harden_lib.catalog import catalog_markdown

    expected = catalog_markdown({name: spec.title for name, spec in AREAS.items()})
    actual = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/checks.md is stale: run `make docs` and commit it"


def test_every_area_declares_itself_and_has_a_catalog():
    from harden_lib.areas import registry
    from harden_lib.catalog import catalog

    areas = registry()
    assert len(areas) >= 12
    for name, spec in areas.items():
        entries = catalog().for_area(name)
        assert entries, f"area {name} has no catalog entries"
        assert f"{name}.execution" in catalog().specs, f"{name}.execution missing (the summary emits it)"
        assert (ROOT / "notebooks" / spec.notebook).is_file()
        assert callable(spec.runner())


def test_the_real_catalog_is_complete_and_linked():
    from harden_lib.catalog import catalog

    specs = list(catalog())
    assert len(specs) >= 140
    for spec in specs:
        assert spec.title and spec.risk and spec.remediation, spec.id
        for ref in spec.references:
            assert ref.url is None or ref.url.startswith("https://"), (spec.id, ref.url)
    linked = [s for s in specs if any(r.url for r in s.references)]
    assert len(linked) >= 0.8 * len(specs), "most checks link to where the requirement comes from"


def test_harden_checks_lists_the_catalog(capsys):
    import json

    from harden_lib import cli

    assert cli.main(["checks", "--area", "tls"]) == 0
    out = capsys.readouterr().out
    assert "tls.cert.trusted" in out and "headers.hsts.present" not in out
    assert cli.main(["checks", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"id", "area", "title", "severity", "risk", "remediation", "references", "tags"} <= set(listed[0])
    assert cli.main(["checks", "--area", "nope"]) == 64


def test_a_profile_naming_an_unknown_check_id_is_a_params_error(tmp_path):
    from harden_lib.checklist import load_profile
    from harden_lib.errors import ParamsError

    (tmp_path / "source.md").write_text("- Use HTTPS\n- Relays\n")
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "system: demo\ntitle: Demo\nsource: source.md\nitems:\n"
        "  - {id: a, section: s, text: Use HTTPS, checks: [headers.hsts.presnt]}\n"
        "  - {id: b, section: s, text: Relays, checks: [config.relays.wss]}\n"
        "params:\n  config: {rules: [{kind: url, id: config.relays.wss, key: R, schemes: [wss]}]}\n"
    )
    with pytest.raises(ParamsError) as caught:
        load_profile(profile)
    message = str(caught.value)
    assert "p.yaml" in message and "items[0].checks" in message and "headers.hsts.presnt" in message
    profile.write_text(profile.read_text().replace("headers.hsts.presnt", "headers.hsts.present"))
    assert len(load_profile(profile).items) == 2
    profile.write_text(profile.read_text().replace("checks: [config.relays.wss]}", "checks: [config.relays.ws]}"))
    with pytest.raises(ParamsError, match=r"config\.relays\.ws'"):
        load_profile(profile)


def test_an_attestation_covering_an_unknown_check_id_is_a_params_error(tmp_path):
    from harden_lib.environment import load_environment
    from harden_lib.errors import ParamsError

    params = tmp_path / "env.yaml"
    params.write_text(
        "environment: env\nareas: [operations]\nattestations:\n"
        "  - {id: backups.tested, title: Backups tested, owner: ops, max_age_days: 90, covers: [secrets.env.sharde]}\n"
    )
    with pytest.raises(ParamsError, match=r"attestations\[0\]\.covers\[0\]"):
        load_environment(params)


def test_an_area_that_could_not_run_is_an_execution_error_of_its_own():
    """The summary stands in for an area whose notebook crashed with ``<area>.execution``."""
    from harden_lib.areas import registry
    from harden_lib.summary import area_error

    for name in registry():
        f = area_error(name, "cell 4 raised: boom")
        assert (f.area, f.check_id, f.status) == (name, f"{name}.execution", Status.ERROR)
        assert f.severity is Severity.CRITICAL and f.title, name
        assert f.observed.startswith("cell 4 raised: boom")
