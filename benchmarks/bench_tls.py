"""Benchmark: the ``tls`` area against Debian's ``testssl.sh`` on the same local servers.

Starts the test suite's TLS servers (``tests/tls_servers.py``: modern, TLS 1.2 + CBC, TLS 1.0,
expired, wrong host name, self-signed) on 127.0.0.1, scans them all with ``harden_lib.checks.tls``
(one sslyze ``Scanner``, hosts in parallel, as the area runs) and one after another with
``testssl.sh -p -S -e`` (protocols, server defaults incl. certificate, every cipher: the closest
like-for-like selection; testssl's default run adds vulnerability probes and client simulation),
both given the servers' CA. Prints both wall times, the ratio, and whether both flag the same
protocol and certificate problems; writes ``benchmarks/results/bench_tls.json``.

Set-up: installs ``testssl.sh`` with apt when it is missing (``apt-get update`` first; needs root).
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
from harden_lib.params import Environment  # noqa: E402
from tests.tls_servers import SCENARIOS, tls_server  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_tls.json"
PROBLEMS = ("ssl2", "ssl3", "tls1_0", "tls1_1", "expired", "hostname", "untrusted")


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


def harden_problems(findings, target: str) -> set[str]:
    by_id = {f.check_id: f for f in findings if f.target == target}
    out = {p for p in PROBLEMS[:4] if by_id[f"tls.protocol.{p}"].status.value == "fail"}
    if by_id["tls.cert.expiry"].observed.startswith("expired"):
        out.add("expired")
    if by_id["tls.cert.hostname"].status.value == "fail":
        out.add("hostname")
    if by_id["tls.cert.trusted"].status.value == "fail":
        out.add("untrusted")
    return out


def testssl_problems(records: list[dict]) -> set[str]:
    by_id = {r.get("id", ""): str(r.get("finding", "")) for r in records}
    out = set()
    for ours, theirs in (("ssl2", "SSLv2"), ("ssl3", "SSLv3"), ("tls1_0", "TLS1"), ("tls1_1", "TLS1_1")):
        finding = by_id.get(theirs, "").lower()
        if "offered" in finding and "not offered" not in finding:
            out.add(ours)
    if "expired" in by_id.get("cert_expirationStatus", "").lower():
        out.add("expired")
    trust = by_id.get("cert_trust", "").lower()
    if "mismatch" in trust or "does not match" in trust or "fail" in trust:
        out.add("hostname")
    chain = by_id.get("cert_chain_of_trust", "").lower()
    if chain and "passed" not in chain:
        out.add("untrusted")
    return out


def run_testssl(binary: str, url: str, ca: Path, out: Path) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    subprocess.run(
        [
            binary,
            "--quiet",
            "--warnings",
            "off",
            "--color",
            "0",
            "-p",
            "-S",
            "-e",
            "--add-ca",
            str(ca),
            "--jsonfile",
            str(out),
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    records = json.loads(out.read_text()) if out.is_file() and out.stat().st_size else []
    return elapsed, records


def main() -> int:
    binary = ensure_testssl()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    version = next((line.split()[1] for line in version.splitlines() if "testssl" in line and "from" in line), "?")
    work = Path(tempfile.mkdtemp(prefix="harden-bench-tls-"))
    rows = []
    with ExitStack() as stack:
        served = {name: stack.enter_context(tls_server(name, work / name)) for name in SCENARIOS}
        ca_bundle = work / "all-cas.pem"
        # every CA but the self-signed server's own certificate: that one must stay untrusted
        ca_bundle.write_text("".join(Path(s.ca_path).read_text() for n, s in served.items() if n != "self_signed"))
        addresses = {name: s.base_url.removeprefix("https://") for name, s in served.items()}
        env = Environment.model_validate(
            {
                "environment": "bench",
                "areas": ["tls"],
                "http": {"ca_bundle": str(ca_bundle)},
                "tls": {"include_base_url": False, "targets": list(addresses.values()), "concurrent_hosts": 6},
            }
        )
        started = time.perf_counter()
        report = tls.audit(env)
        harden_seconds = time.perf_counter() - started
        testssl_seconds = 0.0
        for name, address in addresses.items():
            took, records = run_testssl(binary, f"https://{address}", ca_bundle, work / f"{name}.json")
            testssl_seconds += took
            ours, theirs = harden_problems(report.findings, address), testssl_problems(records)
            rows.append(
                {
                    "server": name,
                    "expected": sorted(SCENARIOS[name].legacy_protocols | SCENARIOS[name].cert_problems),
                    "harden": sorted(ours),
                    "testssl": sorted(theirs),
                    "agree": ours == theirs,
                    "harden_host_seconds": report.scans[address].seconds,
                    "testssl_seconds": round(took, 2),
                }
            )
    shutil.rmtree(work, ignore_errors=True)
    ratio = testssl_seconds / harden_seconds
    print(f"tls area (sslyze, {len(rows)} hosts concurrently): {harden_seconds:6.1f} s")
    print(f"testssl.sh {version} -p -S -e, one host after another: {testssl_seconds:6.1f} s")
    print(f"ratio: {ratio:.1f}x")
    print()
    print(f"{'server':<12} {'expected':<22} {'harden':<22} {'testssl':<22} agree")
    for r in rows:
        print(
            f"{r['server']:<12} {','.join(r['expected']) or '-':<22} {','.join(r['harden']) or '-':<22} "
            f"{','.join(r['testssl']) or '-':<22} {'yes' if r['agree'] else 'NO'}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "testssl": version,
                "harden_seconds": round(harden_seconds, 2),
                "testssl_seconds": round(testssl_seconds, 2),
                "ratio": round(ratio, 2),
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
