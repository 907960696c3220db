"""The report pages of a demo run, opened in a real browser with the network blocked (issue 14, item 8).

Playwright for Python drives Debian's ``chromium`` (``/usr/bin/chromium``, or ``HARDEN_CHROMIUM``):
no browser is downloaded. One browser serves the whole module; each page gets a fresh context
whose router lets through only ``file://`` URLs inside the report folder and aborts (and
records) everything else, so a page that reaches for a CDN, a font or another run's files fails
here even on a machine with network.

Locally the module skips when Playwright or chromium is missing; with ``CI=true`` it fails
instead (``.ci/run`` installs chromium).

Screenshots and PDFs are written to ``HARDEN_TEST_ARTIFACTS/browser/`` (default
``test-artifacts/browser/`` at the repository root, gitignored), for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("HARDEN_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("HARDEN_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
#: A4 in PDF points (1/72 inch): 210 x 297 mm.
A4 = (595.28, 841.89)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}: the browser tests must run in CI (.ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _chromium_available() -> None:
    """Session-scoped so that it runs before the session's ``demo_run``: a machine without
    chromium skips (or, in CI, fails) at once instead of after a whole demo audit."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(_chromium_available: None) -> Iterator[Any]:
    """One headless chromium for this file (starting one costs ~0.5 s; a context ~20 ms).

    Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running in the
    main thread while it is open, so a later test file in the same worker that calls
    ``asyncio.run`` would fail with "cannot be called from a running event loop".
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def run(browser: Any, demo_run: tuple[int, Path, Path]) -> tuple[Path, Path, dict[str, Any]]:
    """(reports folder, run folder, findings.json) of the session's demo run."""
    _, reports, run_dir = demo_run  # its verdict and exit code are test_e2e_run's business
    assert (run_dir / "index.html").is_file(), run_dir
    document = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))
    return reports.resolve(), run_dir.resolve(), document


@dataclass
class Visit:
    """One page opened offline: what it asked for outside its folder and what it complained about."""

    page: Any
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_inside: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"request outside the report folder: {u}" for u in self.outside]
            + [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"missing file: {u}" for u in self.failed_inside]
        )


def _inside(url: str, root: Path) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    path = Path(os.path.normpath(unquote(parts.path)))
    return path == root or root in path.parents


@contextlib.contextmanager
def visit(browser: Any, html: Path, root: Path, **context: Any) -> Iterator[Visit]:
    """Open ``html`` in a fresh context where only ``file://`` URLs under ``root`` are served."""
    ctx = browser.new_context(**context)
    ctx.set_default_timeout(15_000)
    record = Visit(page=None)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if _inside(url, root):
            request_route.continue_()
        else:
            record.outside.append(url)
            request_route.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    record.page = page
    page.on("console", lambda m: record.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record.page_errors.append(str(e)))
    page.on(
        "requestfailed",
        lambda r: record.failed_inside.append(r.url) if _inside(r.url, root) else None,
    )
    try:
        page.goto(html.as_uri(), wait_until="load")
        yield record
    finally:
        ctx.close()


def _pages(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("*.html"))


def _blockers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in document["findings"] if f.get("blocking")]


def _pdf_text(pdf: Path) -> tuple[list[tuple[float, float]], str]:
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    # NFKC: the PDF's fonts set "fi", "ff" … as ligature glyphs (U+FB01 …), extracted as such.
    return sizes, unicodedata.normalize("NFKC", "\n".join(p.extract_text() or "" for p in reader.pages))


def _squeeze(text: str) -> str:
    """Text without white space: a check id wrapped over two lines of a PDF still matches."""
    return re.sub(r"\s+", "", text)


def _artifacts(run_dir: Path) -> Path:
    folder = ARTIFACTS / run_dir.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- every page


@dataclass(frozen=True)
class Loaded:
    """What one page showed when opened offline (each page is opened once for the checks below)."""

    title: str
    text_length: int
    problems: tuple[str, ...]
    ids: frozenset[str]


@pytest.fixture(scope="module")
def loaded(browser: Any, run: tuple[Path, Path, dict[str, Any]]) -> dict[str, Loaded]:
    """Every page of the run folder, plus the all-runs index (which may load anything under reports/)."""
    reports, run_dir, _ = run
    out: dict[str, Loaded] = {}
    for html, root in [*((p, run_dir) for p in _pages(run_dir)), (reports / "index.html", reports)]:
        with visit(browser, html, root) as seen:
            page = seen.page
            out[html.name if root == run_dir else "reports/index.html"] = Loaded(
                title=page.title().strip(),
                text_length=len(page.inner_text("body").strip()),
                problems=tuple(seen.problems()),
                ids=frozenset(page.eval_on_selector_all("[id]", "nodes => nodes.map(n => n.id)")),
            )
    return out


def test_every_page_loads_offline_with_no_error_and_no_outside_request(loaded: dict[str, Loaded]) -> None:
    assert {"index.html", "summary.html", "headers.html", "tls.html", "reports/index.html"} <= set(loaded), loaded
    problems = {name: list(page.problems) for name, page in loaded.items() if page.problems}
    assert not problems, json.dumps(problems, indent=1)
    empty = {name: page.text_length for name, page in loaded.items() if page.text_length < 200}
    assert not empty, f"pages with almost no visible text: {empty}"


def test_every_page_title_names_the_page_the_environment_and_the_run(loaded, run) -> None:
    _, _, document = run
    wrong = {
        name: page.title
        for name, page in loaded.items()
        if name != "reports/index.html"
        and (page.title == "Notebook" or "demo" not in page.title or document["run_id"] not in page.title)
    }
    assert not wrong, wrong
    titles = [page.title for name, page in loaded.items() if name != "reports/index.html"]
    assert len(set(titles)) == len(titles), titles  # every tab tells which page it is


def test_a_page_reaching_outside_its_folder_is_caught(browser, tmp_path: Path) -> None:
    """The guard itself: a CDN script, a sibling folder's file and a console error are all reported."""
    folder = tmp_path / "run"
    folder.mkdir()
    (tmp_path / "other.css").write_text("body{}")
    (folder / "ok.css").write_text("body{color:#111}")
    page = folder / "page.html"
    page.write_text(
        "<!doctype html><title>t</title><link rel=stylesheet href=ok.css><link rel=stylesheet href=../other.css>"
        '<script src="https://cdn.example.invalid/lib.js"></script><script>console.error("broken")</script>'
        "<p>" + "text " * 50
    )
    with visit(browser, page, folder) as seen:
        assert sorted(seen.outside) == sorted([(tmp_path / "other.css").as_uri(), "https://cdn.example.invalid/lib.js"])
        assert "broken" in seen.console_errors
        assert not seen.failed_inside


def test_screenshots_of_the_overview_the_summary_and_an_area_page(browser, run) -> None:
    _, run_dir, _ = run
    out = _artifacts(run_dir)
    for name in ("index", "summary", "headers"):
        target = out / f"{name}.png"
        target.unlink(missing_ok=True)
        with visit(browser, run_dir / f"{name}.html", run_dir, viewport={"width": 1280, "height": 900}) as seen:
            assert not seen.problems(), seen.problems()
            seen.page.screenshot(path=str(target), full_page=True)
        data = target.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, (name, len(data))
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == 1280 and height >= 900, (name, width, height)


def test_the_overview_prints_to_a4_with_its_verdict_and_run_id(browser, run) -> None:
    _, run_dir, document = run
    pdf = _artifacts(run_dir) / "index.pdf"
    with visit(browser, run_dir / "index.html", run_dir) as seen:
        seen.page.emulate_media(media="print")
        seen.page.pdf(path=str(pdf), format="A4", print_background=True)
        assert not seen.problems(), seen.problems()
    sizes, text = _pdf_text(pdf)
    assert sizes and all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes), sizes
    assert "NO-GO" in text and document["run_id"] in _squeeze(text)


# --------------------------------------------------------------------------- explorable tables
# Selectors: /work/notes/browser-hooks.md (engineer B's contract), in the README's "Report pages".

SEVERITY_RANK = {name: rank for rank, name in enumerate(["critical", "high", "medium", "low", "info"])}
STATUS_RANK = {name: rank for rank, name in enumerate(["fail", "error", "warn", "manual", "waived", "pass", "skip"])}


def _table_with(page: Any, attribute: str) -> Any:
    """The first enhanced table whose rows carry at least two values of ``data-<attribute>``."""
    page.wait_for_selector("table[data-harden-table][data-harden-ready='1']", state="attached")
    for table in page.query_selector_all("table[data-harden-table][data-harden-ready='1']"):
        values = table.eval_on_selector_all(
            "tbody tr", f"rows => new Set(rows.map(r => r.getAttribute('data-{attribute}')).filter(Boolean)).size"
        )
        if values >= 2:
            return table
    raise AssertionError(f"no enhanced table with two values of data-{attribute}")


def _column_button(table: Any, label: str) -> Any:
    for button in table.query_selector_all("thead th button.harden-sort"):
        if button.inner_text().strip().lower() == label:
            return button
    raise AssertionError(f"no sort button for column '{label}'")


def _row_values(table: Any, attribute: str) -> list[str]:
    return table.eval_on_selector_all("tbody tr", f"rows => rows.map(r => r.getAttribute('data-{attribute}'))")


def _visible_rows(table: Any) -> list[dict[str, str]]:
    return table.eval_on_selector_all(
        "tbody tr:not([hidden])",
        "rows => rows.map(r => ({status: r.dataset.status, severity: r.dataset.severity, text: r.textContent}))",
    )


def _control(table: Any, selector: str) -> Any:
    """A control of ``table``'s bar (inserted just before it, inside its ``.harden-table-wrap``)."""
    found = table.evaluate_handle(f"t => t.closest('.harden-table-wrap, body').querySelector(\"{selector}\")")
    element = found.as_element()
    assert element is not None, selector
    return element


def _count_text(table: Any) -> str:
    return _control(table, "[data-harden-count]").text_content()


#: The sort value of each row's cell in column COLUMN (data-sort, else its text), in DOM order.
CELL_VALUES = (
    "rows => rows.map(r => { const c = r.cells[COLUMN]; return c ? (c.dataset.sort ?? c.textContent.trim()) : ''; })"
)


@pytest.mark.parametrize("page_name", ["headers", "summary"])
def test_sorting_follows_the_severity_and_status_model_both_ways(browser, run, page_name: str) -> None:
    _, run_dir, _ = run
    with visit(browser, run_dir / f"{page_name}.html", run_dir) as seen:
        for attribute, ranks in (("severity", SEVERITY_RANK), ("status", STATUS_RANK)):
            table = _table_with(seen.page, attribute)
            button = _column_button(table, attribute)
            header = button.evaluate_handle("b => b.closest('th')")
            button.click()
            assert header.get_attribute("aria-sort") == "ascending"
            order = [ranks[v] for v in _row_values(table, attribute)]
            assert order == sorted(order), (attribute, _row_values(table, attribute))
            button.click()
            assert header.get_attribute("aria-sort") == "descending"
            order = [ranks[v] for v in _row_values(table, attribute)]
            assert order == sorted(order, reverse=True), (attribute, _row_values(table, attribute))
        assert not seen.problems(), seen.problems()


def test_numbers_sort_as_numbers(browser, run) -> None:
    """On the overview's areas table a count of 10 sorts after 9 (not as text, before 2)."""
    _, run_dir, _ = run
    with visit(browser, run_dir / "index.html", run_dir) as seen:
        seen.page.wait_for_selector("table[data-harden-table][data-harden-ready='1']", state="attached")
        checked = 0
        for table in seen.page.query_selector_all("table[data-harden-table][data-harden-ready='1']"):
            buttons = table.query_selector_all("thead th button.harden-sort")
            for column, button in enumerate(buttons):
                read = CELL_VALUES.replace("COLUMN", str(column))
                values = table.eval_on_selector_all("tbody tr", read)
                numbers = [float(v) for v in values if re.fullmatch(r"-?\d+(\.\d+)?", v or "")]
                if len(numbers) != len(values) or len(set(numbers)) < 3:
                    continue
                button.click()
                after = [float(v) for v in table.eval_on_selector_all("tbody tr", read)]
                assert after == sorted(after), (column, after)
                checked += 1
        assert checked, "no numeric column with three or more distinct values on the overview"
        assert not seen.problems(), seen.problems()


def test_filters_search_and_folded_passes(browser, run) -> None:
    _, run_dir, _ = run
    with visit(browser, run_dir / "headers.html", run_dir) as seen:
        table = _table_with(seen.page, "status")
        rows = _row_values(table, "status")
        total = len(rows)
        # Passes are folded away by default (there are other rows to read first).
        assert "pass" in rows and any(v != "pass" for v in rows)
        assert all(r["status"] != "pass" for r in _visible_rows(table))
        shown = len(_visible_rows(table))
        assert _count_text(table) == f"showing {shown} of {total} rows"
        box = _control(table, "[data-harden-show-passes]")
        box.check()
        assert len(_visible_rows(table)) == total
        box.uncheck()

        controls = _control(table, ".harden-controls")
        status = controls.query_selector("select[data-harden-filter='status']")
        status.select_option("fail")
        visible = _visible_rows(table)
        assert visible and all(r["status"] == "fail" for r in visible)
        assert len(visible) == rows.count("fail")
        assert _count_text(table) == f"showing {len(visible)} of {total} rows"
        severity = controls.query_selector("select[data-harden-filter='severity']")
        if severity is not None:
            wanted = visible[0]["severity"]
            severity.select_option(wanted)
            both = _visible_rows(table)
            assert both and all(r["status"] == "fail" and r["severity"] == wanted for r in both)
            severity.select_option("")
        status.select_option("pass")  # choosing "pass" shows passes even with the box unchecked
        assert {r["status"] for r in _visible_rows(table)} == {"pass"}
        status.select_option("")

        # Search: a check id read from a shown row, typed in upper case, matched over every column.
        ids = re.findall(r"\b[a-z]+(?:\.[a-z0-9_]+)+\b", _visible_rows(table)[-1]["text"])
        assert ids, _visible_rows(table)[-1]["text"]
        needle = max(ids, key=len)
        search = controls.query_selector("input[data-harden-search]")
        search.fill(needle.upper())
        found = _visible_rows(table)
        assert found and all(needle in r["text"].lower() for r in found)
        hidden_matches = table.eval_on_selector_all(
            "tbody tr[hidden]",
            f"rows => rows.filter(r => r.textContent.toLowerCase().includes('{needle}')"
            " && r.dataset.status !== 'pass').length",
        )
        assert hidden_matches == 0
        search.fill("")
        assert len(_visible_rows(table)) == shown
        assert not seen.problems(), seen.problems()


def test_a_sort_control_is_reached_with_tab_and_activated_with_enter(browser, run) -> None:
    _, run_dir, _ = run
    with visit(browser, run_dir / "summary.html", run_dir) as seen:
        page = seen.page
        page.wait_for_selector("button.harden-sort", state="attached")
        for _ in range(300):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.matches('button.harden-sort')"):
                break
        else:
            raise AssertionError("no sort button reached with 300 presses of Tab")
        assert page.evaluate("document.activeElement.closest('th').getAttribute('aria-sort')") is None
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.closest('th').getAttribute('aria-sort')") == "ascending"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.closest('th').getAttribute('aria-sort')") == "descending"
        assert not seen.problems(), seen.problems()


# --------------------------------------------------------------------------- the decision page


def test_the_decision_page_lists_every_blocker_by_area_with_working_evidence_links(browser, run, loaded) -> None:
    _, run_dir, document = run
    blockers = _blockers(document)
    assert blockers, "the demo has blockers"
    with visit(browser, run_dir / "index.html", run_dir) as seen:
        assert seen.page.query_selector('a[href="executive.html"]'), "the overview links the decision page"
    with visit(browser, run_dir / "executive.html", run_dir) as seen:
        page = seen.page
        assert "NO-GO" in page.inner_text("#verdict")
        assert page.inner_text("[data-blocker-count]").strip() == str(len(blockers))
        listed = page.eval_on_selector_all(
            "#blockers tr[data-blocker]",
            "rows => rows.map(r => [r.closest('section[data-area]')?.dataset.area, r.dataset.checkId])",
        )
        assert sorted(c for _, c in listed) == sorted(b["check_id"] for b in blockers)
        assert sorted(map(tuple, listed)) == sorted((b["area"], b["check_id"]) for b in blockers)
        links = page.eval_on_selector_all("#blockers a.evidence", "links => links.map(a => a.getAttribute('href'))")
        assert problems_free(seen)
    assert links
    # From the decision page to the evidence: every link lands on an element of a page of the run.
    for href in links:
        name, _, anchor = href.partition("#")
        assert "/" not in name and name in loaded, href
        assert anchor in loaded[name].ids, href


def problems_free(seen: Visit) -> bool:
    assert not seen.problems(), seen.problems()
    return True


def test_the_decision_page_prints_to_a4_with_every_blocker(browser, run) -> None:
    _, run_dir, document = run
    blockers = _blockers(document)
    pdf = _artifacts(run_dir) / "executive.pdf"
    with visit(browser, run_dir / "executive.html", run_dir) as seen:
        seen.page.emulate_media(media="print")
        seen.page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
        assert problems_free(seen)
    sizes, text = _pdf_text(pdf)
    assert sizes and all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes), sizes
    squeezed = _squeeze(text)
    missing = sorted({b["check_id"] for b in blockers if b["check_id"] not in squeezed})
    assert not missing, f"blockers missing from the printed decision page: {missing}"
    assert "NO-GO" in text and document["run_id"] in squeezed


#: Each table's header cells and, per row shown, the start of its last cell (rightmost column).
EDGES = """() => [...document.querySelectorAll('table')].map(t => ({
  heads: t.tHead ? [...t.tHead.rows[t.tHead.rows.length - 1].cells].map(c => c.textContent.trim()) : [],
  lasts: [...t.tBodies].flatMap(b => [...b.rows]).filter(r => !r.hidden && r.cells.length)
    .map(r => r.cells[r.cells.length - 1].textContent.trim().slice(0, 24)).filter(Boolean),
}))"""


@pytest.mark.parametrize("page_name", ["summary", "containers", "headers"])
def test_printing_keeps_every_column_of_wide_tables(browser, run, page_name: str) -> None:
    """The pages with the widest tables (wider than A4 on screen) print every header and every
    shown row's rightmost cell: the summary's top failures once lost columns on paper."""
    _, run_dir, _ = run
    pdf = _artifacts(run_dir) / f"{page_name}-print.pdf"
    with visit(browser, run_dir / f"{page_name}.html", run_dir) as seen:
        seen.page.emulate_media(media="print")
        tables = seen.page.evaluate(EDGES)
        seen.page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
        assert problems_free(seen)
    _, text = _pdf_text(pdf)
    printed = _squeeze(text)
    missing = {
        index: [c for c in table["heads"] + table["lasts"] if _squeeze(unicodedata.normalize("NFKC", c)) not in printed]
        for index, table in enumerate(tables)
    }
    missing = {index: cells for index, cells in missing.items() if cells}
    assert tables and not missing, missing
