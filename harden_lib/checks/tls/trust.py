"""Chain trust as an OpenSSL client judges it, and web-PKI profile deviations as a separate, lower finding.

Why not sslyze's verdict: sslyze 6 validates paths with ``cryptography``'s strict web-PKI verifier,
which rejects chains that OpenSSL, curl, Python's ``ssl``, browsers (for private roots) and
testssl.sh accept — a leaf without Authority Key Identifier, a CA without keyUsage. A root made with
a plain ``openssl req -x509`` has no keyUsage; that is how most private CAs for Redis, PostgreSQL
and internal APIs are made. Calling those servers untrusted (critical) is a false alarm.

What "trusted" means here: **OpenSSL path validation succeeds** against the configured CA bundle
(``http.ca_bundle``) or the system store, the way a client connecting with OpenSSL decides it:

* a real client handshake with Python's ``ssl`` (the system OpenSSL): ``CERT_REQUIRED``, purpose
  "TLS server" (OpenSSL's default for clients), OpenSSL's default verify flags — no
  ``X509_STRICT``, no partial chains — and the chain the server sends in that handshake;
* ``check_hostname`` off: the name has its own finding (``tls.cert.hostname``);
* security level 0 and TLS 1.0+ for this handshake only: key size and signature hash have their
  own findings (``tls.cert.key``, ``tls.cert.signature``), so they must not turn into "untrusted";
* the dates: OpenSSL checks them first; when the only failure is a date (certificate expired or
  not yet valid), the handshake is repeated with ``X509_V_FLAG_NO_CHECK_TIME`` and, if OpenSSL then
  accepts the chain, it is trusted — the leaf's dates are judged by ``tls.cert.expiry``, and an
  expired or not-yet-valid CA certificate in the verified chain is handed to that finding too
  (``date_problem``), so nothing a client would refuse is hidden.

When that handshake cannot complete for another reason (SSL 3.0-only servers, a server that
demands a client certificate under TLS 1.2), the chain sslyze received is verified offline with
OpenSSL's ``X509_verify_cert`` (nassl, bundled with sslyze) against the same stores.

The deviations from the CA/Browser Forum profile (missing key identifiers, keyUsage, EKU, basic
constraints, v1 certificates) are listed by ``profile_deviations`` and reported as
``tls.cert.profile`` (low), together with the reason ``cryptography``'s strict verifier gives,
when it rejects a chain OpenSSL accepts.
"""

from __future__ import annotations

import contextlib
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from harden_lib.checks.tls.probe import ProbeFailure, _is_ip, connect, starttls, timeout_text
from harden_lib.checks.tls.words import plain_reason, plain_tls_error
from harden_lib.redact import safe_text

if TYPE_CHECKING:
    from cryptography import x509

#: OpenSSL's ``X509_V_FLAG_NO_CHECK_TIME`` (not named in Python's ``ssl.VerifyFlags``).
X509_V_FLAG_NO_CHECK_TIME = 0x200000
#: ``X509_V_ERR_CERT_NOT_YET_VALID``, ``X509_V_ERR_CERT_HAS_EXPIRED``: the date errors.
DATE_ERRORS = frozenset({9, 10})


@dataclass(frozen=True)
class TrustStore:
    """One set of trust anchors: its name in messages and the OpenSSL file/directory that holds it."""

    name: str
    cafile: Path | None = None
    capath: Path | None = None


@dataclass(frozen=True)
class TrustResult:
    """OpenSSL's verdict on one server's chain."""

    #: True / False; None when it could not be evaluated (``detail`` says why).
    trusted: bool | None
    detail: str
    #: a date failure of a CA certificate found while the chain is otherwise trusted ("" if none)
    date_problem: str = ""
    #: leaf … trust anchor, as OpenSSL built it (empty when unknown)
    verified_chain: tuple[x509.Certificate, ...] = field(default=())


def system_store() -> TrustStore:
    """The OpenSSL default verify paths (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured).

    When the machine has none (a slim container without ca-certificates), the Mozilla root store
    bundled with sslyze stands in, under its own name, so "untrusted" never silently means "no store".
    """
    paths = ssl.get_default_verify_paths()
    cafile = Path(paths.cafile) if paths.cafile and Path(paths.cafile).is_file() else None
    capath = Path(paths.capath) if paths.capath and Path(paths.capath).is_dir() else None
    if cafile or (capath and any(capath.iterdir())):
        shown = cafile or capath
        return TrustStore(f"the system store ({safe_text(str(shown), 120)})", cafile, capath)
    import sslyze

    bundled = Path(sslyze.__file__).parent / "plugins" / "certificate_info" / "trust_stores" / "pem_files"
    return TrustStore("the Mozilla root store bundled with sslyze (no system store found)", bundled / "mozilla_nss.pem")


def trust_stores(ca_bundle: Path | None) -> tuple[list[TrustStore], str | None]:
    """The stores to validate against, the configured bundle first; and a problem with the bundle, if any."""
    stores: list[TrustStore] = []
    problem = None
    if ca_bundle is not None:
        path = Path(ca_bundle)
        if path.is_file():
            stores.append(TrustStore(f"http.ca_bundle ({safe_text(path.name, 80)})", cafile=path))
        else:
            problem = f"the CA bundle {safe_text(str(path), 160)} (http.ca_bundle) does not exist"
    stores.append(system_store())
    return stores, problem


def openssl_client_context(store: TrustStore, check_time: bool = True) -> ssl.SSLContext:
    """An OpenSSL client context that verifies the chain like a client, name and strength left aside."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    flags = ssl.VERIFY_X509_TRUSTED_FIRST  # OpenSSL's default set: not X509_STRICT, no partial chains
    context.verify_flags = flags if check_time else flags | X509_V_FLAG_NO_CHECK_TIME
    with warnings.catch_warnings(), contextlib.suppress(ValueError, ssl.SSLError):
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    context.load_verify_locations(
        cafile=str(store.cafile) if store.cafile else None, capath=str(store.capath) if store.capath else None
    )
    return context


@dataclass(frozen=True)
class _Handshake:
    ok: bool
    verify_code: int | None = None  # set when OpenSSL rejected the chain
    reason: str = ""
    chain: tuple[x509.Certificate, ...] = ()


def _verified_chain(tls: ssl.SSLSocket) -> tuple[x509.Certificate, ...]:
    """The chain OpenSSL built (public from Python 3.13, a private method of the same object before)."""
    from cryptography import x509

    getter = getattr(tls, "get_verified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_verified_chain", None
    )
    if getter is None:
        return ()
    try:
        return tuple(x509.load_der_x509_certificate(c.public_bytes(ssl._ssl.ENCODING_DER)) for c in getter() or ())  # type: ignore[attr-defined]
    except Exception:  # a certificate cryptography cannot parse: the verdict stands, the chain is unknown
        return ()


def _handshake(
    ip: str,
    port: int,
    server_name: str,
    starttls_protocol: str | None,
    store: TrustStore,
    timeout: float,
    check_time: bool,
) -> _Handshake:
    context = openssl_client_context(store, check_time)
    try:
        sock = connect(ip, port, timeout)
    except ProbeFailure as failure:
        return _Handshake(False, reason=failure.detail)
    with sock:
        try:
            if starttls_protocol:
                starttls(sock, starttls_protocol, server_name, timeout)
            sni = None if _is_ip(server_name) else server_name
            with context.wrap_socket(sock, server_hostname=sni, do_handshake_on_connect=False) as tls:
                tls.settimeout(timeout)
                tls.do_handshake()
                return _Handshake(True, chain=_verified_chain(tls))
        except ProbeFailure as failure:
            return _Handshake(False, reason=failure.detail)
        except ssl.SSLCertVerificationError as exc:
            message = safe_text(str(exc.verify_message or "certificate verify failed"), 160)
            return _Handshake(False, verify_code=int(exc.verify_code or 0), reason=message)
        except TimeoutError:
            return _Handshake(False, reason=f"the handshake did not finish within {timeout_text(timeout)}")
        except ssl.SSLError as exc:
            return _Handshake(False, reason=plain_tls_error(str(exc)) or plain_reason(str(exc.reason or "")))
        except OSError as exc:
            return _Handshake(False, reason=safe_text(str(exc.strerror or "network error"), 120))


def _cn(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    text = str(names[0].value) if names else cert.subject.rfc4514_string() or "(empty subject)"
    return safe_text(text, 80)


def _date_problem(chain: Sequence[x509.Certificate], openssl_reason: str, now: datetime) -> str:
    """The CA certificates of a verified chain that are outside their validity (the leaf has its own finding)."""
    bad = []
    for cert in chain[1:]:
        if cert.not_valid_after_utc < now:
            bad.append(f"the CA certificate {_cn(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
        elif cert.not_valid_before_utc > now:
            bad.append(f"the CA certificate {_cn(cert)} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    if bad:
        return "; ".join(bad)
    if not chain:  # the chain is unknown: say what OpenSSL said, the expiry finding decides about the leaf
        return f"OpenSSL: {openssl_reason}"
    return ""


def verify_with_openssl(
    ip: str,
    port: int,
    server_name: str,
    starttls_protocol: str | None,
    stores: Sequence[TrustStore],
    timeout: float,
    received_chain: Sequence[x509.Certificate],
    now: datetime | None = None,
) -> TrustResult:
    """OpenSSL's verdict on the server's chain against ``stores`` (see the module doc for the rules)."""
    now = now or datetime.now(UTC)
    failures: list[tuple[str, str]] = []
    unloadable: list[str] = []
    for store in stores:
        try:
            first = _handshake(ip, port, server_name, starttls_protocol, store, timeout, check_time=True)
        except (ssl.SSLError, OSError) as exc:  # the store itself cannot be loaded
            unloadable.append(f"{store.name} could not be loaded ({safe_text(str(exc), 120)})")
            continue
        if first.ok:
            return TrustResult(True, f"OpenSSL path validation succeeds against {store.name}", "", first.chain)
        if first.verify_code is None:
            # No verdict from a handshake (protocol, client certificate, network): judge the received chain.
            return verify_received_chain(received_chain, stores, now, why=first.reason)
        if first.verify_code in DATE_ERRORS:
            again = _handshake(ip, port, server_name, starttls_protocol, store, timeout, check_time=False)
            if again.ok:
                problem = _date_problem(again.chain, first.reason, now)
                return TrustResult(
                    True,
                    f"OpenSSL path validation succeeds against {store.name} with the validity dates left aside "
                    f"(OpenSSL: {first.reason}; the dates are judged by tls.cert.expiry)",
                    problem,
                    again.chain,
                )
            if again.verify_code is None:
                return verify_received_chain(received_chain, stores, now, why=again.reason)
            failures.append((store.name, again.reason))
            continue
        failures.append((store.name, first.reason))
    if unloadable:  # not judged against every store it should be: no verdict
        judged = f"; {_failure_text(failures, None)}" if failures else ""
        return TrustResult(None, "; ".join(unloadable) + judged)
    return TrustResult(False, _failure_text(failures, received_chain[0] if received_chain else None))


def _failure_text(failures: Sequence[tuple[str, str]], leaf: x509.Certificate | None) -> str:
    reasons = {reason for _, reason in failures}
    if len(reasons) == 1:
        names = " and ".join(name for name, _ in failures)
        text = f"OpenSSL path validation fails against {names}: {failures[0][1]}"
    else:
        text = "OpenSSL path validation fails: " + "; ".join(f"{name}: {reason}" for name, reason in failures)
    if leaf is not None and any("signature failure" in r for r in reasons) and not _has_aki(leaf):
        text += (
            " (the leaf has no authorityKeyIdentifier, so OpenSSL picks its issuer by name alone: probably a "
            "different CA with the same name in the store was taken for it)"
        )
    return text


def _has_aki(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return True


def verify_received_chain(
    chain: Sequence[x509.Certificate], stores: Sequence[TrustStore], now: datetime, why: str = ""
) -> TrustResult:
    """``X509_verify_cert`` on the chain the scanner received (nassl's OpenSSL), for when no handshake could.

    This OpenSSL checks the dates and cannot be told not to; a date error therefore leaves the
    chain's trust undecided (``None``) rather than guessed.
    """
    from cryptography.hazmat.primitives.serialization import Encoding
    from nassl._nassl import X509
    from nassl.cert_chain_verifier import CertificateChainVerificationFailed, CertificateChainVerifier

    note = (
        f" (verified offline on the chain the server sent: a client handshake did not complete: {why})" if why else ""
    )
    if not chain:
        return TrustResult(None, "no certificate chain was received" + note)
    try:
        untrusted = [X509(c.public_bytes(Encoding.PEM).decode("ascii")) for c in chain]
    except Exception:
        return TrustResult(None, "the received chain could not be read by OpenSSL" + note)
    failures: list[tuple[str, str]] = []
    date_error = ""
    for store in stores:
        if store.cafile is None:
            continue
        try:
            verifier = CertificateChainVerifier.from_file(store.cafile)
        except Exception:
            failures.append((store.name, "the store could not be loaded"))
            continue
        try:
            built = verifier.verify(untrusted)
            return TrustResult(True, f"OpenSSL path validation succeeds against {store.name}{note}", "", _load(built))
        except CertificateChainVerificationFailed as exc:
            reason = safe_text(exc.openssl_error_string, 160)
            if exc.openssl_error_code in DATE_ERRORS:
                date_error = reason
            failures.append((store.name, reason))
        except Exception:
            failures.append((store.name, "the chain could not be verified"))
    if date_error:
        return TrustResult(
            None, f"OpenSSL stops at the validity dates ({date_error}) before judging the rest of the chain{note}"
        )
    if not failures:
        return TrustResult(None, "no trust store file to verify against" + note)
    return TrustResult(False, _failure_text(failures, chain[0]) + note)


def _load(nassl_chain: Sequence[object]) -> tuple[x509.Certificate, ...]:
    """nassl's certificates as ``cryptography`` ones (empty when any cannot be read)."""
    from cryptography import x509

    try:
        return tuple(x509.load_pem_x509_certificate(c.as_pem().encode("ascii")) for c in nassl_chain)  # type: ignore[attr-defined]
    except Exception:
        return ()


# --------------------------------------------------------------------------- web-PKI profile


def _ext(cert: x509.Certificate, kind: type) -> object | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def profile_deviations(received: Sequence[x509.Certificate], verified: Sequence[x509.Certificate] = ()) -> list[str]:
    """What the chain lacks compared with the CA/Browser Forum profile strict validators enforce.

    The leaf and the CA certificates (the verified chain's when known, otherwise the ones the
    server sent) are examined: v1 certificates; leaf without subjectAltName, authorityKeyIdentifier,
    extendedKeyUsage serverAuth or keyUsage, or marked as a CA; CA certificates without critical
    basicConstraints CA:TRUE, keyUsage keyCertSign or subjectKeyIdentifier, and intermediates
    without authorityKeyIdentifier.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if not received:
        return []
    out: list[str] = []
    leaf = received[0]
    self_issued = leaf.subject == leaf.issuer
    try:
        if leaf.version is x509.Version.v1:
            out.append("leaf: an X.509 v1 certificate (no extensions at all)")
        else:
            if _ext(leaf, x509.SubjectAlternativeName) is None:
                out.append("leaf: no subjectAltName")
            if not self_issued and _ext(leaf, x509.AuthorityKeyIdentifier) is None:
                out.append("leaf: no authorityKeyIdentifier")
            eku = _ext(leaf, x509.ExtendedKeyUsage)
            if eku is None:
                out.append("leaf: no extendedKeyUsage (serverAuth)")
            elif not {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(eku.value):  # type: ignore[attr-defined]
                out.append("leaf: extendedKeyUsage without serverAuth")
            if _ext(leaf, x509.KeyUsage) is None:
                out.append("leaf: no keyUsage")
            bc = _ext(leaf, x509.BasicConstraints)
            if bc is not None and bc.value.ca and not self_issued:  # type: ignore[attr-defined]
                out.append("leaf: basicConstraints marks it as a CA")
    except ValueError:
        out.append("leaf: its extensions cannot be parsed")
    cas = list(verified[1:]) if len(verified) > 1 else [c for c in received[1:] if c != leaf]
    for ca in cas:
        who = f"CA {_cn(ca)}"
        try:
            if ca.version is x509.Version.v1:
                out.append(f"{who}: an X.509 v1 certificate (no basicConstraints, keyUsage or key identifiers)")
                continue
            bc = _ext(ca, x509.BasicConstraints)
            if bc is None:
                out.append(f"{who}: no basicConstraints")
            elif not bc.value.ca:  # type: ignore[attr-defined]
                out.append(f"{who}: basicConstraints without CA:TRUE")
            elif not bc.critical:  # type: ignore[attr-defined]
                out.append(f"{who}: basicConstraints not marked critical")
            ku = _ext(ca, x509.KeyUsage)
            if ku is None:
                out.append(f"{who}: no keyUsage (keyCertSign)")
            elif not ku.value.key_cert_sign:  # type: ignore[attr-defined]
                out.append(f"{who}: keyUsage without keyCertSign")
            if _ext(ca, x509.SubjectKeyIdentifier) is None:
                out.append(f"{who}: no subjectKeyIdentifier")
            if ca.subject != ca.issuer and _ext(ca, x509.AuthorityKeyIdentifier) is None:
                out.append(f"{who}: no authorityKeyIdentifier")
        except ValueError:
            out.append(f"{who}: its extensions cannot be parsed")
    return out


_EXTENSION_NAMES = {
    "2.5.29.14": "subjectKeyIdentifier",
    "2.5.29.15": "keyUsage",
    "2.5.29.17": "subjectAltName",
    "2.5.29.19": "basicConstraints",
    "2.5.29.35": "authorityKeyIdentifier",
    "2.5.29.37": "extendedKeyUsage",
}


def strict_verifier_reason(verified: Sequence[x509.Certificate]) -> str | None:
    """Why ``cryptography``'s web-PKI verifier (sslyze's) rejects a chain OpenSSL built; None if it accepts.

    Given the same anchor OpenSSL used, at a moment inside the leaf's validity and for the leaf's
    own first name, so only the certificate profile is judged.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    if not verified:
        return None
    leaf, anchor = verified[0], verified[-1]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName), *(str(i) for i in san.get_values_for_type(x509.IPAddress))]
    except (x509.ExtensionNotFound, ValueError):
        names = []
    if not names:
        return "no subjectAltName to verify the leaf for"
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(names[0]))
    except ValueError:
        subject = x509.DNSName(names[0])
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    now = datetime.now(UTC)
    moment = min(max(now, start + timedelta(minutes=1)), end - timedelta(minutes=1))
    try:
        verifier = PolicyBuilder().store(Store([anchor])).time(moment).build_server_verifier(subject)
        verifier.verify(leaf, list(verified[1:-1]))
        return None
    except VerificationError as exc:
        text = str(exc.args[0] if exc.args else exc)
        text = text.split(" (encountered processing", 1)[0]
        for oid, name in _EXTENSION_NAMES.items():
            text = text.replace(oid, f"{name} ({oid})")
        return safe_text(text, 240)
    except Exception:  # a certificate the verifier cannot even load: itself a deviation
        return "the strict verifier cannot process the chain"
