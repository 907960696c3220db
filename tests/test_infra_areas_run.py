"""The email, monitoring and backups areas through a real `harden run`: their notebooks execute on
warm kernels against a local DNS server, real rule/log/listing files, and their findings reach
findings.json and the HTML reports (values of personal data never do)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.dns_servers import Zone, dns_server

ROOT = Path(__file__).resolve().parent.parent


def test_harden_run_of_the_new_areas(tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    fresh = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S.000000000 +0000")
    (evidence / "backups.txt").write_text(f"-rw-r----- 1 pg pg 1048576 {fresh} nightly.dump\n")
    (evidence / "rules.yml").write_text(
        "groups:\n  - name: api\n    rules:\n      - alert: Api5xxRate\n        expr: rate(errors[5m]) > 0.01\n"
    )
    email_address = "jane.roe@customer.test"
    (evidence / "access.log").write_text(
        f'10.0.0.1 - - [30/Nov/2026:10:00:00 +0000] "GET /api/me?email={email_address} HTTP/1.1" 200 12\n'
    )
    zone = Zone(txt={"shop.test": [["v=spf1 mx -all"]], "_dmarc.shop.test": [["v=DMARC1; p=none"]]})
    with dns_server(zone) as port:
        (params / "infra.yaml").write_text(
            textwrap.dedent(
                f"""
                environment: infra
                areas: [email, monitoring, backups]
                email:
                  nameservers: [127.0.0.1]
                  port: {port}
                  domains: [{{domain: shop.test}}]
                monitoring:
                  alert_rules:
                    files: [{evidence / "rules.yml"}]
                    required: [{{name: ".*5xx.*", threshold_at_most: 0.05}}]
                  logs: [{{name: api, file: {evidence / "access.log"}}}]
                backups:
                  sources: [{{name: nightly, file: {evidence / "backups.txt"}}}]
                """
            )
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "harden_lib", "run", "--env", "infra", "--params-dir", str(params),
             "--reports", str(tmp_path / "reports"), "--workers", "2"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr  # NO-GO: DMARC p=none fails (high)
    [findings_file] = (tmp_path / "reports").rglob("findings.json")
    document = json.loads(findings_file.read_text())
    items = document["findings"] if isinstance(document, dict) else document
    got = {(f["check_id"], f["target"]): f["status"] for f in items}
    assert got[("email.spf", "shop.test")] == "pass"
    assert got[("email.dmarc", "_dmarc.shop.test")] == "fail"
    assert got[("monitoring.alerts.required", ".*5xx.*")] == "pass"
    assert got[("monitoring.logs.requests", "api")] == "pass"
    assert got[("monitoring.logs.pii", "api")] == "fail"
    assert got[("backups.fresh", "nightly")] == "pass"
    run_dir = findings_file.parent
    for area in ("email", "monitoring", "backups"):
        assert (run_dir / f"{area}.html").is_file(), area
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".xml", ".csv", ".sarif", ".md"):
            assert email_address not in path.read_text(errors="replace"), path
