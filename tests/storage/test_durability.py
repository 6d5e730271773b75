"""An acknowledged event survives ``kill -9`` of the writer (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from batterytrace.ledger.audit import verify_log
from batterytrace.storage.base import open_store

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from support import Chain
    from batterytrace.storage.base import open_store

    c = Chain(open_store({url!r}))
    print("ACK", c.ledger.size(), flush=True)
    n = 0
    while True:
        c.extract("kasonta" if n % 2 else "tujenge", certified=bool(n % 2), gross_g=1_000_000 + n)
        n += 1
        # acknowledged: submit returned, so the batch committed
        print("ACK", c.ledger.size(), flush=True)
    """
)


def kill_writer_after_acks(url: str, acks: int) -> int:
    tests_dir = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(tests=tests_dir, url=url)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    last = 0
    seen = 0
    deadline = time.monotonic() + 120
    while seen < acks and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("ACK"):
            last = int(line.split()[1])
            seen += 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen == acks, "writer did not produce enough acknowledgements"
    return last


def check_survived(url: str, acknowledged: int) -> None:
    store = open_store(url, create=False)
    try:
        assert store.size() >= acknowledged
        report = verify_log(store)
        assert report.events == store.size()
    finally:
        store.close()


def test_sqlite_survives_kill_9(tmp_path: Path) -> None:
    url = str(tmp_path / "durable.db")
    check_survived(url, kill_writer_after_acks(url, 40))


@pytest.mark.postgres
def test_postgres_survives_kill_9(pg_url: str) -> None:
    check_survived(pg_url, kill_writer_after_acks(pg_url, 40))
