"""Certificates generated at run time for the demo target and test servers.

They are made to look like real PKI (a CA with key-usage extensions, a leaf that is not a
CA, with SANs and server-auth EKU) because strict validators — sslyze, Python's ssl with
``VERIFY_X509_STRICT`` — reject toy certificates before they reach what a test means to test.
No key is ever committed: each process makes its own.
"""

from __future__ import annotations

import ipaddress
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertBundle:
    """Files of one generated chain: the CA to trust, and the server's cert + key."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    folder: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "harden test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _server_key_usage(rsa_key: bool) -> x509.KeyUsage:
    """What a TLS server leaf may do: sign handshakes (and, for RSA, encipher the key exchange)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def generate_chain(
    folder: Path | str | None = None,
    hosts: list[str] | None = None,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_type: str = "ec",
    rsa_bits: int = 2048,
    ca_key_usage: bool = True,
    ca_key_identifier: bool = True,
    ca_not_after: datetime | None = None,
    leaf_key_usage: bool = True,
    leaf_extended_key_usage: bool = True,
    leaf_key_identifiers: bool = True,
    ca_common_name: str = "harden test root CA",
) -> CertBundle:
    """A fresh CA and a leaf for ``hosts`` (default 127.0.0.1, ::1, localhost), written as PEM.

    ``not_before``/``not_after`` set the leaf's validity so tests can make expired or
    nearly-expired certificates; ``key_type`` is ``ec`` (P-256) or ``rsa``.

    The ``ca_*``/``leaf_*`` switches leave out what many private CAs leave out (a root made with
    a plain ``openssl req -x509`` has no keyUsage; a leaf signed by an old ``openssl x509 -req``
    has no key identifiers), so tests can check that OpenSSL-style trust accepts such chains
    while the web-PKI profile deviations are reported on their own. ``ca_not_after`` makes an
    expired CA. Every switch defaults to the full, strict-validator-proof certificate.
    """
    hosts = hosts or ["127.0.0.1", "::1", "localhost"]
    out = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="harden-pki-"))
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(ca_common_name)
    ca_start = min(now, not_before or now, ca_not_after or now) - timedelta(days=1)
    ca_builder = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        # A CA predates the leaves it signs, also a backdated (e.g. expired) test leaf.
        .not_valid_before(ca_start - timedelta(days=365) if ca_not_after else ca_start)
        .not_valid_after(ca_not_after or now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    )
    if ca_key_usage:
        ca_builder = ca_builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if ca_key_identifier:
        ca_builder = ca_builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
    ca_cert = ca_builder.sign(ca_key, hashes.SHA256())

    leaf_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if key_type == "rsa":
        leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        leaf_key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or now - timedelta(days=1)
    end = not_after or now + timedelta(days=90)
    leaf_builder = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if leaf_key_usage:
        leaf_builder = leaf_builder.add_extension(_server_key_usage(rsa_key=key_type == "rsa"), critical=True)
    if leaf_extended_key_usage:
        leaf_builder = leaf_builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    leaf_builder = leaf_builder.add_extension(_san(hosts), critical=False)
    if leaf_key_identifiers:
        leaf_builder = leaf_builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    leaf = leaf_builder.sign(ca_key, hashes.SHA256())

    ca_path, cert_path, key_path = out / "ca.pem", out / "server.pem", out / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return CertBundle(ca_path=ca_path, cert_path=cert_path, key_path=key_path, folder=out)


def generate_self_signed(
    folder: Path | str | None = None,
    hosts: list[str] | None = None,
    *,
    not_after: datetime | None = None,
) -> CertBundle:
    """A self-signed leaf (its own issuer, not a CA) for ``hosts``; ``ca_path`` is the cert itself.

    Made like a real one (SANs, key usage, server-auth EKU, key identifiers) so that strict
    validators fail it only for being self-signed, and accept it once it is explicitly trusted.
    """
    hosts = hosts or ["127.0.0.1", "::1", "localhost"]
    out = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="harden-pki-"))
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(hosts[0])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=60))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_server_key_usage(rsa_key=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = out / "server.pem", out / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return CertBundle(ca_path=cert_path, cert_path=cert_path, key_path=key_path, folder=out)
