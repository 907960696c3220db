"""The cors area against real local servers: reflecting, strict and wildcard APIs, WebSocket servers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

from harden_lib.checks import cors
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Severity, Status
from tests.servers import Reply, serve

APP = "https://app.example.com"
JSON = ("Content-Type", "application/json")


def make_env(served, *, production: bool = True, ca: str | None = None, **section: object) -> Environment:
    base = served.base_url if served is not None else "https://127.0.0.1:9"
    ca_path = ca or (str(served.ca_path) if served is not None and served.ca_path else None)
    return Environment.model_validate(
        {
            "environment": "t",
            "production": production,
            "base_url": base,
            "http": {"ca_bundle": ca_path, "connect_timeout": 2, "read_timeout": 3},
            "cors": section,
        }
    )


def statuses(findings: list[Finding]) -> dict[str, Status]:
    """check id -> status (one route per test, so ids are unique)."""
    out: dict[str, Status] = {}
    for f in findings:
        assert f.check_id not in out, f"{f.check_id} twice"
        out[f.check_id] = f.status
    return out


def reflecting(handler) -> Reply:
    """Echoes any Origin, with credentials: the classic mistake."""
    origin = handler.headers.get("Origin", "")
    return Reply(
        200, [JSON, ("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")], "{}"
    )


def strict(handler) -> Reply:
    origin = handler.headers.get("Origin", "")
    headers = [JSON, ("Vary", "Origin")]
    if origin == APP:
        headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
    return Reply(204 if handler.command == "OPTIONS" else 200, headers, "" if handler.command == "OPTIONS" else "{}")


def test_reflecting_api_fails_critical(pki: CertBundle) -> None:
    with serve({"/api/me": reflecting}, certs=pki) as api:
        findings = cors.run(make_env(api, allowed_origins=[APP], routes=["/api/me"]))
        sent = [(m, h.get("Origin"), h.get("Access-Control-Request-Method")) for m, _, h in api.requests]
    got = statuses(findings)
    assert got["cors.foreign_origin"] is Status.FAIL
    foreign = next(f for f in findings if f.check_id == "cors.foreign_origin")
    assert foreign.severity is Severity.CRITICAL and "with credentials" in foreign.observed
    assert got["cors.null_origin"] is Status.FAIL
    assert got["cors.wildcard"] is Status.PASS
    assert got["cors.allowed_origin"] is Status.PASS
    assert got["cors.vary_origin"] is Status.WARN
    # foreign, null and the allowed origin; each as a simple request and as a preflight
    assert sorted(sent, key=str) == sorted(
        [
            ("GET", "https://evil.example", None),
            ("OPTIONS", "https://evil.example", "POST"),
            ("GET", "null", None),
            ("OPTIONS", "null", "POST"),
            ("GET", APP, None),
            ("OPTIONS", APP, "POST"),
        ],
        key=str,
    )


def test_strict_api_passes(pki: CertBundle) -> None:
    with serve({"/api/me": strict}, certs=pki) as api:
        report = cors.audit(make_env(api, allowed_origins=[APP], routes=["/api/me"]))
    assert set(statuses(report.findings).values()) == {Status.PASS}
    matrix = report.matrix()
    assert matrix.loc["foreign: https://evil.example", "/api/me (simple)"] == "—"
    assert matrix.loc[f"allowed: {APP}", "/api/me (preflight)"] == f"{APP} +cred"


def test_strict_api_missing_the_apps_own_origin_warns(pki: CertBundle) -> None:
    with serve({"/api/me": strict}, certs=pki) as api:
        findings = cors.run(make_env(api, allowed_origins=["https://other.example.com"], routes=["/api/me"]))
    got = statuses(findings)
    assert got["cors.allowed_origin"] is Status.WARN
    assert got["cors.foreign_origin"] is Status.PASS
    assert "cors.vary_origin" not in got  # nothing specific was echoed


@pytest.mark.parametrize(
    ("production", "credentials", "expected", "severity"),
    [
        (True, False, Status.FAIL, Severity.HIGH),
        (False, False, Status.WARN, Severity.HIGH),
        (False, True, Status.FAIL, Severity.CRITICAL),
    ],
)
def test_wildcard(pki: CertBundle, production: bool, credentials: bool, expected: Status, severity: Severity) -> None:
    headers = [JSON, ("Access-Control-Allow-Origin", "*")]
    if credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    with serve({"/api/public": Reply(200, headers, "[]")}, certs=pki) as api:
        findings = cors.run(make_env(api, production=production, routes=["/api/public"]))
    wildcard = next(f for f in findings if f.check_id == "cors.wildcard")
    assert (wildcard.status, wildcard.severity) == (expected, severity)
    assert statuses(findings)["cors.foreign_origin"] is Status.PASS  # '*' is not a reflection


def test_hostile_header_values_are_escaped(pki: CertBundle) -> None:
    evil = [JSON, ("Access-Control-Allow-Origin", "<script>alert(1)</script>")]
    with serve({"/api/x": Reply(200, evil, "{}")}, certs=pki) as api:
        report = cors.audit(make_env(api, routes=["/api/x"]))
    text = " ".join(f.observed for f in report.findings) + report.matrix().to_string()
    assert "<script>" not in text and "\\x3cscript\\x3e" in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_route_is_error() -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": f"https://127.0.0.1:{free_port()}",
            "http": {"connect_timeout": 1, "read_timeout": 1},
            "cors": {"routes": ["/api"], "websockets": [{"url": "/ws"}], "ws_timeout": 1},
        }
    )
    got = statuses(cors.run(env))
    assert got == {"cors.fetch": Status.ERROR, "cors.ws.scheme": Status.PASS, "cors.ws.origin": Status.ERROR}


def test_nothing_configured_is_skip() -> None:
    findings = cors.run(Environment.model_validate({"environment": "t", "base_url": "https://example.com"}))
    assert [(f.check_id, f.status) for f in findings] == [("cors.wildcard", Status.SKIP)]


# --------------------------------------------------------------------------- WebSockets


@contextlib.contextmanager
def ws_server(pki: CertBundle | None, origins: list[str] | None) -> Iterator[str]:
    """A real ``websockets`` server on 127.0.0.1 (wss:// with ``pki``); ``origins=None`` accepts any."""
    context = None
    if pki is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_path, pki.key_path)

    def handler(connection: ServerConnection) -> None:
        connection.send("hello")

    with ws_serve(handler, "127.0.0.1", 0, ssl=context, origins=origins) as server:  # type: ignore[arg-type]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            yield f"{'wss' if pki else 'ws'}://127.0.0.1:{port}/socket"
        finally:
            server.shutdown()
            thread.join(timeout=5)


def ws_env(pki: CertBundle, url: str, production: bool = True, **more: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "t",
            "production": production,
            "base_url": "https://127.0.0.1:9",
            "http": {"ca_bundle": str(pki.ca_path), "connect_timeout": 2, "read_timeout": 3},
            "cors": {"allowed_origins": [APP], "websockets": [{"url": url}], "ws_timeout": 3, **more},
        }
    )


def test_websocket_that_checks_origin_passes(pki: CertBundle) -> None:
    with ws_server(pki, [APP]) as url:
        report = cors.audit(ws_env(pki, url))
    assert statuses(report.findings) == {"cors.ws.scheme": Status.PASS, "cors.ws.origin": Status.PASS}
    origin = next(f for f in report.findings if f.check_id == "cors.ws.origin")
    assert "refused with 403" in origin.observed and f"with {APP} accepted" in origin.observed
    assert list(report.handshake_table()["outcome"]) == ["refused (403)", "accepted"]


def test_websocket_that_accepts_any_origin_fails(pki: CertBundle) -> None:
    with ws_server(pki, None) as url:
        findings = cors.run(ws_env(pki, url))
    assert statuses(findings) == {"cors.ws.scheme": Status.PASS, "cors.ws.origin": Status.FAIL}


def test_websocket_refusing_everyone_is_inconclusive(pki: CertBundle) -> None:
    with ws_server(pki, ["https://someone-else.example"]) as url:
        findings = cors.run(ws_env(pki, url))
    assert statuses(findings)["cors.ws.origin"] is Status.WARN


@pytest.mark.parametrize(("production", "expected"), [(True, Status.FAIL), (False, Status.WARN)])
def test_plain_ws_scheme(pki: CertBundle, production: bool, expected: Status) -> None:
    with ws_server(None, [APP]) as url:
        findings = cors.run(ws_env(pki, url, production=production))
    got = statuses(findings)
    assert got["cors.ws.scheme"] is expected
    assert got["cors.ws.origin"] is Status.PASS  # the handshake itself still runs over ws://


def test_untrusted_websocket_certificate_is_error(pki: CertBundle, tmp_path) -> None:
    from harden_lib.demo.certs import generate_chain

    other = generate_chain(tmp_path)  # a CA the environment does not trust
    with ws_server(other, None) as url:
        findings = cors.run(ws_env(pki, url))
    origin = next(f for f in findings if f.check_id == "cors.ws.origin")
    assert origin.status is Status.ERROR and "certificate" in origin.observed.lower()


def test_demo_target_shows_pass_fail_and_warn() -> None:
    from harden_lib.notebook import open_environment

    env = open_environment("")
    got = {(f.check_id, f.target.rsplit("/", 1)[-1], f.status.value) for f in cors.run(env)}
    assert ("cors.wildcard", "streams", "fail") in got
    assert ("cors.foreign_origin", "account", "pass") in got
    assert ("cors.vary_origin", "account", "warn") in got
    assert ("cors.ws.origin", "live", "fail") in got
    assert ("cors.ws.origin", "chat", "pass") in got
    assert ("cors.ws.scheme", "signal", "fail") in got  # the ws:// URL app.js advertises


def test_websocket_handshakes_under_load_all_get_their_answer():
    """240 concurrent handshakes to a healthy server: every one answered, none waits for a timeout.

    The sync websockets client lost about one TLS handshake in 150 under load (its reader thread
    and the writing thread share the TLS socket) and then waited for the server's idle timeout.
    """
    import threading
    import time

    from harden_lib.checks.cors import ws_handshake
    from harden_lib.demo import running_demo
    from harden_lib.environment import load_environment
    from harden_lib.notebook import attach_demo

    target = running_demo()
    env = attach_demo(load_environment(Path(__file__).resolve().parent.parent / "params" / "demo.yaml"))
    results: list = []

    def worker() -> None:
        for _ in range(30):
            results.append(ws_handshake(env, target.ws_url, "https://evil.example", 3.0))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 240
    failed = [r.error for r in results if not r.accepted]
    assert not failed, failed[:3]
    assert time.monotonic() - started < 60
