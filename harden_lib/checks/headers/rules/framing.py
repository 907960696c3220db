"""Framing (clickjacking): X-Frame-Options, judged together with CSP frame-ancestors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harden_lib.catalog import finding
from harden_lib.checks.headers.rules.common import shown, tokens
from harden_lib.findings import Finding, Status

if TYPE_CHECKING:
    import httpx


def xfo_state(headers: httpx.Headers) -> tuple[str, str]:
    """(state, shown value): state is ok / allow-from / invalid / missing."""
    values = headers.get_list("x-frame-options")
    if not values:
        return "missing", ""
    value = shown(", ".join(values))
    found = set(tokens(values))
    if len(found) == 1 and found <= {"deny", "sameorigin"}:
        return "ok", value
    if len(found) == 1 and next(iter(found)).startswith("allow-from"):
        return "allow-from", value
    return "invalid", value


def xfo_finding(target: str, state: str, value: str, ancestors_ok: bool) -> Finding:
    """``headers.x_frame_options``: browsers prefer a restrictive frame-ancestors over X-Frame-Options."""
    if state == "ok":
        return finding("headers.x_frame_options", Status.PASS, target, f"X-Frame-Options: {value}")
    if ancestors_ok:
        detail = {"missing": "not set", "allow-from": f"{value} (obsolete)", "invalid": f"{value} (invalid)"}[state]
        return finding(
            "headers.x_frame_options",
            Status.PASS,
            target,
            f"X-Frame-Options {detail}; framing is controlled by CSP frame-ancestors, which browsers prefer.",
        )
    if state == "allow-from":
        return finding(
            "headers.x_frame_options",
            Status.WARN,
            target,
            f"X-Frame-Options: {value} — ALLOW-FROM is ignored by current browsers, so framing is not restricted.",
        )
    if state == "invalid":
        return finding(
            "headers.x_frame_options", Status.FAIL, target, f"X-Frame-Options: {value} — not a valid value; ignored."
        )
    return finding("headers.x_frame_options", Status.FAIL, target, "No X-Frame-Options and no CSP frame-ancestors.")
