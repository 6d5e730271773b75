"""Storage failures mean one thing to every caller: a damaged SQLite file (truncated, garbage, a
dropped table) makes ``log verify`` fail with one line and other commands print one line, never a
traceback; a write waiting past the busy timeout, a lost PostgreSQL connection or a transaction
conflict that does not clear is a 503 with Retry-After; a conflict that clears is retried."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_support import serve
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.ledger import WRITE_ATTEMPTS, Ledger, historical_clock
from batterytrace.storage.errors import StorageCorruptError, StorageUnavailableError
from batterytrace.storage.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=1)


@pytest.fixture(scope="module")
def ledger_db(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    ledger = Ledger(SQLiteStore(str(path)), scenario.actors["operator"].did, scenario.ledger_id,
                    clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    ledger.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=600,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )


def _truncated(src: Path, dst: Path) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 3])


def _garbage_pages(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    for i in range(4096, len(data), 4096 * 3):  # every third page after the first overwritten
        data[i : i + 4096] = bytes([0xA5]) * min(4096, len(data) - i)
    dst.write_bytes(bytes(data))


def _garbage_file(src: Path, dst: Path) -> None:
    dst.write_bytes(os.urandom(len(src.read_bytes())))


def _dropped(table: str):  # type: ignore[no-untyped-def]
    def damage(src: Path, dst: Path) -> None:
        dst.write_bytes(src.read_bytes())
        conn = sqlite3.connect(dst)
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
        conn.close()
    return damage


DAMAGE = {"truncated": _truncated, "garbage-pages": _garbage_pages, "garbage-file": _garbage_file,
          "no-events-table": _dropped("events"), "no-nodes-table": _dropped("nodes"), "no-meta-table": _dropped("meta")}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_log_verify_fails_in_one_line(ledger_db: Path, tmp_path: Path, damage: str) -> None:
    assert "log verified" in cli("log", "verify", "--db", str(ledger_db)).stdout
    db = tmp_path / "damaged.db"
    DAMAGE[damage](ledger_db, db)
    out = cli("log", "verify", "--db", str(db))
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("log verification FAILED: "), out.stderr
    assert len(lines) == 1, out.stderr


@pytest.mark.parametrize("damage", ["truncated", "garbage-file", "no-events-table", "no-meta-table"])
def test_other_commands_print_one_line(ledger_db: Path, tmp_path: Path, damage: str) -> None:
    db = tmp_path / "damaged.db"
    DAMAGE[damage](ledger_db, db)
    out = cli("log", "prove", "00" * 32, "--db", str(db))
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "SQLite database" in lines[0], lines[0]


def test_store_raises_storage_corrupt(ledger_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    _dropped("events")(ledger_db, db)
    with pytest.raises(StorageCorruptError, match="no table events"):  # never silently recreated empty
        SQLiteStore(str(db), create=False)
    db.write_bytes(ledger_db.read_bytes())
    store = SQLiteStore(str(db), create=False)
    assert store.size() > 0
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE events")  # dropped while the store is open
    conn.commit()
    conn.close()
    with pytest.raises(StorageCorruptError, match="no such table: events"):
        store.size()
    with pytest.raises(StorageCorruptError):
        list(store.iter_events())
    store.close()
    garbage = tmp_path / "garbage.db"
    _garbage_file(ledger_db, garbage)
    with pytest.raises(StorageCorruptError, match="not a database"):
        SQLiteStore(str(garbage), create=False)


@pytest.fixture
def held(tmp_path: Path, scenario: Scenario) -> Iterator[tuple[Ledger, sqlite3.Connection]]:
    """A ledger with a 200 ms busy timeout whose database another connection holds for writing."""
    path = str(tmp_path / "busy.db")
    ledger = Ledger(SQLiteStore(path, busy_timeout_ms=200), scenario.actors["operator"].did, scenario.ledger_id,
                    clock=historical_clock)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield ledger, other
    other.close()
    ledger.close()


def test_busy_store_is_unavailable(held: tuple[Ledger, sqlite3.Connection], scenario: Scenario) -> None:
    ledger, other = held
    with pytest.raises(StorageUnavailableError, match="busy") as info:
        ledger.submit_batch(scenario.events[:3])
    assert info.value.retry_after >= 1
    other.execute("ROLLBACK")
    assert not ledger.submit_batch(scenario.events[:3]).rejected


def test_busy_write_is_503_with_retry_after(held: tuple[Ledger, sqlite3.Connection], scenario: Scenario,
                                            tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    ledger, other = held
    s = serve(scenario, tmp_path, chain=False, store=ledger.store)
    client = TestClient(s.app, raise_server_exceptions=False)
    for path, body in (("/events", scenario.events[0].to_wire()),
                       ("/events/batch", {"events": [ev.to_wire() for ev in scenario.events[:3]]})):
        r = client.post(path, json=body)
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json()["type"].endswith("/storage-unavailable") and "busy" in r.json()["detail"]
    assert client.get("/ledger/head").status_code == 200  # reads go on (WAL)
    other.execute("ROLLBACK")
    assert client.post("/events", json=scenario.events[0].to_wire()).status_code == 201


# ---------------------------------------------------------------- PostgreSQL

class Forwarder:
    """A TCP forwarder on loopback between the store and PostgreSQL: ``cut()`` drops every
    connection and refuses new ones (the database is lost), ``resume()`` forwards again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._socks: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.resume()

    def resume(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
            self._listener.close()
            self._listener = None
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._socks = []


def test_postgres_connection_lost_is_503_then_recovers(pg_url: str, scenario: Scenario, tmp_path: Path) -> None:
    from urllib.parse import urlsplit, urlunsplit

    from fastapi.testclient import TestClient

    from batterytrace.storage.postgres import PostgresStore

    parts = urlsplit(pg_url)
    forwarder = Forwarder((parts.hostname or "127.0.0.1", parts.port or 5432))
    user = f"{parts.username}@" if parts.username else ""
    store = PostgresStore(urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{forwarder.port}")))
    s = serve(scenario, tmp_path, chain=False, store=store)
    client = TestClient(s.app, raise_server_exceptions=False)
    assert client.post("/events", json=scenario.events[0].to_wire()).status_code == 201
    forwarder.cut()
    for path, body in (("/events", scenario.events[1].to_wire()), ("/events/batch", {"events": [
            scenario.events[1].to_wire()]})):
        r = client.post(path, json=body)
        assert r.status_code == 503, r.text
        assert r.json()["type"].endswith("/storage-unavailable") and r.headers["Retry-After"] == "5"
        assert "PostgreSQL cannot be reached" in r.json()["detail"]
    r = client.get("/ledger/head")
    assert r.status_code == 503 and "Retry-After" in r.headers
    with pytest.raises(StorageUnavailableError):
        store.size()
    forwarder.resume()
    assert client.post("/events", json=scenario.events[1].to_wire()).status_code == 201
    assert s.ledger.size() == 2
    forwarder.cut()
    store.close()


def test_postgres_write_held_past_the_lock_timeout_is_503(pg_url: str, scenario: Scenario, tmp_path: Path) -> None:
    """Another session holds the ledger's writer lock (as a writer in another process would)."""
    import psycopg
    from fastapi.testclient import TestClient

    from batterytrace.storage.postgres import PostgresStore, split_schema

    store = PostgresStore(pg_url, lock_timeout_ms=300)
    s = serve(scenario, tmp_path, chain=False, store=store)
    client = TestClient(s.app, raise_server_exceptions=False)
    conninfo, _ = split_schema(pg_url)
    with psycopg.connect(conninfo) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", (store._lock_key,))
        r = client.post("/events", json=scenario.events[0].to_wire())
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1" and "lock timeout" in r.json()["detail"]
        assert client.get("/ledger/head").status_code == 200  # reads go on
        other.rollback()
    assert client.post("/events", json=scenario.events[0].to_wire()).status_code == 201
    store.close()


def _conflicts(pg_url: str, count: int) -> None:
    """A trigger on the events table that fails the next ``count`` inserts with a real
    serialization_failure (SQLSTATE 40001), as a conflicting transaction would."""
    import psycopg

    from batterytrace.storage.postgres import split_schema

    conninfo, schema = split_schema(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE IF NOT EXISTS conflict_budget(n INT)")
        conn.execute("DELETE FROM conflict_budget")
        conn.execute("INSERT INTO conflict_budget VALUES (%s)", (count,))
        conn.execute(f"""CREATE OR REPLACE FUNCTION conflict() RETURNS trigger AS $$
            BEGIN
              IF (SELECT n FROM "{schema}".conflict_budget) > 0 THEN
                UPDATE "{schema}".conflict_budget SET n = n - 1;
                RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        conn.execute("DROP TRIGGER IF EXISTS conflict ON events")
        conn.execute("CREATE TRIGGER conflict BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION conflict()")


def test_postgres_serialization_failure_retried_then_503(pg_url: str, scenario: Scenario, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The trigger's budget update rolls back with the failing transaction, so every attempt
    conflicts: the write is tried ``WRITE_ATTEMPTS`` times, then answered 503."""
    from fastapi.testclient import TestClient

    from batterytrace.storage.postgres import PostgresStore

    attempts = 0
    original = Ledger._submit_once

    def counted(self: Ledger, *args: object) -> object:
        nonlocal attempts
        attempts += 1
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "_submit_once", counted)
    store = PostgresStore(pg_url)
    s = serve(scenario, tmp_path, chain=False, store=store)
    client = TestClient(s.app, raise_server_exceptions=False)
    _conflicts(pg_url, 1)
    r = client.post("/events", json=scenario.events[0].to_wire())
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("/storage-unavailable") and "conflict" in r.json()["detail"]
    assert r.headers["Retry-After"] == "1"
    assert s.ledger.size() == 0 and attempts == WRITE_ATTEMPTS
    store.close()


def test_postgres_conflict_that_clears_is_retried(pg_url: str, scenario: Scenario, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from batterytrace.storage.postgres import PostgresStore

    store = PostgresStore(pg_url)
    ledger = Ledger(store, scenario.actors["operator"].did, scenario.ledger_id, clock=historical_clock)
    _conflicts(pg_url, 1)
    attempts = 0
    original = Ledger._submit_once

    def counted(self: Ledger, *args: object) -> object:
        nonlocal attempts
        attempts += 1
        if attempts == WRITE_ATTEMPTS:  # the conflicting transaction has finished meanwhile
            _conflicts(pg_url, 0)
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "_submit_once", counted)
    result = ledger.submit_batch(scenario.events[:5])
    assert not result.rejected and ledger.size() == 5 and attempts == WRITE_ATTEMPTS
    store.close()


def test_busy_write_from_another_thread_waits_within_the_timeout(tmp_path: Path, scenario: Scenario) -> None:
    """Within the busy timeout a held lock only delays the write."""
    path = str(tmp_path / "wait.db")
    ledger = Ledger(SQLiteStore(path, busy_timeout_ms=5000), scenario.actors["operator"].did, scenario.ledger_id,
                    clock=historical_clock)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: other.execute("ROLLBACK"))
    timer.start()
    assert not ledger.submit_batch(scenario.events[:2]).rejected
    timer.join()
    other.close()
    ledger.close()
