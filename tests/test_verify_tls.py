"""Independent verification of the tls area's trust verdict (issue 10, item 1) on chains made other ways.

Each chain here is made differently from the ones the fixes were written against (``tests/tls_servers``):
an ECDSA P-384 chain from the ``openssl`` CLI with ``-addext`` on the root and an intermediate without
authorityKeyIdentifier or keyUsage, served with the root included; an intermediate without
basicConstraints (OpenSSL refuses it: trust must fail); a server that sends only its leaf, judged
against a bundle with and without the intermediate; a v3 leaf with a CN and no subjectAltName; a
chain made by the ``trustme`` package (root, child CA, leaf); a CA bundle written the way distribution
bundles are (comments, CRLF line ends, other CAs first); a self-signed leaf pinned in the bundle; and a
TLS 1.0-only server. Every trust verdict is compared with what ``openssl s_client -verify_return_error
-CAfile …`` says about the same server: the issue defines trust as OpenSSL path validation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from harden_lib.checks import tls
from harden_lib.findings import Finding, Severity, Status
from tests.datastore_servers import in_ci
from tests.servers import Reply, serve
from tests.test_tls import by_id, env_for
from tests.tls_servers import session_server, tls10_handshake_possible


def need_openssl() -> None:
    if shutil.which("openssl") is None:
        if in_ci():
            pytest.fail("CI=true but openssl is not installed (apt-get install -y openssl)", pytrace=False)
        pytest.skip("openssl is not installed")


def run_openssl(folder: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr[-600:]}"


def ec_key(curve: str) -> list[str]:
    return ["-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-nodes"]


def make_root(folder: Path, name: str, curve: str = "P-384", addext: tuple[str, ...] = ()) -> None:
    extra = [a for ext in addext for a in ("-addext", ext)]
    run_openssl(folder, "req", "-x509", *ec_key(curve), "-sha384", "-keyout", f"{name}.key", "-out", f"{name}.pem",
                "-days", "3650", "-subj", f"/O=Verify PKI/CN={name}", *extra)  # fmt: skip


def make_signed(
    folder: Path, name: str, issuer: str, subject: str, extensions: list[str], curve: str = "P-384", days: int = 60
) -> None:
    """A key + CSR, signed by ``issuer`` with ``openssl x509 -req`` and exactly ``extensions`` (an -extfile)."""
    run_openssl(folder, "req", "-new", *ec_key(curve), "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject)  # fmt: skip
    (folder / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    run_openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key",
                "-sha384", "-days", str(days), "-set_serial", "0x" + os.urandom(8).hex(), "-extfile",
                f"{name}.ext", "-out", f"{name}.pem")  # fmt: skip


NO_KEY_IDS = ["authorityKeyIdentifier=none", "subjectKeyIdentifier=none"]
LEAF_SAN = "subjectAltName=IP:127.0.0.1,DNS:localhost"


def cat(folder: Path, out: str, *names: str) -> Path:
    path = folder / out
    path.write_text("".join((folder / f"{n}.pem").read_text() for n in names))
    return path


def context_for(chain: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)
    return context


@contextlib.contextmanager
def tls_on(chain: Path, key: Path, context: ssl.SSLContext | None = None) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 sending ``chain`` (leaf first); yields its base URL."""
    with serve({"*": Reply(200, [], "ok")}, tls=True, context=context or context_for(chain, key)) as served:
        yield served.base_url


def openssl_verdict(base_url: str, cafile: Path, *extra: str) -> tuple[bool, str]:
    """(verified, OpenSSL's verify line) from ``openssl s_client -verify_return_error -CAfile``."""
    port = base_url.rsplit(":", 1)[1]
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cafile), "-verify_return_error",
         "-no_ign_eof", *extra],
        input="", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    text = done.stdout + done.stderr
    line = next((ln.strip() for ln in text.splitlines() if "Verify return code" in ln or "verify error" in ln), "")
    return done.returncode == 0 and "Verify return code: 0 (ok)" in text, line


def scan(base_url: str, ca: Path | None, **params: object) -> dict[str, Finding]:
    return by_id(tls.run(env_for(base_url, ca, **params)))


def assert_trust_agrees(found: dict[str, Finding], openssl_ok: bool, why: str) -> None:
    trusted = found["tls.cert.trusted"]
    expected = Status.PASS if openssl_ok else Status.FAIL
    assert trusted.status is expected, f"harden: {trusted.status.value} ({trusted.observed}); openssl: {why}"


def assert_trust_is_not_a_profile_issue(found: dict[str, Finding], profile: str = "intermediate") -> None:
    mozilla = found[f"tls.mozilla.{profile}"]
    assert "certificate_path_validation" not in mozilla.observed, mozilla.observed
    assert found["tls.cert.profile"].severity is Severity.LOW
    assert found["tls.cert.profile"].status in (Status.PASS, Status.WARN)


# --------------------------------------------------------------------------- a P-384 chain from the CLI


@pytest.fixture(scope="module")
def p384(tmp_path_factory):
    """Root with -addext (keyUsage, critical basicConstraints); intermediate without AKI or keyUsage; leaf
    without key identifiers; the server sends leaf + intermediate + root."""
    need_openssl()
    folder = tmp_path_factory.mktemp("p384")
    make_root(
        folder, "P384 Root", addext=("basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign")
    )
    make_signed(
        folder, "int", "P384 Root", "/O=Verify PKI/CN=P384 Issuing CA",
        ["basicConstraints=critical,CA:TRUE,pathlen:0", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=none"],
    )  # fmt: skip
    make_signed(
        folder, "leaf", "int", "/CN=127.0.0.1",
        [LEAF_SAN, "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth", *NO_KEY_IDS],
    )  # fmt: skip
    chain = cat(folder, "chain.pem", "leaf", "int", "P384 Root")
    with tls_on(chain, folder / "leaf.key") as url:
        root = folder / "P384 Root.pem"
        yield folder, url, scan(url, root), openssl_verdict(url, root)


def test_p384_chain_with_root_sent_is_trusted_as_openssl_says(p384) -> None:
    _, _, found, (openssl_ok, why) = p384
    assert openssl_ok, why
    assert_trust_agrees(found, openssl_ok, why)
    assert "OpenSSL path validation succeeds against http.ca_bundle" in found["tls.cert.trusted"].observed
    assert_trust_is_not_a_profile_issue(found)


def test_p384_chain_profile_names_the_intermediates_and_leafs_gaps(p384) -> None:
    _, _, found, _ = p384
    profile = found["tls.cert.profile"]
    assert profile.status is Status.WARN, profile.observed
    for gap in ("leaf: no authorityKeyIdentifier", "CA P384 Issuing CA: no authorityKeyIdentifier",
                "CA P384 Issuing CA: no keyUsage (keyCertSign)"):  # fmt: skip
        assert gap in profile.observed, (gap, profile.observed)
    assert "CA P384 Root: no keyUsage" not in profile.observed  # the root has it (-addext)
    assert found["tls.cert.key"].status is Status.PASS and found["tls.cert.key"].observed.startswith("EC 384 bits")
    assert found["tls.cert.hostname"].status is Status.PASS
    assert found["tls.cert.signature"].status is Status.PASS


def test_the_same_chain_against_an_unrelated_bundle_fails_as_openssl_says(p384, tmp_path) -> None:
    _, url, _, _ = p384
    make_root(tmp_path, "Stranger Root")
    other = tmp_path / "Stranger Root.pem"
    openssl_ok, why = openssl_verdict(url, other)
    found = scan(url, other)
    assert not openssl_ok
    assert_trust_agrees(found, openssl_ok, why)
    assert_trust_is_not_a_profile_issue(found)


# --------------------------------------------------------------------------- chains OpenSSL refuses or accepts


def test_an_intermediate_without_basic_constraints_is_untrusted_as_openssl_says(tmp_path) -> None:
    """OpenSSL refuses a v3 issuing certificate that does not say it is a CA ("invalid CA certificate")."""
    need_openssl()
    make_root(tmp_path, "BC Root", curve="P-256")
    make_signed(tmp_path, "int", "BC Root", "/CN=Not Really A CA", ["subjectKeyIdentifier=hash"], curve="P-256")
    make_signed(tmp_path, "leaf", "int", "/CN=127.0.0.1", [LEAF_SAN], curve="P-256")
    chain = cat(tmp_path, "chain.pem", "leaf", "int")
    with tls_on(chain, tmp_path / "leaf.key") as url:
        root = tmp_path / "BC Root.pem"
        openssl_ok, why = openssl_verdict(url, root)
        found = scan(url, root)
    assert not openssl_ok and "invalid CA certificate" in why, why
    assert_trust_agrees(found, openssl_ok, why)
    assert "invalid CA certificate" in found["tls.cert.trusted"].observed
    assert "CA Not Really A CA: no basicConstraints" in found["tls.cert.profile"].observed


def test_a_server_that_sends_only_its_leaf_is_judged_by_what_the_bundle_holds(tmp_path) -> None:
    need_openssl()
    make_root(tmp_path, "Leaf Only Root", curve="P-256", addext=("keyUsage=critical,keyCertSign",))
    make_signed(tmp_path, "int", "Leaf Only Root", "/CN=Leaf Only Issuing",
                ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign", "subjectKeyIdentifier=hash",
                 "authorityKeyIdentifier=keyid"], curve="P-256")  # fmt: skip
    make_signed(tmp_path, "leaf", "int", "/CN=localhost", [LEAF_SAN, "authorityKeyIdentifier=keyid"], curve="P-256")
    root_only = tmp_path / "Leaf Only Root.pem"
    root_and_int = cat(tmp_path, "root-and-int.pem", "Leaf Only Root", "int")
    with tls_on(tmp_path / "leaf.pem", tmp_path / "leaf.key") as url:
        verdicts = {name: (openssl_verdict(url, ca), scan(url, ca)) for name, ca in
                    (("root only", root_only), ("root + intermediate", root_and_int))}  # fmt: skip
    (missing_ok, missing_why), missing = verdicts["root only"]
    (full_ok, full_why), full = verdicts["root + intermediate"]
    assert not missing_ok and "unable to get local issuer certificate" in missing_why, missing_why
    assert full_ok, full_why
    assert_trust_agrees(missing, missing_ok, missing_why)
    assert_trust_agrees(full, full_ok, full_why)
    assert "unable to get local issuer certificate" in missing["tls.cert.trusted"].observed


def test_a_v3_leaf_with_a_cn_and_no_subject_alt_name(tmp_path) -> None:
    """Trusted (OpenSSL builds the chain), but no browser matches a name against the CN: hostname fails."""
    need_openssl()
    make_root(tmp_path, "CN Root", curve="P-256")
    make_signed(tmp_path, "leaf", "CN Root", "/CN=127.0.0.1",
                ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth"],
                curve="P-256")  # fmt: skip
    with tls_on(tmp_path / "leaf.pem", tmp_path / "leaf.key") as url:
        root = tmp_path / "CN Root.pem"
        openssl_ok, why = openssl_verdict(url, root)
        ip_ok, ip_why = openssl_verdict(url, root, "-verify_ip", "127.0.0.1")
        found = scan(url, root)
    assert openssl_ok, why
    assert not ip_ok, ip_why  # OpenSSL never matches an IP address against the CN either
    assert_trust_agrees(found, openssl_ok, why)
    hostname = found["tls.cert.hostname"]
    assert hostname.status is Status.FAIL and "no subjectAltName" in hostname.observed, hostname.observed
    assert "leaf: no subjectAltName" in found["tls.cert.profile"].observed


# --------------------------------------------------------------------------- other tools, other files


def trustme_or_skip():
    try:
        import trustme
    except ImportError:
        if in_ci():
            pytest.fail("CI=true but trustme is not installed (add trustme to requirements-dev.txt)", pytrace=False)
        pytest.skip("trustme is not installed (pip install trustme)")
    return trustme


def test_a_trustme_chain_with_a_child_ca_is_trusted_as_openssl_says(tmp_path) -> None:
    trustme = trustme_or_skip()
    root = trustme.CA(organization_name="Verify trustme")
    child = root.create_child_ca()
    leaf = child.issue_cert("127.0.0.1", "localhost", "::1")
    root_pem = tmp_path / "trustme-root.pem"
    root.cert_pem.write_to_path(str(root_pem))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)  # sends the leaf and the child CA
    with tls_on(Path(), Path(), context) as url:
        openssl_ok, why = openssl_verdict(url, root_pem)
        found = scan(url, root_pem)
        without = scan(url, None)
    assert openssl_ok, why
    assert_trust_agrees(found, openssl_ok, why)
    assert without["tls.cert.trusted"].status is Status.FAIL  # the system store does not know trustme's root
    assert found["tls.cert.hostname"].status is Status.PASS
    assert found["tls.cert.expiry"].status is Status.PASS
    assert_trust_is_not_a_profile_issue(found)
    # trustme marks a subjectAltName critical next to a non-empty subject: a CA/B Forum deviation, low only
    assert "subjectAltName MUST NOT be critical" in found["tls.cert.profile"].observed


def test_a_distribution_style_bundle_with_comments_crlf_and_other_cas_first(tmp_path) -> None:
    """ca-certificates style: '# Issuer:' comments, CRLF line ends, the private root after ~150 others."""
    import certifi

    need_openssl()
    make_root(tmp_path, "Bundle Root", curve="P-256")
    make_signed(tmp_path, "leaf", "Bundle Root", "/CN=localhost", [LEAF_SAN, *NO_KEY_IDS], curve="P-256")
    ours = (tmp_path / "Bundle Root.pem").read_text()
    bundle = tmp_path / "ca-bundle.crt"
    text = Path(certifi.where()).read_text() + '\n# Issuer: CN=Bundle Root O=Verify PKI\n# Label: "ours"\n' + ours
    bundle.write_bytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    with tls_on(tmp_path / "leaf.pem", tmp_path / "leaf.key") as url:
        openssl_ok, why = openssl_verdict(url, bundle)
        found = scan(url, bundle)
    assert openssl_ok, why
    assert_trust_agrees(found, openssl_ok, why)
    assert "http.ca_bundle (ca-bundle.crt)" in found["tls.cert.trusted"].observed


def test_a_self_signed_leaf_pinned_in_the_bundle_is_trusted_as_openssl_says(tmp_path) -> None:
    need_openssl()
    run_openssl(tmp_path, "req", "-x509", *ec_key("P-256"), "-keyout", "pinned.key", "-out", "pinned.pem",
                "-days", "30", "-subj", "/CN=pinned.internal", "-addext", LEAF_SAN)  # fmt: skip
    with tls_on(tmp_path / "pinned.pem", tmp_path / "pinned.key") as url:
        openssl_ok, why = openssl_verdict(url, tmp_path / "pinned.pem")
        found = scan(url, tmp_path / "pinned.pem")
        unpinned = scan(url, None)
    assert openssl_ok, why
    assert_trust_agrees(found, openssl_ok, why)
    assert unpinned["tls.cert.trusted"].status is Status.FAIL
    assert "self" in unpinned["tls.cert.trusted"].observed.lower()
    assert found["tls.cert.hostname"].status is Status.PASS


# --------------------------------------------------------------------------- a TLS 1.0-only server


def test_a_tls10_only_server_fails_the_protocol_checks_and_is_still_trusted(tmp_path) -> None:
    reason = tls10_handshake_possible()
    if reason:
        pytest.skip(reason)
    need_openssl()
    make_root(tmp_path, "Legacy Root", curve="P-256", addext=("keyUsage=critical,keyCertSign",))
    make_signed(tmp_path, "leaf", "Legacy Root", "/CN=127.0.0.1",
                [LEAF_SAN, "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth"],
                curve="P-256")  # fmt: skip
    context = context_for(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with tls_on(Path(), Path(), context) as url:
        root = tmp_path / "Legacy Root.pem"
        tls12_ok, _ = openssl_verdict(url, root, "-tls1_2")
        tls10_ok, why = openssl_verdict(url, root, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")
        found = scan(url, root)
    assert not tls12_ok and tls10_ok, why
    assert found["tls.protocol.tls1_0"].status is Status.FAIL
    assert found["tls.protocol.tls1_1"].status is Status.PASS
    assert found["tls.protocol.tls1_2"].status is Status.FAIL
    assert "neither TLS 1.2 nor 1.3" in found["tls.protocol.tls1_2"].observed
    assert found["tls.protocol.tls1_3"].status is Status.WARN
    assert found["tls.mozilla.intermediate"].status is Status.FAIL
    assert_trust_agrees(found, tls10_ok, why)  # trust is the chain's, not the protocol's


# --------------------------------------------------------------------------- IPv6 and names written other ways


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@contextlib.contextmanager
def tls_on_ipv6(chain: Path, key: Path) -> Iterator[int]:
    context = context_for(chain, key)

    def session(conn: socket.socket, _stop: threading.Event) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), conn, context.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(4096)
            tls_conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    with session_server(session, "::1") as port:
        yield port


def test_an_ipv6_base_url_is_matched_against_its_ip_entry(tmp_path) -> None:
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    need_openssl()
    make_root(tmp_path, "V6 Root", curve="P-256")
    make_signed(tmp_path, "leaf", "V6 Root", "/CN=v6", ["subjectAltName=IP:0:0:0:0:0:0:0:1", *NO_KEY_IDS],
                curve="P-256")  # fmt: skip
    with tls_on_ipv6(tmp_path / "leaf.pem", tmp_path / "leaf.key") as port:
        found = scan(f"https://[::1]:{port}", tmp_path / "V6 Root.pem")
    assert found["tls.cert.trusted"].status is Status.PASS, found["tls.cert.trusted"].observed
    assert found["tls.cert.hostname"].status is Status.PASS, found["tls.cert.hostname"].observed
    assert found["tls.cert.trusted"].target == f"[::1]:{port}"


@pytest.mark.parametrize(
    ("server_name", "matches"),
    [
        ("api.internal.test", True),
        ("API.Internal.Test", True),  # names are case-insensitive
        ("api.internal.test.", True),  # a fully qualified name with its root dot
        ("a.b.internal.test", False),  # a wildcard covers one label only
        ("internal.test", False),  # … and not the bare parent
    ],
)
def test_a_wildcard_leaf_against_names_written_other_ways(tmp_path, server_name: str, matches: bool) -> None:
    need_openssl()
    make_root(tmp_path, "Wild Root", curve="P-256")
    make_signed(tmp_path, "leaf", "Wild Root", "/CN=*.internal.test", ["subjectAltName=DNS:*.internal.test"],
                curve="P-256")  # fmt: skip
    with tls_on(tmp_path / "leaf.pem", tmp_path / "leaf.key") as url:
        port = url.rsplit(":", 1)[1]
        target = {"address": f"127.0.0.1:{port}", "server_name": server_name}
        report = tls.audit(env_for(None, tmp_path / "Wild Root.pem", targets=[target]))
    found = by_id(report.findings)
    assert found["tls.cert.trusted"].status is Status.PASS, found["tls.cert.trusted"].observed
    assert (found["tls.cert.hostname"].status is Status.PASS) is matches, found["tls.cert.hostname"].observed


def test_a_chain_sent_out_of_order_with_a_stray_certificate_is_trusted_as_openssl_says(tmp_path) -> None:
    """Leaf, root, an unrelated CA, then the intermediate: OpenSSL builds the path anyway."""
    need_openssl()
    make_root(tmp_path, "Order Root", curve="P-256", addext=("keyUsage=critical,keyCertSign",))
    make_root(tmp_path, "Stray Root", curve="P-256")
    make_signed(tmp_path, "int", "Order Root", "/CN=Order Issuing",
                ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign", "subjectKeyIdentifier=hash",
                 "authorityKeyIdentifier=keyid"], curve="P-256")  # fmt: skip
    make_signed(tmp_path, "leaf", "int", "/CN=localhost",
                [LEAF_SAN, "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth",
                 "authorityKeyIdentifier=keyid", "subjectKeyIdentifier=hash"], curve="P-256")  # fmt: skip
    chain = cat(tmp_path, "chain.pem", "leaf", "Order Root", "Stray Root", "int")
    with tls_on(chain, tmp_path / "leaf.key") as url:
        root = tmp_path / "Order Root.pem"
        openssl_ok, why = openssl_verdict(url, root)
        found = scan(url, root)
    assert openssl_ok, why
    assert_trust_agrees(found, openssl_ok, why)
    profile = found["tls.cert.profile"]
    assert "Stray Root" not in profile.observed, profile.observed  # judged on the path OpenSSL built
    assert_trust_is_not_a_profile_issue(found)
