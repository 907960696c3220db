"""Findings from one ``HostScan``: a pure function of the scan's data, no network.

Every finding is built by the catalog's one builder (``harden_lib.catalog.finding``): titles,
default severities, the reasons a weakness matters, the fixes and the references live in
``harden_lib/catalog/tls.yaml``. This module decides only status and what was observed, plus
what passes where that depends on the params (expiry days, key sizes, the host name).

Name, dates and chain are separate findings (``tls.cert.hostname``, ``tls.cert.expiry``,
``tls.cert.trusted``): an expired certificate from a trusted CA is "trusted" and "expired".
A probe that did not complete is an ``error`` for its check, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from harden_lib.catalog import finding
from harden_lib.checks.tls.model import (
    CIPHER_CLASSES,
    PROTOCOL_NAMES,
    PROTOCOLS_ATTR,
    CertFacts,
    HostScan,
    classify_cipher,
    safe_text,
)
from harden_lib.checks.tls.params import TlsParams
from harden_lib.findings import Finding, Severity, Status

#: Protocols that must be rejected (the catalog says why each is broken).
LEGACY_PROTOCOLS = ("ssl2", "ssl3", "tls1_0", "tls1_1")

CERT_IDS = (
    "tls.cert.trusted",
    "tls.cert.hostname",
    "tls.cert.expiry",
    "tls.cert.key",
    "tls.cert.signature",
    "tls.cert.profile",
)

#: Signature hashes a client no longer accepts (``unknown``: one cryptography cannot even name).
WEAK_HASHES = frozenset({"md5", "sha1", "md2", "md4", "unknown"})


def _listing(items: Iterable[str], limit: int = 12) -> str:
    items = list(items)
    shown = ", ".join(safe_text(i, 80) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _protocol_findings(s: HostScan) -> list[Finding]:
    out = []
    for pid in LEGACY_PROTOCOLS:
        name = PROTOCOL_NAMES[pid]
        accepted = s.protocols.get(pid)
        if accepted is None:
            reason = s.failed_commands.get(PROTOCOLS_ATTR[pid], "no result")
            out.append(
                finding(f"tls.protocol.{pid}", Status.ERROR, s.target, f"the {name} probe did not complete: {reason}")
            )
        else:
            status = Status.FAIL if accepted else Status.PASS
            out.append(
                finding(f"tls.protocol.{pid}", status, s.target, f"{name} {'accepted' if accepted else 'rejected'}")
            )
    tls12, tls13 = s.protocols.get("tls1_2"), s.protocols.get("tls1_3")
    if tls12 is None:
        out.append(finding("tls.protocol.tls1_2", Status.ERROR, s.target, "the TLS 1.2 probe did not complete"))
    else:
        observed = (
            "TLS 1.2 accepted"
            if tls12
            else ("not offered: TLS 1.3 only" if tls13 else "neither TLS 1.2 nor 1.3 accepted")
        )
        status = Status.PASS if tls12 or tls13 else Status.FAIL
        out.append(finding("tls.protocol.tls1_2", status, s.target, observed))
    if tls13 is None:
        out.append(finding("tls.protocol.tls1_3", Status.ERROR, s.target, "the TLS 1.3 probe did not complete"))
    else:
        observed = "TLS 1.3 accepted" if tls13 else "TLS 1.3 not offered"
        out.append(finding("tls.protocol.tls1_3", Status.PASS if tls13 else Status.WARN, s.target, observed))
    return out


def _cipher_findings(s: HostScan) -> list[Finding]:
    if all(s.protocols.get(pid) is None for pid in PROTOCOL_NAMES):
        return [finding("tls.cipher.suites", Status.ERROR, s.target, "no cipher suite probe completed")]
    by_class: dict[str, list[str]] = {}
    for row in s.ciphers:
        for cls in classify_cipher(row.name):
            label = f"{row.name} ({PROTOCOL_NAMES[row.protocol]})"
            by_class.setdefault(cls, [])
            if label not in by_class[cls]:
                by_class[cls].append(label)
    out = []
    for cid, _, bad_status in CIPHER_CLASSES:
        hits = by_class.get(cid, [])
        observed = f"{len(hits)} accepted: {_listing(hits)}" if hits else "none accepted"
        out.append(finding(f"tls.cipher.{cid}", bad_status if hits else Status.PASS, s.target, observed))
    hits = by_class.get("no_fs", [])
    observed = (
        f"{len(hits)} without (EC)DHE: {_listing(hits)}" if hits else "every accepted suite uses (EC)DHE or TLS 1.3"
    )
    out.append(finding("tls.cipher.forward_secrecy", Status.WARN if hits else Status.PASS, s.target, observed))
    return out


def _expected(check_id: str, s: HostScan, params: TlsParams) -> str | None:
    """What passes, where it depends on the params or the target (None: the catalog's wording)."""
    if check_id == "tls.cert.hostname":
        return f"a subjectAltName entry matching {safe_text(s.server_name, 100)}"
    if check_id == "tls.cert.expiry":
        return f"at least {params.warn_days} days left (fail below {params.fail_days})"
    if check_id == "tls.cert.key":
        return f"RSA ≥ {params.min_rsa_bits} bits or EC ≥ {params.min_ec_bits} bits"
    return None


def _trust_finding(s: HostScan, c: CertFacts) -> Finding:
    who = f"subject {c.subject}, issuer {c.issuer}"
    if s.certificate_error:  # e.g. the configured CA bundle is missing
        return finding("tls.cert.trusted", Status.ERROR, s.target, f"{s.certificate_error}; {c.trust_detail}")
    if c.trusted is None:
        observed = f"{who}; trust could not be evaluated: {c.trust_detail}"
        return finding("tls.cert.trusted", Status.ERROR, s.target, observed)
    observed = f"{who}{' (self-signed)' if c.self_signed else ''}; {c.trust_detail}"
    return finding("tls.cert.trusted", Status.PASS if c.trusted else Status.FAIL, s.target, observed)


def _expiry_finding(s: HostScan, c: CertFacts, params: TlsParams, now: datetime) -> Finding:
    days = c.days_left(now)
    if days < 0:
        status, observed = Status.FAIL, f"expired {int(-days)} day(s) ago ({c.not_after:%Y-%m-%d %H:%M} UTC)"
    else:
        status = Status.FAIL if days < params.fail_days else Status.WARN if days < params.warn_days else Status.PASS
        observed = f"{int(days // 1)} day(s) left, until {c.not_after:%Y-%m-%d %H:%M} UTC"
    if c.not_before > now:
        status, observed = Status.FAIL, f"not valid before {c.not_before:%Y-%m-%d %H:%M} UTC (clock or issuance error)"
    if c.date_problem:  # a CA certificate of the chain: every client refuses the chain, whatever the leaf's dates
        status, observed = Status.FAIL, f"{c.date_problem}; the leaf: {observed}"
    return finding("tls.cert.expiry", status, s.target, observed, expected=_expected("tls.cert.expiry", s, params))


def _key_finding(s: HostScan, c: CertFacts, params: TlsParams) -> Finding:
    key = f"{c.key_type.upper()} {c.key_bits} bits" + (f" ({c.key_detail})" if c.key_detail else "")
    if c.key_type == "rsa":
        key_ok = c.key_bits >= params.min_rsa_bits
    elif c.key_type == "ec":
        key_ok = c.key_bits >= params.min_ec_bits
    else:
        key_ok = c.key_type in ("ed25519", "ed448")
    status = Status.PASS if key_ok else Status.FAIL
    return finding("tls.cert.key", status, s.target, key, expected=_expected("tls.cert.key", s, params))


def _profile_finding(s: HostScan, c: CertFacts) -> Finding:
    """CA/Browser Forum profile deviations: low, because OpenSSL-based clients accept such chains."""
    if c.profile is None:
        return finding("tls.cert.profile", Status.ERROR, s.target, "the certificates were not examined")
    if not c.profile and not c.strict_reason:
        return finding("tls.cert.profile", Status.PASS, s.target, "no deviation")
    observed = "; ".join(c.profile) if c.profile else "no missing extension found"
    if c.strict_reason:
        observed += f". A strict web-PKI verifier (cryptography's, used by sslyze) rejects the chain: {c.strict_reason}"
    if c.profile:
        observed = f"{len(c.profile)} deviation(s): {observed}"
    return finding("tls.cert.profile", Status.WARN, s.target, observed)


def _cert_findings(s: HostScan, params: TlsParams, now: datetime) -> list[Finding]:
    c = s.certificate
    if c is None:  # every certificate check is an error, rated high (the profile check stays low)
        reason = s.certificate_error or "no certificate"
        return [
            finding(
                cid,
                Status.ERROR,
                s.target,
                reason,
                expected=_expected(cid, s, params),
                severity=None if cid == "tls.cert.profile" else Severity.HIGH,
                severity_reason="no certificate could be read: a scan error, rated high like every certificate error",
            )
            for cid in CERT_IDS
        ]
    bad_hashes = [h for h in (c.signature_hash, *c.chain_hashes) if h in WEAK_HASHES]
    signature = f"leaf: {c.signature}" + (f"; intermediates: {', '.join(c.chain_hashes)}" if c.chain_hashes else "")
    return [
        _trust_finding(s, c),
        finding(
            "tls.cert.hostname",
            Status.PASS if c.hostname_ok else Status.FAIL,
            s.target,
            f"{safe_text(s.server_name, 100)} vs names: {_listing(c.names) or 'none (no subjectAltName)'}",
            expected=_expected("tls.cert.hostname", s, params),
        ),
        _expiry_finding(s, c, params, now),
        _key_finding(s, c, params),
        finding("tls.cert.signature", Status.FAIL if bad_hashes else Status.PASS, s.target, signature),
        _profile_finding(s, c),
    ]


def _mozilla_finding(s: HostScan) -> Finding:
    cid = f"tls.mozilla.{s.mozilla_profile}"
    if s.mozilla is None:
        return finding(cid, Status.ERROR, s.target, s.mozilla_error or "the check did not run")
    if not s.mozilla:
        return finding(cid, Status.PASS, s.target, "no deviation")
    listed = "; ".join(f"{k}: {v}" for k, v in s.mozilla)
    return finding(cid, Status.FAIL, s.target, f"{len(s.mozilla)} deviation(s): {listed}")


def analyse(s: HostScan, params: TlsParams, now: datetime | None = None) -> list[Finding]:
    """Every finding for one scanned target (pure: no network)."""
    now = now or datetime.now(UTC)
    if s.error:
        return [finding("tls.scan", Status.ERROR, s.target, s.error)]
    return [*_protocol_findings(s), *_cipher_findings(s), *_cert_findings(s, params, now), _mozilla_finding(s)]


def nothing_to_scan() -> Finding:
    """The area's one finding when the environment names no TLS endpoint: a skip, not a pass."""
    return finding(
        "tls.scan",
        Status.SKIP,
        "",
        "no https base_url and no tls.targets configured",
        expected="at least one TLS endpoint",
        severity=Severity.INFO,
        severity_reason="nothing is configured to scan: informational, it cannot gate a release",
    )
