"""Rules for confidential material events (wire form in ledger/confidential.py, docs/confidential.md).

The same rules as plain mode apply to everything public (custody, sites, seals, forms,
hierarchy, chain-of-custody models, origin classes on bucket keys, lifecycle); every quantity
rule is enforced by verifying proofs instead of adding grams: per-bucket balance (kernel), outputs
and loss in [0, 2^48) (range proofs), loss within the policy tolerance (threshold proof).
A lot is either plain or confidential; an event mixing the two is refused (``zk.mixed-mode``).
Each handler verifies its proofs last, so deferring them to one check per batch
(``BatchState.deferred_proofs``) cannot change which rule refuses an event.
"""

from __future__ import annotations

from typing import Any

from batterytrace.crypto.zk import Point
from batterytrace.errors import RuleViolationError
from batterytrace.ledger import provenance as pv
from batterytrace.ledger import rules_material as rm
from batterytrace.ledger.confidential import (
    bucket_groups,
    decode_commitments,
    is_confidential_body,
    malformed,
    public_points,
    receipt_groups,
    scrap_terms,
    verify_bundles,
    verify_contained,
    verify_extraction_ranges,
    verify_scrap_share,
)
from batterytrace.ledger.fields import req_list, schema_error
from batterytrace.ledger.lot_specs import (
    ORIGIN_SITES,
    check_evidence,
    check_identities,
    new_lot,
    origin_sites,
    parse_output,
    restore_parts,
)
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.buckets import NO_COUNTRY, parse_bucket_key
from batterytrace.model.entities import COC_MODELS, FORM_LEVELS, Lot
from batterytrace.model.events import SignedEvent
from batterytrace.model.identifiers import passport_id_for, passport_version

__all__ = ["check_confidential_event"]

Outputs = tuple[list[dict[str, Any]], list[dict[str, Point]]]


def _mixed(message: str) -> RuleViolationError:
    return RuleViolationError("zk.mixed-mode", message)


def _outputs(ev: SignedEvent, st: BatchState, max_len: int) -> Outputs:
    """Parse confidential output specs: (specs with zero-gram key buckets for the key-based
    rules, decoded commitments per output)."""
    specs: list[dict[str, Any]] = []
    points: list[dict[str, Point]] = []
    for i, spec in enumerate(req_list(ev.body, "outputs", 1, max_len)):
        if not isinstance(spec, dict):
            raise schema_error(f"outputs[{i}] must be an object")
        if "buckets" in spec:
            raise _mixed(f"outputs[{i}] carries grams in a confidential event")
        decoded = decode_commitments(spec.get("commitments"), f"outputs[{i}].commitments")
        if spec.get("assay_ppm"):
            raise malformed(f"outputs[{i}].assay_ppm would disclose the committed quantities")
        if spec.get("coc_model") == "controlled_blending":
            raise RuleViolationError(
                "zk.unsupported", f"outputs[{i}]: controlled blending ratios cannot be checked on commitments"
            )
        plain = {k: v for k, v in spec.items() if k != "commitments"}
        plain["buckets"] = {}
        plain = parse_output(plain, i, st.policy.assay_tolerance_permille)
        specs.append({**plain, "buckets": dict.fromkeys(decoded, 0), "commitments": dict(spec["commitments"])})
        points.append(decoded)
    return specs, points


def _lot_points(lot: Lot) -> dict[str, Point]:
    """A confidential lot's commitments; a plain lot (stock entering a confidential
    transformation) at its public grams, committed with blinding 0 (v·G; empty buckets left out)."""
    if not lot.confidential:
        return public_points(lot.buckets)
    return decode_commitments(lot.commitments, f"lot {lot.lot_id} commitments")


def _check_contained(ev: SignedEvent, st: BatchState, specs: list[dict[str, Any]], points: list[dict[str, Point]]) -> None:
    outputs = [(int(spec["gross_mass_g"]), p) for spec, p in zip(specs, points, strict=True)]
    verify_contained(ev.body, outputs, st.deferred_proofs)


def _in_keys(lots: list[Lot]) -> dict[str, int]:
    keys = [key for lot in lots for key in (lot.commitments if lot.confidential else [k for k, g in lot.buckets.items() if g])]
    return dict.fromkeys(keys, 0)


def _seal(effect: Effect, ev: SignedEvent, specs: list[dict[str, Any]]) -> Effect:
    """New lots carry their commitments and no grams."""
    for lot in effect.lots.values():
        if lot.event == ev.hash_hex:
            lot.buckets = {}
            lot.commitments = dict(specs[lot.index]["commitments"])
    return effect


def _extract(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    site_id = rm.extraction_site(ev, st)
    specs, points = _outputs(ev, st, 1000)
    effect = rm._extract_outputs(ev, t, st, site_id, specs)
    verify_extraction_ranges(ev.body, points, st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    return _seal(effect, ev, specs)


def _consume(ev: SignedEvent, t: int, st: BatchState) -> tuple[list[Lot], list[dict[str, Any]], list[dict[str, Point]]]:
    check_evidence(ev.body)
    lots = rm._take_inputs(ev, t, st, req_list(ev.body, "inputs", 1, 100_000), confidential=True)
    specs, points = _outputs(ev, st, 100_000)
    return lots, specs, points


def _transform_tolerance(st: BatchState, lots: list[Lot]) -> int:
    """The one loss tolerance of a confidential transformation. A form-specific tolerance covers
    only the lots of that form (plain mode weighs each lot's tolerance by its grams); the proofs
    state one tolerance per bucket group, so inputs whose forms carry different tolerances are
    refused rather than all given the largest."""
    tolerances = {st.policy.tolerance("transform", (lot.form,)) for lot in lots}
    if len(tolerances) > 1:
        forms = sorted({lot.form for lot in lots})
        raise RuleViolationError(
            "zk.unsupported", f"inputs {forms} carry different loss tolerances; transform them separately"
        )
    return tolerances.pop()


def _transform(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, specs, points = _consume(ev, t, st)
    if any(lot.level > 0 for lot in lots):
        raise RuleViolationError("aggregation.hierarchy", "transform consumes bulk material; use recycle or disaggregate for products")
    if any(FORM_LEVELS.get(o["form"], 0) > 1 for o in specs):
        raise RuleViolationError("aggregation.hierarchy", "transform produces bulk material or cells; modules and packs come from aggregate")
    pv.check_provenance(ev, st, lots, specs)
    in_keys = _in_keys(lots)
    rm._check_created_classes(in_keys, specs)
    groups = bucket_groups("transform", [_lot_points(lot) for lot in lots], points)
    rm._check_coc(lots, in_keys, specs)
    check_identities(st, specs)
    verify_bundles(ev.body, groups, _transform_tolerance(st, lots), st.deferred_proofs)
    forms = [spec["form"] for spec in specs]
    terms = scrap_terms(points, forms, pv.SCRAP_FORMS, st.policy.max_scrap_permille)
    verify_scrap_share(ev.body, terms, st.policy.max_scrap_permille, st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    return pv.carry_raw(ev, st, lots, _seal(rm._emit(ev, t, st, lots, specs), ev, specs))


def _aggregate(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, specs, points = _consume(ev, t, st)
    if len(specs) != 1:
        raise schema_error("aggregation produces exactly one parent")
    parent = specs[0]
    level = FORM_LEVELS.get(parent["form"], 0)
    if level < 2 or min(lot.level for lot in lots) < 1 or level <= max(lot.level for lot in lots):
        raise RuleViolationError(
            "aggregation.hierarchy",
            f"a {parent['form']} cannot contain {sorted({lot.form for lot in lots})} (cell → module → pack → vehicle)",
        )
    in_keys = _in_keys(lots)
    rm._check_created_classes(in_keys, specs)
    if parent["gross_mass_g"] < sum(lot.gross_mass_g for lot in lots):
        raise RuleViolationError("aggregation.mass", "parent weighs less than its children")
    if COC_MODELS.index(parent.get("coc_model", "mass_balance")) < rm._weakest_coc(lots):
        raise RuleViolationError("coc.model", "parent claims a stronger chain-of-custody model than its children")
    rm._check_coc(lots, in_keys, specs)
    check_identities(st, specs)
    # tolerance 0: the loss bound proves the committed loss is zero (aggregation loses nothing)
    verify_bundles(ev.body, bucket_groups("aggregate", [_lot_points(lot) for lot in lots], points), 0, st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    return rm.mark_parent(ev, _seal(rm._emit(ev, t, st, lots, specs), ev, specs), lots, level)


def _disaggregate(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, specs, points = _consume(ev, t, st)
    if len(lots) != 1 or lots[0].level < 2:
        raise RuleViolationError("aggregation.hierarchy", "disaggregation takes one module, pack or vehicle")
    if any(not 1 <= FORM_LEVELS.get(o["form"], 0) < lots[0].level for o in specs):
        raise RuleViolationError("aggregation.hierarchy", "parts must sit below the parent in the hierarchy")
    in_keys = _in_keys(lots)
    rm._check_created_classes(in_keys, specs)
    rm._check_coc(lots, in_keys, specs)
    restored = check_identities(st, specs, parent=lots[0])
    verify_bundles(ev.body, bucket_groups("disaggregate", [_lot_points(lots[0])], points), 0, st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    effect = restore_parts(rm._emit(ev, t, st, lots, specs, pv.part_marks(lots[0])), ev, restored)
    return _seal(effect, ev, specs)


def _recycle(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, specs, points = _consume(ev, t, st)
    pv.check_recyclable(lots)
    rm._check_bulk_outputs("recycling", specs)
    check_identities(st, specs)
    rm._check_coc_model(lots, specs)
    # each input keeps its class (scrap → pre, end-of-life → post, recycled → its own); plain mode
    # caps each class's output by its input grams, which commitments hide, so the inputs of one
    # element must all be of one class, and its output bucket is of that class
    classes: dict[str, set[str]] = {}
    for lot in lots:
        for key in lot.commitments:
            classes.setdefault(parse_bucket_key(key).element, set()).add(pv.recycled_class(lot, key))
    for i, spec in enumerate(specs):
        for key in spec["buckets"]:
            k = parse_bucket_key(key)
            allowed = classes.get(k.element, {k.origin})  # none: mass created (zk.balance below)
            if len(allowed) > 1:
                raise RuleViolationError(
                    "recycled.origin", f"{k.element}: inputs of classes {sorted(allowed)} cannot be told apart on "
                    "commitments; recycle each class separately")
            if k.origin not in allowed or k.country != NO_COUNTRY:
                raise RuleViolationError(
                    "recycled.origin", f"outputs[{i}] {key}: this recycling yields {sorted(allowed)} {k.element} buckets only")
    groups = bucket_groups("recycle", [_lot_points(lot) for lot in lots], points)
    verify_bundles(ev.body, groups, st.policy.tolerance("recycle"), st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    cited: dict[str, Any] = {"recycled_from": sorted(lot.lot_id for lot in lots)}
    passports = sorted(
        passport_id_for(lot.gtin, lot.serial, passport_version(lot.extra.get("lifecycle", [])))
        for lot in lots if lot.gtin and lot.serial
    )
    if passports:
        cited["recycled_from_passports"] = passports
    return _seal(rm._emit(ev, t, st, lots, specs, cited), ev, specs)


def _receive(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    """A receipt keeps each lot's bucket keys; a bucket whose commitment is unchanged needs no
    proof; a changed bucket of lot i is proved as group ``"i:key"`` (shipped = received +
    committed loss) with the receive tolerance, or up to everything with a declared discrepancy."""
    b = ev.body
    lots, discrepancy = rm._receipt_lots(ev, t, st, confidential=True)
    site = rm._site_of_actor(ev, st, required=False)
    specs, points = _outputs(ev, st, 10_000)
    if len(specs) != len(lots):
        raise RuleViolationError("receipt.lots", "a receipt yields one output per received lot, in order")
    check_identities(st, specs, sources=lots)
    changed: set[tuple[int, str]] = set()
    for i, (spec, src) in enumerate(zip(specs, lots, strict=True)):
        if spec["form"] != src.form:
            raise RuleViolationError("receipt.form", f"outputs[{i}] is {spec['form']}; a receipt does not transform {src.form}")
        rm.check_receipt_identity(i, spec, src)
        if COC_MODELS.index(spec.get("coc_model", "mass_balance")) < COC_MODELS.index(src.coc_model):
            raise RuleViolationError("coc.model", f"outputs[{i}] claims a stronger chain-of-custody model than lot {src.lot_id}")
        if set(spec["commitments"]) != set(src.commitments):
            raise RuleViolationError("zk.balance", f"outputs[{i}] must keep the bucket keys of lot {src.lot_id}")
        changed.update((i, k) for k, c in spec["commitments"].items() if c != src.commitments[k])
    groups = receipt_groups([_lot_points(lot) for lot in lots], points, changed)
    tol = st.policy.tolerance("receive") if discrepancy is None else 1000
    verify_bundles(b, groups, tol, st.deferred_proofs)
    _check_contained(ev, st, specs, points)
    effect = Effect()
    atts = rm._inherited_attestations(lots)
    rm._spend(ev, t, lots, effect)
    for i, spec in enumerate(specs):
        src = lots[i]
        lot = new_lot(ev, i, spec, t, site, atts)
        lot.extra = {**src.extra, **lot.extra, ORIGIN_SITES: origin_sites(src)}
        if discrepancy is not None:
            lot.extra["discrepancy"] = {"event": ev.hash_hex, "note": discrepancy, "loss": b.get("loss", {})}
        effect.lots[lot.lot_id] = lot
    return _seal(effect, ev, specs)


_HANDLERS = {
    "extract": _extract,
    "receive": _receive,
    "transform": _transform,
    "aggregate": _aggregate,
    "disaggregate": _disaggregate,
    "recycle": _recycle,
}


def check_confidential_event(ev: SignedEvent, t: int, st: BatchState) -> Effect | None:
    """The effect of a confidential material event; None for plain events and shipments (the
    plain rules refuse plain events consuming confidential lots, and mixed shipments)."""
    if ev.kind not in _HANDLERS or not is_confidential_body(ev.body):
        return None
    if "scrap" in ev.body and ev.kind != "transform":
        raise malformed("only a transformation carries scrap proofs")
    return _HANDLERS[ev.kind](ev, t, st)
