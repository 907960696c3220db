"""Benchmark: the surface area's asset leak scan, concurrent vs one by one, on a page with 200 assets.

A local HTTPS server (127.0.0.1, certificate generated at start) serves one page referencing
200 scripts. Each asset answers after ``--latency`` seconds (default 20 ms), standing in for a
real network round trip: on loopback with no latency every request takes well under a
millisecond and there is nothing to overlap. The same ``surface.scan_assets`` runs with
``connections=1`` (one by one) and with ``--connections`` (default 8).

Run: ``python benchmarks/bench_assets.py [--repeat N] [--latency S] [--connections N]``. Prints
both wall times and the ratio and writes them to ``benchmarks/results/bench_assets.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harden_lib.checks import surface  # noqa: E402
from harden_lib.demo.certs import generate_chain  # noqa: E402
from harden_lib.environment import Environment  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_assets.json"
ASSETS = 200


def start_server(folder: Path, latency: float) -> tuple[ThreadingHTTPServer, str, Path]:
    page = "<html><head>" + "".join(f'<script src="/a/{i}.js"></script>' for i in range(ASSETS)) + "</head></html>"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/":
                body, ctype = page.encode(), "text/html; charset=utf-8"
            else:
                time.sleep(latency)
                body, ctype = b"var api='/api/v1';" * 50, "text/javascript"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    certs = generate_chain(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert_path, certs.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}", certs.ca_path


def scan(base: str, ca: Path, connections: int) -> float:
    env = Environment.model_validate(
        {
            "environment": "bench",
            "base_url": base,
            "http": {"ca_bundle": str(ca)},
            "surface": {"max_assets": ASSETS, "connections": connections, "check_redirect": False},
        }
    )
    from harden_lib.http import make_client

    report = surface.SurfaceAudit()
    with make_client(env) as client:
        pages, _ = surface.fetch_pages(env, client)
    started = time.perf_counter()
    surface.scan_assets(env, pages, report)
    elapsed = time.perf_counter() - started
    fetched = sum(1 for d in report.documents if d.kind == "script" and d.error is None)
    assert fetched == ASSETS, f"only {fetched} of {ASSETS} assets fetched"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each asset takes to answer")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server, base, ca = start_server(Path(folder), args.latency)
        try:
            sequential = [scan(base, ca, 1) for _ in range(args.repeat)]
            concurrent = [scan(base, ca, args.connections) for _ in range(args.repeat)]
        finally:
            server.shutdown()
    seq, con = statistics.median(sequential), statistics.median(concurrent)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "assets": ASSETS,
        "latency_s": args.latency,
        "connections": args.connections,
        "one_by_one_s": round(seq, 3),
        "concurrent_s": round(con, 3),
        "ratio": round(seq / con, 2),
        "repeat": args.repeat,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{ASSETS} assets, {args.latency * 1000:.0f} ms each, median of {args.repeat}:")
    print(f"  one by one (1 connection):        {seq:.2f} s")
    print(f"  concurrent ({args.connections} connections):        {con:.2f} s")
    print(f"  ratio: {seq / con:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
