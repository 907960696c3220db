"""Benchmark: the ``tls`` area against Debian's ``testssl.sh`` on the same local servers.

Starts every TLS server of the tests (``tests/tls_servers.py``): modern, TLS 1.2 + CBC, TLS 1.0,
expired, wrong host name, self-signed, and the private-CA cases — a CA made with the ``openssl``
CLI (root without keyUsage, leaf without authorityKeyIdentifier) behind Python's ``ssl`` and
behind Debian's nginx, the same CA with a leaf for another name, an expired leaf without key
identifiers from a CA without keyUsage, and a complete chain from a CA nobody trusts. All on
127.0.0.1. They are scanned with ``harden_lib.checks.tls`` (every host side by side, as the area
runs) and one after another with ``testssl.sh -p -S -e`` (protocols, server defaults incl. the
certificate, every cipher: the closest like-for-like selection), both given the same CA bundle
(every scenario's CA except the self-signed and unknown ones).

Agreement is counted per server in four categories:

* **protocols** — the legacy protocols offered (SSL 2.0 … TLS 1.1);
* **certificate** — expired, name mismatch;
* **trust** — does the chain lead to a trusted CA; testssl's chain check includes the dates, so
  a second count leaves out a testssl failure whose only reason is expiry ("trust, dates aside");
* **leaf usage** — the leaf has no keyUsage / extendedKeyUsage (testssl reports these two; the
  other web-PKI deviations harden reports, such as a missing AKI or a CA without keyUsage, have
  no testssl counterpart).

A second harden run adds a port that accepts TCP and never answers and a plain-HTTP port to the
same targets, to measure that a silent host costs one ``tls.timeout`` and delays no other host.

Prints wall times, the ratio and the agreement counts; writes ``benchmarks/results/bench_tls.json``.
Set-up: installs ``testssl.sh`` with apt when it is missing (``apt-get update`` first; needs root);
the nginx server is left out (and said so) when nginx is not installed.
Run: ``python benchmarks/bench_tls.py``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harden_lib.checks import tls  # noqa: E402
from harden_lib.environment import Environment  # noqa: E402
from tests.servers import Reply, serve  # noqa: E402
from tests.tls_servers import SCENARIOS, nginx_binary, openssl_binary, raw_server, tls_server  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_tls.json"
LEGACY = ("ssl2", "ssl3", "tls1_0", "tls1_1")
CATEGORIES = ("protocols", "certificate", "trust", "trust, dates aside", "leaf usage")


def ensure_testssl() -> str:
    found = shutil.which("testssl") or shutil.which("testssl.sh")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "testssl.sh"], check=True, env=env, capture_output=True)
    found = shutil.which("testssl") or shutil.which("testssl.sh")
    if not found:
        raise SystemExit("testssl.sh could not be installed")
    return found


def harden_verdict(findings, target: str) -> dict[str, object]:
    by_id = {f.check_id: f for f in findings if f.target == target}
    certificate = set()
    if by_id["tls.cert.expiry"].observed.startswith("expired"):
        certificate.add("expired")
    if by_id["tls.cert.hostname"].status.value == "fail":
        certificate.add("hostname")
    profile = by_id["tls.cert.profile"].observed
    usage = {
        u for u, text in (("keyUsage", "leaf: no keyUsage"), ("EKU", "leaf: no extendedKeyUsage")) if text in profile
    }
    trusted = by_id["tls.cert.trusted"].status.value == "pass"
    return {
        "protocols": sorted(p for p in LEGACY if by_id[f"tls.protocol.{p}"].status.value == "fail"),
        "certificate": sorted(certificate),
        "trust": "trusted" if trusted else "untrusted",
        "trust, dates aside": "trusted" if trusted else "untrusted",
        "leaf usage": sorted(usage),
    }


def testssl_verdict(records: list[dict]) -> dict[str, object]:
    by_id = {r.get("id", ""): str(r.get("finding", "")) for r in records}
    protocols = []
    for ours, theirs in (("ssl2", "SSLv2"), ("ssl3", "SSLv3"), ("tls1_0", "TLS1"), ("tls1_1", "TLS1_1")):
        finding = by_id.get(theirs, "").lower()
        if "offered" in finding and "not offered" not in finding:
            protocols.append(ours)
    certificate = set()
    if "expired" in by_id.get("cert_expirationStatus", "").lower():
        certificate.add("expired")
    match = by_id.get("cert_trust", "").lower()
    if "mismatch" in match or "does not match" in match or "fail" in match:
        certificate.add("hostname")
    chain = by_id.get("cert_chain_of_trust", "").lower()
    trusted = bool(chain) and "passed" in chain
    only_dates = not trusted and chain.startswith("failed (expired)")
    usage = set()
    if by_id.get("cert_keyUsage", "").startswith("No "):
        usage.add("keyUsage")
    if by_id.get("cert_extKeyUsage", "").startswith("No "):
        usage.add("EKU")
    return {
        "protocols": protocols,
        "certificate": sorted(certificate),
        "trust": "trusted" if trusted else "untrusted",
        "trust, dates aside": "trusted" if trusted or only_dates else "untrusted",
        "leaf usage": sorted(usage),
        "testssl chain of trust": by_id.get("cert_chain_of_trust", ""),
    }


#: protocols, server defaults (certificate), every cipher; quiet, plain output
TESTSSL_ARGS = ("--quiet", "--warnings", "off", "--color", "0", "-p", "-S", "-e")


def run_testssl(binary: str, url: str, ca: Path, out: Path) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    subprocess.run(
        [binary, *TESTSSL_ARGS, "--add-ca", str(ca), "--jsonfile", str(out), url],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    records = json.loads(out.read_text()) if out.is_file() and out.stat().st_size else []
    return elapsed, records


def environment(targets: list[str], ca_bundle: Path) -> Environment:
    return Environment.model_validate(
        {
            "environment": "bench",
            "areas": ["tls"],
            "http": {"ca_bundle": str(ca_bundle)},
            "tls": {"include_base_url": False, "targets": targets, "concurrent_hosts": 4},
        }
    )


def main() -> int:
    binary = ensure_testssl()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    version = next((line.split()[1] for line in version.splitlines() if "testssl" in line and "from" in line), "?")
    left_out = {}
    if nginx_binary() is None:
        left_out["nginx_openssl_ca"] = "nginx is not installed"
    if openssl_binary() is None:
        left_out.update(
            {n: "openssl is not installed" for n in ("openssl_ca", "nginx_openssl_ca", "openssl_wrong_host")}
        )
    names = [n for n in SCENARIOS if n not in left_out]
    work = Path(tempfile.mkdtemp(prefix="harden-bench-tls-"))
    rows = []
    with ExitStack() as stack:
        served = {name: stack.enter_context(tls_server(name, work / name)) for name in names}
        ca_bundle = work / "trusted-cas.pem"
        ca_bundle.write_text("".join(Path(served[n].ca_path).read_text() for n in names if SCENARIOS[n].in_bundle))
        addresses = {name: s.base_url.removeprefix("https://") for name, s in served.items()}

        started = time.perf_counter()
        report = tls.audit(environment(list(addresses.values()), ca_bundle))
        harden_seconds = time.perf_counter() - started

        # the same targets plus a silent port and a plain-HTTP port (default tls.timeout: 5 s)
        silent_port = stack.enter_context(raw_server("silent"))
        http = stack.enter_context(serve({"*": Reply(200, [], "plain")}, tls=False))
        silent, plain = f"127.0.0.1:{silent_port}", http.base_url.removeprefix("http://")
        started = time.perf_counter()
        bad = tls.audit(environment([*addresses.values(), silent, plain], ca_bundle))
        bad_seconds = time.perf_counter() - started

        testssl_seconds = 0.0
        for name, address in addresses.items():
            took, records = run_testssl(binary, f"https://{address}", ca_bundle, work / f"{name}.json")
            testssl_seconds += took
            ours, theirs = harden_verdict(report.findings, address), testssl_verdict(records)
            rows.append(
                {
                    "server": name,
                    "description": SCENARIOS[name].description,
                    "expected": sorted(SCENARIOS[name].legacy_protocols | SCENARIOS[name].cert_problems),
                    "harden": ours,
                    "testssl": theirs,
                    "agree": {c: ours[c] == theirs[c] for c in CATEGORIES},
                    "harden_host_seconds": report.scans[address].seconds,
                    "testssl_seconds": round(took, 2),
                }
            )
    shutil.rmtree(work, ignore_errors=True)
    agreement = {c: sum(r["agree"][c] for r in rows) for c in CATEGORIES}
    ratio = testssl_seconds / harden_seconds
    print(f"tls area (sslyze, {len(rows)} hosts side by side): {harden_seconds:6.1f} s")
    print(f"testssl.sh {version} -p -S -e, one host after another: {testssl_seconds:6.1f} s  (ratio {ratio:.1f}x)")
    print(
        f"tls area with a silent port and a plain-HTTP port added: {bad_seconds:6.1f} s "
        f"(silent port {bad.scans[silent].seconds} s, plain-HTTP port {bad.scans[plain].seconds} s, "
        f"slowest TLS host {max(bad.scans[a].seconds for a in addresses.values())} s)"
    )
    for name, why in left_out.items():
        print(f"left out: {name} ({why})")
    print()
    print(f"{'server':<20} {'protocols':<10} {'certificate':<12} {'trust':<7} {'dates aside':<12} leaf usage")
    for r in rows:
        cells = ["yes" if r["agree"][c] else "NO" for c in CATEGORIES]
        print(f"{r['server']:<20} {cells[0]:<10} {cells[1]:<12} {cells[2]:<7} {cells[3]:<12} {cells[4]}")
        for c in CATEGORIES:
            if not r["agree"][c]:
                print(f"    {c}: harden {r['harden'][c]!r}, testssl {r['testssl'][c]!r}")
    print()
    print("agreement: " + ", ".join(f"{c} {agreement[c]} of {len(rows)}" for c in CATEGORIES))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "testssl": version,
                "servers": len(rows),
                "left_out": left_out,
                "harden_seconds": round(harden_seconds, 2),
                "testssl_seconds": round(testssl_seconds, 2),
                "ratio": round(ratio, 2),
                "agreement": {c: f"{agreement[c]} of {len(rows)}" for c in CATEGORIES},
                "with_bad_ports": {
                    "harden_seconds": round(bad_seconds, 2),
                    "tls_timeout": bad.params.timeout,
                    "silent_port_seconds": bad.scans[silent].seconds,
                    "silent_port_error": bad.scans[silent].error,
                    "plain_http_port_seconds": bad.scans[plain].seconds,
                    "plain_http_port_error": bad.scans[plain].error,
                    "slowest_tls_host_seconds": max(bad.scans[a].seconds for a in addresses.values()),
                },
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
