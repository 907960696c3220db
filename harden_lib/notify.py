"""Notifications after a run: webhooks (generic JSON or Slack-compatible) from ``notify:`` params.

Sent through the shared HTTP client (``harden_lib.http.make_client``: timeouts, TLS settings,
no proxy from the shell, and none of the environment's configured credentials — those travel
only to the audited host). Redirects are not followed: a webhook URL is a credential and a
redirect would hand the request to another host.

The webhook URL is a secret: it is registered with the secret registry when the params are
loaded (so every output scrubs it), it never appears in a message this module returns (a
webhook is named by its ``name`` or its position), and the ``httpx`` logger, which logs every
request URL at INFO level, is filtered while a webhook is sent.

When (``when:``): ``no-go`` (the verdict is NO-GO or the run is incomplete), ``change`` (something is
new or fixed since the last run, a waiver started or ended, or the verdict changed),
``always``, or ``never``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harden_lib.redact import scrub_output, scrub_tree

if TYPE_CHECKING:
    from harden_lib.diff import RunDiff
    from harden_lib.history.params import NotifyParams, Webhook

_LIST_LIMIT = 20


@dataclass
class RunOutcome:
    """What a notification says about a run (plain values, already scrubbed by the runner)."""

    environment: str
    run_id: str
    verdict: str
    exit_code: int
    headline: str
    blocking: int = 0
    report: str = ""
    previous_verdict: str | None = None


def should_notify(on: str, outcome: RunOutcome, diff: RunDiff | None) -> bool:
    if on == "never":
        return False
    if on == "always":
        return True
    if on == "no-go":
        return outcome.verdict != "GO" or outcome.exit_code != 0
    changed_verdict = outcome.previous_verdict is not None and outcome.previous_verdict != outcome.verdict
    return changed_verdict or bool(diff is not None and not diff.first_run and diff.has_changes)


def _items(changes: list[Any]) -> list[dict[str, str]]:
    return [
        {"severity": c.severity, "check_id": c.check_id, "target": c.target, "title": c.title, "status": c.status}
        for c in changes[:_LIST_LIMIT]
    ]


def json_payload(outcome: RunOutcome, diff: RunDiff | None) -> dict[str, Any]:
    """The generic JSON document (stable keys, for any receiver)."""
    document: dict[str, Any] = {
        "source": "harden",
        "environment": outcome.environment,
        "run_id": outcome.run_id,
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "headline": outcome.headline,
        "blocking": outcome.blocking,
        "report": outcome.report,
    }
    if diff is not None and not diff.first_run:
        document["since_last_run"] = {
            "previous_run_id": diff.old.run_id if diff.old else None,
            "previous_verdict": outcome.previous_verdict,
            "new": len(diff.new_failures),
            "fixed": len(diff.fixed),
            "still_failing": len(diff.still_failing),
            "new_failures": _items(diff.new_failures),
            "fixed_findings": _items(diff.fixed),
        }
    return scrub_tree(document)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads <...> as links and mentions: scanned servers control some of this text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(outcome: RunOutcome, diff: RunDiff | None) -> dict[str, Any]:
    """A Slack-compatible message (``text``; works with Slack, Mattermost, Rocket.Chat hooks)."""
    icon = ":white_check_mark:" if outcome.verdict == "GO" and outcome.exit_code == 0 else ":rotating_light:"
    lines = [
        f"{icon} *harden {_slack_escape(outcome.environment)}: {outcome.verdict}* — {_slack_escape(outcome.headline)}"
    ]
    if diff is not None and not diff.first_run:
        lines.append(f"Since the last run: {len(diff.new_failures)} new, {len(diff.fixed)} fixed.")
        for title, changes in (("New", diff.new_failures), ("Fixed", diff.fixed)):
            for change in changes[:10]:
                where = f" [{change.target}]" if change.target else ""
                lines.append(f"• {title}: {change.severity} `{_slack_escape(change.check_id)}`{_slack_escape(where)}")
    if outcome.report:
        lines.append(f"Report: {_slack_escape(outcome.report)}")
    return {"text": scrub_output("\n".join(lines))[:3500]}


class _ScrubLogs(logging.Filter):
    """Rewrites log records with the secrets (the webhook URL) scrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return False
        record.msg, record.args = scrub_output(message), ()
        return True


@contextmanager
def _quiet_http_logs() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    log_filter = _ScrubLogs()
    for logger in loggers:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(log_filter)


def _label(hook: Webhook, index: int) -> str:
    return scrub_output(hook.name) if hook.name else f"webhook {index + 1} ({hook.format})"


def send(
    settings: NotifyParams, outcome: RunOutcome, diff: RunDiff | None, *, http: Any = None, force: bool = False
) -> list[str]:
    """Send the run's notification to every webhook when the rule says so; returns what happened.

    The returned lines name each webhook by its label, never its URL, and say ``sent`` or why
    not (``HTTP 500``, ``timed out``, ``connection failed``).
    """
    import httpx

    from harden_lib.http import make_client

    if not settings.webhooks or not (force or should_notify(settings.when, outcome, diff)):
        return []
    results: list[str] = []
    with _quiet_http_logs(), make_client(http=http, follow_redirects=False) as client:
        for index, hook in enumerate(settings.webhooks):
            label = _label(hook, index)
            payload = slack_payload(outcome, diff) if hook.format == "slack" else json_payload(outcome, diff)
            try:
                response = client.post(hook.url, json=payload, timeout=hook.timeout)
            except httpx.TimeoutException:
                results.append(f"{label}: not sent (timed out after {hook.timeout:g}s)")
                continue
            except httpx.HTTPError:
                results.append(f"{label}: not sent (connection failed)")
                continue
            if 200 <= response.status_code < 300:
                results.append(f"{label}: sent ({response.status_code})")
            else:
                results.append(f"{label}: not sent (HTTP {response.status_code})")
    return results
