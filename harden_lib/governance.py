"""What no scanner can see: attestations, sign-offs and waivers, carried honestly.

* An **attestation** is a named person saying a manual control was done (a restore tested,
  a runbook reviewed) on a date, with evidence. It counts only within its maximum age, and
  stops counting as soon as an automated check of the same item fails.
* A **sign-off** is a named person approving the go-live for a role (engineering, ops).
  A missing or stale sign-off keeps the gate closed even when every check passes.
* A **waiver** turns one ``fail`` into ``waived`` until it expires: the failure stays visible
  with its justification, approver and expiry, and no longer closes the gate. An expired
  waiver does not apply and says so; a waiver that matches no check id is a warning, because
  a typo would otherwise hide a problem forever.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from harden_lib.catalog import catalog
from harden_lib.catalog import finding as build_finding
from harden_lib.findings import Finding, Severity, Status

if TYPE_CHECKING:
    import pandas as pd

    from harden_lib.environment import Environment

GOVERNANCE_AREA = "governance"
#: The area whose findings are the attestations (``operations.<id>``): voided by other areas' failures.
ATTESTATION_AREA = "operations"
_RELATIVE = re.compile(r"^today(?:([+-])(\d{1,4})d)?$")


def _in_catalog(pattern: str) -> bool:
    from harden_lib.catalog import resolves

    return resolves(pattern)


def _relative_date(value: Any) -> Any:
    """``today``, ``today-30d``, ``today+60d``: for demos and tests whose dates must not age."""
    if isinstance(value, str):
        match = _RELATIVE.match(value.strip())
        if match:
            days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
            return date.today() + dt.timedelta(days=days)
    return value


#: A calendar date (YYYY-MM-DD), or relative to the run: ``today-30d``.
Day = Annotated[dt.date, BeforeValidator(_relative_date)]
_ID = r"^[a-z0-9_][a-z0-9_.*\-]*$"


class Waiver(BaseModel):
    """``waivers:`` entry. ``check_id`` and ``target`` may be shell-style patterns (``headers.csp.*``)."""

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(pattern=_ID)
    target: str | None = Field(None, description="pattern of the finding's target; omitted = every target")
    reason: str = Field(min_length=10, description="why the risk is accepted for now")
    approved_by: str = Field(min_length=2)
    expires: Day

    def label(self) -> str:
        return self.check_id + (f" [{self.target}]" if self.target else "")

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.check_id, self.check_id):
            return False
        return self.target is None or fnmatch.fnmatchcase(finding.target, self.target)

    def in_force(self, today: date) -> bool:
        return today <= self.expires


class Attestation(BaseModel):
    """``attestations:`` entry: a manual control, who owns it, when it was last done and the proof."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_][a-z0-9_.\-]*$", description="stable id, e.g. backups.restore_tested")
    title: str
    owner: str = Field(min_length=2)
    date: Day | None = Field(None, description="when it was last done; omitted = never attested")
    evidence: str | None = Field(None, description="link or file that proves it")
    max_age_days: int = Field(ge=1, le=3660)
    severity: Severity = Severity.HIGH
    covers: list[str] = Field(default_factory=list, description="automated check ids that void it when failing")
    references: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _not_a_builtin_check(cls, value: str) -> str:
        """``operations.<id>`` must be a member of the attestation family, not one of harden's own checks."""
        spec = catalog().get(f"operations.{value}")
        if spec is not None and not spec.family:
            raise ValueError(f"'operations.{value}' is one of harden's own checks ({spec.title}); choose another id")
        return value

    @model_validator(mode="after")
    def _dated_needs_evidence(self) -> Attestation:
        if self.date is not None and not (self.evidence and self.evidence.strip()):
            raise ValueError("an attestation with a date needs its evidence (a link or a file)")
        if self.date is not None and self.date > dt.date.today():
            raise ValueError("date is in the future")
        return self


class SignOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=2)
    name: str = Field(min_length=2)
    date: Day
    note: str = ""


class SignOffs(BaseModel):
    """``signoffs:``: the roles whose approval the go-live needs, and the approvals given."""

    model_config = ConfigDict(extra="forbid")

    required: list[str] = Field(default_factory=list, description="roles, e.g. [engineering, ops]")
    given: list[SignOff] = Field(default_factory=list)
    max_age_days: int = Field(30, ge=1, le=365, description="a sign-off older than this no longer counts")


# --------------------------------------------------------------------------- attestations


def attestation_finding(att: Attestation, today: date) -> Finding:
    """``pass`` within its maximum age, ``warn`` when due within ~10% of it (at most 14 days),
    ``fail`` when stale (by how much), ``manual`` if never done."""

    def make(status: Status, observed: str, remediation: str | None = None) -> Finding:
        return build_finding(
            f"operations.{att.id}",
            status,
            att.id,
            observed,
            expected=f"done and attested at most {att.max_age_days} days ago, with evidence",
            severity=att.severity,
            severity_reason="set by the attestation in params (attestations[].severity)",
            title=att.title,
            remediation=remediation,
            references=att.references,
        )

    if att.date is None:
        return make(
            Status.MANUAL,
            f"never attested (owner: {att.owner})",
            f"{att.owner}: do it, then record the date and the evidence under attestations "
            f"(id {att.id}) in the params.",
        )
    age = (today - att.date).days
    evidence = f"; evidence: {att.evidence}"
    due_soon = max(1, min(14, att.max_age_days // 10))
    if age > att.max_age_days:
        return make(
            Status.FAIL,
            f"last attested {att.date.isoformat()} by {att.owner}: {age} days ago, "
            f"{age - att.max_age_days} days over the limit of {att.max_age_days}{evidence}",
            f"{att.owner}: repeat the control now and update its date and evidence.",
        )
    if att.max_age_days - age < due_soon:
        return make(
            Status.WARN,
            f"attested {att.date.isoformat()} by {att.owner}: {age} days ago, due again in "
            f"{att.max_age_days - age} days (limit {att.max_age_days}){evidence}",
            f"{att.owner}: schedule the control now; it goes stale in {att.max_age_days - age} days.",
        )
    return make(
        Status.PASS,
        f"attested {att.date.isoformat()} by {att.owner}: {age} days ago (limit {att.max_age_days}){evidence}",
    )


def attestation_findings(env: Environment, today: date | None = None) -> list[Finding]:
    today = today or date.today()
    return [attestation_finding(att, today) for att in env.attestations]


def _fails(finding: Finding) -> bool:
    """The check itself failed (a waived fail too); an attestation voided by governance does not count,
    so applying governance twice (in the area notebook, then in the summary) gives the same result."""
    return finding.raw_status is Status.FAIL or (finding.raw_status is None and finding.status is Status.FAIL)


def contradict_attestations(
    per_area: dict[str, list[Finding]],
    attestations: Iterable[Attestation],
    others: Iterable[Finding] = (),
) -> dict[str, list[Finding]]:
    """An attestation stops counting as soon as an automated check it covers fails.

    ``others``: findings of areas not in ``per_area`` that may fail a covered check (an area
    notebook governing only its own findings passes the rest of the run here).
    """
    failing = {f.check_id: f for f in [*others, *(f for fs in per_area.values() for f in fs)] if _fails(f)}
    covered = {f"operations.{a.id}": a.covers for a in attestations if a.covers}
    if not covered:
        return per_area
    out: dict[str, list[Finding]] = {}
    for area, findings in per_area.items():
        updated = []
        for finding in findings:
            patterns = covered.get(finding.check_id)
            hits = [cid for cid in failing for p in (patterns or []) if fnmatch.fnmatchcase(cid, p)]
            if finding.status in (Status.PASS, Status.WARN) and hits:
                finding = finding.model_copy(
                    update={
                        "status": Status.FAIL,
                        "raw_status": finding.status,
                        "observed": f"{finding.observed} — but the automated check {hits[0]} fails, "
                        "so the attestation does not count",
                        "remediation": f"Fix {hits[0]} first, then repeat and re-attest the control.",
                    }
                )
            updated.append(finding)
        out[area] = updated
    return out


def _governed_status(att: Attestation, today: date, findings: Iterable[Finding] | None) -> Status:
    """The attestation's status as the run reports it: from the governed ``findings`` when given
    (an attestation voided by a failing check is ``fail`` there), else judged on its own."""
    for finding in findings or ():
        if finding.check_id == f"operations.{att.id}":
            return finding.status
    return attestation_finding(att, today).status


def plot_attestation_age(env: Environment, today: date | None = None, findings: Iterable[Finding] | None = None):
    """Each control's age against its limit: the picture of what is overdue (coloured by the governed
    status when ``findings`` are given, so a voided attestation is red here too)."""
    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    today = today or date.today()
    items = list(env.attestations)
    if not items:
        return empty_chart("no attestations configured")
    fig = figure(7.5, 1.2 + 0.42 * len(items))
    ax = fig.subplots()
    labels = [a.id for a in items][::-1]
    ordered = items[::-1]
    ages = [(today - a.date).days if a.date else 0 for a in ordered]
    findings = list(findings or ())
    colours = [STATUS_COLOURS[_governed_status(a, today, findings)] for a in ordered]
    ax.barh(labels, ages, color=colours)
    ax.scatter([a.max_age_days for a in ordered], labels, marker="|", s=400, color="#222", label="maximum age")
    for y, (a, age) in enumerate(zip(ordered, ages, strict=True)):
        ax.text(age, y, " never attested" if a.date is None else f" {age} d", va="center", fontsize="small")
    ax.set_xlabel("days since last attested")
    ax.set_title("Manual controls: age against limit")
    ax.legend(loc="lower right", fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def attestation_table(
    env: Environment, today: date | None = None, findings: Iterable[Finding] | None = None
) -> pd.DataFrame:
    """One row per attestation. With the area's governed ``findings``, ``status`` is the one the run
    reports (an attestation voided by a failing check shows ``fail``, as in the findings table)."""
    import pandas as pd

    from harden_lib.findings import ordered_categories

    today = today or date.today()
    findings = list(findings or ())
    rows = []
    for att in env.attestations:
        status = _governed_status(att, today, findings)
        rows.append(
            {
                "control": att.title,
                "id": att.id,
                "owner": att.owner,
                "last done": att.date.isoformat() if att.date else "never",
                "age (days)": (today - att.date).days if att.date else None,
                "max age (days)": att.max_age_days,
                "status": status.value,
                "evidence": att.evidence or "",
            }
        )
    frame = pd.DataFrame(
        rows, columns=["control", "id", "owner", "last done", "age (days)", "max age (days)", "status", "evidence"]
    )
    frame["age (days)"] = frame["age (days)"].astype("Int64")  # whole days; missing = never attested
    return ordered_categories(frame)


# --------------------------------------------------------------------------- sign-offs


def signoff_findings(signoffs: SignOffs, today: date | None = None) -> list[Finding]:
    """One finding per required role: ``fail`` (critical) when missing or stale."""
    today = today or date.today()
    latest: dict[str, SignOff] = {}
    for given in signoffs.given:
        if given.role not in latest or given.date > latest[given.role].date:
            latest[given.role] = given
    out = []
    for role in signoffs.required:
        expected = f"a sign-off by {role} at most {signoffs.max_age_days} days old"
        title = f"Go-live signed off by {role}"
        given = latest.get(role)
        if given is None:
            status, observed = Status.FAIL, "no sign-off recorded"
            remediation = (
                f"The {role} owner reviews this report and records a sign-off (role, name, date) under signoffs.given."
            )
        else:
            age = (today - given.date).days
            if age > signoffs.max_age_days or age < 0:
                status = Status.FAIL
                limit = signoffs.max_age_days
                observed = f"signed by {given.name} on {given.date.isoformat()}: {age} days ago (limit {limit})"
                remediation = f"The {role} owner reviews the current report and signs off again."
            else:
                status, remediation = Status.PASS, ""
                observed = f"signed by {given.name} on {given.date.isoformat()}" + (
                    f" ({given.note})" if given.note else ""
                )
        out.append(
            build_finding(
                "governance.signoff",
                status,
                role,
                observed,
                expected=expected,
                title=title,
                remediation=remediation or None,
            )
        )
    return out


def signoff_table(signoffs: SignOffs, today: date | None = None) -> pd.DataFrame:
    import pandas as pd

    today = today or date.today()
    from harden_lib.findings import ordered_categories

    rows = [
        {"role": f.target, "status": f.status.value, "who and when": f.observed}
        for f in signoff_findings(signoffs, today)
    ]
    return ordered_categories(pd.DataFrame(rows, columns=["role", "status", "who and when"]))


# --------------------------------------------------------------------------- waivers

_NOT_WAIVABLE = ("governance.",)


def apply_waivers(findings: Iterable[Finding], waivers: Iterable[Waiver], today: date) -> list[Finding]:
    """Each ``fail`` matched by a waiver in force becomes ``waived``; the raw status is kept."""
    active = [w for w in waivers if w.in_force(today)]
    out = []
    for finding in findings:
        if finding.status is Status.FAIL and not finding.check_id.startswith(_NOT_WAIVABLE):
            waiver = _first_waiver(finding, active)
            if waiver is not None:
                finding = finding.model_copy(
                    update={
                        "status": Status.WAIVED,
                        "raw_status": Status.FAIL,
                        "waiver": f"{waiver.reason} — approved by {waiver.approved_by}, "
                        f"expires {waiver.expires.isoformat()}",
                    }
                )
        out.append(finding)
    return out


def _first_waiver(finding: Finding, active: list[Waiver]) -> Waiver | None:
    """The waiver that applies: the first in force that matches (params order)."""
    return next((w for w in active if w.matches(finding)), None)


def waiver_findings(
    waivers: Iterable[Waiver], check_ids: set[str], today: date, findings: Iterable[Finding] | None = None
) -> list[Finding]:
    """Expired waivers and waivers that match no check at all are findings of their own.

    With ``findings``, a waiver whose check id exists but whose ``target`` pattern matches none
    of that check's targets is reported too (a typo in the target hides nothing either).
    """
    seen = list(findings or [])
    out = []
    for waiver in waivers:
        id_matches = any(fnmatch.fnmatchcase(cid, waiver.check_id) for cid in check_ids)
        if id_matches and waiver.target is not None and seen and not any(waiver.matches(f) for f in seen):
            out.append(
                build_finding(
                    "governance.waiver.unmatched",
                    Status.WARN,
                    waiver.label(),
                    f"'{waiver.check_id}' exists, but none of its targets matches '{waiver.target}'",
                    expected="every waiver's target pattern matches a target of its check",
                    remediation="Fix the target pattern, or remove the waiver.",
                )
            )
        if not id_matches:
            out.append(
                build_finding(
                    "governance.waiver.unmatched",
                    Status.WARN,
                    waiver.label(),
                    f"no check id matches '{waiver.check_id}' in this run"
                    + ("" if _in_catalog(waiver.check_id) else " (and the check catalog has no such id: a typo?)"),
                    expected="every waiver names an existing check id",
                    remediation="Fix the check id (a typo hides nothing but looks like it does), "
                    "or remove the waiver if the check no longer exists.",
                )
            )
        if not waiver.in_force(today):
            out.append(
                build_finding(
                    "governance.waiver.expired",
                    Status.WARN,
                    waiver.label(),
                    f"expired {waiver.expires.isoformat()} (approved by {waiver.approved_by}); "
                    "the checks it covered count normally again",
                )
            )
    return out


def waiver_table(env: Environment, per_area: dict[str, list[Finding]], today: date | None = None) -> pd.DataFrame:
    """Every waiver with its state and how many findings it waives in this run."""
    import pandas as pd

    today = today or date.today()
    findings = [f for fs in per_area.values() for f in fs if f.status is Status.WAIVED]
    active = [w for w in env.waivers if w.in_force(today)]
    rows = []
    for waiver in env.waivers:
        rows.append(
            {
                "check": waiver.label(),
                "state": "in force" if waiver.in_force(today) else "EXPIRED",
                "expires": waiver.expires.isoformat(),
                "approved by": waiver.approved_by,
                "reason": waiver.reason,
                "waived findings": sum(1 for f in findings if _first_waiver(f, active) is waiver),
            }
        )
    return pd.DataFrame(rows, columns=["check", "state", "expires", "approved by", "reason", "waived findings"])


# --------------------------------------------------------------------------- all together


_RUN_ID = re.compile(r"^(\d{8}T\d{6}Z)(?:-|$)")


def run_day(run_dir: str | os.PathLike[str] | None) -> date:
    """The day governance is judged on for a run: the (local) day the run started, read from its
    run id (``20261130T210501Z-3fa2``), so the area notebooks, the summary and the exports judge a
    waiver on the same day even when the run crosses midnight. Without a run folder: today."""
    if run_dir:
        match = _RUN_ID.match(Path(run_dir).name)
        if match:
            started = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            return started.astimezone().date()
    return date.today()


def depends_on_other_areas(env: Environment) -> bool:
    """Whether an area's governed statuses need the other areas' results (an attestation that
    ``covers`` automated checks is voided when one of them fails): the runner then runs the
    attestations' area after the others, so its page shows what the summary shows."""
    return any(a.covers for a in env.attestations)


def apply_area(
    env: Environment,
    findings: Iterable[Finding],
    others: Iterable[Finding] = (),
    today: date | None = None,
) -> list[Finding]:
    """Governance of one area's findings: waivers in force, then attestations voided by failing checks
    (of this area or of ``others``, the rest of the run). The same rule as ``apply``, so an area page,
    the summary, the index and every export show the same status for the same finding."""
    today = today or date.today()
    waived = apply_waivers(findings, env.waivers, today)
    return contradict_attestations({"_": waived}, env.attestations, others)["_"]


def apply(env: Environment, per_area: dict[str, list[Finding]], today: date | None = None) -> dict[str, list[Finding]]:
    """Waivers, attestation contradictions, and the governance findings, applied to a run's findings."""
    today = today or date.today()
    check_ids = {f.check_id for findings in per_area.values() for f in findings}
    out = {area: apply_waivers(findings, env.waivers, today) for area, findings in per_area.items()}
    out = contradict_attestations(out, env.attestations)
    every = [f for findings in per_area.values() for f in findings]
    governance = waiver_findings(env.waivers, check_ids, today, every) + signoff_findings(env.signoffs, today)
    if getattr(env, "profile", None) is not None:  # checklist rows no check decided (gate.checklist_not_run)
        from harden_lib.checklist import gate_findings

        governed = [f for findings in out.values() for f in findings]
        governance += gate_findings(env.profile, governed, env.gate.checklist_not_run)
    if governance:
        out[GOVERNANCE_AREA] = governance
    return out
