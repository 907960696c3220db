"""What ``harden run`` does with the history, in the order it does it.

Kept here so the runner only calls a few functions:

1. ``since_last_run`` — before the summary notebook runs: this run's findings (governed and
   scrubbed, as the exports will show them) against the newest recorded run of the
   environment, saved as ``since_last.json`` for the summary and the run index.
2. ``record`` — after the reports are written: the run folder into the history store.
3. ``notify_and_prune`` — after ``latest`` is switched: webhooks, then ``--keep N``.
4. ``trends_inputs`` — the history snapshot the trends notebook reads.

A history store that cannot be opened never fails the audit: the problem is reported on the
progress line (the store's URL without its password) and the run goes on without history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harden_lib.diff import SINCE_LAST_FILE, RunDiff, diff_live, diff_runs, records_from_findings, save_since_last
from harden_lib.history.store import HistoryError, HistoryStore, RunRecord, history_url, record_run_dir

Progress = Callable[[str], None]


def enabled(env: Any) -> bool:
    section = getattr(env, "history", None)
    return bool(getattr(section, "enabled", True))


def open_store(env: Any, reports_dir: Path) -> HistoryStore:
    return HistoryStore(history_url(env, reports_dir))


def since_last_run(
    env: Any,
    selected: Sequence[str],
    run_dir: Path,
    run_id: str,
    started: datetime,
    reports_dir: Path,
    progress: Progress,
    partial: bool = False,
) -> RunDiff | None:
    """Write ``since_last.json`` (see the module doc); None when there is no history to compare.

    ``partial``: the run audits only ``selected`` (``--areas``): compared on those areas only.
    """
    if not enabled(env):
        return None
    from harden_lib.exports import export_view, scrub_findings
    from harden_lib.identity import IdentityContext
    from harden_lib.summary import collect, flatten, verdict

    per_area = collect(env.model_copy(update={"areas": list(selected)}), run_dir)
    per_area = {area: scrub_findings(found) for area, found in per_area.items()}
    decision = verdict(env, per_area)
    findings = flatten(per_area)
    cleaned, ids, flags = export_view(findings, decision.result.blocking, IdentityContext.for_environment(env))
    run = RunRecord(env.name, run_id, started, decision.result.verdict, 0, fail_on=env.gate.fail_on.value)
    try:
        with open_store(env, reports_dir) as store:
            diff = diff_live(
                store, run, records_from_findings(cleaned, ids, flags), areas=set(selected) if partial else None
            )
    except HistoryError as exc:
        progress(f"[{env.name}] history unavailable, nothing to compare with: {exc}")
        return None
    save_since_last(diff, run_dir / SINCE_LAST_FILE)
    return diff


def record(env: Any, run_dir: Path, reports_dir: Path, progress: Progress) -> tuple[RunRecord, RunDiff] | None:
    """Record the completed run folder; returns it with its diff against the run before it."""
    if not enabled(env):
        return None
    try:
        with open_store(env, reports_dir) as store:
            run = record_run_dir(store, run_dir)
            previous = store.previous(run)
            return run, diff_runs(store, previous, run)
    except HistoryError as exc:
        progress(f"[{env.name}] the run was not recorded in the history: {exc}")
        return None


def notify_and_prune(
    env: Any,
    outcome: Any,
    run_dir: Path,
    reports_dir: Path,
    recorded: tuple[RunRecord, RunDiff] | None,
    keep: int | None,
    progress: Progress,
) -> None:
    """Webhooks (``notify:``), then ``--keep N`` for this environment (reports and history)."""
    notify = getattr(env, "notify", None)
    if notify is not None and notify.webhooks:
        from harden_lib.notify import RunOutcome, send

        diff = recorded[1] if recorded else None
        base = (notify.report_url or "").rstrip("/")
        link = f"{base}/{env.name}/{outcome.run_id}/index.html" if base else str(run_dir / "index.html")
        message = RunOutcome(
            environment=env.name,
            run_id=outcome.run_id,
            verdict=outcome.verdict,
            exit_code=outcome.exit_code,
            headline=outcome.headline,
            blocking=recorded[0].blocking if recorded else 0,
            report=link,
            previous_verdict=diff.old.verdict if diff is not None and diff.old is not None else None,
        )
        try:
            for line in send(notify, message, diff, http=env.http):
                progress(f"[{env.name}] notify: {line}")
        except Exception:  # a notification problem never loses the run; the URL must not leak
            progress(f"[{env.name}] notify: not sent (the HTTP client could not be set up)")
    if keep:
        from harden_lib.retention import prune

        store = None
        try:
            store = open_store(env, reports_dir) if enabled(env) else None
        except HistoryError as exc:
            progress(f"[{env.name}] --keep: history unavailable, pruning report folders only: {exc}")
        try:
            result = prune(reports_dir, store, keep=keep, environments=[env.name])
        finally:
            if store is not None:
                store.close()
        if result.deleted_folders or result.deleted_history:
            progress(f"[{env.name}] --keep {keep}: {result.text().splitlines()[0]}")


def trends_inputs(env: Any, run_dir: Path, reports_dir: Path, progress: Progress) -> dict[str, bytes] | None:
    """The history snapshot for the trends notebook (None: no history, no trends notebook)."""
    if not enabled(env):
        return None
    from harden_lib.history.trends import SNAPSHOT, write_snapshot

    try:
        with open_store(env, reports_dir) as store:
            path = write_snapshot(store, env.name, run_dir, runs=env.history.trend_runs)
    except HistoryError as exc:
        progress(f"[{env.name}] trends skipped: {exc}")
        return None
    return {SNAPSHOT.as_posix(): path.read_bytes()}
