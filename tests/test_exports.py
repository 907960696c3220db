"""JUnit/CSV/JSON exports, the HTML index pages and Markdown in reports treat finding and params text as
hostile, and carry no secret the run knows."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from harden_lib import Finding, Severity, Status
from harden_lib.exports import (
    scrub_area_files,
    scrub_finding,
    scrub_findings,
    write_findings_csv,
    write_findings_json,
    write_junit,
)
from harden_lib.findings import load_findings, save_findings
from harden_lib.redact import register_secret
from harden_lib.render import md_escape, md_url, notebook_to_html
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


# --------------------------------------------------------------------------- secrets in exports


def _secret_findings(known: str, token: str) -> list[Finding]:
    """Findings as a kernel that did not know ``known`` would have saved them."""
    return [
        Finding(
            area="commands",
            check_id="commands.run",
            title="Command 'smoke' succeeds",
            status=Status.FAIL,
            severity=Severity.HIGH,
            target="smoke",
            observed=f"exit 1; last lines:\nconnected with {known}",
            remediation=f"see https://ci.example.com/job?access_token={token}&page=2",
            references=(f"runbook https://wiki.example.com/x?sig={token}",),
        ),
        Finding(
            area="operations",
            check_id="operations.attestation",
            title="Restore tested",
            status=Status.PASS,
            severity=Severity.MEDIUM,
            target=f"https://drive.example.com/doc?X-Amz-Signature={token}",
            observed="attested",
            waiver=f"reason mentions {known}",
        ),
    ]


def test_every_export_is_scrubbed_of_known_secrets_and_url_credentials(tmp_path):
    known, token = "Known-" + "Qz8rT2" * 4, "Tok-" + "Mv7Lp3" * 4
    register_secret(known)
    found = _secret_findings(known, token)
    write_findings_json(tmp_path / "f.json", "prod", "r1", found)
    write_findings_csv(tmp_path / "f.csv", "prod", found)
    write_junit(tmp_path / "j.xml", "prod", found, {})
    for name in ("f.json", "f.csv", "j.xml"):
        text = (tmp_path / name).read_text()
        assert known not in text and token not in text, name
        assert "[REDACTED]" in text and "page=2" in text, name
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["findings"][1]["target"] == "https://drive.example.com/doc?X-Amz-Signature=[REDACTED]"


def test_scrub_finding_keeps_clean_findings_identical():
    clean = findings()[1]
    assert scrub_finding(clean) is clean
    assert scrub_findings(findings())[0].observed == HOSTILE  # markup is escaped by each writer, not here


def test_area_files_written_by_a_kernel_are_scrubbed_again(tmp_path):
    """The kernel saved ``findings/<area>.json`` before the runner knew the secret (item 8)."""
    known, token = "Known-" + "Hx4Wc9" * 4, "Tok-" + "Ra5Nd2" * 4
    save_findings(_secret_findings(known, token), tmp_path, "commands")  # the kernel: knows neither the value...
    text = (tmp_path / "findings" / "commands.json").read_text()
    assert known in text and token not in text  # ...but URL credentials are redacted there already
    (tmp_path / "findings" / "broken.json").write_text(f"not json {known}")
    register_secret(known)  # the runner knows it (from the env file)
    assert scrub_area_files(tmp_path) == 2
    assert known not in (tmp_path / "findings" / "commands.json").read_text()
    assert known not in (tmp_path / "findings" / "broken.json").read_text()
    assert load_findings(tmp_path / "findings" / "commands.json")[0].observed.endswith("connected with [REDACTED]")
    assert scrub_area_files(tmp_path) == 0  # idempotent


def test_index_pages_scrub_run_records_and_blocking_findings(tmp_path):
    known, token = "Known-" + "Pp3Kd7" * 4, "Tok-" + "Bb8Ss1" * 4
    run_dir = tmp_path / "prod" / "r2"
    run_dir.mkdir(parents=True)
    info = {
        "environment": "prod",
        "run_id": "r2",
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "versions": {"harden": "0"},
        "params_digest": "cd" * 32,
        "verdict": "NO-GO",
        "headline": f"NO-GO: {known} https://h/?token={token}",
        "exit_code": 1,
        "areas": [],
        "counts": {},
    }
    (run_dir / "run.json").write_text(json.dumps(info))  # e.g. written by an older harden
    register_secret(known)
    pages = [write_run_index(run_dir, info, _secret_findings(known, token)[:1]), write_reports_index(tmp_path)]
    for page in pages:
        text = page.read_text()
        assert known not in text and token not in text, page.name


# --------------------------------------------------------------------------- Markdown from params


XSS = "<img src=x onerror=alert(1)> [click](javascript:alert(2)) <script>alert(3)</script> **bold** `x`\n# Heading"


def test_md_escape_shows_params_text_as_written():
    shown = md_escape(XSS)
    assert "<" not in shown and ">" not in shown and "\n" not in shown
    assert "\\[click\\]\\(javascript\\:alert\\(2\\)\\)" in shown and "\\*\\*bold\\*\\*" in shown
    assert md_url("https://u:pw9@h.example/a_b?token=Tk1&page=2") == (
        "https\\://u\\:\\[REDACTED\\]@h\\.example/a\\_b?token=\\[REDACTED\\]&amp;page=2"
    )


def _html_of_markdown_output(markdown: str) -> str:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(Markdown(...))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": markdown, "text/plain": "md"})]
    notebook.cells.append(cell)
    html = notebook_to_html(notebook)
    assert notebook.cells[0].outputs[0].data["text/markdown"] == markdown  # the .ipynb keeps its Markdown
    return html


def _live_markup(html: str) -> list[str]:
    """Scripts, event handlers and javascript:/data: links that a browser would act on."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name.startswith("on"):
                    found.append(f"{tag} {name}")
                if name in ("href", "src") and (value or "").strip().lower().startswith(("javascript:", "vbscript:")):
                    found.append(f"{tag} {name}={value}")

        def handle_data(self, data):
            if self.lasttag == "script" and "alert" in data:
                found.append("script")

    Parser().feed(html)
    return found


def test_markdown_outputs_are_sanitized_in_html_reports():
    """Even Markdown a notebook built without escaping (a second line of defence) stays inert."""
    raw = _html_of_markdown_output(f"Environment **demo** — {XSS}")
    assert not _live_markup(raw), _live_markup(raw)
    assert "<strong>demo</strong>" in raw  # the notebook's own formatting still renders
    escaped = _html_of_markdown_output(f"Environment **demo** — {md_escape(XSS)}")
    assert not _live_markup(escaped) and "&lt;img src=x onerror=alert(1)&gt;" in escaped
    assert "[click](javascript:alert(2))" in escaped  # shown as text, not a link


def test_run_json_params_mask_secrets_keep_key_names(tmp_path):
    """``run.json`` and the summary's parameters table show the params as written, minus secrets."""
    from harden_lib.environment import load_environment

    token, default, literal = "Tok-" + "Zx3Cv8" * 3, "Dflt-" + "Qw2Er7" * 3, "Lit-" + "Ty6Ui1" * 3
    (tmp_path / "app.env").write_text("NODE_ENV=production\n")
    path = tmp_path / "p.yaml"
    path.write_text(
        "environment: p\n"
        "areas: [config, headers]\n"
        "http:\n"
        "  headers:\n"
        f"    X-Api-Key: '${{HARDEN_TEST_UNSET_KEY:-{default}}}'\n"
        f"    Authorization: 'Bearer {literal}'\n"
        "headers:\n"
        f"  urls: ['/?X-Amz-Signature={token}&page=1']\n"
        "config:\n"
        "  env_file: app.env\n"
        "  rules: [{kind: required, keys: [NODE_ENV, SESSION_SECRET]}, {kind: equals, key: API_TOKEN, value: x}]\n"
    )
    shown = load_environment(path).redacted_params()
    text = json.dumps(shown)
    assert token not in text and default not in text and literal not in text
    assert shown["http"]["headers"]["X-Api-Key"] == "${HARDEN_TEST_UNSET_KEY:-[REDACTED]}"
    assert shown["headers"]["urls"] == ["/?X-Amz-Signature=[REDACTED]&page=1"]
    rules = shown["config"]["rules"]
    assert rules[0]["keys"] == ["NODE_ENV", "SESSION_SECRET"] and rules[1]["key"] == "API_TOKEN"  # names, not secrets
