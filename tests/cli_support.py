"""Running the CLI in a subprocess, as a user would (the sources under test, no traceback hooks)."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["run"]


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=600,
        # the sources under test (PYTHONPATH=src from a worktree), not whatever the venv installed
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
             **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc
