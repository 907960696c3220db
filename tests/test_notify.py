"""Webhook notifications against a real local HTTP server; the webhook URL never shows anywhere."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from harden_lib.diff import Change, RunDiff
from harden_lib.history.params import NotifyParams
from harden_lib.history.store import RunRecord
from harden_lib.notify import RunOutcome, send, should_notify


class _Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict, dict]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, dict(self.headers), json.loads(body)))
        status = 500 if "/broken/" in self.path else (302 if "/moved/" in self.path else 200)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hooks():
    _Hooks.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Hooks.received
    finally:
        server.shutdown()
        server.server_close()


def _outcome(verdict: str = "NO-GO", exit_code: int = 1, previous: str | None = "NO-GO") -> RunOutcome:
    return RunOutcome("shop-prod", "20261130T020000Z-ab12", verdict, exit_code, f"{verdict} for shop-prod: <b>x</b>",
                      blocking=2, report="https://reports.example.org/shop-prod/r/index.html",
                      previous_verdict=previous)  # fmt: skip


def _diff(new: int = 1, fixed: int = 1) -> RunDiff:
    old = RunRecord("shop-prod", "r0", datetime(2026, 11, 29, tzinfo=UTC), "NO-GO", 1)
    change = Change(
        "config.runtime@1", "config", "config.runtime", "Runtime", "<!channel> shop.env:X", "critical", "fail"
    )
    return RunDiff("shop-prod", old, None, new_failures=[change] * new, fixed=[change] * fixed)


def test_json_and_slack_webhooks_are_sent_and_the_url_never_shows(hooks, caplog):
    base, received = hooks
    token = secrets.token_urlsafe(24)
    webhooks = [
        {"url": f"{base}/hooks/{token}"},
        {"url": f"{base}/slack/{token}", "format": "slack", "name": "ops channel"},
    ]
    settings = NotifyParams.model_validate({"when": "always", "webhooks": webhooks})
    with caplog.at_level(logging.DEBUG):
        lines = send(settings, _outcome(), _diff())
    assert lines == ["webhook 1 (json): sent (200)", "ops channel: sent (200)"]
    (path_json, headers, document), (_, _, slack) = received
    assert path_json.endswith(token) and headers["Content-Type"] == "application/json"
    assert document["verdict"] == "NO-GO" and document["environment"] == "shop-prod" and document["blocking"] == 2
    assert document["since_last_run"]["new"] == 1 and document["since_last_run"]["new_failures"][0]["check_id"] == (
        "config.runtime"
    )
    assert "*harden shop-prod: NO-GO*" in slack["text"] and "Since the last run: 1 new, 1 fixed." in slack["text"]
    assert "<!channel>" not in slack["text"] and "&lt;!channel&gt;" in slack["text"]  # no mention from a target
    assert token not in " ".join(lines)
    assert token not in caplog.text and "[REDACTED]" in caplog.text  # httpx logs the URL at INFO: scrubbed


def test_failures_are_named_without_the_url(hooks):
    base, received = hooks
    token = secrets.token_urlsafe(24)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    webhooks = [
        {"url": f"{base}/broken/{token}"},
        {"url": f"http://127.0.0.1:{closed}/{token}", "timeout": 2},
        {"url": f"{base}/moved/{token}"},
    ]
    settings = NotifyParams.model_validate({"when": "no-go", "webhooks": webhooks})
    lines = send(settings, _outcome(), None)
    assert lines == [
        "webhook 1 (json): not sent (HTTP 500)",
        "webhook 2 (json): not sent (connection failed)",
        "webhook 3 (json): not sent (HTTP 302)",  # a redirect is not followed: the URL is a credential
    ]
    assert len(received) == 2


def test_when_to_notify():
    go, no_go, incomplete = _outcome("GO", 0, "GO"), _outcome("NO-GO", 1, "NO-GO"), _outcome("NO-GO", 2, "NO-GO")
    assert not should_notify("no-go", go, _diff()) and should_notify("no-go", no_go, None)
    assert should_notify("no-go", incomplete, None)
    assert should_notify("change", go, _diff(new=0, fixed=1))
    assert not should_notify("change", no_go, _diff(new=0, fixed=0))
    assert should_notify("change", _outcome("GO", 0, previous="NO-GO"), _diff(new=0, fixed=0))
    assert not should_notify("change", go, RunDiff("shop-prod", None, None))  # the first run
    assert should_notify("always", go, None) and not should_notify("never", no_go, _diff())


def test_a_run_notifies_and_the_url_is_in_no_report(hooks, tmp_path, capsys):
    """`harden run` with notify: in params; the literal URL appears in no file, line or log."""
    from harden_lib.executors import LocalExecutor, area_modules
    from harden_lib.runner import Runner, notebooks_dir

    base, received = hooks
    token = secrets.token_urlsafe(24)
    params = tmp_path / "params"
    params.mkdir()
    (params / "ops.yaml").write_text(
        "environment: ops\nareas: [operations]\n"
        "attestations:\n  - {id: backups.restore_tested, title: Restore, owner: ops, date: today-400d,\n"
        "     evidence: https://wiki.example.org/drill, max_age_days: 30}\n"
        f"notify:\n  when: no-go\n  webhooks:\n    - {{url: '{base}/hooks/{token}', format: slack}}\n"
    )
    lines: list[str] = []
    executor = LocalExecutor(1, cwd=notebooks_dir(), preload_modules=area_modules(["operations"]))
    try:
        result = Runner(reports_dir=tmp_path / "reports", params_dir=params, executor=executor, progress=lines.append)
        outcome = result.run_environment("ops")
    finally:
        executor.close()
    assert outcome.verdict == "NO-GO", (outcome.error, lines)  # the stale attestation closes the gate
    assert [p for p, _, _ in received] == [f"/hooks/{token}"]
    assert any(line == "[ops] notify: webhook 1 (slack): sent (200)" for line in lines)
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes().decode("utf-8", "replace"), path
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err + "\n".join(lines)
