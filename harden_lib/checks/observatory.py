"""Mozilla HTTP Observatory score and grade (scoring algorithm version 4), computed locally.

Stakeholders know the Observatory's letter grade, so the headers area reports it next to
its own findings. The rules are a port of the reference implementation, not a guess:

* modifiers and grade chart: ``src/grader/charts.js`` (``SCORE_TABLE``, ``GRADE_CHART``,
  ``MINIMUM_SCORE_FOR_EXTRA_CREDIT``) and ``src/grader/grader.js`` of
  https://github.com/mdn/mdn-http-observatory (``ALGORITHM_VERSION = 4`` in ``src/types.js``);
* the score: ``src/scanner/index.js`` — start at 100, add every modifier; bonuses count only
  when 100 plus the penalties alone is at least 90; never below 0; the grade is the chart
  entry of the score rounded down to a multiple of 5 (capped at 100);
* each test's result: ``src/analyzer/tests/<test>.js`` and ``src/analyzer/cspParser.js``,
  ported below function by function, quirks included (each quirk is commented);
* published description: https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring

The port follows release 1.4.8 of ``@mdn/mdn-http-observatory`` (the release on the npm
registry; ``benchmarks/bench_observatory.py`` scans generated sites with it and compares).
Later upstream releases re-score ``X-Frame-Options`` (SAMEORIGIN/DENY +5, 1.5.0), split CSP
headers into policies (1.6.2) and, unreleased, add COOP/COEP tests; none of that is here.

What differs from a scan by the hosted Observatory, and why:

* HSTS preload list: not consulted (it is a large, changing download). ``hsts-preloaded``
  and ``redirection-all-redirects-preloaded`` are never produced unless the caller says the
  host is preloaded (``hsts_preloaded=True``).
* Cookies: only the ``Set-Cookie`` headers of the analysed page (the Observatory's cookie jar
  also collects cookies from the redirect chain and ``/robots.txt``).
* CORS: like the Observatory's retriever (``src/retriever/retriever.js``), only the answer to
  one ``OPTIONS`` preflight is judged — sent to the page's final URL with
  ``Access-Control-Request-Method: GET`` and ``Origin: https://http-observatory.security.mozilla.org``
  (``OBSERVATORY_CORS_ORIGIN``, ``retriever.corsOrigin`` of ``src/config.js``). The page's own
  GET response is never read for this test, and a non-2xx preflight answer counts as "not
  implemented" (its axios client rejects non-2xx statuses and the retriever stores ``null``).
  Quirk kept: ``cors.js`` reads the Origin it sent from ``response.request.headers``, which a
  Node ``ClientRequest`` does not have, so ``universal-access`` (-50) is never produced; an
  origin reflected with credentials is rated ``restricted-access`` (0). The headers area's
  own ``headers.cors`` check fails that case; the grade only predicts what the Observatory shows.
  Algorithm version 4 no longer reads ``crossdomain.xml`` / ``clientaccesspolicy.xml``
  (the retired Python Observatory did), so neither do we.
* Redirection: needs a probe of the host's plain-HTTP address (``RedirectProbe``). A probe
  that could not run (timeout, reset, too many redirects), or was not made, is
  ``not-tested`` with modifier 0 and a reason — never a pass. The Observatory calls every
  failed plain-HTTP session ``redirection-not-needed-no-http``; we do so only when nothing
  accepts the connection at the first hop. ``ObservatoryScore.worst_case`` gives the score
  with every untested test at its worst result, so a caller can tell whether the grade
  depends on it.
* CORS without a preflight (the caller sent none) is ``not-tested``; a preflight that failed
  (timeout, refused) is ``not-implemented`` with the failure in the detail, as upstream. Since
  ``universal-access`` is unreachable upstream, an untested CORS test cannot change the grade.
* HTML is parsed with the standard library's ``html.parser`` instead of jsdom; both are
  forgiving HTML5-style parsers, so "cannot be parsed" is practically never reached.
* The registrable domain used by the SRI test is approximated by the last two host labels
  (the Observatory uses the Public Suffix List via ``tldts``); for hosts under multi-label
  suffixes such as ``co.uk`` two unrelated sites look like one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harden_lib.redact import redact_url, safe_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.http import FetchResult

ALGORITHM_VERSION = 4

#: ``GRADE_CHART`` of src/grader/charts.js: score rounded down to a multiple of 5 → grade.
GRADE_CHART: dict[int, str] = {
    100: "A+",
    95: "A",
    90: "A",
    85: "A-",
    80: "B+",
    75: "B",
    70: "B",
    65: "B-",
    60: "C+",
    55: "C",
    50: "C",
    45: "C-",
    40: "D+",
    35: "D",
    30: "D",
    25: "D-",
    20: "F",
    15: "F",
    10: "F",
    5: "F",
    0: "F",
}
#: Best first; used to compare grades (``min_grade``).
GRADES: tuple[str, ...] = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")
#: ``MINIMUM_SCORE_FOR_EXTRA_CREDIT`` of src/grader/charts.js.
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90

#: The ten tests in the order of src/scanner/index.js, with ``TEST_TITLES`` of charts.js.
TESTS: dict[str, str] = {
    "content-security-policy": "Content Security Policy (CSP)",
    "cookies": "Cookies",
    "cross-origin-resource-sharing": "Cross Origin Resource Sharing (CORS)",
    "redirection": "Redirection",
    "referrer-policy": "Referrer Policy",
    "strict-transport-security": "Strict Transport Security (HSTS)",
    "subresource-integrity": "Subresource Integrity",
    "x-content-type-options": "X-Content-Type-Options",
    "x-frame-options": "X-Frame-Options",
    "cross-origin-resource-policy": "Cross Origin Resource Policy",
}

#: MDN guide per test (``TEST_TOPIC_LINKS`` of charts.js).
TEST_LINKS: dict[str, str] = {
    "content-security-policy": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/CSP",
    "cookies": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/Cookies",
    "cross-origin-resource-sharing": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/CORS",
    "redirection": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/TLS#http_redirections",
    "referrer-policy": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/Referrer_policy",
    "strict-transport-security": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/TLS#http_strict_transport_security",
    "subresource-integrity": "https://developer.mozilla.org/en-US/docs/Web/Security/Subresource_Integrity",
    "x-content-type-options": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/MIME_types",
    "x-frame-options": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/Clickjacking",
    "cross-origin-resource-policy": "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/CORP",
}

NOT_TESTED = "not-tested"

#: ``retriever.corsOrigin`` of src/config.js: the Origin of the Observatory's CORS preflight.
OBSERVATORY_CORS_ORIGIN = "https://http-observatory.security.mozilla.org"
#: ``REDIRECT_STATUS_CODES`` of src/retriever/session.js: the only statuses its retriever follows.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: ``MAX_REDIRECTS`` of src/retriever/session.js: redirects followed before the chain is judged as is.
MAX_REDIRECTS = 10
#: ``RedirectProbe.error_kind`` of a chain cut at ``MAX_REDIRECTS``: judged on the route seen.
TOO_MANY = "too-many"
#: The worst result a test that was not run could have had (for ``ObservatoryScore.worst_case``).
#: CORS: ``universal-access`` is unreachable upstream (see the module docstring), so its worst
#: reachable results all carry modifier 0.
WORST_RESULT: dict[str, str] = {
    "redirection": "redirection-missing",
    "cross-origin-resource-sharing": "cross-origin-resource-sharing-implemented-with-restricted-access",
}

#: ``SCORE_TABLE`` of src/grader/charts.js: result → (test, modifier, description).
#: Result names and modifiers are the Observatory's; descriptions are short summaries.
SCORE_TABLE: dict[str, tuple[str, int, str]] = {
    # CSP
    "csp-implemented-with-no-unsafe-default-src-none": (
        "content-security-policy",
        10,
        "CSP implemented with default-src 'none' and no unsafe sources",
    ),
    "csp-implemented-with-no-unsafe": ("content-security-policy", 5, "CSP implemented without unsafe sources"),
    "csp-implemented-with-unsafe-inline-in-style-src-only": (
        "content-security-policy",
        0,
        "CSP implemented; unsafe sources only in style-src",
    ),
    "csp-implemented-with-insecure-scheme-in-passive-content-only": (
        "content-security-policy",
        -10,
        "CSP implemented, but images or media may load over HTTP",
    ),
    "csp-implemented-with-unsafe-eval": ("content-security-policy", -10, "CSP implemented, but allows 'unsafe-eval'"),
    "csp-implemented-with-unsafe-inline": (
        "content-security-policy",
        -20,
        "CSP implemented unsafely: 'unsafe-inline' or data: in script-src, overly broad script-src/object-src, "
        "or those not restricted",
    ),
    "csp-implemented-with-insecure-scheme": (
        "content-security-policy",
        -20,
        "CSP implemented, but resources may load over HTTP",
    ),
    "csp-header-invalid": ("content-security-policy", -25, "CSP header cannot be parsed successfully"),
    "csp-not-implemented": ("content-security-policy", -25, "CSP header not implemented"),
    "csp-not-implemented-but-reporting-enabled": (
        "content-security-policy",
        -25,
        "Only a Content-Security-Policy-Report-Only header (nothing is enforced)",
    ),
    "csp-implemented-but-duplicate-directives": (
        "content-security-policy",
        0,
        "CSP implemented, but contains duplicate report directives",
    ),
    # Cookies
    "cookies-secure-with-httponly-sessions-and-samesite": (
        "cookies",
        5,
        "All cookies Secure, session cookies HttpOnly, SameSite used",
    ),
    "cookies-secure-with-httponly-sessions": ("cookies", 0, "All cookies Secure and session cookies HttpOnly"),
    "cookies-not-found": ("cookies", 0, "No cookies detected"),
    "cookies-without-secure-flag-but-protected-by-hsts": (
        "cookies",
        -5,
        "Cookies without the Secure flag, but HSTS prevents sending them over HTTP",
    ),
    "cookies-session-without-secure-flag-but-protected-by-hsts": (
        "cookies",
        -10,
        "Session cookie without the Secure flag, but HSTS prevents sending it over HTTP",
    ),
    "cookies-without-secure-flag": ("cookies", -20, "Cookies set without the Secure flag or over HTTP"),
    "cookies-samesite-flag-invalid": ("cookies", -20, "SameSite set to something other than Strict, Lax or None"),
    "cookies-anticsrf-without-samesite-flag": ("cookies", -20, "Anti-CSRF token cookie without SameSite"),
    "cookies-session-without-httponly-flag": ("cookies", -30, "Session cookie without the HttpOnly flag"),
    "cookies-session-without-secure-flag": ("cookies", -40, "Session cookie without the Secure flag or set over HTTP"),
    # CORS
    "cross-origin-resource-sharing-not-implemented": (
        "cross-origin-resource-sharing",
        0,
        "Content is not visible via CORS",
    ),
    "cross-origin-resource-sharing-implemented-with-public-access": (
        "cross-origin-resource-sharing",
        0,
        "Public content visible via Access-Control-Allow-Origin: *",
    ),
    "cross-origin-resource-sharing-implemented-with-restricted-access": (
        "cross-origin-resource-sharing",
        0,
        "Content visible via CORS, restricted to specific origins",
    ),
    "cross-origin-resource-sharing-implemented-with-universal-access": (
        "cross-origin-resource-sharing",
        -50,
        "Any origin is reflected with credentials allowed (CSRF risk)",
    ),
    # Redirection
    "redirection-all-redirects-preloaded": ("redirection", 0, "All hosts redirected to are HSTS-preloaded"),
    "redirection-to-https": ("redirection", 0, "Initial redirect is to HTTPS on the same host; ends on HTTPS"),
    "redirection-not-needed-no-http": ("redirection", 0, "No plain-HTTP listener, so no redirect is needed"),
    "redirection-off-host-from-http": (
        "redirection",
        -5,
        "Initial redirect from HTTP goes to another host (prevents HSTS)",
    ),
    "redirection-not-to-https-on-initial-redirection": (
        "redirection",
        -10,
        "Ends on HTTPS, but the initial redirect is to another HTTP URL",
    ),
    "redirection-not-to-https": ("redirection", -20, "Redirects, but the final destination is not HTTPS"),
    "redirection-missing": ("redirection", -20, "Does not redirect to HTTPS"),
    "redirection-invalid-cert": ("redirection", -20, "Invalid certificate chain encountered during redirection"),
    # Referrer-Policy
    "referrer-policy-private": ("referrer-policy", 5, "Referrer-Policy set to a private value"),
    "referrer-policy-not-implemented": ("referrer-policy", 0, "Referrer-Policy not implemented"),
    "referrer-policy-unsafe": ("referrer-policy", -5, "Referrer-Policy set to an unsafe value"),
    "referrer-policy-header-invalid": ("referrer-policy", -5, "Referrer-Policy cannot be recognized"),
    # HSTS
    "hsts-preloaded": ("strict-transport-security", 5, "Preloaded via the HSTS preload list"),
    "hsts-implemented-max-age-at-least-six-months": (
        "strict-transport-security",
        0,
        "HSTS max-age at least six months",
    ),
    "hsts-implemented-max-age-less-than-six-months": (
        "strict-transport-security",
        -10,
        "HSTS max-age less than six months",
    ),
    "hsts-not-implemented": ("strict-transport-security", -20, "HSTS header not implemented"),
    "hsts-header-invalid": ("strict-transport-security", -20, "HSTS header cannot be recognized"),
    "hsts-not-implemented-no-https": ("strict-transport-security", -20, "HSTS cannot be set: site not on HTTPS"),
    "hsts-invalid-cert": ("strict-transport-security", -20, "HSTS cannot be set: invalid certificate chain"),
    # SRI
    "sri-implemented-and-all-scripts-loaded-securely": (
        "subresource-integrity",
        5,
        "SRI implemented and all scripts loaded from a similar origin",
    ),
    "sri-implemented-and-external-scripts-loaded-securely": (
        "subresource-integrity",
        5,
        "SRI implemented and all scripts loaded securely",
    ),
    "sri-not-implemented-response-not-html": ("subresource-integrity", 0, "Not HTML: SRI not needed"),
    "sri-not-implemented-but-no-scripts-loaded": ("subresource-integrity", 0, "No script tags: SRI not needed"),
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": (
        "subresource-integrity",
        0,
        "SRI not implemented, but all scripts are from a similar origin",
    ),
    "sri-not-implemented-but-external-scripts-loaded-securely": (
        "subresource-integrity",
        -5,
        "SRI not implemented; external scripts loaded over HTTPS",
    ),
    "sri-implemented-but-external-scripts-not-loaded-securely": (
        "subresource-integrity",
        -20,
        "SRI implemented, but external scripts load over HTTP or protocol-relative URLs",
    ),
    "sri-not-implemented-and-external-scripts-not-loaded-securely": (
        "subresource-integrity",
        -50,
        "SRI not implemented and external scripts load over HTTP or protocol-relative URLs",
    ),
    "html-not-parseable": ("subresource-integrity", -20, "Claims to be HTML, but cannot be parsed"),
    # X-Content-Type-Options
    "x-content-type-options-nosniff": ("x-content-type-options", 0, "X-Content-Type-Options set to nosniff"),
    "x-content-type-options-not-implemented": (
        "x-content-type-options",
        -5,
        "X-Content-Type-Options not implemented",
    ),
    "x-content-type-options-header-invalid": (
        "x-content-type-options",
        -5,
        "X-Content-Type-Options cannot be recognized",
    ),
    # X-Frame-Options
    "x-frame-options-implemented-via-csp": ("x-frame-options", 5, "Framing controlled via CSP frame-ancestors"),
    "x-frame-options-sameorigin-or-deny": ("x-frame-options", 0, "X-Frame-Options set to SAMEORIGIN or DENY"),
    "x-frame-options-allow-from-origin": ("x-frame-options", 0, "X-Frame-Options uses ALLOW-FROM"),
    "x-frame-options-not-implemented": ("x-frame-options", -20, "X-Frame-Options not implemented"),
    "x-frame-options-header-invalid": ("x-frame-options", -20, "X-Frame-Options cannot be recognized"),
    # Cross-Origin-Resource-Policy
    "corp-header-invalid": ("cross-origin-resource-policy", -5, "Cross-Origin-Resource-Policy cannot be recognized"),
    "corp-implemented-with-cross-origin": (
        "cross-origin-resource-policy",
        0,
        "CORP implemented, but allows cross-origin use",
    ),
    "corp-implemented-with-same-origin": ("cross-origin-resource-policy", 10, "CORP same-origin implemented"),
    "corp-implemented-with-same-site": ("cross-origin-resource-policy", 10, "CORP same-site implemented"),
    "corp-not-implemented": ("cross-origin-resource-policy", 0, "CORP not implemented (defaults to cross-origin)"),
}

#: What ``not-tested`` means per test (our addition; modifier 0, never a bonus).
#: Results each test calls "passed" (the ``pass`` lists at the end of every test file).
_PASSING: dict[str, bool] = {
    name: True
    for name in (
        "csp-implemented-with-no-unsafe",
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
        "csp-implemented-but-duplicate-directives",
        "cookies-not-found",
        "cookies-secure-with-httponly-sessions-and-samesite",
        "cookies-secure-with-httponly-sessions",
        "cross-origin-resource-sharing-not-implemented",
        "cross-origin-resource-sharing-implemented-with-public-access",
        "cross-origin-resource-sharing-implemented-with-restricted-access",
        "redirection-not-needed-no-http",
        "redirection-all-redirects-preloaded",
        "redirection-to-https",
        "referrer-policy-private",
        "referrer-policy-not-implemented",
        "hsts-implemented-max-age-at-least-six-months",
        "hsts-preloaded",
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html",
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded",
        "x-content-type-options-nosniff",
        "x-frame-options-allow-from-origin",
        "x-frame-options-sameorigin-or-deny",
        "x-frame-options-implemented-via-csp",
        "corp-not-implemented",
        "corp-implemented-with-same-site",
        "corp-implemented-with-same-origin",
        "corp-implemented-with-cross-origin",
    )
}

#: What ``not-tested`` means per test (our addition; modifier 0, never a bonus, never passed).
NOT_TESTED_DESCRIPTION = {
    "redirection": "Not tested: the plain-HTTP address was not probed or the probe failed (see detail)",
    "cross-origin-resource-sharing": "Not tested: no CORS preflight was sent",
}

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TestOutcome:
    """One Observatory test's result, its modifier and whether the Observatory calls it passed."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    result: str
    modifier: int
    description: str
    passed: bool
    detail: str = ""

    @property
    def title(self) -> str:
        return TESTS.get(self.test, self.test)


@dataclass(frozen=True)
class ObservatoryScore:
    """The score and grade with every test's outcome (``tests`` gives the plain tuples)."""

    score: int
    grade: str
    outcomes: tuple[TestOutcome, ...]
    #: 100 plus the penalties only (decides whether bonuses count).
    uncurved: int
    #: 100 plus every modifier.
    with_extra_credit: int
    url: str = ""

    @property
    def tests(self) -> list[tuple[str, str, int, str]]:
        """``(test, result, modifier, description)`` per test, in the Observatory's order."""
        return [(o.test, o.result, o.modifier, o.description) for o in self.outcomes]

    @property
    def bonus_applied(self) -> bool:
        return self.uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT

    @property
    def tests_passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    def outcome(self, test: str) -> TestOutcome:
        for o in self.outcomes:
            if o.test == test:
                return o
        raise KeyError(test)

    @property
    def untested(self) -> list[TestOutcome]:
        """Tests that could not be run (result ``not-tested``, modifier 0, never passed)."""
        return [o for o in self.outcomes if o.result == NOT_TESTED]

    def worst_case(self) -> ObservatoryScore:
        """This score with every untested test at its worst result (itself when all ran).

        ``score``/``grade`` count an untested test as 0, which is its best case for the
        redirection test; the worst case says whether the grade depends on what was not seen.
        """
        if not self.untested:
            return self
        outcomes = [
            outcome_for(WORST_RESULT[o.test], False, o.detail)
            if o.result == NOT_TESTED and o.test in WORST_RESULT
            else o
            for o in self.outcomes
        ]
        return score_outcomes(outcomes, self.url)

    def summary(self) -> str:
        penalties = ", ".join(f"{o.test} {o.modifier:+d}" for o in self.outcomes if o.modifier)
        bonus = "" if self.bonus_applied else " (bonuses not counted: penalties took the score below 90)"
        text = f"score {self.score}, grade {self.grade}{bonus}; modifiers: {penalties or 'none'}"
        if self.untested:
            worst = self.worst_case()
            notes = "; ".join(f"{o.test}" + (f" ({o.detail})" if o.detail else "") for o in self.untested)
            text += f"; not tested, counted as 0: {notes}"
            if (worst.score, worst.grade) != (self.score, self.grade):
                text += f"; at worst score {worst.score}, grade {worst.grade}"
        return text


def grade_for_score(score: int) -> str:
    """``getGradeAndLikelihoodForScore`` of src/grader/grader.js."""
    score = max(score, 0)
    return GRADE_CHART[min(score - score % 5, 100)]


def grade_rank(grade: str) -> int:
    """Higher is better, so ``grade_rank(a) >= grade_rank(b)`` reads "a is at least b"."""
    return len(GRADES) - GRADES.index(grade)


def score_outcomes(outcomes: Sequence[TestOutcome], url: str = "") -> ObservatoryScore:
    """The scoring of src/scanner/index.js over already-decided test outcomes."""
    with_extra_credit = 100
    uncurved = 100
    for outcome in outcomes:
        with_extra_credit += outcome.modifier
        if outcome.modifier < 0:
            uncurved += outcome.modifier
    # "Only record the full score if the uncurved score already receives an A"
    score = with_extra_credit if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    score = max(score, 0)
    return ObservatoryScore(score, grade_for_score(score), tuple(outcomes), uncurved, with_extra_credit, url)


def outcome_for(result: str, passed: bool | None = None, detail: str = "", test: str | None = None) -> TestOutcome:
    """A ``TestOutcome`` for a result name, with its modifier from ``SCORE_TABLE``."""
    if result == NOT_TESTED:
        if test is None:
            raise ValueError("not-tested needs the test name")
        # The reason goes into the description, so tables that show only descriptions say why.
        description = f"Not tested: {detail[:300]}" if detail else NOT_TESTED_DESCRIPTION.get(test, "Not tested")
        return TestOutcome(test, result, 0, description, False, detail)
    try:
        owner, modifier, description = SCORE_TABLE[result]
    except KeyError:
        raise ValueError(f"unknown Observatory result {result!r}") from None
    if test is not None and test != owner:
        raise ValueError(f"result {result!r} belongs to test {owner!r}, not {test!r}")
    if passed is None:
        passed = _PASSING.get(result, False)
    return TestOutcome(owner, result, modifier, description, passed, detail)


def score_results(results: Mapping[str, str] | Sequence[str], url: str = "") -> ObservatoryScore:
    """Score a set of result names (test → result, or just the result names).

    Useful for what-if questions ("what would CSP without 'unsafe-inline' give?") and for
    checking the arithmetic against the published chart.
    """
    if isinstance(results, Mapping):
        outcomes = [outcome_for(name, test=test) for test, name in results.items()]
    else:
        outcomes = [outcome_for(name) for name in results]
    return score_outcomes(outcomes, url)


# --------------------------------------------------------------------------- inputs


#: ``RedirectProbe.error_kind`` of a probe that was deliberately not made.
SKIPPED = "skipped"


@dataclass(frozen=True)
class RedirectProbe:
    """What following the plain-HTTP address hop by hop showed.

    ``hops`` lists every response in order as ``(status, url)``, the first being the
    plain-HTTP URL itself. ``error_kind`` is ``connect`` (nothing listens), ``tls``
    (a certificate failed verification on the way), ``TOO_MANY`` (still redirecting after
    ``MAX_REDIRECTS``: the route seen is judged, as upstream), ``other``, or ``SKIPPED`` (no
    request was made; ``error`` says why); ``error_at`` is the URL whose request failed.
    """

    start: str
    hops: tuple[tuple[int, str], ...] = ()
    error: str | None = None
    error_kind: str | None = None
    error_at: str | None = None
    #: ``Location`` of each redirect hop, as sent (capped), for evidence.
    locations: tuple[str, ...] = ()

    @property
    def route(self) -> list[str]:
        return [url for _, url in self.hops]


@dataclass
class PageScan:
    """What the Observatory reads from a page's HTML: meta policies and script tags."""

    meta_csp: list[str] = field(default_factory=list)
    meta_referrer: list[str] = field(default_factory=list)
    #: ``(src, integrity, crossorigin)`` of every ``<script>`` (src None when inline).
    scripts: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    script_count: int = 0
    error: str | None = None


#: Most script tags and meta elements recorded (the count keeps going).
_MAX_TAGS = 2000
#: Most characters of HTML parsed (the body is already capped by the HTTP client).
MAX_HTML_CHARS = 1_000_000


class _PageParser(HTMLParser):
    def __init__(self, scan: PageScan) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = scan

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scan.script_count += 1
            if len(self.scan.scripts) < _MAX_TAGS:
                values = dict(attrs)
                src = (values.get("src") or "").strip() or None
                self.scan.scripts.append((src, values.get("integrity"), values.get("crossorigin")))
        elif tag == "meta" and len(self.scan.meta_csp) + len(self.scan.meta_referrer) < _MAX_TAGS:
            values = dict(attrs)
            content = values.get("content")
            # Mirrors parseHttpEquivHeaders (src/retriever/utils.js): an http-equiv meta is
            # only read for CSP; name=referrer is treated like a header; content required.
            if "http-equiv" in values and content is not None:
                if (values.get("http-equiv") or "").strip().lower() == "content-security-policy":
                    self.scan.meta_csp.append(content)
            elif (values.get("name") or "").strip().lower() == "referrer" and content is not None:
                self.scan.meta_referrer = [content]  # Map.set: the last one wins


def scan_html(text: str) -> PageScan:
    """Meta policies and script tags of an HTML page (bounded; never raises)."""
    scan = PageScan()
    parser = _PageParser(scan)
    try:
        parser.feed(text[:MAX_HTML_CHARS])
        parser.close()
    except Exception as exc:  # html.parser is forgiving; anything else is "not parseable"
        scan.error = f"{type(exc).__name__}: {str(exc)[:200]}"
    return scan


def is_html(headers: Any) -> bool:
    """Whether the Observatory treats the response as HTML (reads its meta tags and scripts).

    Quirk kept (retriever.js, subresource-integrity.js): the media type is the first
    Content-Type up to ``;``, exactly as sent — not lower-cased, not trimmed — so
    ``Text/HTML`` or ``text/html ;charset=utf-8`` is not HTML, and neither is a response
    without a Content-Type (browsers would sniff it; the Observatory does not).
    """
    return _content_type(headers) in HTML_TYPES


def _content_type(headers: Any) -> str:
    # Node keeps only the first Content-Type (it drops duplicates) and trims surrounding
    # whitespace of the value; the Observatory splits off parameters and nothing more.
    values = headers.get_list("content-type") if hasattr(headers, "get_list") else [headers.get("content-type", "")]
    return (values[0] if values else "").strip().split(";")[0]


def _first_header(headers: Any, name: str) -> str | None:
    """``getFirstHttpHeader`` over a Node response: repeated headers arrive joined with ", "."""
    return _joined(headers, name) if headers is not None else None


def _joined(headers: Any, name: str) -> str | None:
    """A header as Node/axios presents it: repeated headers joined with ", "."""
    values = headers.get_list(name) if hasattr(headers, "get_list") else _plain_list(headers, name)
    return ", ".join(values) if values else None


def _plain_list(headers: Mapping[str, str], name: str) -> list[str]:
    return [v for k, v in headers.items() if k.lower() == name.lower()]


def _set_cookies(headers: Any) -> list[str]:
    return headers.get_list("set-cookie") if hasattr(headers, "get_list") else _plain_list(headers, "set-cookie")


# --------------------------------------------------------------------------- CSP (cspParser.js)

_SHORTEST_DIRECTIVE_LENGTH = len("img-src") - 1
_ALLOWED_DUPLICATE_KEYS = frozenset({"report-uri", "report-to"})
DUPLICATE_WARNINGS_KEY = "_observatory_duplicate_key_warnings"
_DIRECTIVES_DISALLOWED_IN_META = ("frame-ancestors", "report-uri", "sandbox")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


class CspParseError(ValueError):
    """The Observatory would call this policy invalid (``csp-header-invalid``)."""


@dataclass
class _Src:
    source: str
    index: int
    keep: bool


def observatory_parse_csp(csp_list: Sequence[str]) -> dict[str, set[str]]:
    """``parseCsp`` of src/analyzer/cspParser.js.

    Unlike a browser it rejects a policy that repeats a directive (except report-uri /
    report-to, which are recorded under ``DUPLICATE_WARNINGS_KEY``), and it combines several
    policies by keeping only sources present in each. Sorting uses Python's code-point
    order instead of ``Intl.Collator("en")``; this only matters for the prefix pruning of
    sources of one policy, where both orders put a prefix before its extensions.
    """
    clean = [re.sub(r"[\r\n]", "", s).strip() for s in csp_list]
    if not clean:
        return {}
    for text in clean:
        if not text or len(text) < _SHORTEST_DIRECTIVE_LENGTH:
            raise CspParseError("policy too short")
    csp: dict[str, list[_Src]] = {}
    duplicate_warnings: set[str] = set()
    for policy_index, policy in enumerate(clean):
        seen: set[str] = set()
        for entry in policy.split(";"):
            parts = re.split(r"\s+", entry.strip())
            directive_entry, value_entries = parts[0], parts[1:]
            if not directive_entry:
                continue
            directive = directive_entry.lower()
            if directive in seen:
                if directive in _ALLOWED_DUPLICATE_KEYS:
                    duplicate_warnings.add(directive)
                else:
                    raise CspParseError(f"duplicate directive {directive}")
            else:
                seen.add(directive)
            keep = policy_index == 0
            values: list[_Src] = []
            if value_entries:
                values = [_Src(raw.strip().lower(), policy_index, keep) for raw in value_entries]
            elif directive.endswith("-src"):
                values = [_Src("'none'", policy_index, keep)]
            combined = list(values) if policy_index == 0 else [*csp.get(directive, []), *values]
            combined.sort(key=lambda s: s.source)
            for i in range(1, len(combined)):
                source, prev = combined[i], combined[i - 1]
                # same policy and a shared prefix: the longer source is superfluous
                if source.index == prev.index and source.source.startswith(prev.source):
                    source.keep = False
                # a source has to exist in both policies to count
                if source.index != prev.index and _path_part_match(prev.source, source.source):
                    source.keep = True
            csp[directive] = [s for s in combined if s.keep]
            if policy_index == 0 and len(csp_list) > 1:
                for s in csp[directive]:
                    s.keep = False
    final: dict[str, set[str]] = {
        directive: ({s.source for s in sources} if sources else {"'none'"}) for directive, sources in csp.items()
    }
    if duplicate_warnings:
        final[DUPLICATE_WARNINGS_KEY] = duplicate_warnings
    return final


def observatory_parse_csp_meta(csp_list: Sequence[str]) -> dict[str, set[str]]:
    """``parseCspMeta``: a meta policy without the directives HTML ignores there."""
    parsed = observatory_parse_csp(csp_list)
    for directive in _DIRECTIVES_DISALLOWED_IN_META:
        parsed.pop(directive, None)
    return parsed


def _decode_uri_component(text: str) -> str:
    # decodeURIComponent throws on a malformed escape; the Observatory then reports the
    # CSP as invalid, so this raises too.
    if "%" in text and re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise CspParseError("malformed percent-escape")
    raw = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text)
    try:
        return raw.encode("latin-1", errors="strict").decode("utf-8") if raw != text else text
    except (UnicodeEncodeError, UnicodeDecodeError):
        # non-ASCII text mixed with escapes: decode escapes as UTF-8 byte runs
        try:
            return re.sub(
                r"(?:%[0-9A-Fa-f]{2})+", lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8"), text
            )
        except UnicodeDecodeError:
            raise CspParseError("malformed percent-escape") from None


def _path_part_match(path_a: str, path_b: str) -> bool:
    """``pathPartMatch`` of cspParser.js."""
    if len(path_a) == 0:
        return True
    if path_a == "/" and len(path_b) == 0:
        return True
    exact = not path_a.endswith("/")
    list_a = path_a.split("/")
    list_b = path_b.split("/")
    if len(list_a) > len(list_b):
        return False
    if exact and len(list_a) != len(list_b):
        return False
    if not exact:
        list_a.pop()
    return all(_decode_uri_component(a) == _decode_uri_component(b) for a, b in zip(list_a, list_b, strict=False))


# --------------------------------------------------------------------------- the tests

_DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_BROAD_OR_INLINE = _DANGEROUSLY_BROAD | _UNSAFE_INLINE
_PASSIVE = ("img-src", "media-src")
_NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


def _starts_with_nonce_hash(sources: set[str]) -> bool:
    return any(s.startswith(_NONCES_HASHES) for s in sources)


@dataclass
class _CspOutput:
    result: str
    passed: bool = False
    data: dict[str, list[str]] | None = None


def csp_test(headers: Any, url: str, scan: PageScan | None) -> _CspOutput:
    """``contentSecurityPolicyTest`` of src/analyzer/tests/csp.js."""
    expectation = "csp-implemented-with-no-unsafe"
    header = _joined(headers, "content-security-policy")
    http_csp = [header] if header is not None else []
    equiv_csp = list(scan.meta_csp) if scan else []
    try:
        csp = observatory_parse_csp([*http_csp, *equiv_csp])
    except CspParseError:
        return _CspOutput("csp-header-invalid")
    try:
        header_only = observatory_parse_csp(http_csp)
    except CspParseError:
        header_only = {}
    try:
        meta_csp = observatory_parse_csp_meta(equiv_csp)
    except CspParseError:
        meta_csp = {}
    if len(header_only) + len(meta_csp) == 0:
        if headers.get("content-security-policy-report-only"):
            return _CspOutput("csp-not-implemented-but-reporting-enabled")
        return _CspOutput("csp-not-implemented")

    result: str | None = None

    def first(*candidates: set[str] | None) -> set[str]:
        # JS ``a || b || new Set(["*"])``: a Set is truthy even when empty. The sets are
        # shared with ``csp`` on purpose: csp.js mutates them in place below.
        for candidate in candidates:
            if candidate is not None:
                return candidate
        return {"*"}

    base_uri = first(csp.get("base-uri"))
    frame_ancestors = first(header_only.get("frame-ancestors"))  # header only: not allowed in meta
    form_action = first(csp.get("form-action"))
    object_src = first(csp.get("object-src"), csp.get("default-src"))
    script_src = first(csp.get("script-src"), csp.get("default-src"))
    style_src = first(csp.get("style-src"), csp.get("default-src"))

    # 'unsafe-inline' is ignored when a nonce or hash is present (as browsers do)
    for source_list in (script_src, style_src):
        if _starts_with_nonce_hash(source_list) and "'unsafe-inline'" in source_list:
            source_list.discard("'unsafe-inline'")

    if _starts_with_nonce_hash(script_src) and "'strict-dynamic'" in script_src:
        for source in list(script_src):
            if (
                any(source.startswith(b) for b in _DANGEROUSLY_BROAD)
                or source == "'self'"
                or source == "'unsafe-inline'"
            ):
                script_src.discard(source)
    elif "'strict-dynamic'" in script_src and result is None:
        # quirk: 'strict-dynamic' without a nonce or hash is "invalid" for the Observatory
        result = "csp-header-invalid"

    active = [s for d, sources in csp.items() if d not in _PASSIVE and d != "script-src" for s in sources]
    active.extend(script_src)
    passive = [s for d in _PASSIVE for s in (csp.get(d) if csp.get(d) is not None else csp.get("default-src", set()))]
    https = urlsplit(url).scheme.lower() == "https"

    if any(s in _BROAD_OR_INLINE for s in script_src) or any(s in _DANGEROUSLY_BROAD for s in object_src):
        result = result or "csp-implemented-with-unsafe-inline"
    if https and any(s.startswith(("http:", "ftp:")) for s in active):
        result = result or "csp-implemented-with-insecure-scheme"
    if "'unsafe-eval'" in script_src | style_src:
        result = result or "csp-implemented-with-unsafe-eval"
    if https and any(s.startswith(("http:", "ftp:")) for s in passive):
        result = result or "csp-implemented-with-insecure-scheme-in-passive-content-only"
    if any(s in _BROAD_OR_INLINE for s in style_src):
        result = result or "csp-implemented-with-unsafe-inline-in-style-src-only"
    default_src = csp.get("default-src")
    if default_src is not None and "'none'" in default_src and len(default_src) == 1:
        result = result or "csp-implemented-with-no-unsafe-default-src-none"
    else:
        result = result or "csp-implemented-with-no-unsafe"
    # (csp.js also derives antiClickjacking / insecureBaseUri / insecureFormAction here;
    # they are informational and do not change the result.)
    del base_uri, frame_ancestors, form_action

    passed = result in {
        expectation,
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    }
    if passed and DUPLICATE_WARNINGS_KEY in csp:
        result = "csp-implemented-but-duplicate-directives"
    data = {k: sorted(v) for k, v in csp.items() if k != DUPLICATE_WARNINGS_KEY}
    return _CspOutput(result, passed, data)


def hsts_test(headers: Any, url: str, verified: bool, preloaded: bool = False) -> tuple[str, bool, str]:
    """``strictTransportSecurityTest`` of src/analyzer/tests/strict-transport-security.js."""
    six_months = 15_552_000  # the Observatory's "white lie" for six months
    result = "hsts-not-implemented"
    detail = ""
    if urlsplit(url).scheme.lower() != "https":
        result = "hsts-not-implemented-no-https"
    elif not verified:
        result = "hsts-invalid-cert"
    else:
        header = _joined(headers, "strict-transport-security")
        if header:
            # Node joins a repeated header with ", ", which the Observatory then rejects.
            data = header[:1024]
            detail = data
            max_age: float | None = None
            try:
                if "," in data:
                    raise ValueError("header set multiple times")
                for parameter in (p.strip().lower() for p in data.split(";")):
                    if parameter.startswith("max-age="):
                        max_age = _js_parse_int(parameter[8:128])
                if max_age is None:
                    raise ValueError("max-age missing")
                # quirk: parseInt of a non-number is NaN and "NaN < six months" is false
                result = (
                    "hsts-implemented-max-age-less-than-six-months"
                    if max_age == max_age and max_age < six_months
                    else "hsts-implemented-max-age-at-least-six-months"
                )
            except ValueError:
                result = "hsts-header-invalid"
    if preloaded and urlsplit(url).scheme.lower() == "https":
        result = "hsts-preloaded"
    passed = result in {"hsts-implemented-max-age-at-least-six-months", "hsts-preloaded"}
    return result, passed, detail


def _js_parse_int(text: str) -> float:
    """``Number.parseInt(text, 10)``: leading whitespace, a sign, digits; otherwise NaN."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return float(int(match.group(1))) if match else float("nan")


_COOKIE_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)


def _only_if_worse(new: str, old: str | None, order: Sequence[str]) -> str:
    """``onlyIfWorse`` of src/analyzer/utils.js."""
    if not old:
        return new
    return new if order.index(new) > (order.index(old) if old in order else -1) else old


@dataclass(frozen=True)
class _JarCookie:
    key: str
    secure: bool
    http_only: bool
    same_site: str | None  # tough-cookie: "strict" / "lax" / "none", else undefined


def _default_path(path: str) -> str:
    """RFC 6265 §5.1.4 default-path (tough-cookie ``defaultPath``)."""
    if not path or not path.startswith("/"):
        return "/"
    cut = path.rfind("/")
    return "/" if cut == 0 else path[:cut]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _cookie_domain_accepted(domain: str, host: str) -> bool:
    """tough-cookie ``setCookie`` steps 5-6 for a ``Domain`` attribute.

    Rejected: a public suffix (tldts finds no registrable domain: here a single label or an
    IPv4 address — multi-label suffixes such as ``co.uk`` are not recognised without the
    Public Suffix List) and a domain the request host does not domain-match.
    """
    if ":" not in domain and (_is_ip(domain) or "." not in domain):
        return False
    if domain == host:
        return True
    return host.endswith("." + domain) and not _is_ip(host)


def _jar_cookies(raw_cookies: Sequence[str], url: str = "") -> list[_JarCookie]:
    """The cookies tough-cookie (5.x, as the Observatory sets them) would store for ``url``.

    Mirrors its ``setCookie``: strict parsing (a pair needs a non-empty name and "="),
    ``Domain`` must domain-match the host and not be a public suffix, the ``__Secure-`` and
    ``__Host-`` prefix rules (case-sensitive; silently dropped), and a later cookie with the
    same name, domain and path replaces an earlier one.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    stored: dict[tuple[str, str, str], _JarCookie] = {}
    for raw in raw_cookies:
        pair, _, attributes = raw.partition(";")
        if "=" not in pair:
            continue  # tough-cookie (strict mode) rejects a cookie without "="
        key = pair.split("=", 1)[0].strip()
        if not key:
            continue
        secure = http_only = False
        same_site: str | None = None
        domain = ""
        path: str | None = None
        for attribute in attributes.split(";"):
            name, _, value = attribute.partition("=")
            name = name.strip().lower()
            value = value.strip()
            if name == "secure":
                secure = True
            elif name == "httponly":
                http_only = True
            elif name == "samesite":
                value = value.lower()
                same_site = value if value in {"strict", "lax", "none"} else None
            elif name == "domain" and value:
                domain = value.lstrip(".").lower()
            elif name == "path":
                path = value or None
        if domain and host and not _cookie_domain_accepted(domain, host):
            continue
        if path is None or not path.startswith("/"):
            path = _default_path(parts.path)
        if key.startswith("__Secure-") and not secure:
            continue
        if key.startswith("__Host-") and not (secure and not domain and path == "/"):
            continue
        stored[(key, domain or host, path)] = _JarCookie(key, secure, http_only, same_site)
    # COOKIES_TO_DELETE of cookies.js
    return [c for c in stored.values() if c.key != "heroku-session-affinity"]


def _contains_invalid_samesite(raw: str) -> bool:
    """``containsInvalidSameSiteCookie`` of cookies.js (quirk: also checks the name=value pair)."""
    for part in raw.strip().split(";"):
        pieces = part.strip().split("=")
        key, value = pieces[0], (pieces[1] if len(pieces) > 1 else None)
        if key.strip().lower() == "samesite":
            if not value:
                return True
            if value.strip().lower() not in {"lax", "strict", "none"}:
                return True
    return False


def cookies_test(raw_cookies: Sequence[str], hsts_passed: bool, url: str = "") -> tuple[str, bool, str]:
    """``cookiesTest`` of src/analyzer/tests/cookies.js."""
    expectation = "cookies-secure-with-httponly-sessions"
    result: str | None = None
    for raw in raw_cookies:
        if _contains_invalid_samesite(raw):
            result = _only_if_worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
    cookies = _jar_cookies(raw_cookies, url)
    if not cookies:
        result = "cookies-not-found"
    else:
        missing_samesite = False
        for cookie in cookies:
            name = cookie.key.lower()
            session = "login" in name or "sess" in name
            anticsrf = "csrf" in name
            if not cookie.secure and cookie.same_site == "none":
                result = _only_if_worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
            if not cookie.secure and hsts_passed:
                result = _only_if_worse("cookies-without-secure-flag-but-protected-by-hsts", result, _COOKIE_ORDER)
            elif not cookie.secure:
                result = _only_if_worse("cookies-without-secure-flag", result, _COOKIE_ORDER)
            if anticsrf and not cookie.same_site:
                result = _only_if_worse("cookies-anticsrf-without-samesite-flag", result, _COOKIE_ORDER)
            if session and not cookie.secure and hsts_passed:
                result = _only_if_worse(
                    "cookies-session-without-secure-flag-but-protected-by-hsts", result, _COOKIE_ORDER
                )
            elif session and not cookie.secure:
                result = _only_if_worse("cookies-session-without-secure-flag", result, _COOKIE_ORDER)
            if session and not cookie.http_only:
                result = _only_if_worse("cookies-session-without-httponly-flag", result, _COOKIE_ORDER)
            if not cookie.same_site:
                missing_samesite = True
        if not result:
            result = (
                "cookies-secure-with-httponly-sessions"
                if missing_samesite
                else "cookies-secure-with-httponly-sessions-and-samesite"
            )
    passed = result in {"cookies-not-found", "cookies-secure-with-httponly-sessions-and-samesite", expectation}
    names = ", ".join(c.key[:64] for c in cookies[:20])
    return result, passed, f"cookies: {names}" if names else ""


@dataclass(frozen=True)
class CorsProbe:
    """The Observatory's CORS preflight and what came back.

    ``OPTIONS`` to the page's final URL with ``Origin: origin`` and
    ``Access-Control-Request-Method: GET``; ``status``/``headers`` of the answer (after
    redirects), or ``error`` when no answer came.
    """

    origin: str = OBSERVATORY_CORS_ORIGIN
    status: int | None = None
    headers: Any = None
    error: str | None = None


def cors_test(probe: CorsProbe | None) -> tuple[str, bool, str]:
    """``crossOriginResourceSharingTest`` of src/analyzer/tests/cors.js, over the preflight only.

    The retriever stores the preflight answer only when axios resolved it (2xx); a failed or
    non-2xx preflight leaves ``responses.cors`` null, which the test reads as "not implemented".
    """
    if probe is None:
        return NOT_TESTED, False, ""
    result = "cross-origin-resource-sharing-not-implemented"
    if probe.error is not None:
        return result, True, f"preflight failed: {probe.error}"[:400]
    if probe.status is None or not 200 <= probe.status < 300:
        return result, True, f"preflight answered {probe.status}: not read (the Observatory keeps only 2xx answers)"
    detail = ""
    acao = _first_header(probe.headers, "access-control-allow-origin")
    credentials = _first_header(probe.headers, "access-control-allow-credentials")
    if acao:
        data = acao[:256].strip().lower()
        detail = f"Access-Control-Allow-Origin: {data[:100]}"
        if data == "*":
            result = "cross-origin-resource-sharing-implemented-with-public-access"
        else:
            # Quirk kept: cors.js compares with ``getFirstHttpHeader(response.request, "origin")``,
            # but ``response.request`` is Node's ClientRequest, which has no ``headers`` field,
            # so the sent Origin is never seen and ``universal-access`` (-50) is unreachable.
            # Verified against @mdn/mdn-http-observatory 1.4.8 (benchmarks/bench_observatory.py).
            result = "cross-origin-resource-sharing-implemented-with-restricted-access"
            if acao == probe.origin and (credentials or "").lower().strip() == "true":
                detail += " with credentials: the probe's Origin is reflected (the Observatory cannot see this)"
    passed = result != "cross-origin-resource-sharing-implemented-with-universal-access"
    return result, passed, detail


def redirection_test(probe: RedirectProbe | None, preloaded: bool = False) -> tuple[str, bool, str]:
    """``redirectionTest`` of src/analyzer/tests/redirection.js, over a ``RedirectProbe``."""
    if probe is None:
        return NOT_TESTED, False, "no plain-HTTP address was probed"
    route = probe.route
    detail = " → ".join(route)[:400]
    if probe.error_kind == SKIPPED:
        return NOT_TESTED, False, f"not probed: {probe.error or 'no reason given'}"[:400]
    if probe.error_kind == "tls":
        result = "redirection-invalid-cert"
    elif probe.error_kind == "connect" and not probe.hops:
        result = "redirection-not-needed-no-http"
    elif (probe.error is not None and probe.error_kind != TOO_MANY) or not route:
        # Upstream calls any failed plain-HTTP session "not needed" (a pass); an unprobed
        # redirect must not pass here, so it is "not tested" with the reason.
        return NOT_TESTED, False, f"probe of {probe.start} failed: {probe.error or 'no response'}"[:400]
    elif preloaded:
        result = "redirection-all-redirects-preloaded"
    elif len(route) == 1:
        result = "redirection-missing"
    else:
        first, second, last = urlsplit(route[0]), urlsplit(route[1]), urlsplit(route[-1])
        if last.scheme.lower() != "https":
            result = "redirection-not-to-https"
        elif second.scheme.lower() == "http":
            result = "redirection-not-to-https-on-initial-redirection"
        elif first.scheme.lower() == "http" and second.scheme.lower() == "https" and first.hostname != second.hostname:
            result = "redirection-off-host-from-http"
        else:
            result = "redirection-to-https"
    passed = result in {"redirection-not-needed-no-http", "redirection-all-redirects-preloaded", "redirection-to-https"}
    return result, passed, detail


_REFERRER_GOOD = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
_REFERRER_BAD = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def referrer_policy_test(headers: Any, scan: PageScan | None) -> tuple[str, bool, str]:
    """``referrerPolicyTest`` of src/analyzer/tests/referrer-policy.js."""
    header = _joined(headers, "referrer-policy")
    http_values = [header] if header is not None else []
    equiv = list(scan.meta_referrer) if scan else []
    if not http_values and not equiv:
        return "referrer-policy-not-implemented", True, ""
    data = ", ".join([*http_values, *equiv])
    valid = set(_REFERRER_GOOD) | set(_REFERRER_BAD)
    candidates = [e for e in data.split(",") if e.lower().strip() in valid]
    policy = candidates[-1].lower().strip() if candidates else ""
    if policy in _REFERRER_GOOD:
        result = "referrer-policy-private"
    elif policy in _REFERRER_BAD:
        result = "referrer-policy-unsafe"
    else:
        result = "referrer-policy-header-invalid"
    passed = result in {"referrer-policy-private", "referrer-policy-not-implemented"}
    return result, passed, data[:200]


def registrable_domain(host: str | None) -> str | None:
    """Approximation of tldts' ``domain``: None for IPs and single labels, else the last two labels."""
    if not host:
        return None
    host = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else None


_SRI_ORDER = (
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
)


def sri_test(headers: Any, url: str, scan: PageScan | None) -> tuple[str, bool, str]:
    """``subresourceIntegrityTest`` of src/analyzer/tests/subresource-integrity.js."""
    expectation = "sri-implemented-and-external-scripts-loaded-securely"
    result: str | None = None
    detail = ""
    if not is_html(headers):
        result = "sri-not-implemented-response-not-html"
    elif scan is None or scan.error:
        return "html-not-parseable", False, (scan.error if scan else "")
    else:
        site = urlsplit(url)
        site_domain = registrable_domain(site.hostname)
        foreign = False
        external: list[str] = []
        for src, integrity, _crossorigin in scan.scripts:
            if not src:
                continue
            relative_origin = relative_protocol = same_sld = False
            if re.match(r"^//[^/]", src):
                relative_protocol = True
                same_sld = True
            elif re.match(r"^https?://", src, re.IGNORECASE):
                same_sld = registrable_domain(urlsplit(src).hostname) == site_domain
            else:
                relative_origin = True
                same_sld = True
            secure_origin = relative_origin or (same_sld and not relative_protocol)
            if not secure_origin:
                foreign = True
            scheme = None
            if not relative_protocol and not relative_origin:
                scheme = urlsplit(src).scheme.lower() + ":"
            secure_scheme = scheme == "https:" or (relative_origin and site.scheme.lower() == "https")
            if not secure_origin:
                external.append(src[:120])
                if integrity and not secure_scheme:
                    result = _only_if_worse(
                        "sri-implemented-but-external-scripts-not-loaded-securely", result, _SRI_ORDER
                    )
                elif not integrity and secure_scheme:
                    result = _only_if_worse(
                        "sri-not-implemented-but-external-scripts-loaded-securely", result, _SRI_ORDER
                    )
                elif not integrity and not secure_scheme:
                    result = _only_if_worse(
                        "sri-not-implemented-and-external-scripts-not-loaded-securely", result, _SRI_ORDER
                    )
            elif integrity and secure_scheme and not result:
                # "Grant bonus even if they use SRI on the same origin"
                result = "sri-implemented-and-all-scripts-loaded-securely"
        if scan.script_count == 0:
            result = "sri-not-implemented-but-no-scripts-loaded"
        elif not result:
            result = (
                "sri-implemented-and-external-scripts-loaded-securely"
                if foreign
                else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
            )
        detail = f"{scan.script_count} script tag(s)" + (f"; external: {', '.join(external[:5])}" if external else "")
    passed = result in {
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html",
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded",
        expectation,
    }
    return result, passed, detail


def x_content_type_options_test(headers: Any) -> tuple[str, bool, str]:
    """``xContentTypeOptionsTest`` of src/analyzer/tests/x-content-type-options.js."""
    header = _joined(headers, "x-content-type-options")
    if header:
        data = header[:256]
        result = (
            "x-content-type-options-nosniff"
            if data.strip().lower() == "nosniff"
            else "x-content-type-options-header-invalid"
        )
        return result, result == "x-content-type-options-nosniff", data[:100]
    return "x-content-type-options-not-implemented", False, ""


def x_frame_options_test(headers: Any, csp: _CspOutput) -> tuple[str, bool, str]:
    """``xFrameOptionsTest`` of src/analyzer/tests/x-frame-options.js."""
    header = _joined(headers, "x-frame-options")
    detail = ""
    if header:
        data = header[:1024]
        detail = data[:100]
        xfo = data.strip().lower()
        if xfo in {"deny", "sameorigin"}:
            result = "x-frame-options-sameorigin-or-deny"
        elif xfo.startswith("allow-from"):
            result = "x-frame-options-allow-from-origin"
        else:
            result = "x-frame-options-header-invalid"
    else:
        result = "x-frame-options-not-implemented"
    if csp.data and csp.data.get("frame-ancestors"):
        result = "x-frame-options-implemented-via-csp"
    passed = result in {
        "x-frame-options-allow-from-origin",
        "x-frame-options-sameorigin-or-deny",
        "x-frame-options-implemented-via-csp",
    }
    return result, passed, detail


def corp_test(headers: Any) -> tuple[str, bool, str]:
    """``crossOriginResourcePolicyTest`` of src/analyzer/tests/cross-origin-resource-policy.js."""
    header = _joined(headers, "cross-origin-resource-policy")
    result = "corp-not-implemented"
    detail = ""
    if header:
        value = header[:256].strip().lower()
        detail = value[:100]
        result = {
            "same-site": "corp-implemented-with-same-site",
            "same-origin": "corp-implemented-with-same-origin",
            "cross-origin": "corp-implemented-with-cross-origin",
        }.get(value, "corp-header-invalid")
    return result, result != "corp-header-invalid", detail


# --------------------------------------------------------------------------- public API


def evaluate(
    url: str,
    headers: Any,
    body_text: str = "",
    *,
    cors: CorsProbe | None = None,
    redirect: RedirectProbe | None = None,
    verified: bool = True,
    hsts_preloaded: bool = False,
    scan: PageScan | None = None,
) -> list[TestOutcome]:
    """The ten test outcomes for one response (headers + body), in the Observatory's order.

    ``cors`` is the preflight (None: not sent, so the CORS test is ``not-tested``; the page's
    own headers are never used for it, as upstream). ``redirect`` the probe of the host's
    plain-HTTP address (None: ``not-tested``). ``scan`` is an already parsed page
    (``scan_html``), to avoid parsing the body twice.
    """
    # Meta tags and scripts are read only from what the Observatory calls HTML.
    if not is_html(headers):
        scan = None
    elif scan is None:
        scan = scan_html(body_text)
    csp = csp_test(headers, url, scan)
    hsts = hsts_test(headers, url, verified, hsts_preloaded)
    cookies = cookies_test(_set_cookies(headers), hsts[1], url)
    cors_outcome = cors_test(cors)
    redirection = redirection_test(redirect, hsts_preloaded)
    referrer = referrer_policy_test(headers, scan)
    sri = sri_test(headers, url, scan)
    xcto = x_content_type_options_test(headers)
    xfo = x_frame_options_test(headers, csp)
    corp = corp_test(headers)
    csp_detail = "; ".join(f"{k} {' '.join(v)}" for k, v in (csp.data or {}).items())[:400]
    raw = [
        ("content-security-policy", (csp.result, csp.passed, csp_detail)),
        ("cookies", cookies),
        ("cross-origin-resource-sharing", cors_outcome),
        ("redirection", redirection),
        ("referrer-policy", referrer),
        ("strict-transport-security", hsts),
        ("subresource-integrity", sri),
        ("x-content-type-options", xcto),
        ("x-frame-options", xfo),
        ("cross-origin-resource-policy", corp),
    ]
    return [outcome_for(result, passed, detail, test) for test, (result, passed, detail) in raw]


def observatory_score(
    result: FetchResult,
    *,
    cors: FetchResult | CorsProbe | None = None,
    cors_origin: str | None = None,
    redirect: RedirectProbe | None = None,
    verified: bool = True,
    hsts_preloaded: bool = False,
) -> ObservatoryScore:
    """The Observatory score and grade of one fetched page.

    ``cors`` is the answer to the ``OPTIONS`` preflight sent with ``Origin: cors_origin``
    (default: the Observatory's own origin), or a ready ``CorsProbe``; ``redirect`` the probe
    of the plain-HTTP address; ``verified`` whether the certificate chain was verified
    (False when the environment turned verification off).
    """
    probe = cors
    if cors is not None and not isinstance(cors, CorsProbe):
        probe = CorsProbe(cors_origin or OBSERVATORY_CORS_ORIGIN, cors.status_code, cors.headers)
    outcomes = evaluate(
        result.url,
        result.headers,
        result.text if is_html(result.headers) else "",
        cors=probe,
        redirect=redirect,
        verified=verified,
        hsts_preloaded=hsts_preloaded,
    )
    return score_outcomes(outcomes, result.url)


def score_frame(score: ObservatoryScore) -> pd.DataFrame:
    """One row per test: title, result, modifier, whether it counts, passed, description."""
    import pandas as pd

    rows = []
    for o in score.outcomes:
        counted = o.modifier < 0 or score.bonus_applied
        rows.append(
            {
                "test": o.test,
                "title": o.title,
                "result": o.result,
                "modifier": o.modifier,
                "counted": counted,
                "passed": o.passed,
                "description": o.description,
            }
        )
    return pd.DataFrame(rows, columns=["test", "title", "result", "modifier", "counted", "passed", "description"])


def scores_frame(scores: Mapping[str, ObservatoryScore]) -> pd.DataFrame:
    """One row per page: score, grade, tests passed and every test's modifier (one table for many pages).

    Drawing one modifier chart per page cost 0.5 s a page (19-32 s for 40 URLs); this table
    carries the same numbers for every page at once.
    """
    import pandas as pd

    rows = []
    tests: list[str] = []
    for url, score in scores.items():
        row: dict[str, object] = {
            "page": safe_text(redact_url(url), 120),
            "score": score.score,
            "grade": score.grade,
            "tests passed": f"{score.tests_passed}/{len(score.outcomes)}",
            "bonuses counted": score.bonus_applied,
        }
        for o in score.outcomes:
            if o.test not in tests:
                tests.append(o.test)
            row[o.test] = o.modifier
        rows.append(row)
    columns = ["page", "score", "grade", "tests passed", "bonuses counted", *tests]
    return pd.DataFrame(rows, columns=columns)


def lowest_scores(scores: Mapping[str, ObservatoryScore], count: int = 3) -> list[tuple[str, ObservatoryScore]]:
    """The ``count`` lowest-scoring pages (ties by URL): the ones worth a detailed chart."""
    return sorted(scores.items(), key=lambda item: (item[1].score, item[0]))[:count]


#: Pages drawn in the score chart; the rest are listed in ``scores_frame``'s table.
MAX_SCORE_BARS = 40


def plot_scores(scores: Mapping[str, ObservatoryScore]) -> Figure:
    """Every page's score in one chart (lowest first), coloured by grade letter, capped at 40 bars."""
    from harden_lib.render import figure

    ranked = sorted(scores.items(), key=lambda item: (item[1].score, item[0]))
    shown = ranked[:MAX_SCORE_BARS]
    fig = figure(7.5, 1.3 + 0.32 * max(len(shown), 1))
    ax = fig.subplots()
    if not shown:
        ax.text(0.5, 0.5, "no page could be scored", ha="center", va="center")
        ax.set_axis_off()
        return fig
    colours = {"A": "#2e7d32", "B": "#558b2f", "C": "#ef8f00", "D": "#d84315", "F": "#c62828"}
    labels = [safe_text(redact_url(url), 60) for url, _ in shown][::-1]
    values = [score.score for _, score in shown][::-1]
    bars = ax.barh(labels, values, color=[colours[score.grade[0]] for _, score in shown][::-1])
    ax.bar_label(bars, labels=[f"{score.score} ({score.grade})" for _, score in shown][::-1], padding=3, fontsize=8)
    ax.set_xlim(0, 140)
    ax.axvline(100, color="#333333", linewidth=0.6, linestyle=":")
    ax.set_xlabel("Mozilla HTTP Observatory score (100 = no penalty; bonuses up to 135)")
    more = f" — lowest {len(shown)} of {len(ranked)}; all in the table" if len(ranked) > len(shown) else ""
    ax.set_title(f"Observatory score per page{more}", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_modifiers(score: ObservatoryScore) -> Figure:
    """A horizontal bar per test modifier (penalties red, bonuses green, uncounted bonuses grey).

    Uses the object API only (``matplotlib.figure.Figure``), so it never touches the
    process-wide backend of a notebook or a headless run.
    """
    from matplotlib.figure import Figure

    outcomes = list(score.outcomes)
    fig = Figure(figsize=(7.5, 0.42 * len(outcomes) + 1.4))
    ax = fig.add_subplot()
    labels = [o.title for o in outcomes]
    values = [o.modifier for o in outcomes]
    colours = []
    for o in outcomes:
        if o.modifier < 0:
            colours.append("#c0392b")
        elif o.modifier > 0:
            colours.append("#27ae60" if score.bonus_applied else "#b0b0b0")
        else:
            colours.append("#7f8c8d")
    positions = list(range(len(outcomes)))[::-1]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels=labels)
    ax.axvline(0, color="#333333", linewidth=0.8)
    for pos, value in zip(positions, values, strict=True):
        ax.annotate(
            f"{value:+d}",
            (value, pos),
            xytext=(4 if value >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if value >= 0 else "right",
            va="center",
            fontsize=8,
        )
    low = min([0, *values]) - 10
    high = max([0, *values]) + 10
    ax.set_xlim(low, high)
    ax.set_xlabel("score modifier (start at 100)")
    note = "" if score.bonus_applied else " — bonuses not counted (below 90 before bonuses)"
    ax.set_title(f"Mozilla HTTP Observatory: {score.score} ({score.grade}){note}", fontsize=10)
    fig.tight_layout()
    return fig
