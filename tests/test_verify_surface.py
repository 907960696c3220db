"""Independent verification of issue 10, item 5 (unfinished reads are not passes) on bodies made other ways.

``tests/test_surface_unfinished.py`` covers an endless chunked asset, gzip and raw-deflate bombs,
``gzip, gzip``, an undecodable ``br`` body, a page cut at the cap and slow/trickling assets. Here:
a deflate bomb *with* its zlib header (RFC 1950, what most servers send for ``deflate``), ``x-gzip``
and an upper-case ``GZIP``, ``deflate`` under ``gzip`` (two different codings stacked), a gzip stream
cut before its end marker, a Content-Length that promises more than is sent, a chunked body whose
connection dies before the last chunk, a body of exactly the cap (complete: must pass) and of the cap
plus one byte (must not), a main page that trickles one byte per second, an asset that redirects in a
loop, and a ``/.env`` that answers 200 with a bomb. None may be a silent pass.
"""

from __future__ import annotations

import gzip
import re
import time
import zlib

from harden_lib.checks import surface
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply
from tests.stream_servers import endless, serve_raw

HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
HTML = ("Content-Type", "text/html; charset=utf-8")
JS = ("Content-Type", "application/javascript")
CAP = 50_000


def make_env(served, *, max_body: int = CAP, **section: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "verify-surface",
            "base_url": served.base_url,
            "http": {"ca_bundle": str(served.ca_path), "connect_timeout": 2, "read_timeout": 3,
                     "max_body_bytes": max_body},
            "surface": {"check_redirect": False, "exposed_paths": [], **section},
        }
    )  # fmt: skip


def of(findings: list[Finding], check_id: str, target_end: str) -> Finding:
    found = [f for f in findings if f.check_id == check_id and f.target.endswith(target_end)]
    assert len(found) == 1, (check_id, target_end, [(f.check_id, f.target, f.status.value) for f in findings])
    return found[0]


def about(findings: list[Finding], target_end: str) -> list[Finding]:
    return [f for f in findings if f.target.endswith(target_end)]


def never_passed(findings: list[Finding], target_end: str) -> list[Finding]:
    """Every finding about a document: at least one, none a pass."""
    mine = about(findings, target_end)
    assert mine, (target_end, [(f.check_id, f.target) for f in findings])
    assert all(f.status is not Status.PASS for f in mine), [(f.check_id, f.status.value, f.observed) for f in mine]
    return mine


def zlib_bomb(size: int) -> bytes:
    return zlib.compress(b"/* padding */\n" * (size // 14), 9)  # RFC 1950: zlib header + deflate + adler32


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, 9)


def script_page(*names: str) -> str:
    return "<html><head>" + "".join(f'<script src="/js/{n}"></script>' for n in names) + "</head><body>x</body></html>"


def lying_length(handler) -> None:
    """Content-Length: 100000, 600 bytes sent, connection closed."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/javascript")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b"var ok = 1;\n" * 50)
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.close()


def chunked_then_dead(handler) -> None:
    """Three chunks, then the connection closes without the terminating zero-length chunk."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/javascript")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for _ in range(3):
        piece = b"var part = 1;\n" * 20
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.close()


def test_bombs_in_other_codings_are_never_passed(pki: CertBundle) -> None:
    harmless = b"function pad(){return 0}\n" * 40_000  # ~1 MB, 20x the cap
    routes = {
        "/": Reply(200, [HTML, HSTS], script_page("zlib.js", "xgzip.js", "upper.js", "stacked.js")),
        "/js/zlib.js": Reply(200, [JS, ("Content-Encoding", "deflate")], zlib_bomb(2_000_000)),
        "/js/xgzip.js": Reply(200, [JS, ("Content-Encoding", "x-gzip")], gzip_bytes(harmless)),
        "/js/upper.js": Reply(200, [JS, ("Content-Encoding", "GZIP")], gzip_bytes(harmless)),
        "/js/stacked.js": Reply(200, [JS, ("Content-Encoding", "deflate, gzip")], gzip_bytes(zlib_bomb(3_000_000))),
    }
    with serve_raw(routes, certs=pki) as site:
        findings = surface.run(make_env(site, check_source_maps=False))
    for name in ("zlib.js", "xgzip.js", "upper.js", "stacked.js"):
        finding = of(findings, "surface.assets.forbidden", name)
        assert finding.status is Status.WARN, (name, finding.status.value, finding.observed)
        assert "not fully scanned" in finding.observed and f"{CAP:,}" in finding.observed, finding.observed


def test_bodies_that_end_early_are_never_passed(pki: CertBundle) -> None:
    whole = gzip_bytes(b"var fine = 'wss://relay.example';\n" * 1_000)  # 35 kB: under the cap when whole
    routes = {
        "/": Reply(200, [HTML, HSTS], script_page("cut-gzip.js", "lying.js", "dead-chunks.js")),
        "/js/cut-gzip.js": Reply(200, [JS, ("Content-Encoding", "gzip")], whole[: len(whole) // 2]),
        "/js/lying.js": lying_length,
        "/js/dead-chunks.js": chunked_then_dead,
    }
    with serve_raw(routes, certs=pki) as site:
        findings = surface.run(make_env(site, check_source_maps=False))
    for name in ("cut-gzip.js", "lying.js", "dead-chunks.js"):
        never_passed(findings, name)
    cut = of(findings, "surface.assets.forbidden", "cut-gzip.js")
    assert cut.status is Status.WARN and "end marker" in cut.observed, cut.observed


def test_exactly_the_cap_is_complete_and_one_byte_more_is_not(pki: CertBundle) -> None:
    exact = b"/" * (CAP - 1) + b"\n"
    routes = {
        "/": Reply(200, [HTML, HSTS], script_page("exact.js", "over.js", "exact-gz.js")),
        "/js/exact.js": Reply(200, [JS], exact),
        "/js/over.js": Reply(200, [JS], exact + b"x"),
        "/js/exact-gz.js": Reply(200, [JS, ("Content-Encoding", "gzip")], gzip_bytes(exact)),
    }
    with serve_raw(routes, certs=pki) as site:
        report = surface.audit(make_env(site, check_source_maps=False))
    assert of(report.findings, "surface.assets.forbidden", "exact.js").status is Status.PASS
    assert of(report.findings, "surface.assets.forbidden", "exact-gz.js").status is Status.PASS
    over = of(report.findings, "surface.assets.forbidden", "over.js")
    assert over.status is Status.WARN and re.search(r"read 50,000 of \u226550,001 bytes", over.observed), over.observed


def test_a_home_page_that_trickles_one_byte_per_second_is_cut_by_the_deadline(pki: CertBundle) -> None:
    routes = {
        "/": endless([HTML, HSTS], b"<", interval=1.0),
        "/healthz": Reply(200, [("Content-Type", "text/plain")], "ok"),
    }
    with serve_raw(routes, certs=pki) as site:
        env = make_env(site, deadline_seconds=3, health=["/healthz"])
        started = time.monotonic()
        findings = surface.run(env)
        elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed
    assert findings and all(f.status is not Status.PASS for f in findings), [
        (f.check_id, f.status.value) for f in findings
    ]
    for check_id in ("surface.route", "surface.assets.fetch"):
        home = of(findings, check_id, "/")
        assert home.status is Status.ERROR and "deadline of 3 s" in home.observed, home.observed
    assert of(findings, "surface.hsts", site.base_url).status is Status.ERROR


def test_an_asset_that_redirects_in_a_loop_is_an_error(pki: CertBundle) -> None:
    routes = {
        "/": Reply(200, [HTML, HSTS], script_page("loop-a.js")),
        "/js/loop-a.js": Reply(302, [("Location", "/js/loop-b.js")], ""),
        "/js/loop-b.js": Reply(302, [("Location", "/js/loop-a.js")], ""),
    }
    with serve_raw(routes, certs=pki) as site:
        started = time.monotonic()
        findings = surface.run(make_env(site, check_source_maps=False))
        elapsed = time.monotonic() - started
        hops = [r for r in site.requests if r[1].startswith("/js/loop")]
    assert elapsed < 10 and len(hops) <= 40, (elapsed, len(hops))
    loop = never_passed(findings, "loop-a.js")
    assert any(f.status is Status.ERROR for f in loop), [(f.check_id, f.status.value, f.observed) for f in loop]


def test_an_exposed_env_file_answering_a_bomb_is_still_exposed(pki: CertBundle) -> None:
    routes = {
        "/": Reply(200, [HTML, HSTS], "<html><body>home</body></html>"),
        "/.env": Reply(
            200,
            [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")],
            gzip_bytes(b"DB_PASSWORD=x\n" + b"#" * 3_000_000),
        ),
    }
    with serve_raw(routes, certs=pki) as site:
        findings = surface.run(make_env(site, exposed_paths=["/.env"], check_source_maps=False))
    exposed = of(findings, "surface.exposed_path", "/.env")
    assert exposed.status is not Status.PASS, exposed.observed


def test_a_body_cut_by_the_server_is_explained_without_exception_class_names(pki: CertBundle) -> None:
    routes = {
        "/": Reply(200, [HTML, HSTS], script_page("lying.js", "dead-chunks.js")),
        "/js/lying.js": lying_length,
        "/js/dead-chunks.js": chunked_then_dead,
    }
    with serve_raw(routes, certs=pki) as site:
        findings = surface.run(make_env(site, check_source_maps=False))
    for name in ("lying.js", "dead-chunks.js"):
        fetch_error = of(findings, "surface.assets.fetch", name)
        assert fetch_error.status is Status.ERROR
        assert not re.search(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception)\b", fetch_error.observed), (
            fetch_error.observed
        )
