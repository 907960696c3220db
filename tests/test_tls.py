"""The tls area against real local TLS servers (certificates generated at test time).

Each server is scanned once per module (sslyze takes ~1 s per host) and the tests assert on
the specific finding ids and statuses. Cases no modern OpenSSL server can produce (SSLv2,
NULL or EXPORT suites, SHA-1 signatures) are tested on ``HostScan`` data through ``analyse``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from harden_lib.catalog import catalog
from harden_lib.checks import tls
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.tls_servers import tls10_handshake_possible, tls_server


def env_for(base_url: str | None, ca: Path | None = None, **tls_params: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "tls-test",
            "base_url": base_url,
            "areas": ["tls"],
            "http": {"ca_bundle": str(ca) if ca else None},
            "tls": {"timeout": 2, **tls_params},
        }
    )


def by_id(findings: list[Finding], target: str | None = None) -> dict[str, Finding]:
    out = {}
    for f in findings:
        if target is None or f.target == target:
            assert f.check_id not in out, f"two {f.check_id} findings for one target"
            out[f.check_id] = f
    return out


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {k: f.status.value for k, f in by_id(findings).items()}


@pytest.fixture(scope="module")
def modern(tmp_path_factory):
    with tls_server("modern", tmp_path_factory.mktemp("modern")) as served:
        yield served, tls.audit(env_for(served.base_url, served.ca_path, mozilla_profile="modern"))


@pytest.fixture(scope="module")
def cbc(tmp_path_factory):
    with tls_server("tls12_cbc", tmp_path_factory.mktemp("cbc")) as served:
        yield served, tls.audit(env_for(served.base_url, served.ca_path))


def test_modern_only_server_passes_everything(modern) -> None:
    _, report = modern
    got = statuses(report.findings)
    assert got == {cid: "pass" for cid in got}, {k: v for k, v in got.items() if v != "pass"}
    error_or_skip_only = {"tls.scan", "tls.cipher.suites", "tls.execution"}
    assert set(got) == {s.id for s in catalog().for_area("tls")} - error_or_skip_only - {"tls.mozilla.intermediate"}
    assert "TLS 1.3 only" in by_id(report.findings)["tls.protocol.tls1_2"].observed
    trusted = by_id(report.findings)["tls.cert.trusted"].observed
    assert "OpenSSL path validation succeeds against http.ca_bundle" in trusted
    assert by_id(report.findings)["tls.cert.profile"].observed == "no deviation"  # a complete chain
    assert by_id(report.findings)["tls.cert.key"].observed.startswith("EC 256")


def test_modern_only_server_has_no_mozilla_deviation(modern) -> None:
    _, report = modern
    assert report.deviations().empty
    table = report.host_table(next(iter(report.scans)))
    assert set(table.loc[table["state"] == "accepted", "protocol"]) == {"TLS 1.3"}
    overview = report.overview()
    assert overview.loc[0, "protocols"] == "TLS 1.3" and 59 <= overview.loc[0, "days left"] <= 61


def test_tls12_with_cbc_and_static_rsa_warns(cbc) -> None:
    _, report = cbc
    got = statuses(report.findings)
    assert got["tls.protocol.tls1_2"] == "pass"
    assert got["tls.protocol.tls1_3"] == "warn"
    assert got["tls.cipher.cbc"] == "warn"
    assert got["tls.cipher.forward_secrecy"] == "warn"
    assert got["tls.cipher.rc4"] == got["tls.cipher.3des"] == got["tls.cipher.null"] == "pass"
    assert got["tls.cert.key"] == "pass" and by_id(report.findings)["tls.cert.key"].observed == "RSA 2048 bits"
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in by_id(report.findings)["tls.cipher.forward_secrecy"].observed
    cbc_observed = by_id(report.findings)["tls.cipher.cbc"].observed
    assert cbc_observed.startswith("2 accepted:") and "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" in cbc_observed
    mozilla = by_id(report.findings)["tls.mozilla.intermediate"]
    assert mozilla.status is Status.FAIL and "ciphers:" in mozilla.observed
    assert "ciphers" in set(report.deviations()["deviation"])


def test_tls10_enabled_fails() -> None:
    reason = tls10_handshake_possible()
    if reason:
        pytest.skip(reason)
    with tls_server("tls10") as served:
        got = statuses(tls.run(env_for(served.base_url, served.ca_path)))
    assert got["tls.protocol.tls1_0"] == "fail"
    assert got["tls.protocol.tls1_1"] == "fail"
    assert got["tls.protocol.ssl3"] == got["tls.protocol.ssl2"] == "pass"
    assert got["tls.mozilla.intermediate"] == "fail"


def test_expired_certificate_fails_expiry_but_not_trust() -> None:
    with tls_server("expired") as served:
        found = by_id(tls.run(env_for(served.base_url, served.ca_path)))
    assert found["tls.cert.expiry"].status is Status.FAIL
    assert "expired 2 day(s) ago" in found["tls.cert.expiry"].observed
    assert found["tls.cert.trusted"].status is Status.PASS  # the chain is fine; the dates are the problem
    assert found["tls.cert.hostname"].status is Status.PASS


def test_wrong_host_name_fails_hostname_only() -> None:
    with tls_server("wrong_host") as served:
        found = by_id(tls.run(env_for(served.base_url, served.ca_path)))
    assert found["tls.cert.hostname"].status is Status.FAIL
    assert "www.example.com" in found["tls.cert.hostname"].observed
    assert found["tls.cert.trusted"].status is Status.PASS
    assert found["tls.cert.expiry"].status is Status.PASS
    # the profile finding judges the TLS configuration; trust and name are reported once, above
    assert "certificate_path_validation" not in found["tls.mozilla.intermediate"].observed


def test_self_signed_is_untrusted_unless_the_bundle_holds_it() -> None:
    with tls_server("self_signed") as served:
        without = by_id(tls.run(env_for(served.base_url)))
        with_bundle = by_id(tls.run(env_for(served.base_url, served.ca_path)))
    assert without["tls.cert.trusted"].status is Status.FAIL
    assert "self-signed" in without["tls.cert.trusted"].observed
    assert with_bundle["tls.cert.trusted"].status is Status.PASS
    assert without["tls.cert.hostname"].status is with_bundle["tls.cert.hostname"].status is Status.PASS


def test_private_ca_without_the_bundle_is_untrusted(cbc) -> None:
    served, _ = cbc
    found = by_id(tls.run(env_for(served.base_url)))
    assert found["tls.cert.trusted"].status is Status.FAIL
    assert "OpenSSL path validation fails against the system store" in found["tls.cert.trusted"].observed
    assert "unable to get local issuer certificate" in found["tls.cert.trusted"].observed


def test_expiry_thresholds_are_configurable(cbc) -> None:
    _, report = cbc
    scan = next(iter(report.scans.values()))
    expires = scan.certificate.not_after
    params = tls.TlsParams(warn_days=30, fail_days=7)
    for days_before, expected in ((60, "pass"), (20, "warn"), (3, "fail"), (-1, "fail")):
        got = by_id(tls.analyse(scan, params, now=expires - timedelta(days=days_before)))["tls.cert.expiry"]
        assert got.status.value == expected, days_before
    stricter = tls.TlsParams(warn_days=100, fail_days=70)
    got = by_id(tls.analyse(scan, stricter, now=expires - timedelta(days=80)))["tls.cert.expiry"]
    assert got.status is Status.WARN


def test_several_hosts_are_scanned_concurrently(tmp_path) -> None:
    with tls_server("modern", tmp_path / "a") as a, tls_server("expired", tmp_path / "b") as b:
        env = env_for(a.base_url, a.ca_path, targets=[b.base_url.removeprefix("https://")])
        report = tls.audit(env)
    assert len(report.scans) == 2 and not any(s.error for s in report.scans.values())
    slowest = max(s.seconds for s in report.scans.values())
    # each host takes about as long as the slowest, not the sum: they ran side by side
    assert slowest < 1.7 * min(s.seconds for s in report.scans.values()) + 0.5
    frame = report.overview()
    assert list(frame["target"]) == list(report.scans)
    fig = report.plot_expiry()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1].endswith(b.base_url.rsplit(":", 1)[1])  # the expired one is on top (soonest)


def test_no_targets_is_a_skip() -> None:
    findings = tls.run(env_for(None))
    assert [(f.check_id, f.status) for f in findings] == [("tls.scan", Status.SKIP)]


# --------------------------------------------------------------------------- pure parts


def _synthetic(**overrides: object) -> tls.HostScan:
    now = datetime.now(UTC)
    cert = tls.CertFacts(
        subject="CN=<script>alert(1)</script>",
        issuer="CN=old CA",
        names=("example.com",),
        not_before=now - timedelta(days=10),
        not_after=now + timedelta(days=100),
        key_type="rsa",
        key_bits=1024,
        key_detail="",
        signature="sha1WithRSAEncryption",
        signature_hash="sha1",
        chain_hashes=(),
        self_signed=False,
        trusted=True,
        trust_detail="validates against: Mozilla",
        hostname_ok=True,
    )
    scan = tls.HostScan(
        target="legacy.example:443",
        host="legacy.example",
        port=443,
        server_name="legacy.example",
        protocols={"ssl2": True, "ssl3": True, "tls1_0": True, "tls1_1": False, "tls1_2": True, "tls1_3": False},
        ciphers=[
            tls.CipherRow("ssl3", "TLS_RSA_WITH_NULL_SHA", ""),
            tls.CipherRow("tls1_0", "TLS_RSA_EXPORT_WITH_RC4_40_MD5", ""),
            tls.CipherRow("tls1_0", "TLS_RSA_WITH_RC4_128_SHA", ""),
            tls.CipherRow("tls1_2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", ""),
            tls.CipherRow("tls1_2", "TLS_DH_anon_WITH_AES_128_CBC_SHA", ""),
            tls.CipherRow("tls1_2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ""),
        ],
        certificate=cert,
        mozilla=[("tls_versions", "TLS versions {'SSLv2'} are supported")],
    )
    for key, value in overrides.items():
        setattr(scan, key, value)
    return scan


def test_legacy_server_data_fails_every_weakness() -> None:
    got = statuses(tls.analyse(_synthetic(), tls.TlsParams()))
    for cid in ("ssl2", "ssl3", "tls1_0"):
        assert got[f"tls.protocol.{cid}"] == "fail", cid
    assert got["tls.protocol.tls1_1"] == "pass" and got["tls.protocol.tls1_3"] == "warn"
    for cid in ("null", "export", "rc4", "3des", "anon"):
        assert got[f"tls.cipher.{cid}"] == "fail", cid
    assert got["tls.cipher.cbc"] == "warn" and got["tls.cipher.forward_secrecy"] == "warn"
    assert got["tls.cert.key"] == "fail" and got["tls.cert.signature"] == "fail"
    assert got["tls.mozilla.intermediate"] == "fail"


def test_failed_probes_are_errors_never_passes() -> None:
    scan = _synthetic(
        protocols={"ssl2": None, "ssl3": False, "tls1_0": False, "tls1_1": False, "tls1_2": True, "tls1_3": None},
        ciphers=[],
        certificate=None,
        certificate_error="the certificate could not be retrieved: timeout",
        mozilla=None,
        mozilla_error="the profile check could not run",
    )
    got = statuses(tls.analyse(scan, tls.TlsParams()))
    assert got["tls.protocol.ssl2"] == got["tls.protocol.tls1_3"] == "error"
    for cid in ("trusted", "hostname", "expiry", "key", "signature"):
        assert got[f"tls.cert.{cid}"] == "error"
    assert got["tls.mozilla.intermediate"] == "error"


def test_hostile_certificate_text_is_escaped() -> None:
    assert "<" not in tls.safe_text("CN=<script>\u202e\x1b[31m") and "\\x3c" in tls.safe_text("<")
    assert len(tls.safe_text("x" * 10_000)) <= tls.MAX_TEXT


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("TLS_AES_128_GCM_SHA256", []),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", []),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", ["cbc"]),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", ["no_fs"]),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", ["3des", "cbc", "no_fs"]),
        ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", ["anon", "cbc", "no_fs"]),
        ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", ["export", "3des", "cbc", "no_fs"]),
        ("TLS_ECDHE_RSA_WITH_NULL_SHA", ["null"]),
        ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", ["rc4"]),
    ],
)
def test_cipher_classification(name: str, classes: list[str]) -> None:
    assert tls.classify_cipher(name) == classes


@pytest.mark.parametrize(
    ("names", "host", "ok"),
    [
        (["example.com"], "example.com", True),
        (["example.com"], "EXAMPLE.com.", True),
        (["*.example.com"], "www.example.com", True),
        (["*.example.com"], "a.b.example.com", False),
        (["*.example.com"], "example.com", False),
        (["*.com"], "example.com", False),
        (["127.0.0.1"], "127.0.0.1", True),
        (["::1"], "::1", True),
        (["localhost"], "127.0.0.1", False),
        ([], "example.com", False),
    ],
)
def test_hostname_matching(names: list[str], host: str, ok: bool) -> None:
    assert tls.hostname_matches(names, host) is ok


def test_params_shape_and_errors() -> None:
    params = tls.TlsParams.model_validate(
        {"targets": ["db.example.com:5432", {"address": "[::1]:8443", "starttls": "smtp"}, "api.example.com"]}
    )
    assert [t.label for t in params.targets] == ["db.example.com:5432", "[::1]:8443 (smtp)", "api.example.com:443"]
    for bad in (
        {"fail_days": 30, "warn_days": 30},
        {"targets": ["host:99999"]},
        {"targets": ["a b:1"]},
        {"mozilla_profile": "old"},
        {"targets": [{"address": "x:1", "starttls": "telnet"}]},
    ):
        with pytest.raises(ValidationError):
            tls.TlsParams.model_validate(bad)


def test_targets_deduplicate_base_url() -> None:
    env = env_for("https://app.example.com", targets=["app.example.com:443", "app.example.com:5432"])
    assert [s.label for s in tls.targets(env)] == ["app.example.com:443", "app.example.com:5432"]
    assert tls.targets(env_for("http://app.example.com")) == []


# --------------------------------------------------------------------------- catalog and area interface


def _emitted(*scans: tls.HostScan, params: tls.TlsParams | None = None) -> set[tuple[str, str]]:
    return {(f.check_id, f.status.value) for s in scans for f in tls.analyse(s, params or tls.TlsParams())}


def test_every_emitted_id_is_in_the_catalog_and_every_catalog_id_is_emitted() -> None:
    """Pure cases that differ from the live servers: every id the area emits resolves through the catalog,
    and every tls catalog entry (but the summary's tls.execution) is emitted, passing and failing."""
    legacy = _synthetic().certificate
    clean_cert = tls.CertFacts(
        **{
            **vars(legacy),
            "subject": "CN=api.internal",
            "names": ("api.internal", "10.0.0.7"),
            "not_after": datetime.now(UTC) + timedelta(days=400),
            "key_type": "ed25519",
            "key_bits": 256,
            "signature": "ed25519",
            "signature_hash": "",
            "chain_hashes": ("sha384",),
            "profile": (),
        }
    )
    healthy = _synthetic(
        target="api.internal:8443",
        protocols={"ssl2": False, "ssl3": False, "tls1_0": False, "tls1_1": False, "tls1_2": True, "tls1_3": True},
        ciphers=[tls.CipherRow("tls1_3", "TLS_CHACHA20_POLY1305_SHA256", "ECDH X448 448 bits")],
        certificate=clean_cert,
        mozilla_profile="modern",
        mozilla=[],
    )
    unreadable = _synthetic(
        target="[::1]:5432 (postgres)",
        starttls="postgres",
        protocols=dict.fromkeys(tls.PROTOCOL_NAMES),
        certificate=None,
        certificate_error="the certificate could not be retrieved: connection reset",
        mozilla=None,
        mozilla_error="the profile check could not run: a scan result is missing",
    )
    down = tls.HostScan(target="mail.internal:465", host="mail.internal", port=465, server_name="mail.internal")
    down.error = "the connection was refused: nothing listens on port 465"
    untrusted_cert = tls.CertFacts(
        **{
            **vars(clean_cert),
            "names": ("other.internal",),
            "not_after": datetime.now(UTC) + timedelta(days=5),
            "self_signed": True,
            "trusted": False,
            "trust_detail": "a self-signed certificate; OpenSSL path validation fails against the system store",
            "hostname_ok": False,
            "profile": ("leaf: no keyUsage", "leaf: no authorityKeyIdentifier"),
        }
    )
    broken = _synthetic(
        target="legacy2.example:8443",
        protocols={"ssl2": False, "ssl3": False, "tls1_0": False, "tls1_1": True, "tls1_2": False, "tls1_3": False},
        ciphers=[tls.CipherRow("tls1_1", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "")],
        certificate=untrusted_cert,
        mozilla=[],
    )
    emitted = _emitted(_synthetic(), _synthetic(mozilla_profile="modern"), healthy, unreadable, down, broken)
    emitted |= {(f.check_id, f.status.value) for f in tls.run(env_for(None))}
    known = {s.id for s in catalog().for_area("tls")}
    assert {cid for cid, _ in emitted} <= known, {cid for cid, _ in emitted} - known
    assert known - {cid for cid, _ in emitted} == {"tls.execution"}, "tls.execution is the summary's, not the area's"
    passed = {cid for cid, st in emitted if st == "pass"}
    failed = {cid for cid, st in emitted if st in ("fail", "warn")}
    assert known - (passed & failed) == {"tls.scan", "tls.cipher.suites", "tls.execution"}  # error/skip-only ids


def test_findings_take_their_wording_from_the_catalog() -> None:
    found = by_id(tls.analyse(_synthetic(), tls.TlsParams()))
    for cid, f in found.items():
        spec = catalog().lookup(cid)
        assert f.area == "tls" and f.title == spec.title, cid
        assert f.references == spec.reference_texts(), cid
    ssl2 = found["tls.protocol.ssl2"]
    assert ssl2.status is Status.FAIL and ssl2.severity.value == "critical"
    assert "ssl_protocols TLSv1.2 TLSv1.3" in ssl2.remediation
    assert any("rfc6176" in r for r in ssl2.references)
    assert found["tls.protocol.tls1_1"].remediation == "", "a pass has nothing to fix"
    # params-dependent "what passes" stays specific to the environment
    strict = tls.TlsParams(warn_days=45, fail_days=14, min_rsa_bits=3072)
    again = by_id(tls.analyse(_synthetic(), strict))
    assert again["tls.cert.expiry"].expected == "at least 45 days left (fail below 14)"
    assert again["tls.cert.key"].expected.startswith("RSA ≥ 3072 bits")


def test_an_unreadable_certificate_is_rated_high_with_a_reason() -> None:
    scan = _synthetic(certificate=None, certificate_error="the certificate could not be retrieved: timed out")
    found = by_id(tls.analyse(scan, tls.TlsParams(min_ec_bits=384)))
    assert found["tls.cert.trusted"].severity.value == "high", "catalog default critical, lowered with a reason"
    assert "no certificate could be read" in found["tls.cert.trusted"].severity_reason
    assert found["tls.cert.expiry"].severity_reason == "", "high is the expiry check's own default"
    assert found["tls.cert.profile"].severity.value == "low"
    assert found["tls.cert.key"].expected.endswith("EC ≥ 384 bits")
    assert {f.status for cid, f in found.items() if cid.startswith("tls.cert.")} == {Status.ERROR}


def test_the_area_declares_itself_and_is_discovered() -> None:
    from harden_lib.areas import registry

    area = registry()["tls"]
    assert area.params is tls.TlsParams and area.module == "harden_lib.checks.tls"
    assert area.runner() is tls.run and area.order == 30


def test_expiry_chart_says_why_it_is_empty() -> None:
    unreachable = tls.HostScan(target="gone.example:443", host="gone.example", port=443, server_name="gone.example")
    unreachable.error = "the host name gone.example could not be resolved (DNS)"
    fig = tls.plot_expiry([unreachable], tls.TlsParams())
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["no certificate could be read"]


def test_every_part_of_the_package_is_importable_by_its_dotted_name() -> None:
    """No re-exported function shadows a submodule (``import harden_lib.checks.tls.<part>`` gives the module)."""
    import importlib
    import types

    for part in ("params", "model", "probe", "scanner", "certificate", "trust", "analysis", "evidence", "words"):
        module = importlib.import_module(f"harden_lib.checks.tls.{part}")
        assert isinstance(getattr(tls, part), types.ModuleType) and getattr(tls, part) is module, part
