"""One fetched page in, every header finding and its Observatory score out — pure, no network.

The analysis is a pure function of a ``FetchResult`` (plus the probes made for it), so
notebooks and tests can analyse saved or synthetic responses; ``audit`` does the fetching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harden_lib.catalog import finding
from harden_lib.checks.headers import csp as csp_mod
from harden_lib.checks.headers.observatory import (
    CorsProbe,
    ObservatoryScore,
    RedirectProbe,
    evaluate,
    scan_html,
    score_outcomes,
)
from harden_lib.checks.headers.params import HeadersParams
from harden_lib.checks.headers.rules.common import shown
from harden_lib.checks.headers.rules.cookies import cookie_findings
from harden_lib.checks.headers.rules.cors import cors_finding
from harden_lib.checks.headers.rules.csp import csp_findings, needs_finding
from harden_lib.checks.headers.rules.framing import xfo_finding, xfo_state
from harden_lib.checks.headers.rules.grade import grade_finding
from harden_lib.checks.headers.rules.hsts import hsts_findings
from harden_lib.checks.headers.rules.misc import (
    banner_findings,
    coop_finding,
    corp_finding,
    permissions_finding,
    referrer_finding,
    xcto_finding,
)
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url, safe_text

if TYPE_CHECKING:
    from harden_lib.http import FetchResult


def is_html_for_browsers(headers: Any) -> bool:
    """Whether a browser renders the response as HTML (so its meta policies apply).

    Media types are case-insensitive, and without a Content-Type browsers sniff the body;
    the Observatory grade uses its own stricter reading (``observatory.is_html``).
    """
    values = headers.get_list("content-type")
    mime = (values[0] if values else "").split(";")[0].strip().lower()
    return not mime or mime in {"text/html", "application/xhtml+xml"}


@dataclass
class PageAnalysis:
    """Findings and Observatory score of one page (what ``analyse_response`` returns, plus the score)."""

    url: str
    findings: list[Finding]
    score: ObservatoryScore | None


def analyse_page(
    url: str,
    result: FetchResult,
    *,
    params: HeadersParams | None = None,
    cors: FetchResult | CorsProbe | None = None,
    cors_origin: str | None = None,
    redirect: RedirectProbe | None = None,
    production: bool = True,
    verified: bool = True,
    observatory_cors: CorsProbe | None = None,
    needs: dict[str, list[str]] | None = None,
) -> PageAnalysis:
    """Every header finding and the Observatory score of one fetched page — pure: no network, no global state.

    ``url`` is the URL as configured (the finding target); ``result`` its response.
    ``cors`` is the page's answer to the ``OPTIONS`` preflight sent with ``Origin: cors_origin``
    (a ``CorsProbe`` also carries a failure); None: no preflight was sent. ``headers.cors``
    judges it together with the page's own GET response. ``observatory_cors`` is the preflight
    sent with the Observatory's Origin when ``cors_origin`` is another one (the grade reads it).
    ``redirect`` is the probe of the page host's plain-HTTP address, used for the Observatory
    grade only (the redirect finding is made once per address by ``audit``); None: the grade
    says the redirect was not tested. ``verified`` says whether the certificate chain was verified.
    ``needs``: directive → URLs the page must be allowed to load (``headers.csp.needs``); None
    means ``params.csp_needs`` alone.
    """
    params = params or HeadersParams()
    target = safe_text(redact_url(url), 300)  # as catalog.finding shows it; cookie targets extend it
    headers = result.headers
    https = urlsplit(result.url).scheme.lower() == "https"
    html = is_html_for_browsers(headers)
    scan = scan_html(result.text) if html else None

    findings: list[Finding] = []
    final = f" (after redirects: {shown(redact_url(result.url), 200)})" if result.url != url else ""
    size = f"{len(result.body)} bytes" + (" (truncated at the body cap)" if result.truncated else "")
    fetched = f"HTTP {result.status_code}, {size}{final}"
    if 200 <= result.status_code < 300:
        findings.append(
            finding(
                "headers.fetch",
                Status.PASS,
                target,
                fetched,
                severity=Severity.INFO,
                severity_reason="the page was fetched: nothing to fix",
            )
        )
    else:
        findings.append(
            finding(
                "headers.fetch",
                Status.WARN,
                target,
                f"HTTP {result.status_code}{final}: the headers of a non-2xx response were analysed; the real page "
                "may send different ones.",
                severity=Severity.MEDIUM,
                severity_reason="the page answered, but with an error status: its headers may not be the real page's",
            )
        )

    findings.extend(hsts_findings(target, headers, https, params))
    xfo, xfo_value = xfo_state(headers)
    policy_findings, cset = csp_findings(target, headers, scan, https, xfo == "ok")
    findings.extend(policy_findings)
    findings.append(needs_finding(target, cset, result.url, params.csp_needs if needs is None else needs))
    ancestors_ok = any(
        (s := p.get("frame-ancestors")) is not None and not any(csp_mod.is_wildcard(x) for x in s)
        for p in cset.header_policies
    )
    findings.append(xfo_finding(target, xfo, xfo_value, ancestors_ok))
    findings.append(xcto_finding(target, headers))
    findings.append(referrer_finding(target, headers, scan))
    findings.append(permissions_finding(target, headers))
    findings.append(coop_finding(target, headers))
    findings.append(corp_finding(target, headers))
    findings.extend(cookie_findings(target, headers, https, params))
    findings.extend(banner_findings(target, headers))
    preflight = as_probe(cors, cors_origin or params.cors_origin)
    findings.append(cors_finding(target, headers, preflight, production))

    outcomes = evaluate(
        result.url,
        headers,
        result.text if html else "",
        # The grade reads the preflight sent with the Observatory's Origin; a caller that has
        # only a preflight with another Origin gets that one judged instead.
        cors=observatory_cors or preflight,
        redirect=redirect,
        verified=verified,
        scan=scan,
    )
    score = score_outcomes(outcomes, result.url)
    findings.append(grade_finding(target, score, params.min_grade))
    return PageAnalysis(url, findings, score)


def analyse_response(url: str, result: FetchResult, **options: Any) -> list[Finding]:
    """``analyse_page``'s findings alone (same keyword options; see there)."""
    return analyse_page(url, result, **options).findings


def as_probe(cors: FetchResult | CorsProbe | None, origin: str) -> CorsProbe | None:
    """A preflight answer as a ``CorsProbe`` (callers may pass the raw ``FetchResult``)."""
    if cors is None or isinstance(cors, CorsProbe):
        return cors
    return CorsProbe(origin, cors.status_code, cors.headers)
