"""Machine-readable results of a run: findings.json, findings.csv and junit.xml.

JUnit XML is written with the standard library's ElementTree (it escapes text and
attributes); one testcase per finding, so CI systems list every check, with failures and
errors where CI users expect them.

Every export goes through the same scrubbing as the notebooks and HTML reports
(``redact.scrub_output``: the secrets this process knows, URL passwords and credential query
parameters). The area files ``findings/<area>.json`` are written by the kernels, which may not
know every secret the runner knows (an env file another area loaded, the demo's cookies), so
the runner scrubs them again with ``scrub_area_files`` before anything is exported.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harden_lib.findings import COLUMNS, Finding, Status, atomic_write_text
from harden_lib.redact import scrub_output, scrub_tree

#: The text fields of a finding (everything else is an enum, a date or a number).
_TEXT_FIELDS = ("area", "check_id", "title", "target", "observed", "expected", "remediation", "waiver")


def scrub_finding(finding: Finding) -> Finding:
    """The finding with every text field scrubbed (returns the same object when nothing changed)."""
    update: dict[str, object] = {}
    for name in _TEXT_FIELDS:
        value = getattr(finding, name)
        cleaned = scrub_output(value)
        if cleaned != value:
            update[name] = cleaned
    references = tuple(scrub_output(r) for r in finding.references)
    if references != finding.references:
        update["references"] = references
    return finding.model_copy(update=update) if update else finding


def scrub_findings(findings: Sequence[Finding]) -> list[Finding]:
    return [scrub_finding(f) for f in findings]


def scrub_area_files(run_dir: Path) -> int:
    """Rewrite ``findings/<area>.json`` scrubbed with what this process knows; returns files changed.

    A file that is not valid JSON is left for the summary to report (it becomes an error
    finding there), but is scrubbed as text all the same.
    """
    changed = 0
    for path in sorted((Path(run_dir) / "findings").glob("*.json")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            cleaned = json.dumps(scrub_tree(json.loads(text)), indent=2, ensure_ascii=False) + "\n"
        except json.JSONDecodeError:
            cleaned = scrub_output(text)
        if cleaned != text:
            atomic_write_text(path, cleaned)
            changed += 1
    return changed


def write_findings_json(path: Path, environment: str, run_id: str, findings: Sequence[Finding]) -> None:
    findings = scrub_findings(findings)
    document = {
        "environment": environment,
        "run_id": run_id,
        "findings": [{"environment": environment, **f.model_dump(mode="json")} for f in findings],
    }
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_findings_csv(path: Path, environment: str, findings: Sequence[Finding]) -> None:
    findings = scrub_findings(findings)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["environment", *COLUMNS])
    for finding in findings:
        row = finding.row()
        # A leading = + - @ makes spreadsheets evaluate a cell; scanned servers control text.
        writer.writerow([environment, *(_spreadsheet_safe(str(row[c])) for c in COLUMNS)])
    atomic_write_text(path, buffer.getvalue())


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


_XML_INVALID = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _xml_text(value: str) -> str:
    """XML 1.0 forbids most control characters; a hostile server may send them."""
    return value.translate(_XML_INVALID)


def write_junit(path: Path, environment: str, findings: Sequence[Finding], durations: dict[str, float]) -> None:
    """One testsuite per area, one testcase per finding."""
    findings = scrub_findings(findings)
    root = ET.Element("testsuites", name=f"harden {environment}")
    by_area: dict[str, list[Finding]] = {}
    for finding in findings:
        by_area.setdefault(finding.area, []).append(finding)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for area, items in by_area.items():
        failures = sum(f.status is Status.FAIL for f in items)
        errors = sum(f.status is Status.ERROR for f in items)
        skipped = sum(f.status in (Status.SKIP, Status.MANUAL, Status.WAIVED) for f in items)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{environment}.{area}",
            tests=str(len(items)),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
            time=f"{durations.get(area, 0.0):.3f}",
        )
        for key, value in (("tests", len(items)), ("failures", failures), ("errors", errors), ("skipped", skipped)):
            totals[key] += value
        for finding in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{environment}.{area}",
                name=_xml_text(f"{finding.check_id} [{finding.target}]" if finding.target else finding.check_id),
            )
            message = _xml_text(f"[{finding.severity}] {finding.title}")
            detail = _xml_text(
                f"observed: {finding.observed}\nexpected: {finding.expected}\nremediation: {finding.remediation}"
            )
            if finding.status is Status.FAIL:
                ET.SubElement(case, "failure", message=message, type=finding.severity.value).text = detail
            elif finding.status is Status.ERROR:
                ET.SubElement(case, "error", message=message, type="error").text = detail
            elif finding.status in (Status.SKIP, Status.MANUAL, Status.WAIVED):
                ET.SubElement(case, "skipped", message=_xml_text(f"{finding.status}: {finding.observed}"))
            elif finding.status is Status.WARN:
                ET.SubElement(case, "system-out").text = _xml_text(f"WARN {message}\n{detail}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    atomic_write_text(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
