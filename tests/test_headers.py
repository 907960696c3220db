"""The headers area against real local HTTPS servers (and plain-HTTP ones for the redirect)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from harden_lib.areas import AREAS
from harden_lib.catalog import catalog
from harden_lib.checks.headers import (
    HeadersParams,
    analyse_response,
    audit,
    header_table,
    redact_set_cookie,
    run,
    safe_text,
)
from harden_lib.demo.certs import CertBundle, generate_chain
from harden_lib.environment import Environment, load_environment
from harden_lib.errors import ParamsError
from harden_lib.findings import Finding, Status, findings_frame, gate
from harden_lib.redact import SECRETS
from harden_lib.render import style_findings, table_html
from tests.servers import Reply, serve

HTML = [("Content-Type", "text/html; charset=utf-8")]
GOOD_HEADERS = [
    *HTML,
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Set-Cookie", "__Host-sessionid=abcdefghijklmnop; Path=/; Secure; HttpOnly; SameSite=Lax"),
]
GOOD_BODY = '<html><head><script src="/static/app.js" integrity="sha384-abc"></script></head><body></body></html>'

SESSION_VALUE = "s3cr3t-SESSION-value-4242"
CSRF_VALUE = "csrf-VALUE-77889900"
DEMO_HEADERS = [
    *HTML,
    ("Strict-Transport-Security", "max-age=86400"),
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("X-Powered-By", "Express"),
    ("Set-Cookie", f"session={SESSION_VALUE}; Path=/"),
    ("Set-Cookie", f"csrftoken={CSRF_VALUE}; Path=/; Secure; SameSite=Strict"),
]
DEMO_BODY = '<html><head><script src="/static/app.js"></script></head><body>demo</body></html>'


def reply(headers: list[tuple[str, str]], body: str = "", status: int = 200, server: str = "hardened"):
    """A route that also sets the Server header (the test server would add its Python version)."""

    def route(handler) -> Reply:
        handler.server_version = server
        handler.sys_version = ""
        return Reply(status, headers, body)

    return route


def make_env(served, *, http_url: str | None = None, **headers: object) -> Environment:
    data: dict = {
        "environment": "t",
        "base_url": served.base_url,
        "http": {"ca_bundle": str(served.ca_path), "connect_timeout": 2, "read_timeout": 3},
        "headers": {"check_redirect": http_url is not None, **headers},
    }
    if http_url:
        data["http_url"] = http_url
    return Environment.model_validate(data)


def by_id(findings: list[Finding], check_id: str, target_contains: str = "") -> Finding:
    matches = [f for f in findings if f.check_id == check_id and target_contains in f.target]
    assert len(matches) >= 1, f"no {check_id} finding (target ~ {target_contains!r})"
    return matches[0]


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {f"{f.check_id} @ {f.target}": f.status.value for f in findings}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redirect_to(target_base: str, status: int = 301) -> Callable:
    return lambda h: Reply(status, [("Location", target_base + h.path)], "")


# --------------------------------------------------------------------------- whole pages


def test_well_configured_site_passes_everything(pki: CertBundle) -> None:
    with (
        serve({"/": reply(GOOD_HEADERS, GOOD_BODY)}, certs=pki) as site,
        serve({"*": redirect_to(site.base_url)}, tls=False) as plain,
    ):
        report = audit(make_env(site, http_url=plain.base_url))
    bad = {k: v for k, v in statuses(report.findings).items() if v not in ("pass", "skip")}
    assert bad == {}
    ids = {f.check_id for f in report.findings}
    catalogued = {s.id for s in catalog().for_area("headers")}
    assert ids >= catalogued - {"headers.execution"}
    assert ids <= catalogued, "every id the area emits is in catalog/headers.yaml"
    assert by_id(report.findings, "headers.hsts.preload").status is Status.PASS
    assert by_id(report.findings, "headers.cookies.httponly", "__Host-sessionid").status is Status.PASS
    score = report.scores[site.base_url + "/"]
    assert (score.score, score.grade) == (140, "A+")
    grade = by_id(report.findings, "headers.observatory.grade")
    assert grade.status is Status.PASS and "score 140, grade A+" in grade.observed
    assert gate(report.findings).go


def test_demo_posture_shows_pass_fail_and_warn(pki: CertBundle) -> None:
    routes = {p: reply(DEMO_HEADERS, DEMO_BODY, server="nginx/1.18.0 (Ubuntu)") for p in ("/", "/login")}
    with serve(routes, certs=pki) as site, serve({"*": redirect_to(site.base_url)}, tls=False) as plain:
        env = make_env(site, http_url=plain.base_url, urls=["/", "/login"])
        findings = run(env)
    s = statuses(findings)
    root = site.base_url + "/"
    assert s[f"headers.hsts.present @ {root}"] == "pass"
    assert s[f"headers.hsts.max_age @ {root}"] == "fail"
    assert "86400" in by_id(findings, "headers.hsts.max_age").observed
    assert s[f"headers.hsts.include_subdomains @ {root}"] == "warn"
    assert s[f"headers.csp.present @ {root}"] == "pass"
    assert s[f"headers.csp.unsafe_inline @ {root}"] == "fail"
    assert s[f"headers.csp.object_src @ {root}"] == "pass"
    assert s[f"headers.csp.frame_ancestors @ {root}"] == "pass"
    assert s[f"headers.csp.base_uri @ {root}"] == "pass"
    assert s[f"headers.x_frame_options @ {root}"] == "pass"
    assert s[f"headers.permissions_policy @ {root}"] == "warn"
    assert s[f"headers.corp @ {root}"] == "warn"
    assert s[f"headers.coop @ {root}"] == "pass"
    assert s[f"headers.server_banner @ {root}"] == "fail"
    assert "nginx/1.18.0" in by_id(findings, "headers.server_banner").observed
    assert s[f"headers.x_powered_by @ {root}"] == "fail"
    assert s[f"headers.cookies.secure @ {root} (cookie: session)"] == "fail"
    assert s[f"headers.cookies.httponly @ {root} (cookie: session)"] == "fail"
    assert s[f"headers.cookies.samesite @ {root} (cookie: session)"] == "warn"
    assert s[f"headers.cookies.secure @ {root} (cookie: csrftoken)"] == "pass"
    assert s[f"headers.cookies.samesite @ {root} (cookie: csrftoken)"] == "pass"
    assert s[f"headers.cookies.httponly @ {root} (cookie: csrftoken)"] == "skip"
    assert s[f"headers.redirect_https @ {plain.base_url}/"] == "pass"
    grade = by_id(findings, "headers.observatory.grade", "/login")
    assert grade.status is Status.FAIL
    assert "score 30, grade D" in grade.observed
    assert {f.target for f in findings if f.check_id == "headers.observatory.grade"} == {root, site.base_url + "/login"}
    assert not gate(findings).go
    # the cookie values never leave the check
    dumped = json.dumps([f.model_dump(mode="json") for f in findings])
    assert SESSION_VALUE not in dumped and CSRF_VALUE not in dumped
    assert "session=[REDACTED]" in by_id(findings, "headers.cookies.secure", "session").observed


def test_bare_site_fails_the_basics(pki: CertBundle) -> None:
    with serve({"/": reply(HTML, "<p>hello</p>")}, certs=pki) as site:
        findings = run(make_env(site))
    s = {f.check_id: f.status.value for f in findings}
    assert s["headers.fetch"] == "pass"
    assert s["headers.hsts.present"] == "fail"
    assert s["headers.hsts.max_age"] == "skip"
    assert s["headers.csp.present"] == "fail"
    assert s["headers.csp.unsafe_inline"] == "skip"
    assert s["headers.x_frame_options"] == "fail"
    assert s["headers.x_content_type_options"] == "fail"
    assert s["headers.referrer_policy"] == "warn"
    assert s["headers.server_banner"] == "pass"
    assert s["headers.x_powered_by"] == "pass"
    assert s["headers.x_xss_protection"] == "pass"  # absent: the current advice, with the reason
    xxp = next(f for f in findings if f.check_id == "headers.x_xss_protection")
    assert "removed the XSS auditor" in xxp.observed
    assert s["headers.redirect_https"] == "skip"  # check_redirect off: said explicitly, never a pass
    redirect = next(f for f in findings if f.check_id == "headers.redirect_https")
    assert "Not tested: disabled by headers.check_redirect" in redirect.observed
    assert redirect.target == "http://127.0.0.1/"  # the page host's plain-HTTP address (port 80)
    assert not any(f.check_id.startswith("headers.cookies.") for f in findings)
    grade = by_id(findings, "headers.observatory.grade")
    assert grade.status is Status.FAIL and "score 30, grade D" in grade.observed


# --------------------------------------------------------------------------- one header at a time


@pytest.fixture(scope="module")
def shared(pki: CertBundle):
    """One server for the many one-header cases (each case adds its own path).

    Starting and stopping a server per case costs about half a second (the server's
    shutdown poll); the route table is read per request, so cases can add routes.
    """
    routes: dict = {}
    with serve(routes, certs=pki) as site:
        yield site, routes


_case = iter(range(1_000_000))


def one_on(shared, headers: list[tuple[str, str]], body: str = "", **params: object) -> list[Finding]:
    site, routes = shared
    path = f"/case-{next(_case)}"
    routes[path] = reply([*HTML, *headers], body)
    return run(make_env(site, urls=[path], **params))


@pytest.mark.parametrize(
    ("value", "present", "max_age", "subdomains", "preload"),
    [
        ("max-age=31536000; includeSubDomains", "pass", "pass", "pass", "skip"),
        ("max-age=31535999", "pass", "fail", "warn", "skip"),
        ("max-age=0", "fail", "fail", "warn", "skip"),
        ("max-age=63072000; preload", "pass", "pass", "warn", "warn"),
        ("includeSubDomains", "fail", "skip", "skip", "skip"),
        ("max-age=1; max-age=2", "fail", "skip", "skip", "skip"),
        ('max-age="63072000"; includeSubDomains; preload', "pass", "pass", "pass", "pass"),
    ],
)
def test_hsts(shared, value: str, present: str, max_age: str, subdomains: str, preload: str) -> None:
    s = {f.check_id: f.status.value for f in one_on(shared, [("Strict-Transport-Security", value)])}
    assert (
        s["headers.hsts.present"],
        s["headers.hsts.max_age"],
        s["headers.hsts.include_subdomains"],
        s["headers.hsts.preload"],
    ) == (present, max_age, subdomains, preload)


def test_hsts_params_tighten(shared) -> None:
    findings = one_on(
        shared,
        [("Strict-Transport-Security", "max-age=31536000")],
        hsts_min_age=63072000,
        require_include_subdomains=True,
        require_preload=True,
    )
    s = {f.check_id: f.status.value for f in findings}
    assert s["headers.hsts.max_age"] == "fail"
    assert "63072000" in by_id(findings, "headers.hsts.max_age").expected
    assert s["headers.hsts.include_subdomains"] == "fail"
    assert s["headers.hsts.preload"] == "fail"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("X-Frame-Options", "SAMEORIGIN")], "pass"),
        ([("X-Frame-Options", "allow-from https://a.example")], "warn"),
        ([("X-Frame-Options", "DENY"), ("X-Frame-Options", "SAMEORIGIN")], "fail"),
        ([], "fail"),
        ([("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")], "pass"),
    ],
)
def test_x_frame_options(shared, headers: list[tuple[str, str]], expected: str) -> None:
    assert by_id(one_on(shared, headers), "headers.x_frame_options").status.value == expected


@pytest.mark.parametrize(
    ("check_id", "headers", "expected"),
    [
        ("headers.x_content_type_options", [("X-Content-Type-Options", "NoSniff")], "pass"),
        ("headers.x_content_type_options", [("X-Content-Type-Options", "sniff-away")], "fail"),
        ("headers.referrer_policy", [("Referrer-Policy", "strict-origin-when-cross-origin")], "pass"),
        ("headers.referrer_policy", [("Referrer-Policy", "unsafe-url")], "fail"),
        ("headers.referrer_policy", [("Referrer-Policy", "unsafe-url, no-referrer")], "pass"),
        ("headers.referrer_policy", [("Referrer-Policy", "bogus")], "fail"),
        ("headers.permissions_policy", [("Permissions-Policy", "camera=(), payment=(self)")], "pass"),
        ("headers.permissions_policy", [("Permissions-Policy", "camera 'none'")], "warn"),
        ("headers.permissions_policy", [("Feature-Policy", "camera 'none'")], "warn"),
        ("headers.coop", [("Cross-Origin-Opener-Policy", "same-origin")], "pass"),
        ("headers.coop", [("Cross-Origin-Opener-Policy", "unsafe-none")], "warn"),
        ("headers.coop", [], "warn"),
        ("headers.corp", [("Cross-Origin-Resource-Policy", "same-site")], "pass"),
        ("headers.corp", [("Cross-Origin-Resource-Policy", "cross-origin")], "warn"),
        ("headers.corp", [("Cross-Origin-Resource-Policy", "whatever")], "fail"),
        ("headers.x_xss_protection", [("X-XSS-Protection", "0")], "pass"),
        ("headers.x_xss_protection", [("X-XSS-Protection", "1; mode=block")], "warn"),
        ("headers.x_xss_protection", [("X-XSS-Protection", "1")], "warn"),
        ("headers.x_xss_protection", [("x-xss-protection", " 0 ; report=/r")], "pass"),
        ("headers.x_xss_protection", [("X-XSS-Protection", "0"), ("X-XSS-Protection", "1;mode=block")], "warn"),
        ("headers.x_xss_protection", [], "pass"),
        ("headers.x_powered_by", [("X-AspNet-Version", "4.0.30319")], "fail"),
    ],
)
def test_single_headers(shared, check_id: str, headers: list[tuple[str, str]], expected: str) -> None:
    assert by_id(one_on(shared, headers), check_id).status.value == expected


def test_server_banner_without_version_passes(pki: CertBundle) -> None:
    with serve({"/": reply(HTML, "", server="nginx")}, certs=pki) as site:
        finding = by_id(run(make_env(site)), "headers.server_banner")
    assert finding.status is Status.PASS and "nginx" in finding.observed


# --------------------------------------------------------------------------- cookies


def test_cookie_flags_and_values_never_shown(pki: CertBundle) -> None:
    cookies = [
        ("Set-Cookie", "sid=VALUE-sid-0001; Secure; HttpOnly; SameSite=Strict"),
        ("Set-Cookie", "auth_token=VALUE-auth-0002; Secure; SameSite=Lax"),
        ("Set-Cookie", "theme=VALUE-theme-0003"),
        ("Set-Cookie", "tracker=VALUE-tracker-0004; Secure; SameSite=None"),
        ("Set-Cookie", "legacy=VALUE-legacy-0005; SameSite=None"),
        ("Set-Cookie", "odd=VALUE-odd-0006; Secure; SameSite=Sometimes"),
    ]
    with serve({"/": reply([*HTML, *cookies])}, certs=pki) as site:
        report = audit(make_env(site))
    s = statuses(report.findings)
    root = site.base_url + "/"

    def st(check: str, name: str) -> str:
        return s[f"headers.cookies.{check} @ {root} (cookie: {name})"]

    assert (st("secure", "sid"), st("httponly", "sid"), st("samesite", "sid")) == ("pass", "pass", "pass")
    assert (st("secure", "auth_token"), st("httponly", "auth_token")) == ("pass", "fail")
    assert by_id(report.findings, "headers.cookies.httponly", "auth_token").severity.value == "high"
    assert (st("secure", "theme"), st("httponly", "theme"), st("samesite", "theme")) == ("fail", "skip", "warn")
    assert by_id(report.findings, "headers.cookies.secure", "theme").severity.value == "medium"
    assert st("samesite", "tracker") == "warn"
    assert st("samesite", "legacy") == "fail"
    assert st("samesite", "odd") == "fail"

    values = [v.split("=", 1)[1].split(";")[0] for _, v in cookies]
    everything = json.dumps([f.model_dump(mode="json") for f in report.findings])
    everything += findings_frame(report.findings).to_csv()
    everything += report.table().to_csv()
    for value in values:
        assert value not in everything
    assert "sid=[REDACTED]; Secure; HttpOnly; SameSite=Strict" in report.table()["value"].tolist()
    # long values are registered, so any later text is scrubbed too
    assert SECRETS.scrub("echo VALUE-auth-0002") == "echo [REDACTED]"


def test_redact_set_cookie() -> None:
    assert redact_set_cookie("a=b; Path=/; Secure") == "a=[REDACTED]; Path=/; Secure"
    assert redact_set_cookie("weird").startswith("[REDACTED]")
    assert "evil" not in redact_set_cookie("a=1; X-Custom=evil")


# --------------------------------------------------------------------------- CSP through a server


@pytest.mark.parametrize(
    ("policy", "check_id", "expected"),
    [
        ("default-src 'self'; script-src 'nonce-r4nd0m' 'unsafe-inline'", "headers.csp.unsafe_inline", "pass"),
        ("default-src 'self'; script-src 'self' 'unsafe-inline'", "headers.csp.unsafe_inline", "fail"),
        ("object-src 'none'", "headers.csp.unsafe_inline", "fail"),  # scripts unrestricted
        ("default-src 'self'; script-src 'self' 'unsafe-eval'", "headers.csp.unsafe_eval", "fail"),
        ("script-src 'self'; object-src 'none'", "headers.csp.default_src", "fail"),
        ("default-src 'self'", "headers.csp.default_src", "pass"),
        ("default-src 'self'", "headers.csp.object_src", "warn"),
        ("script-src 'self'", "headers.csp.object_src", "fail"),
        ("default-src 'none'", "headers.csp.object_src", "pass"),
        ("default-src 'self'; frame-ancestors *", "headers.csp.frame_ancestors", "fail"),
        ("default-src 'self'", "headers.csp.frame_ancestors", "fail"),
        ("default-src 'self'; base-uri *", "headers.csp.base_uri", "fail"),
        ("default-src 'self'", "headers.csp.base_uri", "warn"),
        ("default-src 'self'; script-src 'self' https:", "headers.csp.wildcard_sources", "fail"),
        ("default-src *", "headers.csp.wildcard_sources", "fail"),
        ("default-src 'self'; img-src *", "headers.csp.wildcard_sources", "warn"),
        ("default-src 'self'; script-src 'nonce-a' 'strict-dynamic' https:", "headers.csp.wildcard_sources", "pass"),
        ("default-src 'self'; script-src 'self' http://cdn.example", "headers.csp.http_sources", "fail"),
        ("default-src 'self'; img-src http://img.example", "headers.csp.http_sources", "warn"),
        ("default-src 'self'; script-src 'self'; scirpt-src 'none'", "headers.csp.present", "warn"),  # typo
        ("default-src 'self'; default-src *", "headers.csp.present", "warn"),  # duplicate, first wins
        ("default-src 'self'; default-src *", "headers.csp.wildcard_sources", "pass"),
    ],
)
def test_csp_checks(shared, policy: str, check_id: str, expected: str) -> None:
    assert by_id(one_on(shared, [("Content-Security-Policy", policy)]), check_id).status.value == expected


def test_csp_frame_ancestors_covered_by_xfo_is_a_warning(shared) -> None:
    findings = one_on(shared, [("Content-Security-Policy", "default-src 'self'"), ("X-Frame-Options", "DENY")])
    assert by_id(findings, "headers.csp.frame_ancestors").status is Status.WARN


def test_csp_two_policies_both_enforced(shared) -> None:
    # Browsers enforce both: the second policy removes the first one's 'unsafe-inline'.
    findings = one_on(
        shared,
        [
            ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'"),
            ("Content-Security-Policy", "script-src 'self'"),
        ],
    )
    assert by_id(findings, "headers.csp.unsafe_inline").status is Status.PASS


def test_csp_report_only_and_meta(shared) -> None:
    report_only = one_on(shared, [("Content-Security-Policy-Report-Only", "default-src 'none'")])
    present = by_id(report_only, "headers.csp.present")
    assert present.status is Status.FAIL and "Report-Only" in present.observed
    assert by_id(report_only, "headers.csp.unsafe_inline").status is Status.SKIP

    meta = "<meta http-equiv=\"content-security-policy\" content=\"default-src 'none'; frame-ancestors 'none'\">"
    via_meta = one_on(shared, [], body=f"<html><head>{meta}</head></html>")
    assert by_id(via_meta, "headers.csp.present").status is Status.WARN
    assert by_id(via_meta, "headers.csp.object_src").status is Status.PASS
    assert by_id(via_meta, "headers.csp.frame_ancestors").status is Status.FAIL  # ignored in <meta>


# --------------------------------------------------------------------------- CORS


def test_cors_reflection_with_credentials_fails(pki: CertBundle) -> None:
    def reflect(handler) -> Reply:
        origin = handler.headers.get("Origin")
        headers = list(HTML)
        if origin:
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        return Reply(200, headers, "")

    with serve({"/": reflect}, certs=pki) as site:
        report = audit(make_env(site))
        options = [r for r in site.requests if r[0] == "OPTIONS"]
    # One preflight, exactly as the Observatory's retriever sends it.
    assert len(options) == 1
    assert options[0][2]["Origin"] == "https://http-observatory.security.mozilla.org"
    assert options[0][2]["Access-Control-Request-Method"] == "GET"
    assert "Cookie" not in options[0][2]
    cors = by_id(report.findings, "headers.cors")
    assert cors.status is Status.FAIL and cors.severity.value == "high"
    assert "reflected with credentials" in cors.observed
    # The Observatory cannot see the reflection (cors.js reads the Origin from a request
    # object without headers): it rates this restricted-access, and so does the grade.
    outcome = report.scores[site.base_url + "/"].outcome("cross-origin-resource-sharing")
    assert (outcome.result, outcome.modifier) == ("cross-origin-resource-sharing-implemented-with-restricted-access", 0)
    assert "reflected" in outcome.detail


def test_custom_cors_origin_adds_the_observatory_preflight(pki: CertBundle) -> None:
    def allow_only_custom(handler) -> Reply:
        origin = handler.headers.get("Origin")
        extra = [("Access-Control-Allow-Origin", origin)] if origin == "https://probe.test" else []
        return Reply(200, [*HTML, *extra], "")

    with serve({"/": allow_only_custom}, certs=pki) as site:
        report = audit(make_env(site, cors_origin="https://probe.test"))
        origins = sorted(r[2]["Origin"] for r in site.requests if r[0] == "OPTIONS")
    assert origins == ["https://http-observatory.security.mozilla.org", "https://probe.test"]
    assert "Origin: https://probe.test" in by_id(report.findings, "headers.cors").observed
    # The grade reads the preflight with the Observatory's Origin, which got no ACAO.
    outcome = report.scores[site.base_url + "/"].outcome("cross-origin-resource-sharing")
    assert outcome.result == "cross-origin-resource-sharing-not-implemented"


def test_cors_star_warns_in_production_only(pki: CertBundle) -> None:
    star = [*HTML, ("Access-Control-Allow-Origin", "*")]
    with serve({"/": reply(star)}, certs=pki) as site:
        env = make_env(site)
        assert by_id(run(env), "headers.cors").status is Status.WARN
        lab = env.model_copy(update={"production": False})
        assert by_id(run(lab), "headers.cors").status is Status.PASS


# --------------------------------------------------------------------------- redirect


def redirect_status(pki: CertBundle, plain_route, **kw) -> Finding:
    with serve({"/": reply(GOOD_HEADERS)}, certs=pki) as site, serve({"*": plain_route(site)}, tls=False) as plain:
        findings = run(make_env(site, http_url=plain.base_url, **kw))
    return by_id(findings, "headers.redirect_https")


def test_redirect_301_to_https_passes(pki: CertBundle) -> None:
    finding = redirect_status(pki, lambda site: redirect_to(site.base_url))
    assert finding.status is Status.PASS
    assert finding.observed.startswith("301 http://127.0.0.1:")
    assert "→ 200 https://127.0.0.1:" in finding.observed


def test_redirect_missing_fails(pki: CertBundle) -> None:
    finding = redirect_status(pki, lambda site: Reply(200, HTML, "plain page"))
    assert finding.status is Status.FAIL
    assert "without redirecting" in finding.observed
    assert finding.severity.value == "high"


def test_redirect_temporary_warns(pki: CertBundle) -> None:
    assert redirect_status(pki, lambda site: redirect_to(site.base_url, 302)).status is Status.WARN


def test_redirect_to_other_host_warns(pki: CertBundle) -> None:
    finding = redirect_status(pki, lambda site: redirect_to(site.base_url.replace("127.0.0.1", "localhost")))
    assert finding.status is Status.WARN and "another host" in finding.observed


def test_redirect_to_untrusted_https_fails(pki: CertBundle, tmp_path: Path) -> None:
    other = generate_chain(tmp_path)  # a CA the environment does not trust
    with (
        serve({"/": reply(GOOD_HEADERS)}, certs=pki) as site,
        serve({"/": reply(GOOD_HEADERS)}, certs=other) as untrusted,
        serve({"*": redirect_to(untrusted.base_url)}, tls=False) as plain,
    ):
        report = audit(make_env(site, http_url=plain.base_url))
    finding = by_id(report.findings, "headers.redirect_https")
    assert finding.status is Status.FAIL and "certificate verification failed" in finding.observed
    assert report.scores[site.base_url + "/"].outcome("redirection").result == "redirection-invalid-cert"


def test_no_plain_http_listener_passes(pki: CertBundle) -> None:
    with serve({"/": reply(GOOD_HEADERS)}, certs=pki) as site:
        report = audit(make_env(site, http_url=f"http://127.0.0.1:{free_port()}"))
    finding = by_id(report.findings, "headers.redirect_https")
    assert finding.status is Status.PASS and "Nothing answers" in finding.observed
    assert report.scores[site.base_url + "/"].outcome("redirection").result == "redirection-not-needed-no-http"


def test_redirect_probe_sends_no_credentials(pki: CertBundle) -> None:
    with (
        serve({"/": reply(GOOD_HEADERS)}, certs=pki) as site,
        serve({"*": redirect_to(site.base_url)}, tls=False) as plain,
    ):
        env = make_env(site, http_url=plain.base_url)
        env = env.model_copy(
            update={"http": env.http.model_copy(update={"headers": {"Authorization": "Bearer tok-123456"}})}
        )
        run(env)
        plain_seen = plain.requests
        site_seen = site.requests
    assert plain_seen and all("Authorization" not in h for _, _, h in plain_seen)
    assert any(h.get("Authorization") == "Bearer tok-123456" for m, p, h in site_seen if m == "GET")


# --------------------------------------------------------------------------- errors


def test_unreachable_url_is_an_error_not_a_pass(pki: CertBundle) -> None:
    env = Environment.model_validate(
        {
            "environment": "t",
            "base_url": f"https://127.0.0.1:{free_port()}",
            "http": {"ca_bundle": str(pki.ca_path), "connect_timeout": 1, "read_timeout": 1},
            "headers": {"check_redirect": False},
        }
    )
    findings = run(env)
    assert [(f.check_id, f.status.value) for f in findings] == [
        ("headers.redirect_https", "skip"),  # check_redirect off: explicitly not tested
        ("headers.fetch", "error"),
    ]
    assert "could not connect" in findings[1].observed
    assert not gate(findings).go


def test_untrusted_certificate_is_an_error(pki: CertBundle, tmp_path: Path) -> None:
    other = generate_chain(tmp_path)
    with serve({"/": reply(GOOD_HEADERS)}, certs=other) as site:
        env = Environment.model_validate(
            {
                "environment": "t",
                "base_url": site.base_url,
                "http": {"ca_bundle": str(pki.ca_path)},
                "headers": {"check_redirect": False, "urls": ["/", "/other"]},
            }
        )
        report = audit(env)
    assert [(f.check_id, f.status.value) for f in report.findings] == [
        ("headers.redirect_https", "skip"),  # one plain-HTTP address for both pages
        ("headers.fetch", "error"),
        ("headers.fetch", "error"),
    ]
    assert "certificate verification failed" in report.findings[1].observed.lower()
    table = report.table()
    assert list(table["header"]) == ["(fetch error)", "(fetch error)"]


def test_no_base_url_is_an_error() -> None:
    env = Environment.model_validate({"environment": "t", "headers": {"check_redirect": False}})
    findings = run(env)
    assert [(f.check_id, f.status.value, f.target) for f in findings] == [("headers.fetch", "error", "/")]


def test_non_2xx_page_is_analysed_with_a_warning(pki: CertBundle) -> None:
    with serve({"/": reply(GOOD_HEADERS, status=503)}, certs=pki) as site:
        findings = run(make_env(site))
    fetch = by_id(findings, "headers.fetch")
    assert fetch.status is Status.WARN and "HTTP 503" in fetch.observed
    assert by_id(findings, "headers.hsts.present").status is Status.PASS


def test_absolute_urls_and_params(pki: CertBundle) -> None:
    with serve({"/a": reply(GOOD_HEADERS), "/b": reply(HTML)}, certs=pki) as site:
        findings = run(make_env(site, urls=["/a", site.base_url + "/b"], workers=2))
    hsts = {f.target: f.status.value for f in findings if f.check_id == "headers.hsts.present"}
    assert hsts == {site.base_url + "/a": "pass", site.base_url + "/b": "fail"}


def test_params_validation(tmp_path: Path) -> None:
    assert HeadersParams().urls == ["/"]
    assert HeadersParams().hsts_min_age == 31_536_000
    assert HeadersParams().min_grade == "B"
    bad = tmp_path / "bad.yaml"
    bad.write_text("environment: bad\nbase_url: https://example.com\nheaders:\n  urls: ['ftp://x']\n")
    with pytest.raises(ParamsError, match=r"headers\.urls"):
        load_environment(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("environment: typo\nheaders:\n  min_grde: A\n")
    with pytest.raises(ParamsError, match=r"headers\.min_grde: unknown key"):
        load_environment(typo)
    grade = tmp_path / "grade.yaml"
    grade.write_text("environment: g\nheaders:\n  min_grade: E\n")
    with pytest.raises(ParamsError, match=r"headers\.min_grade"):
        load_environment(grade)


def test_demo_params_headers_section_is_valid() -> None:
    import yaml

    data = yaml.safe_load((Path(__file__).parents[1] / "params" / "demo.yaml").read_text())
    params = HeadersParams.model_validate(data["headers"])
    assert params.urls == ["/", "/login"]
    assert params.check_redirect and params.min_grade == "B"


def test_demo_target_with_demo_params() -> None:
    """The embedded demo target, audited with params/demo.yaml's headers section."""
    import yaml

    from harden_lib.demo.server import DemoTarget

    section = yaml.safe_load((Path(__file__).parents[1] / "params" / "demo.yaml").read_text())["headers"]
    with DemoTarget() as target:
        env = Environment.model_validate(
            {
                "environment": "demo",
                "base_url": target.base_url,
                "http_url": target.http_url,
                "http": {"ca_bundle": str(target.ca_path)},
                "headers": section,
            }
        )
        report = audit(env)
        secret_values = target.secret_values()
    counts = {status: sum(f.status.value == status for f in report.findings) for status in ("pass", "fail", "warn")}
    assert all(counts.values()), counts
    assert not any(f.status is Status.ERROR for f in report.findings)
    s = {(f.check_id, f.target.rsplit("/", 1)[-1]): f.status.value for f in report.findings}
    assert s[("headers.redirect_https", "")] == "pass"
    assert s[("headers.hsts.max_age", "login")] == "fail"
    assert s[("headers.csp.unsafe_inline", "")] == "fail"
    assert s[("headers.permissions_policy", "")] == "warn"
    assert s[("headers.cookies.httponly", " (cookie: session)")] == "fail"
    assert {score.grade for score in report.scores.values()} == {"D"}
    text = json.dumps([f.model_dump(mode="json") for f in report.findings]) + report.table().to_csv()
    for value in secret_values.values():
        assert value not in text


def test_one_audit_gives_findings_scores_and_evidence(pki: CertBundle) -> None:
    from harden_lib.checks import headers

    with serve({"/": reply(GOOD_HEADERS, GOOD_BODY)}, certs=pki) as site:
        env = make_env(site)
        report = headers.audit(env)
        seen = len(site.requests)
        assert headers.run(make_env(site))  # the area entry point fetches afresh
        assert len(site.requests) > seen
    scores, pages = report.scores, report.pages
    assert list(scores) == list(pages) == [site.base_url + "/"]
    assert scores[site.base_url + "/"].score == 140
    assert by_id(report.findings, "headers.observatory.grade").status is Status.PASS
    assert headers.header_table(pages)["header"].tolist()[0] == ":status"
    assert headers.score_frame(scores[site.base_url + "/"])["modifier"].sum() == 40


def test_area_runner_is_run() -> None:
    assert AREAS["headers"].runner() is run


def test_the_area_is_one_package_every_part_importable_by_name() -> None:
    """Each concern is a module reachable by its dotted name (no re-exported name shadows one)."""
    import importlib
    import pkgutil
    import types

    from harden_lib.area import AreaSpec
    from harden_lib.checks import headers

    names = [m.name for m in pkgutil.walk_packages(headers.__path__, prefix="harden_lib.checks.headers.")]
    assert {"harden_lib.checks.headers.fetch", "harden_lib.checks.headers.observatory.score"} <= set(names)
    for name in names:
        assert isinstance(importlib.import_module(name), types.ModuleType), name
    spec = headers.AREA
    assert isinstance(spec, AreaSpec) and (spec.name, spec.order, spec.params) == ("headers", 20, HeadersParams)
    assert AREAS["headers"].module == "harden_lib.checks.headers"
    # what the headers notebook calls
    for attribute in ("audit", "plot_scores", "scores_frame", "lowest_scores", "plot_modifiers", "score_frame"):
        assert callable(getattr(headers, attribute)), attribute


# --------------------------------------------------------------------------- hostile input


def test_hostile_values_are_capped_and_escaped(pki: CertBundle) -> None:
    huge = "default-src 'self'; script-src " + " ".join(f"https://h{i}.example" for i in range(2000))
    with serve(
        {"/": reply([*HTML, ("X-Frame-Options", "<script>alert(1)</script>"), ("Content-Security-Policy", huge)])},
        certs=pki,
    ) as site:
        report = audit(make_env(site))
    for finding in report.findings:
        assert len(finding.observed) <= 2000
    xfo = by_id(report.findings, "headers.x_frame_options")
    # Findings quote markup as sent (readable); every report escapes HTML when it renders them.
    assert xfo.status is Status.FAIL and "X-Frame-Options: <script>alert(1)</script>" in xfo.observed
    html = style_findings(findings_frame(report.findings)).to_html()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    csp = by_id(report.findings, "headers.csp.present")
    assert csp.status is Status.WARN and "only the start was analysed" in csp.observed  # truncated note
    assert len(csp.observed) < 600, "one huge header is capped on its own"
    table = report.table()
    assert table["value"].str.len().max() <= 200
    # evidence quotes markup as sent too (issue 14: no more \x3c…\x3e); the report table escapes it
    assert table["value"].str.contains("<script>alert(1)</script>", regex=False).any()
    shown = table_html(table)
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_line_breaks_and_tabs_a_server_sends_cannot_forge_lines(pki: CertBundle) -> None:
    """A meta referrer with line breaks and a header with a tab are quoted escaped, on one line."""
    body = '<html><head><meta name="referrer" content="no-referrer,\r\nunsafe-url"></head></html>'
    with serve({"/": reply([*HTML, ("Cross-Origin-Opener-Policy", "same-origin\tforged")], body)}, certs=pki) as site:
        findings = run(make_env(site))
    referrer = by_id(findings, "headers.referrer_policy")
    assert referrer.status is Status.FAIL and referrer.severity.value == "medium" and referrer.severity_reason
    assert "\n" not in referrer.observed and "\r" not in referrer.observed
    assert "no-referrer,\\x0d\\x0aunsafe-url — 'unsafe-url' sends" in referrer.observed
    coop = by_id(findings, "headers.coop")
    assert "\t" not in coop.observed and "same-origin\\x09forged" in coop.observed


def test_cookie_targets_stay_distinct_on_a_long_url(pki: CertBundle) -> None:
    """Targets are capped, so a long page URL gives way to the cookie's name, never the reverse."""
    path = "/" + "segment-" * 40
    cookies = [("Set-Cookie", f"{name}=v{i}; Secure; HttpOnly; SameSite=Lax") for i, name in enumerate("ab")]
    with serve({path: reply([*HTML, *cookies])}, certs=pki) as site:
        findings = run(make_env(site, urls=[path]))
    targets = [f.target for f in findings if f.check_id == "headers.cookies.secure"]
    assert len(targets) == 2 and len(set(targets)) == 2
    assert targets[0].endswith(" (cookie: a)") and targets[1].endswith(" (cookie: b)")
    assert all(len(t) <= 300 and t.startswith(site.base_url + "/segment-") for t in targets)


def test_safe_text() -> None:
    assert safe_text("a\r\nb\x1b[31m") == "a\\x0d\\x0ab\\x1b[31m"
    assert safe_text("abc\u202edef") == "abc\\u202edef"
    assert safe_text("x" * 500, 10) == "x" * 9 + "…"
    SECRETS.add("known-secret-1")
    assert safe_text("value known-secret-1") == "value [REDACTED]"


def test_analyse_response_is_pure() -> None:
    import httpx

    from harden_lib.http import FetchResult

    result = FetchResult(
        "https://example.com/",
        200,
        httpx.Headers([("Strict-Transport-Security", "max-age=10"), ("Set-Cookie", "sessionid=abcdefgh12345")]),
        b"",
        False,
        0.0,
        "HTTP/1.1",
    )
    findings = analyse_response("https://example.com/", result)
    assert by_id(findings, "headers.hsts.max_age").status is Status.FAIL
    assert by_id(findings, "headers.cookies.httponly", "sessionid").status is Status.FAIL
    assert all(f.area == "headers" for f in findings)
    table = header_table({"https://example.com/": result, "https://bad.example/": "boom"})
    assert list(table.columns) == ["url", "header", "value"]
    assert "abcdefgh12345" not in table.to_csv()
    assert table.iloc[-1].tolist() == ["https://bad.example/", "(fetch error)", "boom"]
