"""The Observatory's cookie test (``src/analyzer/tests/cookies.js``) over tough-cookie's jar.

Which cookies the test judges depends on what tough-cookie (5.x, as the Observatory's retriever
uses it) would store: its strict parsing, Domain and public-suffix checks, prefix rules and
replacement of a cookie by a later one with the same name, domain and path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from harden_lib.checks.headers.observatory.score import only_if_worse

_COOKIE_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)


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
            result = only_if_worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
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
                result = only_if_worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
            if not cookie.secure and hsts_passed:
                result = only_if_worse("cookies-without-secure-flag-but-protected-by-hsts", result, _COOKIE_ORDER)
            elif not cookie.secure:
                result = only_if_worse("cookies-without-secure-flag", result, _COOKIE_ORDER)
            if anticsrf and not cookie.same_site:
                result = only_if_worse("cookies-anticsrf-without-samesite-flag", result, _COOKIE_ORDER)
            if session and not cookie.secure and hsts_passed:
                result = only_if_worse(
                    "cookies-session-without-secure-flag-but-protected-by-hsts", result, _COOKIE_ORDER
                )
            elif session and not cookie.secure:
                result = only_if_worse("cookies-session-without-secure-flag", result, _COOKIE_ORDER)
            if session and not cookie.http_only:
                result = only_if_worse("cookies-session-without-httponly-flag", result, _COOKIE_ORDER)
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
