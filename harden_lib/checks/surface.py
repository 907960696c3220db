"""What the deployment exposes: routes, HTTPS redirect, leaky assets, exposed files, health.

Why these together: they are what an outsider sees without logging in. A bundle that still
points at ``http://localhost:3000`` or a ``ws://`` relay ships a development configuration to
every browser; a served source map hands out the unminified source; ``/.env`` or
``/.git/HEAD`` answering 200 hands out secrets and history. The checks come from the
"External surface verification" sections of the checklists.

Pages are parsed with the standard library's HTML parser (not regexes) to find script, style,
preload and manifest assets; assets are fetched concurrently over a bounded pool of
connections (``make_async_client`` with ``httpx.Limits``) and every page and asset is searched
for forbidden and required hints. Every response is hostile: bodies are capped by the shared
client, excerpts are short and escaped (``safe_text``), and the body of an exposed file is
never shown (it may be a real ``.env``).

A catch-all SPA route answers 200 with the index page for every path, which would make every
must-not-exist path look exposed; so a random, certainly missing path is fetched first and a
200 that matches it (or the home page) is not counted as exposure.

An unfinished read is never a pass. A body cut at the byte cap (an endless asset, a gzip bomb
that inflates past the cap), a compressed stream that ends early or a content coding that
cannot be decoded leaves part of the document unseen, so "no hit" there is a ``warn`` that
says how much was read (or an ``error`` when nothing meaningful could be read). The area has
one total deadline (``surface.deadline_seconds``): routes, pages, exposed paths, assets and
source maps are fetched concurrently over the bounded pool, so slow answers overlap instead
of adding up, and whatever is not fetched by the deadline is reported as ``error``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.checks.headers import parse_hsts, probe_redirect
from harden_lib.checks.webcommon import run_sync
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url, safe_text

if TYPE_CHECKING:
    import httpx
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment
    from harden_lib.http import FetchResult

DEFAULT_EXPOSED = ["/.env", "/.git/HEAD", "/.DS_Store", "/server-status", "/actuator/env", "/debug"]

#: Built-in forbidden hints: loopback, unspecified and private addresses, plain WebSockets.
BUILTIN_FORBIDDEN: dict[str, str] = {
    "localhost": r"(?i)\blocalhost\b",
    "127.0.0.1": r"(?<![\d.])127\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\.?\d)",
    "0.0.0.0": r"(?<![\d.])0\.0\.0\.0(?!\.?\d)",
    "[::1]": r"\[::1\]",
    "private IPv4": (
        r"(?<![\d.])(?:10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}"
        r"|192\.168\.\d{1,3}\.\d{1,3})(?!\.?\d)"
    ),
    "ws://": r"(?i)\bws://",
}

#: Hits kept per document and pattern: a bundle full of one hint needs one line, not thousands.
MAX_HITS_PER_PATTERN = 20
#: Characters of context shown on each side of a hit.
EXCERPT_CONTEXT = 40


class RouteSpec(BaseModel):
    """One route that must answer, with the status it must answer with (default: any 2xx)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    status: list[int] = Field(default_factory=list, description="accepted statuses; empty means any 2xx")
    method: str = Field("GET", pattern=r"^(GET|HEAD)$")


class HintSpec(BaseModel):
    """A named regular expression searched in pages and assets."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    pattern: str = Field(min_length=1, max_length=500)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value


def _path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError("must be a path starting with '/' (no whitespace)")
    return value


class SurfaceParams(BaseModel):
    """The ``surface:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    routes: list[RouteSpec] = Field(default_factory=lambda: [RouteSpec(path="/")], max_length=100)
    check_redirect: bool = Field(True, description="plain HTTP must redirect (301/308) to HTTPS on the same host")
    hsts_min_age: int = Field(15_552_000, ge=0, description="HSTS max-age below this (180 days) is a warning")
    pages: list[str] = Field(default_factory=lambda: ["/"], max_length=20, description="pages whose assets are scanned")
    builtin_forbidden: bool = Field(True, description="search for localhost, loopback/private IPs and ws://")
    forbidden: list[HintSpec] = Field(default_factory=list, description="more patterns that must not appear")
    required: list[HintSpec] = Field(
        default_factory=list, description="patterns that must appear at least once (e.g. wss://, turns?:)"
    )
    third_party_assets: bool = Field(False, description="also fetch assets on other hosts (off: stay on target)")
    max_assets: int = Field(100, ge=1, le=1000, description="assets fetched at most")
    connections: int = Field(8, ge=1, le=64, description="connections used at once to fetch assets")
    check_source_maps: bool = True
    exposed_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_EXPOSED), max_length=200)
    health: list[str] = Field(default_factory=list, max_length=20, description="health endpoints (paths)")
    health_max_seconds: float = Field(2.0, gt=0, le=60, description="a health answer slower than this warns")
    deadline_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="total time for the area's requests; whatever is not fetched by then is reported as error",
    )

    @field_validator("pages", "exposed_paths", "health")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        return [_path(v) for v in value]

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: list[RouteSpec]) -> list[RouteSpec]:
        for route in value:
            _path(route.path)
        return value


# --------------------------------------------------------------------------- HTML assets


class _AssetParser(HTMLParser):
    """Collects script, stylesheet, preload and manifest URLs (in document order)."""

    _LINK_RELS = frozenset({"stylesheet", "preload", "modulepreload", "manifest"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.assets: list[tuple[str, str]] = []  # (kind, href as written)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script" and values.get("src"):
            self.assets.append(("script", values["src"]))
        elif tag == "link" and values.get("href"):
            rels = set(values.get("rel", "").lower().split())
            for rel in sorted(rels & self._LINK_RELS):
                self.assets.append((rel, values["href"]))
                break


def extract_assets(html: str, page_url: str) -> list[tuple[str, str]]:
    """``(kind, absolute URL)`` of every script/style/preload/manifest asset of a page, deduplicated."""
    parser = _AssetParser()
    try:
        parser.feed(html[:2_000_000])
        parser.close()
    except Exception:  # a hostile page must not crash the scan; keep what was parsed
        pass
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for kind, href in parser.assets:
        href = href.strip()
        if href.lower().startswith(("data:", "javascript:", "blob:")):
            continue
        url = urljoin(page_url, href).split("#", 1)[0]
        if urlsplit(url).scheme.lower() not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        out.append((kind, url))
    return out


# --------------------------------------------------------------------------- hint search


@dataclass(frozen=True)
class Hit:
    """One match of a hint in a page or asset."""

    document: str  # URL
    hint: str
    kind: str  # "forbidden" or "required"
    line: int
    column: int
    offset: int
    excerpt: str  # escaped and capped


def compile_hints(specs: Iterable[HintSpec], builtin: bool = False) -> list[tuple[str, re.Pattern[str]]]:
    out = [(name, re.compile(p)) for name, p in BUILTIN_FORBIDDEN.items()] if builtin else []
    out += [(s.name, re.compile(s.pattern)) for s in specs]
    return out


def excerpt(text: str, start: int, end: int, context: int = EXCERPT_CONTEXT) -> str:
    """A short excerpt around ``text[start:end]``, escaped so markup or control characters stay inert."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    shown = ("…" if left else "") + text[left:right].replace("\n", " ") + ("…" if right < len(text) else "")
    return safe_text(shown, 2 * context + 60)


def search_hints(url: str, text: str, hints: Sequence[tuple[str, re.Pattern[str]]], kind: str) -> list[Hit]:
    """Every match (at most ``MAX_HITS_PER_PATTERN`` per hint) with line, column and offset."""
    hits: list[Hit] = []
    for name, pattern in hints:
        for count, match in enumerate(pattern.finditer(text)):
            if count >= MAX_HITS_PER_PATTERN:
                break
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            hits.append(Hit(url, name, kind, line, column, match.start(), excerpt(text, match.start(), match.end())))
    return sorted(hits, key=lambda h: h.offset)


# --------------------------------------------------------------------------- the audit


@dataclass
class Document:
    """A page or asset as fetched for the scan (``error`` set when it could not be)."""

    url: str
    kind: str
    status: int | None = None
    content_type: str = ""
    size: int = 0
    truncated: bool = False
    error: str | None = None
    text: str = field(default="", repr=False)
    source_map_header: str | None = None
    #: Why the text is not the whole document (cap, early end, undecodable coding), if it is not.
    incomplete: str | None = None
    #: The body could not be decoded at all (an unknown content coding): nothing meaningful to scan.
    unreadable: bool = False


@dataclass
class SurfaceAudit:
    """Findings plus the evidence an auditor needs: routes, documents, hits, probes."""

    findings: list[Finding] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    exposed: list[dict] = field(default_factory=list)
    skipped_assets: list[str] = field(default_factory=list)

    def routes_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.routes, columns=["route", "expected", "status", "seconds", "final_url", "outcome"])

    def hits_table(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {
                "asset": safe_text(redact_url(h.document), 200),
                "kind": h.kind,
                "hint": safe_text(h.hint, 80),
                "line": h.line,
                "column": h.column,
                "offset": h.offset,
                "excerpt": h.excerpt,
            }
            for h in self.hits
        ]
        return pd.DataFrame(rows, columns=["asset", "kind", "hint", "line", "column", "offset", "excerpt"])

    def documents_table(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {
                "url": safe_text(redact_url(d.url), 200),
                "kind": d.kind,
                "status": d.status,
                "content_type": safe_text(d.content_type, 80),
                "bytes": d.size,
                "truncated": d.truncated,
                "fully_scanned": d.error is None and d.incomplete is None,
                "forbidden_hits": sum(1 for h in self.hits if h.document == d.url and h.kind == "forbidden"),
                "error": safe_text(d.error or d.incomplete or "", 200),
            }
            for d in self.documents
        ]
        return pd.DataFrame(rows)

    def exposed_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.exposed, columns=["path", "status", "bytes", "content_type", "verdict"])


# --------------------------------------------------------------------------- fetching under one deadline


@dataclass
class _Clock:
    """The area's total deadline: every phase takes what is left, nothing runs past it."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def reason(self, started: bool = False) -> str:
        where = f"the surface area's deadline of {self.seconds:g} s (surface.deadline_seconds)"
        if started:
            return f"not complete when {where} was reached: not checked"
        return f"not fetched: {where} was reached first"


@dataclass(frozen=True)
class _Job:
    """One request of a concurrent batch."""

    url: str
    method: str = "GET"
    follow_redirects: bool = True
    max_body_bytes: int | None = None
    headers: tuple[tuple[str, str], ...] = ()


async def _fetch_all_async(
    env: Environment, jobs: Sequence[_Job], connections: int, clock: _Clock
) -> list[FetchResult | str]:
    """Each job's result, or a safe message why it has none (failed, cut off or never started)."""
    import httpx

    from harden_lib.http import FetchError, fetch_async, make_async_client

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    gate = asyncio.Semaphore(connections)

    async def one(client: httpx.AsyncClient, job: _Job) -> FetchResult | str:
        async with gate:
            left = clock.left()
            if left <= 0:
                return f"{redact_url(job.url)}: {clock.reason()}"
            try:
                async with asyncio.timeout(left):
                    return await fetch_async(
                        client,
                        job.url,
                        method=job.method,
                        follow_redirects=job.follow_redirects,
                        max_body_bytes=job.max_body_bytes,
                        headers=dict(job.headers),
                    )
            except TimeoutError:
                return f"{redact_url(job.url)}: {clock.reason(started=True)}"
            except FetchError as exc:
                return str(exc)

    if not jobs:
        return []
    async with make_async_client(env, limits=limits) as client:
        return list(await asyncio.gather(*(one(client, job) for job in jobs)))


def _fetch_all(env: Environment, jobs: Sequence[_Job], clock: _Clock) -> list[FetchResult | str]:
    """``_fetch_all_async`` from sync code (also inside a Jupyter kernel's running loop)."""
    if not jobs:
        return []
    return run_sync(_fetch_all_async(env, jobs, env.surface.connections, clock))


def _document(kind: str, url: str, outcome: FetchResult | str) -> Document:
    """A page or asset from a fetch outcome; a non-200 answer is an error, an unfinished read is marked."""
    if isinstance(outcome, str):
        return Document(url, kind, error=outcome)
    doc = Document(
        outcome.url,
        kind,
        status=outcome.status_code,
        content_type=outcome.headers.get("content-type", ""),
        size=len(outcome.body),
        truncated=outcome.truncated,
        text=outcome.text,
        source_map_header=outcome.headers.get("sourcemap") or outcome.headers.get("x-sourcemap"),
        incomplete=outcome.incomplete,
        unreadable=bool(outcome.undecoded_encoding),
    )
    if outcome.status_code != 200:
        doc.error = f"answered {outcome.status_code}"
    return doc


def _not_scanned(doc: Document) -> str:
    """Why a document was not (fully) scanned, for an observed text."""
    return clean_observed(doc.incomplete or doc.error or "", 300)


def _status_ok(status: int, accepted: Sequence[int]) -> bool:
    return status in accepted if accepted else 200 <= status < 300


def _route_findings(
    env: Environment,
    jobs: dict[int, _Job],
    outcomes: dict[int, FetchResult | str],
    errors: dict[int, str],
    report: SurfaceAudit,
) -> None:
    """``surface.route`` per configured route (status and time decide; the body does not)."""
    for index, route in enumerate(env.surface.routes):
        expected = ", ".join(map(str, route.status)) or "2xx"
        outcome = outcomes.get(index, errors.get(index, "not fetched"))
        if isinstance(outcome, str):
            report.routes.append(
                {"route": route.path, "expected": expected, "status": None, "seconds": None, "final_url": "",
                 "outcome": "error"}
            )  # fmt: skip
            report.findings.append(finding("surface.route", Status.ERROR, route.path, clean_observed(outcome, 400)))
            continue
        ok = _status_ok(outcome.status_code, route.status)
        final = safe_text(redact_url(outcome.url), 200)
        report.routes.append(
            {
                "route": route.path,
                "expected": expected,
                "status": outcome.status_code,
                "seconds": round(outcome.elapsed, 3),
                "final_url": final,
                "outcome": "pass" if ok else "fail",
            }
        )
        via = f" via {len(outcome.history)} redirect(s)" if outcome.history else ""
        shown = clean_observed(redact_url(outcome.url), 200)
        observed = f"{route.method} answered {outcome.status_code} in {outcome.elapsed:.2f} s{via}; final URL {shown}"
        url = jobs[index].url
        report.findings.append(
            finding("surface.route", Status.PASS if ok else Status.FAIL, url, observed, expected=expected)
        )


def _route_jobs(env: Environment) -> tuple[dict[int, _Job], dict[int, str]]:
    from harden_lib.http import resolve_url

    jobs: dict[int, _Job] = {}
    errors: dict[int, str] = {}
    for index, route in enumerate(env.surface.routes):
        try:
            jobs[index] = _Job(resolve_url(env, route.path), method=route.method, max_body_bytes=65_536)
        except HardenError as exc:
            errors[index] = str(exc)
    return jobs, errors


#: Why a finding's severity differs from the catalog's default (kept on the finding).
_NO_PLAIN_HTTP = "nothing listens on plain HTTP, so there is nothing to redirect: informational"
_TEMPORARY_REDIRECT = "it does reach HTTPS; only browsers do not remember a temporary redirect"
_SHORT_HSTS = "HSTS is on, only its max-age is shorter than surface.hsts_min_age"
_REFERENCED_MAP = "the comment or header names a map that is not served: the source itself is not exposed"
_SLOW_HEALTH = "the endpoint answers 2xx, only slower than surface.health_max_seconds"


def redirect_and_hsts(env: Environment, client: httpx.Client, page: FetchResult | None) -> list[Finding]:
    """``surface.http_redirect`` (hop by hop from plain HTTP) and ``surface.hsts`` (on the HTTPS page)."""
    from harden_lib.http import make_client, user_agent

    out: list[Finding] = []
    if env.surface.check_redirect and env.plain_http:
        start = env.plain_http + "/"
        # A separate client without configured credentials: this talks cleartext HTTP.
        with make_client(env, headers={"User-Agent": env.http.user_agent or user_agent()}) as plain:
            probe = probe_redirect(plain, start, env.http.max_redirects)
        route = " → ".join(f"{s} {clean_observed(redact_url(u), 120)}" for s, u in probe.hops)
        if probe.error and not probe.hops:
            if probe.error_kind == "connect":
                out.append(
                    finding("surface.http_redirect", Status.PASS, start,
                            f"Nothing listens on plain HTTP ({clean_observed(probe.error, 200)})",
                            severity=Severity.INFO, severity_reason=_NO_PLAIN_HTTP)
                )  # fmt: skip
            else:
                out.append(finding("surface.http_redirect", Status.ERROR, start, clean_observed(probe.error, 400)))
        elif len(probe.hops) < 2:
            status = probe.hops[0][0] if probe.hops else "no answer"
            out.append(finding("surface.http_redirect", Status.FAIL, start, f"Plain HTTP answers {status}: {route}"))
        else:
            first, nxt = urlsplit(probe.hops[0][1]), urlsplit(probe.hops[1][1])
            code = probe.hops[0][0]
            same_host = (first.hostname or "").lower() == (nxt.hostname or "").lower()
            if nxt.scheme.lower() != "https" or not same_host:
                out.append(finding("surface.http_redirect", Status.FAIL, start, f"Does not go to HTTPS here: {route}"))
            elif code not in (301, 308):
                out.append(
                    finding("surface.http_redirect", Status.WARN, start,
                            f"Temporary {code} redirect (not remembered by browsers): {route}",
                            severity=Severity.LOW, severity_reason=_TEMPORARY_REDIRECT)
                )  # fmt: skip
            else:
                out.append(finding("surface.http_redirect", Status.PASS, start, route))
    if page is not None:
        target = page.url
        values = page.header_list("strict-transport-security")
        if not values:
            out.append(finding("surface.hsts", Status.FAIL, target, "No Strict-Transport-Security header."))
        else:
            hsts = parse_hsts(values[0])
            shown = clean_observed(values[0], 200)
            if hsts.error or not hsts.max_age:
                reason = hsts.error or "max-age=0 switches HSTS off"
                out.append(finding("surface.hsts", Status.FAIL, target, f"{shown} ({reason})"))
            elif hsts.max_age < env.surface.hsts_min_age:
                out.append(
                    finding("surface.hsts", Status.WARN, target,
                            f"{shown}: max-age {hsts.max_age} s is below {env.surface.hsts_min_age} s",
                            severity=Severity.MEDIUM, severity_reason=_SHORT_HSTS)
                )  # fmt: skip
            else:
                out.append(finding("surface.hsts", Status.PASS, target, shown))
    return out


async def fetch_documents(
    env: Environment,
    urls: Sequence[tuple[str, str]],
    connections: int,
    max_body_bytes: int | None = None,
    *,
    clock: _Clock | None = None,
) -> list[Document]:
    """Fetch ``(kind, url)`` documents concurrently over at most ``connections`` connections.

    Everything not fetched before the area's deadline comes back as a document with ``error``.
    """
    clock = clock or _Clock(env.surface.deadline_seconds)
    cap = max_body_bytes or env.http.max_body_bytes
    jobs = [_Job(url, max_body_bytes=cap) for _, url in urls]
    outcomes = await _fetch_all_async(env, jobs, connections, clock)
    return [_document(kind, url, outcome) for (kind, url), outcome in zip(urls, outcomes, strict=True)]


def _same_site(url: str, base: str | None) -> bool:
    if not base:
        return True
    a, b = urlsplit(url), urlsplit(base)
    return (a.hostname or "").lower() == (b.hostname or "").lower()


def scan_assets(env: Environment, pages: Sequence[Document], report: SurfaceAudit, clock: _Clock | None = None) -> None:
    """Collect assets from the pages, fetch them concurrently, search every document for hints.

    A document read only in part (cap, early end) is never a pass: no hit there is a ``warn``
    naming how much was read; a body that could not be decoded is an ``error``.
    """
    params = env.surface
    clock = clock or _Clock(params.deadline_seconds)
    assets: list[tuple[str, str]] = []
    seen: set[str] = {p.url for p in pages}
    for page in pages:
        if page.error or page.unreadable or "html" not in page.content_type.lower():
            continue
        for kind, url in extract_assets(page.text, page.url):
            if url in seen:
                continue
            seen.add(url)
            if not params.third_party_assets and not _same_site(url, env.base):
                report.skipped_assets.append(url)
                continue
            assets.append((kind, url))
    if len(assets) > params.max_assets:
        report.skipped_assets.extend(u for _, u in assets[params.max_assets :])
        assets = assets[: params.max_assets]
    fetched = run_sync(fetch_documents(env, assets, params.connections, clock=clock)) if assets else []
    report.documents = [*pages, *fetched]

    forbidden = compile_hints(params.forbidden, builtin=params.builtin_forbidden)
    required = compile_hints(params.required)
    for doc in report.documents:
        if doc.error is not None:
            report.findings.append(
                finding("surface.assets.fetch", Status.ERROR, doc.url, f"{doc.kind}: {clean_observed(doc.error, 300)}")
            )
        elif doc.unreadable:
            report.findings.append(
                finding("surface.assets.forbidden", Status.ERROR, doc.url,
                        f"{doc.kind} not scanned: {_not_scanned(doc)}")
            )  # fmt: skip
    scanned = [d for d in report.documents if d.error is None and not d.unreadable]
    for doc in scanned:
        hits = search_hints(doc.url, doc.text, forbidden, "forbidden")
        report.hits.extend(hits)
        partial = f"; read only in part ({_not_scanned(doc)})" if doc.incomplete else ""
        if hits:
            listed = "; ".join(
                f"{clean_observed(h.hint, 40)} at line {h.line}:{h.column} «{h.excerpt}»" for h in hits[:6]
            )
            more = f" (+{len(hits) - 6} more)" if len(hits) > 6 else ""
            report.findings.append(
                finding(
                    "surface.assets.forbidden", Status.FAIL, doc.url, f"{len(hits)} hit(s): {listed}{more}{partial}"
                )
            )
        elif doc.incomplete:
            cut = " (assets referenced after the cut were not collected)" if doc.kind == "page" else ""
            report.findings.append(
                finding("surface.assets.forbidden", Status.WARN, doc.url,
                        f"{doc.kind}: no hit in the part read, but {_not_scanned(doc)}: not fully scanned{cut}")
            )  # fmt: skip
        else:
            report.findings.append(
                finding("surface.assets.forbidden", Status.PASS, doc.url, f"{doc.kind}, {doc.size} bytes: no hit")
            )
    unfinished = [d for d in report.documents if d.error is not None or d.unreadable or d.incomplete]
    for name, pattern in required:
        hits = [h for doc in scanned for h in search_hints(doc.url, doc.text, [(name, pattern)], "required")]
        report.hits.extend(hits)
        target = f"hint {name}"
        if not scanned:
            report.findings.append(finding("surface.assets.required", Status.ERROR, target, "nothing could be scanned"))
        elif hits:
            where = sorted({clean_observed(redact_url(h.document), 120) for h in hits})
            report.findings.append(
                finding("surface.assets.required", Status.PASS, target,
                        f"found {len(hits)} time(s) in {', '.join(where[:5])}; e.g. «{hits[0].excerpt}»")
            )  # fmt: skip
        elif unfinished:
            # It may be in the part that was not read: neither found nor proven missing.
            names = ", ".join(clean_observed(redact_url(d.url), 100) for d in unfinished[:3])
            more = f" (+{len(unfinished) - 3} more)" if len(unfinished) > 3 else ""
            report.findings.append(
                finding("surface.assets.required", Status.ERROR, target,
                        f"not found in the {len(scanned)} page(s)/asset(s) read, but {len(unfinished)} could not be "
                        f"(fully) scanned: {names}{more}", expected=f"/{safe_text(pattern.pattern, 100)}/")
            )  # fmt: skip
        else:
            report.findings.append(
                finding("surface.assets.required", Status.FAIL, target,
                        f"not found in {len(scanned)} page(s)/asset(s)",
                        expected=f"/{safe_text(pattern.pattern, 100)}/")
            )  # fmt: skip


_MAP_COMMENT = re.compile(r"[#@]\s*sourceMappingURL\s*=\s*([^\s*'\"]+)")
#: A source map may start with this line to defeat cross-site script inclusion (source map spec).
_XSSI_PREFIX = b")]}'"


def _map_head(body: bytes) -> bytes:
    head = body[:4096].lstrip()
    if head.startswith(_XSSI_PREFIX):
        head = head.split(b"\n", 1)[1].lstrip() if b"\n" in head else b""
    return head


def _looks_like_source_map(result: FetchResult) -> bool:
    head = _map_head(result.body)
    if not head.startswith(b"{"):
        return False
    window = result.body[:200_000]
    return any(key in window for key in (b'"mappings"', b'"sources"', b'"sections"'))


def _fingerprint(result: FetchResult) -> str:
    return hashlib.sha256(result.body).hexdigest()


def check_source_maps(
    env: Environment, client: httpx.Client | None, report: SurfaceAudit, clock: _Clock | None = None
) -> None:
    """Maps referenced by assets (comment or header) plus ``<asset>.map``: any served map fails.

    The candidate maps are fetched concurrently. No map found passes only when every asset
    was read to its end: a sourceMappingURL comment sits at the end of a file, so in an asset
    that was cut off or never fetched it cannot have been seen (``warn``).
    """
    clock = clock or _Clock(env.surface.deadline_seconds)
    if not any(d.error is None and not d.unreadable for d in report.documents):
        target = env.base or "(no base_url)"
        report.findings.append(
            finding("surface.source_map", Status.ERROR, target, "no page or asset could be fetched to look for maps")
        )
        return
    candidates: dict[str, str] = {}  # map URL -> why it was tried
    unchecked: list[Document] = []  # assets whose end (where the comment sits) was not read
    for doc in report.documents:
        if doc.kind == "page":
            continue
        unfinished = doc.error is not None or doc.unreadable or doc.incomplete
        if unfinished and doc.status in (None, 200):  # an asset that answers 404 has no comment to read
            unchecked.append(doc)
        if doc.error is None and not doc.unreadable:
            for match in _MAP_COMMENT.finditer(doc.text[-20_000:]):
                ref = match.group(1)
                if ref.lower().startswith("data:"):
                    report.findings.append(
                        finding("surface.source_map", Status.FAIL, doc.url, "an inline (data:) source map is embedded")
                    )
                    continue
                candidates.setdefault(urljoin(doc.url, ref), f"sourceMappingURL comment in {doc.url}")
        if doc.source_map_header:
            candidates.setdefault(urljoin(doc.url, doc.source_map_header), f"SourceMap header of {doc.url}")
        if urlsplit(doc.url).path.endswith((".js", ".css", ".mjs")):
            candidates.setdefault(doc.url + ".map", "guessed from the asset name")
    tried = {url: why for url, why in candidates.items() if _same_site(url, env.base) or env.surface.third_party_assets}
    outcomes = _fetch_all(env, [_Job(url, max_body_bytes=1_000_000) for url in tried], clock)
    served = 0
    for (url, why), outcome in zip(tried.items(), outcomes, strict=True):
        if isinstance(outcome, str):
            report.findings.append(finding("surface.source_map", Status.ERROR, url, clean_observed(outcome, 300)))
            continue
        if outcome.status_code == 200 and _looks_like_source_map(outcome):
            served += 1
            report.findings.append(
                finding("surface.source_map", Status.FAIL, url,
                        f"source map served (200, {len(outcome.body)} bytes; {clean_observed(redact_url(why), 200)})")
            )  # fmt: skip
        elif outcome.status_code == 200 and outcome.incomplete and _map_head(outcome.body)[:1] in (b"{", b""):
            report.findings.append(
                finding("surface.source_map", Status.WARN, url,
                        f"answers 200 with a body that could be a map, but {clean_observed(outcome.incomplete, 200)}: "
                        "not fully checked")
            )  # fmt: skip
        elif why.startswith(("sourceMappingURL", "SourceMap")):
            report.findings.append(
                finding("surface.source_map", Status.WARN, url,
                        f"{clean_observed(redact_url(why), 200)} points here; the map answers {outcome.status_code}",
                        severity=Severity.LOW, severity_reason=_REFERENCED_MAP,
                        remediation="Strip sourceMappingURL comments from production bundles.")
            )  # fmt: skip
    if not served and not any(f.check_id == "surface.source_map" for f in report.findings):
        target = env.base or "(no base_url)"
        summary = f"{len(tried)} candidate map URL(s), none served"
        if unchecked:
            names = ", ".join(clean_observed(redact_url(d.url), 100) for d in unchecked[:3])
            more = f" (+{len(unchecked) - 3} more)" if len(unchecked) > 3 else ""
            report.findings.append(
                finding("surface.source_map", Status.WARN, target,
                        f"{summary}; but {len(unchecked)} asset(s) were not read to the end, so a sourceMappingURL "
                        f"comment in them could not be seen: {names}{more}")
            )  # fmt: skip
        else:
            report.findings.append(finding("surface.source_map", Status.PASS, target, summary))


_SAMPLE = 8192


def _near_identical(head: bytes, samples: Sequence[bytes]) -> bool:
    """Whether a body matches a catch-all answer up to small per-request changes (a nonce, a token).

    A catch-all SPA route often embeds a fresh CSP nonce or CSRF token, so its answers are not
    byte-identical; 95 % similarity of the first 8 KiB is the same page, not a leaked file.
    """
    import difflib

    for sample in samples:
        if abs(len(sample) - len(head)) > max(64, len(sample) // 10):
            continue
        if difflib.SequenceMatcher(None, sample, head, autojunk=False).ratio() >= 0.95:
            return True
    return False


def _exposed_jobs(env: Environment) -> tuple[list[_Job], dict[str, _Job | str]]:
    """The two catch-all baselines (a certainly missing path, the home page) and one job per path."""
    from harden_lib.http import resolve_url

    missing = f"/harden-missing-{secrets.token_hex(8)}"
    baselines = [_Job(resolve_url(env, p), follow_redirects=False, max_body_bytes=1_000_000) for p in (missing, "/")]
    if not env.surface.exposed_paths:
        baselines = []  # nothing to compare with them
    probes: dict[str, _Job | str] = {}
    for path in env.surface.exposed_paths:
        try:
            probes[path] = _Job(resolve_url(env, path), follow_redirects=False, max_body_bytes=1_000_000)
        except HardenError as exc:
            probes[path] = str(exc)
    return baselines, probes


def _exposed_findings(
    baselines: Sequence[FetchResult | str], probes: dict[str, tuple[str, FetchResult | str]], report: SurfaceAudit
) -> None:
    """``surface.exposed_path`` per path: a 200 that is not the catch-all answer is exposure.

    A probe whose body was not read to the end never passes: a 200 that looks like the
    catch-all answer so far may differ after the cut, and a "not found" that never ends is no
    ordinary answer either (``warn``, with how much was read).
    """
    fingerprints: set[str] = set()
    samples: list[bytes] = []  # heads of the catch-all answers, for near-identical pages (nonces, tokens)
    for result in baselines:
        if not isinstance(result, str) and result.status_code == 200:
            fingerprints.add(_fingerprint(result))
            samples.append(result.body[:_SAMPLE])
    for path, (url, result) in probes.items():
        if isinstance(result, str):
            report.exposed.append({"path": path, "status": None, "bytes": None, "content_type": "", "verdict": "error"})
            report.findings.append(finding("surface.exposed_path", Status.ERROR, path, clean_observed(result, 300)))
            continue
        ctype = safe_text(result.headers.get("content-type", ""), 80)
        size = len(result.body)
        # Never the body: it may be a real .env. Status, size and type are the evidence.
        shown = clean_observed(result.headers.get("content-type", ""), 80)
        observed = f"{result.status_code}, {size} bytes, {shown or 'no content type'}"
        partial = clean_observed(result.incomplete or "", 200)
        if result.status_code != 200:
            if partial:
                verdict, status = "not served, body not read to the end", Status.WARN
                observed += f"; but {partial}: an unusual answer, not fully checked"
            else:
                verdict, status = "not served", Status.PASS
        elif _fingerprint(result) in fingerprints or _near_identical(result.body[:_SAMPLE], samples):
            if partial:
                verdict, status = "looks like the catch-all, not fully compared", Status.WARN
                observed += f"; starts like the answer for a missing page, but {partial}: not fully compared"
            else:
                verdict, status = "catch-all (same as a missing page)", Status.PASS
                observed += "; identical to the answer for a missing page (SPA catch-all), not the file"
        else:
            verdict, status = "EXPOSED", Status.FAIL
            if partial:
                observed += f" ({partial})"
        report.exposed.append(
            {"path": path, "status": result.status_code, "bytes": size, "content_type": ctype, "verdict": verdict}
        )
        report.findings.append(finding("surface.exposed_path", status, url, observed))


def check_exposed(
    env: Environment, client: httpx.Client | None, report: SurfaceAudit, clock: _Clock | None = None
) -> None:
    """Each must-not-exist path, probed concurrently (``client`` is not used; kept for older callers)."""
    clock = clock or _Clock(env.surface.deadline_seconds)
    baselines, probes = _exposed_jobs(env)
    jobs = [j for j in probes.values() if isinstance(j, _Job)]
    outcomes = _fetch_all(env, [*baselines, *jobs], clock)
    base_results, probe_results = outcomes[: len(baselines)], iter(outcomes[len(baselines) :])
    resolved = {
        path: (job.url, next(probe_results)) if isinstance(job, _Job) else (path, job) for path, job in probes.items()
    }
    _exposed_findings(base_results, resolved, report)


def check_health(env: Environment, client: httpx.Client, report: SurfaceAudit, clock: _Clock | None = None) -> None:
    """Health endpoints one after another (their timing is the point), within the area's deadline."""
    from harden_lib.http import FetchError, fetch, resolve_url

    clock = clock or _Clock(env.surface.deadline_seconds)
    limit = env.surface.health_max_seconds
    for path in env.surface.health:
        left = clock.left()
        if left <= 0:
            report.findings.append(finding("surface.health", Status.ERROR, path, clock.reason()))
            continue
        try:
            url = resolve_url(env, path)
            started = time.monotonic()
            result = fetch(client, url, max_body_bytes=65_536, deadline=min(max(limit * 3, 5.0), left))
            seconds = time.monotonic() - started
        except (FetchError, HardenError) as exc:
            report.findings.append(finding("surface.health", Status.ERROR, path, clean_observed(str(exc), 300)))
            continue
        observed = f"{result.status_code} in {seconds:.3f} s"
        if not 200 <= result.status_code < 300:
            report.findings.append(finding("surface.health", Status.FAIL, url, observed))
        elif seconds > limit:
            report.findings.append(
                finding(
                    "surface.health",
                    Status.WARN,
                    url,
                    f"{observed} (slower than {limit} s)",
                    severity=Severity.LOW,
                    severity_reason=_SLOW_HEALTH,
                )
            )
        else:
            report.findings.append(finding("surface.health", Status.PASS, url, observed))


def _page_jobs(env: Environment) -> tuple[list[_Job | str], list[str]]:
    from harden_lib.http import resolve_url

    jobs: list[_Job | str] = []
    for path in env.surface.pages:
        try:
            url = resolve_url(env, path)
        except HardenError as exc:
            jobs.append(str(exc))
            continue
        jobs.append(_Job(url, max_body_bytes=env.http.max_body_bytes, headers=(("Accept", _ACCEPT_HTML),)))
    return jobs, list(env.surface.pages)


_ACCEPT_HTML = "text/html,*/*;q=0.8"


def _page_documents(
    paths: Sequence[str], jobs: Sequence[_Job | str], outcomes: Sequence[FetchResult | str]
) -> tuple[list[Document], FetchResult | None]:
    pages: list[Document] = []
    first: FetchResult | None = None
    results = iter(outcomes)
    for path, job in zip(paths, jobs, strict=True):
        outcome = next(results) if isinstance(job, _Job) else job
        if isinstance(outcome, str):
            pages.append(Document(path, "page", error=outcome))
            continue
        pages.append(_document("page", outcome.url, outcome))
        first = first or outcome
    return pages, first


def fetch_pages(
    env: Environment, client: httpx.Client | None = None, clock: _Clock | None = None
) -> tuple[list[Document], FetchResult | None]:
    """The configured pages as documents, and the first page's response (for the HSTS check).

    Pages are fetched concurrently within the area's deadline (``client`` is not used; it is
    kept for older callers).
    """
    clock = clock or _Clock(env.surface.deadline_seconds)
    jobs, paths = _page_jobs(env)
    outcomes = _fetch_all(env, [j for j in jobs if isinstance(j, _Job)], clock)
    return _page_documents(paths, jobs, outcomes)


def audit(env: Environment) -> SurfaceAudit:
    """Every surface check for ``env``; a check that could not run is ``error``, never ``pass``.

    Everything runs within ``surface.deadline_seconds``: routes, pages and exposed paths in one
    concurrent batch, then the pages' assets, then their source maps, then the health endpoints.
    """
    from harden_lib.http import FetchError, fetch, make_client

    report = SurfaceAudit()
    if not env.base:
        report.findings.append(
            finding("surface.route", Status.ERROR, "(no base_url)", "the environment has no base_url")
        )
        return report
    clock = _Clock(env.surface.deadline_seconds)
    route_jobs, route_errors = _route_jobs(env)
    route_order = sorted(route_jobs)
    page_jobs, page_paths = _page_jobs(env)
    page_batch = [j for j in page_jobs if isinstance(j, _Job)]
    baselines, probes = _exposed_jobs(env)
    probe_batch = [j for j in probes.values() if isinstance(j, _Job)]
    batch = [*(route_jobs[i] for i in route_order), *page_batch, *baselines, *probe_batch]
    outcomes = _fetch_all(env, batch, clock)
    cut = len(route_order)
    route_outcomes = dict(zip(route_order, outcomes[:cut], strict=True))
    page_outcomes = outcomes[cut : cut + len(page_batch)]
    cut += len(page_batch)
    base_outcomes = outcomes[cut : cut + len(baselines)]
    probe_outcomes = iter(outcomes[cut + len(baselines) :])
    exposed = {
        path: (job.url, next(probe_outcomes)) if isinstance(job, _Job) else (path, job) for path, job in probes.items()
    }

    _route_findings(env, route_jobs, route_outcomes, route_errors, report)
    pages, first = _page_documents(page_paths, page_jobs, page_outcomes)
    with make_client(env) as client:
        if first is None:
            left = clock.left()
            try:
                if left <= 0:
                    raise FetchError(clock.reason())
                first = fetch(client, env.base + "/", max_body_bytes=65_536, deadline=left)
            except FetchError as exc:
                report.findings.append(finding("surface.hsts", Status.ERROR, env.base, clean_observed(str(exc), 300)))
        report.findings.extend(redirect_and_hsts(env, client, first))
        scan_assets(env, pages, report, clock)
        if env.surface.check_source_maps:
            check_source_maps(env, client, report, clock)
        _exposed_findings(base_outcomes, exposed, report)
        check_health(env, client, report, clock)
    return report


def run(env: Environment) -> list[Finding]:
    """The area's entry point: every surface finding for ``env`` (notebooks call ``audit`` once)."""
    return audit(env).findings


def plot_hits(report: SurfaceAudit, limit: int = 25) -> Figure:
    """Hits per asset: forbidden hints (red) and required hints (green), scanned documents only."""
    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    docs = [d for d in report.documents if d.error is None][:limit]
    labels = [safe_text(urlsplit(d.url).path or "/", 50) for d in docs][::-1]
    if not labels:
        return empty_chart("nothing scanned", 7.5, 1.7)
    bad = [sum(1 for h in report.hits if h.document == d.url and h.kind == "forbidden") for d in docs][::-1]
    good = [sum(1 for h in report.hits if h.document == d.url and h.kind == "required") for d in docs][::-1]
    fig = figure(7.5, 1.3 + 0.4 * len(labels))
    ax = fig.subplots()
    ys = range(len(labels))
    bars = ax.barh([y + 0.2 for y in ys], bad, height=0.4, color=STATUS_COLOURS[Status.FAIL], label="forbidden")
    ax.bar_label(bars, labels=[str(v) if v else "" for v in bad], padding=2)
    bars = ax.barh([y - 0.2 for y in ys], good, height=0.4, color=STATUS_COLOURS[Status.PASS], label="required")
    ax.bar_label(bars, labels=[str(v) if v else "" for v in good], padding=2)
    ax.set_yticks(list(ys), labels)
    ax.set_xlabel("hits")
    ax.set_title("Hint hits per page / asset")
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


AREA = AreaSpec(
    name="surface",
    title="Exposed surface",
    purpose="Required routes, HTTPS redirect, development URLs leaking in assets, exposed files, health.",
    params=SurfaceParams,
    order=40,
)
