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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[REDACTED]"

# --------------------------------------------------------------------------- secret names

#: Splits a name into words: separators (``_ - . / space``), camelCase and digit runs, so
#: ``dbPassword``, ``DB-PASS``, ``x_api_key`` and ``OAuth2Token`` are read word by word.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

#: Words that name a secret wherever they stand in a name (``DB_PASSWORD``, ``PASSWORD_HASH``).
_SECRET_WORDS = frozenset(
    """password passwords passwd passphrase pass pwd pw secret secrets token tokens apikey credential
    credentials cred creds key keys salt pepper sig signature dsn webhook mnemonic nsec privkey
    requirepass masterauth sessid sessionid phpsessid jsessionid connectionstring authkey storepass keypass
    seedphrase seedwords recoveryphrase recoverywords mnemonics""".split()  # noqa: SIM905
)
#: Words that name a secret only as the last word (``REDIS_AUTH``, ``SESSION``, ``Set-Cookie``),
#: not as a modifier (``AUTH_PROVIDER``, ``SESSION_TTL``, ``COOKIE_SECURE``).
_HEAD_WORDS = frozenset("auth authorization cookie cookies session private seed otp hmac bearer jwt".split())  # noqa: SIM905
#: Words before ``seed`` that make it a random generator's seed (``RANDOM_SEED``, ``FAKER_SEED``), not a
#: wallet's (``WALLET_SEED``, ``HD_SEED``): a seed *phrase* is a secret, a PRNG seed is not.
_PRNG_WORDS = frozenset(
    "random rng prng hash shuffle faker fake test tests numpy np torch tf sampling jitter db".split()  # noqa: SIM905
)
#: Adjacent words read as one (``CONNECTION_STRING``, ``SEED_PHRASE``, ``recoveryPhrase``): what the
#: pair names is a secret although neither word alone is.
_COMPOUNDS = {
    ("connection", "string"): "connectionstring",
    ("seed", "phrase"): "seedphrase",
    ("seed", "words"): "seedwords",
    ("seed", "word"): "seedwords",
    ("recovery", "phrase"): "recoveryphrase",
    ("recovery", "words"): "recoverywords",
    ("mnemonic", "phrase"): "mnemonic",
}
#: A glued word ending in one of these is a secret word too (``PGPASSWORD``, ``MYSQLPWD``,
#: ``clientsecret``, ``authtoken``); only endings count, so ``TOKENIZER`` or ``SECRETARY`` do not.
_GLUED_ENDINGS = (
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "secrets",
    "token",
    "tokens",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "credential",
    "credentials",
    "authkey",
    "storepass",
    "keypass",
    "seedphrase",
    "mnemonic",
    "recoveryphrase",
)
#: Words after the secret word that make the name describe a secret rather than hold one:
#: ``TOKEN_URL``, ``API_KEY_ID``, ``SECRET_NAME``, ``PASSWORD_FILE`` (a path), ``SESSION_SECRET_TTL``.
_QUALIFIERS = frozenset(
    """id ids name names url urls uri uris endpoint host hostname port path file files dir directory
    location length len size min max count ttl expiry expires expiration lifetime age timeout interval
    duration seconds minutes hours days type kind mode algorithm alg algo header headers field param
    parameter prefix suffix enabled enable disabled required policy provider issuer audience scope
    scopes strategy method version rotation format arn vault store label region bucket rounds cost
    iterations complexity strength pattern regex stdin lengths usage identifier identifiers""".split()  # noqa: SIM905
)
#: Secret words whose values are URLs carrying their credential (a Slack webhook's path, a Sentry
#: DSN): ``SLACK_WEBHOOK_URL`` stays secret although ``url`` is a qualifier.
_URL_BEARING = frozenset({"webhook", "dsn"})
#: Words that mark a value published on purpose (``PUBLIC_KEY``, ``STRIPE_PUBLISHABLE_KEY``,
#: ``NEXT_PUBLIC_*``, ``pubkey``). They make a name public only when its secret words are key-like.
_PUBLIC_WORDS = frozenset({"public", "publishable", "pub", "pubkey", "anon"})
_KEY_LIKE = frozenset({"key", "keys", "sig", "signature"})
#: Query-string parameters that carry credentials although their names are not secret words (compared
#: as ``name_words`` glued, so ``session_id``, ``sessionId`` and ``SESSION-ID`` are one): an OAuth
#: authorization ``code``, a CAS ``ticket``, a ``jwt``, session ids, a SAML response or artifact, an OAuth 1
#: verifier, a one-time password.
_SECRET_QUERY_NAMES = frozenset(
    """code ticket sid sessionid session sess jwt auth authkey otp samlresponse samlart assertion
    clientassertion oauthverifier""".split()  # noqa: SIM905
)


def name_words(name: str) -> list[str]:
    """The lower-cased words of a key, header or parameter name (see ``_WORD``).

    Some word pairs are read as one word (``_COMPOUNDS``): ``connection string``
    (``AZURE_STORAGE_CONNECTION_STRING`` holds keys), ``seed phrase``, ``recovery phrase``.
    """
    words = [w.lower() for w in _WORD.findall(name)]
    for i in range(len(words) - 1, 0, -1):
        glued = _COMPOUNDS.get((words[i - 1], words[i]))
        if glued:
            words[i - 1 : i + 1] = [glued]
    return words


def _is_secret_word(word: str) -> bool:
    return word in _SECRET_WORDS or word.endswith(_GLUED_ENDINGS)


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a config key, header, option or query-parameter name holds a secret, by its words.

    The rule, applied to ``name_words(name)``:

    1. A *secret word* anywhere (``password passwd passphrase pass pwd pw secret token apikey
       credential(s) cred(s) key(s) salt pepper sig signature dsn webhook mnemonic`` …), or a
       glued word *ending* in a strong one (``PGPASSWORD``, ``MYSQLPWD``, ``clientsecret``), or
       a *head word* (``auth authorization cookie session private seed otp hmac jwt``) as the last
       word (``REDIS_AUTH``, ``Set-Cookie``) marks a secret. Whole words only: ``PASSENGER``,
       ``BYPASS``, ``KEYBOARD``, ``MONKEY``, ``TOKENIZER`` and ``COMPASS`` are not ``pass``,
       ``key`` or ``token``. Word pairs that name a secret count as one secret word anywhere:
       ``SEED_PHRASE``, ``SEED_WORDS``, ``RECOVERY_PHRASE`` (a wallet's mnemonic), and ``AUTHKEY``
       is one (``TS_AUTHKEY``); a ``seed`` after a random-generator word (``RANDOM_SEED``,
       ``FAKER_SEED``) is no secret.
    2. A *qualifier* after the last secret word (``id name url uri endpoint host port path file
       length ttl expiry timeout type mode algorithm header prefix enabled policy provider`` …)
       makes the name describe a secret instead of holding one: ``TOKEN_URL``, ``API_KEY_ID``,
       ``AWS_ACCESS_KEY_ID``, ``PASSWORD_FILE``, ``SESSION_SECRET_TTL``. Exception: ``webhook``
       and ``dsn`` URLs carry their credential, so ``SLACK_WEBHOOK_URL`` stays secret.
    3. A *public word* (``public publishable pub pubkey anon``) makes a name public when its only
       secret words are key-like (``PUBLIC_KEY``, ``VAPID_PUBLIC_KEY``, ``STRIPE_PUBLISHABLE_KEY``,
       ``NEXT_PUBLIC_SUPABASE_ANON_KEY``); ``NEXT_PUBLIC_API_SECRET`` stays secret.

    A name that is both (``KEY_ID_SECRET``) is judged by its last secret word. Errs towards
    hiding: a flag such as ``PASS_THROUGH`` is shown by shape, which costs nothing.
    """
    words = name_words(name)
    if not words:
        return False
    last = len(words) - 1
    hits = [
        i
        for i, w in enumerate(words)
        if _is_secret_word(w)
        or (w in _HEAD_WORDS and i == last and not (w == "seed" and i > 0 and words[i - 1] in _PRNG_WORDS))
    ]
    if not hits:
        return False
    final = hits[-1]
    if words[final] not in _URL_BEARING and any(w in _QUALIFIERS for w in words[final + 1 :]):
        return False
    published = any(w in _PUBLIC_WORDS for w in words)
    return not (published and all(words[i] in _KEY_LIKE for i in hits))


@lru_cache(maxsize=4096)
def is_published_name(name: str) -> bool:
    """Whether a name says its value is published on purpose (``PUBLIC_KEY``, ``NEXT_PUBLIC_*``, ``*_ANON_KEY``)."""
    return any(w in _PUBLIC_WORDS for w in name_words(name))


def is_secret_query_param(name: str) -> bool:
    """A URL query (or fragment) parameter that carries a credential: secret-named or a known one
    (``jwt``, ``ticket``, ``sid``, ``session_id``, ``SAMLResponse`` …; see ``_SECRET_QUERY_NAMES``)."""
    plain = unquote_plus(name).strip()
    glued = "".join(name_words(plain))
    return is_secret_key(plain) or plain.lower() in _SECRET_QUERY_NAMES or glued in _SECRET_QUERY_NAMES


#: How many words a wallet's mnemonic has: BIP-39 12/15/18/21/24, Electrum 12/13, Polyseed 16, Monero 25.
SEED_PHRASE_LENGTHS = frozenset({12, 13, 15, 16, 18, 21, 24, 25})
#: Mnemonic words are 3 to 10 lower-case letters (BIP-39's longest has 8, Monero's a few more).
_SEED_WORD = re.compile(r"[^\W\d_]{3,10}")
#: Words of prose no mnemonic word list has (besides every word of one or two letters).
_PROSE_WORDS = frozenset({"the", "its", "was", "were"})
#: A seed phrase after a secret name and a tight separator (``WALLET_SEED_PHRASE=abandon ability …``):
#: read to its end although an unquoted value otherwise ends at a space.
_SEED_RUN = re.compile(r"[^\W\d_]{3,10}(?:[ \t]+[^\W\d_]{3,10}){11,24}(?![^\W\d_])")


def seed_phrase_end(text: str, start: int) -> int | None:
    """Where a seed phrase written unquoted at ``text[start]`` ends (``KEY=abandon ability …``), or None.

    The longest run of mnemonic-shaped words is cut to the longest mnemonic length it holds, so a
    phrase followed by more words on the line is still hidden whole.
    """
    run = _SEED_RUN.match(text, start)
    if run is None:
        return None
    spans = [m.span() for m in re.finditer(r"\S+", run.group(0))]
    for count in sorted(SEED_PHRASE_LENGTHS, reverse=True):
        if count <= len(spans) and is_seed_phrase(run.group(0)[: spans[count - 1][1]]):
            return start + spans[count - 1][1]
    return None


def is_seed_phrase(value: str) -> bool:
    """A value shaped like a wallet's recovery phrase: a mnemonic's number of lower-case words
    (``SEED_PHRASE_LENGTHS``), each of 3 to 10 letters, none a word only prose uses (``the``).

    Such a phrase *is* the wallet (BIP-39, Electrum, Monero): it never looks random character by
    character (letters and spaces), so it is recognised by its shape. Prose of that shape in a
    config value is rare, and showing it by shape instead costs nothing.
    """
    words = value.split()
    return len(words) in SEED_PHRASE_LENGTHS and all(
        w.islower() and _SEED_WORD.fullmatch(w) and w not in _PROSE_WORDS for w in words
    )


_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_MIN_REGISTERED_LEN = 4


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
    """The URL with its credentials replaced, the rest kept as written.

    Replaced: the password of the user-info (``scheme://user:[REDACTED]@host``), a user-info
    that is itself a token (``https://ghp_…@github.com``), and the value of every query or
    fragment parameter that carries a credential (``access_token``, ``token``, ``api_key``,
    ``key``, ``sig``, ``signature``, ``X-Amz-Signature``, ``password``, an OAuth ``code`` and
    generally any secret-named parameter, in any letter case; see ``is_secret_query_param``),
    and the path of a webhook URL, whose path *is* its credential (``hooks.slack.com/services/…``,
    ``discord.com/api/webhooks/…``, ``…webhook.office.com/webhookb2/…``; see ``_redact_webhook_path``).
    A path or other text without a scheme keeps everything but its credential parameters.
    The text is not re-encoded, so what is left reads exactly as it was written.
    """
    if not url:
        return url
    match = _URL_SCHEME.match(url)
    if not match:
        return redact_query_params(url)
    head, rest = url[: match.end()], url[match.end() :]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        user, sep, password = userinfo.partition(":")
        if password:
            userinfo = f"{user}:{REDACTED}"
        elif _token_like(user):
            userinfo = REDACTED + sep
        authority = f"{userinfo}@{hostport}"
    return head + authority + redact_query_params(_redact_webhook_path(authority, tail))


#: Path segments after which a webhook URL carries its secret (Discord ``/api/webhooks/<id>/<token>``,
#: Teams ``/webhookb2/…``, Mattermost and Gitea ``/hooks/<key>``); Slack's ``/services/…`` is known by its host.
_WEBHOOK_SEGMENTS = frozenset({"hooks", "webhooks", "webhook", "webhookb2"})
#: Hosts whose whole path is the credential (Slack, Zapier, Make, IFTTT webhooks).
_WEBHOOK_HOST = re.compile(r"(?i)^(?:[^@]*@)?(?:hooks\.|[\w.\-]*\.webhook\.office\.com|maker\.ifttt\.com)")


def _redact_webhook_path(authority: str, tail: str) -> str:
    """A webhook URL's secret path replaced: everything after ``/hooks/``-like segments.

    On a webhook host (``hooks.slack.com``, ``hooks.zapier.com``, ``*.webhook.office.com``) the
    path after its first segment always goes; elsewhere only when what follows a webhook segment
    holds a credential-shaped segment (``discord.com/api/webhooks/<id>/<token>``), so a plain
    ``/repos/o/r/hooks/123`` stays readable.
    """
    if not tail.startswith("/"):
        return tail
    cut = min((i for i in (tail.find(c) for c in "?#") if i >= 0), default=len(tail))
    path, rest = tail[:cut], tail[cut:]
    segments = path.split("/")
    on_host = bool(_WEBHOOK_HOST.match(authority))
    # One pass from the end: is any later segment non-empty / credential-shaped (linear on any path).
    nonempty_after = [False] * (len(segments) + 1)
    credential_after = [False] * (len(segments) + 1)
    for index in range(len(segments) - 1, -1, -1):
        nonempty_after[index] = nonempty_after[index + 1] or bool(segments[index])
        credential_after[index] = credential_after[index + 1] or (
            bool(segments[index]) and _credential_shaped(segments[index])
        )
    for index in range(1, len(segments) - 1):
        if not nonempty_after[index + 1]:
            break
        webhook = segments[index].lower() in _WEBHOOK_SEGMENTS or (on_host and index == 1)
        if webhook and (on_host or credential_after[index + 1]):
            return "/".join(segments[: index + 1]) + "/" + REDACTED + rest
    return tail


def _credential_shaped(text: str) -> bool:
    """A token (path segment, option value) that looks generated rather than written: at least 16
    characters mixing two of lower case, upper case and digits, and not a run of plain words."""
    if len(text) < 16 or is_plain_words(text):
        return False
    classes = (any(c.islower() for c in text), any(c.isupper() for c in text), any(c.isdigit() for c in text))
    return sum(classes) >= 2 and _token_like(text)


_WORD_SEPARATORS = re.compile(r"[._\-]+")


def is_plain_words(text: str) -> bool:
    """Written words, not a generated value: letters only, in ``snake_case``, ``kebab-case``,
    ``dotted.names``, ``UPPER_SNAKE``, ``CamelCase``, ``Capitalised`` or ``Referrer-Policy`` form
    (``HttpOnly``, ``postgres-credentials``). Mixed case in pieces of one or two letters (``QwErTy``)
    is what a generator makes, not a word, so it is no plain word."""
    if not text or not all(c.isalpha() or c in "._-" for c in text) or not any(c.isalpha() for c in text):
        return False
    for part in _WORD_SEPARATORS.split(text):
        words = _WORD.findall(part)
        if len(words) > 1 and any(len(word) < 3 and not word.isupper() for word in words):
            return False
    return True


def _token_like(text: str) -> bool:
    """A user-info or bare value shaped like a credential (long, random-looking)."""
    text = unquote_plus(text)
    if len(text) < 16 or any(c.isspace() for c in text):
        return False
    return shannon_entropy_bits(text) / len(text) >= 3.0


#: ``name=value`` after ``?``, ``&``, ``;`` or ``#``. In HTML-escaped text ``&amp;token=x`` the
#: ``;`` of the entity leads the name, so escaped URLs are covered too.
_QUERY_PAIR = re.compile(r"(?P<lead>[?&;#])(?P<name>[A-Za-z0-9_.\-\[\]%+~]+)=(?P<value>[^&;#\s'\"<>`]*)")
#: A URL inside text: a scheme, ``://`` and everything up to whitespace, a quote or a bracket.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")


def redact_query_params(text: str) -> str:
    """Every credential-carrying ``name=value`` of a query string or fragment in ``text`` redacted."""
    if "=" not in text:
        return text

    def pair(match: re.Match[str]) -> str:
        value, tail = _split_trailing_punctuation(match.group("value"))
        if not value or value == REDACTED or not is_secret_query_param(match.group("name")):
            return match.group(0)
        return f"{match.group('lead')}{match.group('name')}={REDACTED}{tail}"

    return _QUERY_PAIR.sub(pair, text)


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _split_trailing_punctuation(url: str) -> tuple[str, str]:
    """A URL found in prose without the punctuation that ends its sentence or bracket.

    ``(see https://h/x?token=abc).`` must redact ``abc`` and keep ``).``: a trailing ``.,;:!?``
    never ends a URL in prose, and a closing bracket only when the URL does not open it.
    """
    tail = ""
    while url:
        last = url[-1]
        if last in ".,;:!?'\"" or (last in _PAIRS and url.count(last) > url.count(_PAIRS[last])):
            url, tail = url[:-1], last + tail
            continue
        break
    return url, tail


def _redact_found_url(match: re.Match[str]) -> str:
    url, tail = _split_trailing_punctuation(match.group(0))
    return redact_url(url) + tail


def redact_urls(text: str) -> str:
    """Every URL in free text through ``redact_url``, and credential query parameters anywhere."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(_redact_found_url, text)
    return redact_query_params(text)


def redact_value(name: str, value: str) -> str:
    """What may be shown of a config value: secrets by shape, URLs with passwords removed."""
    if is_secret_key(name):
        return describe_secret(value)
    return scrub_output(redact_url(value))


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


def scrub_output(text: str) -> str:
    """The scrubbing every written output gets: known secrets, URL credentials, then credentials
    recognisable by their shape alone (JWTs, vendor tokens: ``find_token_shapes``).

    Applied to executed notebooks, HTML, ``findings/<area>.json``, ``findings.json``/``.csv``,
    ``junit.xml``, ``run.json``, the index pages, logs and progress lines alike, so no door
    lets out what another one hides.
    """
    if not text:
        return text
    return _token_shapes_sub(redact_urls(scrub(text)))


def scrub_tree(node: Any) -> Any:
    """``scrub_output`` applied to every string of a JSON-like tree (dict keys included)."""
    if isinstance(node, str):
        return scrub_output(node)
    if isinstance(node, dict):
        return {scrub_tree(k) if isinstance(k, str) else k: scrub_tree(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return type(node)(scrub_tree(v) for v in node)
    return node


# --------------------------------------------------------------------------- free text

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
#: A PEM private key block (any kind: RSA, EC, OPENSSH, ENCRYPTED …); the body is the secret.
_PEM_BLOCK = re.compile(
    r"(?P<begin>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?P<body>.*?)(?P<end>-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_BODY_LINE = re.compile(r"^(?:[A-Za-z0-9+/=]+|[A-Za-z\-]+: .*|)$")  # base64, Proc-Type:, blank
#: ``Authorization: <scheme> <credentials>`` (also ``Proxy-Authorization``, ``=`` and quoted forms):
#: everything after the scheme up to the end of the line or the closing quote is the credential.
_AUTH_HEADER = re.compile(
    r"(?i)(?P<head>\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*(?P<q>[\"']?))"
    r"(?:(?P<scheme>bearer|basic|digest|token|bot|negotiate|ntlm|hmac|apikey|sso-key|aws4-hmac-sha256)\s+)?"
    r"(?P<value>[^\n\"']+)"
)
#: A bare ``Bearer x`` / ``Basic x`` / ``token x`` (a credential shaped value after an auth scheme).
_SCHEME_TOKEN = re.compile(r"(?i)\b(?P<scheme>bearer|basic|token|bot)(?P<sep>\s+)(?P<value>[A-Za-z0-9._~+/\-]{8,}=*)")
#: ``--password x``, ``--api-key=x``, ``--client-secret "x y"``: the option and separator; the value is
#: read after them (``_FLAG_VALUE``), and a value-less option before (``--verbose --password x``) does
#: not swallow the secret one (see ``_redact_named``).
_LONG_FLAG = re.compile(r"(?<![\w-])--(?P<key>[A-Za-z][A-Za-z0-9_\-]*)(?:=|\s+)")
_FLAG_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"?|'[^'\n]*'?|[^\s\"'\-][^\s\"']*")  # "-x" is the next option
#: Short options that take a password in well-known clients (``-p`` alone is too often a port or
#: ``mkdir -p``, so it counts only after these programs on the same line): ``mysql -pX``,
#: ``mariadb -pX``, ``sshpass -p X``, ``redis-cli -a X``, ``curl -u user:X`` / ``--user user:X``,
#: ``docker|podman|nerdctl|buildah|skopeo|oras|helm registry … login -p X``, ``az login -p X``,
#: ``mongo``/``mongosh``/``mongodump`` … ``-p X``, ``ldapsearch``-family ``-w X``, ``smbclient -U user%X``,
#: ``gh secret set NAME --body X`` / ``-b X``. The program is found once per line (bounded look-ahead
#: over at most three words between a registry client and ``login``), so this stays linear.
_REGISTRY_LOGIN = (
    r"\b(?:docker|podman|nerdctl|buildah|skopeo|oras|helm|crane|regctl|finch)(?:[ \t]+\S+){0,3}?[ \t]+login\b"
)
_SHORT_VALUE = r"(?P<value>\"[^\"\n]*\"?|'[^'\n]*'?|[^\s\-\"'][^\s\"']*)"
_TOOL_FLAGS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"\b(?:mysql\w*|mariadb\w*)\b"), re.compile(r"(?<=\s)-p(?P<value>[^\s\-]\S*)")),
    (re.compile(r"\bsshpass\b"), re.compile(r"(?<=\s)-p\s*(?P<value>\S+)")),
    (re.compile(r"\bredis-cli\b"), re.compile(r"(?<=\s)-a\s+(?P<value>\S+)")),
    (re.compile(r"\bcurl\b"), re.compile(r"(?<=\s)(?:-u|--user)\s+[\"']?[^:\s\"']*:(?P<value>[^\s\"']+)")),
    (
        re.compile(_REGISTRY_LOGIN),
        re.compile(r"(?<=\s)-p(?:[ \t]*=?[ \t]*)" + _SHORT_VALUE),
    ),
    (re.compile(r"\baz[ \t]+login\b"), re.compile(r"(?<=\s)-p(?:[ \t]*=?[ \t]*)" + _SHORT_VALUE)),
    (
        re.compile(r"\bmongo(?:sh|dump|restore|export|import|stat|top|files)?\b"),
        re.compile(r"(?<=\s)-p(?:[ \t]*=?[ \t]*)" + _SHORT_VALUE),
    ),
    (
        re.compile(r"\bldap(?:search|modify|add|delete|passwd|whoami|compare|modrdn|exop)\b"),
        re.compile(r"(?<=\s)-w[ \t]*" + _SHORT_VALUE),
    ),
    (
        re.compile(r"\b(?:smbclient|rpcclient|smbmap|net)\b"),
        re.compile(r"(?<=\s)(?:-U|--user(?:name)?)[= \t]*[^%\s]+%(?P<value>\S+)"),
    ),
    (
        re.compile(r"\bgh[ \t]+secret[ \t]+set\b"),
        re.compile(r"(?<=\s)(?:--body|-b)(?:[ \t]*=[ \t]*|[ \t]+|(?=[\"']))" + _SHORT_VALUE),
    ),
)
#: ``htpasswd -b[cBmsp…] [file] user password`` / ``htpasswd -nb user password``: the password is the
#: last word of the command (up to ``;``, ``&&``, ``|``, ``)``, a redirection ``> file`` or the line end).
_HTPASSWD = re.compile(r"\bhtpasswd((?:[ \t]+-[A-Za-z]+(?:[ \t]+\d+)?)+)((?:[ \t]+(?!\d*[<>])[^\s;&|)<>]+)+)")
#: A single-dash option with a secret name (Go's flag package, Java's ``-Dkey=value``, keytool's
#: ``-storepass``): ``-token=x``, ``-api-key x``, ``-Dspring.datasource.password=x``.
_SHORT_FLAG_EQUALS = re.compile(r"(?<![\w\-])-(?P<key>[A-Za-z][A-Za-z0-9_.\-]{2,})=")
_SHORT_FLAG_SPACE = re.compile(r"(?<![\w\-])-(?P<key>[A-Za-z][A-Za-z0-9_.\-]{2,})[ \t]+")
#: A secret-named option whose value is the next list item: ``"Args": ["--db-password", "x"]`` (docker
#: inspect, Kubernetes ``args``), ``- --api-key`` then ``- x`` (a YAML block list).
_FLAG_LIST_ITEM = re.compile(
    r"(?<![\w\-])--?(?P<key>[A-Za-z][\w.\-]*)(?:[\"'][ \t]*,[ \t]*(?=[\"'])|[\"']?[ \t]*\r?\n[ \t]*-[ \t]+)"
)
_LIST_ITEM_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"',\]]+")
#: OpenSSL's pass phrase argument ``-passin pass:x`` / ``-passout pass:x``.
_OPENSSL_PASS = re.compile(r"(?<![\w:])(?P<head>pass:)(?P<value>[^\s\"']+)")
#: ``KEY=value``, ``KEY: value``, ``"key": "value"``, ``'key': 'value'``, ``key => value``,
#: ``key := value`` anywhere in a line (after ``export``, a prefix, in a comment …): the key and
#: separator; ``_PAIR_VALUE`` reads the value only for a secret-named key (linear on any input).
_PAIR = re.compile(
    r"(?<![\w.\-])(?P<kq>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P=kq)"
    r"(?P<sep>[ \t]*(?:=>|::=|:=|\?=|\+=|=|:)[ \t]*)"
)
#: A secret's name and its value as two fields of one item: Kubernetes/ECS ``env`` entries
#: (``- name: DB_PASSWORD`` / ``value: x``, ``{"name": "API_TOKEN", "value": "x"}``), ``key``/``value`` lists.
NAME_VALUE_FIELDS = re.compile(
    r"(?<![\w\-])(?P<nq>[\"']?)(?:name|key|Name|Key)(?P=nq)[ \t]*[:=][ \t]*"
    r"(?P<kq>[\"']?)(?P<key>[A-Za-z_][\w.\-]*)(?P=kq)"
    r"[ \t]*,?[ \t]*(?:\r?\n[ \t]*(?:-[ \t]+)?)?(?P<vq>[\"']?)(?:value|Value)(?P=vq)[ \t]*[:=][ \t]*"
)
#: A YAML block scalar under a key (``password: |``, ``key: >-``): the value is on the lines below.
_BLOCK_SCALAR = re.compile(
    r"(?m)^(?P<indent>[ \t]*(?:-[ \t]+)?)(?P<kq>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P=kq)[ \t]*:"
    r"[ \t]*(?P<style>[|>][0-9+\-]{0,3})?[ \t]*(?:#[^\n]*)?$"
)
_YAML_KEY_LINE = re.compile(r"[ \t]*(?:-(?:[ \t]|$)|#|[\"']?[A-Za-z_][\w.\-]*[\"']?[ \t]*:(?:[ \t]|$))")
#: An XML element with a secret name: ``<password>x</password>``, ``<ns:apiKey attr="1">x</ns:apiKey>``.
_XML_ELEMENT = re.compile(
    r"<(?P<name>[A-Za-z_][\w.:\-]*)(?P<attrs>[ \t\r\n][^<>]*)?>(?P<value>[^<]*)</(?P=name)[ \t\r\n]*>"
)
#: A name/value attribute pair: ``<add key="DbPassword" value="x"/>``, ``<property name="password" value="x"/>``.
_XML_KEY_VALUE = re.compile(
    r"\b(?:key|name)[ \t]*=[ \t]*(?P<q>[\"'])(?P<key>[^\"'<>\n]{1,100})(?P=q)(?P<mid>[ \t\r\n]+value[ \t]*=[ \t]*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*')"
)
#: A quoted secret name as a call's first argument, a comma and a quoted value: PHP
#: ``define('DB_PASSWORD', 'x')``, ``setenv("API_TOKEN", "x")``, ``ENV.fetch('SECRET_KEY', 'x')``, a
#: printed tuple ``("password", "x")`` (a list of names ``['token', 'secret']`` is left alone).
_QUOTED_ARG_KEY = re.compile(r"\([ \t]*(?P<q>[\"'])(?P<key>[A-Za-z_][A-Za-z0-9_.]*)(?P=q)[ \t]*,[ \t]*(?=[\"'])")
_QUOTED_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'")
#: SQL ``IDENTIFIED BY 'x'`` / ``IDENTIFIED WITH plugin BY 'x'`` / ``IDENTIFIED BY PASSWORD 'x'`` (MySQL,
#: MariaDB, Oracle unquoted) and ``PASSWORD('x')``.
_IDENTIFIED_BY = re.compile(
    r"(?i)(?P<head>\bIDENTIFIED(?:[ \t]+(?:WITH|VIA)[ \t]+[\w'\"`]+)?[ \t]+(?:BY|USING)(?:[ \t]+(?:PASSWORD|VALUES))?"
    r"[ \t]*\(?[ \t]*|\bPASSWORD\([ \t]*(?=['\"]))(?P<value>'[^'\n]*'?|\"[^\"\n]*\"?|[^\s;,'\"()]+)"
)
#: A secret-named word, spaces and a value-looking word anywhere in a line (``using API_TOKEN x for …``).
_NAME_SPACE = re.compile(r"(?<![\w.\-$])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>[ \t]+)")
_BARE_VALUE = re.compile(r"[^\s\"'<>`]+")
_PAIR_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"?|'[^'\n]*'?|[^\s\"']+")
#: A secret-named word followed by a quoted string: ``PASSWORD 'x'`` (SQL), ``token "x"``.
_NAME_QUOTED = re.compile(
    r"(?<![\w.\-])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>[ \t]+)(?P<value>'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\")"
)
#: A config directive line ``requirepass x`` / ``password x`` (redis.conf and the like).
_DIRECTIVE = re.compile(
    r"(?m)^(?P<head>[ \t]*(?:#[ \t]*)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)[ \t]+)(?P<value>\S+)[ \t]*$"
)
_NETRC = re.compile(r"(?i)(?P<head>\blogin\s+\S+\s+password\s+)(?P<value>\S+)")
#: Credentials recognisable by their shape alone (vendor prefixes, JWTs); the group name is the kind.
_TOKEN_SHAPES = re.compile(
    r"\b(?:(?P<GitHub>gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|(?P<GitLab>gl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_\-]{20,})"
    r"|(?P<Slack>xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,})"
    r"|(?P<Stripe>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"
    r"|(?P<Google>AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-]))"
    r"|(?P<npm>npm_[A-Za-z0-9]{36})"
    r"|(?P<OpenAI>sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?(?=[A-Za-z0-9_\-]{0,200}\d)[A-Za-z0-9_\-]{32,})"
    r"|(?P<HuggingFace>hf_[A-Za-z0-9]{30,})"
    r"|(?P<Tailscale>tskey-[a-z]+-[A-Za-z0-9\-]{16,})"
    r"|(?P<SendGrid>SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,})"
    r"|(?P<PyPI>pypi-AgE[A-Za-z0-9_\-]{50,})"
    r"|(?P<DigitalOcean>do[opr]_v1_[a-f0-9]{64})"
    r"|(?P<Shopify>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})"
    r"|(?P<JWT>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}))"
)


#: Literal pieces one of which every ``_TOKEN_SHAPES`` match contains: a text without any is skipped
#: (substring search is far faster than the pattern's position-by-position scan of a large export).
_SHAPE_HINTS = (
    "gh",
    "github_pat_",
    "gl",
    "xox",
    "xapp-",
    "_live_",
    "_test_",
    "AIza",
    "npm_",
    "sk-",
    "hf_",
    "tskey-",
    "SG.",
    "pypi-",
    "_v1_",
    "shp",
    "eyJ",
)


def _token_shapes_sub(text: str) -> str:
    if not any(hint in text for hint in _SHAPE_HINTS):
        return text
    return _TOKEN_SHAPES.sub(REDACTED, text)


def find_token_shapes(text: str) -> list[tuple[int, int, str]]:
    """Where credentials recognisable by their shape alone sit in ``text``: (start, end, kind).

    The vendor prefixes the redactor knows (GitHub, GitLab, Slack, Stripe, Google API keys, npm,
    OpenAI/Anthropic, Hugging Face, Tailscale, SendGrid, PyPI, DigitalOcean, Shopify) and JWTs; the
    secrets area uses it to find them in committed files, the scrubbers to remove them.
    """
    if not any(hint in text for hint in _SHAPE_HINTS):
        return []
    return [(m.start(), m.end(), m.lastgroup or "token") for m in _TOKEN_SHAPES.finditer(text)]


#: Values that hide nothing: masks, placeholders, empties (and a YAML block indicator: the value is below).
_NOT_A_VALUE = re.compile(
    r"^(?:|\*+|x{3,}|X{3,}|null|none|nil|true|false|undefined|\$\{[^}]*\}|\$[A-Za-z_]\w*|[|>][0-9+\-]{0,3}"
    r"|\{\{\S*|\{%\S*|<%\S*)$"
)


def _quoted(value: str) -> tuple[str, str, str]:
    """Split a matched value into (opening quote, body, closing quote)."""
    if value[:1] in ("'", '"'):
        close = value[-1] if len(value) > 1 and value[-1] == value[0] else ""
        return value[0], value[1 : len(value) - len(close)], close
    return "", value, ""


def _hides(value: str) -> bool:
    """Whether a matched value may hold a secret (not already redacted, a mask or a placeholder)."""
    body = _quoted(value)[1].strip()
    return REDACTED not in body and not _NOT_A_VALUE.match(body)


def _shaped(value: str) -> bool:
    """A credential has digits, mixed case or symbols; ``expired`` or ``validation`` is prose."""
    return (
        any(c.isdigit() for c in value)
        or not (value.islower() or value.isupper())
        or any(not c.isalnum() for c in value)
    )


def _redact_value(value: str) -> str:
    opening, _, closing = _quoted(value)
    return f"{opening}{REDACTED}{closing}"


def redact_text(text: str) -> str:
    """Free text (command output, logs, error messages) with every credential form replaced.

    In order: ANSI escapes removed (a colour code must not split a key from its value);
    registered secret values; PEM private key bodies (also a tail that starts inside a block);
    URL passwords and credential query parameters (``redact_urls``); ``Authorization:``
    headers (scheme kept) and bare ``Bearer``/``Basic``/``token`` credentials; ``--password x``
    / ``--api-key=x`` style options (also as the next list item: ``["--db-password", "x"]``),
    single-dash ones (``-token=x``, ``-Dapp.db.password=x``, ``-storepass x``), OpenSSL's ``pass:x``
    and the short password options of well-known clients
    (``mysql -pX``, ``sshpass -p X``, ``redis-cli -a X``, ``curl -u user:X``, ``docker login -p X``,
    ``az login -p X``, ``mongosh -p X``, ``ldapsearch -w X``, ``smbclient -U u%X``, ``gh secret set
    N --body X``, ``htpasswd -b file user X``); ``name: DB_PASSWORD`` / ``value: x`` fields (Kubernetes
    and ECS env entries, one line or two); YAML block scalars under a secret name (``password: |``
    and the lines below); XML elements (``<password>x</password>``) and ``key="…" value="…"``
    attributes; secret-named pairs in any notation (``KEY=value``, ``export API_TOKEN=x``,
    ``# old: NEXTAUTH_SECRET=x``, ``"password": "x"``, ``password: 'x'``, ``key => x``, Makefile
    ``KEY ?= x`` / ``KEY := x`` / ``KEY += x``; with spaces around the separator the value runs to
    the end of the line, as in YAML and INI files; a seed phrase after ``=`` is read whole); SQL
    ``IDENTIFIED BY 'x'`` and ``PASSWORD('x')``; a secret-named word before a quoted string (SQL
    ``PASSWORD 'x'``) or after a quoted one (PHP ``define('DB_PASSWORD', 'x')``); directive lines
    (``requirepass x``, ``.netrc`` ``login u password x``); a secret-named word followed by a
    value-looking word anywhere in a line (``using API_TOKEN x for …``); and vendor-shaped tokens
    (``find_token_shapes``: GitHub, GitLab, Slack, Stripe, Google API keys, npm, OpenAI, JWTs …).
    Names are judged by ``is_secret_key``; masks (``****``), placeholders (``${VAR}``) and
    ``null``/``true`` are left alone. Every rule is a linear scan (no pattern can backtrack over
    more than a line's word), so hostile output costs time in proportion to its length.
    """
    if not text:
        return text
    text = scrub(_ANSI.sub("", text))
    text = _redact_pem(text)
    text = redact_urls(text)
    text = _AUTH_HEADER.sub(_auth_header, text)
    text = _SCHEME_TOKEN.sub(_scheme_token, text)
    text = _redact_named(text, _LONG_FLAG, _FLAG_VALUE, _option_value)
    text = _redact_tool_flags(text)
    text = _redact_named(text, _SHORT_FLAG_EQUALS, _FLAG_VALUE, _option_value)
    # after a space only a value-looking word: "-key server.key", "-password-file /run/x" are paths
    text = _redact_named(text, _SHORT_FLAG_SPACE, _FLAG_VALUE, lambda v: _option_value(v) and _spaced_value(v))
    text = _redact_named(text, _FLAG_LIST_ITEM, _LIST_ITEM_VALUE, lambda v: _hides(v) and not v.startswith("-"))
    if "pass:" in text:
        text = _OPENSSL_PASS.sub(lambda m: m.group("head") + REDACTED if _hides(m.group("value")) else m.group(0), text)
    text = _redact_block_scalars(text)
    if "<" in text:
        text = _XML_ELEMENT.sub(_xml_element, text)
        text = _XML_KEY_VALUE.sub(_xml_key_value, text)
    text = _redact_named(text, NAME_VALUE_FIELDS, _PAIR_VALUE, _hides)
    text = _redact_pairs(text)
    text = _IDENTIFIED_BY.sub(_identified_by, text)
    text = _NAME_QUOTED.sub(_name_quoted, text)
    text = _redact_named(text, _QUOTED_ARG_KEY, _QUOTED_VALUE, _quoted_argument)
    text = _DIRECTIVE.sub(_directive, text)
    text = _NETRC.sub(lambda m: m.group("head") + REDACTED, text)
    text = _redact_named(text, _NAME_SPACE, _BARE_VALUE, _value_like, key_filter=_named_in_prose)
    return _token_shapes_sub(text)


def _redact_pem(text: str) -> str:
    if "PRIVATE KEY-----" not in text:
        return text
    first_end = _PEM_END.search(text)
    first_begin = _PEM_BLOCK.search(text)
    if first_end and (first_begin is None or first_end.start() < first_begin.start()):
        # The kept tail of an output starts inside a key: its base64 lines precede the END line.
        lines = text[: first_end.start()].split("\n")
        keep = len(lines) - 1  # the (empty) rest of the line the END starts on
        while keep > 0 and _PEM_BODY_LINE.match(lines[keep - 1].rstrip("\r")):
            keep -= 1
        text = "\n".join([*lines[:keep], REDACTED, ""]) + text[first_end.start() :]
    return _PEM_BLOCK.sub(lambda m: f"{m.group('begin')}\n{REDACTED}\n{m.group('end')}", text)


def _auth_header(match: re.Match[str]) -> str:
    if not _hides(match.group("value")):
        return match.group(0)
    scheme = f"{match.group('scheme')} " if match.group("scheme") else ""
    return f"{match.group('head')}{scheme}{REDACTED}"


def _scheme_token(match: re.Match[str]) -> str:
    value = match.group("value")
    if not _shaped(value) or REDACTED in value:
        return match.group(0)
    return f"{match.group('scheme')}{match.group('sep')}{REDACTED}"


def _quoted_argument(value: str) -> bool:
    """``define('DB_PASSWORD', 'x')``'s value: one word of 8 characters or more (prose and short
    labels in a tuple of strings are not a constant's secret)."""
    body = _quoted(value)[1].strip()
    return _hides(value) and len(body) >= 8 and not any(c.isspace() for c in body)


def _option_value(value: str) -> bool:
    """An option's value that may be a secret: not the next option, not a mask or placeholder."""
    return not value.startswith("-") and _hides(value)


def _spaced_value(value: str) -> bool:
    return bool(_quoted(value)[0]) or _value_like(value)


_TOOL_NAMES = (
    "mysql",
    "mariadb",
    "sshpass",
    "redis-cli",
    "curl",
    "login",
    "mongo",
    "ldap",
    "smb",
    "net",
    "gh",
    "htpasswd",
)


def _redact_tool_flags(text: str) -> str:
    if not any(name in text for name in _TOOL_NAMES):
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        for program, option in _TOOL_FLAGS:
            found = program.search(line)
            if found:
                start = found.end()
                line = line[:start] + option.sub(_tool_value, line[start:])
        if "htpasswd" in line:
            line = _HTPASSWD.sub(_htpasswd, line)
        lines[index] = line
    return "\n".join(lines)


def _htpasswd(match: re.Match[str]) -> str:
    """``htpasswd -b …``: the password is the last word (batch mode takes it on the command line)."""
    options, words = match.group(1), match.group(2)
    letters = "".join(w[1:] for w in options.split() if w.startswith("-"))
    if "b" not in letters or len(words.split()) < 2:
        return match.group(0)
    last = words.rstrip()
    cut = max(last.rfind(" "), last.rfind("\t")) + 1
    if not _hides(last[cut:]):
        return match.group(0)
    return f"htpasswd{options}{last[:cut]}{_redact_value(last[cut:])}{words[len(last) :]}"


def _redact_block_scalars(text: str) -> str:
    """``password: |`` (or ``>-`` …) and its more-indented lines below; also a plain value written on
    the line below an empty ``password:`` (when that line is not itself a key or a list item)."""
    if ":" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in _BLOCK_SCALAR.finditer(text):
        if match.start() < pos or not is_secret_key(match.group("key")):
            continue
        column = len(match.group("indent").expandtabs())
        block = match.group("style") is not None
        end = match.end()
        cursor = end
        redacted_any = False
        pieces: list[str] = []
        while cursor < len(text) and text[cursor] == "\n":
            line_end = text.find("\n", cursor + 1)
            line_end = len(text) if line_end < 0 else line_end
            line = text[cursor + 1 : line_end]
            body = line.lstrip(" \t")
            if not body.strip():
                if not block:
                    break
                pieces.append("\n" + line)
                cursor = line_end
                continue
            if len(line[: len(line) - len(body)].expandtabs()) <= column:
                break
            if not block and (redacted_any or _YAML_KEY_LINE.match(line)):
                break  # a plain scalar takes one line here; a key or list item below means a mapping
            if REDACTED in body or not _hides(body.strip()):
                pieces.append("\n" + line)
            else:
                pieces.append("\n" + line[: len(line) - len(body)] + REDACTED)
                redacted_any = True
            cursor = line_end
        if redacted_any:
            out.append(text[pos:end] + "".join(pieces))
            pos = cursor
    out.append(text[pos:])
    return "".join(out)


def _xml_element(match: re.Match[str]) -> str:
    name = match.group("name").rpartition(":")[2]
    value = match.group("value")
    body = value.strip()
    if not is_secret_key(name) or not body or not _hides(body) or (body.isdigit() and len(body) < 8):
        return match.group(0)  # <allow_nullable_key>1</allow_nullable_key>: a setting, not a key
    return match.group(0)[: match.start("value") - match.start()] + REDACTED + f"</{match.group('name')}>"


def _xml_key_value(match: re.Match[str]) -> str:
    if not is_secret_key(match.group("key")) or not _hides(match.group("value")):
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start()] + _redact_value(match.group("value"))


def _identified_by(match: re.Match[str]) -> str:
    value = match.group("value")
    if not _hides(value) or (not _quoted(value)[0] and is_plain_words(value)):
        return match.group(0)  # "… are identified by name": prose, not Oracle's unquoted password
    return match.group("head") + _redact_value(match.group("value"))


#: Longest rejected value read again by ``_redact_named`` (it may hold the next name).
_RESCAN_LIMIT = 64


def _redact_named(
    text: str,
    head: re.Pattern[str],
    value_pattern: re.Pattern[str],
    judge: Callable[[str], bool],
    key_filter: Callable[[str], bool] = is_secret_key,
) -> str:
    """``<secret name><separator><value>`` redacted wherever ``head`` (name and separator) matches.

    Unlike ``re.sub`` over name and value together, a short value that turns out not to be a
    secret's is not consumed: it may be the next name (``a b API_TOKEN x``), so the scan resumes
    right after the name. A long one (over ``_RESCAN_LIMIT`` characters) is consumed, so no stretch
    of text is read again and again: one left-to-right pass, linear in the text.
    """
    out: list[str] = []
    pos = 0
    search_from = 0
    while match := head.search(text, search_from):
        value = value_pattern.match(text, match.end())
        if value is None or not key_filter(match.group("key")) or not judge(value.group(0)):
            long_value = value is not None and value.end() - value.start() > _RESCAN_LIMIT
            search_from = value.end() if long_value else match.end("key") + 1
            continue
        out.append(text[pos : value.start()] + _redact_value(value.group(0)))
        pos = search_from = value.end()
    out.append(text[pos:])
    return "".join(out)


#: Dates, times, versions and IPv4 addresses read as values but are none (``2024-01-01T10:00:00Z``, ``v1.2.3``).
_DATE_OR_VERSION = re.compile(
    r"^(?:\d{4}-\d\d-\d\d(?:[T ]\S*)?|\d\d:\d\d(?::\d\d)?\S*|v?\d+(?:\.\d+){1,3}(?:[-+.][\w.]+)?)$"
)


#: Secret words that name a credential even written as one lower-case word in a sentence.
_STRONG_PROSE_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey"})


def _named_in_prose(key: str) -> bool:
    """A secret name before a value in a sentence: ``API_TOKEN``, ``clientSecret``, ``password`` —
    but not a lower-case head word (``a private 10.x address``, ``the session 42``, ``key k1``)."""
    if not is_secret_key(key):
        return False
    return not key.islower() or any(c in key for c in "_-.") or key in _STRONG_PROSE_WORDS


def _value_like(token: str) -> bool:
    """A word that reads like a generated value (``Xk9mQ2wR7t``, ``a1b2c3d4e5``), not prose, a name, a
    path or a number: at least 8 characters of two classes among lower case, upper case and digits,
    or 16 random-looking ones."""
    token = token.rstrip(".,;:)]}!?").lstrip("([{")
    if len(token) < 8 or REDACTED in token or _NOT_A_VALUE.match(token) or "://" in token:
        return False
    if token[0] in "$%{<@" or any(c in token for c in "[](){}"):
        return False  # a reference, a template or markup ("Management](/security/secrets")
    if all(not part or is_plain_words(part) for part in token.split("/")):
        return False  # a path or a pair of words ("presence/strength", "getsentry/sentry-cli")
    if _DATE_OR_VERSION.match(token):
        return False
    if token.startswith(("/", "./", "../", "~/", "-")) or token.isdigit():
        return False
    if "/" in token and is_plain_words(token.split("/", 1)[0].split("#", 1)[0]):
        return False  # "Yelp/detect-secrets#791": a name, not a generated value
    classes = (any(c.islower() for c in token), any(c.isupper() for c in token), any(c.isdigit() for c in token))
    return sum(classes) >= 2 or (len(token) >= 16 and _token_like(token))


def _tool_value(match: re.Match[str]) -> str:
    if not _hides(match.group("value")):
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start()] + REDACTED


def _redact_pairs(text: str) -> str:
    """Secret-named pairs redacted; other pairs are skipped by their name only, so a secret pair
    later on the same line (``LOG: connect password=x``) is still found.

    Tight separators (``KEY=value``, ``key:value``) end an unquoted value at whitespace, as a
    shell does; spaced ones (``password: a b``, ``password = a b``) run to the end of the line,
    as YAML and INI values do.
    """
    out: list[str] = []
    pos = 0
    line_end, marker = -1, -1  # the current line's end and its last REDACTED, found once per line
    while match := _PAIR.search(text, pos):
        start, sep = match.end(), match.group("sep")
        value = _PAIR_VALUE.match(text, start) if is_secret_key(match.group("key")) else None
        if value is None:
            out.append(text[pos:start])
            pos = start
            continue
        opening, body, closing = _quoted(value.group(0))
        end = value.end()
        seed = seed_phrase_end(text, start) if not opening and body.isalpha() and body.islower() else None
        if seed is not None:
            out.append(text[pos:start] + REDACTED)
            pos = seed
            continue
        if not opening and sep.strip() != sep:
            if start > line_end:
                found = text.find("\n", start)
                line_end = len(text) if found < 0 else found
                marker = text.rfind(REDACTED, start, line_end)
            end, body = line_end, text[start:line_end]
            done = marker >= start
        else:
            done = REDACTED in body
        if done or (len(body) <= 200 and _NOT_A_VALUE.match(body.strip())):
            out.append(text[pos:start])
            pos = start
            continue
        out.append(text[pos:start] + opening + REDACTED + closing)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _name_quoted(match: re.Match[str]) -> str:
    if not is_secret_key(match.group("key")) or not _hides(match.group("value")):
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{_redact_value(match.group('value'))}"


def _directive(match: re.Match[str]) -> str:
    key, value = match.group("key"), match.group("value")
    if not is_secret_key(key) or not _hides(value):
        return match.group(0)
    if key.lower() not in ("requirepass", "masterauth") and not _shaped(value):
        return match.group(0)  # "Password changed", "Token expired": prose, not a directive
    return match.group("head") + REDACTED


#: Longest server-controlled value shown in a finding or evidence table.
MAX_VALUE_CHARS = 200
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def safe_text(value: str | None, limit: int = MAX_VALUE_CHARS) -> str:
    """A server-controlled value made safe to show anywhere: capped, escaped, scrubbed.

    Control, bidi and zero-width characters become ``\\xNN``/``\\uNNNN`` escapes, so a hostile
    header cannot forge lines in a log or table; known secrets are replaced. ``<`` and ``>`` stay
    as sent (as in ``catalog.clean_observed``): every report escapes HTML where it shows text
    (tables, Markdown, templates), and escaping them here made a ``Link: <…>`` header or an arrow
    in a script read ``\\x3c…\\x3e`` / ``-\\x3e`` (issue 14).
    """
    if value is None:
        return ""
    text = scrub(value[: limit * 4])
    text = _UNSAFE_CHARS.sub(_escape_char, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
