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
from pathlib import Path
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
    """Load, merge, interpolate and validate one environment's params file (see ``harden_lib.params``).

    An attestation's ``covers`` ids must resolve through the check catalog: a typo there would
    keep the attestation green while the check it depends on fails, so it is a params error.
    A waiver naming an unknown id fails safe (it waives nothing) and is reported as a
    ``governance.waiver.unmatched`` finding instead, which says the id is not in the catalog.
    """
    env = _load(path, environ, model=Environment)
    check_named_ids(env)
    return env


def check_named_ids(env: Any) -> None:
    from harden_lib.catalog import defined_ids, resolves
    from harden_lib.errors import ParamsError

    defined = defined_ids(env.model_dump(mode="json"))
    source = env.source or Path(env.name)
    for index, attestation in enumerate(env.attestations):
        for position, covered in enumerate(attestation.covers):
            if not resolves(covered, defined):
                raise ParamsError(
                    source,
                    f"attestations[{index}].covers[{position}]",
                    f"unknown check id '{covered}' (not in the check catalog — see harden checks)",
                )
