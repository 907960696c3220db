"""A cheap first contact with each TLS target before sslyze scans it: reachable, and speaking TLS?

Why: sslyze's connectivity test makes up to eleven handshake attempts (TLS 1.3, then two cipher
lists for each of TLS 1.2 … SSL 2.0), and a port that accepts TCP but never answers — or starts a
TLS answer and stalls — costs one ``tls.timeout`` for each of them; a plain-HTTP port ends as "no
TLS version and cipher suite supported", which sends the reader looking for a cipher problem. One
probe per target — TCP connect, STARTTLS when configured, one ClientHello, the answer — settles
these in about one timeout, and names the timeout that expired.

The ClientHello comes from Python's ``ssl`` (OpenSSL) over memory buffers, so it looks like a real
client's, and the answer is fed back to that same client (``HandshakeClient``): only a client that
processes the answer knows when the server's first flight is complete. The ClientHello is
followed by ``\\r\\n\\r\\n``: a plain-text server that reads a request line (HTTP, Redis, …) then
always answers instead of waiting for a newline, while a TLS server has already answered the
ClientHello record before it reads the extra bytes.

An answer is judged by its first bytes, then by its completeness:

* a TLS or SSL 2.0 record, complete (the client finished, has its next flight to send, or
  rejected what it read) → ``tls``: sslyze scans the target; the client's objection, if any, is
  kept in words to explain a failed scan;
* a TLS answer begun and not complete within ``tls.timeout`` → ``stalled``: the target's error
  ("no complete TLS answer within tls.timeout (N s)"), with what arrived (records and handshake
  messages by name); sslyze is not run, its every handshake would wait for the same timeout;
* a TLS answer cut by a close or reset → ``truncated``: sslyze still tries (a server may dislike
  one ClientHello), and the probe's observation explains the failure if it cannot connect either;
* printable text → "not TLS (plain text)", the first line shown escaped and capped; other bytes →
  "not TLS"; nothing within the timeout → ``silent``; a close without a reply → ``closed`` (like
  ``truncated``, handed to sslyze).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from harden_lib.checks.tls.words import alert_words, plain_reason, plain_tls_error
from harden_lib.redact import safe_text

#: What the probe saw. ``tls``, ``closed`` and ``truncated`` go on to sslyze; every other kind is the target's error.
ProbeKind = Literal[
    "tls",
    "closed",
    "truncated",
    "stalled",
    "silent",
    "plaintext",
    "not_tls",
    "refused",
    "unresolved",
    "unreachable",
    "starttls",
]

#: Bytes read per ``recv`` (a non-TLS answer is judged on its first read of at least 5 bytes).
_READ_CAP = 4096
#: Bytes of a TLS answer read at most while waiting for it to be complete (a flight with a long chain is ~20 KiB).
_ANSWER_CAP = 256 * 1024


@dataclass(frozen=True)
class ProbeResult:
    """One target's first contact: what was seen, the address used, and how long it took."""

    kind: ProbeKind
    detail: str  # one sentence for a finding, no exception class names
    ip: str | None = None  # the address that answered (handed to sslyze so it does not resolve again)
    seconds: float = 0.0
    #: the probe's own client's objection to a complete TLS answer, in words ("" when none)
    problem: str = ""

    @property
    def go_on(self) -> bool:
        """True when sslyze should scan the target (TLS seen, or a reply too ambiguous to call)."""
        return self.kind in ("tls", "closed", "truncated")


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


def _client_context() -> ssl.SSLContext:
    """An OpenSSL client that offers everything (TLS 1.0–1.3, every suite) and verifies nothing."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings(), contextlib.suppress(ValueError, ssl.SSLError):
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


class HandshakeClient:
    """One client handshake run over memory buffers: the ClientHello to send, then the server's answer fed in.

    Why a real handshake and not a look at the first bytes: only a client that processes the
    answer knows when the server's first flight is complete (TLS 1.2: ServerHello … ServerHelloDone;
    TLS 1.3: ServerHello and the encrypted flight up to Finished, which only the key exchange can
    read). A server that starts that flight and stalls is then told apart from one that answered.
    """

    def __init__(self, server_name: str) -> None:
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sni = None if _is_ip(server_name) else server_name
        self._tls = _client_context().wrap_bio(self._incoming, self._outgoing, server_side=False, server_hostname=sni)
        with contextlib.suppress(ssl.SSLWantReadError):
            self._tls.do_handshake()
        self.hello = self._outgoing.read()
        #: the client's objection to the answer, in plain words ("" when it had none)
        self.problem = ""

    def feed(self, data: bytes) -> bool:
        """Hand the next bytes of the server's answer to the client; True once the answer is complete.

        Complete means the client could act on it: the handshake finished, the client has its next
        flight to send (a full TLS 1.2 flight, or a HelloRetryRequest answered), or it rejected what
        it read (an alert, a malformed record: ``problem`` says which). Partial records and partial
        flights leave the client waiting for more: not complete.
        """
        self._incoming.write(data)
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return self._outgoing.pending > 0
        except ssl.SSLError as exc:
            self.problem = plain_tls_error(str(exc)) or plain_reason(str(exc.reason or "") or "handshake failure")
        return True


def client_hello(server_name: str) -> bytes:
    """The bytes of one ClientHello as OpenSSL sends it (TLS 1.0–1.3, every suite, SNI when a name)."""
    return HandshakeClient(server_name).hello


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


#: Names of the TLS record types and handshake messages, to say what a partial answer held.
_RECORDS = {0x14: "ChangeCipherSpec", 0x15: "alert", 0x16: "handshake", 0x17: "encrypted"}
_MESSAGES = {
    0: "HelloRequest",
    2: "ServerHello",
    4: "NewSessionTicket",
    8: "EncryptedExtensions",
    11: "Certificate",
    12: "ServerKeyExchange",
    13: "CertificateRequest",
    14: "ServerHelloDone",
    15: "CertificateVerify",
    20: "Finished",
    22: "CertificateStatus",
}


def describe_answer(data: bytes) -> str:
    """What a server's incomplete TLS answer held, in words: the complete parts, then where it stops.

    Only the plaintext part is read (records, and handshake messages before encryption starts);
    the result is built from fixed words and numbers, never from the server's bytes.
    """
    if data[:1] and data[0] & 0x80:  # SSL 2.0: a 2-byte header, then the body
        length = ((data[0] & 0x7F) << 8) | (data[1] if len(data) > 1 else 0)
        return f"{len(data)} bytes: an SSL 2.0 record cut after {max(0, len(data) - 2)} of its {length} bytes"
    seen: list[str] = []
    stop = ""
    handshake = b""
    pos = 0
    while pos < len(data):
        if len(data) - pos < 5:
            stop = "a TLS record header cut short"
            break
        kind, length = data[pos], int.from_bytes(data[pos + 3 : pos + 5], "big")
        body = data[pos + 5 : pos + 5 + length]
        name = _RECORDS.get(kind, "TLS")
        if kind == 0x16:
            handshake += body
            while len(handshake) >= 4:
                size = int.from_bytes(handshake[1:4], "big")
                if len(handshake) < 4 + size:
                    break
                seen.append(_MESSAGES.get(handshake[0], f"handshake message {handshake[0]}"))
                handshake = handshake[4 + size :]
        if len(body) < length:
            if kind == 0x16 and len(handshake) >= 4:
                message = _MESSAGES.get(handshake[0], f"handshake message {handshake[0]}")
                size = int.from_bytes(handshake[1:4], "big")
                stop = f"{_a(message)} cut after {len(handshake) - 4} of its {size} bytes"
            else:
                stop = f"{_a(name)} record cut after {len(body)} of its {length} bytes"
            break
        if kind != 0x16:
            seen.append({0x15: "an alert", 0x17: "an encrypted record"}.get(kind, name))
        pos += 5 + length
    else:
        if len(handshake) >= 4:
            stop = f"{_a(_MESSAGES.get(handshake[0], 'handshake message'))} begun"
    parts = _squeeze(seen) + ([stop] if stop else [])
    return f"{len(data)} bytes: " + (", ".join(parts) if parts else "an incomplete flight") + ", then nothing"


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _squeeze(items: list[str]) -> list[str]:
    """Repeated neighbours counted once: ``an encrypted record ×4``."""
    out: list[tuple[str, int]] = []
    for item in items:
        if out and out[-1][0] == item:
            out[-1] = (item, out[-1][1] + 1)
        else:
            out.append((item, 1))
    return [f"{item} ×{count}" if count > 1 else item for item, count in out[:12]]


def _ssl2_complete(data: bytes) -> bool:
    """True when an SSL 2.0 answer holds its whole first record (2-byte header form)."""
    return len(data) >= 2 and len(data) >= 2 + (((data[0] & 0x7F) << 8) | data[1])


def probe(host: str, port: int, server_name: str, starttls_protocol: str | None, timeout: float) -> ProbeResult:
    """Connect, STARTTLS if configured, send one ClientHello and judge the answer (about one timeout).

    The answer is read until it is complete (see ``HandshakeClient.feed``), the server closes, or
    ``timeout`` passes after the ClientHello: a TLS answer begun and not finished within it is
    ``stalled`` — the target's error, not handed to sslyze, whose every handshake would wait for
    the same timeout again.
    """
    started = time.monotonic()

    def done(kind: ProbeKind, detail: str, ip: str | None = None, problem: str = "") -> ProbeResult:
        return ProbeResult(kind, detail, ip, round(time.monotonic() - started, 2), problem)

    try:
        sock = connect(host, port, timeout)
    except ProbeFailure as failure:
        return done(failure.kind, failure.detail)
    ip = str(sock.getpeername()[0])
    with sock:
        try:
            if starttls_protocol:
                starttls(sock, starttls_protocol, server_name, timeout)
            client = HandshakeClient(server_name)
            try:
                sock.sendall(client.hello + b"\r\n\r\n")
            except OSError as exc:
                return done("closed", f"the connection failed while sending a TLS ClientHello: {_os_reason(exc)}", ip)
            return _judge_answer(sock, client, timeout, starttls_protocol, done, ip)
        except ProbeFailure as failure:
            return done(failure.kind, failure.detail, ip)


def _judge_answer(
    sock: socket.socket,
    client: HandshakeClient,
    timeout: float,
    starttls_protocol: str | None,
    done: Callable[..., ProbeResult],
    ip: str,
) -> ProbeResult:
    """Read the answer to the ClientHello within ``timeout`` and say what it is."""
    data = b""
    kind: ProbeKind | None = None
    end = ""  # why reading stopped: complete, timeout, eof, reset, cap
    reset_reason = ""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            end = "timeout"
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(_READ_CAP)
        except TimeoutError:
            end = "timeout"
            break
        except OSError as exc:
            end, reset_reason = "reset", _os_reason(exc)
            break
        if not chunk:
            end = "eof"
            break
        if kind is None:
            data += chunk
            if len(data) < 5:
                continue
            kind, _ = classify(data)
            if kind != "tls":
                end = "complete"  # a plain-text or binary answer: its first bytes say enough
                break
            chunk = data
        else:
            data += chunk
        complete = _ssl2_complete(data) if _ssl2(data) else client.feed(chunk)
        if complete:
            end = "complete"
            break
        if len(data) >= _ANSWER_CAP:  # no TLS flight is this large without the client reacting: stop reading
            end = "complete"
            break
    if not data:
        if end == "timeout":
            return done(
                "silent",
                f"no answer to a TLS ClientHello within {timeout_text(timeout)}: the port accepts connections "
                "but does not answer TLS (a stalled server, or a plain-text service waiting for its own "
                "protocol, e.g. Redis without TLS)",
                ip,
            )
        if end == "reset":
            return done(
                "closed", f"the connection was reset instead of answering a TLS ClientHello ({reset_reason})", ip
            )
        return done("closed", "the server closed the connection without answering a TLS ClientHello", ip)
    kind, detail = classify(data)
    if kind == "tls":
        if end == "complete":
            problem = client.problem
            if problem and data[0] == 0x15 and len(data) >= 7:  # an alert: its own bytes say which, exactly
                problem = alert_words(data[6])
            return done("tls", detail, ip, problem)
        received = describe_answer(data)
        if end == "timeout":
            return done(
                "stalled",
                f"the server started a TLS answer but stalled: no complete TLS answer within "
                f"{timeout_text(timeout)} (received {received})",
                ip,
            )
        how = f"reset the connection ({reset_reason})" if end == "reset" else "closed the connection"
        return done("truncated", f"the server {how} in the middle of its TLS answer (received {received})", ip)
    hint = "" if starttls_protocol else " (if the service upgrades with STARTTLS, set starttls for this target)"
    if kind == "plaintext" and "as HTTP" in detail:
        hint = " (a plain-HTTP port: scan the HTTPS port instead)"
    return done(kind, detail + (hint if kind in ("plaintext", "not_tls") else ""), ip)


def _ssl2(data: bytes) -> bool:
    return bool(data) and data[0] & 0x80 != 0
