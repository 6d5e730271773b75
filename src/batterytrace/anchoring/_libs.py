"""Chain libraries without their process-wide side effect.

Importing ``py_ecc`` (which ``web3`` and ``eth_account`` pull in) raises ``sys.setrecursionlimit``
to 100,000, and py-evm (``eth``) to at least 12,288. In a serving process a JSON body nested
99,000 levels deep then overflows the C stack and kills the process (SIGSEGV) instead of raising
``RecursionError``. Every chain import of batterytrace first loads the libraries through
``quiet_chain_imports``, which restores the limit the process had; later imports of the same
modules find them loaded and change nothing. The registry contract makes no nested calls, so the
chain code needs no deep recursion.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["quiet_chain_imports"]

_loaded: set[str] = set()


def quiet_chain_imports(*modules: str) -> None:
    """Import ``modules`` (once) and put the recursion limit back to what it was before."""
    missing = [m for m in modules if m not in _loaded]
    if not missing:
        return
    limit = sys.getrecursionlimit()
    try:
        for name in missing:
            importlib.import_module(name)
            _loaded.add(name)
    finally:
        sys.setrecursionlimit(limit)
