"""The ratelimit area against real local servers: a limiter that bites, one that never does, bounds."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pydantic import ValidationError

from harden_lib.checks import ratelimit
from harden_lib.demo.certs import CertBundle
from harden_lib.findings import Finding, Status
from harden_lib.params import Environment
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
    assert [(f.check_id, f.status) for f in findings] == [("ratelimit.enforced", Status.SKIP)]
    assert "active_probes: true" in findings[0].observed


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
    assert [(f.check_id, f.status) for f in findings] == [("ratelimit.enforced", Status.ERROR)]


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
    from harden_lib.notebook import default_params_path
    from harden_lib.params import load_environment

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
