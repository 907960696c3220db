"""Containers: compose services and Dockerfiles checked against the container hardening items.

Compose files are merged the way ``docker compose -f a.yml -f b.yml`` merges them (later files
override; mappings merge, ``ports``/``cap_add``/… add up, ``environment``/``labels`` merge by
key, ``volumes`` by target) and ``extends:`` is resolved, so the service judged is the one that
would really run. A service built from a Dockerfile inherits that Dockerfile's final ``USER``,
``HEALTHCHECK`` and base images. Secret literals are found by the detector shared with the
secrets area (``harden_lib.secret_literals``); values are never shown.

Base images past their end of life (``containers.base_image_eol``) are judged against a bundled,
dated table (``harden_lib/data/eol.yaml``, refreshable with ``eol_table``); the images a checklist
asks for (``checklist_images``) are judged the same way and flagged, not enforced, when the advice
has aged (``containers.checklist_image_eol``: "checklist asks node:20 — past end of life since
2026-04-30, use node:22+"). Secrets passed as build arguments (``containers.build_args``: compose
``build.args`` with secret names or secret-looking values, Dockerfile ``ARG`` with secret names,
``--build-arg`` in scripts, CI files and the commands area's commands) end up in the image's
history and metadata; only their names and line numbers are shown.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.checks import eol
from harden_lib.envfile import looks_like_secret
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Status
from harden_lib.redact import find_token_shapes, is_secret_key
from harden_lib.secret_literals import LiteralSecret, scan_compose, scan_dockerfile

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

#: Ports of services that should never be reachable from outside the host (datastores, admin UIs).
DEFAULT_INTERNAL_PORTS = [
    2375,
    2376,
    2379,
    3306,
    5432,
    5672,
    6379,
    8500,
    9000,
    9001,
    9200,
    9300,
    11211,
    15672,
    18081,
    18083,
    27017,
]
#: Capabilities that amount to root on the host (or close to it).
DANGEROUS_CAPS = {
    "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "NET_ADMIN", "DAC_READ_SEARCH",
    "DAC_OVERRIDE", "SETUID", "SETGID", "BPF", "PERFMON", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE",
}  # fmt: skip
DOCKER_SOCKETS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
)
ROOT_USERS = {"root", "0", "0:0", "root:root"}


class ContainersParams(BaseModel):
    """The ``containers:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    compose_files: list[Path] = Field(
        default_factory=list,
        description="compose files of ONE project, merged in order like `docker compose -f a -f b`",
    )
    dockerfiles: list[Path] = Field(
        default_factory=list, description="Dockerfiles not referenced by a compose `build:` (checked on their own)"
    )
    internal_ports: list[int] = Field(
        default_factory=lambda: list(DEFAULT_INTERNAL_PORTS),
        description="container ports that must not be published on all interfaces",
    )
    require_digest: bool = Field(False, description="a version tag is only a warning: demand @sha256 digests")
    eol_table: Path | None = Field(
        None, description="a YAML EOL table merged over the bundled harden_lib/data/eol.yaml (refresh the dates)"
    )
    eol_warn_days: int = Field(90, ge=0, le=3650, description="warn this many days before a base image's EOL")
    checklist_images: list[str] = Field(
        default_factory=list, description="images the checklist asks for (e.g. node:20-alpine): flagged when outdated"
    )
    scripts: list[Path] = Field(
        default_factory=list, description="build scripts, Makefiles and CI files scanned for secrets in --build-arg"
    )


#: Columns of the service × check matrix, in display order.
MATRIX_CHECKS = [
    "user", "resources", "healthcheck", "logging", "restart", "privileged", "cap_add", "docker_socket",
    "host_namespaces", "image_pinned", "ports.internal", "secrets",
]  # fmt: skip


# --------------------------------------------------------------------------- Dockerfiles


@dataclass
class Stage:
    base: str
    alias: str = ""
    user: str | None = None
    healthcheck: bool | None = None  # None: not set; False: HEALTHCHECK NONE


@dataclass
class Dockerfile:
    """What matters of a Dockerfile: its stages (base image, final USER, HEALTHCHECK)."""

    path: str
    stages: list[Stage] = field(default_factory=list)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_chain(self) -> list[Stage]:
        """The final stage and the earlier stages it is built FROM (USER is inherited along it)."""
        chain: list[Stage] = []
        stage = self.final
        by_alias = {s.alias.lower(): s for s in self.stages if s.alias}
        while stage is not None and stage not in chain:
            chain.append(stage)
            stage = by_alias.get(stage.base.lower())
        return chain

    def effective_user(self) -> str | None:
        for stage in self.stage_chain():
            if stage.user is not None:
                return stage.user
        return None

    def effective_healthcheck(self) -> bool | None:
        for stage in self.stage_chain():
            if stage.healthcheck is not None:
                return stage.healthcheck
        return None

    def external_bases(self) -> list[str]:
        aliases = {s.alias.lower() for s in self.stages if s.alias}
        return [s.base for s in self.stages if s.base.lower() not in aliases and s.base.lower() != "scratch"]


def parse_dockerfile_text(text: str, path: str) -> Dockerfile:
    """Stages with their base, last USER and HEALTHCHECK; continuation lines joined."""
    result = Dockerfile(path=path)
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    if buffer:
        logical.append(buffer)
    for line in logical:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = words[0] if words else ""
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            result.stages.append(Stage(base=base, alias=alias))
        elif instruction == "USER" and result.stages:
            result.stages[-1].user = rest.split()[0] if rest else ""
        elif instruction == "HEALTHCHECK" and result.stages:
            result.stages[-1].healthcheck = rest.split()[0].upper() != "NONE" if rest else False
    return result


# --------------------------------------------------------------------------- compose merging

_UNION_LISTS = {"ports", "expose", "cap_add", "cap_drop", "dns", "dns_search", "tmpfs", "external_links", "devices"}
_KEYED_LISTS = {"environment", "labels", "extra_hosts", "sysctls"}


class ComposeError(Exception):
    """A compose file that cannot be read, parsed or resolved (names the file)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{_short(path)}: {problem}")
        self.path = path


def _as_mapping(value: Any) -> dict[str, Any]:
    """``environment``/``labels`` in list form (``KEY=VALUE``) as a mapping, as compose does."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        key, sep, val = str(item).partition("=")
        out[key] = val if sep else None
    return out


def _volume_target(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume.get("target", ""))
    parts = str(volume).split(":")
    return parts[1] if len(parts) >= 2 else parts[0]


def merge_service(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of one service definition over another (compose spec "Merge")."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if key in _KEYED_LISTS and old is not None:
            merged[key] = {**_as_mapping(old), **_as_mapping(value)}
        elif key in _UNION_LISTS and isinstance(old, list) and isinstance(value, list):
            merged[key] = old + [v for v in value if v not in old]
        elif key == "volumes" and isinstance(old, list) and isinstance(value, list):
            targets = {_volume_target(v): v for v in old}
            targets.update({_volume_target(v): v for v in value})
            merged[key] = list(targets.values())
        elif isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _merge_mappings(old, value)
        else:
            merged[key] = value
    return merged


def _merge_mappings(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge_mappings(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Service:
    """One merged compose service and where its definition came from."""

    name: str
    config: dict[str, Any]
    origins: list[tuple[Path, str]]  # (compose file, service name there): itself and what it extends
    dockerfile: Dockerfile | None = None
    dockerfile_error: str = ""

    @property
    def target(self) -> str:
        return f"service {self.name}"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ComposeError(path, "file does not exist") from None
    except UnicodeDecodeError:
        raise ComposeError(path, "cannot be read (not UTF-8 text)") from None
    except OSError as exc:
        raise ComposeError(path, f"cannot be read ({exc.strerror or 'input/output error'})") from None
    except RecursionError:
        raise ComposeError(path, "nested deeper than a compose file can be") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ComposeError(path, f"not valid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("services", {}), dict):
        raise ComposeError(path, "expected a mapping with a 'services' mapping")
    return data


def _resolve_extends(
    path: Path, name: str, cache: dict[Path, dict[str, Any]], seen: tuple[tuple[Path, str], ...] = ()
) -> tuple[dict[str, Any], list[tuple[Path, str]]]:
    if (path, name) in seen:
        raise ComposeError(path, f"service '{name}' extends itself (cycle)")
    if path not in cache:
        cache[path] = _load_yaml(path)
    services = cache[path].get("services") or {}
    if name not in services:
        raise ComposeError(path, f"extends names service '{name}', which is not defined there")
    config = dict(services[name] or {})
    extends = config.pop("extends", None)
    origins = [(path, name)]
    if extends is None:
        return config, origins
    if isinstance(extends, str):
        base_path, base_name = path, extends
    elif isinstance(extends, dict) and "service" in extends:
        base_name = str(extends["service"])
        base_path = (path.parent / extends["file"]).resolve() if extends.get("file") else path
    else:
        raise ComposeError(path, f"services.{name}.extends must name a service")
    base, base_origins = _resolve_extends(base_path, base_name, cache, (*seen, (path, name)))
    if extends is not None and isinstance(extends, dict) and extends.get("file"):
        base = _rebase_build(base, base_path.parent, path.parent)
    return merge_service(base, config), origins + base_origins


def _rebase_build(config: dict[str, Any], base_dir: Path, own_dir: Path) -> dict[str, Any]:
    """A build context inherited from another folder's file stays relative to that folder."""
    build = config.get("build")
    if isinstance(build, str):
        return {**config, "build": str((base_dir / build).resolve())}
    if isinstance(build, dict) and "context" in build:
        return {**config, "build": {**build, "context": str((base_dir / build["context"]).resolve())}}
    if isinstance(build, dict):
        return {**config, "build": {**build, "context": str(base_dir.resolve())}}
    return config


def load_project(files: list[Path]) -> dict[str, Service]:
    """Merge compose files in order (later override) with ``extends`` resolved per file."""
    cache: dict[Path, dict[str, Any]] = {}
    services: dict[str, Service] = {}
    if not files:
        return services
    project_dir = files[0].parent  # compose resolves relative paths against the first file's folder
    for path in files:
        path = path.resolve()
        cache[path] = _load_yaml(path)
        for name in cache[path].get("services") or {}:
            config, origins = _resolve_extends(path, str(name), cache)
            if path.parent != project_dir.resolve():
                config = _rebase_build(config, path.parent, project_dir) if "build" in config else config
            if name in services:
                old = services[name]
                services[name] = Service(name, merge_service(old.config, config), old.origins + origins)
            else:
                services[name] = Service(str(name), config, origins)
    for service in services.values():
        _attach_dockerfile(service, project_dir)
    return services


def _attach_dockerfile(service: Service, project_dir: Path) -> None:
    build = service.config.get("build")
    if build is None:
        return
    if isinstance(build, str):
        context, dockerfile, inline = build, "Dockerfile", None
    elif isinstance(build, dict):
        context = build.get("context", ".")
        dockerfile = build.get("dockerfile", "Dockerfile")
        inline = build.get("dockerfile_inline")
    else:
        service.dockerfile_error = "build: is neither a path nor a mapping"
        return
    if inline is not None:
        service.dockerfile = parse_dockerfile_text(str(inline), f"{service.name} dockerfile_inline")
        return
    if "://" in str(context) or str(context).startswith("git@"):
        service.dockerfile_error = "build context is a remote URL; its Dockerfile is not checked"
        return
    path = (project_dir / str(context) / str(dockerfile)).resolve()
    try:
        service.dockerfile = parse_dockerfile_text(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError):
        service.dockerfile_error = f"{_short(path)}: Dockerfile not found or unreadable"


def _short(path: Path | str) -> str:
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


# --------------------------------------------------------------------------- per-service checks


def _is_root(user: str | None) -> bool:
    return user is not None and user.strip().lower() in ROOT_USERS | {"root:0", "0:root"}


def check_user(service: Service) -> Finding:
    user = service.config.get("user")
    if user is not None:
        user = str(user)
        status = Status.FAIL if _is_root(user) else Status.PASS
        return finding("containers.user", status, service.target, f"user: {user}")
    if service.dockerfile_error:
        return finding("containers.user", Status.ERROR, service.target, service.dockerfile_error)
    if service.dockerfile is not None:
        final = service.dockerfile.effective_user()
        where = _short(service.dockerfile.path)
        if final is None:
            return finding(
                "containers.user", Status.FAIL, service.target, f"no user: and no USER in {where} (runs as root)"
            )
        status = Status.FAIL if _is_root(final) else Status.PASS
        return finding("containers.user", status, service.target, f"final USER {final} in {where}")
    image = service.config.get("image", "?")
    return finding(
        "containers.user",
        Status.WARN,
        service.target,
        f"no user: set; image {image} runs as whatever user it was built with (often root)",
        remediation="Set `user:` to a non-root uid the image supports, or verify and document the image's user.",
    )


def _mem_cpus(service: Service) -> tuple[Any, Any]:
    limits = ((service.config.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    memory = limits.get("memory") or service.config.get("mem_limit")
    cpus = limits.get("cpus") or service.config.get("cpus")
    return memory, cpus


def check_resources(service: Service) -> Finding:
    memory, cpus = _mem_cpus(service)
    observed = f"memory {memory or 'unlimited'}, cpus {cpus or 'unlimited'}"
    status = Status.PASS if memory and cpus else Status.WARN if memory else Status.FAIL
    return finding("containers.resources", status, service.target, observed)


def check_healthcheck(service: Service) -> Finding:
    hc = service.config.get("healthcheck")
    if isinstance(hc, dict):
        if hc.get("disable") or hc.get("test") in (["NONE"], "NONE"):
            return finding("containers.healthcheck", Status.WARN, service.target, "healthcheck disabled")
        if hc.get("test"):
            return finding("containers.healthcheck", Status.PASS, service.target, "healthcheck: in compose")
    if service.dockerfile is not None:
        in_image = service.dockerfile.effective_healthcheck()
        if in_image:
            return finding(
                "containers.healthcheck",
                Status.PASS,
                service.target,
                f"HEALTHCHECK in {_short(service.dockerfile.path)}",
            )
    return finding("containers.healthcheck", Status.WARN, service.target, "no healthcheck")


def check_logging(service: Service) -> Finding:
    logging = service.config.get("logging") or {}
    driver = str(logging.get("driver") or "json-file")
    options = logging.get("options") or {}
    if driver == "local":
        return finding("containers.logging", Status.PASS, service.target, "local driver (rotates by default)")
    if driver == "none":
        return finding("containers.logging", Status.WARN, service.target, "logging driver none: no logs kept")
    if driver != "json-file":
        return finding("containers.logging", Status.PASS, service.target, f"driver {driver} ships logs off the host")
    size, count = options.get("max-size"), options.get("max-file")
    observed = f"json-file, max-size {size or 'unset'}, max-file {count or 'unset'}"
    status = Status.PASS if size and count else Status.WARN if size else Status.FAIL
    return finding("containers.logging", status, service.target, observed)


def check_restart(service: Service) -> Finding:
    restart = service.config.get("restart")
    policy = ((service.config.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    value = str(restart) if restart is not None else (f"deploy {policy}" if policy else "unset (no)")
    ok = str(restart) in ("always", "unless-stopped") or str(restart).startswith("on-failure")
    ok = ok or (restart is None and policy in ("any", "on-failure"))
    return finding("containers.restart", Status.PASS if ok else Status.WARN, service.target, f"restart: {value}")


def check_privileged(service: Service) -> Finding:
    on = service.config.get("privileged") is True
    return finding(
        "containers.privileged", Status.FAIL if on else Status.PASS, service.target, f"privileged: {str(on).lower()}"
    )


def check_cap_add(service: Service) -> Finding:
    caps = [str(c).upper().removeprefix("CAP_") for c in service.config.get("cap_add") or []]
    dropped = [str(c).upper() for c in service.config.get("cap_drop") or []]
    note = "; cap_drop ALL" if "ALL" in dropped else ""
    if not caps:
        return finding("containers.cap_add", Status.PASS, service.target, f"no cap_add{note}")
    dangerous = [c for c in caps if c in DANGEROUS_CAPS]
    status = Status.FAIL if dangerous else Status.WARN
    return finding("containers.cap_add", status, service.target, f"cap_add: {', '.join(caps)}{note}")


def _volume_source(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume.get("source", ""))
    return str(volume).split(":")[0]


def check_docker_socket(service: Service) -> Finding:
    mounts = [_volume_source(v) for v in service.config.get("volumes") or []]
    sockets = [m for m in mounts if m.rstrip("/") in DOCKER_SOCKETS]
    if sockets:
        return finding("containers.docker_socket", Status.FAIL, service.target, f"mounts {', '.join(sockets)}")
    return finding("containers.docker_socket", Status.PASS, service.target, "no container-runtime socket mounted")


def check_host_namespaces(service: Service) -> Finding:
    shared = [
        f"{key}: host"
        for key in ("network_mode", "pid", "ipc", "userns_mode", "uts")
        if str(service.config.get(key, "")) == "host"
    ]
    if shared:
        return finding("containers.host_namespaces", Status.FAIL, service.target, ", ".join(shared))
    return finding("containers.host_namespaces", Status.PASS, service.target, "own namespaces")


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_pin(image: str) -> str:
    """``digest``, ``tag``, ``latest``, ``untagged`` or ``variable`` (unresolved ``$VAR``)."""
    if "$" in image:
        return "variable"
    if _DIGEST.search(image):
        return "digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "untagged"
    return "latest" if last.rsplit(":", 1)[1] == "latest" else "tag"


def check_image_pinned(service: Service | None, images: list[str], target: str, require_digest: bool) -> Finding:
    if service is not None and service.dockerfile_error:
        return finding("containers.image_pinned", Status.ERROR, target, service.dockerfile_error)
    if not images:
        return finding("containers.image_pinned", Status.SKIP, target, "no image or base image to judge")
    pins = {image: image_pin(image) for image in images}
    observed = ", ".join(f"{image} ({pin})" for image, pin in pins.items())
    if any(p in ("latest", "untagged") for p in pins.values()):
        status = Status.FAIL
    elif any(p == "variable" for p in pins.values()) or (require_digest and any(p == "tag" for p in pins.values())):
        status = Status.WARN
    else:
        status = Status.PASS
    return finding("containers.image_pinned", status, target, observed)


def _service_images(service: Service) -> list[str]:
    if service.dockerfile is not None:
        return service.dockerfile.external_bases()
    image = service.config.get("image")
    return [str(image)] if image else []


@dataclass(frozen=True)
class Published:
    host_ip: str
    published: str
    target: int | None
    raw: str


def parse_ports(entries: list[Any]) -> list[Published]:
    """Compose ``ports:`` in short (``[IP:][HOST:]CONTAINER[/proto]``) and long syntax."""
    out: list[Published] = []
    for entry in entries:
        if isinstance(entry, dict):
            target = entry.get("target")
            out.append(
                Published(
                    str(entry.get("host_ip", "")),
                    str(entry.get("published", "")),
                    int(target) if str(target).isdigit() else None,
                    str(entry),
                )
            )
            continue
        text = str(entry).split("/")[0]
        host_ip = ""
        if text.startswith("["):  # [::1]:6379:6379
            host_ip, _, text = text[1:].partition("]:")
        parts = text.split(":")
        if len(parts) == 3:
            host_ip, published, container = parts
        elif len(parts) == 2:
            published, container = parts
        else:
            published, container = "", parts[0]
        container = container.split("-")[0]  # a range: judge its first port
        out.append(Published(host_ip, published, int(container) if container.isdigit() else None, str(entry)))
    return out


def _loopback_or_private(host_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(host_ip.strip("[]"))
    except ValueError:
        return False  # a variable or a name: cannot prove it is not public
    return address.is_loopback or (address.is_private and not address.is_unspecified)


def check_internal_ports(service: Service, internal: set[int]) -> Finding:
    exposed = [
        p
        for p in parse_ports(service.config.get("ports") or [])
        if p.target in internal and not _loopback_or_private(p.host_ip)
    ]
    if exposed:
        observed = "published on all interfaces: " + ", ".join(p.raw for p in exposed)
        return finding("containers.ports.internal", Status.FAIL, service.target, observed)
    published = service.config.get("ports") or []
    observed = f"ports: {', '.join(str(p) for p in published)}" if published else "no ports published"
    return finding("containers.ports.internal", Status.PASS, service.target, observed)


def check_secrets(target: str, hits: list[LiteralSecret], scanned: str) -> Finding:
    if not hits:
        return finding("containers.secrets", Status.PASS, target, f"no secret literal in {scanned}")
    observed = "; ".join(f"{h.key} at {h.target} ({h.where})" for h in hits)
    return finding("containers.secrets", Status.FAIL, target, f"{len(hits)} literal(s), values hidden: {observed}")


# --------------------------------------------------------------------------- the audit


@dataclass
class ContainersAudit:
    """Findings plus the merged services and Dockerfiles they were judged on (no env values)."""

    findings: list[Finding] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    dockerfiles: dict[str, Dockerfile] = field(default_factory=dict)

    def matrix(self) -> pd.DataFrame:
        """One row per service/Dockerfile, one column per check, the status as the cell."""
        import pandas as pd

        rows: dict[str, dict[str, str]] = {}
        for f in self.findings:
            check = f.check_id.removeprefix("containers.")
            if check in MATRIX_CHECKS:
                rows.setdefault(f.target, {})[check] = f.status.value
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=MATRIX_CHECKS).fillna("")
        frame.index.name = "target"
        return frame

    def services_table(self) -> pd.DataFrame:
        """What each merged service runs: image or build, user, ports, limits; never environment values."""
        import pandas as pd

        rows = []
        for s in self.services.values():
            memory, cpus = _mem_cpus(s)
            rows.append(
                {
                    "service": s.name,
                    "image / build": s.config.get("image") or (_short(s.dockerfile.path) if s.dockerfile else ""),
                    "user": s.config.get("user") or (s.dockerfile.effective_user() if s.dockerfile else None) or "",
                    "ports": ", ".join(str(p) for p in s.config.get("ports") or []),
                    "memory": memory or "",
                    "cpus": cpus or "",
                    "defined in": ", ".join(f"{p.name}:{n}" for p, n in s.origins),
                }
            )
        return pd.DataFrame(rows, columns=["service", "image / build", "user", "ports", "memory", "cpus", "defined in"])


def audit(env: Environment, today: date | None = None) -> ContainersAudit:
    params = env.containers
    report = ContainersAudit()
    today = today or date.today()
    if not params.compose_files and not params.dockerfiles:
        report.findings.append(finding("containers.files", Status.SKIP, "", "nothing configured"))
        report.findings.extend(_eol_findings(report, params, today))
        report.findings.extend(_build_arg_findings(report, params, env))
        return report
    internal = set(params.internal_ports)
    if params.compose_files:
        try:
            report.services = load_project(params.compose_files)
        except ComposeError as exc:
            report.findings.append(finding("containers.compose", Status.ERROR, _short(exc.path), str(exc)))
        else:
            report.findings.append(
                finding(
                    "containers.compose",
                    Status.PASS,
                    ", ".join(_short(p) for p in params.compose_files),
                    f"{len(report.services)} service(s) after merging {len(params.compose_files)} file(s)",
                )
            )
    hits_by_origin: dict[tuple[str, str], list[LiteralSecret]] = {}
    for path in {p for s in report.services.values() for p, _ in s.origins}:
        for hit in scan_compose(path, _short(path)):
            hits_by_origin.setdefault((str(path), hit.service), []).append(hit)
    for service in report.services.values():
        report.findings.extend(_service_findings(service, internal, params.require_digest, hits_by_origin))
    for path in params.dockerfiles:
        report.findings.extend(_dockerfile_findings(path, report, params.require_digest))
    report.findings.extend(_eol_findings(report, params, today))
    report.findings.extend(_build_arg_findings(report, params, env))
    return report


def _service_findings(
    service: Service,
    internal: set[int],
    require_digest: bool,
    hits_by_origin: dict[tuple[str, str], list[LiteralSecret]],
) -> list[Finding]:
    hits = [h for path, name in service.origins for h in hits_by_origin.get((str(path), name), [])]
    scanned = "environment"
    if service.dockerfile is not None and Path(service.dockerfile.path).is_file():
        hits += scan_dockerfile(Path(service.dockerfile.path), _short(service.dockerfile.path))
        scanned += f" and {_short(service.dockerfile.path)}"
    return [
        check_user(service),
        check_resources(service),
        check_healthcheck(service),
        check_logging(service),
        check_restart(service),
        check_privileged(service),
        check_cap_add(service),
        check_docker_socket(service),
        check_host_namespaces(service),
        check_image_pinned(service, _service_images(service), service.target, require_digest),
        check_internal_ports(service, internal),
        check_secrets(service.target, hits, scanned),
    ]


def _dockerfile_findings(path: Path, report: ContainersAudit, require_digest: bool) -> list[Finding]:
    target = f"Dockerfile {_short(path)}"
    try:
        parsed = parse_dockerfile_text(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError):
        return [finding("containers.user", Status.ERROR, target, f"{_short(path)}: not found or unreadable")]
    report.dockerfiles[str(path)] = parsed
    if not parsed.stages:
        return [finding("containers.user", Status.ERROR, target, f"{_short(path)}: no FROM instruction")]
    user = parsed.effective_user()
    if user is None:
        user_finding = finding("containers.user", Status.FAIL, target, "no USER in the final stage (runs as root)")
    else:
        status = Status.FAIL if _is_root(user) else Status.PASS
        user_finding = finding("containers.user", status, target, f"final USER {user}")
    hc = parsed.effective_healthcheck()
    health = finding(
        "containers.healthcheck",
        Status.PASS if hc else Status.WARN,
        target,
        "HEALTHCHECK set" if hc else "no HEALTHCHECK (a compose healthcheck may still add one)",
    )
    return [
        user_finding,
        health,
        check_image_pinned(None, parsed.external_bases(), target, require_digest),
        check_secrets(target, scan_dockerfile(path, _short(path)), "ENV and ARG"),
    ]


# --------------------------------------------------------------------------- base image end of life


_ARG_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _global_args(path: Path) -> dict[str, str]:
    """``ARG NAME=default`` before the first FROM: what ``FROM node:${NODE_VERSION}`` resolves with."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for line in lines:
        words = line.strip().split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].upper() == "FROM":
            break
        if words[0].upper() == "ARG":
            for word in words[1:]:
                name, sep, value = word.partition("=")
                if sep:
                    out[name] = value.strip("'\"")
    return out


def _with_build_args(images: list[str], service: Service | None, path: Path | None = None) -> list[str]:
    """Base images with build arguments substituted: compose build.args over the Dockerfile's ARG defaults.

    ``ARG NODE_VERSION=20`` + ``FROM node:${NODE_VERSION}-alpine`` is how many Dockerfiles pin their
    runtime; left unresolved, the end-of-life check would see no version at all.
    """
    if not any("$" in image for image in images):
        return images
    if service is not None and service.dockerfile is not None:
        path = Path(service.dockerfile.path)
    values = _global_args(path) if path is not None else {}
    build = service.config.get("build") if service is not None else None
    args = build.get("args") if isinstance(build, dict) else None
    pairs = args.items() if isinstance(args, dict) else (str(a).partition("=")[::2] for a in args or [])
    for name, value in pairs:
        if value is not None and "$" not in str(value) and str(value) != "":
            values[str(name)] = str(value)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in values:
            return values[name]
        return match.group(2) if match.group(2) is not None else match.group(0)

    return [_ARG_REF.sub(substitute, image) for image in images]


def _eol_findings(report: ContainersAudit, params: ContainersParams, today: date) -> list[Finding]:
    targets: list[tuple[str, list[str]]] = [
        (s.target, _with_build_args(_service_images(s), s)) for s in report.services.values() if not s.dockerfile_error
    ]
    targets += [
        (f"Dockerfile {_short(path)}", _with_build_args(d.external_bases(), None, Path(path)))
        for path, d in report.dockerfiles.items()
    ]
    targets = [(t, images) for t, images in targets if images]
    if not targets and not params.checklist_images:
        return []
    try:
        table = eol.load_table(params.eol_table)
    except HardenError as exc:
        return [finding("containers.base_image_eol", Status.ERROR, "EOL table", str(exc))]
    dated = f"EOL table as of {table.as_of}"
    findings = []
    for target, images in targets:
        parts = dict.fromkeys(c for i in dict.fromkeys(images) for c in eol.components(i, table))
        judged = [eol.judge(c, table, today, params.eol_warn_days) for c in parts]
        if not judged:
            findings.append(
                finding(
                    "containers.base_image_eol",
                    Status.SKIP,
                    target,
                    f"no runtime or distribution version of the EOL table in {', '.join(images)[:300]}",
                )
            )
            continue
        status = (
            Status.FAIL
            if any(j.status == "past" for j in judged)
            else Status.WARN
            if any(j.status == "soon" for j in judged)
            else Status.PASS
        )
        findings.append(
            finding(
                "containers.base_image_eol",
                status,
                target,
                "; ".join(j.text for j in judged) + f" ({dated})",
                expected=f"every runtime and distribution supported for more than {params.eol_warn_days} days",
            )
        )
    for image in params.checklist_images:
        judged = [eol.judge(c, table, today, params.eol_warn_days) for c in eol.components(image, table)]
        target = f"checklist image {clean_observed(image, 120)}"
        if not judged:
            findings.append(
                finding(
                    "containers.checklist_image_eol", Status.SKIP, target, "no version of the EOL table in the name"
                )
            )
            continue
        outdated = [j for j in judged if j.status != "ok"]
        text = "; ".join(j.text for j in judged)
        findings.append(
            finding(
                "containers.checklist_image_eol",
                Status.WARN if outdated else Status.PASS,
                target,
                (f"checklist asks {clean_observed(image, 120)} — {text}" if outdated else text) + f" ({dated})",
            )
        )
    return findings


# --------------------------------------------------------------------------- secrets passed as build arguments

_BUILD_ARG = re.compile(
    r"""--build-arg(?:=|\s+)(["']?)([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|'[^']*'|[^\s"';&|)]*))?\1"""
)
_ACTIONS_BUILD_ARGS = re.compile(r"^(\s*)build[-_]args:\s*[|>]?[-+]?\s*$")
_ACTIONS_ARG = re.compile(r"^\s*-?\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class BuildArgHit:
    name: str
    where: str  # "line 12" / "build.args" / "ARG"
    why: str  # "secret name" / "secret-looking value"


def _secret_value(value: str) -> bool:
    value = value.strip().strip("'\"")
    if not value or value.startswith("$"):
        return False
    return looks_like_secret(value) or bool(find_token_shapes(value))


def _arg_hit(name: str, value: str | None, where: str) -> BuildArgHit | None:
    if is_secret_key(name):
        return BuildArgHit(name, where, "secret name")
    if value is not None and _secret_value(value):
        return BuildArgHit(name, where, "secret-looking value")
    return None


def scan_build_arg_text(text: str) -> list[BuildArgHit]:
    """``--build-arg NAME[=value]`` and CI ``build-args:`` blocks with secret names or values, by line."""
    hits: list[BuildArgHit] = []
    block_indent: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        for match in _BUILD_ARG.finditer(line):
            value = match.group(3)
            hit = _arg_hit(match.group(2), value.strip("'\"") if value else None, f"line {number}")
            if hit:
                hits.append(hit)
        if block_indent is not None:
            indent = len(line) - len(line.lstrip())
            if line.strip() and indent <= block_indent:
                block_indent = None
            elif (arg := _ACTIONS_ARG.match(line)) is not None:
                hit = _arg_hit(arg.group(1), arg.group(2), f"line {number}")
                if hit is None and "secrets." in arg.group(2):
                    hit = BuildArgHit(arg.group(1), f"line {number}", "CI secret passed as a build argument")
                if hit:
                    hits.append(hit)
        if (block := _ACTIONS_BUILD_ARGS.match(line)) is not None:
            block_indent = len(block.group(1))
    return hits


def dockerfile_secret_args(path: Path) -> list[BuildArgHit]:
    """``ARG`` instructions whose name is a secret's (the value ends up in the image history)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    hits = []
    for number, line in enumerate(lines, 1):
        words = line.strip().split()
        if not words or words[0].upper() != "ARG":
            continue
        for word in words[1:]:
            name, sep, value = word.partition("=")
            hit = _arg_hit(name, value if sep else None, f"ARG line {number}")
            if hit:
                hits.append(hit)
    return hits


def _compose_build_args(service: Service) -> list[BuildArgHit]:
    build = service.config.get("build")
    args = build.get("args") if isinstance(build, dict) else None
    items: list[tuple[str, str | None]] = []
    if isinstance(args, dict):
        items = [(str(k), None if v is None else str(v)) for k, v in args.items()]
    elif isinstance(args, list):
        for entry in args:
            name, sep, value = str(entry).partition("=")
            items.append((name, value if sep else None))
    hits = []
    for name, value in items:
        hit = _arg_hit(name, value, "build.args")
        if hit:
            hits.append(hit)
    return hits


def _build_arg_finding(target: str, hits: list[BuildArgHit], scanned: str) -> Finding:
    if not hits:
        return finding(
            "containers.build_args", Status.PASS, target, f"no secret passed as a build argument in {scanned}"
        )
    shown = "; ".join(f"{h.name} ({h.where}, {h.why})" for h in hits[:20]) + (" …" if len(hits) > 20 else "")
    return finding(
        "containers.build_args",
        Status.FAIL,
        target,
        f"{len(hits)} secret build argument(s), values hidden: {clean_observed(shown, 1000)}",
    )


def _build_arg_findings(report: ContainersAudit, params: ContainersParams, env: Environment) -> list[Finding]:
    findings = []
    for service in report.services.values():
        if service.config.get("build") is None:
            continue
        hits = _compose_build_args(service)
        scanned = "build.args"
        if service.dockerfile is not None and Path(service.dockerfile.path).is_file():
            hits += dockerfile_secret_args(Path(service.dockerfile.path))
            scanned += f" and ARG of {_short(service.dockerfile.path)}"
        findings.append(_build_arg_finding(service.target, hits, scanned))
    for path in report.dockerfiles:
        findings.append(_build_arg_finding(f"Dockerfile {_short(path)}", dockerfile_secret_args(Path(path)), "ARG"))
    for script in params.scripts:
        target = f"script {_short(script)}"
        try:
            text = Path(script).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            findings.append(
                finding("containers.build_args", Status.ERROR, target, f"{_short(script)}: not found or unreadable")
            )
            continue
        findings.append(_build_arg_finding(target, scan_build_arg_text(text), _short(script)))
    commands = getattr(getattr(env, "commands", None), "commands", None) or []
    for command in commands:
        text = command.run if isinstance(command.run, str) else " ".join(command.run)
        if "build-arg" in text:
            findings.append(
                _build_arg_finding(f"command {command.name}", scan_build_arg_text(text), "the command line")
            )
    return findings


def run(env: Environment) -> list[Finding]:
    return audit(env).findings


def plot_matrix(report: ContainersAudit) -> Figure:
    """Service × check grid coloured by status: the whole posture at a glance."""
    from matplotlib.colors import to_rgb

    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    matrix = report.matrix()
    if matrix.empty:
        return empty_chart("no services or Dockerfiles")
    fig = figure(9.0, 1.6 + 0.42 * len(matrix))
    ax = fig.subplots()
    blank = (0.96, 0.96, 0.96)
    grid = [[to_rgb(STATUS_COLOURS[Status(v)]) if v else blank for v in row] for row in matrix.to_numpy()]
    ax.imshow(grid, aspect="auto")
    for y, row in enumerate(matrix.to_numpy()):
        for x, value in enumerate(row):
            ax.text(x, y, value, ha="center", va="center", color="white" if value else "#9e9e9e", fontsize=7)
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(matrix)), list(matrix.index), fontsize=8)
    ax.set_title("Service × check (empty: not applicable)")
    return fig


AREA = AreaSpec(
    name="containers",
    title="Containers",
    purpose="Compose services and Dockerfiles: non-root, limits, healthchecks, log rotation, no privileged mode.",
    params=ContainersParams,
    order=90,
)
