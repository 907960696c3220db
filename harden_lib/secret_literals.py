"""Secrets written as literals into compose files and Dockerfiles.

detect-secrets does not understand ``environment:`` mappings or ``ENV``/``ARG`` lines well
enough (an unquoted ``ENV API_TOKEN=abc`` is missed), and a literal there ends up in image
layers and in git. One detector, shared by the secrets area and the containers area.
A value that references the environment (``${VAR}``, ``$VAR``) or is empty is not a literal.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from harden_lib.envfile import looks_like_secret
from harden_lib.redact import is_secret_key, register_secret

_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}?$")
#: Values of switches, not secrets, even under a secret-sounding name (SESSION_COOKIE_SECURE=true).
_FLAG_VALUES = {"true", "false", "yes", "no", "on", "off", "0", "1", "none", "null"}
_DOCKERFILE_INSTR = re.compile(r"^\s*(ENV|ARG)\s+(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class LiteralSecret:
    """Where a secret literal is, and under which key; never the value."""

    file: str
    line: int
    key: str
    where: str  # e.g. "compose service 'api' environment", "Dockerfile ENV"
    service: str = ""  # the compose service, so the containers area can attribute the hit

    @property
    def target(self) -> str:
        return f"{self.file}:{self.line}"


def is_literal_secret(key: str, value: str | None) -> bool:
    """A non-empty, non-reference value under a secret-like key (or that looks like a secret).

    ``${VAR}`` is a reference, but ``${VAR:-default}`` carries its default into git: the
    default is judged like any literal.
    """
    if value is None:
        return False
    value = str(value).strip().strip("'\"")
    if not value:
        return False
    reference = _REFERENCE.match(value)
    if reference:
        default = reference.group(3) if reference.group(2) == "-" else None
        return bool(default) and is_literal_secret(key, default)
    if value.lower() in _FLAG_VALUES:
        return False
    return is_secret_key(key) or looks_like_secret(value)


def _found(file: str, line: int, key: str, value: str, where: str, service: str = "") -> LiteralSecret:
    register_secret(str(value).strip().strip("'\""))
    return LiteralSecret(file=file, line=line, key=key, where=where, service=service)


def scan_compose(path: Path, display: str | None = None) -> list[LiteralSecret]:
    """Literal secrets in every service's ``environment:`` (mapping or list form), with line numbers."""
    name = display or path.name
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # an unparsable compose file is reported by whoever asked for it
    if not isinstance(root, yaml.MappingNode):
        return []
    hits: list[LiteralSecret] = []
    services = _child(root, "services")
    if not isinstance(services, yaml.MappingNode):
        return []
    for service_key, service in services.value:
        environment = _child(service, "environment") if isinstance(service, yaml.MappingNode) else None
        where = f"compose service '{service_key.value}' environment"
        if isinstance(environment, yaml.MappingNode):
            for key_node, value_node in environment.value:
                value = (
                    value_node.value
                    if isinstance(value_node, yaml.ScalarNode) and value_node.tag != "tag:yaml.org,2002:null"
                    else None  # `KEY:` / `KEY: ~` means "take it from the shell" in compose
                )
                if is_literal_secret(str(key_node.value), value):
                    hits.append(
                        _found(name, key_node.start_mark.line + 1, str(key_node.value), value, where, service_key.value)
                    )
        elif isinstance(environment, yaml.SequenceNode):
            for item in environment.value:
                if isinstance(item, yaml.ScalarNode) and "=" in str(item.value):
                    key, _, value = str(item.value).partition("=")
                    if is_literal_secret(key, value):
                        hits.append(_found(name, item.start_mark.line + 1, key, value, where, service_key.value))
    return hits


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def scan_dockerfile(path: Path, display: str | None = None) -> list[LiteralSecret]:
    """Literal secrets in ``ENV`` and ``ARG`` instructions (both ``K=V`` and legacy ``ENV K V``)."""
    name = display or path.name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    hits: list[LiteralSecret] = []
    index = 0
    while index < len(lines):
        start = index
        text = lines[index]
        while text.rstrip().endswith("\\") and index + 1 < len(lines):  # continuation lines
            index += 1
            text = text.rstrip()[:-1] + " " + lines[index]
        index += 1
        match = _DOCKERFILE_INSTR.match(text)
        if not match:
            continue
        instruction, rest = match.group(1).upper(), match.group(2).strip()
        for key, value in _pairs(rest, legacy=instruction == "ENV"):
            if is_literal_secret(key, value):
                line = _line_of(key, lines, start, index)
                hits.append(_found(name, line, key, value, f"Dockerfile {instruction}"))
    return hits


def _line_of(key: str, lines: list[str], start: int, end: int) -> int:
    """The physical line (1-based) of an instruction spread over continuation lines that holds ``key``."""
    pattern = re.compile(rf"(^|\s){re.escape(key)}(=|\s|$)")
    for number in range(start, end):
        if pattern.search(lines[number]):
            return number + 1
    return start + 1


def _pairs(rest: str, legacy: bool) -> list[tuple[str, str | None]]:
    try:
        tokens = shlex.split(rest, posix=True)
    except ValueError:
        tokens = rest.split()
    if not tokens:
        return []
    if legacy and "=" not in tokens[0] and len(tokens) > 1:
        return [(tokens[0], " ".join(tokens[1:]))]  # ENV KEY value with spaces
    pairs: list[tuple[str, str | None]] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        pairs.append((key, value if sep else None))
    return pairs


def is_compose_file(name: str) -> bool:
    lowered = name.lower()
    return bool(re.fullmatch(r"(docker-)?compose([.\-][\w.\-]+)?\.ya?ml", lowered))


def is_dockerfile(name: str) -> bool:
    lowered = name.lower()
    return lowered == "dockerfile" or lowered.startswith("dockerfile.") or lowered.endswith(".dockerfile")


def scan_file(path: Path, display: str | None = None) -> list[LiteralSecret]:
    """Dispatch on the file name: compose files and Dockerfiles; anything else has no literals here."""
    if is_compose_file(path.name):
        return scan_compose(path, display)
    if is_dockerfile(path.name):
        return scan_dockerfile(path, display)
    return []
