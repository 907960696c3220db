"""The web-surface areas (surface, cors, ratelimit) on the check catalog, against real local servers.

Every finding these areas build must be explained by its own catalog entry (title, references
with links, remediation), every catalog id of the area must be reachable, and a severity other
than the entry's default must say why. The inputs differ from the areas' own tests on purpose: a
307 instead of a 302, a lower-case HSTS header with a one-hour max-age, a map announced by a
``SourceMap`` header rather than a comment, a 127.x address on another port, a credentialed
``*``, a ``null`` origin reflected, a connection hung up without an answer.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from harden_lib.catalog import catalog
from harden_lib.checks import cors, ratelimit, surface
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Severity, Status
from harden_lib.http import make_client
from tests.servers import Reply, serve
from tests.stream_servers import reply, serve_raw
from tests.test_cors import ws_server

HTML = ("Content-Type", "text/html")
JS = ("Content-Type", "application/javascript")
JSON = ("Content-Type", "application/json")
APP = "https://app.example.org"


def assert_catalogued(findings: list[Finding], area: str) -> None:
    """Each finding reads as its catalog entry says, links to its references, and explains a changed severity."""
    assert findings
    for f in findings:
        spec = catalog().lookup(f.check_id)
        assert (spec.id, spec.area, f.area, f.title) == (f.check_id, area, area, spec.title)
        assert f.references == spec.reference_texts() and any("<https://" in r for r in f.references), f.check_id
        assert (f.severity is spec.severity) == (f.severity_reason == ""), (f.check_id, f.severity_reason)
        assert f.status is not Status.PASS or f.remediation == "", "a pass has nothing to fix"


def emitted_every_id(findings: list[Finding], area: str) -> None:
    ids = {s.id for s in catalog().for_area(area)} - {f"{area}.execution"}
    assert {f.check_id for f in findings} == ids


def only(findings: list[Finding], check_id: str, target: str = "") -> Finding:
    found = [f for f in findings if f.check_id == check_id and target in f.target]
    assert len(found) == 1, [(f.check_id, f.target, f.status) for f in findings]
    return found[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- surface


def test_surface_findings_come_from_the_catalog_and_say_why_a_severity_changed(pki: CertBundle) -> None:
    hsts = ("strict-transport-security", "max-age=3600")

    def ready(handler) -> Reply:
        time.sleep(0.25)
        return Reply(204, [hsts], "")

    page = '<html><head><script src="/js/main.js"></script><link rel=stylesheet href="/css/gone.css"></head></html>'
    routes = {
        "/": Reply(200, [HTML, hsts], page),
        "/js/main.js": Reply(200, [JS, hsts, ("SourceMap", "/js/main.js.map")], 'fetch("http://127.0.0.2:8080/v1")'),
        "/backup.sql": Reply(200, [("Content-Type", "application/sql"), hsts], "INSERT INTO users VALUES (1);"),
        "/ready": ready,
    }
    with serve(routes, certs=pki) as site:
        to_https = {"*": lambda h: Reply(307, [("Location", site.base_url + h.path)], "")}
        with serve(to_https, tls=False) as plain:
            env = Environment.model_validate(
                {
                    "environment": "t",
                    "base_url": site.base_url,
                    "http_url": plain.base_url,
                    "http": {"ca_bundle": str(site.ca_path), "connect_timeout": 2, "read_timeout": 3},
                    "surface": {
                        "routes": [{"path": "/"}, {"path": "/account", "status": [200, 401]}],
                        "required": [{"name": "relay", "pattern": "wss://"}],
                        "exposed_paths": ["/backup.sql", "/.git/config"],
                        "health": ["/ready"],
                        "health_max_seconds": 0.1,
                    },
                }
            )
            report = surface.audit(env)
    found = report.findings
    assert_catalogued(found, "surface")
    emitted_every_id(found, "surface")

    redirect = only(found, "surface.http_redirect")
    assert (redirect.status, redirect.severity) == (Status.WARN, Severity.LOW) and "307" in redirect.observed
    assert "temporary" in redirect.severity_reason
    short = only(found, "surface.hsts")
    assert (short.status, short.severity) == (Status.WARN, Severity.MEDIUM) and "max-age 3600" in short.observed
    assert "hsts_min_age" in short.severity_reason
    slow = only(found, "surface.health")
    assert (slow.status, slow.severity) == (Status.WARN, Severity.LOW) and slow.severity_reason
    announced = only(found, "surface.source_map")
    assert (announced.status, announced.severity) == (Status.WARN, Severity.LOW)
    assert "SourceMap header" in announced.observed and "404" in announced.observed
    assert announced.remediation != catalog().lookup("surface.source_map").remediation  # says what was seen
    dump = only(found, "surface.exposed_path", "/backup.sql")
    assert (dump.status, dump.severity, dump.severity_reason) == (Status.FAIL, Severity.CRITICAL, "")
    assert dump.remediation == catalog().lookup("surface.exposed_path").remediation
    assert "INSERT" not in dump.observed
    assert only(found, "surface.exposed_path", "/.git/config").status is Status.PASS
    assert only(found, "surface.route", "/account").status is Status.FAIL
    assert only(found, "surface.assets.fetch", "gone.css").status is Status.ERROR
    leak = only(found, "surface.assets.forbidden", "main.js")
    assert leak.status is Status.FAIL and "127.0.0.1" in leak.observed and "127.0.0.2" in leak.observed
    # Not found in what was read, but gone.css could not be read: neither found nor proven missing.
    assert only(found, "surface.assets.required").status is Status.ERROR


def test_nothing_on_plain_http_is_an_informational_pass_with_its_reason(pki: CertBundle) -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": "https://127.0.0.1:9",
            "http_url": f"http://127.0.0.1:{free_port()}",
            "http": {"connect_timeout": 2, "read_timeout": 2},
        }
    )
    with make_client(env) as client:
        out = surface.redirect_and_hsts(env, client, None)
    assert_catalogued(out, "surface")
    assert [(f.check_id, f.status, f.severity) for f in out] == [("surface.http_redirect", Status.PASS, Severity.INFO)]
    assert "nothing listens" in out[0].severity_reason and out[0].remediation == ""


# --------------------------------------------------------------------------- cors


def test_cors_findings_come_from_the_catalog_and_say_why_a_severity_changed(pki: CertBundle) -> None:
    def reflect_any(handler) -> None:  # no Vary: Origin, credentials on: the worst combination
        origin = handler.headers.get("Origin", "")
        allow = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        reply(200, [JSON, *allow], "{}")(handler)

    def hang_up(handler) -> None:  # closes without a status line: the probe cannot get an answer
        handler.close_connection = True

    star = Reply(200, [JSON, ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")], "{}")
    routes = {"/v2/profile": reflect_any, "/v2/catalogue": star, "/v2/broken": hang_up}
    with serve_raw(routes, certs=pki) as api, ws_server(None, None) as socket_url:
        env = Environment.model_validate(
            {
                "environment": "t",
                "production": True,
                "base_url": api.base_url,
                "http": {"ca_bundle": str(api.ca_path), "connect_timeout": 2, "read_timeout": 3},
                "cors": {
                    "allowed_origins": [APP],
                    "foreign_origin": "http://attacker.test:8443",
                    "routes": list(routes),
                    "websockets": [{"url": socket_url, "auth": {"header": "X-Socket-Key", "header_prefix": ""}}],
                    "ws_timeout": 3,
                    "ws_linger": 0.3,
                },
            }
        )
        found = cors.run(env)
    assert_catalogued(found, "cors")
    emitted_every_id(found, "cors")

    reflected = only(found, "cors.foreign_origin", "profile")
    assert (reflected.status, reflected.severity) == (Status.FAIL, Severity.CRITICAL)
    assert "http://attacker.test:8443" in reflected.observed and "credentials" in reflected.severity_reason.lower()
    assert only(found, "cors.null_origin", "profile").status is Status.FAIL
    assert only(found, "cors.vary_origin", "profile").status is Status.WARN
    assert only(found, "cors.allowed_origin", "profile").status is Status.PASS
    wildcard = only(found, "cors.wildcard", "catalogue")
    assert (wildcard.status, wildcard.severity) == (Status.FAIL, Severity.CRITICAL) and wildcard.severity_reason
    assert only(found, "cors.wildcard", "profile").status is Status.PASS
    assert only(found, "cors.fetch", "broken").status is Status.ERROR
    assert only(found, "cors.ws.scheme").status is Status.FAIL  # ws:// in production
    assert only(found, "cors.ws.origin").status is Status.FAIL  # accepts any origin
    assert only(found, "cors.ws.plaintext").status is Status.FAIL  # a ws:// endpoint that upgrades
    token = only(found, "cors.ws.auth")  # accepts a handshake without the X-Socket-Key it should require
    assert token.status is Status.FAIL and "bad token in X-Socket-Key: accepted" in token.observed


# --------------------------------------------------------------------------- ratelimit


def test_ratelimit_findings_come_from_the_catalog_and_say_why_a_severity_changed(pki: CertBundle) -> None:
    counts = {"/session": 0, "/search": 0}
    lock = threading.Lock()

    def counted(path: str, after: int, status: int):
        def route(handler) -> Reply:
            length = int(handler.headers.get("Content-Length") or 0)
            if length:
                handler.rfile.read(length)
            with lock:
                counts[path] += 1
                n = counts[path]
            return Reply(status if n > after else 200, [JSON], "{}")

        return route

    routes = {"/session": counted("/session", 4, 429), "/search": counted("/search", 2, 502)}
    with serve(routes, certs=pki) as site:
        env = Environment.model_validate(
            {
                "environment": "t",
                "base_url": site.base_url,
                "active_probes": True,
                "http": {"ca_bundle": str(site.ca_path), "connect_timeout": 2, "read_timeout": 3},
                "ratelimit": {
                    "margin": 4,
                    "endpoints": [
                        {"method": "PUT", "path": "/session", "body": "user=a&pw=b", "limit": 2, "window": "10m"},
                        {"path": "/search", "limit": 4, "window": 30},
                    ],
                },
            }
        )
        found = ratelimit.run(env)
    assert_catalogued(found, "ratelimit")
    emitted_every_id(found, "ratelimit")

    looser = only(found, "ratelimit.enforced", "/session")
    assert (looser.status, looser.severity) == (Status.WARN, Severity.MEDIUM) and "request 5" in looser.observed
    assert looser.severity_reason and looser.remediation == catalog().lookup("ratelimit.enforced").remediation
    assert only(found, "ratelimit.headers", "/session").status is Status.WARN  # a bare 429
    other = only(found, "ratelimit.enforced", "/search")
    assert (other.status, other.severity) == (Status.WARN, Severity.MEDIUM) and "502" in other.observed
    assert other.severity_reason and "limit_req_status 429" in other.remediation
    assert only(found, "ratelimit.headers", "/search").status is Status.SKIP


# --------------------------------------------------------------------------- charts


@pytest.mark.parametrize(
    ("plot", "empty", "message"),
    [
        (surface.plot_hits, surface.SurfaceAudit, "nothing scanned"),
        (cors.plot_matrix, cors.CorsAudit, "no CORS probes"),
        (ratelimit.plot_statuses, ratelimit.RateLimitAudit, "no bursts sent"),
    ],
)
def test_an_empty_chart_says_why_there_is_nothing_to_draw(plot, empty, message: str) -> None:
    fig = plot(empty())
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert len(texts) == 1 and texts[0].startswith(message)
    assert not any(ax.axison for ax in fig.axes)


@pytest.mark.parametrize(
    ("module", "params", "order", "title"),
    [
        (surface, surface.SurfaceParams, 40, "Exposed surface"),
        (cors, cors.CorsParams, 50, "CORS and WebSockets"),
        (ratelimit, ratelimit.RateLimitParams, 60, "Rate limits"),
    ],
)
def test_each_area_declares_its_interface(module, params, order: int, title: str) -> None:
    from harden_lib.area import AreaSpec

    spec = module.AREA
    assert isinstance(spec, AreaSpec) and spec.name == module.__name__.rsplit(".", 1)[-1]
    assert (spec.params, spec.order, spec.title) == (params, order, title) and len(spec.purpose) > 20
    assert callable(module.run)
