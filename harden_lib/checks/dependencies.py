"""Dependency vulnerabilities from the audit JSON teams already produce in CI.

Reads ``npm audit --json`` (npm 7+, ``auditReportVersion: 2``), ``pip-audit -f json``,
``osv-scanner --format json`` and Trivy ``--format json``; the format is recognised from the
document itself. Each vulnerability becomes one finding; the same advisory reported by two
tools (matched on its id and aliases: CVE, GHSA, PYSEC, …) is one finding naming both tools.
A vulnerability at or above ``fail_on`` fails; below it warns, so nothing known is silent.
A file that is missing, not JSON or of an unknown format is an ``error`` naming the file.

Which tool wrote each report is recognised from its shape (a Trivy report also says whether it
scanned a container image, a filesystem or a repository), so a checklist that asks for an image
scan is not satisfied by an npm audit: ``required_tools`` (``npm audit``, ``pip-audit``,
``osv-scanner``, ``trivy``, ``trivy image``) fails for each tool without a readable report
(``dependencies.required_tool``). A report older than ``max_age_days`` (default 7) says nothing
about advisories published since: ``dependencies.report_age`` judges its age from the report's
own timestamp when it has one (Trivy ``CreatedAt``) and from the file's modification time
otherwise, and says which it used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.findings import SEVERITY_ORDER, Finding, Severity, Status

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

_ID_IN_TEXT = re.compile(r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+)\b", re.I)

#: Severity colours of the charts (by severity, not by status).
SEVERITY_COLOURS = {
    Severity.CRITICAL: "#7f0000",
    Severity.HIGH: "#c62828",
    Severity.MEDIUM: "#ef8f00",
    Severity.LOW: "#fbc02d",
    Severity.INFO: "#9e9e9e",
}


RequiredTool = Literal["npm audit", "pip-audit", "osv-scanner", "trivy", "trivy image"]
_TOOL_ALIASES = {
    "npm": "npm audit",
    "npm-audit": "npm audit",
    "npm audit": "npm audit",
    "pip-audit": "pip-audit",
    "pip_audit": "pip-audit",
    "osv": "osv-scanner",
    "osv-scanner": "osv-scanner",
    "trivy": "trivy",
    "trivy image": "trivy image",
    "trivy-image": "trivy image",
    "trivy_image": "trivy image",
}


class DependenciesParams(BaseModel):
    """The ``dependencies:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    reports: list[Path] = Field(
        default_factory=list,
        description="JSON outputs of npm audit --json, pip-audit -f json, osv-scanner --format json, trivy -f json",
    )
    fail_on: Severity = Field(Severity.HIGH, description="a vulnerability at or above this severity fails; below warns")
    unknown_severity: Severity = Field(
        Severity.HIGH,
        description="severity assumed when no tool reports one (pip-audit never does): unknown is not harmless",
    )
    required_tools: list[RequiredTool] = Field(
        default_factory=list,
        description="tools that must have produced a report: npm audit, pip-audit, osv-scanner, trivy, trivy image",
    )
    max_age_days: float = Field(7, gt=0, le=3650, description="a report older than this is stale")

    @field_validator("required_tools", mode="before")
    @classmethod
    def _tool_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_TOOL_ALIASES.get(str(v).strip().lower(), v) for v in value]
        return value


@dataclass
class Vulnerability:
    """One advisory affecting one package, as reported by one or more tools."""

    package: str
    version: str
    ids: list[str]  # primary first, then aliases
    severity: Severity | None
    fixed: str = ""
    title: str = ""
    tools: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def advisory(self) -> str:
        """The id shown: a CVE when there is one (every tool knows it), else the first id."""
        cves = [i for i in self.ids if i.upper().startswith("CVE-")]
        return cves[0] if cves else self.ids[0]

    @property
    def aliases(self) -> list[str]:
        return [i for i in self.ids if i != self.advisory]


class ReportError(Exception):
    """A report file that cannot be used; the message names the file and the problem."""


# --------------------------------------------------------------------------- severity helpers

_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.INFO,
    "info": Severity.INFO,
}


def severity_from(value: Any) -> Severity | None:
    """A tool's severity word or CVSS base score as a severity; None when unknown."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _WORDS:
        return _WORDS[text]
    try:
        score = float(text)
    except ValueError:
        return None
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else Severity.INFO


def _ids_in(*texts: Any) -> list[str]:
    out: list[str] = []
    for text in texts:
        for match in _ID_IN_TEXT.findall(str(text or "")):
            normal = match.upper() if match.upper().startswith(("CVE", "PYSEC")) else "GHSA" + match[4:].lower()
            if normal not in out:
                out.append(normal)
    return out


def _unique(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


# --------------------------------------------------------------------------- parsers


def _npm(doc: dict[str, Any], name: str) -> list[Vulnerability]:
    """npm 7+: ``vulnerabilities`` keyed by package; advisories are the ``via`` objects.

    A ``via`` that is a string only says "vulnerable through that other package", whose own
    entry carries the advisory, so it is not a vulnerability of its own. npm does not report
    installed versions; the vulnerable range is shown instead.
    """
    out = []
    for package, entry in (doc.get("vulnerabilities") or {}).items():
        fix = entry.get("fixAvailable")
        for via in entry.get("via") or []:
            if not isinstance(via, dict):
                continue
            ids = _ids_in(via.get("url")) or [f"npm-{via.get('source')}"]
            fixed = _fixed_from_range(str(via.get("range", "")))
            if isinstance(fix, dict):
                fixed = fixed or f"via {fix.get('name')}@{fix.get('version')}"
            elif fix is False:
                fixed = ""
            out.append(
                Vulnerability(
                    package=str(via.get("name") or package),
                    version=f"range {via.get('range') or entry.get('range', '?')}",
                    ids=ids,
                    severity=severity_from(via.get("severity")),
                    fixed=fixed,
                    title=str(via.get("title", "")),
                    tools=["npm audit"],
                    files=[name],
                )
            )
    return out


def _fixed_from_range(vulnerable: str) -> str:
    """``<1.2.6`` or ``>=1.0.0 <1.2.6`` → ``1.2.6`` (the first version outside the range)."""
    match = re.search(r"<\s*([0-9][\w.\-+]*)\s*$", vulnerable)
    return match.group(1) if match and "<=" not in vulnerable[match.start() :] else ""


def _pip_audit(doc: Any, name: str) -> list[Vulnerability]:
    deps = doc.get("dependencies") if isinstance(doc, dict) else doc
    out = []
    for dep in deps or []:
        for vuln in dep.get("vulns") or []:
            out.append(
                Vulnerability(
                    package=str(dep.get("name")),
                    version=str(dep.get("version", "")),
                    ids=_unique([str(vuln.get("id")), *[str(a) for a in vuln.get("aliases") or []]]),
                    severity=None,  # pip-audit does not report severity
                    fixed=", ".join(str(v) for v in vuln.get("fix_versions") or []),
                    title=str(vuln.get("description", "")).split("\n")[0][:160],
                    tools=["pip-audit"],
                    files=[name],
                )
            )
    return out


def _osv(doc: dict[str, Any], name: str) -> list[Vulnerability]:
    out = []
    for result in doc.get("results") or []:
        for pkg in result.get("packages") or []:
            info = pkg.get("package") or {}
            vulns = {str(v.get("id")): v for v in pkg.get("vulnerabilities") or []}
            groups = pkg.get("groups") or [{"ids": [i]} for i in vulns]
            for group in groups:
                members = [vulns[i] for i in group.get("ids") or [] if i in vulns]
                ids = _unique([*(group.get("ids") or []), *(a for v in members for a in v.get("aliases") or [])])
                severity = severity_from(group.get("max_severity")) if group.get("max_severity") else None
                for v in members:
                    severity = severity or severity_from((v.get("database_specific") or {}).get("severity"))
                out.append(
                    Vulnerability(
                        package=str(info.get("name")),
                        version=str(info.get("version", "")),
                        ids=[str(i) for i in ids],
                        severity=severity,
                        fixed=_osv_fixed(members, str(info.get("name"))),
                        title=str(members[0].get("summary", "")) if members else "",
                        tools=["osv-scanner"],
                        files=[name],
                    )
                )
    return out


def _osv_fixed(members: list[dict[str, Any]], package: str) -> str:
    fixed: list[str] = []
    for vuln in members:
        for affected in vuln.get("affected") or []:
            if (affected.get("package") or {}).get("name", package) != package:
                continue
            for rng in affected.get("ranges") or []:
                fixed += [str(e["fixed"]) for e in rng.get("events") or [] if "fixed" in e]
    return ", ".join(_unique(fixed))


def _trivy(doc: dict[str, Any], name: str) -> list[Vulnerability]:
    out = []
    for result in doc.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            linked = _ids_in(vuln.get("PrimaryURL"), *(vuln.get("References") or []))
            ids = _unique([str(vuln.get("VulnerabilityID")), *(str(v) for v in vuln.get("VendorIDs") or []), *linked])
            out.append(
                Vulnerability(
                    package=str(vuln.get("PkgName")),
                    version=str(vuln.get("InstalledVersion", "")),
                    ids=ids,
                    severity=severity_from(vuln.get("Severity")) if vuln.get("Severity") != "UNKNOWN" else None,
                    fixed=str(vuln.get("FixedVersion", "")),
                    title=str(vuln.get("Title", "")),
                    tools=["trivy"],
                    files=[name],
                )
            )
    return out


def detect_format(doc: Any) -> str | None:
    """``npm``, ``pip-audit``, ``osv-scanner``, ``trivy`` or None, from the document's shape."""
    if isinstance(doc, dict):
        if "auditReportVersion" in doc and isinstance(doc.get("vulnerabilities"), dict):
            return "npm" if int(doc["auditReportVersion"]) >= 2 else None
        if isinstance(doc.get("dependencies"), list) and all(
            isinstance(d, dict) and ("vulns" in d or "skip_reason" in d) for d in doc["dependencies"]
        ):
            return "pip-audit"
        if isinstance(doc.get("results"), list) and all(
            isinstance(r, dict) and "packages" in r for r in doc["results"]
        ):
            return "osv-scanner"
        if "SchemaVersion" in doc and ("Results" in doc or "ArtifactName" in doc):
            return "trivy"
    if isinstance(doc, list) and doc and all(isinstance(d, dict) and "vulns" in d for d in doc):
        return "pip-audit"  # pip-audit before 2.0 wrote a bare list
    return None


_PARSERS = {"npm": _npm, "pip-audit": _pip_audit, "osv-scanner": _osv, "trivy": _trivy}
_TOOL_NAMES = {"npm": "npm audit", "pip-audit": "pip-audit", "osv-scanner": "osv-scanner", "trivy": "trivy"}


@dataclass
class Report:
    """One report file: the tool that wrote it, what it scanned, when, and its vulnerabilities."""

    path: Path
    tool: str
    vulnerabilities: list[Vulnerability]
    #: the report's own timestamp (Trivy CreatedAt), None when it has none
    created: datetime | None = None
    #: what was scanned, when the report says (Trivy: ArtifactType and ArtifactName)
    artifact: str = ""

    @property
    def tools(self) -> set[str]:
        """The names a required tool may match (a Trivy image scan is both trivy and trivy image)."""
        if self.tool == "trivy" and self.artifact.startswith("container_image"):
            return {"trivy", "trivy image"}
        return {self.tool}


def parse_report(path: Path) -> tuple[str, list[Vulnerability]]:
    """(tool, vulnerabilities) of one file; ``ReportError`` naming the file otherwise."""
    report = read_report(path)
    return report.tool, report.vulnerabilities


def _created_at(doc: Any) -> datetime | None:
    value = doc.get("CreatedAt") if isinstance(doc, dict) else None
    if not isinstance(value, str):
        return None
    match = re.match(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?", value)
    if not match:
        return None
    try:
        parsed = datetime.fromisoformat(match.group(1) + (match.group(2) or "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def read_report(path: Path) -> Report:
    """One report file read and recognised; ``ReportError`` naming the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path.name}: file does not exist ({path})") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path.name}: cannot be read (not UTF-8 text)") from None
    except OSError as exc:
        raise ReportError(f"{path.name}: cannot be read ({exc.strerror or 'input/output error'})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise ReportError(f"{path.name}: JSON nested deeper than an audit report can be") from None
    if isinstance(doc, dict) and "advisories" in doc and "auditReportVersion" not in doc:
        raise ReportError(f"{path.name}: npm 6 audit format; run `npm audit --json` with npm 7 or later")
    kind = detect_format(doc)
    if kind is None:
        raise ReportError(f"{path.name}: unknown format (expected npm audit v7+, pip-audit, osv-scanner or Trivy JSON)")
    try:
        vulns = _PARSERS[kind](doc, path.name)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        what = "a field is missing" if isinstance(exc, KeyError) else "an entry has an unexpected shape or value"
        raise ReportError(f"{path.name}: looks like {_TOOL_NAMES[kind]} output but is malformed ({what})") from None
    artifact = ""
    if kind == "trivy":
        kind_of = doc.get("ArtifactType")
        metadata = doc.get("Metadata") if isinstance(doc.get("Metadata"), dict) else {}
        if not kind_of and (metadata.get("ImageID") or metadata.get("RepoDigests")):
            kind_of = "container_image"  # Trivy before ArtifactType: an image scan carries the image's ids
        artifact = " ".join(str(v)[:120] for v in (kind_of, doc.get("ArtifactName")) if v).strip()
    return Report(path, _TOOL_NAMES[kind], vulns, _created_at(doc), artifact)


# --------------------------------------------------------------------------- dedupe


def _norm_package(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dedupe(vulns: list[Vulnerability]) -> list[Vulnerability]:
    """Merge reports of the same advisory on the same package (any shared id or alias)."""
    merged: list[Vulnerability] = []
    for vuln in vulns:
        ids = {i.upper() for i in vuln.ids}
        match = next(
            (
                m
                for m in merged
                if _norm_package(m.package) == _norm_package(vuln.package) and ids & {i.upper() for i in m.ids}
            ),
            None,
        )
        if match is None:
            merged.append(
                Vulnerability(
                    vuln.package,
                    vuln.version,
                    list(vuln.ids),
                    vuln.severity,
                    vuln.fixed,
                    vuln.title,
                    list(vuln.tools),
                    list(vuln.files),
                )
            )
            continue
        match.ids = _unique(match.ids + vuln.ids)
        if vuln.severity and (match.severity is None or vuln.severity.rank > match.severity.rank):
            match.severity = vuln.severity
        if match.version.startswith("range ") and vuln.version and not vuln.version.startswith("range "):
            match.version = vuln.version  # a tool that knows the installed version wins over npm's range
        match.fixed = match.fixed or vuln.fixed
        match.title = match.title or vuln.title
        match.tools = _unique(match.tools + vuln.tools)
        match.files = _unique(match.files + vuln.files)
    return merged


# --------------------------------------------------------------------------- the audit


@dataclass
class DependenciesAudit:
    findings: list[Finding] = field(default_factory=list)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)  # file -> tool, or "error"
    unknown_severity: Severity = Severity.HIGH

    def severity_of(self, vuln: Vulnerability) -> Severity:
        return vuln.severity or self.unknown_severity

    def table(self) -> pd.DataFrame:
        """Every deduplicated vulnerability, worst first."""
        import pandas as pd

        rows = [
            {
                "severity": self.severity_of(v).value + ("" if v.severity else " (assumed)"),
                "package": v.package,
                "installed": v.version,
                "advisory": v.advisory,
                "aliases": ", ".join(v.aliases),
                "fixed in": v.fixed or "no fix yet",
                "reported by": ", ".join(v.tools),
                "title": v.title,
            }
            for v in sorted(self.vulnerabilities, key=lambda v: (-self.severity_of(v).rank, v.package))
        ]
        columns = ["severity", "package", "installed", "advisory", "aliases", "fixed in", "reported by", "title"]
        return pd.DataFrame(rows, columns=columns)


def audit(env: Environment, now: datetime | None = None) -> DependenciesAudit:
    params = env.dependencies
    now = now or datetime.now(UTC)
    report = DependenciesAudit(unknown_severity=params.unknown_severity)
    if not params.reports:
        report.findings.append(finding("dependencies.reports", Status.SKIP, "", "none configured"))
        return report
    collected: list[Vulnerability] = []
    read: list[Report] = []
    for path in params.reports:
        try:
            parsed = read_report(path)
        except ReportError as exc:
            report.reports[path.name] = "error"
            report.findings.append(finding("dependencies.report", Status.ERROR, path.name, str(exc)))
            continue
        tool, vulns = parsed.tool, parsed.vulnerabilities
        read.append(parsed)
        report.reports[path.name] = tool
        collected += vulns
        scanned = f" of {parsed.artifact}" if parsed.artifact else ""
        report.findings.append(
            finding(
                "dependencies.report",
                Status.PASS,
                path.name,
                f"{tool} output{scanned}, {len(vulns)} vulnerability record(s)",
            )
        )
        report.findings.append(_age_finding(parsed, params.max_age_days, now))
    for tool in params.required_tools:
        producing = [r.path.name for r in read if tool in r.tools]
        if producing:
            status, observed = Status.PASS, f"{tool} report: {', '.join(producing)}"
        else:
            seen = ", ".join(f"{r.path.name} ({r.tool}{' ' + r.artifact if r.artifact else ''})" for r in read)
            status, observed = Status.FAIL, f"no readable {tool} report among: {seen or 'none readable'}"
        report.findings.append(
            finding("dependencies.required_tool", status, tool, observed, expected=f"a readable {tool} report")
        )
    report.vulnerabilities = dedupe(collected)
    report.findings += [_vulnerability_finding(v, report, params.fail_on) for v in report.vulnerabilities]
    return report


def _age_finding(report: Report, max_age_days: float, now: datetime) -> Finding:
    """How old the report is, from its own timestamp or else the file's modification time (said which)."""
    if report.created is not None:
        when, source = report.created, "the report's CreatedAt"
    else:
        try:
            when = datetime.fromtimestamp(report.path.stat().st_mtime, UTC)
        except OSError:
            return finding("dependencies.report_age", Status.ERROR, report.path.name, "the file's date cannot be read")
        source = f"the file's modification time ({report.tool} writes no timestamp)"
    age = now - when
    expected = f"at most {max_age_days:g} days old"
    stamp = f"{when:%Y-%m-%d %H:%M} UTC"
    if age < -timedelta(minutes=5):
        return finding(
            "dependencies.report_age",
            Status.WARN,
            report.path.name,
            f"dated in the future ({stamp}, from {source}): a wrong clock; age unknown",
            expected=expected,
        )
    days = max(age.total_seconds(), 0) / 86400
    return finding(
        "dependencies.report_age",
        Status.PASS if age <= timedelta(days=max_age_days) else Status.FAIL,
        report.path.name,
        f"{days:.1f} days old ({stamp}, from {source})",
        expected=expected,
    )


def _vulnerability_finding(vuln: Vulnerability, report: DependenciesAudit, fail_on: Severity) -> Finding:
    severity = report.severity_of(vuln)
    status = Status.FAIL if severity.rank >= fail_on.rank else Status.WARN
    assumed = "" if vuln.severity else f" (no tool reported a severity; assumed {severity.value})"
    aliases = f" aka {', '.join(vuln.aliases)}" if vuln.aliases else ""
    observed = (
        f"{vuln.package} {vuln.version}: {vuln.advisory}{aliases}, severity {severity.value}{assumed}; "
        f"fixed in {vuln.fixed or 'no released fix'}; reported by {', '.join(vuln.tools)} "
        f"({', '.join(vuln.files)})"
    )
    if vuln.title:
        observed += f" — {vuln.title}"
    remediation = (
        f"Upgrade {vuln.package} to {vuln.fixed} or later and regenerate the lock file."
        if vuln.fixed
        else f"No fixed {vuln.package} release yet: remove or replace it, mitigate, or record a dated waiver."
    )
    return finding(
        "dependencies.vulnerability",
        status,
        f"{vuln.package} {vuln.advisory}"
        if vuln.version.startswith("range ")
        else f"{vuln.package}@{vuln.version} {vuln.advisory}",
        observed,
        severity=severity,
        severity_reason=_severity_reason(vuln),
        expected=f"no unpatched vulnerability at or above {fail_on.value}",
        remediation=remediation,
    )


def _severity_reason(vuln: Vulnerability) -> str:
    """Why a vulnerability's severity may differ from the catalog's default: it is the advisory's own.

    The builder keeps the reason only when the severity does differ.
    """
    if vuln.severity is None:
        return "assumed: no tool reported a severity (dependencies.unknown_severity)"
    return f"the advisory's own severity (the highest reported by {', '.join(vuln.tools)})"


def run(env: Environment) -> list[Finding]:
    return audit(env).findings


def plot_by_severity(report: DependenciesAudit) -> Figure:
    """Vulnerabilities per severity (after dedupe); bars at or above the threshold fail the gate."""
    from harden_lib.render import figure

    counts = {s: 0 for s in SEVERITY_ORDER}
    for vuln in report.vulnerabilities:
        counts[report.severity_of(vuln)] += 1
    fig = figure(6.5, 3.0)
    ax = fig.subplots()
    labels = [s.value for s in SEVERITY_ORDER][::-1]
    values = [counts[s] for s in SEVERITY_ORDER][::-1]
    bars = ax.barh(labels, values, color=[SEVERITY_COLOURS[s] for s in SEVERITY_ORDER][::-1])
    ax.bar_label(bars, padding=3)
    ax.set_title("Vulnerabilities by severity (deduplicated across tools)")
    ax.set_xlabel("vulnerabilities")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_by_package(report: DependenciesAudit, top: int = 15) -> Figure:
    """The packages with the most (and worst) vulnerabilities, split by severity."""
    from matplotlib.ticker import MaxNLocator

    from harden_lib.render import empty_chart, figure

    per: dict[str, dict[Severity, int]] = {}
    for vuln in report.vulnerabilities:
        bucket = per.setdefault(vuln.package, {})
        bucket[report.severity_of(vuln)] = bucket.get(report.severity_of(vuln), 0) + 1
    ranked = sorted(per, key=lambda p: (-max(s.rank for s in per[p]), -sum(per[p].values()), p))[:top]
    if not ranked:
        return empty_chart("no known vulnerability")
    fig = figure(7.5, 1.3 + 0.42 * len(ranked))
    ax = fig.subplots()
    labels = ranked[::-1]
    left = [0] * len(labels)
    for severity in SEVERITY_ORDER:
        widths = [per[p].get(severity, 0) for p in labels]
        if any(widths):
            ax.barh(labels, widths, left=left, color=SEVERITY_COLOURS[severity], label=severity.value)
            left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_title("Vulnerabilities by package")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(loc="outside lower center", ncols=len(ax.containers), fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


AREA = AreaSpec(
    name="dependencies",
    title="Dependency vulnerabilities",
    purpose="Known vulnerabilities from npm audit, pip-audit, osv-scanner and Trivy, deduplicated and gated.",
    params=DependenciesParams,
    order=100,
)
