"""The trends and drift notebooks render on a history of 3+ runs of 2 environments; their functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from harden_lib import cli
from harden_lib.drift import drift_frame, drift_text
from harden_lib.history import trends
from harden_lib.history.store import FindingRecord, HistoryStore, RunRecord

T0 = datetime(2026, 10, 1, 2, 30, tzinfo=UTC)


def _f(finding_id: str, status: str, severity: str = "high", observed: str = "", blocking: bool | None = None):
    check = finding_id.split("@")[0]
    blocking = status in ("fail", "error") and severity in ("high", "critical") if blocking is None else blocking
    return FindingRecord(finding_id, check.split(".")[0], check, status, severity, title=f"{check} title",
                         target="{base}/", observed=observed, blocking=blocking)  # fmt: skip


HSTS, TLS, DEBUG = "headers.hsts@01", "tls.profile@02", "config.debug@03"


def build_history(url: str) -> None:
    """staging: 4 runs, production: 3 runs; HSTS fixed in production on day 7, TLS profile differs."""
    production = [
        [_f(HSTS, "fail"), _f(TLS, "pass", observed="intermediate"), _f(DEBUG, "fail")],
        [_f(HSTS, "fail"), _f(TLS, "pass", observed="intermediate"), _f(DEBUG, "fail")],
        [_f(HSTS, "pass"), _f(TLS, "pass", observed="intermediate"), _f(DEBUG, "fail"),
         _f("secrets.env.shared@04", "fail", "critical")],
    ]  # fmt: skip
    staging = [
        [_f(HSTS, "pass"), _f(TLS, "pass", observed="modern"), _f(DEBUG, "warn", "low")],
        [_f(HSTS, "pass"), _f(TLS, "warn", observed="old")],
        [_f(HSTS, "pass"), _f(TLS, "pass", observed="modern")],
        [_f(HSTS, "pass"), _f(TLS, "pass", observed="modern"),
         _f("secrets.env.shared@04", "fail", "critical")],
    ]  # fmt: skip
    with HistoryStore(url) as store:
        for index, findings in enumerate(production):
            started = T0 + timedelta(days=index * 7)
            verdict = "NO-GO" if any(f.blocking for f in findings) else "GO"
            store.record(RunRecord("production", f"p{index}", started, verdict, int(verdict != "GO")), findings)
        for index, findings in enumerate(staging):
            started = T0 + timedelta(days=index * 5, hours=1)
            verdict = "NO-GO" if any(f.blocking for f in findings) else "GO"
            store.record(RunRecord("staging", f"s{index}", started, verdict, int(verdict != "GO")), findings)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('trends') / 'history.sqlite'}"
    build_history(url)
    return url


def test_trend_functions(history):
    frame = trends.load_frame(history_url=history)
    runs = trends.runs_frame(frame)
    assert list(runs.groupby("environment").size().items()) == [("production", 3), ("staging", 4)]
    assert list(runs[runs["environment"] == "production"]["blockers"]) == [2, 2, 2]
    fixes = trends.time_to_fix(frame)
    hsts = fixes[(fixes["environment"] == "production") & (fixes["check_id"] == "headers.hsts")].iloc[0]
    assert hsts["fixed"] == 1 and hsts["longest days"] == 14.0
    oldest = trends.oldest_open(frame)
    first = oldest.iloc[0]
    assert (first["environment"], first["check_id"], first["days open"]) == ("production", "config.debug", 14.0)
    assert set(oldest["check_id"]) == {"config.debug", "secrets.env.shared"}
    rates = trends.area_pass_rates(frame)
    assert rates.loc[("production", frame[frame["run_id"] == "p2"]["started"].iloc[0]), "headers"] == 1.0
    only = trends.load_frame(history_url=history, environments="staging")
    assert set(only["environment"]) == {"staging"}


def test_drift_matrix_and_command(history, capsys):
    with HistoryStore(history) as store:
        frame = drift_frame(store, ["staging", "production"])
    rows = frame.set_index("check")
    assert rows.loc["headers.hsts", "differs"] == ""  # pass in both latest runs
    assert rows.loc["config.debug", "differs"] == "status"  # failing in production, absent in staging
    assert rows.loc["config.debug", "staging"] == "—"
    assert rows.loc["tls.profile", "differs"] == "observed"  # both pass, another profile
    assert "staging: pass: modern" in rows.loc["tls.profile", "observed"]
    assert rows.loc["secrets.env.shared", "staging"] == rows.loc["secrets.env.shared", "production"] == "fail"
    text = drift_text(frame)
    assert "2 of 4 checks differ between staging, production." in text
    code = cli.main(["drift", "--env", "staging", "--env", "production", "--history-url", history])
    out = capsys.readouterr().out
    assert code == 0 and "config.debug" in out and "headers.hsts" not in out
    assert cli.main(["drift", "--env", "staging", "--env", "nowhere", "--history-url", history]) == 2
    assert "no recorded run of environment 'nowhere'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def rendered(history, tmp_path_factory):
    """Both notebooks executed on one warm kernel and exported like the runner exports reports."""
    import nbformat

    from harden_lib.executors import LocalExecutor
    from harden_lib.lanes import NotebookTask
    from harden_lib.render import notebook_to_html
    from harden_lib.runner import notebooks_dir

    out = tmp_path_factory.mktemp("rendered")
    executor = LocalExecutor(1, cwd=notebooks_dir())
    html = {}
    try:
        futures = {}
        for name in ("trends", "drift"):
            task = NotebookTask(
                environment="history", area=name, notebook=str(notebooks_dir() / f"{name}.ipynb"),
                output=str(out / f"{name}.ipynb"), cwd=str(notebooks_dir()), cell_timeout=120,
                log_path=str(out / f"{name}.log"),
                parameters={"params_path": "", "run_dir": "", "history_url": history, "environments": ""},
            )  # fmt: skip
            futures[name] = executor.submit(task)
        for name, future in futures.items():
            result = future.result()
            assert result.ok, result.error
            html[name] = notebook_to_html(nbformat.read(out / f"{name}.ipynb", as_version=4))
    finally:
        executor.close()
    return html


def test_trends_notebook_renders(rendered):
    html = rendered["trends"]
    assert "7 recorded run(s) of 2 environment(s): production, staging" in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 3  # trend + one per environment
    fixes = html.split("Time to fix")[1].split("Oldest open failures")[0]
    assert "headers.hsts" in fixes
    assert "config.debug" in html.split("Oldest open failures")[1]
    assert "Traceback" not in html and "Error" not in html.split("Oldest open failures")[1][:2000]


def test_drift_notebook_renders(rendered):
    html = rendered["drift"]
    assert "2 of 4 checks differ" in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    differs = html.split("What differs")[1].split("Every check")[0]
    assert "config.debug" in differs and "tls.profile" in differs and "headers.hsts" not in differs
    assert "Traceback" not in html
