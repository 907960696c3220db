"""Content-Security-Policy as browsers enforce it: present, inline scripts, eval, fallbacks, sources.

Parsed with ``harden_lib.checks.headers.csp`` (CSP Level 3, as browsers parse it). A weakness
counts only when *every* enforced policy has it, because browsers enforce them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harden_lib.catalog import finding
from harden_lib.checks.headers import csp as csp_mod
from harden_lib.checks.headers.rules.common import Verdict, shown
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import MAX_VALUE_CHARS

if TYPE_CHECKING:
    import httpx

    from harden_lib.checks.headers.observatory import PageScan

#: Every CSP id but ``headers.csp.present``: skipped when no policy is enforced.
DETAIL_IDS = (
    "headers.csp.unsafe_inline",
    "headers.csp.unsafe_eval",
    "headers.csp.default_src",
    "headers.csp.object_src",
    "headers.csp.frame_ancestors",
    "headers.csp.base_uri",
    "headers.csp.wildcard_sources",
    "headers.csp.http_sources",
)


def _policies_text(policies: Sequence[csp_mod.Policy], limit: int = MAX_VALUE_CHARS) -> str:
    return shown(" | ".join(csp_mod.describe(p, 1000) for p in policies), limit)


def _sources_text(sources: tuple[str, ...] | None) -> str:
    return "(not set)" if sources is None else shown(" ".join(sources) or "(empty)", 120)


def csp_findings(
    target: str, headers: httpx.Headers, scan: PageScan | None, https: bool, xfo_ok: bool
) -> tuple[list[Finding], csp_mod.CspSet]:
    """``headers.csp.*`` of one response, and the parsed policies (framing reads their frame-ancestors)."""
    cset = csp_mod.parse_response_csp(
        headers.get_list("content-security-policy"),
        headers.get_list("content-security-policy-report-only"),
        scan.meta_csp if scan else (),
    )
    policies = cset.enforced
    if not policies:
        if cset.report_only:
            observed = (
                "Only Content-Security-Policy-Report-Only is sent (violations are reported, nothing is blocked): "
                + _policies_text(cset.report_only)
            )
        else:
            observed = "No Content-Security-Policy header."
        return [
            finding("headers.csp.present", Status.FAIL, target, observed),
            *(finding(i, Status.SKIP, target, "No enforced CSP (see headers.csp.present).") for i in DETAIL_IDS),
        ], cset

    notes = []
    for p in policies:
        if p.duplicates:
            notes.append(f"repeated directives ignored by browsers: {', '.join(p.duplicates)}")
        if p.unknown:
            notes.append(f"unknown directives (typos?): {', '.join(shown(u, 40) for u in p.unknown[:5])}")
        if p.truncated:
            notes.append("policy longer than the parser's limits; only the start was analysed")
    note = (" — " + "; ".join(notes)) if notes else ""
    out: list[Finding] = []
    if not cset.header_policies:
        out.append(
            finding(
                "headers.csp.present",
                Status.WARN,
                target,
                "CSP only via <meta http-equiv>: frame-ancestors, report-uri and sandbox are ignored there: "
                + _policies_text(policies)
                + note,
                severity=Severity.MEDIUM,
                severity_reason="a policy is enforced, but only through <meta>, where frame-ancestors, report-uri "
                "and sandbox do not apply",
            )
        )
    elif notes:
        out.append(
            finding(
                "headers.csp.present",
                Status.WARN,
                target,
                "Content-Security-Policy: " + _policies_text(policies) + note,
                severity=Severity.LOW,
                severity_reason="a policy is enforced; only its form is questionable (repeated or unknown "
                "directives, or too long to analyse whole)",
            )
        )
    else:
        out.append(
            finding("headers.csp.present", Status.PASS, target, "Content-Security-Policy: " + _policies_text(policies))
        )

    first = policies[0]
    # unsafe-inline: the script element and attribute lists both fall back to script-src.
    inline_weak = all(
        csp_mod.allows_inline(p.effective("script-src-elem")) or csp_mod.allows_inline(p.effective("script-src-attr"))
        for p in policies
    )
    scripts = first.effective("script-src")
    if inline_weak:
        why = (
            "no script-src or default-src: inline scripts are not restricted"
            if scripts is None
            else f"script sources: {_sources_text(scripts)} — 'unsafe-inline' is effective (no nonce, hash "
            "or 'strict-dynamic' to neutralise it)"
        )
        out.append(finding("headers.csp.unsafe_inline", Status.FAIL, target, why))
    else:
        neutralised = scripts is not None and "'unsafe-inline'" in scripts
        observed = f"script sources: {_sources_text(scripts)}" + (
            " ('unsafe-inline' is ignored by browsers because a nonce, hash or 'strict-dynamic' is present)"
            if neutralised
            else ""
        )
        if all(csp_mod.allows_inline(p.effective("style-src"), script=False) for p in policies):
            observed += "; note: inline styles are allowed (lower risk than scripts)"
        out.append(finding("headers.csp.unsafe_inline", Status.PASS, target, observed))

    if all(csp_mod.allows_eval(p.effective("script-src")) for p in policies):
        why = (
            "no script-src or default-src: eval() is not restricted"
            if scripts is None
            else f"'unsafe-eval' in script sources: {_sources_text(scripts)}"
        )
        out.append(finding("headers.csp.unsafe_eval", Status.FAIL, target, why))
    else:
        out.append(finding("headers.csp.unsafe_eval", Status.PASS, target, "eval() is blocked."))

    if any(p.has("default-src") for p in policies):
        observed = "default-src " + _sources_text(first.get("default-src"))
        out.append(finding("headers.csp.default_src", Status.PASS, target, observed))
    else:
        out.append(
            finding(
                "headers.csp.default_src",
                Status.FAIL,
                target,
                "No default-src: every resource type without its own directive (e.g. connect-src, frame-src) "
                "is unrestricted.",
            )
        )

    objects = [p.effective("object-src") for p in policies]
    if any(s == ("'none'",) for s in objects):
        out.append(finding("headers.csp.object_src", Status.PASS, target, "object-src 'none' (plugins blocked)."))
    elif all(s is None or any(csp_mod.is_wildcard(x, "object-src") for x in s) for s in objects):
        out.append(
            finding(
                "headers.csp.object_src",
                Status.FAIL,
                target,
                f"object-src (or default-src): {_sources_text(objects[0])} — plugins may load from anywhere.",
            )
        )
    else:
        out.append(
            finding(
                "headers.csp.object_src",
                Status.WARN,
                target,
                f"object-src (or default-src): {_sources_text(objects[0])} — restricted, but not 'none'.",
                severity=Severity.LOW,
                severity_reason="plugins are restricted to the listed sources, just not blocked ('none')",
            )
        )

    ancestors = [p.get("frame-ancestors") for p in cset.header_policies]
    if any(s is not None and not any(csp_mod.is_wildcard(x) for x in s) for s in ancestors):
        restricted = next(s for s in ancestors if s is not None and not any(csp_mod.is_wildcard(x) for x in s))
        observed = f"frame-ancestors {_sources_text(restricted)}"
        out.append(finding("headers.csp.frame_ancestors", Status.PASS, target, observed))
    elif any(s is not None for s in ancestors):
        out.append(
            finding(
                "headers.csp.frame_ancestors",
                Status.FAIL,
                target,
                "frame-ancestors allows any origin: " + _sources_text(next(s for s in ancestors if s is not None)),
            )
        )
    elif xfo_ok:
        out.append(
            finding(
                "headers.csp.frame_ancestors",
                Status.WARN,
                target,
                "No frame-ancestors in a CSP header; framing is controlled by X-Frame-Options only.",
                severity=Severity.LOW,
                severity_reason="a valid X-Frame-Options already stops other sites from framing the page",
            )
        )
    else:
        meta_only = any(p.origin == "meta" for p in policies) and not cset.header_policies
        out.append(
            finding(
                "headers.csp.frame_ancestors",
                Status.FAIL,
                target,
                "No frame-ancestors in a CSP header"
                + (" (it is ignored in <meta> policies)" if meta_only else "")
                + " and no valid X-Frame-Options: any site can frame the page.",
            )
        )

    bases = [p.get("base-uri") for p in policies]
    if any(s is not None and not any(csp_mod.is_wildcard(x) for x in s) for s in bases):
        restricted = next(s for s in bases if s is not None and not any(csp_mod.is_wildcard(x) for x in s))
        out.append(finding("headers.csp.base_uri", Status.PASS, target, f"base-uri {_sources_text(restricted)}"))
    elif any(s is not None for s in bases):
        out.append(
            finding(
                "headers.csp.base_uri",
                Status.FAIL,
                target,
                "base-uri allows any origin: " + _sources_text(next(s for s in bases if s is not None)),
            )
        )
    else:
        out.append(
            finding(
                "headers.csp.base_uri",
                Status.WARN,
                target,
                "No base-uri: an injected <base> tag can redirect the page's relative script URLs.",
            )
        )

    wild = csp_mod.broad_sources(policies, csp_mod.is_wildcard)
    if wild:
        observed = "Overly broad sources — " + shown("; ".join(f"{d}: {' '.join(s)}" for d, s in wild.items()))
        verdict = (
            Verdict(Status.FAIL)
            if any(d in csp_mod.CRITICAL_DIRECTIVES for d in wild)
            else Verdict(
                Status.WARN,
                severity=Severity.LOW,
                reason="the broad sources are only in directives that cannot run script, load plugins, set <base> "
                "or frame the page",
            )
        )
        out.append(verdict.finding("headers.csp.wildcard_sources", target, observed))
    else:
        out.append(finding("headers.csp.wildcard_sources", Status.PASS, target, "No wildcard or bare-scheme sources."))

    insecure = csp_mod.broad_sources(policies, lambda s, d: csp_mod.is_insecure_scheme(s))
    if insecure:
        observed = (
            "Sources over plain HTTP — " if https else "Sources over plain HTTP (page itself is HTTP) — "
        ) + shown("; ".join(f"{d}: {' '.join(s)}" for d, s in insecure.items()))
        verdict = (
            Verdict(Status.FAIL)
            if any(d not in csp_mod.PASSIVE_DIRECTIVES for d in insecure)
            else Verdict(
                Status.WARN,
                severity=Severity.LOW,
                reason="only passive content (images, media) may load over plain HTTP",
            )
        )
        out.append(verdict.finding("headers.csp.http_sources", target, observed))
    else:
        out.append(finding("headers.csp.http_sources", Status.PASS, target, "No plain-HTTP sources."))
    return out, cset


def needs_finding(target: str, cset: csp_mod.CspSet, page_url: str, needs: dict[str, list[str]] | None) -> Finding:
    """``headers.csp.needs``: every enforced policy lets the page load what the app needs.

    Each needed URL is matched as CSP3 §6.7.2 says ("Does url match source list in origin"),
    with the page's own origin as ``'self'``. A ``ws://``/``wss://`` URL is checked twice: as
    the Fetch standard hands it to CSP (scheme changed to ``http``/``https``) and as written
    (browsers that check the WebSocket URL itself); allowed by one reading only is a ``warn``
    (list the ``wss://`` URL explicitly so every browser agrees). Report-only policies block
    nothing and are not read.
    """
    from urllib.parse import urljoin

    if not needs or not any(needs.values()):
        return finding(
            "headers.csp.needs",
            Status.SKIP,
            target,
            "No headers.csp_needs and no cors.websockets configured: nothing to check the policy against.",
        )
    origin = csp_mod.UrlParts.parse(page_url)
    if origin is None:
        return finding("headers.csp.needs", Status.ERROR, target, "The page URL has no origin to resolve 'self'.")
    policies = cset.enforced
    wanted = [(d, u) for d, urls in needs.items() for u in urls]
    if not policies:
        listed = ", ".join(f"{d} {shown(u, 80)}" for d, u in wanted[:6])
        return finding(
            "headers.csp.needs",
            Status.PASS,
            target,
            f"No enforced CSP, so nothing is blocked ({listed}); see headers.csp.present for the missing policy.",
        )
    blocked: list[str] = []
    differ: list[str] = []
    allowed: list[str] = []
    for directive, raw in wanted:
        url = csp_mod.UrlParts.parse(urljoin(page_url, raw) if raw.startswith("/") else raw)
        label = f"{directive} {shown(raw, 100)}"
        if url is None:
            blocked.append(f"{label} (not a URL)")
            continue
        readings = {csp_mod.allows_url(policies, directive, url, origin)}
        fetched = csp_mod.fetched_url(url)
        if fetched != url:
            readings.add(csp_mod.allows_url(policies, directive, fetched, origin))
        sources = _sources_text(policies[0].effective(directive))
        if readings == {False}:
            blocked.append(f"{label} blocked by {sources}")
        elif readings == {True}:
            allowed.append(label)
        else:
            differ.append(f"{label} allowed only as Fetch checks it (as {fetched.scheme}://), by {sources}")
    if blocked:
        observed = "Blocked: " + "; ".join(blocked[:6])
        if differ:
            observed += " — browser-dependent: " + "; ".join(differ[:3])
        return finding("headers.csp.needs", Status.FAIL, target, shown(observed, 900))
    if differ:
        observed = (
            "Browser-dependent: "
            + "; ".join(differ[:6])
            + " — a browser that checks the ws(s):// URL itself blocks it; list the wss:// URL explicitly."
        )
        return finding("headers.csp.needs", Status.WARN, target, shown(observed, 900))
    return finding("headers.csp.needs", Status.PASS, target, shown("Allowed: " + "; ".join(allowed[:10]), 900))
