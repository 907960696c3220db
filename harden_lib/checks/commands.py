"""Smoke and verification commands a team already has, run as checks.

Commands come only from the params file (never from the scanned target). Each runs in its own
session/process group with a timeout; on timeout the whole group is killed (SIGTERM, then
SIGKILL), so a shell's children and grandchildren cannot outlive the check, and nothing is left
behind after a normal exit either. Output is read with a bounded buffer (only the tail is
kept) and everything shown (the output's last lines and the command line) goes through
``harden_lib.redact.redact_text``: registered secrets, URL passwords and credential query
parameters, ``Authorization``/``Bearer`` credentials, secret-named pairs in any notation
(``KEY=x``, ``"password": "x"``, ``password: 'x'``, ``# old: NEXTAUTH_SECRET=x``), password
options (``--password x``, ``mysql -pX``), PEM private keys and vendor-shaped tokens.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import MAX_OBSERVED, clean_observed, finding
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

#: Longest a finding shows of one output line, and of the command line itself.
LINE_CHARS = 300


class CommandSpec(BaseModel):
    """One command of the ``commands.commands`` list."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="short label; the finding's target")
    run: list[str] | str = Field(
        description="argv list (no shell), or a string run by /bin/sh -c; a leading `python` is the "
        "interpreter running harden"
    )
    cwd: Path | None = Field(None, description="working directory (relative to the params file)")
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds before the whole process group is killed")
    expect_exit: list[int] = Field(default_factory=lambda: [0], description="exit codes that pass")
    skip_exit: int | None = Field(None, description="exit code meaning 'not applicable here' (skip)")
    skip_pattern: str | None = Field(None, description="regex on the output meaning skip, e.g. '^SKIP'")
    on_fail: Literal["fail", "warn"] = Field("fail", description="warn: an advisory command")
    severity: Severity = Severity.HIGH
    title: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables (use ${VAR})")
    references: list[str] = Field(default_factory=list)

    @field_validator("expect_exit", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, int) else value

    @field_validator("skip_pattern")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc.msg})") from None
        return value

    @field_validator("run")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if not value or (isinstance(value, str) and not value.strip()):
            raise ValueError("a command is required")
        return value


class CommandsParams(BaseModel):
    """The ``commands:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    commands: list[CommandSpec] = Field(default_factory=list)
    output_lines: int = Field(20, ge=1, le=500, description="last lines of output kept in a finding")
    max_output_bytes: int = Field(256_000, ge=1024, le=50_000_000, description="output tail kept in memory")
    kill_grace: float = Field(2.0, ge=0, le=60, description="seconds between SIGTERM and SIGKILL on timeout")


@dataclass
class CommandResult:
    """What one command did: exit code (None if killed or never started), time, output tail."""

    name: str
    command: str  # as shown: redacted
    exit_code: int | None
    duration: float
    timed_out: bool = False
    output: str = ""  # the decoded tail, NOT yet redacted
    truncated: bool = False
    start_error: str = ""


def _argv(spec: CommandSpec) -> list[str]:
    if isinstance(spec.run, str):
        return ["/bin/sh", "-c", spec.run]
    argv = list(spec.run)
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable  # the same interpreter and packages as harden itself
    return argv


def shown_command(spec: CommandSpec) -> str:
    text = spec.run if isinstance(spec.run, str) else shlex.join(spec.run)
    return redact_text(text)


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_command(spec: CommandSpec, max_bytes: int = 256_000, kill_grace: float = 2.0) -> CommandResult:
    """Run one command in a new session; kill its whole process group on timeout and at the end."""
    argv = _argv(spec)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **spec.env},
        )
    except OSError as exc:
        return CommandResult(
            spec.name, shown_command(spec), None, 0.0, start_error=f"could not start: {exc.strerror or exc}"
        )
    chunks: deque[bytes] = deque()
    state = {"kept": 0, "dropped": 0}

    def reader() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(65536):
            chunks.append(chunk)
            state["kept"] += len(chunk)
            while state["kept"] > max_bytes and len(chunks) > 1:
                state["kept"] -= len(dropped := chunks.popleft())
                state["dropped"] += len(dropped)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    timed_out = False
    try:
        proc.wait(timeout=spec.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=kill_grace)
    duration = time.monotonic() - started
    _kill_group(proc.pid, signal.SIGKILL)  # stragglers of the group (also after a normal exit)
    proc.wait()
    thread.join(timeout=5)
    data = b"".join(chunks)
    truncated = state["dropped"] > 0 or len(data) > max_bytes
    text = data[-max_bytes:].decode("utf-8", "replace")
    return CommandResult(
        spec.name,
        shown_command(spec),
        None if timed_out else proc.returncode,
        duration,
        timed_out=timed_out,
        output=text,
        truncated=truncated,
    )


def tail(text: str, lines: int) -> str:
    """The last ``lines`` non-empty lines, redacted, cleaned and capped, one per line.

    The whole kept output is redacted before lines are picked, so forms that span lines (a
    PEM private key, a value continued after its key) are recognised as a whole. Each line is
    cleaned as the finding builder cleans ``observed`` (control characters escaped, capped);
    reports escape markup themselves, so ``<`` and ``>`` stay readable.
    """
    kept = [line for line in redact_text(text).splitlines() if line.strip()][-lines:]
    return "\n".join(clean_observed(line, LINE_CHARS) for line in kept)


def _observed(head: str, output: str) -> str:
    """``head`` and as many of the output's last lines as a finding keeps.

    The builder cuts an over-long ``observed`` at its end, which would lose the lines that
    explain a failure; so the oldest output lines are dropped here instead, and the head (the
    command line and its outcome) always stays.
    """
    budget = MAX_OBSERVED - len(head) - len("; last lines:\n")
    kept: list[str] = []
    for line in reversed(output.split("\n") if output else []):
        cost = len(line) + (1 if kept else 0)
        if cost > budget:
            break
        budget -= cost
        kept.append(line)
    return f"{head}; last lines:\n" + "\n".join(reversed(kept)) if kept else head


def judge(spec: CommandSpec, result: CommandResult, lines: int = 20) -> Finding:
    """The finding of one command run: pass / fail (or warn) / skip / error."""
    output = tail(result.output, lines)
    if result.start_error:
        status, what = Status.ERROR, result.start_error
    elif result.timed_out:
        status, what = Status.ERROR, f"timed out after {spec.timeout:g}s; process group killed"
    elif spec.skip_exit is not None and result.exit_code == spec.skip_exit:
        status, what = Status.SKIP, f"exit {result.exit_code} (the skip code)"
    elif spec.skip_pattern and re.search(spec.skip_pattern, result.output, re.MULTILINE):
        status, what = Status.SKIP, f"exit {result.exit_code}; output matches the skip pattern"
    elif result.exit_code in spec.expect_exit:
        status, what = Status.PASS, f"exit {result.exit_code}"
    else:
        status = Status.WARN if spec.on_fail == "warn" else Status.FAIL
        what = f"exit {result.exit_code}"
    head = f"`{clean_observed(result.command, LINE_CHARS)}` ({result.duration:.2f}s): {what}"
    if result.truncated:
        head += " (output truncated)"
    severity, reason = spec.severity, "set by the command in params (commands.commands[].severity)"
    if status is Status.SKIP:
        severity, reason = Severity.INFO, "a command that skips itself is informational"
    return finding(
        "commands.run",
        status,
        spec.name,
        _observed(head, output),
        expected=f"exit {' or '.join(str(c) for c in spec.expect_exit)} within {spec.timeout:g}s",
        severity=severity,
        severity_reason=reason,  # kept only when it differs from the catalog's default
        title=spec.title or f"Command '{spec.name}' succeeds",
        remediation=f"Run `{result.command}` by hand in {spec.cwd or 'the params folder'}, fix the cause, rerun.",
        references=spec.references,
    )


@dataclass
class CommandsAudit:
    findings: list[Finding] = field(default_factory=list)
    results: list[CommandResult] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Per command: outcome, exit code, duration, the redacted command line."""
        import pandas as pd

        rows = [
            {
                "command": r.name,
                "status": f.status.value,
                "exit code": "killed" if r.timed_out else ("" if r.exit_code is None else r.exit_code),
                "seconds": round(r.duration, 2),
                "run": r.command,
            }
            for r, f in zip(self.results, self.findings, strict=True)
        ]
        from harden_lib.findings import ordered_categories  # issue 14: status in the model's order

        return ordered_categories(pd.DataFrame(rows, columns=["command", "status", "exit code", "seconds", "run"]))


def audit(env: Environment) -> CommandsAudit:
    params = env.commands
    report = CommandsAudit()
    for spec in params.commands:
        result = run_command(spec, params.max_output_bytes, params.kill_grace)
        report.results.append(result)
        report.findings.append(judge(spec, result, params.output_lines))
    return report


def run(env: Environment) -> list[Finding]:
    report = audit(env)
    if report.findings:
        return report.findings
    return [finding("commands.configured", Status.SKIP, "", "commands.commands is empty")]


def plot_durations(report: CommandsAudit) -> Figure:
    """Duration per command coloured by outcome; a timed-out bar reaches its timeout."""
    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    if not report.results:
        return empty_chart("no commands configured")
    fig = figure(7.5, 1.3 + 0.45 * len(report.results))
    ax = fig.subplots()
    labels = [r.name for r in report.results][::-1]
    values = [r.duration for r in report.results][::-1]
    colours = [STATUS_COLOURS[f.status] for f in report.findings][::-1]
    bars = ax.barh(labels, values, color=colours)
    notes = [
        f"{f.status.value}" + (" (timeout)" if r.timed_out else "")
        for r, f in zip(report.results, report.findings, strict=True)
    ][::-1]
    ax.bar_label(bars, labels=[f"{v:.2f}s {n}" for v, n in zip(values, notes, strict=True)], padding=3, fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title("Command durations and outcomes")
    ax.margins(x=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


AREA = AreaSpec(
    name="commands",
    title="Verification commands",
    purpose="The team's smoke and verification commands: exit code, duration and redacted output.",
    params=CommandsParams,
    order=110,
)
