"""Cookies set by the page: parsed without keeping their values; Secure, HttpOnly and SameSite per cookie.

A cookie's value never leaves ``parse_set_cookie`` (only its length), long values are
registered as secrets so that no later text shows them, and anti-CSRF tokens are not taken
for session cookies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harden_lib.checks.headers.rules.common import Verdict, shown
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import REDACTED, register_secret, safe_text

if TYPE_CHECKING:
    import httpx

    from harden_lib.checks.headers.params import HeadersParams

#: Why a session cookie's weakness is raised above the catalog's default.
_PREFIXES = ("__Secure-", "__Host-")
_SESSION_OVER_HTTP = "a session cookie sent over plain HTTP lets whoever reads the traffic take over the session"
_SESSION_CROSS_SITE = "a session cookie sent on cross-site requests exposes the session to cross-site request forgery"
#: How long ``catalog.finding`` lets a target be (it cuts the rest).
_TARGET_LIMIT = 300


def cookie_target(page_target: str, name: str, ordinal: int) -> str:
    """``<page> (cookie: <name>[ #n])``, the page part shortened so that the cookie's name always fits.

    Two cookies of one page must never share a target (findings are identified by it), so a
    page URL near the target cap gives way rather than the cookie's name.
    """
    tail = f" (cookie: {name}{f' #{ordinal}' if ordinal > 1 else ''})"
    room = _TARGET_LIMIT - len(tail)
    if len(page_target) > room:
        page_target = page_target[: room - 1] + "…"
    return page_target + tail


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


def remember_cookie_values(raw_cookies: Iterable[str]) -> None:
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


def _secure(cookie: ParsedCookie, session: bool, https: bool) -> Verdict:
    if cookie.secure:
        return Verdict(Status.PASS)
    kind = "session cookie" if session else "cookie"
    where = "set over HTTPS" if https else "set over plain HTTP"
    extra = " (its __Secure-/__Host- prefix makes browsers reject it)" if cookie.name.startswith(_PREFIXES) else ""
    text = f" — {kind} {where} without Secure: it is also sent over plain HTTP{extra}."
    if session:
        return Verdict(Status.FAIL, text, Severity.HIGH, _SESSION_OVER_HTTP)
    return Verdict(Status.FAIL, text)


def _httponly(cookie: ParsedCookie, session: bool) -> Verdict:
    if cookie.httponly:
        return Verdict(Status.PASS)
    if session:
        return Verdict(Status.FAIL, " — session cookie readable by JavaScript: one XSS steals the session.")
    return Verdict(Status.SKIP, " — not session-like by name; script access may be intended.")


def _samesite(cookie: ParsedCookie, session: bool) -> Verdict:
    raised = (Severity.MEDIUM, _SESSION_CROSS_SITE) if session else (None, "")
    samesite = cookie.samesite
    if samesite in {"lax", "strict"}:
        return Verdict(Status.PASS)
    if samesite == "none" and cookie.secure:
        text = (
            " — SameSite=None: sent on cross-site requests (only right for cookies meant for embedding or "
            "third-party use)."
        )
        return Verdict(Status.WARN, text, *raised)
    if samesite == "none":
        return Verdict(
            Status.FAIL,
            " — SameSite=None without Secure: current browsers reject the cookie.",
            Severity.MEDIUM,
            "current browsers drop the cookie (breaking what relies on it) and older ones send it cross-site and "
            "over plain HTTP",
        )
    if samesite is None:
        text = (
            " — no SameSite: browsers differ in their default (Lax in Chromium, None elsewhere), so cross-site "
            "requests may carry it."
        )
        return Verdict(Status.WARN, text, *raised)
    return Verdict(Status.FAIL, f" — SameSite value '{shown(samesite, 20)}' is not Strict, Lax or None.")


def cookie_findings(target: str, headers: httpx.Headers, https: bool, params: HeadersParams) -> list[Finding]:
    """Secure, HttpOnly and SameSite of every cookie the page sets (at most 50), one target per cookie."""
    raw_cookies = headers.get_list("set-cookie")
    remember_cookie_values(raw_cookies)
    out: list[Finding] = []
    seen: dict[str, int] = {}
    for raw in raw_cookies[:50]:
        cookie = parse_set_cookie(raw)
        if cookie is None:
            continue
        name = safe_text(cookie.name, 64)
        seen[name] = seen.get(name, 0) + 1
        where_set = cookie_target(target, name, seen[name])
        header = f"Set-Cookie: {cookie.redacted()}"
        session = is_session_cookie(cookie.name, params.session_cookie_markers)
        for check_id, verdict in (
            ("headers.cookies.secure", _secure(cookie, session, https)),
            ("headers.cookies.httponly", _httponly(cookie, session)),
            ("headers.cookies.samesite", _samesite(cookie, session)),
        ):
            out.append(verdict.finding(check_id, where_set, header))
    return out
