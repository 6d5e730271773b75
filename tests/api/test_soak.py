"""The soak at test size, on SQLite and PostgreSQL: concurrent writers and public readers against a
real server process, SIGKILL mid-writes and a restart; no acknowledged event is lost, the log
verifies, no request gets a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.api.soak import SoakResult, soak


def _check(r: SoakResult) -> None:
    assert r.errors == []
    assert r.events_lost == 0
    assert r.acknowledged == r.events_sent == r.log_events  # all recorded once, the log replays
    assert r.restart_s > 0  # the server was killed and came back
    assert r.requests > 0 and r.read_latencies_ms and r.write_latencies_ms


def test_soak_sqlite(tmp_path: Path) -> None:
    _check(soak(str(tmp_path / "soak.db"), writers=3, readers=2, events_per_writer=100, max_seconds=120))


def test_soak_postgres(pg_url: str) -> None:
    _check(soak(pg_url, writers=3, readers=2, events_per_writer=100, max_seconds=120, backend="postgres"))


def test_a_lost_event_would_be_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check behind ``events_lost`` is real: an acknowledged hash the store does not hold counts."""
    from batterytrace.ledger.ledger import Ledger

    real = Ledger.event_by_hash
    calls = {"n": 0}

    def forgetful(self: Ledger, event_hash: str) -> object:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(self, event_hash)

    monkeypatch.setattr(Ledger, "event_by_hash", forgetful)
    r = soak(str(tmp_path / "soak.db"), writers=1, readers=1, events_per_writer=30, kill_at=0, max_seconds=60)
    assert r.events_lost == 1 and r.restart_s == 0
