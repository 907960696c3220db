"""Evidence of the headers area: the headers as received, and the Observatory scores as tables and charts.

Everything here is for showing, not judging: values are made safe (capped, escaped, cookie
values and secret-looking headers replaced), and charts use matplotlib's object API only, so
they never touch a notebook's or a headless run's global backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from harden_lib.checks.headers.rules.cookies import redact_set_cookie
from harden_lib.redact import REDACTED, is_secret_key, redact_url, safe_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.checks.headers.observatory import ObservatoryScore


#: Response headers that are about security and never hold a secret, even though a word
#: in their name looks secret to the generic rule.
_NEVER_SECRET = frozenset(
    {"access-control-allow-credentials", "access-control-allow-headers", "access-control-expose-headers"}
)


def _shown_header_value(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered == "set-cookie":
        return redact_set_cookie(value)
    if lowered not in _NEVER_SECRET and (is_secret_key(lowered) or lowered in {"authorization", "proxy-authorization"}):
        return f"{REDACTED} ({len(value)} chars)"
    return safe_text(value)


def header_table(results: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """Evidence: every response header of every page (url, header, value), values made safe.

    ``results`` maps a URL to its ``FetchResult`` (or to the error that prevented it), or is
    an iterable of ``FetchResult``. ``Set-Cookie`` values are redacted; values of
    secret-looking headers are replaced by their length.
    """
    import pandas as pd

    from harden_lib.http import FetchResult

    items = results.items() if isinstance(results, Mapping) else ((r.url, r) for r in results)
    rows: list[dict[str, str]] = []
    for url, result in items:
        shown_url = safe_text(redact_url(str(url)), 300)
        if isinstance(result, FetchResult):
            rows.append({"url": shown_url, "header": ":status", "value": str(result.status_code)})
            for name, value in result.headers.multi_items():
                shown = _shown_header_value(name, value)
                rows.append({"url": shown_url, "header": safe_text(name, 80), "value": shown})
        else:
            rows.append({"url": shown_url, "header": "(fetch error)", "value": safe_text(str(result), 300)})
    return pd.DataFrame(rows, columns=["url", "header", "value"])


def score_frame(score: ObservatoryScore) -> pd.DataFrame:
    """One row per test: title, result, modifier, whether it counts, passed, description."""
    import pandas as pd

    rows = []
    for o in score.outcomes:
        counted = o.modifier < 0 or score.bonus_applied
        rows.append(
            {
                "test": o.test,
                "title": o.title,
                "result": o.result,
                "modifier": o.modifier,
                "counted": counted,
                "passed": o.passed,
                "description": o.description,
            }
        )
    return pd.DataFrame(rows, columns=["test", "title", "result", "modifier", "counted", "passed", "description"])


def scores_frame(scores: Mapping[str, ObservatoryScore]) -> pd.DataFrame:
    """One row per page: score, grade, tests passed and every test's modifier (one table for many pages).

    Drawing one modifier chart per page cost 0.5 s a page (19-32 s for 40 URLs); this table
    carries the same numbers for every page at once.
    """
    import pandas as pd

    rows = []
    tests: list[str] = []
    for url, score in scores.items():
        row: dict[str, object] = {
            "page": safe_text(redact_url(url), 120),
            "score": score.score,
            "grade": score.grade,
            "tests passed": f"{score.tests_passed}/{len(score.outcomes)}",
            "bonuses counted": score.bonus_applied,
        }
        for o in score.outcomes:
            if o.test not in tests:
                tests.append(o.test)
            row[o.test] = o.modifier
        rows.append(row)
    columns = ["page", "score", "grade", "tests passed", "bonuses counted", *tests]
    return pd.DataFrame(rows, columns=columns)


def lowest_scores(scores: Mapping[str, ObservatoryScore], count: int = 3) -> list[tuple[str, ObservatoryScore]]:
    """The ``count`` lowest-scoring pages (ties by URL): the ones worth a detailed chart."""
    return sorted(scores.items(), key=lambda item: (item[1].score, item[0]))[:count]


#: Pages drawn in the score chart; the rest are listed in ``scores_frame``'s table.
MAX_SCORE_BARS = 40


def plot_scores(scores: Mapping[str, ObservatoryScore]) -> Figure:
    """Every page's score in one chart (lowest first), coloured by grade letter, capped at 40 bars."""
    from harden_lib.render import empty_chart, figure

    ranked = sorted(scores.items(), key=lambda item: (item[1].score, item[0]))
    shown = ranked[:MAX_SCORE_BARS]
    if not shown:
        return empty_chart("no page could be scored", width=7.5)
    fig = figure(7.5, 1.3 + 0.32 * len(shown))
    ax = fig.subplots()
    colours = {"A": "#2e7d32", "B": "#558b2f", "C": "#ef8f00", "D": "#d84315", "F": "#c62828"}
    labels = [safe_text(redact_url(url), 60) for url, _ in shown][::-1]
    values = [score.score for _, score in shown][::-1]
    bars = ax.barh(labels, values, color=[colours[score.grade[0]] for _, score in shown][::-1])
    ax.bar_label(bars, labels=[f"{score.score} ({score.grade})" for _, score in shown][::-1], padding=3, fontsize=8)
    ax.set_xlim(0, 140)
    ax.axvline(100, color="#333333", linewidth=0.6, linestyle=":")
    ax.set_xlabel("Mozilla HTTP Observatory score (100 = no penalty; bonuses up to 135)")
    more = f" — lowest {len(shown)} of {len(ranked)}; all in the table" if len(ranked) > len(shown) else ""
    ax.set_title(f"Observatory score per page{more}", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_modifiers(score: ObservatoryScore) -> Figure:
    """A horizontal bar per test modifier (penalties red, bonuses green, uncounted bonuses grey).

    Uses the object API only (``matplotlib.figure.Figure``), so it never touches the
    process-wide backend of a notebook or a headless run.
    """
    from matplotlib.figure import Figure

    outcomes = list(score.outcomes)
    fig = Figure(figsize=(7.5, 0.42 * len(outcomes) + 1.4))
    ax = fig.add_subplot()
    labels = [o.title for o in outcomes]
    values = [o.modifier for o in outcomes]
    colours = []
    for o in outcomes:
        if o.modifier < 0:
            colours.append("#c0392b")
        elif o.modifier > 0:
            colours.append("#27ae60" if score.bonus_applied else "#b0b0b0")
        else:
            colours.append("#7f8c8d")
    positions = list(range(len(outcomes)))[::-1]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels=labels)
    ax.axvline(0, color="#333333", linewidth=0.8)
    for pos, value in zip(positions, values, strict=True):
        ax.annotate(
            f"{value:+d}",
            (value, pos),
            xytext=(4 if value >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if value >= 0 else "right",
            va="center",
            fontsize=8,
        )
    low = min([0, *values]) - 10
    high = max([0, *values]) + 10
    ax.set_xlim(low, high)
    ax.set_xlabel("score modifier (start at 100)")
    note = "" if score.bonus_applied else " — bonuses not counted (below 90 before bonuses)"
    ax.set_title(f"Mozilla HTTP Observatory: {score.score} ({score.grade}){note}", fontsize=10)
    fig.tight_layout()
    return fig
