"""Reading a deployment's env file the way the app reads it, and teaching the scrubber its secrets.

The values come from python-dotenv's ``dotenv_values`` (with ``interpolate=False``): the audit
must see exactly what a python-dotenv based app would load, not what a stricter or more
lenient home-made parser would. python-dotenv silently skips a line it cannot parse (it only
logs a warning), so the same text is also walked with ``dotenv.parser.parse_stream`` to learn
*which* lines were skipped, where each key is defined and which keys are defined twice: a
skipped line usually means a setting the operator believes is set is not.

Loading an env file registers every value that could be a secret with
:func:`harden_lib.redact.register_secret`, so that whatever text later reaches a notebook,
HTML report, JSON or log is scrubbed of it even if a check forgot to redact.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from harden_lib.errors import HardenError
from harden_lib.redact import (
    is_secret_key,
    is_secret_query_param,
    is_seed_phrase,
    register_secret,
    shannon_entropy_bits,
)

#: Values that are read as "on" by the usual env-flag conventions.
TRUTHY = frozenset({"1", "true", "yes", "y", "on", "t", "enabled", "enable"})

#: Default and stand-in values (lower-cased, separators removed): public knowledge, never secrets.
_WELL_KNOWN_VALUES = frozenset(
    """changeme secret password passwd pass example test testing dummy placeholder default admin root
    toor letmein qwerty 123456 12345678 1234567890 abc123 foobar foo bar baz none null nil undefined
    empty dev development local localhost demo sample todo fixme tbd xxx secretkey mysecret supersecret
    sessionsecret apikey token key password1 p4ssw0rd hunter2 insecure notsecret changeit""".split()  # noqa: SIM905
)
_LIST_SPLIT = re.compile(r"[,\s]+")
_WHITESPACE_PREFIX = re.compile(r"\s*")
#: "https://…", "turns:host…", "mailto:…": a scheme of letters, then ':' (a secret has no such prefix).
_URI_PREFIX = re.compile(r"^[A-Za-z][A-Za-z+.\-]{1,15}:(?!\d)")
#: Lower-case dotted host names (optionally :port/path), snake/kebab-case words, UPPER_SNAKE names.
_NON_SECRET_SHAPE = re.compile(
    r"^(?:[a-z0-9\-]+(?:\.[a-z0-9\-]+)+(?::\d+)?(?:/\S*)?|[a-z]+(?:[_\-][a-z]+)*|[A-Z]+(?:_[A-Z]+)+)$"
)


@dataclass(frozen=True)
class SyntaxProblem:
    """A line python-dotenv skipped or read without a value. Never carries the line's text."""

    line: int
    message: str


@dataclass(frozen=True)
class EnvFile:
    """One parsed env file.

    ``values`` is what python-dotenv returns (the last definition of a key wins; a key written
    without ``=`` maps to ``None``). It is left out of ``repr`` so that printing an ``EnvFile``
    in a notebook or a traceback cannot show a secret.
    """

    path: Path
    values: dict[str, str | None] = field(repr=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False)
    problems: tuple[SyntaxProblem, ...] = ()
    duplicates: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The file name used in finding targets (``<name>:<KEY>``)."""
        return self.path.name

    def get(self, key: str) -> str | None:
        """The key's value, or ``None`` when the key is absent or has no value."""
        return self.values.get(key)

    def is_set(self, key: str) -> bool:
        """Present with a non-empty value: apps treat ``KEY=`` like an unset key."""
        return bool(self.values.get(key))

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __len__(self) -> int:
        return len(self.values)


def load_env_file(path: str | Path) -> EnvFile:
    """Parse an env file with python-dotenv and register its secret values for scrubbing.

    Raises ``HardenError`` (naming the file, never quoting its content) when the file is
    missing, unreadable or not UTF-8 text; every other oddity is reported in ``problems`` so
    that a malformed line becomes a finding rather than a crash.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HardenError(f"{path}: env file does not exist") from None
    except IsADirectoryError:
        raise HardenError(f"{path}: is a directory, not an env file") from None
    except UnicodeDecodeError as exc:
        raise HardenError(f"{path}: env file is not UTF-8 text (byte offset {exc.start})") from None
    except OSError as exc:
        raise HardenError(f"{path}: cannot read env file ({exc.strerror})") from None

    with _quiet_dotenv():
        values: dict[str, str | None] = dict(dotenv_values(stream=io.StringIO(text), interpolate=False))

    lines: dict[str, int] = {}
    seen: dict[str, list[int]] = {}
    problems: list[SyntaxProblem] = []
    for binding in parse_stream(io.StringIO(text)):
        line = _statement_line(binding.original.string, binding.original.line)
        if binding.error:
            problems.append(
                SyntaxProblem(line, "not a KEY=VALUE statement; python-dotenv skipped it, so nothing on it is set")
            )
        elif binding.key is not None:
            lines[binding.key] = line
            seen.setdefault(binding.key, []).append(line)
            if binding.value is None:
                problems.append(SyntaxProblem(line, _no_value_message(binding.key)))

    for key, value in values.items():
        register_env_value(key, value)
    duplicates = {key: tuple(at) for key, at in seen.items() if len(at) > 1}
    return EnvFile(path=path, values=values, lines=lines, problems=tuple(problems), duplicates=duplicates)


def register_file_secrets(path: str | Path | None) -> bool:
    """Teach the scrubber an env file's secret values without judging the file.

    For processes that show text but do not run the config checks (a kernel running another
    area, the runner): whatever they print is scrubbed of the env file's secrets too. A file
    that cannot be read is left to the config area to report; returns whether it was read.
    """
    if not path or not Path(path).is_file():
        return False
    try:
        load_env_file(path)
    except HardenError:
        return False
    return True


def _no_value_message(key: str) -> str:
    """A line without '=': usually a typo, sometimes a token pasted on its own line."""
    if looks_like_secret(key):
        register_secret(key)
        return "a bare token without '=' that looks like a pasted secret (rotate it if this file was shared)"
    return f"{key} has no '=': it is read as a key without a value"


def register_env_value(key: str, value: str | None) -> None:
    """Teach the scrubber a value that may be secret: by key name, by shape, as a URL password or
    as a URL's credential query parameter.

    Well-known stand-ins (``changeme``, ``secret``, ``test`` …) are not registered: they hide
    nothing (every attacker tries them first), and scrubbing such a word would mangle every
    report that uses it in a sentence. Checks still show them by shape only, and a rule
    reports them as a failure.
    """
    if not value:
        return
    if (is_secret_key(key) or looks_like_secret(value)) and not is_well_known_value(value):
        register_secret(value)
    for item in split_list(value):
        for secret in (url_password(item), *url_query_secrets(item)):
            if secret and not is_well_known_value(secret):
                register_secret(secret)


def is_well_known_value(value: str) -> bool:
    """A default or stand-in value everybody knows (``changeme``, ``password``, ``test`` …).

    Compared lower-cased with separators removed, so ``Change-Me`` counts too.
    """
    return re.sub(r"[^a-z0-9]", "", value.lower()) in _WELL_KNOWN_VALUES


def url_password(value: str) -> str | None:
    """The password in a URL's user-info (``scheme://user:password@host``), if any."""
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        # Unparseable (e.g. a bad port): take what sits between the first ':' and the last '@'.
        userinfo = value.split("://", 1)[1].rpartition("@")[0]
        return userinfo.partition(":")[2] or None


def url_query_secrets(value: str) -> list[str]:
    """Values of a URL's credential query/fragment parameters (``?sig=…``, ``#access_token=…``).

    Redacted by form wherever the URL is shown; registered too, so the bare value is scrubbed
    when a tool prints it decoded or on its own.
    """
    if "=" not in value or not any(c in value for c in "?#"):
        return []
    tail = value.split("?", 1)[1] if "?" in value else value.split("#", 1)[1]
    pairs = parse_qsl(tail.replace("#", "&"), keep_blank_values=False)
    # Short values (``code=2024``) are left to redaction by form: scrubbing them everywhere would
    # mangle unrelated text (dates, ports), and a real credential is longer.
    return [v for k, v in pairs if is_secret_query_param(k) and len(v) >= 8]


def looks_like_secret(value: str) -> bool:
    """A value shaped like a credential (long, random-looking, one token, not a URL or name).

    Key names are the first signal (``redact.is_secret_key``); this catches the secret kept
    under an innocent name (``NOSTR_SERVER_NSEC_HEX``, ``RELAY_AUTH_BLOB``). It errs on the
    side of hiding, but leaves alone what auditors need to read and is never random: URLs and
    URIs (``turns:host``), paths, lower-case host names, snake/kebab-case words, UPPER_SNAKE names.
    A wallet's recovery phrase (12 to 25 lower-case words, ``redact.is_seed_phrase``) is a secret
    by its shape although it is neither long nor random per character.
    """
    value = value.strip()
    if is_seed_phrase(value):
        return True
    if len(value) < 16 or any(c.isspace() for c in value) or "," in value or value.isdigit():
        return False
    if _URI_PREFIX.match(value) or value.startswith(("/", "./", "../", "~/")) or _NON_SECRET_SHAPE.match(value):
        return False
    return shannon_entropy_bits(value) / len(value) >= 3.0


def is_truthy(value: str | None) -> bool:
    """Whether an env flag is on (``1``, ``true``, ``yes``, ``on`` …, case-insensitive)."""
    return value is not None and value.strip().lower() in TRUTHY


def split_list(value: str | None) -> list[str]:
    """The items of a list-valued setting.

    Comma and/or whitespace separated (``wss://a,wss://b`` or ``wss://a wss://b``), or a JSON
    array as used for WebRTC ICE servers (``[{"urls": ["turn:…"]}, "stun:…"]``), whose
    ``urls``/``url`` strings are collected.
    """
    if not value:
        return []
    stripped = value.strip()
    if stripped.startswith(("[", "{")):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            pass
        else:
            return _json_strings(parsed)
    return [item for item in _LIST_SPLIT.split(stripped) if item]


def _json_strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node] if node.strip() else []
    if isinstance(node, list):
        return [s for item in node for s in _json_strings(item)]
    if isinstance(node, dict):
        return [s for name in ("urls", "url") if name in node for s in _json_strings(node[name])]
    return []


def _statement_line(original: str, start_line: int) -> int:
    """The line a statement really starts on (python-dotenv counts from preceding blank lines)."""
    prefix = _WHITESPACE_PREFIX.match(original)
    skipped = prefix.group(0) if prefix else ""
    if len(skipped) == len(original):  # only whitespace: keep where it started
        return start_line
    return start_line + skipped.count("\n") + skipped.count("\r") - skipped.count("\r\n")


# --------------------------------------------------------------------------- dotenv's warning

_QUIET = threading.local()


class _DropUnparsedWarning(logging.Filter):
    """Drops dotenv's "could not parse" warning while *this thread* loads an env file.

    The same information becomes a finding with the line number; the bare warning would only
    add noise on the notebook's stderr. Other threads' dotenv use keeps its warnings.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(_QUIET, "active", False) and "could not parse" in record.getMessage())


_FILTER = _DropUnparsedWarning()
logging.getLogger("dotenv.main").addFilter(_FILTER)


@contextlib.contextmanager
def _quiet_dotenv() -> Iterator[None]:
    _QUIET.active = True
    try:
        yield
    finally:
        _QUIET.active = False
