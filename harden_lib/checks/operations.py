"""Operational controls no scanner can see, carried as attestations (see ``governance``).

Each control is ``pass`` while its attestation is younger than its maximum age, ``fail`` when
stale (by how many days), ``manual`` when never attested; never silently green.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.findings import Finding, Status
from harden_lib.governance import attestation_findings, attestation_table, plot_attestation_age

if TYPE_CHECKING:
    from harden_lib.environment import Environment

__all__ = ["AREA", "attestation_table", "plot_attestation_age", "run"]


def run(env: Environment, today: date | None = None) -> list[Finding]:
    findings = attestation_findings(env, today)
    if not findings:
        findings.append(finding("operations.attestations", Status.SKIP, "", "no attestations configured"))
    return findings


AREA = AreaSpec(
    name="operations",
    title="Operational controls",
    purpose="Backups, runbooks, on-call, monitoring, key rotation: attested by a named owner, and fresh.",
    params=None,  # attestations are a top-level section shared with governance (waivers, sign-offs)
    order=120,
)
