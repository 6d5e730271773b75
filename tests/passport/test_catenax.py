"""The Catena-X BatteryPass 6.1.0 export validates against its schema and carries ledger figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batterytrace.crypto.sdjwt import issue_sd_jwt
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import BatterytraceError, NotFoundError, VerificationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.event_spec import LIFECYCLE_STATUSES
from batterytrace.model.events import sign_event
from batterytrace.model.identifiers import passport_uuid_for
from batterytrace.passport.aspects import gather_facts
from batterytrace.passport.catenax import (
    BATTERY_STATES,
    PASSPORT_STATES,
    catenax_battery_pass,
    export_catenax,
    passport_state,
    signed_status,
)
from batterytrace.passport.issue import VCT, issue_passport, verify_passport
from batterytrace.passport.registry import save_presentations
from batterytrace.passport.status import StatusLists
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time

SCHEMA = (Path(__file__).resolve().parents[1] / "reference" / "catenax"
          / "io.catenax.battery.battery_pass" / "6.1.0" / "gen" / "BatteryPass-schema.json")


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    facts = gather_facts(ledger.store, s.packs[0], VOLTARA_VM75)
    return catenax_battery_pass(facts, VOLTARA_VM75, "urn:uuid:6f1f1a3e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", 1,
                                1_790_000_000, 2_263_000_000, status="approved")


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8-sig"))
    return data


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """The reference 6.1.0 schema's complaints about ``doc`` (format checking on)."""
    validator = jsonschema.Draft4Validator(schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message[:160]}" for e in errors]


def test_validates_against_catenax_6_1(export: dict[str, Any]) -> None:
    assert not schema_errors(export), schema_errors(export)[:8]


def test_broken_export_is_refused(export: dict[str, Any]) -> None:
    broken = {k: v for k, v in export.items() if k != "identification"}
    assert list(jsonschema.Draft4Validator(schema()).iter_errors(broken))


def test_carries_ledger_figures(export: dict[str, Any]) -> None:
    cf = {x["lifecycle"]: x["value"] for x in export["sustainability"]["carbonFootprint"]}
    assert set(cf) == {"raw material extraction", "main product production", "distribution", "recycling"}
    assert export["materials"]["active"]["cobalt"]["recycled"] > 0
    assert export["identification"]["identification"]["serial"][0]["value"].startswith("VM75-")


def test_export_from_the_ledger_validates_and_is_stable(tmp_path: Path) -> None:
    from batterytrace.passport.catenax import catenax_passport_uuid, export_catenax

    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    doc = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=1_790_000_000)
    assert not list(jsonschema.Draft4Validator(schema()).iter_errors(doc))
    again = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=1_790_000_000)
    assert doc["metadata"]["passportIdentifier"] == again["metadata"]["passportIdentifier"]
    assert catenax_passport_uuid("urn:batterytrace:a") != catenax_passport_uuid("urn:batterytrace:b")
    ore = ledger.store.lots_at_site("mine:tujenge", 0, 2**62)[0]
    with pytest.raises(BatterytraceError, match="not a serialised pack"):
        export_catenax(ledger, ore, VOLTARA_VM75, issued_at=1)
    with pytest.raises(BatterytraceError, match="no lot"):
        export_catenax(ledger, "ff" * 32 + ":0", VOLTARA_VM75, issued_at=1)


# -- the passport identifier and the statuses, from the ledger and the issuer's status list ----------

NOW = 1_790_000_000


def _lifecycle(ledger: Ledger, pack: str, status: str, key: SigningKey, days: int) -> None:
    latest = max(lot.last_event_at for lot in ledger.store.iter_lots())  # after everything the ledger holds
    later = format_time(latest + days * 86_400_000_000)
    ev = sign_event({"kind": "lifecycle", "lot": pack, "status": status, "soh_percent": 78.0, "cycles": 1100,
                     "time": later, "bms": {"state_of_charge_percent": 40.0}}, key, ledger=ledger.ledger_id)
    ledger.submit(ev)  # raises RuleViolationError when refused


@pytest.fixture()
def world(tmp_path: Path) -> tuple[Any, Ledger, StatusLists]:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return s, ledger, StatusLists(tmp_path)


def _issue(s: Any, ledger: Ledger, lists: StatusLists, pack: str) -> dict[str, Any]:
    oem = s.actors["voltara"].signing_key
    p = issue_passport(ledger, pack, VOLTARA_VM75, oem, issued_at=NOW, status=lists.allocator(oem, "https://id.example", NOW))
    save_presentations(p, lists.directory.parent)  # where the export reads its signed status from
    return verify_passport(p.present("public"), log_operator=ledger.operator_did, now=NOW).claims


def test_identifier_equals_the_sd_jwt_passport_uuid_and_status_follows_the_status_list(
        world: tuple[Any, Ledger, StatusLists]) -> None:
    s, ledger, lists = world
    pack = s.packs[0]
    draft = export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
    assert draft["metadata"]["status"] == "draft" and not schema_errors(draft)  # no passport issued yet
    claims = _issue(s, ledger, lists, pack)
    doc = export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
    assert not schema_errors(doc), schema_errors(doc)[:8]
    # the same pack and version: the export and the SD-JWT passport match by equality
    assert doc["metadata"]["passportIdentifier"] == claims["passport_uuid"] == passport_uuid_for(claims["passport_id"])
    assert doc["metadata"]["version"] == "1.0.0" and doc["metadata"]["predecessor"].endswith("0000-000000000000")
    assert (doc["metadata"]["status"], doc["sustainability"]["status"]) == ("approved", "original")
    # the other pack's passport is not this one's
    other = export_catenax(ledger, s.packs[1], VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
    assert other["metadata"]["passportIdentifier"] != claims["passport_uuid"]
    oem = s.actors["voltara"].signing_key
    for status, state in (("suspended", "suspended"), ("valid", "valid"), ("revoked", "revoked")):
        lists.set_status(oem, claims["passport_id"], status, NOW)
        assert passport_state(signed_status(ledger, lists.directory.parent, claims["passport_id"], oem.did, NOW), superseded=False) == state
        doc = export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
        assert doc["metadata"]["status"] == PASSPORT_STATES[state] and not schema_errors(doc)
    assert doc["metadata"]["status"] == "invalid"  # revoked
    # without the status lists nothing says the passport was issued
    assert export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW)["metadata"]["status"] == "draft"


def test_repurposed_battery_supersedes_its_first_passport(world: tuple[Any, Ledger, StatusLists]) -> None:
    s, ledger, lists = world
    pack, oem = s.packs[0], s.actors["voltara"].signing_key
    first = _issue(s, ledger, lists, pack)
    _lifecycle(ledger, pack, "repurposed", oem, 30)
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    second = _issue(s, ledger, lists, pack)
    doc = export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
    assert not schema_errors(doc), schema_errors(doc)[:8]
    meta = doc["metadata"]
    assert (meta["status"], meta["version"], doc["sustainability"]["status"]) == ("approved", "2.0.0", "repurposed")
    assert meta["passportIdentifier"] == second["passport_uuid"] != first["passport_uuid"]
    assert meta["predecessor"] == first["passport_uuid"]
    # the first version: superseded, as the battery was before repurposing
    old = export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW, version=1)
    assert not schema_errors(old), schema_errors(old)[:8]
    assert (old["metadata"]["status"], old["metadata"]["version"], old["sustainability"]["status"]) == (
        "invalid", "1.0.0", "original")
    assert old["metadata"]["passportIdentifier"] == first["passport_uuid"]
    assert passport_state(signed_status(ledger, lists.directory.parent, first["passport_id"], oem.did, NOW), superseded=True) == "superseded"
    for bad in (0, 3):
        with pytest.raises(NotFoundError, match=f"no passport version {bad}"):
            export_catenax(ledger, pack, VOLTARA_VM75, issued_at=NOW, version=bad)
    # a revoked superseded version stays revoked
    lists.set_status(oem, first["passport_id"], "revoked", NOW)
    assert passport_state(signed_status(ledger, lists.directory.parent, first["passport_id"], oem.did, NOW), superseded=True) == "revoked"


@pytest.mark.parametrize(("status", "state"), [("reused", "re-used"), ("remanufactured", "remanufactured"),
                                               ("waste", "waste")])
def test_battery_state_maps_the_lifecycle_status(world: tuple[Any, Ledger, StatusLists], status: str,
                                                 state: str) -> None:
    s, ledger, lists = world
    _lifecycle(ledger, s.packs[0], status, s.actors["voltara"].signing_key, 30)
    doc = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=lists.directory.parent, now=NOW)
    assert not schema_errors(doc), schema_errors(doc)[:8]
    assert doc["sustainability"]["status"] == state
    assert doc["metadata"]["version"] == ("2.0.0" if status == "remanufactured" else "1.0.0")
    assert set(BATTERY_STATES) == set(LIFECYCLE_STATUSES)


def test_a_forged_passport_uuid_is_refused(world: tuple[Any, Ledger, StatusLists]) -> None:
    s, ledger, lists = world
    claims = _issue(s, ledger, lists, s.packs[0])
    forged = {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct", "cnf")}
    forged["passport_uuid"] = passport_uuid_for(claims["passport_id"] + "x")
    token = issue_sd_jwt(s.actors["voltara"].signing_key, forged, vct=VCT, issued_at=NOW, expires_at=NOW + 86400)
    with pytest.raises(VerificationError, match="passport_uuid"):
        verify_passport(token.present([]), log_operator=ledger.operator_did, now=NOW)


def test_a_status_outside_the_schema_is_refused(export: dict[str, Any]) -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    facts = gather_facts(ledger.store, s.packs[0], VOLTARA_VM75)
    with pytest.raises(BatterytraceError, match="Catena-X passport status"):
        catenax_battery_pass(facts, VOLTARA_VM75, export["metadata"]["passportIdentifier"], 1, NOW, NOW + 1,
                             status="revoked")
