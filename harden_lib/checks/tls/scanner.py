"""Scanning: the targets of an environment, each through its own pipeline (probe, sslyze, OpenSSL trust).

The pipeline per target, all targets side by side:

1. a **probe** (``probe``): TCP connect, STARTTLS if configured, one ClientHello, the answer
   until it is complete — about one ``tls.timeout`` for a silent port or a server that stalls
   mid-handshake (not scanned further), and "not TLS (plain text)" for a plain-text port;
2. **sslyze** with its own ``Scanner`` per host (so a slow host never holds back another's
   results, and each host's seconds are its own), at most ``tls.concurrent_hosts`` at a time;
3. **trust** (``trust``): OpenSSL path validation, as a client connecting with OpenSSL decides it.

The result is a ``HostScan`` per target (plain data, see ``model``); every failure is recorded on
it as words (never an exception class name) and no target's failure stops another's scan.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from traceback import TracebackException
from typing import TYPE_CHECKING, Any

from harden_lib.checks.tls.certificate import cert_facts
from harden_lib.checks.tls.model import PROTOCOLS, CipherRow, HostScan, safe_text
from harden_lib.checks.tls.params import TlsParams, normalise_server_name, parse_address
from harden_lib.checks.tls.probe import ProbeResult, probe
from harden_lib.checks.tls.trust import TrustStore, trust_stores, verify_with_openssl
from harden_lib.checks.tls.words import plain_tls_error

if TYPE_CHECKING:
    from harden_lib.environment import Environment

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSpec:
    """A resolved target: what to connect to, what name to send and match.

    ``server_name`` is normalised here, once (``sni_name``): the probe, sslyze's SNI, the OpenSSL
    trust handshake and the certificate's name check all read it from this object.
    """

    label: str
    host: str
    port: int
    server_name: str
    starttls: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "server_name", sni_name(self.server_name))


def sni_name(name: str) -> str:
    """``normalise_server_name``, or for a name it refuses (a base_url host params let through) the
    name lower-cased without its trailing dot: the scan then reports what the server makes of it."""
    try:
        return normalise_server_name(name)
    except ValueError:
        return name.strip().removesuffix(".").lower()


def targets(env: Environment) -> list[ScanSpec]:
    """The environment's TLS endpoints: base_url's host (if https) and ``tls.targets``, deduplicated."""
    params: TlsParams = env.tls
    specs: list[ScanSpec] = []
    if params.include_base_url and env.base_url and env.base_url.scheme == "https":
        host = (env.base_url.host or "").strip("[]")
        port = env.base_url.port or 443
        shown = f"[{host}]" if ":" in host else host
        specs.append(ScanSpec(f"{shown}:{port}", host, port, host))
    for target in params.targets:
        host, port = parse_address(target.address)
        specs.append(ScanSpec(target.label, host, port, target.server_name or host, target.starttls))
    seen: set[tuple[str, int, str | None]] = set()
    unique = []
    for spec in specs:
        if (spec.host, spec.port, spec.starttls) not in seen:
            seen.add((spec.host, spec.port, spec.starttls))
            unique.append(spec)
    return unique


def _error_text(trace: Any) -> str:
    """A one-line reason from sslyze's connectivity error (a TracebackException), without class names."""
    if trace is None:
        return "unknown error"
    text = "".join(trace.format_exception_only()).strip().splitlines()[-1] if trace else ""
    quoted = re.search(r'-> "(.*)"\.?$', text)  # sslyze's ConnectionToServerFailed: 'host:port -> "message".'
    if quoted:
        text = quoted.group(1)
    text = re.sub(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*:\s*", "", text)  # a leading (dotted) class name
    plain = plain_tls_error(text)  # OpenSSL's internal strings (error:0A00010B:…, [SSL: …]) as words
    if plain is not None:
        return plain
    return safe_text(text or "unknown error", 300)


#: sslyze's reasons for a scan command that did not complete (``ScanCommandErrorReasonEnum``), in words.
_COMMAND_ERRORS = {
    "BUG_IN_SSLYZE": "the scanner failed on this server",
    "CLIENT_CERTIFICATE_NEEDED": "the server requires a client certificate",
    "CONNECTIVITY_ISSUE": "the connection failed",
    "WRONG_USAGE": "the scan command does not apply to this server",
}


#: sslyze's Mozilla-checker issues that are not about the TLS configuration. Its path validation is
#: the strict web-PKI verifier; trust is judged once, by ``tls.cert.trusted`` (OpenSSL).
MOZILLA_NOT_CONFIGURATION = frozenset({"certificate_path_validation"})

#: Targets probed at the same time (each probe costs at most about one timeout; this only bounds threads).
MAX_PARALLEL_PROBES = 32


def host_budget(params: TlsParams) -> float:
    """Seconds one host's sslyze scan may take before it is given up (a host that answers the probe,
    then stalls): generous, because a healthy remote scan makes a few hundred handshakes."""
    return max(30.0, 24 * params.timeout)


def scan(specs: Sequence[ScanSpec], params: TlsParams, ca_bundle: Path | None = None) -> dict[str, HostScan]:
    """Probe and scan every target, each on its own; one ``HostScan`` per target (errors included).

    All targets are probed at once; the TLS ones are then scanned by sslyze, at most
    ``params.concurrent_hosts`` at a time, each with its own ``Scanner``. A host's ``seconds`` are
    its own probe + scan time, not the time spent waiting for a free slot or for other hosts.
    """
    out: dict[str, HostScan] = {
        spec.label: HostScan(
            spec.label, spec.host, spec.port, spec.server_name, spec.starttls, mozilla_profile=params.mozilla_profile
        )
        for spec in specs
    }
    if not specs:
        return out
    stores, bundle_problem = trust_stores(ca_bundle)
    slots = threading.BoundedSemaphore(params.concurrent_hosts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about serials in sslyze's bundled trust stores
        with ThreadPoolExecutor(min(len(specs), MAX_PARALLEL_PROBES), thread_name_prefix="harden-tls") as pool:
            futures = {
                spec.label: pool.submit(
                    contextvars.copy_context().run, _scan_one, spec, out[spec.label], params, stores, slots
                )
                for spec in specs
            }
            for label, future in futures.items():
                try:
                    future.result()
                except Exception:  # a bug must not cost the other hosts their results
                    LOG.exception("tls scan of one target failed")
                    out[label].error = "the scan failed unexpectedly (an internal error of harden, logged)"
    if bundle_problem:
        for host_scan in out.values():
            if host_scan.error is None and host_scan.certificate is not None and not host_scan.certificate.trusted:
                host_scan.certificate_error = bundle_problem
    return out


def _scan_one(
    spec: ScanSpec,
    host_scan: HostScan,
    params: TlsParams,
    stores: Sequence[TrustStore],
    slots: threading.BoundedSemaphore,
) -> None:
    """One target's pipeline: probe, then (if it speaks TLS) sslyze and OpenSSL's trust verdict."""
    first: ProbeResult = probe(spec.host, spec.port, spec.server_name, spec.starttls, params.timeout)
    spent = first.seconds
    host_scan.probe = first.detail
    if not first.go_on or first.ip is None:
        host_scan.error = first.detail
        host_scan.seconds = spent
        return
    with slots:
        started = time.monotonic()
        try:
            _scan_with_sslyze(spec, first, host_scan, params, stores)
        finally:
            host_scan.seconds = round(spent + time.monotonic() - started, 2)


def _sslyze_request(spec: ScanSpec, ip: str, params: TlsParams) -> Any:
    """sslyze's request for one target, at the address the probe reached.

    No custom CA file is handed to sslyze: its path validation is not used (trust is OpenSSL's,
    see ``trust``), and a CA bundle its parser rejects would cost the whole certificate scan.
    """
    from sslyze import (
        ProtocolWithOpportunisticTlsEnum,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
    )
    from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER

    network = ServerNetworkConfiguration(
        tls_server_name_indication=spec.server_name,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum[spec.starttls.upper()] if spec.starttls else None,
        network_timeout=int(max(1, round(params.timeout))),
        network_max_retries=1,
    )
    return ServerScanRequest(
        server_location=ServerNetworkLocation(spec.host, spec.port, ip_address=ip),
        network_configuration=network,
        scan_commands=set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
    )


def _run_scanner(request: Any, budget: float) -> tuple[Any, str | None]:
    """(result, None), or (None, reason) when sslyze failed or did not finish within ``budget`` seconds.

    The ``Scanner`` runs in a daemon thread: sslyze cannot be cancelled, so a host that stalls
    past the budget is given up (its threads end with their own socket timeouts).
    """
    from sslyze import Scanner

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            scanner = Scanner(concurrent_server_scans_limit=1, per_server_concurrent_connections_limit=5)
            scanner.queue_scans([request])
            for result in scanner.get_results():
                box["result"] = result
        except Exception:
            box["error"] = "the scanner failed unexpectedly"

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="harden-sslyze", daemon=True)
    thread.start()
    thread.join(budget)
    if thread.is_alive():
        return (
            None,
            f"the scan did not finish within {budget:g} s (24 × tls.timeout, at least 30 s); the host "
            "answered the first handshake, then stalled",
        )
    if "result" not in box:
        return None, box.get("error", "the scanner returned no result")
    return box["result"], None


def _scan_with_sslyze(
    spec: ScanSpec,
    first: ProbeResult,
    host_scan: HostScan,
    params: TlsParams,
    stores: Sequence[TrustStore],
) -> None:
    assert first.ip is not None
    try:
        request = _sslyze_request(spec, first.ip, params)
    except Exception as exc:  # bad input must not stop the other targets
        host_scan.error = safe_text(f"cannot set up the scan: {exc}", 300)
        return
    result, problem = _run_scanner(request, host_budget(params))
    if result is None:
        host_scan.error = problem
        return
    deployment = _fill(host_scan, result, params)
    if host_scan.error is not None:
        # the probe's observation explains it better than "no TLS version and cipher suite supported"
        if first.kind == "closed":
            host_scan.error = (
                f"{first.detail}, and no other handshake (TLS 1.3 down to SSL 2.0) succeeded either: "
                "the port does not seem to speak TLS"
            )
        elif first.kind == "truncated":
            host_scan.error = f"{first.detail}, and no other handshake (TLS 1.3 down to SSL 2.0) succeeded either"
        elif first.problem:
            host_scan.error = (
                f"the answer to a TLS ClientHello: {first.problem}, and no other handshake "
                "(TLS 1.3 down to SSL 2.0) succeeded either"
            )
        return
    if deployment is None:
        return
    try:
        chain = list(deployment.received_certificate_chain)
        trust = verify_with_openssl(first.ip, spec.port, spec.server_name, spec.starttls, stores, params.timeout, chain)
        host_scan.certificate = cert_facts(deployment, spec.server_name, trust)
    except Exception:  # a certificate cryptography cannot parse
        host_scan.certificate_error = "the certificate could not be analysed: it cannot be parsed"


def _fill(host_scan: HostScan, result: Any, params: TlsParams) -> Any:
    """Copy sslyze's result into ``host_scan``; the certificate deployment to examine, or None."""
    from sslyze import ScanCommandAttemptStatusEnum, ServerScanStatusEnum
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        reason = _error_text(result.connectivity_error_trace)
        host_scan.error = f"could not complete a TLS handshake: {reason}"
        return None
    attempts = result.scan_result
    for attr in {a for a, _, _ in PROTOCOLS} | {"certificate_info"}:
        attempt = getattr(attempts, attr)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            code = str(attempt.error_reason.value) if attempt.error_reason else ""
            reason = _COMMAND_ERRORS.get(code, code.replace("_", " ").lower() or "not run")
            trace = _error_text(attempt.error_trace) if attempt.error_trace else ""
            host_scan.failed_commands[attr] = safe_text(f"{reason}: {trace}" if trace else reason, 300)
    for attr, pid, _ in PROTOCOLS:
        attempt = getattr(attempts, attr)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            host_scan.protocols[pid] = None
            continue
        res = attempt.result
        host_scan.protocols[pid] = bool(res.is_tls_version_supported)
        for accepted in res.accepted_cipher_suites:
            key = accepted.ephemeral_key
            kind = (getattr(key, "curve_name", "") or type(key).__name__.replace("EphemeralKeyInfo", "")) if key else ""
            kex = f"{kind} {key.size} bits" if key else ""
            host_scan.ciphers.append(CipherRow(pid, safe_text(accepted.cipher_suite.name, 80), safe_text(kex, 60)))
    deployment = None
    cert_attempt = attempts.certificate_info
    if cert_attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and cert_attempt.result.certificate_deployments:
        deployment = cert_attempt.result.certificate_deployments[0]
    else:
        host_scan.certificate_error = "the certificate could not be retrieved: " + host_scan.failed_commands.get(
            "certificate_info", "no certificate"
        )
    profile = TlsConfigurationEnum(params.mozilla_profile)
    try:
        check_server_against_tls_configuration(result, MozillaTlsConfiguration.get(profile))
        host_scan.mozilla = []
    except ServerNotCompliantWithTlsConfiguration as exc:
        host_scan.mozilla = [
            (safe_text(k, 60), safe_text(v, 400))
            for k, v in sorted(exc.issues.items())
            if k not in MOZILLA_NOT_CONFIGURATION
        ]
    except Exception as exc:  # ServerScanResultIncomplete or an assertion on a missing result
        reason = _error_text(TracebackException.from_exception(exc)) if str(exc) else "a scan result is missing"
        host_scan.mozilla_error = f"the profile check could not run: {reason}"
    return deployment
