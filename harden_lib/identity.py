"""Stable finding identity: the same id for the same check on the same target, run after run.

History, diff, trends and drift key on it (DESIGN §4, §10). An id is built from the area,
the check id and the *normalised* target, never from anything that changes between runs of
an unchanged deployment, and never from a secret:

* the target is redacted first (``redact.redact_urls`` and the process's secret registry),
  then hashed: an id never carries what a target held, only a digest of its redacted form;
* URLs are normalised (scheme and host lower-cased, default ports dropped, a lone ``/`` path
  dropped), so ``HTTPS://App.example.com:443/`` and ``https://app.example.com`` are one target;
* the environment's own origins (``base_url`` and its plain-HTTP address) are replaced by
  ``{base}`` / ``{http}``. So the demo's random ports do not make every finding "new" on the
  next run, and staging's ``https://staging.example.com/login`` and production's
  ``https://app.example.com/login`` share an id, which is what a drift matrix compares.

Ids are unique within a run: two findings with the same (area, check id, normalised target)
get a suffix from a digest of their title and expected text, and if even those are equal,
their order of appearance (``~2``, ``~3`` …), which is stable as long as the area emits its
findings in a stable order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from harden_lib.redact import redact_urls, scrub

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443, "ftp": 21}
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s,;()<>\"']+")
_SPACES = re.compile(r"\s+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s]*@")


@dataclass(frozen=True)
class IdentityContext:
    """The environment's own origins, replaced by placeholders in targets (see the module doc).

    ``origins`` maps a ``host:port`` netloc (lower-case, port always explicit) to its placeholder.
    """

    origins: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_urls(cls, base_url: str | None = None, http_url: str | None = None) -> IdentityContext:
        origins: dict[str, str] = {}
        for url, name in ((http_url, "{http}"), (base_url, "{base}")):  # base wins when both are one origin
            netloc = _netloc(url) if url else None
            if netloc:
                origins[netloc] = name
        return cls(origins)

    @classmethod
    def for_environment(cls, env: object) -> IdentityContext:
        """From an ``Environment`` (``base`` and ``plain_http``; the demo's are attached at run time)."""
        return cls.for_urls(getattr(env, "base", None), getattr(env, "plain_http", None))


def _netloc(url: str) -> str | None:
    """``host:port`` of a URL, lower-case, with the scheme's default port made explicit."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _normalise_url(url: str, context: IdentityContext) -> str:
    # user-info is dropped first: it names an account (or held a password, now ``[REDACTED]``,
    # which urlsplit would take for a broken IPv6 host) and never identifies a target
    url = _USERINFO.sub(r"\1", url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url
    if not host:
        return url
    shown_host = f"[{host}]" if ":" in host else host
    explicit = port or _DEFAULT_PORTS.get(scheme)
    key = f"{shown_host}:{explicit}" if explicit else shown_host
    if key in context.origins:
        netloc = context.origins[key]
    else:
        netloc = shown_host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{shown_host}:{port}"
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


def normalise_target(target: str, context: IdentityContext | None = None) -> str:
    """The target as an identity sees it: redacted, URLs normalised, own origins as placeholders."""
    context = context or IdentityContext()
    text = redact_urls(scrub(target or ""))
    text = _URL.sub(lambda m: _normalise_url(m.group(0), context), text)
    text = _SPACES.sub(" ", text).strip()
    if context.origins:
        # a bare ``host:port`` target (TLS endpoints) of the environment's own origin
        token = text.lower()
        if token in context.origins:
            return context.origins[token]
    return text


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def base_id(area: str, check_id: str, target: str, context: IdentityContext | None = None) -> str:
    """``<check_id>@<12 hex>``: readable by its check, the digest covers area and normalised target."""
    return f"{check_id}@{_digest(area, check_id, normalise_target(target, context))}"


def assign_ids(findings: Sequence[object], context: IdentityContext | None = None) -> list[str]:
    """One id per finding, in order: stable across runs and unique within ``findings``.

    ``findings`` are ``Finding`` objects or mappings with the same field names.
    """

    def get(item: object, name: str) -> str:
        value = item.get(name, "") if isinstance(item, dict) else getattr(item, name, "")
        return str(value or "")

    ids = [base_id(get(f, "area"), get(f, "check_id"), get(f, "target"), context) for f in findings]
    groups: dict[str, list[int]] = {}
    for index, value in enumerate(ids):
        groups.setdefault(value, []).append(index)
    for value, members in groups.items():
        if len(members) == 1:
            continue
        seen: dict[str, int] = {}
        for index in members:
            item = findings[index]
            extra = _digest(get(item, "title"), get(item, "expected"), length=6)
            candidate = f"{value}~{extra}"
            seen[candidate] = seen.get(candidate, 0) + 1
            ids[index] = candidate if seen[candidate] == 1 else f"{candidate}~{seen[candidate]}"
    return ids


def duplicates(ids: Iterable[str]) -> list[str]:
    """Ids that occur more than once (empty when every id is unique)."""
    seen: set[str] = set()
    twice: list[str] = []
    for value in ids:
        if value in seen and value not in twice:
            twice.append(value)
        seen.add(value)
    return twice
