"""The registry of checklist areas, discovered rather than listed.

Every module or package under ``harden_lib/checks/`` that declares ``AREA = AreaSpec(...)``
is an area (see ``harden_lib.area``); so is every ``AreaSpec`` registered by another package
under the ``harden.areas`` entry-point group. Adding an area therefore means one module (+ its
catalog file), one notebook and one test file: the params model, the runner, the CLI and the
summary all read the registry.

Discovery imports the area modules, which is why it happens on first use (``registry()``)
and never when ``harden_lib.params`` is imported.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from harden_lib.area import AreaSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from harden_lib.findings import Finding

SUMMARY = "summary"
ENTRY_POINT_GROUP = "harden.areas"

#: Backwards-compatible name: ``Area`` objects are ``AreaSpec`` now.
Area = AreaSpec


def _discover_builtin() -> list[AreaSpec]:
    import harden_lib.checks as package

    found = []
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        module = importlib.import_module(info.name)
        spec = getattr(module, "AREA", None)
        if isinstance(spec, AreaSpec):
            found.append(replace(spec, module=info.name))
    return found


def _discover_plugins() -> list[AreaSpec]:
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if isinstance(spec, AreaSpec):
            found.append(replace(spec, module=spec.module or point.value.split(":", 1)[0]))
    return found


@functools.cache
def registry() -> dict[str, AreaSpec]:
    """Every area, in report order (``order``, then name)."""
    specs: dict[str, AreaSpec] = {}
    for spec in sorted([*_discover_builtin(), *_discover_plugins()], key=lambda s: (s.order, s.name)):
        if spec.name in specs or spec.name == SUMMARY:
            raise RuntimeError(
                f"two areas are called '{spec.name}' ({specs.get(spec.name, spec).module}, {spec.module})"
            )
        specs[spec.name] = spec
    return specs


class _Registry(Mapping[str, AreaSpec]):
    """``AREAS``: a read-only view of ``registry()`` that discovers on first access."""

    def __getitem__(self, name: str) -> AreaSpec:
        return registry()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(registry())

    def __len__(self) -> int:
        return len(registry())

    def __repr__(self) -> str:
        return f"AREAS({', '.join(registry())})"


AREAS: Mapping[str, AreaSpec] = _Registry()


def area_names() -> list[str]:
    return list(registry())


def runner(name: str) -> Callable[..., list[Finding]]:
    return registry()[name].runner()
