"""Run the ``batterytrace`` CLI in a subprocess, as a user would (the sources under test, no
traceback hooks), or ``main()`` in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from batterytrace.cli import main

__all__ = ["bt", "run", "run_main"]


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


def bt(*args: object, ok: bool = True, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, timeout=300, input=stdin, cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": path},
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def run_main(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run ``main()`` in this process (fast; what the console script runs): its exit status,
    stdout and stderr. An exception ``main()`` lets through fails the calling test."""
    saved = sys.argv
    sys.argv = ["batterytrace", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err
