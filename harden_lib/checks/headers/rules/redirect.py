"""``headers.redirect_https``: what the plain-HTTP address of a page's host does (probed by ``fetch``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from harden_lib.catalog import finding
from harden_lib.checks.headers.observatory import SKIPPED, TOO_MANY, RedirectProbe
from harden_lib.checks.headers.rules.common import error_finding, shown
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url


def redirect_finding(probe: RedirectProbe) -> Finding:
    """``headers.redirect_https`` from a plain-HTTP probe."""
    target = probe.start
    route = " → ".join(f"{status} {shown(redact_url(u), 120)}" for status, u in probe.hops)
    if probe.error_kind == SKIPPED:
        return finding(
            "headers.redirect_https",
            Status.SKIP,
            target,
            f"Not tested: {shown(probe.error or 'not probed', 200)}. The Observatory grade of the pages on "
            "this host counts the redirect as not tested (0), never as a pass.",
        )
    if probe.error_kind == TOO_MANY:
        return finding(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"Still redirecting after {len(probe.hops) - 1} redirects (browsers give up with too many "
            f"redirects): {route}",
        )
    if probe.error is not None:
        if probe.error_kind == "connect" and not probe.hops:
            return finding(
                "headers.redirect_https",
                Status.PASS,
                target,
                f"Nothing answers on plain HTTP ({shown(probe.error, 200)}): no cleartext page to downgrade to.",
                severity=Severity.INFO,
                severity_reason="nothing listens on plain HTTP, so there is no redirect to judge",
            )
        if probe.error_kind == "tls":
            return finding(
                "headers.redirect_https",
                Status.FAIL,
                target,
                f"{route or 'plain HTTP'} → certificate verification failed at "
                f"{shown(redact_url(probe.error_at or ''), 120)}.",
            )
        return error_finding(
            probe.start,
            f"Not tested: the redirect probe failed ({probe.error}){' after ' + route if route else ''}",
            "headers.redirect_https",
        )
    if not probe.hops:
        return error_finding(probe.start, "Not tested: the redirect probe got no response", "headers.redirect_https")
    first_status = probe.hops[0][0]
    if len(probe.hops) == 1:
        return finding(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"Plain HTTP answers {first_status} without redirecting to HTTPS.",
        )
    start, second, last = urlsplit(probe.hops[0][1]), urlsplit(probe.hops[1][1]), urlsplit(probe.hops[-1][1])
    if last.scheme.lower() != "https":
        return finding("headers.redirect_https", Status.FAIL, target, f"Redirects, but never reaches HTTPS: {route}")
    if second.scheme.lower() != "https":
        return finding(
            "headers.redirect_https",
            Status.FAIL,
            target,
            f"The first redirect goes to another plain-HTTP URL before HTTPS: {route}",
            severity=Severity.MEDIUM,
            severity_reason="HTTPS is reached in the end; only the first hop can still be downgraded",
        )
    if (second.hostname or "").lower() != (start.hostname or "").lower():
        return finding(
            "headers.redirect_https",
            Status.WARN,
            target,
            f"The first redirect goes to HTTPS on another host, so this host can never set HSTS: {route}",
            severity=Severity.MEDIUM,
            severity_reason="plain HTTP does reach HTTPS; only this host's own HSTS is lost",
        )
    if first_status not in (301, 308):
        return finding(
            "headers.redirect_https",
            Status.WARN,
            target,
            f"Redirects to HTTPS with a temporary {first_status}; browsers and caches do not remember it: {route}",
            severity=Severity.LOW,
            severity_reason="the redirect to HTTPS works; only browsers and caches do not remember it",
        )
    return finding("headers.redirect_https", Status.PASS, target, route)
