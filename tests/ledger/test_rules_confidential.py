"""Confidential mode: events carry commitments and proofs; the rules verify them and refuse,
naming the rule, every forged, tampered, mixed or malformed event (the log stays unchanged)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from batterytrace.crypto.zk import (
    QUANTITY_BITS,
    ElementBalanceProof,
    L,
    Opening,
    commit,
    element_context,
    loss_bound,
    prove_kernel,
    prove_linear,
    prove_range,
    random_opening,
    verify_kernel,
)
from batterytrace.errors import RuleViolationError
from batterytrace.ledger import rules_material as rm
from batterytrace.ledger.confidential import (
    binding_hash,
    contained_context,
    contained_statement,
    public_openings,
)
from batterytrace.ledger.confidential_client import prove_event
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.timeutil import format_time
from conf_support import CO_G, ConfChain, hydroxide, sulphate


@pytest.fixture
def c() -> ConfChain:
    chain = ConfChain()
    chain.lot = chain.conf_at_refinery()
    return chain


def lot_of(c: ConfChain, lot_id: str) -> Any:
    got = c.ledger.store.get_lot(lot_id)
    assert got is not None
    return got


def transform_body(c: ConfChain, lot: str, out_g: int, loss_g: int, key: str = "Co/certified/CD") -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "transform", "inputs": [lot], "outputs": [sulphate({key: out_g})], "site": "plant:kivijarvi"}
    if loss_g:
        body["loss"] = {key: loss_g}
    return body


def tamper(ev: SignedEvent, who_key: Any, change: Any) -> SignedEvent:
    """Apply ``change`` to a deep copy of the body and re-sign it (the signer is the cheat)."""
    body = copy.deepcopy(ev.body)
    change(body)
    body.pop("actor")
    return sign_event(body, who_key, ledger=str(body.get("ledger", ev.ledger)))


# ------------------------------------------------------------------------- happy paths
def test_confidential_chain_is_accepted_and_lots_hold_commitments_only(c: ConfChain) -> None:
    lot = lot_of(c, c.lot)
    assert lot.buckets == {} and set(lot.commitments) == {"Co/certified/CD"}
    proved = c.prove("kivijarvi", transform_body(c, lot.lot_id, CO_G - 10_000, 10_000), [lot.lot_id], c.transform_tol())
    assert "buckets" not in str(proved.event.body["outputs"]) and "350000" not in str(proved.event.body)
    [out] = c.keep(proved)
    got = lot_of(c, out)
    assert got.commitments["Co/certified/CD"] == commit(CO_G - 10_000, proved.outputs[0]["Co/certified/CD"].blinding).hex()
    assert got.buckets == {} and got.made_by == "transform"


def test_receipt_with_unchanged_commitments_needs_no_proof(c: ConfChain) -> None:
    src = lot_of(c, c.lot)
    ship = c.ship("kivijarvi", "aurelia", [src.lot_id])
    proved = c.prove("aurelia", c.receipt_body(ship, "aurelia", [hydroxide({"Co/certified/CD": CO_G})]), [src.lot_id])
    assert "proofs" not in proved.event.body and "loss" not in proved.event.body
    [out] = c.keep(proved)
    assert lot_of(c, out).commitments == src.commitments


def test_receipt_with_committed_loss_within_tolerance(c: ConfChain) -> None:
    src = c.lot
    ship = c.ship("kivijarvi", "aurelia", [src])
    body = c.receipt_body(ship, "aurelia", [hydroxide({"Co/certified/CD": CO_G - 1_000})], loss={"Co/certified/CD": 1_000})
    proved = c.prove("aurelia", body, [src], 5)
    assert set(proved.event.body["proofs"]) == set(proved.event.body["loss"]) == {"0:Co/certified/CD"}
    c.keep(proved)


def test_receipt_loss_above_tolerance_needs_a_discrepancy(c: ConfChain) -> None:
    src = c.lot
    ship = c.ship("kivijarvi", "aurelia", [src])
    body = c.receipt_body(ship, "aurelia", [hydroxide({"Co/certified/CD": CO_G - 20_000})], loss={"Co/certified/CD": 20_000})
    with pytest.raises(ValueError):
        c.prove("aurelia", body, [src], 5)  # an honest prover cannot prove it
    cheat = c.prove("aurelia", body, [src], 1000)  # proved against a looser tolerance
    err = c.reject(cheat.event)
    assert err.rule == "zk.loss" and "loss-bound" in err.detail
    c.keep(c.prove("aurelia", {**body, "discrepancy": "bag torn in transit"}, [src], 1000))


def test_aggregate_and_recycle_confidential(c: ConfChain) -> None:
    # cells at the cell maker from the refined cobalt
    held = c.at_cell_maker()
    cells_body = {"kind": "transform", "inputs": [held], "site": "plant:nordcell", "outputs": [
        {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/certified/CD": 200_000}, "coc_model": "mass_balance", **c.product_id()},
        {"form": "cell", "gross_mass_g": 500_000, "buckets": {"Co/certified/CD": 149_000}, "coc_model": "mass_balance", **c.product_id()},
    ], "loss": {"Co/certified/CD": 1_000}}
    cells = c.keep(c.prove("nordcell", cells_body, [held], 50))
    module = {"kind": "aggregate", "inputs": cells, "site": "plant:nordcell", "outputs": [
        {"form": "module", "gross_mass_g": 1_200_000, "buckets": {"Co/certified/CD": 349_000}, "coc_model": "mass_balance", **c.product_id("M")}]}
    lost = c.prove("nordcell", {**module, "loss": {"Co/certified/CD": 1}, "outputs": [
        {**module["outputs"][0], "buckets": {"Co/certified/CD": 348_999}}]}, cells, 1000)
    assert c.reject(lost.event).rule == "zk.loss"  # aggregation loses nothing: tolerance 0
    [mod] = c.keep(c.prove("nordcell", module, cells))
    c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": mod, "status": "original"}))  # sold as a spare part
    ship2 = c.ship("nordcell", "circulon", [mod])
    [at_recycler] = c.keep(c.prove("circulon", c.receipt_body(ship2, "circulon", [module["outputs"][0]]), [mod]))
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": at_recycler, "status": "waste"}))
    rec = {"kind": "recycle", "inputs": [at_recycler], "site": "plant:circulon", "outputs": [
        {"form": "cobalt_sulphate", "gross_mass_g": 1_500_000, "buckets": {"Co/recycled-post/—": 330_000}, "coc_model": "mass_balance"}],
        "loss": {"Co/recycled-post/—": 19_000}}
    [out] = c.keep(c.prove("circulon", rec, [at_recycler], 100))
    assert set(lot_of(c, out).commitments) == {"Co/recycled-post/—"}


# -------------------------------------------------------------------------------- attacks
def test_hidden_negative_output_inflating_mass_is_refused(c: ConfChain) -> None:
    """Outputs 360 000 g and −10 000 g (ℓ − 10 000) balance the 350 000 g input: the kernel
    holds, no range proof exists, so the forger reuses one over other values and is caught."""
    lot = c.lot
    body = {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi", "outputs": [
        sulphate({"Co/certified/CD": CO_G + 10_000}), sulphate({"Co/certified/CD": L - 10_000})]}
    with pytest.raises(ValueError):
        c.prove("kivijarvi", body, [lot], 50)  # an honest prover cannot
    key = "Co/certified/CD"
    signer = c.s.actors["kivijarvi"].signing_key
    c_in = c.openings[lot][key]
    outs = [random_opening(CO_G + 10_000), random_opening(L - 10_000)]
    loss = random_opening(0)
    forged: dict[str, Any] = {**body, "actor": signer.did, "nonce": "n-1", "v": 1, "ledger": c.s.ledger_id, "time": format_time(c.s.clock + 1)}
    forged["outputs"] = [{k: v for k, v in sulphate({}).items() if k != "buckets"} | {"commitments": {key: o.commitment().hex()}} for o in outs]
    forged["loss"] = {key: loss.commitment().hex()}
    ctx = element_context(binding_hash(forged), key)
    points = [o.commitment() for o in outs]
    e = (c_in.blinding - outs[0].blinding - outs[1].blinding - loss.blinding) % L
    kernel = prove_kernel(e, [c_in.commitment()], points, loss.commitment(), ctx)
    verify_kernel(kernel, [c_in.commitment()], points, loss.commitment(), ctx)  # the kernel holds
    ranges, _ = prove_range([CO_G + 10_000, 0, 0], [o.blinding for o in [*outs, loss]], QUANTITY_BITS, ctx)
    bound, _ = prove_linear(loss_bound(50, 1), [c_in, loss], ctx)
    forged["proofs"] = {key: ElementBalanceProof(kernel, ranges, bound).to_wire()}
    forged["contained"] = c.prove("kivijarvi", transform_body(c, lot, CO_G, 0), [lot], 50).event.body["contained"] * 2
    err = c.reject(sign_event(forged, signer, ledger=c.s.ledger_id))
    assert err.rule == "zk.range" and key in err.detail
    c.keep(c.prove("kivijarvi", transform_body(c, lot, CO_G, 0), [lot], 50))  # the honest event


def test_proof_replayed_from_another_event_is_refused(c: ConfChain) -> None:
    lot = c.lot
    first = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    second = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    replay = tamper(second.event, c.s.actors["kivijarvi"].signing_key,
                    lambda b: b.update(outputs=first.event.body["outputs"], loss=first.event.body["loss"], proofs=first.event.body["proofs"]))
    assert binding_hash(replay.body) != binding_hash(first.event.body)
    err = c.reject(replay)
    assert err.rule == "zk.balance" and "Co/certified/CD" in err.detail
    c.keep(first)


def test_commitment_swapped_after_proving_is_refused(c: ConfChain) -> None:
    lot = c.lot
    proved = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    key = c.s.actors["kivijarvi"].signing_key
    other = random_opening(CO_G - 5_000).commitment().hex()
    for change in (
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": other}),
        lambda b: b["loss"].update({"Co/certified/CD": random_opening(5_000).commitment().hex()}),
        lambda b: b.update(nonce="another-nonce"),
        lambda b: b["outputs"][0].update(gross_mass_g=1_700_000),
    ):
        assert c.reject(tamper(proved.event, key, change)).rule == "zk.balance"


@pytest.mark.parametrize("part", ["kernel", "range", "loss_bound"])
def test_every_tampered_proof_byte_is_refused(c: ConfChain, part: str) -> None:
    lot = c.lot
    proved = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    key = c.s.actors["kivijarvi"].signing_key

    def flip(b: dict[str, Any]) -> None:
        text = b["proofs"]["Co/certified/CD"][part]
        b["proofs"]["Co/certified/CD"][part] = text[:-2] + format(int(text[-2:], 16) ^ 1, "02x")

    assert c.reject(tamper(proved.event, key, flip)).rule in ("zk.balance", "zk.range", "zk.loss", "zk.malformed")


def test_committed_loss_above_tolerance_is_refused(c: ConfChain) -> None:
    lot = c.lot
    body = transform_body(c, lot, CO_G - 60_000, 60_000)  # 171 ‰ > 50 ‰
    with pytest.raises(ValueError):
        c.prove("kivijarvi", body, [lot], c.transform_tol())
    err = c.reject(c.prove("kivijarvi", body, [lot], 200).event)
    assert err.rule == "zk.loss" and "50‰" in err.detail


def test_mixed_mode_is_refused(c: ConfChain) -> None:
    plain = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])[0]
    conf = c.lot
    both = c.prove("kivijarvi", transform_body(c, conf, CO_G, 0), [conf], 50)
    # plain stock slipped into a proved confidential transform: its grams enter the balance
    mixed_inputs = tamper(both.event, c.s.actors["kivijarvi"].signing_key, lambda b: b.update(inputs=[conf, plain]))
    assert c.reject(mixed_inputs).rule == "zk.balance"
    # a plain transform consuming a confidential lot
    plain_body = {"kind": "transform", "inputs": [conf], "outputs": [sulphate({"Co/certified/CD": CO_G})], "site": "plant:kivijarvi"}
    assert c.reject(c.sign("kivijarvi", plain_body)).rule == "zk.mixed-mode"
    # a confidential transform may consume plain stock, but only at its public grams (blinding 0)
    fake = {"Co/certified/CD": random_opening(350_000)}
    c.openings[plain] = fake
    assert c.reject(c.prove("kivijarvi", transform_body(c, plain, CO_G, 0), [plain], 50).event).rule == "zk.balance"
    # grams next to commitments in one event
    grams = tamper(both.event, c.s.actors["kivijarvi"].signing_key,
                   lambda b: b["outputs"].append(sulphate({"Co/certified/CD": 1})))
    assert c.reject(grams).rule == "zk.mixed-mode"
    # shipping plain and confidential lots together
    ship = c.sign("kivijarvi", {"kind": "ship", "to": c.did("aurelia"), "lots": [plain, conf]})
    assert c.reject(ship).rule == "zk.mixed-mode"


def test_certified_key_from_an_uncertified_mine_is_refused(c: ConfChain) -> None:
    body = {"kind": "extract", "site": "mine:mwelu", "outputs": [hydroxide({"Co/certified/CD": CO_G})]}
    err = c.reject(c.prove("mwelu", body).event)
    assert err.rule == "certified.origin"
    body = {"kind": "extract", "site": "mine:mwelu", "outputs": [hydroxide({"Co/uncertified/CD": CO_G}, coc="mass_balance")]}
    lot = c.keep(c.prove("mwelu", body))[0]
    # relabelling the uncertified bucket as certified downstream is refused too
    ship = c.ship("mwelu", "kivijarvi", [lot])
    [held] = c.keep(c.prove("kivijarvi", c.receipt_body(ship, "kivijarvi", [hydroxide({"Co/uncertified/CD": CO_G}, coc="mass_balance")]), [lot]))
    c.openings[held] = {"Co/certified/CD": c.openings[held]["Co/uncertified/CD"]}
    err = c.reject(c.prove("kivijarvi", transform_body(c, held, CO_G, 0), [held], 50).event)
    assert err.rule == "certified.origin"


def test_extraction_range_proofs_are_checked(c: ConfChain) -> None:
    proved = c.prove("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [hydroxide({"Co/certified/CD": CO_G})]})
    key = c.s.actors["kasonta"].signing_key
    neg = commit(L - 5, 12345).hex()
    swapped = tamper(proved.event, key, lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": neg}))
    assert c.reject(swapped).rule == "zk.range"
    assert c.reject(tamper(proved.event, key, lambda b: b.pop("proofs"))).rule == "zk.malformed"
    assert c.reject(tamper(proved.event, key, lambda b: b["outputs"][0].update(assay_ppm={"Co": 350_000}))).rule == "zk.malformed"


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": "zz"}),
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": "00" * 32}),  # identity
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": "ff" * 32}),  # not canonical
        lambda b: b["outputs"][0].update(commitments={}),
        lambda b: b["outputs"][0].update(commitments={"not a key": "00"}),
        lambda b: b["proofs"]["Co/certified/CD"].update(kernel="00"),
        lambda b: b["proofs"]["Co/certified/CD"].pop("range"),
        lambda b: b["proofs"].update({"Ni/uncertified/CD": b["proofs"]["Co/certified/CD"]}),
        lambda b: b.pop("loss"),
        lambda b: b.update(proofs=[]),
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": b["outputs"][0]["commitments"]["Co/certified/CD"].upper()}),
        lambda b: b["outputs"][0]["commitments"].update({"Co/certified/CD": 7}),
    ],
)
def test_malformed_confidential_events_are_refused(c: ConfChain, change: Any) -> None:
    lot = c.lot
    proved = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    assert c.reject(tamper(proved.event, c.s.actors["kivijarvi"].signing_key, change)).rule == "zk.malformed"


def test_created_and_dropped_buckets_are_refused(c: ConfChain) -> None:
    lot = c.lot
    key = c.s.actors["kivijarvi"].signing_key
    proved = c.prove("kivijarvi", transform_body(c, lot, CO_G - 5_000, 5_000), [lot], 50)
    extra = random_opening(5).commitment().hex()
    created = tamper(proved.event, key, lambda b: b["outputs"][0]["commitments"].update({"Co/uncertified/CD": extra}))
    assert c.reject(created).rule == "zk.balance"
    ship = c.ship("kivijarvi", "aurelia", [lot])
    output = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "coc_model": "segregated", "commitments": {"Co/uncertified/CD": extra}}
    dropped = c.sign("aurelia", c.receipt_body(ship, "aurelia", [output]))
    err = c.reject(dropped)
    assert err.rule == "zk.balance" and "keep the bucket keys" in err.detail


def cells_and_module(c: ConfChain) -> tuple[list[str], str]:
    held = c.at_cell_maker()
    cells_body = {"kind": "transform", "inputs": [held], "site": "plant:nordcell", "outputs": [
        {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/certified/CD": 200_000}, "coc_model": "mass_balance", **c.product_id()},
        {"form": "cell", "gross_mass_g": 500_000, "buckets": {"Co/certified/CD": 150_000}, "coc_model": "mass_balance", **c.product_id()},
    ]}
    cells = c.keep(c.prove("nordcell", cells_body, [held], 50))
    module = {"kind": "aggregate", "inputs": cells, "site": "plant:nordcell", "outputs": [
        {"form": "module", "gross_mass_g": 1_200_000, "buckets": {"Co/certified/CD": CO_G}, "coc_model": "mass_balance", **c.product_id("M")}]}
    [mod] = c.keep(c.prove("nordcell", module, cells))
    return cells, mod


def test_disaggregation_balances_with_zero_loss(c: ConfChain) -> None:
    _, mod = cells_and_module(c)
    parts = {"kind": "disaggregate", "inputs": [mod], "site": "plant:nordcell", "outputs": [
        {"form": "cell", "gross_mass_g": 600_000, "buckets": {"Co/certified/CD": 200_000}, "coc_model": "mass_balance", **c.product_id()},
        {"form": "cell", "gross_mass_g": 500_000, "buckets": {"Co/certified/CD": 150_000}, "coc_model": "mass_balance", **c.product_id()}]}
    lossy = {**parts, "outputs": [parts["outputs"][0], {**parts["outputs"][1], "buckets": {"Co/certified/CD": 149_000}}],
             "loss": {"Co/certified/CD": 1_000}}
    assert c.reject(c.prove("nordcell", lossy, [mod], 1000).event).rule == "zk.loss"
    inflated = {**parts, "outputs": [parts["outputs"][0], {**parts["outputs"][1], "buckets": {"Co/certified/CD": 151_000}}]}
    with pytest.raises(ValueError):
        c.prove("nordcell", inflated, [mod])
    out = c.keep(c.prove("nordcell", parts, [mod]))
    assert lot_of(c, out[0]).extra["disaggregated_from"] == mod


def test_recycling_rules_on_keys_still_apply(c: ConfChain) -> None:
    _, mod = cells_and_module(c)
    c.accept(c.sign("nordcell", {"kind": "lifecycle", "lot": mod, "status": "original"}))
    ship = c.ship("nordcell", "circulon", [mod])
    [held] = c.keep(c.prove("circulon", c.receipt_body(ship, "circulon", [
        {"form": "module", "gross_mass_g": 1_200_000, "buckets": {"Co/certified/CD": CO_G}, "coc_model": "mass_balance"}]), [mod]))
    c.accept(c.sign("circulon", {"kind": "lifecycle", "lot": held, "status": "waste"}))
    out = {"form": "cobalt_sulphate", "gross_mass_g": 1_500_000, "coc_model": "mass_balance"}
    pre = {"kind": "recycle", "inputs": [held], "site": "plant:circulon",
           "outputs": [{**out, "buckets": {"Co/recycled-pre/—": 340_000}}], "loss": {"Co/recycled-pre/—": 10_000}}
    assert c.reject(c.prove("circulon", pre, [held], 100).event).rule == "recycled.origin"
    two = {**pre, "outputs": [{**out, "buckets": {"Co/recycled-post/—": 340_000}},
                              {**out, "buckets": {"Ni/recycled-post/—": 0}}], "loss": {"Co/recycled-post/—": 10_000}}
    with pytest.raises(RuleViolationError, match="without an input bucket"):
        c.prove("circulon", two, [held], 100)  # the prover's grouping refuses it too
    forged = c.prove("circulon", {**two, "outputs": two["outputs"][:1]}, [held], 100)
    extra = tamper(forged.event, c.s.actors["circulon"].signing_key, lambda b: b["outputs"].append(
        {**out, "commitments": {"Ni/recycled-post/—": random_opening(0).commitment().hex()}}))
    assert c.reject(extra).rule == "zk.balance"
    lossy = {**pre, "outputs": [{**out, "buckets": {"Co/recycled-post/—": 300_000}}], "loss": {"Co/recycled-post/—": 50_000}}
    assert c.reject(c.prove("circulon", lossy, [held], 1000).event).rule == "zk.loss"  # 143 ‰ > 100 ‰
    ok = {**lossy, "outputs": [{**out, "buckets": {"Co/recycled-post/—": 320_000}}], "loss": {"Co/recycled-post/—": 30_000}}
    c.keep(c.prove("circulon", ok, [held], 100))


def test_blending_and_extraction_loss_are_refused(c: ConfChain) -> None:
    lot = c.lot
    blend = transform_body(c, lot, CO_G, 0)
    blend["outputs"][0]["coc_model"] = "controlled_blending"
    assert c.reject(c.prove("kivijarvi", blend, [lot], 50).event).rule == "zk.unsupported"
    proved = c.prove("kasonta", {"kind": "extract", "site": "mine:kasonta", "outputs": [hydroxide({"Co/certified/CD": CO_G})]})
    with_loss = tamper(proved.event, c.s.actors["kasonta"].signing_key,
                       lambda b: b.update(loss={"Co/certified/CD": random_opening(1).commitment().hex()}))
    assert c.reject(with_loss).rule == "zk.malformed"
    country = tamper(proved.event, c.s.actors["kasonta"].signing_key,
                     lambda b: b["outputs"][0].update(commitments={"Co/certified/ID": b["outputs"][0]["commitments"]["Co/certified/CD"]}))
    assert c.reject(country).rule == "origin.country"


# ----------------------------------------------------------- proofs batched over submit_batch
def test_a_false_proof_in_a_batch_refuses_only_its_event(c: ConfChain, monkeypatch: pytest.MonkeyPatch) -> None:
    judged: list[bool] = []
    original = c.ledger._judge

    def spy(*args: Any, **kwargs: Any) -> Any:
        judged.append(kwargs["defer"])
        return original(*args, **kwargs)

    monkeypatch.setattr(c.ledger, "_judge", spy)
    good = [c.conf_extract_event() for _ in range(3)]
    lot = c.lot
    bad = c.prove("kivijarvi", transform_body(c, lot, CO_G - 100_000, 100_000), [lot], 1000)  # 286 ‰
    result = c.ledger.submit_batch([good[0].event, bad.event, good[1].event, good[2].event])
    assert [r.rule for r in result.rejected] == ["zk.loss"] and result.rejected[0].index == 1
    assert len(result.accepted) == 3
    assert judged == [True, False]  # the batched check failed; the batch was judged again
    judged.clear()
    ok = c.prove("kivijarvi", transform_body(c, lot, CO_G - 1_000, 1_000), [lot], 50)
    refused = c.sign("kivijarvi", {"kind": "transform", "inputs": ["nope:0"], "outputs": [], "site": "plant:kivijarvi"})
    result = c.ledger.submit_batch([refused, ok.event, c.conf_extract_event().event])
    assert [r.rule for r in result.rejected] == ["unknown-lot"] and len(result.accepted) == 2
    assert judged == [True]  # valid proofs: one batched check, no second pass


def test_receipts_balance_lot_by_lot(c: ConfChain) -> None:
    lots = [c.conf_extract(), c.conf_extract()]
    ship = c.ship("kasonta", "kivijarvi", lots)
    key = "Co/certified/CD"
    shifted = c.receipt_body(ship, "kivijarvi", [hydroxide({key: CO_G + 1_000}), hydroxide({key: CO_G - 1_000})])
    with pytest.raises(ValueError, match="0:Co/certified/CD"):
        c.prove("kivijarvi", shifted, lots, 1000)  # moving grams between received lots
    body = c.receipt_body(ship, "kivijarvi", [hydroxide({key: CO_G}), hydroxide({key: CO_G - 1_000})])
    proved = c.prove("kivijarvi", body, lots, 5)
    assert set(proved.event.body["proofs"]) == {"1:Co/certified/CD"}
    signer = c.s.actors["kivijarvi"].signing_key

    def relabel(b: dict[str, Any]) -> None:
        b["proofs"] = {"0:" + key: b["proofs"]["1:" + key]}
        b["loss"] = {"0:" + key: b["loss"]["1:" + key]}

    assert c.reject(tamper(proved.event, signer, relabel)).rule == "zk.malformed"
    c.keep(proved)


def test_contained_metal_above_gross_mass_is_refused(c: ConfChain) -> None:
    lot = c.lot
    body = transform_body(c, lot, CO_G, 0)
    light = {**body, "outputs": [{**body["outputs"][0], "gross_mass_g": CO_G - 1}]}
    with pytest.raises(ValueError, match="contained"):
        c.prove("kivijarvi", light, [lot], 50)  # 350 000 g of cobalt in a 349 999 g lot
    signer = c.s.actors["kivijarvi"].signing_key
    honest = c.prove("kivijarvi", body, [lot], 50)
    mine = honest.outputs[0]
    # a threshold proof for a heavier lot than the one declared, swapped in after proving
    heavier = prove_linear(contained_statement(3_000_000, 1), [mine["Co/certified/CD"]],
                           contained_context(binding_hash(honest.event.body), 0))[0].to_bytes().hex()
    err = c.reject(tamper(honest.event, signer, lambda b: b.update(contained=[heavier])))
    assert err.rule == "zk.assay" and "outputs[0]" in err.detail
    assert c.reject(tamper(honest.event, signer, lambda b: b.pop("contained"))).rule == "zk.malformed"
    assert c.reject(tamper(honest.event, signer, lambda b: b.update(contained=b["contained"] * 2))).rule == "zk.malformed"
    assert c.reject(tamper(honest.event, signer, lambda b: b.update(contained=["00"]))).rule == "zk.malformed"
    c.keep(honest)


def test_plain_stock_enters_a_confidential_transform_at_its_public_grams(c: ConfChain) -> None:
    plain = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])[0]
    stored = c.ledger.store.get_lot(plain)
    assert stored is not None and not stored.confidential
    grams = stored.buckets["Co/certified/CD"]
    conf = c.lot
    body = {"kind": "transform", "inputs": [conf, plain], "site": "plant:kivijarvi",
            "outputs": [sulphate({"Co/certified/CD": CO_G + grams - 1_000}, gross=3_200_000)]}
    inputs = [c.openings[conf], public_openings(stored.buckets)]
    # claiming more grams for the plain lot than the log shows creates mass: refused
    inflated = {"Co/certified/CD": Opening(grams + 5_000, 0)}
    cheat = prove_event({**body, "time": format_time(c.s.clock + 1)}, c.s.actors["kivijarvi"].signing_key,
                        [c.openings[conf], inflated], 50, ledger=c.s.ledger_id)
    assert c.reject(cheat.event).rule == "zk.balance"
    [out] = c.keep(prove_event({**body, "time": format_time(c.s.clock + 2)}, c.s.actors["kivijarvi"].signing_key, inputs, 50, ledger=c.s.ledger_id))
    lot = c.ledger.store.get_lot(out)
    assert lot is not None and lot.confidential and not lot.buckets
    assert c.openings[out]["Co/certified/CD"].value == CO_G + grams - 1_000
    assert c.ledger.store.get_lot(plain).status == "spent"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["aggregate", "disaggregate", "recycle", "receive"])
def test_only_transformation_takes_plain_stock_into_confidential_mode(c: ConfChain, kind: str) -> None:
    plain = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])[0]
    stored = c.ledger.store.get_lot(plain)
    assert stored is not None
    rm._check_mode("transform", [stored], True)  # allowed
    with pytest.raises(RuleViolationError) as err:
        rm._check_mode(kind, [stored], True)
    assert err.value.rule == "zk.mixed-mode"
