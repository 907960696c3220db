"""What runs *inside* a warm kernel: preloading the heavy imports, and resetting between notebooks.

A warm kernel (see ``harden_lib.lanes``) executes many notebooks, possibly of different
environments, one after another. Reusing it saves the kernel start and ~1.6 s of imports per
notebook, but only if nothing one notebook leaves behind can reach the next one. ``reset``
is therefore explicit about every piece of process-wide state harden has:

* the user namespace, IPython's output history and execution counter (``InteractiveShell.reset``);
* the secret scrub registry (a secret of environment A must never scrub or leak in B);
* matplotlib: open pyplot figures and rcParams (restored to the snapshot taken after preload);
* module-level caches (SSL contexts keyed by CA path), because a file behind a cached path
  may differ between environments;
* ``os.environ`` (restored to the kernel's start-up environment plus the task's variables),
  the working directory and warnings filters.

Everything else a notebook could change (monkey-patching a library, threads it leaves running)
is out of reach of a reset; that is why a lane replaces its kernel whenever a notebook raised,
timed out or the kernel died, and why ``--fresh-kernels`` exists.
"""

from __future__ import annotations

import gc
import importlib
import os
import warnings
from collections.abc import Mapping
from typing import Any

#: Imported once per kernel, before the first notebook arrives (what every area notebook needs).
PRELOAD = (
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "httpx",
    "IPython.display",
    "harden_lib",
    "harden_lib.notebook",
    "harden_lib.render",
    "harden_lib.summary",
)

_baseline: dict[str, Any] = {}


def preload(area_modules: tuple[str, ...] = ()) -> str:
    """Import the heavy modules and snapshot the state ``reset`` restores; returns a short report."""
    import time

    started = time.perf_counter()
    failed = []
    for name in (*PRELOAD, *area_modules):
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional area dependency missing: the notebook will say so
            failed.append(f"{name} ({type(exc).__name__})")
    _warm_matplotlib()
    _snapshot()
    # Everything imported so far lives as long as the kernel: move it out of the collector's
    # sight, so the full collection of every reset scans only what notebooks allocated
    # (~65 ms -> a few ms per collection with pandas, matplotlib and sslyze loaded).
    gc.collect()
    gc.freeze()
    seconds = time.perf_counter() - started
    return f"preloaded {len(PRELOAD) + len(area_modules) - len(failed)} modules in {seconds:.2f}s" + (
        f"; not importable: {', '.join(failed)}" if failed else ""
    )


def _warm_matplotlib() -> None:
    """Draw one tiny figure so the font cache and the Agg renderer are ready for the first chart."""
    try:
        from harden_lib.render import figure, figure_png

        fig = figure(1, 1)
        fig.subplots().plot([0, 1], [0, 1])
        figure_png(fig, dpi=20)
    except Exception:
        pass


def _snapshot() -> None:
    import matplotlib

    _baseline["environ"] = dict(os.environ)
    _baseline["cwd"] = os.getcwd()
    _baseline["rc"] = matplotlib.rcParams.copy()
    _baseline["warnings"] = list(warnings.filters)


def reset(env_vars: Mapping[str, str] | None = None, cwd: str | None = None) -> str:
    """Bring the kernel back to its just-preloaded state, then apply the next task's variables."""
    if not _baseline:
        _snapshot()
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - always inside IPython in a kernel
        shell = None
    if shell is not None:
        # new_session=True also clears the input/output history and restarts execution counts at 1.
        shell.reset(new_session=True, aggressive=False)
    _reset_harden_state()
    _reset_matplotlib()
    _restore_environ(env_vars or {})
    os.chdir(cwd or _baseline["cwd"])
    warnings.filters[:] = _baseline["warnings"]
    return "reset"  # InteractiveShell.reset already ran a full collection


def _reset_harden_state() -> None:
    import sys

    redact = sys.modules.get("harden_lib.redact")
    if redact is not None:
        redact.SECRETS.clear()
    http = sys.modules.get("harden_lib.http")
    cached = getattr(http, "_ssl_context", None) if http else None
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def _reset_matplotlib() -> None:
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if "matplotlib" in sys.modules and "rc" in _baseline:
        rc = sys.modules["matplotlib"].rcParams
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated keys in the snapshot warn on update
            rc.clear()
            rc.update(_baseline["rc"])


def _restore_environ(extra: Mapping[str, str]) -> None:
    baseline: dict[str, str] = _baseline["environ"]
    for key in list(os.environ):
        if key not in baseline:
            del os.environ[key]
    for key, value in baseline.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    for key, value in extra.items():
        os.environ[key] = value
