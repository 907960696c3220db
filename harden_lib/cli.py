"""``harden`` / ``python -m harden_lib``: run audits, validate params, serve the demo target.

Exit codes (DESIGN §8): 0 GO, 1 NO-GO, 2 the run could not complete (bad params, a notebook
crashed), 64 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harden_lib.errors import HardenError
from harden_lib.runner import EXIT_INCOMPLETE, EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; 2 means 'run incomplete' here, so use 64 (EX_USAGE)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _split_areas(value: str) -> list[str]:
    from harden_lib.areas import AREAS

    areas = list(dict.fromkeys(a.strip() for a in value.split(",") if a.strip()))
    if not areas:  # --areas "" or "," would run nothing and still write a NO-GO report
        raise argparse.ArgumentTypeError(f"no area named in {value!r}; name at least one of: {', '.join(AREAS)}")
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown area(s) {', '.join(unknown)}; known: {', '.join(AREAS)}")
    return areas


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harden", description="Production-hardening audit kit.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="audit one or more environments and write HTML/JSON/CSV/JUnit reports")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", action="append", metavar="NAME", help="params/NAME.yaml (repeatable)")
    which.add_argument("--all", action="store_true", help="every environment in the params folder")
    run.add_argument(
        "--areas",
        type=_split_areas,
        help="comma-separated subset of areas to run; the run is marked partial and does not replace "
        "'latest' of a complete run (see --latest)",
    )
    run.add_argument(
        "--latest",
        action="store_true",
        help="make this run the environment's 'latest' even when it is partial (--areas)",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=2,
        help="notebooks executed in parallel: warm kernels here, or Dask workers for dask-local (default 2)",
    )
    run.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start a new kernel for every notebook instead of reusing warm kernels (slower)",
    )
    run.add_argument(
        "--executor",
        choices=("local", "dask-local", "dask"),
        default="local",
        help="where notebooks run: local warm kernels (default), a Dask LocalCluster, or a Dask scheduler",
    )
    run.add_argument("--scheduler", metavar="tcp://HOST:8786", help="the Dask scheduler for --executor dask")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default reports/)")
    run.add_argument("--params-dir", type=Path, default=Path("params"), help="params folder (default params/)")
    run.add_argument(
        "--keep", type=int, metavar="N", help="after the run, keep the newest N runs per environment (never latest)"
    )
    run.add_argument(
        "--junit-all",
        action="store_true",
        help="junit.xml: every fail a failure and every error an error (default: only what closes the gate)",
    )

    validate = sub.add_parser(
        "validate",
        help="check params files and checklist profiles without running anything (shape and referenced files)",
    )
    validate.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="params/<env>.yaml or params/checklists/<system>.yaml (a folder: its *.yaml)",
    )

    coverage = sub.add_parser("coverage", help="how each item of a checklist profile is audited")
    coverage.add_argument(
        "profiles", nargs="+", type=Path, help="params/checklists/<system>.yaml (several, or a folder: its *.yaml)"
    )

    imported = sub.add_parser(
        "import-checklist", help="draft a checklist profile from a team's checklist (Markdown or text)"
    )
    imported.add_argument("file", type=Path, help="the checklist text")
    imported.add_argument("--system", required=True, help="the profile's system name (lower case, e.g. billing-api)")
    imported.add_argument(
        "--output", type=Path, help="where the draft goes (default: <system>.draft.yaml next to the checklist)"
    )
    imported.add_argument("--force", action="store_true", help="overwrite an existing draft")

    checks = sub.add_parser("checks", help="list the check catalog: every check id with its metadata")
    checks.add_argument("--area", help="only this area's checks")
    checks.add_argument(
        "--format", choices=("table", "json", "markdown"), default="table", help="table (default), json or markdown"
    )

    demo = sub.add_parser("demo-server", help="serve the embedded demo target in the foreground until Ctrl-C")
    from harden_lib.demo.server import add_arguments as demo_arguments

    demo_arguments(demo)
    _history_commands(sub)  # issue 13
    return parser


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default reports/)")
    parser.add_argument("--params-dir", type=Path, default=Path("params"), help="params folder (default params/)")
    parser.add_argument(
        "--history-url",
        metavar="URL",
        help="SQLAlchemy URL of the history store (default: HARDEN_HISTORY_URL, the params' history.url, "
        "else REPORTS/history.sqlite)",
    )


def _history_commands(sub: argparse._SubParsersAction) -> None:
    """``harden history import|list``, ``diff``, ``drift`` and ``prune`` (run history, issue 13)."""
    history = sub.add_parser("history", help="the run history store: import old report folders, list runs")
    actions = history.add_subparsers(dest="history_command", parser_class=_Parser, required=True)
    imported = actions.add_parser("import", help="record every reports/<env>/<run>/ folder not recorded yet")
    _store_options(imported)
    listed = actions.add_parser("list", help="recorded runs, newest first")
    listed.add_argument("--env", metavar="NAME", help="only this environment")
    listed.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20)")
    _store_options(listed)

    diff = sub.add_parser("diff", help="what changed between two runs: new failures, fixed, still failing …")
    diff.add_argument("--env", metavar="NAME", help="the environment (needed when several are recorded)")
    diff.add_argument("old", nargs="?", help="the older run id (or a unique prefix); default: the run before NEW")
    diff.add_argument("new", nargs="?", help="the newer run id (or a unique prefix); default: the newest run")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    diff.add_argument("--limit", type=int, default=50, help="findings listed per section in text (default 50)")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when there are new failures")
    _store_options(diff)

    drift = sub.add_parser("drift", help="the latest runs of several environments side by side")
    drift.add_argument("--env", action="append", metavar="NAME", required=True, help="an environment (2 or more)")
    drift.add_argument("--all-checks", action="store_true", help="list every check, not only those that differ")
    drift.add_argument("--level", choices=("check", "finding"), default="check", help="one row per check or finding")
    drift.add_argument("--format", choices=("text", "json", "csv"), default="text", help="text (default), json, csv")
    _store_options(drift)

    prune = sub.add_parser("prune", help="delete old report folders and history rows (never the latest run)")
    prune.add_argument("--keep", type=int, metavar="N", help="keep the newest N runs per environment")
    prune.add_argument("--older-than", metavar="AGE", help="only delete runs older than AGE (90d, 12h, 2w)")
    prune.add_argument("--env", action="append", metavar="NAME", help="only these environments (repeatable)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    _store_options(prune)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from harden_lib import __version__

        print(f"harden {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(_yaml_files(args.files))
        if args.command == "coverage":
            return _coverage_all(_yaml_files(args.profiles))
        if args.command == "checks":
            return _checks(args.area, args.format)
        if args.command == "import-checklist":
            return _import_checklist(args.file, args.system, args.output, args.force)
        if args.command in ("history", "diff", "drift", "prune"):
            from harden_lib.history.commands import main as history_main

            return history_main(args)
        if args.command == "demo-server":
            from harden_lib.demo.server import serve

            return serve(args)
    except HardenError as exc:
        print(f"harden: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except BrokenPipeError:  # `harden coverage … | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("harden: interrupted; the 'latest' report link was not switched", file=sys.stderr)
        return 130
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    from harden_lib.params import environment_names
    from harden_lib.runner import Runner

    if args.workers < 1 or args.workers > 64:
        print("harden: error: --workers must be between 1 and 64", file=sys.stderr)
        return EXIT_USAGE
    if args.executor == "dask" and not args.scheduler:
        print("harden: error: --executor dask needs --scheduler tcp://HOST:8786", file=sys.stderr)
        return EXIT_USAGE
    if args.scheduler and args.executor != "dask":
        print("harden: error: --scheduler is only used with --executor dask", file=sys.stderr)
        return EXIT_USAGE
    if args.keep is not None and args.keep < 1:
        print("harden: error: --keep must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    names = environment_names(args.params_dir) if args.all else args.env
    if not names:
        print(f"harden: error: no environment found in {args.params_dir}", file=sys.stderr)
        return EXIT_USAGE
    runner = Runner(
        reports_dir=args.reports,
        params_dir=args.params_dir,
        workers=args.workers,
        fresh_kernels=args.fresh_kernels,
        executor=args.executor,
        scheduler=args.scheduler,
        keep=args.keep,
        junit_all=args.junit_all,
        latest=args.latest,
    )
    result = runner.run(names, args.areas)
    for env in result.environments:
        where = env.run_dir / "index.html" if env.run_dir else "(no report)"
        print(f"{env.environment}: {env.verdict} (exit {env.exit_code}) {env.error or ''} {where}".replace("  ", " "))
    print(f"All reports: {args.reports / 'index.html'}")
    return result.exit_code


def _checks(area: str | None, output: str) -> int:
    """Print the catalog as a table, JSON or the Markdown of docs/checks.md."""
    import json

    import pandas as pd

    from harden_lib.areas import AREAS
    from harden_lib.catalog import catalog, catalog_frame, catalog_json, catalog_markdown

    known = catalog().areas()
    if area is not None and area not in known:
        print(f"harden: error: no checks for area '{area}'; areas: {', '.join(known)}", file=sys.stderr)
        return EXIT_USAGE
    if output == "json":
        print(json.dumps(catalog_json(area), indent=2, ensure_ascii=False))
    elif output == "markdown":
        titles = {name: spec.title for name, spec in AREAS.items()}
        print(catalog_markdown(titles, area=area), end="")
    else:
        frame = catalog_frame(area)[["id", "severity", "title", "references"]]
        with pd.option_context("display.max_rows", None, "display.max_colwidth", 70, "display.width", 220):
            print(frame.to_string(index=False))
        print(f"\n{len(frame)} checks" + (f" in {area}" if area else f" in {len(known)} areas"))
    return 0


def _coverage(path: Path) -> int:
    """Print item, section, how it is covered and by which check; exit 1 if anything is uncovered."""
    import pandas as pd

    from harden_lib.checklist import coverage_counts, coverage_frame, load_profile, unattached, unmapped

    profile = load_profile(path)
    frame = coverage_frame(profile)[["item", "section", "covered by", "check"]]
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 48, "display.width", 200):
        print(f"{profile.title} ({path})")
        print(frame.to_string(index=False))
    counts = coverage_counts(profile)
    missing = unmapped(profile, path.resolve())
    print("\n" + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + f"; {len(profile.items)} items")
    for item in missing:
        print(f"NOT MAPPED line {item.line} ({item.kind}): {item.text[:100]}", file=sys.stderr)
    loose = unattached(profile)  # declared in the profile's params, shown on no row
    for name in loose:
        print(f"NOT ATTACHED {name}: no item shows its result", file=sys.stderr)
    return 0 if not missing and not loose and counts["not covered"] == 0 else 1


def _yaml_files(paths: Sequence[Path]) -> list[Path]:
    """The files named; a folder stands for the ``*.yaml`` directly in it, sorted, less the
    templates named ``*.example.yaml`` (as ``harden run --all`` reads a params folder)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.glob("*.yaml") if not p.name.endswith(".example.yaml")))
        else:
            out.append(path)
    return out


def _coverage_all(profiles: Sequence[Path]) -> int:
    """``harden coverage`` for each profile in turn; the exit code is the worst of them.

    A profile that cannot be loaded is reported and the others are still shown (exit 2).
    """
    code = 0
    for index, profile in enumerate(profiles):
        if index:
            print()
        try:
            code = max(code, _coverage(profile))
        except HardenError as exc:
            print(f"harden: {exc}", file=sys.stderr)
            code = max(code, EXIT_INCOMPLETE)
    return code


def _import_checklist(file: Path, system: str, output: Path | None, force: bool) -> int:
    """Write a draft profile (every requirement an item, catalog checks proposed), then its coverage."""
    import re

    from harden_lib.checklist_import import write_draft

    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", system):
        print("harden: error: --system is lower-case letters, digits, '-' and '_' (e.g. billing-api)", file=sys.stderr)
        return EXIT_USAGE
    if not file.is_file():
        print(f"harden: error: {file} is not a readable file", file=sys.stderr)
        return EXIT_USAGE
    output = output or file.with_name(f"{system}.draft.yaml")
    if output.exists() and not force:
        print(f"harden: error: {output} exists (use --force to overwrite it)", file=sys.stderr)
        return EXIT_USAGE
    try:
        items = write_draft(file, system, output)
    except UnicodeDecodeError:
        print(f"harden: error: {file} is not UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    automated = sum(1 for i in items if i.automated)
    commands = sum(1 for i in items if not i.automated and i.command is not None)
    print(
        f"Draft written to {output}: {len(items)} requirements — {automated} mapped to a check, "
        f"{commands} to a command, {len(items) - automated - commands} to an attestation (owner TODO). "
        "Review the candidates listed above each item.\n"
    )
    return _coverage(output)


def _validate(files: Sequence[Path]) -> int:
    """OK with a summary, or INVALID with every problem; a profile is validated as a profile."""
    from harden_lib.validation import validate

    code = 0
    for file in files:
        outcome = validate(file)
        if outcome.ok:
            print(f"OK {file}: {outcome.summary}")
            continue
        code = EXIT_INCOMPLETE
        for problem in outcome.problems:
            print(f"INVALID {problem}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
