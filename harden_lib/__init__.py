"""harden: a production-hardening audit kit.

The public API a notebook or script needs: load an environment's params, run an area's
checks, turn findings into tables, save them, and take the gate decision.
"""

from harden_lib.errors import HardenError, ParamsError
from harden_lib.findings import (
    COLUMNS,
    Finding,
    GateResult,
    Severity,
    Status,
    findings_frame,
    gate,
    load_findings,
    load_run_findings,
    save_findings,
)

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "Finding",
    "GateResult",
    "HardenError",
    "ParamsError",
    "Severity",
    "Status",
    "__version__",
    "findings_frame",
    "gate",
    "load_findings",
    "load_run_findings",
    "save_findings",
]
