"""``Ledger.submit_batch(all_or_nothing=True)``: one rejection commits nothing."""

from __future__ import annotations

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.memory import MemoryStore


def test_all_or_nothing_commits_nothing_on_a_rejection() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    events = [*s.events[:20], s.events[5]]  # the replay is rejected
    result = ledger.submit_batch(events, all_or_nothing=True)
    assert result.accepted == [] and [r.index for r in result.rejected] == [20]
    assert ledger.size() == 0 and ledger.root() == Ledger(MemoryStore(), ledger.operator_did).root()
    # the ledger stays usable: the same events without the replay are accepted afterwards
    result = ledger.submit_batch(s.events[:20], all_or_nothing=True)
    assert len(result.accepted) == 20 and not result.rejected and ledger.size() == 20
    partial = ledger.submit_batch([s.events[20], s.events[0]])
    assert len(partial.accepted) == 1 and ledger.size() == 21
