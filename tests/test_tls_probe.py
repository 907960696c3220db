"""Unreachable, silent and non-TLS ports (issue 10, item 2), against real local sockets and servers.

A port that accepts TCP and never answers must cost about one ``tls.timeout`` and name it, and must
not hold back a healthy host scanned in the same run (nor inflate that host's seconds); a plain-text
port is "not TLS", a port that closes at once says so; no message carries an exception class name.
"""

from __future__ import annotations

import builtins
import inspect
import re
import ssl
import time
from traceback import TracebackException

import pytest

from harden_lib import findings_frame, render
from harden_lib.checks import tls
from harden_lib.checks.tls import probe as tls_probe
from harden_lib.checks.tls.scanner import _error_text
from harden_lib.demo.certs import generate_chain
from harden_lib.findings import Finding, Status
from tests.servers import Reply, serve
from tests.test_tls import by_id, env_for
from tests.tls_servers import nginx_server, raw_server, smtp_starttls_server, tls_server


def _exception_names() -> set[str]:
    import socket

    import sslyze.errors
    from sslyze.connection_helpers import opportunistic_tls_helpers

    names = {n for n, o in vars(builtins).items() if inspect.isclass(o) and issubclass(o, BaseException)}
    for module in (sslyze.errors, ssl, socket, opportunistic_tls_helpers):
        names |= {n for n, o in vars(module).items() if inspect.isclass(o) and issubclass(o, BaseException)}
    return {n for n in names if n[0].isupper()} - {"Warning"}  # class names (not socket's alias "timeout")


EXCEPTION_NAMES = _exception_names()


def assert_plain_words(finding: Finding) -> None:
    for name in EXCEPTION_NAMES:
        assert not re.search(rf"\b{name}\b", finding.observed), (name, finding.observed)
    assert "no TLS version and cipher suite" not in finding.observed


def scan_error(report: tls.TlsAudit, target: str) -> Finding:
    only = [f for f in report.findings if f.target == target]
    assert [(f.check_id, f.status) for f in only] == [("tls.scan", Status.ERROR)], only
    assert_plain_words(only[0])
    return only[0]


def test_a_silent_port_costs_one_timeout_and_never_delays_a_healthy_host(tmp_path) -> None:
    timeout = 4
    with tls_server("modern", tmp_path) as served, raw_server("silent") as silent_port:
        silent = f"127.0.0.1:{silent_port}"
        env = env_for(served.base_url, served.ca_path, targets=[silent], timeout=timeout, concurrent_hosts=1)
        started = time.monotonic()
        report = tls.audit(env)
        elapsed = time.monotonic() - started
    healthy = served.base_url.removeprefix("https://")
    assert by_id(report.findings, healthy)["tls.cert.trusted"].status is Status.PASS
    error = scan_error(report, silent)
    assert f"within tls.timeout ({timeout} s)" in error.observed and "accepts connections" in error.observed
    # the silent host: about one timeout; the healthy one: its own scan time, not the silent host's
    assert timeout - 0.1 <= report.scans[silent].seconds < timeout + 1.5
    assert report.scans[healthy].seconds < timeout
    assert elapsed < timeout + 3, elapsed


def test_plain_text_ports_are_reported_as_not_tls(tmp_path) -> None:
    ssh_banner = b"SSH-2.0-OpenSSH_9.2p1 <b>Debian</b>\x1b[31m\r\n"
    with (
        serve({"*": Reply(200, [], "hello")}, tls=False) as http,
        raw_server("reply", ssh_banner) as ssh_port,
        raw_server("reply", b"\x00\x00\x00\x08\x04\xd2\x16\x2f\x00\x01") as binary_port,
    ):
        http_target = http.base_url.removeprefix("http://")
        targets = [http_target, f"127.0.0.1:{ssh_port}", f"127.0.0.1:{binary_port}"]
        report = tls.audit(env_for(None, targets=targets, timeout=5))
    for target in targets:
        assert report.scans[target].seconds < 2, target  # an answer, not a timeout
    http_error = scan_error(report, http_target).observed
    assert http_error.startswith("not TLS: the server answered a TLS ClientHello in plain text, as HTTP")
    ssh_error = scan_error(report, f"127.0.0.1:{ssh_port}").observed
    assert "in plain text" in ssh_error and "SSH-2.0-OpenSSH_9.2p1" in ssh_error and "set starttls" in ssh_error
    assert "\x1b" not in ssh_error  # control characters are escaped in the text itself
    # markup is kept as text and escaped where it is shown (every renderer escapes HTML)
    shown = render.style_findings(findings_frame([scan_error(report, f"127.0.0.1:{ssh_port}")])).to_html()
    assert "<b>Debian" not in shown and "&lt;b&gt;Debian" in shown
    binary_error = scan_error(report, f"127.0.0.1:{binary_port}").observed
    assert "not TLS" in binary_error and "00 00 00 08" in binary_error


def test_nginx_plain_http_port_is_not_tls(tmp_path) -> None:
    from tests.test_tls_trust import need
    from tests.tls_servers import nginx_binary

    need(nginx_binary(), "nginx")
    with nginx_server(None, tmp_path) as port:
        report = tls.audit(env_for(None, targets=[f"127.0.0.1:{port}"], timeout=5))
    observed = scan_error(report, f"127.0.0.1:{port}").observed
    assert "as HTTP" in observed and "400 Bad Request" in observed


def test_a_port_that_closes_at_once_is_an_error_that_says_so() -> None:
    with raw_server("close") as port:
        started = time.monotonic()
        report = tls.audit(env_for(None, targets=[f"127.0.0.1:{port}"], timeout=5))
        elapsed = time.monotonic() - started
    observed = scan_error(report, f"127.0.0.1:{port}").observed
    assert re.search(r"closed the connection|connection was reset", observed), observed
    assert "does not seem to speak TLS" in observed
    assert elapsed < 5  # no timeout was waited for


def test_refused_and_unresolvable_targets_are_errors_while_others_are_scanned(tmp_path) -> None:
    with raw_server("close") as port:
        pass  # closed again: nothing listens there now
    with tls_server("tls12_cbc", tmp_path) as served:
        targets = [f"127.0.0.1:{port}", "no-such-host.invalid:443", f"[::1]:{port}"]
        report = tls.audit(env_for(served.base_url, served.ca_path, targets=targets, timeout=2))
    assert len(report.scans) == 4
    assert by_id(report.findings, served.base_url.removeprefix("https://"))["tls.cert.trusted"].status is Status.PASS
    assert "refused" in scan_error(report, f"127.0.0.1:{port}").observed
    assert "could not be resolved" in scan_error(report, "no-such-host.invalid:443").observed
    v6 = scan_error(report, f"[::1]:{port}").observed  # refused, or no IPv6 on this machine: an error either way
    assert "refused" in v6 or "could not be reached" in v6


def test_starttls_targets_are_probed_scanned_and_verified_through_starttls(tmp_path) -> None:
    bundle = generate_chain(tmp_path, ca_key_usage=False)
    with smtp_starttls_server(bundle) as port:
        target = {"address": f"127.0.0.1:{port}", "starttls": "smtp"}
        report = tls.audit(env_for(None, bundle.ca_path, targets=[target, f"127.0.0.1:{port}"], timeout=3))
    label = f"127.0.0.1:{port} (smtp)"
    found = by_id(report.findings, label)
    assert found["tls.cert.trusted"].status is Status.PASS, found["tls.cert.trusted"].observed
    assert "CA harden test root CA: no keyUsage" in found["tls.cert.profile"].observed
    assert report.scans[label].probe == "the server answered a TLS ClientHello"
    plain = scan_error(report, f"127.0.0.1:{port}").observed  # the same port without starttls
    assert "220 mail.test ESMTP ready" in plain and "set starttls" in plain


# --------------------------------------------------------------------------- without a network


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", "tls"),  # ServerHello
        (b"\x15\x03\x01\x00\x02\x02\x46", "tls"),  # alert: protocol_version
        (b"\x16\x03", "tls"),  # a short first read of a handshake record
        (b"\x80\x2e\x04\x00\x01\x00\x02\x00", "tls"),  # SSL 2.0 SERVER-HELLO
        (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", "plaintext"),
        (b"-ERR unknown command '\x16\x03\x01'\r\n", "plaintext"),  # Redis without TLS
        (b"220 smtp.example.com ESMTP Postfix\r\n", "plaintext"),
        (b"\xff\xfb\x01\xff\xfb\x03", "not_tls"),  # telnet negotiation
        (b"", "closed"),
    ],
)
def test_first_bytes_classify_the_server(data: bytes, kind: str) -> None:
    assert tls_probe.classify(data)[0] == kind


def test_the_client_hello_is_a_tls_handshake_record_with_the_server_name() -> None:
    hello = tls_probe.client_hello("db.internal.example")
    assert hello[0] == 0x16 and hello[1] == 0x03 and hello[5] == 0x01  # handshake record, ClientHello
    assert b"db.internal.example" in hello
    assert b"127.0.0.1" not in tls_probe.client_hello("127.0.0.1")  # no SNI for an address


def test_sslyze_connectivity_errors_lose_their_class_names() -> None:
    from sslyze import ServerNetworkConfiguration, ServerNetworkLocation
    from sslyze.errors import ServerTlsConfigurationNotSupported

    location = ServerNetworkLocation("127.0.0.1", 443, ip_address="127.0.0.1")
    error = ServerTlsConfigurationNotSupported(
        server_location=location,
        network_configuration=ServerNetworkConfiguration("127.0.0.1"),
        error_message="TLS probing failed: could not find a TLS version and cipher suite supported by the server",
    )
    text = _error_text(TracebackException.from_exception(error))
    assert text == "TLS probing failed: could not find a TLS version and cipher suite supported by the server"
    assert _error_text(TracebackException.from_exception(OSError(104, "Connection reset by peer"))) == (
        "[Errno 104] Connection reset by peer"
    )


def test_a_resolver_that_hangs_costs_one_timeout(monkeypatch) -> None:
    def hang(*args: object, **kwargs: object) -> list:
        time.sleep(3)
        return []

    monkeypatch.setattr(tls_probe.socket, "getaddrinfo", hang)  # a resolver no real server can make hang on cue
    started = time.monotonic()
    result = tls_probe.probe("slow-dns.example", 443, "slow-dns.example", None, 0.5)
    assert time.monotonic() - started < 1.5
    assert result.kind == "unresolved" and "tls.timeout (0.5 s)" in result.detail
