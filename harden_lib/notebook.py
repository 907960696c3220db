"""What every area notebook does around its checks: open the environment, save the result.

Notebooks receive references only (a params file path, a run directory), never secret
values: papermill writes every parameter in plain text into the executed notebook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import HttpUrl

from harden_lib import governance
from harden_lib.envfile import register_file_secrets
from harden_lib.environment import Environment, load_environment
from harden_lib.errors import HardenError
from harden_lib.findings import STATUS_ORDER, Finding, GateResult, Severity, gate, load_findings, save_findings

#: Set by ``harden run`` so the kernels audit the demo target the runner started.
DEMO_URL_VAR = "HARDEN_DEMO_URL"
DEMO_HTTP_URL_VAR = "HARDEN_DEMO_HTTP_URL"
DEMO_CA_VAR = "HARDEN_DEMO_CA"


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_params_path() -> Path:
    """``params/demo.yaml`` of this checkout: a notebook's default parameters audit the demo."""
    return project_root() / "params" / "demo.yaml"


def attach_demo(env: Environment) -> Environment:
    """Point a demo environment at the running demo target (the runner's, or one started here)."""
    if not env.demo.enabled:
        return env
    url, http_url, ca = (os.environ.get(v) for v in (DEMO_URL_VAR, DEMO_HTTP_URL_VAR, DEMO_CA_VAR))
    if not (url and ca):
        from harden_lib.demo import running_demo

        target = running_demo()
        url, http_url, ca = target.base_url, target.http_url, str(target.ca_path)
    http = env.http.model_copy(update={"ca_bundle": Path(ca)})
    return env.model_copy(
        update={"base_url": HttpUrl(url), "http_url": HttpUrl(http_url) if http_url else None, "http": http}
    )


#: Longest cell text a report table shows (characters). Finding fields are capped at the same size
#: (``findings.MAX_FIELD_CHARS``); evidence values are capped tighter where they are read. A cap, not
#: a cut: pandas' own default (50) cut CSP values and advisory titles mid-word.
MAX_CELL_CHARS = 2000


def report_display() -> None:
    """Tables in reports show every row and whole values (up to ``MAX_CELL_CHARS``).

    pandas shortens what ``display(frame)`` prints: more than 60 rows become the first and last 5
    (the summary's 289 params showed 10), and every cell is cut at 50 characters. A report is read,
    not scrolled in a terminal, so both limits are lifted; hostile input is still capped.
    """
    import pandas as pd

    pd.set_option("display.max_rows", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_colwidth", MAX_CELL_CHARS)
    pd.set_option("display.width", None)


def open_environment(params_path: str | os.PathLike[str] | None = None) -> Environment:
    """The environment a notebook audits: ``params_path``, or the demo when it is empty.

    Also sets the report's table display (``report_display``): every notebook opens its environment first.
    """
    report_display()
    path = Path(params_path) if params_path else default_params_path()
    env = attach_demo(load_environment(path))
    # Every area's output is scrubbed of the env file's secrets, not only the config area's.
    register_file_secrets(env.config.env_file)
    return env


def govern(
    findings: list[Finding], env: Environment, area: str, run_dir: str | os.PathLike[str] | None
) -> list[Finding]:
    """Apply the run's governance (waivers, attestations voided by failing checks) to one area's findings.

    The summary applies the same rule (``governance.apply``) on the same day (the run's), so the
    area page, the summary, the index and the exports show the same status for every finding.
    The list is updated in place (and returned), so a report object holding it (``report.findings``)
    draws its charts and matrices with the governed statuses too. Attestations that cover automated
    checks need the other areas' results: with a run folder they are read from it (the runner runs
    the attestations' area last); without one (a notebook opened on its own) only this area's
    findings can void them.
    """
    others: list[Finding] = []
    if run_dir and governance.depends_on_other_areas(env):
        folder = Path(run_dir) / "findings"
        for path in sorted(folder.glob("*.json")):
            if path.stem == area:
                continue
            try:
                others.extend(load_findings(path))
            except HardenError:
                continue  # a damaged file is the summary's to report (as that area's error)
    governed = governance.apply_area(env, findings, others, governance.run_day(run_dir))
    findings[:] = governed
    return findings


def status_counts(findings: Sequence[Finding]) -> dict[str, int]:
    """Findings per status, every status present, in report order."""
    counts = {s.value: 0 for s in STATUS_ORDER}
    for finding in findings:
        counts[finding.status.value] += 1
    return counts


#: Blockers shown open; a longer list is folded (every item still in the page).
BLOCKERS_SHOWN_OPEN = 10
_VERDICT_COLOURS = {True: ("#1b5e20", "#e8f5e9"), False: ("#b71c1c", "#ffebee")}


_CODE_SPAN = re.compile(r"`([^`\n]{1,300})`")


def _with_code(text: str) -> str:
    """Escaped text whose `backtick` spans (the catalog writes settings and commands so) become <code>."""
    from html import escape

    return _CODE_SPAN.sub(r"<code>\1</code>", escape(text))


def _blocker_rows(blocking: Sequence[Finding]) -> str:
    from html import escape

    rows = "".join(
        "<tr>"
        f"<td>{escape(f.severity.value)}</td><td>{escape(f.status.value)}</td>"
        f"<td>{escape(f.title)}<br><code>{escape(f.check_id)}</code></td>"
        f"<td>{escape(f.target)}</td><td>{_with_code(f.remediation)}</td>"
        "</tr>"
        for f in blocking
    )
    return (
        "<table class='harden-blockers' style='color:#222'><thead><tr>"
        "<th scope='col'>severity</th><th scope='col'>status</th>"
        "<th scope='col'>check</th><th scope='col'>target</th><th scope='col'>how to fix</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def area_verdict_html(findings: Sequence[Finding], env: Environment, title: str) -> str:
    """The cell an area page opens with: its verdict on its own, counts per status, and all its blockers.

    Every blocker is listed (a long list is folded in a ``<details>`` that says how many); all text
    is escaped (finding text quotes what scanned servers sent).
    """
    from html import escape

    result: GateResult = gate(findings, env.gate.fail_on)
    colour, background = _VERDICT_COLOURS[result.go]
    counts = status_counts(findings)
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    fail_on = Severity(env.gate.fail_on).value
    head = (
        f"<div class='harden-area-verdict' style='border:1px solid {colour};background:{background};"
        f"color:{colour};padding:0.8em 1em;border-radius:6px;font-family:system-ui,sans-serif'>"
        f"<div style='font-size:1.5em;font-weight:700'>{escape(result.verdict)} · {escape(title)}</div>"
        f"<div style='color:#222'>On its own, this area is <b>{escape(result.verdict)}</b> for "
        f"<b>{escape(env.name)}</b>: {escape(result.reason)} The run's decision (every area, sign-offs) "
        "is on the summary and overview pages.</div>"
        f"<div style='color:#222;margin-top:0.3em'>Findings: {escape(shown)} "
        f"(gate: fail or error at or above <b>{escape(fail_on)}</b> blocks).</div>"
    )
    if not result.blocking:
        return head + "</div>"
    n = len(result.blocking)
    label = f"{n} blocker{'s' if n != 1 else ''} in this area"
    table = _blocker_rows(result.blocking)
    if n > BLOCKERS_SHOWN_OPEN:
        summary = f"<summary><b>{label}</b> (all listed; open to read)</summary>"
        # harden-long: the report script opens it for printing, so a printed page lists every blocker too
        body = f"<details class='harden-long' style='color:#222'>{summary}{table}</details>"
    else:
        body = f"<div style='color:#222;margin-top:0.4em'><b>{label}</b></div>{table}"
    return head + body + "</div>"


def show_area_verdict(findings: Sequence[Finding], env: Environment, title: str) -> None:
    """Display ``area_verdict_html`` (the area notebooks' first output after the title)."""
    from IPython.display import HTML, display

    display(HTML(area_verdict_html(findings, env, title)))


def label_html(label: str, detail: str = "") -> str:
    """A bold label (a URL, a host) and its detail as escaped HTML, for the line above a chart or table.

    HTML rather than Markdown: a URL in Markdown depends on every renderer honouring the escapes
    (``**https\\://…/**`` printed literally, or linkified with the ``**`` in it, when one did not).
    Credentials in a URL are redacted, known secrets scrubbed.
    """
    from html import escape

    from harden_lib.redact import redact_url, scrub_output

    shown = escape(scrub_output(redact_url(str(label))))
    rest = f": {escape(scrub_output(str(detail)))}" if detail else ""
    return f"<p class='harden-label'><strong>{shown}</strong>{rest}</p>"


def show_label(label: str, detail: str = "") -> None:
    """Display ``label_html`` in a notebook."""
    from IPython.display import HTML, display

    display(HTML(label_html(label, detail)))


def finish(findings: Sequence[Finding], env: Environment, area: str, run_dir: str | os.PathLike[str] | None) -> str:
    """Save an area's findings for the summary (when run by the runner) and say what happened.

    The sentence names no file: a report is shared, and the server's paths are no reader's business.
    """
    counts = {s: n for s, n in status_counts(findings).items() if n}
    decision = gate(findings, env.gate.fail_on)
    if run_dir:
        save_findings(findings, Path(run_dir), area)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no findings"
    return f"{area}: {summary}; on its own this area is {decision.verdict}."
