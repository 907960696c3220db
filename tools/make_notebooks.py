"""Writes the committed notebooks from the cell lists below (no outputs, no execution counts).

Kept as code so the notebooks stay thin and uniform; edit here, run
``python tools/make_notebooks.py && ruff format notebooks``, and commit both.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

WHAT_TO_FIX = "## What to fix\nWhat needs action, worst severity first, then why each check matters and how to fix it."

PARAMETERS = """# Parameters (papermill injects new values below this cell).
params_path = ""  # the params file of the environment to audit; empty means the embedded demo
run_dir = ""  # set by `harden run`: where this area saves its findings"""


def _split_compute(area: str, body: list) -> tuple[str, list]:
    """The body's first code cell that assigns ``findings``, split where the findings are known.

    The lines up to that assignment (running the checks) move to the top of the notebook, followed
    by governance and saving, so the page can open with the area's verdict; what follows (the
    findings table) stays where it was. Bodies written for the older layout (other engineers' new
    areas) work unchanged.
    """
    for index, cell in enumerate(body):
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        at = next((i for i, line in enumerate(lines) if line.startswith("findings = ")), None)
        if at is None:
            continue
        compute = "\n".join(lines[: at + 1])
        rest = "\n".join(lines[at + 1 :]).strip("\n")
        cells = list(body)
        if rest:
            cells[index] = new_code_cell(rest, metadata=cell.metadata)
        else:
            del cells[index]
        return compute, cells
    raise ValueError(f"{area}: no code cell assigns 'findings'")


def area_notebook(area: str, intro: str, body: list) -> nbformat.NotebookNode:
    """An area notebook: title, the area's verdict (counts and every blocker), what it checks, the body.

    Governance (waivers, attestations voided by failing checks) is applied to the findings before
    anything is shown, exactly as the summary applies it, and the findings are saved before the
    first chart, so a crash in a chart still leaves them for the summary.
    """
    title, _, purpose = intro.partition("\n\n")
    heading = title.lstrip("# ").strip()
    compute, cells = _split_compute(area, body)
    governed = (
        f"{compute}\n"
        f"findings = govern(findings, env, {area!r}, run_dir)  # waivers and attestations, as in the summary\n"
        f"finish(findings, env, {area!r}, run_dir);  # saved for the summary and the exports"
    )
    cells = [
        new_markdown_cell(title),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from IPython.display import Markdown, display\n\n"
            "from harden_lib import findings_frame, render\n"
            f"from harden_lib.checks import {area}\n"
            "from harden_lib.notebook import finish, govern, open_environment, show_area_verdict\n"
            "from harden_lib.render import environment_line, plot_status_counts, show_figure, show_findings, "
            "style_findings\n\n"
            "env = open_environment(params_path)"
        ),
        new_code_cell(governed),
        new_code_cell(
            f"show_area_verdict(findings, env, {heading!r})\n"
            "display(Markdown(environment_line(env)))  # params text is escaped, never rendered as markup"
        ),
        *([new_markdown_cell(purpose.strip())] if purpose.strip() else []),
        *cells,
    ]
    return _notebook(cells)


def _notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


CONFIG = area_notebook(
    "config",
    "# Configuration preflight\n\n"
    "The deployment's environment file decides where the app connects, which debug switches are on "
    "and how strong its secrets are. One wrong line (a `ws://` relay, a placeholder secret, CORS `*`) "
    "undoes every other control. This area checks each rule of the environment's params against the "
    "env file. **Secret values are never shown**: only presence, length, character classes and an "
    "entropy estimate.",
    [
        new_markdown_cell(
            "## Findings\nWorst first. `observed` shows what the env file holds (secrets by shape only)."
        ),
        new_code_cell("findings = config.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Outcomes by rule\nEach bar is one kind of rule; colours are the statuses."),
        new_code_cell(
            "show_figure(plot_status_counts(findings, 'Configuration findings by status'))\n"
            "show_figure(config.plot_rule_outcomes(findings))"
        ),
        new_markdown_cell(
            "## Evidence: the env file's keys\nEvery key, what kind of value it holds and which rules cover it."
        ),
        new_code_cell(
            "if env.config.env_file and env.config.env_file.is_file():\n"
            "    display(config.env_inventory(config.load_env_file(env.config.env_file), env.config.rules))\n"
            "else:\n"
            "    display(Markdown('_No env file to show._'))"
        ),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

HEADERS = area_notebook(
    "headers",
    "# Security headers\n\n"
    "Response headers tell browsers to insist on HTTPS (HSTS), refuse injected scripts (CSP), refuse "
    "to be framed (clickjacking), and keep cookies away from scripts and other sites. They are cheap to "
    "set and each missing one is a known attack path. The score and grade follow the Mozilla HTTP "
    "Observatory's published scoring, so they can be compared with what the Observatory would say.",
    [
        new_markdown_cell("## Findings\nWorst first, per URL."),
        new_code_cell(
            "report = headers.audit(env)  # one fetch per URL: findings, scores and evidence\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell(
            "## Mozilla HTTP Observatory score\n"
            "Start at 100, add each test's modifier; bonuses count only if the penalties alone leave at "
            "least 90. The grade is read from the score. One chart and one table cover every page (a "
            "column per test, its modifier); the three lowest-scoring pages get their own chart."
        ),
        new_code_cell(
            "from harden_lib.notebook import show_label\n\n"
            "show_figure(headers.plot_scores(report.scores))\n"
            "display(headers.scores_frame(report.scores))\n"
            "for url, score in headers.lowest_scores(report.scores, 3):\n"
            "    show_label(url, f'score {score.score}, grade {score.grade}')\n"
            "    show_figure(headers.plot_modifiers(score))"
        ),
        new_markdown_cell("## Status overview"),
        new_code_cell("show_figure(plot_status_counts(findings, 'Header findings by status'))"),
        new_markdown_cell(
            "## Evidence: headers as received\nValues are escaped and capped; cookie values are redacted."
        ),
        new_code_cell("display(report.table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

TLS = area_notebook(
    "tls",
    "# TLS\n\n"
    "TLS protects every byte between users and the service. Old protocol versions (SSL, TLS 1.0/1.1) and "
    "weak cipher suites can be downgraded to or broken; a certificate that is untrusted, names another host "
    "or has expired makes browsers refuse the site, or trains users to click through warnings. Each endpoint "
    "is scanned the way reference scanners do (one handshake per protocol and cipher suite, with sslyze) and "
    "compared with Mozilla's server-side TLS profile chosen for the environment.",
    [
        new_markdown_cell("## Findings\nWorst first, per endpoint."),
        new_code_cell(
            "report = tls.audit(env)  # every endpoint scanned concurrently\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell(
            "## Certificate expiry across hosts\n"
            "Days until each certificate expires, soonest first. Below the orange line renewal is overdue "
            "to plan; below the red line (or expired) it is an outage in the making."
        ),
        new_code_cell("show_figure(report.plot_expiry())\ndisplay(report.overview())"),
        new_markdown_cell("## Status overview"),
        new_code_cell("show_figure(plot_status_counts(findings, 'TLS findings by status'))"),
        new_markdown_cell(
            "## Evidence per host\nEvery protocol version and accepted cipher suite with its weaknesses "
            "(`cbc`: CBC mode, `no_fs`: no forward secrecy, `rc4`, `3des`, `null`, `export`, `anon`)."
        ),
        new_code_cell(
            "from harden_lib.notebook import show_label\n\n"
            "for target in report.scans:\n"
            "    show_label(target)\n"
            "    display(report.host_table(target))"
        ),
        new_markdown_cell(
            "## Deviations from Mozilla's profile\nAs reported by sslyze's checker, one row per deviation."
        ),
        new_code_cell(
            "deviations = report.deviations()\ndisplay(deviations if len(deviations) else Markdown('_None._'))"
        ),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

SECRETS = area_notebook(
    "secrets",
    "# Secrets hygiene\n\n"
    "A secret in git is in every clone and in the history for good; a secret written into a compose "
    "file or Dockerfile ends up in image layers; a secret shared by staging and production means one "
    "leak opens both. This area scans the repository the environment is deployed from (with "
    "detect-secrets, over the files git tracks), its container files, and the env files of the "
    "environments. **No value is ever shown**: hits name the file, line and kind; environments are "
    "compared with keyed fingerprints made fresh for this run.",
    [
        new_markdown_cell("## Findings\nWorst first."),
        new_code_cell(
            "report = secrets.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell("## Outcomes by check"),
        new_code_cell("show_figure(secrets.plot_findings(findings))"),
        new_markdown_cell(
            "## Evidence: where secrets were found\nFile and line only; rotate every secret listed here."
        ),
        new_code_cell("display(report.hits_table() if report.scanned_files else Markdown('_No repository scanned._'))"),
        new_markdown_cell(
            "## Evidence: the same secret in two environments?\n"
            "Keyed fingerprints (HMAC-SHA256 with a random key made for this run): equal fingerprints mean "
            "equal values; they cannot be compared with another run's."
        ),
        new_code_cell("display(report.fingerprint_table())"),
    ],
)

OPERATIONS = area_notebook(
    "operations",
    "# Operational controls\n\n"
    "Backups that were never restored, a runbook nobody has read this year, alerts that page no one: "
    "no scanner sees these, so they are carried as **attestations** — a named owner, a date, the "
    "evidence, and a maximum age. A control is green only while its attestation is fresh, and it "
    "stops counting as soon as an automated check of the same item fails.",
    [
        new_markdown_cell("## Findings"),
        new_code_cell("findings = operations.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Age of each control against its limit"),
        new_code_cell("show_figure(operations.plot_attestation_age(env, findings=findings))"),
        new_markdown_cell("## Evidence: the attestations"),
        new_code_cell("display(style_findings(operations.attestation_table(env, findings=findings)))"),
        new_markdown_cell(
            "## What to do\nControls that are stale, due soon or were never attested. (The summary also voids "
            "an attestation whose automated counterpart fails.)"
        ),
        new_code_cell(
            "todo = frame[frame['status'].isin(['fail', 'warn', 'manual'])]\n"
            "todo = todo.sort_values(['severity', 'status', 'check_id'], ascending=[False, False, True])\n"
            "display(style_findings(todo, ['severity', 'status', 'title', 'observed', 'remediation']))"
        ),
    ],
)

DATASTORES = area_notebook(
    "datastores",
    "# Datastores\n\n"
    "Redis and PostgreSQL hold the sessions, queues and user data. A Redis that answers without a password, "
    "a database role that may create roles, or a connection URL that lets the driver fall back to plain "
    "text hands the data to whoever reaches the network. This area asks the servers themselves (with the "
    "real client libraries) when the audit can reach them, and otherwise reads `redis.conf` and the "
    "connection URLs. **Passwords are never shown**: only their length, character classes and entropy.",
    [
        new_markdown_cell("## Findings\nWorst first. `target` names the datastore and where it was examined."),
        new_code_cell("findings = datastores.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Outcomes by datastore"),
        new_code_cell(
            "show_figure(plot_status_counts(findings, 'Datastore findings by status'))\n"
            "show_figure(datastores.plot_by_datastore(findings))"
        ),
        new_markdown_cell("## Evidence: every check on every datastore\nEmpty cells: the check does not apply there."),
        new_code_cell("display(datastores.check_matrix(findings))"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

CONTAINERS = area_notebook(
    "containers",
    "# Containers\n\n"
    "How each service of the deployment's compose project really runs, after merging the compose files the "
    "way `docker compose -f … -f …` does and resolving `extends:`. A container running as root, privileged, "
    "with the Docker socket or the host network turns one bug in the app into control of the host; no memory "
    "limit or log rotation lets one service fill the machine; an unpinned image changes under a redeploy; a "
    "datastore port published on all interfaces is reachable from outside. **Secret values are never shown**.",
    [
        new_markdown_cell("## Findings\nWorst first, per service and Dockerfile."),
        new_code_cell(
            "report = containers.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell("## Service × check\nEach cell is one check on one service; colours are the statuses."),
        new_code_cell("show_figure(containers.plot_matrix(report))\ndisplay(report.matrix())"),
        new_markdown_cell(
            "## Evidence: the merged services\nImage or Dockerfile, user, ports, limits, and where each is defined."
        ),
        new_code_cell("display(report.services_table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

DEPENDENCIES = area_notebook(
    "dependencies",
    "# Dependency vulnerabilities\n\n"
    "Known vulnerabilities in the packages the deployment ships, from the audit outputs the CI already "
    "produces (`npm audit`, `pip-audit`, `osv-scanner`, Trivy). The same advisory found by two tools counts "
    "once (matched on its CVE / GHSA / PYSEC ids). A vulnerability at or above the threshold "
    "(`dependencies.fail_on`, default high) blocks the go-live until it is upgraded or waived; below it is a "
    "warning to plan.",
    [
        new_markdown_cell("## Findings\nWorst first: one row per vulnerability, plus one per audit file read."),
        new_code_cell(
            "report = dependencies.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell("## By severity and by package"),
        new_code_cell(
            "show_figure(dependencies.plot_by_severity(report))\nshow_figure(dependencies.plot_by_package(report))"
        ),
        new_markdown_cell(
            "## Evidence: every vulnerability\nInstalled version, advisory and aliases, fixed version, which tools reported it."
        ),
        new_code_cell("display(report.table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

COMMANDS = area_notebook(
    "commands",
    "# Verification commands\n\n"
    "Some checklist items are commands the team already has: an end-to-end smoke test, `docker compose ps`, "
    "a wallet matrix check. Each command listed in the environment's params (never taken from the audited "
    "target) runs with a timeout; on timeout its whole process group is killed. A command can declare itself "
    "not applicable (an exit code or a line such as `SKIP: …`). The last lines of output are shown with "
    "passwords, tokens and secret values redacted.",
    [
        new_markdown_cell("## Findings"),
        new_code_cell(
            "report = commands.audit(env)\n"
            "findings = report.findings or commands.run(env)\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame, ['target', 'status', 'severity', 'observed'])"
        ),
        new_markdown_cell("## Durations and outcomes"),
        new_code_cell("show_figure(commands.plot_durations(report))\ndisplay(report.table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings, ['severity', 'status', 'target', 'observed', 'remediation'])"),
    ],
)

SURFACE = area_notebook(
    "surface",
    "# Exposed surface\n\n"
    "What anyone on the internet sees without logging in. Required routes must answer; plain HTTP must "
    "redirect to HTTPS; the shipped pages and scripts must not point browsers at development or internal "
    "endpoints (`localhost`, private addresses, plaintext `ws://`) and must carry the production settings "
    "they need (e.g. a `wss://` relay, a TURN server); source maps and files such as `/.env` or "
    "`/.git/HEAD` must not be served; health endpoints must answer quickly. Excerpts from the target are "
    "escaped and short; the content of an exposed file is never shown.",
    [
        new_markdown_cell("## Findings\nWorst first."),
        new_code_cell(
            "report = surface.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell("## Required routes\nStatus, time and where each route ended up after redirects."),
        new_code_cell("display(report.routes_table())"),
        new_markdown_cell(
            "## Asset leak scan\nHits per page and asset: red bars are forbidden hints, green bars required ones."
        ),
        new_code_cell("show_figure(surface.plot_hits(report))\ndisplay(report.documents_table())"),
        new_markdown_cell("## Evidence: every hit\nAsset, line, column and an escaped excerpt around the match."),
        new_code_cell("display(style_findings(report.hits_table()))"),
        new_markdown_cell(
            "## Exposed files\nA 200 identical to the answer for a missing page is an SPA catch-all, not exposure."
        ),
        new_code_cell("display(report.exposed_table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

CORS = area_notebook(
    "cors",
    "# Cross-origin policy and WebSockets\n\n"
    "A browser lets another web site read the API's answers only when `Access-Control-Allow-Origin` allows "
    "it. Reflecting any origin, allowing `null`, or `*` with credentials lets any page read a signed-in "
    "user's data. WebSockets are outside CORS: the server must check the handshake's `Origin` itself, or "
    "any page can open a socket with the user's cookies. Each API route is probed with a foreign origin, "
    "`null` and each allowed origin; each WebSocket endpoint gets a real handshake with a foreign origin.",
    [
        new_markdown_cell("## Findings\nWorst first."),
        new_code_cell(
            "report = cors.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell(
            "## Origin × route\nWhat `Access-Control-Allow-Origin` came back (`+cred`: credentials allowed; "
            "— : none). Red cells should never be allowed."
        ),
        new_code_cell("show_figure(cors.plot_matrix(report))\ndisplay(report.matrix())"),
        new_markdown_cell("## WebSocket handshakes"),
        new_code_cell("display(report.handshake_table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

RATELIMIT = area_notebook(
    "ratelimit",
    "# Rate limits\n\n"
    "Brute force on a login or password reset and scraping of an API are stopped only by a limit the server "
    "really enforces. This area sends, one after another, up to *limit + margin* requests to each endpoint "
    "of the policy table and records every status: the first `429` is the observed limit. Bursts are "
    "**opt-in** (`active_probes: true` in the environment) and capped in count and time; without it every "
    "check is skipped.",
    [
        new_markdown_cell("## Findings\nWorst first."),
        new_code_cell(
            "report = ratelimit.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell(
            "## Status code over request number\nOne panel per endpoint; the dashed line is the policy's limit."
        ),
        new_code_cell("show_figure(ratelimit.plot_statuses(report))"),
        new_markdown_cell("## Policy table and what was observed"),
        new_code_cell("display(report.table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

SUMMARY = _notebook(
    [
        new_markdown_cell(
            "# Summary: is this environment safe to go live?\n\n"
            "This page collects every area of the audit. The verdict is **NO-GO** when any check at or "
            "above the environment's gate severity failed or could not run; a check that could not run "
            "is never counted as passed."
        ),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from IPython.display import HTML, Markdown, display\n\n"
            "from harden_lib import summary\n"
            "from harden_lib.notebook import open_environment\n"
            "from harden_lib.render import md_escape, show_figure, style_findings, verdict_banner\n\n"
            "env = open_environment(params_path)\n"
            "per_area = summary.collect(env, run_dir)\n"
            "decision = summary.verdict(env, per_area)\n"
            "display(HTML(verdict_banner(decision.result, env.name)))"
        ),
        new_markdown_cell(  # issue 13: what changed since the environment's previous recorded run
            "## Since the last run\nNew failures, fixed findings and what is still failing, compared with this "
            "environment's previous recorded run (matched by each finding's stable id)."
        ),
        new_code_cell("from harden_lib.diff import show_since_last\n\nshow_since_last(run_dir)"),
        new_markdown_cell(
            "## Findings per area\nPass rate leaves not-applicable (skipped) checks out of the denominator."
        ),
        new_code_cell("show_figure(summary.plot_area_status(per_area))\ndisplay(summary.counts_frame(per_area))"),
        new_markdown_cell(
            "## Failures by severity\nThe gate looks at failing and errored checks at or above its severity."
        ),
        new_code_cell(
            "show_figure(summary.plot_failures_by_severity(per_area))\ndisplay(summary.failures_by_severity(per_area))"
        ),
        new_markdown_cell(
            "## Blockers and how to fix them\nEvery failing or unverified check at or above the gate's severity, "
            "worst first: all of them, the list the go-live waits on."
        ),
        new_code_cell(
            "blocking = summary.blockers(env, per_area)\n"
            "display(Markdown(f'**{len(blocking)}** blocker(s) in this run.'))\n"
            "display(style_findings(blocking) if len(blocking) else Markdown('_Nothing blocks the go-live._'))"
        ),
        new_markdown_cell("## Other failures\nFailing checks below the gate's severity: they do not block, plan them."),
        new_code_cell(
            "others = summary.other_failures(env, per_area)\n"
            "display(style_findings(others) if len(others) else Markdown('_None._'))"
        ),
        new_markdown_cell(
            "## Checks that could not run\nEach needs attention: an unverified control is not a passed one."
        ),
        new_code_cell(
            "from harden_lib.checklist import run_note\n\n"
            "errs = summary.errors(per_area)\n"
            "if len(errs):\n"
            "    display(style_findings(errs))\n"
            "# 'Every check ran' only when no checklist row is 'not run' either (issue 15)\n"
            "display(Markdown('_' + md_escape(run_note(env.profile, summary.flatten(per_area))) + '_'))"
        ),
        new_markdown_cell(
            "## Sign-offs\nThe go-live needs each required role's sign-off; a missing or stale one keeps "
            "the gate closed whatever the checks say."
        ),
        new_code_cell(
            "from harden_lib import governance\n\n"
            "signoffs = governance.signoff_table(env.signoffs)\n"
            "display(style_findings(signoffs) if len(signoffs) else Markdown('_No sign-offs required._'))"
        ),
        new_markdown_cell(
            "## Waivers\nAccepted risks: a waived failure stays visible but does not close the gate until "
            "its waiver expires. Expired waivers no longer apply."
        ),
        new_code_cell(
            "waivers = governance.waiver_table(env, per_area)\n"
            "display(style_findings(waivers) if len(waivers) else Markdown('_No waivers._'))"
        ),
        new_markdown_cell(
            "## The checklist, filled in\nWhen the environment is audited against a checklist profile, every "
            "item in the checklist's own order and wording, with its outcome and how it is covered."
        ),
        new_code_cell(
            "from harden_lib import checklist\n\n"
            "if env.profile:\n"
            "    filled = checklist.filled_checklist(env.profile, summary.flatten(per_area))\n"
            "    display(Markdown(md_escape(checklist.headline(env.profile, filled))))  # every outcome counted\n"
            "    display(style_findings(filled))\n"
            "else:\n"
            "    display(Markdown('_This environment is not audited against a checklist profile._'))"
        ),
        new_markdown_cell("## Parameters of this run\nAs written in the params files; secret values are masked."),
        new_code_cell("display(summary.params_table(env))"),
    ]
)


# --------------------------------------------------------------------------- issue 13: history notebooks
# (trends: executed by `harden run` from an environment's second recorded run on; drift: for JupyterLab
# and `harden drift`). Kept apart from the area notebooks above.

HISTORY_PARAMETERS = (
    PARAMETERS
    + """
history_url = ""  # the history store (SQLAlchemy URL); empty: history.url, HARDEN_HISTORY_URL or reports/history.sqlite
environments = ""  # comma-separated environment names; empty: every recorded environment"""
)

TRENDS = _notebook(
    [
        new_markdown_cell(
            "# Trends: is the audit getting better?\n\n"
            "Every completed `harden run` is recorded in the history store. This page follows the recorded runs "
            "over time: how many findings closed the gate, the pass rate per area, how long failures took to "
            "fix, and which failures have been open the longest."
        ),
        new_code_cell(HISTORY_PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from IPython.display import Markdown, display\n\n"
            "from harden_lib.history import trends\n"
            "from harden_lib.render import md_escape, show_figure, style_findings\n\n"
            "frame = trends.load_frame(run_dir, params_path, history_url, environments)\n"
            "runs = trends.runs_frame(frame)\n"
            "names = list(dict.fromkeys(runs['environment']))\n"
            "display(Markdown(f'{len(runs)} recorded run(s) of {len(names)} environment(s): ' + "
            "md_escape(', '.join(names) or 'none')))"
        ),
        new_markdown_cell(
            "## Blockers and pass rate over time\nBlockers are the failing or unverified checks at or above the "
            "gate severity; the pass rate leaves skipped checks out."
        ),
        new_code_cell("show_figure(trends.plot_trends(frame))\ndisplay(style_findings(runs.tail(30)))"),
        new_markdown_cell("## Pass rate per area"),
        new_code_cell("for name in names:\n    show_figure(trends.plot_area_pass_rates(frame, name))"),
        new_markdown_cell(
            "## Time to fix\nPer check: how many failures were fixed and how many days they stayed failing."
        ),
        new_code_cell(
            "fixes = trends.time_to_fix(frame)\n"
            "display(style_findings(fixes.head(30)) if len(fixes) else Markdown('_No failure has been fixed yet._'))"
        ),
        new_markdown_cell("## Oldest open failures\nFailing in the newest run, longest open first."),
        new_code_cell(
            "oldest = trends.oldest_open(frame)\n"
            "display(style_findings(oldest) if len(oldest) else Markdown('_Nothing is failing in the newest run._'))"
        ),
    ]
)

DRIFT = _notebook(
    [
        new_markdown_cell(
            "# Drift: are the environments configured alike?\n\n"
            "The newest recorded run of each environment, side by side: one row per check, its status in each "
            "environment, and what was observed where they differ (a header set in staging but not in "
            "production, another TLS profile, a secret shared between environments)."
        ),
        new_code_cell(
            HISTORY_PARAMETERS + '\nlevel = "check"  # or "finding": one row per finding id',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(
            "from IPython.display import Markdown, display\n\n"
            "from harden_lib import drift\n"
            "from harden_lib.render import show_figure\n\n"
            "names, frame = drift.load(params_path, history_url, environments, level)\n"
            "differing = drift.differences(frame) if frame is not None else None\n"
            "display(Markdown(drift.headline(names, frame)))"
        ),
        new_markdown_cell("## The matrix\nDiffering checks first; colours are statuses."),
        new_code_cell("if frame is not None:\n    show_figure(drift.plot_drift(frame))"),
        new_markdown_cell("## What differs"),
        new_code_cell(
            "if frame is not None:\n"
            "    display(drift.style_drift(differing) if len(differing) else Markdown('_No difference._'))"
        ),
        new_markdown_cell("## Every check"),
        new_code_cell("if frame is not None:\n    display(drift.style_drift(frame))"),
    ]
)


BACKUPS = area_notebook(  # issue 15 (engineer F)
    "backups",
    "# Backups\n\n"
    "A backup job that stopped running fails silently until the day a restore is needed. This area reads the "
    "backup tool's own listing (an exported file or a command: `ls -l --time-style=full-iso`, pgBackRest, "
    "WAL-G or restic JSON) and judges the newest backup of each backup set against its maximum age. A listing "
    "that cannot be read, is empty or holds no timestamp is an **error**, never a pass.",
    [
        new_markdown_cell("## Findings"),
        new_code_cell("findings = backups.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Evidence: the listings read and their limits"),
        new_code_cell("display(backups.source_table(env.backups))"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)

EMAIL = area_notebook(  # issue 15 (engineer F)
    "email",
    "# Email authentication\n\n"
    "Without SPF, DKIM and an enforcing DMARC policy anyone can send mail that receivers accept as the "
    "product's own: phishing with the real domain. This area reads the three records of each sending domain "
    "from DNS. A domain that does not exist, a timeout or a failing nameserver is an **error**: nothing was "
    "judged.",
    [
        new_markdown_cell("## Findings"),
        new_code_cell("findings = email.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Evidence: what each DNS name holds"),
        new_code_cell("display(email.record_table(findings))"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)


MONITORING = area_notebook(  # issue 15 (engineer F)
    "monitoring",
    "# Logging and alerting\n\n"
    "An outage or an attack should page someone before users notice, and leave a trail to reconstruct it. "
    "This area reads the Prometheus rule files (is each alert the checklist asks for there, with a threshold "
    "tight enough?) and a sample of the production log (does it record requests, and is it free of card "
    "numbers, tokens, passwords and e-mail addresses?). Only the kind and line number of personal data are "
    "shown, **never the value**.",
    [
        new_markdown_cell("## Findings"),
        new_code_cell("findings = monitoring.run(env)\nframe = findings_frame(findings)\nshow_findings(frame)"),
        new_markdown_cell("## Evidence: every alert of the rule files and its thresholds"),
        new_code_cell("display(monitoring.alert_table(env.monitoring))"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)


AUTH = area_notebook(  # issue 15 (engineer E)
    "auth",
    "# Tokens and webhook signatures\n\n"
    "A protected route must refuse a request without a valid token, and a webhook must refuse a call "
    "whose signature is missing or wrong: otherwise anyone who knows the URL reads the data or fakes the "
    "provider's events. Each protected route is requested without a token, with an invalid one, with an "
    "unsigned JWT (`alg: none`) and with a malformed header; each webhook gets an unsigned and a badly "
    "signed POST (**opt-in**: `active_probes: true`). Probes carry none of the configured credentials.",
    [
        new_markdown_cell("## Findings\nWorst first."),
        new_code_cell(
            "report = auth.audit(env)\n"
            "findings = report.findings\n"
            "frame = findings_frame(findings)\n"
            "show_findings(frame)"
        ),
        new_markdown_cell("## Every probe\nWhat was sent and the status that came back (bodies are never kept)."),
        new_code_cell("display(report.table())"),
        new_markdown_cell(WHAT_TO_FIX),
        new_code_cell("render.show_fixes(findings)"),
    ],
)


def main() -> None:
    notebooks = {
        "config": CONFIG,
        "headers": HEADERS,
        "tls": TLS,
        "surface": SURFACE,
        "cors": CORS,
        "ratelimit": RATELIMIT,
        "auth": AUTH,  # issue 15
        "secrets": SECRETS,
        "datastores": DATASTORES,
        "containers": CONTAINERS,
        "dependencies": DEPENDENCIES,
        "commands": COMMANDS,
        "operations": OPERATIONS,
        "monitoring": MONITORING,  # issue 15
        "backups": BACKUPS,  # issue 15
        "email": EMAIL,  # issue 15
        "summary": SUMMARY,
        "trends": TRENDS,  # issue 13
        "drift": DRIFT,  # issue 13
    }
    for name, nb in notebooks.items():
        for index, cell in enumerate(nb.cells):
            cell.id = f"{name}-{index:02d}"  # stable ids: regenerating does not churn the diff
        nbformat.validate(nb)
        nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()
