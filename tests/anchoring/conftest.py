"""Fixtures for anchoring: an in-process chain with a registry, and a ledger holding the demo
scenario's events with its operator key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring_support import Registry, World
from batterytrace.anchoring.client import AnchorClient
from batterytrace.anchoring.inprocess import InProcessChain
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.sqlite import SQLiteStore


@pytest.fixture
def registry() -> Iterator[Registry]:
    chain = InProcessChain(None)
    keys = chain.funded_keys()
    owner = AnchorClient(chain.w3, keys[0], None, endpoint="inprocess")
    address = owner.deploy()
    operator = AnchorClient(chain.w3, keys[1], address, endpoint="inprocess")
    stranger = AnchorClient(chain.w3, keys[2], address, endpoint="inprocess")
    owner.register_operator(operator.account.address)  # type: ignore[union-attr]
    yield Registry(chain, owner, operator, stranger)
    chain.close()

@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A SQLite ledger holding the first 60 events of the demo scenario (the rest: ``submit_rest``)."""
    s = build_scenario(packs=2, legacy_packs=1)
    db = str(tmp_path / "ledger.db")
    ledger = Ledger(SQLiteStore(db), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events[:60], check_clock=False).rejected
    keys = {k: a.signing_key for k, a in s.actors.items()}
    yield World(db, ledger, s.actors["operator"].signing_key, keys, s.packs, list(s.events[60:]))
    ledger.close()
