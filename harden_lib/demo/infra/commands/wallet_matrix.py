"""Demo verification that fails and prints a connection URL with a password (redacted in reports)."""

import sys

print("wallet matrix: connecting to postgres://wallet:Wm-demo-pa55-7d1f@db.internal:5432/wallet")
print("API_TOKEN=tok_demo_9f8e7d6c5b4a3f2e1d0c (should never be printed)")
print("FAIL: payout address check returned 2 mismatches")
sys.exit(1)
