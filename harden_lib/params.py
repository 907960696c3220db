"""Loading an environment's params: YAML, ``extends``, ``${VAR}``, relative paths, validation.

Every problem becomes a ``ParamsError`` naming the file, the key path and what is wrong, and
never quoting a value (a value may be a secret interpolated from the process environment).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PrivateAttr, ValidationError, field_validator

from harden_lib.errors import ParamsError
from harden_lib.findings import Severity
from harden_lib.governance import Attestation, SignOffs, Waiver
from harden_lib.history.params import HistoryParams, NotifyParams
from harden_lib.redact import REDACTED, is_secret_key, redact_urls, register_secret

KeyPath = tuple[str | int, ...]

_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in params must never pass silently."""

    model_config = ConfigDict(extra="forbid")


class HttpParams(StrictModel):
    connect_timeout: float = Field(5.0, gt=0, le=120, description="seconds to establish a connection")
    read_timeout: float = Field(10.0, gt=0, le=300, description="seconds to wait for response data")
    max_body_bytes: int = Field(2_000_000, ge=1024, le=100_000_000, description="bytes read per body")
    max_redirects: int = Field(5, ge=0, le=20)
    verify: bool = Field(True, description="verify TLS certificates (leave on outside the lab)")
    ca_bundle: Path | None = Field(None, description="PEM file of extra CAs (private PKI)")
    user_agent: str | None = None
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="extra request headers sent only to the environment's own host (e.g. Authorization)",
    )


class GateParams(StrictModel):
    fail_on: Severity = Severity.HIGH
    checklist_not_run: Literal["block", "warn"] = Field(
        "warn",
        description="checklist rows that are not run, manual or not covered: block closes the gate, warn shows them",
    )


class DemoParams(StrictModel):
    enabled: bool = Field(False, description="start the embedded demo target and audit it")


class ExecutionParams(StrictModel):
    cell_timeout: int = Field(600, ge=10, le=7200, description="seconds one notebook cell may run")


class EnvironmentBase(StrictModel):
    """The params every environment has, whatever areas are installed.

    Each area's own section (``tls:``, ``headers:`` …) is added by ``harden_lib.environment``,
    which assembles the full ``Environment`` model from the area registry: this module never
    imports an area, so areas can import it freely (no import circle).
    """

    #: names of the installed areas (set on the assembled model)
    known_areas: ClassVar[tuple[str, ...]] = ()

    environment: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    production: bool = Field(True, description="production rules apply (stricter: e.g. no CORS '*')")
    base_url: HttpUrl | None = Field(None, description="the HTTPS address of the deployment")
    http_url: HttpUrl | None = Field(
        None, description="its plain-HTTP address (default: base_url with http:// on port 80)"
    )
    areas: list[str] = Field(default_factory=list)
    gate: GateParams = Field(default_factory=GateParams)
    http: HttpParams = Field(default_factory=HttpParams)
    demo: DemoParams = Field(default_factory=DemoParams)
    execution: ExecutionParams = Field(default_factory=ExecutionParams)
    active_probes: bool = Field(False, description="allow bursts such as rate-limit probes (opt-in, bounded)")
    waivers: list[Waiver] = Field(default_factory=list, description="accepted risks, each with an expiry")
    attestations: list[Attestation] = Field(default_factory=list, description="manual controls, dated")
    signoffs: SignOffs = Field(default_factory=SignOffs, description="who must approve the go-live")
    # issue 13: where runs are recorded, and who is told about them (models in harden_lib/history/params.py)
    history: HistoryParams = Field(default_factory=HistoryParams, description="the run history store")
    notify: NotifyParams = Field(default_factory=NotifyParams, description="webhooks sent after a run")

    checklist: Path | None = Field(
        None, description="a checklist profile (params/checklists/<system>.yaml) whose params this inherits"
    )

    _source: Path | None = PrivateAttr(None)
    _profile: Any = PrivateAttr(None)
    _files: tuple[Path, ...] = PrivateAttr(())
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in cls.known_areas]
        if unknown:
            raise ValueError(f"unknown area(s) {', '.join(unknown)}; known areas: {', '.join(cls.known_areas)}")
        if len(set(value)) != len(value):
            raise ValueError("an area is listed twice")
        return value

    @property
    def name(self) -> str:
        return self.environment

    @property
    def profile(self):  # -> ChecklistProfile | None (import kept lazy)
        """The checklist profile this environment is audited against, if any."""
        return self._profile

    @property
    def source(self) -> Path | None:
        """The params file this environment was loaded from."""
        return self._source

    @property
    def files(self) -> tuple[Path, ...]:
        """Every params file that contributed (the file itself and what it extends)."""
        return self._files

    @property
    def base(self) -> str | None:
        """``base_url`` as a string without a trailing slash, or None."""
        return str(self.base_url).rstrip("/") if self.base_url else None

    @property
    def plain_http(self) -> str | None:
        """The plain-HTTP form of the site, for redirect checks."""
        if self.http_url:
            return str(self.http_url).rstrip("/")
        if not self.base_url:
            return None
        host = self.base_url.host or ""
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}"

    def redacted_params(self) -> dict[str, Any]:
        """The merged params as written (``${VAR}`` placeholders, not their values), secrets masked."""
        return _mask_literal_secrets(self._raw)

    def digest(self) -> str:
        """sha256 of the merged params as written: identifies the configuration, not its secrets."""
        canonical = json.dumps(self._raw, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- loading


def load_environment(
    path: str | os.PathLike[str],
    environ: typing.Mapping[str, str] | None = None,
    *,
    model: type[EnvironmentBase],
) -> Any:
    """Load, merge, interpolate and validate one environment's params file against ``model``.

    ``model`` is the assembled environment model: ``harden_lib.environment.load_environment``
    (the usual way in) passes ``harden_lib.environment.Environment``.
    """
    environ = os.environ if environ is None else environ
    top = Path(path).expanduser()
    if not top.is_file():
        raise ParamsError(top, "", "params file does not exist")
    top = top.resolve()
    raw, resolved, origins, files = _load_tree(top, environ, stack=(), model=model)
    profile = None
    if resolved.get("checklist"):
        profile, raw, resolved = _apply_profile(resolved, raw, origins, files, environ, top, model)
    resolved.setdefault("environment", top.stem)
    raw.setdefault("environment", top.stem)
    try:
        env = model.model_validate(resolved)
    except ValidationError as exc:
        raise _validation_error(exc, top, origins) from None
    env._source = top
    env._profile = profile
    env._files = tuple(files)
    env._raw = raw
    return env


def _apply_profile(resolved, raw, origins, files, environ, top, model):
    """Merge a checklist profile's ``params`` UNDER the environment's own params.

    Where the profile's list entries carry an ``id`` or ``name`` (attestations, commands, config
    rules, datastores), the environment's entries merge into them by that key and new ones are
    appended, so an environment adds its dates, owners and URLs to the profile's controls
    instead of restating them; other lists are replaced, as with ``extends``.
    """
    from harden_lib.checklist import load_profile, read_profile_document

    profile_path = Path(resolved["checklist"])
    where = origins.get(("checklist",), top)
    if not profile_path.is_file():
        raise ParamsError(where, "checklist", f"checklist profile {profile_path} does not exist")
    document = read_profile_document(profile_path)
    base = document.get("params") or {}
    if not isinstance(base, dict):
        raise ParamsError(profile_path, "params", "must be a mapping of params")
    profile = load_profile(profile_path)
    base_resolved = _resolve_paths(_interpolate(base, profile_path, environ, ()), profile_path.parent, model)
    for keypath in _leaf_paths(base_resolved):
        origins.setdefault(keypath, profile_path)
    files.insert(0, profile_path)
    return profile, _keyed_merge(base, raw), _keyed_merge(base_resolved, resolved)


def _keyed_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _keyed_merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        key = _list_key(base)
        if key is None:
            return override
        merged_list: dict[str, Any] = {item[key]: item for item in base}
        extra: list[Any] = []
        for item in override:
            name = item.get(key) if isinstance(item, dict) else None
            if isinstance(name, str):
                merged_list[name] = _keyed_merge(merged_list[name], item) if name in merged_list else item
            else:
                extra.append(item)  # e.g. an environment's own rule without an id
        return [*merged_list.values(), *extra]
    return override


def _list_key(items: list[Any]) -> str | None:
    for key in ("id", "name"):
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            return key
    return None


def environment_path(name: str, params_dir: str | os.PathLike[str] = "params") -> Path:
    """Where ``harden run --env NAME`` looks for the params of NAME."""
    return Path(params_dir) / f"{name}.yaml"


def environment_names(params_dir: str | os.PathLike[str] = "params") -> list[str]:
    """What ``harden run --all`` runs: every ``*.yaml`` directly in the params folder.

    Shared bases and checklist profiles live in sub-folders (``base/``, ``checklists/``) and
    templates are named ``*.example.yaml``, so neither is mistaken for an environment.
    """
    folder = Path(params_dir)
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file() and not p.name.endswith(".example.yaml"))


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(file, "", f"cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ParamsError(file, "", "file is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        # Only the parser's problem statement: its context snippet could quote a secret.
        raise ParamsError(file, where, f"invalid YAML: {problem}") from None
    except (ValueError, TypeError) as exc:
        # e.g. `expires: 2026-13-01`: YAML reads it as a date and the calendar refuses it.
        raise ParamsError(file, "", f"invalid value in YAML ({str(exc)[:80]}), e.g. an impossible date") from None
    if data is None:
        raise ParamsError(file, "", "file is empty; expected a mapping of params")
    if not isinstance(data, dict):
        raise ParamsError(file, "", f"top level must be a mapping of params, not a {type(data).__name__}")
    return data


def _load_tree(
    file: Path, environ: typing.Mapping[str, str], stack: tuple[Path, ...], model: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, Any], dict[KeyPath, Path], list[Path]]:
    """(raw merged, interpolated merged, origin file per key path, files) for ``file``."""
    if file in stack:
        chain = " -> ".join(p.name for p in (*stack, file))
        raise ParamsError(stack[-1], "extends", f"extends cycle: {chain}")
    data = _read_yaml(file)
    extends = data.pop("extends", None)
    bases: list[str]
    if extends is None:
        bases = []
    elif isinstance(extends, str):
        bases = [extends]
    elif isinstance(extends, list) and all(isinstance(b, str) for b in extends):
        bases = extends
    else:
        raise ParamsError(file, "extends", "must be a file path or a list of file paths")

    raw: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    origins: dict[KeyPath, Path] = {}
    files: list[Path] = []
    for base in bases:
        base_file = (file.parent / os.path.expanduser(base)).resolve()
        if not base_file.is_file():
            raise ParamsError(file, "extends", f"base params file {base} does not exist")
        b_raw, b_resolved, b_origins, b_files = _load_tree(base_file, environ, (*stack, file), model)
        raw = _deep_merge(raw, b_raw)
        resolved = _deep_merge(resolved, b_resolved)
        origins.update(b_origins)
        files.extend(f for f in b_files if f not in files)

    own = _interpolate(data, file, environ, ())
    own = _resolve_paths(own, file.parent, model)
    for keypath in _leaf_paths(own):
        origins[keypath] = file
    raw = _deep_merge(raw, data)
    resolved = _deep_merge(resolved, own)
    files.append(file)
    return raw, resolved, origins, files


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced by the override."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _leaf_paths(node: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_paths(value, (*prefix, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaf_paths(value, (*prefix, index))


def format_key_path(keypath: typing.Sequence[str | int]) -> str:
    out = ""
    for part in keypath:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# --------------------------------------------------------------------------- ${VAR}


def _interpolate(node: Any, file: Path, environ: typing.Mapping[str, str], keypath: KeyPath) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, file, environ, (*keypath, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, file, environ, (*keypath, i)) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    if "${" not in node:
        _register_url_password(node)
        return node

    # keypath[0] is a params section (``secrets:`` is an area, not a secret); key-name fields hold names.
    secret_context = any(isinstance(k, str) and k not in _KEY_NAME_FIELDS and is_secret_key(k) for k in keypath[1:])

    def substitute(match: re.Match[str]) -> str:
        escaped, name, default = match.group(1), match.group(2), match.group(3)
        if escaped:
            return match.group(0)[1:]  # "$${X}" is the literal "${X}"
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ParamsError(
                    file,
                    format_key_path(keypath),
                    f"environment variable {name} is not set (write ${{{name}:-default}} to give a default)",
                )
            value = default
        if secret_context or is_secret_key(name):
            register_secret(value)
        return value

    result = _VAR.sub(substitute, node)
    _register_url_password(result)
    return result


def _register_url_password(value: str) -> None:
    """A URL in params may carry a password (written or assembled from variables): remember it."""
    if "://" in value and "@" in value:
        from urllib.parse import urlsplit

        with contextlib.suppress(ValueError):
            register_secret(urlsplit(value).password)


#: Fields of the kit's own params that hold env key *names* (config rules, conditions, datastores).
_KEY_NAME_FIELDS = frozenset({"key", "keys", "url_key"})


def _names_a_key(value: str) -> bool:
    """An env key name (``DATABASE_URL``), not a value shaped like a credential."""
    from harden_lib.envfile import looks_like_secret

    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", value)) and not looks_like_secret(value)


def _mask_literal_secrets(node: Any, key: str = "") -> Any:
    """The params as written, safe to show: what a secret-named key holds is masked (a
    ``${VAR}`` reference stays, its ``:-default`` does not), and every URL in any string loses
    its password and credential query parameters (``redact.redact_urls``)."""
    if isinstance(node, dict):
        return {k: _mask_literal_secrets(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_literal_secrets(v, key) for v in node]
    if isinstance(node, str) and key in _KEY_NAME_FIELDS and _names_a_key(node):
        return node  # `key: SESSION_SECRET` (a rule, a condition, a datastore) names a key, holds no secret
    if isinstance(node, str) and key and is_secret_key(key):
        reference = _PLACEHOLDER.fullmatch(node.strip())
        if not reference:
            return REDACTED
        return re.sub(r":-[^}]*\}$", f":-{REDACTED}}}", node.strip()) if ":-" in node else node
    if isinstance(node, str):
        return redact_urls(node)
    return node


# --------------------------------------------------------------------------- relative paths


def _path_patterns(annotation: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key-path patterns of every ``Path`` field reachable from ``annotation`` ('*' = any)."""
    origin = typing.get_origin(annotation)
    if annotation is Path:
        return [prefix]
    if origin is Annotated:
        return _path_patterns(typing.get_args(annotation)[0], prefix)
    if origin in (Union, types.UnionType):
        out: list[tuple[str, ...]] = []
        for arg in typing.get_args(annotation):
            out.extend(p for p in _path_patterns(arg, prefix) if p not in out)
        return out
    if origin in (list, tuple, set, frozenset):
        out = []
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                out.extend(_path_patterns(arg, (*prefix, "*")))
        return out
    if origin is dict:
        args = typing.get_args(annotation)
        return _path_patterns(args[1], (*prefix, "*")) if args else []
    if origin is Literal:
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out = []
        for name, field in annotation.model_fields.items():
            key = field.alias or name
            out.extend(_path_patterns(field.annotation, (*prefix, key)))
        return out
    return []


_PATH_PATTERNS: dict[type[BaseModel], list[tuple[str, ...]]] = {}


def _resolve_paths(data: dict[str, Any], folder: Path, model: type[BaseModel]) -> dict[str, Any]:
    if model not in _PATH_PATTERNS:
        _PATH_PATTERNS[model] = _path_patterns(model)

    def visit(node: Any, pattern: tuple[str, ...]) -> Any:
        if not pattern:
            if isinstance(node, str) and node and not _PLACEHOLDER.search(node):
                expanded = Path(os.path.expanduser(node))
                return str(expanded if expanded.is_absolute() else Path(os.path.normpath(folder / expanded)))
            return node
        head, rest = pattern[0], pattern[1:]
        if head == "*":
            if isinstance(node, list):
                return [visit(v, rest) for v in node]
            if isinstance(node, dict):
                return {k: visit(v, rest) for k, v in node.items()}
            return node
        if isinstance(node, dict) and head in node:
            return {**node, head: visit(node[head], rest)}
        return node

    for pattern in _PATH_PATTERNS[model]:
        data = visit(data, pattern)
    return data


# --------------------------------------------------------------------------- errors


def _validation_error(exc: ValidationError, top: Path, origins: dict[KeyPath, Path]) -> ParamsError:
    """One clear message for all problems; never the offending input value."""
    problems = []
    first_file: Path = top
    for index, error in enumerate(exc.errors(include_input=False, include_url=False)):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and _is_union_tag(p)))
        file = _origin_of(loc, origins) or top
        if index == 0:
            first_file = file
        where = format_key_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see params/production.example.yaml)"
        note = f" (set in {file.name})" if file != first_file else ""
        problems.append(f"{where}: {message}{note}")
    if len(problems) == 1:
        key, _, problem = problems[0].partition(": ")
        return ParamsError(first_file, key, problem)
    return ParamsError(first_file, "", f"{len(problems)} problems:\n  - " + "\n  - ".join(problems))


def _is_union_tag(part: str) -> bool:
    # pydantic inserts the chosen union member / discriminator value into error locations.
    return part.startswith(("function-", "tagged-union[")) or part in {"str", "int", "float", "bool"}


def _origin_of(loc: KeyPath, origins: dict[KeyPath, Path]) -> Path | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in origins:
            return origins[loc[:cut]]
    return None
