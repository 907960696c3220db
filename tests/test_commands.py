"""Commands area with real subprocesses: exit codes, skips, redaction and process-group kills."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from harden_lib.checks import commands
from harden_lib.checks.commands import CommandSpec
from harden_lib.environment import load_environment
from harden_lib.redact import register_secret

DEMO = Path(__file__).resolve().parent.parent / "params" / "demo.yaml"


def run(spec: CommandSpec, **kw):
    return commands.judge(spec, commands.run_command(spec, **kw))


def test_pass_fail_warn_and_expected_codes(tmp_path):
    ok = run(CommandSpec(name="ok", run=[sys.executable, "-c", "print('fine')"], timeout=5))
    assert ok.status == "pass" and "exit 0" in ok.observed and "fine" in ok.observed
    failing = run(CommandSpec(name="bad", run="echo broken; exit 4", timeout=5))
    assert failing.status == "fail" and "exit 4" in failing.observed and failing.severity == "high"
    advisory = run(CommandSpec(name="adv", run="exit 4", timeout=5, on_fail="warn", severity="low"))
    assert advisory.status == "warn" and advisory.severity == "low"
    expected = run(CommandSpec(name="two", run="exit 2", timeout=5, expect_exit=2))
    assert expected.status == "pass"
    (tmp_path / "marker").write_text("x")
    in_cwd = run(CommandSpec(name="cwd", run="test -f marker", cwd=tmp_path, timeout=5))
    assert in_cwd.status == "pass"


def test_skip_conventions():
    by_output = run(CommandSpec(name="s", run="echo 'SKIP: no testnet'", timeout=5, skip_pattern="^SKIP"))
    assert by_output.status == "skip" and by_output.severity == "info"
    by_code = run(CommandSpec(name="s", run="exit 77", timeout=5, skip_exit=77))
    assert by_code.status == "skip"


def test_missing_program_is_an_error():
    finding = run(CommandSpec(name="x", run=["/nonexistent/tool"], timeout=5))
    assert finding.status == "error" and "could not start" in finding.observed


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = (
        f"import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        f"print('started', flush=True)\n"
        f"time.sleep(60)\n"
    )
    spec = CommandSpec(name="hang", run=["sh", "-c", f'{sys.executable} -c "$0"', script], timeout=1)
    started = time.monotonic()
    result = commands.run_command(spec, kill_grace=0.5)
    assert time.monotonic() - started < 5
    assert result.timed_out and result.exit_code is None
    finding = commands.judge(spec, result)
    assert finding.status == "error" and "timed out after 1s" in finding.observed and "started" in finding.observed
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the grandchild survived the timeout")


def test_output_is_bounded_and_tail_kept():
    spec = CommandSpec(name="big", run=[sys.executable, "-c", "for i in range(200000): print('line', i)"], timeout=10)
    result = commands.run_command(spec, max_bytes=4096)
    assert result.truncated and len(result.output) <= 4096 and "line 199999" in result.output
    finding = commands.judge(spec, result, lines=3)
    assert finding.observed.count("\n") == 3 and "(output truncated)" in finding.observed


def test_output_and_command_line_are_redacted():
    register_secret("registered-Secret-Value-123")
    spec = CommandSpec(
        name="leaky",
        run="echo postgres://u:pw-in-url-9876@db/x; echo DB_PASSWORD=hunter2hunter2; "
        "echo 'Authorization: Bearer abcdefghijklmnop'; echo registered-Secret-Value-123; exit 1",
        timeout=5,
    )
    finding = run(spec)
    for secret in ("pw-in-url-9876", "hunter2hunter2", "abcdefghijklmnop", "registered-Secret-Value-123"):
        assert secret not in finding.observed and secret not in finding.target and secret not in finding.remediation
    assert "[REDACTED]" in finding.observed and "DB_PASSWORD=[REDACTED]" in finding.observed


def test_demo_commands():
    report = commands.audit(load_environment(DEMO))
    statuses = {f.target: f.status for f in report.findings}
    assert statuses == {
        "smoke e2e": "pass",
        "wallet matrix": "fail",
        "compose ps": "warn",
        "testnet wallet": "skip",
        "relay probe": "error",
    }
    wallet = next(f for f in report.findings if f.target == "wallet matrix")
    assert "Wm-demo-pa55-7d1f" not in wallet.observed and "tok_demo" not in wallet.observed
    table = report.table()
    assert table.loc[table["command"] == "relay probe", "exit code"].item() == "killed"
    assert commands.plot_durations(report)


def test_output_redaction_every_form_from_a_real_process(tmp_path):
    """A real command prints a credential in every form tools and logs use; none survives."""
    import secrets as random_secrets
    import string

    def canary(prefix: str) -> str:
        return prefix + "".join(random_secrets.choice(string.ascii_letters + string.digits) for _ in range(20))

    planted = {
        "json": canary("Js"),
        "yaml": canary("Ym"),
        "comment": canary("Cm"),
        "export": canary("Ex"),
        "bearer": canary("Br"),
        "flag": canary("Fl"),
        "mysql": canary("My"),
        "camel": canary("Cc"),
        "sql": canary("Sq"),
        "query": canary("Qy"),
        "pem": canary("Pm"),
        "known": canary("Kn"),  # registered (as an env file's value would be), printed without a key
    }
    register_secret(planted["known"])
    script = tmp_path / "leaky.py"
    script.write_text(
        "import json\n"
        f"print(json.dumps({{'user': 'app', 'password': {planted['json']!r}}}))\n"
        f"print(\"db:\\n  password: '{planted['yaml']}'\")\n"
        f"print('# old: NEXTAUTH_SECRET={planted['comment']}')\n"
        f"print('+ export API_TOKEN={planted['export']}')\n"
        f"print('> Authorization: Bearer {planted['bearer']}')\n"
        f"print('running deploy --password {planted['flag']} --verbose')\n"
        f"print('+ mysql -h db -u app -p{planted['mysql']} app')\n"
        f"print('clientSecret: {planted['camel']}')\n"
        f"print(\"ALTER ROLE app PASSWORD '{planted['sql']}';\")\n"
        f"print('GET https://api.example.com/v1?page=1&access_token={planted['query']}')\n"
        f"print('-----BEGIN PRIVATE KEY-----\\n{planted['pem']}\\n-----END PRIVATE KEY-----')\n"
        f"print('value is {planted['known']}')\n"
        "raise SystemExit(3)\n"
    )
    spec = CommandSpec(name="leaky", run=[sys.executable, str(script)], timeout=10, severity="low", on_fail="warn")
    finding = commands.judge(spec, commands.run_command(spec), lines=40)
    text = " ".join([finding.observed, finding.target, finding.remediation, finding.title])
    leaked = [name for name, value in planted.items() if value in text]
    assert not leaked, leaked
    assert finding.status == "warn" and "exit 3" in finding.observed
    # What auditors need stays readable: the keys, the user, the URL without its token.
    assert "NEXTAUTH_SECRET=[REDACTED]" in finding.observed and '"user": "app"' in finding.observed
    assert "https://api.example.com/v1?page=1&access_token=[REDACTED]" in finding.observed


def test_command_line_from_params_is_redacted():
    token = "Tk9" + "x7Yq2" * 5
    spec = CommandSpec(name="cli", run=f"mysql -h db -p{token} -e 'select 1' || true; exit 1", timeout=5)
    finding = run(spec)
    assert token not in finding.observed and token not in finding.remediation
    assert "-p[REDACTED]" in finding.remediation


def test_long_output_keeps_the_command_line_and_the_last_lines():
    """Wide lines (with markup and control characters) overflow what a finding keeps: the
    oldest lines go, the head (command and outcome) and the very last line stay, markup stays
    readable and control characters are escaped."""
    from harden_lib.catalog import MAX_OBSERVED

    script = "for i in range(60): print(f'row {i:02d} <b>{chr(7)}' + 'y' * 120)\nprint('FINAL <verdict>: broken')\n"
    spec = CommandSpec(name="wide", run=[sys.executable, "-c", script + "raise SystemExit(5)"], timeout=10)
    finding = commands.judge(spec, commands.run_command(spec), lines=40)
    assert finding.status == "fail" and len(finding.observed) <= MAX_OBSERVED
    assert finding.observed.startswith("`") and "exit 5; last lines:\n" in finding.observed
    assert finding.observed.endswith("FINAL <verdict>: broken"), finding.observed[-80:]
    assert "row 59 <b>\\x07" in finding.observed and "\x07" not in finding.observed
    assert "row 00" not in finding.observed


def test_severity_other_than_the_catalogs_says_why():
    failing = run(CommandSpec(name="low one", run="exit 1", timeout=5, severity="low"))
    assert failing.severity == "low" and "commands.commands[].severity" in failing.severity_reason
    default = run(CommandSpec(name="default", run="exit 1", timeout=5))
    assert default.severity == "high" and default.severity_reason == ""
    skipped = run(CommandSpec(name="skipper", run="exit 77", timeout=5, skip_exit=77))
    assert skipped.severity == "info" and "skips itself" in skipped.severity_reason
    passed = run(CommandSpec(name="fine", run="true", timeout=5, references=["runbook §2"]))
    assert passed.remediation == "" and passed.references[-1] == "runbook §2"
    assert any("<https://" in r for r in passed.references), "the catalog's references come first"


def test_nothing_configured_and_area_interface(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("environment: t\nareas: [commands]\n")
    [finding] = commands.run(load_environment(params))
    assert (finding.check_id, finding.status, finding.severity) == ("commands.configured", "skip", "info")
    assert commands.AREA.name == "commands" and commands.AREA.params is commands.CommandsParams
    empty = commands.plot_durations(commands.CommandsAudit())
    assert [t.get_text() for t in empty.axes[0].texts] == ["no commands configured"]
