"""Strict-Transport-Security: present and valid, remembered long enough, subdomains, preloading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harden_lib.catalog import finding
from harden_lib.checks.headers.rules.common import shown
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import safe_text

if TYPE_CHECKING:
    import httpx

    from harden_lib.checks.headers.params import HeadersParams

#: The smallest max-age hstspreload.org accepts (one year).
PRELOAD_MIN_AGE = 31_536_000


@dataclass(frozen=True)
class Hsts:
    max_age: int | None
    include_subdomains: bool
    preload: bool
    error: str | None = None


def parse_hsts(value: str) -> Hsts:
    """RFC 6797 §6.1: ``;``-separated directives, each at most once, max-age required."""
    seen: set[str] = set()
    max_age: int | None = None
    include = preload = False
    for part in value[:1024].split(";"):
        part = part.strip()
        if not part:
            continue
        name, has_value, raw = part.partition("=")
        name = name.strip().lower()
        if name in seen:
            return Hsts(None, False, False, f"directive '{safe_text(name, 40)}' appears twice")
        seen.add(name)
        if name == "max-age":
            digits = raw.strip().strip('"')
            if not has_value or not digits.isdigit() or not digits.isascii():
                return Hsts(None, False, False, "max-age is not a number")
            max_age = int(digits[:12])
        elif name == "includesubdomains":
            include = True
        elif name == "preload":
            preload = True
    if max_age is None:
        return Hsts(None, include, preload, "max-age is missing")
    return Hsts(max_age, include, preload)


def _duration(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds} s ≈ {seconds / 86400:.0f} days"
    return f"{seconds} s"


_DETAIL_IDS = ("headers.hsts.max_age", "headers.hsts.include_subdomains", "headers.hsts.preload")


def hsts_findings(target: str, headers: httpx.Headers, https: bool, params: HeadersParams) -> list[Finding]:
    """``headers.hsts.*`` of one response; the details are skipped when there is no valid policy."""
    values = headers.get_list("strict-transport-security")
    if not https:
        return [
            finding(
                "headers.hsts.present",
                Status.FAIL,
                target,
                "The page is served over plain HTTP; browsers ignore HSTS there and nothing forces HTTPS.",
                remediation="Serve the page over HTTPS, redirect HTTP to it, then add Strict-Transport-Security.",
            ),
            *(
                finding(i, Status.SKIP, target, "Not applicable: the page is not served over HTTPS.")
                for i in _DETAIL_IDS
            ),
        ]
    if not values:
        return [
            finding("headers.hsts.present", Status.FAIL, target, "No Strict-Transport-Security header."),
            *(finding(i, Status.SKIP, target, "No HSTS header (see headers.hsts.present).") for i in _DETAIL_IDS),
        ]
    value = shown(values[0])
    extra = f" ({len(values)} headers sent; browsers use only the first)" if len(values) > 1 else ""
    policy = parse_hsts(values[0])
    if policy.error:
        return [
            finding(
                "headers.hsts.present",
                Status.FAIL,
                target,
                f"Strict-Transport-Security: {value}{extra} — invalid ({policy.error}); browsers ignore it.",
            ),
            *(
                finding(i, Status.SKIP, target, "The HSTS header is invalid (see headers.hsts.present).")
                for i in _DETAIL_IDS
            ),
        ]
    assert policy.max_age is not None
    out: list[Finding] = []
    if policy.max_age == 0:
        observed = f"Strict-Transport-Security: {value}{extra} — max-age=0 tells browsers to forget HSTS."
        out.append(finding("headers.hsts.present", Status.FAIL, target, observed))
    else:
        out.append(finding("headers.hsts.present", Status.PASS, target, f"Strict-Transport-Security: {value}{extra}"))
    minimum = params.hsts_min_age
    out.append(
        finding(
            "headers.hsts.max_age",
            Status.PASS if policy.max_age >= minimum else Status.FAIL,
            target,
            f"max-age={_duration(policy.max_age)}",
            expected=f"max-age of at least {_duration(minimum)}",
        )
    )
    if policy.include_subdomains:
        out.append(finding("headers.hsts.include_subdomains", Status.PASS, target, "includeSubDomains is set."))
    elif params.require_include_subdomains:
        out.append(
            finding(
                "headers.hsts.include_subdomains",
                Status.FAIL,
                target,
                "includeSubDomains is missing: subdomains (and cookies scoped to them) can still be reached over HTTP.",
                severity=Severity.MEDIUM,
                severity_reason="params require includeSubDomains (headers.require_include_subdomains)",
            )
        )
    else:
        out.append(
            finding(
                "headers.hsts.include_subdomains",
                Status.WARN,
                target,
                "includeSubDomains is missing: subdomains (and cookies scoped to them) can still be reached over HTTP.",
            )
        )
    eligible = policy.include_subdomains and policy.max_age >= PRELOAD_MIN_AGE
    if policy.preload and eligible:
        observed = "preload with includeSubDomains and max-age ≥ 1 year."
        out.append(finding("headers.hsts.preload", Status.PASS, target, observed))
    elif policy.preload:
        out.append(
            finding(
                "headers.hsts.preload",
                Status.FAIL if params.require_preload else Status.WARN,
                target,
                "preload is set, but hstspreload.org also needs includeSubDomains and max-age ≥ 31536000.",
            )
        )
    elif params.require_preload:
        out.append(
            finding(
                "headers.hsts.preload",
                Status.FAIL,
                target,
                "preload is missing and params require preloading.",
                severity=Severity.MEDIUM,
                severity_reason="params require preloading (headers.require_preload)",
            )
        )
    else:
        out.append(
            finding(
                "headers.hsts.preload",
                Status.SKIP,
                target,
                "preload not set; not required (set headers.require_preload to require it).",
            )
        )
    return out
