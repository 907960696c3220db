"""Machine-readable results of a run: findings.json, findings.csv and junit.xml (SARIF: ``sarif.py``).

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


#: Version of the findings.json document (``harden_lib/schemas/findings.schema.json``): 2 added the
#: schema version, verdict, gate and each finding's stable ``id`` and ``blocking`` flag.
FINDINGS_JSON_VERSION = 2


def _blocking_flags(findings: Sequence[Finding], blocking: Sequence[Finding] | None) -> list[bool]:
    """Per finding: did it close the gate (it is one of the gate's ``blocking`` findings)?"""
    if blocking is None:
        return [False] * len(findings)
    objects = {id(b) for b in blocking}
    keys = {(b.area, b.check_id, b.target, b.status, b.severity, b.observed) for b in blocking}
    return [
        id(f) in objects or (f.area, f.check_id, f.target, f.status, f.severity, f.observed) in keys for f in findings
    ]


def export_view(
    findings: Sequence[Finding], blocking: Sequence[Finding] | None = None, context: object = None
) -> tuple[list[Finding], list[str], list[bool]]:
    """(scrubbed findings, stable ids, blocking flags): what every export of a run shows.

    Ids are computed from the scrubbed targets (``harden_lib.identity``), so an id never
    depends on a secret; ``context`` is the environment's ``IdentityContext``.
    """
    from harden_lib.identity import assign_ids

    flags = _blocking_flags(findings, blocking)
    cleaned = scrub_findings(findings)
    return cleaned, assign_ids(cleaned, context), flags  # type: ignore[arg-type]


def write_findings_json(
    path: Path,
    environment: str,
    run_id: str,
    findings: Sequence[Finding],
    *,
    blocking: Sequence[Finding] | None = None,
    verdict: str | None = None,
    fail_on: str | None = None,
    started: str | None = None,
    exit_code: int | None = None,
    context: object = None,
    partial: bool | None = None,
    areas: Sequence[str] | None = None,
) -> None:
    """findings.json (schema ``harden_lib/schemas/findings.schema.json``).

    ``partial``/``areas``: the run audited only some areas (``harden run --areas``); a reader (or a
    gate in CI) must not mistake it for the environment's complete audit.
    """
    cleaned, ids, flags = export_view(findings, blocking, context)
    document: dict[str, object] = {
        "schema_version": FINDINGS_JSON_VERSION,
        "environment": environment,
        "run_id": run_id,
    }
    if started is not None:
        document["started"] = started
    if verdict is not None:
        document["verdict"] = verdict
    if exit_code is not None:
        document["exit_code"] = exit_code
    if partial is not None:
        document["partial"] = partial
    if areas is not None:
        document["areas"] = list(areas)
    document["gate"] = {"fail_on": str(fail_on or "high"), "blocking": sum(flags)}
    document["findings"] = [
        {"id": finding_id, "environment": environment, **f.model_dump(mode="json"), "blocking": flag}
        for f, finding_id, flag in zip(cleaned, ids, flags, strict=True)
    ]
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_findings_csv(
    path: Path,
    environment: str,
    findings: Sequence[Finding],
    *,
    run_id: str = "",
    blocking: Sequence[Finding] | None = None,
    context: object = None,
) -> None:
    """One row per finding; the run id, the stable id and the blocking flag come last."""
    cleaned, ids, flags = export_view(findings, blocking, context)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["environment", *COLUMNS, "id", "run_id", "blocking"])
    for finding, finding_id, flag in zip(cleaned, ids, flags, strict=True):
        row = finding.row()
        # A leading = + - @ makes spreadsheets evaluate a cell; scanned servers control text.
        cells = [_spreadsheet_safe(str(row[c])) for c in COLUMNS]
        writer.writerow([environment, *cells, finding_id, run_id, "yes" if flag else "no"])
    atomic_write_text(path, buffer.getvalue())


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


_XML_INVALID = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _xml_text(value: str) -> str:
    """XML 1.0 forbids most control characters; a hostile server may send them."""
    return value.translate(_XML_INVALID)


def write_junit(
    path: Path,
    environment: str,
    findings: Sequence[Finding],
    durations: dict[str, float],
    *,
    blocking: Sequence[Finding] | None = None,
    all_failures: bool = False,
    partial: bool | None = None,
    areas: Sequence[str] | None = None,
) -> None:
    """One testsuite per area, one testcase per finding.

    With the gate's ``blocking`` findings given (what ``harden run`` does), only those are
    failures (``fail``) or errors (``error``): a CI test view then shows red exactly when the
    deploy gate is closed, and every other finding is a passed testcase whose status, severity
    and id are in its properties. ``all_failures`` (``harden run --junit-all``), or no
    ``blocking`` given, keeps the older view: every ``fail`` a failure, every ``error`` an
    error, skip/manual/waived skipped.
    """
    cleaned, ids, flags = export_view(findings, blocking, None)
    gate_view = blocking is not None and not all_failures
    root = ET.Element("testsuites", name=f"harden {environment}")
    by_area: dict[str, list[tuple[Finding, str, bool]]] = {}
    for item in zip(cleaned, ids, flags, strict=True):
        by_area.setdefault(item[0].area, []).append(item)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for area, items in by_area.items():
        if gate_view:
            failures = sum(flag and f.status is Status.FAIL for f, _, flag in items)
            errors = sum(flag and f.status is Status.ERROR for f, _, flag in items)
            skipped = 0
        else:
            failures = sum(f.status is Status.FAIL for f, _, _ in items)
            errors = sum(f.status is Status.ERROR for f, _, _ in items)
            skipped = sum(f.status in (Status.SKIP, Status.MANUAL, Status.WAIVED) for f, _, _ in items)
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
        if partial is not None:  # a partial run (harden run --areas) says so in every suite
            run_properties = ET.SubElement(suite, "properties")
            ET.SubElement(run_properties, "property", name="partial", value="true" if partial else "false")
            if areas is not None:
                ET.SubElement(run_properties, "property", name="areas", value=_xml_text(",".join(areas)))
        for key, value in (("tests", len(items)), ("failures", failures), ("errors", errors), ("skipped", skipped)):
            totals[key] += value
        for finding, finding_id, flag in items:
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
            if gate_view:
                properties = ET.SubElement(case, "properties")
                for name, value in (
                    ("id", finding_id),
                    ("status", finding.status.value),
                    ("severity", finding.severity.value),
                    ("blocking", "yes" if flag else "no"),
                ):
                    ET.SubElement(properties, "property", name=name, value=_xml_text(value))
                if flag and finding.status is Status.FAIL:
                    ET.SubElement(case, "failure", message=message, type=finding.severity.value).text = detail
                elif flag:
                    ET.SubElement(case, "error", message=message, type="error").text = detail
                elif finding.status is not Status.PASS:
                    note = f"{finding.status.value.upper()} {message}\n{detail}"
                    ET.SubElement(case, "system-out").text = _xml_text(note)
                continue
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
