"""What an auditor looks at besides the findings: per-host tables and the expiry chart.

Everything here reads ``HostScan`` data only (already capped and escaped where a server controls
it), so a saved scan renders the same evidence again without a network.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from harden_lib.checks.tls.model import PROTOCOL_NAMES, PROTOCOLS, HostScan, classify_cipher, safe_text
from harden_lib.checks.tls.params import TlsParams
from harden_lib.findings import Status

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def host_table(s: HostScan) -> pd.DataFrame:
    """One row per protocol version and accepted suite, with its weaknesses: the evidence per host."""
    import pandas as pd

    rows = []
    for _, pid, name in PROTOCOLS:
        accepted = s.protocols.get(pid)
        suites = [c for c in s.ciphers if c.protocol == pid]
        state = "probe failed" if accepted is None else "accepted" if accepted else "rejected"
        if not suites:
            rows.append({"protocol": name, "state": state, "cipher suite": "", "key exchange": "", "weaknesses": ""})
        for c in suites:
            weak = ", ".join(classify_cipher(c.name)) or "—"
            rows.append(
                {
                    "protocol": name,
                    "state": state,
                    "cipher suite": c.name,
                    "key exchange": c.key_exchange,
                    "weaknesses": weak,
                }
            )
    return pd.DataFrame(rows, columns=["protocol", "state", "cipher suite", "key exchange", "weaknesses"])


def overview(scans: Iterable[HostScan], now: datetime | None = None) -> pd.DataFrame:
    """One row per host: protocols, certificate, days left, Mozilla deviations, scan time."""
    import pandas as pd

    now = now or datetime.now(UTC)
    rows = []
    for s in scans:
        c = s.certificate
        rows.append(
            {
                "target": s.target,
                "result": "error: " + s.error if s.error else "scanned",
                "protocols": ", ".join(PROTOCOL_NAMES[p] for p, ok in s.protocols.items() if ok),
                "suites": len(s.ciphers),
                "certificate": f"{c.subject} (issuer {c.issuer})" if c else "",
                "key": f"{c.key_type.upper()} {c.key_bits}" if c else "",
                "days left": round(c.days_left(now), 1) if c else None,
                "trusted": c.trusted if c else None,
                "hostname ok": c.hostname_ok if c else None,
                "Mozilla deviations": len(s.mozilla) if s.mozilla is not None else None,
                "seconds": s.seconds,
            }
        )
    return pd.DataFrame(rows)


def mozilla_deviations(scans: Iterable[HostScan]) -> pd.DataFrame:
    """Every deviation from the chosen Mozilla profile, one row each."""
    import pandas as pd

    rows = [
        {"target": s.target, "profile": s.mozilla_profile, "deviation": k, "detail": v}
        for s in scans
        for k, v in (s.mozilla or [])
    ]
    return pd.DataFrame(rows, columns=["target", "profile", "deviation", "detail"])


def plot_expiry(scans: Iterable[HostScan], params: TlsParams, now: datetime | None = None) -> Figure:
    """Days until each host's certificate expires, soonest on top, with the warn and fail lines."""
    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    now = now or datetime.now(UTC)
    points = sorted(((s.target, s.certificate.days_left(now)) for s in scans if s.certificate), key=lambda p: p[1])
    if not points:
        return empty_chart("no certificate could be read", 7.5, 1.85)
    fig = figure(7.5, 1.4 + 0.45 * len(points))
    ax = fig.subplots()
    labels = [safe_text(t, 60) for t, _ in points][::-1]
    values = [d for _, d in points][::-1]
    colours = [
        STATUS_COLOURS[Status.FAIL if d < params.fail_days else Status.WARN if d < params.warn_days else Status.PASS]
        for d in values
    ]
    bars = ax.barh(labels, values, color=colours)
    ax.bar_label(bars, labels=[f"{d:.0f} d" for d in values], padding=3)
    ax.axvline(
        params.fail_days, color=STATUS_COLOURS[Status.FAIL], linestyle="--", label=f"fail < {params.fail_days} d"
    )
    ax.axvline(
        params.warn_days, color=STATUS_COLOURS[Status.WARN], linestyle="--", label=f"warn < {params.warn_days} d"
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min(0, min(values)) - 5, max(max(values), params.warn_days) * 1.15 + 5)
    ax.set_xlabel("days until the certificate expires")
    ax.set_title("Certificate expiry per host (soonest first)")
    ax.legend(loc="lower right", fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return fig
