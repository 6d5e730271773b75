"""``batterytrace schema``: the index, one kind, the regeneration commands the docs name (they
reproduce the committed docs byte for byte), and one clear line for an unknown name or an
unwritable path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from batterytrace.model.event_spec import event_schema, schema_index

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", "schema", *args],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )


def test_index_and_one_kind() -> None:
    assert json.loads(run().stdout) == schema_index()
    assert json.loads(run("receive").stdout) == event_schema("receive")


def test_the_regeneration_commands_reproduce_the_committed_docs(tmp_path: Path) -> None:
    proc = run("--markdown", str(tmp_path / "events.md"), "--master-markdown", str(tmp_path / "master-data.md"))
    assert proc.returncode == 0, proc.stderr
    for name in ("events.md", "master-data.md"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (ROOT / "docs" / name).read_text(encoding="utf-8")


def test_errors_are_one_line(tmp_path: Path) -> None:
    for args in (("rotate_everything",), ("--markdown", str(tmp_path / "missing" / "events.md"))):
        proc = run(*args)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
