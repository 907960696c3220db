"""Stable finding identity: same id across runs for the same check and target, unique within a run."""

from __future__ import annotations

import json

from harden_lib.findings import Finding, Severity, Status
from harden_lib.identity import IdentityContext, assign_ids, base_id, duplicates, normalise_target
from harden_lib.redact import register_secret


def _finding(check_id: str, target: str, **extra) -> Finding:
    values = {"area": check_id.split(".")[0], "title": "t", "status": Status.FAIL, "severity": Severity.HIGH}
    return Finding(check_id=check_id, target=target, **{**values, **extra})


def test_urls_written_other_ways_are_one_target():
    forms = [
        "https://shop.example.org/",
        "HTTPS://Shop.Example.ORG:443",
        "https://shop.example.org:443/",
        "https://operator@shop.example.org",
    ]
    assert len({normalise_target(f) for f in forms}) == 1
    # a different port, path or scheme is another target
    others = ["https://shop.example.org:8443/", "https://shop.example.org/cart", "http://shop.example.org/"]
    assert len({normalise_target(f) for f in [forms[0], *others]}) == 4


def test_the_environments_own_origin_becomes_a_placeholder():
    """Random demo ports across runs, and staging vs production hosts, give the same ids."""
    run_a = IdentityContext.for_urls("https://127.0.0.1:41234", "http://127.0.0.1:41999")
    run_b = IdentityContext.for_urls("https://127.0.0.1:50007/", "http://127.0.0.1:38001")
    pairs = [
        ("https://127.0.0.1:41234/login (cookie: session)", "https://127.0.0.1:50007/login (cookie: session)"),
        ("127.0.0.1:41234", "127.0.0.1:50007"),
        ("wss://127.0.0.1:41234/ws/chat", "wss://127.0.0.1:50007/ws/chat"),
        ("http://127.0.0.1:41999/", "http://127.0.0.1:38001"),
        ("GET https://127.0.0.1:41234/api/v2/items", "GET https://127.0.0.1:50007/api/v2/items"),
    ]
    for a, b in pairs:
        assert base_id("headers", "headers.hsts", a, run_a) == base_id("headers", "headers.hsts", b, run_b), (a, b)
    staging = IdentityContext.for_urls("https://staging.shop.example.org")
    production = IdentityContext.for_urls("https://www.shop.example.org")
    assert base_id("surface", "surface.route", "https://staging.shop.example.org/health", staging) == base_id(
        "surface", "surface.route", "https://www.shop.example.org/health", production
    )
    # another host stays itself, so it is a different target
    assert normalise_target("https://cdn.shop.example.org/app.js", production) == "https://cdn.shop.example.org/app.js"


def test_an_id_never_carries_a_secret():
    token = "Zq8vLr2Wn5Tb7Kd1Xm4Pc9Hs"
    register_secret(token)
    finding_id = base_id("config", "config.url", f"https://user:{token}@db.example.org/?api_key={token}")
    assert token not in finding_id and token not in normalise_target(f"x {token} y")
    # the id is the same whether or not the secret was already redacted in the target
    assert finding_id == base_id("config", "config.url", "https://db.example.org/?api_key=[REDACTED]")


def test_ids_unique_when_check_and_target_repeat():
    findings = [
        _finding("secrets.detected", "repo/app.py:3", title="AWS key", expected="none"),
        _finding("secrets.detected", "repo/app.py:3", title="Slack token", expected="none"),
        _finding("secrets.detected", "repo/app.py:3", title="AWS key", expected="none"),
        _finding("secrets.detected", "repo/app.py:4"),
    ]
    ids = assign_ids(findings)
    assert duplicates(ids) == []
    # stable: the same findings in the same order give the same ids again
    assert assign_ids(list(findings)) == ids
    assert ids[3] == base_id("secrets", "secrets.detected", "repo/app.py:4")


def _ids_of(run_dir) -> list[str]:
    return [f["id"] for f in json.loads((run_dir / "findings.json").read_text())["findings"]]


def test_unique_within_the_demo_run(demo_run):
    _, _, run_dir = demo_run
    ids = _ids_of(run_dir)
    assert len(ids) > 100 and duplicates(ids) == []


def test_unique_within_every_example_run(examples_run):
    _, reports = examples_run
    runs = sorted(p.resolve() for p in reports.glob("*/latest"))
    assert len(runs) >= 4
    for run_dir in runs:
        ids = _ids_of(run_dir)
        assert ids and duplicates(ids) == [], run_dir.parent.name
