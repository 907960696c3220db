"""Independent verification of issue 10, item 6 (broken routes are not missing rate limits).

``tests/test_ratelimit.py`` drives routes that answer one status with a JSON body. Here the routes
misbehave the ways real stacks do: nginx's HTML "502 Bad Gateway" page with ``Connection: close``;
maintenance 503s carrying ``Retry-After`` (a Retry-After that is not a rate limit); a method the
server does not implement at all (Python's own 501 page); a server that sends complete headers and
then drops the connection mid-body on every request; 5xx answers and then a 429 (the limiter counted
the failed requests); and 429s whose limit headers are written the Okta/Twitter way
(``X-Rate-Limit-*``) or in the IETF draft's combined ``RateLimit`` field.
"""

from __future__ import annotations

import threading

import pytest

from harden_lib.checks import ratelimit
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply, serve
from tests.stream_servers import serve_raw

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)


def make_env(served, **section: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "verify-ratelimit",
            "base_url": served.base_url,
            "active_probes": True,
            "http": {"ca_bundle": str(served.ca_path), "connect_timeout": 2, "read_timeout": 2},
            "ratelimit": section,
        }
    )


def enforced(findings: list[Finding]) -> Finding:
    found = [f for f in findings if f.check_id == "ratelimit.enforced"]
    assert len(found) == 1, found
    return found[0]


def counted(*statuses: int, then: int, headers: list[tuple[str, str]] | None = None):
    """The n-th request gets ``statuses[n]`` (then ``then``); 429s carry ``headers``."""
    state = {"n": 0}
    lock = threading.Lock()

    def route(handler) -> Reply:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with lock:
            n = state["n"]
            state["n"] += 1
        status = statuses[n] if n < len(statuses) else then
        extra = (headers or []) if status == 429 else []
        return Reply(status, [("Content-Type", "application/json"), *extra], "{}")

    return route


def test_nginx_html_502_pages_are_a_broken_route_not_a_missing_limit(pki: CertBundle) -> None:
    def bad_gateway(handler) -> Reply:
        handler.close_connection = True
        return Reply(502, [("Content-Type", "text/html"), ("Server", "nginx/1.25.3"), ("Connection", "close")],
                     NGINX_502)  # fmt: skip

    with serve({"/api/session": bad_gateway}, certs=pki) as site:
        env = make_env(site, margin=2, endpoints=[{"method": "POST", "path": "/api/session", "limit": 4,
                                                   "window": "1m", "body": "user=a&password=b"}])  # fmt: skip
        report = ratelimit.audit(env)
    finding = enforced(report.findings)
    assert finding.status is Status.ERROR, finding.observed
    assert "the route did not work: 502\u00d76" in finding.observed
    # a broken route shows nothing about the limit, nor about legitimate use getting through (issue 15)
    assert [(f.check_id, f.status) for f in report.findings] == [
        ("ratelimit.enforced", Status.ERROR),
        ("ratelimit.allows_limit", Status.ERROR),
    ]


def test_maintenance_503_with_retry_after_is_not_a_limit_nor_a_missing_one(pki: CertBundle) -> None:
    maintenance = Reply(503, [("Content-Type", "text/html"), ("Retry-After", "3600")], "<h1>Down for maintenance</h1>")
    with serve({"/login": maintenance}, certs=pki) as site:
        env = make_env(site, margin=1, endpoints=[{"method": "POST", "path": "/login", "limit": 3, "window": "15m"}])
        report = ratelimit.audit(env)
    finding = enforced(report.findings)
    assert finding.status is Status.ERROR and "503\u00d74" in finding.observed, finding.observed
    assert not [f for f in report.findings if f.check_id == "ratelimit.headers" and f.status is Status.PASS]


def test_a_method_the_server_does_not_implement_stops_early_as_an_error(pki: CertBundle) -> None:
    """Python's http.server has no do_PATCH: it answers its own '501 Unsupported method' page."""
    with serve({"/api/profile": Reply(200, [], "{}")}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "PATCH", "path": "/api/profile", "limit": 10, "window": 60}])
        report = ratelimit.audit(env)
        sent = [m for m, _, _ in site.requests]
    finding = enforced(report.findings)
    assert finding.status is Status.ERROR and "501\u00d73" in finding.observed, finding.observed
    assert len(sent) <= 3  # not hammered: 501 says the route is not there for PATCH


def test_headers_then_a_dropped_connection_every_time_is_an_error(pki: CertBundle) -> None:
    def headers_then_drop(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "512")
        handler.end_headers()
        handler.wfile.write(b'{"ok":')
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.close()

    with serve_raw({"/api/items": headers_then_drop}, certs=pki) as site:
        env = make_env(site, endpoints=[{"path": "/api/items", "limit": 5, "window": 60}])
        report = ratelimit.audit(env)
    finding = enforced(report.findings)
    assert finding.status is Status.ERROR, finding.observed
    assert "could not probe" in finding.observed


def test_429_after_only_5xx_answers_is_a_limit_biting(pki: CertBundle) -> None:
    """The limiter counted the failed requests: a 429 within limit + 1 is the limit, whatever came before."""
    with serve({"/reset": counted(500, 502, 503, then=429, headers=[("Retry-After", "60")])}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/reset", "limit": 3, "window": "1h"}])
        report = ratelimit.audit(env)
    finding = enforced(report.findings)
    assert finding.status is Status.PASS and "first 429 at request 4" in finding.observed, finding.observed
    assert report.bursts[0].statuses == [500, 502, 503, 429]


def test_429_after_many_5xx_beyond_the_limit_is_looser_not_passed(pki: CertBundle) -> None:
    with serve({"/reset": counted(*([502] * 6), then=429, headers=[("Retry-After", "60")])}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/reset", "limit": 3, "window": "1h"}])
        report = ratelimit.audit(env)
    finding = enforced(report.findings)
    assert finding.status is Status.WARN and "first 429 at request 7" in finding.observed, finding.observed


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("RateLimit", "limit=3, remaining=0, reset=42")], id="ietf-combined-field"),
        pytest.param(
            [("X-Rate-Limit-Limit", "3"), ("X-Rate-Limit-Remaining", "0"), ("X-Rate-Limit-Reset", "42")],
            id="okta-twitter-x-rate-limit",
        ),
        pytest.param([("X-RateLimit-Reset", "1700000000")], id="github-x-ratelimit"),
    ],
)
def test_limit_headers_written_other_ways_are_recognised(pki: CertBundle, headers: list[tuple[str, str]]) -> None:
    with serve({"/login": counted(200, 200, 200, then=429, headers=headers)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/login", "limit": 3, "window": "15m"}])
        findings = ratelimit.run(env)
    assert enforced(findings).status is Status.PASS
    shown = next(f for f in findings if f.check_id == "ratelimit.headers")
    assert shown.status is Status.PASS, shown.observed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Retry-After", True),
        ("retry_after", True),
        ("X-RateLimit-Remaining", True),
        ("X-Rate-Limit-Reset", True),
        ("RATELIMIT-POLICY", True),
        ("X-Ratelimit-Reset-After", True),
        ("ratelimit", True),
        ("X-Request-Id", False),
        ("X-Rate", False),
        ("Limit", False),
    ],
)
def test_limit_header_names_are_recognised_however_spelled(name: str, expected: bool) -> None:
    from harden_lib.checks.ratelimit import is_limit_header

    assert is_limit_header(name) is expected
