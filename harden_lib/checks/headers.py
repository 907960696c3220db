"""Security headers of the deployment's pages: what browsers are told to enforce.

For each configured URL the page is fetched once through the shared, hardened client
(``harden_lib.http``) and its response headers are checked one by one — HSTS, CSP, framing,
MIME sniffing, referrer, permissions, cross-origin isolation, cookies, information leaks,
CORS (the page's own GET and the Observatory's preflight) — each as a ``Finding`` with a
stable ``check_id`` and the URL as target. The plain-HTTP address of every page's host is
probed once, hop by hop, to see that it redirects to HTTPS (``plain_http_address``: http_url
for base_url's origin, ``headers.http_urls`` for others, else ``http://host`` on port 80), and
each page is graded with its own host's result. Every page also gets its Mozilla HTTP
Observatory score (``harden_lib.checks.observatory``), reported as ``headers.observatory.grade``;
a redirect that could not be probed is said so, never counted as a pass.

Why the split between ``run`` and ``analyse_response``: the analysis is a pure function of
a ``FetchResult`` so notebooks and tests can analyse saved or synthetic responses without
a network; ``run``/``audit`` only do the fetching.

The scanned server controls every header: values are capped and escaped before they reach
a finding, cookie values are never shown (only names and attributes), and nothing a server
sends is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.checks import csp as csp_mod
from harden_lib.checks.observatory import (
    GRADES,
    MAX_REDIRECTS,
    OBSERVATORY_CORS_ORIGIN,
    REDIRECT_STATUSES,
    SKIPPED,
    TEST_LINKS,
    TOO_MANY,
    CorsProbe,
    ObservatoryScore,
    PageScan,
    RedirectProbe,
    evaluate,
    grade_rank,
    lowest_scores,
    plot_modifiers,
    plot_scores,
    scan_html,
    score_frame,
    score_outcomes,
    scores_frame,
)
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import (  # re-exported: part of this module's API
    MAX_VALUE_CHARS,
    REDACTED,
    is_secret_key,
    redact_url,
    register_secret,
    safe_text,
)

if TYPE_CHECKING:
    import httpx
    import pandas as pd

    from harden_lib.http import FetchResult
    from harden_lib.params import Environment

AREA = "headers"

Grade = Literal["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F"]


class HeadersParams(BaseModel):
    """The ``headers:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        max_length=50,
        description="pages to check: paths relative to base_url, or absolute http(s) URLs",
    )
    hsts_min_age: int = Field(
        31_536_000, ge=0, le=20 * 31_536_000, description="smallest acceptable HSTS max-age in seconds (1 year)"
    )
    require_include_subdomains: bool = Field(False, description="fail (not warn) when HSTS lacks includeSubDomains")
    require_preload: bool = Field(False, description="require HSTS preload eligibility")
    check_redirect: bool = Field(
        True, description="probe the plain-HTTP address of every page's host for a redirect to HTTPS"
    )
    http_urls: dict[str, str] = Field(
        default_factory=dict,
        description="plain-HTTP address per HTTPS origin of a page, for hosts whose plain HTTP is not on port 80 "
        "(base_url's host uses http_url); e.g. {'https://api.example.com:8443': 'http://api.example.com:8080'}",
    )
    cors_probe: bool = Field(
        True, description="send one OPTIONS preflight with a foreign Origin per page, as the Observatory does"
    )
    cors_origin: str = Field(
        OBSERVATORY_CORS_ORIGIN,
        description="Origin sent by the CORS preflight (the Observatory's own by default; with another value a "
        "second preflight with the Observatory's Origin is sent for the grade)",
    )
    min_grade: Grade = Field("B", description="lowest acceptable Mozilla HTTP Observatory grade")
    session_cookie_markers: list[str] = Field(
        default_factory=lambda: ["sess", "sid", "auth", "token", "login", "jwt"],
        description="a cookie whose name contains one of these is treated as a session cookie",
    )
    workers: int = Field(4, ge=1, le=16, description="pages fetched in parallel")

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item or not (item.startswith("/") or re.match(r"^https?://[^/\s]+", item, re.IGNORECASE)):
                raise ValueError("each URL must be a path starting with '/' or an absolute http(s):// URL")
            if any(c.isspace() for c in item):
                raise ValueError("a URL must not contain whitespace")
        return value

    @field_validator("cors_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(?::\d+)?", value):
            raise ValueError("must be an origin such as https://cors-probe.example (scheme and host, no path)")
        return value

    @field_validator("http_urls")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, plain in value.items():
            origin = url_origin(key)
            if origin is None or not origin.startswith("https://") or urlsplit(key).path not in ("", "/"):
                raise ValueError(f"key '{key}' must be an https:// origin (scheme, host, optional port; no path)")
            target = url_origin(plain)
            if target is None or not target.startswith("http://") or urlsplit(plain).path not in ("", "/"):
                raise ValueError(f"value of '{key}' must be an http:// origin such as http://host:8080 (no path)")
            out[origin] = target
        return out

    @field_validator("session_cookie_markers")
    @classmethod
    def _markers(cls, value: list[str]) -> list[str]:
        return [m.lower() for m in value if m]


def url_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, default port dropped; None if not one."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}" + (f":{port}" if port is not None and port != default else "")


def plain_http_address(env: Environment, url: str) -> str | None:
    """The plain-HTTP address whose redirect the page ``url`` is graded on.

    As the Observatory does when given the page's host alone: ``http://host`` (port 80),
    with the mappings the environment gives — base_url's origin uses ``http_url`` (the demo
    serves plain HTTP on another port), other HTTPS origins ``headers.http_urls``; a page
    served over plain HTTP is its own plain-HTTP address. None for a URL without a host.
    """
    origin = url_origin(url)
    if origin is None:
        return None
    if origin.startswith("http://"):
        return origin
    if env.base and url_origin(env.base) == origin and env.plain_http:
        return env.plain_http
    mapped = env.headers.http_urls.get(origin)
    if mapped:
        return mapped
    host = urlsplit(origin).hostname or ""
    return f"http://[{host}]" if ":" in host else f"http://{host}"


# --------------------------------------------------------------------------- display helpers


@dataclass(frozen=True)
class ParsedCookie:
    """A ``Set-Cookie`` header reduced to what the checks need; the value is never kept."""

    name: str
    value_length: int
    secure: bool
    httponly: bool
    #: The SameSite attribute's value in lower case, ``""`` when given without a value,
    #: None when absent.
    samesite: str | None
    #: ``(name, shown value)`` of each attribute; unknown attributes show their name only.
    attributes: tuple[tuple[str, str], ...]

    def redacted(self) -> str:
        """The header as it may be shown: the value replaced, attributes kept."""
        parts = [f"{safe_text(self.name, 64)}={REDACTED}"]
        for name, value in self.attributes:
            parts.append(f"{name}={value}" if value else name)
        return "; ".join(parts)


_SHOWN_ATTRIBUTES = {
    "path": "Path",
    "domain": "Domain",
    "expires": "Expires",
    "max-age": "Max-Age",
    "samesite": "SameSite",
    "priority": "Priority",
}
_FLAG_ATTRIBUTES = {"secure": "Secure", "httponly": "HttpOnly", "partitioned": "Partitioned"}


def parse_set_cookie(raw: str) -> ParsedCookie | None:
    """Parse one ``Set-Cookie`` value (RFC 6265 §5.2); None when there is no ``name=``."""
    pair, _, rest = raw[:8192].partition(";")
    if "=" not in pair:
        return None
    name, _, value = pair.partition("=")
    name = name.strip()
    value = value.strip()
    if not name:
        return None
    secure = httponly = False
    samesite: str | None = None
    attributes: list[tuple[str, str]] = []
    for item in rest.split(";")[:32]:
        attr, has_value, attr_value = item.partition("=")
        key = attr.strip().lower()
        if not key:
            continue
        attr_value = attr_value.strip()
        if key == "secure":
            secure = True
        elif key == "httponly":
            httponly = True
        elif key == "samesite":
            samesite = attr_value.lower() if has_value else ""
        if key in _FLAG_ATTRIBUTES:
            attributes.append((_FLAG_ATTRIBUTES[key], ""))
        elif key in _SHOWN_ATTRIBUTES:
            attributes.append((_SHOWN_ATTRIBUTES[key], safe_text(attr_value, 80)))
        else:
            attributes.append((safe_text(attr.strip(), 40), ""))
    return ParsedCookie(name, len(value), secure, httponly, samesite, tuple(attributes))


def redact_set_cookie(raw: str) -> str:
    """A ``Set-Cookie`` value with the cookie's value replaced (never shown anywhere)."""
    parsed = parse_set_cookie(raw)
    if parsed is None:
        return f"{REDACTED} (unparseable Set-Cookie, {len(raw)} chars)"
    return parsed.redacted()


def _remember_cookie_values(raw_cookies: Iterable[str]) -> None:
    """Register long cookie values so that no later text (an echoed body, an error) shows them."""
    for raw in raw_cookies:
        pair = raw.split(";", 1)[0]
        if "=" in pair:
            value = pair.split("=", 1)[1].strip().strip('"')
            if len(value) >= 8:
                register_secret(value)


def is_session_cookie(name: str, markers: Sequence[str]) -> bool:
    """Whether a cookie name looks like a session identifier.

    Anti-CSRF tokens (``csrftoken``, ``XSRF-TOKEN``) are excluded: frameworks deliberately
    let JavaScript read them, so requiring HttpOnly there would be a false alarm.
    """
    lowered = name.lower()
    if "csrf" in lowered or "xsrf" in lowered:
        return False
    return any(marker in lowered for marker in markers)


#: Response headers that are about security and never hold a secret, even though a word
#: in their name looks secret to the generic rule.
_NEVER_SECRET = frozenset(
    {"access-control-allow-credentials", "access-control-allow-headers", "access-control-expose-headers"}
)


def _shown_header_value(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered == "set-cookie":
        return redact_set_cookie(value)
    if lowered not in _NEVER_SECRET and (is_secret_key(lowered) or lowered in {"authorization", "proxy-authorization"}):
        return f"{REDACTED} ({len(value)} chars)"
    return safe_text(value)


def header_table(results: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """Evidence: every response header of every page (url, header, value), values made safe.

    ``results`` maps a URL to its ``FetchResult`` (or to the error that prevented it), or is
    an iterable of ``FetchResult``. ``Set-Cookie`` values are redacted; values of
    secret-looking headers are replaced by their length.
    """
    import pandas as pd

    from harden_lib.http import FetchResult

    items = results.items() if isinstance(results, Mapping) else ((r.url, r) for r in results)
    rows: list[dict[str, str]] = []
    for url, result in items:
        shown_url = safe_text(redact_url(str(url)), 300)
        if isinstance(result, FetchResult):
            rows.append({"url": shown_url, "header": ":status", "value": str(result.status_code)})
            for name, value in result.headers.multi_items():
                shown = _shown_header_value(name, value)
                rows.append({"url": shown_url, "header": safe_text(name, 80), "value": shown})
        else:
            rows.append({"url": shown_url, "header": "(fetch error)", "value": safe_text(str(result), 300)})
    return pd.DataFrame(rows, columns=["url", "header", "value"])


# --------------------------------------------------------------------------- the checks

_MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/"
_OWASP_HEADERS = "OWASP Secure Headers Project: https://owasp.org/www-project-secure-headers/"
_OWASP_CHEAT = (
    "OWASP HTTP Headers Cheat Sheet: https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html"
)
_OWASP_CSP = (
    "OWASP CSP Cheat Sheet: https://cheatsheetseries.owasp.org/cheatsheets/Content_Security_Policy_Cheat_Sheet.html"
)
_OWASP_SESSION = (
    "OWASP Session Management Cheat Sheet: "
    "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies"
)


def _obs(test: str) -> str:
    return f"Mozilla HTTP Observatory test '{test}': {TEST_LINKS[test]}"


@dataclass(frozen=True)
class CheckSpec:
    """What stays the same for a check on every target: wording, default severity, sources."""

    title: str
    severity: Severity
    expected: str
    remediation: str
    references: tuple[str, ...]


CHECKS: dict[str, CheckSpec] = {
    "headers.fetch": CheckSpec(
        "The page can be fetched over the configured connection",
        Severity.HIGH,
        "A 2xx response over a verified connection",
        "Make the URL reachable from the audit host, or fix its certificate / the CA bundle in http.ca_bundle.",
        (),
    ),
    "headers.hsts.present": CheckSpec(
        "HTTPS is enforced with Strict-Transport-Security",
        Severity.HIGH,
        "A valid Strict-Transport-Security header on an HTTPS response",
        "Send 'Strict-Transport-Security: max-age=63072000; includeSubDomains' on every HTTPS response.",
        (
            _MDN + "Strict-Transport-Security",
            "RFC 6797",
            _OWASP_HEADERS,
            _obs("strict-transport-security"),
        ),
    ),
    "headers.hsts.max_age": CheckSpec(
        "HSTS is remembered long enough",
        Severity.MEDIUM,
        "max-age of at least the configured minimum",
        "Raise max-age to at least one year (31536000), ideally two (63072000), once HTTPS works everywhere.",
        (_MDN + "Strict-Transport-Security", "https://hstspreload.org/#deployment-recommendations", _OWASP_CHEAT),
    ),
    "headers.hsts.include_subdomains": CheckSpec(
        "HSTS also covers subdomains",
        Severity.LOW,
        "includeSubDomains in Strict-Transport-Security",
        "Add includeSubDomains after confirming every subdomain serves HTTPS.",
        (_MDN + "Strict-Transport-Security", _OWASP_CHEAT),
    ),
    "headers.hsts.preload": CheckSpec(
        "HSTS is eligible for browser preloading",
        Severity.LOW,
        "preload with includeSubDomains and max-age of at least 31536000 (when preloading is required)",
        "Add 'preload' (with includeSubDomains and max-age >= 31536000) and submit the domain at hstspreload.org.",
        ("https://hstspreload.org/", _MDN + "Strict-Transport-Security#preloading_strict_transport_security"),
    ),
    "headers.csp.present": CheckSpec(
        "A Content-Security-Policy is enforced",
        Severity.HIGH,
        "A Content-Security-Policy response header (not only Report-Only)",
        "Send a Content-Security-Policy header, e.g. \"default-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'\", tightened per page.",
        (_MDN + "Content-Security-Policy", _OWASP_CSP, _obs("content-security-policy")),
    ),
    "headers.csp.unsafe_inline": CheckSpec(
        "The CSP blocks injected inline scripts",
        Severity.HIGH,
        "script-src (or default-src) without an effective 'unsafe-inline'",
        "Remove 'unsafe-inline' from script-src: move inline scripts to files, or use nonces/hashes "
        "(with 'strict-dynamic').",
        (_MDN + "Content-Security-Policy/script-src#unsafe_inline_script", _OWASP_CSP, _obs("content-security-policy")),
    ),
    "headers.csp.unsafe_eval": CheckSpec(
        "The CSP blocks eval()",
        Severity.MEDIUM,
        "script-src (or default-src) without 'unsafe-eval'",
        "Remove 'unsafe-eval' after removing eval(), new Function() and string timers from the code.",
        (_MDN + "Content-Security-Policy/script-src#unsafe_eval_expressions", _OWASP_CSP),
    ),
    "headers.csp.default_src": CheckSpec(
        "The CSP has a default-src fallback",
        Severity.MEDIUM,
        "A default-src directive, so every resource type not listed is still restricted",
        "Add \"default-src 'self'\" (or 'none') and open up only the directives the page needs.",
        (_MDN + "Content-Security-Policy/default-src", _OWASP_CSP),
    ),
    "headers.csp.object_src": CheckSpec(
        "The CSP blocks plugins (object-src 'none')",
        Severity.MEDIUM,
        "object-src 'none' (directly or via default-src 'none')",
        "Add \"object-src 'none'\".",
        (_MDN + "Content-Security-Policy/object-src", _OWASP_CSP, _obs("content-security-policy")),
    ),
    "headers.csp.frame_ancestors": CheckSpec(
        "The CSP controls who may frame the page",
        Severity.MEDIUM,
        "frame-ancestors 'none' or 'self' (or specific origins) in a CSP header",
        "Add \"frame-ancestors 'none'\" (or 'self') to the Content-Security-Policy header.",
        (_MDN + "Content-Security-Policy/frame-ancestors", _OWASP_CSP, _obs("x-frame-options")),
    ),
    "headers.csp.base_uri": CheckSpec(
        "The CSP restricts <base> (base-uri)",
        Severity.LOW,
        "base-uri 'none' or 'self'",
        "Add \"base-uri 'none'\" (or 'self' if the page uses <base>).",
        (_MDN + "Content-Security-Policy/base-uri", _OWASP_CSP),
    ),
    "headers.csp.wildcard_sources": CheckSpec(
        "The CSP has no overly broad sources",
        Severity.MEDIUM,
        "No *, bare scheme (https:, http:) or data: sources in script, object, base and framing directives",
        "Replace wildcards and bare schemes with the exact origins the page needs.",
        (_MDN + "Content-Security-Policy/Sources", _OWASP_CSP, _obs("content-security-policy")),
    ),
    "headers.csp.http_sources": CheckSpec(
        "The CSP loads nothing over plain HTTP",
        Severity.MEDIUM,
        "No http:, ws: or ftp: sources",
        "Load every resource over HTTPS and remove http:// sources (add upgrade-insecure-requests while migrating).",
        (_MDN + "Content-Security-Policy/upgrade-insecure-requests", _obs("content-security-policy")),
    ),
    "headers.x_frame_options": CheckSpec(
        "The page cannot be framed by other sites (clickjacking)",
        Severity.MEDIUM,
        "X-Frame-Options DENY or SAMEORIGIN, or CSP frame-ancestors",
        "Send 'X-Frame-Options: DENY' (or SAMEORIGIN) for old browsers, plus CSP frame-ancestors.",
        (_MDN + "X-Frame-Options", _OWASP_HEADERS, _obs("x-frame-options")),
    ),
    "headers.x_content_type_options": CheckSpec(
        "Browsers do not guess content types (nosniff)",
        Severity.LOW,
        "X-Content-Type-Options: nosniff",
        "Send 'X-Content-Type-Options: nosniff' on every response.",
        (_MDN + "X-Content-Type-Options", _OWASP_HEADERS, _obs("x-content-type-options")),
    ),
    "headers.referrer_policy": CheckSpec(
        "Full URLs do not leak to other sites (Referrer-Policy)",
        Severity.LOW,
        "Referrer-Policy: strict-origin-when-cross-origin, strict-origin, same-origin or no-referrer",
        "Send 'Referrer-Policy: strict-origin-when-cross-origin' (or stricter).",
        (_MDN + "Referrer-Policy", _OWASP_HEADERS, _obs("referrer-policy")),
    ),
    "headers.permissions_policy": CheckSpec(
        "Powerful browser features are restricted (Permissions-Policy)",
        Severity.LOW,
        "A Permissions-Policy header disabling features the site does not use",
        "Send e.g. 'Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=()'.",
        (_MDN + "Permissions-Policy", _OWASP_HEADERS),
    ),
    "headers.coop": CheckSpec(
        "Other windows cannot script this one (Cross-Origin-Opener-Policy)",
        Severity.LOW,
        "Cross-Origin-Opener-Policy: same-origin",
        "Send 'Cross-Origin-Opener-Policy: same-origin' (same-origin-allow-popups if OAuth pop-ups need it).",
        (_MDN + "Cross-Origin-Opener-Policy", _OWASP_HEADERS),
    ),
    "headers.corp": CheckSpec(
        "Other sites cannot embed this resource (Cross-Origin-Resource-Policy)",
        Severity.LOW,
        "Cross-Origin-Resource-Policy: same-origin or same-site",
        "Send 'Cross-Origin-Resource-Policy: same-origin' (cross-origin only for deliberately public assets).",
        (_MDN + "Cross-Origin-Resource-Policy", _OWASP_HEADERS, _obs("cross-origin-resource-policy")),
    ),
    "headers.cookies.secure": CheckSpec(
        "The cookie is only sent over HTTPS (Secure)",
        Severity.MEDIUM,
        "Secure attribute on every cookie set over HTTPS",
        "Add the Secure attribute (and serve the site only over HTTPS).",
        (_MDN + "Set-Cookie#secure", _OWASP_SESSION, _obs("cookies")),
    ),
    "headers.cookies.httponly": CheckSpec(
        "Session cookies are hidden from JavaScript (HttpOnly)",
        Severity.HIGH,
        "HttpOnly on session cookies",
        "Add the HttpOnly attribute to session cookies so an XSS cannot steal them.",
        (_MDN + "Set-Cookie#httponly", _OWASP_SESSION, _obs("cookies")),
    ),
    "headers.cookies.samesite": CheckSpec(
        "The cookie is not sent on cross-site requests (SameSite)",
        Severity.LOW,
        "SameSite=Lax or SameSite=Strict",
        "Add SameSite=Lax (or Strict); use SameSite=None; Secure only for cookies meant for cross-site use.",
        (_MDN + "Set-Cookie#samesitesamesite-value", _OWASP_SESSION, _obs("cookies")),
    ),
    "headers.server_banner": CheckSpec(
        "The server does not advertise its software version",
        Severity.LOW,
        "No Server header, or one without a version",
        "Hide the version (nginx: server_tokens off; Apache: ServerTokens Prod) or drop the header at the proxy.",
        (_MDN + "Server", _OWASP_HEADERS),
    ),
    "headers.x_powered_by": CheckSpec(
        "The framework is not advertised (X-Powered-By)",
        Severity.LOW,
        "No X-Powered-By / X-AspNet-Version / X-AspNetMvc-Version headers",
        "Remove the header (Express: app.disable('x-powered-by'); PHP: expose_php=Off).",
        (_MDN + "X-Powered-By", _OWASP_HEADERS),
    ),
    "headers.x_xss_protection": CheckSpec(
        "The legacy XSS auditor is not switched on",
        Severity.LOW,
        "X-XSS-Protection absent or set to 0",
        "Remove X-XSS-Protection or set it to 0, and rely on a Content-Security-Policy.",
        (_MDN + "X-XSS-Protection", _OWASP_HEADERS),
    ),
    "headers.cors": CheckSpec(
        "Other sites cannot read responses with the user's cookies (CORS)",
        Severity.HIGH,
        "Neither the page's GET nor its preflight answers with Access-Control-Allow-Origin reflecting arbitrary "
        "origins with credentials, 'null', or (in production) '*'",
        "Allow only a fixed list of trusted origins; never reflect the Origin header with "
        "Access-Control-Allow-Credentials: true.",
        (_MDN + "Access-Control-Allow-Origin", _obs("cross-origin-resource-sharing")),
    ),
    "headers.redirect_https": CheckSpec(
        "Plain HTTP redirects to HTTPS on the same host",
        Severity.HIGH,
        "http:// answers 301 or 308 to https:// on the same host",
        "Answer every plain-HTTP request with a 301 (or 308) to the same host and path on https://.",
        (
            "https://developer.mozilla.org/en-US/docs/Web/Security/Practical_implementation_guides/TLS#http_redirections",
            _obs("redirection"),
        ),
    ),
    "headers.observatory.grade": CheckSpec(
        "Mozilla HTTP Observatory grade meets the target",
        Severity.MEDIUM,
        "grade at or above the configured minimum",
        "Fix the tests with negative modifiers first (largest first); bonuses count only from a score of 90.",
        ("https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring",),
    ),
}


def check_ids() -> list[str]:
    """Every check id this area can produce (stable: history and waivers key on them)."""
    return list(CHECKS)


def _make(
    check_id: str,
    status: Status,
    target: str,
    observed: str,
    *,
    severity: Severity | None = None,
    expected: str | None = None,
    remediation: str | None = None,
) -> Finding:
    spec = CHECKS[check_id]
    return Finding(
        area=AREA,
        check_id=check_id,
        title=spec.title,
        status=status,
        severity=severity or spec.severity,
        target=target,
        observed=observed,
        expected=expected or spec.expected,
        remediation=remediation or spec.remediation,
        references=spec.references,
    )


def error_finding(target: str, message: str, check_id: str = "headers.fetch") -> Finding:
    """The check could not run: never a pass (DESIGN §4)."""
    return _make(check_id, Status.ERROR, safe_text(redact_url(target), 300), safe_text(message, 500))


# --------------------------------------------------------------------------- HSTS


@dataclass(frozen=True)
class Hsts:
    max_age: int | None
    include_subdomains: bool
    preload: bool
    error: str | None = None


def parse_hsts(value: str) -> Hsts:
    """RFC 6797 §6.1: ``;``-separated directives, each at most once, max-age required."""
    seen: set[str] = set()
    max_age: int | None = None
    include = preload = False
    for part in value[:1024].split(";"):
        part = part.strip()
        if not part:
            continue
        name, has_value, raw = part.partition("=")
        name = name.strip().lower()
        if name in seen:
            return Hsts(None, False, False, f"directive '{safe_text(name, 40)}' appears twice")
        seen.add(name)
        if name == "max-age":
            digits = raw.strip().strip('"')
            if not has_value or not digits.isdigit() or not digits.isascii():
                return Hsts(None, False, False, "max-age is not a number")
            max_age = int(digits[:12])
        elif name == "includesubdomains":
            include = True
        elif name == "preload":
            preload = True
    if max_age is None:
        return Hsts(None, include, preload, "max-age is missing")
    return Hsts(max_age, include, preload)


def _duration(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds} s ≈ {seconds / 86400:.0f} days"
    return f"{seconds} s"


def _hsts_findings(target: str, headers: httpx.Headers, https: bool, params: HeadersParams) -> list[Finding]:
    values = headers.get_list("strict-transport-security")
    ids = ("headers.hsts.max_age", "headers.hsts.include_subdomains", "headers.hsts.preload")
    if not https:
        return [
            _make(
                "headers.hsts.present",
                Status.FAIL,
                target,
                "The page is served over plain HTTP; browsers ignore HSTS there and nothing forces HTTPS.",
                remediation="Serve the page over HTTPS, redirect HTTP to it, then add Strict-Transport-Security.",
            ),
            *(_make(i, Status.SKIP, target, "Not applicable: the page is not served over HTTPS.") for i in ids),
        ]
    if not values:
        return [
            _make("headers.hsts.present", Status.FAIL, target, "No Strict-Transport-Security header."),
            *(_make(i, Status.SKIP, target, "No HSTS header (see headers.hsts.present).") for i in ids),
        ]
    shown = safe_text(values[0])
    extra = f" ({len(values)} headers sent; browsers use only the first)" if len(values) > 1 else ""
    policy = parse_hsts(values[0])
    if policy.error:
        return [
            _make(
                "headers.hsts.present",
                Status.FAIL,
                target,
                f"Strict-Transport-Security: {shown}{extra} — invalid ({policy.error}); browsers ignore it.",
            ),
            *(_make(i, Status.SKIP, target, "The HSTS header is invalid (see headers.hsts.present).") for i in ids),
        ]
    assert policy.max_age is not None
    out: list[Finding] = []
    if policy.max_age == 0:
        out.append(
            _make(
                "headers.hsts.present",
                Status.FAIL,
                target,
                f"Strict-Transport-Security: {shown}{extra} — max-age=0 tells browsers to forget HSTS.",
            )
        )
    else:
        out.append(_make("headers.hsts.present", Status.PASS, target, f"Strict-Transport-Security: {shown}{extra}"))
    minimum = params.hsts_min_age
    out.append(
        _make(
            "headers.hsts.max_age",
            Status.PASS if policy.max_age >= minimum else Status.FAIL,
            target,
            f"max-age={_duration(policy.max_age)}",
            expected=f"max-age of at least {_duration(minimum)}",
        )
    )
    if policy.include_subdomains:
        out.append(_make("headers.hsts.include_subdomains", Status.PASS, target, "includeSubDomains is set."))
    else:
        out.append(
            _make(
                "headers.hsts.include_subdomains",
                Status.FAIL if params.require_include_subdomains else Status.WARN,
                target,
                "includeSubDomains is missing: subdomains (and cookies scoped to them) can still be reached over HTTP.",
                severity=Severity.MEDIUM if params.require_include_subdomains else Severity.LOW,
            )
        )
    eligible = policy.include_subdomains and policy.max_age >= 31_536_000
    if policy.preload:
        if eligible:
            observed = "preload with includeSubDomains and max-age ≥ 1 year."
            out.append(_make("headers.hsts.preload", Status.PASS, target, observed))
        else:
            out.append(
                _make(
                    "headers.hsts.preload",
                    Status.FAIL if params.require_preload else Status.WARN,
                    target,
                    "preload is set, but hstspreload.org also needs includeSubDomains and max-age ≥ 31536000.",
                )
            )
    elif params.require_preload:
        out.append(
            _make(
                "headers.hsts.preload",
                Status.FAIL,
                target,
                "preload is missing and params require preloading.",
                severity=Severity.MEDIUM,
            )
        )
    else:
        out.append(
            _make(
                "headers.hsts.preload",
                Status.SKIP,
                target,
                "preload not set; not required (set headers.require_preload to require it).",
            )
        )
    return out


# --------------------------------------------------------------------------- CSP


def _policies_text(policies: Sequence[csp_mod.Policy], limit: int = MAX_VALUE_CHARS) -> str:
    return safe_text(" | ".join(csp_mod.describe(p, 1000) for p in policies), limit)


def _sources_text(sources: tuple[str, ...] | None) -> str:
    return "(not set)" if sources is None else safe_text(" ".join(sources) or "(empty)", 120)


def _csp_findings(
    target: str, headers: httpx.Headers, scan: PageScan | None, https: bool, xfo_ok: bool
) -> tuple[list[Finding], csp_mod.CspSet]:
    cset = csp_mod.parse_response_csp(
        headers.get_list("content-security-policy"),
        headers.get_list("content-security-policy-report-only"),
        scan.meta_csp if scan else (),
    )
    rest = (
        "headers.csp.unsafe_inline",
        "headers.csp.unsafe_eval",
        "headers.csp.default_src",
        "headers.csp.object_src",
        "headers.csp.frame_ancestors",
        "headers.csp.base_uri",
        "headers.csp.wildcard_sources",
        "headers.csp.http_sources",
    )
    policies = cset.enforced
    if not policies:
        if cset.report_only:
            observed = (
                "Only Content-Security-Policy-Report-Only is sent (violations are reported, nothing is blocked): "
                + _policies_text(cset.report_only)
            )
        else:
            observed = "No Content-Security-Policy header."
        return [
            _make("headers.csp.present", Status.FAIL, target, observed),
            *(_make(i, Status.SKIP, target, "No enforced CSP (see headers.csp.present).") for i in rest),
        ], cset

    notes = []
    for p in policies:
        if p.duplicates:
            notes.append(f"repeated directives ignored by browsers: {', '.join(p.duplicates)}")
        if p.unknown:
            notes.append(f"unknown directives (typos?): {', '.join(safe_text(u, 40) for u in p.unknown[:5])}")
        if p.truncated:
            notes.append("policy longer than the parser's limits; only the start was analysed")
    note = (" — " + "; ".join(notes)) if notes else ""
    out: list[Finding] = []
    if not cset.header_policies:
        out.append(
            _make(
                "headers.csp.present",
                Status.WARN,
                target,
                "CSP only via <meta http-equiv>: frame-ancestors, report-uri and sandbox are ignored there: "
                + _policies_text(policies)
                + note,
                severity=Severity.MEDIUM,
            )
        )
    else:
        status = Status.WARN if notes else Status.PASS
        out.append(
            _make(
                "headers.csp.present",
                status,
                target,
                "Content-Security-Policy: " + _policies_text(policies) + note,
                severity=Severity.LOW if notes else None,
            )
        )

    first = policies[0]
    # unsafe-inline: the script element and attribute lists both fall back to script-src.
    inline_weak = all(
        csp_mod.allows_inline(p.effective("script-src-elem")) or csp_mod.allows_inline(p.effective("script-src-attr"))
        for p in policies
    )
    scripts = first.effective("script-src")
    if inline_weak:
        why = (
            "no script-src or default-src: inline scripts are not restricted"
            if scripts is None
            else f"script sources: {_sources_text(scripts)} — 'unsafe-inline' is effective (no nonce, hash "
            "or 'strict-dynamic' to neutralise it)"
        )
        out.append(_make("headers.csp.unsafe_inline", Status.FAIL, target, why))
    else:
        neutralised = scripts is not None and "'unsafe-inline'" in scripts
        observed = f"script sources: {_sources_text(scripts)}" + (
            " ('unsafe-inline' is ignored by browsers because a nonce, hash or 'strict-dynamic' is present)"
            if neutralised
            else ""
        )
        if all(csp_mod.allows_inline(p.effective("style-src"), script=False) for p in policies):
            observed += "; note: inline styles are allowed (lower risk than scripts)"
        out.append(_make("headers.csp.unsafe_inline", Status.PASS, target, observed))

    if all(csp_mod.allows_eval(p.effective("script-src")) for p in policies):
        why = (
            "no script-src or default-src: eval() is not restricted"
            if scripts is None
            else f"'unsafe-eval' in script sources: {_sources_text(scripts)}"
        )
        out.append(_make("headers.csp.unsafe_eval", Status.FAIL, target, why))
    else:
        out.append(_make("headers.csp.unsafe_eval", Status.PASS, target, "eval() is blocked."))

    if any(p.has("default-src") for p in policies):
        shown = "default-src " + _sources_text(first.get("default-src"))
        out.append(_make("headers.csp.default_src", Status.PASS, target, shown))
    else:
        out.append(
            _make(
                "headers.csp.default_src",
                Status.FAIL,
                target,
                "No default-src: every resource type without its own directive (e.g. connect-src, frame-src) "
                "is unrestricted.",
            )
        )

    objects = [p.effective("object-src") for p in policies]
    if any(s == ("'none'",) for s in objects):
        out.append(_make("headers.csp.object_src", Status.PASS, target, "object-src 'none' (plugins blocked)."))
    elif all(s is None or any(csp_mod.is_wildcard(x, "object-src") for x in s) for s in objects):
        out.append(
            _make(
                "headers.csp.object_src",
                Status.FAIL,
                target,
                f"object-src (or default-src): {_sources_text(objects[0])} — plugins may load from anywhere.",
            )
        )
    else:
        out.append(
            _make(
                "headers.csp.object_src",
                Status.WARN,
                target,
                f"object-src (or default-src): {_sources_text(objects[0])} — restricted, but not 'none'.",
                severity=Severity.LOW,
            )
        )

    ancestors = [p.get("frame-ancestors") for p in cset.header_policies]
    if any(s is not None and not any(csp_mod.is_wildcard(x) for x in s) for s in ancestors):
        shown = next(s for s in ancestors if s is not None and not any(csp_mod.is_wildcard(x) for x in s))
        out.append(_make("headers.csp.frame_ancestors", Status.PASS, target, f"frame-ancestors {_sources_text(shown)}"))
    elif any(s is not None for s in ancestors):
        out.append(
            _make(
                "headers.csp.frame_ancestors",
                Status.FAIL,
                target,
                "frame-ancestors allows any origin: " + _sources_text(next(s for s in ancestors if s is not None)),
            )
        )
    elif xfo_ok:
        out.append(
            _make(
                "headers.csp.frame_ancestors",
                Status.WARN,
                target,
                "No frame-ancestors in a CSP header; framing is controlled by X-Frame-Options only.",
                severity=Severity.LOW,
            )
        )
    else:
        meta_only = any(p.origin == "meta" for p in policies) and not cset.header_policies
        out.append(
            _make(
                "headers.csp.frame_ancestors",
                Status.FAIL,
                target,
                "No frame-ancestors in a CSP header"
                + (" (it is ignored in <meta> policies)" if meta_only else "")
                + " and no valid X-Frame-Options: any site can frame the page.",
            )
        )

    bases = [p.get("base-uri") for p in policies]
    if any(s is not None and not any(csp_mod.is_wildcard(x) for x in s) for s in bases):
        shown = next(s for s in bases if s is not None and not any(csp_mod.is_wildcard(x) for x in s))
        out.append(_make("headers.csp.base_uri", Status.PASS, target, f"base-uri {_sources_text(shown)}"))
    elif any(s is not None for s in bases):
        out.append(
            _make(
                "headers.csp.base_uri",
                Status.FAIL,
                target,
                "base-uri allows any origin: " + _sources_text(next(s for s in bases if s is not None)),
            )
        )
    else:
        out.append(
            _make(
                "headers.csp.base_uri",
                Status.WARN,
                target,
                "No base-uri: an injected <base> tag can redirect the page's relative script URLs.",
            )
        )

    wild = csp_mod.broad_sources(policies, csp_mod.is_wildcard)
    if wild:
        text = "; ".join(f"{d}: {' '.join(s)}" for d, s in wild.items())
        critical = any(d in csp_mod.CRITICAL_DIRECTIVES for d in wild)
        out.append(
            _make(
                "headers.csp.wildcard_sources",
                Status.FAIL if critical else Status.WARN,
                target,
                "Overly broad sources — " + safe_text(text),
                severity=None if critical else Severity.LOW,
            )
        )
    else:
        out.append(_make("headers.csp.wildcard_sources", Status.PASS, target, "No wildcard or bare-scheme sources."))

    insecure = csp_mod.broad_sources(policies, lambda s, d: csp_mod.is_insecure_scheme(s))
    if insecure:
        text = "; ".join(f"{d}: {' '.join(s)}" for d, s in insecure.items())
        active = any(d not in csp_mod.PASSIVE_DIRECTIVES for d in insecure)
        out.append(
            _make(
                "headers.csp.http_sources",
                Status.FAIL if active else Status.WARN,
                target,
                ("Sources over plain HTTP — " if https else "Sources over plain HTTP (page itself is HTTP) — ")
                + safe_text(text),
                severity=None if active else Severity.LOW,
            )
        )
    else:
        out.append(_make("headers.csp.http_sources", Status.PASS, target, "No plain-HTTP sources."))
    return out, cset


# --------------------------------------------------------------------------- other headers


def _tokens(values: Iterable[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def _xfo_state(headers: httpx.Headers) -> tuple[str, str]:
    """(state, shown value): state is ok / allow-from / invalid / missing."""
    values = headers.get_list("x-frame-options")
    if not values:
        return "missing", ""
    shown = safe_text(", ".join(values))
    tokens = set(_tokens(values))
    if len(tokens) == 1 and tokens <= {"deny", "sameorigin"}:
        return "ok", shown
    if len(tokens) == 1 and next(iter(tokens)).startswith("allow-from"):
        return "allow-from", shown
    return "invalid", shown


def _xfo_finding(target: str, state: str, shown: str, ancestors_ok: bool) -> Finding:
    if state == "ok":
        return _make("headers.x_frame_options", Status.PASS, target, f"X-Frame-Options: {shown}")
    if ancestors_ok:
        detail = {"missing": "not set", "allow-from": f"{shown} (obsolete)", "invalid": f"{shown} (invalid)"}[state]
        return _make(
            "headers.x_frame_options",
            Status.PASS,
            target,
            f"X-Frame-Options {detail}; framing is controlled by CSP frame-ancestors, which browsers prefer.",
        )
    if state == "allow-from":
        return _make(
            "headers.x_frame_options",
            Status.WARN,
            target,
            f"X-Frame-Options: {shown} — ALLOW-FROM is ignored by current browsers, so framing is not restricted.",
        )
    if state == "invalid":
        return _make(
            "headers.x_frame_options", Status.FAIL, target, f"X-Frame-Options: {shown} — not a valid value; ignored."
        )
    return _make("headers.x_frame_options", Status.FAIL, target, "No X-Frame-Options and no CSP frame-ancestors.")


def _xcto_finding(target: str, headers: httpx.Headers) -> Finding:
    values = headers.get_list("x-content-type-options")
    if not values:
        return _make("headers.x_content_type_options", Status.FAIL, target, "No X-Content-Type-Options header.")
    shown = safe_text(", ".join(values))
    # Browsers read the first comma-separated token (Fetch spec "determine nosniff").
    if _tokens(values)[:1] == ["nosniff"]:
        return _make("headers.x_content_type_options", Status.PASS, target, f"X-Content-Type-Options: {shown}")
    return _make(
        "headers.x_content_type_options", Status.FAIL, target, f"X-Content-Type-Options: {shown} — not 'nosniff'."
    )


_REFERRER_PRIVATE = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
_REFERRER_LEAKY = {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}


def _referrer_finding(target: str, headers: httpx.Headers, scan: PageScan | None) -> Finding:
    values = headers.get_list("referrer-policy")
    source = "Referrer-Policy"
    if not values and scan and scan.meta_referrer:
        values, source = list(scan.meta_referrer), '<meta name="referrer">'
    if not values:
        return _make(
            "headers.referrer_policy",
            Status.WARN,
            target,
            "No Referrer-Policy: the browser default applies (strict-origin-when-cross-origin in current "
            "browsers, but not guaranteed in older ones).",
        )
    shown = safe_text(", ".join(values))
    # The last recognised token wins (Referrer Policy spec §4.1); unknown tokens are skipped.
    known = [t for t in _tokens(values) if t in _REFERRER_PRIVATE | _REFERRER_LEAKY]
    if not known:
        return _make("headers.referrer_policy", Status.FAIL, target, f"{source}: {shown} — no recognised policy.")
    policy = known[-1]
    if policy in _REFERRER_PRIVATE:
        return _make("headers.referrer_policy", Status.PASS, target, f"{source}: {shown}")
    severity = Severity.MEDIUM if policy in {"unsafe-url", "no-referrer-when-downgrade"} else None
    return _make(
        "headers.referrer_policy",
        Status.FAIL,
        target,
        f"{source}: {shown} — '{policy}' sends the full URL or origin to other sites.",
        severity=severity,
    )


_PP_ITEM = re.compile(r'^\s*[a-z][a-z0-9\-]*\s*=\s*(?:\*|\(\s*[^()]*\)|self|src|"[^"]*")\s*(?:;.*)?$', re.IGNORECASE)


def _permissions_finding(target: str, headers: httpx.Headers) -> Finding:
    values = headers.get_list("permissions-policy")
    if not values:
        if headers.get("feature-policy"):
            return _make(
                "headers.permissions_policy",
                Status.WARN,
                target,
                "Only the legacy Feature-Policy header: " + safe_text(headers.get("feature-policy")),
            )
        return _make(
            "headers.permissions_policy",
            Status.WARN,
            target,
            "No Permissions-Policy: camera, microphone, geolocation etc. are available to any embedded content "
            "the page allows.",
        )
    shown = safe_text(", ".join(values))
    items = [i for v in values for i in _split_structured(v)]
    bad = [i for i in items if not _PP_ITEM.match(i)]
    if bad:
        return _make(
            "headers.permissions_policy",
            Status.WARN,
            target,
            f"Permissions-Policy: {shown} — not a valid structured-field dictionary near "
            f"'{safe_text(bad[0], 60)}'; browsers ignore the whole header on a parse error.",
        )
    return _make("headers.permissions_policy", Status.PASS, target, f"Permissions-Policy: {shown}")


def _split_structured(value: str) -> list[str]:
    """Split a structured-field dictionary on top-level commas (not inside parentheses/quotes)."""
    items, depth, quoted, current = [], 0, False, []
    for ch in value[:4096]:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0 and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [i for i in items if i.strip()]


def _coop_finding(target: str, headers: httpx.Headers) -> Finding:
    value = headers.get("cross-origin-opener-policy")
    if not value:
        return _make("headers.coop", Status.WARN, target, "No Cross-Origin-Opener-Policy (defaults to unsafe-none).")
    shown = safe_text(value)
    token = value.split(";")[0].strip().lower()
    if token == "same-origin":
        return _make("headers.coop", Status.PASS, target, f"Cross-Origin-Opener-Policy: {shown}")
    if token in {"same-origin-allow-popups", "noopener-allow-popups"}:
        return _make(
            "headers.coop",
            Status.PASS,
            target,
            f"Cross-Origin-Opener-Policy: {shown} (popups keep a reference; fine when the site relies on them)",
        )
    if token == "unsafe-none":
        return _make("headers.coop", Status.WARN, target, f"Cross-Origin-Opener-Policy: {shown} — isolation disabled.")
    return _make("headers.coop", Status.WARN, target, f"Cross-Origin-Opener-Policy: {shown} — not a valid value.")


def _corp_finding(target: str, headers: httpx.Headers) -> Finding:
    value = headers.get("cross-origin-resource-policy")
    if not value:
        return _make(
            "headers.corp",
            Status.WARN,
            target,
            "No Cross-Origin-Resource-Policy: any site may embed this response (defaults to cross-origin).",
        )
    shown = safe_text(value)
    token = value.strip().lower()
    if token in {"same-origin", "same-site"}:
        return _make("headers.corp", Status.PASS, target, f"Cross-Origin-Resource-Policy: {shown}")
    if token == "cross-origin":
        return _make(
            "headers.corp",
            Status.WARN,
            target,
            f"Cross-Origin-Resource-Policy: {shown} — any site may embed it (right only for public assets).",
        )
    return _make(
        "headers.corp", Status.FAIL, target, f"Cross-Origin-Resource-Policy: {shown} — invalid; browsers ignore it."
    )


_VERSION = re.compile(r"\d+\.\d+|/\s*\d")


def _banner_findings(target: str, headers: httpx.Headers) -> list[Finding]:
    out: list[Finding] = []
    server = headers.get("server")
    if not server:
        out.append(_make("headers.server_banner", Status.PASS, target, "No Server header."))
    elif _VERSION.search(server):
        out.append(
            _make(
                "headers.server_banner",
                Status.FAIL,
                target,
                f"Server: {safe_text(server)} — the version tells attackers which known vulnerabilities to try.",
            )
        )
    else:
        out.append(_make("headers.server_banner", Status.PASS, target, f"Server: {safe_text(server)} (no version)"))
    leaks = [
        f"{name}: {safe_text(headers.get(name), 100)}"
        for name in ("X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version")
        if headers.get(name)
    ]
    if leaks:
        out.append(_make("headers.x_powered_by", Status.FAIL, target, "; ".join(leaks)))
    else:
        out.append(_make("headers.x_powered_by", Status.PASS, target, "No X-Powered-By or similar header."))
    xxss = headers.get("x-xss-protection")
    if xxss is not None:
        if xxss.strip().split(";")[0].strip() == "0":
            out.append(_make("headers.x_xss_protection", Status.PASS, target, f"X-XSS-Protection: {safe_text(xxss)}"))
        else:
            out.append(
                _make(
                    "headers.x_xss_protection",
                    Status.WARN,
                    target,
                    f"X-XSS-Protection: {safe_text(xxss)} — the retired XSS auditor can be abused to leak "
                    "information; current guidance is to omit it or send 0.",
                )
            )
    return out


def _cookie_findings(target: str, headers: httpx.Headers, https: bool, params: HeadersParams) -> list[Finding]:
    raw_cookies = headers.get_list("set-cookie")
    _remember_cookie_values(raw_cookies)
    out: list[Finding] = []
    seen: dict[str, int] = {}
    for raw in raw_cookies[:50]:
        cookie = parse_set_cookie(raw)
        if cookie is None:
            continue
        name = safe_text(cookie.name, 64)
        seen[name] = seen.get(name, 0) + 1
        suffix = f" #{seen[name]}" if seen[name] > 1 else ""
        cookie_target = f"{target} (cookie: {name}{suffix})"
        shown = f"Set-Cookie: {cookie.redacted()}"
        session = is_session_cookie(cookie.name, params.session_cookie_markers)
        kind = "session cookie" if session else "cookie"
        host_prefix = cookie.name.startswith(("__Secure-", "__Host-"))

        if cookie.secure:
            out.append(_make("headers.cookies.secure", Status.PASS, cookie_target, shown))
        else:
            where = "set over HTTPS" if https else "set over plain HTTP"
            extra = " (its __Secure-/__Host- prefix makes browsers reject it)" if host_prefix else ""
            out.append(
                _make(
                    "headers.cookies.secure",
                    Status.FAIL,
                    cookie_target,
                    f"{shown} — {kind} {where} without Secure: it is also sent over plain HTTP{extra}.",
                    severity=Severity.HIGH if session else Severity.MEDIUM,
                )
            )

        if cookie.httponly:
            out.append(_make("headers.cookies.httponly", Status.PASS, cookie_target, shown))
        elif session:
            out.append(
                _make(
                    "headers.cookies.httponly",
                    Status.FAIL,
                    cookie_target,
                    f"{shown} — session cookie readable by JavaScript: one XSS steals the session.",
                )
            )
        else:
            out.append(
                _make(
                    "headers.cookies.httponly",
                    Status.SKIP,
                    cookie_target,
                    f"{shown} — not session-like by name; script access may be intended.",
                )
            )

        samesite = cookie.samesite
        if samesite in {"lax", "strict"}:
            out.append(_make("headers.cookies.samesite", Status.PASS, cookie_target, shown))
        elif samesite == "none":
            if cookie.secure:
                out.append(
                    _make(
                        "headers.cookies.samesite",
                        Status.WARN,
                        cookie_target,
                        f"{shown} — SameSite=None: sent on cross-site requests (only right for cookies meant "
                        "for embedding or third-party use).",
                        severity=Severity.MEDIUM if session else Severity.LOW,
                    )
                )
            else:
                out.append(
                    _make(
                        "headers.cookies.samesite",
                        Status.FAIL,
                        cookie_target,
                        f"{shown} — SameSite=None without Secure: current browsers reject the cookie.",
                        severity=Severity.MEDIUM,
                    )
                )
        elif samesite is None:
            out.append(
                _make(
                    "headers.cookies.samesite",
                    Status.WARN,
                    cookie_target,
                    f"{shown} — no SameSite: browsers differ in their default (Lax in Chromium, None elsewhere), "
                    "so cross-site requests may carry it.",
                    severity=Severity.MEDIUM if session else Severity.LOW,
                )
            )
        else:
            out.append(
                _make(
                    "headers.cookies.samesite",
                    Status.FAIL,
                    cookie_target,
                    f"{shown} — SameSite value '{safe_text(samesite, 20)}' is not Strict, Lax or None.",
                )
            )
    return out


_CORS_RANK = {Status.PASS: 0, Status.ERROR: 1, Status.WARN: 2, Status.FAIL: 3}


def _cors_verdict(headers: Any, origin_sent: str | None, production: bool) -> tuple[Status, Severity | None, str]:
    """(status, severity override, text) of one response's CORS headers."""
    acao = headers.get("access-control-allow-origin")
    if not acao:
        return Status.PASS, None, "no Access-Control-Allow-Origin"
    credentials = (headers.get("access-control-allow-credentials") or "").strip().lower() == "true"
    shown = f"Access-Control-Allow-Origin: {safe_text(acao, 120)}" + (
        "; Access-Control-Allow-Credentials: true" if credentials else ""
    )
    value = acao.strip()
    reflected = origin_sent is not None and value == origin_sent
    if reflected and credentials:
        return (
            Status.FAIL,
            None,
            f"{shown} — an arbitrary origin is reflected with credentials: any site can read responses made "
            "with the user's cookies",
        )
    if reflected:
        return Status.WARN, Severity.MEDIUM, f"{shown} — arbitrary origins are reflected (without credentials)"
    if value.lower() == "null":
        return (
            Status.FAIL,
            Severity.MEDIUM,
            f"{shown} — 'null' is the origin of sandboxed iframes and local files, which attackers control",
        )
    if value == "*":
        if credentials:
            return (
                Status.WARN,
                Severity.LOW,
                f"{shown} — '*' with credentials is refused by browsers: a misconfiguration",
            )
        if production:
            return (
                Status.WARN,
                Severity.LOW,
                f"{shown} — any site may read this response; production rules expect specific origins",
            )
        return Status.PASS, None, f"{shown} — public content, no credentials"
    return Status.PASS, None, f"{shown} — restricted to a specific origin"


def _cors_finding(target: str, page_headers: Any, preflight: CorsProbe | None, production: bool) -> Finding:
    """``headers.cors`` from the page's own GET response and the preflight answer: the worst of both.

    A plain GET (no Origin sent, as the Observatory and a browser's first navigation send it)
    that answers ``Access-Control-Allow-Origin: *`` exposes the page to every site even when
    the preflight is refused, so both are judged.
    """
    verdicts = [(*_cors_verdict(page_headers, None, production), "GET (no Origin sent)")]
    if preflight is None:
        verdicts.append((Status.PASS, None, "not sent (headers.cors_probe is off)", "preflight"))
    elif preflight.error is not None:
        # Reflection could not be tested: an error at the check's own severity, never a pass.
        verdicts.append((Status.ERROR, None, f"failed: {safe_text(preflight.error, 200)}", "preflight"))
    else:
        status, severity, text = _cors_verdict(preflight.headers, preflight.origin, production)
        where = f"OPTIONS with Origin: {safe_text(preflight.origin, 80)} → {preflight.status}"
        verdicts.append((status, severity, text, where))

    def badness(verdict: tuple[Status, Severity | None, str, str]) -> tuple[int, int]:
        return _CORS_RANK[verdict[0]], (verdict[1] or CHECKS["headers.cors"].severity).rank

    worst = max(verdicts, key=badness)
    observed = "; ".join(f"{where}: {text}" for _, _, text, where in verdicts)
    return _make("headers.cors", worst[0], target, observed, severity=worst[1])


def _grade_finding(target: str, score: ObservatoryScore, min_grade: str) -> Finding:
    """The grade against ``min_grade``; an untested test may not decide it.

    An untested test counts 0 in ``score`` (the best case for the redirect). When the worst
    case (``score.worst_case()``) also meets the target the verdict holds either way; when
    only the best case does, the grade could not be established: ``error``, not ``pass``.
    """
    worst = score.worst_case()
    ok = grade_rank(score.grade) >= grade_rank(min_grade)
    ok_worst = grade_rank(worst.grade) >= grade_rank(min_grade)
    negatives = sorted((o for o in score.outcomes if o.modifier < 0), key=lambda o: o.modifier)
    remediation = CHECKS["headers.observatory.grade"].remediation
    if negatives:
        remediation = "Largest penalties first: " + "; ".join(
            f"{o.title} ({o.modifier:+d}: {o.description})" for o in negatives[:4]
        )
    status = Status.PASS if ok else Status.FAIL
    observed = score.summary()
    if ok and not ok_worst:
        status = Status.ERROR
        observed = (
            f"Grade undetermined: {score.grade} if the untested test(s) pass, {worst.grade} if they fail — " + observed
        )
        remediation = "Make the plain-HTTP address probe-able (or fix the probe's error) and run again. " + remediation
    elif ok and score.untested:
        observed += f" — grade {min_grade} or better even at worst"
    return _make(
        "headers.observatory.grade",
        status,
        target,
        safe_text(observed, 700),
        expected=f"grade {min_grade} or better (Mozilla HTTP Observatory, scoring algorithm v4)",
        remediation=remediation,
    )


# --------------------------------------------------------------------------- one response


def _is_html_for_browsers(headers: Any) -> bool:
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
) -> PageAnalysis:
    """``analyse_response`` that also returns the ``ObservatoryScore`` (for charts)."""
    params = params or HeadersParams()
    target = safe_text(redact_url(url), 300)
    headers = result.headers
    https = urlsplit(result.url).scheme.lower() == "https"
    html = _is_html_for_browsers(headers)
    scan = scan_html(result.text) if html else None

    findings: list[Finding] = []
    final = f" (after redirects: {safe_text(redact_url(result.url), 200)})" if result.url != url else ""
    size = f"{len(result.body)} bytes" + (" (truncated at the body cap)" if result.truncated else "")
    fetched = f"HTTP {result.status_code}, {size}{final}"
    if 200 <= result.status_code < 300:
        findings.append(_make("headers.fetch", Status.PASS, target, fetched, severity=Severity.INFO))
    else:
        findings.append(
            _make(
                "headers.fetch",
                Status.WARN,
                target,
                f"HTTP {result.status_code}{final}: the headers of a non-2xx response were analysed; the real page "
                "may send different ones.",
                severity=Severity.MEDIUM,
            )
        )

    findings.extend(_hsts_findings(target, headers, https, params))
    xfo_state, xfo_shown = _xfo_state(headers)
    csp_findings, cset = _csp_findings(target, headers, scan, https, xfo_state == "ok")
    findings.extend(csp_findings)
    ancestors_ok = any(
        (s := p.get("frame-ancestors")) is not None and not any(csp_mod.is_wildcard(x) for x in s)
        for p in cset.header_policies
    )
    findings.append(_xfo_finding(target, xfo_state, xfo_shown, ancestors_ok))
    findings.append(_xcto_finding(target, headers))
    findings.append(_referrer_finding(target, headers, scan))
    findings.append(_permissions_finding(target, headers))
    findings.append(_coop_finding(target, headers))
    findings.append(_corp_finding(target, headers))
    findings.extend(_cookie_findings(target, headers, https, params))
    findings.extend(_banner_findings(target, headers))
    preflight = _as_probe(cors, cors_origin or params.cors_origin)
    findings.append(_cors_finding(target, headers, preflight, production))

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
    findings.append(_grade_finding(target, score, params.min_grade))
    return PageAnalysis(url, findings, score)


def analyse_response(
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
) -> list[Finding]:
    """Every header finding for one fetched page — pure: no network, no global state.

    ``url`` is the URL as configured (the finding target); ``result`` its response.
    ``cors`` is the page's answer to the ``OPTIONS`` preflight sent with ``Origin: cors_origin``
    (a ``CorsProbe`` also carries a failure); None: no preflight was sent. ``headers.cors``
    judges it together with the page's own GET response. ``observatory_cors`` is the preflight
    sent with the Observatory's Origin when ``cors_origin`` is another one (the grade reads it).
    ``redirect`` is the probe of the page host's plain-HTTP address, used for the Observatory
    grade only (the redirect finding is made once per address by ``audit``); None: the grade
    says the redirect was not tested. ``verified`` says whether the certificate chain was verified.
    """
    return analyse_page(
        url,
        result,
        params=params,
        cors=cors,
        cors_origin=cors_origin,
        redirect=redirect,
        production=production,
        verified=verified,
        observatory_cors=observatory_cors,
    ).findings


def _as_probe(cors: FetchResult | CorsProbe | None, origin: str) -> CorsProbe | None:
    if cors is None or isinstance(cors, CorsProbe):
        return cors
    return CorsProbe(origin, cors.status_code, cors.headers)


# --------------------------------------------------------------------------- redirect


def _error_kind(message: str) -> str:
    if "certificate verification failed" in message.lower():
        return "tls"
    if "could not connect" in message or "timed out while connecting" in message:
        return "connect"
    return "other"


def probe_redirect(client: httpx.Client, start: str, max_hops: int = MAX_REDIRECTS) -> RedirectProbe:
    """Follow the plain-HTTP address hop by hop (each hop through ``fetch``, no auto-follow).

    Hop by hop, so every status code and ``Location`` is seen, and a failure is pinned to
    the hop that failed (a refused plain-HTTP port is not the same as a bad certificate at
    the HTTPS end of the redirect).
    """
    from harden_lib.http import FetchError, fetch

    hops: list[tuple[int, str]] = []
    locations: list[str] = []
    url = start
    for _ in range(max_hops + 1):
        try:
            result = fetch(client, url, follow_redirects=False, max_body_bytes=65_536)
        except FetchError as exc:
            message = str(exc)
            return RedirectProbe(start, tuple(hops), message, _error_kind(message), url, tuple(locations))
        hops.append((result.status_code, str(result.url)))
        location = result.headers.get("location")
        # Only the statuses browsers (and the Observatory's retriever) follow: a 300 or 304
        # with a Location header does not move the user anywhere.
        if not (result.status_code in REDIRECT_STATUSES and location):
            return RedirectProbe(start, tuple(hops), locations=tuple(locations))
        locations.append(safe_text(location, 200))
        nxt = urljoin(url, location.strip())
        if urlsplit(nxt).scheme.lower() not in {"http", "https"}:
            return RedirectProbe(start, tuple(hops), locations=tuple(locations))
        url = nxt
    return RedirectProbe(
        start, tuple(hops), f"{redact_url(start)}: more than {max_hops} redirects", TOO_MANY, url, tuple(locations)
    )


def redirect_finding(probe: RedirectProbe) -> Finding:
    """``headers.redirect_https`` from a plain-HTTP probe."""
    target = safe_text(redact_url(probe.start), 300)
    route = " → ".join(f"{status} {safe_text(redact_url(u), 120)}" for status, u in probe.hops)
    if probe.error_kind == SKIPPED:
        return _make(
            "headers.redirect_https",
            Status.SKIP,
            target,
            f"Not tested: {safe_text(probe.error or 'not probed', 200)}. The Observatory grade of the pages on "
            "this host counts the redirect as not tested (0), never as a pass.",
        )
    if probe.error_kind == TOO_MANY:
        return _make(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"Still redirecting after {len(probe.hops) - 1} redirects (browsers give up with too many "
            f"redirects): {route}",
        )
    if probe.error is not None:
        if probe.error_kind == "connect" and not probe.hops:
            return _make(
                "headers.redirect_https",
                Status.PASS,
                target,
                f"Nothing answers on plain HTTP ({safe_text(probe.error, 200)}): no cleartext page to downgrade to.",
                severity=Severity.INFO,
            )
        if probe.error_kind == "tls":
            return _make(
                "headers.redirect_https",
                Status.FAIL,
                target,
                f"{route or 'plain HTTP'} → certificate verification failed at "
                f"{safe_text(redact_url(probe.error_at or ''), 120)}.",
            )
        return error_finding(
            probe.start,
            f"Not tested: the redirect probe failed ({probe.error}){' after ' + route if route else ''}",
            "headers.redirect_https",
        )
    if not probe.hops:
        return error_finding(probe.start, "Not tested: the redirect probe got no response", "headers.redirect_https")
    first_status = probe.hops[0][0]
    if len(probe.hops) == 1:
        return _make(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"Plain HTTP answers {first_status} without redirecting to HTTPS.",
        )
    start, second, last = urlsplit(probe.hops[0][1]), urlsplit(probe.hops[1][1]), urlsplit(probe.hops[-1][1])
    if last.scheme.lower() != "https":
        return _make("headers.redirect_https", Status.FAIL, target, f"Redirects, but never reaches HTTPS: {route}")
    if second.scheme.lower() != "https":
        return _make(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"The first redirect goes to another plain-HTTP URL before HTTPS: {route}",
            severity=Severity.MEDIUM,
        )
    if (second.hostname or "").lower() != (start.hostname or "").lower():
        return _make(
            "headers.redirect_https",
            Status.WARN,
            target,
            f"The first redirect goes to HTTPS on another host, so this host can never set HSTS: {route}",
            severity=Severity.MEDIUM,
        )
    if first_status not in (301, 308):
        return _make(
            "headers.redirect_https",
            Status.WARN,
            target,
            f"Redirects to HTTPS with a temporary {first_status}; browsers and caches do not remember it: {route}",
            severity=Severity.LOW,
        )
    return _make("headers.redirect_https", Status.PASS, target, route)


# --------------------------------------------------------------------------- run


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


#: What a browser (and the Observatory) asks for; some servers vary headers on Accept.
_ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class _Fetched:
    page: FetchResult | str
    preflight: CorsProbe | None = None
    observatory_preflight: CorsProbe | None = None


def _preflight(client: httpx.Client, url: str, origin: str) -> CorsProbe:
    """The Observatory's preflight: OPTIONS, ``Access-Control-Request-Method: GET``, ``Origin``."""
    from harden_lib.http import FetchError, fetch

    try:
        answer = fetch(
            client,
            url,
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET", "Accept": _ACCEPT_HTML},
            max_body_bytes=65_536,
        )
    except FetchError as exc:
        return CorsProbe(origin, error=str(exc))
    return CorsProbe(origin, answer.status_code, answer.headers)


def _fetch_page(client: httpx.Client, url: str, params: HeadersParams) -> _Fetched:
    from harden_lib.http import FetchError, fetch

    try:
        page = fetch(client, url, headers={"Accept": _ACCEPT_HTML})
    except FetchError as exc:
        return _Fetched(str(exc))
    if not params.cors_probe:
        return _Fetched(page)
    # Sent to the final URL, as the Observatory sends it (after the page's redirects).
    preflight = _preflight(client, page.url, params.cors_origin)
    observatory = preflight
    if params.cors_origin != OBSERVATORY_CORS_ORIGIN:
        observatory = _preflight(client, page.url, OBSERVATORY_CORS_ORIGIN)
    return _Fetched(page, preflight, observatory)


def audit(env: Environment) -> HeadersAudit:
    """Fetch every configured page, probe each page host's plain-HTTP address, analyse it all.

    Each page is graded with the redirect of its own host (``plain_http_address``), so an
    environment listing many hosts grades each as the Observatory grades that host alone.
    """
    from harden_lib.http import make_client, no_cookie_jar, resolve_url, user_agent

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
    addresses = list(dict.fromkeys(report.plain_http.values()))
    if addresses and params.check_redirect:
        # No configured credentials on this client: the probe talks cleartext HTTP.
        plain_headers = {"User-Agent": env.http.user_agent or user_agent()}
        workers = min(params.workers, len(addresses))
        with (
            make_client(env, headers=plain_headers, cookies=no_cookie_jar()) as plain,
            ThreadPoolExecutor(max_workers=workers) as pool,
        ):
            # Up to the Observatory's redirect budget (10), so a long chain is judged as it judges it.
            probes = list(pool.map(lambda a: probe_redirect(plain, a + "/"), addresses))
        report.redirects = dict(zip(addresses, probes, strict=True))
    else:
        reason = "disabled by headers.check_redirect: false"
        report.redirects = {a: RedirectProbe(a + "/", error=reason, error_kind=SKIPPED) for a in addresses}
    report.findings.extend(redirect_finding(probe) for probe in report.redirects.values())

    if urls:
        workers = min(params.workers, len(urls))
        with make_client(env, cookies=no_cookie_jar()) as client, ThreadPoolExecutor(max_workers=workers) as pool:
            fetched = list(pool.map(lambda u: _fetch_page(client, u, params), urls))
        for url, got in zip(urls, fetched, strict=True):
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
            )
            report.findings.extend(analysis.findings)
            if analysis.score is not None:
                report.scores[url] = analysis.score
    return report


def run(env: Environment) -> list[Finding]:
    """The area's entry point (``harden_lib.areas``): every headers finding for ``env``.

    Notebooks call ``audit(env)`` once and show its findings, scores and evidence, so every
    cell describes the same responses.
    """
    return audit(env).findings


__all__ = [
    "CHECKS",
    "GRADES",
    "HeadersAudit",
    "HeadersParams",
    "PageAnalysis",
    "ParsedCookie",
    "analyse_page",
    "analyse_response",
    "audit",
    "check_ids",
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
