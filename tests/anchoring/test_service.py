"""Anchoring over each store: records live in the store's meta (memory, SQLite, PostgreSQL); a
PostgreSQL ledger keeps its in-process chain at a configured path; the --every loop keeps going
when the chain fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchoring_support import World
from batterytrace.anchoring.inprocess import InProcessChain
from batterytrace.anchoring.records import AnchorConfig, load_config
from batterytrace.anchoring.service import Anchoring, RunSchedule, read_chain_key
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import ConfigError, ServiceUnavailableError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore


def _ledger(store: Store) -> tuple[Ledger, object]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    return ledger, s.actors["operator"].signing_key


def test_anchors_on_every_store(store: Store, tmp_path: Path) -> None:
    ledger, key = _ledger(store)
    if isinstance(store, MemoryStore):
        chain = InProcessChain(None)
        anchoring = Anchoring.setup(ledger, chain=chain)
    elif store.url.startswith("postgres"):
        with pytest.raises(ConfigError, match="needs --chain-state"):
            Anchoring.setup(ledger)
        anchoring = Anchoring.setup(ledger, chain_state=str(tmp_path / "pg.chain.sqlite"))
    else:
        anchoring = Anchoring.setup(ledger)
    record = anchoring.anchor_latest(key)  # type: ignore[arg-type]
    anchoring.verify()
    assert anchoring.records() == [record]
    assert load_config(store) == anchoring.config
    if not isinstance(store, MemoryStore):  # persisted: a new open sees it
        anchoring.close()
        again = Anchoring.open(ledger)
        again.verify()
        again.close()
    else:
        anchoring.close()


def test_memory_ledger_needs_a_chain_object() -> None:
    ledger, _ = _ledger(MemoryStore())
    with pytest.raises(ConfigError, match="in-memory ledger needs an in-process chain"):
        Anchoring.setup(ledger)


def test_rpc_setup_needs_a_key(world: World) -> None:
    with pytest.raises(ConfigError, match="needs a chain account key"):
        Anchoring.setup(world.ledger, endpoint="http://127.0.0.1:9")


def test_wrong_chain_key_for_the_ledger_is_refused(world: World) -> None:
    cfg = AnchorConfig("http://127.0.0.1:9", 1, "0x" + "11" * 20, "0x" + "22" * 20)
    from batterytrace.anchoring.records import save_config

    save_config(world.ledger.store, cfg)
    with pytest.raises(ConfigError, match="this ledger anchors as 0x2222"):
        Anchoring.open(world.ledger, key=b"\x01" * 32)


def test_chain_key_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTERYTRACE_CHAIN_KEY", raising=False)
    assert read_chain_key(None) is None
    monkeypatch.setenv("BATTERYTRACE_CHAIN_KEY", "0x" + "ab" * 32)
    assert read_chain_key(None) == b"\xab" * 32
    f = tmp_path / "k"
    f.write_text("cd" * 32 + "\n")
    assert read_chain_key(str(f)) == b"\xcd" * 32
    f.write_text("zz")
    with pytest.raises(ConfigError, match="not hex"):
        read_chain_key(str(f))
    f.write_text("ab" * 4)
    with pytest.raises(ConfigError, match="32 bytes"):
        read_chain_key(str(f))
    with pytest.raises(ConfigError, match="cannot read"):
        read_chain_key(str(tmp_path / "missing"))


def test_every_loop_survives_chain_failures(world: World) -> None:
    anchoring = Anchoring.setup(world.ledger)
    calls = {"n": 0}
    real = anchoring.client.anchor

    def flaky(cp):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ServiceUnavailableError("the chain node at x is unreachable")
        return real(cp)

    anchoring.client.anchor = flaky  # type: ignore[method-assign]
    lines: list[str] = []
    made = anchoring.run(RunSchedule(every_events=10, rounds=3), world.operator_key, lines.append, sleep=lambda _: None)
    assert made == 1 and "retrying next round" in lines[0] and "anchored tree size 60" in lines[1]
    world.submit_rest()
    made = anchoring.run(RunSchedule(every_events=100, rounds=1), world.operator_key, lines.append, sleep=lambda _: None)
    assert made == 0  # grew by 63 < 100
    made = anchoring.run(RunSchedule(every_seconds=0.0, rounds=1), world.operator_key, lines.append, sleep=lambda _: None)
    assert made == 1 and anchoring.records()[-1].tree_size == 123
    anchoring.verify()
    anchoring.close()


def test_ledger_and_its_chain_move_together(world: World, tmp_path: Path) -> None:
    import shutil

    anchoring = Anchoring.setup(world.ledger)
    anchoring.anchor_latest(world.operator_key)
    anchoring.close()
    world.ledger.close()
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("ledger.db", "ledger.db.chain.sqlite"):
        shutil.copy(Path(world.db).parent / name, moved / name)
    Path(world.db + ".chain.sqlite").unlink()
    from batterytrace.storage.sqlite import SQLiteStore

    again = Anchoring.open(Ledger(SQLiteStore(str(moved / "ledger.db"))))
    again.verify()
    again.close()
