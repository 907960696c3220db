"""Operational controls no scanner can see, carried as attestations (see ``governance``).

Each control is ``pass`` while its attestation is younger than its maximum age, ``fail`` when
stale (by how many days), ``manual`` when never attested; never silently green.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from harden_lib.findings import Finding, Severity, Status
from harden_lib.governance import attestation_findings, attestation_table, plot_attestation_age

if TYPE_CHECKING:
    from harden_lib.params import Environment

__all__ = ["attestation_table", "plot_attestation_age", "run"]


def run(env: Environment, today: date | None = None) -> list[Finding]:
    findings = attestation_findings(env, today)
    if not findings:
        findings.append(
            Finding(
                area="operations",
                check_id="operations.attestations",
                title="Manual controls are attested",
                status=Status.SKIP,
                severity=Severity.INFO,
                observed="no attestations configured",
                expected="the checklist's manual controls listed under attestations",
                remediation="List backups, runbooks, on-call, monitoring and key rotation under attestations.",
            )
        )
    return findings
