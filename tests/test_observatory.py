"""Mozilla HTTP Observatory scoring (algorithm v4): exact numbers from its published tables.

The expected values come from mdn/mdn-http-observatory ``src/grader/charts.js`` (modifiers,
grade chart, the 90-point extra-credit threshold) and ``src/scanner/index.js`` (scoring),
and each test's result rules from ``src/analyzer/tests/*.js``.
"""

from __future__ import annotations

import httpx
import pytest

from harden_lib.checks.headers import observatory as obs
from harden_lib.checks.headers import plot_modifiers, score_frame
from harden_lib.checks.headers.observatory import (
    GRADES,
    RedirectProbe,
    grade_for_score,
    observatory_score,
    score_results,
)
from harden_lib.http import FetchResult

PERFECT = {
    "content-security-policy": "csp-implemented-with-no-unsafe-default-src-none",  # +10
    "cookies": "cookies-secure-with-httponly-sessions-and-samesite",  # +5
    "cross-origin-resource-sharing": "cross-origin-resource-sharing-not-implemented",  # 0
    "redirection": "redirection-to-https",  # 0
    "referrer-policy": "referrer-policy-private",  # +5
    "strict-transport-security": "hsts-implemented-max-age-at-least-six-months",  # 0
    "subresource-integrity": "sri-implemented-and-all-scripts-loaded-securely",  # +5
    "x-content-type-options": "x-content-type-options-nosniff",  # 0
    "x-frame-options": "x-frame-options-implemented-via-csp",  # +5
    "cross-origin-resource-policy": "corp-implemented-with-same-origin",  # +10
}


def page(headers: list[tuple[str, str]], body: str = "", url: str = "https://example.com/") -> FetchResult:
    return FetchResult(url, 200, httpx.Headers(headers), body.encode(), False, 0.0, "HTTP/1.1")


# --------------------------------------------------------------------------- the arithmetic


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (145, "A+"),
        (100, "A+"),
        (99, "A"),
        (95, "A"),
        (90, "A"),
        (89, "A-"),
        (85, "A-"),
        (84, "B+"),
        (80, "B+"),
        (79, "B"),
        (70, "B"),
        (69, "B-"),
        (65, "B-"),
        (60, "C+"),
        (55, "C"),
        (50, "C"),
        (45, "C-"),
        (40, "D+"),
        (35, "D"),
        (30, "D"),
        (25, "D-"),
        (24, "F"),
        (0, "F"),
        (-30, "F"),
    ],
)
def test_grade_chart(score: int, grade: str) -> None:
    assert grade_for_score(score) == grade


def test_perfect_site_scores_140_a_plus() -> None:
    score = score_results(PERFECT)
    assert score.with_extra_credit == 140
    assert score.uncurved == 100
    assert (score.score, score.grade) == (140, "A+")
    assert score.bonus_applied
    assert score.tests_passed == 10
    assert [t for t, *_ in score.tests] == list(obs.TESTS)


def test_demo_posture_scores_30_d() -> None:
    # CSP unsafe-inline -20, session cookie without Secure -40, HSTS < 6 months -10;
    # referrer private +5 and XFO via CSP +5 are bonuses that do not count (70 < 90).
    results = {
        **PERFECT,
        "content-security-policy": "csp-implemented-with-unsafe-inline",
        "cookies": "cookies-session-without-secure-flag",
        "strict-transport-security": "hsts-implemented-max-age-less-than-six-months",
        "subresource-integrity": "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "cross-origin-resource-policy": "corp-not-implemented",
    }
    score = score_results(results)
    assert score.uncurved == 30
    assert score.with_extra_credit == 40
    assert (score.score, score.grade) == (30, "D")
    assert not score.bonus_applied


def test_bonuses_count_at_exactly_90() -> None:
    # -10 penalty: 100 - 10 = 90 is an A, so the +40 of bonuses count: 130.
    score = score_results({**PERFECT, "strict-transport-security": "hsts-implemented-max-age-less-than-six-months"})
    assert score.uncurved == 90
    assert (score.score, score.grade) == (130, "A+")


def test_bonuses_ignored_below_90() -> None:
    # -15 (HSTS -10, X-Content-Type-Options -5): 85 before bonuses, so +40 is dropped.
    score = score_results(
        {
            **PERFECT,
            "strict-transport-security": "hsts-implemented-max-age-less-than-six-months",
            "x-content-type-options": "x-content-type-options-not-implemented",
        }
    )
    assert score.uncurved == 85
    assert score.with_extra_credit == 125
    assert (score.score, score.grade) == (85, "A-")


def test_score_never_below_zero() -> None:
    worst = {
        "content-security-policy": "csp-not-implemented",  # -25
        "cookies": "cookies-session-without-secure-flag",  # -40
        "cross-origin-resource-sharing": "cross-origin-resource-sharing-implemented-with-universal-access",  # -50
        "redirection": "redirection-missing",  # -20
        "referrer-policy": "referrer-policy-unsafe",  # -5
        "strict-transport-security": "hsts-not-implemented",  # -20
        "subresource-integrity": "sri-not-implemented-and-external-scripts-not-loaded-securely",  # -50
        "x-content-type-options": "x-content-type-options-not-implemented",  # -5
        "x-frame-options": "x-frame-options-not-implemented",  # -20
        "cross-origin-resource-policy": "corp-header-invalid",  # -5
    }
    score = score_results(worst)
    assert score.uncurved == 100 - 240
    assert (score.score, score.grade) == (0, "F")


def test_modifier_table_matches_charts_js() -> None:
    # Spot checks of SCORE_TABLE in src/grader/charts.js.
    expected = {
        "csp-not-implemented": -25,
        "csp-not-implemented-but-reporting-enabled": -25,
        "csp-implemented-with-unsafe-inline": -20,
        "csp-implemented-with-unsafe-eval": -10,
        "csp-implemented-with-no-unsafe": 5,
        "cookies-session-without-httponly-flag": -30,
        "cookies-without-secure-flag-but-protected-by-hsts": -5,
        "cross-origin-resource-sharing-implemented-with-universal-access": -50,
        "redirection-off-host-from-http": -5,
        "redirection-not-to-https-on-initial-redirection": -10,
        "hsts-preloaded": 5,
        "sri-not-implemented-but-external-scripts-loaded-securely": -5,
        "sri-implemented-but-external-scripts-not-loaded-securely": -20,
        "x-frame-options-implemented-via-csp": 5,
        "corp-implemented-with-same-site": 10,
        "corp-header-invalid": -5,
        "html-not-parseable": -20,
    }
    for result, modifier in expected.items():
        assert obs.SCORE_TABLE[result][1] == modifier, result
    # the highest possible score: every bonus
    best = {}
    for result, (test, modifier, _) in obs.SCORE_TABLE.items():
        if modifier > obs.SCORE_TABLE.get(best.get(test, ""), ("", -999))[1]:
            best[test] = result
    assert score_results(best).score == 145


def test_unknown_or_misplaced_result_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown Observatory result"):
        score_results({"cookies": "cookies-are-tasty"})
    with pytest.raises(ValueError, match="belongs to test"):
        score_results({"cookies": "hsts-preloaded"})


def test_grades_ordered() -> None:
    assert obs.grade_rank("A+") > obs.grade_rank("A") > obs.grade_rank("B") > obs.grade_rank("F")
    assert set(obs.GRADE_CHART.values()) <= set(GRADES)


# --------------------------------------------------------------------------- each test's rules


def outcome(headers: list[tuple[str, str]], body: str = "", url: str = "https://example.com/", **kw) -> dict:
    score = observatory_score(page(headers, body, url), **kw)
    return {o.test: o.result for o in score.outcomes}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("default-src 'none'", "csp-implemented-with-no-unsafe-default-src-none"),
        ("default-src 'self'", "csp-implemented-with-no-unsafe"),
        ("default-src 'self'; script-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'", "csp-implemented-with-no-unsafe"),
        # quirk kept: script-src and style-src share default-src's set, so removing
        # 'unsafe-inline' for the nonce also removes it for styles
        ("default-src 'self' 'nonce-abc' 'unsafe-inline'", "csp-implemented-with-no-unsafe"),
        ("default-src 'self'; script-src 'strict-dynamic'", "csp-header-invalid"),
        ("default-src 'self'; script-src 'nonce-x' 'strict-dynamic' https:", "csp-implemented-with-no-unsafe"),
        ("default-src 'self'; script-src 'self'; script-src 'none'", "csp-header-invalid"),
        ("default-src 'self'; report-uri /a; report-uri /b", "csp-implemented-but-duplicate-directives"),
        ("default-src 'self'; script-src 'self' 'unsafe-eval'", "csp-implemented-with-unsafe-eval"),
        (
            "default-src 'self'; img-src http://img.example",
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
        ),
        ("default-src 'self'; connect-src http://api.example", "csp-implemented-with-insecure-scheme"),
        (
            "default-src 'self'; style-src 'self' 'unsafe-inline'",
            "csp-implemented-with-unsafe-inline-in-style-src-only",
        ),
        ("frame-ancestors 'none'", "csp-implemented-with-unsafe-inline"),  # no script-src/default-src
        ("default-src 'self'; object-src *", "csp-implemented-with-unsafe-inline"),
        ("abc", "csp-header-invalid"),  # shorter than the shortest directive
    ],
)
def test_csp_results(policy: str, expected: str) -> None:
    assert outcome([("Content-Security-Policy", policy)])["content-security-policy"] == expected


def test_csp_absent_report_only_and_meta() -> None:
    assert outcome([])["content-security-policy"] == "csp-not-implemented"
    report_only = [("Content-Security-Policy-Report-Only", "default-src 'none'")]
    assert outcome(report_only)["content-security-policy"] == "csp-not-implemented-but-reporting-enabled"
    body = '<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'"></head></html>'
    html = [("Content-Type", "text/html")]
    assert outcome(html, body)["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"


def test_csp_two_policies_keep_only_common_sources() -> None:
    parsed = obs.observatory_parse_csp(["script-src 'self' https://a.example", "script-src 'self'"])
    assert parsed["script-src"] == {"'self'"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=15552000", "hsts-implemented-max-age-at-least-six-months"),
        ("max-age=15551999; includeSubDomains", "hsts-implemented-max-age-less-than-six-months"),
        ("includeSubDomains", "hsts-header-invalid"),
        ("max-age=1, max-age=2", "hsts-header-invalid"),
        ("max-age=abc", "hsts-implemented-max-age-at-least-six-months"),  # NaN quirk of parseInt
    ],
)
def test_hsts_results(value: str, expected: str) -> None:
    assert outcome([("Strict-Transport-Security", value)])["strict-transport-security"] == expected


def test_hsts_needs_https_and_a_verified_chain() -> None:
    sts = [("Strict-Transport-Security", "max-age=63072000")]
    assert outcome(sts)["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"
    assert outcome(sts, url="http://example.com/")["strict-transport-security"] == "hsts-not-implemented-no-https"
    assert outcome(sts, verified=False)["strict-transport-security"] == "hsts-invalid-cert"
    assert outcome([])["strict-transport-security"] == "hsts-not-implemented"


@pytest.mark.parametrize(
    ("cookies", "hsts", "expected"),
    [
        ([], False, "cookies-not-found"),
        (["id=1; Secure; HttpOnly; SameSite=Lax"], False, "cookies-secure-with-httponly-sessions-and-samesite"),
        (["id=1; Secure"], False, "cookies-secure-with-httponly-sessions"),
        (["theme=dark"], False, "cookies-without-secure-flag"),
        (["theme=dark"], True, "cookies-without-secure-flag-but-protected-by-hsts"),
        (["sessionid=1; HttpOnly"], True, "cookies-session-without-secure-flag-but-protected-by-hsts"),
        (["sessionid=1; Secure"], False, "cookies-session-without-httponly-flag"),
        (["session=1; Path=/", "csrftoken=2; Secure; SameSite=Strict"], False, "cookies-session-without-secure-flag"),
        (["csrftoken=1; Secure"], False, "cookies-anticsrf-without-samesite-flag"),
        (["id=1; Secure; SameSite=Sometimes"], False, "cookies-samesite-flag-invalid"),
        (["id=1; SameSite=None"], False, "cookies-samesite-flag-invalid"),
    ],
)
def test_cookie_results(cookies: list[str], hsts: bool, expected: str) -> None:
    headers = [("Set-Cookie", c) for c in cookies]
    if hsts:
        headers.append(("Strict-Transport-Security", "max-age=63072000"))
    assert outcome(headers)["cookies"] == expected


def test_cors_results() -> None:
    def cors(headers: list[tuple[str, str]]) -> str:
        return outcome([], cors=page(headers), cors_origin="https://cors-probe.example")[
            "cross-origin-resource-sharing"
        ]

    assert cors([]) == "cross-origin-resource-sharing-not-implemented"
    assert (
        cors([("Access-Control-Allow-Origin", "*")]) == "cross-origin-resource-sharing-implemented-with-public-access"
    )
    assert (
        cors([("Access-Control-Allow-Origin", "https://app.example")])
        == "cross-origin-resource-sharing-implemented-with-restricted-access"
    )
    reflected = [
        ("Access-Control-Allow-Origin", "https://cors-probe.example"),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    # Upstream quirk (checked against the npm package by benchmarks/bench_observatory.py):
    # the sent Origin is never seen, so reflection with credentials is "restricted".
    assert cors(reflected) == "cross-origin-resource-sharing-implemented-with-restricted-access"


def test_cors_reads_only_a_2xx_preflight_never_the_get() -> None:
    star = [("Access-Control-Allow-Origin", "*")]
    # The page's own GET is not read: with no preflight the test was not run ...
    no_preflight = observatory_score(page(star)).outcome("cross-origin-resource-sharing")
    assert (no_preflight.result, no_preflight.passed, no_preflight.modifier) == ("not-tested", False, 0)
    # ... and with a preflight that says nothing, the GET's '*' is still not read.
    quiet = obs.CorsProbe(status=204, headers=httpx.Headers([]))
    assert outcome(star, cors=quiet)["cross-origin-resource-sharing"] == "cross-origin-resource-sharing-not-implemented"
    # A non-2xx preflight is dropped by the Observatory's HTTP client, whatever it carries.
    refused = obs.CorsProbe(status=405, headers=httpx.Headers(star))
    assert outcome([], cors=refused)["cross-origin-resource-sharing"] == "cross-origin-resource-sharing-not-implemented"
    failed = obs.CorsProbe(error="timed out")
    result = observatory_score(page([]), cors=failed).outcome("cross-origin-resource-sharing")
    assert result.result == "cross-origin-resource-sharing-not-implemented" and "timed out" in result.detail


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (None, "not-tested"),
        (RedirectProbe("http://a.example/", (), "refused", "connect"), "redirection-not-needed-no-http"),
        (RedirectProbe("http://a.example/", ((200, "http://a.example/"),)), "redirection-missing"),
        (
            RedirectProbe("http://a.example/", ((301, "http://a.example/"), (200, "https://a.example/"))),
            "redirection-to-https",
        ),
        (
            RedirectProbe("http://a.example/", ((301, "http://a.example/"), (200, "https://www.a.example/"))),
            "redirection-off-host-from-http",
        ),
        (
            RedirectProbe(
                "http://a.example/",
                ((301, "http://a.example/"), (301, "http://www.a.example/"), (200, "https://www.a.example/")),
            ),
            "redirection-not-to-https-on-initial-redirection",
        ),
        (
            RedirectProbe("http://a.example/", ((301, "http://a.example/"), (200, "http://b.example/"))),
            "redirection-not-to-https",
        ),
        (
            RedirectProbe("http://a.example/", ((301, "http://a.example/"),), "bad cert", "tls"),
            "redirection-invalid-cert",
        ),
    ],
)
def test_redirection_results(probe: RedirectProbe | None, expected: str) -> None:
    assert outcome([], redirect=probe)["redirection"] == expected


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ([("Referrer-Policy", "no-referrer")], "", "referrer-policy-private"),
        ([("Referrer-Policy", "no-referrer, unsafe-url")], "", "referrer-policy-unsafe"),
        ([("Referrer-Policy", "unsafe-url, foo, strict-origin")], "", "referrer-policy-private"),
        ([("Referrer-Policy", "foo")], "", "referrer-policy-header-invalid"),
        ([], "", "referrer-policy-not-implemented"),
        ([("Content-Type", "text/html")], '<meta name="referrer" content="origin">', "referrer-policy-unsafe"),
    ],
)
def test_referrer_results(headers: list[tuple[str, str]], body: str, expected: str) -> None:
    assert outcome(headers, body)["referrer-policy"] == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>no scripts</p>", "sri-not-implemented-but-no-scripts-loaded"),
        ('<script src="/static/app.js"></script>', "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"),
        ("<script>var inline = 1;</script>", "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"),
        ('<script src="/app.js" integrity="sha384-x"></script>', "sri-implemented-and-all-scripts-loaded-securely"),
        (
            '<script src="https://cdn.other.org/x.js"></script>',
            "sri-not-implemented-but-external-scripts-loaded-securely",
        ),
        (
            '<script src="https://static.example.com/x.js"></script>',
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        ),
        (
            '<script src="https://cdn.other.org/x.js" integrity="sha384-x" crossorigin="anonymous"></script>',
            "sri-implemented-and-external-scripts-loaded-securely",
        ),
        (
            '<script src="http://cdn.other.org/x.js"></script>',
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
        ),
        (
            '<script src="//cdn.other.org/x.js" integrity="sha384-x"></script>',
            "sri-implemented-but-external-scripts-not-loaded-securely",
        ),
    ],
)
def test_sri_results(body: str, expected: str) -> None:
    assert outcome([("Content-Type", "text/html; charset=utf-8")], body)["subresource-integrity"] == expected


def test_sri_not_html() -> None:
    headers = [("Content-Type", "application/json")]
    assert outcome(headers, "{}")["subresource-integrity"] == "sri-not-implemented-response-not-html"


def test_simple_header_tests() -> None:
    assert (
        outcome([("X-Content-Type-Options", "nosniff")])["x-content-type-options"] == "x-content-type-options-nosniff"
    )
    assert outcome([("X-Content-Type-Options", "yes")])["x-content-type-options"] == (
        "x-content-type-options-header-invalid"
    )
    assert outcome([])["x-content-type-options"] == "x-content-type-options-not-implemented"
    assert outcome([("X-Frame-Options", "DENY")])["x-frame-options"] == "x-frame-options-sameorigin-or-deny"
    assert outcome([("X-Frame-Options", "ALLOW-FROM https://a")])["x-frame-options"] == (
        "x-frame-options-allow-from-origin"
    )
    assert outcome([("X-Frame-Options", "maybe")])["x-frame-options"] == "x-frame-options-header-invalid"
    assert outcome([])["x-frame-options"] == "x-frame-options-not-implemented"
    via_csp = [("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")]
    assert outcome(via_csp)["x-frame-options"] == "x-frame-options-implemented-via-csp"
    assert outcome([])["cross-origin-resource-policy"] == "corp-not-implemented"
    assert outcome([("Cross-Origin-Resource-Policy", "same-site")])["cross-origin-resource-policy"] == (
        "corp-implemented-with-same-site"
    )
    assert outcome([("Cross-Origin-Resource-Policy", "cross-origin")])["cross-origin-resource-policy"] == (
        "corp-implemented-with-cross-origin"
    )
    assert outcome([("Cross-Origin-Resource-Policy", "nope")])["cross-origin-resource-policy"] == "corp-header-invalid"


def test_bare_page_scores_d() -> None:
    # Nothing set, no probes: CSP -25, HSTS -20, XCTO -5, XFO -20 -> 30 (D).
    score = observatory_score(page([]))
    assert score.uncurved == 30
    assert (score.score, score.grade) == (30, "D")
    assert score.outcome("redirection").result == "not-tested"
    assert score.outcome("redirection").modifier == 0


# --------------------------------------------------------------------------- table and chart


def test_score_frame_and_plot() -> None:
    from matplotlib.figure import Figure

    score = score_results(
        {
            **PERFECT,
            "content-security-policy": "csp-implemented-with-unsafe-inline",
            "cookies": "cookies-session-without-secure-flag",
        }
    )
    frame = score_frame(score)
    assert list(frame["test"]) == list(obs.TESTS)
    assert frame["modifier"].sum() == score.with_extra_credit - 100
    assert not frame.loc[frame["test"] == "cross-origin-resource-policy", "counted"].item()  # bonus, score < 90
    assert frame.loc[frame["test"] == "cookies", "modifier"].item() == -40

    fig = plot_modifiers(score)
    assert isinstance(fig, Figure)
    bars = fig.axes[0].patches
    assert len(bars) == 10
    assert sorted(round(b.get_width()) for b in bars) == sorted(o.modifier for o in score.outcomes)
    assert f"{score.score} ({score.grade})" == "40 (D+)"
    assert "40 (D+)" in fig.axes[0].get_title()


# --------------------------------------------------------------------------- found by bench_observatory


@pytest.mark.parametrize(
    ("cookie", "url", "expected"),
    [
        # tough-cookie (the Observatory's jar) drops a cookie whose Domain the host does not match ...
        ("sessionid=1; Domain=example.com", "https://www.example.com/", "cookies-session-without-secure-flag"),
        ("sessionid=1; Domain=.EXAMPLE.com", "https://www.example.com/", "cookies-session-without-secure-flag"),
        ("sessionid=1; Domain=example.com", "https://shop.other.org/", "cookies-not-found"),
        ("sessionid=1; Domain=sub.www.example.com", "https://www.example.com/", "cookies-not-found"),
        # ... or is a public suffix / an IPv4 address (even the host's own) ...
        ("sessionid=1; Domain=com", "https://www.example.com/", "cookies-not-found"),
        ("sessionid=1; Domain=192.0.2.7", "https://192.0.2.7/", "cookies-not-found"),
        ("sessionid=1; Domain=", "https://192.0.2.7/", "cookies-session-without-secure-flag"),
        # ... and silently drops prefix violations (case-sensitive) ...
        ("__Secure-sessionid=1; HttpOnly", "https://a.example/", "cookies-not-found"),
        ("__Host-sessionid=1; Secure; HttpOnly; Path=/x", "https://a.example/", "cookies-not-found"),
        (
            "__Host-sessionid=1; Secure; HttpOnly",
            "https://a.example/dir/page",
            "cookies-not-found",
        ),  # default path /dir
        ("__Host-sessionid=1; Secure; HttpOnly", "https://a.example/", "cookies-secure-with-httponly-sessions"),
        ("__host-sessionid=1; HttpOnly", "https://a.example/", "cookies-session-without-secure-flag"),
    ],
)
def test_cookie_jar_acceptance_matches_tough_cookie(cookie: str, url: str, expected: str) -> None:
    assert outcome([("Set-Cookie", cookie)], url=url)["cookies"] == expected


def test_a_later_cookie_with_the_same_name_and_path_replaces_the_earlier() -> None:
    cookies = [("Set-Cookie", "sessionid=a; Secure; HttpOnly"), ("Set-Cookie", "sessionid=b; Secure")]
    assert outcome(cookies)["cookies"] == "cookies-session-without-httponly-flag"
    cookies.reverse()
    assert outcome(cookies)["cookies"] == "cookies-secure-with-httponly-sessions"


@pytest.mark.parametrize(
    ("content_type", "html"),
    [
        ("text/html; charset=utf-8", True),
        ("application/xhtml+xml", True),
        ("Text/HTML", False),  # quirk: not lower-cased
        ("text/html ; charset=utf-8", False),  # quirk: not trimmed before ';'
        (None, False),  # no Content-Type: not HTML for the Observatory
    ],
)
def test_what_the_observatory_calls_html(content_type: str | None, html: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    body = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'"><script src="http://x.org/a.js">'
    got = outcome(headers, body)
    assert obs.is_html(httpx.Headers(headers)) is html
    assert (got["subresource-integrity"] == "sri-not-implemented-response-not-html") is not html
    assert (got["content-security-policy"] == "csp-not-implemented") is not html  # meta read only from HTML


def test_a_redirect_chain_cut_at_ten_is_judged_on_the_route_seen() -> None:
    hops = tuple((301, f"http://a.example/{i}") for i in range(11))
    probe = RedirectProbe("http://a.example/", hops, "more than 10 redirects", obs.TOO_MANY)
    assert outcome([], redirect=probe)["redirection"] == "redirection-not-to-https"


def test_untested_redirect_worst_case_and_summary() -> None:
    score = observatory_score(page([]))
    worst = score.worst_case()
    assert (score.score, worst.score) == (30, 10)
    assert worst.outcome("redirection").result == "redirection-missing"
    assert worst.outcome("redirection").modifier == -20
    text = score.summary()
    assert "not tested, counted as 0: cross-origin-resource-sharing" in text
    assert "redirection (no plain-HTTP address was probed)" in text
    assert "at worst score 10, grade F" in text
    skipped = RedirectProbe("http://a.example/", error="disabled", error_kind=obs.SKIPPED)
    assert observatory_score(page([]), redirect=skipped).outcome("redirection").detail == "not probed: disabled"
