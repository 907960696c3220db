"""Real local HTTP(S) servers for tests, with certificates generated at test time.

``serve(routes)`` starts a threaded server on 127.0.0.1 on a free port and yields its base
URL. A route answers with the given status, headers (a list, so a header may repeat, e.g.
Set-Cookie) and body; a callable route gets the request handler and returns a ``Reply``.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harden_lib.demo.certs import CertBundle, generate_chain


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | str = b""


Route = Reply | Callable[[BaseHTTPRequestHandler], Reply]


@dataclass
class Served:
    base_url: str
    ca_path: Path | None
    certs: CertBundle | None
    requests: list[tuple[str, str, dict[str, str]]]  # (method, path, headers) seen


def _handler(routes: dict[str, Route], seen: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: avoid a 40 ms delayed-ACK stall

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _answer(self) -> None:
            seen.append((self.command, self.path, dict(self.headers.items())))
            path = self.path.split("?", 1)[0]
            route = routes.get(path) or routes.get("*") or Reply(404, [("Content-Type", "text/plain")], "not found")
            reply = route(self) if callable(route) else route
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_OPTIONS = do_PUT = do_DELETE = _answer

    return Handler


@contextlib.contextmanager
def serve(
    routes: dict[str, Route],
    *,
    tls: bool = True,
    certs: CertBundle | None = None,
    context: ssl.SSLContext | None = None,
) -> Iterator[Served]:
    """Run a server for the duration of the ``with`` block."""
    seen: list = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes, seen))
    server.daemon_threads = True
    # TLS scanners end many handshakes abruptly; that is expected, not worth a traceback.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    bundle = None
    if tls:
        bundle = certs or generate_chain()
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(bundle.cert_path, bundle.key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield Served(f"{scheme}://127.0.0.1:{port}", bundle.ca_path if bundle else None, bundle, seen)
    finally:
        server.shutdown()
        server.server_close()


def read_demo_banner(process: subprocess.Popen[str], seconds: float) -> str:
    """The demo server's start-up lines up to "Press Ctrl-C" (or its exit, or ``seconds``)."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    return "".join(lines)
