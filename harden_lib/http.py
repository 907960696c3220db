"""The one HTTP client every network check uses, hardened for hostile targets (DESIGN §7).

A scanned server controls status, headers and body, and may stall. So: connect and read
timeouts plus a total deadline per request, a cap on body bytes read, bounded redirects,
the environment's own trust settings, and configured credentials sent only to the
environment's own host (never to a host a redirect points at).
"""

from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Callable, Mapping
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
    from harden_lib.environment import Environment
    from harden_lib.params import HttpParams


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
    #: Bytes of the decoded body received before reading stopped (``truncated``: more than the cap).
    decoded_bytes: int = 0
    #: Bytes received as sent (after the transfer coding, before any content coding was undone).
    raw_bytes: int = 0
    #: The body cap that applied to this read.
    cap: int | None = None
    #: The server's Content-Encoding, as declared (lower-cased).
    content_encoding: str = ""
    #: Content codings that could not be undone: ``body`` then holds the bytes as sent.
    undecoded_encoding: str = ""
    #: Why the decoded body is incomplete although the connection ended normally (e.g. a gzip
    #: stream without its end marker); empty when nothing is known to be missing.
    stream_note: str = ""

    @property
    def incomplete(self) -> str | None:
        """Why ``body`` is not the whole body the server meant to send, or ``None`` when it is.

        A check that decides from the body (a leak scan, a file comparison) must not pass on an
        incomplete one: the part not read may hold exactly what it looks for.
        """
        if self.undecoded_encoding:
            return f"the body is in {self.undecoded_encoding!r} content-encoding, which harden cannot decode"
        if self.truncated:
            cap = self.cap if self.cap is not None else len(self.body)
            if self.decoded_bytes <= cap and self.raw_bytes > cap:
                return (
                    f"read {self.raw_bytes:,} {self.content_encoding}-encoded bytes that inflated to only "
                    f"{self.decoded_bytes:,} bytes, without reaching the end (cap {cap:,} bytes)"
                )
            at_least = max(self.decoded_bytes, len(self.body) + 1)
            declared = self.headers.get("content-length", "")
            if not self.content_encoding and declared.isdigit() and int(declared) > at_least:
                at_least = int(declared)
            how = (
                f"; {self.raw_bytes:,} {self.content_encoding}-encoded bytes inflate past the cap"
                if self.content_encoding
                else ""
            )
            return f"read {len(self.body):,} of \u2265{at_least:,} bytes (body cap {cap:,} bytes{how})"
        return self.stream_note or None

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


#: Content codings undone here with a bound on the output (zlib's ``max_length``), so that a
#: decompression bomb never inflates past the cap in memory; httpx's own decoders inflate each
#: network chunk whole (a 64 KiB gzip chunk of zeros is ~64 MB, and ``gzip, gzip`` squares it).
_BOUNDED_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
_STEP = 65_536


def _httpx_codings() -> frozenset[str]:
    try:
        from httpx._decoders import SUPPORTED_DECODERS
    except ImportError:  # a future httpx: fall back to what it has always decoded
        return frozenset({"identity", "gzip", "deflate"})
    return frozenset(SUPPORTED_DECODERS)


class _Inflater:
    """One gzip/deflate stage that produces at most the bytes asked for (never a whole bomb)."""

    def __init__(self, coding: str, source: Callable[[int], bytes]) -> None:
        self.coding = coding
        self._source = source
        self._gzip = coding in ("gzip", "x-gzip")
        self._first = True
        self._members = 0
        self._pending = b""  # input handed over but not yet given to the decompressor
        self.complete = False
        self._new()

    def _new(self, wbits: int | None = None) -> None:
        if wbits is None:
            wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._d = zlib.decompressobj(wbits)
        self._members += 1

    def _decompress(self, data: bytes, n: int) -> bytes:
        first, self._first = self._first, False
        try:
            return self._d.decompress(data, n)
        except zlib.error as exc:
            if first and not self._gzip:  # "deflate" is sent both with and without the zlib header
                self._new(-zlib.MAX_WBITS)
                return self._decompress(data, n)
            if self._gzip and self._members > 1:  # trailing garbage after a complete member: ignored
                self.complete = True
                self._pending = b""
                return b""
            raise _CodingError(f"the body's {self.coding} content-encoding is corrupt ({exc})") from None

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n and not self.complete:
            if self._d.eof:
                rest = self._d.unused_data + self._pending
                self._pending = b""
                if self._gzip:
                    rest = rest or self._source(_STEP)
                    if rest:  # another gzip member (concatenated members are valid gzip)
                        self._new()
                        self._first = False
                        self._pending = rest
                        continue
                self.complete = True
                break
            data = self._d.unconsumed_tail or self._pending
            self._pending = b""
            if not data:
                data = self._source(_STEP)
                if not data:
                    flushed = self._decompress(b"", n - len(out))  # output of a copy still in progress
                    if not flushed:
                        break
                    out += flushed
                    continue
            out += self._decompress(data, n - len(out))
        return bytes(out)


class _CodingError(Exception):
    """A content coding that cannot be undone; the message is safe to show."""


class _BodyReader:
    """Reads a body under the cap from network chunks, undoing gzip/deflate itself with a bound.

    Codings it cannot bound but httpx can decode (br, zstd when their modules are installed)
    are left to httpx as before; codings nobody here can decode are kept as sent and reported
    (``undecoded_encoding``), so a caller never scans compressed bytes believing them text.
    """

    def __init__(self, response: httpx.Response, cap: int) -> None:
        self.cap = cap
        self.body = bytearray()
        self.truncated = False
        self.decoded = 0
        self.raw = 0
        declared = response.headers.get("content-encoding", "")
        self.encoding = ",".join(c.strip().lower() for c in declared.split(",") if c.strip())
        codings = [c for c in self.encoding.split(",") if c and c != "identity"]
        self.undecoded = ""
        self.stages: list[_Inflater] = []
        self._buffer = bytearray()
        if not codings or all(c in _BOUNDED_CODINGS for c in codings):
            self.raw_stream = True  # iter_raw: decoded here
            source: Callable[[int], bytes] = self._take_buffer
            for coding in reversed(codings):  # the coding applied last is undone first
                stage = _Inflater(coding, source)
                self.stages.append(stage)
                source = stage.read
        elif all(c in _httpx_codings() for c in codings):
            self.raw_stream = False  # iter_bytes: httpx decodes (as before this reader existed)
        else:
            self.raw_stream = True
            self.undecoded = declared.strip()[:40]

    def _take_buffer(self, n: int) -> bytes:
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def _keep(self, chunk: bytes) -> None:
        self.decoded += len(chunk)
        self.body.extend(chunk)
        if len(self.body) > self.cap:
            del self.body[self.cap :]
            self.truncated = True

    def feed(self, chunk: bytes) -> bool:
        """Take one network chunk; True when reading should stop (the cap is reached)."""
        self.raw += len(chunk)
        if not self.stages:
            self._keep(chunk)
        else:
            self._buffer.extend(chunk)
            last = self.stages[-1]
            while not self.truncated:
                out = last.read(min(self.cap + 1 - len(self.body), _STEP))
                if not out:
                    break
                self._keep(out)
            if self.raw > self.cap + _STEP and not self.truncated:  # compressed bytes that never end
                self.truncated = True
        return self.truncated

    def note(self) -> str:
        if self.truncated or not self.stages or not self.raw:  # no body at all (HEAD, 204, 304) is complete
            return ""
        open_stages = [s.coding for s in self.stages if not s.complete]
        if open_stages:
            return f"the {open_stages[0]} stream ended before its end marker: the body is incomplete"
        return ""

    def result(self, response: httpx.Response, started: float) -> FetchResult:
        result = _result(response, bytes(self.body), self.truncated, started)
        result.decoded_bytes = self.decoded
        result.raw_bytes = max(self.raw if self.raw_stream else 0, response.num_bytes_downloaded)
        result.cap = self.cap
        result.content_encoding = self.encoding if self.encoding != "identity" else ""
        result.undecoded_encoding = self.undecoded
        result.stream_note = self.note()
        return result


def _too_slow(url: str, limit: float, reader: _BodyReader) -> FetchError:
    return FetchError(
        f"{redact_url(url)}: response not complete within {limit:.0f} s ({reader.decoded:,} bytes read by then)"
    )


def fetch(
    client: httpx.Client,
    url: str,
    *,
    method: str = "GET",
    max_body_bytes: int | None = None,
    deadline: float | None = None,
    **kwargs,
) -> FetchResult:
    """One request read under a body cap and a total deadline; failures raise ``FetchError``.

    ``FetchResult.incomplete`` says when (and by how much) the body read is not the whole body.
    """
    cap = _max_body(client, max_body_bytes)
    limit = _deadline(client, deadline)
    started = time.monotonic()
    try:
        with client.stream(method, url, **kwargs) as response:
            reader = _BodyReader(response, cap)
            chunks = response.iter_raw() if reader.raw_stream else response.iter_bytes()
            for chunk in chunks:
                if reader.feed(chunk):
                    break
                if time.monotonic() - started > limit:
                    raise _too_slow(url, limit, reader)
            return reader.result(response, started)
    except httpx.HTTPError as exc:
        raise FetchError(describe_http_error(url, exc)) from None
    except _CodingError as exc:
        raise FetchError(f"{redact_url(url)}: {exc}") from None


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
            reader = _BodyReader(response, cap)
            chunks = response.aiter_raw() if reader.raw_stream else response.aiter_bytes()
            async for chunk in chunks:
                if reader.feed(chunk):
                    break
                if time.monotonic() - started > limit:
                    raise _too_slow(url, limit, reader)
            return reader.result(response, started)
    except httpx.HTTPError as exc:
        raise FetchError(describe_http_error(url, exc)) from None
    except _CodingError as exc:
        raise FetchError(f"{redact_url(url)}: {exc}") from None


def _result(response: httpx.Response, body: bytes, truncated: bool, started: float) -> FetchResult:
    # Content codings are undone by _BodyReader with a bound, so the cap bounds decoded bytes.
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
        detail = str(exc)[:200]
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            reason = "TLS certificate verification failed (" + detail.rsplit("]", 1)[-1].strip(" ()") + ")"
        else:
            # Plain words for the reader; never an internal class name (RemoteProtocolError …).
            kind = next((words for cls, words in _ERROR_WORDS if isinstance(exc, cls)), "the request failed")
            reason = f"{kind} ({detail})" if detail else kind
    return scrub(f"{target}: {reason}")


#: httpx errors in the words a report reader understands (most specific first).
_ERROR_WORDS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectError, "could not connect"),
    (httpx.RemoteProtocolError, "the server broke off or garbled the HTTP answer"),
    (httpx.LocalProtocolError, "the request could not be sent as valid HTTP"),
    (httpx.ReadError, "the connection failed while reading the answer"),
    (httpx.WriteError, "the connection failed while sending the request"),
    (httpx.DecodingError, "the answer's body could not be decoded"),
    (httpx.ProxyError, "the proxy refused the request"),
    (httpx.UnsupportedProtocol, "the URL's scheme is not supported"),
    (httpx.TimeoutException, "timed out"),
    (httpx.NetworkError, "a network error ended the request"),
)


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
