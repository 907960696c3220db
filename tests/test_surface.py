"""The surface area against real local servers: routes, redirect, asset leaks, exposed files, health."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pydantic import ValidationError

from harden_lib.checks import surface
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Severity, Status
from tests.servers import Reply, serve

HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
HTML = ("Content-Type", "text/html; charset=utf-8")
JS = ("Content-Type", "text/javascript")
ENV_SECRET = "sk_live_0123456789abcdefSECRET"

PAGE = """<!doctype html><html><head>
<LINK REL="stylesheet" href="/static/app.css">
<link rel="preload" href="/static/vendor.js" as="script">
<link rel="manifest" href="/manifest.json">
<link rel="icon" href="data:,">
<script src="/static/app.js"></script>
<script src="https://cdn.other.example/lib.js"></script>
</head><body><script>window.cfg={relay:"wss://relay.example.com"}</script></body></html>"""


def make_env(served, *, http_url: str | None = None, production: bool = True, **section: object) -> Environment:
    data: dict = {
        "environment": "t",
        "production": production,
        "base_url": served.base_url,
        "http": {"ca_bundle": str(served.ca_path), "connect_timeout": 2, "read_timeout": 3},
        "surface": {"check_redirect": http_url is not None, **section},
    }
    if http_url:
        data["http_url"] = http_url
    return Environment.model_validate(data)


def by_id(findings: list[Finding], check_id: str, target_contains: str = "") -> list[Finding]:
    found = [f for f in findings if f.check_id == check_id and target_contains in f.target]
    assert found, f"no {check_id} finding with target ~ {target_contains!r}: {[f.check_id for f in findings]}"
    return found


def one(findings: list[Finding], check_id: str, target_contains: str = "") -> Finding:
    found = by_id(findings, check_id, target_contains)
    assert len(found) == 1, found
    return found[0]


def clean_routes() -> dict:
    return {
        "/": Reply(200, [HTML, HSTS], PAGE),
        "/login": Reply(200, [HTML, HSTS], "<html><body>login</body></html>"),
        "/static/app.css": Reply(200, [("Content-Type", "text/css"), HSTS], "body{color:#222}"),
        "/static/vendor.js": Reply(200, [JS, HSTS], "/* vendor */ var v=1;"),
        "/static/app.js": Reply(200, [JS, HSTS], 'var ice=[{urls:"turns:turn.example.com:5349"}];'),
        "/manifest.json": Reply(200, [("Content-Type", "application/manifest+json"), HSTS], '{"name":"x"}'),
        "/healthz": Reply(200, [("Content-Type", "application/json")], '{"ok":true}'),
    }


REQUIRED = [{"name": "wss", "pattern": "wss://"}, {"name": "turn", "pattern": r"\bturns?:"}]


def test_a_clean_site_passes_every_check(pki: CertBundle) -> None:
    with serve(clean_routes(), certs=pki) as site:
        plain_routes = {"*": lambda h: Reply(301, [("Location", site.base_url + h.path)], "")}
        with serve(plain_routes, tls=False) as plain:
            env = make_env(
                site,
                http_url=plain.base_url,
                routes=[{"path": "/"}, {"path": "/login", "status": [200]}],
                required=REQUIRED,
                health=["/healthz"],
            )
            report = surface.audit(env)
    bad = [(f.check_id, f.target, f.status.value, f.observed) for f in report.findings if f.status is not Status.PASS]
    assert not bad, bad
    ids = {f.check_id for f in report.findings}
    assert ids >= {
        "surface.route",
        "surface.http_redirect",
        "surface.hsts",
        "surface.assets.forbidden",
        "surface.assets.required",
        "surface.source_map",
        "surface.exposed_path",
        "surface.health",
    }
    scanned = {d.url.rsplit("/", 1)[-1] for d in report.documents}
    assert scanned == {"", "app.css", "vendor.js", "app.js", "manifest.json"}  # page + 4 same-site assets
    assert report.skipped_assets == ["https://cdn.other.example/lib.js"]  # third parties stay unfetched
    assert len(by_id(report.findings, "surface.exposed_path")) == len(surface.DEFAULT_EXPOSED)
    routes = report.routes_table()
    assert list(routes["status"]) == [200, 200] and list(routes["outcome"]) == ["pass", "pass"]
    assert one(report.findings, "surface.http_redirect").observed.startswith("301 http://127.0.0.1")


LEAKY_JS = (
    "/*! app */\n"
    'var api="http://localhost:3000",sig="ws://10.0.0.5:7777/signal",ok="wss://relay.example.com";\n'
    'var evil="<script>alert(1)</script>";var h="192.168.1.20";var v="172.15.0.1";var u="[::1]";\n'
    "//# sourceMappingURL=app.js.map"
)


def leaky_routes() -> dict:
    def slow(handler) -> Reply:
        time.sleep(0.3)
        return Reply(200, [("Content-Type", "application/json")], "{}")

    return {
        "/": Reply(200, [HTML], '<html><head><script src="/static/app.js"></script></head></html>'),
        "/static/app.js": Reply(200, [JS], LEAKY_JS),
        "/static/app.js.map": Reply(200, [("Content-Type", "application/json")], '{"version":3,"mappings":"AAAA"}'),
        "/.env": Reply(200, [("Content-Type", "text/plain")], f"STRIPE_SECRET_KEY={ENV_SECRET}\n"),
        "/.git/HEAD": Reply(200, [("Content-Type", "text/plain")], "ref: refs/heads/main\n"),
        "/health": Reply(503, [("Content-Type", "application/json")], '{"ok":false}'),
        "/slow-health": slow,
    }


def test_a_leaky_site_fails_with_evidence(pki: CertBundle) -> None:
    with serve(leaky_routes(), certs=pki) as site, serve({"/": Reply(200, [HTML], "plain")}, tls=False) as plain:
        env = make_env(
            site,
            http_url=plain.base_url,
            routes=[{"path": "/"}, {"path": "/status", "status": [200, 204]}],
            required=[{"name": "turn", "pattern": r"\bturns?:"}],
            forbidden=[{"name": "signal port", "pattern": r":7777\b"}],
            health=["/health", "/slow-health"],
            health_max_seconds=0.1,
        )
        report = surface.audit(env)
    f = report.findings
    assert one(f, "surface.route", "/status").status is Status.FAIL
    assert "404" in one(f, "surface.route", "/status").observed
    assert one(f, "surface.http_redirect").status is Status.FAIL
    assert one(f, "surface.hsts").status is Status.FAIL
    leak = one(f, "surface.assets.forbidden", "app.js")
    assert leak.status is Status.FAIL and leak.severity is Severity.HIGH
    hints = [h.hint for h in report.hits if h.kind == "forbidden"]
    assert sorted(hints) == sorted(["localhost", "ws://", "private IPv4", "private IPv4", "[::1]", "signal port"])
    assert not [h for h in report.hits if LEAKY_JS[h.offset :].startswith("172.15")]  # outside 172.16/12
    # Line and column point at the hit; the excerpt is escaped (no live markup from the target).
    local = next(h for h in report.hits if h.hint == "localhost")
    assert (local.line, local.column) == (2, 17)  # var api="http:// is 16 characters
    private = [h for h in report.hits if h.hint == "private IPv4"]
    assert {h.line for h in private} == {2, 3}
    hostile = next(h for h in report.hits if h.hint == "private IPv4" and h.line == 3)
    # quoted as sent (issue 14: no more \x3c…\x3e); every report escapes it where it shows it
    assert "<script>alert(1)</script>" in hostile.excerpt and "\\x3c" not in hostile.excerpt
    from harden_lib.findings import findings_frame
    from harden_lib.render import table_html

    shown = table_html(report.hits_table()) + table_html(findings_frame([leak]))
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    page = [x for x in f if x.check_id == "surface.assets.forbidden" and x.target == site.base_url + "/"]
    assert [x.status for x in page] == [Status.PASS]  # the page itself has no hint
    assert one(f, "surface.assets.required").status is Status.FAIL
    smap = one(f, "surface.source_map", "app.js.map")
    assert smap.status is Status.FAIL and "200" in smap.observed
    env_file = one(f, "surface.exposed_path", "/.env")
    assert env_file.status is Status.FAIL and env_file.severity is Severity.CRITICAL
    assert ENV_SECRET not in env_file.observed and "STRIPE" not in str(report.exposed_table().to_dict())
    assert one(f, "surface.exposed_path", "/.git/HEAD").status is Status.FAIL
    assert one(f, "surface.exposed_path", "/debug").status is Status.PASS
    assert one(f, "surface.health", "/health").status is Status.FAIL
    slow = one(f, "surface.health", "/slow-health")
    assert slow.status is Status.WARN and "slower than 0.1 s" in slow.observed
    assert all(ENV_SECRET not in (x.observed + x.target) for x in f)


def spa_routes() -> dict:
    index = '<html><head><script src="/static/main.js"></script></head><body><div id=root></div></body></html>'
    return {
        "/static/main.js": Reply(200, [JS, HSTS], "render();"),
        "/.env": Reply(200, [("Content-Type", "text/plain")], "DEBUG=1\n"),
        "*": Reply(200, [HTML, HSTS], index),  # the catch-all: every unknown path gets the index page
    }


def test_spa_catch_all_is_not_a_false_alarm(pki: CertBundle) -> None:
    with serve(spa_routes(), certs=pki) as site:
        report = surface.audit(make_env(site))
    exposed = {f.target.rsplit("/", 1)[-1]: f for f in by_id(report.findings, "surface.exposed_path")}
    assert exposed[".env"].status is Status.FAIL  # a real file, different from the catch-all answer
    for name in ("HEAD", ".DS_Store", "server-status", "debug"):
        assert exposed[name].status is Status.PASS, exposed[name]
        assert "catch-all" in exposed[name].observed
    # main.js.map answers the index page with 200: not a source map.
    assert one(report.findings, "surface.source_map").status is Status.PASS


def test_spa_catch_all_with_a_fresh_nonce_per_answer_is_not_a_false_alarm(pki: CertBundle) -> None:
    import secrets as random

    def index(handler) -> Reply:
        nonce = random.token_urlsafe(16)
        body = f'<html><head><script nonce="{nonce}">boot()</script></head><body>{"x" * 400}</body></html>'
        return Reply(200, [HTML, HSTS], body)

    routes = {"/.git/HEAD": Reply(200, [("Content-Type", "text/plain")], "ref: refs/heads/main\n"), "*": index}
    with serve(routes, certs=pki) as site:
        report = surface.audit(make_env(site))
    exposed = {f.target.rsplit("/", 1)[-1]: f.status for f in by_id(report.findings, "surface.exposed_path")}
    assert exposed.pop("HEAD") is Status.FAIL
    assert set(exposed.values()) == {Status.PASS}


def test_assets_are_fetched_concurrently_within_the_connection_bound(pki: CertBundle) -> None:
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def asset(handler) -> Reply:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return Reply(200, [JS], "var x=1;")

    scripts = "".join(f'<script src="/a/{i}.js"></script>' for i in range(24))
    routes = {"/": Reply(200, [HTML, HSTS], f"<html><head>{scripts}</head></html>"), "*": asset}
    with serve(routes, certs=pki) as site:
        env = make_env(site, connections=4, check_source_maps=False, exposed_paths=[])
        started = time.monotonic()
        report = surface.audit(env)
        elapsed = time.monotonic() - started
    assert len([d for d in report.documents if d.kind == "script"]) == 24
    assert 1 < active["max"] <= 4, active
    assert elapsed < 24 * 0.05  # faster than one by one


def test_max_assets_caps_what_is_fetched(pki: CertBundle) -> None:
    scripts = "".join(f'<script src="/a/{i}.js"></script>' for i in range(10))
    routes = {"/": Reply(200, [HTML, HSTS], scripts), "*": Reply(200, [JS], "1")}
    with serve(routes, certs=pki) as site:
        report = surface.audit(make_env(site, max_assets=3, check_source_maps=False, exposed_paths=[]))
        fetched = [p for m, p, _ in site.requests if p.startswith("/a/")]
    assert len(fetched) == 3 and len(report.skipped_assets) == 7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_target_is_error_never_pass() -> None:
    port = free_port()
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": f"https://127.0.0.1:{port}",
            "http": {"connect_timeout": 1, "read_timeout": 1},
            "surface": {"check_redirect": False, "health": ["/healthz"], "required": REQUIRED},
        }
    )
    findings = surface.run(env)
    assert findings
    by_check = {f.check_id: f.status for f in findings if f.check_id != "surface.exposed_path"}
    assert by_check["surface.route"] is Status.ERROR
    assert by_check["surface.hsts"] is Status.ERROR
    assert by_check["surface.health"] is Status.ERROR
    assert by_check["surface.assets.required"] is Status.ERROR
    assert by_check["surface.source_map"] is Status.ERROR
    assert not [f for f in findings if f.status is Status.PASS]
    assert all(f.status is Status.ERROR for f in by_id(findings, "surface.exposed_path"))


def test_extract_assets_uses_a_real_parser() -> None:
    html = """<html><head>
    <script>var s = '<script src="/fake.js"></script>';</script>
    <!-- <script src="/commented.js"></script> -->
    <script type=module src=./m.js></script>
    <link rel="modulepreload" href="/x.mjs"><link rel="alternate stylesheet" href="/alt.css">
    <link rel="icon" href="/favicon.ico"><script src="javascript:void(0)"></script>
    <script src="/m.js#frag"></script></head></html>"""
    assets = surface.extract_assets(html, "https://a.example/app/page")
    assert assets == [
        ("script", "https://a.example/app/m.js"),
        ("modulepreload", "https://a.example/x.mjs"),
        ("stylesheet", "https://a.example/alt.css"),
        ("script", "https://a.example/m.js"),
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("http://localhost:8080", "localhost"),
        ("LOCALHOST", "localhost"),
        ("http://127.0.0.2/", "127.0.0.1"),
        ("0.0.0.0:80", "0.0.0.0"),
        ("http://[::1]:3000", "[::1]"),
        ("10.1.2.3", "private IPv4"),
        ("172.31.255.1", "private IPv4"),
        ("192.168.0.1", "private IPv4"),
        ("new WebSocket('ws://x')", "ws://"),
    ],
)
def test_builtin_forbidden_hints_match(text: str, hint: str) -> None:
    hits = surface.search_hints("u", text, surface.compile_hints([], builtin=True), "forbidden")
    assert [h.hint for h in hits] == [hint]


@pytest.mark.parametrize("text", ["wss://relay.example", "172.32.0.1", "version 110.0.0.10", "news://x", "1.10.0.0"])
def test_builtin_forbidden_hints_do_not_overmatch(text: str) -> None:
    assert surface.search_hints("u", text, surface.compile_hints([], builtin=True), "forbidden") == []


def test_hits_are_capped_per_pattern() -> None:
    hits = surface.search_hints("u", "localhost " * 500, surface.compile_hints([], builtin=True), "forbidden")
    assert len(hits) == surface.MAX_HITS_PER_PATTERN


def test_params_are_validated() -> None:
    with pytest.raises(ValidationError, match="regular expression"):
        Environment.model_validate({"environment": "t", "surface": {"forbidden": [{"name": "x", "pattern": "("}]}})
    with pytest.raises(ValidationError, match="path starting"):
        Environment.model_validate({"environment": "t", "surface": {"exposed_paths": [".env"]}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Environment.model_validate({"environment": "t", "surface": {"page": ["/"]}})


def test_demo_target_shows_pass_fail_and_warn() -> None:
    from harden_lib.notebook import open_environment

    env = open_environment("")
    findings = surface.run(env)
    got = {(f.check_id, f.status.value) for f in findings}
    assert ("surface.assets.forbidden", "fail") in got
    assert ("surface.source_map", "fail") in got
    assert ("surface.hsts", "warn") in got
    assert ("surface.assets.required", "pass") in got
    assert ("surface.http_redirect", "pass") in got
    assert ("surface.route", "fail") in got  # /.well-known/security.txt is missing
