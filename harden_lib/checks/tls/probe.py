"""A cheap first contact with each TLS target before sslyze scans it: reachable, and speaking TLS?

Why: sslyze's connectivity test makes up to eleven handshake attempts (TLS 1.3, then two cipher
lists for each of TLS 1.2 … SSL 2.0), and a port that accepts TCP but never answers costs one
``tls.timeout`` for each of them; a plain-HTTP port ends as "no TLS version and cipher suite
supported", which sends the reader looking for a cipher problem. One probe per target — TCP
connect, STARTTLS when configured, one ClientHello, the first bytes of the answer — settles both
in about one timeout, and names the timeout that expired.

The ClientHello comes from Python's ``ssl`` (OpenSSL) over a memory BIO, so it looks like a real
client's. It is followed by ``\\r\\n\\r\\n``: a plain-text server that reads a request line (HTTP,
Redis, …) then always answers instead of waiting for a newline, while a TLS server has already
answered the ClientHello record before it reads the extra bytes. A reply is classified by its
first bytes: a TLS or SSL 2.0 record → TLS; printable text → "not TLS (plain text)", with the
first line shown escaped and capped; anything else → "not TLS". A connection closed without a
reply is ambiguous (some servers drop a ClientHello they dislike), so sslyze still gets to try
it, and the probe's observation explains the failure if sslyze cannot connect either.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Literal

from harden_lib.redact import safe_text

#: What the probe saw. ``tls`` and ``closed`` go on to sslyze; every other kind is the target's error.
ProbeKind = Literal[
    "tls", "closed", "silent", "plaintext", "not_tls", "refused", "unresolved", "unreachable", "starttls"
]

#: Bytes read at most from a non-TLS answer (only the first line is shown).
_READ_CAP = 4096


@dataclass(frozen=True)
class ProbeResult:
    """One target's first contact: what was seen, the address used, and how long it took."""

    kind: ProbeKind
    detail: str  # one sentence for a finding, no exception class names
    ip: str | None = None  # the address that answered (handed to sslyze so it does not resolve again)
    seconds: float = 0.0

    @property
    def go_on(self) -> bool:
        """True when sslyze should scan the target (TLS seen, or a reply too ambiguous to call)."""
        return self.kind in ("tls", "closed")


def timeout_text(timeout: float) -> str:
    """How the expired deadline is named in messages: the params key and its value."""
    return f"tls.timeout ({timeout:g} s)"


def _os_reason(exc: OSError) -> str:
    """An OS error as words: its strerror, never the exception's class name."""
    return safe_text(str(exc.strerror or "") or "network error", 120)


def resolve(host: str, port: int, timeout: float) -> list[tuple[int, str]]:
    """(address family, IP) for ``host``, within ``timeout`` (the resolver itself may hang longer).

    Raises ``TimeoutError`` when the deadline passes and ``socket.gaierror`` when the name does
    not resolve. The lookup runs in a daemon thread so that a stuck resolver costs this target
    one timeout and nothing else.
    """
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(host)
        return [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, str(ip))]
    box: dict[str, object] = {}

    def lookup() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    thread = threading.Thread(target=lookup, name=f"harden-dns-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in box["ok"]:  # type: ignore[union-attr]
        entry = (int(family), str(sockaddr[0]))
        if entry not in seen:
            seen.append(entry)
    return seen


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first address of ``host`` that accepts, each attempt bounded by ``timeout``.

    Raises ``ProbeFailure`` with the reason in words (unresolved, refused, timed out, unreachable).
    """
    try:
        addresses = resolve(host, port, timeout)
    except TimeoutError:
        raise ProbeFailure("unresolved", f"the host name did not resolve within {timeout_text(timeout)}") from None
    except OSError:
        raise ProbeFailure("unresolved", f"the host name {safe_text(host, 100)} could not be resolved (DNS)") from None
    if not addresses:
        raise ProbeFailure("unresolved", f"the host name {safe_text(host, 100)} has no address")
    last: ProbeFailure | None = None
    for family, ip in addresses[:4]:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
            return sock
        except TimeoutError:
            last = ProbeFailure("unreachable", f"the TCP connection did not complete within {timeout_text(timeout)}")
        except ConnectionRefusedError:
            last = ProbeFailure("refused", f"the connection was refused: nothing listens on port {port}")
        except OSError as exc:
            last = ProbeFailure("unreachable", f"the host could not be reached: {_os_reason(exc)}")
        sock.close()
    assert last is not None
    raise last


class ProbeFailure(Exception):
    """A probe outcome that ends the target's scan; ``kind`` and ``detail`` become the ``ProbeResult``."""

    def __init__(self, kind: ProbeKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: ProbeKind = kind
        self.detail = detail


def starttls(sock: socket.socket, protocol: str, server_name: str, timeout: float) -> None:
    """Negotiate STARTTLS with sslyze's own helpers (so the probe, the scan and the trust check agree)."""
    from sslyze import ProtocolWithOpportunisticTlsEnum
    from sslyze.connection_helpers.opportunistic_tls_helpers import (
        OpportunisticTlsError,
        get_opportunistic_tls_helper,
    )

    # the same EHLO name sslyze uses by default, so the probe, the scan and the trust check look alike
    helper = get_opportunistic_tls_helper(
        ProtocolWithOpportunisticTlsEnum[protocol.upper()], server_name, "sslyze.scan"
    )
    try:
        helper.prepare_socket_for_tls_handshake(sock)
    except TimeoutError:
        raise ProbeFailure(
            "starttls", f"the server did not complete STARTTLS ({protocol}) within {timeout_text(timeout)}"
        ) from None
    except OpportunisticTlsError as exc:
        raise ProbeFailure("starttls", f"STARTTLS ({protocol}) was refused: {safe_text(str(exc), 120)}") from None
    except OSError as exc:
        raise ProbeFailure("starttls", f"STARTTLS ({protocol}) failed: {_os_reason(exc)}") from None
    except Exception:  # a hostile or broken reply the helper could not parse
        raise ProbeFailure(
            "starttls", f"STARTTLS ({protocol}) failed: the server's reply could not be understood"
        ) from None


def client_hello(server_name: str) -> bytes:
    """The bytes of one ClientHello as OpenSSL sends it (TLS 1.0–1.3, every suite, SNI when a name)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings(), contextlib.suppress(ValueError, ssl.SSLError):
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sni = None if _is_ip(server_name) else server_name
    tls = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def classify(data: bytes) -> tuple[ProbeKind, str]:
    """What the first bytes of an answer to a ClientHello say about the server."""
    if not data:
        return "closed", "the server closed the connection without answering a TLS ClientHello"
    first = data[0]
    if first in (0x14, 0x15, 0x16, 0x17) and (len(data) < 2 or data[1] == 0x03) and (len(data) < 3 or data[2] <= 0x04):
        return "tls", "the server answered a TLS ClientHello"
    if first & 0x80 and len(data) >= 3 and data[2] in (0x00, 0x04):  # SSL 2.0 record: ERROR or SERVER-HELLO
        return "tls", "the server answered in SSL 2.0"
    sample = data[:512]
    first_line = sample.split(b"\n", 1)[0][:200]
    printable = sum(32 <= b < 127 or b in (9, 13) for b in first_line)
    # text: it starts with printable characters and its first line is mostly text (servers often echo
    # a few of the ClientHello's bytes back in their complaint, as Redis and Python's http.server do)
    if all(32 <= b < 127 for b in sample[:4]) and printable >= 0.75 * len(first_line):
        lines = [line.strip() for line in sample.decode("ascii", "replace").splitlines() if line.strip()]
        http = next((line for line in lines if line.startswith("HTTP/")), None)
        if http is None and any(marker in sample.lower() for marker in (b"<html", b"<!doctype html", b"<body")):
            http = lines[0] if lines else ""
        line = http if http is not None else (lines[0] if lines else "")
        shown = f": “{safe_text(line, 80)}”" if line else ""
        if http is not None:
            return "plaintext", f"not TLS: the server answered a TLS ClientHello in plain text, as HTTP{shown}"
        return "plaintext", f"not TLS: the server answered a TLS ClientHello in plain text{shown}"
    head = data[:8].hex(" ")
    return "not_tls", f"not TLS: the server answered a TLS ClientHello with bytes that are no TLS record ({head} …)"


def probe(host: str, port: int, server_name: str, starttls_protocol: str | None, timeout: float) -> ProbeResult:
    """Connect, STARTTLS if configured, send one ClientHello and classify the answer (about one timeout)."""
    started = time.monotonic()

    def done(kind: ProbeKind, detail: str, ip: str | None = None) -> ProbeResult:
        return ProbeResult(kind, detail, ip, round(time.monotonic() - started, 2))

    try:
        sock = connect(host, port, timeout)
    except ProbeFailure as failure:
        return done(failure.kind, failure.detail)
    ip = str(sock.getpeername()[0])
    with sock:
        try:
            if starttls_protocol:
                starttls(sock, starttls_protocol, server_name, timeout)
            hint = "" if starttls_protocol else " (if the service upgrades with STARTTLS, set starttls for this target)"
            try:
                sock.sendall(client_hello(server_name) + b"\r\n\r\n")
            except OSError as exc:
                return done("closed", f"the connection failed while sending a TLS ClientHello: {_os_reason(exc)}", ip)
            data, timed_out = b"", False
            deadline = time.monotonic() + timeout
            while len(data) < 5:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                sock.settimeout(left)
                try:
                    chunk = sock.recv(_READ_CAP)
                except TimeoutError:
                    timed_out = True
                    break
                except OSError as exc:
                    if data:
                        break
                    return done(
                        "closed",
                        f"the connection was reset instead of answering a TLS ClientHello ({_os_reason(exc)})",
                        ip,
                    )
                if not chunk:
                    break
                data += chunk
            if not data and timed_out:
                return done(
                    "silent",
                    f"no answer to a TLS ClientHello within {timeout_text(timeout)}: the port accepts connections "
                    "but does not answer TLS (a stalled server, or a plain-text service waiting for its own "
                    "protocol, e.g. Redis without TLS)",
                    ip,
                )
            kind, detail = classify(data)
            if kind == "plaintext" and "as HTTP" in detail:
                hint = " (a plain-HTTP port: scan the HTTPS port instead)"
            return done(kind, detail + (hint if kind in ("plaintext", "not_tls") else ""), ip)
        except ProbeFailure as failure:
            return done(failure.kind, failure.detail, ip)
