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


def test_attributes_come_from_recorded_events_and_unrecorded_readings_are_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """#7 from the event that put the battery into service, #93 from recorded accidents; a reading
    nobody recorded is left out and named in summary.not_recorded, never stated as 0."""
    from batterytrace.demo import scenario as demo
    from batterytrace.passport.registry import check_complete

    monkeypatch.setattr(demo, "END_OF_LINE_BMS", {"state_of_charge_percent": 30.0})
    monkeypatch.setattr(demo, "IN_SERVICE_BMS", {"state_of_charge_percent": 55.0})
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    oem = s.actors["voltara"].signing_key
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, issued_at=NOW)
    li = verify_passport(p.present("legitimate_interest"), log_operator=ledger.operator_did, now=NOW, ledger=ledger).claims
    cond = li["aspects"]["PerformanceAndDurability"]["batteryCondition"]
    for member in ("temperatureInformation", "powerFade", "remainingPowerCapability", "internalResistanceIncrease",
                   "roundTripEfficiencyFade", "currentSelfDischargingRate"):
        assert member not in cond, member
        assert f"PerformanceAndDurability.batteryCondition.{member}" in li["summary"]["not_recorded"]
    assert cond["stateOfCharge"]["stateOfChargeValue"] == 55.0
    # derived from the recorded state of health, dated with it
    assert cond["capacityFade"]["capacityFadeValue"] == pytest.approx(1.1)
    events = [e["negativeEvent"] for e in cond["negativeEvents"]]
    assert events[0] == "deep discharge events: 0" and events[-1].startswith("accident: Rear-end collision")
    assert not any("overcharge" in e for e in events)  # never recorded: not stated
    # the date of putting into service is that of the lifecycle event that said so
    gpi = li["aspects"]["GeneralProductInformation"]
    history = ledger.store.get_lot(s.packs[0]).extra["lifecycle"]  # type: ignore[union-attr]
    service = next(r for r in history if r.get("put_into_service"))
    assert gpi["puttingIntoService"] == format_time(service["time"]) != gpi["manufacturingDate"]
    check_complete(li, "legitimate_interest")  # what was never recorded is not "withheld"

    # a second life has its own date: none until a lifecycle event puts it into service again
    later = format_time(history[-1]["time"] + 30 * 86_400_000_000)
    ledger.submit(sign_event({"kind": "lifecycle", "lot": s.packs[0], "status": "repurposed", "soh_percent": 80.0,
                              "time": later}, oem, ledger=ledger.ledger_id))
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    second = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, issued_at=NOW)
    claims = verify_passport(second.present("legitimate_interest"), log_operator=ledger.operator_did, now=NOW).claims
    assert "puttingIntoService" not in claims["aspects"]["GeneralProductInformation"]
    assert "GeneralProductInformation.puttingIntoService" in claims["summary"]["not_recorded"]
    check_complete(claims, "legitimate_interest")
    even_later = format_time(history[-1]["time"] + 40 * 86_400_000_000)
    ledger.submit(sign_event({"kind": "lifecycle", "lot": s.packs[0], "status": "repurposed", "put_into_service": True,
                              "time": even_later}, oem, ledger=ledger.ledger_id))
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    third = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, issued_at=NOW)
    claims = verify_passport(third.present("legitimate_interest"), log_operator=ledger.operator_did, now=NOW).claims
    assert claims["aspects"]["GeneralProductInformation"]["puttingIntoService"] == even_later


def test_putting_into_service_is_once_per_life_and_never_for_waste() -> None:
    from batterytrace.errors import RuleViolationError

    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    oem, pack = s.actors["voltara"].signing_key, s.packs[0]
    last = ledger.store.get_lot(pack).last_event_at  # type: ignore[union-attr]

    def lifecycle(days: int, **body: object) -> object:
        return ledger.submit(sign_event({"kind": "lifecycle", "lot": pack, "time": format_time(last + days * 86_400_000_000),
                                         **body}, oem, ledger=ledger.ledger_id))

    with pytest.raises(RuleViolationError, match=r"lifecycle\.service"):
        lifecycle(1, status="original", put_into_service=True)  # the demo put it into service already
    for bad in ({"put_into_service": False}, {"put_into_service": "yes"}, {"accident": ""}, {"accident": "x" * 501},
                {"accident": 12}):
        with pytest.raises(RuleViolationError, match="schema"):
            lifecycle(2, status="original", **bad)
    lifecycle(3, status="repurposed", put_into_service=True)  # a new life: once more
    with pytest.raises(RuleViolationError, match=r"lifecycle\.service"):
        lifecycle(4, status="repurposed", put_into_service=True)
    with pytest.raises(RuleViolationError, match=r"lifecycle\.service"):
        lifecycle(5, status="waste", put_into_service=True)
