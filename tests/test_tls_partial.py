"""Servers that start a TLS answer and do not finish it, and answers no client can read.

The servers here send the first part of a *real* OpenSSL server's first flight (TLS 1.2 and
TLS 1.3, one handshake message a record, cut after a named message or inside a record) and then
stall or close. A stall must be noticed by the probe within about one ``tls.timeout``, be named
as such ("no complete TLS answer within tls.timeout (N s)", with what arrived), never reach
sslyze and never cost more than about two timeouts; a close mid-answer must say so. An answer
that is complete must never be called stalled. Garbage that looks like TLS must read as plain
words, without OpenSSL's internal reason codes or exception class names.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sslyze.errors import ConnectionToServerFailed

from harden_lib.checks import tls
from harden_lib.checks.tls.probe import HandshakeClient
from harden_lib.checks.tls.scanner import _error_text
from harden_lib.checks.tls.words import plain_tls_error
from harden_lib.demo.certs import generate_chain
from harden_lib.findings import Finding, Status
from tests.test_tls import env_for
from tests.test_tls_probe import assert_plain_words
from tests.test_verify_tls_ports import tcp_port
from tests.tls_servers import _context, cut_flight_server, server_first_flight, tls12_cbc

#: OpenSSL's internal spellings: reason codes, packed error strings, source positions
RAW_OPENSSL = re.compile(r"[A-Z0-9]{2,}_[A-Z0-9_]{2,}|error:[0-9A-Fa-f]{8}|routines|_ssl\.c|ssl3_|ossl_")


def tls13_context(folder: Path) -> ssl.SSLContext:
    """TLS 1.3 with OpenSSL's default groups: the client's key share is taken, the encrypted flight follows."""
    context = _context(generate_chain(folder))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def tls12_context(folder: Path) -> ssl.SSLContext:
    return tls12_cbc(folder)[1]


def tls13_retry_context(folder: Path) -> ssl.SSLContext:
    """TLS 1.3 on P-384 only: the client's X25519 key share is refused with a HelloRetryRequest."""
    context = tls13_context(folder)
    context.set_ecdh_curve("secp384r1")
    return context


def the_error(report: tls.TlsAudit, target: str) -> Finding:
    only = [f for f in report.findings if f.target == target]
    assert [(f.check_id, f.status) for f in only] == [("tls.scan", Status.ERROR)], [
        (f.check_id, f.status.value, f.observed) for f in only
    ]
    assert_plain_words(only[0])
    assert not RAW_OPENSSL.search(only[0].observed), only[0].observed
    return only[0]


# --------------------------------------------------------------------------- stalls


@pytest.mark.parametrize(
    ("make", "records", "extra", "timeout", "received"),
    [
        # TLS 1.2: ServerHello and Certificate, then nothing (no ServerKeyExchange, no ServerHelloDone)
        (tls12_context, 2, 0, 1.5, "ServerHello, Certificate, then nothing"),
        # TLS 1.2: the Certificate record cut after its first 300 bytes
        (tls12_context, 1, 300, 1, "ServerHello, a Certificate cut after"),
        # TLS 1.2: everything but ServerHelloDone
        (tls12_context, 3, 0, 1, "ServerHello, Certificate, ServerKeyExchange, then nothing"),
        # TLS 1.3: ServerHello, the compatibility ChangeCipherSpec and one encrypted record of four
        (tls13_context, 3, 0, 2, "ServerHello, ChangeCipherSpec, an encrypted record, then nothing"),
        # TLS 1.3: the ServerHello record cut inside its header
        (tls13_context, 0, 3, 1, "a TLS record header cut short"),
    ],
)
def test_a_real_flight_cut_short_is_a_stall_named_within_one_timeout(
    tmp_path, make: Callable[[Path], ssl.SSLContext], records: int, extra: int, timeout: float, received: str
) -> None:
    with cut_flight_server(make(tmp_path), records, extra) as target:
        started = time.monotonic()
        report = tls.audit(env_for(None, targets=[target], timeout=timeout))
        elapsed = time.monotonic() - started
    observed = the_error(report, target).observed
    assert "started a TLS answer but stalled" in observed, observed
    assert f"no complete TLS answer within tls.timeout ({timeout:g} s)" in observed, observed
    assert received in observed, observed
    assert "cipher suite" not in observed
    # the probe alone: about one timeout, no sslyze handshakes after it
    assert timeout - 0.1 <= report.scans[target].seconds < timeout + 1, report.scans[target].seconds
    assert report.scans[target].protocols == {} and report.scans[target].failed_commands == {}
    assert elapsed < 2 * timeout + 1, elapsed


@pytest.mark.parametrize(
    ("payload", "received"),
    [
        (b"\x15\x03\x03\x00\x02\x02", "an alert record cut after 1 of its 2 bytes"),  # an alert cut short
        (b"\x15\x03", "a TLS record header cut short"),
        (b"\x80\x2e\x04\x00\x01\x00\x02", "an SSL 2.0 record cut after 5 of its 46 bytes"),
    ],
)
def test_other_partial_answers_stall_the_same_way(payload: bytes, received: str) -> None:
    def answer_then_stall(conn: socket.socket) -> None:
        conn.settimeout(30)
        conn.recv(4096)
        conn.sendall(payload)
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass

    timeout = 1.2
    with tcp_port(answer_then_stall) as target:
        report = tls.audit(env_for(None, targets=[target], timeout=timeout))
    observed = the_error(report, target).observed
    assert "no complete TLS answer within tls.timeout (1.2 s)" in observed and received in observed, observed
    assert report.scans[target].seconds < 2 * timeout


def test_a_stalling_host_does_not_delay_a_healthy_one(tmp_path) -> None:
    timeout = 2
    with (
        cut_flight_server(tls13_context(tmp_path / "a"), 2) as stall,
        cut_flight_server(tls12_context(tmp_path / "b"), 1) as stall12,
    ):
        from tests.tls_servers import tls_server

        with tls_server("modern", tmp_path / "c") as healthy:
            env = env_for(healthy.base_url, healthy.ca_path, targets=[stall, stall12], timeout=timeout)
            report = tls.audit(env)
    healthy_target = healthy.base_url.removeprefix("https://")
    assert report.scans[healthy_target].error is None
    assert report.scans[healthy_target].seconds < 2 * timeout
    for target in (stall, stall12):
        assert "stalled" in the_error(report, target).observed
        assert report.scans[target].seconds < timeout + 1


# --------------------------------------------------------------------------- closes mid-answer


@pytest.mark.parametrize(("records", "extra"), [(1, 0), (2, 40)])
def test_a_flight_cut_by_a_close_says_so(tmp_path, records: int, extra: int) -> None:
    timeout = 3
    with cut_flight_server(tls12_context(tmp_path), records, extra, then="close") as target:
        report = tls.audit(env_for(None, targets=[target], timeout=timeout))
    observed = the_error(report, target).observed
    assert "closed the connection in the middle of its TLS answer" in observed, observed
    assert "no other handshake" in observed and "ServerHello" in observed
    assert report.scans[target].seconds < timeout  # closes, not timeouts


# --------------------------------------------------------------------------- complete answers stay complete


@pytest.mark.parametrize(
    ("make", "needed"),
    [
        (tls12_context, None),  # ServerHello … ServerHelloDone
        (tls13_context, None),  # ServerHello, ChangeCipherSpec, the encrypted flight up to Finished
        (tls13_retry_context, 1),  # a HelloRetryRequest is a whole answer (the client sends a new hello)
    ],
)
def test_only_a_whole_first_flight_is_complete(
    tmp_path, make: Callable[[Path], ssl.SSLContext], needed: int | None
) -> None:
    """Every prefix of a real server's first flight leaves the client waiting; the whole flight does not.

    Each attempt gets a fresh flight (fresh keys: lengths differ by a byte or two), cut relative to it.
    """
    context = make(tmp_path)

    def attempt(cut: Callable[[list[bytes]], bytes]) -> tuple[bool, int, int]:
        client = HandshakeClient("localhost")
        records = server_first_flight(context, client.hello)[:needed]
        answer = cut(records)
        complete = client.feed(answer)
        assert client.problem == ""
        return complete, len(answer), len(b"".join(records))

    _, _, size = attempt(lambda records: b"")
    cuts: list[Callable[[list[bytes]], bytes]] = [
        *(lambda r, n=n: b"".join(r)[: min(n, len(b"".join(r)) - 1)] for n in range(1, size, max(1, size // 40))),
        *(lambda r, n=n: b"".join(r[:n]) for n in range(1, 6)),  # whole records, one or more short
        lambda r: b"".join(r)[:-1],  # all but the last byte
    ]
    for cut in cuts:
        complete, got, whole = attempt(cut)
        assert complete is (got >= whole), (make.__name__, got, whole)
    assert attempt(lambda records: b"".join(records))[0]


def test_a_healthy_server_behind_a_slow_link_is_not_a_stall(tmp_path) -> None:
    """The flight arrives in pieces (a slow link) but within the timeout: TLS, scanned by sslyze."""
    context = tls13_context(tmp_path)

    def trickle(conn: socket.socket) -> None:
        conn.settimeout(10)
        hello = conn.recv(65536)
        flight = b"".join(server_first_flight(context, hello[: 5 + int.from_bytes(hello[3:5], "big")]))
        for start in range(0, len(flight), 200):
            conn.sendall(flight[start : start + 200])
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass

    with tcp_port(trickle) as target:
        from harden_lib.checks.tls.probe import probe

        host, port = target.rsplit(":", 1)
        result = probe(host, int(port), "localhost", None, 3)
    assert result.kind == "tls" and result.go_on, result
    assert result.seconds < 2


# --------------------------------------------------------------------------- garbage in plain words


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        pytest.param(b"\x16\x03\x03\x00\x40" + os.urandom(64), "", id="random-handshake-record"),
        pytest.param(b"\x17\x03\x03\x00\x20" + os.urandom(32), "out of order", id="application-data-first"),
        pytest.param(b"\x16\x03\x03\xff\xff" + os.urandom(100), "length", id="record-too-long"),
        pytest.param(b"\x15\x03\x03\x00\x02\x02\x50", "“internal error”, number 80", id="fatal-alert"),
        pytest.param(b"\x15\x03\x01\x00\x02\x02\xc8", "number 200, which TLS does not define", id="unknown-alert"),
        pytest.param(b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", "", id="empty-server-hello"),
    ],
)
def test_an_answer_no_client_can_read_is_told_in_plain_words(payload: bytes, words: str) -> None:
    def answer(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(4096)
        conn.sendall(payload)
        time.sleep(0.2)
        conn.close()

    with tcp_port(answer) as target:
        report = tls.audit(env_for(None, targets=[target], timeout=3))
    observed = the_error(report, target).observed
    assert (words in observed and "OpenSSL:" not in observed) or not words, observed
    assert "the answer to a TLS ClientHello" in observed, observed
    assert report.scans[target].seconds < 3


def real_openssl_errors() -> list[str]:
    """Error strings Python's ssl (the system OpenSSL) really raises on bad answers."""
    out = []
    for data in (
        b"\x16\x03\x03\x00\x04\x0e\x00\x00\x00",  # ServerHelloDone first
        b"\x17\x03\x03\x00\x05hello",
        b"\x15\x03\x03\x00\x02\x02\x28",
        b"\x15\x03\x03\x00\x02\x02\x46",
        b"\x16\x03\x03\xff\xff",
        b"\x16\x09\x09\x00\x05hello",
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
    ):
        client = HandshakeClient("example.test")
        client._incoming.write(data)
        try:
            client._tls.do_handshake()
        except ssl.SSLError as exc:
            out.append(str(exc))
    return out


def test_real_openssl_error_strings_read_as_words() -> None:
    errors = real_openssl_errors()
    assert len(errors) >= 6
    for raw in errors:
        plain = plain_tls_error(raw)
        assert plain and not RAW_OPENSSL.search(plain), (raw, plain)
    # sslyze's form: a repr of OpenSSL's packed string inside its own message
    from traceback import TracebackException

    from sslyze import ServerNetworkConfiguration, ServerNetworkLocation

    failure = ConnectionToServerFailed(
        server_location=ServerNetworkLocation("127.0.0.1", 443, ip_address="127.0.0.1"),
        network_configuration=ServerNetworkConfiguration("127.0.0.1"),
        error_message="Unexpected connection error: \"('error:0A00010B:SSL routines::wrong version number\\n',)\"",
    )
    text = _error_text(TracebackException.from_exception(failure))
    assert text == "the answer is not a TLS record this client can read (its version field is wrong)", text
    assert _error_text(TracebackException.from_exception(OSError(104, "Connection reset by peer"))) == (
        "[Errno 104] Connection reset by peer"
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        # OpenSSL 3.2+ (Debian trixie, recent Alpine): a garbage record
        ("[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1010)", "not a well-formed TLS record"),
        ("RECORD_LAYER_FAILURE", "not a well-formed TLS record"),
        ("error:0A00010B:SSL routines::wrong version number", "version field is wrong"),
        # nassl's OpenSSL 1.1.1 (sslyze's legacy client), as sslyze quotes it
        (
            "Unexpected connection error: \"('error:1408F10B:SSL routines:ssl3_get_record:wrong version number\\n',)\"",
            "version field is wrong",
        ),
        ("('error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure\\n',)", "refused the handshake"),
        ("error:0A000418:SSL routines::tlsv1 alert unknown ca", "TLS alert (“unknown ca”)"),
        ("error:0A000126:SSL routines::unexpected eof while reading", "closed the connection in the middle"),
        ("error:0A000102:SSL routines::unsupported protocol", "no TLS version in common"),
        ("error:0A0000C1:SSL routines::no shared cipher", "no cipher suite in common"),
        ("('error:140944E7:SSL routines:ssl3_read_bytes:reason(1112)\\n',)", "“unrecognized name”, number 112"),
        ("error:0A0003F2:SSL routines::some reason added later", "(OpenSSL: some reason added later)"),
    ],
)
def test_openssl_error_spellings_of_other_versions_read_as_words(raw: str, words: str) -> None:
    plain = plain_tls_error(raw)
    assert plain is not None and words in plain, plain
    assert not RAW_OPENSSL.search(plain), plain
