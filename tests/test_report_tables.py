"""Report tables, shared assets, contrast and page shell (issue 14, items 2-4), on real rendered HTML.

Parsed with ``html.parser`` (what a browser would build as elements), never by substring alone:
a hostile ``<script>`` in a cell must be text, a header cell must have a scope, the colours the
shipped stylesheet uses must meet WCAG AA.
"""

from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from harden_lib import render
from harden_lib.findings import STATUS_ORDER, Status
from harden_lib.render import (
    CELL_CAP,
    FOLD_CHARS,
    REPORT_ASSETS,
    STATUS_COLOURS,
    ReportTable,
    finding_anchor,
    notebook_to_html,
    style_findings,
    table_html,
    use_report_tables,
    write_assets,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CSS = (REPORT_ASSETS / "harden.css").read_text(encoding="utf-8")
JS = (REPORT_ASSETS / "tables.js").read_text(encoding="utf-8")


class Page(HTMLParser):
    """Elements as a browser sees them: tags with attributes, text per element, scripts' bodies."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.text_in: dict[str, list[str]] = {}
        self.script_bodies: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        for tag in set(self.stack):
            self.text_in.setdefault(tag, []).append(data)
        if self.stack and self.stack[-1] == "script":
            self.script_bodies.append(data)

    def tags(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def text(self, tag: str) -> str:
        return "".join(self.text_in.get(tag, []))


def frame(rows: int = 3, observed: str = "ok") -> pd.DataFrame:
    statuses = ["fail", "pass", "warn", "error", "skip", "waived", "manual"]
    severities = ["critical", "high", "medium", "low", "info"]
    return pd.DataFrame(
        {
            "area": [("headers", "tls")[i % 2] for i in range(rows)],
            "check_id": [f"headers.rule_{i}" for i in range(rows)],
            "status": [statuses[i % len(statuses)] for i in range(rows)],
            "severity": [severities[i % len(severities)] for i in range(rows)],
            "target": [f"https://app.example.test/p{i}" for i in range(rows)],
            "observed": [observed] * rows,
            "seconds": [i * 1.25 for i in range(rows)],
        }
    )


# --------------------------------------------------------------------------- tables


def test_hostile_cell_text_and_column_names_stay_text():
    data = frame(2, observed=HOSTILE)
    data[HOSTILE] = HOSTILE
    page = Page(table_html(data))
    assert not page.tags("script") and not page.tags("img"), "markup from a server became elements"
    assert HOSTILE in page.text("td") and HOSTILE in page.text("th")
    for _tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), attrs


def test_header_cells_have_scope_and_rows_carry_filter_attributes():
    data = frame(7).set_index("check_id")
    page = Page(table_html(data))
    ths = page.tags("th")
    col_heads = [a for a in ths if a.get("scope") == "col"]
    row_heads = [a for a in ths if a.get("scope") == "row"]
    assert len(col_heads) == len(data.columns) + 1  # the named index is a column too
    assert len(row_heads) == 7 and len(ths) == len(col_heads) + len(row_heads)
    rows = [a for a in page.tags("tr") if "data-status" in a]
    assert [r["data-status"] for r in rows] == list(data["status"])
    assert {r["data-area"] for r in rows} == {"headers", "tls"}
    assert [r["data-severity"] for r in rows] == list(data["severity"])
    table = page.tags("table")[0]
    assert "data-harden-table" in table


def test_status_and_severity_sort_by_the_model_not_the_alphabet():
    page = Page(table_html(frame(7)))
    cells = [a for a in page.tags("td") if "class" in a and a["class"].startswith("s-")]
    ranks = {s.value: i for i, s in enumerate(STATUS_ORDER)}
    assert [int(c["data-sort"]) for c in cells] == [ranks[c["class"][2:]] for c in cells]
    numbers = [a for a in page.tags("td") if a.get("class") == "num"]
    assert [float(c["data-sort"]) for c in numbers] == [i * 1.25 for i in range(7)]
    # numpy scalars are written as plain numbers, never 'np.float64(…)'
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", c["data-sort"]) for c in numbers)


def test_long_evidence_folds_and_its_cap_is_shown():
    long_text = "default-src 'self'; " + " ".join(f"https://cdn{i}.example.test" for i in range(800))
    page_html = table_html(frame(1, observed=long_text))
    page = Page(page_html)
    assert [a for a in page.tags("details") if a.get("class") == "harden-long"]
    summary = page.text("summary")
    assert summary.startswith(long_text[:FOLD_CHARS]) and summary.endswith("…")
    full = re.search(r'<div class="harden-full brk">(.*?)</div>', page_html, re.S).group(1)
    assert html.unescape(full) == long_text[:CELL_CAP]
    assert f"cut at {CELL_CAP:,} of {len(long_text):,} characters" in page.text("p")
    # a cell under the fold limit is plain text, not folded
    assert "<details" not in table_html(frame(1, observed="x" * FOLD_CHARS))


def test_long_tokens_may_break_short_words_stay_whole():
    page = Page(table_html(pd.DataFrame({"target": ["demo.env:DSTREAM_XMR_SESSION_SECRET", "cache"]})))
    spans = [a for a in page.tags("span") if a.get("class") == "brk"]
    assert len(spans) == 1  # only the long token
    assert "overflow-wrap: break-word" in CSS and re.search(r"\.brk\s*\{\s*overflow-wrap:\s*anywhere", CSS)


def test_rows_past_the_cap_are_counted_in_the_caption(monkeypatch):
    monkeypatch.setattr(render, "ROW_CAP", 5)
    page = Page(table_html(frame(12)))
    assert len([a for a in page.tags("tr") if "data-status" in a]) == 5
    assert "showing the first 5 of 12 rows" in page.text("caption")


def test_anchors_are_unique_and_match_finding_anchor():
    data = pd.concat([frame(3), frame(3)])  # duplicate rows: the id appears once
    page = Page(style_findings(data, ["check_id", "status"], anchors=True).to_html())
    ids = [a["id"] for a in page.tags("tr") if "id" in a]
    assert ids == [finding_anchor(f"headers.rule_{i}", f"https://app.example.test/p{i}") for i in range(3)]
    assert len(set(ids)) == len(ids)
    assert finding_anchor("a", "b") != finding_anchor("a", "c") and finding_anchor("a", "b").startswith("f-")


def test_style_findings_keeps_row_attributes_of_hidden_columns():
    table = style_findings(frame(3), ["check_id", "observed"])
    assert isinstance(table, ReportTable) and list(table.data.columns) == ["check_id", "observed"]
    page = Page(table._repr_html_())
    assert len(page.tags("th")) == 2
    assert [a["data-status"] for a in page.tags("tr") if "data-status" in a] == ["fail", "pass", "warn"]


def test_kernel_dataframes_are_shown_whole_not_cut_by_pandas():
    """pandas' notebook HTML shows 10 of 289 rows and 50 characters per cell; report tables show all."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert use_report_tables(shell)
        params = pd.DataFrame({"key": [f"k{i}" for i in range(289)], "value": ["v" * 120] * 289})
        data, _ = shell.display_formatter.format(params)
        html = data["text/html"]
        page = Page(html)
        assert len(page.tags("tr")) == 290 and "data-harden-table" in page.tags("table")[0]
        assert "v" * 120 in page.text("td")
    finally:
        shell.display_formatter.formatters["text/html"].pop(pd.DataFrame, None)
        InteractiveShell.clear_instance()


# --------------------------------------------------------------------------- contrast


def _luminance(hex_colour: str) -> float:
    hex_colour = hex_colour.lstrip("#")
    if len(hex_colour) == 3:
        hex_colour = "".join(c * 2 for c in hex_colour)
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _css_vars() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", CSS))


def test_contrast_helper_matches_known_ratios():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic "just fails AA" grey
    assert contrast("#ef8f00", "#ffffff") < 4.5 and contrast("#9e9e9e", "#ffffff") < 4.5  # the old warn / skip


@pytest.mark.parametrize("status", [s.value for s in Status])
def test_status_colours_in_the_shipped_css_meet_wcag_aa(status):
    variables = _css_vars()
    text = variables[status]
    rule = re.search(rf"\.s-{status}\s*\{{\s*color:\s*var\(--{status}\)", CSS)
    assert rule, f".s-{status} does not use var(--{status})"
    tint = re.search(rf"td\.s-{status}\s*\{{\s*background:\s*(#[0-9a-fA-F]{{6}})", CSS).group(1)
    assert contrast(text, "#ffffff") >= 4.5, (status, text)
    assert contrast(text, tint) >= 4.5, (status, text, tint)
    assert contrast(text, variables["head"]) >= 4.5  # a status word in a header cell
    # charts draw the same colours with white labels on the bars
    assert STATUS_COLOURS[Status(status)].lower() == text.lower()
    assert contrast("#ffffff", STATUS_COLOURS[Status(status)]) >= 4.5


def test_other_text_colours_meet_wcag_aa():
    variables = _css_vars()
    for name in ("fg", "muted", "link"):
        for background in ("#ffffff", variables["head"]):
            assert contrast(variables[name], background) >= 4.5, (name, background)
    for verdict in ("GO", "NO-GO", "ERROR"):
        rule = re.search(rf"\.{verdict} \{{ background: (#\w+); color: (#\w+);", CSS)
        assert contrast(rule.group(2), rule.group(1)) >= 4.5, verdict


# --------------------------------------------------------------------------- assets and page shell


def test_assets_need_no_network_and_write_no_markup():
    for text in (CSS, JS):
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), "an asset names a remote URL"
        assert "@import" not in text and "url(" not in text
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", JS, flags=re.S)  # comments may name what the code avoids
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "fetch(", "XMLHttpRequest"):
        assert sink not in code, sink
    assert "textContent" in code


def test_write_assets_copies_once_and_repairs(tmp_path):
    folder = write_assets(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["harden.css", "tables.js"]
    css = folder / "harden.css"
    before = css.stat().st_mtime_ns
    write_assets(tmp_path)
    assert css.stat().st_mtime_ns == before  # unchanged: not rewritten
    css.write_text("broken")
    write_assets(tmp_path)
    assert css.read_text(encoding="utf-8") == CSS


def _page_notebook(nav: list[dict], **extra) -> nbformat.NotebookNode:
    table = style_findings(frame(4, observed=HOSTILE), anchors=True).to_html()
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Security headers\nWhy headers matter."),
            new_code_cell(
                "show()",
                outputs=[new_output("display_data", data={"text/html": table, "text/plain": "table"})],
            ),
        ]
    )
    notebook.metadata["harden"] = {
        "title": "Security headers",
        "environment": "prod<b>",
        "run_id": "20261130T210501Z-3fa2",
        "generated": "2026-11-30T21:05:09+00:00",
        "version": "0.x",
        "page_title": "Security headers · prod<b> · 20261130T210501Z-3fa2",
        "page": "headers",
        "nav": nav,
        **extra,
    }
    return notebook


NAV = [
    {"label": "Overview", "href": "index.html", "kind": "overview", "current": False},
    {"label": "Decision", "href": "executive.html", "kind": "executive", "current": False},
    {"label": "Summary", "href": "summary.html", "kind": "summary", "current": False},
    {"label": "Security headers", "href": "headers.html", "kind": "area", "area": "headers", "current": True},
    {"label": "TLS <i>", "href": "tls.html", "kind": "area", "area": "tls", "current": False},
]


def test_area_page_has_title_nav_shared_assets_and_no_lab_css():
    html = notebook_to_html(_page_notebook(NAV, partial=True))
    page = Page(html)
    assert page.text("title") == "Security headers · prod<b> · 20261130T210501Z-3fa2"
    links = {a["href"]: a for a in page.tags("a")}
    for item in NAV:
        assert item["href"] in links, item
    assert links["headers.html"].get("aria-current") == "page" and "aria-current" not in links["tls.html"]
    assert "TLS <i>" in page.text("nav") and not page.tags("i")
    stylesheets = [a["href"] for a in page.tags("link") if a.get("rel") == "stylesheet"]
    assert stylesheets == ["assets/harden.css"]
    assert [a["src"] for a in page.tags("script")] == ["assets/tables.js"]
    assert not page.script_bodies, "no inline script"
    inline_css = sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    assert inline_css < 1000, f"{inline_css} characters of inline CSS (JupyterLab's was ~265 KB)"
    assert len(html.encode()) < 20_000, len(html.encode())
    assert "--jp-" not in html and "jp-RenderedHTMLCommon {" not in html
    assert "Partial run" in page.text("p")
    assert not [t for t, a in page.elements if t in ("img", "iframe")] and HOSTILE in page.text("td")


def test_nav_entries_that_leave_the_run_folder_are_dropped():
    nav = [
        {"label": "evil", "href": "javascript:alert(1)"},
        {"label": "up", "href": "../other/index.html"},
        {"label": "abs", "href": "https://example.test/x.html"},
        {"label": "Overview", "href": "index.html", "current": False},
    ]
    page = Page(notebook_to_html(_page_notebook(nav)))
    hrefs = [a["href"] for a in page.tags("a") if a.get("href") and not a["href"].startswith("#")]
    assert hrefs == ["index.html"], hrefs


def test_page_without_nav_metadata_still_links_the_overview():
    notebook = _page_notebook([])
    notebook.metadata["harden"].pop("page_title")
    page = Page(notebook_to_html(notebook))
    assert page.text("title") == "Security headers · prod<b> · 20261130T210501Z-3fa2"
    assert "index.html" in [a.get("href") for a in page.tags("a")]


def test_run_index_lists_every_blocker_and_links_the_decision_page(tmp_path):
    from harden_lib.findings import Finding, Severity
    from harden_lib.reports_index import write_run_index

    blockers = [
        Finding(
            area=("headers", "tls", "config")[i % 3],
            check_id=f"headers.rule_{i}",
            title=f"Rule {i} {HOSTILE}",
            status=Status.FAIL,
            severity=Severity.HIGH,
            target=f"https://app.example.test/{i}",
            remediation="Set the header.",
        )
        for i in range(64)
    ]
    info = {
        "environment": "prod",
        "run_id": "r1",
        "started": "2026-11-30T21:00:00+00:00",
        "duration_s": 3.0,
        "versions": {"harden": "0.x"},
        "params_digest": "abc",
        "verdict": "NO-GO",
        "headline": "NO-GO for prod",
        "areas": [
            {"area": a, "title": t, "ok": True, "seconds": 1.0, "html": f"{a}.html", "counts": {"fail": 2}}
            for a, t in (("headers", "Security headers"), ("tls", "TLS"), ("summary", "Summary"))
        ],
        "partial": True,
        "areas_selected": ["headers", "tls"],
    }
    html = write_run_index(tmp_path, info, blockers).read_text(encoding="utf-8")
    page = Page(html)
    rows = [a for a in page.tags("tr") if a.get("data-status") == "fail"]
    assert len(rows) == 64, "every blocker is listed, none cut"
    assert "What keeps the gate closed (64)" in page.text("h2")
    assert not page.tags("img") and HOSTILE in page.text("td")
    hrefs = [a.get("href", "") for a in page.tags("a")]
    assert "executive.html" in hrefs and "summary.html" in hrefs
    assert f"headers.html#{finding_anchor('headers.rule_0', 'https://app.example.test/0')}" in hrefs
    assert not any(h.startswith("config.html") for h in hrefs)  # no page for that area: no dead link
    assert (tmp_path / "assets" / "harden.css").is_file() and (tmp_path / "assets" / "tables.js").is_file()
    assert "Partial run" in page.text("p") and "headers, tls" in page.text("p")
    assert all(a.get("scope") in ("col", "row") for a in page.tags("th"))


def test_demo_pages_share_one_stylesheet_and_stay_small(demo_run):
    """Every page of a real run links the run's assets; a page's size is mostly its own content."""
    _, _, run_dir = demo_run
    assert (run_dir / "assets" / "harden.css").is_file() and (run_dir / "assets" / "tables.js").is_file()
    sizes = {}
    for path in sorted(run_dir.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        page = Page(html)
        assert "assets/harden.css" in [a.get("href") for a in page.tags("link")], path.name
        inline_css = sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
        assert inline_css < 2000, (path.name, inline_css)
        images = sum(len(m) for m in re.findall(r'src="data:image/[^"]+"', html))
        sizes[path.name] = (len(html.encode()), images)
        assert page.text("title").strip() and page.text("title") != "Notebook", path.name
        for th in page.tags("th"):
            assert th.get("scope") in ("col", "row"), (path.name, th)
        for img in page.tags("img"):
            assert img.get("alt", "").strip() not in ("", "chart"), (path.name, "a chart without its title as alt")
    for name, (size, images) in sizes.items():
        assert size - images < 200_000, (name, size, images)
    findings = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))["findings"]
    blocking = [f for f in findings if f.get("blocking")]
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert f"What keeps the gate closed ({len(blocking)})" in index


def test_css_prints_to_a4_with_wrapping_tables():
    assert re.search(r"@page\s*\{\s*size:\s*A4", CSS)
    print_block = CSS[CSS.index("@media print") :]
    assert "thead { display: table-header-group; }" in print_block
    assert "overflow: visible" in print_block  # scroll boxes would cut columns on paper
    assert not re.search(r"(?<![-\w])width:\s*\d{3,}px", CSS), "a fixed width wider than a page"


def test_verdict_banner_lists_every_blocker_and_says_how_many_are_folded():
    from harden_lib.findings import Finding, GateResult, Severity

    blocking = tuple(
        Finding(
            area="headers",
            check_id=f"headers.rule_{i}",
            title=f"Rule {i} {HOSTILE}",
            status=Status.FAIL,
            severity=Severity.HIGH,
            target=f"https://app.example.test/{i}",
        )
        for i in range(52)
    )
    page = Page(render.verdict_banner(GateResult(go=False, fail_on=Severity.HIGH, blocking=blocking), "prod"))
    items = page.text("li")
    assert all(f"headers.rule_{i} on" in items for i in range(52)), "a blocker is missing from the banner"
    assert "the other 42 of 52 blockers" in page.text("summary")
    assert "more" not in page.text("div").replace("decision", "")  # no bare "… and 42 more"
    assert not page.tags("img") and "executive.html" in [a.get("href") for a in page.tags("a")]


def test_markdown_and_styler_tables_get_header_scopes_too():
    """Tables harden does not build itself (Markdown, a drift ``Styler``) still get ``<th scope>``."""
    styler = pd.DataFrame({"prod": ["pass"], "staging": [HOSTILE]}, index=["headers.hsts"]).style.format(escape="html")
    notebook = new_notebook(
        cells=[
            new_markdown_cell("| check | status |\n| --- | --- |\n| hsts | pass |"),
            new_code_cell("x", outputs=[new_output("display_data", data={"text/html": styler.to_html()})]),
        ]
    )
    notebook.metadata["harden"] = {"title": "Drift", "environment": "prod", "run_id": "r"}
    page = Page(notebook_to_html(notebook))
    scopes = [a.get("scope") for a in page.tags("th")]
    assert scopes and None not in scopes
    assert scopes.count("row") == 1  # the Styler's row label
    assert HOSTILE in page.text("td") and not page.tags("img")


def test_one_h1_per_page():
    """The notebook's own '# Title' is the page heading; the banner adds one only when there is none."""
    with_heading = Page(notebook_to_html(_page_notebook(NAV)))
    assert with_heading.text("h1").count("Security headers") == 1
    notebook = _page_notebook(NAV)
    notebook.cells = notebook.cells[1:]
    without = Page(notebook_to_html(notebook))
    assert len(without.tags("h1")) == 1 and "Security headers" in without.text("h1")


def test_charts_have_a_text_alternative_and_it_stays_an_attribute():
    """Each chart's alt is its title (render.figure_alt); a hostile title cannot leave the attribute."""
    from harden_lib.findings import Finding, Severity
    from harden_lib.render import empty_chart, figure_alt, figure_png, plot_status_counts

    assert figure_alt(empty_chart("no certificate could be read")) == "no certificate could be read"
    chart = plot_status_counts(
        [Finding(area="a", check_id="a.b", title="t", status=Status.FAIL, severity=Severity.HIGH)], title="TLS: status"
    )
    assert figure_alt(chart) == "TLS: status"
    png = base64.b64encode(figure_png(chart)).decode()
    hostile_alt = f'" onerror="alert(1)" x="{HOSTILE}'
    output = new_output("display_data", data={"image/png": png}, metadata={"image/png": {"alt": hostile_alt}})
    notebook = _page_notebook(NAV)
    notebook.cells.append(new_code_cell("show_figure(fig)", outputs=[output]))
    page = Page(notebook_to_html(notebook))
    images = page.tags("img")
    assert len(images) == 1 and images[0]["alt"] == hostile_alt and "onerror" not in images[0]
