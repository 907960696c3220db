"""The other response headers: MIME sniffing, referrer, permissions, cross-origin isolation, banners."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from harden_lib.catalog import finding
from harden_lib.checks.headers.rules.common import shown, tokens
from harden_lib.findings import Finding, Severity, Status

if TYPE_CHECKING:
    import httpx

    from harden_lib.checks.headers.observatory import PageScan


def xcto_finding(target: str, headers: httpx.Headers) -> Finding:
    """``headers.x_content_type_options``: browsers read only the first token, which must be nosniff."""
    values = headers.get_list("x-content-type-options")
    if not values:
        return finding("headers.x_content_type_options", Status.FAIL, target, "No X-Content-Type-Options header.")
    value_text = shown(", ".join(values))
    # Browsers read the first comma-separated token (Fetch spec "determine nosniff").
    if tokens(values)[:1] == ["nosniff"]:
        return finding("headers.x_content_type_options", Status.PASS, target, f"X-Content-Type-Options: {value_text}")
    return finding(
        "headers.x_content_type_options", Status.FAIL, target, f"X-Content-Type-Options: {value_text} — not 'nosniff'."
    )


_REFERRER_PRIVATE = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
_REFERRER_LEAKY = {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}
#: Leaky policies that send the whole URL (path and query), not only the origin.
_REFERRER_FULL_URL = {"unsafe-url", "no-referrer-when-downgrade"}


def referrer_finding(target: str, headers: httpx.Headers, scan: PageScan | None) -> Finding:
    """``headers.referrer_policy`` from the header, else the page's ``<meta name="referrer">``."""
    values = headers.get_list("referrer-policy")
    source = "Referrer-Policy"
    if not values and scan and scan.meta_referrer:
        values, source = list(scan.meta_referrer), '<meta name="referrer">'
    if not values:
        return finding(
            "headers.referrer_policy",
            Status.WARN,
            target,
            "No Referrer-Policy: the browser default applies (strict-origin-when-cross-origin in current "
            "browsers, but not guaranteed in older ones).",
        )
    value_text = shown(", ".join(values))
    # The last recognised token wins (Referrer Policy spec §4.1); unknown tokens are skipped.
    known = [t for t in tokens(values) if t in _REFERRER_PRIVATE | _REFERRER_LEAKY]
    if not known:
        return finding(
            "headers.referrer_policy", Status.FAIL, target, f"{source}: {value_text} — no recognised policy."
        )
    policy = known[-1]
    if policy in _REFERRER_PRIVATE:
        return finding("headers.referrer_policy", Status.PASS, target, f"{source}: {value_text}")
    observed = f"{source}: {value_text} — '{policy}' sends the full URL or origin to other sites."
    if policy in _REFERRER_FULL_URL:
        return finding(
            "headers.referrer_policy",
            Status.FAIL,
            target,
            observed,
            severity=Severity.MEDIUM,
            severity_reason=f"'{policy}' sends the full URL, path and query included, to other sites",
        )
    return finding("headers.referrer_policy", Status.FAIL, target, observed)


_PP_ITEM = re.compile(r'^\s*[a-z][a-z0-9\-]*\s*=\s*(?:\*|\(\s*[^()]*\)|self|src|"[^"]*")\s*(?:;.*)?$', re.IGNORECASE)


def permissions_finding(target: str, headers: httpx.Headers) -> Finding:
    """``headers.permissions_policy``: present and a valid structured field (else browsers drop it whole)."""
    values = headers.get_list("permissions-policy")
    if not values:
        if headers.get("feature-policy"):
            return finding(
                "headers.permissions_policy",
                Status.WARN,
                target,
                "Only the legacy Feature-Policy header: " + shown(headers.get("feature-policy")),
            )
        return finding(
            "headers.permissions_policy",
            Status.WARN,
            target,
            "No Permissions-Policy: camera, microphone, geolocation etc. are available to any embedded content "
            "the page allows.",
        )
    value_text = shown(", ".join(values))
    items = [i for v in values for i in split_structured(v)]
    bad = [i for i in items if not _PP_ITEM.match(i)]
    if bad:
        return finding(
            "headers.permissions_policy",
            Status.WARN,
            target,
            f"Permissions-Policy: {value_text} — not a valid structured-field dictionary near "
            f"'{shown(bad[0], 60)}'; browsers ignore the whole header on a parse error.",
        )
    return finding("headers.permissions_policy", Status.PASS, target, f"Permissions-Policy: {value_text}")


def split_structured(value: str) -> list[str]:
    """Split a structured-field dictionary on top-level commas (not inside parentheses/quotes)."""
    items, depth, quoted, current = [], 0, False, []
    for ch in value[:4096]:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0 and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [i for i in items if i.strip()]


def coop_finding(target: str, headers: httpx.Headers) -> Finding:
    """``headers.coop``: same-origin isolates the window (the popup variants are fine where needed)."""
    value = headers.get("cross-origin-opener-policy")
    if not value:
        return finding("headers.coop", Status.WARN, target, "No Cross-Origin-Opener-Policy (defaults to unsafe-none).")
    value_text = shown(value)
    token = value.split(";")[0].strip().lower()
    if token == "same-origin":
        return finding("headers.coop", Status.PASS, target, f"Cross-Origin-Opener-Policy: {value_text}")
    if token in {"same-origin-allow-popups", "noopener-allow-popups"}:
        return finding(
            "headers.coop",
            Status.PASS,
            target,
            f"Cross-Origin-Opener-Policy: {value_text} (popups keep a reference; fine when the site relies on them)",
        )
    if token == "unsafe-none":
        return finding(
            "headers.coop", Status.WARN, target, f"Cross-Origin-Opener-Policy: {value_text} — isolation disabled."
        )
    return finding(
        "headers.coop", Status.WARN, target, f"Cross-Origin-Opener-Policy: {value_text} — not a valid value."
    )


def corp_finding(target: str, headers: httpx.Headers) -> Finding:
    """``headers.corp``: same-origin/same-site keep other sites from embedding the response."""
    value = headers.get("cross-origin-resource-policy")
    if not value:
        return finding(
            "headers.corp",
            Status.WARN,
            target,
            "No Cross-Origin-Resource-Policy: any site may embed this response (defaults to cross-origin).",
        )
    value_text = shown(value)
    token = value.strip().lower()
    if token in {"same-origin", "same-site"}:
        return finding("headers.corp", Status.PASS, target, f"Cross-Origin-Resource-Policy: {value_text}")
    if token == "cross-origin":
        return finding(
            "headers.corp",
            Status.WARN,
            target,
            f"Cross-Origin-Resource-Policy: {value_text} — any site may embed it (right only for public assets).",
        )
    return finding(
        "headers.corp",
        Status.FAIL,
        target,
        f"Cross-Origin-Resource-Policy: {value_text} — invalid; browsers ignore it.",
    )


_VERSION = re.compile(r"\d+\.\d+|/\s*\d")


def banner_findings(target: str, headers: httpx.Headers) -> list[Finding]:
    """Software versions in ``Server``/``X-Powered-By``, and the retired XSS auditor when it is sent."""
    out: list[Finding] = []
    server = headers.get("server")
    if not server:
        out.append(finding("headers.server_banner", Status.PASS, target, "No Server header."))
    elif _VERSION.search(server):
        out.append(
            finding(
                "headers.server_banner",
                Status.FAIL,
                target,
                f"Server: {shown(server)} — the version tells attackers which known vulnerabilities to try.",
            )
        )
    else:
        out.append(finding("headers.server_banner", Status.PASS, target, f"Server: {shown(server)} (no version)"))
    leaks = [
        f"{name}: {shown(headers.get(name), 100)}"
        for name in ("X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version")
        if headers.get(name)
    ]
    if leaks:
        out.append(finding("headers.x_powered_by", Status.FAIL, target, "; ".join(leaks)))
    else:
        out.append(finding("headers.x_powered_by", Status.PASS, target, "No X-Powered-By or similar header."))
    out.append(xxp_finding(target, headers))
    return out


#: Why an absent X-XSS-Protection passes (shown on the finding, so a checklist that still asks
#: for ``1; mode=block`` reads the reason instead of a silent "not run").
XXP_ABSENT = (
    "X-XSS-Protection not sent — current advice: modern browsers removed the XSS auditor (Chrome 78, Edge 17; "
    "Firefox never had one), and OWASP's HTTP Headers Cheat Sheet says not to set it (or to send 0) and to rely "
    "on a Content-Security-Policy."
)


def xxp_finding(target: str, headers: httpx.Headers) -> Finding:
    """``headers.x_xss_protection``: absent or ``0`` pass; any value that switches the auditor on warns.

    Why absence passes rather than being skipped: the header's only effect was to configure
    the retired XSS auditor, so not sending it is the recommended state (OWASP Secure Headers
    Project and HTTP Headers Cheat Sheet: omit it or send ``0``). ``1`` and ``1; mode=block``
    warn at the catalog's low severity: harmless in current browsers, but in old ones the
    auditor could be abused to leak information or disable a page's scripts.
    """
    values = headers.get_list("x-xss-protection")
    if not values:
        return finding("headers.x_xss_protection", Status.PASS, target, XXP_ABSENT)
    value = ", ".join(values)
    modes = [v.strip().split(";")[0].strip() for v in values]
    if all(m == "0" for m in modes):
        return finding(
            "headers.x_xss_protection", Status.PASS, target, f"X-XSS-Protection: {shown(value)} (auditor disabled)"
        )
    return finding(
        "headers.x_xss_protection",
        Status.WARN,
        target,
        f"X-XSS-Protection: {shown(value)} — switches on the retired XSS auditor, which old browsers could be "
        "made to abuse to leak information; current guidance (OWASP) is to omit it or send 0.",
    )
