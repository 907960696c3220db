"""What every header rule shares: how a server-sent value is shown, header tokens, the error finding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from harden_lib.catalog import clean_observed, finding
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import MAX_VALUE_CHARS

_LINE_BREAKS = str.maketrans({"\t": "\\x09", "\n": "\\x0a", "\r": "\\x0d"})


def shown(value: str | None, limit: int = MAX_VALUE_CHARS) -> str:
    """A server-sent value as a finding's ``observed`` quotes it: scrubbed, escaped, capped.

    The server controls every header, so each quoted value is capped on its own (one huge
    header must not push the rest of the text out) and its control characters, line breaks
    included, are escaped so that it cannot forge lines. ``<`` and ``>`` stay as sent: every
    report escapes HTML itself, and a CSP or a redirect arrow reads as written.
    """
    text = (value or "")[: limit * 4].translate(_LINE_BREAKS)
    return clean_observed(text, limit)


def tokens(values: Iterable[str]) -> list[str]:
    """The comma-separated tokens of a header's values, trimmed and lower-cased."""
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def error_finding(target: str, message: str, check_id: str = "headers.fetch") -> Finding:
    """The check could not run: never a pass (DESIGN §4)."""
    return finding(check_id, Status.ERROR, target, shown(message, 500))


class Verdict(NamedTuple):
    """A rule's judgement before it becomes a finding; ``severity`` None is the catalog's default."""

    status: Status
    #: appended to what was seen (e.g. `` — not 'nosniff'.``)
    text: str = ""
    severity: Severity | None = None
    #: why ``severity`` differs from the catalog's default (kept on the finding)
    reason: str = ""

    def finding(self, check_id: str, target: str, seen: str) -> Finding:
        return finding(
            check_id, self.status, target, seen + self.text, severity=self.severity, severity_reason=self.reason
        )
