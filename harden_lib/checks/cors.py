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
import re
from dataclasses import dataclass, field
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


class WebSocketEndpoint(BaseModel):
    """A WebSocket URL the app advertises (``ws://``/``wss://``, or a path on base_url's host)."""

    model_config = ConfigDict(extra="forbid")

    url: str
    handshake: bool = Field(True, description="open a handshake with a foreign Origin (off: scheme check only)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not (value.startswith("/") or re.match(r"^wss?://[^/\s]+", value, re.IGNORECASE)):
            raise ValueError("must be a ws:// or wss:// URL, or a path starting with '/'")
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


def ws_url(env: Environment, endpoint: WebSocketEndpoint) -> str:
    """The endpoint's URL; a path becomes ``wss://`` (or ``ws://`` for an http base) on base_url's host."""
    if "://" in endpoint.url:
        return endpoint.url
    if not env.base:
        raise HardenError(f"'{endpoint.url}' is a path but the environment has no base_url")
    base = urlsplit(env.base)
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}{endpoint.url}"


def ws_handshake(env: Environment, url: str, origin: str, timeout: float) -> Handshake:
    """Open (and at once close) a WebSocket offering ``origin``; trust settings come from the env.

    Why the asyncio client and not ``websockets.sync``: the sync client reads its TLS socket in a
    background thread while the handshake request is written from the calling thread; under load
    about one handshake in 150 then never got its answer (python-websockets issue 1387) and, with
    the reader thread joined on the way out, took the server's idle timeout instead of
    ``ws_timeout`` — an ``error`` verdict on a server that works. The asyncio client uses one
    thread, and ``asyncio.timeout`` bounds the whole exchange, close included.
    """
    return run_sync(_ws_handshake(env, url, origin, timeout))


async def _ws_handshake(env: Environment, url: str, origin: str, timeout: float) -> Handshake:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

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
    try:
        async with asyncio.timeout(timeout + min(timeout, 2.0)):  # opening handshake + closing handshake
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
            ):
                pass
    except InvalidStatus as exc:
        return Handshake(url, origin, False, status=exc.response.status_code)
    except TimeoutError:
        return Handshake(
            url, origin, False, error=f"no WebSocket handshake answer within cors.ws_timeout ({timeout:g} s)"
        )
    except (InvalidHandshake, WebSocketException, OSError) as exc:
        detail = scrub(str(exc) or "the connection ended")
        return Handshake(url, origin, False, error=safe_text(f"the handshake failed: {detail}", 300))
    return Handshake(url, origin, True)


def ws_findings(env: Environment, endpoint: WebSocketEndpoint) -> tuple[list[Finding], list[Handshake]]:
    """``cors.ws.scheme`` and (unless disabled) ``cors.ws.origin`` for one endpoint."""
    params = env.cors
    try:
        url = ws_url(env, endpoint)
    except HardenError as exc:
        return [finding("cors.ws.scheme", Status.ERROR, endpoint.url, str(exc))], []
    out: list[Finding] = []
    if url.lower().startswith("wss://"):
        out.append(finding("cors.ws.scheme", Status.PASS, url, "wss://"))
    elif env.production:
        out.append(finding("cors.ws.scheme", Status.FAIL, url, "plain ws:// in a production environment"))
    else:
        out.append(finding("cors.ws.scheme", Status.WARN, url, "plain ws:// (must be wss:// in production)"))
    if not endpoint.handshake:
        return out, []
    foreign = ws_handshake(env, url, params.foreign_origin, params.ws_timeout)
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
            own = ws_handshake(env, url, params.allowed_origins[0], params.ws_timeout)
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
    return out, shakes


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
                    "outcome": "accepted" if h.accepted else ("error" if h.error else f"refused ({h.status})"),
                    "detail": h.error or "",
                }
                for h in self.handshakes
            ],
            columns=["endpoint", "origin", "outcome", "detail"],
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
