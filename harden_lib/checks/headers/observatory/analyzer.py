"""The Observatory's tests other than CSP and cookies (``src/analyzer/tests/*.js``), and all ten on one response.

Each ``<name>_test`` is a port of the upstream test of that name, quirks included (each quirk
is commented); ``evaluate`` runs the ten in the Observatory's order and ``observatory_score``
scores one fetched page.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harden_lib.checks.headers.observatory.cookies import cookies_test
from harden_lib.checks.headers.observatory.csp import CspOutput, csp_test
from harden_lib.checks.headers.observatory.page import (
    CorsProbe,
    PageScan,
    RedirectProbe,
    first_header,
    is_html,
    joined,
    scan_html,
    set_cookies,
)
from harden_lib.checks.headers.observatory.score import (
    ObservatoryScore,
    TestOutcome,
    only_if_worse,
    outcome_for,
    score_outcomes,
)
from harden_lib.checks.headers.observatory.tables import NOT_TESTED, OBSERVATORY_CORS_ORIGIN, SKIPPED, TOO_MANY

if TYPE_CHECKING:
    from harden_lib.http import FetchResult


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
        header = joined(headers, "strict-transport-security")
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
    acao = first_header(probe.headers, "access-control-allow-origin")
    credentials = first_header(probe.headers, "access-control-allow-credentials")
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
    header = joined(headers, "referrer-policy")
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
                    result = only_if_worse(
                        "sri-implemented-but-external-scripts-not-loaded-securely", result, _SRI_ORDER
                    )
                elif not integrity and secure_scheme:
                    result = only_if_worse(
                        "sri-not-implemented-but-external-scripts-loaded-securely", result, _SRI_ORDER
                    )
                elif not integrity and not secure_scheme:
                    result = only_if_worse(
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
    header = joined(headers, "x-content-type-options")
    if header:
        data = header[:256]
        result = (
            "x-content-type-options-nosniff"
            if data.strip().lower() == "nosniff"
            else "x-content-type-options-header-invalid"
        )
        return result, result == "x-content-type-options-nosniff", data[:100]
    return "x-content-type-options-not-implemented", False, ""


def x_frame_options_test(headers: Any, csp: CspOutput) -> tuple[str, bool, str]:
    """``xFrameOptionsTest`` of src/analyzer/tests/x-frame-options.js."""
    header = joined(headers, "x-frame-options")
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
    header = joined(headers, "cross-origin-resource-policy")
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


# --------------------------------------------------------------------------- all ten tests


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
    cookies = cookies_test(set_cookies(headers), hsts[1], url)
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
