"""Showing findings: styled tables and charts in notebooks, and notebooks as offline HTML.

Charts are displayed as explicit PNG images. A bare ``matplotlib.figure.Figure`` displayed in
a kernel yields only ``text/plain`` unless pyplot's inline backend happened to be activated,
so the chart silently vanished from reports; an ``Image`` always carries its pixels.

Text from params or a scanned server never reaches Markdown raw: nbconvert renders Markdown
outputs with raw HTML and live links (``[x](javascript:…)``, ``<img onerror=…>``). Notebooks
build their Markdown with ``md_escape`` / ``md_url`` / ``environment_line``, and as a second
line of defence ``notebook_to_html`` renders every Markdown *output* itself and keeps only safe
tags, attributes and link schemes (http, https, mailto, in-page anchors).
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden_lib.findings import SEVERITY_ORDER, STATUS_ORDER, Finding, GateResult, Status, findings_frame
from harden_lib.redact import redact_url, scrub_output

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

#: One colour per status, used by tables and charts alike so a report reads consistently.
#: Each is dark enough for WCAG AA (4.5:1) as text on white, on its row tint (``_CELL_BACKGROUND``) and
#: behind the white labels of chart bars; ``report_assets/harden.css`` uses the same values (a test
#: computes the ratios from the shipped CSS and compares both).
STATUS_COLOURS: dict[str, str] = {
    Status.PASS: "#1b5e20",
    Status.FAIL: "#b71c1c",
    Status.WARN: "#8a4600",
    Status.ERROR: "#6a1b9a",
    Status.SKIP: "#57606a",
    Status.MANUAL: "#0d47a1",
    Status.WAIVED: "#005f56",
}
_CELL_BACKGROUND = {
    Status.PASS: "#e8f5e9",
    Status.FAIL: "#ffebee",
    Status.WARN: "#fff3e0",
    Status.ERROR: "#f3e5f5",
    Status.SKIP: "#f5f5f5",
    Status.MANUAL: "#e3f2fd",
    Status.WAIVED: "#e0f2f1",
}

TEMPLATES = Path(__file__).parent / "templates"
#: CSS and JS shared by every page of a run, copied once into ``<run>/assets/`` (``write_assets``).
REPORT_ASSETS = Path(__file__).parent / "report_assets"
ASSETS_DIR = "assets"
ASSET_FILES: tuple[str, ...] = ("harden.css", "tables.js")


# --------------------------------------------------------------------------- Markdown text

#: Characters with a meaning in Markdown (CommonMark lets any ASCII punctuation be backslash-escaped).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def md_escape(value: object) -> str:
    """Text from params or a server, safe inside Markdown: shown as written, never interpreted.

    Whitespace is collapsed to single spaces (no new block, heading or list can start), every
    Markdown punctuation character is backslash-escaped (no emphasis, link, image, autolink:
    ``:`` is escaped too, so ``javascript:``/``https://`` text is never linkified), ``& < >``
    become entities (no raw HTML), and known secrets and URL credentials are scrubbed.
    """
    text = " ".join(scrub_output(str(value)).split())
    return escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def md_url(url: object) -> str:
    """A URL for a Markdown heading or sentence: credentials redacted, then ``md_escape``."""
    return md_escape(redact_url(str(url)))


def environment_line(env: Environment) -> str:
    """The line every area notebook opens with: environment name and (escaped) description."""
    description = md_escape(env.description) if env.description.strip() else "_no description_"
    return f"Environment **{md_escape(env.name)}** — {description}"


def figure(width: float = 7.0, height: float = 3.5) -> Figure:
    """A new figure independent of pyplot's global state (safe in threads and kernels)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def empty_chart(message: str, width: float = 6.5, height: float = 1.2) -> Figure:
    """A small chart that says why there is nothing to draw (every area's charts use it).

    A report with a silently missing chart reads as "broken"; one that says "no certificate
    could be read" tells the reader where to look.
    """
    fig = figure(width, height)
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The chart as PNG, cropped to everything drawn: a title or label longer than the figure (a URL)
    widens the picture instead of being clipped at the figure's edge (issue 14)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.08)
    return buffer.getvalue()


def figure_alt(fig: Figure) -> str:
    """A chart's text alternative: its titles, else the text it shows (an empty chart's reason).

    Screen readers announce it; the report template writes it as the image's ``alt``.
    """
    parts = [fig.get_suptitle()] if fig.get_suptitle() else []
    for ax in fig.axes:
        title = ax.get_title()
        if title:
            parts.append(title)
        elif not parts:
            parts.extend(t.get_text() for t in ax.texts if t.get_text())
    text = " · ".join(" ".join(p.split()) for p in parts if p.strip())
    return text[:300] or "chart"


def show_figure(fig: Figure) -> None:
    """Display a chart so that it survives into the executed notebook and the HTML report."""
    from IPython.display import Image, display

    display(Image(data=figure_png(fig), format="png"), metadata={"image/png": {"alt": figure_alt(fig)}})


# --------------------------------------------------------------------------- report tables

#: A cell longer than this folds into a ``<details>``: its first characters stay visible, the rest
#: opens on demand (and when printing).
FOLD_CHARS = 160
#: At most this many characters of one cell reach a page: a scanned server controls some of the
#: text. The page says where a cell was cut ("cut at 4,000 of N characters").
CELL_CAP = 4000
#: At most this many rows of one table reach a page; the caption says how many were left out.
ROW_CAP = 5000

NUM_CLASS = ' class="num"'
_SEVERITY_RANK = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}
_STATUS_RANK = {s.value: i for i, s in enumerate(STATUS_ORDER)}


def finding_anchor(check_id: object, target: object) -> str:
    """The id of a finding's row on its area page, so other pages can link to its evidence.

    Derived from check id and target only (no secret: targets are scrubbed before any page is
    written), so the executive page computes the same anchor from ``findings.json``.
    """
    import hashlib

    digest = hashlib.sha256(f"{check_id}\x00{target}".encode()).hexdigest()[:12]
    return f"f-{digest}"


def _cell_text(value: Any) -> str:
    """A cell as plain text: empty for missing values, whole numbers without ``.0``, lists joined."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_cell_text(v) for v in value)
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return str(value)


#: A run of this many characters without a space (a URL, an env key, a hash) may break anywhere.
_LONG_TOKEN = re.compile(r"\S{24,}")


def breakable(text: str) -> str:
    """Escaped text; when it holds a long unbroken token, marked so the table may break it anywhere.

    Table cells wrap at spaces (``overflow-wrap: break-word``) so short words stay whole; only a
    cell with a long token gets ``class="brk"`` (``overflow-wrap: anywhere``), which lets the
    table fit the page instead of growing wider than it (screen and print).
    """
    escaped = escape(text)
    return f'<span class="brk">{escaped}</span>' if _LONG_TOKEN.search(text) else escaped


def cell_html(value: Any) -> str:
    """One cell's content, escaped; long text folded into ``<details>`` and capped at ``CELL_CAP``."""
    text = _cell_text(value)
    if len(text) <= FOLD_CHARS:
        return breakable(text)
    shown = text[:CELL_CAP]
    cut = f'<p class="harden-cut">cut at {CELL_CAP:,} of {len(text):,} characters</p>' if len(text) > CELL_CAP else ""
    return (
        f'<details class="harden-long"><summary>{breakable(text[:FOLD_CHARS])}…</summary>'
        f'<div class="harden-full brk">{escape(shown)}</div>{cut}</details>'
    )


def _sort_number(value: Any) -> str:
    """A number as the table script compares it (``1.5``; numpy scalars' repr would not parse)."""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return escape(str(value), quote=True)


def _is_number(series: Any) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _label(name: Any) -> str:
    if isinstance(name, tuple):
        return " / ".join(_cell_text(part) for part in name if _cell_text(part))
    return _cell_text(name)


def _show_index(frame: pd.DataFrame) -> bool:
    """Show the index when it carries meaning (named, or labels rather than row numbers)."""
    import pandas as pd

    if any(name is not None for name in frame.index.names):
        return True
    return not (isinstance(frame.index, pd.RangeIndex) or pd.api.types.is_integer_dtype(frame.index))


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    index: bool | None = None,
    anchors: bool = False,
    caption: str | None = None,
) -> str:
    """A DataFrame as an escaped, explorable report table (``assets/tables.js`` sorts and filters it).

    Every cell is escaped here (a scanned server controls some of the text); header cells are
    ``<th scope>``; rows carry ``data-status``/``data-severity``/``data-area`` from the whole frame
    (also when those columns are not shown) for the filters, and ``anchors`` gives each finding row
    the id ``finding_anchor(check_id, target)``. Nothing is cut silently: long cells fold with their
    cap shown, and a caption says when rows were left out (``ROW_CAP``).
    """
    shown_columns = list(columns) if columns is not None else list(frame.columns)
    with_index = _show_index(frame) if index is None else index
    total = len(frame)
    rows = frame.iloc[:ROW_CAP]
    notes = [caption] if caption else []
    if total > ROW_CAP:
        notes.append(f"showing the first {ROW_CAP:,} of {total:,} rows")
    index_names = [_label(n) for n in frame.index.names] if with_index else []
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name in index_names)
    numeric = {c: _is_number(frame[c]) for c in shown_columns}
    head += "".join(f'<th scope="col"{NUM_CLASS if numeric[c] else ""}>{escape(_label(c))}</th>' for c in shown_columns)
    positions = {c: frame.columns.get_loc(c) for c in shown_columns}
    row_attr_columns = {k: k in frame.columns for k in ("status", "severity", "area", "check_id", "target")}
    seen_anchors: set[str] = set()
    body: list[str] = []
    for label, row in zip(rows.index, rows.itertuples(index=False, name=None), strict=True):
        values = dict(zip(frame.columns, row, strict=True))
        attrs = []
        for key in ("status", "severity", "area"):
            if row_attr_columns[key]:
                value = _cell_text(values[key])
                if value:
                    attrs.append(f'data-{key}="{escape(value, quote=True)}"')
        if anchors and row_attr_columns["check_id"] and row_attr_columns["target"]:
            anchor = finding_anchor(_cell_text(values["check_id"]), _cell_text(values["target"]))
            if anchor not in seen_anchors:
                seen_anchors.add(anchor)
                attrs.append(f'id="{anchor}"')
        cells = []
        if with_index:
            labels = label if isinstance(label, tuple) else (label,)
            cells.extend(f'<th scope="row">{cell_html(part)}</th>' for part in labels)
        for column in shown_columns:
            value = row[positions[column]] if isinstance(positions[column], int) else values[column]
            text = _cell_text(value)
            if column == "status" and text in _STATUS_RANK:
                cells.append(f'<td class="s-{text}" data-sort="{_STATUS_RANK[text]}">{escape(text)}</td>')
            elif column == "severity" and text in _SEVERITY_RANK:
                cells.append(f'<td data-sort="{_SEVERITY_RANK[text]}">{escape(text)}</td>')
            elif numeric[column]:
                sort = f' data-sort="{_sort_number(value)}"' if text else ""
                cells.append(f'<td class="num"{sort}>{escape(text)}</td>')
            else:
                cells.append(f"<td>{cell_html(value)}</td>")
        body.append(f"<tr {' '.join(attrs)}>{''.join(cells)}</tr>" if attrs else f"<tr>{''.join(cells)}</tr>")
    caption_html = f"<caption>{escape(' · '.join(notes))}</caption>" if notes else ""
    return (
        '<div class="harden-table-wrap"><table class="harden-table" data-harden-table>'
        f"{caption_html}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


class ReportTable:
    """A table for a report page: escaped cells, header cells with scope, explorable offline.

    Displayed in a notebook it renders with ``table_html`` (``_repr_html_``); ``to_html()`` gives
    the same markup. It replaces pandas' ``Styler``, whose per-cell CSS made pages heavy and
    whose header cells had no scope.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        columns: Iterable[str] | None = None,
        *,
        anchors: bool = False,
        caption: str | None = None,
    ) -> None:
        self.frame = frame
        self.columns = list(columns) if columns is not None else list(frame.columns)
        self.anchors = anchors
        self.caption = caption

    @property
    def data(self) -> pd.DataFrame:
        """The shown columns, as a DataFrame (what ``Styler.data`` gave)."""
        return self.frame[self.columns]

    def to_html(self) -> str:
        return table_html(self.frame, self.columns, index=False, anchors=self.anchors, caption=self.caption)

    def _repr_html_(self) -> str:
        return self.to_html()


def style_findings(frame: pd.DataFrame, columns: Iterable[str] | None = None, *, anchors: bool = False) -> ReportTable:
    """A findings table coloured by status, every cell HTML-escaped (scanned servers control some text)."""
    return ReportTable(frame, columns, anchors=anchors)


def _frame_html(frame: Any) -> str | None:
    """IPython's HTML formatter for DataFrames in harden's kernels (see ``use_report_tables``)."""
    try:
        return table_html(frame)
    except Exception:  # a frame shape this renderer does not know: pandas' own (escaped) table
        return frame.to_html(escape=True, max_rows=ROW_CAP)


def use_report_tables(shell: Any = None) -> bool:
    """Make every DataFrame a notebook displays a full, escaped, explorable report table.

    pandas' notebook HTML cuts tables to 10 of their rows past 60 and cells at 50 characters,
    silently; reports must show everything (long cells fold, with their cap shown). Called when
    this module is imported inside an IPython kernel; returns whether a shell was found.
    """
    import sys

    if shell is None:
        if "IPython" not in sys.modules:  # not in a kernel: importing IPython would only cost time
            return False
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return False
    import pandas as pd

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, _frame_html)
    return True


def write_assets(folder: str | Path) -> Path:
    """Copy the shared CSS and JS into ``<folder>/assets/`` (every page links them relatively).

    Written only when missing or different, atomically, so pages exported while a run goes on
    and a later run of the same folder never see a half-written file.
    """
    from harden_lib.findings import atomic_write_text

    target = Path(folder) / ASSETS_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name in ASSET_FILES:
        content = (REPORT_ASSETS / name).read_text(encoding="utf-8")
        path = target / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            atomic_write_text(path, content)
    return target


#: Statuses that need someone to act, in the order the "What to fix" table shows them.
TO_FIX: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.WARN)


def fixes_frame(findings: Iterable[Finding] | pd.DataFrame) -> pd.DataFrame:
    """Failing, erroring and warning findings, worst severity first (then status, check, target)."""
    import pandas as pd

    from harden_lib.findings import ordered_categories

    frame = findings.copy() if isinstance(findings, pd.DataFrame) else findings_frame(findings)
    frame = ordered_categories(frame)  # worse = greater (issue 14): descending puts critical / fail first
    todo = frame[frame["status"].astype(str).isin([s.value for s in TO_FIX])]
    return todo.sort_values(
        ["severity", "status", "check_id", "target"], ascending=[False, False, True, True], kind="stable"
    )


def explanations_html(check_ids: Iterable[str]) -> str:
    """Why each check matters, how to fix it and where to read more, from the check catalog.

    Every text is escaped; references become links only for https URLs (catalog data, but
    still never a ``javascript:`` link).
    """
    from harden_lib.catalog import catalog

    blocks = []
    for check_id in dict.fromkeys(check_ids):
        spec = catalog().get(check_id)
        if spec is None:
            continue
        refs = []
        for ref in spec.references:
            if ref.url and ref.url.startswith("https://"):
                link = escape(ref.url, quote=True)
                refs.append(f'<a href="{link}" rel="noopener noreferrer">{escape(ref.title)}</a>')
            else:
                refs.append(escape(ref.title))
        blocks.append(
            '<div class="harden-explain">'
            f"<h4><code>{escape(check_id)}</code> — {escape(spec.title)}</h4>"
            f"<p><strong>Why it matters:</strong> {escape(spec.risk)}</p>"
            f"<p><strong>How to fix:</strong> {escape(spec.remediation)}</p>"
            + (f"<p><strong>References:</strong> {', '.join(refs)}</p>" if refs else "")
            + "</div>"
        )
    return "\n".join(blocks)


def show_fixes(findings: Iterable[Finding] | pd.DataFrame, columns: Sequence[str] | None = None) -> None:
    """The "What to fix" section: the findings that need action, worst first, then each check explained."""
    from IPython.display import HTML, Markdown, display

    todo = fixes_frame(findings)
    if todo.empty:
        display(Markdown("_Nothing to fix: every check passed, was skipped or is attested._"))
        return
    display(style_findings(todo, list(columns or ["severity", "status", "target", "title", "remediation"])))
    explained = explanations_html(todo["check_id"])
    if explained:
        display(Markdown("### Why it matters and how to fix it"))
        display(HTML(explained))


def show_findings(findings: Iterable[Finding] | pd.DataFrame, columns: Iterable[str] | None = None) -> None:
    """Display findings sorted worst first (status, then severity)."""
    from IPython.display import display

    frame = findings if hasattr(findings, "columns") else findings_frame(findings)  # type: ignore[arg-type]
    if frame.empty:
        from IPython.display import Markdown

        display(Markdown("_No findings._"))
        return
    from harden_lib.findings import worst_first

    frame = worst_first(frame)  # status then severity, worst first (ordered categoricals: worse = greater)
    shown = columns or ["check_id", "title", "status", "severity", "target", "observed"]
    display(style_findings(frame, shown, anchors=True))


def status_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in STATUS_ORDER}
    for finding in findings:
        counts[finding.status.value] += 1
    return counts


def plot_status_counts(findings: Iterable[Finding], title: str = "Findings by status") -> Figure:
    """One horizontal bar per status, in the report's status colours."""
    counts = status_counts(findings)
    shown = [(s, n) for s, n in counts.items() if n]
    if not shown:
        return empty_chart("no findings")
    fig = figure(6.5, 0.6 + 0.45 * max(len(shown), 1))
    ax = fig.subplots()
    labels = [s for s, _ in shown][::-1]
    values = [n for _, n in shown][::-1]
    bars = ax.barh(labels, values, color=[STATUS_COLOURS[Status(s)] for s in labels])
    ax.bar_label(bars, padding=3)
    ax.set_title(title)
    ax.set_xlabel("findings")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_stacked_status(
    counts: dict[str, dict[str, int]], title: str, xlabel: str = "findings", empty: str = "no findings"
) -> Figure:
    """One horizontal bar per row label, split by status in the report's colours (first row on top).

    The shared chart of every area that groups findings (by rule kind, by area, by host …).
    """
    from matplotlib.ticker import MaxNLocator

    labels = list(counts)[::-1]
    if not labels:
        return empty_chart(empty, 7.5)
    fig = figure(7.5, 1.3 + 0.45 * max(len(labels), 1))
    ax = fig.subplots()
    left = [0] * len(labels)
    for status in STATUS_ORDER:
        widths = [int(counts[label].get(status.value, 0)) for label in labels]
        if not any(widths):
            continue
        bars = ax.barh(labels, widths, left=left, color=STATUS_COLOURS[status], label=status.value)
        ax.bar_label(bars, labels=[str(w) if w else "" for w in widths], label_type="center", color="white")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(loc="outside lower center", ncols=len(ax.containers), fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


# --------------------------------------------------------------------------- HTML export

_exporter_cache: dict[str, Any] = {}


def html_exporter():
    """One configured nbconvert exporter, reused: the first export costs ~0.6 s, later ones ~0.03 s."""
    exporter = _exporter_cache.get("html")
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            extra_template_basedirs=[str(TEMPLATES)],
            template_name="harden_report",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
        _exporter_cache["html"] = exporter
    return exporter


def notebook_to_html(notebook: Any, resources: dict[str, Any] | None = None) -> str:
    """Render an executed notebook (a ``NotebookNode``) as one self-contained HTML page.

    Markdown outputs are rendered here and sanitized (``sanitize_markdown_outputs``) on a
    copy, so the ``.ipynb`` keeps its Markdown and the HTML carries no live script or link.
    """
    body, _ = html_exporter().from_notebook_node(sanitize_markdown_outputs(notebook), resources=resources or {})
    return _scope_header_cells(body)


#: A header cell start tag without a ``scope`` (Markdown tables, pandas ``Styler`` tables).
_TH_WITHOUT_SCOPE = re.compile(r"<th(?![^>]*\bscope=)(\s[^>]*)?>")


def _scope_header_cells(html: str) -> str:
    """Give every ``<th>`` a scope (screen readers announce which header a cell belongs to).

    harden's own tables have one; Markdown tables and ``Styler`` tables (drift) do not. Only
    real tags match: text a server sent is escaped (``&lt;th``) before it reaches the page.
    A ``Styler`` row label (class ``row_heading``) heads its row; every other header its column.
    """

    def scoped(match: re.Match[str]) -> str:
        attributes = match.group(1) or ""
        scope = "row" if "row_heading" in attributes else "col"
        return f'<th scope="{scope}"{attributes}>'

    return _TH_WITHOUT_SCOPE.sub(scoped, html)


#: What a Markdown output may become in a report: text formatting, lists, tables, headings.
_SAFE_TAGS = frozenset(
    """a abbr b blockquote br code del div em h1 h2 h3 h4 h5 h6 hr i li ol p pre s span strong sub sup
    table tbody td th thead tr ul""".split()  # noqa: SIM905
)
_SAFE_ATTRIBUTES = {"a": ["href", "title"], "*": ["class", "id"], "td": ["align"], "th": ["align"]}
_SAFE_PROTOCOLS = frozenset({"http", "https", "mailto"})


def sanitize_markdown_outputs(notebook: Any) -> Any:
    """A copy of the notebook whose Markdown outputs are sanitized HTML.

    nbconvert turns ``text/markdown`` outputs into HTML with raw HTML and any link scheme left
    live. Each is rendered with nbconvert's own Markdown renderer and cleaned with bleach (an
    allow-list of tags and attributes, links only to http, https, mailto or in-page anchors;
    everything else is escaped and shown as text). Markdown cells are the notebook's own text
    and are left alone.
    """
    if not any("text/markdown" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", [])):
        return notebook
    import bleach
    from nbconvert.filters.markdown import markdown2html_mistune

    clean = copy.deepcopy(notebook)
    for cell in clean.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" not in data:
                continue
            source = data.pop("text/markdown")
            html = markdown2html_mistune("".join(source) if isinstance(source, list) else str(source))
            data["text/html"] = bleach.clean(
                html, tags=_SAFE_TAGS, attributes=_SAFE_ATTRIBUTES, protocols=_SAFE_PROTOCOLS, strip=False
            )
    return clean


def verdict_banner(result: GateResult, environment: str, shown: int = 10) -> str:
    """The one-sentence verdict a stakeholder reads first, as escaped HTML.

    The ``shown`` worst blockers are listed; the rest are in a fold that says how many it holds
    (never "… and 42 more" with nothing behind it), and the decision page lists them by area.
    """
    colour, background = ("#1b5e20", "#e8f5e9") if result.go else ("#b71c1c", "#ffebee")

    def item(f: Finding) -> str:
        return (
            f"<li><b>{escape(f.severity.value)}</b> · {escape(f.title)} "
            f"<span style='color:#57606a'>({escape(f.check_id)} on {escape(f.target)})</span></li>"
        )

    blocking = ""
    if result.blocking:
        first, rest = result.blocking[:shown], result.blocking[shown:]
        more = ""
        if rest:
            more = (
                f"<details class='harden-long'><summary>the other {len(rest)} of {len(result.blocking)} blockers"
                f"</summary><ul style='margin:0.2em 0 0 0'>{''.join(item(f) for f in rest)}</ul></details>"
            )
        blocking = (
            f"<ul style='margin:0.4em 0 0 0'>{''.join(item(f) for f in first)}</ul>{more}"
            "<div style='margin-top:0.4em'>Every blocker, by area and with its fix: "
            "<a href='executive.html'>the decision page</a>.</div>"
        )
    return (
        f"<div style='border:1px solid {colour};background:{background};color:{colour};padding:0.8em 1em;"
        f"border-radius:6px;font-family:system-ui,sans-serif'>"
        f"<div style='font-size:1.6em;font-weight:700'>{escape(result.verdict)} · {escape(environment)}</div>"
        f"<div style='font-size:1.05em;margin-top:0.2em'>{escape(result.reason)}</div>{blocking}</div>"
    )


use_report_tables()  # inside a kernel: every displayed DataFrame becomes a report table
