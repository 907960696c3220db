"""Chain trust on private CAs: OpenSSL's verdict, not the strict web-PKI verifier's (issue 10, item 1).

The certificates are made the way private CAs really are: with the ``openssl`` command line (a
root from a plain ``openssl req -x509``, which has no keyUsage; a leaf from ``openssl x509 -req``
without authorityKeyIdentifier) and with ``cryptography`` leaving extensions out; served by
Python's ``ssl`` and by Debian's real nginx. OpenSSL, curl and testssl.sh accept these chains, so
``tls.cert.trusted`` must pass, the Mozilla profile finding must not fail for trust, and the web-PKI
profile deviations must show up as ``tls.cert.profile`` (low, warn) naming what is missing.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from harden_lib.checks import tls
from harden_lib.checks.tls.trust import (
    TrustStore,
    profile_deviations,
    strict_verifier_reason,
    verify_received_chain,
)
from harden_lib.demo.certs import generate_chain
from harden_lib.findings import Severity, Status
from tests.datastore_servers import in_ci
from tests.servers import Reply, serve
from tests.test_tls import by_id, env_for, statuses
from tests.tls_servers import nginx_binary, openssl_binary, openssl_private_ca, tls_server


def need(binary: str | None, what: str) -> None:
    """Skip locally when a binary is missing; fail in CI, where a skip would test nothing."""
    if binary is None:
        message = f"{what} is not installed (apt-get install -y {what})"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def has(cert: x509.Certificate, kind: type) -> bool:
    try:
        cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return False
    return True


@pytest.fixture(scope="module")
def openssl_modern(tmp_path_factory):
    """The openssl-CLI private CA behind a Python ``ssl`` server that follows Mozilla 'modern' exactly."""
    need(openssl_binary(), "openssl")
    with tls_server("openssl_ca", tmp_path_factory.mktemp("openssl-ca")) as served:
        yield served, tls.audit(env_for(served.base_url, served.ca_path, mozilla_profile="modern"))


def test_the_openssl_cli_chain_really_lacks_key_usage_and_aki(openssl_modern) -> None:
    served, _ = openssl_modern
    root, leaf = load(served.ca_path), load(served.certs.cert_path)
    assert root.subject == root.issuer and not has(root, x509.KeyUsage)  # a plain `openssl req -x509`
    assert has(root, x509.BasicConstraints)
    assert not has(leaf, x509.AuthorityKeyIdentifier) and has(leaf, x509.SubjectAlternativeName)


def test_openssl_cli_private_ca_is_trusted_and_passes_the_modern_profile(openssl_modern) -> None:
    _, report = openssl_modern
    found = by_id(report.findings)
    assert found["tls.cert.trusted"].status is Status.PASS, found["tls.cert.trusted"].observed
    assert "OpenSSL path validation succeeds against http.ca_bundle" in found["tls.cert.trusted"].observed
    assert found["tls.mozilla.modern"].status is Status.PASS, found["tls.mozilla.modern"].observed
    assert report.deviations().empty
    profile = found["tls.cert.profile"]
    assert (profile.status, profile.severity) == (Status.WARN, Severity.LOW)
    assert "leaf: no authorityKeyIdentifier" in profile.observed
    assert "CA Example Internal Root: no keyUsage (keyCertSign)" in profile.observed
    assert "strict web-PKI verifier" in profile.observed and "authorityKeyIdentifier" in profile.observed
    others = {k: v for k, v in statuses(report.findings).items() if k != "tls.cert.profile"}
    assert others == {k: "pass" for k in others}, others


def test_nginx_with_an_openssl_cli_private_ca_passes_everything_but_the_profile(tmp_path) -> None:
    need(openssl_binary(), "openssl")
    need(nginx_binary(), "nginx")
    with tls_server("nginx_openssl_ca", tmp_path) as served:
        report = tls.audit(env_for(served.base_url, served.ca_path))
    got = statuses(report.findings)
    assert got.pop("tls.cert.profile") == "warn"
    assert got == {k: "pass" for k in got}, {k: v for k, v in got.items() if v != "pass"}
    assert by_id(report.findings)["tls.cert.key"].observed == "RSA 2048 bits"
    assert "CA Example Nginx Root: no keyUsage" in by_id(report.findings)["tls.cert.profile"].observed


def test_a_cert_from_an_unknown_ca_still_fails_trust(tmp_path) -> None:
    need(openssl_binary(), "openssl")
    other = openssl_private_ca(tmp_path / "other", root_name="Other Root")  # a bundle with another private CA
    with tls_server("openssl_ca", tmp_path / "served") as served:
        wrong_bundle = by_id(tls.run(env_for(served.base_url, other.ca_path, mozilla_profile="modern")))
        no_bundle = by_id(tls.run(env_for(served.base_url, mozilla_profile="modern")))
    for found in (wrong_bundle, no_bundle):
        assert found["tls.cert.trusted"].status is Status.FAIL
        assert "unable to get local issuer certificate" in found["tls.cert.trusted"].observed
        assert found["tls.mozilla.modern"].status is Status.PASS  # trust is not a configuration deviation
        assert found["tls.cert.profile"].status is Status.WARN
    assert "http.ca_bundle (ca.pem) and the system store" in wrong_bundle["tls.cert.trusted"].observed


def test_expired_leaf_from_a_trusted_private_ca_is_trusted_and_expired(tmp_path) -> None:
    with tls_server("expired_no_aki", tmp_path) as served:
        found = by_id(tls.run(env_for(served.base_url, served.ca_path)))
    assert found["tls.cert.trusted"].status is Status.PASS
    assert "validity dates left aside" in found["tls.cert.trusted"].observed
    assert (
        found["tls.cert.expiry"].status is Status.FAIL and "expired 3 day(s) ago" in found["tls.cert.expiry"].observed
    )
    assert found["tls.cert.hostname"].status is Status.PASS
    profile = found["tls.cert.profile"].observed
    assert "leaf: no authorityKeyIdentifier" in profile and "leaf: no extendedKeyUsage (serverAuth)" in profile


def test_wrong_host_from_a_trusted_private_ca_is_trusted_and_fails_the_name(tmp_path) -> None:
    need(openssl_binary(), "openssl")
    with tls_server("openssl_wrong_host", tmp_path) as served:
        found = by_id(tls.run(env_for(served.base_url, served.ca_path)))
    assert found["tls.cert.trusted"].status is Status.PASS
    assert found["tls.cert.hostname"].status is Status.FAIL
    assert "db.internal.example" in found["tls.cert.hostname"].observed
    assert found["tls.cert.expiry"].status is Status.PASS
    assert "certificate_path_validation" not in found["tls.mozilla.intermediate"].observed


def test_an_expired_ca_fails_the_expiry_check_even_with_a_valid_leaf(tmp_path) -> None:
    bundle = generate_chain(tmp_path, ca_not_after=datetime.now(UTC) - timedelta(days=2), ca_common_name="Old Root")
    with serve({"*": Reply(200, [], "ok")}, certs=bundle) as served:
        found = by_id(tls.run(env_for(served.base_url, bundle.ca_path)))
    assert found["tls.cert.trusted"].status is Status.PASS  # the chain leads to the CA …
    expiry = found["tls.cert.expiry"]
    assert expiry.status is Status.FAIL  # … but every client refuses it: the dates say why
    assert "the CA certificate Old Root expired on" in expiry.observed and "day(s) left" in expiry.observed


def test_trust_is_judged_when_the_server_demands_a_client_certificate(tmp_path) -> None:
    """TLS 1.2 with a required client certificate: no client handshake completes; the received chain is verified."""
    bundle = generate_chain(tmp_path, ca_key_usage=False, leaf_key_identifiers=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bundle.cert_path, bundle.key_path)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(bundle.ca_path)
    with serve({"*": Reply(200, [], "ok")}, certs=bundle, context=context) as served:
        found = by_id(tls.run(env_for(served.base_url, bundle.ca_path)))
        untrusted = by_id(tls.run(env_for(served.base_url)))
    assert found["tls.cert.trusted"].status is Status.PASS
    assert "verified offline on the chain the server sent" in found["tls.cert.trusted"].observed
    assert untrusted["tls.cert.trusted"].status is Status.FAIL
    assert "CA harden test root CA: no keyUsage (keyCertSign)" in found["tls.cert.profile"].observed


# --------------------------------------------------------------------------- without a network


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({}, []),
        ({"ca_key_usage": False}, ["CA Root X: no keyUsage (keyCertSign)"]),
        ({"ca_key_identifier": False}, ["CA Root X: no subjectKeyIdentifier"]),
        ({"leaf_key_usage": False}, ["leaf: no keyUsage"]),
        ({"leaf_extended_key_usage": False}, ["leaf: no extendedKeyUsage (serverAuth)"]),
        ({"leaf_key_identifiers": False}, ["leaf: no authorityKeyIdentifier"]),
        (
            {"ca_key_usage": False, "leaf_key_identifiers": False, "leaf_key_usage": False},
            ["leaf: no authorityKeyIdentifier", "leaf: no keyUsage", "CA Root X: no keyUsage (keyCertSign)"],
        ),
    ],
)
def test_profile_deviations_name_what_is_missing(tmp_path, switches: dict, expected: list[str]) -> None:
    bundle = generate_chain(tmp_path, ca_common_name="Root X", **switches)
    leaf, root = load(bundle.cert_path), load(bundle.ca_path)
    assert profile_deviations([leaf], [leaf, root]) == expected
    assert profile_deviations([leaf, root]) == expected  # CA taken from what the server sent


def test_the_strict_verifier_objects_where_openssl_does_not(tmp_path) -> None:
    complete = generate_chain(tmp_path / "a")
    assert strict_verifier_reason([load(complete.cert_path), load(complete.ca_path)]) is None
    bare = generate_chain(tmp_path / "b", ca_key_usage=False)
    reason = strict_verifier_reason([load(bare.cert_path), load(bare.ca_path)])
    assert reason and "keyUsage (2.5.29.15)" in reason


def test_an_openssl_v1_leaf_is_trusted_offline_and_reported_as_v1(tmp_path) -> None:
    need(openssl_binary(), "openssl")
    bundle = openssl_private_ca(tmp_path, leaf_extensions=False)  # no -extfile: OpenSSL writes a v1 leaf
    leaf, root = load(bundle.cert_path), load(bundle.ca_path)
    assert leaf.version is x509.Version.v1
    assert profile_deviations([leaf], [leaf, root])[0] == "leaf: an X.509 v1 certificate (no extensions at all)"
    now = datetime.now(UTC)
    ours = TrustStore("ours", cafile=bundle.ca_path)
    result = verify_received_chain([leaf], [ours], now)
    assert result.trusted is True and [c.subject for c in result.verified_chain] == [leaf.subject, root.subject]
    impostor = openssl_private_ca(tmp_path / "other")  # another CA under the very same name
    refused = verify_received_chain([leaf], [TrustStore("other", cafile=impostor.ca_path)], now)
    assert refused.trusted is False and "certificate signature failure" in refused.detail


def test_offline_verification_does_not_guess_past_a_date_error(tmp_path) -> None:
    now = datetime.now(UTC)
    bundle = generate_chain(tmp_path, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    result = verify_received_chain([load(bundle.cert_path)], [TrustStore("ours", cafile=bundle.ca_path)], now)
    assert result.trusted is None and "certificate has expired" in result.detail


def test_a_missing_ca_bundle_is_an_error_not_a_verdict(tmp_path) -> None:
    bundle = generate_chain(tmp_path, leaf_key_identifiers=False)
    with serve({"*": Reply(200, [], "ok")}, certs=bundle) as served:
        found = by_id(tls.run(env_for(served.base_url, tmp_path / "no-such-ca.pem")))
    trusted = found["tls.cert.trusted"]
    assert trusted.status is Status.ERROR and "(http.ca_bundle) does not exist" in trusted.observed
    assert found["tls.cert.hostname"].status is Status.PASS  # the rest of the scan is unaffected


def test_a_same_named_ca_ahead_in_the_bundle_breaks_a_leaf_without_aki_and_says_why(tmp_path) -> None:
    """A CA re-created under the same name, the old one still first in the bundle: OpenSSL (curl, nginx
    upstreams) takes the old one, because a leaf without AKI names its issuer by subject only."""
    need(openssl_binary(), "openssl")
    old = openssl_private_ca(tmp_path / "old")  # same subject as the scenario's root
    with tls_server("openssl_ca", tmp_path / "served") as served:
        old_first, new_first = tmp_path / "old-first.pem", tmp_path / "new-first.pem"
        old_first.write_text(old.ca_path.read_text() + Path(served.ca_path).read_text())
        new_first.write_text(Path(served.ca_path).read_text() + old.ca_path.read_text())
        broken = by_id(tls.run(env_for(served.base_url, old_first, mozilla_profile="modern")))["tls.cert.trusted"]
        fine = by_id(tls.run(env_for(served.base_url, new_first, mozilla_profile="modern")))["tls.cert.trusted"]
    assert broken.status is Status.FAIL and "certificate signature failure" in broken.observed
    assert "the leaf has no authorityKeyIdentifier, so OpenSSL picks its issuer by name alone" in broken.observed
    assert fine.status is Status.PASS


def test_an_unreadable_ca_bundle_is_an_error_unless_another_store_trusts_the_chain(tmp_path) -> None:
    bundle = generate_chain(tmp_path, ca_key_usage=False)
    garbage = tmp_path / "bundle.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with serve({"*": Reply(200, [], "ok")}, certs=bundle) as served:
        found = by_id(tls.run(env_for(served.base_url, garbage)))
    trusted = found["tls.cert.trusted"]
    assert trusted.status is Status.ERROR, trusted.observed
    assert "http.ca_bundle (bundle.pem) could not be loaded" in trusted.observed
    assert "the system store" in trusted.observed  # what could be judged is still said
