"""Drift between environments: is staging configured like production?

The latest recorded run of each environment, side by side, one row per check (``level="check"``,
the worst status among the check's findings in that environment) or per finding id
(``level="finding"``; ids put each environment's own origin as ``{base}``, so
``https://staging.example.com/login`` and ``https://app.example.com/login`` share a row).
A row *differs* when the statuses differ or, with the same status, what was observed differs
(a header set to another value, another TLS profile). The ``secrets.env.shared`` check shows
a secret shared between environments in each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harden_lib.errors import HardenError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.history.store import HistoryStore, RunRecord

#: Worst first: the status a check shows when its findings disagree.
_WORST = ("error", "fail", "warn", "manual", "waived", "pass", "skip")
ABSENT = "—"
_COLOURS = {
    "fail": "#c62828",
    "error": "#6a1b9a",
    "warn": "#ef6c00",
    "manual": "#1565c0",
    "waived": "#78909c",
    "pass": "#2e7d32",
    "skip": "#cfd8dc",
    ABSENT: "#ffffff",
}


def latest_runs(store: HistoryStore, environments: Sequence[str]) -> dict[str, RunRecord]:
    """The newest recorded run of each environment (a clear error for one never recorded)."""
    out = {}
    for name in environments:
        runs = store.runs(name, limit=1)
        if not runs:
            known = ", ".join(store.environments()) or "none"
            raise HardenError(f"no recorded run of environment '{name}' in the history (recorded: {known})")
        out[name] = runs[0]
    return out


def drift_frame(store: HistoryStore, environments: Sequence[str], *, level: str = "check") -> pd.DataFrame:
    """Rows: checks (or finding ids); columns: each environment's status, ``differs``, ``observed``.

    ``observed`` holds, for differing rows, each environment's observation (``env: text``).
    """
    import pandas as pd

    if len(environments) < 2:
        raise HardenError("drift compares at least two environments (give --env twice)")
    if level not in ("check", "finding"):
        raise HardenError("level is 'check' or 'finding'")
    runs = latest_runs(store, environments)
    cells: dict[str, dict[str, str]] = {}
    observed: dict[str, dict[str, set[str]]] = {}
    titles: dict[str, str] = {}
    areas: dict[str, str] = {}
    for name, run in runs.items():
        for finding in store.findings(run):
            key = finding.check_id if level == "check" else finding.finding_id
            titles.setdefault(key, finding.title if level == "finding" else finding.check_id)
            areas.setdefault(key, finding.area)
            row = cells.setdefault(key, {})
            current = row.get(name)
            if current is None or _rank(finding.status) < _rank(current):
                row[name] = finding.status
            observed.setdefault(key, {}).setdefault(name, set()).add(f"{finding.status}: {finding.observed}"[:200])
    rows = []
    for key in sorted(cells, key=lambda k: (areas[k], k)):
        statuses = {name: cells[key].get(name, ABSENT) for name in environments}
        seen = {name: observed[key].get(name, set()) for name in environments}
        differs_status = len(set(statuses.values())) > 1
        differs_observed = not differs_status and len({frozenset(v) for v in seen.values()}) > 1
        note = ""
        if differs_status or differs_observed:
            note = " | ".join(f"{name}: {'; '.join(sorted(seen[name]))[:300] or ABSENT}" for name in environments)
        rows.append(
            {
                "area": areas[key],
                "check": key,
                **statuses,
                "differs": "status" if differs_status else ("observed" if differs_observed else ""),
                "observed": note,
            }
        )
    frame = pd.DataFrame(rows, columns=["area", "check", *environments, "differs", "observed"])
    frame.attrs["runs"] = {name: run.run_id for name, run in runs.items()}
    return frame


def _rank(status: str) -> int:
    return _WORST.index(status) if status in _WORST else len(_WORST)


def differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the rows that differ between the environments."""
    return frame[frame["differs"] != ""]


def style_drift(frame: pd.DataFrame):
    """The matrix with each status cell coloured and differing rows marked (HTML escaped)."""
    environments = [c for c in frame.columns if c not in ("area", "check", "differs", "observed")]

    def colour(value: object) -> str:
        fill = _COLOURS.get(str(value))
        if not fill:
            return ""
        text = "#000" if str(value) in ("skip", ABSENT) else "#fff"
        return f"background-color: {fill}; color: {text}"

    def row_mark(row: pd.Series) -> list[str]:
        mark = "font-weight: bold; border-left: 4px solid #c62828" if row["differs"] else ""
        return [mark if column == "check" else "" for column in row.index]

    return frame.style.map(colour, subset=environments).apply(row_mark, axis=1).hide(axis="index").format(escape="html")


def plot_drift(frame: pd.DataFrame, limit: int = 60) -> Figure:
    """A check × environment grid of statuses, differing rows first (at most ``limit`` rows)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from harden_lib.render import figure

    environments = [c for c in frame.columns if c not in ("area", "check", "differs", "observed")]
    ordered = frame.sort_values("differs", ascending=False, kind="stable").head(limit)
    codes = list(_COLOURS)
    matrix = [
        [codes.index(str(v)) if str(v) in codes else len(codes) - 1 for v in row]
        for row in ordered[environments].values
    ]
    height = max(2.5, 0.22 * len(ordered) + 1.2)
    fig = figure(2.5 + 1.3 * len(environments), height)
    ax = fig.subplots()
    if len(ordered):
        ax.imshow(matrix, cmap=ListedColormap([_COLOURS[c] for c in codes]), vmin=0, vmax=len(codes) - 1, aspect="auto")
    ax.set_xticks(range(len(environments)), environments)
    ax.set_yticks(
        range(len(ordered)),
        [("* " if d else "") + str(c)[:48] for c, d in zip(ordered["check"], ordered["differs"], strict=True)],
        fontsize=7,
    )
    ax.set_title("Latest status per check and environment (* differs)")
    ax.legend(
        handles=[Patch(facecolor=_COLOURS[c], edgecolor="#999", label=c) for c in codes],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
    )
    return fig


def drift_text(frame: pd.DataFrame, *, show_all: bool = False, limit: int = 200) -> str:
    """The matrix as plain text (what ``harden drift`` prints): differing rows, or every row."""
    environments = [c for c in frame.columns if c not in ("area", "check", "differs", "observed")]
    shown = frame if show_all else differences(frame)
    runs = frame.attrs.get("runs", {})
    lines = ["Latest runs: " + ", ".join(f"{name} {runs.get(name, '?')}" for name in environments)]
    total, differing = len(frame), int((frame["differs"] != "").sum())
    lines.append(f"{differing} of {total} checks differ between {', '.join(environments)}.")
    if not len(shown):
        return "\n".join(lines)
    width = min(48, max(len("check"), *(len(str(c)) for c in shown["check"])))
    lines.append("")
    widths = {e: max(10, len(e)) for e in environments}
    lines.append(f"{'check':<{width}}  " + "  ".join(f"{e:<{widths[e]}}" for e in environments) + "  differs")
    for _, row in shown.head(limit).iterrows():
        check = str(row["check"])
        check = check if len(check) <= width else check[: width - 1] + "…"
        cells = "  ".join(f"{row[e]!s:<{widths[e]}}" for e in environments)
        lines.append(f"{check:<{width}}  {cells}  {row['differs']}")
    if len(shown) > limit:
        lines.append(f"… and {len(shown) - limit} more")
    return "\n".join(lines)


def load(
    params_path: str = "", history_url: str = "", environments: str = "", level: str = "check"
) -> tuple[list[str], pd.DataFrame | None]:
    """For the drift notebook: (environment names, matrix or None when fewer than two are recorded).

    The store is ``history_url``, else the params' (``history.url``, ``HARDEN_HISTORY_URL``, the
    default ``reports/history.sqlite``); ``environments`` is a comma-separated list (empty: all).
    """
    from harden_lib.history.store import HistoryStore
    from harden_lib.history.store import history_url as default_url

    url = history_url
    if not url:
        env = None
        if params_path:
            from harden_lib.environment import load_environment

            env = load_environment(params_path)
        url = default_url(env)
    with HistoryStore(url) as store:
        names = [n.strip() for n in environments.split(",") if n.strip()] or store.environments()
        frame = drift_frame(store, names, level=level) if len(names) >= 2 else None
    return names, frame


def headline(names: Sequence[str], frame: pd.DataFrame | None) -> str:
    """The drift notebook's first sentence (Markdown, escaped)."""
    from harden_lib.render import md_escape

    if frame is None:
        return "_Drift needs recorded runs of at least two environments._"
    differing = int((frame["differs"] != "").sum())
    return f"**{differing} of {len(frame)} checks differ** between " + md_escape(", ".join(names)) + "."
