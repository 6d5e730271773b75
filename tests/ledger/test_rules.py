"""Every ledger rule refuses what it must, names itself, and leaves the log unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import Scenario
from batterytrace.model.events import SignedEvent, sign_event, signing_input
from batterytrace.timeutil import format_time, now_us
from support import Chain

CO_HYDROXIDE_PPM = 350_000


def hydroxide(buckets: dict[str, int], coc: str = "segregated") -> dict[str, Any]:
    return Scenario.material("cobalt_hydroxide", buckets, coc)


def extract_body(site: str, buckets: dict[str, int], coc: str = "segregated") -> dict[str, Any]:
    return {"kind": "extract", "site": site, "outputs": [hydroxide(buckets, coc)]}


def sulphate(buckets: dict[str, int], coc: str = "mass_balance") -> dict[str, Any]:
    return Scenario.material("cobalt_sulphate", buckets, coc)


@pytest.fixture
def c() -> Chain:
    return Chain()


def at_refinery(c: Chain, who: str = "kasonta", certified: bool = True) -> str:
    """A cobalt hydroxide lot extracted by ``who`` and received at the refinery."""
    return c.ship_and_receive(who, "kivijarvi", [c.extract(who, certified)])[0]


def lot_buckets(c: Chain, lot: str) -> dict[str, int]:
    got = c.ledger.store.get_lot(lot)
    assert got is not None
    return dict(got.buckets)


# ----------------------------------------------------------------- signatures and identity
def test_body_changed_after_signing_is_refused(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/CD": 350_000}))
    forged = SignedEvent({**ev.body, "outputs": [hydroxide({"Co/certified/CD": 700_000})]}, ev.signature)
    assert c.reject(forged).rule == "signature"


def test_signature_by_another_key_is_refused(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/CD": 350_000}))
    impostor = c.s.actors["mwelu"].signing_key
    forged = SignedEvent(ev.body, impostor.sign(signing_input(ev.event_hash)))
    assert c.reject(forged).rule == "signature"


def test_truncated_or_zero_signature_is_refused(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/CD": 350_000}))
    assert c.reject(SignedEvent(ev.body, bytes(64))).rule == "signature"
    flipped = bytes([ev.signature[0] ^ 1]) + ev.signature[1:]
    assert c.reject(SignedEvent(ev.body, flipped)).rule == "signature"


def test_unregistered_signer_is_refused(c: Chain) -> None:
    stranger = SigningKey.from_label("test/stranger")
    ev = sign_event({"kind": "extract", "time": format_time(c.s.clock), "site": "mine:kasonta",
                     "outputs": [hydroxide({"Co/certified/CD": 350_000})]}, stranger, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "registration"


@pytest.mark.parametrize(
    ("who", "body"),
    [
        ("rmap", extract_body("mine:kasonta", {"Co/uncertified/CD": 350_000})),  # auditor extracts
        ("kasonta", {"kind": "register_participant", "did": SigningKey.from_label("x").did,
                     "role": "mine", "legal_name": "X", "country": "CD"}),  # mine registers
        ("kasonta", {"kind": "attest", "scheme": "RMAP", "subject": "mine:kasonta", "level": "conformant",
                     "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"}),  # self-attestation
        ("voltara", {"kind": "recycle", "inputs": ["00" * 32 + ":0"], "outputs": []}),  # OEM recycles
    ],
)
def test_role_authorisation(c: Chain, who: str, body: dict[str, Any]) -> None:
    assert c.reject(c.sign(who, body)).rule == "authorisation"


def test_replayed_event_is_refused(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/CD": 350_000}))
    c.accept(ev)
    assert c.reject(ev).rule == "replay"


def test_replay_within_one_batch_is_refused(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/CD": 350_000}))
    result = c.ledger.submit_batch([ev, ev])
    assert len(result.accepted) == 1
    assert [r.rule for r in result.rejected] == ["replay"]


def test_event_from_the_future_is_refused(c: Chain) -> None:
    body = {**extract_body("mine:kasonta", {"Co/certified/CD": 350_000}),
            "time": format_time(now_us() + 3_600_000_000)}
    ev = sign_event(body, c.s.actors["kasonta"].signing_key, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "time.future"


# ----------------------------------------------------------------------- extraction
def test_certified_cobalt_from_an_uncertified_mine(c: Chain) -> None:
    ev = c.sign("tujenge", {"kind": "extract", "site": "mine:tujenge",
                            "outputs": [hydroxide({"Co/certified/CD": 350_000})]})
    err = c.reject(ev)
    assert err.rule == "certified.origin"
    assert "mine:tujenge" in str(err)


def test_certified_cobalt_after_the_attestation_expired(c: Chain) -> None:
    ev = c.sign("mwelu", extract_body("mine:mwelu", {"Co/certified/CD": 350_000}))
    assert c.reject(ev).rule == "certified.origin"


def test_certified_cobalt_while_the_attestation_was_valid(c: Chain) -> None:
    """Positive control for the expiry test: the same mine, dated before 2025-01-15 (back-dated by
    less than max_backdate_s from the chain's clock, 2025-01-20), is certified."""
    body = {**extract_body("mine:mwelu", {"Co/certified/CD": 350_000}), "time": "2025-01-14T12:00:00Z"}
    ev = sign_event(body, c.s.actors["mwelu"].signing_key, ledger=c.s.ledger_id)
    (lot,) = c.accept(ev)
    assert lot_buckets(c, lot) == {"Co/certified/CD": 350_000}


def test_mine_cannot_extract_recycled_material(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/recycled-post/—": 350_000}))
    assert c.reject(ev).rule == "recycled.origin"


def test_extracted_origin_country_must_be_the_mines(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:kasonta", {"Co/certified/ZA": 350_000}))
    assert c.reject(ev).rule == "origin.country"


def test_extraction_at_another_participants_site(c: Chain) -> None:
    ev = c.sign("kasonta", extract_body("mine:mwelu", {"Co/uncertified/CD": 350_000}))
    assert c.reject(ev).rule == "site"


def test_assay_must_match_buckets(c: Chain) -> None:
    out = hydroxide({"Co/certified/CD": 350_000})
    out["assay_ppm"] = {"Co": 500_000}
    ev = c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [out]})
    assert c.reject(ev).rule == "assay"


def test_contained_metal_above_gross_mass(c: Chain) -> None:
    out = hydroxide({"Co/certified/CD": 350_000})
    out["gross_mass_g"] = 100_000
    del out["assay_ppm"]
    ev = c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [out]})
    assert c.reject(ev).rule == "assay"


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"seals": ["A", "A"]}, "evidence.seals"),
        ({"sensors": [{"type": "Temperature", "value": "hot", "uom": "CEL"}]}, "evidence.sensor"),
        ({"location": {"lat": 123.0, "lon": 0.0}}, "evidence.location"),
    ],
)
def test_malformed_physical_evidence(c: Chain, change: dict[str, Any], rule: str) -> None:
    ev = c.sign("kasonta", {**extract_body("mine:kasonta", {"Co/certified/CD": 350_000}), **change})
    assert c.reject(ev).rule == rule


def test_malformed_assay_certificate_hash(c: Chain) -> None:
    out = hydroxide({"Co/certified/CD": 350_000})
    out["assay_cert_sha256"] = "not-a-hash"
    ev = c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [out]})
    assert c.reject(ev).rule == "evidence.assay_cert"


@pytest.mark.parametrize(
    "buckets",
    [{"Co/certified/CD": -5}, {"Co/certified/CD": 1.5}, {"Xx/certified/CD": 5}, {"Co/blessed/CD": 5}, {"Co": 5}],
)
def test_malformed_buckets_are_schema_errors(c: Chain, buckets: dict[str, Any]) -> None:
    out = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": buckets}
    ev = c.sign("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [out]})
    assert c.reject(ev).rule == "schema"


# -------------------------------------------------------------------- custody and spending
def test_signer_who_is_not_the_custodian(c: Chain) -> None:
    lot = c.extract("kasonta")
    ev = c.sign("mwelu", {"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot]})
    assert c.reject(ev).rule == "custody"


def test_double_spend(c: Chain) -> None:
    lot = c.extract("kasonta")
    c.ship_and_receive("kasonta", "kivijarvi", [lot])  # the receipt consumed the original lot
    ev = c.sign("kasonta", {"kind": "ship", "to": c.did("aurelia"), "lots": [lot]})
    assert c.reject(ev).rule == "unspent"


def test_double_spend_within_one_batch(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)
    a = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                             "outputs": [sulphate(held, "segregated")]})
    b = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                             "outputs": [sulphate(held, "segregated")], "note": "second"})
    result = c.ledger.submit_batch([a, b])
    assert len(result.accepted) == 1
    assert [r.rule for r in result.rejected] == ["unspent"]


def test_input_listed_twice(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot, lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({k: 2 * v for k, v in held.items()}, "segregated")]})
    assert c.reject(ev).rule == "unspent"


def test_unknown_lot(c: Chain) -> None:
    ev = c.sign("kasonta", {"kind": "ship", "to": c.did("kivijarvi"), "lots": ["ab" * 32 + ":0"]})
    assert c.reject(ev).rule == "unknown-lot"


def test_lot_in_transit_cannot_be_used(c: Chain) -> None:
    lot = c.extract("kasonta")
    c.accept(c.sign("kasonta", {"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot]}))
    again = c.sign("kasonta", {"kind": "ship", "to": c.did("aurelia"), "lots": [lot]})
    assert c.reject(again).rule == "in-transit"


def test_per_lot_time_order(c: Chain) -> None:
    lot = c.extract("kasonta")
    stored = c.ledger.store.get_lot(lot)
    assert stored is not None
    before = format_time(stored.created_at - 3_600_000_000)  # within max_backdate_s, before the lot existed
    ev = sign_event({"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot], "time": before},
                    c.s.actors["kasonta"].signing_key, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "time.order"


# --------------------------------------------------------------------------- receipt
def ship(c: Chain, lot: str, seals: list[str], gross: int) -> SignedEvent:
    ev = c.sign("kasonta", {"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot], "seals": seals,
                            "gross_mass_g": gross})
    c.accept(ev)
    return ev


def receipt(c: Chain, shipment: SignedEvent, lot: str, seals: list[str], gross: int,
            buckets: dict[str, int], loss: dict[str, int] | None = None, **more: Any) -> SignedEvent:
    body: dict[str, Any] = {"kind": "receive", "shipment": shipment.hash_hex, "lots": [lot], "seals": seals,
                            "gross_mass_g": gross, "site": "plant:kivijarvi",
                            "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": gross, "buckets": buckets,
                                         "coc_model": "segregated"}], **more}
    if loss:
        body["loss"] = loss
    return c.sign("kivijarvi", body)


def test_receipt_must_present_the_shipped_seals(c: Chain) -> None:
    lot = c.extract("kasonta")
    shp = ship(c, lot, ["SEAL-1", "SEAL-2"], 1_000_000)
    ev = receipt(c, shp, lot, ["SEAL-1"], 1_000_000, lot_buckets(c, lot))
    assert c.reject(ev).rule == "receipt.seals"
    ev = receipt(c, shp, lot, ["SEAL-1", "SEAL-X"], 1_000_000, lot_buckets(c, lot))
    assert c.reject(ev).rule == "receipt.seals"
    c.accept(receipt(c, shp, lot, ["SEAL-2", "SEAL-1"], 1_000_000, lot_buckets(c, lot)))


def test_weighbridge_discrepancy_must_be_declared(c: Chain) -> None:
    lot = c.extract("kasonta")
    shp = ship(c, lot, ["S"], 1_000_000)
    ev = receipt(c, shp, lot, ["S"], 980_000, lot_buckets(c, lot))
    assert c.reject(ev).rule == "receipt.weighbridge"


def test_receipt_loss_above_tolerance_is_refused_then_recorded(c: Chain) -> None:
    lot = c.extract("kasonta")
    held = lot_buckets(c, lot)["Co/certified/CD"]
    shp = ship(c, lot, ["S"], 1_000_000)
    lost = held * 2 // 100  # 2 % > 0.5 % tolerance
    ev = receipt(c, shp, lot, ["S"], 980_000, {"Co/certified/CD": held - lost}, {"Co/certified/CD": lost})
    assert c.reject(ev).rule == "receipt.weighbridge"
    ev = receipt(c, shp, lot, ["S"], 999_000, {"Co/certified/CD": held - lost}, {"Co/certified/CD": lost})
    assert c.reject(ev).rule == "receipt.tolerance"
    ok = receipt(c, shp, lot, ["S"], 980_000, {"Co/certified/CD": held - lost}, {"Co/certified/CD": lost},
                 discrepancy="bag torn at the border post; spillage recovered as waste")
    (new,) = c.accept(ok)
    got = c.ledger.store.get_lot(new)
    assert got is not None and got.buckets == {"Co/certified/CD": held - lost}
    assert got.extra["discrepancy"]["loss"] == {"Co/certified/CD": lost}


def test_receipt_by_someone_else(c: Chain) -> None:
    lot = c.extract("kasonta")
    shp = ship(c, lot, ["S"], 1_000_000)
    body = {"kind": "receive", "shipment": shp.hash_hex, "lots": [lot], "seals": ["S"], "gross_mass_g": 1_000_000,
            "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": lot_buckets(c, lot)}]}
    assert c.reject(c.sign("aurelia", body)).rule == "custody"


def test_receipt_cannot_transform(c: Chain) -> None:
    lot = c.extract("kasonta")
    shp = ship(c, lot, ["S"], 1_000_000)
    body: dict[str, Any] = {"kind": "receive", "shipment": shp.hash_hex, "lots": [lot], "seals": ["S"],
                            "gross_mass_g": 1_000_000, "site": "plant:kivijarvi",
                            "outputs": [{"form": "cobalt_sulphate", "gross_mass_g": 1_000_000,
                                         "buckets": lot_buckets(c, lot), "coc_model": "segregated"}]}
    assert c.reject(c.sign("kivijarvi", body)).rule == "receipt.form"


# ------------------------------------------------------------------- transformation
def test_mass_created_in_a_transform(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)["Co/certified/CD"]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held + 1_000}, "segregated")]})
    err = c.reject(ev)
    assert err.rule == "balance"
    assert "created" in str(err)


def test_mass_that_disappears_unbooked(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)["Co/certified/CD"]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held - 1_000}, "segregated")]})
    assert c.reject(ev).rule == "balance"


def test_loss_above_tolerance(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)["Co/certified/CD"]
    lost = held * 8 // 100  # 8 % > 5 % for refining
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held - lost}, "segregated")],
                              "loss": {"Co/certified/CD": lost}})
    assert c.reject(ev).rule == "loss.tolerance"
    lost = held * 3 // 100
    ok = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held - lost}, "segregated")],
                              "loss": {"Co/certified/CD": lost}})
    c.accept(ok)


def test_negative_loss_is_refused(c: Chain) -> None:
    lot = at_refinery(c)
    held = lot_buckets(c, lot)["Co/certified/CD"]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held + 10}, "segregated")],
                              "loss": {"Co/certified/CD": -10}})
    assert c.reject(ev).rule == "schema"


def test_recycled_bucket_outside_a_recycle_event(c: Chain) -> None:
    lot = at_refinery(c, "tujenge", certified=False)
    held = lot_buckets(c, lot)["Co/uncertified/CD"]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/uncertified/CD": held - 1000, "Co/recycled-post/—": 1000})]})
    assert c.reject(ev).rule == "recycled.origin"


def test_mass_balance_cannot_upgrade_uncertified_to_certified(c: Chain) -> None:
    cert = at_refinery(c, "kasonta", certified=True)
    unc = at_refinery(c, "tujenge", certified=False)
    a, b = lot_buckets(c, cert)["Co/certified/CD"], lot_buckets(c, unc)["Co/uncertified/CD"]
    # two outputs whose per-bucket totals are conserved are fine (mass balance)...
    ok_outputs = [sulphate({"Co/certified/CD": a // 2, "Co/uncertified/CD": b // 2}),
                  sulphate({"Co/certified/CD": a - a // 2, "Co/uncertified/CD": b - b // 2})]
    # ...but shifting grams from the uncertified bucket to the certified one is not
    bad = [sulphate({"Co/certified/CD": a + 5_000}), sulphate({"Co/uncertified/CD": b - 5_000})]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [cert, unc], "site": "plant:kivijarvi", "outputs": bad})
    assert c.reject(ev).rule == "balance"
    c.accept(c.sign("kivijarvi", {"kind": "transform", "inputs": [cert, unc], "site": "plant:kivijarvi",
                                  "outputs": ok_outputs}))


def test_certified_bucket_cannot_appear_in_processing(c: Chain) -> None:
    unc = at_refinery(c, "tujenge", certified=False)
    held = lot_buckets(c, unc)["Co/uncertified/CD"]
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [unc], "site": "plant:kivijarvi",
                              "outputs": [sulphate({"Co/certified/CD": held})]})
    assert c.reject(ev).rule == "certified.origin"


def test_bucket_mixing_under_a_segregated_model(c: Chain) -> None:
    cert = at_refinery(c, "kasonta", certified=True)
    # an uncertified mine that also runs segregated custody
    spec = hydroxide({"Co/uncertified/CD": 350_000}, "segregated")
    (raw,) = c.accept_tracked("tujenge", {"kind": "extract", "site": "mine:tujenge", "outputs": [spec]})
    unc = c.ship_and_receive("tujenge", "kivijarvi", [raw])[0]
    mixed = {**lot_buckets(c, cert), **lot_buckets(c, unc)}
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [cert, unc], "site": "plant:kivijarvi",
                              "outputs": [sulphate(mixed, "segregated")]})
    assert c.reject(ev).rule == "coc.segregated"
    # kept apart, the same inputs are accepted under segregation
    c.accept(c.sign("kivijarvi", {"kind": "transform", "inputs": [cert, unc], "site": "plant:kivijarvi",
                                  "outputs": [sulphate(lot_buckets(c, cert), "segregated"),
                                              sulphate(lot_buckets(c, unc), "segregated")]}))


def test_output_cannot_claim_a_stronger_custody_model(c: Chain) -> None:
    unc = at_refinery(c, "tujenge", certified=False)  # mass_balance input
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [unc], "site": "plant:kivijarvi",
                              "outputs": [sulphate(lot_buckets(c, unc), "segregated")]})
    assert c.reject(ev).rule == "coc.model"


# ------------------------------------------------------------------------- hierarchy
CELL = {"Co/certified/CD": 36, "Ni/certified/ID": 290}


@pytest.fixture
def cells(c: Chain) -> list[str]:
    """Four cells made from certified material, held by the OEM."""
    co = at_refinery(c, "kasonta")
    tan = c.s.extract("tanjung", "mixed_hydroxide_precipitate", 100_000, True, 11.5, True)
    c.flush()
    (ni,) = c.ship_and_receive("tanjung", "kivijarvi", [tan])
    pool = {**lot_buckets(c, co), **lot_buckets(c, ni)}
    rest = {k: v - 4 * CELL.get(k, 0) for k, v in pool.items()}
    outputs = [{"form": "cell", "gross_mass_g": 1_450, "buckets": dict(CELL), "coc_model": "segregated", **c.product_id()}
               for _ in range(4)]
    outputs.append({"form": "residue", "gross_mass_g": 2_000_000, "buckets": rest, "coc_model": "segregated"})
    made = c.accept_tracked("nordcell", {"kind": "transform", "inputs": c.to_cell_maker([co, ni]), "site": "plant:nordcell",
                                         "outputs": outputs})
    return c.ship_and_receive("nordcell", "voltara", made[:4])


def aggregate(c: Chain, inputs: list[str], form: str, gross: int, loss: dict[str, int] | None = None) -> SignedEvent:
    buckets: dict[str, int] = {}
    for lot in inputs:
        for k, v in lot_buckets(c, lot).items():
            buckets[k] = buckets.get(k, 0) + v
    body: dict[str, Any] = {"kind": "aggregate", "inputs": inputs, "site": "plant:voltara",
                            "outputs": [{"form": form, "gross_mass_g": gross, "buckets": buckets, **c.product_id("A")}]}
    if loss:
        body["loss"] = loss
    return c.sign("voltara", body)


def test_aggregation_hierarchy(c: Chain, cells: list[str]) -> None:
    assert c.reject(aggregate(c, cells, "cell", 10_000)).rule == "aggregation.hierarchy"
    (module,) = c.accept(aggregate(c, cells[:2], "module", 5_000))
    assert c.reject(aggregate(c, [module, cells[2]], "module", 10_000)).rule == "aggregation.hierarchy"
    (pack,) = c.accept(aggregate(c, [module, cells[2]], "pack", 50_000))
    got = c.ledger.store.get_lot(pack)
    assert got is not None and got.extra["children"] == sorted([module, cells[2]])


def test_parent_lighter_than_children(c: Chain, cells: list[str]) -> None:
    assert c.reject(aggregate(c, cells, "module", 5_000)).rule == "aggregation.mass"  # cells weigh 5,800 g


def test_aggregation_loses_nothing(c: Chain, cells: list[str]) -> None:
    ev = aggregate(c, cells, "module", 10_000, loss={"Co/certified/CD": 1})
    assert c.reject(ev).rule == "balance"


def test_transform_cannot_make_packs(c: Chain) -> None:
    cert = at_refinery(c)
    ev = c.sign("kivijarvi", {"kind": "transform", "inputs": [cert], "site": "plant:kivijarvi",
                              "outputs": [{"form": "pack", "gross_mass_g": 2_000_000,
                                           "buckets": lot_buckets(c, cert), "coc_model": "segregated"}]})
    assert c.reject(ev).rule == "aggregation.hierarchy"


def test_refiner_may_not_aggregate(c: Chain) -> None:
    cert = at_refinery(c)
    ev = c.sign("kivijarvi", {"kind": "aggregate", "inputs": [cert], "site": "plant:kivijarvi",
                              "outputs": [{"form": "pack", "gross_mass_g": 2_000_000,
                                           "buckets": lot_buckets(c, cert)}]})
    assert c.reject(ev).rule == "authorisation"


# --------------------------------------------------------------------------- recycling
def test_pack_must_be_waste_before_recycling(c: Chain, cells: list[str]) -> None:
    (module,) = c.accept(aggregate(c, cells, "module", 10_000))
    (pack,) = c.accept(aggregate(c, [module], "pack", 60_000))
    c.accept(c.sign("voltara", {"kind": "lifecycle", "lot": pack, "status": "original"}))  # placed on the market
    shp = c.sign("voltara", {"kind": "ship", "to": c.did("circulon"), "lots": [pack]})
    c.accept(shp)
    held = lot_buckets(c, pack)
    (at_recycler,) = c.accept(c.sign("circulon", {
        "kind": "receive", "shipment": shp.hash_hex, "lots": [pack], "site": "plant:circulon",
        "outputs": [{"form": "pack", "gross_mass_g": 60_000, "buckets": held}]}))
    recovered = {"Co/recycled-post/—": 4 * 36 * 95 // 100, "Ni/recycled-post/—": 4 * 290 * 95 // 100}
    loss = {"Co/recycled-post/—": 4 * 36 - recovered["Co/recycled-post/—"],
            "Ni/recycled-post/—": 4 * 290 - recovered["Ni/recycled-post/—"]}
    body = {"kind": "recycle", "inputs": [at_recycler], "site": "plant:circulon", "loss": loss,
            "outputs": [{"form": "black_mass", "gross_mass_g": 5_000, "buckets": recovered}]}
    assert c.reject(c.sign("circulon", body)).rule == "recycled.end-of-life"
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": at_recycler, "status": "waste"}))
    wrong = {**body, "outputs": [{"form": "black_mass", "gross_mass_g": 5_000,
                                  "buckets": {"Co/recycled-pre/—": recovered["Co/recycled-post/—"],
                                              "Ni/recycled-post/—": recovered["Ni/recycled-post/—"]}}]}
    assert c.reject(c.sign("circulon", wrong)).rule == "recycled.origin"
    greedy = {**body, "loss": {k: v * 10 for k, v in loss.items()},
              "outputs": [{"form": "black_mass", "gross_mass_g": 5_000,
                           "buckets": {k: 4 * g - 10 * (4 * g - r)
                                       for (k, r), g in zip(recovered.items(), (36, 290), strict=True)}}]}
    assert c.reject(c.sign("circulon", greedy)).rule == "loss.tolerance"
    (black_mass,) = c.accept(c.sign("circulon", body))
    got = c.ledger.store.get_lot(black_mass)
    assert got is not None and got.buckets == recovered
    assert got.extra["recycled_from"] == [at_recycler]
