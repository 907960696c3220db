"""The embedded demo target (a small HTTPS web app on 127.0.0.1) and its test PKI.

``DemoTarget`` and ``running_demo`` are imported lazily so that
``python -m harden_lib.demo.server`` does not import the module twice (runpy warns when a
package has already imported the module it is asked to run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harden_lib.demo.server import DemoTarget, running_demo

__all__ = ["DemoTarget", "running_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from harden_lib.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
