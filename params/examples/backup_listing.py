"""DEMO DATA - stands in for an example environment's backup listing (`restic snapshots --json`).

Prints restic-shaped JSON whose newest snapshot is three hours old, so the example's
backups.fresh passes on any day it runs (a fixed listing would go stale).
"""

import json
from datetime import UTC, datetime, timedelta

now = datetime.now(UTC).replace(microsecond=0)
snapshots = [
    {
        "time": (now - timedelta(hours=3 + 24 * n)).isoformat().replace("+00:00", "Z"),
        "short_id": f"a1b2c3{n:02d}",
        "paths": ["/var/backups/postgres"],
        "tags": ["postgres", "daily"],
    }
    for n in range(5)
]
print(json.dumps(snapshots, indent=1))
