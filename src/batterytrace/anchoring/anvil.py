"""Running anvil (Foundry's local EVM node, from the npm package ``@foundry-rs/anvil`` that
``scripts/node-tools.sh`` installs under ``tools/node``) for integration tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from batterytrace.errors import ServiceUnavailableError

__all__ = ["ANVIL_KEYS", "AnvilNode", "find_anvil"]

# anvil's default dev accounts (mnemonic "test test … junk"), funded with 10 000 ETH at genesis.
ANVIL_KEYS = (
    bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
)


def find_anvil() -> str | None:
    """``$BATTERYTRACE_ANVIL``, else the project's tools/node install, else anvil on PATH."""
    explicit = os.environ.get("BATTERYTRACE_ANVIL")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    here = Path(__file__).resolve()
    for parent in here.parents:
        tools = parent / "tools" / "node" / "node_modules"
        if tools.is_dir():
            for candidate in sorted(tools.glob("@foundry-rs/anvil-*/bin/anvil")):
                if os.access(candidate, os.X_OK):
                    return str(candidate)
    return shutil.which("anvil")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """``with AnvilNode() as node:`` starts anvil on 127.0.0.1 (a free port) and stops it after."""

    def __init__(self, binary: str | None = None, block_time_s: int | None = None,
                 no_mining: bool = False) -> None:
        found = binary or find_anvil()
        if found is None:
            raise ServiceUnavailableError("anvil is not installed (run scripts/node-tools.sh)")
        self.binary = found
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.block_time_s = block_time_s
        self.no_mining = no_mining
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        cmd = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if self.block_time_s is not None:
            cmd += ["--block-time", str(self.block_time_s)]
        if self.no_mining:
            cmd.append("--no-mining")
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise ServiceUnavailableError(f"anvil exited with {self._proc.returncode}: {err.strip()[:300]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ServiceUnavailableError(f"anvil did not listen on port {self.port} within {timeout_s:g} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        self._proc = None

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
