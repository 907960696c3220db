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


#: Areas whose module does not declare ``AREA`` yet (removed once every area declares itself).
_LEGACY: tuple[AreaSpec, ...] = (
    AreaSpec(
        "config",
        "Configuration preflight",
        "The deployment's env file: secrets strong, URLs safe, debug switches off.",
        order=10,
        module="harden_lib.checks.config",
    ),
    AreaSpec(
        "headers",
        "Security headers",
        "HTTP response headers that make browsers enforce HTTPS, block framing and injected scripts.",
        order=20,
        module="harden_lib.checks.headers",
    ),
    AreaSpec(
        "tls",
        "TLS",
        "Protocols, cipher suites and certificates of every TLS endpoint: trusted, matching, not expiring.",
        order=30,
        module="harden_lib.checks.tls",
    ),
    AreaSpec(
        "surface",
        "Exposed surface",
        "Required routes, HTTPS redirect, development URLs leaking in assets, exposed files, health.",
        order=40,
        module="harden_lib.checks.surface",
    ),
    AreaSpec(
        "cors",
        "CORS and WebSockets",
        "Which other web sites may read the API, and whether WebSocket handshakes check their Origin.",
        order=50,
        module="harden_lib.checks.cors",
    ),
    AreaSpec(
        "ratelimit",
        "Rate limits",
        "Login, password reset and API limits really bite (bounded, opt-in bursts).",
        order=60,
        module="harden_lib.checks.ratelimit",
    ),
    AreaSpec(
        "secrets",
        "Secrets hygiene",
        "No secret in git or container files, a different secret per environment, each one strong.",
        order=70,
        module="harden_lib.checks.secrets",
    ),
    AreaSpec(
        "datastores",
        "Datastores",
        "Redis and PostgreSQL: authentication required, TLS, least-privilege roles, memory and persistence.",
        order=80,
        module="harden_lib.checks.datastores",
    ),
    AreaSpec(
        "containers",
        "Containers",
        "Compose services and Dockerfiles: non-root, limits, healthchecks, log rotation, no privileged mode.",
        order=90,
        module="harden_lib.checks.containers",
    ),
    AreaSpec(
        "dependencies",
        "Dependency vulnerabilities",
        "Known vulnerabilities from npm audit, pip-audit, osv-scanner and Trivy, deduplicated and gated.",
        order=100,
        module="harden_lib.checks.dependencies",
    ),
    AreaSpec(
        "commands",
        "Verification commands",
        "The team's smoke and verification commands: exit code, duration and redacted output.",
        order=110,
        module="harden_lib.checks.commands",
    ),
    AreaSpec(
        "operations",
        "Operational controls",
        "Backups, runbooks, on-call, monitoring, key rotation: attested by a named owner, and fresh.",
        order=120,
        module="harden_lib.checks.operations",
    ),
)


@functools.cache
def registry() -> dict[str, AreaSpec]:
    """Every area, in report order (``order``, then name)."""
    specs: dict[str, AreaSpec] = {}
    discovered = [*_discover_builtin(), *_discover_plugins()]
    names = {s.name for s in discovered}
    for legacy in _LEGACY:
        if legacy.name not in names:
            module = importlib.import_module(legacy.module)
            params = next((v for k, v in vars(module).items() if k.lower() == f"{legacy.name}params"), None)
            discovered.append(replace(legacy, params=params))
    for spec in sorted(discovered, key=lambda s: (s.order, s.name)):
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
