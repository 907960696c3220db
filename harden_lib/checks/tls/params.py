"""The ``tls:`` section of an environment's params, and the address syntax its targets use.

Kept apart from the scanner: the environment model is assembled from ``TlsParams`` for every
environment, also when the tls area does not run, and reading it needs none of the network code.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: STARTTLS protocols sslyze can negotiate before the TLS handshake (its
#: ``ProtocolWithOpportunisticTlsEnum``), by the name used in params.
STARTTLS = ("smtp", "xmpp", "xmpp_server", "ftp", "pop3", "ldap", "imap", "rdp", "postgres")
StartTls = Literal["smtp", "xmpp", "xmpp_server", "ftp", "pop3", "ldap", "imap", "rdp", "postgres"]

_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s\[\]/:@]+))(?::(?P<port>\d{1,5}))?$")


#: The full stops IDNA 2003 treats as label separators (RFC 3490 §3.1), besides ".".
_DOTS = re.compile("[\u3002\uff0e\uff61]")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_server_name(value: str) -> str:
    """The one spelling of a server name that is sent as SNI and matched against the certificate.

    Why: ``api.internal.test.`` (a fully qualified name), ``API.Internal.Test`` and ``bücher.example``
    name the same hosts as ``api.internal.test`` and ``xn--bcher-kva.example``, but SNI must carry
    the name without the trailing dot (RFC 6066 §3) in its ASCII form, and sslyze refuses any
    other spelling (its certificate scan then fails). So, once, where a name enters the scan:
    one trailing dot is dropped, the name is lower-cased, a non-ASCII name is IDNA-encoded (Python's
    ``idna`` codec, IDNA 2003), and an IP address is written in its canonical form. Raises
    ``ValueError`` (with the reason) for an empty label (``a..b``, ``.a``, ``a..``), a label over 63
    characters, a name over 253, or characters no host name has.
    """
    text = _DOTS.sub(".", value.strip())
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(text.removeprefix("[").removesuffix("]")))
    text = text.removesuffix(".")
    with contextlib.suppress(ValueError):
        return str(ipaddress.IPv4Address(text))  # 10.0.0.1. is an address written as a rooted name
    if not text:
        raise ValueError("is empty")
    if any(not label for label in text.split(".")):
        raise ValueError("has an empty label (two dots in a row, or a leading dot; only one trailing dot is allowed)")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("is not a valid internationalised domain name (IDNA)") from None
    text = text.lower()
    for label in text.split("."):
        if len(label) > 63:
            raise ValueError("has a label longer than 63 characters")
        if not _LABEL.match(label):
            raise ValueError(
                "is not a host name: letters, digits and hyphens only, no label starting or ending with a hyphen"
            )
    if len(text) > 253:
        raise ValueError("is longer than 253 characters")
    return text


def parse_address(value: str, default_port: int = 443) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` → (host as written, port); ValueError with a clear reason.

    The host may be a name written as a resolver takes it (``api.example.``, ``Bücher.example``);
    the name sent and matched is ``normalise_server_name(host)``.
    """
    match = _ADDRESS.match(value.strip())
    if not match:
        raise ValueError("must be host:port (an IPv6 address in brackets: [::1]:443)")
    host = match.group("v6") or match.group("host") or ""
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("the bracketed part is not an IPv6 address") from None
    else:
        try:
            normalise_server_name(host)  # a name written any way a resolver takes (trailing dot, IDN, case)
        except ValueError as exc:
            raise ValueError(f"the host {host[:80]!r} {exc}") from None
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
        None,
        description="name to send (SNI) and to match against the certificate; default: the host. A trailing "
        "dot is dropped, the name lower-cased and IDNA-encoded",
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

    @field_validator("server_name")
    @classmethod
    def _server_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_server_name(value)
        except ValueError as exc:
            raise ValueError(f"server_name {value.strip()[:80]!r} {exc}") from None

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
