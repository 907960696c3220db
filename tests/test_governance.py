"""Governance: waivers, attestations (the operations area), contradictions, sign-offs and the gate."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from harden_lib import ParamsError, governance, summary
from harden_lib.checks import operations
from harden_lib.environment import Environment, load_environment
from harden_lib.findings import Finding, Severity, Status, gate, save_findings
from harden_lib.governance import Attestation, SignOffs, Waiver

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 6, 15)  # fixed: before the real today, so dated attestations are never "in the future"


def days(n: int) -> date:
    return TODAY + dt.timedelta(days=n)


def finding(
    check_id: str,
    status: Status = Status.FAIL,
    target: str = "https://app.example.com/",
    severity: Severity = Severity.HIGH,
) -> Finding:
    return Finding(
        area=check_id.split(".")[0],
        check_id=check_id,
        title=check_id,
        status=status,
        severity=severity,
        target=target,
        observed="seen",
    )


def waiver(
    check_id: str,
    expires: date | None = None,
    target: str | None = None,
    reason: str = "Accepted until the CDN change ships.",
    approved_by: str = "Priya Sec",
) -> Waiver:
    expires = days(30) if expires is None else expires
    return Waiver(check_id=check_id, target=target, reason=reason, approved_by=approved_by, expires=expires)


def env(**sections) -> Environment:
    return Environment.model_validate({"environment": "production", **sections})


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def statuses(findings: list[Finding]) -> dict[tuple[str, str], Status]:
    return {(f.check_id, f.target): f.status for f in findings}


# --------------------------------------------------------------------------- waivers


def test_waiver_turns_fail_into_waived_and_keeps_raw_status():
    fail = finding("headers.server_banner")
    [out] = governance.apply_waivers([fail], [waiver("headers.server_banner", expires=date(2026, 7, 1))], TODAY)
    assert out.status is Status.WAIVED
    assert out.raw_status is Status.FAIL
    assert out.waiver == "Accepted until the CDN change ships. — approved by Priya Sec, expires 2026-07-01"
    # Everything else about the finding is kept.
    assert (out.check_id, out.target, out.severity, out.observed) == (
        fail.check_id,
        fail.target,
        fail.severity,
        fail.observed,
    )
    assert fail.status is Status.FAIL  # the input is not modified


@pytest.mark.parametrize("status", [Status.PASS, Status.WARN, Status.ERROR, Status.SKIP, Status.MANUAL])
def test_waiver_leaves_non_fail_statuses_alone(status):
    item = finding("headers.server_banner", status)
    [out] = governance.apply_waivers([item], [waiver("headers.*")], TODAY)
    assert out == item
    assert out.raw_status is None and out.waiver == ""


def test_governance_findings_are_never_waived():
    signoff = finding("governance.signoff", target="ops", severity=Severity.CRITICAL)
    [out] = governance.apply_waivers([signoff], [waiver("governance.*"), waiver("governance.signoff")], TODAY)
    assert out.status is Status.FAIL and out.raw_status is None


def test_waiver_target_glob():
    findings = [
        finding("tls.cert.expiry", target="api.example.com:443"),
        finding("tls.cert.expiry", target="www.example.com:443"),
        finding("tls.cert.expiry", target="api.example.com:8443"),
    ]
    out = governance.apply_waivers(findings, [waiver("tls.cert.expiry", target="api.*:443")], TODAY)
    assert [f.status for f in out] == [Status.WAIVED, Status.FAIL, Status.FAIL]


def test_waiver_check_id_glob():
    findings = [
        finding("headers.csp.unsafe_inline"),
        finding("headers.csp.missing"),
        finding("headers.cspx"),
        finding("headers.hsts.max_age"),
    ]
    out = governance.apply_waivers(findings, [waiver("headers.csp.*")], TODAY)
    assert [f.status for f in out] == [Status.WAIVED, Status.WAIVED, Status.FAIL, Status.FAIL]


def test_waiver_check_id_match_is_exact_and_case_sensitive():
    out = governance.apply_waivers(
        [finding("headers.csp"), finding("headers.csp.unsafe_inline"), finding("Headers.CSP")],
        [waiver("headers.csp")],
        TODAY,
    )
    assert [f.status for f in out] == [Status.WAIVED, Status.FAIL, Status.FAIL]


def test_waiver_valid_through_its_expiry_day_then_not():
    item = finding("headers.server_banner")
    w = waiver("headers.server_banner", expires=TODAY)
    assert governance.apply_waivers([item], [w], TODAY)[0].status is Status.WAIVED
    assert governance.apply_waivers([item], [w], days(1))[0].status is Status.FAIL


def test_first_matching_waiver_in_force_applies():
    item = finding("headers.csp.unsafe_inline")
    expired = waiver("headers.csp.*", expires=days(-1), reason="An old reason that expired already.")
    valid = waiver("headers.csp.unsafe_inline", expires=days(10), approved_by="Sam Eng")
    [out] = governance.apply_waivers([item], [expired, valid], TODAY)
    assert out.status is Status.WAIVED
    assert "approved by Sam Eng" in out.waiver and "expired already" not in out.waiver


def test_expired_waiver_is_not_applied_and_reported():
    per_area = {"headers": [finding("headers.x_powered_by")]}
    e = env(waivers=[waiver("headers.x_powered_by", expires=date(2026, 6, 1)).model_dump()])
    out = governance.apply(e, per_area, TODAY)
    assert out["headers"][0].status is Status.FAIL
    assert out["headers"][0].raw_status is None
    [expired] = [f for f in out["governance"] if f.check_id == "governance.waiver.expired"]
    assert expired.status is Status.WARN
    assert expired.target == "headers.x_powered_by"
    assert expired.observed.startswith("expired 2026-06-01 (approved by Priya Sec)")
    assert not [f for f in out["governance"] if f.check_id == "governance.waiver.unmatched"]


def test_typo_waiver_is_unmatched_warning():
    per_area = {"headers": [finding("headers.csp.unsafe_inline"), finding("headers.hsts", Status.PASS)]}
    e = env(waivers=[waiver("headers.csp.unsafe_inlin").model_dump(), waiver("headers.hsts").model_dump()])
    out = governance.apply(e, per_area, TODAY)
    assert out["headers"][0].status is Status.FAIL  # the typo hides nothing
    gov = [(f.check_id, f.status, f.target) for f in out["governance"]]
    # headers.hsts matches a (passing) check: not a typo, so no warning for it.
    assert gov == [("governance.waiver.unmatched", Status.WARN, "headers.csp.unsafe_inlin")]
    assert "no check id matches 'headers.csp.unsafe_inlin'" in out["governance"][0].observed


def test_waiver_findings_expired_and_unmatched_both_reported():
    out = governance.waiver_findings([waiver("nope.check", expires=days(-3), target="x*")], {"headers.csp"}, TODAY)
    assert [(f.check_id, f.target) for f in out] == [
        ("governance.waiver.unmatched", "nope.check [x*]"),
        ("governance.waiver.expired", "nope.check [x*]"),
    ]
    assert all(f.area == "governance" and f.severity is Severity.MEDIUM for f in out)


def test_waiver_table_states_and_counts():
    e = env(
        waivers=[
            waiver("headers.server_banner", expires=days(45)).model_dump(),
            waiver("headers.x_powered_by", expires=days(-10)).model_dump(),
            waiver("tls.*", target="api.*").model_dump(),
            waiver("headers.csp.unsafe_inlin").model_dump(),
        ]
    )
    per_area = {
        "headers": [
            finding("headers.server_banner", target="/"),
            finding("headers.server_banner", target="/login"),
            finding("headers.x_powered_by"),
        ],
        "tls": [finding("tls.protocols", target="api.example.com:443"), finding("tls.protocols", target="www:443")],
    }
    out = governance.apply(e, per_area, TODAY)
    table = governance.waiver_table(e, out, TODAY).set_index("check")
    assert list(table.index) == [
        "headers.server_banner",
        "headers.x_powered_by",
        "tls.* [api.*]",
        "headers.csp.unsafe_inlin",
    ]
    assert table.loc["headers.server_banner", "state"] == "in force"
    assert table.loc["headers.server_banner", "expires"] == days(45).isoformat()
    assert table.loc["headers.x_powered_by", "state"] == "EXPIRED"
    assert table.loc["headers.server_banner", "waived findings"] == 2
    assert table.loc["headers.x_powered_by", "waived findings"] == 0
    assert table.loc["tls.* [api.*]", "waived findings"] == 1
    assert table.loc["headers.csp.unsafe_inlin", "waived findings"] == 0
    assert table.loc["tls.* [api.*]", "approved by"] == "Priya Sec"
    assert table.loc["tls.* [api.*]", "reason"] == "Accepted until the CDN change ships."


def test_waiver_table_counts_each_finding_once():
    e = env(waivers=[waiver("headers.*").model_dump(), waiver("headers.csp", approved_by="Sam Eng").model_dump()])
    out = governance.apply(e, {"headers": [finding("headers.csp")]}, TODAY)
    table = governance.waiver_table(e, out, TODAY).set_index("check")
    assert table["waived findings"].sum() == 1


# --------------------------------------------------------------------------- attestations


def attestation(**fields) -> Attestation:
    base = {
        "id": "backups.restore_tested",
        "title": "A database restore was tested",
        "owner": "ops (Dana)",
        "date": days(-30),
        "evidence": "https://wiki.example.com/restore",
        "max_age_days": 92,
    }
    return Attestation.model_validate(base | fields)


def test_attestation_pass_within_max_age():
    f = governance.attestation_finding(attestation(), TODAY)
    assert (f.area, f.check_id, f.target, f.status, f.severity) == (
        "operations",
        "operations.backups.restore_tested",
        "backups.restore_tested",
        Status.PASS,
        Severity.HIGH,
    )
    assert f.observed == (
        f"attested {days(-30).isoformat()} by ops (Dana): 30 days ago (limit 92); "
        "evidence: https://wiki.example.com/restore"
    )


def test_attestation_warns_when_due_soon():
    # 92 // 10 = 9 days of notice: 85 days old (7 days left) warns, 83 days old (9 left) passes.
    f = governance.attestation_finding(attestation(date=days(-85)), TODAY)
    assert f.status is Status.WARN
    assert "due again in 7 days (limit 92)" in f.observed
    assert governance.attestation_finding(attestation(date=days(-83)), TODAY).status is Status.PASS
    # On the last valid day it is still a warning, not a failure.
    assert governance.attestation_finding(attestation(date=days(-92)), TODAY).status is Status.WARN


def test_attestation_fails_when_stale_with_days_over():
    f = governance.attestation_finding(attestation(date=days(-100)), TODAY)
    assert f.status is Status.FAIL
    assert f.observed == (
        f"last attested {days(-100).isoformat()} by ops (Dana): 100 days ago, 8 days over the limit of 92; "
        "evidence: https://wiki.example.com/restore"
    )
    assert "repeat the control now" in f.remediation
    assert governance.attestation_finding(attestation(date=days(-93)), TODAY).status is Status.FAIL


def test_attestation_never_done_is_manual():
    f = governance.attestation_finding(attestation(date=None, evidence=None, owner="ops (Dana)"), TODAY)
    assert f.status is Status.MANUAL
    assert f.observed == "never attested (owner: ops (Dana))"


def test_attestation_table_and_chart():
    e = env(
        attestations=[
            attestation().model_dump(),
            attestation(id="oncall.rotation", title="On-call", date=None, evidence=None, max_age_days=30).model_dump(),
        ]
    )
    table = governance.attestation_table(e, TODAY)
    records = table.to_dict("records")
    assert pd.isna(records[1].pop("age (days)"))
    assert records == [
        {
            "control": "A database restore was tested",
            "id": "backups.restore_tested",
            "owner": "ops (Dana)",
            "last done": days(-30).isoformat(),
            "age (days)": 30,
            "max age (days)": 92,
            "status": "pass",
            "evidence": "https://wiki.example.com/restore",
        },
        {
            "control": "On-call",
            "id": "oncall.rotation",
            "owner": "ops (Dana)",
            "last done": "never",
            "max age (days)": 30,
            "status": "manual",
            "evidence": "",
        },
    ]
    assert governance.plot_attestation_age(e, TODAY).axes
    assert governance.plot_attestation_age(env(), TODAY).axes


def test_failing_covered_check_voids_a_passing_attestation():
    att = attestation(id="keys.nextauth_secret.rotated", title="Rotated", covers=["secrets.env.*"])
    e = env(attestations=[att.model_dump()])
    per_area = {
        "secrets": [finding("secrets.env.shared", target="NEXTAUTH_SECRET")],
        "operations": operations.run(e, TODAY),
    }
    assert per_area["operations"][0].status is Status.PASS
    out = governance.apply(e, per_area, TODAY)
    [voided] = out["operations"]
    assert voided.status is Status.FAIL
    assert voided.raw_status is Status.PASS
    assert "but the automated check secrets.env.shared fails" in voided.observed
    assert voided.remediation.startswith("Fix secrets.env.shared first")


def test_waived_covered_check_still_voids_the_attestation():
    att = attestation(id="keys.rotated", title="Rotated", covers=["secrets.env.shared"])
    e = env(attestations=[att.model_dump()], waivers=[waiver("secrets.env.shared").model_dump()])
    per_area = {"secrets": [finding("secrets.env.shared")], "operations": operations.run(e, TODAY)}
    out = governance.apply(e, per_area, TODAY)
    assert out["secrets"][0].status is Status.WAIVED
    assert out["operations"][0].status is Status.FAIL


def test_passing_covered_check_keeps_the_attestation():
    att = attestation(id="keys.rotated", title="Rotated", covers=["secrets.env.shared"])
    e = env(attestations=[att.model_dump()])
    per_area = {
        "secrets": [finding("secrets.env.shared", Status.PASS), finding("secrets.env.strength")],
        "operations": operations.run(e, TODAY),
    }
    out = governance.apply(e, per_area, TODAY)
    assert out["operations"][0].status is Status.PASS and out["operations"][0].raw_status is None


def test_failing_covered_check_voids_a_due_soon_attestation():
    att = attestation(id="keys.rotated", title="Rotated", date=days(-88), covers=["secrets.env.shared"])
    e = env(attestations=[att.model_dump()])
    per_area = {"secrets": [finding("secrets.env.shared")], "operations": operations.run(e, TODAY)}
    assert per_area["operations"][0].status is Status.WARN
    out = governance.apply(e, per_area, TODAY)
    assert out["operations"][0].status is Status.FAIL


# --------------------------------------------------------------------------- sign-offs


def signoffs(given: list[dict], required=("engineering", "ops"), max_age_days: int = 14) -> SignOffs:
    return SignOffs.model_validate({"required": list(required), "given": given, "max_age_days": max_age_days})


def test_missing_signoff_fails_critical():
    out = governance.signoff_findings(signoffs([{"role": "engineering", "name": "Sam Eng", "date": days(-2)}]), TODAY)
    by_role = {f.target: f for f in out}
    assert set(by_role) == {"engineering", "ops"}
    ops = by_role["ops"]
    assert (ops.check_id, ops.area, ops.status, ops.severity) == (
        "governance.signoff",
        "governance",
        Status.FAIL,
        Severity.CRITICAL,
    )
    assert ops.observed == "no sign-off recorded"
    assert by_role["engineering"].status is Status.PASS
    assert by_role["engineering"].observed == f"signed by Sam Eng on {days(-2).isoformat()}"


def test_stale_signoff_fails_fresh_passes():
    given = [
        {"role": "engineering", "name": "Sam Eng", "date": days(-15), "note": "old review"},
        {"role": "ops", "name": "Dana Ops", "date": days(-14), "note": "reviewed this audit"},
    ]
    by_role = {f.target: f for f in governance.signoff_findings(signoffs(given), TODAY)}
    assert by_role["engineering"].status is Status.FAIL
    assert by_role["engineering"].observed == (f"signed by Sam Eng on {days(-15).isoformat()}: 15 days ago (limit 14)")
    assert by_role["ops"].status is Status.PASS
    assert by_role["ops"].observed == f"signed by Dana Ops on {days(-14).isoformat()} (reviewed this audit)"


def test_latest_signoff_per_role_wins():
    given = [
        {"role": "ops", "name": "New Person", "date": days(-1)},
        {"role": "ops", "name": "Old Person", "date": days(-40)},
        {"role": "engineering", "name": "Eng Old", "date": days(-3)},
        {"role": "engineering", "name": "Eng Stale", "date": days(-60)},
    ]
    by_role = {f.target: f for f in governance.signoff_findings(signoffs(given), TODAY)}
    assert by_role["ops"].status is Status.PASS and "New Person" in by_role["ops"].observed
    assert by_role["engineering"].status is Status.PASS and "Eng Old" in by_role["engineering"].observed


def test_future_dated_signoff_does_not_count():
    given = [{"role": "ops", "name": "Dana Ops", "date": days(5)}]
    [f] = governance.signoff_findings(signoffs(given, required=["ops"]), TODAY)
    assert f.status is Status.FAIL


def test_signoff_for_unrequired_role_is_ignored():
    given = [{"role": "legal", "name": "Lee Gal", "date": days(-1)}]
    assert governance.signoff_findings(signoffs(given, required=[]), TODAY) == []


def test_signoff_table():
    table = governance.signoff_table(signoffs([{"role": "ops", "name": "Dana Ops", "date": days(-1)}]), TODAY)
    assert table.to_dict("records") == [
        {"role": "engineering", "status": "fail", "who and when": "no sign-off recorded"},
        {"role": "ops", "status": "pass", "who and when": f"signed by Dana Ops on {days(-1).isoformat()}"},
    ]


# --------------------------------------------------------------------------- the gate


def gated_env(given: list[dict]) -> Environment:
    return env(
        waivers=[waiver("headers.server_banner").model_dump()],
        signoffs={"required": ["engineering", "ops"], "given": given, "max_age_days": 14},
    )


def test_gate_waived_fail_no_longer_closes_but_missing_signoff_does():
    per_area = {
        "headers": [finding("headers.server_banner"), finding("headers.hsts", Status.PASS)],
    }
    raw = gate(summary.flatten(per_area))
    assert not raw.go  # before governance, the fail closes the gate

    both = [
        {"role": "engineering", "name": "Sam Eng", "date": days(-1)},
        {"role": "ops", "name": "Dana Ops", "date": days(-1)},
    ]
    signed = governance.apply(gated_env(both), per_area, TODAY)
    result = gate(summary.flatten(signed))
    assert result.go, result.blocking
    assert signed["headers"][0].status is Status.WAIVED

    half = governance.apply(gated_env(both[:1]), per_area, TODAY)
    result = gate(summary.flatten(half))
    assert not result.go
    assert [(f.check_id, f.target, f.status) for f in result.blocking] == [("governance.signoff", "ops", Status.FAIL)]
    assert result.reason == "1 failing check at or above severity 'high'."


def test_gate_closes_again_when_the_waiver_expires():
    per_area = {"headers": [finding("headers.server_banner")]}
    both = [
        {"role": "engineering", "name": "Sam Eng", "date": days(29)},
        {"role": "ops", "name": "Dana Ops", "date": days(29)},
    ]
    out = governance.apply(gated_env(both), per_area, days(31))  # the waiver expired the day before
    result = gate(summary.flatten(out))
    assert [f.check_id for f in result.blocking] == ["headers.server_banner"]
    assert ("governance.waiver.expired", "headers.server_banner") in statuses(out["governance"])


def test_apply_without_governance_params_adds_nothing():
    per_area = {"headers": [finding("headers.csp")]}
    assert governance.apply(env(), per_area, TODAY) == per_area


# --------------------------------------------------------------------------- params


def test_relative_dates_in_params(tmp_path):
    path = write(
        tmp_path,
        "production.yaml",
        """
        waivers:
          - {check_id: headers.csp.*, reason: Nonce middleware ships next sprint., approved_by: Sam Eng,
             expires: today+10d}
        attestations:
          - {id: backups.restore_tested, title: Restore, owner: ops, date: today-30d, evidence: wiki, max_age_days: 92}
          - {id: oncall.rotation, title: On-call, owner: ops, date: today, evidence: pagerduty, max_age_days: 30}
          - {id: runbook.reviewed, title: Runbook, owner: eng, date: 2026-01-05, evidence: wiki, max_age_days: 365}
        signoffs:
          required: [ops]
          given: [{role: ops, name: Dana Ops, date: " today-2d "}]
        """,
    )
    e = load_environment(path, environ={})
    today = date.today()
    assert e.waivers[0].expires == today + dt.timedelta(days=10)
    assert e.waivers[0].check_id == "headers.csp.*"
    assert [a.date for a in e.attestations] == [today - dt.timedelta(days=30), today, date(2026, 1, 5)]
    assert e.signoffs.given[0].date == today - dt.timedelta(days=2)


def params_error(tmp_path: Path, body: str) -> ParamsError:
    path = write(tmp_path, "production.yaml", body)
    with pytest.raises(ParamsError) as info:
        load_environment(path, environ={})
    assert info.value.file == str(path.resolve())
    return info.value


WAIVER = "{check_id: headers.csp, approved_by: Sam Eng, expires: 2027-01-31"


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        (WAIVER + "}", "waivers[1].reason", "Field required"),
        (WAIVER + ", reason: short}", "waivers[1].reason", "at least 10 characters"),
        (
            "{check_id: headers.csp, reason: Accepted for now really, approved_by: Sam Eng, expires: next-tuesday}",
            "waivers[1].expires",
            "valid date",
        ),
        (
            "{check_id: headers.csp, reason: Accepted for now really, approved_by: Sam Eng, expires: today+x}",
            "waivers[1].expires",
            "valid date",
        ),
        (WAIVER + ", reason: Accepted for now really, approved: me}", "waivers[1].approved", "unknown key"),
        (
            "{check_id: Headers.CSP, reason: Accepted for now really, approved_by: Sam Eng, expires: 2027-01-31}",
            "waivers[1].check_id",
            "should match pattern",
        ),
    ],
)
def test_malformed_waiver_is_a_params_error(tmp_path, entry, key, problem):
    valid = "{check_id: tls.protocols, reason: A fine reason here, approved_by: Sam, expires: 2027-01-01}"
    error = params_error(tmp_path, f"waivers:\n  - {valid}\n  - {entry}\n")
    assert error.key == key  # the second entry is the bad one
    assert problem in error.problem
    assert str(error).startswith(f"{error.file}: {error.key}: ")


def test_impossible_calendar_date_is_a_params_error(tmp_path):
    body = "waivers:\n  - {check_id: headers.csp, reason: Accepted for now, approved_by: Sam, expires: 2026-13-01}\n"
    params_error(tmp_path, body)


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        (
            "{id: backups.restore_tested, title: Restore, owner: ops, date: 2026-01-05, max_age_days: 92}",
            "attestations[0]",
            "needs its evidence",
        ),
        (
            "{id: backups.restore_tested, title: R, owner: ops, date: 2026-01-05, evidence: '  ', max_age_days: 92}",
            "attestations[0]",
            "needs its evidence",
        ),
        (
            "{id: backups.restore_tested, title: R, owner: ops, date: today+10d, evidence: wiki, max_age_days: 92}",
            "attestations[0]",
            "date is in the future",
        ),
        (
            "{id: backups.restore_tested, title: Restore, owner: ops, max_age_days: 0}",
            "attestations[0].max_age_days",
            "greater than or equal to 1",
        ),
        ("{id: backups.restore_tested, title: Restore, owner: ops}", "attestations[0].max_age_days", "Field required"),
    ],
)
def test_malformed_attestation_is_a_params_error(tmp_path, entry, key, problem):
    error = params_error(tmp_path, f"attestations:\n  - {entry}\n")
    assert error.key == key
    assert problem in error.problem


def test_malformed_signoff_is_a_params_error(tmp_path):
    error = params_error(tmp_path, "signoffs:\n  required: [ops]\n  given: [{role: ops, name: Dana}]\n")
    assert error.key == "signoffs.given[0].date"
    assert "Field required" in error.problem


def test_params_error_in_base_file_names_that_file(tmp_path):
    base = write(
        tmp_path, "base.yaml", "waivers:\n  - {check_id: headers.csp, approved_by: Sam, expires: 2027-01-01}\n"
    )
    top = write(tmp_path, "production.yaml", "extends: base.yaml\n")
    with pytest.raises(ParamsError) as info:
        load_environment(top, environ={})
    assert info.value.file == str(base.resolve())
    assert info.value.key == "waivers[0].reason"


# --------------------------------------------------------------------------- summary.collect


def test_collect_applies_waivers_and_adds_governance(tmp_path):
    params = write(
        tmp_path,
        "params/production.yaml",
        """
        areas: [headers, operations]
        waivers:
          - {check_id: headers.server_banner, reason: CDN rewrites it; fix in OPS-311., approved_by: Priya Sec,
             expires: today+45d}
          - {check_id: headers.x_powered_by, reason: Upgrade planned for last release., approved_by: Priya Sec,
             expires: today-1d}
        attestations:
          - {id: backups.restore_tested, title: Restore, owner: ops, date: today-100d, evidence: wiki, max_age_days: 92}
        signoffs:
          required: [engineering]
          given: [{role: engineering, name: Sam Eng, date: today-1d}]
        """,
    )
    e = load_environment(params, environ={})
    run_dir = tmp_path / "reports" / "production" / "run-1"
    save_findings(
        [finding("headers.server_banner"), finding("headers.x_powered_by"), finding("headers.hsts", Status.PASS)],
        run_dir,
        "headers",
    )
    save_findings(operations.run(e), run_dir, "operations")
    (run_dir / summary.EXECUTION_FILE).write_text(
        json.dumps({"areas": {"headers": {"ok": True}, "operations": {"ok": True}}})
    )

    per_area = summary.collect(e, run_dir)
    assert list(per_area) == ["headers", "operations", "governance"]
    headers = {f.check_id: f for f in per_area["headers"]}
    assert headers["headers.server_banner"].status is Status.WAIVED
    assert headers["headers.server_banner"].raw_status is Status.FAIL
    assert "approved by Priya Sec" in headers["headers.server_banner"].waiver
    assert headers["headers.x_powered_by"].status is Status.FAIL
    assert headers["headers.hsts"].status is Status.PASS
    assert per_area["operations"][0].status is Status.FAIL
    assert "8 days over the limit of 92" in per_area["operations"][0].observed
    gov = statuses(per_area["governance"])
    assert gov == {
        ("governance.waiver.expired", "headers.x_powered_by"): Status.WARN,
        ("governance.signoff", "engineering"): Status.PASS,
    }
    verdict = summary.verdict(e, per_area)
    assert verdict.result.verdict == "NO-GO"
    assert {f.check_id for f in verdict.result.blocking} == {
        "headers.x_powered_by",
        "operations.backups.restore_tested",
    }
    counts = summary.counts_frame(per_area)
    assert counts.loc["headers", "waived"] == 1 and counts.loc["governance", "warn"] == 1


def test_collect_missing_area_is_error_and_governance_still_applied(tmp_path):
    e = env(
        areas=["headers", "tls"],
        signoffs={"required": ["ops"]},
        waivers=[waiver("headers.*", expires=date.today() + dt.timedelta(days=5)).model_dump()],
    )
    run_dir = tmp_path / "run"
    save_findings([finding("headers.csp")], run_dir, "headers")
    per_area = summary.collect(e, run_dir)
    assert per_area["headers"][0].status is Status.WAIVED
    assert [(f.check_id, f.status) for f in per_area["tls"]] == [("tls.execution", Status.ERROR)]
    assert statuses(per_area["governance"]) == {("governance.signoff", "ops"): Status.FAIL}


# --------------------------------------------------------------------------- operations


def test_operations_without_attestations_is_skipped():
    [f] = operations.run(env(), TODAY)
    assert (f.area, f.check_id, f.status, f.severity) == (
        "operations",
        "operations.attestations",
        Status.SKIP,
        Severity.INFO,
    )
    assert f.observed == "no attestations configured"


def test_operations_one_finding_per_attestation_in_order():
    e = env(
        attestations=[
            attestation(id="a.one", date=days(-1)).model_dump(),
            attestation(id="b.two", date=None, evidence=None, severity="medium").model_dump(),
            attestation(id="c.three", date=days(-200)).model_dump(),
        ]
    )
    out = operations.run(e, TODAY)
    assert [(f.check_id, f.status, f.severity) for f in out] == [
        ("operations.a.one", Status.PASS, Severity.HIGH),
        ("operations.b.two", Status.MANUAL, Severity.MEDIUM),
        ("operations.c.three", Status.FAIL, Severity.HIGH),
    ]


def test_operations_on_the_demo_params():
    """The demo's story; its dates are relative to the real today (``today-85d``), so no fixed day here."""
    demo = load_environment(ROOT / "params/demo.yaml")
    out = {f.check_id: f for f in operations.run(demo)}
    assert {cid: f.status for cid, f in out.items()} == {
        "operations.backups.restore_tested": Status.FAIL,
        "operations.incident.runbook_reviewed": Status.PASS,
        "operations.oncall.rotation": Status.MANUAL,
        "operations.monitoring.alerts_configured": Status.WARN,
        "operations.keys.nextauth_secret.rotated": Status.PASS,
    }
    assert "days over the limit of 92" in out["operations.backups.restore_tested"].observed
    assert "due again in 5 days (limit 90)" in out["operations.monitoring.alerts_configured"].observed
    assert out["operations.monitoring.alerts_configured"].severity is Severity.MEDIUM


def test_demo_governance_story():
    """A valid waiver, an expired one, a typo, a voided rotation claim and a missing ops sign-off."""
    demo = load_environment(ROOT / "params/demo.yaml")
    per_area = {
        "headers": [finding("headers.server_banner"), finding("headers.x_powered_by")],
        "secrets": [finding("secrets.env.shared", target="NEXTAUTH_SECRET")],
        "operations": operations.run(demo),
    }
    out = governance.apply(demo, per_area)
    assert statuses(out["headers"]) == {
        ("headers.server_banner", "https://app.example.com/"): Status.WAIVED,
        ("headers.x_powered_by", "https://app.example.com/"): Status.FAIL,
    }
    rotated = next(f for f in out["operations"] if f.check_id == "operations.keys.nextauth_secret.rotated")
    assert (rotated.status, rotated.raw_status) == (Status.FAIL, Status.PASS)
    assert statuses(out["governance"]) == {
        ("governance.waiver.expired", "headers.x_powered_by"): Status.WARN,
        ("governance.waiver.unmatched", "headers.csp.unsafe_inlin"): Status.WARN,
        ("governance.signoff", "engineering"): Status.PASS,
        ("governance.signoff", "ops"): Status.FAIL,
    }


def test_waiver_with_a_mistyped_target_is_reported():
    from datetime import date as _date

    from harden_lib import governance as gov
    from harden_lib.findings import Finding as _Finding
    from harden_lib.findings import Severity as _Severity
    from harden_lib.findings import Status as _Status

    finding = _Finding(
        area="headers",
        check_id="headers.csp.present",
        title="t",
        status=_Status.FAIL,
        severity=_Severity.HIGH,
        target="https://app.example.com/",
    )
    waiver = gov.Waiver(
        check_id="headers.csp.present",
        target="https://ap.example.com/*",
        reason="typo in the target pattern",
        approved_by="Sec Lead",
        expires=_date(2030, 1, 1),
    )
    out = gov.waiver_findings([waiver], {"headers.csp.present"}, _date(2026, 1, 1), [finding])
    assert [(f.check_id, f.status) for f in out] == [("governance.waiver.unmatched", _Status.WARN)]
    assert "none of its targets matches" in out[0].observed
    assert gov.apply_waivers([finding], [waiver], _date(2026, 1, 1))[0].status is _Status.FAIL


# --------------------------------------------------------------------------- catalog


def test_attestation_family_member_takes_its_title_severity_and_references():
    att = attestation(title="Restore drill done", severity="low", references=["DR plan §4"], date=days(-200))
    f = governance.attestation_finding(att, TODAY)
    assert (f.title, f.severity, f.status) == ("Restore drill done", Severity.LOW, Status.FAIL)
    assert "attestations[].severity" in f.severity_reason
    assert f.references[-1] == "DR plan §4" and any("sre.google" in r for r in f.references)
    same = governance.attestation_finding(attestation(), TODAY)
    assert same.severity is Severity.HIGH and same.severity_reason == ""


@pytest.mark.parametrize("reserved", ["attestations", "execution"])
def test_an_attestation_may_not_take_a_builtin_operations_id(tmp_path, reserved):
    error = params_error(
        tmp_path, f"attestations:\n  - {{id: {reserved}, title: Backups, owner: ops, max_age_days: 30}}\n"
    )
    assert error.key == "attestations[0].id" and f"operations.{reserved}" in error.problem


def test_governance_findings_are_catalog_entries():
    from harden_lib.catalog import catalog

    out = governance.waiver_findings(
        [waiver("nothing.here", expires=days(-1)), waiver("tls.cert.expiry", target="nope:*")],
        {"tls.cert.expiry"},
        TODAY,
        [finding("tls.cert.expiry", target="api.example.com:443")],
    )
    out += governance.signoff_findings(SignOffs(required=["ops"]), TODAY)
    # governance.checklist.* are the checklist's own (harden_lib.checklist.gate_findings, tested there)
    ours = {s.id for s in catalog().for_area("governance") if not s.id.startswith("governance.checklist.")}
    assert {f.check_id for f in out} == ours
    assert all(f.area == "governance" for f in out)
    expired = next(f for f in out if f.check_id == "governance.waiver.expired")
    assert expired.remediation == catalog().lookup("governance.waiver.expired").remediation
    [signoff] = [f for f in out if f.check_id == "governance.signoff"]
    assert signoff.title == "Go-live signed off by ops" and signoff.severity is Severity.CRITICAL


def test_operations_area_interface_and_empty_chart():
    assert operations.AREA.name == "operations" and operations.AREA.order == 120 and operations.AREA.params is None
    empty = governance.plot_attestation_age(env(), TODAY)
    assert [t.get_text() for t in empty.axes[0].texts] == ["no attestations configured"]


# --------------------------------------------------------------------------- per area (issue 14)


def _mixed_run(e: Environment) -> dict[str, list[Finding]]:
    return {
        "headers": [
            finding("headers.server_banner", target="https://a.example/"),
            finding("headers.server_banner", target="https://b.example/x"),
            finding("headers.hsts", Status.PASS),
            finding("headers.csp", Status.WARN),
        ],
        "secrets": [finding("secrets.env.shared", target="SESSION_KEY"), finding("secrets.repo", Status.PASS)],
        "operations": operations.run(e, TODAY),
    }


def _governed_env() -> Environment:
    return env(
        attestations=[
            attestation(id="keys.rotated", title="Rotated", covers=["secrets.env.*"]).model_dump(),
            attestation(id="restore.tested", title="Restore", covers=["datastores.*"]).model_dump(),
        ],
        waivers=[
            waiver("headers.server_banner", target="https://a.example/*").model_dump(),
            waiver("headers.x_powered_by", expires=days(-1)).model_dump(),
        ],
    )


def test_each_area_governed_alone_matches_the_whole_run():
    """What an area page shows (apply_area, with the rest of the run) is what the summary shows (apply)."""
    e = _governed_env()
    per_area = _mixed_run(e)
    whole = governance.apply(e, per_area, TODAY)
    for area, findings in per_area.items():
        others = [f for a, fs in per_area.items() if a != area for f in fs]
        alone = governance.apply_area(e, findings, others, TODAY)
        assert alone == whole[area], area
    assert statuses(whole["headers"])[("headers.server_banner", "https://a.example/")] is Status.WAIVED
    assert statuses(whole["headers"])[("headers.server_banner", "https://b.example/x")] is Status.FAIL
    assert [f.status for f in whole["operations"]] == [Status.FAIL, Status.PASS]  # voided, untouched


def test_governance_applied_twice_changes_nothing():
    """Area notebooks save governed findings; the summary governs them again: same result."""
    e = _governed_env()
    once = governance.apply(e, _mixed_run(e), TODAY)
    areas = {a: fs for a, fs in once.items() if a != governance.GOVERNANCE_AREA}
    twice = governance.apply(e, areas, TODAY)
    assert {a: twice[a] for a in areas} == areas
    assert twice[governance.GOVERNANCE_AREA] == once[governance.GOVERNANCE_AREA]


def test_a_voided_attestation_voids_no_other():
    """Only a check's own failure voids: an attestation covering another attestation is not voided in
    cascade (which would differ between the area page and a second application in the summary)."""
    e = env(
        attestations=[
            attestation(id="keys.rotated", title="Rotated", covers=["secrets.env.*"]).model_dump(),
            attestation(id="audit.done", title="Audit", covers=["operations.keys.rotated"]).model_dump(),
        ]
    )
    per_area = {"secrets": [finding("secrets.env.shared")], "operations": operations.run(e, TODAY)}
    once = governance.apply(e, per_area, TODAY)
    assert [f.status for f in once["operations"]] == [Status.FAIL, Status.PASS]
    twice = governance.apply(e, {a: f for a, f in once.items() if a != "governance"}, TODAY)
    assert twice["operations"] == once["operations"]


def test_run_day_is_the_day_the_run_started():
    start = dt.datetime(2026, 11, 30, 23, 59, 58, tzinfo=dt.UTC)
    assert governance.run_day(Path("/r/demo") / (start.strftime("%Y%m%dT%H%M%SZ") + "-ab12")) == (
        start.astimezone().date()
    )
    assert governance.run_day(Path("/r/demo/20261130T235958Z")) == start.astimezone().date()
    assert governance.run_day(Path("/r/demo/my-own-folder")) == date.today()
    assert governance.run_day(None) == date.today() and governance.run_day("") == date.today()


def test_notebook_govern_reads_the_other_areas_of_the_run_and_updates_in_place(tmp_path):
    """An area notebook (notebook.govern) sees the other areas' saved findings in the run folder."""
    from harden_lib.notebook import govern

    e = _governed_env()
    per_area = _mixed_run(e)
    run_dir = tmp_path / f"{TODAY:%Y%m%d}T120000Z-0001"  # judged on the run's day: the waivers are in force
    save_findings(per_area["secrets"], run_dir, "secrets")
    (run_dir / "findings" / "broken.json").write_text("{not json")  # another area's damaged file is skipped
    mine = list(per_area["operations"])
    governed = govern(mine, e, "operations", run_dir)
    assert governed is mine, "updated in place, so report.findings shows the same statuses"
    assert [f.status for f in mine] == [Status.FAIL, Status.PASS]
    alone = govern(list(per_area["operations"]), e, "operations", None)  # no run folder: nothing to void it
    assert [f.status for f in alone] == [Status.PASS, Status.PASS]
    headers = govern(list(per_area["headers"]), e, "headers", run_dir)
    assert [f.status for f in headers][:2] == [Status.WAIVED, Status.FAIL]


def test_attestation_table_and_chart_show_the_governed_status():
    e = _governed_env()
    whole = governance.apply(e, _mixed_run(e), TODAY)
    table = governance.attestation_table(e, TODAY, findings=whole["operations"])
    assert table["status"].astype(str).tolist() == ["fail", "pass"]
    assert governance.attestation_table(e, TODAY)["status"].astype(str).tolist() == ["pass", "pass"]
    assert table.status.cat.ordered and list(table[table.status >= "warn"]["id"]) == ["keys.rotated"]
    governance.plot_attestation_age(e, TODAY, findings=whole["operations"])
    signoffs = governance.signoff_table(SignOffs(required=["ops"]), TODAY)
    assert signoffs.status.cat.ordered and (signoffs.status >= "fail").all()


def test_area_verdict_cell_lists_every_blocker_escaped():
    from harden_lib.notebook import area_verdict_html

    e = env()
    many = [finding("headers.csp", target=f"https://x.example/<b>{i}</b>") for i in range(23)]
    many.append(finding("headers.hsts", Status.PASS))
    html = area_verdict_html(many, e, "Security <headers>")
    assert "NO-GO" in html and "Security &lt;headers&gt;" in html
    assert html.count("<tr>") == 1 + 23, "header row + every blocker"
    assert "<details class='harden-long'" in html and "23 blockers in this area" in html  # opened for print
    assert "<b>0</b>" not in html and "&lt;b&gt;0&lt;/b&gt;" in html
    assert "23 fail, 1 pass" in html
    few = area_verdict_html([finding("headers.csp"), finding("headers.hsts", Status.PASS)], e, "H")
    assert "<details" not in few and "1 blocker in this area" in few
    clean = area_verdict_html([finding("headers.hsts", Status.PASS)], e, "H")
    assert "GO · H" in clean and "<table" not in clean


def test_area_verdict_shows_catalog_code_spans_as_code_and_escapes_the_rest():
    from harden_lib.notebook import area_verdict_html

    blocker = finding("headers.csp").model_copy(
        update={"remediation": "Set `Secure; HttpOnly` on <cookie> `a<b>`", "target": "https://x.example/?q=`<i>`"}
    )
    html = area_verdict_html([blocker], env(), "Headers")
    assert "Set <code>Secure; HttpOnly</code> on &lt;cookie&gt; <code>a&lt;b&gt;</code>" in html
    assert "<i>" not in html and "https://x.example/?q=`&lt;i&gt;`" in html  # targets are shown as text only
