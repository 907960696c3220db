"""The one interface every checklist area implements.

An area is one module (or package) under ``harden_lib/checks/`` that declares, at module level::

    AREA = AreaSpec(
        name="tls",
        title="TLS",
        purpose="Protocols, cipher suites and certificates of every TLS endpoint …",
        params=TlsParams,        # the pydantic model of its ``tls:`` section of the params
        order=30,                # where it sits in reports and the default ``areas`` list
    )
    def run(env) -> list[Finding]: ...

plus its catalog entries in ``harden_lib/catalog/<name>.yaml`` and one notebook
``notebooks/<name>.ipynb``. ``harden_lib.areas`` discovers every module that declares ``AREA``
(and third-party areas registered under the ``harden.areas`` entry point), and
``harden_lib.environment`` assembles the environment model from the areas' params models, so
``harden_lib.params`` never imports an area and adding an area touches no central file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from harden_lib.findings import Finding


@dataclass(frozen=True)
class AreaSpec:
    """What the runner, the params, the reports and the catalog need to know about an area."""

    name: str
    title: str
    purpose: str
    #: the pydantic model of the area's params section (None: the area has no section)
    params: type[BaseModel] | None = None
    order: int = 100
    #: the module that defines ``run`` (filled in by the registry)
    module: str = field(default="", compare=False)

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    def runner(self) -> Callable[[Any], list[Finding]]:
        """The area's ``run(env)``."""
        return importlib.import_module(self.module).run
