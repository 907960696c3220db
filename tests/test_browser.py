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
import time
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module (starting one costs ~0.5 s; a context ~20 ms)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def run(demo_run: tuple[int, Path, Path]) -> tuple[Path, Path, dict[str, Any]]:
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
    return sizes, "\n".join(p.extract_text() or "" for p in reader.pages)


def _squeeze(text: str) -> str:
    """Text without white space: a check id wrapped over two lines of a PDF still matches."""
    return re.sub(r"\s+", "", text)


def _artifacts(run_dir: Path) -> Path:
    folder = ARTIFACTS / run_dir.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- every page


def test_every_page_loads_offline_with_no_error_and_no_outside_request(browser, run) -> None:
    reports, run_dir, _ = run
    pages = _pages(run_dir)
    names = {p.name for p in pages}
    assert {"index.html", "summary.html", "headers.html", "tls.html"} <= names, names
    problems: dict[str, list[str]] = {}
    started = time.monotonic()
    for html in pages:
        with visit(browser, html, run_dir) as seen:
            title = seen.page.title().strip()
            text = seen.page.inner_text("body").strip()
            found = seen.problems()
            if not title:
                found.append("no <title>")
            if len(text) < 200:
                found.append(f"almost no visible text ({len(text)} characters)")
            if found:
                problems[html.name] = found
    # The all-runs index links into run folders: it may load what is under reports/, nothing else.
    with visit(browser, reports / "index.html", reports) as seen:
        if seen.problems():
            problems["reports/index.html"] = seen.problems()
    assert not problems, json.dumps(problems, indent=1)
    assert time.monotonic() - started < 30 * max(1, len(pages) // 10)  # ~0.2 s a page here


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
