"""``harden validate``: params files and checklist profiles checked without running anything.

Loading an environment validates its shape (``harden_lib.params``); this module adds what a run
would only find out later: every file or folder the params point at (env file, CA bundle,
repository checkout, compose files, dependency reports, command folders …) exists and is of the
right kind. The fields are found by their type (every ``Path`` field of the assembled model,
whatever area declares it), so a new area's file references are checked without a change here.

A checklist profile (``params/checklists/<system>.yaml``) is recognised by its shape (``system``
and ``items``, no ``environment``) and validated as a profile: items, check ids, its source
checklist text, and the params it hands to environments (their shape and referenced files).

Messages name the params file and the key, and show a path as written in the params (a
``${VAR}`` stays a placeholder): a value interpolated from the process environment is never
printed.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from harden_lib.errors import HardenError, ParamsError
from harden_lib.params import format_key_path

KeyPath = tuple[str | int, ...]

#: Words of a field name (``repo_path`` -> repo, path) that make it name a folder (a checkout, a
#: working directory); any other ``Path`` field (``env_file``, ``ca_bundle``, ``reports``) names a file.
_FOLDER_WORDS = frozenset({"dir", "directory", "path", "cwd", "repo", "folder", "checkout", "root"})


@dataclass(frozen=True)
class Outcome:
    """One validated file: ``ok`` with a one-line summary, or the problems found (each a full sentence)."""

    file: Path
    kind: str  # "environment" | "profile"
    summary: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def is_profile(path: Path) -> bool:
    """A checklist profile rather than an environment: a mapping with ``system`` and ``items``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return False  # the environment loader reports the problem with its own words
    return isinstance(data, dict) and "items" in data and "system" in data and "environment" not in data


def validate(path: Path) -> Outcome:
    """Validate one params file or checklist profile (see the module docstring)."""
    return validate_profile(path) if is_profile(path) else validate_environment(path)


def validate_environment(path: Path) -> Outcome:
    from harden_lib.environment import load_environment

    try:
        env = load_environment(path)
    except HardenError as exc:
        return Outcome(path, "environment", "", (str(exc),))
    problems = list(missing_references(env))
    summary = f"environment '{env.name}', areas {', '.join(env.areas)}, gate fail_on {env.gate.fail_on}"
    if env.profile is not None and env.files:
        summary += f"; checklist profile {env.files[0]} ({len(env.profile.items)} items)"
    return Outcome(path, "environment", summary, tuple(problems))


def validate_profile(path: Path) -> Outcome:
    """The profile itself, its source checklist, and its params as an environment would inherit them."""
    from harden_lib.checklist import load_profile

    try:
        profile = load_profile(path)
    except HardenError as exc:
        return Outcome(path, "profile", "", (str(exc),))
    problems: list[str] = []
    source = (path.resolve().parent / profile.source).resolve()
    if not source.is_file():
        problems.append(f"{path}: source: the checklist text {profile.source} does not exist (relative to the profile)")
    problems.extend(_inherited_params_problems(path.resolve()))
    summary = f"checklist profile '{profile.system}' ({profile.title}), {len(profile.items)} items"
    return Outcome(path, "profile", summary, tuple(problems))


def _inherited_params_problems(profile: Path) -> list[str]:
    """Load an environment that only says ``checklist: <profile>``: the profile's params alone must be valid."""
    from harden_lib.environment import load_environment

    with tempfile.TemporaryDirectory(prefix="harden-validate-") as folder:
        probe = Path(folder) / "profile-params.yaml"
        probe.write_text(yaml.safe_dump({"checklist": str(profile)}), encoding="utf-8")
        try:
            env = load_environment(probe)
        except ParamsError as exc:
            if Path(exc.file) in (probe, profile):  # the merged params came from the profile: name its key
                key = f"params.{exc.key}" if exc.key else "params"
                return [f"{profile}: {key}: {exc.problem}"]
            return [str(exc)]
        except HardenError as exc:
            return [str(exc)]
        return list(missing_references(env))


# --------------------------------------------------------------------------- referenced files


def missing_references(env: Any) -> Iterator[str]:
    """A sentence for every ``Path`` value of ``env`` that does not exist or is the wrong kind."""
    documents = _documents(env)
    for keypath, name, value in _path_values(env):
        if not value.exists():
            problem = "does not exist"
        elif _wants_folder(name) and not value.is_dir():
            problem = "is not a folder"
        elif not _wants_folder(name) and not value.is_file():
            problem = "is not a file"
        else:
            continue
        file, written = _origin(keypath, documents)
        where = f"{file}: {format_key_path(keypath)}"
        shown = f"'{written}'" if isinstance(written, str) else "the referenced path"
        absolute = isinstance(written, str) and (Path(written).expanduser().is_absolute() or written.startswith("$"))
        relative = "" if absolute else " (relative to that file's folder)"
        yield f"{where}: {shown}{relative} {problem}"


def _wants_folder(name: str) -> bool:
    """By the model's field name (``repo_path``), never by a user's dict key (``env_files: {repo: …}``)."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    return bool(words & _FOLDER_WORDS) and not words & {"file", "files", "bundle"}


def _path_values(node: Any, prefix: KeyPath = (), field_name: str = "") -> Iterator[tuple[KeyPath, str, Path]]:
    """(key path, model field name, value) of every ``Path`` in a validated model, by the params' key names."""
    if isinstance(node, Path):
        yield prefix, field_name, node
    elif isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            key = field.alias or name
            yield from _path_values(getattr(node, name), (*prefix, key), key)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _path_values(value, (*prefix, str(key)), field_name)
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from _path_values(value, (*prefix, index), field_name)


def _documents(env: Any) -> list[tuple[Path, Any]]:
    """The params as written in each contributing file, last (winning) first; a profile's ``params``."""
    out: list[tuple[Path, Any]] = []
    profile = env.files[0] if getattr(env, "profile", None) is not None and env.files else None
    for file in reversed(env.files):
        try:
            data = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if file == profile and isinstance(data, dict):
            data = data.get("params") or {}
        out.append((Path(file), data))
    return out


def _lookup(data: Any, keypath: KeyPath) -> tuple[bool, Any]:
    node = data
    for part in keypath:
        listed = isinstance(part, int) and isinstance(node, list) and part < len(node)
        mapped = isinstance(part, str) and isinstance(node, dict) and part in node
        if not (listed or mapped):
            return False, None
        node = node[part]
    return True, node


def _origin(keypath: KeyPath, documents: list[tuple[Path, Any]]) -> tuple[Path | str, Any]:
    """The file that sets ``keypath`` (the last one that does) and the value as written there."""
    for file, data in documents:
        found, value = _lookup(data, keypath)
        if found:
            return file, value
    return (documents[0][0] if documents else "params"), None
