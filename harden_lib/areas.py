"""The checklist areas the kit knows: one notebook and one check module each.

Adding an area means one entry here, one ``checks/<area>.py`` with ``run(env)``, and one
``notebooks/<area>.ipynb``; the runner, params validation and summary pick it up from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harden_lib.findings import Finding
    from harden_lib.params import Environment

SUMMARY = "summary"


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    purpose: str

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    def runner(self) -> Callable[[Environment], list[Finding]]:
        """The area's ``run(env)`` function, imported on demand (areas import heavy libraries)."""
        module = importlib.import_module(f"harden_lib.checks.{self.name}")
        return module.run


AREAS: dict[str, Area] = {
    area.name: area
    for area in (
        Area(
            "config",
            "Configuration preflight",
            "The deployment's env file: secrets strong, URLs safe, debug switches off.",
        ),
        Area(
            "headers",
            "Security headers",
            "HTTP response headers that make browsers enforce HTTPS, block framing and injected scripts.",
        ),
        Area(
            "tls",
            "TLS",
            "Protocols, cipher suites and certificates of every TLS endpoint: trusted, matching, not expiring.",
        ),
        Area(
            "surface",
            "Exposed surface",
            "Required routes, HTTPS redirect, development URLs leaking in assets, exposed files, health.",
        ),
        Area(
            "cors",
            "CORS and WebSockets",
            "Which other web sites may read the API, and whether WebSocket handshakes check their Origin.",
        ),
        Area(
            "ratelimit",
            "Rate limits",
            "Login, password reset and API limits really bite (bounded, opt-in bursts).",
        ),
        Area(
            "secrets",
            "Secrets hygiene",
            "No secret in git or container files, a different secret per environment, each one strong.",
        ),
        Area(
            "datastores",
            "Datastores",
            "Redis and PostgreSQL: authentication required, TLS, least-privilege roles, memory and persistence.",
        ),
        Area(
            "containers",
            "Containers",
            "Compose services and Dockerfiles: non-root, limits, healthchecks, log rotation, no privileged mode.",
        ),
        Area(
            "dependencies",
            "Dependency vulnerabilities",
            "Known vulnerabilities from npm audit, pip-audit, osv-scanner and Trivy, deduplicated and gated.",
        ),
        Area(
            "commands",
            "Verification commands",
            "The team's smoke and verification commands: exit code, duration and redacted output.",
        ),
        Area(
            "operations",
            "Operational controls",
            "Backups, runbooks, on-call, monitoring, key rotation: attested by a named owner, and fresh.",
        ),
    )
}


def area_names() -> list[str]:
    return list(AREAS)
