"""Alert rules (Prometheus rule files, PrometheusRule resources) and log samples: a real HTTP server's own
access log, JSON logs in the shapes of pino / nginx, logfmt; PII found by kind and line, never shown."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from harden_lib.checks import monitoring
from harden_lib.checks.monitoring import (
    AlertRulesParams,
    LogSample,
    MonitoringParams,
    check_alert_rules,
    check_log,
    check_monitoring,
    luhn_ok,
    pii_kinds,
    request_format,
    thresholds,
)
from harden_lib.environment import load_environment
from harden_lib.findings import Finding, Status

RULES = """\
groups:
  - name: api
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: ApiHighErrorRate
        expr: |
          sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.02
        for: 10m
        labels: {severity: page}
        annotations: {summary: "5xx above 2 %"}
      - alert: ApiLatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 2.5
        for: 15m
  - name: hosts
    rules:
      - alert: DiskSpaceLow
        expr: 15 > (node_filesystem_avail_bytes / node_filesystem_size_bytes * 100)
        for: 30m
      - alert: TargetDown
        expr: up == 0
"""

CRD = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: backups}
spec:
  groups:
    - name: backups
      rules:
        - alert: BackupTooOld
          expr: time() - backup_last_success_timestamp_seconds > 93600
          for: 1h
"""

BROKEN = """\
groups:
  - name: api
    rules:
      - alert: A
        record: b
        expr: up
      - alert: NoExpr
      - alert: BadFor
        expr: up == 0
        for: ten minutes
  - name: api
    rules:
      - alert: Ok
        expr: up == 0
        severity: page
"""


def by_target(findings: list[Finding]) -> dict[str, Finding]:
    return {f"{f.check_id} {f.target}": f for f in findings}


def test_rule_files_and_required_alerts_with_thresholds(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "api.yml").write_text(RULES)
    (tmp_path / "rules" / "backups.yaml").write_text(CRD)
    params = AlertRulesParams(
        files=[tmp_path / "rules"],
        required=[
            {"name": ".*(Error|5xx).*", "expr": "5\\.\\.", "threshold_at_most": 0.05, "title": "5xx rate alert"},
            {"name": ".*ErrorRate", "threshold_at_most": 0.01},
            {"name": "DiskSpace.*", "threshold_at_least": 10},
            {"name": "DiskSpace.*", "threshold_at_least": 20},
            {"name": "BackupTooOld", "threshold_at_most": 26 * 3600},
            {"name": "CertificateExpiry.*"},
            {"name": "targetdown"},
        ],
    )
    found = check_alert_rules(params)
    got = {(f.check_id, f.target): f for f in found}
    assert got[("monitoring.alerts.rule_file", "api.yml")].status is Status.PASS
    assert got[("monitoring.alerts.rule_file", "api.yml")].observed == "2 groups, 4 alerts, 1 recording rules"
    assert got[("monitoring.alerts.rule_file", "backups.yaml")].status is Status.PASS
    required = [f for f in found if f.check_id == "monitoring.alerts.required"]
    assert [f.status for f in required] == [
        Status.PASS,  # 0.02 <= 0.05
        Status.FAIL,  # 0.02 is laxer than 0.01
        Status.PASS,  # reversed comparison: 15 > free %  ==  free % < 15, and 15 >= 10
        Status.FAIL,  # 15 < 20
        Status.PASS,  # the PrometheusRule resource
        Status.FAIL,  # absent
        Status.PASS,  # names are matched case-insensitively
    ]
    assert required[0].target == "5xx rate alert"
    assert "ApiHighErrorRate in api.yml: threshold 0.02" in required[0].observed
    assert "threshold 0.02" in required[1].observed and "N <= 0.01" in required[1].observed
    assert "no alert named like" in required[5].observed


def test_broken_rule_file_shapes_are_listed(tmp_path):
    (tmp_path / "broken.yml").write_text(BROKEN)
    (tmp_path / "notyaml.yml").write_text("groups: [\n  - name: x\n")
    (tmp_path / "flat.yml").write_text("alert: X\nexpr: up == 0\n")
    found = check_alert_rules(
        AlertRulesParams(
            files=[tmp_path / "broken.yml", tmp_path / "notyaml.yml", tmp_path / "flat.yml", tmp_path / "gone.yml"],
            required=[{"name": "Ok"}],
        )
    )
    got = {f.target: f for f in found if f.check_id == "monitoring.alerts.rule_file"}
    broken = got["broken.yml"].observed
    assert got["broken.yml"].status is Status.FAIL
    for needle in ("exactly one of 'alert' or 'record'", "rules[1] has no expr", "'for' is not a duration",
                   "group name 'api' repeated", "unknown keys severity"):  # fmt: skip
        assert needle in broken, needle
    assert got["notyaml.yml"].status is Status.ERROR and "not valid YAML at line" in got["notyaml.yml"].observed
    assert got["flat.yml"].status is Status.FAIL and "no 'groups:'" in got["flat.yml"].observed
    assert got["gone.yml"].status is Status.ERROR
    [required] = [f for f in found if f.check_id == "monitoring.alerts.required"]
    assert required.status is Status.PASS  # the valid rule of a broken file still counts as present
    none = check_alert_rules(AlertRulesParams(files=[tmp_path / "gone.yml"], required=[{"name": "X"}]))
    assert [f.status for f in none] == [Status.ERROR, Status.ERROR]


def test_thresholds_read_from_promql():
    assert thresholds("rate(x[5m]) > 0.05") == [(">", 0.05)]
    assert thresholds("x >= bool 1e3") == [(">=", 1000.0)]
    assert thresholds("10 < x") == [(">", 10.0)]
    assert thresholds('x{code=~"5.."} > 0') == [(">", 0.0)]
    assert thresholds("rate(x[5m])") == []


# --------------------------------------------------------------------------- a real server's access log


@pytest.fixture
def access_log(tmp_path):
    """Python's http.server writing its own access log (the common-log-like format) to a file."""
    log_path = tmp_path / "access.log"
    handler = logging.FileHandler(log_path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404 if "missing" in self.path else 200)
            self.end_headers()

        def log_message(self, format, *args):
            handler.stream.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}\n")
            handler.stream.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, log_path
    server.shutdown()
    server.server_close()
    handler.close()


def test_real_access_log_has_requests_and_pii_is_reported_without_values(access_log):
    base, path = access_log
    card = "4539 1488 0343 6467"  # Luhn-valid Visa test number
    email = "jane.doe@customer-mail.test"
    secret = "hunter2-Zq8xP"
    with httpx.Client() as client:
        client.get(f"{base}/api/orders?limit=5")
        client.get(f"{base}/missing")
        client.get(f"{base}/api/login?user={email}&password={secret}")
        client.get(f"{base}/api/pay?pan={card.replace(' ', '')}")
    sample = LogSample(name="api", file=path)
    found = {f.check_id: f for f in check_log(sample)}
    requests = found["monitoring.logs.requests"]
    assert requests.status is Status.PASS
    assert requests.observed.startswith("4 request lines (4 common/combined)")
    pii = found["monitoring.logs.pii"]
    assert pii.status is Status.FAIL
    assert "card on 1 lines (line 4)" in pii.observed
    assert "password on 1 lines (line 3)" in pii.observed
    assert "email on 1 lines (line 3)" in pii.observed
    blob = json.dumps([f.model_dump(mode="json") for f in found.values()])
    for value in (secret, email, card.replace(" ", ""), "jane.doe"):
        assert value not in blob
    clean = {f.check_id: f for f in check_log(LogSample(name="api", file=path, forbid=["bearer"]))}
    assert clean["monitoring.logs.pii"].status is Status.PASS


def test_json_logfmt_and_plain_request_lines(tmp_path):
    lines = [
        json.dumps({"level": 30, "req": {"method": "GET", "url": "/api/x"}, "res": {"statusCode": 200}}),  # pino
        json.dumps({"time": "2026-11-30T10:00:00Z", "request": "POST /api/y HTTP/2.0", "status": "201"}),  # nginx
        "time=2026-11-30T10:00:01Z level=info method=DELETE path=/api/z status=204 dur=3ms",
        'INFO:     127.0.0.1:51234 - "PATCH /api/w HTTP/1.1" 422 Unprocessable Entity',  # uvicorn
        "2026-11-30 10:00:02 GET /healthz 200 1ms",
        json.dumps({"level": "info", "msg": "server started", "port": 8080}),
        "GET took 200ms",
    ]
    assert [request_format(line) for line in lines] == [
        "JSON", "JSON", "logfmt", "common/combined", "plain", None, None,
    ]  # fmt: skip
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    found = {f.check_id: f for f in check_log(LogSample(name="app", file=tmp_path / "app.log", min_request_lines=6))}
    assert found["monitoring.logs.requests"].status is Status.FAIL  # 5 < 6
    assert "5 request lines" in found["monitoring.logs.requests"].observed
    assert found["monitoring.logs.pii"].status is Status.PASS


def test_startup_only_log_fails_and_unreadable_is_error(tmp_path):
    (tmp_path / "boot.log").write_text("listening on :8080\nconnected to db\n")
    found = {f.check_id: f for f in check_log(LogSample(name="api", file=tmp_path / "boot.log"))}
    assert found["monitoring.logs.requests"].status is Status.FAIL
    missing = check_log(LogSample(name="api", file=tmp_path / "absent.log"))
    assert {f.status for f in missing} == {Status.ERROR}
    (tmp_path / "empty.log").write_text("")
    assert {f.status for f in check_log(LogSample(name="api", file=tmp_path / "empty.log"))} == {Status.ERROR}
    failing = check_log(LogSample(name="api", command=["sh", "-c", "echo GET / 200; exit 3"]))
    assert {f.status for f in failing} == {Status.ERROR}
    command = check_log(LogSample(name="api", command=["printf", "GET /a 200\\nGET /b 500\\n"], forbid=[]))
    assert [(f.check_id, f.status) for f in command] == [("monitoring.logs.requests", Status.PASS)]


@pytest.mark.parametrize(
    ("line", "kinds"),
    [
        ("paid with 5555-5555-5555-4444 ok", {"card"}),
        ("amex 378282246310005", {"card"}),
        ("mc 2-series 2223003122003222", {"card"}),
        ("order_id=2800000000000008 ns=6000000000000007", set()),  # Luhn-valid, no issuer prefix
        ("ts=1733000000000 id=4111111111111112", set()),  # epoch ms (no card prefix), Luhn-invalid number
        ("order 4111111111111111", {"card"}),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", {"bearer"}),
        ("token ghp_" + "a1B2" * 9, {"bearer"}),
        ("Authorization: Bearer [REDACTED]", set()),
        ('{"password": "s3cr3t-Value"}', {"password"}),
        ('{"password": "***", "db_password": "[FILTERED]"}', set()),
        ("login ok user_pwd=abc123XY", {"password"}),
        ("bypass=1 passport=X", set()),
        ("mail sent to ops@example.com", set()),  # allowed domain below
        ("mail sent to Max.Mustermann+tag@web.de", {"email"}),
        ('"GET /api/users?email=jane.doe%40customer.test&page=2 HTTP/1.1" 200', {"email"}),
        ('"GET /cb?code=4/0AeanS0b_Xy7Lm2Vb9Rt4&state=xyz HTTP/1.1" 302', {"bearer"}),
        ('"GET /feed?access_token=Zq8vN2mK7rT4wX9p&page=1 HTTP/1.1" 200', {"bearer"}),
        ('"POST /login?user=x&passwd=hunter22 HTTP/1.1" 401', {"password"}),
        ('"GET /search?q=4111+1111+1111+1111 HTTP/1.1" 200', {"card"}),
        ('"GET /feed?access_token=[FILTERED]&page=1&id=123456789 HTTP/1.1" 200', set()),
    ],
)
def test_pii_kinds(line, kinds):
    assert pii_kinds(line, ("example.com",)) == kinds


def test_luhn():
    assert luhn_ok("4539148803436467") and not luhn_ok("4539148803436468")


def test_params_and_nothing_configured(tmp_path):
    assert [(f.check_id, f.status) for f in check_monitoring(MonitoringParams())] == [
        ("monitoring.configured", Status.SKIP)
    ]
    with pytest.raises(ValidationError, match="regular expression"):
        AlertRulesParams(required=[{"name": "Api(("}])
    with pytest.raises(ValidationError, match="not both"):
        AlertRulesParams(required=[{"name": "X", "threshold_at_most": 1, "threshold_at_least": 0}])
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "app.log").write_text('1.2.3.4 - - [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl"\n')
    (tmp_path / "p.yaml").write_text(
        "environment: t\nmonitoring:\n  alert_rules:\n    files: [rules.yml]\n    required: [{name: TargetDown}]\n"
        "  logs:\n    - {name: web, file: app.log}\n"
    )
    env = load_environment(tmp_path / "p.yaml")
    found = monitoring.run(env)
    assert [(f.check_id, f.status) for f in found] == [
        ("monitoring.alerts.rule_file", Status.PASS),
        ("monitoring.alerts.required", Status.PASS),
        ("monitoring.logs.requests", Status.PASS),
        ("monitoring.logs.pii", Status.PASS),
    ]
    table = monitoring.alert_table(env.monitoring)
    assert list(table["alert"]) == ["ApiHighErrorRate", "ApiLatencyHigh", "DiskSpaceLow", "TargetDown"]
    assert Path(env.monitoring.logs[0].file).is_absolute()


def test_hostile_log_lines_are_scanned_in_bounded_time(tmp_path):
    import time

    lines = ["method=GET " * 2000, "GET /" * 5000, "a@" + "b." * 9000 + "1", "4 " * 10000, "path=/ " * 3000]
    (tmp_path / "hostile.log").write_text("\n".join(lines * 40) + "\n")
    started = time.monotonic()
    found = {f.check_id: f for f in check_log(LogSample(name="x", file=tmp_path / "hostile.log"))}
    assert time.monotonic() - started < 20
    assert found["monitoring.logs.requests"].status == "fail"  # "GET /GET /…" has no status: no request line


def test_alias_bomb_rule_file_is_bounded(tmp_path, monkeypatch):
    """Aliases only nest lists (never a flat list of millions of rules); the rule count is capped anyway."""
    text = "x: &r {alert: A, expr: up == 0}\nl1: &l1 [*r, *r, *r, *r, *r, *r, *r, *r, *r, *r]\n"
    for level in range(2, 7):
        text += f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n"
    text += "groups:\n" + "".join(f"  - {{name: g{i}, rules: *l5}}\n" for i in range(30))
    (tmp_path / "bomb.yml").write_text(text)
    started = __import__("time").monotonic()
    [found] = check_alert_rules(AlertRulesParams(files=[tmp_path / "bomb.yml"]))
    assert __import__("time").monotonic() - started < 20
    assert found.status == "fail" and "is not a mapping" in found.observed
    monkeypatch.setattr(monitoring, "MAX_RULES", 25)
    (tmp_path / "many.yml").write_text(
        "groups:\n  - name: g\n    rules:\n" + "".join(f"      - {{alert: A{i}, expr: up == 0}}\n" for i in range(40))
    )
    [capped] = check_alert_rules(AlertRulesParams(files=[tmp_path / "many.yml"]))
    assert capped.status == "fail" and "more than 25 rules" in capped.observed


def test_deeply_nested_inputs_are_errors_not_crashes(tmp_path):
    (tmp_path / "deep.yml").write_text("[" * 20000 + "]" * 20000)
    [found] = check_alert_rules(AlertRulesParams(files=[tmp_path / "deep.yml"]))
    assert found.status == "error" and "nested deeper" in found.observed
    (tmp_path / "deep.log").write_text('{"a":' * 30000 + "\nGET /x 200\n")
    found = {f.check_id: f for f in check_log(LogSample(name="x", file=tmp_path / "deep.log"))}
    assert found["monitoring.logs.requests"].status == "pass"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        # AWS ALB: status codes before the quoted request, an absolute URL in it
        ('https 2026-11-30T10:00:00.123456Z app/prod/50dc6c4 203.0.113.7:52100 10.0.1.5:8080 0.001 0.012 0.000 '
         '200 200 512 1024 "GET https://shop.example.com:443/api/orders?x=1 HTTP/1.1" "curl/8.5.0" '
         'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1 "Root=1-2"',
         "access log (status before the request)"),
        # HAProxy HTTP log
        ('Nov 30 10:00:00 lb haproxy[1234]: 203.0.113.7:52100 [30/Nov/2026:10:00:00.123] fe be/srv1 0/0/1/12/13 '
         '502 1024 - - ---- 1/1/0/0/0 0/0 "POST /api/pay HTTP/1.1"', "access log (status before the request)"),
        # Envoy default format
        ('[2026-11-30T10:00:00.000Z] "GET /healthz HTTP/1.1" 200 - 0 2 1 1 "-" "kube-probe/1.30" "id" "a" "b"',
         "common/combined"),
        # Google Cloud load balancer (JSON), Elastic Common Schema, Caddy
        ('{"httpRequest": {"requestMethod": "GET", "requestUrl": "https://shop.example.com/x", "status": 304}}',
         "JSON"),
        ('{"@timestamp": "2026-11-30T10:00:00Z", "http": {"request": {"method": "put"}, "response": '
         '{"status_code": 204}}, "url": {"path": "/api/item/1"}}', "JSON"),
        ('{"level":"info","logger":"http.log.access","request":{"method":"DELETE","uri":"/api/x","proto":"HTTP/2.0"},'
         '"status":404}', "JSON"),
        # not request lines: an app log with a docs link and an error code, an IP ending in .200
        ('{"level":"error","msg":"see docs","url":"https://docs.example.com","code":"E100","method":"retry"}', None),
        ('connected to 10.0.0.200:5432 "GET is not allowed here" in 300 ms', None),
    ],
)  # fmt: skip
def test_request_lines_of_proxies_and_load_balancers(line, kind):
    assert request_format(line) == kind
