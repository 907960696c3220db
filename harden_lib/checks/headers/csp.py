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
