"""Passport lifecycle: repurposing issues a new passport linked to its predecessor; recycling
closes it and the recycled lots cite it."""

from __future__ import annotations

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import sign_event
from batterytrace.model.identifiers import passport_id_for
from batterytrace.passport.issue import issue_passport, verify_passport
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time

NOW = 1_790_000_000


def test_repurposing_and_recycling() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    op, oem = s.actors["operator"].signing_key, s.actors["voltara"].signing_key
    pack = s.packs[0]
    lot = ledger.store.get_lot(pack)
    assert lot is not None and lot.gtin and lot.serial
    ledger.sign_tree_head(op)
    first = issue_passport(ledger, pack, VOLTARA_VM75, oem, issued_at=NOW)
    assert first.passport_id == passport_id_for(lot.gtin, lot.serial, 1)

    later = format_time(lot.last_event_at + 30 * 86_400_000_000)
    ev = sign_event({"kind": "lifecycle", "lot": pack, "status": "repurposed", "soh_percent": 78.0, "cycles": 1100,
                     "time": later, "bms": {"state_of_charge_percent": 40.0}}, oem, ledger=ledger.ledger_id)
    ledger.submit(ev)
    ledger.sign_tree_head(op)
    second = issue_passport(ledger, pack, VOLTARA_VM75, oem, issued_at=NOW)
    claims = verify_passport(second.present("legitimate_interest"), log_operator=ledger.operator_did, now=NOW).claims
    assert claims["passport_version"] == 2
    assert claims["predecessor"] == first.passport_id != second.passport_id
    assert claims["aspects"]["GeneralProductInformation"]["batteryStatus"] == "Repurposed"
    assert claims["aspects"]["PerformanceAndDurability"]["batteryCondition"]["stateOfCharge"]["stateOfChargeValue"] == 40.0

    # the legacy pack was recycled: its passport is closed and the recycled lots cite it
    legacy = s.legacy_packs[0]
    with pytest.raises(BatterytraceError, match="closed"):
        issue_passport(ledger, legacy, VOLTARA_VM75, oem, issued_at=NOW)
    old = ledger.store.get_lot(legacy)
    assert old is not None and old.gtin and old.serial
    closed_id = passport_id_for(old.gtin, old.serial, 1)
    citing = [x for x in ledger.store.iter_lots() if closed_id in x.extra.get("recycled_from_passports", [])]
    assert any(x.made_by == "recycle" for x in citing)
    assert all("recycled" in key for x in citing for key in x.buckets)  # the recovered material
