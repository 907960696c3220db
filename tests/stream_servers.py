"""Misbehaving local HTTP(S) servers for tests: bodies that never end, trickle, or stall.

``tests.servers.serve`` answers with a whole body and its length. The cases here need a
handler that writes the answer itself, while the client reads: an endless chunked body, one
byte every so often, a long wait before the headers. ``serve_raw(routes)`` runs a threaded
server on 127.0.0.1 where each route is a function of the request handler that writes the
whole answer (status line, headers, body) itself; ``tests.servers.Reply`` values work too.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harden_lib.demo.certs import CertBundle, generate_chain
from tests.servers import Reply, Served

Writer = Callable[[BaseHTTPRequestHandler], None]


def reply(status: int, headers: list[tuple[str, str]], body: bytes | str, delay: float = 0.0) -> Writer:
    """A whole answer with Content-Length, sent after ``delay`` seconds."""
    data = body.encode() if isinstance(body, str) else body

    def write(handler: BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    return write


def endless(headers: list[tuple[str, str]], chunk: bytes, interval: float = 0.0, status: int = 200) -> Writer:
    """A chunked body that never ends: ``chunk`` again and again (every ``interval`` s) until the client leaves."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        if handler.command == "HEAD":
            return
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        started = time.monotonic()
        try:
            while time.monotonic() - started < 120:  # a safety net: no test waits this long
                handler.wfile.write(frame)
                handler.wfile.flush()
                if interval:
                    time.sleep(interval)
        except OSError:  # the client stopped reading and closed: expected
            pass
        handler.close_connection = True

    return write


@contextlib.contextmanager
def serve_raw(
    routes: dict[str, Writer | Reply], *, tls: bool = True, certs: CertBundle | None = None
) -> Iterator[Served]:
    """Run a server whose routes write their own answers, for the duration of the ``with`` block."""
    seen: list = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            seen.append((self.command, self.path, dict(self.headers.items())))
            route = routes.get(self.path.split("?", 1)[0]) or routes.get("*")
            if route is None:
                route = Reply(404, [("Content-Type", "text/plain")], "not found")
            if isinstance(route, Reply):
                route = reply(route.status, route.headers, route.body)
            route(self)

        do_GET = do_HEAD = do_POST = do_OPTIONS = do_PUT = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    bundle = None
    if tls:
        bundle = certs or generate_chain()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(bundle.cert_path, bundle.key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        port = server.server_address[1]
        yield Served(f"{scheme}://127.0.0.1:{port}", bundle.ca_path if bundle else None, bundle, seen)
    finally:
        server.shutdown()
        server.server_close()
