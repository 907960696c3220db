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
    # quoted as sent (issue 14: no more \x3c…\x3e), escaped where a report shows it
    assert "<script>alert(1)</script>" in text and "\\x3c" not in text
    from harden_lib.render import table_html

    shown = table_html(report.matrix())
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


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
    assert got == {
        "cors.fetch": Status.ERROR,
        "cors.ws.scheme": Status.PASS,
        "cors.ws.plaintext": Status.ERROR,  # a refusal of ws:// proves nothing when wss:// is unreachable too
        "cors.ws.origin": Status.ERROR,
    }


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
    assert statuses(report.findings) == {
        "cors.ws.scheme": Status.PASS,
        "cors.ws.plaintext": Status.PASS,  # the TLS port does not speak plain HTTP
        "cors.ws.origin": Status.PASS,
    }
    origin = next(f for f in report.findings if f.check_id == "cors.ws.origin")
    assert "refused with 403" in origin.observed and f"with {APP} accepted" in origin.observed
    table = report.handshake_table()
    assert list(table["probe"]) == ["plain ws://", "foreign Origin", "own Origin"]
    assert list(table["outcome"])[1:] == ["refused (403)", "accepted"]


def test_websocket_that_accepts_any_origin_fails(pki: CertBundle) -> None:
    with ws_server(pki, None) as url:
        findings = cors.run(ws_env(pki, url))
    assert statuses(findings) == {
        "cors.ws.scheme": Status.PASS,
        "cors.ws.plaintext": Status.PASS,
        "cors.ws.origin": Status.FAIL,
    }


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
    assert got["cors.ws.plaintext"] is Status.FAIL  # a ws:// endpoint that upgrades is plain WebSocket


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


# --------------------------------------------------------------------------- plain ws:// refused (cors.ws.plaintext)


@contextlib.contextmanager
def hanging_server() -> Iterator[str]:
    """Accepts TCP connections and never answers: a handshake to it must end within ws_timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/socket"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        sock.close()


def plaintext(findings: list[Finding]) -> Finding:
    (found,) = [f for f in findings if f.check_id == "cors.ws.plaintext"]
    return found


def test_plain_ws_listener_beside_wss_fails(pki: CertBundle) -> None:
    """wss:// on one port, and the same app also upgrading plain ws:// on the proxy's plain port."""
    with ws_server(pki, [APP]) as secure, ws_server(None, [APP]) as plain:
        endpoint = {"url": secure, "plain_urls": [plain], "handshake": False, "plain_check": True}
        findings = cors.run(ws_env(pki, secure, websockets=[endpoint]))
    found = plaintext(findings)
    assert found.status is Status.FAIL, found.observed
    assert f"{plain}: ACCEPTED (101)" in found.observed
    assert "no HTTP answer to a plain request" in found.observed  # the TLS port itself refused


def test_plain_ports_that_redirect_answer_426_or_hang_pass(pki: CertBundle) -> None:
    """A redirect to wss:// (browsers do not follow it), 426 Upgrade Required, a port that never answers."""
    import time

    def to_wss(handler) -> Reply:
        return Reply(301, [("Location", "wss://127.0.0.1:1/socket")], "")

    with (
        ws_server(pki, [APP]) as secure,
        serve({"*": to_wss}, tls=False) as redirecting,
        serve({"*": Reply(426, [("Upgrade", "websocket")], "use wss")}, tls=False) as upgrade_required,
        hanging_server() as hanging,
    ):
        plain = [
            redirecting.base_url.replace("http://", "ws://") + "/socket",
            upgrade_required.base_url.replace("http://", "ws://") + "/socket",
            hanging,
        ]
        env = ws_env(
            pki,
            secure,
            websockets=[{"url": secure, "plain_urls": plain, "handshake": False, "plain_check": True}],
            ws_timeout=1,
        )
        started = time.monotonic()
        found = plaintext(cors.run(env))
        elapsed = time.monotonic() - started
    assert found.status is Status.PASS, found.observed
    assert "refused with HTTP 301" in found.observed and "refused with HTTP 426" in found.observed
    assert "no upgrade within cors.ws_timeout" in found.observed
    assert elapsed < 8  # every handshake bounded by ws_timeout


def test_nothing_listening_on_the_plain_port_passes(pki: CertBundle) -> None:
    with ws_server(pki, [APP]) as secure:
        endpoint = {
            "url": secure,
            "plain_urls": [f"ws://127.0.0.1:{free_port()}/socket"],
            "plain_check": True,
            "handshake": False,
        }
        found = plaintext(cors.run(ws_env(pki, secure, websockets=[endpoint])))
    assert found.status is Status.PASS and "connection refused (nothing listens there)" in found.observed


def test_plain_candidates_cover_port_80_and_http_url() -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": "https://app.example.com",
            "http_url": "http://app.example.com:8080",
            "cors": {"websockets": [{"url": "/live?room=1"}]},
        }
    )
    endpoint = env.cors.websockets[0]
    url = cors.ws_url(env, endpoint)
    assert cors.plain_candidates(env, url, endpoint) == [
        "ws://app.example.com:443/live?room=1",
        "ws://app.example.com/live?room=1",
        "ws://app.example.com:8080/live?room=1",
    ]
    other = cors.WebSocketEndpoint(url="wss://rt.example.com:8443/ws", plain_urls=["ws://rt.example.com:8080/ws"])
    assert cors.plain_candidates(env, other.url, other) == [
        "ws://rt.example.com:8443/ws",
        "ws://rt.example.com:8080/ws",
    ]
    v6 = cors.WebSocketEndpoint(url="wss://[::1]/live")
    assert cors.plain_candidates(env, v6.url, v6) == ["ws://[::1]:443/live", "ws://[::1]/live"]


def test_plain_check_can_be_switched_off_and_plain_urls_are_validated(pki: CertBundle) -> None:
    from pydantic import ValidationError

    with ws_server(pki, [APP]) as secure:
        findings = cors.run(ws_env(pki, secure, websockets=[{"url": secure, "plain_check": False}]))
    assert "cors.ws.plaintext" not in statuses(findings)
    with ws_server(None, None) as plain:  # scheme check only: no handshake of any kind is opened
        findings = cors.run(ws_env(pki, plain, websockets=[{"url": plain, "handshake": False}]))
    assert statuses(findings) == {"cors.ws.scheme": Status.FAIL}
    with pytest.raises(ValidationError, match="ws:// URL"):
        cors.WebSocketEndpoint(url="/ws", plain_urls=["wss://x.example/ws"])


# ------------------------------------------------------------------------ tokens on WebSocket handshakes (cors.ws.auth)

GOOD_TOKEN = "good-token-for-the-test-server"


@contextlib.contextmanager
def token_server(pki: CertBundle, mode: str) -> Iterator[str]:
    """A wss:// server that checks a token in one of several ways (``mode``), or does not.

    strict: 401 unless ``Authorization: Bearer <good>`` or ``?token=<good>``;
    header_only_if_present: the classic bug, a token is checked only when a header is sent;
    close_after: accepts, then closes with 4401 without a good token (check after the upgrade);
    message_only: accepts and sends "unauthorized" but keeps the connection open;
    data_then_close: sends data to anyone, then closes normally; close_normal: closes with 1000 at once;
    redirect: 302 to /login; crash: 500; open: accepts anything.
    """
    from urllib.parse import parse_qs, urlsplit

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_path, pki.key_path)

    def good(request) -> bool:
        header = request.headers.get("Authorization", "")
        query = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        return header == f"Bearer {GOOD_TOKEN}" or query == GOOD_TOKEN

    def process_request(connection: ServerConnection, request):
        if mode == "strict" and not good(request):
            return connection.respond(401, "unauthorized\n")
        if mode == "header_only_if_present" and "Authorization" in request.headers and not good(request):
            return connection.respond(403, "forbidden\n")
        if mode == "redirect" and not good(request):
            response = connection.respond(302, "")
            response.headers["Location"] = "/login"
            return response
        if mode == "crash":
            return connection.respond(500, "boom\n")
        if mode == "crash_401":  # refuses everyone, the good token too
            return connection.respond(401, "no\n")
        return None

    def handler(connection: ServerConnection) -> None:
        if mode == "close_after" and not good(connection.request):
            connection.close(4401, "unauthorized")
            return
        if mode == "message_only" and not good(connection.request):
            connection.send("unauthorized")
        if mode == "data_then_close":  # streams to anyone, then ends normally
            connection.send('{"price": 101.5}')
            return
        if mode == "close_normal" and not good(connection.request):
            connection.close(1000)
            return
        try:
            for _ in connection:
                pass
        except Exception:
            pass

    with ws_serve(handler, "127.0.0.1", 0, ssl=context, process_request=process_request) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"wss://127.0.0.1:{server.socket.getsockname()[1]}/socket"
        finally:
            server.shutdown()
            thread.join(timeout=5)


@pytest.mark.parametrize(
    ("mode", "expected", "shown"),
    [
        ("strict", Status.PASS, "no token: refused with 401"),
        ("close_after", Status.PASS, "accepted, then closed by the server with code 4401"),
        ("redirect", Status.PASS, "refused with 302"),  # browsers do not follow WebSocket redirects
        ("open", Status.FAIL, "no token: accepted (101) and still open"),
        ("message_only", Status.FAIL, "still open after"),
        ("header_only_if_present", Status.FAIL, "no token: accepted"),
        ("crash", Status.ERROR, "HTTP 500"),
        ("data_then_close", Status.FAIL, "no token: accepted (101), 1 message(s) received before the close (1000)"),
        ("close_normal", Status.ERROR, "closed with code 1000 without data"),
    ],
)
def test_websocket_token_required(pki: CertBundle, mode: str, expected: Status, shown: str) -> None:
    with token_server(pki, mode) as url:
        endpoint = {"url": url, "handshake": False, "plain_check": False, "auth": {"query_param": "token"}}
        report = cors.audit(ws_env(pki, url, websockets=[endpoint], ws_linger=0.5))
    (found,) = [f for f in report.findings if f.check_id == "cors.ws.auth"]
    assert found.status is expected, found.observed
    assert shown in found.observed
    probes = list(report.handshake_table()["probe"])
    assert probes == ["no token", "bad token in ?token=", "bad token in Authorization", "malformed Authorization"]
    assert GOOD_TOKEN not in found.observed


def test_websocket_token_probe_unreachable_is_error(pki: CertBundle) -> None:
    url = f"wss://127.0.0.1:{free_port()}/socket"
    endpoint = {
        "url": url,
        "handshake": False,
        "plain_check": False,
        "auth": {"header": "X-Api-Key", "header_prefix": ""},
    }
    found = [f for f in cors.run(ws_env(pki, url, websockets=[endpoint], ws_timeout=1)) if f.check_id == "cors.ws.auth"]
    assert found[0].status is Status.ERROR
    assert "bad token in X-Api-Key" in found[0].observed


@pytest.mark.parametrize(("mode", "expected"), [("strict", Status.PASS), ("refuse_all", Status.WARN)])
@pytest.mark.parametrize("where", ["header", "query"])
def test_websocket_valid_token_control(pki: CertBundle, monkeypatch, mode: str, expected: Status, where: str) -> None:
    monkeypatch.setenv("HARDEN_TEST_WS_TOKEN", GOOD_TOKEN)
    auth = {"token_env": "HARDEN_TEST_WS_TOKEN", "query_param": "token"}
    if where == "query":
        auth["header"] = None
    with token_server(pki, "strict" if mode == "strict" else "crash_401") as url:
        endpoint = {"url": url, "handshake": False, "plain_check": False, "auth": auth}
        report = cors.audit(ws_env(pki, url, websockets=[endpoint], ws_linger=0.3))
    (found,) = [f for f in report.findings if f.check_id == "cors.ws.auth"]
    assert found.status is expected, found.observed
    table = report.handshake_table()
    assert list(table["probe"])[-1] == "valid token (control)"
    assert GOOD_TOKEN not in found.observed + table.to_string()


def test_plaintext_on_ipv6_loopback(pki: CertBundle) -> None:
    """wss:// on [::1] (certificate verification off) and a plain ws:// listener beside it, also on [::1]."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_path, pki.key_path)

    def handler(connection: ServerConnection) -> None:
        connection.send("hello")

    sockets = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET6)
        sock.bind(("::1", 0))
        sock.listen(16)
        sockets.append(sock)
    with (
        ws_serve(handler, sock=sockets[0], ssl=context) as secure,
        ws_serve(handler, sock=sockets[1]) as plain,
    ):
        threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (secure, plain)]
        for thread in threads:
            thread.start()
        url = f"wss://[::1]:{secure.socket.getsockname()[1]}/socket"
        plain_url = f"ws://[::1]:{plain.socket.getsockname()[1]}/socket"
        env = Environment.model_validate(
            {
                "environment": "t",
                "base_url": "https://127.0.0.1:9",
                "http": {"verify": False, "connect_timeout": 2, "read_timeout": 3},
                "cors": {
                    "websockets": [{"url": url, "handshake": False, "plain_check": True, "plain_urls": [plain_url]}],
                    "ws_timeout": 3,
                },
            }
        )
        found = plaintext(cors.run(env))
        secure.shutdown()
        plain.shutdown()
    assert found.status is Status.FAIL, found.observed
    assert f"{plain_url}: ACCEPTED (101)" in found.observed
    assert f"ws://[::1]:{url.rsplit(':', 1)[1].split('/')[0]}/socket: no HTTP answer" in found.observed
