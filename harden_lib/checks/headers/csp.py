"""Content-Security-Policy parsing and the questions the header checks ask of a policy.

Parsing follows CSP Level 3 §2.2 ("parse a serialized CSP"), the way browsers do it:
policies are separated by ``,`` (and by repeating the header), directives by ``;``, a
directive's name is case-insensitive, its sources are split on ASCII whitespace, and a
directive repeated inside one policy is ignored after its first occurrence. Browsers
enforce every policy they receive, so a weakness counts only when *every* enforced policy
has it; that is why most helpers here take a list of policies.

The server controls the header, so everything is bounded: the text parsed per header, the
number of directives and the number of sources per directive. Nothing is ever evaluated.

The Mozilla HTTP Observatory has its own, deliberately different parser (it treats a
duplicate directive as an invalid header, for instance); its port lives in
``harden_lib.checks.headers.observatory`` so that the grade matches the Observatory exactly while
the findings here describe what a browser actually enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: Longest header value parsed; a real policy is a few KB at most.
MAX_POLICY_CHARS = 16_384
#: Most directives kept per policy and sources kept per directive.
MAX_DIRECTIVES = 100
MAX_SOURCES = 256

#: Directive fallback lists (CSP3 §6.8.3 "directive fallback list"): which directive
#: governs a fetch when the specific one is absent.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "script-src": ("script-src", "default-src"),
    "script-src-elem": ("script-src-elem", "script-src", "default-src"),
    "script-src-attr": ("script-src-attr", "script-src", "default-src"),
    "style-src": ("style-src", "default-src"),
    "style-src-elem": ("style-src-elem", "style-src", "default-src"),
    "style-src-attr": ("style-src-attr", "style-src", "default-src"),
    "worker-src": ("worker-src", "child-src", "script-src", "default-src"),
    "frame-src": ("frame-src", "child-src", "default-src"),
    "child-src": ("child-src", "default-src"),
    "connect-src": ("connect-src", "default-src"),
    "font-src": ("font-src", "default-src"),
    "img-src": ("img-src", "default-src"),
    "manifest-src": ("manifest-src", "default-src"),
    "media-src": ("media-src", "default-src"),
    "object-src": ("object-src", "default-src"),
    "default-src": ("default-src",),
}

#: Directives a browser knows (CSP3 + widely implemented extensions). An unknown name is
#: usually a typo (``script_src``) that silently leaves the real directive unset.
KNOWN_DIRECTIVES = frozenset(
    {
        *FALLBACKS,
        "base-uri",
        "form-action",
        "frame-ancestors",
        "navigate-to",
        "plugin-types",
        "prefetch-src",
        "report-to",
        "report-uri",
        "require-sri-for",
        "require-trusted-types-for",
        "sandbox",
        "trusted-types",
        "upgrade-insecure-requests",
        "block-all-mixed-content",
        "fenced-frame-src",
        "webrtc",
    }
)

#: Directives where an over-broad source lets an attacker run code, frame the page or
#: redirect relative URLs; over-broad sources elsewhere are a weaker concern.
CRITICAL_DIRECTIVES = frozenset(
    {
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "object-src",
        "worker-src",
        "base-uri",
        "frame-ancestors",
    }
)
#: Passive content: loading it over HTTP is mixed *passive* content (a weaker concern).
PASSIVE_DIRECTIVES = frozenset({"img-src", "media-src"})
_SCRIPT_DIRECTIVES = frozenset({"script-src", "script-src-elem", "script-src-attr", "worker-src"})

_WILDCARD_SCHEMES = frozenset({"http:", "https:", "ws:", "wss:", "ftp:"})
_HOST_WILDCARD = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://)?\*(?:\.\*)?(?::(?:\*|\d+))?/?$")
_NONCE_OR_HASH = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")
_INSECURE_PREFIXES = ("http:", "ws:", "ftp:")
_ASCII_WS = re.compile(r"[\t\n\f\r ]+")


@dataclass(frozen=True)
class Policy:
    """One parsed policy: directive name (lower case) → sources (lower case, in order)."""

    directives: dict[str, tuple[str, ...]]
    #: Directive names that appeared more than once (browsers ignore the repeats).
    duplicates: tuple[str, ...] = ()
    #: Directive names no browser knows (likely typos).
    unknown: tuple[str, ...] = ()
    #: Where the policy came from: ``header``, ``report-only`` or ``meta``.
    origin: str = "header"
    #: Whether parsing stopped at a limit (the policy was longer than is plausible).
    truncated: bool = False

    def has(self, name: str) -> bool:
        return name in self.directives

    def get(self, name: str) -> tuple[str, ...] | None:
        return self.directives.get(name)

    def effective(self, name: str) -> tuple[str, ...] | None:
        """The source list that governs ``name`` after fallbacks; None means unrestricted."""
        for candidate in FALLBACKS.get(name, (name,)):
            if candidate in self.directives:
                return self.directives[candidate]
        return None


@dataclass(frozen=True)
class CspSet:
    """All policies a response carries, split by how a browser treats them."""

    enforced: tuple[Policy, ...] = ()
    report_only: tuple[Policy, ...] = ()
    #: Enforced policies that came from ``<meta http-equiv>`` (a subset of ``enforced``).
    meta: tuple[Policy, ...] = field(default_factory=tuple)

    @property
    def header_policies(self) -> tuple[Policy, ...]:
        return tuple(p for p in self.enforced if p.origin == "header")


def parse_policy(text: str, origin: str = "header") -> Policy:
    """Parse one serialized policy (no commas) the way CSP3 §2.2.1 does."""
    truncated = len(text) > MAX_POLICY_CHARS
    text = text[:MAX_POLICY_CHARS]
    directives: dict[str, tuple[str, ...]] = {}
    duplicates: list[str] = []
    unknown: list[str] = []
    for token in text.split(";"):
        token = token.strip("\t\n\f\r ")
        if not token:
            continue
        parts = _ASCII_WS.split(token)
        name = parts[0].lower()
        if name in directives:
            if name not in duplicates:
                duplicates.append(name)
            continue
        if len(directives) >= MAX_DIRECTIVES:
            truncated = True
            break
        sources = parts[1:]
        if len(sources) > MAX_SOURCES:
            sources = sources[:MAX_SOURCES]
            truncated = True
        directives[name] = tuple(_normalise_source(s) for s in sources)
        if name not in KNOWN_DIRECTIVES and name not in unknown:
            unknown.append(name)
    if origin == "meta":
        # The HTML spec drops these from <meta> policies; browsers ignore them there.
        for name in ("frame-ancestors", "report-uri", "sandbox"):
            directives.pop(name, None)
    return Policy(directives, tuple(duplicates), tuple(unknown), origin, truncated)


def parse_header_values(values: Iterable[str], origin: str = "header") -> list[Policy]:
    """Every policy in a list of header values (each value may hold several, comma-separated)."""
    policies: list[Policy] = []
    for value in values:
        for serialized in value[:MAX_POLICY_CHARS].split(","):
            if serialized.strip():
                policies.append(parse_policy(serialized, origin))
            if len(policies) >= 32:
                return policies
    return policies


def parse_response_csp(
    header_values: Sequence[str], report_only_values: Sequence[str] = (), meta_values: Sequence[str] = ()
) -> CspSet:
    """The enforced and report-only policies of a response, including ``<meta>`` ones."""
    meta = parse_header_values(meta_values, "meta")
    enforced = parse_header_values(header_values, "header") + meta
    report_only = parse_header_values(report_only_values, "report-only")
    return CspSet(tuple(p for p in enforced if p.directives), tuple(report_only), tuple(meta))


def _normalise_source(source: str) -> str:
    # Keywords, schemes and hosts are case-insensitive; paths are not, but no check here
    # depends on the case of a path, and lower case keeps comparisons simple.
    return source.lower()


# --------------------------------------------------------------------------- questions


def has_nonce_or_hash(sources: Iterable[str]) -> bool:
    return any(s.startswith(_NONCE_OR_HASH) for s in sources)


def allows_inline(sources: tuple[str, ...] | None, *, script: bool = True) -> bool:
    """Whether a source list lets inline code run (CSP3 §6.7.3.3).

    ``'unsafe-inline'`` is ignored by browsers when the list also has a nonce or a hash,
    and for scripts also when it has ``'strict-dynamic'``. An absent list is unrestricted.
    """
    if sources is None:
        return True
    if "'unsafe-inline'" not in sources:
        return False
    if has_nonce_or_hash(sources):
        return False
    return not (script and "'strict-dynamic'" in sources)


def allows_eval(sources: tuple[str, ...] | None) -> bool:
    """Whether ``eval()`` and friends are allowed (governed by script-src / default-src)."""
    return sources is None or "'unsafe-eval'" in sources


def is_wildcard(source: str, directive: str = "") -> bool:
    """Sources that allow (nearly) any origin: ``*``, a bare scheme, a ``*`` host.

    In script and object directives ``data:`` counts too: it lets a page run any code an
    attacker can put into a URL.
    """
    if source in _WILDCARD_SCHEMES or _HOST_WILDCARD.match(source):
        return True
    return source == "data:" and (directive in _SCRIPT_DIRECTIVES or directive in {"object-src", "default-src"})


def is_insecure_scheme(source: str) -> bool:
    """Sources that load over cleartext: ``http:``, ``http://host``, ``ws:``, ``ftp:``."""
    return source.startswith(_INSECURE_PREFIXES)


def _ignored_by_strict_dynamic(directive: str, sources: tuple[str, ...], source: str) -> bool:
    # With 'strict-dynamic', browsers ignore host and scheme sources (and 'self') for scripts.
    if directive not in _SCRIPT_DIRECTIVES or "'strict-dynamic'" not in sources:
        return False
    return not source.startswith("'")


def broad_sources(policies: Sequence[Policy], predicate) -> dict[str, list[str]]:
    """Directive → offending sources, counted only when every policy allows them.

    For each directive named in any policy, the effective list of every policy must be
    unrestricted or contain an offending source, and at least one must contain one: a
    single policy that narrows the directive protects the page.
    """
    names: list[str] = []
    for policy in policies:
        names.extend(n for n in policy.directives if n not in names)
    found: dict[str, list[str]] = {}
    for name in names:
        if name in {"report-uri", "report-to", "sandbox", "upgrade-insecure-requests", "block-all-mixed-content"}:
            continue
        if name in {"trusted-types", "require-trusted-types-for", "plugin-types", "webrtc", "require-sri-for"}:
            continue
        per_policy: list[list[str]] = []
        for policy in policies:
            sources = policy.effective(name)
            if sources is None:
                per_policy.append([])
                continue
            bad = [s for s in sources if predicate(s, name) and not _ignored_by_strict_dynamic(name, sources, s)]
            if not bad:
                per_policy = []
                break
            per_policy.append(bad)
        offending = [s for bad in per_policy for s in bad]
        if offending:
            found[name] = list(dict.fromkeys(offending))
    return found


def describe(policy: Policy, limit: int = 400) -> str:
    """A policy re-serialized for display (normalised, bounded)."""
    text = "; ".join(" ".join((name, *sources)).strip() for name, sources in policy.directives.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------- does a URL match a source list (CSP3 §6.7.2)

#: Default ports of the schemes a policy's URLs use (the URL parser drops these, so they match "no port").
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SCHEME_SOURCE = re.compile(r"^([a-z][a-z0-9+.\-]*):$")
_HOST_SOURCE = re.compile(
    r"^(?:(?P<scheme>[a-z][a-z0-9+.\-]*)://)?(?P<host>\*|(?:\*\.)?[a-z0-9\-]+(?:\.[a-z0-9\-]+)*)"
    r"(?::(?P<port>\d+|\*))?(?P<path>/[^;,]*)?$"
)


@dataclass(frozen=True)
class UrlParts:
    """What source matching reads of a URL: scheme, host, port (None = the scheme's default), path."""

    scheme: str
    host: str
    port: int | None
    path: str

    @classmethod
    def parse(cls, url: str) -> UrlParts | None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if not scheme or not host:
            return None
        if port is not None and DEFAULT_PORTS.get(scheme) == port:
            port = None
        return cls(scheme, host, port, parts.path or "/")

    def with_scheme(self, scheme: str) -> UrlParts:
        return UrlParts(scheme, self.host, self.port, self.path)

    @property
    def effective_port(self) -> int | None:
        return self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme)


def scheme_part_matches(a: str, b: str) -> bool:
    """CSP3 §6.7.2.9: expression scheme ``a`` may match URL scheme ``b`` (secure upgrades allowed)."""
    return (
        a == b
        or (a == "http" and b == "https")
        or (a == "ws" and b in ("wss", "http", "https"))
        or (a == "wss" and b == "https")
    )


def _is_domain(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return False


def host_part_matches(pattern: str, host: str) -> bool:
    """CSP3 §6.7.2.10: ``*``, ``*.example.com`` (subdomains only, not the apex) or an exact host.

    Step 1 of the algorithm: a host that is not a domain (an IP address literal) matches no
    host-part, not even ``*``.
    """
    if not _is_domain(host):
        return False
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def port_part_matches(port: str | None, url: UrlParts) -> bool:
    """CSP3 §6.7.2.11: no port matches only the URL scheme's default port; ``*`` any."""
    if port == "*":
        return True
    wanted = None if port is None else int(port)
    if wanted == url.port:
        return True
    return url.port is None and wanted == DEFAULT_PORTS.get(url.scheme)


def path_part_matches(pattern: str, path: str) -> bool:
    """CSP3 §6.7.2.12: a path ending in ``/`` is a prefix, otherwise exact; compared percent-decoded."""
    from urllib.parse import unquote

    if not pattern:
        return True
    if pattern == "/" and not path:
        return True
    exact = not pattern.endswith("/")
    a = pattern.split("/")
    b = path.split("/")
    if len(a) > len(b) or (exact and len(a) != len(b)):
        return False
    if not exact:
        a = a[:-1]
    return all(unquote(x) == unquote(y) for x, y in zip(a, b, strict=False))


def url_matches_expression(url: UrlParts, expression: str, origin: UrlParts) -> bool:
    """CSP3 §6.7.2.8 "Does url match expression in origin with redirect count" (redirect count 0)."""
    if expression == "*":
        return url.scheme in ("http", "https") or url.scheme == origin.scheme
    scheme_only = _SCHEME_SOURCE.match(expression)
    if scheme_only:
        return scheme_part_matches(scheme_only.group(1), url.scheme)
    host_source = _HOST_SOURCE.match(expression)
    if host_source:
        scheme = host_source.group("scheme")
        if scheme is not None and not scheme_part_matches(scheme, url.scheme):
            return False
        if scheme is None and not scheme_part_matches(origin.scheme, url.scheme):
            return False
        if not host_part_matches(host_source.group("host"), url.host):
            return False
        if not port_part_matches(host_source.group("port"), url):
            return False
        path = host_source.group("path")
        return not path or path_part_matches(path, url.path.lower())
    if expression == "'self'":
        if (url.scheme, url.host, url.effective_port) == (origin.scheme, origin.host, origin.effective_port):
            return True
        same_port = url.port == origin.port
        if origin.host == url.host and same_port:
            return url.scheme in ("https", "wss") or (origin.scheme == "http" and url.scheme in ("http", "ws"))
    return False


def url_matches_source_list(url: UrlParts, sources: tuple[str, ...], origin: UrlParts) -> bool:
    """CSP3 §6.7.2.7: an empty list or ``'none'`` alone matches nothing; otherwise any expression."""
    if not sources or sources == ("'none'",):
        return False
    return any(url_matches_expression(url, expression, origin) for expression in sources)


def fetched_url(url: UrlParts) -> UrlParts:
    """The URL a WebSocket's CSP check sees under the Fetch standard.

    Fetch "establish a WebSocket connection" copies the URL with its scheme set to ``http``
    (from ``ws``) or ``https`` (from ``wss``) before the request is checked, which is why CSP3's
    scheme-part matching lets ``ws:``/``wss:`` match ``http``/``https``. Browsers that check the
    ``ws(s)://`` URL itself exist too; callers check both.
    """
    if url.scheme == "ws":
        return url.with_scheme("http")
    if url.scheme == "wss":
        return url.with_scheme("https")
    return url


def allows_url(policies: Sequence[Policy], directive: str, url: UrlParts, origin: UrlParts) -> bool:
    """Whether every enforced policy lets ``directive`` load ``url`` (an absent directive allows)."""
    for policy in policies:
        sources = policy.effective(directive)
        if sources is not None and not url_matches_source_list(url, sources, origin):
            return False
    return True
