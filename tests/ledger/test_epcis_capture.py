"""Plain EPCIS 2.0 → ledger events, signed with hosted keys and marked custodial
(ledger/epcis_capture.py, docs/epcis-mapping.md)."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.epcis import export_event
from batterytrace.ledger.epcis_capture import (
    MappingError,
    grams_of,
    parse_epc,
    sign_custodial,
    submit_custodial,
)
from batterytrace.ledger.hosted_keys import load_hosted_key
from batterytrace.ledger.trace import trace_backward
from batterytrace.model.events import SignedEvent, sign_event
from custodial_support import LEDGER_ID, HostedChain, key_of, load_doc

MINE_SITE = "urn:epc:id:sgln:6164003.00001.0"
LGTIN_MINE = "urn:epc:class:lgtin:6164003.000001.CH-2026-0301"


@pytest.fixture
def chain(tmp_path: Path) -> HostedChain:
    return HostedChain(tmp_path)


def _events(chain: HostedChain) -> list[SignedEvent]:
    store = chain.ledger.store
    return [SignedEvent.from_stored(e.canonical, e.signature) for e in store.iter_events()]


# ------------------------------------------------------------------------- identifiers and quantities
def test_identifiers_parse_to_gtin_serial_lgtin_or_lot() -> None:
    dl = parse_epc("https://id.nordcell.example/01/04050001000017/21/NC-0001", "epcList[0]")
    assert (dl.gtin, dl.serial) == ("04050001000017", "NC-0001")
    short = parse_epc("https://id.example/a/b/01/4050001000017/21/X%2F1", "x")  # GTIN-13, escaped serial
    assert (short.gtin, short.serial) == ("04050001000017", "X/1")
    sgtin = parse_epc("urn:epc:id:sgtin:4050001.000002.VM-M-0001", "parentID")
    assert (sgtin.gtin, sgtin.serial) == ("04050001000024", "VM-M-0001")
    assert parse_epc("urn:epc:class:lgtin:6164003.000001.CH-1", "q").lgtin == "06164003000017/CH-1"
    lot = parse_epc("urn:batterytrace:lot:" + "ab" * 32 + ":3", "q")
    assert lot.lot_id == "ab" * 32 + ":3"


@pytest.mark.parametrize(("uri", "needle"), [
    ("https://id.example/01/04050001000018/21/NC-0001", "check digit"),
    ("https://id.example/01/04050001000017/21/NC-0001?x=1", "Digital Link"),
    ("https://id.example/01/04050001000017", "Digital Link"),
    ("http://id.example/01/04050001000017/21/A", "not an identifier"),
    ("urn:epc:id:sgtin:4050001.00002.A", "13 digits"),
    ("urn:epc:id:sgtin:4050001.000002." + "A" * 21, "1 to 20"),
    ("urn:epc:id:sscc:4050001.0000000001", "not an identifier"),
    ("urn:batterytrace:lot:abc:0", "not an identifier"),
    ("x" * 600, "512"),
    (17, "URI string"),
])
def test_bad_identifiers_are_refused_naming_the_field(uri: Any, needle: str) -> None:
    with pytest.raises(MappingError, match=needle) as err:
        parse_epc(uri, "epcList[4]")
    assert err.value.field == "epcList[4]"


def test_quantities_are_whole_grams_in_kgm() -> None:
    assert grams_of({"quantity": 2000, "uom": "KGM"}, "q") == 2_000_000
    assert grams_of({"quantity": 3271.34, "uom": "KGM"}, "q") == 3_271_340
    assert grams_of({"quantity": 0.001, "uom": "KGM"}, "q") == 1


@pytest.mark.parametrize(("entry", "field"), [
    ({"quantity": 5, "uom": "LBR"}, "q.uom"),
    ({"quantity": 5, "uom": "TNE"}, "q.uom"),
    ({"quantity": 5}, "q.uom"),
    ({"quantity": -1, "uom": "KGM"}, "q.quantity"),
    ({"quantity": 0, "uom": "KGM"}, "q.quantity"),
    ({"quantity": math.nan, "uom": "KGM"}, "q.quantity"),
    ({"quantity": math.inf, "uom": "KGM"}, "q.quantity"),
    ({"quantity": 1e30, "uom": "KGM"}, "q.quantity"),
    ({"quantity": 0.0004, "uom": "KGM"}, "q.quantity"),
    ({"quantity": 1.0005, "uom": "KGM"}, "q.quantity"),
    ({"quantity": True, "uom": "KGM"}, "q.quantity"),
    ({"quantity": "5", "uom": "KGM"}, "q.quantity"),
    ([5, "KGM"], "q"),
])
def test_bad_quantities_are_refused(entry: Any, field: str) -> None:
    with pytest.raises(MappingError) as err:
        grams_of(entry, "q")
    assert err.value.field == field


# ------------------------------------------------------------------------- the mapped events
def test_example_document_becomes_a_custodial_extraction_and_shipment(chain: HostedChain) -> None:
    token = chain.token("mine")
    outcome = chain.capture_ledger(load_doc("mine"), "mine", token=token)
    assert outcome.success and len(outcome.accepted) == 2, outcome.errors
    extract, ship = _events(chain)[-2:]
    jti = chain.ledger.store.meta_with_prefix("credential/")
    assert len(jti) == 1
    credential = next(iter(jti)).removeprefix("credential/")
    for ev in (extract, ship):
        ev.verify_signature()
        assert ev.actor == chain.did("mine") and ev.ledger == LEDGER_ID
        assert ev.body["custodial"] == {"credential": credential}
    assert extract.kind == "extract" and extract.body["time"] == "2026-03-02T07:00:00Z"
    assert extract.body["site"] == MINE_SITE and extract.body["location"] == {"lat": -10.72, "lon": 25.47}
    (out,) = extract.body["outputs"]
    assert out["form"] == "cobalt_hydroxide" and out["gross_mass_g"] == 2_000_000
    assert out["buckets"] == {"Co/uncertified/CD": 700_000} and out["assay_ppm"] == {"Co": 350_000}
    lot_id = f"{extract.hash_hex}:0"
    assert outcome.recorded[0]["lots"] == [f"urn:batterytrace:lot:{lot_id}"]
    assert ship.kind == "ship" and ship.body["lots"] == [lot_id] and ship.body["to"] == chain.did("refiner")
    assert ship.body["gross_mass_g"] == 2_000_000 and ship.body["seals"] == ["SEAL-2026-0001-A", "SEAL-2026-0001-B"]
    lot = chain.ledger.store.get_lot(lot_id)
    assert lot is not None and lot.status == "in_transit" and lot.custodian == chain.did("mine")


def test_the_chain_from_mine_to_pack_in_plain_epcis(chain: HostedChain) -> None:
    lots = chain.record_chain(via_api=False)
    store = chain.ledger.store
    pack_id = lots["pack"].removeprefix("urn:batterytrace:lot:")
    pack = store.get_lot(pack_id)
    assert pack is not None and (pack.form, pack.gtin, pack.serial) == ("pack", "04050001000031", "VM75-000001")
    assert pack.buckets == {"Co/uncertified/CD": 72} and pack.custodian == chain.did("oem")
    assert pack.extra["capacity_kwh"] == 0.78
    module = [x for x in store.get_lots(store.lots_by_serial("04050001000024", "VM-M-0001")).values()]
    assert len(module) == 1 and module[0].status == "spent"
    trace = trace_backward(store, pack_id)
    assert set(trace.origins) == {MINE_SITE}
    kinds = [ev.kind for ev in _events(chain)]
    assert kinds[8:] == ["extract", "ship", "receive", "transform", "ship", "receive", "transform", "ship", "receive",
                         "aggregate", "aggregate"]
    assert all("custodial" in ev.body for ev in _events(chain)[8:])
    assert verify_log(store).events == len(kinds)


def test_a_pack_comes_apart_again(chain: HostedChain) -> None:
    chain.record_chain(via_api=False)
    doc = copy.deepcopy(load_doc("oem"))
    module = "urn:epc:id:sgtin:4050001.000002.VM-M-0001"
    doc["epcisBody"]["eventList"] = [{
        "type": "AggregationEvent", "eventTime": "2026-03-29T08:00:00Z", "action": "DELETE",
        "bizStep": "disassembling", "parentID": "https://id.voltara.example/01/04050001000031/21/VM75-000001",
        "childEPCs": [module],
        "bt:lots": {module: {"form": "module", "gross_mass_g": 3500, "buckets": {"Co/uncertified/CD": 72}}}}]
    outcome = chain.capture_ledger(doc, "oem")
    assert outcome.success, outcome.errors
    store = chain.ledger.store
    live = [x for x in store.get_lots(store.lots_by_serial("04050001000024", "VM-M-0001")).values()
            if x.status != "spent"]
    assert len(live) == 1 and live[0].made_by == "disaggregate"


def test_the_compact_json_ld_form_of_a_location_is_read(chain: HostedChain) -> None:
    doc = load_doc("mine")
    for event in doc["epcisBody"]["eventList"]:
        event["readPoint"] = MINE_SITE
    doc["epcisBody"]["eventList"][0]["bizLocation"] = "urn:batterytrace:site:" + MINE_SITE
    assert chain.capture_ledger(doc, "mine").success
    assert _events(chain)[-2].body["site"] == MINE_SITE


def test_posting_the_same_document_twice_records_it_once(chain: HostedChain) -> None:
    token = chain.token("mine")
    assert chain.capture_ledger(load_doc("mine"), "mine", token=token).success
    again = chain.capture_ledger(load_doc("mine"), "mine", token=token)
    assert not again.success and again.errors[0]["reason"] == "rule/replay"
    assert chain.ledger.size() == 10


def test_rollback_records_nothing_and_proceed_records_what_maps(chain: HostedChain) -> None:
    doc = load_doc("mine")
    doc["epcisBody"]["eventList"][1]["bizStep"] = "departing"
    size = chain.ledger.size()
    rolled = chain.capture_ledger(doc, "mine")
    assert rolled.accepted == [] and chain.ledger.size() == size
    (err,) = rolled.errors
    assert (err["index"], err["reason"], err["field"]) == (1, "mapping", "bizStep")
    proceeded = chain.capture_ledger(doc, "mine", behaviour="proceed")
    assert len(proceeded.accepted) == 1 and chain.ledger.size() == size + 1


def test_self_signed_events_mix_with_plain_ones(chain: HostedChain) -> None:
    doc = load_doc("mine")
    plain_extract = doc["epcisBody"]["eventList"][0]
    own = sign_event({"kind": "extract", "time": "2026-03-02T06:00:00Z", "site": MINE_SITE, "outputs": [
        {"form": "cobalt_hydroxide", "gross_mass_g": 1000, "buckets": {"Co/uncertified/CD": 350}}]},
        key_of("mine"), ledger=LEDGER_ID)
    doc["epcisBody"]["eventList"] = [export_event(own), plain_extract]
    outcome = chain.capture_ledger(doc, "mine")
    assert outcome.success, outcome.errors
    first, second = _events(chain)[-2:]
    assert "custodial" not in first.body and "custodial" in second.body


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.update(sensorElementList=[]), "sensorElementList"),
    (lambda e: e.update({"bt:colour": "blue"}), "bt:colour"),
    (lambda e: e.update(type="AssociationEvent"), "type"),
    (lambda e: e.update(action="DELETE"), "action"),
    (lambda e: e.update(eventTime="2026-03-02T08:00:00"), "eventTime"),
    (lambda e: e.update(eventTime="yesterday"), "eventTime"),
    (lambda e: e.update(readPoint={"id": "urn:batterytrace:site:plant:refinery"}, bizLocation={"id": MINE_SITE}),
     "readPoint"),
    (lambda e: e["bt:lots"].popitem(), "bt:lots['urn:epc:class:lgtin:6164003.000001.CH-2026-0301']"),
    (lambda e: e["bt:lots"]["urn:epc:class:lgtin:6164003.000001.CH-2026-0301"].update(gtin="1"),
     "bt:lots['urn:epc:class:lgtin:6164003.000001.CH-2026-0301'].gtin"),
    (lambda e: e["bt:lots"].update({"urn:epc:class:lgtin:6164003.000001.OTHER": {"form": "x"}}),
     "bt:lots['urn:epc:class:lgtin:6164003.000001.OTHER']"),
    (lambda e: e["bt:lots"]["urn:epc:class:lgtin:6164003.000001.CH-2026-0301"].update(buckets={"Co/x/CD": -5}),
     "bt:lots['urn:epc:class:lgtin:6164003.000001.CH-2026-0301'].buckets['Co/x/CD']"),
    (lambda e: e.update(errorDeclaration={"declarationTime": "2026-03-02T08:00:00Z"}), "errorDeclaration"),
    (lambda e: e.update({"bt:actor": key_of("refiner").did}), "bt:actor"),
    (lambda e: e.update(sourceList=[{"type": "owning_party", "source": key_of("refiner").did}]),
     "sourceList[0].source"),
])
def test_an_unmappable_event_is_refused_naming_the_field(chain: HostedChain, change: Any, field: str) -> None:
    doc = load_doc("mine")
    change(doc["epcisBody"]["eventList"][0])
    outcome = chain.capture_ledger(doc, "mine")
    assert outcome.accepted == []
    first = outcome.errors[0]
    assert (first["index"], first["reason"], first["field"]) == (0, "mapping", field), first


def test_a_participant_without_a_hosted_key_cannot_post_plain_events(chain: HostedChain) -> None:
    own = SigningKey.from_label("test/own-key-refiner")
    ev = sign_event({"kind": "register_participant", "did": own.did, "role": "refiner", "legal_name": "Own",
                     "country": "FI", "time": "2026-03-01T01:00:00Z"},
                    SigningKey.from_label("test/custodial-operator"), ledger=LEDGER_ID)
    assert not chain.ledger.submit_batch([ev]).rejected
    outcome = chain.capture_ledger(load_doc("mine"), "x", token=chain.token("x", subject=own.did))
    assert {e["reason"] for e in outcome.errors} == {"mapping"} and "no hosted key" in outcome.errors[0]["message"]


def test_a_wrong_kek_is_named(chain: HostedChain) -> None:
    from batterytrace.ledger.hosted_keys import KeyEncryptionKey

    with pytest.raises(VerificationError, match="key-encryption key"):
        load_hosted_key(chain.ledger.store, LEDGER_ID, KeyEncryptionKey.generate(), chain.did("mine"))
    chain.kek = KeyEncryptionKey.generate()
    outcome = chain.capture_ledger(load_doc("mine"), "mine")
    assert outcome.errors[0]["reason"] == "hosted-key"


def test_importers_sign_and_submit_bodies_custodially(chain: HostedChain) -> None:
    key = load_hosted_key(chain.ledger.store, LEDGER_ID, chain.kek, chain.did("mine"))
    assert key is not None
    body = {"kind": "extract", "time": "2026-03-02T06:00:00Z", "site": MINE_SITE, "outputs": [
        {"form": "cobalt_hydroxide", "gross_mass_g": 1000, "buckets": {"Co/uncertified/CD": 350}}]}
    events, result = submit_custodial(chain.ledger, key, "csv-credential", [body])
    assert not result.rejected and events[0].body["custodial"] == {"credential": "csv-credential"}
    marked = sign_custodial(body, key, LEDGER_ID, "c", nonce_seed="row-1")
    assert marked.body["nonce"] == sign_custodial(body, key, LEDGER_ID, "c", nonce_seed="row-1").body["nonce"]


@pytest.mark.parametrize("custodial", [{"credential": ""}, {"credential": 5}, {"credential": "x", "by": "y"}, "yes",
                                       {"credential": "x" * 65}])
def test_the_ledger_refuses_a_malformed_custodial_mark(chain: HostedChain, custodial: Any) -> None:
    body = {"kind": "extract", "time": "2026-03-02T06:00:00Z", "site": MINE_SITE, "custodial": custodial,
            "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1000, "buckets": {"Co/uncertified/CD": 350}}]}
    result = chain.ledger.submit_batch([sign_event(body, key_of("mine"), ledger=LEDGER_ID)])
    assert result.rejected[0].rule == "custodial"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40) | st.sampled_from(["KGM", "ADD", "DELETE", "shipping", "receiving", "commissioning",
                                             "urn:epc:id:sgtin:4050001.000002.X", LGTIN_MINE]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents_get_verdicts_never_exceptions(fuzz_chain: HostedChain, data: st.DataObject) -> None:
    """Any value anywhere in an event: the capture answers with refusals naming a reason (or
    records what the rules accept), and never raises."""
    doc = load_doc(data.draw(st.sampled_from(["mine", "refiner", "cellmaker", "oem"])))
    events = doc["epcisBody"]["eventList"]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(events) - 1))
        path = data.draw(st.sampled_from(_paths(events[i])))
        value = data.draw(_JSON)
        if not path:
            events[i] = value
            continue
        target = events[i]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    outcome = fuzz_chain.capture_ledger(doc, "mine", behaviour=data.draw(st.sampled_from(["rollback", "proceed"])))
    for err in outcome.errors:
        assert err["reason"] and err["reason"] != "rule/internal", err
        assert isinstance(err["message"], str)


@pytest.fixture(scope="module")
def fuzz_chain(tmp_path_factory: pytest.TempPathFactory) -> HostedChain:
    return HostedChain(tmp_path_factory.mktemp("fuzz"))
