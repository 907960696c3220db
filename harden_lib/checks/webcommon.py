"""Running async probes from code that may itself be inside an event loop.

A Jupyter kernel runs an event loop, so a bare ``asyncio.run`` would fail in a notebook; the
web areas (surface, cors) call their async probes through ``run_sync``. (Findings are built by
``harden_lib.catalog.finding``, the one builder of every area.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, also inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
