"""The history commands of the CLI: ``history import|list``, ``diff``, ``drift``, ``prune``.

Which store: ``--history-url``, else ``HARDEN_HISTORY_URL``, else the ``history.url`` of the
params of the ``--env`` given (when its params file is in ``--params-dir``), else
``REPORTS/history.sqlite``. The store's URL is only ever shown without its password.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harden_lib.errors import HardenError
from harden_lib.history.store import ENV_VAR, HistoryStore, display_url, history_url, import_reports

EXIT_OK = 0
EXIT_NEW_FAILURES = 1
EXIT_USAGE = 64


def store_url(args: argparse.Namespace, environments: list[str] | None = None) -> str:
    if getattr(args, "history_url", None):
        return args.history_url
    if os.environ.get(ENV_VAR, "").strip():
        return os.environ[ENV_VAR].strip()
    from harden_lib.params import environment_path

    for name in environments or []:
        path = environment_path(name, args.params_dir)
        if path.is_file():
            from harden_lib.environment import load_environment

            env = load_environment(path)
            if env.history.url:
                return env.history.url
    return history_url(None, args.reports)


def main(args: argparse.Namespace) -> int:
    if args.command == "history":
        return _history(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "drift":
        return _drift(args)
    if args.command == "prune":
        return _prune(args)
    return EXIT_USAGE


def _history(args: argparse.Namespace) -> int:
    url = store_url(args)
    with HistoryStore(url) as store:
        if args.history_command == "import":
            recorded, skipped, problems = import_reports(store, args.reports)
            for problem in problems:
                print(f"skipped: {problem}", file=sys.stderr)
            print(
                f"imported {recorded} run(s) from {args.reports} into {display_url(url)}; "
                f"{skipped} already recorded, {len(problems)} unreadable"
            )
            return EXIT_OK
        runs = store.runs(args.env, limit=args.limit)
        if not runs:
            print(f"no recorded runs in {display_url(url)}" + (f" for {args.env}" if args.env else ""))
            return EXIT_OK
        print(f"{'environment':<24} {'run':<24} {'started':<25} {'verdict':<7} exit blocking findings")
        for run in runs:
            total = sum(run.counts.values())
            print(
                f"{run.environment:<24} {run.run_id:<24} {run.started.isoformat(timespec='seconds'):<25} "
                f"{run.verdict:<7} {run.exit_code:>4} {run.blocking:>8} {total:>8}"
            )
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from harden_lib.diff import diff_runs

    url = store_url(args, [args.env] if args.env else None)
    with HistoryStore(url) as store:
        environment = args.env
        if environment is None:
            known = store.environments()
            if len(known) != 1:
                listed = ", ".join(known) or "none"
                raise HardenError(f"give --env: the history records {len(known)} environments ({listed})")
            environment = known[0]
        if args.new:
            new = store.run(environment, args.new)
            if new is None:
                raise HardenError(f"no recorded run '{args.new}' of {environment}")
        else:
            newest = store.runs(environment, limit=1)
            if not newest:
                raise HardenError(f"no recorded run of {environment} in {display_url(url)}")
            new = newest[0]
        if args.old:
            old = store.run(environment, args.old)
            if old is None:
                raise HardenError(f"no recorded run '{args.old}' of {environment}")
        else:
            old = store.previous(new)
        result = diff_runs(store, old, new)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(result.text(limit=args.limit))
    return EXIT_NEW_FAILURES if args.exit_code and result.new_failures else EXIT_OK


def _drift(args: argparse.Namespace) -> int:
    from harden_lib.drift import drift_frame, drift_text

    names = list(dict.fromkeys(args.env))
    if len(names) < 2:
        print("harden: error: drift needs at least two --env", file=sys.stderr)
        return EXIT_USAGE
    with HistoryStore(store_url(args, names)) as store:
        frame = drift_frame(store, names, level=args.level)
    if args.format == "json":
        rows = frame if args.all_checks else frame[frame["differs"] != ""]
        print(json.dumps({"runs": frame.attrs.get("runs", {}), "rows": rows.to_dict(orient="records")}, indent=2))
    elif args.format == "csv":
        rows = frame if args.all_checks else frame[frame["differs"] != ""]
        print(rows.to_csv(index=False), end="")
    else:
        print(drift_text(frame, show_all=args.all_checks))
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    from harden_lib.retention import parse_age, prune

    if args.keep is None and args.older_than is None:
        print("harden: error: prune needs --keep N and/or --older-than AGE", file=sys.stderr)
        return EXIT_USAGE
    age = parse_age(args.older_than) if args.older_than else None
    with HistoryStore(store_url(args, args.env)) as store:
        result = prune(
            Path(args.reports), store, keep=args.keep, older_than=age, environments=args.env, dry_run=args.dry_run
        )
    print(result.text())
    if not args.dry_run and Path(args.reports).is_dir():
        from harden_lib.reports_index import write_reports_index

        write_reports_index(Path(args.reports))
    return EXIT_OK
