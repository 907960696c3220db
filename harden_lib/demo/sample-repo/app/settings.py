"""Settings of the demo app (DEMO DATA: the credentials below are fake, planted for harden's demo)."""

import os

DATABASE_URL = os.environ["DATABASE_URL"]
# A mistake the secrets area must find: a cloud key pasted into code "just for now".
AWS_ACCESS_KEY_ID = "AKIAHARDENDEMO000042"
GITHUB_TOKEN = "ghp_hardenDemoFakeToken00000000000000042"
LOG_LEVEL = os.environ.get("LOG_LEVEL", "info")
