"""Env-file preflight (placeholder contract; the rule engine is being written)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class ConfigParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env_file: Path | None = None
    rules: list[dict] = []
