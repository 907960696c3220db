"""The ``history:`` and ``notify:`` sections of an environment's params.

Kept free of heavy imports (no SQLAlchemy, no httpx), because the params model imports it.
"""

from __future__ import annotations

import contextlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.redact import register_secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryParams(_Strict):
    """Where completed runs are recorded (see ``harden_lib.history.store``)."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the history store (e.g. postgresql+psycopg://harden@db/harden; write "
        "the password as ${VAR}). Default: HARDEN_HISTORY_URL, else reports/history.sqlite",
    )
    enabled: bool = Field(True, description="record runs of this environment in the history store")
    trend_runs: int = Field(30, ge=2, le=1000, description="how many recent runs the trends report covers")

    @field_validator("url")
    @classmethod
    def _secret_password(cls, value: str | None) -> str | None:
        if value:
            from urllib.parse import urlsplit

            with contextlib.suppress(ValueError):
                register_secret(urlsplit(value).password)
        return value


class Webhook(_Strict):
    """One webhook. Its URL is a secret (a Slack webhook URL is its own credential)."""

    url: str = Field(description="the webhook URL; write it as ${VAR}: it is never shown or logged")
    format: Literal["json", "slack"] = Field("json", description="generic JSON document, or Slack-compatible text")
    name: str = Field("", description="a label for messages (default: webhook N)")
    timeout: float = Field(10.0, gt=0, le=60, description="seconds for the whole request")

    @field_validator("url")
    @classmethod
    def _https_and_secret(cls, value: str) -> str:
        register_secret(value.strip())  # from now on every output of this process scrubs it
        from urllib.parse import urlsplit

        try:
            scheme = urlsplit(value.strip()).scheme.lower()
        except ValueError:
            raise ValueError("is not a URL") from None
        if scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip()


class NotifyParams(_Strict):
    """When and where a run's outcome is sent (see ``harden_lib.notify``)."""

    # named ``when``, not ``on``: YAML 1.1 (PyYAML) reads a bare ``on:`` key as the boolean true
    when: Literal["no-go", "change", "always", "never"] = Field(
        "no-go",
        description="no-go: when the verdict is NO-GO or the run is incomplete; change: when something is new or "
        "fixed since the last run, or the verdict changed; always; never",
    )
    webhooks: list[Webhook] = Field(default_factory=list)
    report_url: str | None = Field(
        None, description="where the reports are published (links in messages: <report_url>/<env>/<run>/index.html)"
    )
