"""Keeping secret values out of every output (DESIGN §7).

Two layers, because one is never enough:

* checks describe a secret by its shape (length, character classes, entropy) instead of
  showing it, and redact URLs and header values before they reach a finding;
* a process-wide registry of known secret values scrubs any text (tables, exception messages,
  executed notebooks) as a safety net for the value that slipped through anyway.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

#: Key names that hold secrets. Matched on word parts so ``TOKEN_URL`` style names still count.
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:SECRET|PASSWORD|PASSWD|PASS|PWD|TOKEN|APIKEY|API_KEY|PRIVATE|CREDENTIALS?|"
    r"AUTH|AUTHORIZATION|COOKIE|SESSION|SIGNING|ENCRYPTION|KEY|DSN|SALT|PEPPER|CLIENT_SECRET|"
    r"ACCESS_KEY|WEBHOOK)(?:$|[_\-.])",
    re.IGNORECASE,
)
#: Key names that look secret-ish but hold public identifiers.
_PUBLIC_NAME = re.compile(r"(?:^|_)(?:PUBLIC|PUBKEY|NEXT_PUBLIC|KEY_ID|KEYID)(?:$|_)", re.IGNORECASE)

_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_MIN_REGISTERED_LEN = 4


def is_secret_key(name: str) -> bool:
    """Whether a config key or header name holds a secret by its name."""
    normalised = name.replace("-", "_").upper()
    if normalised.startswith("NEXT_PUBLIC_") or _PUBLIC_NAME.search(normalised):
        return False
    return bool(_SECRET_NAME.search(normalised))


def character_classes(value: str) -> list[str]:
    classes = []
    if any(c.islower() for c in value):
        classes.append("lower")
    if any(c.isupper() for c in value):
        classes.append("upper")
    if any(c.isdigit() for c in value):
        classes.append("digit")
    if any(not c.isalnum() for c in value):
        classes.append("symbol")
    return classes


def shannon_entropy_bits(value: str) -> float:
    """Estimated total entropy: Shannon entropy per character times the length.

    This is an estimate from the value's own character distribution, the same measure
    detect-secrets uses for its high-entropy plugins; it over-rates keyboard walks and
    under-rates short random strings, which is why strength rules also check length.
    """
    if not value:
        return 0.0
    counts = Counter(value)
    length = len(value)
    per_char = -sum((n / length) * math.log2(n / length) for n in counts.values())
    return per_char * length


def describe_secret(value: str | None) -> str:
    """A secret's shape without its value: presence, length, classes, entropy."""
    if value is None:
        return "absent"
    if value == "":
        return "present but empty"
    classes = "+".join(character_classes(value)) or "none"
    return f"present, {len(value)} chars, classes {classes}, ~{shannon_entropy_bits(value):.0f} bits entropy"


def redact_url(url: str) -> str:
    """The URL with any password in the user-info and secret-named query values replaced."""
    if not _URL_SCHEME.match(url or ""):
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, sep, _password = userinfo.partition(":")
            netloc = f"{user}:{REDACTED}@{hostport}" if sep else f"{userinfo}@{hostport}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_key(k) for k, _ in pairs):
                query = urlencode([(k, REDACTED if is_secret_key(k) else v) for k, v in pairs], safe="[]")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return REDACTED


def redact_value(name: str, value: str) -> str:
    """What may be shown of a config value: secrets by shape, URLs with passwords removed."""
    if is_secret_key(name):
        return describe_secret(value)
    return scrub(redact_url(value))


class SecretRegistry:
    """Known secret values of this process, scrubbed from any text handed to ``scrub``."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        if not value or len(value) < _MIN_REGISTERED_LEN:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def update(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def __len__(self) -> int:
        return len(self._values)

    def scrub(self, text: str) -> str:
        with self._lock:
            if not self._values:
                return text
            if self._pattern is None:
                # Longest first, so a secret containing another is replaced whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            pattern = self._pattern
        return pattern.sub(REDACTED, text)


#: The process-wide registry; params loading and env-file parsing register into it.
SECRETS = SecretRegistry()

#: The registry of the environment being worked on in this thread/task, when the runner works
#: on several environments at once (each one's secrets must scrub its own reports only).
_ACTIVE_REGISTRY: ContextVar[SecretRegistry | None] = ContextVar("harden_active_secrets", default=None)


def active_registry() -> SecretRegistry:
    """The registry ``register_secret`` and ``scrub`` use here: the scoped one, else ``SECRETS``."""
    scoped = _ACTIVE_REGISTRY.get()
    return SECRETS if scoped is None else scoped  # an empty scoped registry is falsy (``__len__``)


@contextmanager
def secret_scope(registry: SecretRegistry | None = None) -> Iterator[SecretRegistry]:
    """Within the block (and this context only), secrets register into and scrub from ``registry``."""
    registry = registry if registry is not None else SecretRegistry()
    token = _ACTIVE_REGISTRY.set(registry)
    try:
        yield registry
    finally:
        _ACTIVE_REGISTRY.reset(token)


def register_secret(value: str | None) -> None:
    active_registry().add(value)


def scrub(text: str) -> str:
    """Replace every registered secret value in ``text``."""
    return active_registry().scrub(text)


#: Longest server-controlled value shown in a finding or evidence table.
MAX_VALUE_CHARS = 200
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff<>]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def safe_text(value: str | None, limit: int = MAX_VALUE_CHARS) -> str:
    """A server-controlled value made safe to show anywhere: capped, escaped, scrubbed.

    Control, bidi and zero-width characters and ``<``/``>`` become ``\\xNN``/``\\uNNNN``
    escapes, so a hostile header can neither forge lines in a log or table nor inject
    markup into a report whose renderer forgot to escape; known secrets are replaced.
    """
    if value is None:
        return ""
    text = scrub(value[: limit * 4])
    text = _UNSAFE_CHARS.sub(_escape_char, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
