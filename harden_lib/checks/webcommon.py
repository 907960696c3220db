"""Small helpers shared by the web-surface areas (``surface``, ``cors``, ``ratelimit``).

Each area keeps a table of check specs (title, severity, expectation, remediation,
references) so that a check id is defined once and every finding of it reads alike; this
module turns a spec plus an outcome into a ``Finding`` with every server-controlled text made
safe, and runs async probes from code that may itself be inside an event loop (a Jupyter
kernel runs one, so a bare ``asyncio.run`` would fail there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url, safe_text

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """What a check id means, independent of any one outcome."""

    title: str
    severity: Severity
    expected: str
    remediation: str
    references: tuple[str, ...] = ()


def make_finding(
    area: str,
    specs: dict[str, Spec],
    check_id: str,
    status: Status,
    target: str,
    observed: str,
    *,
    severity: Severity | None = None,
    expected: str | None = None,
    remediation: str | None = None,
) -> Finding:
    """A finding of ``check_id``; the target is redacted and capped, ``observed`` capped.

    ``observed`` must already be escaped by the caller where it quotes server text
    (``safe_text``); it is capped again here so no caller can blow up a report.
    """
    spec = specs[check_id]
    return Finding(
        area=area,
        check_id=check_id,
        title=spec.title,
        status=status,
        severity=severity or spec.severity,
        target=safe_text(redact_url(target), 300),
        observed=observed[:1500],
        expected=expected or spec.expected,
        remediation=remediation or spec.remediation,
        references=spec.references,
    )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, also inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
