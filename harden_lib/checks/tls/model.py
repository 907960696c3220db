"""A scan's results as plain data, and the pure rules that classify them.

``HostScan`` is what ``analysis`` judges and ``evidence`` shows: no sslyze object survives
the scan, so tests can build cases no modern OpenSSL server can produce (SSLv2, NULL or
EXPORT suites) and notebooks can re-render a saved scan. Every string a server controls is
made safe (``safe_text``) when it enters this data, once, for findings, tables and charts alike.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harden_lib.checks.tls.params import normalise_server_name
from harden_lib.findings import Status
from harden_lib.redact import scrub

# --------------------------------------------------------------------------- hostile text

MAX_TEXT = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff<>]")


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """Server-controlled text made safe to show: control/bidi characters and ``<>`` escaped, capped.

    Applied where scan results enter ``HostScan``: subjects, names and error texts also reach
    tables and chart labels, which the finding builder's own cleaning never sees.
    """
    if value is None:
        return ""
    text = scrub(str(value)[: limit * 4])
    text = _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- scan results as data

#: sslyze result attribute → our protocol id, display name, in protocol order.
PROTOCOLS: tuple[tuple[str, str, str], ...] = (
    ("ssl_2_0_cipher_suites", "ssl2", "SSL 2.0"),
    ("ssl_3_0_cipher_suites", "ssl3", "SSL 3.0"),
    ("tls_1_0_cipher_suites", "tls1_0", "TLS 1.0"),
    ("tls_1_1_cipher_suites", "tls1_1", "TLS 1.1"),
    ("tls_1_2_cipher_suites", "tls1_2", "TLS 1.2"),
    ("tls_1_3_cipher_suites", "tls1_3", "TLS 1.3"),
)
PROTOCOL_NAMES = {pid: name for _, pid, name in PROTOCOLS}
PROTOCOLS_ATTR = {pid: attr for attr, pid, _ in PROTOCOLS}


@dataclass(frozen=True)
class CertFacts:
    """What the checks need from the leaf certificate and its validation."""

    subject: str
    issuer: str
    names: tuple[str, ...]  # SAN DNS names and IP addresses
    not_before: datetime
    not_after: datetime
    key_type: str  # rsa, ec, ed25519, ed448, dsa, other
    key_bits: int
    key_detail: str  # curve name for EC
    signature: str  # e.g. sha256WithRSAEncryption / ecdsa-with-SHA256
    signature_hash: str  # sha256, sha1, md5, "" for EdDSA
    chain_hashes: tuple[str, ...]  # signature hashes of intermediates the server sent
    self_signed: bool
    #: OpenSSL path validation's verdict; None when it could not be evaluated (``trust_detail`` says why).
    trusted: bool | None
    trust_detail: str
    hostname_ok: bool
    #: a CA certificate of the trusted chain outside its validity (judged with the expiry), "" if none
    date_problem: str = ""
    #: deviations from the CA/Browser Forum certificate profile; None when not examined
    profile: tuple[str, ...] | None = None
    #: why a strict web-PKI verifier (cryptography's, sslyze's) rejects the chain OpenSSL accepts
    strict_reason: str = ""

    def days_left(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True)
class CipherRow:
    protocol: str  # protocol id
    name: str  # IANA name
    key_exchange: str  # e.g. ECDH X25519 253 bits, "" when sslyze did not say


@dataclass
class HostScan:
    """One target's scan, reduced to plain data (what ``analyse`` looks at)."""

    target: str
    host: str
    port: int
    server_name: str
    starttls: str | None = None
    error: str | None = None  # the target could not be scanned at all
    #: protocol id → accepted (True/False), or None when that probe failed
    protocols: dict[str, bool | None] = field(default_factory=dict)
    ciphers: list[CipherRow] = field(default_factory=list)
    certificate: CertFacts | None = None
    certificate_error: str | None = None
    mozilla_profile: str = "intermediate"
    #: (deviation key, message) from sslyze's Mozilla checker; None when it could not run
    mozilla: list[tuple[str, str]] | None = None
    mozilla_error: str | None = None
    #: scan commands that did not complete, with the reason
    failed_commands: dict[str, str] = field(default_factory=dict)
    #: this host's own seconds: its probe and scan, not time spent waiting for other hosts
    seconds: float = 0.0
    #: what the first contact (TCP connect + one ClientHello) saw
    probe: str = ""


# --------------------------------------------------------------------------- cipher classification

#: (weakness class = ``tls.cipher.<class>``, matcher on the IANA name, status when a suite of it is
#: accepted). Titles, severities and the reasons live in the check catalog (``catalog/tls.yaml``).
CIPHER_CLASSES: tuple[tuple[str, str, Status], ...] = (
    ("null", r"_WITH_NULL_|_NULL_", Status.FAIL),
    ("export", r"EXPORT", Status.FAIL),
    ("anon", r"_anon_|^TLS_ECDH_anon|^TLS_DH_anon", Status.FAIL),
    ("rc4", r"_RC4_", Status.FAIL),
    ("3des", r"_DES_|_3DES_|DES_CBC|DES40", Status.FAIL),
    ("cbc", r"_CBC_", Status.WARN),
)


def classify_cipher(name: str) -> list[str]:
    """The weakness classes (``CIPHER_CLASSES`` ids, plus ``no_fs``) of one IANA suite name."""
    classes = [cid for cid, pattern, _ in CIPHER_CLASSES if re.search(pattern, name)]
    if not has_forward_secrecy(name):
        classes.append("no_fs")
    return classes


def has_forward_secrecy(name: str) -> bool:
    """TLS 1.3 suites always have it; before 1.3 only ephemeral (EC)DHE key exchange does."""
    if "_WITH_" not in name:  # TLS 1.3 names: TLS_AES_128_GCM_SHA256 …
        return True
    kex = name.split("_WITH_", 1)[0]
    return bool(re.search(r"_(EC)?DHE_", kex + "_")) and "anon" not in kex


# --------------------------------------------------------------------------- certificate names


def hostname_matches(names: Sequence[str], host: str) -> bool:
    """RFC 6125 matching of ``host`` against SAN entries: exact, or one left-most ``*`` label.

    The subject CN is ignored, as browsers do since 2017. IP addresses match only IP entries.
    ``host`` is normalised first (``normalise_server_name``): ``name.`` and ``name`` match alike
    (RFC 6125 §6.2.1), and a non-ASCII name is compared in its IDNA form, as certificates carry it.
    """
    try:
        host = normalise_server_name(host)
    except ValueError:
        host = host.strip().removesuffix(".").lower()
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    for name in names:
        entry = name.strip().rstrip(".").lower()
        if ip is not None:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(entry) == ip:
                    return True
            continue
        if entry == host:
            return True
        if entry.startswith("*.") and "*" not in entry[2:]:
            suffix = entry[1:]
            label = host[: -len(suffix)] if host.endswith(suffix) else ""
            if label and "." not in label and entry.count(".") >= 2:
                return True
    return False
