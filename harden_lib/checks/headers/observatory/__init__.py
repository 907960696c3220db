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
  ported function by function, quirks included (each quirk is commented);
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

The package, by concern: ``tables`` (the upstream tables as data), ``score`` (outcomes, score,
grade), ``page`` (what the tests read: HTML scan, headers as Node sees them, the CORS and
redirect probes), ``csp`` (cspParser.js and the CSP test), ``cookies`` (the cookie test over
tough-cookie's jar) and ``analyzer`` (the other eight tests, ``evaluate`` and
``observatory_score``). Tables and charts of scores are in ``harden_lib.checks.headers.evidence``.
"""

from __future__ import annotations

from harden_lib.checks.headers.observatory.analyzer import (
    corp_test,
    cors_test,
    evaluate,
    hsts_test,
    observatory_score,
    redirection_test,
    referrer_policy_test,
    registrable_domain,
    sri_test,
    x_content_type_options_test,
    x_frame_options_test,
)
from harden_lib.checks.headers.observatory.cookies import cookies_test
from harden_lib.checks.headers.observatory.csp import (
    DUPLICATE_WARNINGS_KEY,
    CspOutput,
    CspParseError,
    csp_test,
    observatory_parse_csp,
    observatory_parse_csp_meta,
)
from harden_lib.checks.headers.observatory.page import (
    MAX_HTML_CHARS,
    CorsProbe,
    PageScan,
    RedirectProbe,
    is_html,
    scan_html,
)
from harden_lib.checks.headers.observatory.score import (
    ObservatoryScore,
    TestOutcome,
    grade_for_score,
    grade_rank,
    outcome_for,
    score_outcomes,
    score_results,
)
from harden_lib.checks.headers.observatory.tables import (
    ALGORITHM_VERSION,
    GRADE_CHART,
    GRADES,
    HTML_TYPES,
    MAX_REDIRECTS,
    MINIMUM_SCORE_FOR_EXTRA_CREDIT,
    NOT_TESTED,
    NOT_TESTED_DESCRIPTION,
    OBSERVATORY_CORS_ORIGIN,
    REDIRECT_STATUSES,
    SCORE_TABLE,
    SKIPPED,
    TEST_LINKS,
    TESTS,
    TOO_MANY,
    WORST_RESULT,
)

__all__ = [
    "ALGORITHM_VERSION",
    "DUPLICATE_WARNINGS_KEY",
    "GRADES",
    "GRADE_CHART",
    "HTML_TYPES",
    "MAX_HTML_CHARS",
    "MAX_REDIRECTS",
    "MINIMUM_SCORE_FOR_EXTRA_CREDIT",
    "NOT_TESTED",
    "NOT_TESTED_DESCRIPTION",
    "OBSERVATORY_CORS_ORIGIN",
    "REDIRECT_STATUSES",
    "SCORE_TABLE",
    "SKIPPED",
    "TESTS",
    "TEST_LINKS",
    "TOO_MANY",
    "WORST_RESULT",
    "CorsProbe",
    "CspOutput",
    "CspParseError",
    "ObservatoryScore",
    "PageScan",
    "RedirectProbe",
    "TestOutcome",
    "cookies_test",
    "corp_test",
    "cors_test",
    "csp_test",
    "evaluate",
    "grade_for_score",
    "grade_rank",
    "hsts_test",
    "is_html",
    "observatory_parse_csp",
    "observatory_parse_csp_meta",
    "observatory_score",
    "outcome_for",
    "redirection_test",
    "referrer_policy_test",
    "registrable_domain",
    "scan_html",
    "score_outcomes",
    "score_results",
    "sri_test",
    "x_content_type_options_test",
    "x_frame_options_test",
]
