"""Demo check that hangs (and starts a child that hangs too): killed with its process group."""

import subprocess
import sys
import time

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("waiting for the relay to answer...", flush=True)
time.sleep(120)
