"""The auth area against real local servers: APIs that check tokens, and ones that do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time

import pytest
from pydantic import ValidationError

from harden_lib.checks import auth
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply, serve

JSON = ("Content-Type", "application/json")
GOOD = "the-one-good-token"
SCANNER_TOKEN = "scanner-configured-token-do-not-send"


def make_env(served, *, active: bool = False, read_timeout: float = 3, **section: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "t",
            "base_url": served.base_url,
            "active_probes": active,
            "http": {
                "ca_bundle": str(served.ca_path),
                "connect_timeout": 2,
                "read_timeout": read_timeout,
                # an authenticated scan's header: the probes must never carry it
                "headers": {"Authorization": f"Bearer {SCANNER_TOKEN}"},
            },
            "auth": section,
        }
    )


def only(findings: list[Finding], check_id: str) -> Finding:
    found = [f for f in findings if f.check_id == check_id]
    assert len(found) == 1, found
    return found[0]


def body_of(handler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def jwt_claims(token: str) -> dict | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None


def api(kind: str):
    """A JSON API route with one of several token checks (``kind``)."""

    def route(handler) -> Reply:
        body_of(handler)
        header = handler.headers.get("Authorization")
        token = header[7:] if header and header.startswith("Bearer ") else None
        if kind == "strict":
            ok = token == GOOD
            if header is not None and not header.startswith("Bearer "):
                return Reply(400, [JSON], '{"error":"invalid_request"}')
        elif kind == "open":
            ok = True
        elif kind == "alg_none":  # decodes the JWT without verifying it: the classic bug
            ok = token == GOOD or (jwt_claims(token or "") or {}).get("role") == "admin"
        elif kind == "empty_bearer_passes":  # a present but empty credential skips the check
            ok = token == GOOD or header is None or header.strip() == "Bearer"
            ok = ok and header is not None
        elif kind == "login_redirect":
            if token != GOOD:
                return Reply(302, [("Location", "/login?next=/api/me&session=abc")], "")
            ok = True
        else:
            raise AssertionError(kind)
        if ok:
            return Reply(200, [JSON], '{"email":"user@example.com"}')
        return Reply(401, [JSON, ("WWW-Authenticate", 'Bearer error="invalid_token"')], '{"error":"unauthorized"}')

    return route


@pytest.mark.parametrize(
    ("kind", "expected", "shown"),
    [
        (
            "strict",
            Status.PASS,
            "no token: 401; invalid token: 401; unsigned JWT (alg none): 401; malformed header: 400",
        ),
        ("open", Status.FAIL, "served without a valid token (no token, invalid token"),
        ("alg_none", Status.FAIL, "served without a valid token (unsigned JWT (alg none))"),
        ("empty_bearer_passes", Status.FAIL, "served without a valid token (malformed header)"),
        ("login_redirect", Status.PASS, "no token: 302 → /login"),
    ],
)
def test_bearer_on_real_apis(pki: CertBundle, kind: str, expected: Status, shown: str) -> None:
    with serve({"/api/me": api(kind)}, certs=pki) as site:
        report = auth.audit(make_env(site, protected_routes=["/api/me"]))
        sent = [h.get("Authorization") for _, _, h in site.requests]
    found = only(report.findings, "auth.bearer")
    assert found.status is expected, found.observed
    assert shown in found.observed
    assert len(sent) == 4 and sent[0] is None  # four probes, the first without any Authorization
    assert all(SCANNER_TOKEN not in (s or "") for s in sent)  # the configured scan credential never travels
    assert "session=abc" not in found.observed and "user@example.com" not in found.observed
    assert list(report.table()["probe"]) == [
        "no token",
        "invalid token",
        "unsigned JWT (alg none)",
        "malformed header",
    ]


def test_strict_api_answering_400_to_a_malformed_header_passes(pki: CertBundle) -> None:
    with serve({"/api/orders": api("strict")}, certs=pki) as site:
        findings = auth.run(make_env(site, protected_routes=["/api/orders"], token_header="Authorization",
                                     token_prefix="Token "))  # fmt: skip
    found = only(findings, "auth.bearer")
    assert found.status is Status.PASS and "malformed header: 400" in found.observed


def test_login_redirect_warns_when_it_does_not_count_as_refused(pki: CertBundle) -> None:
    with serve({"/api/me": api("login_redirect")}, certs=pki) as site:
        findings = auth.run(make_env(site, protected_routes=["/api/me"], redirect_is_rejection=False))
    assert only(findings, "auth.bearer").status is Status.WARN


def hang(handler) -> Reply:
    time.sleep(5)
    return Reply(200, [JSON], "{}")


@pytest.mark.parametrize(
    ("route", "shown"),
    [
        (Reply(500, [JSON], '{"error":"boom"}'), "no token: 500"),
        (Reply(404, [JSON], "{}"), "no token: 404"),
        (Reply(301, [("Location", "/v2/api/me")], ""), "no token: 301 → /v2/api/me"),  # moved: not the route
        (Reply(302, [("Location", "/api/me/")], ""), "no token: 302 → /api/me/"),  # a trailing slash, not a login
        (Reply(429, [JSON], "{}"), "no token: 429"),
        (hang, "no answer"),
    ],
)
def test_broken_routes_are_errors_not_passes(pki: CertBundle, route, shown: str) -> None:
    with serve({"/api/me": route}, certs=pki) as site:
        started = time.monotonic()
        findings = auth.run(make_env(site, read_timeout=1, max_seconds=3, protected_routes=["/api/me"]))
        elapsed = time.monotonic() - started
    found = only(findings, "auth.bearer")
    assert found.status is Status.ERROR, found.observed
    assert shown in found.observed
    assert elapsed < 8  # hanging routes: bounded by the client's timeouts and auth.max_seconds


def test_mutating_routes_need_active_probes(pki: CertBundle) -> None:
    routes = [{"path": "/api/orders", "method": "POST"}, "/api/me"]
    with serve({"/api/orders": api("open"), "/api/me": api("strict")}, certs=pki) as site:
        findings = auth.run(make_env(site, protected_routes=routes))
        sent = {p for _, p, _ in site.requests}
    assert [(f.check_id, f.status) for f in findings] == [("auth.bearer", Status.SKIP), ("auth.bearer", Status.PASS)]
    assert sent == {"/api/me"}
    with serve({"/api/orders": api("open")}, certs=pki) as site:
        findings = auth.run(make_env(site, active=True, protected_routes=routes[:1]))
    assert only(findings, "auth.bearer").status is Status.FAIL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_is_error_and_nothing_configured_is_skip() -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": f"https://127.0.0.1:{free_port()}",
            "active_probes": True,
            "http": {"connect_timeout": 1, "read_timeout": 1},
            "auth": {"protected_routes": ["/api/me"], "webhooks": [{"path": "/hooks/stripe", "provider": "stripe"}]},
        }
    )
    got = [(f.check_id, f.status) for f in auth.run(env)]
    assert got == [("auth.bearer", Status.ERROR), ("auth.webhook_signature", Status.ERROR)]
    empty = auth.run(Environment.model_validate({"environment": "t", "base_url": "https://example.com"}))
    assert [(f.check_id, f.status) for f in empty] == [("auth.bearer", Status.SKIP)]


# --------------------------------------------------------------------------- webhooks

SECRET = b"whsec_test_secret_for_the_local_server"


def stripe_hook(kind: str):
    """A Stripe-style webhook: verifies ``t=…,v1=HMAC(t.body)`` (``verify``), or not."""

    def route(handler) -> Reply:
        body = body_of(handler)
        header = handler.headers.get("Stripe-Signature", "")
        if kind == "verify":
            fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
            expected = hmac.new(SECRET, f"{fields.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, fields.get("v1", "")):
                return Reply(400, [JSON], '{"error":"Webhook signature verification failed"}')
        elif kind == "presence_only" and not header:  # checks that a signature is there, not that it is right
            return Reply(400, [JSON], '{"error":"missing signature"}')
        elif kind == "crash_on_bad":
            return Reply(500, [JSON], '{"error":"SignatureVerificationError"}')
        return Reply(200, [JSON], '{"received":true}')

    return route


@pytest.mark.parametrize(
    ("kind", "expected", "shown"),
    [
        ("verify", Status.PASS, "unsigned: 400; wrong Stripe-Signature: 400"),
        ("accept_all", Status.FAIL, "accepted without a valid Stripe-Signature (unsigned, wrong Stripe-Signature)"),
        ("presence_only", Status.FAIL, "accepted without a valid Stripe-Signature (wrong Stripe-Signature)"),
        ("crash_on_bad", Status.ERROR, "unsigned: 500"),
    ],
)
def test_stripe_webhook_signature(pki: CertBundle, kind: str, expected: Status, shown: str) -> None:
    with serve({"/webhooks/stripe": stripe_hook(kind)}, certs=pki) as site:
        findings = auth.run(make_env(site, active=True, webhooks=[{"path": "/webhooks/stripe", "provider": "stripe"}]))
        sent = [(m, h.get("Stripe-Signature")) for m, _, h in site.requests]
    found = only(findings, "auth.webhook_signature")
    assert found.status is expected, found.observed
    assert shown in found.observed
    assert len(sent) == 2 and sent[0] == ("POST", None) and sent[1][1].startswith("t=")


def test_github_and_generic_webhooks(pki: CertBundle) -> None:
    def github(handler) -> Reply:
        body = body_of(handler)
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, handler.headers.get("X-Hub-Signature-256", ""))
        return Reply(204 if ok else 401, [], "")

    def generic(handler) -> Reply:  # reads the header's name case-insensitively, but never checks the value
        body_of(handler)
        return Reply(202 if handler.headers.get("x-signature") else 403, [], "")

    hooks = [
        {"path": "/hooks/github", "provider": "github"},
        {"path": "/hooks/partner", "signature_header": "X-Signature", "signature_prefix": "sha256="},
    ]
    with serve({"/hooks/github": github, "/hooks/partner": generic}, certs=pki) as site:
        findings = auth.run(make_env(site, active=True, webhooks=hooks))
        generic_sent = [h.get("X-Signature") for _, p, h in site.requests if p == "/hooks/partner"]
    statuses = [(f.target.rsplit("/", 1)[-1], f.status) for f in findings]
    assert statuses == [("github", Status.PASS), ("partner", Status.FAIL)]
    assert generic_sent == [None, "sha256=" + "0" * 64]


def test_webhooks_need_active_probes_and_params_are_validated(pki: CertBundle) -> None:
    with serve({"/webhooks/stripe": stripe_hook("accept_all")}, certs=pki) as site:
        findings = auth.run(make_env(site, webhooks=[{"path": "/webhooks/stripe", "provider": "stripe"}]))
        assert site.requests == []
    found = only(findings, "auth.webhook_signature")
    assert found.status is Status.SKIP and "active_probes: true" in found.observed
    with pytest.raises(ValidationError, match="signature_header"):
        Environment.model_validate({"environment": "t", "auth": {"webhooks": [{"path": "/hook"}]}})
    with pytest.raises(ValidationError, match="path"):
        Environment.model_validate({"environment": "t", "auth": {"protected_routes": ["api/me"]}})


def test_probes_stop_at_the_area_time_cap(pki: CertBundle) -> None:
    lock = threading.Lock()
    count = {"n": 0}

    def slow(handler) -> Reply:
        with lock:
            count["n"] += 1
        time.sleep(0.6)
        return Reply(401, [JSON], "{}")

    routes = [f"/api/r{i}" for i in range(6)]
    with serve(dict.fromkeys(routes, slow), certs=pki) as site:
        started = time.monotonic()
        findings = auth.run(make_env(site, max_seconds=1.5, protected_routes=routes))
        elapsed = time.monotonic() - started
    assert elapsed < 4 and count["n"] <= 4
    assert findings[0].status is Status.ERROR or findings[-1].status is Status.ERROR
    assert "auth.max_seconds reached" in findings[-1].observed


# --------------------------------------------------------------------------- the valid-token control


def test_valid_token_control(pki: CertBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARDEN_TEST_API_TOKEN", GOOD)
    refuse_all = Reply(401, [JSON], '{"error":"unauthorized"}')  # a WAF or a wrong route: refuses everyone
    with serve({"/api/me": api("strict"), "/api/all": refuse_all}, certs=pki) as site:
        env = make_env(site, protected_routes=["/api/me", "/api/all"], valid_token_env="HARDEN_TEST_API_TOKEN")
        report = auth.audit(env)
        sent = [h.get("Authorization") for _, p, h in site.requests if p == "/api/me"]
    checked, everyone = report.findings
    assert checked.status is Status.PASS and "valid token (control): 200 (served)" in checked.observed
    assert everyone.status is Status.WARN and "also with the valid token" in everyone.observed
    assert sent[-1] == f"Bearer {GOOD}" and len(sent) == 5
    shown = " ".join(f.observed for f in report.findings) + report.table().to_string()
    assert GOOD not in shown  # the control token is never shown


def test_valid_token_env_unset_is_an_error(pki: CertBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARDEN_TEST_UNSET_TOKEN", raising=False)
    with serve({"/api/me": api("strict")}, certs=pki) as site:
        findings = auth.run(make_env(site, protected_routes=["/api/me"], valid_token_env="HARDEN_TEST_UNSET_TOKEN"))
        assert site.requests == []
    found = only(findings, "auth.bearer")
    assert found.status is Status.ERROR and "HARDEN_TEST_UNSET_TOKEN" in found.observed
