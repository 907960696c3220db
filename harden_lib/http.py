"""The one HTTP client every network check uses, hardened for hostile targets (DESIGN §7).

A scanned server controls status, headers and body, and may stall. So: connect and read
timeouts plus a total deadline per request, a cap on body bytes read, bounded redirects,
the environment's own trust settings, and configured credentials sent only to the
environment's own host (never to a host a redirect points at).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING

import certifi
import httpx

from harden_lib.errors import HardenError
from harden_lib.redact import redact_url, scrub

if TYPE_CHECKING:
    from harden_lib.params import Environment, HttpParams


def user_agent() -> str:
    from harden_lib import __version__

    return f"harden/{__version__} (production-hardening audit)"


class FetchError(HardenError):
    """A request that could not complete; the message is safe to show in a finding."""


@dataclass
class FetchResult:
    """A response read under the caps. ``body`` holds at most ``max_body_bytes``."""

    url: str
    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed: float
    http_version: str
    history: list[tuple[int, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body decoded leniently (a hostile server may send anything)."""
        charset = "utf-8"
        content_type = self.headers.get("content-type", "")
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def header_list(self, name: str) -> list[str]:
        return self.headers.get_list(name)


@lru_cache(maxsize=16)
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise HardenError(f"http.ca_bundle: cannot load CA bundle {ca_bundle}: {exc}") from None
    return context


def _verify_setting(http: HttpParams) -> ssl.SSLContext | bool:
    if not http.verify:
        return False
    return _ssl_context(str(http.ca_bundle) if http.ca_bundle else None)


def _credential_guard(allowed_origin: tuple[str, str, int | None] | None, secret_headers: Mapping[str, str]):
    """A request hook that removes configured credentials from requests to any other origin.

    Origin = scheme, host and port: credentials for https://app must not travel in clear text
    to http://app, nor to a host a redirect (or a scanned page) points at.
    """
    names = [n.lower() for n in secret_headers]

    def hook(request: httpx.Request) -> None:
        origin = (request.url.scheme, request.url.host, request.url.port)
        if allowed_origin is None or origin != allowed_origin:
            for name in names:
                if name in request.headers:
                    del request.headers[name]

    return hook


def client_settings(env: Environment | None = None, http: HttpParams | None = None) -> dict:
    """Keyword arguments for ``httpx.Client``/``AsyncClient`` built from an environment."""
    from harden_lib.params import HttpParams

    if http is None:
        http = env.http if env is not None else HttpParams()
    allowed_origin = None
    if env is not None and env.base:
        base = httpx.URL(env.base)
        allowed_origin = (base.scheme, base.host, base.port)
    headers = {"User-Agent": http.user_agent or user_agent(), **http.headers}
    return {
        "timeout": httpx.Timeout(http.read_timeout, connect=http.connect_timeout, pool=http.connect_timeout),
        "verify": _verify_setting(http),
        "follow_redirects": True,
        "max_redirects": http.max_redirects,
        "headers": headers,
        "event_hooks": {"request": [_credential_guard(allowed_origin, http.headers)]},
        "trust_env": False,  # no proxy or netrc from the auditor's shell leaks into an audit
    }


def make_client(env: Environment | None = None, *, http: HttpParams | None = None, **overrides) -> httpx.Client:
    """The shared, hardened synchronous client. Use ``fetch`` with it to get the body cap."""
    return httpx.Client(**{**client_settings(env, http), **overrides})


def make_async_client(
    env: Environment | None = None, *, http: HttpParams | None = None, **overrides
) -> httpx.AsyncClient:
    """The same client for concurrent checks (bound concurrency with ``limits=``)."""
    settings = client_settings(env, http)
    settings["event_hooks"] = {"request": [_async(h) for h in settings["event_hooks"]["request"]]}
    return httpx.AsyncClient(**{**settings, **overrides})


def _async(hook):
    async def wrapper(request: httpx.Request) -> None:
        hook(request)

    return wrapper


def _max_body(client: httpx.Client | httpx.AsyncClient, max_body_bytes: int | None) -> int:
    if max_body_bytes is not None:
        return max_body_bytes
    from harden_lib.params import HttpParams

    return HttpParams().max_body_bytes


def _deadline(client: httpx.Client | httpx.AsyncClient, deadline: float | None) -> float:
    if deadline is not None:
        return deadline
    timeout = client.timeout
    return (timeout.connect or 5.0) + 3 * (timeout.read or 10.0)


def fetch(
    client: httpx.Client,
    url: str,
    *,
    method: str = "GET",
    max_body_bytes: int | None = None,
    deadline: float | None = None,
    **kwargs,
) -> FetchResult:
    """One request read under a body cap and a total deadline; failures raise ``FetchError``."""
    cap = _max_body(client, max_body_bytes)
    limit = _deadline(client, deadline)
    started = time.monotonic()
    try:
        with client.stream(method, url, **kwargs) as response:
            body, truncated = bytearray(), False
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > cap:
                    del body[cap:]
                    truncated = True
                    break
                if time.monotonic() - started > limit:
                    raise FetchError(f"{redact_url(url)}: response not complete within {limit:.0f} s")
            return _result(response, bytes(body), truncated, started)
    except httpx.HTTPError as exc:
        raise FetchError(describe_http_error(url, exc)) from None


async def fetch_async(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    max_body_bytes: int | None = None,
    deadline: float | None = None,
    **kwargs,
) -> FetchResult:
    """``fetch`` for the async client."""
    cap = _max_body(client, max_body_bytes)
    limit = _deadline(client, deadline)
    started = time.monotonic()
    try:
        async with client.stream(method, url, **kwargs) as response:
            body, truncated = bytearray(), False
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > cap:
                    del body[cap:]
                    truncated = True
                    break
                if time.monotonic() - started > limit:
                    raise FetchError(f"{redact_url(url)}: response not complete within {limit:.0f} s")
            return _result(response, bytes(body), truncated, started)
    except httpx.HTTPError as exc:
        raise FetchError(describe_http_error(url, exc)) from None


def _result(response: httpx.Response, body: bytes, truncated: bool, started: float) -> FetchResult:
    # iter_bytes decodes content-encoding chunk by chunk, so the cap bounds decoded bytes.
    return FetchResult(
        url=str(response.url),
        status_code=response.status_code,
        headers=response.headers,
        body=body,
        truncated=truncated,
        elapsed=time.monotonic() - started,
        http_version=response.http_version,
        history=[(r.status_code, str(r.url)) for r in response.history],
    )


def describe_http_error(url: str, exc: httpx.HTTPError) -> str:
    """A one-line, secret-free reason a request failed."""
    target = redact_url(url)
    reason = {
        httpx.ConnectTimeout: "timed out while connecting",
        httpx.ReadTimeout: "timed out waiting for the response",
        httpx.WriteTimeout: "timed out sending the request",
        httpx.PoolTimeout: "timed out waiting for a connection",
        httpx.TooManyRedirects: "too many redirects",
    }.get(type(exc))
    if reason is None:
        detail = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            reason = "TLS certificate verification failed (" + detail.rsplit("]", 1)[-1].strip(" ()") + ")"
        elif isinstance(exc, httpx.ConnectError):
            reason = f"could not connect ({detail[:200]})"
        else:
            reason = f"{type(exc).__name__}: {detail[:200]}"
    return scrub(f"{target}: {reason}")


def resolve_url(env: Environment, url_or_path: str) -> str:
    """An absolute URL, or a path joined to the environment's ``base_url``."""
    if "://" in url_or_path:
        return url_or_path
    if not env.base:
        raise HardenError(f"'{url_or_path}' is a path but the environment has no base_url")
    return env.base + "/" + url_or_path.lstrip("/")


def ca_bundle_path(env: Environment) -> Path | None:
    return env.http.ca_bundle


def no_cookie_jar() -> CookieJar:
    """A jar that stores nothing: every page is fetched as a first visit.

    With a shared jar, a cookie set by one page would be sent with the next request, so
    whether a page's Set-Cookie is seen (and what the CORS probe sends) would depend on the
    order of parallel fetches.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
