"""Demo advisory check: one container is restarting (a warning, not a blocker)."""

import sys

print("NAME      STATUS")
print("web       running (healthy)")
print("worker    restarting (1) 4 seconds ago")
sys.exit(3)
