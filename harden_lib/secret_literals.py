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
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from harden_lib.envfile import is_well_known_value, looks_like_secret, url_password
from harden_lib.redact import (
    NAME_VALUE_FIELDS,
    find_token_shapes,
    is_plain_words,
    is_published_name,
    is_secret_key,
    is_seed_phrase,
    name_words,
    register_secret,
    seed_phrase_end,
)

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
    .tf .tfvars .hcl .nix .sql .cshtml .razor .jsp .aspx .erb .ejs .twig""".split()  # noqa: SIM905
)
#: ``KEY=value``, ``KEY: value``, ``"key": "value"``, ``'key' => 'value'``, ``key := value``,
#: ``KEY ?= value`` and a quoted name as a call's first argument (``define('DB_PASSWORD', 'value')``,
#: ``os.getenv("API_TOKEN", "default")``): the name and the separator; the value is read after them
#: (the scan resumes after the name when it is no secret's).
_LINE_PAIR = re.compile(
    r"(?:(?P<call>\()[ \t]*|(?<![\w.\-/$]))(?P<kq>[\"'`]?)(?P<key>[A-Za-z_][\w.\-]*)(?P=kq)"
    r"[ \t]*(?P<sep>::=|:=|\?=|\+=|=>|=(?![=~>])|:(?![:=/\\])|,(?=[ \t]*[\"']))[ \t]*"
)
#: ``--name=value``, ``--name value``, ``-name=value``, ``-Dname=value`` (in a command line, a list item,
#: a JSON/YAML string: ``args: ["--github-token=ghp_…"]``).
#: The value may also be the next item of a list: ``["--db-password", "…"]`` or a YAML block list
#: (``- --db-password`` then ``- …`` on the next line).
_LINE_FLAG = re.compile(
    r"(?<![\w\-])(?P<dashes>--?)(?P<key>[A-Za-z][\w.\-]*)"
    r"(?P<sep>=|[ \t]+|[\"'][ \t]*,[ \t]*(?=[\"'])|[\"']?[ \t]*\r?\n[ \t]*-[ \t]+)"
)
#: A whole-line directive ``requirepass value`` (redis.conf, pgbouncer, nginx-like configs).
_LINE_DIRECTIVE = re.compile(r"(?m)^[ \t]*(?P<key>[A-Za-z_][\w.\-]*)[ \t]+(?P<value>[^\s#;]+)[ \t]*;?[ \t]*\r?$")
_NEWLINE = re.compile(r"\n")
_LINE_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|`[^`\n]*`|[^\s\"'`,;)\]}<>]+")
#: Names and references, not values: ``snake_case``/``kebab-case``/``dotted.names`` of two or more
#: words (a Kubernetes secret's name, a vault path), ``UPPER_SNAKE`` names, calls and indexing,
#: dotted references (``settings.SECRET_KEY``, ``el.dataset.cookieString``).
_NAME_LIKE = re.compile(
    r"^(?:[a-z][a-z0-9]*(?:[_.\-][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[\w.$]+[(\[].*"
    r"|[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)$"
)
#: ``name=value`` parts of a connection string (``Server=db;Password=x;``).
_INNER_PAIR = re.compile(r"([A-Za-z][\w .]*?)[ \t]*=[ \t]*([^;]*)")
_HOST_PORT = re.compile(r"^[\w.\-]+:\d{1,5}$")
_REFERENCE_MARKS = ("${", "{{", "#{", "%(", "{%", "<%", "$(", "@{")
_KEY_LIKE_WORDS = frozenset({"key", "keys", "sig", "signature"})
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "bot", "apikey", "digest"})
_SCHEME_VALUE = re.compile(r"[A-Za-z]+[ \t]+[^\s\"'`,;)\]}<>]+")
_URL_BEARING_WORDS = frozenset({"webhook", "dsn"})
#: Shortest value taken for a secret by its name alone (shorter ones are flags, ports, examples).
MIN_VALUE_CHARS = 8
#: Bytes read to tell a binary file (a NUL byte among them, as git does).
_BINARY_PROBE = 8192


def _skipped_file(name: str) -> bool:
    from detect_secrets.filters.heuristic import is_lock_file, is_non_text_file

    return is_non_text_file(name) or is_lock_file(name)


def is_real_value(key: str, value: str, *, quoted: bool = True, code: bool = False, _part: bool = False) -> bool:
    """Whether ``value``, written under the secret-named ``key``, looks like a real secret.

    Not: empty or short (under ``MIN_VALUE_CHARS``), a reference or template (``${VAR}``, ``$VAR``,
    ``{{ x }}``, ``%(x)s``, ``<your-key>``, a YAML alias/tag, a flow list), a switch (``true``, ``off``),
    a number, a path, prose (several words; but a seed phrase is a secret, and ``Bearer <token>`` is
    judged by its token), written words (``db-credentials``, ``DB_PASSWORD``, ``HttpOnly``:
    ``redact.is_plain_words``), a call (``get_secret()``), an unquoted word in a code file (a
    variable), a well-known or placeholder value (``changeme``, ``your-token-here``, ``xxxx``, repeats
    and sequences: ``config_rules.weak_shape``), a ``host:port`` or a path of written names. A URL
    counts only for its password (or whole, under a webhook/DSN name), a connection string only
    for a secret-named part (``Password=…;``), a ``name=value`` cookie for its value. A name whose
    only secret words are ``key``/``sig`` (``API_KEY``, ``ENCRYPTION_KEY``) asks for a random-looking
    value (``envfile.looks_like_secret``): keys are generated, a word there is usually a key's *name*.
    """
    from harden_lib.checks.config_rules import weak_shape

    body = value.strip()
    if len(body) < MIN_VALUE_CHARS or (code and not quoted):
        return False
    parts = _INNER_PAIR.findall(body) if "=" in body.rstrip("=") and not _part else []
    if parts and (";" in body or "connectionstring" in name_words(key)):
        # A connection string: secret only through a secret-named part (Password=…, AccountKey=…).
        return any(is_secret_key(k) and is_real_value(k, v, _part=True) for k, v in parts)
    if parts:  # a cookie "sid=…": judged by its values (one level: a part is not split again)
        return any(is_real_value(key, v, _part=True) for _, v in parts)
    words = body.split()
    if len(words) > 1:
        if is_seed_phrase(body):
            return True
        if len(words) != 2 or words[0].lower() not in _AUTH_SCHEMES:
            return False  # prose ("Configure session timeouts"), not a value
        body = words[1]  # "Bearer <token>" under an Authorization key
    if body[0] in "$%{<@*&![(" or any(mark in body for mark in _REFERENCE_MARKS):
        return False
    if "://" in body:
        password = url_password(body)
        if password:
            return not is_well_known_value(password) and not weak_shape(password)
        return bool(_URL_BEARING_WORDS & set(name_words(key))) and not weak_shape(body)
    if body.lower() in _FLAG_VALUES or body.isdigit() or body.startswith(("/", "./", "../", "~/")):
        return False
    if _HOST_PORT.match(body) or (("/" in body or "\\" in body) and _path_like(body)):
        return False
    core = body.strip("_-.")  # "__jquery_form_reset" is a name as much as "jquery_form_reset"
    if _NAME_LIKE.match(core) or is_plain_words(core) or is_well_known_value(body) or weak_shape(body):
        return False
    strong = [w for w in name_words(key) if w not in _KEY_LIKE_WORDS]
    if not is_secret_key("_".join(strong)):
        return looks_like_secret(body)
    return True


def _overlaps(spans: list[tuple[int, int]], begin: int, end: int) -> bool:
    """Whether [begin, end) overlaps one of the sorted ``spans`` (looked up by bisection: a file with
    many hits costs n log n, not n squared); the few spans starting just before ``end`` are checked."""
    index = bisect_right(spans, (end, -1))
    return any(spans[i][1] > begin for i in range(max(0, index - 3), index))


def _path_like(body: str) -> bool:
    """``.deploystack/creds.json``, ``projects/PROJECT_ID/instances/x``: every segment a written name."""
    return all(
        not part or part.isdigit() or is_plain_words(part.strip("_-.")) or bool(_NAME_LIKE.match(part.strip("_-.")))
        for part in re.split(r"[/\\]", body)
    )


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
    hits = scan_text(data.decode("utf-8", errors="replace"), name, code=code)
    for hit in hits:
        register_secret(hit.value)
    return hits


def scan_text(text: str, file: str, *, code: bool = False) -> list[LineSecret]:
    """The secrets of one file's text, one per value (a name hit and a shape hit on one value are one).

    The whole text is scanned at once (no pattern crosses a line end), and each hit is placed on its
    line afterwards, so a file costs a few linear passes whatever its number of lines.
    """
    starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
    named: list[tuple[int, int, str, str]] = []  # (start, end, what, value)
    public: list[tuple[int, int]] = []  # value spans of names that say "published" (an anon JWT)
    for pattern in (_LINE_PAIR, _LINE_FLAG, NAME_VALUE_FIELDS):
        position = 0
        while match := pattern.search(text, position):
            position = match.end("key") + 1
            key = match.group("key")
            secret = is_secret_key(key)
            if not secret and not is_published_name(key):
                continue
            value = _LINE_VALUE.match(text, match.end())
            if value is None:
                continue
            if pattern is _LINE_PAIR and match.group("sep") == "," and not (match.group("kq") and match.group("call")):
                continue  # "a, b" / ("webhook", "webhooks"): a list, not a call's quoted name and value
            position = max(position, value.end())  # a value read is consumed: linear on any text
            if not secret:
                public.append((value.start(), value.end()))
                continue
            raw = value.group(0)
            quoted = raw[:1] in "\"'`"
            body = raw[1:-1] if quoted and len(raw) > 1 else raw
            if not quoted and body.isalpha() and body.islower():
                seed = seed_phrase_end(text, value.start())  # KEY=abandon ability …: the whole phrase
                body = text[value.start() : seed] if seed else body
            if not quoted and body.lower() in _AUTH_SCHEMES:
                scheme = _SCHEME_VALUE.match(text, value.start())  # Authorization: Bearer <token>
                body = scheme.group(0) if scheme else body
            begin = value.start() + (1 if quoted else 0)
            position = max(position, begin + len(body))
            flag_inside_string = pattern is _LINE_FLAG and match.group("sep") == "="
            if pattern is _LINE_FLAG and not flag_inside_string and body.startswith("-"):
                position = match.end("key") + 1
                continue  # "--password -v": the next option, not a value
            # the next item of a list (["--token", "x"]) is a literal, whatever the file type
            literal = quoted or flag_inside_string or (pattern is _LINE_FLAG and match.group("sep").strip() != "")
            if is_real_value(key, body, quoted=literal, code=code and not flag_inside_string):
                named.append((begin, begin + len(body), f"{key} is set to a literal", body))
    if not code:
        lines_with_hits = {bisect_right(starts, begin) for begin, _, _, _ in named}
        for directive in _LINE_DIRECTIVE.finditer(text):
            key, body = directive.group("key"), directive.group("value")
            if bisect_right(starts, directive.start()) in lines_with_hits or not is_secret_key(key):
                continue
            if is_real_value(key, body, quoted=False):
                named.append((directive.start("value"), directive.end("value"), f"{key} is set to a literal", body))
    found = [(begin, what, value) for begin, _, what, value in named]
    named_spans = sorted((a, b) for a, b, _, _ in named)
    public.sort()
    for begin, end, kind in find_token_shapes(text):
        if _overlaps(public, begin, end):
            continue  # NEXT_PUBLIC_SUPABASE_ANON_KEY=eyJ…: published on purpose
        if _overlaps(named_spans, begin, end):
            continue  # the same value, already found under its name
        found.append((begin, f"a {kind} token", text[begin:end]))
    hits = []
    for begin, what, value in sorted(found, key=lambda f: f[0]):
        line = bisect_right(starts, begin)
        hits.append(LineSecret(file, line, begin - starts[line - 1] + 1, what, value))
    return hits
