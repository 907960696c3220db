"""What every area notebook does around its checks: open the environment, save the result.

Notebooks receive references only (a params file path, a run directory), never secret
values: papermill writes every parameter in plain text into the executed notebook.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import HttpUrl

from harden_lib.envfile import register_file_secrets
from harden_lib.environment import Environment, load_environment
from harden_lib.findings import Finding, gate, save_findings

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


def open_environment(params_path: str | os.PathLike[str] | None = None) -> Environment:
    """The environment a notebook audits: ``params_path``, or the demo when it is empty."""
    path = Path(params_path) if params_path else default_params_path()
    env = attach_demo(load_environment(path))
    # Every area's output is scrubbed of the env file's secrets, not only the config area's.
    register_file_secrets(env.config.env_file)
    return env


def finish(findings: Sequence[Finding], env: Environment, area: str, run_dir: str | os.PathLike[str] | None) -> str:
    """Save an area's findings for the summary (when run by the runner) and say what happened."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    decision = gate(findings, env.gate.fail_on)
    where = ""
    if run_dir:
        where = f" Saved to {save_findings(findings, Path(run_dir), area)}."
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings"
    return f"{area}: {summary}; on its own this area is {decision.verdict}.{where}"
