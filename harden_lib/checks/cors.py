"""Cross-origin policy of the API routes and the WebSocket endpoints.

Why: a browser lets another site read an API answer only when ``Access-Control-Allow-Origin``
says so. Reflecting any ``Origin`` (or allowing ``null``, which sandboxed iframes and local
files send) lets every web page read the signed-in user's data; ``*`` is acceptable only for
truly public data, never together with credentials, and never in production here. WebSockets
are not covered by CORS at all: the server must check the ``Origin`` of the handshake itself,
or any page can open a socket with the user's cookies (cross-site WebSocket hijacking).

Each API route is probed with a foreign ``Origin``, ``null`` and each allowed origin, once as
a simple GET and once as a preflight (OPTIONS with ``Access-Control-Request-Method``); what
came back is shown as an origin × route matrix. WebSocket handshakes use a real client
(``websockets``), offering a foreign ``Origin``: a server that completes that handshake fails.
Everything a server returns is capped and escaped.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.checks.webcommon import run_sync
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url, safe_text, scrub

if TYPE_CHECKING:
    import httpx
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::\d+)?")


class WebSocketAuth(BaseModel):
    """How the endpoint expects its token: a query parameter and/or a header (``cors.ws.auth``)."""

    model_config = ConfigDict(extra="forbid")

    query_param: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]{1,60}$", description="e.g. token")
    header: str | None = Field("Authorization", pattern=r"^[A-Za-z0-9\-]{1,60}$")
    header_prefix: str = Field("Bearer ", max_length=30, description="put before the token in the header")
    token_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,80}$",
        description="environment variable holding a valid token: a control handshake with it must be accepted "
        "(the token is never shown)",
    )


class WebSocketEndpoint(BaseModel):
    """A WebSocket URL the app advertises (``ws://``/``wss://``, or a path on base_url's host)."""

    model_config = ConfigDict(extra="forbid")

    url: str
    handshake: bool = Field(True, description="open a handshake with a foreign Origin (off: scheme check only)")
    plain_check: bool | None = Field(
        None,
        description="a plain ws:// handshake on the same host and path must be refused (cors.ws.plaintext); "
        "default: as handshake (an endpoint checked by scheme only gets no handshake at all)",
    )
    plain_urls: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="more ws:// addresses that must refuse the handshake (e.g. the proxy's plain port)",
    )
    auth: WebSocketAuth | None = Field(
        None, description="the endpoint requires a token: handshakes without one or with a bad one must fail"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not (value.startswith("/") or re.match(r"^wss?://[^/\s]+", value, re.IGNORECASE)):
            raise ValueError("must be a ws:// or wss:// URL, or a path starting with '/'")
        return value

    @field_validator("plain_urls")
    @classmethod
    def _plain(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^ws://[^/\s]+", url, re.IGNORECASE):
                raise ValueError("each plain URL must be a ws:// URL")
        return value


class CorsParams(BaseModel):
    """The ``cors:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    allowed_origins: list[str] = Field(default_factory=list, description="origins the API may answer to")
    routes: list[str] = Field(default_factory=list, max_length=50, description="API routes to probe (paths)")
    foreign_origin: str = Field("https://evil.example", description="an origin that must never be allowed")
    probe_null: bool = Field(True, description="also probe with Origin: null")
    preflight_method: str = Field("POST", pattern=r"^[A-Z]{3,10}$")
    preflight_headers: str = Field("content-type", max_length=200)
    websockets: list[WebSocketEndpoint] = Field(default_factory=list, max_length=20)
    ws_timeout: float = Field(5.0, gt=0, le=60, description="seconds for one WebSocket handshake")
    ws_linger: float = Field(
        1.0,
        ge=0,
        le=10,
        description="seconds an accepted token-less handshake is watched for the server closing it (cors.ws.auth)",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError("each origin must be scheme://host[:port] with no path, e.g. https://app.example.com")
        return value

    @field_validator("foreign_origin")
    @classmethod
    def _foreign(cls, value: str) -> str:
        if not _ORIGIN.fullmatch(value):
            raise ValueError("must be an origin such as https://evil.example")
        return value

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: list[str]) -> list[str]:
        for route in value:
            if not route.startswith("/") or any(c.isspace() for c in route):
                raise ValueError("each route must be a path starting with '/'")
        return value


# --------------------------------------------------------------------------- HTTP probes


@dataclass(frozen=True)
class Probe:
    """What one request with one Origin got back (values escaped and capped)."""

    route: str
    origin: str  # as sent
    role: str  # foreign, null or allowed
    mode: str  # simple or preflight
    status: int | None
    allow_origin: str | None
    allow_credentials: bool
    vary_origin: bool
    error: str | None = None

    @property
    def shown(self) -> str:
        if self.error:
            return "error"
        if self.allow_origin is None:
            return "—"
        return self.allow_origin + (" +cred" if self.allow_credentials else "")


def probe_route(client: httpx.Client, url: str, origin: str, role: str, params: CorsParams) -> list[Probe]:
    """A simple GET and a preflight OPTIONS with ``origin``; no configured credentials beyond the client's."""
    from harden_lib.http import FetchError, fetch

    out = []
    for mode in ("simple", "preflight"):
        headers = {"Origin": origin}
        method = "GET"
        if mode == "preflight":
            method = "OPTIONS"
            headers["Access-Control-Request-Method"] = params.preflight_method
            if params.preflight_headers:
                headers["Access-Control-Request-Headers"] = params.preflight_headers
        try:
            result = fetch(client, url, method=method, headers=headers, follow_redirects=False, max_body_bytes=65_536)
        except FetchError as exc:
            out.append(Probe(url, origin, role, mode, None, None, False, False, safe_text(str(exc), 300)))
            continue
        acao = result.headers.get_list("access-control-allow-origin")
        allow = safe_text(", ".join(v.strip() for v in acao), 120) if acao else None
        creds = result.headers.get("access-control-allow-credentials", "").strip().lower() == "true"
        vary = any(
            token.strip().lower() in ("origin", "*") for v in result.headers.get_list("vary") for token in v.split(",")
        )
        out.append(Probe(url, origin, role, mode, result.status_code, allow, creds, vary))
    return out


#: Why a finding is critical instead of the catalog's high (kept on the finding).
_WITH_CREDENTIALS = "Access-Control-Allow-Credentials: true: the answer is readable with the user's cookies"


def route_findings(url: str, probes: list[Probe], params: CorsParams, production: bool) -> list[Finding]:
    """The findings of one route from its probes (a pure function, tested without a network)."""
    failed = [p for p in probes if p.error]
    answered = [p for p in probes if not p.error]
    out: list[Finding] = []
    if not answered:
        return [finding("cors.fetch", Status.ERROR, url, failed[0].error or "no answer")]

    def listed(items: list[Probe]) -> str:
        return "; ".join(f"{p.mode} with Origin {clean_observed(p.origin, 80)} → {p.shown}" for p in items[:4])

    foreign = [p for p in answered if p.role == "foreign" and p.allow_origin == safe_text(p.origin, 120)]
    if foreign:
        creds = any(p.allow_credentials for p in foreign)
        observed = "reflected: " + listed(foreign)
        if creds:
            observed += " (with credentials: any site can read signed-in data)"
        out.append(
            finding("cors.foreign_origin", Status.FAIL, url, observed,
                    severity=Severity.CRITICAL if creds else None, severity_reason=_WITH_CREDENTIALS if creds else "")
        )  # fmt: skip
    else:
        shown = [p for p in answered if p.role == "foreign"]
        out.append(finding("cors.foreign_origin", Status.PASS, url, "not reflected: " + listed(shown)))

    if params.probe_null:
        nulls = [p for p in answered if p.role == "null"]
        bad = [p for p in nulls if p.allow_origin == "null"]
        out.append(
            finding("cors.null_origin", Status.FAIL if bad else Status.PASS, url, listed(bad or nulls) or "not probed")
        )

    stars = [p for p in answered if p.allow_origin == "*"]
    if stars and any(p.allow_credentials for p in stars):
        out.append(
            finding("cors.wildcard", Status.FAIL, url, "'*' together with Access-Control-Allow-Credentials: true",
                    severity=Severity.CRITICAL, severity_reason=_WITH_CREDENTIALS)
        )  # fmt: skip
    elif stars:
        status = Status.FAIL if production else Status.WARN
        note = "production environment" if production else "acceptable only for public, non-personal data"
        out.append(finding("cors.wildcard", status, url, f"'*' answered to {len(stars)} probe(s) ({note})"))
    else:
        out.append(finding("cors.wildcard", Status.PASS, url, "no '*'"))

    allowed = [p for p in answered if p.role == "allowed"]
    if allowed:
        missing = sorted({p.origin for p in allowed if p.allow_origin not in (safe_text(p.origin, 120), "*")})
        if missing:
            out.append(
                finding("cors.allowed_origin", Status.WARN, url,
                        f"not allowed: {', '.join(clean_observed(m, 80) for m in missing)} — " + listed(allowed))
            )  # fmt: skip
        else:
            out.append(finding("cors.allowed_origin", Status.PASS, url, listed(allowed)))

    specific = [p for p in answered if p.allow_origin not in (None, "*")]
    if specific:
        without = [p for p in specific if not p.vary_origin]
        if without:
            out.append(finding("cors.vary_origin", Status.WARN, url, "no Vary: Origin on: " + listed(without)))
        else:
            out.append(finding("cors.vary_origin", Status.PASS, url, "Vary: Origin sent with every echoed origin"))
    for p in failed:
        out.append(
            finding("cors.fetch", Status.ERROR, url, f"{p.mode} with Origin {clean_observed(p.origin, 80)}: {p.error}")
        )
    return out


# --------------------------------------------------------------------------- WebSockets


@dataclass(frozen=True)
class Handshake:
    """The outcome of one WebSocket handshake offering ``origin``."""

    url: str
    origin: str
    accepted: bool
    status: int | None = None  # HTTP status of a refusal
    error: str | None = None  # the handshake could not be attempted / failed otherwise
    #: how it failed: status, no_listener (connection refused), protocol (no HTTP answer, e.g. a TLS port),
    #: timeout, tls, dns or other; "" when accepted
    kind: str = ""
    close_code: int | None = None  # accepted, then closed by the server within the linger time
    messages: int = 0  # messages the server sent while the connection was watched (linger)
    probe: str = ""  # what the handshake offered (cors.ws.auth: no token, bad token in the query …)


def ws_url(env: Environment, endpoint: WebSocketEndpoint) -> str:
    """The endpoint's URL; a path becomes ``wss://`` (or ``ws://`` for an http base) on base_url's host."""
    if "://" in endpoint.url:
        return endpoint.url
    if not env.base:
        raise HardenError(f"'{endpoint.url}' is a path but the environment has no base_url")
    base = urlsplit(env.base)
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}{endpoint.url}"


def ws_handshake(
    env: Environment,
    url: str,
    origin: str,
    timeout: float,
    *,
    headers: dict[str, str] | None = None,
    linger: float = 0.0,
) -> Handshake:
    """Open (and at once close) a WebSocket offering ``origin``; trust settings come from the env.

    Why the asyncio client and not ``websockets.sync``: the sync client reads its TLS socket in a
    background thread while the handshake request is written from the calling thread; under load
    about one handshake in 150 then never got its answer (python-websockets issue 1387) and, with
    the reader thread joined on the way out, took the server's idle timeout instead of
    ``ws_timeout`` — an ``error`` verdict on a server that works. The asyncio client uses one
    thread, and ``asyncio.timeout`` bounds the whole exchange, close included.

    Redirects are not followed: browsers fail a WebSocket handshake that answers with a
    redirect, so a 3xx is a refusal with that status. ``headers`` are sent with the handshake;
    with ``linger`` > 0 an accepted connection is watched that long for the server closing it
    (servers that check a token after the upgrade close with 1008 or a 4xxx code).
    """
    return run_sync(_ws_handshake(env, url, origin, timeout, headers or {}, linger))


def _no_redirects():
    """The websockets client class, without its redirect following (browsers do not follow them)."""
    from websockets.asyncio.client import connect

    class NoRedirect(connect):
        def process_redirect(self, exc: Exception) -> Exception | str:
            return exc

    return NoRedirect


def _failure_kind(exc: BaseException) -> str:
    import socket
    import ssl

    from websockets.exceptions import InvalidMessage

    seen: BaseException | None = exc
    for _ in range(4):  # the cause chain: InvalidMessage from EOFError, OSError from SSLError …
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "no_listener"
        if isinstance(seen, socket.gaierror):
            return "dns"
        if isinstance(seen, ssl.SSLError):
            return "tls"
        if isinstance(seen, InvalidMessage | EOFError | ConnectionResetError):
            return "protocol"
        seen = seen.__cause__ or seen.__context__
    return "other"


async def _ws_handshake(
    env: Environment, url: str, origin: str, timeout: float, headers: dict[str, str], linger: float
) -> Handshake:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, WebSocketException

    from harden_lib.http import _verify_setting, user_agent

    context = None
    if url.lower().startswith("wss://"):
        verify = _verify_setting(env.http)
        if verify is False:
            import ssl

            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = verify
    connect = _no_redirects()
    close_code: int | None = None
    messages = 0
    try:
        # opening handshake + watching for a close + closing handshake
        async with asyncio.timeout(timeout + linger + min(timeout, 2.0)):
            async with connect(
                url,
                origin=origin,  # type: ignore[arg-type]
                ssl=context,
                open_timeout=timeout,
                close_timeout=min(timeout, 2.0),
                proxy=None,  # like the HTTP client: nothing from the auditor's shell environment
                max_size=65_536,
                compression=None,
                user_agent_header=env.http.user_agent or user_agent(),
                additional_headers=headers or None,
            ) as connection:
                if linger > 0:
                    close_code, messages = await _closed_within(connection, linger, ConnectionClosed)
    except InvalidStatus as exc:
        return Handshake(url, origin, False, status=exc.response.status_code, kind="status")
    except TimeoutError:
        return Handshake(
            url,
            origin,
            False,
            error=f"no WebSocket handshake answer within cors.ws_timeout ({timeout:g} s)",
            kind="timeout",
        )
    except (InvalidHandshake, WebSocketException, OSError) as exc:
        detail = scrub(str(exc) or "the connection ended")
        return Handshake(
            url, origin, False, error=safe_text(f"the handshake failed: {detail}", 300), kind=_failure_kind(exc)
        )
    return Handshake(url, origin, True, close_code=close_code, messages=messages)


async def _closed_within(connection, seconds: float, closed: type[Exception]) -> tuple[int | None, int]:
    """(close code, messages received) while watching ``seconds``; the code is None if it stayed open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    received = 0
    while (left := deadline - loop.time()) > 0 and received < 20:
        try:
            await asyncio.wait_for(connection.recv(), left)
            received += 1  # a message (data, or an "unauthorized" text) before any close
        except TimeoutError:
            return None, received
        except closed:
            return (connection.close_code if connection.close_code is not None else 1006), received
    return None, received


def plain_candidates(env: Environment, url: str, endpoint: WebSocketEndpoint) -> list[str]:
    """The ``ws://`` addresses that must refuse a plain handshake for the endpoint ``url``.

    Decided this way (and documented in the README): the same host, port and path with
    ``ws://`` (a TLS port that also speaks plain HTTP is the classic mistake); when the
    ``wss://`` URL uses the default port 443, also port 80 (where a proxy usually listens);
    when it is base_url's host and port and the environment has ``http_url``, that plain
    address; plus the endpoint's ``plain_urls``. A ``ws://`` endpoint is its own candidate.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host = parts.hostname or ""
    shown_host = f"[{host}]" if ":" in host else host
    out: list[str] = []
    if parts.scheme.lower() == "ws":
        out.append(url)
    else:
        out.append(f"ws://{shown_host}:{parts.port or 443}{path}")
        if parts.port in (None, 443):
            out.append(f"ws://{shown_host}{path}")
        if env.base and env.plain_http:
            base = urlsplit(env.base)
            if (base.hostname, base.port or 443) == (parts.hostname, parts.port or 443):
                plain = urlsplit(env.plain_http)
                out.append(f"ws://{plain.netloc}{path}")
    out.extend(endpoint.plain_urls)
    return list(dict.fromkeys(out))


def _reachable(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the URL's host and port opens; otherwise why not (capped)."""
    import socket

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "wss" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except OSError as exc:
        return safe_text(scrub(exc.strerror or str(exc) or "no connection"), 160)


_PLAIN_OUTCOME = {
    "status": "refused with HTTP {status}",
    "no_listener": "connection refused (nothing listens there)",
    "protocol": "no HTTP answer to a plain request (the port speaks TLS or closed the connection)",
    "timeout": "no upgrade within cors.ws_timeout",
    "tls": "TLS error",
    "dns": "name not resolved",
    "other": "failed",
}


def plaintext_finding(env: Environment, url: str, endpoint: WebSocketEndpoint) -> tuple[Finding, list[Handshake]]:
    """``cors.ws.plaintext``: a plain ``ws://`` handshake to the endpoint's host and path is refused.

    Passes only when every candidate refuses or does not upgrade (an HTTP status, a redirect —
    browsers do not follow one —, nothing listening, a TLS-only port, no answer in time); any
    101 over plain HTTP fails. When the endpoint's own host and port cannot be reached at
    all, a refusal proves nothing: ``error``.
    """
    params = env.cors
    why = _reachable(url, params.ws_timeout)
    if why is not None:
        return finding(
            "cors.ws.plaintext", Status.ERROR, url, f"the endpoint itself could not be reached ({why}): not tested"
        ), []
    origin = params.allowed_origins[0] if params.allowed_origins else _own_origin(url)
    shakes = [
        replace(ws_handshake(env, plain, origin, params.ws_timeout), probe="plain ws://")
        for plain in plain_candidates(env, url, endpoint)
    ]
    accepted = [h for h in shakes if h.accepted]
    parts = []
    for h in shakes:
        outcome = "ACCEPTED (101)" if h.accepted else _PLAIN_OUTCOME.get(h.kind, "failed").format(status=h.status)
        parts.append(f"{safe_text(redact_url(h.url), 120)}: {outcome}")
    observed = "; ".join(parts)
    if accepted:
        return finding("cors.ws.plaintext", Status.FAIL, url, "plain ws:// handshake accepted — " + observed), shakes
    return finding("cors.ws.plaintext", Status.PASS, url, "plain ws:// refused — " + observed), shakes


def _own_origin(url: str) -> str:
    """``https://host[:port]`` of a WebSocket URL: what the app's own pages send as Origin."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme.lower() in ("wss", "https") else "http"
    return f"{scheme}://{parts.netloc}"


_BAD_TOKEN = "harden-invalid-token-0000"  # not a secret: a value no server can have issued
_REJECTING = frozenset({400, 401, 403, 407, 422})


def auth_finding(env: Environment, url: str, endpoint: WebSocketEndpoint) -> tuple[Finding, list[Handshake]]:
    """``cors.ws.auth``: handshakes without a token and with a bad one (query and/or header) are refused.

    Sent with the app's own Origin (the first allowed origin, else the endpoint's https origin)
    so that an Origin check cannot pass for a token check. Refused means 400/401/403 (or a
    redirect, which browsers do not follow), or accepted and then closed by the server within
    ``cors.ws_linger`` with 1008 or an application code 3000–4999 (apps that check the token
    after the upgrade close with 1008/4401) and no message sent first. Accepted and still
    open, or any message received, fails; another close code (1000, 1011, 1006), 404, 5xx or
    no answer is an ``error``.
    """
    from urllib.parse import parse_qsl, urlencode

    params = env.cors
    auth = endpoint.auth
    assert auth is not None
    origin = params.allowed_origins[0] if params.allowed_origins else _own_origin(url)
    parts = urlsplit(url)
    probes: list[tuple[str, str, dict[str, str]]] = [("no token", url, {})]
    if auth.query_param:
        query = urlencode([*parse_qsl(parts.query), (auth.query_param, _BAD_TOKEN)])
        probes.append((f"bad token in ?{auth.query_param}=", parts._replace(query=query).geturl(), {}))
    if auth.header:
        probes.append((f"bad token in {auth.header}", url, {auth.header: auth.header_prefix + _BAD_TOKEN}))
        if auth.header.lower() == "authorization":
            probes.append(("malformed Authorization", url, {"Authorization": "Bearer"}))
    shakes = []
    accepted, refused, failed = [], [], []
    for label, target, headers in probes:
        h = ws_handshake(env, target, origin, params.ws_timeout, headers=headers, linger=params.ws_linger)
        h = replace(h, probe=label)
        shakes.append(h)
        sent = f", {h.messages} message(s) received" if h.messages else ""
        if h.accepted and h.close_code is None:
            accepted.append(f"{label}: accepted (101) and still open after {params.ws_linger:g} s{sent}")
        elif h.accepted and h.messages:
            accepted.append(f"{label}: accepted (101){sent} before the close ({h.close_code})")
        elif h.accepted and (h.close_code == 1008 or 3000 <= (h.close_code or 0) <= 4999):
            refused.append(f"{label}: accepted, then closed by the server with code {h.close_code}")
        elif h.accepted:
            failed.append(
                f"{label}: accepted, then closed with code {h.close_code} without data — a token refusal closes "
                "with 1008 or a 4xxx code"
            )
        elif h.status in _REJECTING or (h.status is not None and 300 <= h.status < 400):
            refused.append(f"{label}: refused with {h.status}")
        else:
            failed.append(f"{label}: " + (f"HTTP {h.status}" if h.status else (h.error or "failed")))
    observed = "; ".join(accepted + failed + refused)
    if accepted:
        return finding("cors.ws.auth", Status.FAIL, url, observed), shakes
    if failed:
        return finding("cors.ws.auth", Status.ERROR, url, "inconclusive — " + observed), shakes
    if auth.token_env:
        valid = os.environ.get(auth.token_env, "")
        if not valid:
            return finding(
                "cors.ws.auth", Status.ERROR, url, f"cors auth.token_env names {auth.token_env}, which is not set"
            ), shakes
        target, headers = url, {}
        if auth.header:
            headers = {auth.header: auth.header_prefix + valid}
        else:
            query = urlencode([*parse_qsl(parts.query), (auth.query_param or "token", valid)])
            target = parts._replace(query=query).geturl()
        control = ws_handshake(env, target, origin, params.ws_timeout, headers=headers, linger=params.ws_linger)
        hidden = (control.error or "").replace(valid, "[REDACTED]") or None  # an error may quote the URL
        control = replace(control, url=url, probe="valid token (control)", error=hidden)
        shakes.append(control)
        if not (control.accepted and control.close_code is None):
            seen = "accepted, then closed" if control.accepted else f"{control.status or control.error}"
            return finding(
                "cors.ws.auth",
                Status.WARN,
                url,
                f"refused every time, but the valid token was refused too ({seen}): the refusals may not come "
                f"from a token check — {observed}",
            ), shakes
        observed += "; valid token (control): accepted"
    return finding("cors.ws.auth", Status.PASS, url, observed), shakes


def ws_findings(env: Environment, endpoint: WebSocketEndpoint) -> tuple[list[Finding], list[Handshake]]:
    """``cors.ws.scheme``, ``cors.ws.plaintext``, ``cors.ws.auth`` and ``cors.ws.origin`` for one endpoint."""
    params = env.cors
    try:
        url = ws_url(env, endpoint)
    except HardenError as exc:
        return [finding("cors.ws.scheme", Status.ERROR, endpoint.url, str(exc))], []
    out: list[Finding] = []
    early: list[Handshake] = []
    if url.lower().startswith("wss://"):
        out.append(finding("cors.ws.scheme", Status.PASS, url, "wss://"))
    elif env.production:
        out.append(finding("cors.ws.scheme", Status.FAIL, url, "plain ws:// in a production environment"))
    else:
        out.append(finding("cors.ws.scheme", Status.WARN, url, "plain ws:// (must be wss:// in production)"))
    if endpoint.handshake if endpoint.plain_check is None else endpoint.plain_check:
        found, shakes = plaintext_finding(env, url, endpoint)
        out.append(found)
        early.extend(shakes)
    if endpoint.auth is not None:
        found, shakes = auth_finding(env, url, endpoint)
        out.append(found)
        early.extend(shakes)
    if not endpoint.handshake:
        return out, early
    foreign = replace(ws_handshake(env, url, params.foreign_origin, params.ws_timeout), probe="foreign Origin")
    shakes = [foreign]
    origin = clean_observed(params.foreign_origin, 80)
    if foreign.error:
        out.append(finding("cors.ws.origin", Status.ERROR, url, f"handshake failed: {foreign.error}"))
    elif foreign.accepted:
        out.append(finding("cors.ws.origin", Status.FAIL, url, f"handshake with Origin {origin} was accepted (101)"))
    else:
        observed = f"handshake with Origin {origin} refused with {foreign.status}"
        status = Status.PASS
        if params.allowed_origins:
            own = replace(ws_handshake(env, url, params.allowed_origins[0], params.ws_timeout), probe="own Origin")
            shakes.append(own)
            if own.accepted:
                observed += f"; with {clean_observed(own.origin, 80)} accepted"
            else:
                status = Status.WARN
                observed += (
                    f"; but the app's own origin {clean_observed(own.origin, 80)} is refused too "
                    f"({own.status or own.error}): the refusal may not be an Origin check"
                )
        out.append(finding("cors.ws.origin", status, url, observed))
    return out, early + shakes


# --------------------------------------------------------------------------- the audit


@dataclass
class CorsAudit:
    findings: list[Finding] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    handshakes: list[Handshake] = field(default_factory=list)

    def matrix(self) -> pd.DataFrame:
        """Origin × (route, mode): the Access-Control-Allow-Origin that came back (— for none)."""
        import pandas as pd

        if not self.probes:
            return pd.DataFrame()
        rows: dict[str, dict[str, str]] = {}
        for p in self.probes:
            label = f"{p.role}: {safe_text(p.origin, 60)}"
            column = f"{safe_text(urlsplit(p.route).path, 60)} ({p.mode})"
            rows.setdefault(label, {})[column] = p.shown
        return pd.DataFrame.from_dict(rows, orient="index").fillna("")

    def handshake_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "endpoint": safe_text(redact_url(h.url), 120),
                    "origin": safe_text(h.origin, 80),
                    "probe": h.probe,
                    "outcome": (
                        ("accepted" if h.close_code is None else f"accepted, closed {h.close_code}")
                        if h.accepted
                        else ("error" if h.error else f"refused ({h.status})")
                    ),
                    "detail": h.error or "",
                }
                for h in self.handshakes
            ],
            columns=["endpoint", "origin", "probe", "outcome", "detail"],
        )


def audit(env: Environment) -> CorsAudit:
    """Probe every configured route and WebSocket endpoint; nothing configured is a ``skip``."""
    from harden_lib.http import make_client, resolve_url

    params = env.cors
    report = CorsAudit()
    if not params.routes and not params.websockets:
        report.findings.append(
            finding("cors.wildcard", Status.SKIP, env.base or "(no base_url)", "no cors.routes or cors.websockets set")
        )
        return report
    origins = [(params.foreign_origin, "foreign")]
    if params.probe_null:
        origins.append(("null", "null"))
    origins += [(o, "allowed") for o in params.allowed_origins]
    if params.routes:
        with make_client(env) as client:
            for route in params.routes:
                try:
                    url = resolve_url(env, route)
                except HardenError as exc:
                    report.findings.append(finding("cors.fetch", Status.ERROR, route, str(exc)))
                    continue
                probes = [p for origin, role in origins for p in probe_route(client, url, origin, role, params)]
                report.probes.extend(probes)
                report.findings.extend(route_findings(url, probes, params, env.production))
    for endpoint in params.websockets:
        found, shakes = ws_findings(env, endpoint)
        report.findings.extend(found)
        report.handshakes.extend(shakes)
    return report


def run(env: Environment) -> list[Finding]:
    """The area's entry point: every CORS and WebSocket finding for ``env`` (notebooks call ``audit`` once)."""
    return audit(env).findings


def plot_matrix(report: CorsAudit) -> Figure:
    """The origin × route matrix as coloured cells: red = foreign/null/'*' allowed, green = own origin."""
    from matplotlib.colors import ListedColormap

    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    frame = report.matrix()
    if frame.empty:
        return empty_chart("no CORS probes", 8.5, 2.1)
    fig = figure(8.5, 1.6 + 0.5 * len(frame))
    ax = fig.subplots()
    palette = ["#eeeeee", STATUS_COLOURS[Status.PASS], STATUS_COLOURS[Status.FAIL], STATUS_COLOURS[Status.ERROR]]
    codes = []
    for label, row in frame.iterrows():
        role = str(label).split(":", 1)[0]
        line = []
        for value in row:
            if value in ("", "—"):
                line.append(0)
            elif value == "error":
                line.append(3)
            elif value.startswith("*") or role in ("foreign", "null"):
                line.append(2)
            else:
                line.append(1)
        codes.append(line)
    ax.imshow(codes, cmap=ListedColormap(palette), vmin=0, vmax=3, aspect="auto")
    for y, row in enumerate(frame.itertuples(index=False)):
        for x, value in enumerate(row):
            colour = "white" if codes[y][x] else "black"
            ax.text(x, y, str(value)[:48].replace(" +", "\n+"), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(frame.columns)), [str(c) for c in frame.columns], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(frame.index)), [str(i) for i in frame.index], fontsize=8)
    ax.set_title("Allow-Origin returned per Origin sent × route (red: must not be allowed)", fontsize=10)
    return fig


AREA = AreaSpec(
    name="cors",
    title="CORS and WebSockets",
    purpose="Which other web sites may read the API, and whether WebSocket handshakes check their Origin.",
    params=CorsParams,
    order=50,
)
