"""``python -m harden_lib`` is the ``harden`` command."""

import sys

from harden_lib.cli import main

sys.exit(main())
