"""Area pages agree with the gate (issue 14): a real demo run, with a waiver in force and an
attestation voided by a failing check, compared finding by finding across every area page's HTML,
the run index data (run.json) and every export (findings.json, findings.csv, junit.xml, findings.sarif).

Before governance was applied per area, the headers page showed the waived findings as ``fail``
and the operations page showed the voided attestation as ``pass``, while the index and the exports
said ``waived`` / ``fail``.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from bs4 import BeautifulSoup

from harden_lib.areas import AREAS, SUMMARY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SARIF_STATUSES = {"fail", "error", "warn", "waived"}  # what the SARIF export lists (passes are not results)


def _text(cell) -> str:
    return cell.get_text(" ", strip=True)


def _tables(soup: BeautifulSoup) -> list[tuple[set[str], list[str], list[dict[str, str]], object]]:
    """Every table as (header set, header list, rows as dicts, the element)."""
    out = []
    for table in soup.find_all("table"):
        head = table.find("thead")
        if head is None:
            continue
        headers = [_text(th) for th in head.find_all("th")]
        body = table.find("tbody")
        rows = []
        for tr in body.find_all("tr") if body else []:
            cells = tr.find_all(["td", "th"])
            if len(cells) == len(headers):
                rows.append({h: _text(c) for h, c in zip(headers, cells, strict=True)})
        out.append((set(headers), headers, rows, table))
    return out


def _page_findings(soup: BeautifulSoup) -> tuple[Counter, bool]:
    """(check_id?, target, status) of every row of the page's findings table(s).

    The findings table shows status, target and observed (the "What to fix" table carries the
    remediation instead, the verdict's blockers table has the class ``harden-blockers``). Returns
    the rows and whether the table names the check id (the commands page shows targets only).
    """
    rows: list[dict[str, str]] = []
    with_id = True
    for headers, _, table_rows, element in _tables(soup):
        if "harden-blockers" in (element.get("class") or []):
            continue
        if {"status", "target", "observed"} <= headers and "remediation" not in headers:
            with_id = with_id and "check_id" in headers
            rows.extend(table_rows)
    assert rows, "the page has a findings table"
    if with_id:
        return Counter((r["check_id"], r["target"], r["status"]) for r in rows), True
    return Counter((r["target"], r["status"]) for r in rows), False


def _key(item: dict, with_id: bool) -> tuple:
    return (item["check_id"], item["target"], item["status"]) if with_id else (item["target"], item["status"])


@pytest.fixture(scope="module")
def run(demo_run):
    _code, _reports, run_dir = demo_run
    document = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))
    return run_dir, document


def test_the_run_exercises_governance(run):
    """The comparison below means something only if governance changed statuses in this run."""
    _, document = run
    waived = [f for f in document["findings"] if f["status"] == "waived" and f["raw_status"] == "fail"]
    voided = [
        f
        for f in document["findings"]
        if f["check_id"].startswith("operations.") and f["status"] == "fail" and f["raw_status"] in ("pass", "warn")
    ]
    assert waived and voided


def test_every_area_page_shows_the_statuses_of_the_index_and_the_exports(run):
    run_dir, document = run
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    by_area: dict[str, list[dict]] = {}
    for item in document["findings"]:
        by_area.setdefault(item["area"], []).append(item)
    areas = [a["area"] for a in info["areas"] if a["area"] != SUMMARY]
    assert areas and set(areas) <= set(AREAS)
    for area in areas:
        soup = BeautifulSoup((run_dir / f"{area}.html").read_text(encoding="utf-8"), "html.parser")
        shown, with_id = _page_findings(soup)
        expected = Counter(_key(f, with_id) for f in by_area[area])
        assert shown == expected, f"{area}.html disagrees with findings.json: {shown - expected} / {expected - shown}"
        # the index's per-area counts (run.json feeds the run's index page)
        counts = next(a["counts"] for a in info["areas"] if a["area"] == area)
        assert counts == dict(Counter(f["status"] for f in by_area[area])), area


def test_every_export_shows_the_same_status_for_each_finding(run):
    run_dir, document = run
    expected = Counter((f["area"], f["check_id"], f["target"], f["status"]) for f in document["findings"])

    with (run_dir / "findings.csv").open(encoding="utf-8", newline="") as handle:
        from_csv = Counter((r["area"], r["check_id"], r["target"], r["status"]) for r in csv.DictReader(handle))
    assert from_csv == expected

    junit = ET.parse(run_dir / "junit.xml").getroot()
    from_junit: Counter = Counter()
    for suite in junit.iter("testsuite"):
        area = suite.get("name").split(".", 1)[1]
        for case in suite.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.find("properties").iter("property")}
            name = case.get("name")
            check_id, _, target = name.partition(" [")
            from_junit[(area, check_id, target[:-1] if target else "", props["status"])] += 1
    assert from_junit == expected

    sarif = json.loads((run_dir / "findings.sarif").read_text(encoding="utf-8"))
    from_sarif = Counter(
        (r["properties"]["area"], r["ruleId"], r["properties"]["target"], r["properties"]["status"])
        for r in sarif["runs"][0]["results"]
    )
    assert from_sarif == Counter({k: n for k, n in expected.items() if k[3] in SARIF_STATUSES})
    results = sarif["runs"][0]["results"]
    suppressed = {(r["ruleId"], r["properties"]["target"]) for r in results if r.get("suppressions")}
    assert suppressed == {(f["check_id"], f["target"]) for f in document["findings"] if f["status"] == "waived"}


def test_each_area_page_opens_with_its_verdict_counts_and_every_blocker(run):
    run_dir, document = run
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    for entry in info["areas"]:
        area = entry["area"]
        if area == SUMMARY:
            continue
        html = (run_dir / f"{area}.html").read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        verdict = soup.find(class_="harden-area-verdict")
        assert verdict is not None, area
        # first thing after the title: no findings table, chart or other output comes before it
        first_output = soup.find(class_="jp-OutputArea-output")
        assert verdict in first_output.descendants or first_output is verdict, area
        mine = [f for f in document["findings"] if f["area"] == area]
        blocking = [f for f in mine if f["blocking"]]
        text = _text(verdict)
        assert ("NO-GO" if blocking else "GO") in text.split("·")[0], area
        counts = Counter(f["status"] for f in mine)
        for status, n in counts.items():
            assert f"{n} {status}" in text, (area, status)
        table = verdict.find("table", class_="harden-blockers")
        if not blocking:
            assert table is None
            continue
        listed = Counter(
            (_text(tr.find_all("td")[2].find("code")), _text(tr.find_all("td")[3]))
            for tr in table.find("tbody").find_all("tr")
        )
        assert listed == Counter((f["check_id"], f["target"]) for f in blocking), area
        assert f"{len(blocking)} blocker" in text


def test_area_pages_carry_no_developer_text_and_a_real_title(run):
    run_dir, document = run
    for path in sorted(run_dir.glob("*.html")):
        if path.stem not in AREAS:
            continue
        html = path.read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        headings = {_text(h) for h in soup.find_all(re.compile(r"^h[1-6]$"))}
        assert not any(h.rstrip("¶ ").strip() == "Save" for h in headings), path.name
        assert str(run_dir) not in html and str(run_dir.parent.parent) not in html, path.name
        assert "Saved to" not in html
        literal = re.findall(r"\*\*[^*\s][^*]*\*\*", soup.get_text(" "))
        assert not literal, f"{path.name}: Markdown syntax printed literally: {literal[:3]}"
        title = soup.title.get_text(strip=True) if soup.title else ""
        assert title == f"{AREAS[path.stem].title} · {document['environment']} · {document['run_id']}", path.name


def test_page_metadata_names_every_page_of_the_run(run):
    import nbformat

    run_dir, document = run
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    areas = [a["area"] for a in info["areas"] if a["area"] != SUMMARY]
    for name in [*areas, SUMMARY]:
        meta = nbformat.read(run_dir / f"{name}.ipynb", as_version=4).metadata["harden"]
        environment = document["environment"]
        assert meta["page"] == name and meta["environment"] == environment and meta["run_id"] == document["run_id"]
        assert meta["page_title"].endswith(f" · {environment} · {document['run_id']}")
        hrefs = [item["href"] for item in meta["nav"]]
        assert hrefs[0] == "index.html" and f"{SUMMARY}.html" in hrefs
        assert [h for h in hrefs if h.removesuffix(".html") in AREAS] == [f"{a}.html" for a in areas]
        assert [item["href"] for item in meta["nav"] if item["current"]] == [f"{name}.html"]
        assert all((run_dir / h).is_file() for h in hrefs if h != "executive.html" or (run_dir / h).exists())
        assert meta["partial"] is False
        if name != SUMMARY:
            own = [f for f in document["findings"] if f["area"] == name]
            assert meta["verdict"] == ("NO-GO" if any(f["blocking"] for f in own) else "GO")
        else:
            assert meta["verdict"] == document["verdict"]


def test_summary_lists_every_blocker(run):
    run_dir, document = run
    soup = BeautifulSoup((run_dir / "summary.html").read_text(encoding="utf-8"), "html.parser")
    blocking = Counter((f["check_id"], f["target"]) for f in document["findings"] if f["blocking"])
    assert sum(blocking.values()) > 15  # more than the old first page of 15
    for headers, _, rows, _ in _tables(soup):
        if {"check_id", "target", "severity", "status", "remediation"} <= headers:
            shown = Counter((r["check_id"], r["target"]) for r in rows)
            if shown == blocking:
                break
    else:
        pytest.fail("no table of the summary lists exactly the run's blockers")


def test_tables_show_every_row_and_long_values(run):
    """pandas' display limits (60 rows → 10 shown, 50 characters per cell) no longer cut report tables."""
    run_dir, _ = run
    soup = BeautifulSoup((run_dir / "summary.html").read_text(encoding="utf-8"), "html.parser")
    params = next(rows for headers, _, rows, _ in _tables(soup) if headers >= {"key", "value"})
    assert len(params) > 60 and not any(r["key"] in ("...", "…") for r in params)
    longest = max(len(r["value"]) for r in params)
    assert longest > 50
    for path in run_dir.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "rows × " not in html or path.stem == "trends", path.name  # pandas' truncated-frame footer


def test_markup_characters_read_as_sent_and_are_escaped_where_shown(pki):
    """``->``, ``=>`` and ``<…>`` a server sends read as written in evidence, not ``-\\x3e`` (issue 14);
    the report's table escapes them. A real local server sends a Link header and an arrow."""
    from harden_lib.checks import headers
    from harden_lib.environment import Environment
    from harden_lib.render import table_html
    from tests.servers import Reply, serve

    sent = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Link", "<https://cdn.example/app.css>; rel=preload; as=style"),
        ("X-Migration", "schema 41 -> 42 => ok"),
        ("X-Tab", "a\tb"),
    ]
    with serve({"/": Reply(200, sent, "<html></html>")}, certs=pki) as site:
        env = Environment.model_validate(
            {
                "environment": "t",
                "base_url": site.base_url,
                "http": {"ca_bundle": str(site.ca_path), "connect_timeout": 2, "read_timeout": 3},
                "headers": {"check_redirect": False},
            }
        )
        report = headers.audit(env)
    table = report.table()
    values = dict(zip(table["header"].str.lower(), table["value"], strict=False))
    assert values["link"] == "<https://cdn.example/app.css>; rel=preload; as=style"
    assert values["x-migration"] == "schema 41 -> 42 => ok"
    assert values["x-tab"] == "a\\x09b", "control characters are still escaped"
    shown = table_html(table)
    assert "x3e" not in shown and "x3c" not in shown
    assert "schema 41 -&gt; 42 =&gt; ok" in shown and "&lt;https://cdn.example/app.css&gt;" in shown
    assert "<https://cdn" not in shown


def test_a_long_chart_title_is_not_clipped():
    """A title longer than its figure (a URL) widens the picture instead of being cut at the edge."""
    import struct

    from harden_lib.render import figure, figure_png

    def width(png: bytes) -> int:
        return struct.unpack(">II", png[16:24])[0]

    fig = figure(3.0, 2.0)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    short = width(figure_png(fig))
    ax.set_title("Observatory modifiers for https://127.0.0.1:8443/a/long/path/that/goes/on/and/on/index.html")
    assert width(figure_png(fig)) > short * 1.8, "the whole title is in the picture"


def test_url_labels_are_html_not_markdown():
    """The line above a chart names its URL in escaped HTML: no literal ``**``, no link with ``**`` in it."""
    from harden_lib.notebook import label_html

    html = label_html("https://u:pw9@h.example/a_b/*x*?token=T0k&q=<i>", "score 30, grade D")
    assert "**" not in html.replace("*x*", "")
    assert "<strong>https://u:[REDACTED]@h.example/a_b/*x*?token=[REDACTED]&amp;q=&lt;i&gt;</strong>" in html
    assert "pw9" not in html and "T0k" not in html and "<a " not in html


def test_the_overview_lists_the_blockers_of_the_exports_and_links_each_to_its_row(run):
    """The run's index page (overview): every blocker of findings.json, same status, and its link lands
    on that finding's row of the area page, which shows the same status."""
    run_dir, document = run
    soup = BeautifulSoup((run_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    heading = soup.find(id="blockers")
    assert heading is not None
    table = heading.find_next("table")
    shown: Counter = Counter()
    pages: dict[str, BeautifulSoup] = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = tr.find_all("td")
        status, area = _text(cells[1]), _text(cells[2])
        check_id = _text(cells[3].find(class_="meta")).replace(" ", "")
        target = _text(cells[4]).replace(" ", "")
        shown[(area, check_id, target, status)] += 1
        link = cells[3].find("a")
        if area == "governance":  # sign-offs and waiver notes have no area page (the summary shows them)
            continue
        assert link is not None, (area, check_id)
        page, _, anchor = link["href"].partition("#")
        if page not in pages:
            pages[page] = BeautifulSoup((run_dir / page).read_text(encoding="utf-8"), "html.parser")
        row = pages[page].find(id=anchor)
        assert row is not None, f"{page}#{anchor}"
        assert status in _text(row), (page, anchor)
    blocking = [f for f in document["findings"] if f["blocking"]]
    expected = Counter((f["area"], f["check_id"], f["target"].replace(" ", ""), f["status"]) for f in blocking)
    assert shown == expected
