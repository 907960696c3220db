"""The Observatory's CSP parser (``src/analyzer/cspParser.js``) and its CSP test (``tests/csp.js``).

Deliberately not the browser-faithful parser of ``harden_lib.checks.headers.csp``: the
Observatory rejects a policy that repeats a directive and intersects several policies, and
the grade must match what it shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harden_lib.checks.headers.observatory.page import PageScan, joined

_SHORTEST_DIRECTIVE_LENGTH = len("img-src") - 1
_ALLOWED_DUPLICATE_KEYS = frozenset({"report-uri", "report-to"})
DUPLICATE_WARNINGS_KEY = "_observatory_duplicate_key_warnings"
_DIRECTIVES_DISALLOWED_IN_META = ("frame-ancestors", "report-uri", "sandbox")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


class CspParseError(ValueError):
    """The Observatory would call this policy invalid (``csp-header-invalid``)."""


@dataclass
class _Src:
    source: str
    index: int
    keep: bool


def observatory_parse_csp(csp_list: Sequence[str]) -> dict[str, set[str]]:
    """``parseCsp`` of src/analyzer/cspParser.js.

    Unlike a browser it rejects a policy that repeats a directive (except report-uri /
    report-to, which are recorded under ``DUPLICATE_WARNINGS_KEY``), and it combines several
    policies by keeping only sources present in each. Sorting uses Python's code-point
    order instead of ``Intl.Collator("en")``; this only matters for the prefix pruning of
    sources of one policy, where both orders put a prefix before its extensions.
    """
    clean = [re.sub(r"[\r\n]", "", s).strip() for s in csp_list]
    if not clean:
        return {}
    for text in clean:
        if not text or len(text) < _SHORTEST_DIRECTIVE_LENGTH:
            raise CspParseError("policy too short")
    csp: dict[str, list[_Src]] = {}
    duplicate_warnings: set[str] = set()
    for policy_index, policy in enumerate(clean):
        seen: set[str] = set()
        for entry in policy.split(";"):
            parts = re.split(r"\s+", entry.strip())
            directive_entry, value_entries = parts[0], parts[1:]
            if not directive_entry:
                continue
            directive = directive_entry.lower()
            if directive in seen:
                if directive in _ALLOWED_DUPLICATE_KEYS:
                    duplicate_warnings.add(directive)
                else:
                    raise CspParseError(f"duplicate directive {directive}")
            else:
                seen.add(directive)
            keep = policy_index == 0
            values: list[_Src] = []
            if value_entries:
                values = [_Src(raw.strip().lower(), policy_index, keep) for raw in value_entries]
            elif directive.endswith("-src"):
                values = [_Src("'none'", policy_index, keep)]
            combined = list(values) if policy_index == 0 else [*csp.get(directive, []), *values]
            combined.sort(key=lambda s: s.source)
            for i in range(1, len(combined)):
                source, prev = combined[i], combined[i - 1]
                # same policy and a shared prefix: the longer source is superfluous
                if source.index == prev.index and source.source.startswith(prev.source):
                    source.keep = False
                # a source has to exist in both policies to count
                if source.index != prev.index and _path_part_match(prev.source, source.source):
                    source.keep = True
            csp[directive] = [s for s in combined if s.keep]
            if policy_index == 0 and len(csp_list) > 1:
                for s in csp[directive]:
                    s.keep = False
    final: dict[str, set[str]] = {
        directive: ({s.source for s in sources} if sources else {"'none'"}) for directive, sources in csp.items()
    }
    if duplicate_warnings:
        final[DUPLICATE_WARNINGS_KEY] = duplicate_warnings
    return final


def observatory_parse_csp_meta(csp_list: Sequence[str]) -> dict[str, set[str]]:
    """``parseCspMeta``: a meta policy without the directives HTML ignores there."""
    parsed = observatory_parse_csp(csp_list)
    for directive in _DIRECTIVES_DISALLOWED_IN_META:
        parsed.pop(directive, None)
    return parsed


def _decode_uri_component(text: str) -> str:
    # decodeURIComponent throws on a malformed escape; the Observatory then reports the
    # CSP as invalid, so this raises too.
    if "%" in text and re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise CspParseError("malformed percent-escape")
    raw = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text)
    try:
        return raw.encode("latin-1", errors="strict").decode("utf-8") if raw != text else text
    except (UnicodeEncodeError, UnicodeDecodeError):
        # non-ASCII text mixed with escapes: decode escapes as UTF-8 byte runs
        try:
            return re.sub(
                r"(?:%[0-9A-Fa-f]{2})+", lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8"), text
            )
        except UnicodeDecodeError:
            raise CspParseError("malformed percent-escape") from None


def _path_part_match(path_a: str, path_b: str) -> bool:
    """``pathPartMatch`` of cspParser.js."""
    if len(path_a) == 0:
        return True
    if path_a == "/" and len(path_b) == 0:
        return True
    exact = not path_a.endswith("/")
    list_a = path_a.split("/")
    list_b = path_b.split("/")
    if len(list_a) > len(list_b):
        return False
    if exact and len(list_a) != len(list_b):
        return False
    if not exact:
        list_a.pop()
    return all(_decode_uri_component(a) == _decode_uri_component(b) for a, b in zip(list_a, list_b, strict=False))


# --------------------------------------------------------------------------- the CSP test (csp.js)

_DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_BROAD_OR_INLINE = _DANGEROUSLY_BROAD | _UNSAFE_INLINE
_PASSIVE = ("img-src", "media-src")
_NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


def _starts_with_nonce_hash(sources: set[str]) -> bool:
    return any(s.startswith(_NONCES_HASHES) for s in sources)


@dataclass
class CspOutput:
    result: str
    passed: bool = False
    data: dict[str, list[str]] | None = None


def csp_test(headers: Any, url: str, scan: PageScan | None) -> CspOutput:
    """``contentSecurityPolicyTest`` of src/analyzer/tests/csp.js."""
    expectation = "csp-implemented-with-no-unsafe"
    header = joined(headers, "content-security-policy")
    http_csp = [header] if header is not None else []
    equiv_csp = list(scan.meta_csp) if scan else []
    try:
        csp = observatory_parse_csp([*http_csp, *equiv_csp])
    except CspParseError:
        return CspOutput("csp-header-invalid")
    try:
        header_only = observatory_parse_csp(http_csp)
    except CspParseError:
        header_only = {}
    try:
        meta_csp = observatory_parse_csp_meta(equiv_csp)
    except CspParseError:
        meta_csp = {}
    if len(header_only) + len(meta_csp) == 0:
        if headers.get("content-security-policy-report-only"):
            return CspOutput("csp-not-implemented-but-reporting-enabled")
        return CspOutput("csp-not-implemented")

    result: str | None = None

    def first(*candidates: set[str] | None) -> set[str]:
        # JS ``a || b || new Set(["*"])``: a Set is truthy even when empty. The sets are
        # shared with ``csp`` on purpose: csp.js mutates them in place below.
        for candidate in candidates:
            if candidate is not None:
                return candidate
        return {"*"}

    base_uri = first(csp.get("base-uri"))
    frame_ancestors = first(header_only.get("frame-ancestors"))  # header only: not allowed in meta
    form_action = first(csp.get("form-action"))
    object_src = first(csp.get("object-src"), csp.get("default-src"))
    script_src = first(csp.get("script-src"), csp.get("default-src"))
    style_src = first(csp.get("style-src"), csp.get("default-src"))

    # 'unsafe-inline' is ignored when a nonce or hash is present (as browsers do)
    for source_list in (script_src, style_src):
        if _starts_with_nonce_hash(source_list) and "'unsafe-inline'" in source_list:
            source_list.discard("'unsafe-inline'")

    if _starts_with_nonce_hash(script_src) and "'strict-dynamic'" in script_src:
        for source in list(script_src):
            if (
                any(source.startswith(b) for b in _DANGEROUSLY_BROAD)
                or source == "'self'"
                or source == "'unsafe-inline'"
            ):
                script_src.discard(source)
    elif "'strict-dynamic'" in script_src and result is None:
        # quirk: 'strict-dynamic' without a nonce or hash is "invalid" for the Observatory
        result = "csp-header-invalid"

    active = [s for d, sources in csp.items() if d not in _PASSIVE and d != "script-src" for s in sources]
    active.extend(script_src)
    passive = [s for d in _PASSIVE for s in (csp.get(d) if csp.get(d) is not None else csp.get("default-src", set()))]
    https = urlsplit(url).scheme.lower() == "https"

    if any(s in _BROAD_OR_INLINE for s in script_src) or any(s in _DANGEROUSLY_BROAD for s in object_src):
        result = result or "csp-implemented-with-unsafe-inline"
    if https and any(s.startswith(("http:", "ftp:")) for s in active):
        result = result or "csp-implemented-with-insecure-scheme"
    if "'unsafe-eval'" in script_src | style_src:
        result = result or "csp-implemented-with-unsafe-eval"
    if https and any(s.startswith(("http:", "ftp:")) for s in passive):
        result = result or "csp-implemented-with-insecure-scheme-in-passive-content-only"
    if any(s in _BROAD_OR_INLINE for s in style_src):
        result = result or "csp-implemented-with-unsafe-inline-in-style-src-only"
    default_src = csp.get("default-src")
    if default_src is not None and "'none'" in default_src and len(default_src) == 1:
        result = result or "csp-implemented-with-no-unsafe-default-src-none"
    else:
        result = result or "csp-implemented-with-no-unsafe"
    # (csp.js also derives antiClickjacking / insecureBaseUri / insecureFormAction here;
    # they are informational and do not change the result.)
    del base_uri, frame_ancestors, form_action

    passed = result in {
        expectation,
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    }
    if passed and DUPLICATE_WARNINGS_KEY in csp:
        result = "csp-implemented-but-duplicate-directives"
    data = {k: sorted(v) for k, v in csp.items() if k != DUPLICATE_WARNINGS_KEY}
    return CspOutput(result, passed, data)
