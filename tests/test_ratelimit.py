"""The ratelimit area against real local servers: a limiter that bites, one that never does, bounds."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pydantic import ValidationError

from harden_lib.checks import ratelimit
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply, serve

JSON = ("Content-Type", "application/json")


def limited(limit: int, headers: list[tuple[str, str]] | None = None):
    """A route allowing ``limit`` requests, then 429 (with ``headers``) for good."""
    count = {"n": 0}
    lock = threading.Lock()

    def route(handler) -> Reply:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with lock:
            count["n"] += 1
            n = count["n"]
        if n > limit:
            return Reply(429, [JSON, *(headers or [])], '{"error":"slow down"}')
        return Reply(200, [JSON], "{}")

    return route


def make_env(served, *, active: bool = True, **section: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "t",
            "base_url": served.base_url,
            "active_probes": active,
            "http": {"ca_bundle": str(served.ca_path), "connect_timeout": 2, "read_timeout": 3},
            "ratelimit": section,
        }
    )


def get(findings: list[Finding], check_id: str, target: str = "") -> Finding:
    found = [f for f in findings if f.check_id == check_id and target in f.target]
    assert len(found) == 1, found
    return found[0]


def test_probes_are_off_unless_the_environment_opts_in(pki: CertBundle) -> None:
    with serve({"/login": limited(3)}, certs=pki) as site:
        env = make_env(
            site, active=False, endpoints=[{"method": "POST", "path": "/login", "limit": 3, "window": "15m"}]
        )
        findings = ratelimit.run(env)
        assert site.requests == []  # not one request sent
    assert [(f.check_id, f.status) for f in findings] == [
        ("ratelimit.enforced", Status.SKIP),
        ("ratelimit.allows_limit", Status.SKIP),
        ("ratelimit.window", Status.SKIP),
    ]
    assert all("active_probes: true" in f.observed for f in findings)


def test_a_limit_that_bites_passes_with_its_headers(pki: CertBundle) -> None:
    headers = [("Retry-After", "900"), ("RateLimit-Limit", "3"), ("RateLimit-Remaining", "0")]
    with serve({"/login": limited(3, headers)}, certs=pki) as site:
        env = make_env(
            site,
            endpoints=[
                {"method": "POST", "path": "/login", "body": {"email": "a@example.com"}, "limit": 3, "window": "15m"}
            ],
        )
        report = ratelimit.audit(env)
        sent = [(m, p) for m, p, _ in site.requests]
    assert sent == [("POST", "/login")] * 4  # stops at the first 429
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.PASS and "first 429 at request 4" in enforced.observed
    shown = get(report.findings, "ratelimit.headers")
    assert shown.status is Status.PASS
    assert "retry-after: 900" in shown.observed and "ratelimit-limit: 3" in shown.observed
    assert report.bursts[0].statuses == [200, 200, 200, 429]
    assert report.bursts[0].threshold == 4
    table = report.table()
    assert table.loc[0, "first 429 at"] == 4 and table.loc[0, "requests sent"] == 4


def test_no_limit_fails_after_exactly_limit_plus_margin(pki: CertBundle) -> None:
    with serve({"/api/items": Reply(200, [JSON], "[]")}, certs=pki) as site:
        env = make_env(site, margin=3, endpoints=[{"path": "/api/items", "limit": 10, "window": 60}])
        report = ratelimit.audit(env)
        assert len(site.requests) == 13
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.FAIL and "no 429 within limit + margin (10+3)" in enforced.observed
    assert get(report.findings, "ratelimit.headers").status is Status.SKIP
    assert report.statuses()["status"].tolist() == [200] * 13


def test_a_looser_limit_warns_and_a_bare_429_warns(pki: CertBundle) -> None:
    with serve({"/reset": limited(5)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/reset", "limit": 3, "window": "1h"}])
        findings = ratelimit.run(env)
    enforced = get(findings, "ratelimit.enforced")
    assert enforced.status is Status.WARN and "first 429 at request 6" in enforced.observed
    assert get(findings, "ratelimit.headers").status is Status.WARN


def test_bursts_are_bounded_in_time(pki: CertBundle) -> None:
    def slow(handler) -> Reply:
        time.sleep(0.2)
        return Reply(200, [JSON], "{}")

    with serve({"/slow": slow}, certs=pki) as site:
        env = make_env(site, max_seconds=0.5, endpoints=[{"path": "/slow", "limit": 50, "window": 60}])
        started = time.monotonic()
        findings = ratelimit.run(env)
        elapsed = time.monotonic() - started
        sent = len(site.requests)
    assert elapsed < 2.5 and sent <= 4
    enforced = get(findings, "ratelimit.enforced")
    assert enforced.status is Status.ERROR and "time cap of 0.5 s" in enforced.observed


def test_bursts_are_bounded_in_count(pki: CertBundle) -> None:
    with serve({"/x": Reply(200, [JSON], "{}")}, certs=pki) as site:
        env = make_env(site, max_requests=10, endpoints=[{"path": "/x", "limit": 50, "window": 60}])
        findings = ratelimit.run(env)
        assert len(site.requests) == 10
    enforced = get(findings, "ratelimit.enforced")
    assert enforced.status is Status.ERROR and "max_requests (10)" in enforced.observed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_error() -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": f"https://127.0.0.1:{free_port()}",
            "active_probes": True,
            "http": {"connect_timeout": 1, "read_timeout": 1},
            "ratelimit": {"endpoints": [{"path": "/login", "method": "POST", "limit": 5, "window": "15m"}]},
        }
    )
    findings = ratelimit.run(env)
    assert [(f.check_id, f.status) for f in findings] == [
        ("ratelimit.enforced", Status.ERROR),
        ("ratelimit.allows_limit", Status.ERROR),
    ]


@pytest.mark.parametrize(("value", "seconds"), [(900, 900.0), ("15m", 900.0), ("1h", 3600.0), ("1 day", 86400.0)])
def test_parse_window(value: str | int, seconds: float) -> None:
    assert ratelimit.parse_window(value) == seconds


def test_params_are_validated() -> None:
    with pytest.raises(ValidationError, match="window"):
        Environment.model_validate(
            {"environment": "t", "ratelimit": {"endpoints": [{"path": "/x", "limit": 1, "window": "soon"}]}}
        )
    with pytest.raises(ValidationError):
        Environment.model_validate({"environment": "t", "ratelimit": {"max_requests": 100_000}})
    assert Environment.model_validate({"environment": "t"}).active_probes is False


def test_demo_target_shows_pass_fail_and_warn(tmp_path) -> None:
    """A fresh demo target (the limiter's state is per target), probed as params/demo.yaml says."""
    from pydantic import HttpUrl

    from harden_lib.demo import DemoTarget
    from harden_lib.environment import load_environment
    from harden_lib.notebook import default_params_path

    with DemoTarget(tmp_path) as demo:
        env = load_environment(default_params_path())
        http = env.http.model_copy(update={"ca_bundle": demo.ca_path})
        env = env.model_copy(update={"base_url": HttpUrl(demo.base_url), "http": http})
        report = ratelimit.audit(env)
    got = {(f.check_id, f.target.rsplit("/", 1)[-1], f.status.value) for f in report.findings}
    assert ("ratelimit.enforced", "login", "pass") in got
    assert ("ratelimit.headers", "login", "pass") in got
    assert ("ratelimit.enforced", "password-reset", "warn") in got
    assert ("ratelimit.enforced", "streams", "fail") in got
    assert [b.threshold for b in report.bursts] == [6, 6, None]
    assert len(report.bursts[2].statuses) == 105  # limit 100 + margin 5, no more


# --------------------------------------------------------------------------- broken routes are not missing limits


def always(status: int):
    """A route that answers ``status`` to everything (and reads the request body first)."""

    def route(handler) -> Reply:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        return Reply(status, [JSON], '{"error":"nope"}')

    return route


def sequence(*statuses: int, then: int):
    """Answers ``statuses`` in order, then ``then`` for good."""
    count = {"n": 0}
    lock = threading.Lock()

    def route(handler) -> Reply:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with lock:
            n = count["n"]
            count["n"] += 1
        return Reply(statuses[n] if n < len(statuses) else then, [JSON], "{}")

    return route


@pytest.mark.parametrize(
    ("status", "sent", "shown"),
    [
        (501, 3, "501\u00d73"),  # a missing route: stops after three answers, no point hammering it
        (404, 3, "404\u00d73"),
        (405, 3, "405\u00d73"),
        (500, 11, "500\u00d711"),  # could be transient: the whole bounded burst, still no verdict on the limit
        (503, 11, "503\u00d711"),
        (502, 11, "502\u00d711"),
    ],
)
def test_a_route_that_never_works_is_an_error_not_a_missing_limit(pki, status, sent, shown) -> None:
    with serve({"/api/login": always(status)}, certs=pki) as site:
        env = make_env(
            site, margin=3, endpoints=[{"method": "POST", "path": "/api/login", "limit": 8, "window": "15m"}]
        )
        report = ratelimit.audit(env)
        assert len(site.requests) == sent
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.ERROR, enforced.observed
    assert f"the route did not work: {shown}" in enforced.observed
    assert [(f.check_id, f.status) for f in report.findings] == [
        ("ratelimit.enforced", Status.ERROR),
        ("ratelimit.allows_limit", Status.ERROR),  # a broken route says nothing about blocking users
    ]
    if status == 405:
        assert "check the policy's method" in enforced.observed
    if status == 404:
        assert "check the policy's path" in enforced.observed


def test_a_429_among_5xx_is_still_a_limit_biting(pki) -> None:
    with serve({"/reset": sequence(500, 503, 200, 429, then=429)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/reset", "limit": 3, "window": "1h"}])
        report = ratelimit.audit(env)
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.PASS and "first 429 at request 4" in enforced.observed
    assert report.bursts[0].statuses == [500, 503, 200, 429]


def test_working_then_5xx_without_429_warns_never_passes_or_fails(pki) -> None:
    """nginx limit_req answers 503 by default: the route works, then 503 for the rest of the burst."""
    with serve({"/api/search": sequence(200, 200, 200, then=503)}, certs=pki) as site:
        env = make_env(site, margin=4, endpoints=[{"path": "/api/search", "limit": 5, "window": 60}])
        report = ratelimit.audit(env)
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.WARN, enforced.observed
    assert "worked for 3 request(s), then answered 503\u00d76 from request 4 on" in enforced.observed
    assert "limit_req_status 429" in enforced.remediation


def test_enough_working_answers_among_errors_still_fail(pki) -> None:
    with serve({"/api/items": sequence(500, 200, 502, 200, 200, 401, then=200)}, certs=pki) as site:
        env = make_env(site, margin=4, endpoints=[{"path": "/api/items", "limit": 4, "window": 60}])
        report = ratelimit.audit(env)
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.FAIL, enforced.observed
    assert "6 answer(s) showed the route working; 2 answer(s) did not" in enforced.observed
    assert "200\u00d75, 401\u00d71, 500\u00d71, 502\u00d71" in enforced.observed


def test_too_few_working_answers_are_an_error(pki) -> None:
    with serve({"/api/items": sequence(500, 200, 502, 200, 200, 401, then=200)}, certs=pki) as site:
        env = make_env(site, margin=2, endpoints=[{"path": "/api/items", "limit": 4, "window": 60}])
        report = ratelimit.audit(env)
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.ERROR, enforced.observed
    assert "only 4 answer(s) showed the route working (limit + 1 = 5 needed)" in enforced.observed


def test_connections_dropped_after_some_answers_warn(pki) -> None:
    from tests.stream_servers import reply, serve_raw

    count = {"n": 0}

    def route(handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        count["n"] += 1
        if count["n"] <= 2:
            reply(200, [JSON], "{}")(handler)
        else:  # a firewall-style limit: the connection is closed without an answer
            handler.close_connection = True

    with serve_raw({"/login": route}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/login", "limit": 5, "window": "15m"}])
        report = ratelimit.audit(env)
    enforced = get(report.findings, "ratelimit.enforced")
    assert enforced.status is Status.WARN, enforced.observed
    assert "then answered no answer\u00d73 from request 3 on" in enforced.observed


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([200] * 6, Status.FAIL),
        ([302] * 6, Status.FAIL),  # a login form redirecting after each attempt: the route works
        ([401] * 6, Status.FAIL),  # wrong credentials, every time: the route works
        ([301] * 6, Status.ERROR),  # moved elsewhere: the configured route never ran
        ([308] * 6, Status.ERROR),
        ([200, 200, 200, 200, 200, 503], Status.FAIL),  # limit + 1 answers worked before the 503
        ([200, 503, 200, 503, 200, 503], Status.ERROR),  # too few working answers, no clean switch
        ([503, 503, 200, 200, 200, 200], Status.ERROR),  # warming up: 4 worked, 5 needed
    ],
)
def test_which_answers_count_as_evidence(statuses: list[int], expected: Status) -> None:
    policy = ratelimit.EndpointPolicy(path="/x", limit=4, window=60)
    burst = ratelimit.Burst(policy, "https://127.0.0.1/x", statuses=statuses, seconds=0.1)
    findings = ratelimit.burst_findings(burst, ratelimit.RateLimitParams(margin=1))
    assert findings[0].check_id == "ratelimit.enforced" and findings[0].status is expected, findings[0].observed


# --------------------------------------------------------------------------- legitimate use and the window


def test_a_limit_stricter_than_the_policy_fails_allows_limit(pki: CertBundle) -> None:
    """The policy allows 5 per 15 min; the server refuses the 3rd request (a rate without burst)."""
    headers = [("Retry-After", "897")]
    with serve({"/login": limited(2, headers)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/login", "limit": 5, "window": "15m"}])
        report = ratelimit.audit(env)
        assert len(site.requests) == 3
    allows = get(report.findings, "ratelimit.allows_limit")
    assert allows.status is Status.FAIL and "first 429 at request 3, before the 5 requests" in allows.observed
    assert get(report.findings, "ratelimit.enforced").status is Status.PASS  # it does bite: that stays true
    assert get(report.findings, "ratelimit.window").status is Status.PASS  # 897 s + the burst ≈ 900 s


def test_the_limit_itself_allows_legitimate_use(pki: CertBundle) -> None:
    headers = [("RateLimit-Policy", "4;w=3600"), ("RateLimit", "limit=4, remaining=0, reset=3599")]
    with serve({"/reset": limited(4, headers)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/reset", "limit": 4, "window": "1h"}])
        findings = ratelimit.run(env)
    allows = get(findings, "ratelimit.allows_limit")
    assert allows.status is Status.PASS and "first 429 at request 5" in allows.observed
    window = get(findings, "ratelimit.window")
    assert window.status is Status.PASS and "ratelimit-policy w=3600" in window.observed


def test_no_429_at_all_allows_legitimate_use(pki: CertBundle) -> None:
    with serve({"/api/items": Reply(200, [JSON], "[]")}, certs=pki) as site:
        env = make_env(site, margin=1, endpoints=[{"path": "/api/items", "limit": 3, "window": 60}])
        findings = ratelimit.run(env)
    assert get(findings, "ratelimit.allows_limit").status is Status.PASS
    assert get(findings, "ratelimit.enforced").status is Status.FAIL
    assert not [f for f in findings if f.check_id == "ratelimit.window"]


def used_window(limit: int, used: int):
    """A route whose window was already used ``used`` times by someone else (Remaining says so)."""
    count = {"n": used}
    lock = threading.Lock()

    def route(handler) -> Reply:
        with lock:
            count["n"] += 1
            n = count["n"]
        left = [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", str(max(limit - n, 0)))]
        if n > limit:
            return Reply(429, [JSON, *left, ("Retry-After", "60")], "{}")
        return Reply(200, [JSON, *left], "{}")

    return route


@pytest.mark.parametrize(("used", "expected"), [(0, Status.PASS), (3, Status.ERROR), (10, Status.ERROR)])
def test_an_early_429_in_a_used_window_is_inconclusive(pki: CertBundle, used: int, expected: Status) -> None:
    with serve({"/api/search": used_window(10, used)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"path": "/api/search", "limit": 10, "window": "1m"}])
        findings = ratelimit.run(env)
    allows = get(findings, "ratelimit.allows_limit")
    assert allows.status is expected, allows.observed
    if used == 3:
        assert "RateLimit-Remaining 6" in allows.observed and "3 request(s) of the window were used" in allows.observed
    if used == 10:
        assert "429 from the first request" in allows.observed
    # Retry-After 60 on a 1m window: right for a fresh window; a used one started earlier, so shorter is expected
    assert get(findings, "ratelimit.window").status is Status.PASS


def test_a_short_reset_in_a_used_window_is_inconclusive_not_looser(pki: CertBundle) -> None:
    def route(handler) -> Reply:  # the window began 40 s before the burst: 20 s of it are left
        return Reply(429, [JSON, ("Retry-After", "20")], "{}")

    with serve({"/login": route}, certs=pki) as site:
        findings = ratelimit.run(make_env(site, endpoints=[{"path": "/login", "limit": 5, "window": "1m"}]))
    window = get(findings, "ratelimit.window")
    assert window.status is Status.ERROR and "inconclusive" in window.observed


def test_an_announced_limit_below_the_policy_is_a_failure_not_earlier_traffic(pki: CertBundle) -> None:
    """Remaining 2 of an announced 3 on the first answer: a fresh window of a smaller limit."""
    with serve({"/api/search": used_window(3, 0)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"path": "/api/search", "limit": 10, "window": "1m"}])
        findings = ratelimit.run(env)
    allows = get(findings, "ratelimit.allows_limit")
    assert allows.status is Status.FAIL and "announces a limit of 3" in allows.observed


@pytest.mark.parametrize(
    ("headers", "expected", "shown"),
    [
        ([("Retry-After", "3600")], Status.FAIL, "retry-after 3600 s"),  # policy 15m, locked out an hour
        ([("Retry-After", "30")], Status.WARN, "retry-after 30 s"),  # resets far sooner: looser
        ([("X-RateLimit-Reset", "{epoch_900}")], Status.PASS, "x-ratelimit-reset"),  # GitHub-style epoch seconds
        ([("X-RateLimit-Reset", "{epoch_ms_7200}")], Status.FAIL, "x-ratelimit-reset"),  # epoch milliseconds
        ([("Retry-After", "{http_date_880}")], Status.PASS, "retry-after"),  # an HTTP date
        ([("RateLimit-Reset", "850")], Status.PASS, "ratelimit-reset 850 s"),
        ([("RateLimit", '"default";r=0;t=890'), ("RateLimit-Policy", '"default";q=3;w=900')], Status.PASS, "w=900"),
        ([("RateLimit-Policy", "3;w=60")], Status.WARN, "w=60"),
        ([("Retry-After", "soon")], Status.SKIP, "cannot be observed"),
        ([], Status.SKIP, "cannot be observed"),
    ],
)
def test_window_from_the_429_headers(pki: CertBundle, headers, expected: Status, shown: str) -> None:
    from email.utils import formatdate

    now = time.time()
    values = {
        "{epoch_900}": str(int(now + 898)),
        "{epoch_ms_7200}": str(int((now + 7200) * 1000)),
        "{http_date_880}": formatdate(now + 880, usegmt=True),
    }
    headers = [(k, values.get(v, v)) for k, v in headers]
    with serve({"/login": limited(3, headers)}, certs=pki) as site:
        env = make_env(site, endpoints=[{"method": "POST", "path": "/login", "limit": 3, "window": "15m"}])
        findings = ratelimit.run(env)
    window = get(findings, "ratelimit.window")
    assert window.status is expected, window.observed
    assert shown in window.observed


def test_window_tolerance_is_a_parameter(pki: CertBundle) -> None:
    with serve({"/login": limited(3, [("Retry-After", "1200")])}, certs=pki) as site:
        strict = ratelimit.run(make_env(site, endpoints=[{"path": "/login", "limit": 3, "window": "15m"}]))
    with serve({"/login": limited(3, [("Retry-After", "1200")])}, certs=pki) as site:
        loose = ratelimit.run(
            make_env(site, window_tolerance=0.5, endpoints=[{"path": "/login", "limit": 3, "window": "15m"}])
        )
    assert get(strict, "ratelimit.window").status is Status.FAIL
    assert get(loose, "ratelimit.window").status is Status.PASS
