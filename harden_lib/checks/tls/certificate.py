"""The leaf certificate the server sent, reduced to ``CertFacts`` together with OpenSSL's trust verdict.

Separate from the scanner because it is the one place that reads X.509 structures (names, key,
signature hash) and the one place where certificate text, which whoever issued it controls,
enters the scan's data; everything downstream works on the already capped and escaped facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harden_lib.checks.tls.model import CertFacts, hostname_matches, safe_text
from harden_lib.checks.tls.trust import TrustResult, profile_deviations, strict_verifier_reason

if TYPE_CHECKING:
    from cryptography import x509


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
    strict web-PKI verifier (see the package doc). Its objection, if any, is kept as the profile
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
