"""The Observatory's own tables (``src/grader/charts.js`` and friends), as data.

Kept apart from the logic so that a new upstream release is a diff of this file: result
names, modifiers, the grade chart, the tests' titles and MDN guides, and the constants of
its retriever (CORS Origin, redirect statuses and budget).
"""

from __future__ import annotations

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

#: Results each test calls "passed" (the ``pass`` lists at the end of every test file).
PASSING: dict[str, bool] = {
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

#: ``RedirectProbe.error_kind`` of a probe that was deliberately not made.
SKIPPED = "skipped"
