"""docs/integrate.md, executed as a new integrator would: every ```sh block of the guide, in
order, in one bash session (set -euo pipefail) in an empty directory, with the ``batterytrace``
of these sources on PATH and the server on a free loopback port. Then what the guide promises:
each pack's viewer page names its economic operator and serial, the passports verify, the labels exist."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "integrate.md"
OPERATOR_NAME = "Orbis Drive BV"


def sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.S | re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def script(blocks: list[str]) -> str:
    parts = ["set -euo pipefail"]
    for i, block in enumerate(blocks):
        parts.append(f"echo '### block {i} start' >&2\n{block}\necho '### block {i} ok' >&2")
    return "\n".join(parts) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], int]:
    work = tmp_path_factory.mktemp("integrate")
    bindir = tmp_path_factory.mktemp("bin")
    wrapper = bindir / "batterytrace"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT / "src"} exec {sys.executable} -c '
                       f'"from batterytrace.cli import main; main()" "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATTERYTRACE_")}
    env.update({"PATH": f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "PORT": str(free_port()), "COLUMNS": "200", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
    env.pop("PYTHONPATH", None)
    blocks = sh_blocks()
    try:
        proc = subprocess.run(["bash", "-c", script(blocks)], cwd=work, env=env, capture_output=True, text=True,
                              timeout=900)
    finally:
        pid_file = work / "server.pid"
        if pid_file.exists():  # the guide's last block stops it; this is for a run that failed before
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    return work, proc, len(blocks)


def test_every_block_of_the_guide_runs(run: tuple[Path, subprocess.CompletedProcess[str], int]) -> None:
    work, proc, n = run
    log = (work / "server.log").read_text() if (work / "server.log").exists() else ""
    assert proc.returncode == 0, f"{proc.stderr[-6000:]}\n--- stdout\n{proc.stdout[-3000:]}\n--- server\n{log[-3000:]}"
    for i in range(n):
        assert f"### block {i} ok" in proc.stderr, i
    assert n >= 15


def test_both_packs_are_in_the_viewer_and_verify(run: tuple[Path, subprocess.CompletedProcess[str], int]) -> None:
    work, proc, _ = run
    assert proc.returncode == 0
    for serial in ("000001", "000002"):
        html = (work / f"ox40-{serial}.html").read_text(encoding="utf-8")
        assert OPERATOR_NAME in html and "NMC811" in html and f"OX40-{serial}" in html
    assert proc.stdout.count("passport verified") == 2
    # under the integrator's own resolver domain, not the default one
    assert "https://id.example-oem.test/01/08712345000035/21/OX40-000001" in proc.stdout
    assert "id.batterytrace.example" not in proc.stdout
    assert (work / "ox40-000001.svg").read_text().lstrip().startswith("<")
    assert (work / "ox40-000002.png").read_bytes().startswith(b"\x89PNG")
    assert proc.stdout.count("log verified") == 2


def test_the_server_was_stopped_by_the_guide(run: tuple[Path, subprocess.CompletedProcess[str], int]) -> None:
    work, proc, _ = run
    assert proc.returncode == 0
    pid = int((work / "server.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
