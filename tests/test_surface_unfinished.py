"""Unfinished reads are never passes: endless and bomb assets, slow assets under the area deadline.

Real local servers (``tests.servers`` for whole answers, ``tests.stream_servers`` for bodies
that never end or trickle). Each test would have passed a document the old code never read
to its end, or cost one full per-request timeout per slow asset one after another.
"""

from __future__ import annotations

import re
import threading
import time
import zlib

from harden_lib.checks import surface
from harden_lib.demo.certs import CertBundle
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply
from tests.stream_servers import endless, reply, serve_raw

HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
HTML = ("Content-Type", "text/html; charset=utf-8")
JS = ("Content-Type", "text/javascript")
BYTES_READ = re.compile(r"read ([\d,]+) of \u2265([\d,]+) bytes")


def make_env(served, *, max_body: int = 200_000, read_timeout: float = 3, **section: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "t",
            "base_url": served.base_url,
            "http": {
                "ca_bundle": str(served.ca_path),
                "connect_timeout": 2,
                "read_timeout": read_timeout,
                "max_body_bytes": max_body,
            },
            "surface": {"check_redirect": False, **section},
        }
    )


def of(findings: list[Finding], check_id: str, target_end: str) -> Finding:
    found = [f for f in findings if f.check_id == check_id and f.target.endswith(target_end)]
    assert len(found) == 1, (check_id, target_end, [(f.check_id, f.target, f.status.value) for f in findings])
    return found[0]


def gzip_of(piece: bytes, repeat: int, wbits: int = zlib.MAX_WBITS | 16) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(piece) for _ in range(repeat)) + packer.flush()


def bytes_named(observed: str, cap: int) -> None:
    """The observed text names how much was read (the cap) and a larger lower bound of the whole."""
    match = BYTES_READ.search(observed)
    assert match, observed
    read, at_least = (int(g.replace(",", "")) for g in match.groups())
    assert read == cap and at_least > cap, observed
    assert "not fully scanned" in observed


def test_endless_and_bomb_assets_are_not_passed(pki: CertBundle) -> None:
    scripts = ["endless.js", "bomb.js", "deflate-bomb.js", "stacked.js", "late-leak.js", "ok.js", "brotli.js"]
    page = "<html><head>" + "".join(f'<script src="/static/{s}"></script>' for s in scripts)
    page += '<link rel="manifest" href="/manifest.webmanifest"></head><body>shop</body></html>'
    cap = 64_000
    body = b"function f(){return 1}\n"
    routes = {
        "/": Reply(200, [HTML, HSTS], page),
        # Never ends; nothing forbidden in what arrives.
        "/static/endless.js": endless([JS], body * 200),
        # 11.5 MB of harmless script in ~25 KB of gzip, the leak far beyond the cap.
        "/static/bomb.js": Reply(200, [JS, ("Content-Encoding", "gzip")], gzip_of(body * 500, 1000)),
        # The same in raw deflate (no zlib header), another way servers send it.
        "/static/deflate-bomb.js": Reply(
            200, [JS, ("Content-Encoding", "deflate")], gzip_of(b"\n" * 100_000, 100, -zlib.MAX_WBITS)
        ),
        # Two codings stacked: each small, together a bomb.
        "/static/stacked.js": Reply(
            200, [JS, ("Content-Encoding", "gzip, gzip")], gzip_of(gzip_of(b" " * 1_000_000, 30), 1)
        ),
        # A leak in the part read still fails, even though the rest was not read.
        "/static/late-leak.js": endless([JS], b"var relay='ws://10.1.2.3:7000';\n" * 50),
        "/static/ok.js": Reply(200, [JS], "var wss='wss://relay.example';"),
        # A coding harden cannot decode: nothing meaningful to scan.
        "/static/brotli.js": Reply(200, [JS, ("Content-Encoding", "br")], b"\x1b\x00\x00\x00garbage"),
        # An endless manifest: the manifest is scanned like every asset.
        "/manifest.webmanifest": endless([("Content-Type", "application/manifest+json")], b'{"name":"shop"}' * 100),
    }
    with serve_raw(routes, certs=pki) as site:
        env = make_env(site, max_body=cap, exposed_paths=[], required=[{"name": "turn", "pattern": r"\bturns?:"}])
        started = time.monotonic()
        report = surface.audit(env)
        elapsed = time.monotonic() - started
    f = report.findings
    for name in ("/endless.js", "/bomb.js", "/deflate-bomb.js", "/stacked.js", "/manifest.webmanifest"):
        finding = of(f, "surface.assets.forbidden", name)
        assert finding.status is Status.WARN, (name, finding.status, finding.observed)
        bytes_named(finding.observed, cap)
    assert "gzip" in of(f, "surface.assets.forbidden", "/bomb.js").observed
    assert "deflate" in of(f, "surface.assets.forbidden", "deflate-bomb.js").observed
    leak = of(f, "surface.assets.forbidden", "late-leak.js")
    assert leak.status is Status.FAIL and "ws://" in leak.observed and "read only in part" in leak.observed
    brotli = of(f, "surface.assets.forbidden", "brotli.js")
    assert brotli.status is Status.ERROR and "'br' content-encoding" in brotli.observed
    assert of(f, "surface.assets.forbidden", "ok.js").status is Status.PASS
    # The required hint is in none of the parts read, but it could be in what was not read.
    required = of(f, "surface.assets.required", "hint turn")
    assert required.status is Status.ERROR and "could not be (fully) scanned" in required.observed
    # The sourceMappingURL comment sits at the end of a file: unseen in a file never read to its end.
    maps = of(f, "surface.source_map", site.base_url)
    assert maps.status is Status.WARN and "not read to the end" in maps.observed
    table = report.documents_table().set_index("url")
    assert not table.loc[site.base_url + "/static/endless.js", "fully_scanned"]
    assert table.loc[site.base_url + "/static/ok.js", "fully_scanned"]
    assert elapsed < 15


def test_a_page_cut_at_the_cap_warns_that_later_assets_were_not_collected(pki: CertBundle) -> None:
    page = b"<html><head><script src='/a.js'></script></head><body>" + b"<p>row</p>\n" * 20_000
    routes = {"/": Reply(200, [HTML, HSTS], page), "/a.js": Reply(200, [JS], "var a;")}
    with serve_raw(routes, certs=pki) as site:
        report = surface.audit(make_env(site, max_body=20_000, exposed_paths=[], check_source_maps=False))
    finding = of(report.findings, "surface.assets.forbidden", site.base_url + "/")
    assert finding.status is Status.WARN and "assets referenced after the cut were not collected" in finding.observed
    bytes_named(finding.observed, 20_000)
    assert of(report.findings, "surface.assets.forbidden", "/a.js").status is Status.PASS


def test_exposed_probes_read_only_in_part_do_not_pass(pki: CertBundle) -> None:
    index = "<html><head><title>shop</title></head><body>" + "<div>item</div>" * 800 + "</body></html>"
    assert len(index) > 8192  # the catch-all comparison looks at the first 8 KiB
    head_then_more = index.encode() + b"DB_PASSWORD=not-the-index\n" * 10
    routes = {
        # Starts exactly like the catch-all page, then goes on forever: not provably the catch-all.
        "/server-status": endless([HTML], head_then_more),
        # "Not found" whose body never ends: no ordinary answer.
        "/debug": endless([("Content-Type", "text/plain")], b"404 " * 1000, status=404),
        "/actuator/env": reply(404, [("Content-Type", "text/plain")], "missing"),
        "*": Reply(200, [HTML, HSTS], index),
    }
    with serve_raw(routes, certs=pki) as site:
        env = make_env(
            site, max_body=200_000, pages=[], check_source_maps=False,
            exposed_paths=["/server-status", "/debug", "/actuator/env", "/.DS_Store"],
        )  # fmt: skip
        report = surface.audit(env)
    f = report.findings
    status = of(f, "surface.exposed_path", "/server-status")
    assert status.status is Status.WARN and "not fully compared" in status.observed
    assert "1,000,000" in status.observed  # the probe's cap, named
    debug = of(f, "surface.exposed_path", "/debug")
    assert debug.status is Status.WARN and "404" in debug.observed and "read 1,000,000 of" in debug.observed
    assert of(f, "surface.exposed_path", "/actuator/env").status is Status.PASS
    catch_all = of(f, "surface.exposed_path", "/.DS_Store")
    assert catch_all.status is Status.PASS and "catch-all" in catch_all.observed
    verdicts = report.exposed_table().set_index("path")["verdict"].to_dict()
    assert verdicts["/server-status"] == "looks like the catch-all, not fully compared"


def test_slow_assets_overlap_and_the_area_deadline_reports_the_rest(pki: CertBundle) -> None:
    """Six assets of 1.5 s each (9 s one after another) and two that trickle forever, 4 s for the area."""
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(handler) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        try:
            reply(200, [JS], "var slow = true;", delay=1.5)(handler)
        finally:
            with lock:
                active["now"] -= 1

    names = [f"slow{i}.js" for i in range(6)] + ["trickle0.js", "trickle1.js"]
    page = "<html><head>" + "".join(f'<script src="/s/{n}"></script>' for n in names) + "</head></html>"
    routes: dict = {"/": Reply(200, [HTML, HSTS], page), "/healthz": Reply(200, [], "ok")}
    for n in names[:6]:
        routes[f"/s/{n}"] = slow
    for n in names[6:]:  # a byte every 0.3 s: never a read timeout, never the end
        routes[f"/s/{n}"] = endless([JS], b";", interval=0.3)
    with serve_raw(routes, certs=pki) as site:
        env = make_env(site, deadline_seconds=4, exposed_paths=["/.env"], health=["/healthz"])
        started = time.monotonic()
        report = surface.audit(env)
        elapsed = time.monotonic() - started
    f = report.findings
    assert elapsed < 6.5, elapsed  # one by one the slow six alone take 9 s
    assert active["max"] >= 4, active  # they really overlapped
    for n in names[:6]:
        assert of(f, "surface.assets.forbidden", n).status is Status.PASS
    for n in names[6:]:
        cut = of(f, "surface.assets.fetch", n)
        assert cut.status is Status.ERROR and "deadline of 4 s (surface.deadline_seconds)" in cut.observed
        assert not [x for x in f if x.target.endswith(n) and x.status is Status.PASS]
    # Everything after the deadline is reported, never silently dropped and never a pass.
    assert of(f, "surface.health", "/healthz").status is Status.ERROR
    maps = [x for x in f if x.check_id == "surface.source_map"]
    assert maps and all(x.status is not Status.PASS for x in maps)
    assert of(f, "surface.exposed_path", "/.env").status is Status.PASS  # fetched early, within the deadline


def test_queued_assets_not_started_by_the_deadline_are_reported(pki: CertBundle) -> None:
    page = "<html><head>" + "".join(f'<script src="/q/{i}.js"></script>' for i in range(6)) + "</head></html>"
    routes = {"/": Reply(200, [HTML, HSTS], page), "*": reply(200, [JS], "var q;", delay=1.2)}
    with serve_raw(routes, certs=pki) as site:
        env = make_env(site, connections=2, deadline_seconds=2, exposed_paths=[], check_source_maps=False)
        started = time.monotonic()
        report = surface.audit(env)
        elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed
    fetched = [x for x in report.findings if x.check_id == "surface.assets.forbidden" and "/q/" in x.target]
    errors = [x for x in report.findings if x.check_id == "surface.assets.fetch" and "/q/" in x.target]
    assert len(fetched) + len(errors) == 6  # every asset accounted for
    assert len(fetched) == 2 and all(x.status is Status.PASS for x in fetched)
    assert {x.status for x in errors} == {Status.ERROR}
    assert any("not fetched" in x.observed for x in errors) and any("not complete" in x.observed for x in errors)


def test_a_source_map_behind_the_xssi_prefix_is_still_a_map(pki: CertBundle) -> None:
    routes = {
        "/": Reply(200, [HTML, HSTS], '<script src="/app.js"></script>'),
        "/app.js": Reply(200, [JS], "run();\n//# sourceMappingURL=app.js.map"),
        "/app.js.map": Reply(200, [("Content-Type", "application/json")], ')]}\'\n{"version":3,"sources":["a.ts"]}'),
    }
    with serve_raw(routes, certs=pki) as site:
        report = surface.audit(make_env(site, exposed_paths=[]))
    served = of(report.findings, "surface.source_map", "app.js.map")
    assert served.status is Status.FAIL and "source map served" in served.observed


def test_deadline_param_is_validated_and_defaults_to_two_minutes() -> None:
    import pytest
    from pydantic import ValidationError

    assert Environment.model_validate({"environment": "t"}).surface.deadline_seconds == 120.0
    with pytest.raises(ValidationError, match="deadline_seconds"):
        Environment.model_validate({"environment": "t", "surface": {"deadline_seconds": 0}})
