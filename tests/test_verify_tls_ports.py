"""Independent verification of issue 10, item 2: ports that misbehave in ways the fixes were not written against.

``tests/test_tls_probe.py`` covers a backlog-only silent port, a FIN close, plain-text banners and
refused/unresolvable targets. Here: a port that accepts and resets (RST, SO_LINGER 0); one that reads
the ClientHello and then says nothing; one that answers bytes that *look* like a TLS record and are
garbage; one that answers every ClientHello with a fatal alert; one that starts a ServerHello and
stalls. Each must be a ``tls.scan`` error in plain words (no exception class name), cost about what
its behaviour implies, and never hold back nor slow a healthy host scanned in the same run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

from harden_lib.checks import tls
from harden_lib.findings import Finding, Status
from tests.test_tls import by_id, env_for
from tests.test_tls_probe import assert_plain_words
from tests.tls_servers import session_server, tls_server


@contextlib.contextmanager
def tcp_port(behaviour: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP port on 127.0.0.1 where each accepted connection is handed to ``behaviour``; yields host:port."""

    def session(conn: socket.socket, _stop: threading.Event) -> None:
        with contextlib.suppress(OSError):
            behaviour(conn)

    with session_server(session) as port:
        yield f"127.0.0.1:{port}"


def reset(conn: socket.socket) -> None:
    """Accept, then abort: the client sees a connection reset (RST), not an orderly close."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def read_then_mute(conn: socket.socket) -> None:
    """Read the ClientHello and keep the connection open without a word (a stuck proxy)."""
    conn.settimeout(30)
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def tls_looking_garbage(conn: socket.socket) -> None:
    """A record header saying 'TLS 1.2 handshake', then random bytes, then close."""
    conn.settimeout(5)
    conn.recv(4096)
    conn.sendall(b"\x16\x03\x03\x00\x40" + os.urandom(64))
    time.sleep(0.2)
    conn.close()


def fatal_alert(conn: socket.socket) -> None:
    """Every ClientHello gets a fatal handshake_failure alert (a TLS server that accepts nothing)."""
    conn.settimeout(5)
    conn.recv(4096)
    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
    conn.close()


def half_server_hello(conn: socket.socket) -> None:
    """The first bytes of a ServerHello, then silence: a server that hangs mid-handshake."""
    conn.settimeout(30)
    conn.recv(4096)
    conn.sendall(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def only(report: tls.TlsAudit, target: str) -> Finding:
    findings = [f for f in report.findings if f.target == target]
    assert [(f.check_id, f.status) for f in findings] == [("tls.scan", Status.ERROR)], [
        (f.check_id, f.status.value, f.observed) for f in findings
    ]
    assert_plain_words(findings[0])
    assert "Error" not in findings[0].observed and "Exception" not in findings[0].observed, findings[0].observed
    return findings[0]


def test_reset_garbage_and_alert_ports_are_plain_errors_without_waiting(tmp_path) -> None:
    timeout = 4
    with (
        tls_server("modern", tmp_path) as healthy,
        tcp_port(reset) as rst,
        tcp_port(tls_looking_garbage) as garbage,
        tcp_port(fatal_alert) as alert,
    ):
        env = env_for(healthy.base_url, healthy.ca_path, targets=[rst, garbage, alert], timeout=timeout)
        started = time.monotonic()
        report = tls.audit(env)
        elapsed = time.monotonic() - started
    healthy_target = healthy.base_url.removeprefix("https://")
    assert by_id(report.findings, healthy_target)["tls.cert.trusted"].status is Status.PASS
    rst_error = only(report, rst).observed
    assert "reset" in rst_error or "closed" in rst_error, rst_error
    only(report, garbage)
    only(report, alert)
    for target in (rst, garbage, alert):
        assert report.scans[target].seconds < timeout, (target, report.scans[target].seconds)
    assert elapsed < 5 * timeout, elapsed  # the healthy host's own scan dominates; loose for a loaded machine


def test_a_port_that_reads_and_never_answers_costs_one_timeout(tmp_path) -> None:
    timeout = 3
    with tls_server("tls12_cbc", tmp_path) as healthy, tcp_port(read_then_mute) as mute:
        env = env_for(healthy.base_url, healthy.ca_path, targets=[mute], timeout=timeout, concurrent_hosts=1)
        started = time.monotonic()
        report = tls.audit(env)
        elapsed = time.monotonic() - started
    error = only(report, mute).observed
    assert f"tls.timeout ({timeout} s)" in error, error
    assert timeout - 0.2 <= report.scans[mute].seconds < timeout + 1.5
    assert report.scans[healthy.base_url.removeprefix("https://")].seconds < timeout
    assert elapsed < timeout + 12, elapsed  # idem: the per-host seconds above are the real bound


def test_a_server_that_hangs_mid_handshake_is_bounded_and_never_delays_a_healthy_host(tmp_path) -> None:
    """The probe sees a TLS answer begin and stall: the host's error after about one tls.timeout, no sslyze."""
    timeout = 1
    with tls_server("modern", tmp_path) as healthy, tcp_port(half_server_hello) as stall:
        env = env_for(healthy.base_url, healthy.ca_path, targets=[stall], timeout=timeout, concurrent_hosts=2)
        started = time.monotonic()
        report = tls.audit(env)
        elapsed = time.monotonic() - started
    healthy_target = healthy.base_url.removeprefix("https://")
    assert by_id(report.findings, healthy_target)["tls.cert.trusted"].status is Status.PASS
    assert report.scans[healthy_target].seconds < 5
    only(report, stall)
    assert elapsed <= tls.host_budget(report.params) + 5, elapsed


def test_a_server_that_hangs_mid_handshake_says_which_timeout_expired(tmp_path) -> None:
    timeout = 1
    with tcp_port(half_server_hello) as stall:
        report = tls.audit(env_for(None, targets=[stall], timeout=timeout))
    error = only(report, stall).observed
    assert "no TLS version and cipher suite" not in error and "cipher suite supported" not in error, error
    assert "tls.timeout" in error, error
    assert report.scans[stall].seconds < 3 * timeout, report.scans[stall].seconds
