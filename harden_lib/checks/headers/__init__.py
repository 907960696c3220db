"""Security headers of the deployment's pages: what browsers are told to enforce.

For each configured URL the page is fetched once through the shared, hardened client
(``harden_lib.http``) and its response headers are checked one by one — HSTS, CSP, framing,
MIME sniffing, referrer, permissions, cross-origin isolation, cookies, information leaks,
CORS (the page's own GET and the Observatory's preflight) — each as a finding with a stable
``check_id`` and the URL as target. The plain-HTTP address of every page's host is probed
once, hop by hop, to see that it redirects to HTTPS (``plain_http_address``: http_url for
base_url's origin, ``headers.http_urls`` for others, else ``http://host`` on port 80), and
each page is graded with its own host's result. Every page also gets its Mozilla HTTP
Observatory score (``observatory``), reported as ``headers.observatory.grade``; a redirect
that could not be probed is said so, never counted as a pass.

Why the split between ``audit`` and ``analyse_response``: the analysis is a pure function of
a ``FetchResult`` so notebooks and tests can analyse saved or synthetic responses without a
network; ``run``/``audit`` only do the fetching.

The scanned server controls every header: values are capped and escaped before they reach a
finding, cookie values are never shown (only names and attributes), and nothing a server
sends is evaluated.

The package, by concern: ``params`` (the ``headers:`` section), ``fetch`` (pages, preflights,
redirect probes), ``csp`` (the CSP parser, as browsers parse), ``rules`` (one module per
header family), ``analysis`` (one response → findings and score), ``observatory`` (the port
of the Mozilla HTTP Observatory) and ``evidence`` (tables and charts). Every check id, its
wording, risk, remediation and references are in ``harden_lib/catalog/headers.yaml``; this
module is the area's interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harden_lib.area import AreaSpec
from harden_lib.checks.headers.analysis import PageAnalysis, analyse_page, analyse_response
from harden_lib.checks.headers.evidence import (
    MAX_SCORE_BARS,
    header_table,
    lowest_scores,
    plot_modifiers,
    plot_scores,
    score_frame,
    scores_frame,
)
from harden_lib.checks.headers.fetch import fetch_pages, probe_redirect, probe_redirects
from harden_lib.checks.headers.observatory import GRADES, CorsProbe, ObservatoryScore, RedirectProbe
from harden_lib.checks.headers.params import Grade, HeadersParams, plain_http_address, url_origin
from harden_lib.checks.headers.rules.common import error_finding
from harden_lib.checks.headers.rules.cookies import ParsedCookie, parse_set_cookie, redact_set_cookie
from harden_lib.checks.headers.rules.hsts import Hsts, parse_hsts
from harden_lib.checks.headers.rules.redirect import redirect_finding
from harden_lib.errors import HardenError
from harden_lib.http import FetchResult, resolve_url
from harden_lib.redact import safe_text

if TYPE_CHECKING:
    import pandas as pd

    from harden_lib.environment import Environment
    from harden_lib.findings import Finding

__all__ = [
    "AREA",
    "GRADES",
    "MAX_SCORE_BARS",
    "CorsProbe",
    "Grade",
    "HeadersAudit",
    "HeadersParams",
    "Hsts",
    "ObservatoryScore",
    "PageAnalysis",
    "ParsedCookie",
    "RedirectProbe",
    "analyse_page",
    "analyse_response",
    "audit",
    "header_table",
    "lowest_scores",
    "parse_hsts",
    "parse_set_cookie",
    "plain_http_address",
    "plot_modifiers",
    "plot_scores",
    "probe_redirect",
    "redact_set_cookie",
    "redirect_finding",
    "run",
    "safe_text",
    "score_frame",
    "scores_frame",
    "url_origin",
]


@dataclass
class HeadersAudit:
    """Everything one run saw: findings plus the evidence behind them."""

    findings: list[Finding] = field(default_factory=list)
    #: configured URL → FetchResult, or the error message when it could not be fetched
    pages: dict[str, FetchResult | str] = field(default_factory=dict)
    scores: dict[str, ObservatoryScore] = field(default_factory=dict)
    #: plain-HTTP address → what probing it showed (one per distinct page host)
    redirects: dict[str, RedirectProbe] = field(default_factory=dict)
    #: configured URL → the plain-HTTP address its grade's redirection test used
    plain_http: dict[str, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The evidence table of every page's headers (see ``header_table``)."""
        return header_table(self.pages)


def audit(env: Environment) -> HeadersAudit:
    """Fetch every configured page, probe each page host's plain-HTTP address, analyse it all.

    Each page is graded with the redirect of its own host (``plain_http_address``), so an
    environment listing many hosts grades each as the Observatory grades that host alone.
    """
    params = env.headers
    report = HeadersAudit()
    urls: list[str] = []
    for item in params.urls:
        try:
            urls.append(resolve_url(env, item))
        except HardenError as exc:
            report.findings.append(error_finding(item, str(exc)))
            report.pages[item] = str(exc)

    for url in urls:
        address = plain_http_address(env, url)
        if address is not None:
            report.plain_http[url] = address
    report.redirects = probe_redirects(env, list(dict.fromkeys(report.plain_http.values())))
    report.findings.extend(redirect_finding(probe) for probe in report.redirects.values())
    needs = csp_needs(env)

    for url, got in zip(urls, fetch_pages(env, urls), strict=True):
        report.pages[url] = got.page
        if isinstance(got.page, str):
            report.findings.append(error_finding(url, got.page))
            continue
        address = report.plain_http.get(url)
        analysis = analyse_page(
            url,
            got.page,
            params=params,
            cors=got.preflight,
            cors_origin=params.cors_origin,
            redirect=report.redirects.get(address) if address else None,
            production=env.production,
            verified=env.http.verify,
            observatory_cors=got.observatory_preflight,
            needs=needs,
        )
        report.findings.extend(analysis.findings)
        if analysis.score is not None:
            report.scores[url] = analysis.score
    return report


def csp_needs(env: Environment) -> dict[str, list[str]]:
    """What the pages' CSP must allow: ``headers.csp_needs`` plus, in connect-src, the app's WebSockets and API.

    Why the WebSockets and API routes come from the cors section: they are configured there
    once (the handshake and CORS probes use them), and a CSP whose connect-src forgets them
    breaks the live features as soon as the policy is enforced. An endpoint that cannot be resolved (a path
    without base_url) is left to the cors area, which reports it.
    """
    needs = {directive: list(urls) for directive, urls in env.headers.csp_needs.items()}
    if env.headers.csp_needs_websockets:
        from harden_lib.checks.cors import ws_url

        found: list[str] = []
        for endpoint in env.cors.websockets:
            try:
                found.append(ws_url(env, endpoint))
            except HardenError:
                continue
        for route in env.cors.routes:  # the API the pages call (the reason CORS is probed)
            try:
                found.append(resolve_url(env, route))
            except HardenError:
                continue
        bucket = needs.setdefault("connect-src", []) if found else []
        for url in found:
            if url not in bucket:
                bucket.append(url)
    return needs


def run(env: Environment) -> list[Finding]:
    """The area's entry point (``harden_lib.areas``): every headers finding for ``env``.

    Notebooks call ``audit(env)`` once and show its findings, scores and evidence, so every
    cell describes the same responses.
    """
    return audit(env).findings


AREA = AreaSpec(
    name="headers",
    title="Security headers",
    purpose="HTTP response headers that make browsers enforce HTTPS, block framing and injected scripts.",
    params=HeadersParams,
    order=20,
)
