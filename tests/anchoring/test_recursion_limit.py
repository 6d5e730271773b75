"""Chain libraries leave the interpreter's recursion limit alone: importing py_ecc (through web3)
raised it to 100,000 process-wide, after which a 100,000-level JSON body overflowed the C stack
and killed the serving process (SIGSEGV) instead of being refused. Run in a fresh interpreter: the
test process itself may have imported the libraries already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
TESTS = str(Path(__file__).resolve().parents[1])

SCRIPT = r'''
import sys, tempfile
from pathlib import Path
from fastapi.testclient import TestClient
from api_support import serve
from batterytrace.anchoring.service import Anchoring
from batterytrace.demo.scenario import build_scenario

before = sys.getrecursionlimit()
served = serve(build_scenario(packs=1, legacy_packs=1), Path(tempfile.mkdtemp()))
served.ledger.sign_tree_head(served.scenario.actors["operator"].signing_key)
anchoring = Anchoring.setup(served.ledger, chain_state=str(Path(tempfile.mkdtemp()) / "chain.sqlite"))
# ^ web3, eth_account, py-evm and eth_tester are all loaded now
anchoring.anchor_latest(served.scenario.actors["operator"].signing_key)
anchoring.verify()
assert sys.getrecursionlimit() == before, (before, sys.getrecursionlimit())
client = TestClient(served.app, raise_server_exceptions=False)
depth = 100_000
body = b'{"event": ' + b"[" * depth + b"]" * depth + b', "signature": "x"}'
for path in ("/events", "/events/batch", "/capture", "/verify"):
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
print("alive", before)
'''


def test_a_deep_body_after_anchoring_is_refused_and_the_process_lives(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{SRC}:{TESTS}"})
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert proc.stdout.strip().startswith("alive")
