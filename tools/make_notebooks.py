"""Writes the committed notebooks from the cell lists below (no outputs, no execution counts).

Kept as code so the notebooks stay thin and uniform; edit here, run
``python tools/make_notebooks.py``, and commit both.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

PARAMETERS = """# Parameters (papermill injects new values below this cell).
params_path = ""  # the params file of the environment to audit; empty means the embedded demo
run_dir = ""  # set by `harden run`: where this area saves its findings"""


def area_notebook(area: str, intro: str, body: list) -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(intro),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from IPython.display import Markdown, display\n\n"
            "from harden_lib import findings_frame\n"
            f"from harden_lib.checks import {area}\n"
            "from harden_lib.notebook import finish, open_environment\n"
            "from harden_lib.render import plot_status_counts, show_figure, show_findings, style_findings\n\n"
            "env = open_environment(params_path)\n"
            f"display(Markdown(f\"Environment **{{env.name}}** — {{env.description or 'no description'}}\"))"
        ),
        *body,
        new_markdown_cell("## Save\nThe findings of this area are saved for the summary and the exports."),
        new_code_cell(f"print(finish(findings, env, {area!r}, run_dir))"),
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
        new_markdown_cell("## What to fix\nFailing and warning checks with their remediation."),
        new_code_cell(
            "todo = frame[frame['status'].isin(['fail', 'error', 'warn'])]\n"
            "display(style_findings(todo, ['severity', 'status', 'target', 'title', 'remediation']))"
        ),
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
            "least 90. The grade is read from the score."
        ),
        new_code_cell(
            "for url, score in report.scores.items():\n"
            "    display(Markdown(f'**{url}**: score **{score.score}**, grade **{score.grade}**'))\n"
            "    display(headers.score_frame(score))\n"
            "    show_figure(headers.plot_modifiers(score))"
        ),
        new_markdown_cell("## Status overview"),
        new_code_cell("show_figure(plot_status_counts(findings, 'Header findings by status'))"),
        new_markdown_cell(
            "## Evidence: headers as received\nValues are escaped and capped; cookie values are redacted."
        ),
        new_code_cell("display(report.table())"),
        new_markdown_cell("## What to fix\nFailing and warning checks with their remediation."),
        new_code_cell(
            "todo = frame[frame['status'].isin(['fail', 'error', 'warn'])]\n"
            "display(style_findings(todo, ['severity', 'status', 'target', 'title', 'remediation']))"
        ),
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
            "from harden_lib.render import show_figure, style_findings, verdict_banner\n\n"
            "env = open_environment(params_path)\n"
            "per_area = summary.collect(env, run_dir)\n"
            "decision = summary.verdict(env, per_area)\n"
            "display(HTML(verdict_banner(decision.result, env.name)))"
        ),
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
        new_markdown_cell("## Top failures and how to fix them"),
        new_code_cell(
            "top = summary.top_failures(per_area)\n"
            "display(style_findings(top) if len(top) else Markdown('_No failing checks._'))"
        ),
        new_markdown_cell(
            "## Checks that could not run\nEach needs attention: an unverified control is not a passed one."
        ),
        new_code_cell(
            "errs = summary.errors(per_area)\n"
            "display(style_findings(errs) if len(errs) else Markdown('_Every check ran._'))"
        ),
        new_markdown_cell("## Parameters of this run\nAs written in the params files; secret values are masked."),
        new_code_cell("display(summary.params_table(env))"),
    ]
)


def main() -> None:
    for name, nb in {"config": CONFIG, "headers": HEADERS, "summary": SUMMARY}.items():
        nbformat.validate(nb)
        nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()
