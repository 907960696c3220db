"""Several hosts in one environment: each page is graded with its own host's redirect and CORS.

Real local servers only (127.0.0.1, different ports). The plain-HTTP side of each HTTPS
origin is given by ``http_url`` (base_url's origin) or ``headers.http_urls`` (the others), as
the port mapping an environment gives; a host without a mapping is probed on port 80 as the
Observatory probes it (checked without a server: port 80 is not ours to bind in tests).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from harden_lib.checks.headers import HeadersParams, audit, plain_http_address, url_origin
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment, load_environment
from harden_lib.errors import ParamsError
from harden_lib.findings import Finding, Status
from tests.servers import Reply, serve

HTML = [("Content-Type", "text/html; charset=utf-8")]
#: A well-configured page: 100 + CSP 10 + cookies 0 + referrer 5 + SRI 0 + XFO 5 + CORP 10 = 130 (A+).
GOOD = [
    *HTML,
    ("Strict-Transport-Security", "max-age=63072000"),
    ("Content-Security-Policy", "default-src 'none'; img-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-site"),
]


def page(headers: list[tuple[str, str]], body: str = "<p>ok</p>"):
    return lambda handler: Reply(200, headers, body)


def redirect_to(base: str, status: int = 301):
    return lambda handler: Reply(status, [("Location", base + handler.path)], "")


def env_for(data: dict, ca: CertBundle, **headers: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "multi",
            "http": {"ca_bundle": str(ca.ca_path), "connect_timeout": 2, "read_timeout": 1},
            **data,
            "headers": headers,
        }
    )


def redirect_findings(findings: list[Finding]) -> dict[str, Finding]:
    return {f.target: f for f in findings if f.check_id == "headers.redirect_https"}


def grade_finding(findings: list[Finding], url: str) -> Finding:
    return next(f for f in findings if f.check_id == "headers.observatory.grade" and f.target == url)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections on 127.0.0.1 and never answers: a probe there times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


# --------------------------------------------------------------------------- redirect per host


def test_each_url_is_scored_with_its_own_hosts_redirect(pki: CertBundle) -> None:
    with (
        serve({"*": page(GOOD)}, certs=pki) as good,
        serve({"*": page(GOOD)}, certs=pki) as bad,
        serve({"*": redirect_to(good.base_url)}, tls=False) as good_plain,
        serve({"*": page(HTML, "plain page, no redirect")}, tls=False) as bad_plain,
    ):
        env = env_for(
            {"base_url": good.base_url, "http_url": good_plain.base_url},
            pki,
            urls=["/", bad.base_url + "/shop"],
            http_urls={bad.base_url: bad_plain.base_url},
        )
        report = audit(env)
        probed = {(r[0], r[1]) for r in bad_plain.requests}
    good_url, bad_url = good.base_url + "/", bad.base_url + "/shop"
    assert report.plain_http == {good_url: good_plain.base_url, bad_url: bad_plain.base_url}
    assert ("GET", "/") in probed  # the second host's plain side was probed at http://host/

    # One redirect finding per plain-HTTP address, each with its own verdict.
    redirects = redirect_findings(report.findings)
    assert redirects[good_plain.base_url + "/"].status is Status.PASS
    assert redirects[bad_plain.base_url + "/"].status is Status.FAIL
    assert "without redirecting" in redirects[bad_plain.base_url + "/"].observed

    good_score, bad_score = report.scores[good_url], report.scores[bad_url]
    assert good_score.outcome("redirection").result == "redirection-to-https"
    assert bad_score.outcome("redirection").result == "redirection-missing"
    assert (good_score.score, good_score.grade) == (130, "A+")
    # -20 takes the uncurved score to 80, so no bonuses: 80 (B+).
    assert (bad_score.score, bad_score.grade) == (80, "B+")
    assert grade_finding(report.findings, bad_url).observed.startswith("score 80, grade B+")


def test_many_hosts_grade_as_each_host_alone(pki: CertBundle) -> None:
    """Each host's grade in one environment equals its grade in an environment of its own."""
    variants = {
        "redirects": [*GOOD],
        "no-hsts": [h for h in GOOD if h[0] != "Strict-Transport-Security"],
        "star-cors": [*GOOD, ("Access-Control-Allow-Origin", "*")],
    }
    with contextlib.ExitStack() as stack:
        sites = {name: stack.enter_context(serve({"*": page(h)}, certs=pki)) for name, h in variants.items()}
        plains = {
            "redirects": stack.enter_context(serve({"*": redirect_to(sites["redirects"].base_url)}, tls=False)),
            "no-hsts": stack.enter_context(serve({"*": page(HTML)}, tls=False)),
            "star-cors": stack.enter_context(serve({"*": redirect_to(sites["star-cors"].base_url, 302)}, tls=False)),
        }
        mapping = {sites[n].base_url: plains[n].base_url for n in variants}
        together = audit(env_for({}, pki, urls=[s.base_url + "/" for s in sites.values()], http_urls=mapping))
        alone = {
            name: audit(env_for({"base_url": sites[name].base_url, "http_url": plains[name].base_url}, pki))
            for name in variants
        }
    for name, site in sites.items():
        url = site.base_url + "/"
        mine, single = together.scores[url], alone[name].scores[url]
        assert mine.tests == single.tests, name
        assert (mine.score, mine.grade) == (single.score, single.grade), name
    assert together.scores[sites["no-hsts"].base_url + "/"].outcome("redirection").result == "redirection-missing"


def test_without_base_url_each_page_host_is_still_probed(pki: CertBundle) -> None:
    with (
        serve({"*": page(GOOD)}, certs=pki) as site,
        serve({"*": redirect_to(site.base_url)}, tls=False) as plain,
    ):
        env = env_for(
            {}, pki, urls=[site.base_url + "/a", site.base_url + "/b"], http_urls={site.base_url: plain.base_url}
        )
        report = audit(env)
        probes = [r for r in plain.requests if r[1] == "/"]
    assert len(probes) == 1  # one probe per host, not per URL
    assert list(redirect_findings(report.findings)) == [plain.base_url + "/"]
    assert redirect_findings(report.findings)[plain.base_url + "/"].status is Status.PASS
    for url in (site.base_url + "/a", site.base_url + "/b"):
        assert report.scores[url].outcome("redirection").result == "redirection-to-https"


def test_a_probe_that_cannot_run_is_not_tested_never_a_pass(pki: CertBundle) -> None:
    with serve({"*": page(GOOD)}, certs=pki) as site, silent_server() as silent:
        env = env_for({}, pki, urls=[site.base_url + "/"], http_urls={site.base_url: silent}, min_grade="A")
        report = audit(env)
    redirect = redirect_findings(report.findings)[silent + "/"]
    assert redirect.status is Status.ERROR
    assert redirect.observed.startswith("Not tested: the redirect probe failed")
    assert "timed out" in redirect.observed
    score = report.scores[site.base_url + "/"]
    outcome = score.outcome("redirection")
    assert (outcome.result, outcome.passed, outcome.modifier) == ("not-tested", False, 0)
    assert "timed out" in outcome.detail
    # 130 (A+) if the redirect is right, 80 (B+) if plain HTTP does not redirect: with min_grade A
    # the grade cannot be established, so it is an error, not a pass.
    assert (score.worst_case().score, score.worst_case().grade) == (80, "B+")
    grade = grade_finding(report.findings, site.base_url + "/")
    assert grade.status is Status.ERROR
    assert "Grade undetermined: A+ if the untested test(s) pass, B+ if they fail" in grade.observed
    assert "not tested, counted as 0: redirection" in grade.observed


def test_disabled_probe_is_a_skip_and_the_grade_says_so(pki: CertBundle) -> None:
    with serve({"*": page(GOOD)}, certs=pki) as site:
        # min_grade B: reached even if the redirect were missing, so the grade still passes.
        report = audit(env_for({"base_url": site.base_url}, pki, check_redirect=False, min_grade="B"))
    redirect = redirect_findings(report.findings)["http://127.0.0.1/"]
    assert redirect.status is Status.SKIP and "disabled by headers.check_redirect" in redirect.observed
    grade = grade_finding(report.findings, site.base_url + "/")
    assert grade.status is Status.PASS
    assert "not tested, counted as 0: redirection (not probed: disabled by headers.check_redirect" in grade.observed
    assert "at worst score 80, grade B+" in grade.observed and "grade B or better even at worst" in grade.observed


def test_only_followed_redirect_statuses_count(pki: CertBundle) -> None:
    """A 300 with a Location is not a redirect a browser (or the Observatory) follows."""
    with (
        serve({"*": page(GOOD)}, certs=pki) as site,
        serve({"*": redirect_to(site.base_url, 300)}, tls=False) as plain,
    ):
        report = audit(env_for({"base_url": site.base_url, "http_url": plain.base_url}, pki))
    assert redirect_findings(report.findings)[plain.base_url + "/"].status is Status.FAIL
    assert report.scores[site.base_url + "/"].outcome("redirection").result == "redirection-missing"


def test_plain_http_address_mapping() -> None:
    env = Environment.model_validate(
        {
            "environment": "m",
            "base_url": "https://App.Example.com:8443/base/",
            "http_url": "http://app.example.com:8080",
            "headers": {"http_urls": {"https://API.example.com:443/": "http://api.example.com:8081"}},
        }
    )
    assert plain_http_address(env, "https://app.example.com:8443/x") == "http://app.example.com:8080"
    assert plain_http_address(env, "https://api.example.com/v1") == "http://api.example.com:8081"
    # Another host, no mapping: http://host on port 80, whatever its HTTPS port (as the Observatory).
    assert plain_http_address(env, "https://cdn.example.com:9443/a.js") == "http://cdn.example.com"
    assert plain_http_address(env, "https://app.example.com/") == "http://app.example.com"  # other origin
    assert plain_http_address(env, "https://[::1]:8443/") == "http://[::1]"
    # A page served over plain HTTP is its own plain-HTTP address.
    assert plain_http_address(env, "http://legacy.example.com:8000/p") == "http://legacy.example.com:8000"
    assert url_origin("HTTPS://Example.COM:443/path") == "https://example.com"
    assert url_origin("ftp://example.com/") is None


@pytest.mark.parametrize(
    "http_urls",
    [
        {"http://a.example": "http://a.example:8080"},  # key must be https
        {"https://a.example/path": "http://a.example:8080"},  # no path in the key
        {"https://a.example": "https://a.example:8080"},  # value must be http
        {"https://a.example": "not a url"},
    ],
)
def test_http_urls_validation(http_urls: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="http_urls"):
        HeadersParams(http_urls=http_urls)


def test_http_urls_error_names_the_file_and_key(tmp_path) -> None:
    params = tmp_path / "env.yaml"
    params.write_text("environment: e\nheaders:\n  http_urls:\n    'http://a.example': 'http://a.example:81'\n")
    with pytest.raises(ParamsError) as caught:
        load_environment(params)
    assert "headers.http_urls" in str(caught.value) and "env.yaml" in str(caught.value)


# --------------------------------------------------------------------------- CORS on the GET


def test_star_on_a_plain_get_is_judged_even_when_the_preflight_is_refused(pki: CertBundle) -> None:
    def get_star_options_405(handler) -> Reply:
        if handler.command == "OPTIONS":
            return Reply(405, [("Allow", "GET, HEAD")], "")
        return Reply(200, [*GOOD, ("Access-Control-Allow-Origin", "*")], "<p>ok</p>")

    with serve({"*": get_star_options_405}, certs=pki) as site:
        env = env_for({"base_url": site.base_url}, pki, check_redirect=False)
        report = audit(env)
        lab = audit(env.model_copy(update={"production": False}))
    cors = next(f for f in report.findings if f.check_id == "headers.cors")
    assert cors.status is Status.WARN and cors.severity.value == "low"
    assert "GET (no Origin sent): Access-Control-Allow-Origin: *" in cors.observed
    assert "→ 405: no Access-Control-Allow-Origin" in cors.observed
    assert next(f for f in lab.findings if f.check_id == "headers.cors").status is Status.PASS
    # The Observatory reads only a 2xx preflight, never the GET: the grade is unchanged by '*'.
    outcome = report.scores[site.base_url + "/"].outcome("cross-origin-resource-sharing")
    assert (outcome.result, outcome.modifier) == ("cross-origin-resource-sharing-not-implemented", 0)


def test_null_origin_on_the_get_fails(pki: CertBundle) -> None:
    def get_null(handler) -> Reply:
        extra = [] if handler.command == "OPTIONS" else [("Access-Control-Allow-Origin", "null")]
        return Reply(200, [*GOOD, *extra], "")

    with serve({"*": get_null}, certs=pki) as site:
        report = audit(env_for({"base_url": site.base_url}, pki, check_redirect=False))
    cors = next(f for f in report.findings if f.check_id == "headers.cors")
    assert cors.status is Status.FAIL and "'null'" in cors.observed


def test_failed_preflight_is_an_error_not_a_pass(pki: CertBundle) -> None:
    def drop_options(handler) -> Reply:
        if handler.command == "OPTIONS":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("dropped")
        return Reply(200, GOOD, "<p>ok</p>")

    with serve({"*": drop_options}, certs=pki) as site:
        report = audit(env_for({"base_url": site.base_url}, pki, check_redirect=False))
    cors = next(f for f in report.findings if f.check_id == "headers.cors")
    assert cors.status is Status.ERROR and "preflight: failed" in cors.observed
    outcome = report.scores[site.base_url + "/"].outcome("cross-origin-resource-sharing")
    assert outcome.result == "cross-origin-resource-sharing-not-implemented" and "preflight failed" in outcome.detail


# --------------------------------------------------------------------------- found by bench_observatory


def test_redirect_loop_fails_and_is_judged_as_the_observatory_judges_it(pki: CertBundle) -> None:
    with (
        serve({"*": page(GOOD)}, certs=pki) as site,
        serve({"*": lambda h: Reply(301, [("Location", "/again" + h.path[:20])], "")}, tls=False) as plain,
    ):
        report = audit(env_for({"base_url": site.base_url, "http_url": plain.base_url}, pki))
        hops = [r for r in plain.requests if r[0] == "GET"]
    assert len(hops) == 11  # the first request and the Observatory's 10 redirects, then judged
    redirect = redirect_findings(report.findings)[plain.base_url + "/"]
    assert redirect.status is Status.FAIL and "Still redirecting after 10 redirects" in redirect.observed
    assert report.scores[site.base_url + "/"].outcome("redirection").result == "redirection-not-to-https"


def test_browsers_and_the_observatory_read_content_types_differently() -> None:
    """A meta CSP on a ``Text/HTML`` page binds browsers (harden's check) but not the grade."""
    import httpx

    from harden_lib.checks.headers import analyse_page
    from harden_lib.http import FetchResult

    body = '<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'"></head></html>'
    result = FetchResult(
        "https://a.example/", 200, httpx.Headers([("Content-Type", "Text/HTML")]), body.encode(), False, 0.0, "HTTP/1.1"
    )
    analysis = analyse_page("https://a.example/", result)
    present = next(f for f in analysis.findings if f.check_id == "headers.csp.present")
    assert present.status is Status.WARN and "<meta http-equiv>" in present.observed
    assert analysis.score is not None
    assert analysis.score.outcome("content-security-policy").result == "csp-not-implemented"
    assert analysis.score.outcome("subresource-integrity").result == "sri-not-implemented-response-not-html"
