"""Local TLS servers with particular protocol, cipher and certificate settings.

Shared by ``tests/test_tls.py`` and ``benchmarks/bench_tls.py`` so that the benchmark measures
exactly the servers the tests assert on. Certificates are generated when a server starts.
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harden_lib.demo.certs import CertBundle, generate_chain, generate_self_signed
from tests.servers import Reply, Served, serve


@dataclass(frozen=True)
class Scenario:
    """A server configuration and the problems a scanner is expected to flag on it."""

    name: str
    description: str
    make: Callable[[Path], tuple[CertBundle, ssl.SSLContext]]
    #: problems a correct scanner reports: protocol ids accepted that should not be, and
    #: certificate problems among expired / hostname / untrusted
    legacy_protocols: frozenset[str] = frozenset()
    cert_problems: frozenset[str] = frozenset()


def _context(bundle: CertBundle) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bundle.cert_path, bundle.key_path)
    return context


def modern(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.3 only, ECDSA P-256, one key-exchange group, a 61-day certificate: Mozilla 'modern'."""
    now = datetime.now(UTC)
    bundle = generate_chain(folder, not_before=now - timedelta(days=1), not_after=now + timedelta(days=60))
    context = _context(bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("prime256v1")
    return bundle, context


def tls12_cbc(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.2 only, RSA certificate, CBC suites and one static-RSA (no forward secrecy) suite."""
    bundle = generate_chain(folder, key_type="rsa")
    context = _context(bundle)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES128-SHA")
    return bundle, context


def tls10(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.0 and 1.1 enabled: OpenSSL's security level lowered to 0, as legacy servers do."""
    bundle = generate_chain(folder)
    context = _context(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point of this server
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return bundle, context


def expired(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    now = datetime.now(UTC)
    bundle = generate_chain(folder, not_before=now - timedelta(days=60), not_after=now - timedelta(days=2))
    return bundle, _context(bundle)


def wrong_host(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    bundle = generate_chain(folder, hosts=["www.example.com", "example.com"])
    return bundle, _context(bundle)


def self_signed(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    bundle = generate_self_signed(folder)
    return bundle, _context(bundle)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("modern", "TLS 1.3 only, ECDSA", modern),
        Scenario("tls12_cbc", "TLS 1.2 only, CBC + static RSA suites", tls12_cbc),
        Scenario("tls10", "TLS 1.0/1.1 enabled (SECLEVEL=0)", tls10, frozenset({"tls1_0", "tls1_1"})),
        Scenario("expired", "certificate expired 2 days ago", expired, cert_problems=frozenset({"expired"})),
        Scenario("wrong_host", "certificate for www.example.com", wrong_host, cert_problems=frozenset({"hostname"})),
        Scenario("self_signed", "self-signed certificate", self_signed, cert_problems=frozenset({"untrusted"})),
    )
}


@contextlib.contextmanager
def tls_server(name: str, folder: Path | None = None) -> Iterator[Served]:
    """Start the named scenario's server on 127.0.0.1 for the ``with`` block."""
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix=f"harden-tls-{name}-"))
    bundle, context = SCENARIOS[name].make(folder)
    with serve({"*": Reply(200, [("Content-Type", "text/plain")], "ok")}, certs=bundle, context=context) as served:
        yield served


def tls10_handshake_possible() -> str | None:
    """None when this OpenSSL can still do a TLS 1.0 handshake at security level 0, else why not."""
    if not ssl.HAS_TLSv1:
        return f"{ssl.OPENSSL_VERSION} was built without TLS 1.0"
    import socket

    with tls_server("tls10") as served:
        port = int(served.base_url.rsplit(":", 1)[1])
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, client.wrap_socket(raw) as tls:
                return None if tls.version() == "TLSv1" else f"negotiated {tls.version()} instead of TLSv1"
        except (ssl.SSLError, OSError) as exc:
            return f"{ssl.OPENSSL_VERSION} refuses a TLS 1.0 handshake even at @SECLEVEL=0: {exc}"
