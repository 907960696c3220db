"""JUnit/CSV/JSON exports and the HTML index pages treat finding text as hostile."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from harden_lib import Finding, Severity, Status
from harden_lib.exports import write_findings_csv, write_findings_json, write_junit
from harden_lib.reports_index import write_reports_index, write_run_index

HOSTILE = '<script>alert(1)</script>\x00\x1b[31m & "quotes"'


def findings():
    return [
        Finding(
            area="headers",
            check_id="headers.csp.present",
            title="CSP",
            status=Status.FAIL,
            severity=Severity.HIGH,
            target="https://x/",
            observed=HOSTILE,
        ),
        Finding(
            area="headers",
            check_id="headers.hsts.present",
            title="HSTS",
            status=Status.PASS,
            severity=Severity.HIGH,
            target="https://x/",
        ),
        Finding(
            area="config",
            check_id="config.required",
            title="Req",
            status=Status.ERROR,
            severity=Severity.CRITICAL,
            target="=cmd|' /C calc'!A0",
        ),
        Finding(
            area="config", check_id="config.one_of", title="One", status=Status.SKIP, severity=Severity.LOW, target="k"
        ),
    ]


def test_junit_one_testcase_per_finding_and_valid_xml(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(path, "prod", findings(), {"headers": 1.5})
    root = ET.parse(path).getroot()
    assert root.get("tests") == "4" and root.get("failures") == "1" and root.get("errors") == "1"
    cases = root.findall(".//testcase")
    assert len(cases) == 4
    failure = root.find(".//failure")
    assert failure is not None and "<script>" in failure.text and "\x00" not in failure.text
    assert root.find(".//skipped") is not None


def test_csv_neutralises_formula_cells(tmp_path):
    path = tmp_path / "f.csv"
    write_findings_csv(path, "prod", findings())
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 4
    assert rows[2]["target"].startswith("'=")


def test_json_carries_environment(tmp_path):
    path = tmp_path / "f.json"
    write_findings_json(path, "prod", "r1", findings())
    doc = json.loads(path.read_text())
    assert doc["run_id"] == "r1" and {f["environment"] for f in doc["findings"]} == {"prod"}


def test_index_pages_escape_hostile_text(tmp_path):
    run_dir = tmp_path / "prod" / "r1"
    run_dir.mkdir(parents=True)
    info = {
        "environment": "prod",
        "run_id": "r1",
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "versions": {"harden": "0"},
        "params_digest": "ab" * 32,
        "verdict": "NO-GO",
        "headline": HOSTILE,
        "exit_code": 1,
        "areas": [
            {
                "area": "headers",
                "title": "Security headers",
                "ok": True,
                "seconds": 1.0,
                "error": None,
                "html": "headers.html",
                "counts": {"fail": 1},
            }
        ],
        "counts": {"fail": 1},
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    html = write_run_index(run_dir, info, findings()[:1]).read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    index = write_reports_index(tmp_path).read_text()
    assert "prod/r1/index.html" in index and "NO-GO" in index
