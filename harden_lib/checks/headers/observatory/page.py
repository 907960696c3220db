"""What the Observatory's tests read: the page's HTML, its headers as Node presents them, the probes.

The retriever (``src/retriever/``) gives each test the page's response, its parsed HTML
(meta policies and script tags), the answer to one CORS preflight and the redirect chain of
the plain-HTTP address; these are those inputs, gathered by ``harden_lib.checks.headers.fetch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from harden_lib.checks.headers.observatory.tables import HTML_TYPES, OBSERVATORY_CORS_ORIGIN


@dataclass(frozen=True)
class RedirectProbe:
    """What following the plain-HTTP address hop by hop showed.

    ``hops`` lists every response in order as ``(status, url)``, the first being the
    plain-HTTP URL itself. ``error_kind`` is ``connect`` (nothing listens), ``tls``
    (a certificate failed verification on the way), ``TOO_MANY`` (still redirecting after
    ``MAX_REDIRECTS``: the route seen is judged, as upstream), ``other``, or ``SKIPPED`` (no
    request was made; ``error`` says why); ``error_at`` is the URL whose request failed.
    """

    start: str
    hops: tuple[tuple[int, str], ...] = ()
    error: str | None = None
    error_kind: str | None = None
    error_at: str | None = None
    #: ``Location`` of each redirect hop, as sent (capped), for evidence.
    locations: tuple[str, ...] = ()

    @property
    def route(self) -> list[str]:
        return [url for _, url in self.hops]


@dataclass
class PageScan:
    """What the Observatory reads from a page's HTML: meta policies and script tags."""

    meta_csp: list[str] = field(default_factory=list)
    meta_referrer: list[str] = field(default_factory=list)
    #: ``(src, integrity, crossorigin)`` of every ``<script>`` (src None when inline).
    scripts: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    script_count: int = 0
    error: str | None = None


#: Most script tags and meta elements recorded (the count keeps going).
_MAX_TAGS = 2000
#: Most characters of HTML parsed (the body is already capped by the HTTP client).
MAX_HTML_CHARS = 1_000_000


class _PageParser(HTMLParser):
    def __init__(self, scan: PageScan) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = scan

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scan.script_count += 1
            if len(self.scan.scripts) < _MAX_TAGS:
                values = dict(attrs)
                src = (values.get("src") or "").strip() or None
                self.scan.scripts.append((src, values.get("integrity"), values.get("crossorigin")))
        elif tag == "meta" and len(self.scan.meta_csp) + len(self.scan.meta_referrer) < _MAX_TAGS:
            values = dict(attrs)
            content = values.get("content")
            # Mirrors parseHttpEquivHeaders (src/retriever/utils.js): an http-equiv meta is
            # only read for CSP; name=referrer is treated like a header; content required.
            if "http-equiv" in values and content is not None:
                if (values.get("http-equiv") or "").strip().lower() == "content-security-policy":
                    self.scan.meta_csp.append(content)
            elif (values.get("name") or "").strip().lower() == "referrer" and content is not None:
                self.scan.meta_referrer = [content]  # Map.set: the last one wins


def scan_html(text: str) -> PageScan:
    """Meta policies and script tags of an HTML page (bounded; never raises)."""
    scan = PageScan()
    parser = _PageParser(scan)
    try:
        parser.feed(text[:MAX_HTML_CHARS])
        parser.close()
    except Exception as exc:  # html.parser is forgiving; anything else is "not parseable"
        scan.error = f"{type(exc).__name__}: {str(exc)[:200]}"
    return scan


def is_html(headers: Any) -> bool:
    """Whether the Observatory treats the response as HTML (reads its meta tags and scripts).

    Quirk kept (retriever.js, subresource-integrity.js): the media type is the first
    Content-Type up to ``;``, exactly as sent — not lower-cased, not trimmed — so
    ``Text/HTML`` or ``text/html ;charset=utf-8`` is not HTML, and neither is a response
    without a Content-Type (browsers would sniff it; the Observatory does not).
    """
    return content_type(headers) in HTML_TYPES


def content_type(headers: Any) -> str:
    # Node keeps only the first Content-Type (it drops duplicates) and trims surrounding
    # whitespace of the value; the Observatory splits off parameters and nothing more.
    values = headers.get_list("content-type") if hasattr(headers, "get_list") else [headers.get("content-type", "")]
    return (values[0] if values else "").strip().split(";")[0]


def first_header(headers: Any, name: str) -> str | None:
    """``getFirstHttpHeader`` over a Node response: repeated headers arrive joined with ", "."""
    return joined(headers, name) if headers is not None else None


def joined(headers: Any, name: str) -> str | None:
    """A header as Node/axios presents it: repeated headers joined with ", "."""
    values = headers.get_list(name) if hasattr(headers, "get_list") else plain_list(headers, name)
    return ", ".join(values) if values else None


def plain_list(headers: Mapping[str, str], name: str) -> list[str]:
    return [v for k, v in headers.items() if k.lower() == name.lower()]


def set_cookies(headers: Any) -> list[str]:
    return headers.get_list("set-cookie") if hasattr(headers, "get_list") else plain_list(headers, "set-cookie")


@dataclass(frozen=True)
class CorsProbe:
    """The Observatory's CORS preflight and what came back.

    ``OPTIONS`` to the page's final URL with ``Origin: origin`` and
    ``Access-Control-Request-Method: GET``; ``status``/``headers`` of the answer (after
    redirects), or ``error`` when no answer came.
    """

    origin: str = OBSERVATORY_CORS_ORIGIN
    status: int | None = None
    headers: Any = None
    error: str | None = None
