"""The config rules: their YAML shape (pydantic models) and what each kind checks.

A rule is data in an environment's params, so one checklist profile can audit any system's
env file without new Python. Every rule names the env key(s) it checks and a ``kind``; all
kinds share these optional fields::

    id: config.relays.wss      # stable check id (default: config.<kind>); waivers key on it
    severity: high             # default depends on the kind (see DEFAULT_SEVERITY)
    on_fail: warn              # report an advisory rule's failure as warn instead of fail
    optional: true             # absent/empty key -> skip instead of fail (not for `required`)
    title: …                   # one line a stakeholder understands (a default is generated)
    remediation: …             # how to fix it (a concrete default is generated)
    references: ["dstream checklist §1: relay URL safety (wss:// only)"]

The kinds (``key: NAME`` or ``keys: [A, B]`` on every kind except ``conditional``)::

    - {kind: required, keys: [DATABASE_URL, NEXT_PUBLIC_HLS_ORIGIN]}
    - {kind: equals, key: DSTREAM_DEVTOOLS, value: "0"}
    - {kind: one_of, key: NEXT_PUBLIC_NIP05_POLICY, values: [off, optional, required]}
    - {kind: url, key: NEXT_PUBLIC_NOSTR_RELAYS, schemes: [wss], allow_list: true}
    - {kind: public_host, key: NEXT_PUBLIC_NOSTR_RELAYS, allow_list: true}
    - {kind: secret_strength, key: DSTREAM_XMR_SESSION_SECRET, min_length: 32, min_entropy_bits: 128}
    - {kind: hex_key, key: ENCRYPTION_KEY, length: 64}
    - {kind: not_wildcard, key: CORS_ORIGINS}
    - {kind: list_min_count, key: NEXT_PUBLIC_NOSTR_RELAYS, min_count: 2, scheme: wss}
    - {kind: key_prefix, key: STRIPE_SECRET_KEY, prefixes: [rk_live_], forbidden_prefixes: [sk_live_]}
    - {kind: db_pooler, key: DATABASE_URL}   # hosts: [*pgbouncer*, …], ports: [6432, 6543], params: [pgbouncer=true]
    - kind: conditional
      if: {key: MONERO_WALLET_RPC_ENABLED, truthy: true}     # or equals: X / one_of: [X, Y]
      then: {kind: required, key: MONERO_WALLET_RPC_PASSWORD}  # any non-conditional rule

An absent key and a key set to the empty string are the same thing here: apps treat
``KEY=`` as unset. This module only judges values; ``harden_lib.checks.config`` turns the
judgements into findings and decides what may be shown of a value.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from harden_lib.envfile import EnvFile, is_truthy, is_well_known_value, looks_like_secret, split_list
from harden_lib.findings import Severity
from harden_lib.redact import describe_secret, redact_url, scrub_output, shannon_entropy_bits

# --------------------------------------------------------------------------- secret strength

#: Fragments that mark a template value someone forgot to replace.
_PLACEHOLDER_MARKERS = tuple(
    """changeme change_me change-me changeit replaceme replace_me replace-me placeholder example dummy
    insecure notsecret not_secret not-secret donotuse do_not_use do-not-use your_ your- yoursecret todo
    fixme xxx sample secret password default test ${ {{ ... …""".split()  # noqa: SIM905
)
_TEMPLATE = re.compile(r"<[^<>]*>")  # "<your key here>"


@dataclass(frozen=True)
class StrengthResult:
    """Whether a secret is strong enough, why not, and its shape (never its value)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    description: str = ""


def secret_strength(value: str | None, *, min_length: int = 32, min_entropy_bits: float = 128) -> StrengthResult:
    """Judge a secret by length, estimated entropy and known weak shapes. Pure: no side effects.

    Entropy is ``redact.shannon_entropy_bits`` (per-character Shannon entropy times length),
    an estimate from the value's own characters: it under-rates short random strings (a
    random 32-hex-char key estimates ~118 bits), which is why the default asks for 128 bits
    and the remediation suggests 64 hex or base64 characters. The problem texts describe
    the value's shape only, never a fragment of it, so they are safe to show.
    """
    description = describe_secret(value)
    if not value:
        return StrengthResult(False, ["is empty" if value == "" else "is absent"], description)
    problems: list[str] = []
    if len(value) < min_length:
        problems.append(f"only {len(value)} characters (at least {min_length} required)")
    bits = shannon_entropy_bits(value)
    if bits < min_entropy_bits:
        problems.append(f"estimated entropy ~{bits:.0f} bits (at least {min_entropy_bits:.0f} required)")
    problems.extend(weak_shape(value))
    return StrengthResult(not problems, problems, description)


def weak_shape(value: str) -> list[str]:
    """Shapes no random generator produces: placeholders, repeats, sequences, tiny alphabets."""
    problems: list[str] = []
    lowered = value.lower()
    if is_well_known_value(value) or lowered.startswith("your"):
        problems.append("is a commonly used stand-in value, not a generated one")
    elif any(marker in lowered for marker in _PLACEHOLDER_MARKERS) or _TEMPLATE.search(value):
        problems.append("contains a template marker (a value meant to be replaced)")
    distinct = len(set(value))
    if distinct == 1 and len(value) > 1:
        problems.append("is one character repeated")
    else:
        unit = (value + value).find(value, 1)
        if 0 < unit < len(value):
            problems.append(f"repeats a {unit}-character pattern")
        elif len(value) >= 8 and distinct <= 3:
            problems.append(f"uses only {distinct} distinct characters")
    if len(value) >= 6:
        steps = sum(1 for a, b in itertools.pairwise(value) if abs(ord(b) - ord(a)) == 1)
        if steps >= 0.6 * (len(value) - 1):
            problems.append("is mostly an alphabet or keyboard sequence")
    return problems


# --------------------------------------------------------------------------- hosts and URLs

#: URI schemes without ``//authority`` (RFC 7064/7065: ``turn:host:port?transport=tcp``).
AUTHORITYLESS_SCHEMES = frozenset({"turn", "turns", "stun", "stuns"})
#: Name suffixes that only resolve inside a private network (RFC 6761, 6762, 8375, ICANN .internal).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "broadcasthost"})
_NUMERIC_V4 = re.compile(r"^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$", re.IGNORECASE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Letters, digits, '-' and '_' (Docker service names) in dot-separated labels.
_HOST_NAME = re.compile(r"^(?!-)[a-z0-9_\-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_\-]{1,63}(?<!-))*$")


def scheme_label(scheme: str) -> str:
    """How a scheme is written: ``wss://`` but ``turn:``."""
    return f"{scheme}:" if scheme in AUTHORITYLESS_SCHEMES else f"{scheme}://"


@dataclass(frozen=True)
class Endpoint:
    """The scheme and host of one URL-ish item; ``error`` says why it could not be read."""

    scheme: str | None
    host: str | None
    error: str | None = None


def parse_endpoint(item: str) -> Endpoint:
    """Scheme and host of ``scheme://host…``, ``turn:host:port…`` or a bare ``host[:port]``."""
    item = item.strip()
    match = _SCHEME.match(item)
    if "://" in item:
        scheme = item.split("://", 1)[0].lower()
        try:
            parts = urlsplit(item)
            host = parts.hostname
            _ = parts.port  # raises ValueError for a port that is not a number in range
        except ValueError:
            return Endpoint(scheme, None, "is not a valid URL (bad host brackets or port)")
        return _checked(scheme, _clean_host(host) if host else None)
    if match and match.group(1).lower() in AUTHORITYLESS_SCHEMES:
        rest = item[match.end() :].split("?", 1)[0]
        return _checked(match.group(1).lower(), _split_hostport(rest))
    if match and not re.match(r"^[^:]+:\d+(?:/|$)", item):  # "mailto:x" but not "host:8080"
        return Endpoint(match.group(1).lower(), None)
    return _checked(None, _split_hostport(item.split("/", 1)[0]))


def _checked(scheme: str | None, host: str | None) -> Endpoint:
    """An endpoint whose host is a host name or IP address, not e.g. ``a.example,wss`` (a list)."""
    if host and _as_address(host) is None and not _HOST_NAME.match(host):
        return Endpoint(scheme, host, "has an invalid host name")
    return Endpoint(scheme, host)


def _split_hostport(text: str) -> str | None:
    text = text.rpartition("@")[2]
    if text.startswith("["):
        host = text[1:].partition("]")[0]
    elif text.count(":") > 1:
        host = text  # a bare IPv6 address
    else:
        host = text.partition(":")[0]
    return _clean_host(host) or None


def _clean_host(host: str) -> str:
    return host.strip().strip("[]").split("%", 1)[0].rstrip(".").lower()


def host_problem(host: str | None) -> str | None:
    """Why ``host`` is not a public host, or ``None`` when it is.

    Covers loopback, unspecified, link-local, private (RFC 1918, ``fc00::/7``), multicast and
    other non-global addresses, IPv4-mapped / NAT64 / 6to4 IPv6 forms of them, the numeric
    IPv4 spellings resolvers accept (``127.1``, ``0x7f000001``, ``2130706433``), and names that
    only resolve locally (``localhost``, ``*.localhost``, ``*.local``, ``*.internal``, single-label
    names such as a Docker service ``relay``). No DNS lookup is made: the audit judges the
    configuration, not today's resolver.
    """
    if not host:
        return "has no host"
    name = _clean_host(host)
    address = _as_address(name)
    if address is None:
        if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
            return "is a local-only host name"
        if "." not in name:
            return "is a single-label name (resolves only inside a private network, e.g. a Docker service)"
        return None
    return _address_problem(address)


def _as_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if _NUMERIC_V4.match(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = _address_problem(embedded)
            return f"{inner} (IPv4 inside IPv6)" if inner else None
    if address.is_loopback:
        return "is a loopback address"
    if address.is_unspecified:
        return "is the unspecified address"
    if address.is_link_local:
        return "is a link-local address"
    if address.is_multicast:
        return "is a multicast address"
    if address.is_private:
        return "is a private address"
    if not address.is_global:
        return "is not a publicly routable address"
    return None


def url_problem(item: str, schemes: Sequence[str]) -> str | None:
    """Why ``item`` is not an acceptable URL with one of ``schemes`` and a host, or ``None``."""
    if any(c.isspace() for c in item.strip()):
        return "contains whitespace"
    endpoint = parse_endpoint(item)
    if endpoint.scheme is None:
        return "is not a URL (no scheme)"
    if endpoint.scheme not in schemes:
        return f"uses {scheme_label(endpoint.scheme)}, not {_labels(schemes)}"
    if endpoint.error:
        return endpoint.error
    if not endpoint.host:
        return "has no host"
    return None


def _labels(schemes: Sequence[str]) -> str:
    labels = [scheme_label(s) for s in schemes]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


# --------------------------------------------------------------------------- showing values


@dataclass(frozen=True)
class Shown:
    """What may be shown of one key's value: the shape for secrets, redacted URLs otherwise."""

    secret: bool

    def __call__(self, value: str | None) -> str:
        if value is None:
            return "absent"
        if value == "":
            return "present but empty"
        if self.secret or looks_like_secret(value):
            return describe_secret(value)
        return scrub_output(redact_url(value))

    def item(self, item: str) -> str:
        """One item of a list value."""
        if self.secret or looks_like_secret(item):
            return f"({describe_secret(item)})"
        return scrub_output(redact_url(item))


@dataclass(frozen=True)
class Outcome:
    """One rule's judgement of one key. ``status`` is before ``on_fail`` is applied."""

    status: Literal["pass", "fail", "skip"]
    observed: str
    expected: str


# --------------------------------------------------------------------------- rule models


def _scalar(value: Any) -> Any:
    """YAML ``0``/``true`` become the strings an env file would hold (``"0"``/``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_id(value: str) -> str:
    if not re.fullmatch(r"config(?:\.[a-z0-9_\-]+)+", value):
        raise ValueError("must be a dotted lower-case id starting with 'config.' (e.g. config.relays.wss)")
    if value in reserved_ids():
        raise ValueError(f"{value} is one of harden's own config checks; give the rule another id")
    return value


def reserved_ids() -> frozenset[str]:
    """The config area's own check ids (``config.env_file`` …): a rule may not take one.

    The catalog matches exact ids before the ``config.*`` family, so a rule with such an id
    would be explained, in every report, as the env-file check it is not.
    """
    from harden_lib.catalog import catalog

    return frozenset(s.id for s in catalog().for_area("config") if not s.family)


def _key_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", value):
        raise ValueError("must be an env key name (letters, digits, '_', '.', '-'; not starting with a digit)")
    return value


def _schemes(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        out = []
        for item in value:
            if not isinstance(item, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*(?::(?://)?)?", item):
                raise ValueError("schemes are names like https, wss or turn (without '://')")
            out.append(item.split(":", 1)[0].lower())
        return out
    return value


EnvScalar = Annotated[str, BeforeValidator(_scalar)]
KeyName = Annotated[str, AfterValidator(_key_name)]
CheckId = Annotated[str, AfterValidator(_check_id)]
Schemes = Annotated[list[str], BeforeValidator(_schemes), Field(min_length=1)]


class RuleMeta(BaseModel):
    """What every rule may set about the finding it produces."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: CheckId | None = Field(None, description="stable check id; default config.<kind>")
    severity: Severity | None = Field(None, description="default depends on the kind")
    on_fail: Literal["fail", "warn"] | None = Field(None, description="warn: an advisory rule")
    title: str | None = None
    remediation: str | None = None
    references: list[str] = Field(default_factory=list, description="checklist item(s) the rule comes from")


class KeyedRule(RuleMeta):
    """A rule on one key (``key``) or several keys alike (``keys``)."""

    key: KeyName | None = None
    keys: list[KeyName] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_key_field(self) -> KeyedRule:
        if (self.key is None) == (self.keys is None):
            raise ValueError("give either 'key' (one env key) or 'keys' (a list of env keys)")
        return self

    @property
    def targets(self) -> list[str]:
        return [self.key] if self.key is not None else list(self.keys or [])

    def default_title(self, key: str) -> str:
        raise NotImplementedError

    def default_remediation(self, key: str) -> str:
        raise NotImplementedError

    def expectation(self) -> str:
        raise NotImplementedError

    def check(self, value: str, show: Shown) -> Outcome:
        """Judge a present, non-empty value."""
        raise NotImplementedError


class ValueRule(KeyedRule):
    """A rule about a value; ``optional: true`` makes an absent value a skip instead of a fail."""

    optional: bool = False


class RequiredRule(KeyedRule):
    """The key is set to a non-empty value."""

    kind: Literal["required"]

    def default_title(self, key: str) -> str:
        return f"{key} is set"

    def default_remediation(self, key: str) -> str:
        return f"Set {key} in the env file to the production value (an empty value counts as unset)."

    def expectation(self) -> str:
        return "set to a non-empty value"

    def check(self, value: str, show: Shown) -> Outcome:
        # Presence is the question, so only the shape is shown, whatever the key is called: a
        # required key is often a credential under an innocent name (DATABASE_URL, RELAY_BLOB).
        return Outcome("pass", describe_secret(value), self.expectation())


class EqualsRule(ValueRule):
    """The value is exactly ``value`` (e.g. ``DSTREAM_DEVTOOLS: "0"``)."""

    kind: Literal["equals"]
    value: EnvScalar
    ignore_case: bool = False

    def default_title(self, key: str) -> str:
        return f"{key} is set to {self.value}"

    def default_remediation(self, key: str) -> str:
        return f"Set {key}={self.value} in the env file and redeploy."

    def expectation(self) -> str:
        return f"exactly '{self.value}'" + (" (any letter case)" if self.ignore_case else "")

    def check(self, value: str, show: Shown) -> Outcome:
        same = value.lower() == self.value.lower() if self.ignore_case else value == self.value
        return Outcome("pass" if same else "fail", show(value), self.expectation())


class OneOfRule(ValueRule):
    """The value is one of ``values`` (an enumerated policy setting)."""

    kind: Literal["one_of"]
    values: list[EnvScalar] = Field(min_length=1)
    ignore_case: bool = False

    def default_title(self, key: str) -> str:
        return f"{key} has an allowed value"

    def default_remediation(self, key: str) -> str:
        return f"Set {key} to one of: {', '.join(self.values)}."

    def expectation(self) -> str:
        return "one of: " + ", ".join(self.values) + (" (any letter case)" if self.ignore_case else "")

    def check(self, value: str, show: Shown) -> Outcome:
        allowed = {v.lower() for v in self.values} if self.ignore_case else set(self.values)
        ok = (value.lower() if self.ignore_case else value) in allowed
        return Outcome("pass" if ok else "fail", show(value), self.expectation())


class UrlRule(ValueRule):
    """A URL (or, with ``allow_list``, a comma/space separated list of URLs) with allowed schemes."""

    kind: Literal["url"]
    schemes: Schemes = Field(default_factory=lambda: ["https"])
    allow_list: bool = False

    def default_title(self, key: str) -> str:
        if self.allow_list:
            return f"{key} lists only {_labels(self.schemes)} URLs"
        return f"{key} is a valid {_labels(self.schemes)} URL"

    def default_remediation(self, key: str) -> str:
        return (
            f"Change {key} so that every URL uses {_labels(self.schemes)} and names a host. Plain-text schemes "
            "(http://, ws://) let anyone on the network path read and alter the traffic."
        )

    def expectation(self) -> str:
        what = f"only {_labels(self.schemes)} URLs" if self.allow_list else f"a {_labels(self.schemes)} URL"
        return f"{what}, each naming a host"

    def check(self, value: str, show: Shown) -> Outcome:
        items = split_list(value) if self.allow_list else [value]
        bad = [(item, problem) for item in items if (problem := url_problem(item, self.schemes))]
        if not items:
            return Outcome("fail", "no URL in the value", self.expectation())
        if bad:
            listed = "; ".join(f"{show.item(item)} {problem}" for item, problem in bad)
            head = f"{len(bad)} of {len(items)} not acceptable: " if self.allow_list else ""
            return Outcome("fail", head + listed, self.expectation())
        return Outcome("pass", ", ".join(show.item(i) for i in items), self.expectation())


class PublicHostRule(ValueRule):
    """The host of the URL (or of each URL in a list) is public, not loopback/private/local."""

    kind: Literal["public_host"]
    allow_list: bool = False

    def default_title(self, key: str) -> str:
        return f"{key} points at public hosts only" if self.allow_list else f"{key} points at a public host"

    def default_remediation(self, key: str) -> str:
        return (
            f"Point {key} at the public production host name. Loopback, private and local-only addresses "
            "are unreachable from users' browsers and reveal internal network layout."
        )

    def expectation(self) -> str:
        return (
            "a public host name or address: not loopback, private, link-local or unspecified, "
            "and not a local-only name (localhost, *.local, *.internal, single-label names)"
        )

    def check(self, value: str, show: Shown) -> Outcome:
        items = split_list(value) if self.allow_list else [value]
        if not items:
            return Outcome("fail", "no host in the value", self.expectation())
        hosts = [(item, parse_endpoint(item)) for item in items]
        bad = [
            (item, endpoint, problem)
            for item, endpoint in hosts
            if (problem := endpoint.error or host_problem(endpoint.host))
        ]
        if bad:
            listed = "; ".join(
                f"{scrub_output(endpoint.host or '?')} {problem} (in {show.item(item)})"
                for item, endpoint, problem in bad
            )
            head = f"{len(bad)} of {len(items)} not public: " if self.allow_list else ""
            return Outcome("fail", head + listed, self.expectation())
        return Outcome("pass", "public: " + ", ".join(scrub_output(e.host or "") for _, e in hosts), self.expectation())


class SecretStrengthRule(ValueRule):
    """A random secret: long enough, enough estimated entropy, not a placeholder or pattern."""

    kind: Literal["secret_strength"]
    min_length: int = Field(32, ge=1, le=4096)
    min_entropy_bits: float = Field(128, ge=0, le=100_000)

    def default_title(self, key: str) -> str:
        return f"{key} is a strong random secret"

    def default_remediation(self, key: str) -> str:
        return (
            f"Generate a new random value (e.g. `openssl rand -base64 48`: 64 characters, 384 bits), keep it in "
            f"the secret manager, set {key} to it and rotate: whatever the old value signed or protected "
            "(sessions, tokens) must be invalidated."
        )

    def expectation(self) -> str:
        return (
            f"a random secret of at least {self.min_length} characters and ~{self.min_entropy_bits:.0f} bits "
            "estimated entropy, not a placeholder or pattern"
        )

    def check(self, value: str, show: Shown) -> Outcome:
        result = secret_strength(value, min_length=self.min_length, min_entropy_bits=self.min_entropy_bits)
        observed = result.description + ("" if result.ok else "; " + "; ".join(result.problems))
        return Outcome("pass" if result.ok else "fail", observed, self.expectation())


class HexKeyRule(ValueRule):
    """A key of exactly ``length`` hex characters (e.g. 64 for a 256-bit AES key), random-looking."""

    kind: Literal["hex_key"]
    length: int = Field(64, ge=2, le=4096)

    def default_title(self, key: str) -> str:
        return f"{key} is a {self.length}-character random hex key"

    def default_remediation(self, key: str) -> str:
        return (
            f"Generate the key with `openssl rand -hex {max(self.length // 2, 1)}` and set {key} to it. If the old "
            "key ever protected stored data, re-encrypt that data under the new key before retiring the old one."
        )

    def expectation(self) -> str:
        return f"exactly {self.length} hexadecimal characters ({self.length * 4} bits) from a random generator"

    def check(self, value: str, show: Shown) -> Outcome:
        problems = []
        if len(value) != self.length:
            problems.append(f"{len(value)} characters, not {self.length}")
        is_hex = bool(re.fullmatch(r"[0-9a-fA-F]+", value))
        if not is_hex:
            problems.append("contains characters that are not hexadecimal")
        problems.extend(weak_shape(value))
        observed = describe_secret(value) + ("" if not problems else "; " + "; ".join(problems))
        return Outcome("fail" if problems else "pass", observed, self.expectation())


class NotWildcardRule(ValueRule):
    """No wildcard: not ``*``, no ``*`` inside a list or pattern, not ``null`` (e.g. CORS origins)."""

    kind: Literal["not_wildcard"]
    forbidden: list[str] = Field(default_factory=lambda: ["*", "null"], min_length=1)

    def default_title(self, key: str) -> str:
        return f"{key} does not allow every origin"

    def default_remediation(self, key: str) -> str:
        return (
            f"List the exact trusted origins in {key} (e.g. https://app.example.com). '*' lets any website use the "
            "API from a visitor's browser; 'null' admits sandboxed frames and local files."
        )

    def expectation(self) -> str:
        return "an explicit list of trusted values: no " + ", no ".join(f"'{f}'" for f in self.forbidden)

    def check(self, value: str, show: Shown) -> Outcome:
        forbidden = {f.lower() for f in self.forbidden}
        items = split_list(value) or [value]
        bad = [item for item in items if item.lower() in forbidden or "*" in item]
        if bad:
            wild = ", ".join(show.item(b) for b in bad)
            return Outcome("fail", f"{show(value)} (wildcard: {wild})", self.expectation())
        return Outcome("pass", show(value), self.expectation())


class ListMinCountRule(ValueRule):
    """At least ``min_count`` distinct list entries, optionally only counting some ``scheme``s."""

    kind: Literal["list_min_count"]
    min_count: int = Field(2, ge=1, le=1000)
    scheme: Schemes | None = None

    def _what(self) -> str:
        return f"{_labels(self.scheme)} entries" if self.scheme else "entries"

    def default_title(self, key: str) -> str:
        return f"{key} lists at least {self.min_count} {self._what()}"

    def default_remediation(self, key: str) -> str:
        return (
            f"Add entries to {key} until it lists at least {self.min_count} distinct {self._what()}, run by "
            "independent operators or hosts, so one outage does not take the feature down."
        )

    def expectation(self) -> str:
        return f"at least {self.min_count} distinct {self._what()}"

    def check(self, value: str, show: Shown) -> Outcome:
        items = list(dict.fromkeys(split_list(value)))
        counted = [i for i in items if not self.scheme or parse_endpoint(i).scheme in self.scheme]
        shown = ", ".join(show.item(i) for i in counted) or "none"
        observed = f"{len(counted)} of {len(items)} distinct entries count: {shown}"
        return Outcome("pass" if len(counted) >= self.min_count else "fail", observed, self.expectation())


#: Well-known key prefixes and what a key with that prefix may do (shown instead of the value).
KNOWN_KEY_PREFIXES: dict[str, str] = {
    "sk_live_": "a Stripe live secret key (full account access)",
    "sk_test_": "a Stripe test secret key (full test-account access)",
    "rk_live_": "a Stripe live restricted key",
    "rk_test_": "a Stripe test restricted key",
    "pk_live_": "a Stripe live publishable key (not a server key)",
    "pk_test_": "a Stripe test publishable key (not a server key)",
}


def _prefix_label(prefix: str) -> str:
    """A prefix from the params as shown (capped: a whole key pasted as a 'prefix' is not echoed)."""
    return prefix if len(prefix) <= 12 else prefix[:8] + "…"


class KeyPrefixRule(ValueRule):
    """An API key of a required kind, told by its prefix (e.g. Stripe restricted keys ``rk_live_``).

    A full-access secret key (Stripe ``sk_live_``) in an application that needs three API calls
    gives whoever reads the env file the whole account (refunds, payouts, customer data); a
    restricted key limits the damage to the permissions it was created with. Only the matching
    prefix from the params (or a well-known prefix's meaning) is ever shown, never the value.
    """

    kind: Literal["key_prefix"]
    prefixes: list[str] = Field(min_length=1, description="accepted prefixes, e.g. [rk_live_]")
    forbidden_prefixes: list[str] = Field(
        default_factory=list, description="prefixes named as forbidden in the finding (e.g. sk_live_)"
    )

    def default_title(self, key: str) -> str:
        return f"{key} is a key of the required kind ({', '.join(map(_prefix_label, self.prefixes))})"

    def default_remediation(self, key: str) -> str:
        return (
            f"Create a key with only the permissions the application needs (Stripe: a restricted key, "
            f"Dashboard → Developers → API keys → Create restricted key), set {key} to it, then roll the "
            "broader key that was there: it was readable by everyone with access to this configuration."
        )

    def expectation(self) -> str:
        return "a key starting with " + " or ".join(map(_prefix_label, self.prefixes))

    def check(self, value: str, show: Shown) -> Outcome:
        value = value.strip()
        shape = describe_secret(value)
        accepted = next((p for p in self.prefixes if value.startswith(p)), None)
        if accepted is not None:
            meaning = KNOWN_KEY_PREFIXES.get(accepted, "")
            return Outcome("pass", f"starts with {_prefix_label(accepted)}" + (f" ({meaning})" if meaning else "")
                           + f"; {shape}",
                           self.expectation())  # fmt: skip
        forbidden = next((p for p in self.forbidden_prefixes if value.startswith(p)), None)
        known = next((p for p in KNOWN_KEY_PREFIXES if value.startswith(p)), None)
        if forbidden is not None:
            what = f"starts with {_prefix_label(forbidden)}, a forbidden kind" + (
                f": {KNOWN_KEY_PREFIXES[forbidden]}" if forbidden in KNOWN_KEY_PREFIXES else ""
            )
        elif known is not None:
            what = f"is {KNOWN_KEY_PREFIXES[known]} ({known})"
        else:
            what = "starts with none of the accepted prefixes"
        return Outcome("fail", f"{what}; {shape}", self.expectation())


def _url_hosts(netloc: str) -> list[tuple[str, int | None]]:
    """(host, port) of each host of a URL's authority, libpq's comma-separated list included."""
    out: list[tuple[str, int | None]] = []
    for item in netloc.rpartition("@")[2].split(","):
        item = item.strip()
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest.removeprefix(":")
        else:
            host, _, port_text = item.partition(":")
        if not host:
            continue
        port = int(port_text) if port_text.isdigit() and int(port_text) < 65536 else None
        out.append((host.lower(), port))
    return out


class DbPoolerRule(ValueRule):
    """The database URL goes through a connection pooler (PgBouncer, a provider's pooler endpoint).

    Serverless functions and many app replicas open more connections than PostgreSQL serves
    (``max_connections``); without a pooler the database refuses connections under load. The
    pooler is recognised by its host (``*pgbouncer*``, ``*pooler*`` — Supabase, Neon), its port
    (6432 PgBouncer, 6543 Supabase) or a query parameter (``pgbouncer=true``, Prisma), each list
    configurable; any one match passes.
    """

    kind: Literal["db_pooler"]
    hosts: list[str] = Field(
        default_factory=lambda: ["*pgbouncer*", "*pooler*", "*pgcat*", "*odyssey*", "*pgpool*"],
        description="host name patterns (shell-style, case-insensitive) of poolers",
    )
    ports: list[int] = Field(default_factory=lambda: [6432, 6543], description="pooler ports")
    params: list[str] = Field(
        default_factory=lambda: ["pgbouncer=true"], description="query parameters (name=value) marking a pooler"
    )

    def default_title(self, key: str) -> str:
        return f"{key} connects through a connection pooler"

    def default_remediation(self, key: str) -> str:
        return (
            f"Point {key} at the pooler (PgBouncer on port 6432 in transaction mode, or the provider's pooled "
            "endpoint, e.g. Supabase port 6543 / Neon '-pooler' host); with Prisma add pgbouncer=true. Keep a "
            "direct URL only for migrations."
        )

    def expectation(self) -> str:
        return (
            f"a host like {', '.join(self.hosts)}, a port in {', '.join(map(str, self.ports))} or "
            f"{' / '.join(self.params)} in the URL"
        )

    def check(self, value: str, show: Shown) -> Outcome:
        from fnmatch import fnmatch
        from urllib.parse import parse_qsl

        parts = urlsplit(value.strip())
        hosts = _url_hosts(parts.netloc)
        if not parts.scheme or not hosts:
            return Outcome("fail", f"{show(value)} is not a URL with a host", self.expectation())
        query = {(k.lower(), v.lower()) for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        reasons = []
        for host, port in hosts:  # libpq accepts several hosts: postgresql://h1:6432,h2:6432/db
            if any(fnmatch(host, pattern.lower()) for pattern in self.hosts):
                reasons.append(f"host {host}")
            if port is not None and port in self.ports:
                reasons.append(f"port {port}")
        host, port = hosts[0]
        for param in self.params:
            name, _, wanted = param.partition("=")
            if any(k == name.lower() and (not wanted or v == wanted.lower()) for k, v in query):
                reasons.append(param)
        where = f"{host}:{port}" if port else f"{host} (default port)"
        if reasons:
            return Outcome("pass", f"pooler recognised by {', '.join(reasons)} ({show(value)})", self.expectation())
        return Outcome("fail", f"direct connection to {where}: no pooler host, port or parameter ({show(value)})",
                       self.expectation())  # fmt: skip


class Condition(BaseModel):
    """The ``if:`` of a conditional rule: exactly one of ``equals``, ``one_of``, ``truthy``."""

    model_config = ConfigDict(extra="forbid")

    key: KeyName
    equals: EnvScalar | None = None
    one_of: list[EnvScalar] | None = Field(None, min_length=1)
    truthy: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [name for name in ("equals", "one_of", "truthy") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'equals', 'one_of' or 'truthy' next to 'key'")
        return self

    def holds(self, env_file: EnvFile) -> bool:
        value = env_file.get(self.key)
        if self.truthy is not None:
            return is_truthy(value) == self.truthy
        if self.equals is not None:
            return value == self.equals
        return value in (self.one_of or [])

    def describe(self) -> str:
        if self.truthy is not None:
            return f"{self.key} is {'on' if self.truthy else 'off'}"
        if self.equals is not None:
            return f"{self.key} is {self.equals}"
        return f"{self.key} is one of {', '.join(self.one_of or [])}"


ThenRule = Annotated[
    RequiredRule
    | EqualsRule
    | OneOfRule
    | UrlRule
    | PublicHostRule
    | SecretStrengthRule
    | HexKeyRule
    | NotWildcardRule
    | ListMinCountRule
    | KeyPrefixRule
    | DbPoolerRule,
    Field(discriminator="kind"),
]


class ConditionalRule(RuleMeta):
    """Apply ``then`` only when ``if`` holds; otherwise the finding is a skip (not applicable).

    The finding takes ``id``/``severity``/``title``/… from the conditional when set there,
    else from the ``then`` rule, else defaults (id ``config.conditional``). An absent key in
    the ``then`` branch always fails: the condition says the setting is needed.
    """

    kind: Literal["conditional"]
    if_: Condition = Field(alias="if")
    then: ThenRule

    @property
    def targets(self) -> list[str]:
        return self.then.targets


Rule = Annotated[
    RequiredRule
    | EqualsRule
    | OneOfRule
    | UrlRule
    | PublicHostRule
    | SecretStrengthRule
    | HexKeyRule
    | NotWildcardRule
    | ListMinCountRule
    | KeyPrefixRule
    | DbPoolerRule
    | ConditionalRule,
    Field(discriminator="kind"),
]

#: Every rule kind, in the order the docs list them.
RULE_KINDS: tuple[str, ...] = (
    "required",
    "equals",
    "one_of",
    "url",
    "public_host",
    "secret_strength",
    "hex_key",
    "not_wildcard",
    "list_min_count",
    "key_prefix",
    "db_pooler",
    "conditional",
)

#: Severity of a rule's failure when the rule does not set one.
DEFAULT_SEVERITY: dict[str, Severity] = {
    "required": Severity.HIGH,
    "equals": Severity.HIGH,
    "one_of": Severity.MEDIUM,
    "url": Severity.HIGH,
    "public_host": Severity.HIGH,
    "secret_strength": Severity.HIGH,
    "hex_key": Severity.HIGH,
    "not_wildcard": Severity.HIGH,
    "list_min_count": Severity.MEDIUM,
    "key_prefix": Severity.HIGH,
    "db_pooler": Severity.MEDIUM,
}

#: Kinds whose value is a secret whatever the key is called: only its shape is ever shown.
SECRET_KINDS = frozenset({"secret_strength", "hex_key", "key_prefix"})


@dataclass(frozen=True)
class Effective:
    """A rule's finding metadata after conditional/then inheritance and defaults."""

    check_id: str
    kind: str
    severity: Severity
    #: why ``severity`` is what it is (kept on the finding when it differs from the family's default)
    severity_reason: str
    fail_status: Literal["fail", "warn"]
    references: tuple[str, ...]
    inner: KeyedRule
    title: Callable[[str], str]
    remediation: Callable[[str], str]


def effective(rule: KeyedRule | ConditionalRule) -> Effective:
    """Resolve what a rule's findings say: its own fields, then its ``then`` rule's, then defaults."""
    inner: KeyedRule = rule.then if isinstance(rule, ConditionalRule) else rule
    outer: RuleMeta = rule
    kind = rule.kind  # type: ignore[union-attr]
    condition = rule.if_ if isinstance(rule, ConditionalRule) else None

    def title(key: str) -> str:
        if outer.title or inner.title:
            return outer.title or inner.title or ""
        base = inner.default_title(key)
        return f"{base} when {condition.describe()}" if condition else base

    def remediation(key: str) -> str:
        return outer.remediation or inner.remediation or inner.default_remediation(key)

    references = tuple(dict.fromkeys([*outer.references, *inner.references]))
    chosen = outer.severity or inner.severity
    return Effective(
        check_id=outer.id or inner.id or f"config.{kind}",
        kind=kind,
        severity=chosen or DEFAULT_SEVERITY[inner.kind],  # type: ignore[attr-defined]
        severity_reason="set by the rule in params" if chosen else f"the default of a {inner.kind} rule",  # type: ignore[attr-defined]
        fail_status=outer.on_fail or inner.on_fail or "fail",
        references=references,
        inner=inner,
        title=title,
        remediation=remediation,
    )
