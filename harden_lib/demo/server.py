"""The embedded demo target: "Acme Live", a small live-shopping web app on 127.0.0.1.

``harden run --env demo`` and notebooks opened in JupyterLab audit it, so the kit can be
shown and tested end to end without a real deployment. Its security posture is mixed on
purpose — good HSTS and CSP basics next to realistic mistakes (a session cookie without
flags, ``Server``/``X-Powered-By`` banners, no Permissions-Policy, ``Access-Control-Allow-
Origin: *`` on the API, a JS bundle that leaks local development URLs and ships its source
map, a login rate limit but a looser one on password reset and none on the API, a WebSocket
endpoint that accepts any Origin next to one that checks it) — so every area has something to
find and the demo verdict is NO-GO.

It runs in-process on background threads with the standard library only:

* an HTTPS listener with a certificate chain generated at start (``generate_chain``), the
  TLS handshake done in the connection's own thread so a client that never speaks TLS cannot
  stall ``accept()`` for everyone else;
* a plain-HTTP listener that answers 301 to the same path on HTTPS, for redirect checks.

Both bind 127.0.0.1 only, on free ports. Every answer is built from a fixed route table held
in memory (no file-system lookups driven by the request path), with an exact Content-Length.

``python -m harden_lib.demo.server`` runs it in the foreground for auditors.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from harden_lib.demo.certs import CertBundle, generate_chain

HOST = "127.0.0.1"
#: Set to ``1`` to log requests and connection errors to stderr (quiet by default: notebook
#: outputs would fill with access logs).
LOG_VAR = "HARDEN_DEMO_LOG"

SERVER_BANNER = "nginx/1.18.0 (Ubuntu)"
#: Seconds a connection may stay silent (TLS handshake, request line, keep-alive idle).
CONNECTION_TIMEOUT = 10.0
#: Connections served at once per listener; more are closed at once (bounded threads).
MAX_CONNECTIONS = 64
#: Largest request body read (POST /login); larger bodies get 413.
MAX_BODY = 16 * 1024
#: The demo certificate expires this many days after the target starts: inside the tls area's
#: 30-day warning window on purpose, like a certificate whose renewal job silently stopped.
CERT_VALID_DAYS = 20

#: On every HTTPS answer, as a server-wide nginx ``add_header`` would put them.
SITE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Strict-Transport-Security", "max-age=86400"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Powered-By", "Express"),
)
#: On HTML answers only (the app sets them per page). No Permissions-Policy and no
#: Cross-Origin-Resource-Policy: those are findings the demo is meant to produce.
HTML_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-cache"),
)
#: On /api/* answers. ``*`` is the CORS mistake a later area reports.
API_HEADERS: tuple[tuple[str, str], ...] = (
    ("Access-Control-Allow-Origin", "*"),
    ("Cache-Control", "no-store"),
)
STATIC_CACHE = ("Cache-Control", "public, max-age=31536000, immutable")
#: The app's own front-end origin. /api/v1/account echoes only it (with credentials) but forgets
#: ``Vary: Origin``; /ws/chat accepts WebSocket handshakes only from it, /ws/live from anyone.
APP_ORIGINS = frozenset({"https://app.acme-live.example"})
WS_PATHS = frozenset({"/ws/live", "/ws/chat"})
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: POST path -> (requests, window seconds) per client address. Login is limited as the
#: checklists ask (5 per 15 min); password reset allows 5 per hour where the policy says 3, and
#: the API has no limit at all: what the ratelimit area is meant to find.
RATE_LIMITS: dict[str, tuple[int, float]] = {"/login": (5, 900.0), "/api/v1/password-reset": (5, 3600.0)}

HTML = "text/html; charset=utf-8"
JSON = "application/json"
JS = "text/javascript; charset=utf-8"

#: path -> (page template, title); every page also sets the cookies when it is / or /login.
PAGES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "Acme Live — watch and shop live"),
    "/login": ("login.html", "Sign in · Acme Live"),
    "/browse": ("browse.html", "Browse live shows · Acme Live"),
    "/broadcast": ("broadcast.html", "Go live · Acme Live"),
}
COOKIE_PAGES = frozenset({"/", "/login"})
#: path -> (file under site/, content type)
ASSETS: dict[str, tuple[str, str]] = {
    "/static/app.js": ("static/app.js", JS),
    "/static/app.js.map": ("static/app.js.map", "application/json; charset=utf-8"),
    "/static/vendor.js": ("static/vendor.js", JS),
    "/static/app.css": ("static/app.css", "text/css; charset=utf-8"),
    "/manifest.json": ("manifest.json", "application/manifest+json; charset=utf-8"),
}
STREAMS: list[dict[str, Any]] = [
    {"id": 1042, "title": "Spring sneaker drop", "host": "kickslab", "live": True, "viewers": 1204, "products": 12},
    {
        "id": 1043,
        "title": "Cast-iron cooking: one-pan dinners",
        "host": "panhandle",
        "live": True,
        "viewers": 388,
        "products": 5,
    },
    {
        "id": 1047,
        "title": "Vintage cameras: unboxing and Q&A",
        "host": "f8andbethere",
        "live": True,
        "viewers": 96,
        "products": 7,
    },
    {
        "id": 1051,
        "title": "Houseplants for dark flats",
        "host": "greenroom",
        "live": False,
        "viewers": 0,
        "products": 9,
        "starts_at": "18:00",
    },
]


class RateLimiter:
    """A sliding-window limiter per client address (like express-rate-limit), bounded in memory."""

    MAX_CLIENTS = 1024

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def hit(self, client: str) -> int | None:
        """Record a request; None when allowed, else the seconds until the oldest hit expires."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.pop(client, None) or deque()
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            self._hits[client] = hits
            while len(self._hits) > self.MAX_CLIENTS:
                self._hits.popitem(last=False)
            if len(hits) >= self.limit:
                return max(1, int(self.window - (now - hits[0])) + 1)
            hits.append(now)
            return None


def _site_bytes(relative: str) -> bytes:
    """A file of the packaged site (importlib.resources, so it works from a wheel too)."""
    return resources.files(__package__).joinpath("site", *relative.split("/")).read_bytes()


def _render(template: str, **values: str) -> bytes:
    """``{{name}}`` substitution: enough for fixed pages, and nothing request-controlled goes in."""
    text = _site_bytes(f"templates/{template}").decode("utf-8")
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode("utf-8")


@dataclass
class Answer:
    """One response: status, headers in order (a name may repeat) and the full body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class Site:
    """The Acme Live app: a fixed route table built once, answering (method, path) pairs."""

    def __init__(self, session: str, csrftoken: str) -> None:
        self.cookies = (
            f"session={session}; Path=/",
            f"csrftoken={csrftoken}; Path=/; Secure; SameSite=Strict",
        )
        self.pages = {
            path: _render("layout.html", title=title, page=template.removesuffix(".html"), content=_content(template))
            for path, (template, title) in PAGES.items()
        }
        self.assets = {path: (_site_bytes(file), ctype) for path, (file, ctype) in ASSETS.items()}
        self.api: dict[str, Any] = {
            "/api/health": {"status": "ok"},
            "/api/v1/streams": STREAMS,
            "/api/v1/account": {"signed_in": False},
        }
        self.limiters = {path: RateLimiter(*rule) for path, rule in RATE_LIMITS.items()}
        self.not_found = _site_bytes("templates/404.html")

    def allowed(self, path: str) -> tuple[str, ...] | None:
        """Methods a known path accepts, or None for an unknown path."""
        if path == "/login":
            return ("GET", "HEAD", "POST", "OPTIONS")
        if path == "/api/v1/password-reset":
            return ("POST", "OPTIONS")
        if path in WS_PATHS:
            return ("GET",)
        if path in self.pages or path in self.assets or path in self.api:
            return ("GET", "HEAD", "OPTIONS")
        return None

    def answer(self, method: str, target: str, origin: str | None = None, client: str = "") -> Answer:
        """The answer to ``method target``; ``origin`` is the request's Origin, ``client`` its address."""
        path = _route_path(target)
        allowed = self.allowed(path)
        if allowed is None:
            return self._html(404, self.not_found)
        if method not in allowed:
            answer = self._status_page(405, "Method Not Allowed", "This address does not accept that method.")
            answer.headers.append(("Allow", ", ".join(allowed)))
            return answer
        if method == "OPTIONS":
            # 204 carries neither body nor Content-Length (RFC 9110 §8.6).
            headers = [*SITE_HEADERS, ("Allow", ", ".join(allowed))]
            if path.startswith("/api/"):
                headers += [*self._cors(path, origin), ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")]
                headers.append(("Access-Control-Max-Age", "600"))
            return Answer(204, headers)
        if path in WS_PATHS:  # a WebSocket route asked without an Upgrade
            return self._status_page(426, "Upgrade Required", "This address speaks WebSocket only.")
        if method == "POST" and path in self.limiters:
            retry = self.limiters[path].hit(client)
            if retry is not None:
                return self._too_many(path, retry)
        if method == "POST" and path == "/api/v1/password-reset":
            body = json.dumps({"status": "if the account exists, an email is on its way"}).encode("utf-8")
            return Answer(202, [("Content-Type", JSON), *SITE_HEADERS, *API_HEADERS], body)
        if method == "POST":  # /login: accept any credentials, start a "session"
            answer = self._status_page(303, "See Other", "Signed in. Continue to Acme Live.")
            answer.headers += [("Location", "/"), *(("Set-Cookie", c) for c in self.cookies)]
            return answer
        if path in self.pages:
            answer = self._html(200, self.pages[path])
            if path in COOKIE_PAGES:
                answer.headers += [("Set-Cookie", c) for c in self.cookies]
            return answer
        if path in self.assets:
            body, ctype = self.assets[path]
            return Answer(200, [("Content-Type", ctype), *SITE_HEADERS, STATIC_CACHE], body)
        body = json.dumps(self.api[path], ensure_ascii=False).encode("utf-8")
        return Answer(200, [("Content-Type", JSON), *SITE_HEADERS, *self._cors(path, origin)], body)

    def _cors(self, path: str, origin: str | None) -> list[tuple[str, str]]:
        """``*`` on the public API; /api/v1/account echoes only the app's origin (and forgets Vary)."""
        if path != "/api/v1/account":
            return list(API_HEADERS)
        headers = [("Cache-Control", "no-store")]
        if origin in APP_ORIGINS:
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        return headers

    def _too_many(self, path: str, retry: int) -> Answer:
        """429. Login says when to retry (Retry-After, RateLimit-*); password reset says nothing."""
        if path == "/login":
            limit, window = RATE_LIMITS[path]
            answer = self._status_page(429, "Too Many Requests", "Too many sign-in attempts. Try again later.")
            answer.headers += [
                ("Retry-After", str(retry)),
                ("RateLimit-Policy", f"{limit};w={int(window)}"),
                ("RateLimit", f"limit={limit}, remaining=0, reset={retry}"),
            ]
            return answer
        body = json.dumps({"error": "too many requests"}).encode("utf-8")
        return Answer(429, [("Content-Type", JSON), *SITE_HEADERS, *API_HEADERS], body)

    def _html(self, status: int, body: bytes) -> Answer:
        return Answer(status, [("Content-Type", HTML), *SITE_HEADERS, *HTML_HEADERS], body)

    def _status_page(self, status: int, title: str, message: str) -> Answer:
        return self._html(status, _render("status.html", title=f"{status} {title}", message=message))


def _content(template: str) -> str:
    return _site_bytes(f"templates/{template}").decode("utf-8").rstrip("\n")


def _route_path(target: str) -> str:
    """The path a route is looked up by: no query or fragment, no trailing slash (Express)."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


def _log_enabled() -> bool:
    return os.environ.get(LOG_VAR, "") == "1"


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    """Shared request plumbing: banner, quiet logging, timeouts, exact Content-Length."""

    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT
    error_content_type = HTML
    server: _Server

    def version_string(self) -> str:
        return SERVER_BANNER

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log:
            sys.stderr.write(f"[harden demo {self.server.label}] {self.address_string()} {format % args}\n")

    def send_answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.status != 204:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD" and answer.body:
            self.wfile.write(answer.body)

    def discard_body(self) -> bool:
        """Read a request body so keep-alive stays in sync; False when it was refused."""
        if self.headers.get("Transfer-Encoding"):
            self.send_error(411, "Length Required")  # no chunked bodies: nothing here needs them
            return False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return False
        if length < 0 or length > MAX_BODY:
            self.send_error(413, "Request body too large")
            return False
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 8192))
            if not chunk:
                return False
            remaining -= len(chunk)
        return True


class _SiteHandler(_Handler):
    def _serve(self) -> None:
        if self.command not in ("GET", "HEAD", "OPTIONS") and not self.discard_body():
            self.close_connection = True
            return
        if (
            self.command == "GET"
            and _route_path(self.path) in WS_PATHS
            and self.headers.get("Upgrade", "").lower() == "websocket"
        ):
            self.websocket(_route_path(self.path))
            return
        origin = self.headers.get("Origin")
        self.send_answer(self.server.site.answer(self.command, self.path, origin, self.client_address[0]))

    def websocket(self, path: str) -> None:
        """RFC 6455 handshake, then a polite close: enough for an Origin-policy probe.

        /ws/chat refuses an Origin that is not the app's (403); /ws/live accepts any Origin,
        the cross-site WebSocket hijacking mistake the cors area reports.
        """
        self.close_connection = True
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Sec-WebSocket-Version") != "13" or len(key) > 64 or not key:
            self.send_answer(self.server.site._status_page(400, "Bad Request", "Not a WebSocket handshake."))
            return
        if path == "/ws/chat" and self.headers.get("Origin") not in APP_ORIGINS:
            self.send_answer(self.server.site._status_page(403, "Forbidden", "Origin not allowed."))
            return
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode("ascii", "replace")).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(b"\x88\x02\x03\xe8")  # close frame, code 1000 (normal closure)
            self.wfile.flush()
            self.connection.settimeout(2.0)
            self.rfile.read1(64)  # the client's close frame (one read, no waiting for more); then hang up

    do_GET = do_HEAD = do_POST = do_OPTIONS = do_PUT = do_PATCH = do_DELETE = _serve


class _RedirectHandler(_Handler):
    def _serve(self) -> None:
        # Only the path goes into Location, and always after our own origin: never an open redirect.
        path = self.path if self.path.startswith("/") else "/"
        location = self.server.redirect_base + path
        body = _render("status.html", title="301 Moved Permanently", message="This site is served over HTTPS.")
        self.send_answer(Answer(301, [("Content-Type", HTML), ("Location", location)], body))
        if self.command not in ("GET", "HEAD"):
            self.close_connection = True  # a body may follow that we did not read

    do_GET = do_HEAD = do_POST = do_OPTIONS = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    """A 127.0.0.1-only threaded server that tracks its connections so ``stop()`` can end them.

    With ``tls`` set, accepted sockets are wrapped without handshaking; the handshake runs in
    ``finish_request``, i.e. in the connection's thread, under the connection timeout.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        handler: type[_Handler],
        label: str,
        *,
        tls: ssl.SSLContext | None = None,
        site: Site | None = None,
        log: bool = False,
    ) -> None:
        self.label = label
        self.tls = tls
        self.site = site
        self.log = log
        self.redirect_base = ""
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, 0), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can hang offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    @property
    def port(self) -> int:
        return self.server_address[1]

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(CONNECTION_TIMEOUT)
        # Headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms each.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except OSError:
                sock.close()
                raise
        return sock, address

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.connections_lock:
            if len(self.connections) >= MAX_CONNECTIONS:
                return False
            self.connections.add(request)
        return True

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except OSError as exc:  # ssl.SSLError and TimeoutError are OSErrors
                if self.log:
                    sys.stderr.write(f"[harden demo {self.label}] TLS handshake failed: {exc}\n")
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal; say so only when asked to log.
        if self.log:
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End open keep-alive and idle connections so their threads finish promptly."""
        with self.connections_lock:
            open_now = list(self.connections)
        for sock in open_now:
            with contextlib.suppress(OSError):
                # socket.socket.shutdown, not SSLSocket.shutdown: only unblock the reader.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _server_context(certs: CertBundle) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 with OpenSSL's default suites, which include two CBC-mode suites at TLS 1.2:
    a realistic leftover the tls area warns about (and Mozilla's intermediate profile rejects)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certs.cert_path, certs.key_path)
    context.set_alpn_protocols(["http/1.1"])
    return context


# --------------------------------------------------------------------------- the target


class DemoTarget:
    """The demo web app on two 127.0.0.1 listeners, run on daemon threads.

    ``folder`` keeps the generated CA, certificate and key; by default a temporary folder
    that ``stop()`` removes. ``start()`` is idempotent; a stopped target can be started again
    (on new ports). The session and CSRF cookie values are random per target and exposed by
    ``secret_values()`` so tests can prove no report ever shows them.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = Path(folder) if folder is not None else None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._certs: CertBundle | None = None
        self._https: _Server | None = None
        self._http: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._session = secrets.token_urlsafe(32)
        self._csrftoken = secrets.token_hex(16)

    # -- lifecycle

    def start(self) -> DemoTarget:
        """Generate the certificates (once) and start both listeners; no-op when running."""
        with self._lock:
            if self._https is not None:
                return self
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
            return self

    def _start(self) -> None:
        if self._certs is None:
            if self._folder is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="harden-demo-")
                folder = Path(self._tempdir.name)
            else:
                folder = self._folder
            self._certs = generate_chain(folder, not_after=datetime.now(UTC) + timedelta(days=CERT_VALID_DAYS))
        log = _log_enabled()
        site = Site(self._session, self._csrftoken)
        self._https = _Server(_SiteHandler, "https", tls=_server_context(self._certs), site=site, log=log)
        self._http = _Server(_RedirectHandler, "http", log=log)
        self._http.redirect_base = f"https://{HOST}:{self._https.port}"
        for server in (self._https, self._http):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"harden-demo-{server.label}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both listeners, end open connections, free the ports, remove a temp folder."""
        with self._lock:
            servers = [s for s in (self._https, self._http) if s is not None]
            for server, thread in zip(servers, self._threads, strict=False):
                if thread.is_alive():
                    server.shutdown()
            for server in servers:
                server.server_close()
                server.close_connections()
            for thread in self._threads:
                thread.join(timeout=5)
            self._https = self._http = None
            self._threads = []
            if self._tempdir is not None:
                self._tempdir.cleanup()
                self._tempdir = None
                self._certs = None

    @property
    def running(self) -> bool:
        return self._https is not None

    def __enter__(self) -> DemoTarget:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what callers need

    def _require(self) -> tuple[_Server, _Server, CertBundle]:
        if self._https is None or self._http is None or self._certs is None:
            raise RuntimeError("the demo target is not running: call start() first")
        return self._https, self._http, self._certs

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT`` of the app (no trailing slash)."""
        return f"https://{HOST}:{self._require()[0].port}"

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the plain listener that redirects to ``base_url``."""
        return f"http://{HOST}:{self._require()[1].port}"

    @property
    def ws_url(self) -> str:
        """``wss://127.0.0.1:PORT/ws/live``: the WebSocket endpoint that accepts any Origin."""
        return f"wss://{HOST}:{self._require()[0].port}/ws/live"

    @property
    def ca_path(self) -> Path:
        """PEM of the CA that signed the app's certificate (trust it, do not disable checks)."""
        return self._require()[2].ca_path

    @property
    def certs(self) -> CertBundle:
        return self._require()[2]

    def secret_values(self) -> dict[str, str]:
        """Cookie name -> the random value this target hands out; must never reach a report."""
        return {"session": self._session, "csrftoken": self._csrftoken}

    def reset_rate_limits(self) -> None:
        """Forget every client's rate-limit hits, as a restarted app would.

        The limits are per client address and last up to an hour, so a second audit from the
        same process would otherwise find them half used: tests and benchmarks that compare
        two runs against one demo call this between the runs.
        """
        with self._lock:
            site = getattr(self._https, "site", None)
            for limiter in getattr(site, "limiters", {}).values():
                limiter.reset()

    def __repr__(self) -> str:
        where = f"{self.base_url}, {self.http_url}" if self.running else "stopped"
        return f"<DemoTarget {where}>"


_singleton: DemoTarget | None = None
_singleton_lock = threading.Lock()


def running_demo() -> DemoTarget:
    """The process-wide demo target, started on first use and stopped when the process exits.

    Notebooks in one kernel and the runner share it, so one process never runs two demos.
    """
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = DemoTarget()
            atexit.register(_singleton.stop)
        return _singleton.start()


# --------------------------------------------------------------------------- foreground


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The foreground server's options, shared by ``python -m harden_lib.demo.server`` and
    ``harden demo-server`` (one definition, so the two entry points cannot drift apart)."""
    parser.add_argument("--certs", type=Path, help="folder for the generated CA/cert/key (default: a temp folder)")
    parser.add_argument("--log", action="store_true", help=f"log requests to stderr (same as {LOG_VAR}=1)")


def main(argv: list[str] | None = None) -> int:
    """``python -m harden_lib.demo.server``: parse the options, then :func:`serve`."""
    parser = argparse.ArgumentParser(
        prog="python -m harden_lib.demo.server",
        description="Run the harden demo target (Acme Live) on 127.0.0.1 until Ctrl-C.",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Run the demo in the foreground until Ctrl-C or SIGTERM (for auditors poking at it).

    Takes parsed options rather than an argv: ``harden demo-server`` parses its own command
    line (reading ``sys.argv`` here made it refuse its own sub-command name).
    """
    if args.log:
        os.environ[LOG_VAR] = "1"

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    target = DemoTarget(args.certs)
    try:
        target.start()
        print("harden demo target (Acme Live) is running on 127.0.0.1:")
        print(f"  HTTPS  {target.base_url}/")
        print(f"  HTTP   {target.http_url}/   (answers 301 to HTTPS)")
        print(f"  WSS    {target.ws_url}   (accepts any Origin; /ws/chat checks it)")
        print(f"  CA     {target.ca_path}")
        print(f"Try:    curl --cacert {target.ca_path} -i {target.base_url}/")
        print("Press Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    finally:
        target.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
