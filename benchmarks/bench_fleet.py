"""Benchmark: a fleet of single-host environments audited in one ``harden run``.

Starts N small HTTPS sites on 127.0.0.1 (one CA, each site with its own plain-HTTP listener
that redirects to it, headers varying from site to site), writes one params file per site
(areas: headers, tls, surface) and audits them all with:

* the local pool of warm kernels (``harden run --all``, 2 workers): the target is <= 60 s for 40;
* a Dask ``LocalCluster`` with 2 workers, then with 1 (the scaling curve on this machine);
* optionally (``--fresh``) the local pool starting one kernel per notebook (``--fresh-kernels``),
  which is what every notebook cost before warm kernels.

All modes run one after another in this one process, so their ratios are measured under the
same machine load. From the measured per-notebook busy time and the driver's own time it
also writes a simple model of what N machines give. Results: ``benchmarks/results/bench_fleet.json``.

Run: ``python benchmarks/bench_fleet.py [--sites 40] [--fresh]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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
RESULTS = ROOT / "benchmarks" / "results" / "bench_fleet.json"
AREAS = ["headers", "tls", "surface"]


PAGE = (
    b"<!doctype html><html><head><title>site</title><link rel=stylesheet href=/app.css>"
    b"<script src=/app.js></script></head><body>fleet site</body></html>"
)


def _site_headers(index: int) -> tuple[str | None, str | None]:
    """HSTS and CSP of site ``index``: good, weak or missing, in turn."""
    hsts = ("max-age=63072000; includeSubDomains", "max-age=300", None)[index % 3]
    csp = ("default-src 'self'; frame-ancestors 'none'", "default-src 'self' 'unsafe-inline'", None)[index % 3]
    return hsts, csp


def _site_handler(index: int, https_port_box: list[int]) -> tuple[type, type]:
    """An HTTPS page whose headers vary with ``index``, and a plain-HTTP redirect to it."""
    hsts, csp = _site_headers(index)
    page = PAGE

    class Site(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                body, ctype, status = page, "text/html; charset=utf-8", 200
            elif path == "/app.js":
                body, ctype, status = b"console.log('fleet');", "text/javascript", 200
            elif path == "/app.css":
                body, ctype, status = b"body{color:#222}", "text/css", 200
            else:
                body, ctype, status = b"not found", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("X-Content-Type-Options", "nosniff")
            if hsts:
                self.send_header("Strict-Transport-Security", hsts)
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(301)
            self.send_header("Location", f"https://127.0.0.1:{https_port_box[0]}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

    return Site, Redirect


@contextlib.contextmanager
def python_fleet(count: int, folder: Path, bundle):
    """The sites served by Python's threaded HTTP servers (when nginx is not installed)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bundle.cert_path, bundle.key_path)
    servers, sites = [], []
    for index in range(count):
        box: list[int] = [0]
        site, redirect = _site_handler(index, box)
        https = ThreadingHTTPServer(("127.0.0.1", 0), site)
        https.daemon_threads = True
        https.handle_error = lambda *a: None  # scanners end handshakes abruptly
        # The handshake happens in each connection's own thread (lazily, on first read), as in a real
        # server, not serially in the accept loop.
        https.socket = context.wrap_socket(https.socket, server_side=True, do_handshake_on_connect=False)
        box[0] = https.server_address[1]
        plain = ThreadingHTTPServer(("127.0.0.1", 0), redirect)
        plain.daemon_threads = True
        for server in (https, plain):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
            servers.append(server)
        sites.append((f"https://127.0.0.1:{box[0]}", f"http://127.0.0.1:{plain.server_address[1]}"))
    try:
        yield sites
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def nginx_fleet(count: int, folder: Path, bundle, binary: str):
    """The sites served by one real nginx (2 workers): one HTTPS and one redirecting HTTP server block each."""
    import signal
    import subprocess

    www = folder / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_bytes(PAGE)
    (www / "app.js").write_text("console.log('fleet');")
    (www / "app.css").write_text("body{color:#222}")
    ports = _free_ports(2 * count)
    blocks = []
    sites = []
    for index in range(count):
        https_port, http_port = ports[2 * index], ports[2 * index + 1]
        hsts, csp = _site_headers(index)
        extra = "".join(
            f'    add_header {name} "{value}" always;\n'
            for name, value in (("Strict-Transport-Security", hsts), ("Content-Security-Policy", csp))
            if value
        )
        blocks.append(
            f"""  server {{
    listen 127.0.0.1:{https_port} ssl;
    ssl_certificate {bundle.cert_path};
    ssl_certificate_key {bundle.key_path};
    ssl_protocols TLSv1.2 TLSv1.3;
    root {www};
    add_header X-Content-Type-Options nosniff always;
{extra}  }}
  server {{
    listen 127.0.0.1:{http_port};
    return 301 https://127.0.0.1:{https_port}$request_uri;
  }}
"""
        )
        sites.append((f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}"))
    temp = folder / "nginx-temp"
    temp.mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log crit;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  types {{ text/html html; text/javascript js; text/css css; }}
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
{"".join(blocks)}}}
"""
    )
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.PIPE)
    try:
        _wait_for_port(int(sites[-1][0].rsplit(":", 1)[1]), proc)
        yield sites
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_port(port: int, proc) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"nginx exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise SystemExit("nginx did not start listening within 10 s")


@contextlib.contextmanager
def fleet(count: int, folder: Path, server: str = "auto"):
    """Start ``count`` sites; yield ([(https_url, http_url)], CA path, server kind)."""
    import shutil

    sys.path.insert(0, str(ROOT))
    from harden_lib.demo.certs import generate_chain

    bundle = generate_chain(folder / "pki")
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if server == "nginx" or (server == "auto" and binary):
        if not binary:
            raise SystemExit("nginx is not installed (apt-get install -y nginx)")
        with nginx_fleet(count, folder, bundle, binary) as sites:
            yield sites, bundle.ca_path, "nginx"
    else:
        with python_fleet(count, folder, bundle) as sites:
            yield sites, bundle.ca_path, "python"


def write_params(folder: Path, sites: list[tuple[str, str]], ca: Path) -> Path:
    params = folder / "params"
    params.mkdir(parents=True, exist_ok=True)
    for index, (https_url, http_url) in enumerate(sites):
        (params / f"site-{index:02d}.yaml").write_text(
            f"environment: site-{index:02d}\n"
            f"base_url: {https_url}\n"
            f"http_url: {http_url}\n"
            f"areas: [{', '.join(AREAS)}]\n"
            f"http: {{ca_bundle: {ca}}}\n"
            "surface: {exposed_paths: [/.env, /.git/HEAD]}\n"
        )
    return params


def run_mode(label: str, params: Path, reports: Path, **runner_kwargs) -> dict:
    from harden_lib.params import environment_names
    from harden_lib.runner import Runner

    names = environment_names(params)
    lines: list[str] = []
    runner = Runner(reports_dir=reports, params_dir=params, progress=lines.append, **runner_kwargs)
    started = time.perf_counter()
    result = runner.run(names)
    wall = time.perf_counter() - started
    notebook_seconds = []
    for env in result.environments:
        run = json.loads((env.run_dir / "run.json").read_text())
        notebook_seconds += [a["seconds"] for a in run["areas"]]
    ok = all(e.exit_code in (0, 1) for e in result.environments)
    row = {
        "mode": label,
        "environments": len(names),
        "notebooks": len(notebook_seconds),
        "wall_s": round(wall, 2),
        "all_completed": ok,
        "notebook_mean_s": round(statistics.mean(notebook_seconds), 3),
        "notebook_busy_total_s": round(sum(notebook_seconds), 2),
        "executor": runner.executor_stats,
    }
    print(f"{label:<34} {wall:7.2f} s  ({len(notebook_seconds)} notebooks, all completed: {ok})", flush=True)
    return row


def model(rows: list[dict], workers: int) -> dict:
    """What N machines of ``workers`` workers would give, from the measured local warm run.

    wall(N) ~= start-up + busy / (N * workers) + tail, where busy is the measured notebook time,
    start-up the kernel warm-up and tail the last environment's summary and reports (not
    parallel). The driver writes every environment's reports itself, overlapped with execution.
    """
    warm = next(r for r in rows if r["mode"].startswith("local, warm"))
    busy = warm["notebook_busy_total_s"]
    parallel = busy / workers
    overhead = max(0.0, warm["wall_s"] - parallel)  # start-up, scheduling, the tail, the driver
    dask = next((r for r in rows if r["mode"].startswith("dask-local, 2")), None)
    dask_overhead = max(0.0, dask["wall_s"] - warm["wall_s"]) if dask else None
    predictions = {
        f"{n} machine(s) x {workers} workers": round(overhead + (dask_overhead or 0) + busy / (n * workers), 1)
        for n in (1, 2, 4, 8)
    }
    return {
        "busy_notebook_seconds": busy,
        "fixed_overhead_s": round(overhead, 2),
        "dask_extra_overhead_s": round(dask_overhead, 2) if dask_overhead is not None else None,
        "predicted_wall_s": predictions,
        "formula": "wall(N) = fixed overhead + Dask overhead + busy notebook seconds / (N machines x workers)",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="also measure one kernel per notebook (slow)")
    parser.add_argument(
        "--server", choices=("auto", "nginx", "python"), default="auto", help="what serves the sites (auto: nginx)"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory(prefix="harden-fleet-") as tmp:
        work = Path(tmp)
        with fleet(args.sites, work, args.server) as (sites, ca, server):
            params = write_params(work, sites, ca)
            rows.append(run_mode(f"local, warm kernels ({args.workers})", params, work / "r1", workers=args.workers))
            rows.append(
                run_mode(
                    f"dask-local, {args.workers} workers",
                    params,
                    work / "r2",
                    workers=args.workers,
                    executor="dask-local",
                )
            )
            rows.append(run_mode("dask-local, 1 worker", params, work / "r3", workers=1, executor="dask-local"))
            if args.fresh:
                rows.append(
                    run_mode(
                        f"local, fresh kernels ({args.workers})",
                        params,
                        work / "r4",
                        workers=args.workers,
                        fresh_kernels=True,
                    )
                )
    result = {
        "benchmark": f"{args.sites} single-host environments (areas {', '.join(AREAS)} + summary) in one harden run",
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "target": "local warm pool <= 60 s for 40 environments on 2 cores",
        "sites_served_by": server,
        "rows": rows,
        "scaling": {
            "dask_local_1_worker_s": rows[2]["wall_s"],
            "dask_local_2_workers_s": rows[1]["wall_s"],
            "speedup_2_over_1": round(rows[2]["wall_s"] / rows[1]["wall_s"], 2),
        },
        "model": model(rows, args.workers),
    }
    if args.fresh:
        result["warm_over_fresh_speedup"] = round(rows[3]["wall_s"] / rows[0]["wall_s"], 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("scaling", "model")}, indent=2))
    print(f"-> {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
