"""The ``headers:`` section of an environment's params, and which plain-HTTP address grades a page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.checks.headers.observatory.tables import OBSERVATORY_CORS_ORIGIN

if TYPE_CHECKING:
    from harden_lib.environment import Environment

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
    csp_needs: dict[str, list[str]] = Field(
        default_factory=dict,
        description="URLs the pages must be allowed to load, per CSP directive, e.g. {'connect-src': "
        "['wss://api.example.com/ws', 'https://api.example.com'], 'font-src': ['https://fonts.gstatic.com']}; "
        "a path means the page's own origin",
    )
    csp_needs_websockets: bool = Field(
        True,
        description="also require connect-src to allow every cors.websockets endpoint and every cors.routes API "
        "route (the browser calls them; CORS is probed for that reason)",
    )

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

    @field_validator("csp_needs")
    @classmethod
    def _needs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from harden_lib.checks.headers.csp import FALLBACKS

        out: dict[str, list[str]] = {}
        for directive, urls in value.items():
            name = directive.strip().lower()
            if name not in FALLBACKS or name == "default-src":
                raise ValueError(f"'{directive}' is not a fetch directive (e.g. connect-src, font-src, img-src)")
            if len(urls) > 50:
                raise ValueError(f"at most 50 URLs per directive ('{directive}')")
            for url in urls:
                if not (url.startswith("/") or re.match(r"^[a-z][a-z0-9+.\-]*://[^/\s]+", url, re.IGNORECASE)):
                    raise ValueError(f"'{url}' must be an absolute URL (https://…, wss://…) or a path ('/…')")
            out[name] = list(urls)
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
