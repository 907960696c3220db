"""CORS of the page: its own GET response and the answer to a preflight with a foreign Origin."""

from __future__ import annotations

from typing import Any

from harden_lib.catalog import lookup
from harden_lib.checks.headers.observatory import CorsProbe
from harden_lib.checks.headers.rules.common import Verdict, shown
from harden_lib.findings import Finding, Severity, Status

_CORS_RANK = {Status.PASS: 0, Status.ERROR: 1, Status.WARN: 2, Status.FAIL: 3}


def cors_verdict(headers: Any, origin_sent: str | None, production: bool) -> Verdict:
    """The verdict on one response's ``Access-Control-Allow-*`` headers."""
    acao = headers.get("access-control-allow-origin")
    if not acao:
        return Verdict(Status.PASS, "no Access-Control-Allow-Origin")
    credentials = (headers.get("access-control-allow-credentials") or "").strip().lower() == "true"
    seen = f"Access-Control-Allow-Origin: {shown(acao, 120)}" + (
        "; Access-Control-Allow-Credentials: true" if credentials else ""
    )
    value = acao.strip()
    reflected = origin_sent is not None and value == origin_sent
    if reflected and credentials:
        return Verdict(
            Status.FAIL,
            f"{seen} — an arbitrary origin is reflected with credentials: any site can read responses made "
            "with the user's cookies",
        )
    if reflected:
        return Verdict(
            Status.WARN,
            f"{seen} — arbitrary origins are reflected (without credentials)",
            Severity.MEDIUM,
            "without credentials, other sites read only what they could fetch themselves, not the user's data",
        )
    if value.lower() == "null":
        return Verdict(
            Status.FAIL,
            f"{seen} — 'null' is the origin of sandboxed iframes and local files, which attackers control",
            Severity.MEDIUM,
            "only pages an attacker sandboxes (or local files) get the origin 'null'",
        )
    if value == "*":
        if credentials:
            return Verdict(
                Status.WARN,
                f"{seen} — '*' with credentials is refused by browsers: a misconfiguration",
                Severity.LOW,
                "browsers refuse '*' with credentials, so no cookie-carrying response is exposed",
            )
        if production:
            return Verdict(
                Status.WARN,
                f"{seen} — any site may read this response; production rules expect specific origins",
                Severity.LOW,
                "'*' never sends the user's cookies: only content any site could fetch itself is exposed",
            )
        return Verdict(Status.PASS, f"{seen} — public content, no credentials")
    return Verdict(Status.PASS, f"{seen} — restricted to a specific origin")


def cors_finding(target: str, page_headers: Any, preflight: CorsProbe | None, production: bool) -> Finding:
    """``headers.cors`` from the page's own GET response and the preflight answer: the worst of both.

    A plain GET (no Origin sent, as the Observatory and a browser's first navigation send it)
    that answers ``Access-Control-Allow-Origin: *`` exposes the page to every site even when
    the preflight is refused, so both are judged.
    """
    verdicts = [("GET (no Origin sent)", cors_verdict(page_headers, None, production))]
    if preflight is None:
        verdicts.append(("preflight", Verdict(Status.PASS, "not sent (headers.cors_probe is off)")))
    elif preflight.error is not None:
        # Reflection could not be tested: an error at the check's own severity, never a pass.
        verdicts.append(("preflight", Verdict(Status.ERROR, f"failed: {shown(preflight.error, 200)}")))
    else:
        where = f"OPTIONS with Origin: {shown(preflight.origin, 80)} → {preflight.status}"
        verdicts.append((where, cors_verdict(preflight.headers, preflight.origin, production)))

    default = lookup("headers.cors").severity

    def badness(item: tuple[str, Verdict]) -> tuple[int, int]:
        verdict = item[1]
        return _CORS_RANK[verdict.status], (verdict.severity or default).rank

    _, worst = max(verdicts, key=badness)
    observed = "; ".join(f"{where}: {verdict.text}" for where, verdict in verdicts)
    return Verdict(worst.status, severity=worst.severity, reason=worst.reason).finding("headers.cors", target, observed)
