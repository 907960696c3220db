"""Trends over recorded runs: blockers and pass rate per area over time, time to fix, oldest failures.

The trends notebook calls these on one DataFrame of findings (one row per finding per run,
``HistoryStore.findings_frame``). ``harden run`` hands the notebook a snapshot of the
environment's recent history (``history/trends.json`` in the run folder), so the notebook
works the same on a Dask worker that cannot reach the store; opened on its own in JupyterLab
it reads the store directly (``load_frame``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harden_lib.findings import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.history.store import HistoryStore

SNAPSHOT = Path("history") / "trends.json"
FAILING = ("fail", "error")


def write_snapshot(store: HistoryStore, environment: str, run_dir: Path, runs: int = 30) -> Path:
    """The environment's newest ``runs`` runs as ``<run_dir>/history/trends.json`` (for the notebook)."""
    frame = store.findings_frame(environment, runs=runs)
    frame = frame.drop(columns=["observed", "expected", "remediation", "waiver"], errors="ignore")
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    path = Path(run_dir) / SNAPSHOT
    from harden_lib.redact import scrub_tree

    atomic_write_text(path, json.dumps(scrub_tree({"environment": environment, "findings": records})) + "\n")
    return path


def load_frame(
    run_dir: str | None = None, params_path: str | None = None, history_url: str = "", environments: str = ""
) -> pd.DataFrame:
    """The findings history: the run's snapshot when there is one, else the store of the params."""
    import pandas as pd

    snapshot = Path(run_dir) / SNAPSHOT if run_dir else None
    if snapshot is not None and snapshot.is_file():
        document = json.loads(snapshot.read_text(encoding="utf-8"))
        frame = pd.DataFrame(document.get("findings", []))
        if len(frame):
            frame["started"] = pd.to_datetime(frame["started"], utc=True)
        from harden_lib.findings import ordered_categories  # as the store's frame (issue 14)

        return _select(ordered_categories(frame), environments)
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
        frame = store.findings_frame()
    if len(frame):
        frame["started"] = pd.to_datetime(frame["started"], utc=True)
    return _select(frame, environments)


def _select(frame: pd.DataFrame, environments: str) -> pd.DataFrame:
    names = [n.strip() for n in (environments or "").split(",") if n.strip()]
    if names and len(frame):
        frame = frame[frame["environment"].isin(names)]
    return frame.reset_index(drop=True)


def runs_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run: environment, start, blockers, failing, pass rate (skips left out)."""
    import pandas as pd

    columns = ["environment", "run_id", "started", "blockers", "failing", "pass rate", "findings"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    rows = []
    for (environment, run_id), group in frame.groupby(["environment", "run_id"], sort=False):
        decided = group[group["status"] != "skip"]
        rows.append(
            {
                "environment": environment,
                "run_id": run_id,
                "started": group["started"].iloc[0],
                "blockers": int(group["blocking"].astype(bool).sum()),
                "failing": int(group["status"].isin(FAILING).sum()),
                "pass rate": round(float((decided["status"] == "pass").mean()), 3) if len(decided) else None,
                "findings": len(group),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values(["environment", "started"]).reset_index(drop=True)


def area_pass_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Pass rate per (environment, run, area): rows are runs in time order, columns areas."""
    import pandas as pd

    if not len(frame):
        return pd.DataFrame()
    decided = frame[frame["status"] != "skip"].assign(passed=lambda f: f["status"] == "pass")
    table = decided.groupby(["environment", "started", "area"])["passed"].mean().unstack("area")
    return table.round(3)


def area_blockers(frame: pd.DataFrame) -> pd.DataFrame:
    """Gate-blocking findings per (environment, run, area)."""
    import pandas as pd

    if not len(frame):
        return pd.DataFrame()
    table = frame.assign(b=frame["blocking"].astype(bool)).groupby(["environment", "started", "area"])["b"].sum()
    return table.unstack("area").fillna(0).astype(int)


def _streaks(frame: pd.DataFrame) -> pd.DataFrame:
    """Every failing streak of every finding: environment, id, check, start, end (None: still open)."""
    import pandas as pd

    columns = ["environment", "finding_id", "area", "check_id", "title", "target", "severity", "start", "end"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    runs = frame[["environment", "run_id", "started"]].drop_duplicates().sort_values("started")
    ordered_runs = {env: list(group["run_id"]) for env, group in runs.groupby("environment")}
    started = {(r.environment, r.run_id): r.started for r in runs.itertuples()}
    rows = []
    for (environment, finding_id), group in frame.groupby(["environment", "finding_id"], sort=False):
        status_by_run = dict(zip(group["run_id"], group["status"], strict=False))
        last = group.iloc[-1]
        start = None
        for run_id in ordered_runs[environment]:
            status = status_by_run.get(run_id)
            if status is None:
                continue  # not checked in that run: neither fixed nor failing
            if status in FAILING and start is None:
                start = started[(environment, run_id)]
            elif status not in FAILING and start is not None:
                rows.append([environment, finding_id, last.area, last.check_id, last.title, last.target,
                             last.severity, start, started[(environment, run_id)]])  # fmt: skip
                start = None
        if start is not None:
            rows.append([environment, finding_id, last.area, last.check_id, last.title, last.target,
                         last.severity, start, None])  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def time_to_fix(frame: pd.DataFrame) -> pd.DataFrame:
    """Per check: how many failures were fixed and how long they took (median and longest, days)."""
    import pandas as pd

    streaks = _streaks(frame)
    fixed = streaks[streaks["end"].notna()].copy()
    columns = ["environment", "check_id", "fixed", "median days", "longest days"]
    if not len(fixed):
        return pd.DataFrame(columns=columns)
    fixed["days"] = (
        pd.to_datetime(fixed["end"], utc=True) - pd.to_datetime(fixed["start"], utc=True)
    ).dt.total_seconds() / 86400
    table = fixed.groupby(["environment", "check_id"])["days"].agg(["count", "median", "max"]).reset_index()
    table.columns = columns
    table["median days"] = table["median days"].round(2)
    table["longest days"] = table["longest days"].round(2)
    return table.sort_values(["longest days", "check_id"], ascending=[False, True]).reset_index(drop=True)


def oldest_open(frame: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """Failures open in each environment's newest run, longest open first (days since the streak began)."""
    import pandas as pd

    streaks = _streaks(frame)
    columns = ["environment", "severity", "check_id", "title", "target", "open since", "days open"]
    if not len(streaks):
        return pd.DataFrame(columns=columns)
    newest_run = frame.sort_values("started").groupby("environment")["run_id"].last()
    newest_started = frame.sort_values("started").groupby("environment")["started"].last()
    in_newest = frame[frame["run_id"].isin(set(newest_run.values))]
    open_now = set(zip(in_newest["environment"], in_newest["finding_id"], strict=True))
    current = streaks[streaks["end"].isna()]
    current = current[[(e, f) in open_now for e, f in zip(current["environment"], current["finding_id"], strict=True)]]
    current = current.assign(
        **{
            "open since": current["start"],
            "days open": [
                round((newest_started[e] - s).total_seconds() / 86400, 2)
                for e, s in zip(current["environment"], current["start"], strict=True)
            ],
        }
    )
    from harden_lib.findings import ordered_categories  # issue 14: severity in the model's order

    return (
        ordered_categories(current[columns].copy())
        .sort_values(["days open", "severity"], ascending=[False, False])
        .head(limit)
        .reset_index(drop=True)
    )


def plot_trends(frame: pd.DataFrame) -> Figure:
    """Blockers and pass rate per run over time, one line per environment."""
    from harden_lib.render import empty_chart, figure

    runs = runs_frame(frame)
    if not len(runs):
        return empty_chart("No recorded runs yet: run harden at least twice to see a trend.")
    fig = figure(8.0, 3.4)
    left, right = fig.subplots(1, 2)
    for environment, group in runs.groupby("environment"):
        left.plot(group["started"], group["blockers"], marker="o", label=environment)
        right.plot(group["started"], group["pass rate"], marker="o", label=environment)
    left.set_title("Gate-blocking findings per run")
    right.set_title("Pass rate per run (skips left out)")
    right.set_ylim(0, 1.05)
    for ax in (left, right):
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    left.legend(fontsize=7)
    return fig


def plot_area_pass_rates(frame: pd.DataFrame, environment: str | None = None) -> Figure:
    """Pass rate per area over time for one environment (the first one when not given)."""
    from harden_lib.render import empty_chart, figure

    table = area_pass_rates(frame)
    if not len(table):
        return empty_chart("No recorded runs yet.")
    environments: Sequence[str] = list(dict.fromkeys(table.index.get_level_values("environment")))
    environment = environment or environments[0]
    data = table.xs(environment, level="environment")
    fig = figure(8.0, 3.4)
    ax = fig.subplots()
    for area in data.columns:
        ax.plot(data.index, data[area], marker=".", label=area)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Pass rate per area over time: {environment}")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return fig
