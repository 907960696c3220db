"""The environment model, assembled from the installed areas, and loading it.

``harden_lib.params`` knows the params every environment has (base URL, gate, HTTP client,
waivers …) and how to read them (``extends``, ``${VAR}``, relative paths, clear errors).
Each area brings the model of its own section (``AreaSpec.params``). This module puts the
two together, so that neither side imports the other's internals: areas import
``harden_lib.params`` (and this module only for type hints), and ``harden_lib.params``
imports no area.
"""

from __future__ import annotations

import os
import typing
from typing import Any

from pydantic import Field, create_model

from harden_lib.areas import registry
from harden_lib.params import EnvironmentBase
from harden_lib.params import load_environment as _load


def _assemble() -> type[EnvironmentBase]:
    areas = registry()
    sections: dict[str, Any] = {
        name: (spec.params, Field(default_factory=spec.params))
        for name, spec in areas.items()
        if spec.params is not None
    }
    clashes = sorted(set(sections) & set(EnvironmentBase.model_fields))
    if clashes:
        raise RuntimeError(f"area params sections clash with core params: {', '.join(clashes)}")
    model = create_model(  # type: ignore[call-overload]
        "Environment",
        __base__=EnvironmentBase,
        __module__=__name__,
        __doc__="One environment's validated params: the core params plus every installed area's section.",
        areas=(list[str], Field(default_factory=lambda: list(areas))),
        **sections,
    )
    model.known_areas = tuple(areas)
    return model


Environment = _assemble()


def load_environment(path: str | os.PathLike[str], environ: typing.Mapping[str, str] | None = None) -> Any:
    """Load, merge, interpolate and validate one environment's params file (see ``harden_lib.params``)."""
    return _load(path, environ, model=Environment)
