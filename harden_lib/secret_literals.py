"""Secrets written as literals into compose files, Dockerfiles and any other tracked text file.

detect-secrets does not understand ``environment:`` mappings or ``ENV``/``ARG`` lines well
enough (an unquoted ``ENV API_TOKEN=abc`` is missed), and a literal there ends up in image
layers and in git. One detector, shared by the secrets area and the containers area.
A value that references the environment (``${VAR}``, ``$VAR``) or is empty is not a literal.

``scan_lines`` is the kit's own line scanner for every other tracked text file: detect-secrets'
YAML transformer skips string items of YAML sequences after a plain key (Yelp/detect-secrets#791),
so ``env: [- GITHUB_TOKEN=ghp_…]`` in Helm values or ``args: ["--github-token=ghp_…"]`` in a
Kubernetes manifest pass unseen. It reads secret-named assignments in the syntaxes configuration,
scripts and code use, and the vendor token shapes the redactor knows, whatever the file type.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from harden_lib.envfile import is_well_known_value, looks_like_secret, url_password
from harden_lib.redact import find_token_shapes, is_published_name, is_secret_key, name_words, register_secret

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


# --------------------------------------------------------------------------- every other text file


@dataclass(frozen=True)
class LineSecret:
    """A secret the line scanner saw: where, and what (a key name or a token kind); the value is
    kept only to merge detectors' hits and fingerprint them, never shown (not in ``repr``)."""

    file: str
    line: int
    column: int  # 1-based, where the value starts
    what: str  # "GITHUB_TOKEN is set to a literal", "a GitHub token"
    value: str = field(repr=False)


#: Files whose unquoted right-hand side is an expression (``password = get_password()``), not a
#: literal: only quoted values (and option values inside strings) count there.
_CODE_SUFFIXES = frozenset(
    """.py .pyi .js .mjs .cjs .jsx .ts .tsx .mts .cts .vue .svelte .go .rb .java .kt .kts .scala .groovy .gradle
    .php .cs .fs .vb .rs .c .h .cc .cpp .cxx .hpp .m .mm .swift .dart .lua .ex .exs .erl .clj .r .jl .pl .pm
    .tf .tfvars .hcl .nix .sql""".split()  # noqa: SIM905
)
#: ``KEY=value``, ``KEY: value``, ``"key": "value"``, ``'key' => 'value'``, ``key := value``,
#: ``KEY ?= value`` and a quoted name before a comma (``define('DB_PASSWORD', 'value')``): the name and
#: the separator; the value is read after them (the scan resumes after the name when it is no secret's).
_LINE_PAIR = re.compile(
    r"(?<![\w.\-/$])(?P<kq>[\"'`]?)(?P<key>[A-Za-z_][\w.\-]*)(?P=kq)"
    r"[ \t]*(?P<sep>::=|:=|\?=|\+=|=>|=(?![=~>])|:(?![:=/\\])|,(?=[ \t]*[\"']))[ \t]*"
)
#: ``--name=value``, ``--name value``, ``-name=value``, ``-Dname=value`` (in a command line, a list item,
#: a JSON/YAML string: ``args: ["--github-token=ghp_…"]``).
_LINE_FLAG = re.compile(r"(?<![\w\-])(?P<dashes>--?)(?P<key>[A-Za-z][\w.\-]*)(?P<sep>=|[ \t]+)")
#: A whole-line directive ``requirepass value`` (redis.conf, pgbouncer, nginx-like configs).
_LINE_DIRECTIVE = re.compile(r"^[ \t]*(?P<key>[A-Za-z_][\w.\-]*)[ \t]+(?P<value>[^\s#;]+)[ \t]*;?[ \t]*$")
_LINE_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|`[^`\n]*`|[^\s\"'`,;)\]}<>]+")
#: Names and references, not values: ``snake_case``/``kebab-case``/``dotted.names`` of two or more
#: words (a Kubernetes secret's name, a vault path), ``UPPER_SNAKE`` names, calls and indexing.
_NAME_LIKE = re.compile(r"^(?:[a-z][a-z0-9]*(?:[_.\-][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[\w.]+[(\[].*)$")
_REFERENCE_MARKS = ("${", "{{", "#{", "%(", "{%", "<%", "$(", "@{")
_KEY_LIKE_WORDS = frozenset({"key", "keys", "sig", "signature"})
_URL_BEARING_WORDS = frozenset({"webhook", "dsn"})
#: Shortest value taken for a secret by its name alone (shorter ones are flags, ports, examples).
MIN_VALUE_CHARS = 8
#: Bytes read to tell a binary file (a NUL byte among them, as git does).
_BINARY_PROBE = 8192


def _skipped_file(name: str) -> bool:
    from detect_secrets.filters.heuristic import is_lock_file, is_non_text_file

    return is_non_text_file(name) or is_lock_file(name)


def is_real_value(key: str, value: str, *, quoted: bool = True, code: bool = False) -> bool:
    """Whether ``value``, written under the secret-named ``key``, looks like a real secret.

    Not: empty or short (under ``MIN_VALUE_CHARS``), a reference or template (``${VAR}``, ``$VAR``,
    ``{{ x }}``, ``%(x)s``, ``<your-key>``, a YAML alias/tag), a switch (``true``, ``off``), a number,
    a path, a name (``db-credentials``, ``DB_PASSWORD``), a call (``get_secret()``), an unquoted word in
    a code file (a variable), a well-known or placeholder value (``changeme``, ``your-token-here``,
    ``xxxx``, repeats and sequences: ``config_rules.weak_shape``). A URL counts only for its password
    (or whole, under a webhook/DSN name). A name whose only secret words are ``key``/``sig``
    (``API_KEY``, ``ENCRYPTION_KEY``) asks for a random-looking value (``envfile.looks_like_secret``):
    keys are generated, a word there is usually a key's *name*.
    """
    from harden_lib.checks.config_rules import weak_shape

    body = value.strip()
    if len(body) < MIN_VALUE_CHARS or (code and not quoted):
        return False
    if body[0] in "$%{<@*&!" or any(mark in body for mark in _REFERENCE_MARKS):
        return False
    if "://" in body:
        password = url_password(body)
        if password:
            return not is_well_known_value(password) and not weak_shape(password)
        return bool(_URL_BEARING_WORDS & set(name_words(key))) and not weak_shape(body)
    if body.lower() in _FLAG_VALUES or body.isdigit() or body.startswith(("/", "./", "../", "~/")):
        return False
    if _NAME_LIKE.match(body) or is_well_known_value(body) or weak_shape(body):
        return False
    strong = [w for w in name_words(key) if w not in _KEY_LIKE_WORDS]
    if not is_secret_key("_".join(strong)):
        return looks_like_secret(body)
    return True


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:_BINARY_PROBE]


def scan_lines(path: Path, display: str | None = None, *, max_bytes: int | None = None) -> list[LineSecret]:
    """Secret-named assignments and vendor-shaped tokens in one text file, line by line.

    Bounded: a file larger than ``max_bytes`` (the caller's ``secrets.max_file_bytes``), a binary
    file (a NUL byte in its first 8 KiB) or a file type detect-secrets never reads (images, archives,
    lock files) is not read; every pattern is a linear scan of its line. Registers every value found
    for scrubbing. Lines are numbered as git and detect-secrets number them (``\\n``-separated).
    """
    name = display or path.name
    if _skipped_file(path.name):
        return []
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    if _is_binary(data):
        return []
    code = PurePosixPath(path.name).suffix.lower() in _CODE_SUFFIXES
    hits: list[LineSecret] = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
        line = raw.rstrip("\r")
        if line:
            hits.extend(_line_hits(name, number, line, code))
    for hit in hits:
        register_secret(hit.value)
    return hits


def _line_hits(file: str, number: int, line: str, code: bool) -> list[LineSecret]:
    """One line's secrets, one per value (a name hit and a shape hit on one value are one)."""
    named: list[tuple[int, int, str, str]] = []  # (start, end, what, value)
    public: list[tuple[int, int]] = []  # value spans of names that say "published" (an anon JWT)
    for pattern in (_LINE_PAIR, _LINE_FLAG):
        if pattern is _LINE_FLAG and "-" not in line:
            continue
        position = 0
        while match := pattern.search(line, position):
            position = match.end("key") + 1
            value = _LINE_VALUE.match(line, match.end())
            if value is None:
                continue
            key, raw = match.group("key"), value.group(0)
            quoted = raw[:1] in "\"'`"
            body = raw[1:-1] if quoted and len(raw) > 1 else raw
            if pattern is _LINE_PAIR and match.group("sep") == "," and not match.group("kq"):
                continue  # "a, b": a list, not a quoted name before its value
            if is_published_name(key) and not is_secret_key(key):
                public.append((value.start(), value.end()))
                continue
            if not is_secret_key(key):
                continue
            flag_inside_string = pattern is _LINE_FLAG and match.group("sep") == "="
            spaced_flag = pattern is _LINE_FLAG and match.group("sep") != "="
            if spaced_flag and body.startswith("-"):
                continue
            if is_real_value(key, body, quoted=quoted or flag_inside_string, code=code and not flag_inside_string):
                start = value.start() + (1 if quoted else 0)
                named.append((start, start + len(body), f"{key} is set to a literal", body))
                position = value.end()
    if not named and not code:
        directive = _LINE_DIRECTIVE.match(line)
        if directive and is_secret_key(directive.group("key")):
            body = directive.group("value")
            if is_real_value(directive.group("key"), body, quoted=False):
                named.append((directive.start("value"), directive.end("value"),
                              f"{directive.group('key')} is set to a literal", body))  # fmt: skip
    hits = [LineSecret(file, number, start + 1, what, value) for start, _, what, value in named]
    for start, end, kind in find_token_shapes(line):
        if any(a <= start < b for a, b in public):
            continue  # NEXT_PUBLIC_SUPABASE_ANON_KEY=eyJ…: published on purpose
        if any(a < end and start < b for a, b, _, _ in named):
            continue  # the same value, already found under its name
        hits.append(LineSecret(file, number, start + 1, f"a {kind} token", line[start:end]))
    return hits
