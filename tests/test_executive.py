"""The decision page (executive.html, issue 14 item 3), rendered for real and parsed.

Every blocker must be on it (grouped by area, worst first, with the fix and a link that resolves
to the evidence row on the area page), waivers expiring soon must stand out, the comparison with
the last run must say "first run" when there is none, and text from a scanned server stays text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from datetime import date
from pathlib import Path

import pytest

from harden_lib.environment import Environment
from harden_lib.executive import EXPIRING_SOON_DAYS, group_blockers, write_executive
from harden_lib.findings import Finding, Severity, Status
from harden_lib.render import finding_anchor
from tests.test_report_tables import HOSTILE, Page

TODAY = date(2026, 6, 15)
AREAS = [  # run order: tls before headers, config has no page (its notebook did not export)
    {"area": "tls", "title": "TLS", "ok": True, "seconds": 1.0, "html": "tls.html", "counts": {}},
    {"area": "headers", "title": "Security headers", "ok": True, "seconds": 1.0, "html": "headers.html", "counts": {}},
    {"area": "config", "title": "Configuration", "ok": False, "seconds": 1.0, "html": None, "error": "boom"},
    {"area": "summary", "title": "Summary", "ok": True, "seconds": 1.0, "html": "summary.html", "counts": {}},
]


def finding(area: str, n: int, *, status=Status.FAIL, severity=Severity.HIGH, **extra) -> Finding:
    values = {
        "area": area,
        "check_id": f"{area}.rule_{n}",
        "title": f"{area} rule {n}",
        "status": status,
        "severity": severity,
        "target": f"https://app.example.test/{area}/{n}",
        "observed": "seen",
        "expected": "configured",
        "remediation": f"Fix {area} rule {n}.",
        **extra,
    }
    return Finding(**values)


def environment(**sections) -> Environment:
    return Environment.model_validate({"environment": "production", **sections})


def run_info(**extra) -> dict:
    return {
        "environment": "production",
        "run_id": "20260615T100000Z-abcd",
        "started": "2026-06-15T10:00:00+00:00",
        "versions": {"harden": "0.x"},
        "verdict": "NO-GO",
        "headline": "NO-GO for production: 41 failing checks at or above severity 'high'.",
        "gate": {"fail_on": "high", "blocking": 41},
        "areas": AREAS,
        **extra,
    }


def blockers() -> list[Finding]:
    found = [finding("headers", i, severity=(Severity.HIGH, Severity.CRITICAL)[i % 2]) for i in range(20)]
    found += [finding("tls", i, status=(Status.FAIL, Status.ERROR)[i % 2]) for i in range(15)]
    found += [finding("config", i) for i in range(4)]
    found.append(finding("headers", 99, observed=HOSTILE, target=f"https://app.example.test/{HOSTILE}"))
    found.append(
        Finding(
            area="governance",
            check_id="governance.signoff",
            title="Go-live signed off by ops",
            status=Status.FAIL,
            severity=Severity.CRITICAL,
            target="ops",
            observed="no sign-off recorded",
        )
    )
    return found


def render(tmp_path: Path, env: Environment | None = None, found=None, blocking=None, **info) -> tuple[str, Page]:
    found = blockers() if found is None else found
    blocking = found if blocking is None else blocking
    env = environment() if env is None else env
    path = write_executive(tmp_path, env, run_info(**info), found, blocking, today=TODAY)
    html = path.read_text(encoding="utf-8")
    return html, Page(html)


def test_every_blocker_is_listed_by_area_in_run_order_with_fix_and_evidence(tmp_path):
    html, page = render(tmp_path)
    rows = [a for a in page.tags("tr") if "data-blocker" in a]
    assert len(rows) == 41, "every blocker, none cut"
    assert re.search(r"<b data-blocker-count>41</b>", html)
    sections = [a["data-area"] for a in page.tags("section") if "data-area" in a]
    assert sections == ["tls", "headers", "config", "governance"], "the run's area order, governance last"
    evidence = [a["href"] for a in page.tags("a") if a.get("class") == "evidence"]
    expected = {f"tls.html#{finding_anchor(f'tls.rule_{i}', f'https://app.example.test/tls/{i}')}" for i in range(15)}
    assert expected <= set(evidence)
    assert not any(h.startswith(("config.html", "governance")) for h in evidence), "no link to a page that is absent"
    assert len(evidence) == 15 + 21  # tls + headers only
    # worst first within an area: the critical headers rules come before the high ones
    headers = [a["data-check-id"] for a in rows if a["data-check-id"].startswith("headers.")]
    severities = [int(h.split("_")[1]) % 2 for h in headers if h != "headers.rule_99"]
    assert severities == sorted(severities, reverse=True)
    assert "Fix tls rule 3." in page.text("td")


def test_hostile_text_stays_text_and_links_stay_relative(tmp_path):
    _html, page = render(tmp_path)
    assert not page.tags("script") or all(s.get("src") == "assets/tables.js" for s in page.tags("script"))
    assert not page.tags("img"), "markup from a scanned server became an element"
    assert HOSTILE in page.text("td")
    for attrs in (a for _tag, a in page.elements):
        assert not any(k.startswith("on") for k in attrs), attrs
    hrefs = [a["href"] for a in page.tags("a") if "href" in a]
    assert all(not re.match(r"[a-z]+:", h) for h in hrefs), [h for h in hrefs if re.match(r"[a-z]+:", h)]
    assert [a["href"] for a in page.tags("link")] == ["assets/harden.css"]
    assert (tmp_path / "assets" / "harden.css").is_file()


def test_a_blocker_without_remediation_says_what_passes(tmp_path):
    found = [finding("tls", 1, remediation="", expected="TLS 1.2 or later only")]
    _html, page = render(tmp_path, found=found)
    assert "Make it so: TLS 1.2 or later only" in page.text("td")


def test_waivers_in_force_expiring_soon_and_expired(tmp_path):
    waivers = [
        {"check_id": "headers.rule_1", "reason": "CDN rewrites it until OPS-311.", "approved_by": "Priya Sec",
         "expires": TODAY + dt.timedelta(days=5)},
        {"check_id": "headers.rule_2", "reason": "Nonce middleware ships next sprint.", "approved_by": "Sam Eng",
         "expires": TODAY + dt.timedelta(days=EXPIRING_SOON_DAYS)},
        {"check_id": "headers.rule_3", "reason": "Accepted until the redesign is live.", "approved_by": "Sam Eng",
         "expires": TODAY + dt.timedelta(days=EXPIRING_SOON_DAYS + 1)},
        {"check_id": "tls.rule_*", "reason": "Legacy clients until the cutover.", "approved_by": "Ops Lead",
         "expires": TODAY - dt.timedelta(days=3)},
    ]  # fmt: skip
    env = environment(waivers=waivers)
    found = [
        finding("headers", 1, status=Status.WAIVED, raw_status=Status.FAIL),
        finding("headers", 1, status=Status.WAIVED, raw_status=Status.FAIL, target="https://other.test/"),
        finding("tls", 1),
    ]
    _html, page = render(tmp_path, env=env, found=found, blocking=found[2:])
    rows = [a for a in page.tags("tr") if "data-waiver" in a]
    assert len(rows) == 4
    assert [r.get("class") for r in rows] == ["expiring", "expiring", None, None]  # soonest first, expired last
    section = page.text("section")
    assert "Expiring within 14 days:" in section
    soon = section.split("Expiring within 14 days:")[1].split("When a waiver expires")[0]
    assert "headers.rule_1 (2026-06-20, 5 days left)" in soon and "headers.rule_2 (2026-06-29, 14 days left)" in soon
    assert "headers.rule_3" not in soon and "tls.rule_" not in soon
    assert "expired" in page.text("td")
    cells = re.findall(r"<tr data-waiver[^>]*><th scope=\"row\">([^<]*)</th>(.*?)</tr>", _html, re.S)
    waived_counts = {check: re.findall(r'<td class="num">(\d*)</td>', rest)[1] for check, rest in cells}
    assert waived_counts == {"headers.rule_1": "2", "headers.rule_2": "0", "headers.rule_3": "0", "tls.rule_*": "0"}
    assert "3 waivers in force" in page.text("div") and "2 expiring within 14 days" in page.text("div")


def test_signoffs_as_the_gate_judged_them(tmp_path):
    env = environment(signoffs={"required": ["engineering", "ops"], "given": []})
    found = [
        Finding(area="governance", check_id="governance.signoff", title="Go-live signed off by engineering",
                status=Status.PASS, severity=Severity.CRITICAL, target="engineering",
                observed="signed by Sam Eng on 2026-06-13"),
        Finding(area="governance", check_id="governance.signoff", title="Go-live signed off by ops",
                status=Status.FAIL, severity=Severity.CRITICAL, target="ops", observed="no sign-off recorded",
                remediation="The ops owner reviews this report and records a sign-off."),
    ]  # fmt: skip
    html, page = render(tmp_path, env=env, found=found, blocking=found[1:])
    signoffs = html[html.index('<section id="signoffs">') : html.index('<section id="waivers">')]
    assert "engineering" in signoffs and "signed by Sam Eng on 2026-06-13" in signoffs
    assert '<td class="s-fail">fail</td>' in signoffs and "records a sign-off" in signoffs
    assert "1 of 2 sign-offs" in page.text("div")


def test_changes_first_run_unknown_and_compared(tmp_path):
    html, _ = render(tmp_path)
    assert "its history was not recorded" in html  # no since_last.json: never pretend it is the first run
    document = {"old": None, "new": {"run_id": "x"}, "counts": {}, "headline": "No earlier run"}
    (tmp_path / "since_last.json").write_text(json.dumps(document))
    html, _ = render(tmp_path)
    assert "first run" in html
    change = {
        "finding_id": "tls.rule_1@1", "area": "tls", "check_id": "tls.rule_1", "title": "tls rule 1",
        "target": "https://app.example.test/tls/1", "severity": "high", "status": "fail", "old_status": "pass",
    }  # fmt: skip
    fixed = {**change, "check_id": "headers.rule_7", "area": "headers", "status": "pass", "old_status": "fail",
             "title": f"fixed {HOSTILE}", "target": "https://app.example.test/headers/7"}  # fmt: skip
    document = {
        "old": {"run_id": "20260614T100000Z-0001", "verdict": "GO", "started": "2026-06-14T10:00:00+00:00"},
        "new": {"run_id": "x"},
        "counts": {"new": 1, "fixed": 1, "still_failing": 38, "changed": 0},
        "new_failures": [change],
        "fixed": [fixed],
    }
    (tmp_path / "since_last.json").write_text(json.dumps(document))
    html, page = render(tmp_path)
    changes = html[html.index('<section id="changes">') : html.index('<section id="evidence">')]
    assert "20260614T100000Z-0001" in changes and "<b>1 new</b>" in changes and "<b>1 fixed</b>" in changes
    assert f'href="tls.html#{finding_anchor("tls.rule_1", "https://app.example.test/tls/1")}"' in changes
    assert 'data-changes="fixed"' in changes and "first run" not in changes
    assert not page.tags("img")


def test_group_blockers_orders_unknown_areas_after_known_ones():
    groups = group_blockers([finding("zeta", 1), finding("headers", 1), finding("alpha", 1)], AREAS)
    assert [g.area for g in groups] == ["headers", "alpha", "zeta"]
    assert groups[0].page == "headers.html" and groups[1].page is None


def test_a_failure_writes_a_plain_page_and_never_raises(tmp_path):
    path = write_executive(tmp_path, None, run_info(), blockers(), blockers(), today=TODAY)  # type: ignore[arg-type]
    html = path.read_text(encoding="utf-8")
    assert "could not be written" in html and 'href="index.html"' in html
    assert "AttributeError" not in html and "Traceback" not in html


def test_print_layout_fits_a4():
    css = (Path(__file__).resolve().parent.parent / "harden_lib" / "report_assets" / "harden.css").read_text()
    widths = re.findall(r"table\.exec-blockers th:nth-child\([^)]*\)[^{]*\{\s*width:\s*([\d.]+)(%|em)", css)
    percent = sum(float(w) for w, unit in widths if unit == "%")
    ems = sum(float(w) for w, unit in widths if unit == "em") * 2  # the rule names two columns
    # A4 minus 24 mm margins is ~186 mm ≈ 70 em at 10 pt: fixed columns leave room for the last one
    assert percent < 75 and ems < 15
    assert "table.exec-blockers { table-layout: fixed; }" in css


def test_executive_page_of_a_real_run_links_resolve(demo_run):
    """The demo run: every blocker of findings.json on the page; every evidence link finds its row."""
    _, _, run_dir = demo_run
    html = (run_dir / "executive.html").read_text(encoding="utf-8")
    page = Page(html)
    findings = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))["findings"]
    blocking = [(f["check_id"], f["target"]) for f in findings if f.get("blocking")]
    assert blocking, "the demo has blockers"
    rows = [a["data-check-id"] for a in page.tags("tr") if "data-blocker" in a]
    assert sorted(rows) == sorted(c for c, _ in blocking)
    pages: dict[str, str] = {}
    links = [a["href"] for a in page.tags("a") if a.get("class") == "evidence"]
    assert len(links) >= len([1 for c, _ in blocking if not c.startswith("governance.")])
    for link in links:
        name, anchor = link.split("#")
        pages.setdefault(name, (run_dir / name).read_text(encoding="utf-8"))
        assert f'id="{anchor}"' in pages[name], link
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="executive.html"' in index


@pytest.mark.parametrize("days_left, expiring", [(0, True), (14, True), (15, False), (-1, False)])
def test_expiring_soon_boundary(tmp_path, days_left, expiring):
    waiver = {"check_id": "headers.rule_1", "reason": "Accepted for the launch week.", "approved_by": "Priya Sec",
              "expires": TODAY + dt.timedelta(days=days_left)}  # fmt: skip
    _html, page = render(tmp_path, env=environment(waivers=[waiver]), found=[finding("tls", 1)])
    row = next(a for a in page.tags("tr") if "data-waiver" in a)
    assert (row.get("class") == "expiring") is expiring
