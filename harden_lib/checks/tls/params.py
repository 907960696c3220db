"""The ``tls:`` section of an environment's params, and the address syntax its targets use.

Kept apart from the scanner: the environment model is assembled from ``TlsParams`` for every
environment, also when the tls area does not run, and reading it needs none of the network code.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
