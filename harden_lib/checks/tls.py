"""TLS of the deployment's endpoints: protocols, cipher suites, certificates, expiry, Mozilla profile.

Targets are the environment's HTTPS host (from ``base_url``) plus ``tls.targets`` (``host:port``,
optionally with a STARTTLS protocol for datastores and mail). Each target goes through its own
pipeline, all targets side by side:

1. a **probe** (``tls_probe``): TCP connect, STARTTLS if configured, one ClientHello, the first
   bytes of the answer — about one ``tls.timeout`` for a silent port instead of sslyze's eleven,
   and "not TLS (plain text)" for an HTTP or other plain-text port;
2. **sslyze** with its own ``Scanner`` per host (so a slow host never holds back another's
   results, and each host's seconds are its own), at most ``tls.concurrent_hosts`` at a time:
   one handshake per protocol version and cipher suite, the certificate chain as the server sends
   it, and sslyze's checker against Mozilla's server-side TLS profiles;
3. **trust** (``tls_trust``): OpenSSL path validation, as a client connecting with OpenSSL
   decides it, against ``http.ca_bundle`` or the system store — not sslyze's strict web-PKI
   verifier, which rejects private-CA chains OpenSSL, curl, browsers and testssl.sh accept.
   Deviations from the CA/Browser Forum certificate profile are their own low finding
   (``tls.cert.profile``), and the Mozilla profile finding judges the TLS configuration only
   (sslyze's ``certificate_path_validation`` issue is left out: trust is reported once).

Why the split between ``scan`` and ``analyse``: the analysis is a pure function of a
``HostScan`` (plain data), so tests can analyse cases no modern OpenSSL server can produce
(NULL or EXPORT suites, SSLv2) without a network, and notebooks can re-render a saved scan.
Name, dates and chain are separate findings (``tls.cert.hostname``, ``tls.cert.expiry``,
``tls.cert.trusted``): an expired certificate from a trusted CA is "trusted" and "expired".

A scanned server is hostile: every string it controls (subject, issuer, names, error texts,
plain-text answers) is capped and escaped before it reaches a finding or table. Unreachable
hosts, refused handshakes, non-TLS ports and timeouts are ``tls.scan`` errors that name what
happened (and which timeout expired); the other hosts are still scanned.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from traceback import TracebackException
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harden_lib.checks.tls_probe import ProbeResult, probe
from harden_lib.checks.tls_trust import (
    TrustResult,
    TrustStore,
    profile_deviations,
    strict_verifier_reason,
    trust_stores,
    verify_with_openssl,
)
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import scrub

if TYPE_CHECKING:
    import pandas as pd
    from cryptography import x509
    from matplotlib.figure import Figure

    from harden_lib.params import Environment

AREA = "tls"
LOG = logging.getLogger(__name__)

#: STARTTLS protocols sslyze can negotiate before the TLS handshake (its
#: ``ProtocolWithOpportunisticTlsEnum``), by the name used in params.
STARTTLS = ("smtp", "xmpp", "xmpp_server", "ftp", "pop3", "ldap", "imap", "rdp", "postgres")
StartTls = Literal["smtp", "xmpp", "xmpp_server", "ftp", "pop3", "ldap", "imap", "rdp", "postgres"]

_ADDRESS = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?))(?::(?P<port>\d{1,5}))?$"
)


def parse_address(value: str, default_port: int = 443) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` → (host, port); ValueError with a clear reason."""
    match = _ADDRESS.match(value.strip())
    if not match:
        raise ValueError("must be host:port (an IPv6 address in brackets: [::1]:443)")
    host = match.group("v6") or match.group("host") or ""
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("the bracketed part is not an IPv6 address") from None
    port = int(match.group("port") or default_port)
    if not 1 <= port <= 65535:
        raise ValueError("the port must be between 1 and 65535")
    return host, port


class TlsTarget(BaseModel):
    """One endpoint to scan. In YAML a plain ``host:port`` string is enough."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="host:port ([v6]:port for IPv6); the port defaults to 443")
    starttls: StartTls | None = Field(None, description="negotiate TLS with STARTTLS first (postgres, smtp, …)")
    server_name: str | None = Field(
        None, description="name to send (SNI) and to match against the certificate; default: the host"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"address": value} if isinstance(value, str) else value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_address(value)
        return value.strip()

    @property
    def host(self) -> str:
        return parse_address(self.address)[0]

    @property
    def port(self) -> int:
        return parse_address(self.address)[1]

    @property
    def label(self) -> str:
        host, port = parse_address(self.address)
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{port}" + (f" ({self.starttls})" if self.starttls else "")


class TlsParams(BaseModel):
    """The ``tls:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    include_base_url: bool = Field(True, description="scan the host:port of base_url (when it is https)")
    targets: list[TlsTarget] = Field(
        default_factory=list, max_length=100, description="more endpoints: host:port, or {address, starttls}"
    )
    warn_days: int = Field(30, ge=1, le=3650, description="warn when the certificate expires in fewer days")
    fail_days: int = Field(7, ge=0, le=3650, description="fail when it expires in fewer days (or has expired)")
    mozilla_profile: Literal["modern", "intermediate"] = Field(
        "intermediate", description="Mozilla server-side TLS configuration the endpoints must follow"
    )
    min_rsa_bits: int = Field(2048, ge=1024, le=16384, description="smallest acceptable RSA key")
    min_ec_bits: int = Field(256, ge=160, le=521, description="smallest acceptable elliptic-curve key")
    timeout: float = Field(5.0, gt=0, le=120, description="seconds per network operation of the scanner")
    concurrent_hosts: int = Field(4, ge=1, le=32, description="hosts scanned at the same time")

    @model_validator(mode="after")
    def _thresholds(self) -> TlsParams:
        if self.fail_days >= self.warn_days:
            raise ValueError("fail_days must be smaller than warn_days")
        return self


# --------------------------------------------------------------------------- hostile text

MAX_TEXT = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff<>]")


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """Server-controlled text made safe to show: control/bidi characters and ``<>`` escaped, capped."""
    if value is None:
        return ""
    text = scrub(str(value)[: limit * 4])
    text = _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listing(items: Iterable[str], limit: int = 12) -> str:
    items = list(items)
    shown = ", ".join(safe_text(i, 80) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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

#: (check id suffix, title, matcher on the IANA name, status, severity, why)
CIPHER_CLASSES: tuple[tuple[str, str, str, Status, Severity, str], ...] = (
    (
        "null",
        "No cipher suite without encryption (NULL)",
        r"_WITH_NULL_|_NULL_",
        Status.FAIL,
        Severity.CRITICAL,
        "NULL suites send application data in clear text.",
    ),
    (
        "export",
        "No export-grade cipher suite",
        r"EXPORT",
        Status.FAIL,
        Severity.CRITICAL,
        "Export suites use 40/56-bit keys, broken in minutes (FREAK, Logjam).",
    ),
    (
        "anon",
        "No anonymous (unauthenticated) cipher suite",
        r"_anon_|^TLS_ECDH_anon|^TLS_DH_anon",
        Status.FAIL,
        Severity.CRITICAL,
        "Anonymous suites skip server authentication: any man in the middle can impersonate the server.",
    ),
    ("rc4", "No RC4 cipher suite", r"_RC4_", Status.FAIL, Severity.HIGH, "RC4 is broken (RFC 7465 prohibits it)."),
    (
        "3des",
        "No DES or 3DES cipher suite",
        r"_DES_|_3DES_|DES_CBC|DES40",
        Status.FAIL,
        Severity.HIGH,
        "64-bit block ciphers fall to Sweet32 birthday attacks; single DES is brute-forceable.",
    ),
    (
        "cbc",
        "No CBC-mode cipher suite",
        r"_CBC_",
        Status.WARN,
        Severity.LOW,
        "CBC-mode suites (MAC-then-encrypt) keep producing padding-oracle attacks (Lucky13, POODLE-style); "
        "AEAD suites (GCM, ChaCha20-Poly1305) do not.",
    ),
)


def classify_cipher(name: str) -> list[str]:
    """The weakness classes (``CIPHER_CLASSES`` ids, plus ``no_fs``) of one IANA suite name."""
    classes = [cid for cid, _, pattern, *_ in CIPHER_CLASSES if re.search(pattern, name)]
    if not has_forward_secrecy(name):
        classes.append("no_fs")
    return classes


def has_forward_secrecy(name: str) -> bool:
    """TLS 1.3 suites always have it; before 1.3 only ephemeral (EC)DHE key exchange does."""
    if "_WITH_" not in name:  # TLS 1.3 names: TLS_AES_128_GCM_SHA256 …
        return True
    kex = name.split("_WITH_", 1)[0]
    return bool(re.search(r"_(EC)?DHE_", kex + "_")) and "anon" not in kex


# --------------------------------------------------------------------------- certificate helpers


def hostname_matches(names: Sequence[str], host: str) -> bool:
    """RFC 6125 matching of ``host`` against SAN entries: exact, or one left-most ``*`` label.

    The subject CN is ignored, as browsers do since 2017. IP addresses match only IP entries.
    """
    host = host.strip().rstrip(".").lower()
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


def _cert_names(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def _key_facts(cert: x509.Certificate) -> tuple[str, int, str]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size, ""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256, ""
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456, ""
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size, ""
    return "other", 0, type(key).__name__


def _signature(cert: x509.Certificate) -> tuple[str, str]:
    name = getattr(cert.signature_algorithm_oid, "_name", "") or cert.signature_algorithm_oid.dotted_string
    try:
        algorithm = cert.signature_hash_algorithm
        hash_name = algorithm.name if algorithm else ""
    except Exception:  # an unsupported algorithm (e.g. md2) raises: treat the name as the evidence
        hash_name = "md5" if "md5" in name.lower() else "unknown"
    return name, hash_name


def cert_facts(deployment: Any, server_name: str, trust: TrustResult) -> CertFacts:
    """Reduce one sslyze certificate deployment to ``CertFacts``, with OpenSSL's trust verdict.

    sslyze's own path validation (``deployment.path_validation_results``) is not used: it is the
    strict web-PKI verifier (see the module doc). Its objection, if any, is kept as the profile
    finding's evidence (``strict_reason``).
    """
    chain: list[x509.Certificate] = list(deployment.received_certificate_chain)
    leaf = chain[0]
    key_type, key_bits, key_detail = _key_facts(leaf)
    sig_name, sig_hash = _signature(leaf)
    chain_hashes = tuple(_signature(c)[1] for c in chain[1:] if c.subject != c.issuer)
    names = _cert_names(leaf)
    detail = trust.detail
    if (
        not trust.trusted
        and leaf.subject == leaf.issuer
        and "self-signed" not in detail
        and "self signed" not in detail
    ):
        detail = f"a self-signed certificate; {detail}"
    profile = tuple(safe_text(d, 160) for d in profile_deviations(chain, trust.verified_chain)[:20])
    strict = (strict_verifier_reason(trust.verified_chain) or "") if trust.trusted else ""
    return CertFacts(
        subject=safe_text(leaf.subject.rfc4514_string(), 160),
        issuer=safe_text(leaf.issuer.rfc4514_string(), 160),
        names=tuple(safe_text(n, 100) for n in names[:50]),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        key_type=key_type,
        key_bits=key_bits,
        key_detail=key_detail,
        signature=safe_text(sig_name, 60),
        signature_hash=sig_hash,
        chain_hashes=chain_hashes,
        self_signed=leaf.subject == leaf.issuer,
        trusted=trust.trusted,
        trust_detail=safe_text(detail, 400),
        hostname_ok=hostname_matches(names, server_name),
        date_problem=safe_text(trust.date_problem, 300),
        profile=profile,
        strict_reason=strict,
    )


# --------------------------------------------------------------------------- scanning (sslyze)


@dataclass(frozen=True)
class ScanSpec:
    """A resolved target: what to connect to, what name to send and match."""

    label: str
    host: str
    port: int
    server_name: str
    starttls: str | None = None


def targets(env: Environment) -> list[ScanSpec]:
    """The environment's TLS endpoints: base_url's host (if https) and ``tls.targets``, deduplicated."""
    params: TlsParams = env.tls
    specs: list[ScanSpec] = []
    if params.include_base_url and env.base_url and env.base_url.scheme == "https":
        host = (env.base_url.host or "").strip("[]")
        port = env.base_url.port or 443
        shown = f"[{host}]" if ":" in host else host
        specs.append(ScanSpec(f"{shown}:{port}", host, port, host))
    for target in params.targets:
        host, port = parse_address(target.address)
        specs.append(ScanSpec(target.label, host, port, target.server_name or host, target.starttls))
    seen: set[tuple[str, int, str | None]] = set()
    unique = []
    for spec in specs:
        if (spec.host, spec.port, spec.starttls) not in seen:
            seen.add((spec.host, spec.port, spec.starttls))
            unique.append(spec)
    return unique


def _error_text(trace: Any) -> str:
    """A one-line reason from sslyze's connectivity error (a TracebackException), without class names."""
    if trace is None:
        return "unknown error"
    text = "".join(trace.format_exception_only()).strip().splitlines()[-1] if trace else ""
    quoted = re.search(r'-> "(.*)"\.?$', text)  # sslyze's ConnectionToServerFailed: 'host:port -> "message".'
    if quoted:
        text = quoted.group(1)
    text = re.sub(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*:\s*", "", text)  # a leading (dotted) class name
    return safe_text(text or "unknown error", 300)


#: sslyze's Mozilla-checker issues that are not about the TLS configuration. Its path validation is
#: the strict web-PKI verifier; trust is judged once, by ``tls.cert.trusted`` (OpenSSL).
MOZILLA_NOT_CONFIGURATION = frozenset({"certificate_path_validation"})

#: Targets probed at the same time (each probe costs at most about one timeout; this only bounds threads).
MAX_PARALLEL_PROBES = 32


def host_budget(params: TlsParams) -> float:
    """Seconds one host's sslyze scan may take before it is given up (a host that answers the probe,
    then stalls): generous, because a healthy remote scan makes a few hundred handshakes."""
    return max(30.0, 24 * params.timeout)


def scan(specs: Sequence[ScanSpec], params: TlsParams, ca_bundle: Path | None = None) -> dict[str, HostScan]:
    """Probe and scan every target, each on its own; one ``HostScan`` per target (errors included).

    All targets are probed at once; the TLS ones are then scanned by sslyze, at most
    ``params.concurrent_hosts`` at a time, each with its own ``Scanner``. A host's ``seconds`` are
    its own probe + scan time, not the time spent waiting for a free slot or for other hosts.
    """
    out: dict[str, HostScan] = {
        spec.label: HostScan(
            spec.label, spec.host, spec.port, spec.server_name, spec.starttls, mozilla_profile=params.mozilla_profile
        )
        for spec in specs
    }
    if not specs:
        return out
    stores, bundle_problem = trust_stores(ca_bundle)
    slots = threading.BoundedSemaphore(params.concurrent_hosts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about serials in sslyze's bundled trust stores
        with ThreadPoolExecutor(min(len(specs), MAX_PARALLEL_PROBES), thread_name_prefix="harden-tls") as pool:
            futures = {
                spec.label: pool.submit(
                    contextvars.copy_context().run, _scan_one, spec, out[spec.label], params, stores, slots
                )
                for spec in specs
            }
            for label, future in futures.items():
                try:
                    future.result()
                except Exception:  # a bug must not cost the other hosts their results
                    LOG.exception("tls scan of one target failed")
                    out[label].error = "the scan failed unexpectedly (an internal error of harden, logged)"
    if bundle_problem:
        for host_scan in out.values():
            if host_scan.error is None and host_scan.certificate is not None and not host_scan.certificate.trusted:
                host_scan.certificate_error = bundle_problem
    return out


def _scan_one(
    spec: ScanSpec,
    host_scan: HostScan,
    params: TlsParams,
    stores: Sequence[TrustStore],
    slots: threading.BoundedSemaphore,
) -> None:
    """One target's pipeline: probe, then (if it speaks TLS) sslyze and OpenSSL's trust verdict."""
    first: ProbeResult = probe(spec.host, spec.port, spec.server_name, spec.starttls, params.timeout)
    spent = first.seconds
    host_scan.probe = first.detail
    if not first.go_on or first.ip is None:
        host_scan.error = first.detail
        host_scan.seconds = spent
        return
    with slots:
        started = time.monotonic()
        try:
            _scan_with_sslyze(spec, first, host_scan, params, stores)
        finally:
            host_scan.seconds = round(spent + time.monotonic() - started, 2)


def _sslyze_request(spec: ScanSpec, ip: str, params: TlsParams) -> Any:
    """sslyze's request for one target, at the address the probe reached.

    No custom CA file is handed to sslyze: its path validation is not used (trust is OpenSSL's,
    see ``tls_trust``), and a CA bundle its parser rejects would cost the whole certificate scan.
    """
    from sslyze import (
        ProtocolWithOpportunisticTlsEnum,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
    )
    from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER

    network = ServerNetworkConfiguration(
        tls_server_name_indication=spec.server_name,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum[spec.starttls.upper()] if spec.starttls else None,
        network_timeout=int(max(1, round(params.timeout))),
        network_max_retries=1,
    )
    return ServerScanRequest(
        server_location=ServerNetworkLocation(spec.host, spec.port, ip_address=ip),
        network_configuration=network,
        scan_commands=set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
    )


def _run_scanner(request: Any, budget: float) -> tuple[Any, str | None]:
    """(result, None), or (None, reason) when sslyze failed or did not finish within ``budget`` seconds.

    The ``Scanner`` runs in a daemon thread: sslyze cannot be cancelled, so a host that stalls
    past the budget is given up (its threads end with their own socket timeouts).
    """
    from sslyze import Scanner

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            scanner = Scanner(concurrent_server_scans_limit=1, per_server_concurrent_connections_limit=5)
            scanner.queue_scans([request])
            for result in scanner.get_results():
                box["result"] = result
        except Exception:
            box["error"] = "the scanner failed unexpectedly"

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="harden-sslyze", daemon=True)
    thread.start()
    thread.join(budget)
    if thread.is_alive():
        return (
            None,
            f"the scan did not finish within {budget:g} s (24 × tls.timeout, at least 30 s); the host "
            "answered the first handshake, then stalled",
        )
    if "result" not in box:
        return None, box.get("error", "the scanner returned no result")
    return box["result"], None


def _scan_with_sslyze(
    spec: ScanSpec,
    first: ProbeResult,
    host_scan: HostScan,
    params: TlsParams,
    stores: Sequence[TrustStore],
) -> None:
    assert first.ip is not None
    try:
        request = _sslyze_request(spec, first.ip, params)
    except Exception as exc:  # bad input must not stop the other targets
        host_scan.error = safe_text(f"cannot set up the scan: {exc}", 300)
        return
    result, problem = _run_scanner(request, host_budget(params))
    if result is None:
        host_scan.error = problem
        return
    deployment = _fill(host_scan, result, params)
    if host_scan.error is not None:
        if first.kind == "closed":  # the probe's observation explains it better than "no cipher suite"
            host_scan.error = (
                f"{first.detail}, and no other handshake (TLS 1.3 down to SSL 2.0) succeeded either: "
                "the port does not seem to speak TLS"
            )
        return
    if deployment is None:
        return
    try:
        chain = list(deployment.received_certificate_chain)
        trust = verify_with_openssl(first.ip, spec.port, spec.server_name, spec.starttls, stores, params.timeout, chain)
        host_scan.certificate = cert_facts(deployment, spec.server_name, trust)
    except Exception:  # a certificate cryptography cannot parse
        host_scan.certificate_error = "the certificate could not be analysed: it cannot be parsed"


def _fill(host_scan: HostScan, result: Any, params: TlsParams) -> Any:
    """Copy sslyze's result into ``host_scan``; the certificate deployment to examine, or None."""
    from sslyze import ScanCommandAttemptStatusEnum, ServerScanStatusEnum
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        reason = _error_text(result.connectivity_error_trace)
        host_scan.error = f"could not complete a TLS handshake: {reason}"
        return None
    attempts = result.scan_result
    for attr in {a for a, _, _ in PROTOCOLS} | {"certificate_info"}:
        attempt = getattr(attempts, attr)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            reason = attempt.error_reason.value if attempt.error_reason else "not run"
            trace = _error_text(attempt.error_trace) if attempt.error_trace else ""
            host_scan.failed_commands[attr] = safe_text(f"{reason} {trace}".strip(), 300)
    for attr, pid, _ in PROTOCOLS:
        attempt = getattr(attempts, attr)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            host_scan.protocols[pid] = None
            continue
        res = attempt.result
        host_scan.protocols[pid] = bool(res.is_tls_version_supported)
        for accepted in res.accepted_cipher_suites:
            key = accepted.ephemeral_key
            kind = (getattr(key, "curve_name", "") or type(key).__name__.replace("EphemeralKeyInfo", "")) if key else ""
            kex = f"{kind} {key.size} bits" if key else ""
            host_scan.ciphers.append(CipherRow(pid, safe_text(accepted.cipher_suite.name, 80), safe_text(kex, 60)))
    deployment = None
    cert_attempt = attempts.certificate_info
    if cert_attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and cert_attempt.result.certificate_deployments:
        deployment = cert_attempt.result.certificate_deployments[0]
    else:
        host_scan.certificate_error = "the certificate could not be retrieved: " + host_scan.failed_commands.get(
            "certificate_info", "no certificate"
        )
    profile = TlsConfigurationEnum(params.mozilla_profile)
    try:
        check_server_against_tls_configuration(result, MozillaTlsConfiguration.get(profile))
        host_scan.mozilla = []
    except ServerNotCompliantWithTlsConfiguration as exc:
        host_scan.mozilla = [
            (safe_text(k, 60), safe_text(v, 400))
            for k, v in sorted(exc.issues.items())
            if k not in MOZILLA_NOT_CONFIGURATION
        ]
    except Exception as exc:  # ServerScanResultIncomplete or an assertion on a missing result
        reason = _error_text(TracebackException.from_exception(exc)) if str(exc) else "a scan result is missing"
        host_scan.mozilla_error = f"the profile check could not run: {reason}"
    return deployment


# --------------------------------------------------------------------------- analysis (pure)


def _make(
    check_id: str,
    title: str,
    status: Status,
    severity: Severity,
    target: str,
    observed: str,
    expected: str,
    remediation: str = "",
    references: Sequence[str] = (),
) -> Finding:
    return Finding(
        area=AREA,
        check_id=check_id,
        title=title,
        status=status,
        severity=severity,
        target=target,
        observed=observed,
        expected=expected,
        remediation=remediation if status is not Status.PASS else "",
        references=tuple(references),
    )


MOZILLA_REF = "Mozilla Server Side TLS 5.7 (ssl-config.mozilla.org)"
CHECKLIST_REF = "checklist: TLS 1.2 minimum, TLS 1.3 preferred, no CBC, trusted CA, expiry monitored"


def _protocol_findings(s: HostScan) -> list[Finding]:
    out = []
    legacy = {
        "ssl2": (Severity.CRITICAL, "SSL 2.0 is broken (DROWN) and prohibited by RFC 6176."),
        "ssl3": (Severity.CRITICAL, "SSL 3.0 is broken (POODLE) and prohibited by RFC 7568."),
        "tls1_0": (Severity.HIGH, "TLS 1.0 is deprecated by RFC 8996 (BEAST, weak MAC/PRF)."),
        "tls1_1": (Severity.HIGH, "TLS 1.1 is deprecated by RFC 8996."),
    }
    for pid, (severity, why) in legacy.items():
        name = PROTOCOL_NAMES[pid]
        accepted = s.protocols.get(pid)
        cid, title = f"tls.protocol.{pid}", f"{name} is not accepted"
        if accepted is None:
            out.append(
                _make(
                    cid,
                    title,
                    Status.ERROR,
                    severity,
                    s.target,
                    f"the {name} probe did not complete: {s.failed_commands.get(PROTOCOLS_ATTR[pid], 'no result')}",
                    f"{name} rejected",
                )
            )
        else:
            out.append(
                _make(
                    cid,
                    title,
                    Status.FAIL if accepted else Status.PASS,
                    severity,
                    s.target,
                    f"{name} accepted. {why}" if accepted else f"{name} rejected",
                    f"{name} rejected",
                    f"Disable {name} on the server (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
                    (CHECKLIST_REF, "RFC 8996"),
                )
            )
    tls12, tls13 = s.protocols.get("tls1_2"), s.protocols.get("tls1_3")
    if tls12 is None:
        out.append(
            _make(
                "tls.protocol.tls1_2",
                "TLS 1.2 or newer is offered",
                Status.ERROR,
                Severity.HIGH,
                s.target,
                "the TLS 1.2 probe did not complete",
                "TLS 1.2 accepted (or TLS 1.3 only)",
            )
        )
    else:
        ok = tls12 or bool(tls13)
        observed = (
            "TLS 1.2 accepted"
            if tls12
            else ("not offered: TLS 1.3 only" if tls13 else "neither TLS 1.2 nor 1.3 accepted")
        )
        out.append(
            _make(
                "tls.protocol.tls1_2",
                "TLS 1.2 or newer is offered",
                Status.PASS if ok else Status.FAIL,
                Severity.HIGH,
                s.target,
                observed,
                "TLS 1.2 accepted (or TLS 1.3 only)",
                "Enable TLS 1.2 and TLS 1.3.",
                (CHECKLIST_REF,),
            )
        )
    if tls13 is None:
        out.append(
            _make(
                "tls.protocol.tls1_3",
                "TLS 1.3 is offered",
                Status.ERROR,
                Severity.LOW,
                s.target,
                "the TLS 1.3 probe did not complete",
                "TLS 1.3 accepted",
            )
        )
    else:
        out.append(
            _make(
                "tls.protocol.tls1_3",
                "TLS 1.3 is offered",
                Status.PASS if tls13 else Status.WARN,
                Severity.LOW,
                s.target,
                "TLS 1.3 accepted" if tls13 else "TLS 1.3 not offered",
                "TLS 1.3 accepted",
                "Enable TLS 1.3 (OpenSSL 1.1.1+; nginx: ssl_protocols TLSv1.2 TLSv1.3;): faster "
                "handshakes, only forward-secret AEAD suites.",
                (CHECKLIST_REF, MOZILLA_REF),
            )
        )
    return out


PROTOCOLS_ATTR = {pid: attr for attr, pid, _ in PROTOCOLS}


def _cipher_findings(s: HostScan) -> list[Finding]:
    if all(s.protocols.get(pid) is None for pid in PROTOCOL_NAMES):
        return [
            _make(
                "tls.cipher.suites",
                "Cipher suites could be enumerated",
                Status.ERROR,
                Severity.HIGH,
                s.target,
                "no cipher suite probe completed",
                "the accepted suites are known",
            )
        ]
    out = []
    by_class: dict[str, list[str]] = {}
    for row in s.ciphers:
        for cls in classify_cipher(row.name):
            label = f"{row.name} ({PROTOCOL_NAMES[row.protocol]})"
            by_class.setdefault(cls, [])
            if label not in by_class[cls]:
                by_class[cls].append(label)
    remedy = (
        "Restrict the server to AEAD suites with ECDHE key exchange, e.g. Mozilla's intermediate list "
        "(ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256, … CHACHA20-POLY1305)."
    )
    for cid, title, _, bad_status, severity, why in CIPHER_CLASSES:
        hits = by_class.get(cid, [])
        out.append(
            _make(
                f"tls.cipher.{cid}",
                title,
                bad_status if hits else Status.PASS,
                severity,
                s.target,
                f"{len(hits)} accepted: {_listing(hits)}. {why}" if hits else "none accepted",
                "none accepted",
                remedy,
                (CHECKLIST_REF, MOZILLA_REF),
            )
        )
    hits = by_class.get("no_fs", [])
    out.append(
        _make(
            "tls.cipher.forward_secrecy",
            "Every cipher suite has forward secrecy",
            Status.WARN if hits else Status.PASS,
            Severity.MEDIUM,
            s.target,
            f"{len(hits)} without (EC)DHE: {_listing(hits)}. Recorded traffic can be decrypted later "
            "with the server's key."
            if hits
            else "every accepted suite uses (EC)DHE or TLS 1.3",
            "only (EC)DHE or TLS 1.3 suites",
            "Remove static-RSA key exchange suites (TLS_RSA_WITH_*).",
            (MOZILLA_REF,),
        )
    )
    return out


CERT_IDS = (
    "tls.cert.trusted",
    "tls.cert.hostname",
    "tls.cert.expiry",
    "tls.cert.key",
    "tls.cert.signature",
    "tls.cert.profile",
)


def _cert_findings(s: HostScan, params: TlsParams, now: datetime) -> list[Finding]:
    ids = CERT_IDS
    c = s.certificate
    if c is None:
        reason = s.certificate_error or "no certificate"
        return [
            _make(
                cid,
                "Certificate check",
                Status.ERROR,
                Severity.LOW if cid == "tls.cert.profile" else Severity.HIGH,
                s.target,
                reason,
                "a certificate to examine",
            )
            for cid in ids
        ]
    out = []
    who = f"subject {c.subject}, issuer {c.issuer}"
    if s.certificate_error:  # e.g. the configured CA bundle is missing
        out.append(
            _make(
                ids[0],
                "The certificate chain leads to a trusted CA",
                Status.ERROR,
                Severity.CRITICAL,
                s.target,
                f"{s.certificate_error}; {c.trust_detail}",
                "trusted by the system store or the CA bundle",
            )
        )
    elif c.trusted is None:
        out.append(
            _make(
                ids[0],
                "The certificate chain leads to a trusted CA",
                Status.ERROR,
                Severity.CRITICAL,
                s.target,
                f"{who}; trust could not be evaluated: {c.trust_detail}",
                "OpenSSL path validation succeeds against the system store or http.ca_bundle",
            )
        )
    else:
        out.append(
            _make(
                ids[0],
                "The certificate chain leads to a trusted CA",
                Status.PASS if c.trusted else Status.FAIL,
                Severity.CRITICAL,
                s.target,
                f"{who}{' (self-signed)' if c.self_signed else ''}; {c.trust_detail}",
                "OpenSSL path validation succeeds against the system trust store or the environment's CA bundle "
                "(http.ca_bundle), as for a client connecting with OpenSSL",
                "Serve a certificate from a public CA (e.g. Let's Encrypt) together with its intermediates, or for "
                "a private PKI set http.ca_bundle to the CA's PEM.",
                ("checklist: valid certificate from a trusted CA",),
            )
        )
    out.append(
        _make(
            ids[1],
            "The certificate matches the host name",
            Status.PASS if c.hostname_ok else Status.FAIL,
            Severity.CRITICAL,
            s.target,
            f"{safe_text(s.server_name, 100)} vs names: {_listing(c.names) or 'none (no subjectAltName)'}",
            f"a subjectAltName entry matching {safe_text(s.server_name, 100)}",
            "Reissue the certificate with the host name in its subjectAltName (the subject CN is ignored by browsers).",
            ("RFC 6125", "CA/Browser Forum Baseline Requirements"),
        )
    )
    days = c.days_left(now)
    whole = int(days // 1)
    if days < 0:
        status, observed = Status.FAIL, f"expired {int(-days)} day(s) ago ({c.not_after:%Y-%m-%d %H:%M} UTC)"
    else:
        status = Status.FAIL if days < params.fail_days else Status.WARN if days < params.warn_days else Status.PASS
        observed = f"{whole} day(s) left, until {c.not_after:%Y-%m-%d %H:%M} UTC"
    if c.not_before > now:
        status, observed = Status.FAIL, f"not valid before {c.not_before:%Y-%m-%d %H:%M} UTC (clock or issuance error)"
    if c.date_problem:  # a CA certificate of the chain: every client refuses the chain, whatever the leaf's dates
        status, observed = Status.FAIL, f"{c.date_problem}; the leaf: {observed}"
    out.append(
        _make(
            ids[2],
            "The certificate is not about to expire",
            status,
            Severity.HIGH,
            s.target,
            observed,
            f"at least {params.warn_days} days left (fail below {params.fail_days})",
            "Renew the certificate now and automate renewal (ACME / certbot renew timer), with an alert "
            "30 days before expiry.",
            ("checklist: certificate expiry checked",),
        )
    )
    key = f"{c.key_type.upper()} {c.key_bits} bits" + (f" ({c.key_detail})" if c.key_detail else "")
    if c.key_type == "rsa":
        key_ok = c.key_bits >= params.min_rsa_bits
    elif c.key_type == "ec":
        key_ok = c.key_bits >= params.min_ec_bits
    else:
        key_ok = c.key_type in ("ed25519", "ed448")
    out.append(
        _make(
            ids[3],
            "The certificate key is of a strong type and size",
            Status.PASS if key_ok else Status.FAIL,
            Severity.HIGH,
            s.target,
            key,
            f"RSA ≥ {params.min_rsa_bits} bits or EC ≥ {params.min_ec_bits} bits",
            "Reissue with an ECDSA P-256 key (or RSA 2048+).",
            (MOZILLA_REF, "NIST SP 800-57"),
        )
    )
    weak = {"md5", "sha1", "md2", "md4", "unknown"}
    bad = [h for h in (c.signature_hash, *c.chain_hashes) if h in weak]
    out.append(
        _make(
            ids[4],
            "The certificate is signed with a strong hash",
            Status.FAIL if bad else Status.PASS,
            Severity.HIGH,
            s.target,
            f"leaf: {c.signature}" + (f"; intermediates: {', '.join(c.chain_hashes)}" if c.chain_hashes else ""),
            "SHA-256 or stronger on the leaf and intermediates",
            "Reissue the certificate (and chain) with SHA-256 signatures; SHA-1 and MD5 are forgeable.",
            ("CA/Browser Forum Baseline Requirements",),
        )
    )
    out.append(_profile_finding(s, c))
    return out


def _profile_finding(s: HostScan, c: CertFacts) -> Finding:
    """CA/Browser Forum profile deviations: low, because OpenSSL-based clients accept such chains."""
    cid, title = "tls.cert.profile", "The certificates follow the CA/Browser Forum certificate profile"
    expected = (
        "leaf with subjectAltName, authorityKeyIdentifier, keyUsage and extendedKeyUsage serverAuth; CA certificates "
        "with critical basicConstraints CA:TRUE, keyUsage keyCertSign and subjectKeyIdentifier"
    )
    if c.profile is None:
        return _make(cid, title, Status.ERROR, Severity.LOW, s.target, "the certificates were not examined", expected)
    if not c.profile and not c.strict_reason:
        return _make(cid, title, Status.PASS, Severity.LOW, s.target, "no deviation", expected)
    observed = "; ".join(c.profile) if c.profile else "no missing extension found"
    if c.strict_reason:
        observed += f". A strict web-PKI verifier (cryptography's, used by sslyze) rejects the chain: {c.strict_reason}"
    return _make(
        cid,
        title,
        Status.WARN,
        Severity.LOW,
        s.target,
        f"{len(c.profile)} deviation(s): {observed}" if c.profile else observed,
        expected,
        "OpenSSL-based clients (curl, Python, nginx upstreams, browsers with the private root installed) accept "
        "this chain; strict validators (Go/rustls-style web-PKI profiles, cryptography) may not. When the CA is "
        "next reissued, add the missing extensions — with openssl, for the CA: -addext "
        "'keyUsage=critical,keyCertSign,cRLSign'; for a leaf signed with 'openssl x509 -req': an -extfile with "
        "authorityKeyIdentifier=keyid,issuer, keyUsage=critical,digitalSignature,keyEncipherment, "
        "extendedKeyUsage=serverAuth and subjectAltName.",
        ("CA/Browser Forum Baseline Requirements 7.1.2", "RFC 5280 4.2"),
    )


def _mozilla_finding(s: HostScan) -> Finding:
    profile = s.mozilla_profile
    cid, title = f"tls.mozilla.{profile}", f"Follows Mozilla's '{profile}' TLS configuration"
    if s.mozilla is None:
        return _make(
            cid,
            title,
            Status.ERROR,
            Severity.MEDIUM,
            s.target,
            s.mozilla_error or "the check did not run",
            f"compliant with Mozilla {profile}",
        )
    if not s.mozilla:
        return _make(
            cid,
            title,
            Status.PASS,
            Severity.MEDIUM,
            s.target,
            "no deviation",
            f"compliant with Mozilla {profile}",
            references=(MOZILLA_REF,),
        )
    listed = "; ".join(f"{k}: {v}" for k, v in s.mozilla)
    return _make(
        cid,
        title,
        Status.FAIL,
        Severity.MEDIUM,
        s.target,
        f"{len(s.mozilla)} deviation(s): {listed}",
        f"compliant with Mozilla {profile}",
        f"Generate the server configuration with Mozilla's SSL Configuration Generator ('{profile}') "
        "and fix each listed deviation.",
        (MOZILLA_REF,),
    )


def analyse(s: HostScan, params: TlsParams, now: datetime | None = None) -> list[Finding]:
    """Every finding for one scanned target (pure: no network)."""
    now = now or datetime.now(UTC)
    if s.error:
        return [
            _make(
                "tls.scan",
                "The TLS endpoint could be scanned",
                Status.ERROR,
                Severity.HIGH,
                s.target,
                s.error,
                "a completed TLS handshake",
                "Check that the host is reachable from where harden runs, that the port speaks TLS "
                "(or set starttls), and the firewall.",
            )
        ]
    return [*_protocol_findings(s), *_cipher_findings(s), *_cert_findings(s, params, now), _mozilla_finding(s)]


# --------------------------------------------------------------------------- the area


@dataclass
class TlsAudit:
    """One run of the area: findings plus the per-host evidence the notebook shows."""

    findings: list[Finding]
    scans: dict[str, HostScan]
    params: TlsParams
    when: datetime = field(default_factory=lambda: datetime.now(UTC))

    def host_table(self, target: str) -> pd.DataFrame:
        return host_table(self.scans[target])

    def overview(self) -> pd.DataFrame:
        return overview(self.scans.values(), self.when)

    def deviations(self) -> pd.DataFrame:
        return mozilla_deviations(self.scans.values())

    def plot_expiry(self) -> Figure:
        return plot_expiry(self.scans.values(), self.params, self.when)


def audit(env: Environment) -> TlsAudit:
    """Scan every TLS endpoint of ``env`` and analyse it."""
    params: TlsParams = env.tls
    specs = targets(env)
    now = datetime.now(UTC)
    if not specs:
        finding = _make(
            "tls.scan",
            "The TLS endpoint could be scanned",
            Status.SKIP,
            Severity.INFO,
            "",
            "no https base_url and no tls.targets configured",
            "at least one TLS endpoint",
        )
        return TlsAudit([finding], {}, params, now)
    scans = scan(specs, params, env.http.ca_bundle)
    findings = [f for s in scans.values() for f in analyse(s, params, now)]
    return TlsAudit(findings, scans, params, now)


def run(env: Environment) -> list[Finding]:
    """The area's entry point (``harden_lib.areas``)."""
    return audit(env).findings


def check_ids(profile: str = "intermediate") -> list[str]:
    """Every check id this area can produce (history and waivers key on them)."""
    return [
        "tls.scan",
        *(f"tls.protocol.{pid}" for pid in PROTOCOL_NAMES),
        *(f"tls.cipher.{cid}" for cid, *_ in CIPHER_CLASSES),
        "tls.cipher.forward_secrecy",
        "tls.cipher.suites",
        *CERT_IDS,
        f"tls.mozilla.{profile}",
    ]


# --------------------------------------------------------------------------- tables and charts


def host_table(s: HostScan) -> pd.DataFrame:
    """One row per protocol version and accepted suite, with its weaknesses: the evidence per host."""
    import pandas as pd

    rows = []
    for _, pid, name in PROTOCOLS:
        accepted = s.protocols.get(pid)
        suites = [c for c in s.ciphers if c.protocol == pid]
        state = "probe failed" if accepted is None else "accepted" if accepted else "rejected"
        if not suites:
            rows.append({"protocol": name, "state": state, "cipher suite": "", "key exchange": "", "weaknesses": ""})
        for c in suites:
            weak = ", ".join(classify_cipher(c.name)) or "—"
            rows.append(
                {
                    "protocol": name,
                    "state": state,
                    "cipher suite": c.name,
                    "key exchange": c.key_exchange,
                    "weaknesses": weak,
                }
            )
    return pd.DataFrame(rows, columns=["protocol", "state", "cipher suite", "key exchange", "weaknesses"])


def overview(scans: Iterable[HostScan], now: datetime | None = None) -> pd.DataFrame:
    """One row per host: protocols, certificate, days left, Mozilla deviations, scan time."""
    import pandas as pd

    now = now or datetime.now(UTC)
    rows = []
    for s in scans:
        c = s.certificate
        rows.append(
            {
                "target": s.target,
                "result": "error: " + s.error if s.error else "scanned",
                "protocols": ", ".join(PROTOCOL_NAMES[p] for p, ok in s.protocols.items() if ok),
                "suites": len(s.ciphers),
                "certificate": f"{c.subject} (issuer {c.issuer})" if c else "",
                "key": f"{c.key_type.upper()} {c.key_bits}" if c else "",
                "days left": round(c.days_left(now), 1) if c else None,
                "trusted": c.trusted if c else None,
                "hostname ok": c.hostname_ok if c else None,
                "Mozilla deviations": len(s.mozilla) if s.mozilla is not None else None,
                "seconds": s.seconds,
            }
        )
    return pd.DataFrame(rows)


def mozilla_deviations(scans: Iterable[HostScan]) -> pd.DataFrame:
    """Every deviation from the chosen Mozilla profile, one row each."""
    import pandas as pd

    rows = [
        {"target": s.target, "profile": s.mozilla_profile, "deviation": k, "detail": v}
        for s in scans
        for k, v in (s.mozilla or [])
    ]
    return pd.DataFrame(rows, columns=["target", "profile", "deviation", "detail"])


def plot_expiry(scans: Iterable[HostScan], params: TlsParams, now: datetime | None = None) -> Figure:
    """Days until each host's certificate expires, soonest on top, with the warn and fail lines."""
    from harden_lib.render import STATUS_COLOURS, figure

    now = now or datetime.now(UTC)
    points = sorted(((s.target, s.certificate.days_left(now)) for s in scans if s.certificate), key=lambda p: p[1])
    fig = figure(7.5, 1.4 + 0.45 * max(len(points), 1))
    ax = fig.subplots()
    if not points:
        ax.text(0.5, 0.5, "no certificate could be read", ha="center", va="center")
        ax.set_axis_off()
        return fig
    labels = [safe_text(t, 60) for t, _ in points][::-1]
    values = [d for _, d in points][::-1]
    colours = [
        STATUS_COLOURS[Status.FAIL if d < params.fail_days else Status.WARN if d < params.warn_days else Status.PASS]
        for d in values
    ]
    bars = ax.barh(labels, values, color=colours)
    ax.bar_label(bars, labels=[f"{d:.0f} d" for d in values], padding=3)
    ax.axvline(
        params.fail_days, color=STATUS_COLOURS[Status.FAIL], linestyle="--", label=f"fail < {params.fail_days} d"
    )
    ax.axvline(
        params.warn_days, color=STATUS_COLOURS[Status.WARN], linestyle="--", label=f"warn < {params.warn_days} d"
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min(0, min(values)) - 5, max(max(values), params.warn_days) * 1.15 + 5)
    ax.set_xlabel("days until the certificate expires")
    ax.set_title("Certificate expiry per host (soonest first)")
    ax.legend(loc="lower right", fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return fig
