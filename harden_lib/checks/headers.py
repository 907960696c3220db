"""Security headers (placeholder contract; the checks are being written)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class HeadersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = []
