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
    from pandas.io.formats.style import Styler

    from harden_lib.environment import Environment

#: One colour per status, used by tables and charts alike so a report reads consistently.
STATUS_COLOURS: dict[str, str] = {
    Status.PASS: "#2e7d32",
    Status.FAIL: "#c62828",
    Status.WARN: "#ef8f00",
    Status.ERROR: "#6a1b9a",
    Status.SKIP: "#9e9e9e",
    Status.MANUAL: "#1565c0",
    Status.WAIVED: "#00838f",
}
_CELL_BACKGROUND = {
    Status.PASS: "#e8f5e9",
    Status.FAIL: "#ffebee",
    Status.WARN: "#fff3e0",
    Status.ERROR: "#f3e5f5",
    Status.SKIP: "#f5f5f5",
    Status.MANUAL: "#e3f2fd",
    Status.WAIVED: "#e0f7fa",
}

TEMPLATES = Path(__file__).parent / "templates"


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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show_figure(fig: Figure) -> None:
    """Display a chart so that it survives into the executed notebook and the HTML report."""
    from IPython.display import Image, display

    display(Image(data=figure_png(fig), format="png"))


def style_findings(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> Styler:
    """A findings table coloured by status, every cell HTML-escaped.

    ``Styler`` does not escape by default, and scanned servers control some of the text,
    hence ``escape="html"``.
    """
    shown = frame[list(columns)] if columns is not None else frame
    styler = shown.style.format(escape="html", na_rep="").hide(axis="index")
    if "status" in shown.columns:

        def colour(value: Any) -> str:
            try:
                status = Status(str(value))
            except ValueError:
                return ""
            return f"background-color: {_CELL_BACKGROUND[status]}; color: {STATUS_COLOURS[status]}; font-weight: 600"

        styler = styler.map(colour, subset=["status"])
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}], overwrite=False)
    return styler.set_properties(**{"text-align": "left", "vertical-align": "top"})


#: Statuses that need someone to act, in the order the "What to fix" table shows them.
TO_FIX: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.WARN)


def fixes_frame(findings: Iterable[Finding] | pd.DataFrame) -> pd.DataFrame:
    """Failing, erroring and warning findings, worst severity first (then status, check, target)."""
    import pandas as pd

    frame = findings.copy() if isinstance(findings, pd.DataFrame) else findings_frame(findings)
    for column, order in (("severity", SEVERITY_ORDER), ("status", STATUS_ORDER)):
        frame[column] = pd.Categorical(frame[column].astype(str), [o.value for o in order], ordered=True)
    todo = frame[frame["status"].astype(str).isin([s.value for s in TO_FIX])]
    return todo.sort_values(["severity", "status", "check_id", "target"], kind="stable")


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
    frame = frame.sort_values(["status", "severity", "check_id", "target"]).reset_index(drop=True)
    display(style_findings(frame, columns or ["check_id", "title", "status", "severity", "target", "observed"]))


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
    return body


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


def verdict_banner(result: GateResult, environment: str) -> str:
    """The one-sentence verdict a stakeholder reads first, as escaped HTML."""
    colour, background = ("#1b5e20", "#e8f5e9") if result.go else ("#b71c1c", "#ffebee")
    blocking = ""
    if result.blocking:
        items = "".join(
            f"<li><b>{escape(f.severity.value)}</b> · {escape(f.title)} "
            f"<span style='color:#57606a'>({escape(f.check_id)} on {escape(f.target)})</span></li>"
            for f in result.blocking[:10]
        )
        more = f"<li>… and {len(result.blocking) - 10} more</li>" if len(result.blocking) > 10 else ""
        blocking = f"<ul style='margin:0.4em 0 0 0'>{items}{more}</ul>"
    return (
        f"<div style='border:1px solid {colour};background:{background};color:{colour};padding:0.8em 1em;"
        f"border-radius:6px;font-family:system-ui,sans-serif'>"
        f"<div style='font-size:1.6em;font-weight:700'>{escape(result.verdict)} · {escape(environment)}</div>"
        f"<div style='font-size:1.05em;margin-top:0.2em'>{escape(result.reason)}</div>{blocking}</div>"
    )
