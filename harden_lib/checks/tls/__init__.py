"""TLS of the deployment's endpoints: protocols, cipher suites, certificates, expiry, Mozilla profile.

Targets are the environment's HTTPS host (from ``base_url``) plus ``tls.targets`` (``host:port``,
optionally with a STARTTLS protocol for datastores and mail). Each target goes through its own
pipeline, all targets side by side (``scanner``):

1. a **probe** (``probe``): TCP connect, STARTTLS if configured, one ClientHello, the answer
   read until a real client could act on it — about one ``tls.timeout`` for a silent port or a
   server that stalls mid-handshake instead of sslyze's five to eleven, and "not TLS (plain
   text)" for an HTTP or other plain-text port;
2. **sslyze** with its own ``Scanner`` per host (so a slow host never holds back another's
   results, and each host's seconds are its own), at most ``tls.concurrent_hosts`` at a time:
   one handshake per protocol version and cipher suite, the certificate chain as the server sends
   it, and sslyze's checker against Mozilla's server-side TLS profiles;
3. **trust** (``trust``): OpenSSL path validation, as a client connecting with OpenSSL
   decides it, against ``http.ca_bundle`` or the system store — not sslyze's strict web-PKI
   verifier, which rejects private-CA chains OpenSSL, curl, browsers and testssl.sh accept.
   Deviations from the CA/Browser Forum certificate profile are their own low finding
   (``tls.cert.profile``), and the Mozilla profile finding judges the TLS configuration only
   (sslyze's ``certificate_path_validation`` issue is left out: trust is reported once).

Why the split between ``scan`` and ``analyse``: the analysis (``analysis``) is a pure function of
a ``HostScan`` (plain data, ``model``), so tests can analyse cases no modern OpenSSL server can
produce (NULL or EXPORT suites, SSLv2) without a network, and notebooks can re-render a saved
scan (``evidence``). Every check id, its wording and references are in ``catalog/tls.yaml``.

A scanned server is hostile: every string it controls (subject, issuer, names, error texts,
plain-text answers) is capped and escaped before it reaches a finding or table. Unreachable
hosts, refused handshakes, non-TLS ports and timeouts are ``tls.scan`` errors that name what
happened (and which timeout expired) in plain words — OpenSSL's internal error strings are
translated (``words``); the other hosts are still scanned. A server name is normalised once
(``params.normalise_server_name``: no trailing dot, lower case, IDNA) for SNI and matching.

The package, by concern: ``params`` (the ``tls:`` section), ``model`` (scan results as data,
cipher classification, name matching), ``probe``, ``scanner`` (sslyze), ``certificate``, ``trust``,
``analysis`` (findings), ``evidence`` (tables and charts) and ``words`` (TLS errors in plain
words); this module is the area's interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from harden_lib.area import AreaSpec
from harden_lib.checks.tls.analysis import CERT_IDS, analyse, nothing_to_scan
from harden_lib.checks.tls.certificate import cert_facts
from harden_lib.checks.tls.evidence import host_table, mozilla_deviations, overview, plot_expiry
from harden_lib.checks.tls.model import (
    CIPHER_CLASSES,
    MAX_TEXT,
    PROTOCOL_NAMES,
    PROTOCOLS,
    CertFacts,
    CipherRow,
    HostScan,
    classify_cipher,
    has_forward_secrecy,
    hostname_matches,
    safe_text,
)
from harden_lib.checks.tls.params import STARTTLS, StartTls, TlsParams, TlsTarget, parse_address
from harden_lib.checks.tls.scanner import ScanSpec, host_budget, scan, targets

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment
    from harden_lib.findings import Finding

__all__ = [
    "AREA",
    "CERT_IDS",
    "CIPHER_CLASSES",
    "MAX_TEXT",
    "PROTOCOLS",
    "PROTOCOL_NAMES",
    "STARTTLS",
    "CertFacts",
    "CipherRow",
    "HostScan",
    "ScanSpec",
    "StartTls",
    "TlsAudit",
    "TlsParams",
    "TlsTarget",
    "analyse",
    "audit",
    "cert_facts",
    "classify_cipher",
    "has_forward_secrecy",
    "host_budget",
    "host_table",
    "hostname_matches",
    "mozilla_deviations",
    "overview",
    "parse_address",
    "plot_expiry",
    "run",
    "safe_text",
    "scan",
    "targets",
]


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
        return TlsAudit([nothing_to_scan()], {}, params, now)
    scans = scan(specs, params, env.http.ca_bundle)
    findings = [f for s in scans.values() for f in analyse(s, params, now)]
    return TlsAudit(findings, scans, params, now)


def run(env: Environment) -> list[Finding]:
    """The area's entry point (``harden_lib.areas``)."""
    return audit(env).findings


AREA = AreaSpec(
    name="tls",
    title="TLS",
    purpose="Protocols, cipher suites and certificates of every TLS endpoint: trusted, matching, not expiring.",
    params=TlsParams,
    order=30,
)
