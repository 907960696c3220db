"""OpenSSL's error strings as words a reader of a finding understands.

Why: a TLS failure reaches us in OpenSSL's internal forms — ``error:0A00010B:SSL
routines::wrong version number`` from sslyze's nassl, ``[SSL: WRONG_VERSION_NUMBER] wrong version
number (_ssl.c:1006)`` from Python's ``ssl``, a bare ``RECORD_LAYER_FAILURE`` reason code, or
``reason(1255)`` for an alert OpenSSL has no name for. None of them says what the server did. The
common reasons are mapped here to one plain sentence; the raw reason is kept, in parentheses and
capped, only when the sentence does not already say it (an alert's name, an unmapped reason).

Every entry point that shows a TLS library error (the probe, the sslyze scan, the OpenSSL trust
handshake) goes through ``plain_tls_error``, so the same failure reads the same everywhere.
"""

from __future__ import annotations

import re

from harden_lib.redact import safe_text

#: OpenSSL reason (lower case, words) → what it means for the server's answer.
_REASONS: dict[str, str] = {
    "wrong version number": "the answer is not a TLS record this client can read (its version field is wrong)",
    "record layer failure": "the answer is not a well-formed TLS record",
    "unknown protocol": "the answer is not TLS",
    "http request": "the answer is plain HTTP, not TLS",
    "unexpected message": "the server sent a TLS message out of order (not the start of a handshake)",
    "unexpected record": "the server sent a TLS record out of order",
    "packet length too long": "a TLS record's length field is wrong",
    "record length mismatch": "a TLS record's length field is wrong",
    "encrypted length too long": "a TLS record's length field is wrong",
    "length mismatch": "a TLS handshake message's length field is wrong",
    "length too short": "a TLS handshake message is shorter than its type requires",
    "bad length": "a TLS handshake message's length field is wrong",
    "bad packet length": "a TLS record's length field is wrong",
    "excessive message size": "a TLS handshake message is larger than any client accepts",
    "record too small": "a TLS record is too short to be valid",
    "bad record type": "a TLS record has an unknown type",
    "decode error": "a TLS handshake message could not be decoded",
    "bad extension": "the server's hello carries a malformed extension",
    "parse tlsext": "the server's hello carries a malformed extension",
    "unsolicited extension": "the server's hello carries an extension the client did not ask for",
    "unsupported protocol": "the server and this client have no TLS version in common",
    "no protocols available": "the server and this client have no TLS version in common",
    "tlsv1 alert protocol version": "the server refused the TLS version offered",
    "unsupported ssl version": "the server answered with a TLS version this client does not speak",
    "wrong ssl version": "the server answered with a TLS version this client does not speak",
    "no shared cipher": "the server and this client have no cipher suite in common",
    "no ciphers available": "the server and this client have no cipher suite in common",
    "wrong cipher returned": "the server chose a cipher suite the client did not offer",
    "decryption failed or bad record mac": "a TLS record failed its integrity check",
    "bad record mac": "a TLS record failed its integrity check",
    "decrypt error": "a TLS record or signature failed its integrity check",
    "bad signature": "the server's handshake signature is invalid",
    "unexpected eof while reading": "the server closed the connection in the middle of the handshake",
    "eof": "the server closed the connection in the middle of the handshake",
    "dh key too small": "the server's Diffie-Hellman key is too small for this client",
    "ee key too small": "the server's certificate key is too small for this client",
    "ca md too weak": "a CA certificate is signed with a hash this client refuses",
    "certificate verify failed": "the certificate chain could not be verified",
    "tlsv1 unrecognized name": "the server does not know the name sent as SNI",
    "tlsv1 alert unrecognized name": "the server does not know the name sent as SNI",
    "sslv3 alert handshake failure": "the server refused the handshake (it accepts none of what was offered)",
    "tlsv1 alert internal error": "the server gave up the handshake with an internal error",
    "tlsv13 alert certificate required": "the server requires a client certificate",
    "sslv3 alert bad certificate": "the server refused the client's certificate (or its absence)",
    "tlsv1 alert insufficient security": "the server requires stronger security than was offered",
    "tlsv1 alert inappropriate fallback": "the server refused a protocol downgrade",
    "internal error": "the TLS library failed internally",
}

#: TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2), for ``reason(1NNN)`` (1000 + the alert number).
_ALERTS = {
    0: "close notify",
    10: "unexpected message",
    20: "bad record mac",
    22: "record overflow",
    40: "handshake failure",
    42: "bad certificate",
    43: "unsupported certificate",
    44: "certificate revoked",
    45: "certificate expired",
    46: "certificate unknown",
    47: "illegal parameter",
    48: "unknown ca",
    49: "access denied",
    50: "decode error",
    51: "decrypt error",
    70: "protocol version",
    71: "insufficient security",
    80: "internal error",
    86: "inappropriate fallback",
    90: "user canceled",
    109: "missing extension",
    110: "unsupported extension",
    112: "unrecognized name",
    115: "unknown psk identity",
    116: "certificate required",
    120: "no application protocol",
}

_OPENSSL_LINE = re.compile(r"error:[0-9A-Fa-f]{8}:[^:\n]*:[^:\n]*:([^:\n'\"\\\\]+)")
_PY_SSL = re.compile(r"\[SSL(?::\s*([A-Z0-9_]+))?\]\s*([^(\n]*)")
_ALERT_CODE = re.compile(r"\breason\((1\d{3})\)")
_ALERT_NAME = re.compile(r"\b(?:sslv3|tlsv1|tlsv13) alert ([a-z ]+)")


def openssl_reasons(text: str) -> list[str]:
    """The reason(s) an OpenSSL error string carries, in lower-case words, best first (empty: none).

    Python's ``[SSL: CODE] text`` form gives two spellings (the code's words, then the text); the
    first one ``plain_reason`` knows is used.
    """
    if match := _OPENSSL_LINE.search(text):
        return [_words(match.group(1))]
    if match := _PY_SSL.search(text):
        return [w for w in (_words(match.group(1) or ""), _words(match.group(2))) if w]
    if re.fullmatch(r"\s*[A-Z0-9]+(?:_[A-Z0-9]+)+\s*", text):  # a bare reason code: WRONG_VERSION_NUMBER
        return [_words(text)]
    if match := _ALERT_CODE.search(text):
        return [match.group(0)]
    return []


def _words(reason: str) -> str:
    return re.sub(r"\s+", " ", reason.replace("_", " ")).strip().lower()


def _known(key: str) -> str | None:
    if key in _REASONS:
        return _REASONS[key]
    if match := _ALERT_CODE.search(key):
        return alert_words(int(match.group(1)) - 1000)
    if match := _ALERT_NAME.search(key):
        return f"the server refused the handshake with a TLS alert (“{safe_text(match.group(1).strip(), 40)}”)"
    return None


def alert_words(number: int) -> str:
    """A TLS alert the server sent, by its description number (RFC 8446 §6)."""
    name = _ALERTS.get(number)
    shown = f"“{name}”, number {number}" if name else f"number {number}, which TLS does not define"
    return f"the server sent a TLS alert ({shown})"


def plain_reason(reason: str) -> str:
    """One OpenSSL reason (any spelling) in plain words; the raw reason in parentheses only when unmapped."""
    key = _words(reason)
    known = _known(key)
    if known is not None:
        return known
    return f"the TLS handshake failed (OpenSSL: {safe_text(key, 80)})" if key else "the TLS handshake failed"


def plain_tls_error(text: str) -> str | None:
    """``text`` in plain words when it is (or carries) an OpenSSL error; None when it is not one."""
    reasons = openssl_reasons(text)
    if not reasons:
        return None
    for reason in reasons:
        known = _known(reason)
        if known is not None:
            return known
    return plain_reason(reasons[-1])
