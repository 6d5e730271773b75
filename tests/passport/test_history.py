"""A battery's history for the viewer: passport versions counted as passport_version counts them,
state of health only for the readers of the battery's condition."""

from __future__ import annotations

from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import sign_event
from batterytrace.model.identifiers import passport_id_for
from batterytrace.passport.history import battery_history
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time


def test_versions_and_state_of_health_by_level() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    oem = s.actors["voltara"].signing_key
    lot = ledger.store.get_lot(s.packs[0])
    assert lot is not None and lot.gtin and lot.serial
    day = 86_400_000_000
    for i, (status, soh) in enumerate((("original", 91.0), ("repurposed", 78.0), ("repurposed", 77.5))):
        ledger.submit(sign_event({"kind": "lifecycle", "lot": lot.lot_id, "status": status, "soh_percent": soh,
                                  "time": format_time(lot.last_event_at + (i + 1) * 30 * day)}, oem,
                                 ledger=ledger.ledger_id))
    li = battery_history(ledger.store, lot.gtin, lot.serial, "legitimate_interest")
    assert [(v.version, v.status) for v in li.versions] == [(1, "original"), (2, "repurposed")]
    assert [v.passport_id for v in li.versions] == [passport_id_for(lot.gtin, lot.serial, n) for n in (1, 2)]
    assert li.versions[1].since_us == lot.last_event_at + 60 * day
    stated = [r for r in lot.extra.get("lifecycle", []) if r.get("soh_percent") is not None]  # the demo's own
    assert [h.soh_percent for h in li.health] == [r["soh_percent"] for r in stated] + [91.0, 78.0, 77.5]
    assert [h.time_us for h in li.health] == sorted(h.time_us for h in li.health)
    for level in ("public", "commission", "authorities"):  # the condition is for legitimate interest only
        other = battery_history(ledger.store, lot.gtin, lot.serial, level)
        assert other.health == [] and other.versions == li.versions
    none = battery_history(ledger.store, lot.gtin, "NO-SUCH", "legitimate_interest")
    assert [v.version for v in none.versions] == [1] and none.health == []
