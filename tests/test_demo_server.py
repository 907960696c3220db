"""The demo target, tested through the real shared client against its real HTTPS listener.

Other areas' tests and the end-to-end run rely on the exact posture asserted here (header
values, cookie flags, leaked URLs), so these tests pin it down value by value.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from harden_lib.demo import DemoTarget, running_demo
from harden_lib.environment import Environment
from harden_lib.http import FetchError, FetchResult, fetch, make_client
from tests.servers import read_demo_banner

ROOT = Path(__file__).resolve().parent.parent

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)
HTML_PAGE_HEADERS = {
    "strict-transport-security": "max-age=86400",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "server": "nginx/1.18.0 (Ubuntu)",
    "x-powered-by": "Express",
}
HTML = "text/html; charset=utf-8"
PAGES = ["/", "/login", "/browse", "/broadcast"]


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _env(target: DemoTarget, *, trust: bool = True, **http: object) -> Environment:
    settings: dict[str, object] = {"connect_timeout": 2.0, "read_timeout": 3.0, **http}
    if trust:
        settings["ca_bundle"] = str(target.ca_path)
    return Environment.model_validate(
        {"environment": "demo-test", "base_url": target.base_url, "http_url": target.http_url, "http": settings}
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTarget]:
    with DemoTarget(tmp_path_factory.mktemp("demo-certs")) as demo:
        yield demo


@pytest.fixture(scope="module")
def client(target: DemoTarget) -> Iterator[httpx.Client]:
    with make_client(_env(target)) as c:
        yield c


def get(client: httpx.Client, target: DemoTarget, path: str, **kwargs: object) -> FetchResult:
    return fetch(client, target.base_url + path, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- TLS


def test_certificate_validates_against_the_ca_and_not_without_it(target: DemoTarget) -> None:
    with make_client(_env(target)) as trusted:
        assert fetch(trusted, target.base_url + "/api/health").status_code == 200
    with make_client(_env(target, trust=False)) as untrusted, pytest.raises(FetchError) as failure:
        fetch(untrusted, target.base_url + "/api/health")
    assert "TLS certificate verification failed" in str(failure.value)


def test_certificate_passes_strict_x509_validation_for_127_0_0_1(target: DemoTarget) -> None:
    context = ssl.create_default_context(cafile=str(target.ca_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with (
        socket.create_connection(("127.0.0.1", _port(target.base_url)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert()
        assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.selected_alpn_protocol() in (None, "http/1.1")


# --------------------------------------------------------------------------- routes


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, HTML),
        ("/login", 200, HTML),
        ("/browse", 200, HTML),
        ("/broadcast", 200, HTML),
        ("/static/app.js", 200, "text/javascript; charset=utf-8"),
        ("/static/app.js.map", 200, "application/json; charset=utf-8"),
        ("/static/vendor.js", 200, "text/javascript; charset=utf-8"),
        ("/static/app.css", 200, "text/css; charset=utf-8"),
        ("/manifest.json", 200, "application/manifest+json; charset=utf-8"),
        ("/api/health", 200, "application/json"),
        ("/api/v1/streams", 200, "application/json"),
        ("/browse?q=sneakers", 200, HTML),
        ("/nope", 404, HTML),
        ("/admin", 404, HTML),
        ("/.env", 404, HTML),
        ("/index.html", 404, HTML),
        ("/static/missing.js", 404, HTML),
        ("/api/v2/streams", 404, HTML),
    ],
)
def test_route_status_content_type_and_exact_length(
    client: httpx.Client, target: DemoTarget, path: str, status: int, content_type: str
) -> None:
    result = get(client, target, path)
    assert result.status_code == status
    assert result.headers["content-type"] == content_type
    assert int(result.headers["content-length"]) == len(result.body) > 0
    assert result.history == []
    assert result.http_version == "HTTP/1.1"


def test_unknown_path_is_a_small_not_found_page_not_the_app_shell(client: httpx.Client, target: DemoTarget) -> None:
    result = get(client, target, "/definitely/not/here")
    assert result.status_code == 404
    assert "<h1>Not found</h1>" in result.text
    assert "/static/app.js" not in result.text
    assert len(result.body) < 1024


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_send_exactly_the_documented_security_headers(
    client: httpx.Client, target: DemoTarget, path: str
) -> None:
    result = get(client, target, path)
    for name, value in HTML_PAGE_HEADERS.items():
        assert result.header_list(name) == [value], name
    assert "permissions-policy" not in result.headers
    assert "cross-origin-resource-policy" not in result.headers
    assert "x-xss-protection" not in result.headers
    assert "access-control-allow-origin" not in result.headers


def test_index_links_and_assets(client: httpx.Client, target: DemoTarget) -> None:
    html = get(client, target, "/").text
    assert "<title>Acme Live — watch and shop live</title>" in html
    for link in ('href="/browse"', 'href="/login"', 'href="/broadcast"'):
        assert link in html
    assert '<script src="/static/app.js"></script>' in html
    assert "integrity" not in html
    assert '<link rel="stylesheet" href="/static/app.css">' in html
    assert '<link rel="preload" href="/static/vendor.js" as="script">' in html
    assert '<link rel="manifest" href="/manifest.json">' in html
    assert "{{" not in html  # every template placeholder was filled


def test_login_page_has_a_post_form(client: httpx.Client, target: DemoTarget) -> None:
    html = get(client, target, "/login").text
    assert '<form class="form" action="/login" method="post"' in html
    assert 'type="password"' in html


def _cookies(result: FetchResult) -> dict[str, list[str]]:
    """Cookie name -> [value, attribute, ...] exactly as sent."""
    out = {}
    for header in result.header_list("set-cookie"):
        parts = [p.strip() for p in header.split(";")]
        name, _, value = parts[0].partition("=")
        out[name] = [value, *parts[1:]]
    return out


@pytest.mark.parametrize("path", ["/", "/login"])
def test_cookies_and_their_flags(client: httpx.Client, target: DemoTarget, path: str) -> None:
    values = target.secret_values()
    cookies = _cookies(get(client, target, path))
    assert cookies == {
        "session": [values["session"], "Path=/"],
        "csrftoken": [values["csrftoken"], "Path=/", "Secure", "SameSite=Strict"],
    }


@pytest.mark.parametrize("path", ["/browse", "/broadcast", "/api/health", "/static/app.js"])
def test_other_answers_set_no_cookie(client: httpx.Client, target: DemoTarget, path: str) -> None:
    assert get(client, target, path).header_list("set-cookie") == []


def test_post_login_answers_303_to_root_with_cookies(client: httpx.Client, target: DemoTarget) -> None:
    result = get(
        client,
        target,
        "/login",
        method="POST",
        data={"email": "a@example.com", "password": "hunter2"},
        follow_redirects=False,
    )
    assert result.status_code == 303
    assert result.headers["location"] == "/"
    assert result.headers["content-type"] == HTML
    assert set(_cookies(result)) == {"session", "csrftoken"}
    # The connection stays usable (the body was read): the next request on it works.
    assert get(client, target, "/api/health").status_code == 200


def test_secret_values_are_random_per_target(target: DemoTarget, tmp_path: Path) -> None:
    values = target.secret_values()
    assert set(values) == {"session", "csrftoken"}
    assert len(values["session"]) >= 40
    assert re.fullmatch(r"[0-9a-f]{32}", values["csrftoken"])
    other = DemoTarget(tmp_path).secret_values()
    assert other["session"] != values["session"]
    assert other["csrftoken"] != values["csrftoken"]


# --------------------------------------------------------------------------- JS bundle, source map


def test_bundle_leaks_local_urls_and_points_to_its_source_map(client: httpx.Client, target: DemoTarget) -> None:
    js = get(client, target, "/static/app.js").text
    assert "http://localhost:3000" in js
    assert "ws://127.0.0.1:7777" in js
    assert "wss://relay.acme-live.example" in js
    assert "turns:turn.acme-live.example:5349" in js
    assert js.endswith("//# sourceMappingURL=app.js.map")
    assert get(client, target, "/static/app.js").headers["cache-control"] == "public, max-age=31536000, immutable"


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _vlq(segment: str) -> list[int]:
    values, value, shift = [], 0, 0
    for char in segment:
        digit = _B64.index(char)
        value |= (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    assert shift == 0, "unterminated VLQ"
    return values


def test_source_map_is_a_valid_v3_map(client: httpx.Client, target: DemoTarget) -> None:
    result = get(client, target, "/static/app.js.map")
    assert result.status_code == 200
    source_map = json.loads(result.body)
    assert source_map["version"] == 3
    assert source_map["file"] == "app.js"
    assert len(source_map["sources"]) == len(source_map["sourcesContent"]) == 1
    assert "http://localhost:3000" in source_map["sourcesContent"][0]
    generated = get(client, target, "/static/app.js").text.split("\n")
    original = source_map["sourcesContent"][0].split("\n")
    source = line = column = name = 0
    segments = 0
    for generated_line, mapped in enumerate(source_map["mappings"].split(";")):
        generated_column = 0
        for segment in filter(None, mapped.split(",")):
            fields = _vlq(segment)
            assert len(fields) in (1, 4, 5)
            generated_column += fields[0]
            assert generated_column < len(generated[generated_line])
            if len(fields) >= 4:
                source, line, column = source + fields[1], line + fields[2], column + fields[3]
                assert source == 0 and 0 <= line < len(original) and 0 <= column < len(original[line])
            if len(fields) == 5:
                name += fields[4]
                assert 0 <= name < len(source_map["names"])
            segments += 1
    assert segments >= 5


def test_manifest_vendor_and_css(client: httpx.Client, target: DemoTarget) -> None:
    manifest = json.loads(get(client, target, "/manifest.json").body)
    assert manifest["name"] == "Acme Live"
    assert manifest["start_url"] == "/"
    assert "AcmeBus" in get(client, target, "/static/vendor.js").text
    assert ":root{" in get(client, target, "/static/app.css").text


# --------------------------------------------------------------------------- API


def test_health_and_streams_api(client: httpx.Client, target: DemoTarget) -> None:
    health = get(client, target, "/api/health")
    assert json.loads(health.body) == {"status": "ok"}
    streams = json.loads(get(client, target, "/api/v1/streams").body)
    assert isinstance(streams, list) and len(streams) == 4
    assert streams[0] == {
        "id": 1042,
        "title": "Spring sneaker drop",
        "host": "kickslab",
        "live": True,
        "viewers": 1204,
        "products": 12,
    }


@pytest.mark.parametrize("path", ["/api/health", "/api/v1/streams"])
def test_api_headers(client: httpx.Client, target: DemoTarget, path: str) -> None:
    result = get(client, target, path)
    assert result.headers["content-type"] == "application/json"
    assert result.header_list("access-control-allow-origin") == ["*"]
    assert result.header_list("cache-control") == ["no-store"]
    assert result.headers["server"] == "nginx/1.18.0 (Ubuntu)"
    assert "content-security-policy" not in result.headers


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/v1/streams"])
def test_head_has_the_get_headers_and_no_body(client: httpx.Client, target: DemoTarget, path: str) -> None:
    full = get(client, target, path)
    head = get(client, target, path, method="HEAD")
    assert head.status_code == 200
    assert head.body == b""
    assert head.headers["content-length"] == full.headers["content-length"] == str(len(full.body))
    assert head.headers["content-type"] == full.headers["content-type"]


def test_options_lists_allowed_methods(client: httpx.Client, target: DemoTarget) -> None:
    page = get(client, target, "/login", method="OPTIONS")
    assert page.status_code == 204
    assert page.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert page.body == b""
    api = get(client, target, "/api/health", method="OPTIONS")
    assert api.status_code == 204
    assert api.headers["access-control-allow-origin"] == "*"
    assert api.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert get(client, target, "/nope", method="OPTIONS").status_code == 404


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("PUT", "/api/health"), ("DELETE", "/browse")])
def test_other_methods_are_405_with_allow(client: httpx.Client, target: DemoTarget, method: str, path: str) -> None:
    result = get(client, target, path, method=method, content=b"x=1")
    assert result.status_code == 405
    assert result.headers["allow"] == "GET, HEAD, OPTIONS"
    assert result.headers["content-type"] == HTML
    assert int(result.headers["content-length"]) == len(result.body)


# --------------------------------------------------------------------------- HTTP listener


@pytest.mark.parametrize("path", ["/", "/browse?q=shoes", "/login"])
def test_http_listener_redirects_301_to_same_path_on_https(client: httpx.Client, target: DemoTarget, path: str) -> None:
    assert target.http_url.startswith("http://127.0.0.1:")
    assert _port(target.http_url) != _port(target.base_url)
    moved = fetch(client, target.http_url + path, follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == target.base_url + path
    assert moved.headers["content-type"] == HTML
    assert int(moved.headers["content-length"]) == len(moved.body)
    assert "strict-transport-security" not in moved.headers  # ignored over HTTP anyway
    followed = fetch(client, target.http_url + path)
    assert followed.status_code == 200
    assert followed.history == [(301, target.http_url + path)]
    assert followed.url == target.base_url + path


def test_http_listener_never_redirects_off_site(client: httpx.Client, target: DemoTarget) -> None:
    with socket.create_connection(("127.0.0.1", _port(target.http_url)), timeout=5) as raw:
        raw.sendall(b"GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    location = re.search(rb"\r\nLocation: (\S+)\r\n", answer)
    assert location is not None
    assert location.group(1).decode() == target.base_url + "/"


# --------------------------------------------------------------------------- robustness


def test_idle_connections_without_handshake_do_not_block_others(target: DemoTarget) -> None:
    idle = [socket.create_connection(("127.0.0.1", _port(target.base_url)), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.3)  # let the server accept them
        with make_client(_env(target, connect_timeout=2.0, read_timeout=2.0)) as fresh:
            started = time.monotonic()
            result = fetch(fresh, target.base_url + "/api/health", deadline=3.0)
            assert result.status_code == 200
            assert time.monotonic() - started < 2.0
    finally:
        for sock in idle:
            sock.close()


def test_plain_http_on_the_https_port_is_dropped_and_the_server_goes_on(
    client: httpx.Client, target: DemoTarget
) -> None:
    with socket.create_connection(("127.0.0.1", _port(target.base_url)), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"HTTP/1.1 200" not in raw.recv(4096)
    assert get(client, target, "/api/health").status_code == 200


def test_binds_loopback_ipv4_only(target: DemoTarget) -> None:
    assert urlsplit(target.base_url).hostname == "127.0.0.1"
    assert urlsplit(target.http_url).hostname == "127.0.0.1"
    for port in (_port(target.base_url), _port(target.http_url)):
        with pytest.raises(OSError):
            socket.create_connection(("::1", port), timeout=2).close()


def test_quiet_by_default(client: httpx.Client, target: DemoTarget, capfd: pytest.CaptureFixture[str]) -> None:
    get(client, target, "/")
    get(client, target, "/nope")
    with socket.create_connection(("127.0.0.1", _port(target.base_url)), timeout=5) as raw:
        raw.sendall(b"not tls\r\n\r\n")
        raw.recv(100)
    time.sleep(0.2)
    out, err = capfd.readouterr()
    assert err == ""
    assert out == ""


def test_logs_requests_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARDEN_DEMO_LOG", "1")
    with DemoTarget(tmp_path) as demo, make_client(_env(demo)) as c:
        fetch(c, demo.base_url + "/api/health")
    assert '"GET /api/health HTTP/1.1" 200' in capfd.readouterr().err


# --------------------------------------------------------------------------- lifecycle


def test_start_is_idempotent_and_stop_frees_both_ports(tmp_path: Path) -> None:
    demo = DemoTarget(tmp_path)
    assert demo.start() is demo
    base, plain = demo.base_url, demo.http_url
    assert demo.start().base_url == base
    idle = socket.create_connection(("127.0.0.1", _port(base)), timeout=5)
    time.sleep(0.3)  # accepted: its thread now waits for a TLS handshake that never comes
    started = time.monotonic()
    demo.stop()
    assert time.monotonic() - started < 3.0
    # Ended by stop(), not left to the 10 s connection timeout (recv would time out).
    with idle, contextlib.suppress(ConnectionResetError):
        assert idle.recv(1) == b""
    assert not demo.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = demo.base_url
    for port in (_port(base), _port(plain)):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # raises if anything still listens there
        probe.listen()
        probe.close()
    demo.stop()  # a second stop is harmless


def test_restart_after_stop_serves_again(tmp_path: Path) -> None:
    demo = DemoTarget(tmp_path)
    with demo:
        pass
    with demo, make_client(_env(demo)) as c:
        assert fetch(c, demo.base_url + "/api/health").status_code == 200


def test_default_temp_folder_is_removed_on_stop() -> None:
    with DemoTarget() as demo:
        folder = demo.ca_path.parent
        assert demo.ca_path.is_file() and (folder / "server.key").is_file()
    assert not folder.exists()


def test_running_demo_is_one_started_instance() -> None:
    first = running_demo()
    second = running_demo()
    assert first is second
    assert first.running
    with make_client(_env(first)) as c:
        assert fetch(c, first.base_url + "/api/health").status_code == 200


@pytest.mark.parametrize(
    "command",
    [["-m", "harden_lib.demo.server"], ["-m", "harden_lib", "demo-server"]],
    ids=["module", "harden-demo-server"],
)
def test_foreground_module_prints_urls_and_stops_on_ctrl_c(command: list[str]) -> None:
    """Both entry points start, serve and stop (``harden demo-server`` once exited 2 on its own name)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error::RuntimeWarning"}
    env.pop("HARDEN_DEMO_LOG", None)
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = read_demo_banner(process, 20)
        https = re.search(r"HTTPS\s+(https://127\.0\.0\.1:\d+)/", text)
        plain = re.search(r"HTTP\s+(http://127\.0\.0\.1:\d+)/", text)
        ca = re.search(r"CA\s+(\S+ca\.pem)", text)
        assert https and plain and ca, text
        with httpx.Client(verify=ssl.create_default_context(cafile=ca.group(1))) as c:
            assert c.get(https.group(1) + "/api/health").json() == {"status": "ok"}
            assert c.get(plain.group(1) + "/x").headers["location"] == https.group(1) + "/x"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert "Traceback" not in err and "RuntimeWarning" not in err
        assert not Path(ca.group(1)).exists()  # temp certs cleaned up
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
