"""Stand-in for `npm audit --audit-level=high` in the OCMT checkout: reads the audit JSON the
CI saved (audits/npm-audit.json) instead of asking the registry, prints npm's summary and
exits 1 when a high or critical advisory is open, as npm does. No network."""

import json
import sys
from collections import Counter
from pathlib import Path

report = json.loads((Path(__file__).parent / "audits" / "npm-audit.json").read_text(encoding="utf-8"))
vulns = report.get("vulnerabilities") or {}
counts = Counter(v.get("severity", "info") for v in vulns.values())
for name, vuln in sorted(vulns.items()):
    print(f"{name}  severity: {vuln.get('severity')}")
summary = ", ".join(f"{counts[s]} {s}" for s in ("low", "moderate", "high", "critical") if counts[s])
print(f"{len(vulns)} vulnerabilities ({summary or 'none'})")
sys.exit(1 if counts["high"] or counts["critical"] else 0)
