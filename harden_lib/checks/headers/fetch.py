"""Everything the headers area asks the network: pages, CORS preflights, plain-HTTP redirect probes.

All requests go through the shared, hardened client (``harden_lib.http``: timeouts, body cap,
bounded redirects, credentials only for the environment's own host) without a cookie jar, so
a page's cookies never reach another request. The answers are kept as data (``FetchResult``,
``CorsProbe``, ``RedirectProbe``) and judged by the rules, which never touch the network.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from harden_lib.checks.headers.observatory import (
    MAX_REDIRECTS,
    OBSERVATORY_CORS_ORIGIN,
    REDIRECT_STATUSES,
    SKIPPED,
    TOO_MANY,
    CorsProbe,
    RedirectProbe,
)
from harden_lib.http import FetchError, FetchResult, fetch, make_client, no_cookie_jar, user_agent
from harden_lib.redact import redact_url, safe_text

if TYPE_CHECKING:
    import httpx

    from harden_lib.checks.headers.params import HeadersParams
    from harden_lib.environment import Environment

#: What a browser (and the Observatory) asks for; some servers vary headers on Accept.
ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: Most bytes read of a preflight answer or a redirect hop (only their headers matter).
_SMALL_BODY = 65_536


@dataclass
class Fetched:
    """One page as fetched: its response (or the error message) and the preflights sent to it."""

    page: FetchResult | str
    #: the preflight with ``headers.cors_origin`` (judged by ``headers.cors``)
    preflight: CorsProbe | None = None
    #: the preflight with the Observatory's own Origin (read by the grade; the same when equal)
    observatory_preflight: CorsProbe | None = None


def preflight(client: httpx.Client, url: str, origin: str) -> CorsProbe:
    """The Observatory's preflight: OPTIONS, ``Access-Control-Request-Method: GET``, ``Origin``."""
    try:
        answer = fetch(
            client,
            url,
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET", "Accept": ACCEPT_HTML},
            max_body_bytes=_SMALL_BODY,
        )
    except FetchError as exc:
        return CorsProbe(origin, error=str(exc))
    return CorsProbe(origin, answer.status_code, answer.headers)


def fetch_page(client: httpx.Client, url: str, params: HeadersParams) -> Fetched:
    """The page as a browser asks for it, then its preflight(s) at the final URL."""
    try:
        page = fetch(client, url, headers={"Accept": ACCEPT_HTML})
    except FetchError as exc:
        return Fetched(str(exc))
    if not params.cors_probe:
        return Fetched(page)
    # Sent to the final URL, as the Observatory sends it (after the page's redirects).
    answer = preflight(client, page.url, params.cors_origin)
    observatory = answer
    if params.cors_origin != OBSERVATORY_CORS_ORIGIN:
        observatory = preflight(client, page.url, OBSERVATORY_CORS_ORIGIN)
    return Fetched(page, answer, observatory)


def fetch_pages(env: Environment, urls: list[str]) -> list[Fetched]:
    """Every page (and its preflights), ``headers.workers`` at a time, in the order of ``urls``."""
    if not urls:
        return []
    params = env.headers
    workers = min(params.workers, len(urls))
    with make_client(env, cookies=no_cookie_jar()) as client, ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda u: fetch_page(client, u, params), urls))


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
    hops: list[tuple[int, str]] = []
    locations: list[str] = []
    url = start
    for _ in range(max_hops + 1):
        try:
            result = fetch(client, url, follow_redirects=False, max_body_bytes=_SMALL_BODY)
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


def probe_redirects(env: Environment, addresses: list[str]) -> dict[str, RedirectProbe]:
    """The redirect probe of every distinct plain-HTTP address (or why none was made).

    Up to the Observatory's redirect budget (10), so a long chain is judged as it judges it.
    The probing client sends no configured credentials: it talks cleartext HTTP.
    """
    if not addresses:
        return {}
    if not env.headers.check_redirect:
        reason = "disabled by headers.check_redirect: false"
        return {a: RedirectProbe(a + "/", error=reason, error_kind=SKIPPED) for a in addresses}
    plain_headers = {"User-Agent": env.http.user_agent or user_agent()}
    workers = min(env.headers.workers, len(addresses))
    with (
        make_client(env, headers=plain_headers, cookies=no_cookie_jar()) as plain,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        probes = list(pool.map(lambda a: probe_redirect(plain, a + "/"), addresses))
    return dict(zip(addresses, probes, strict=True))
