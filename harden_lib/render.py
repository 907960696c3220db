"""Showing findings: styled tables and charts in notebooks, and notebooks as offline HTML.

Charts are displayed as explicit PNG images. A bare ``matplotlib.figure.Figure`` displayed in
a kernel yields only ``text/plain`` unless pyplot's inline backend happened to be activated,
so the chart silently vanished from reports; an ``Image`` always carries its pixels.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden_lib.findings import STATUS_ORDER, Finding, GateResult, Status, findings_frame

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from pandas.io.formats.style import Styler

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


def figure(width: float = 7.0, height: float = 3.5) -> Figure:
    """A new figure independent of pyplot's global state (safe in threads and kernels)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


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
    fig = figure(6.5, 0.6 + 0.45 * max(len(shown), 1))
    ax = fig.subplots()
    if not shown:
        ax.text(0.5, 0.5, "no findings", ha="center", va="center")
        ax.set_axis_off()
        return fig
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
    fig = figure(7.5, 1.3 + 0.45 * max(len(labels), 1))
    ax = fig.subplots()
    if not labels:
        ax.text(0.5, 0.5, empty, ha="center", va="center")
        ax.set_axis_off()
        return fig
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
    """Render an executed notebook (a ``NotebookNode``) as one self-contained HTML page."""
    body, _ = html_exporter().from_notebook_node(notebook, resources=resources or {})
    return body


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
