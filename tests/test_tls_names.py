"""Server names written other ways (issue 10, item 1 follow-up): one spelling is sent and matched.

A ``server_name`` (or address host) may be written as a fully qualified name with its root dot,
in capitals, or with non-ASCII letters. SNI must carry the name without the dot, in its ASCII
(IDNA) form (RFC 6066 §3), and the certificate check must treat ``name.`` and ``name`` alike
(RFC 6125). The server here records the SNI of every handshake it sees, so the test checks what
the probe, sslyze and the OpenSSL trust handshake really sent, not what the code meant to send.
Certificates come from ``trustme`` (not the ``openssl`` CLI of ``test_verify_tls``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pydantic import ValidationError

from harden_lib.checks import tls
from harden_lib.checks.tls.params import normalise_server_name
from harden_lib.findings import Status
from tests.test_tls import by_id, env_for
from tests.tls_servers import session_server

#: the leaf's subjectAltName entries (A-labels, as certificates carry them)
SANS = ("db.xn--caf-dma.test", "*.svc.internal.test", "127.0.0.1")


@contextlib.contextmanager
def sni_recording_server(folder: Path) -> Iterator[tuple[int, Path, list[str | None]]]:
    """A TLS server with a trustme chain for ``SANS``; yields (port, CA file, SNI names seen)."""
    ca = trustme.CA(organization_name="Names Test CA")
    leaf = ca.issue_cert(*SANS)
    ca_path = folder / "names-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    seen: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: seen.append(name)  # type: ignore[assignment,func-returns-value]

    def session(conn: socket.socket, _stop: threading.Event) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), conn, context.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(1024)

    with session_server(session) as port:
        yield port, ca_path, seen


@pytest.mark.parametrize(
    ("written", "sent", "matches"),
    [
        ("DB.Café.test.", "db.xn--caf-dma.test", True),  # capitals, non-ASCII and the root dot at once
        ("db.xn--caf-dma.test.", "db.xn--caf-dma.test", True),  # the A-label, rooted
        ("Queue.SVC.internal.test.", "queue.svc.internal.test", True),  # a wildcard entry, rooted
        ("db。café。test", "db.xn--caf-dma.test", True),  # ideographic full stops separate labels (IDNA)
        ("svc.internal.test.", "svc.internal.test", False),  # the wildcard does not cover its parent
        ("other.café.test.", "other.xn--caf-dma.test", False),
    ],
)
def test_every_handshake_sends_one_spelling_and_the_certificate_is_judged(
    tmp_path, written: str, sent: str, matches: bool
) -> None:
    with sni_recording_server(tmp_path) as (port, ca_path, seen):
        target = {"address": f"127.0.0.1:{port}", "server_name": written}
        report = tls.audit(env_for(None, ca_path, targets=[target], timeout=3))
    found = by_id(report.findings)
    cert_findings = {cid: f for cid, f in found.items() if cid.startswith("tls.cert.")}
    assert cert_findings and not [f for f in cert_findings.values() if f.status is Status.ERROR], [
        (f.check_id, f.observed) for f in cert_findings.values() if f.status is Status.ERROR
    ]
    assert found["tls.cert.trusted"].status is Status.PASS, found["tls.cert.trusted"].observed
    assert (found["tls.cert.hostname"].status is Status.PASS) is matches, found["tls.cert.hostname"].observed
    # the probe, sslyze's many handshakes and the trust handshake: all sent the same, normalised name
    named = [name for name in seen if name is not None]  # sslyze also fetches the chain without SNI, on purpose
    assert len(named) >= 5 and set(named) == {sent}, sorted({str(s) for s in seen})
    assert report.scans[f"127.0.0.1:{port}"].server_name == sent


def test_an_address_host_written_other_ways_is_the_name_sent_and_matched() -> None:
    """No server_name: the address's own host is the name, normalised the same way (resolving keeps it as written)."""
    env = env_for(
        "https://API.Example.COM./",
        targets=["Bücher.Example.:8443", {"address": "db.internal.test.:5432", "starttls": "postgres"}],
    )
    specs = {spec.label: spec for spec in tls.targets(env)}
    assert [s.server_name for s in specs.values()] == ["api.example.com", "xn--bcher-kva.example", "db.internal.test"]
    assert specs["Bücher.Example.:8443"].host == "Bücher.Example."  # connected as written (a rooted DNS name)


NOT_HOST_NAMES = [
    "api..internal.test",
    ".api.internal.test",
    "api.internal.test..",
    ".",
    "",
    "-api.test",
    "api_1.test",
    "*.internal.test",
    "a b.test",
    "x" * 64 + ".test",
]


@pytest.mark.parametrize("bad", NOT_HOST_NAMES)
def test_a_server_name_that_is_no_host_name_is_a_params_error_naming_the_key(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        env_for(None, targets=[{"address": "127.0.0.1:443", "server_name": bad}])
    text = str(caught.value)
    assert "tls.targets.0.server_name" in text and "server_name" in text.split("\n", 2)[2], text


@pytest.mark.parametrize("bad", ["api..internal.test:443", ".api.test:8443", "api.test..:443"])
def test_an_address_host_with_an_empty_label_is_a_params_error(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        env_for(None, targets=[bad])
    assert "tls.targets.0.address" in str(caught.value) and "empty label" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("API.Example.COM.", "api.example.com"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("ÉCOLE.fr.", "xn--cole-9oa.fr"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("10.0.0.1.", "10.0.0.1"),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
    ],
)
def test_names_are_normalised_once_the_same_way_for_matching(written: str, normal: str) -> None:
    assert normalise_server_name(written) == normal
    assert tls.ScanSpec("label", "127.0.0.1", 443, written).server_name == normal
    assert tls.hostname_matches([normal], written)


def test_matching_treats_a_rooted_name_and_case_alike_on_both_sides() -> None:
    assert tls.hostname_matches(["*.Svc.Internal.Test."], "a.svc.internal.test.")
    assert tls.hostname_matches(["xn--bcher-kva.example"], "BÜCHER.example.")
    assert not tls.hostname_matches(["*.svc.internal.test"], "svc.internal.test.")
    assert not tls.hostname_matches(["bücher.example"], "xn--bcher-kvb.example")  # a different A-label
