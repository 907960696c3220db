"""Benchmark: how often `harden import-checklist` proposes the check a person chose.

For each shipped checklist (params/checklists/sources/*.txt) the importer drafts a profile; every
item the curated profile (params/checklists/<system>.yaml) maps to automated checks is looked up
in the draft by its wording, and the draft's ranked candidates are compared with the curated ids
(a curated pattern such as ``headers.csp.*`` accepts any id it matches):

* **top-1**: the draft's first candidate is one of the curated checks;
* **top-3**: one of its first three candidates is;
* **mapped**: the draft maps the item to a check by itself (first candidate's confidence at or above
  ``AUTOMATE_AT``) and that check is a curated one.

Curated items whose checks are all params-defined ids (config rules such as
``config.relays.wss``: the importer cannot know a team's rule ids) are counted apart. The aliases
were written by someone who had read these four checklists (pruned of their phrases, but still):
the figure is agreement on known text, not a held-out score — tests/test_import_checklist.py runs
the importer on a checklist written in another style.

Run: ``python benchmarks/bench_import.py``; writes ``benchmarks/results/bench_import.json``.
"""

from __future__ import annotations

import fnmatch
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_import.json"


def _hits(proposed: str, curated: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(proposed, pattern) for pattern in curated)


def measure() -> dict:
    sys.path.insert(0, str(ROOT))
    from harden_lib.catalog import catalog
    from harden_lib.checklist import load_profile, normalise
    from harden_lib.checklist_import import AUTOMATE_AT, Matcher, write_draft

    matcher = Matcher()
    per_system: dict[str, dict] = {}
    totals = {"items": 0, "top1": 0, "top3": 0, "mapped": 0, "profile_defined": 0}
    misses: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in sorted((ROOT / "params" / "checklists" / "sources").glob("*.txt")):
            system = source.stem
            curated = load_profile(ROOT / "params" / "checklists" / f"{system}.yaml")
            started = time.perf_counter()
            draft = write_draft(source, system, Path(tmp) / f"{system}.yaml", matcher=matcher)
            seconds = time.perf_counter() - started
            by_text = {normalise(d.source.text): d for d in draft}
            counts = {"items": 0, "top1": 0, "top3": 0, "mapped": 0, "profile_defined": 0}
            for item in curated.items:
                ids = [c.id for c in item.checks]
                if not ids:
                    continue
                if not any(catalog().get(i) is not None and not i.startswith("config.") for i in ids) and not any(
                    "*" in i and not i.startswith(("config.", "operations.")) for i in ids
                ):
                    counts["profile_defined"] += 1
                    continue
                drafted = by_text[normalise(item.text)]
                ranked = [c.check_id for c in drafted.candidates]
                counts["items"] += 1
                top1 = bool(ranked) and _hits(ranked[0], ids)
                counts["top1"] += top1
                counts["top3"] += any(_hits(r, ids) for r in ranked[:3])
                counts["mapped"] += drafted.automated and top1
                if not top1:
                    misses.append({"system": system, "item": item.id, "curated": ids, "proposed": ranked[:3]})
            counts["seconds"] = round(seconds, 3)
            per_system[system] = counts
            for key in totals:
                totals[key] += counts[key]
    share = {k: round(totals[k] / totals["items"], 3) for k in ("top1", "top3", "mapped")}
    return {
        "benchmark": "bench_import",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "automate_at": AUTOMATE_AT,
        "totals": totals,
        "share": share,
        "per_system": per_system,
        "misses": misses,
    }


def main() -> int:
    result = measure()
    totals, share = result["totals"], result["share"]
    print(
        f"curated automated items with a catalog check: {totals['items']} "
        f"(+{totals['profile_defined']} whose checks are only the profile's own config rules, not counted)"
    )
    print(f"top-1 agreement: {totals['top1']}/{totals['items']} = {share['top1']:.0%}")
    print(f"top-3 agreement: {totals['top3']}/{totals['items']} = {share['top3']:.0%}")
    print(f"mapped by the draft itself (confidence >= {result['automate_at']}): {share['mapped']:.0%}")
    for system, counts in result["per_system"].items():
        print(
            f"  {system}: top-1 {counts['top1']}/{counts['items']}, top-3 {counts['top3']}/{counts['items']}, "
            f"{counts['seconds']} s"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
