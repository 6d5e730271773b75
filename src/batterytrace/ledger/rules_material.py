"""Rules for material-flow events: extract, ship, receive, transform, aggregate, disaggregate,
recycle. Every check raises ``RuleViolationError`` naming its rule (see docs/rules.md)."""

from __future__ import annotations

from typing import Any

from batterytrace.errors import RuleViolationError
from batterytrace.ledger.fields import (
    opt_str,
    req_buckets,
    req_int,
    req_list,
    req_str,
    schema_error,
)
from batterytrace.ledger.lot_specs import (
    ASSEMBLED,
    ORIGIN_SITES,
    PRODUCT_DATA,
    assembled_from,
    check_evidence,
    check_identities,
    merged_origin_sites,
    new_lot,
    origin_sites,
    parse_output,
    restore_parts,
)
from batterytrace.ledger.provenance import (
    RAW,
    SCRAP_FORMS,
    carry_raw,
    check_provenance,
    check_recyclable,
    check_scrap_share,
    part_marks,
    recycled_class,
)
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.buckets import (
    add_buckets,
    element_totals,
    parse_bucket_key,
)
from batterytrace.model.entities import (
    ANONYMOUS_ROLE,
    COC_MODELS,
    FORM_LEVELS,
    Lot,
)
from batterytrace.model.events import SignedEvent
from batterytrace.model.identifiers import passport_id_for, passport_version

__all__ = ["check_material_event"]



# ------------------------------------------------------------------------- shared pieces
def _site_of_actor(ev: SignedEvent, st: BatchState, required: bool) -> str | None:
    site_id = opt_str(ev.body, "site", 128)
    if site_id is None:
        if required:
            raise schema_error("field 'site' is required")
        return None
    site = st.site(site_id)
    if site is None:
        raise RuleViolationError("site", f"site {site_id} is not registered")
    if site.owner != ev.actor:
        raise RuleViolationError("site", f"site {site_id} is not operated by the signer")
    return site_id


def _check_mode(kind: str, lots: list[Lot], confidential: bool) -> None:
    """A lot is plain or confidential (docs/confidential.md): an event consumes one kind only;
    a shipment carries no quantities and may move either, but not both at once. One exception:
    a confidential transformation may take plain stock, whose grams are public anyway (it enters
    the balance as the commitment v·G with blinding 0); the reverse would publish secrets."""
    if kind == "ship":
        if len({lot.confidential for lot in lots}) > 1:
            raise RuleViolationError("zk.mixed-mode", "a shipment mixes plain and confidential lots")
    elif confidential and kind == "transform":
        return
    elif any(lot.confidential != confidential for lot in lots):
        mine, other = ("confidential", "plain") if confidential else ("plain", "confidential")
        raise RuleViolationError("zk.mixed-mode", f"a {mine} {kind} cannot consume {other} lots")


def _take_inputs(ev: SignedEvent, t: int, st: BatchState, ids: list[Any], confidential: bool = False) -> list[Lot]:
    if len(set(map(str, ids))) != len(ids):
        raise RuleViolationError("unspent", "an input lot is listed twice")
    lots = []
    for lid in ids:
        if not isinstance(lid, str):
            raise schema_error("input lot ids are strings")
        lot = st.lot(lid)
        if lot is None:
            raise RuleViolationError("unknown-lot", f"lot {lid} does not exist")
        if lot.status == "spent":
            raise RuleViolationError("unspent", f"lot {lid} was already consumed by event {lot.spent_by}")
        if lot.status == "in_transit":
            raise RuleViolationError("in-transit", f"lot {lid} is in transit and must be received first")
        if lot.custodian != ev.actor:
            raise RuleViolationError("custody", f"signer is not the custodian of lot {lid}")
        if t < lot.last_event_at:
            raise RuleViolationError("time.order", f"event predates the latest event of lot {lid}")
        lots.append(lot)
    _check_mode(ev.kind, lots, confidential)
    return lots


def _spend(ev: SignedEvent, t: int, lots: list[Lot], effect: Effect) -> None:
    for lot in lots:
        lot.status, lot.spent_by, lot.last_event_at, lot.shipment = "spent", ev.hash_hex, t, None
        effect.lots[lot.lot_id] = lot
        effect.inputs.append(lot.lot_id)


def _check_balance(
    kind: str, inputs: dict[str, int], outputs: dict[str, int], loss: dict[str, int], tol_permille: int,
    by_element: bool = False, allowance: dict[str, int] | None = None,
) -> None:
    """Σ in = Σ out + loss (per bucket, or per element for recycling); loss within tolerance.
    ``allowance`` (element → Σ tolerance‰ × input grams) replaces the uniform ``tol_permille``
    when the inputs carry different tolerances."""
    if by_element:
        i_tot, o_tot, l_tot = element_totals(inputs), element_totals(outputs), element_totals(loss)
    else:
        i_tot, o_tot, l_tot = inputs, outputs, loss
    for key in set(i_tot) | set(o_tot) | set(l_tot):
        i, o, lo = i_tot.get(key, 0), o_tot.get(key, 0), l_tot.get(key, 0)
        if i != o + lo:
            what = "created" if o + lo > i else "unaccounted"
            raise RuleViolationError(
                "balance", f"{key}: inputs {i} g ≠ outputs {o} g + loss {lo} g (mass {what})"
            )
    in_el, loss_el = element_totals(inputs), element_totals(loss)
    for el, lost in loss_el.items():
        allowed = allowance.get(el, 0) if allowance is not None else tol_permille * in_el.get(el, 0)
        if lost * 1000 > allowed:
            raise RuleViolationError(
                "loss.tolerance",
                f"{el}: loss {lost} g exceeds the {kind} tolerance ({allowed / 1000:.0f} g of the "
                f"input {in_el.get(el, 0)} g)",
            )


def _allowance(kind: str, st: BatchState, lots: list[Lot]) -> dict[str, int]:
    """Per element Σ tolerance(kind, lot form)‰ × grams: a form-specific tolerance (spodumene
    conversion) applies to the material of that form only, not to everything processed with it."""
    allowed: dict[str, int] = {}
    for lot in lots:
        tol = st.policy.tolerance(kind, (lot.form,))
        for el, grams in element_totals(lot.buckets).items():
            allowed[el] = allowed.get(el, 0) + tol * grams
    return allowed


def _weakest_coc(lots: list[Lot]) -> int:
    return max(COC_MODELS.index(lot.coc_model) for lot in lots)


def _inherited_attestations(lots: list[Lot]) -> list[str]:
    return sorted({a for lot in lots for a in lot.attestations})


def _check_created_classes(inputs: dict[str, int], outputs: list[dict[str, Any]]) -> None:
    for spec in outputs:
        for key in spec["buckets"]:
            if key in inputs:
                continue
            origin = parse_bucket_key(key).origin
            if origin in ("recycled-pre", "recycled-post"):
                raise RuleViolationError(
                    "recycled.origin", f"{key}: recycled buckets can only be created by a recycle event"
                )
            if origin == "certified":
                raise RuleViolationError(
                    "certified.origin", f"{key}: certified material can only originate at a certified mine"
                )


def _check_coc_model(lots: list[Lot], outputs: list[dict[str, Any]]) -> None:
    """Every event that consumes lots into new ones (transform, aggregate, disaggregate, recycle;
    plain and confidential): no output claims a stronger model than its weakest input, and an
    identity-preserved output comes from the material of one extraction site."""
    weakest = _weakest_coc(lots)
    sources = merged_origin_sites(lots)
    for i, spec in enumerate(outputs):
        model = spec.get("coc_model", "mass_balance")
        if COC_MODELS.index(model) < weakest:
            raise RuleViolationError(
                "coc.model", f"outputs[{i}] claims {model} but an input is only {COC_MODELS[weakest]}"
            )
        if model == "identity_preserved" and len(sources) > 1:
            raise RuleViolationError(
                "coc.identity", f"identity-preserved output from material extracted at several sites {sources}"
            )


def _check_coc(lots: list[Lot], in_buckets: dict[str, int], outputs: list[dict[str, Any]]) -> None:
    _check_coc_model(lots, outputs)
    for i, spec in enumerate(outputs):
        model = spec.get("coc_model", "mass_balance")
        if model in ("identity_preserved", "segregated"):
            seen: dict[str, set[str]] = {}
            for key in spec["buckets"]:
                k = parse_bucket_key(key)
                seen.setdefault(k.element, set()).add(k.origin if model == "segregated" else key)
            for el, kinds in seen.items():
                if len(kinds) > 1:
                    rule = "coc.segregated" if model == "segregated" else "coc.identity"
                    raise RuleViolationError(rule, f"outputs[{i}] mixes {el} buckets {sorted(kinds)} under {model}")
        if model == "controlled_blending":
            in_el = element_totals(in_buckets)
            out_el = element_totals(spec["buckets"])
            for key, grams in spec["buckets"].items():
                el = parse_bucket_key(key).element
                expected = in_buckets.get(key, 0) * out_el[el] / in_el[el] if in_el.get(el) else 0
                if abs(grams - expected) > 1 + out_el[el] // 1000:
                    raise RuleViolationError(
                        "coc.blending", f"outputs[{i}] {key} is {grams} g; the blend ratio gives {expected:.0f} g"
                    )


def _check_bulk_outputs(kind: str, outputs: list[dict[str, Any]]) -> None:
    """Extraction and recycling yield bulk material: no product, and no production scrap (scrap is
    only ever a by-product of manufacturing, ``check_provenance``)."""
    for i, spec in enumerate(outputs):
        if FORM_LEVELS.get(spec["form"], 0) > 0:
            raise RuleViolationError(
                "aggregation.hierarchy", f"outputs[{i}]: {kind} yields bulk material, not a {spec['form']}"
            )
        if spec["form"] in SCRAP_FORMS:
            raise RuleViolationError(
                "provenance.scrap", f"outputs[{i}]: {kind} cannot yield {spec['form']}; scrap is a by-product of manufacturing"
            )


# ------------------------------------------------------------------------------- events
def extraction_site(ev: SignedEvent, st: BatchState) -> str:
    """The mine site an extraction names: registered, operated by the signer, a mine; no inputs."""
    site_id = _site_of_actor(ev, st, required=True)
    assert site_id is not None
    site = st.site(site_id)
    assert site is not None
    if site.kind != "mine":
        raise RuleViolationError("site", f"extraction must happen at a mine site, not a {site.kind}")
    if "inputs" in ev.body:
        raise schema_error("extraction has no inputs")
    return site_id


def _extract(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    site_id = extraction_site(ev, st)
    outputs = [parse_output(o, i, st.policy.assay_tolerance_permille) for i, o in enumerate(req_list(ev.body, "outputs", 1, 1000))]
    return _extract_outputs(ev, t, st, site_id, outputs)


def _extract_outputs(ev: SignedEvent, t: int, st: BatchState, site_id: str, outputs: list[dict[str, Any]]) -> Effect:
    """Origin rules on the output bucket keys (country, certified mine) and the new lots.
    Shared with confidential extraction, which passes its bucket keys with zero grams."""
    _check_bulk_outputs("extraction", outputs)
    check_identities(st, outputs)
    site = st.site(site_id)
    assert site is not None
    valid = st.valid_attestations(site_id, ev.actor, t)
    certified_ok = st.policy.sourcing.satisfied(valid, t)
    for i, spec in enumerate(outputs):
        for key in spec["buckets"]:
            k = parse_bucket_key(key)
            if k.recycled:
                raise RuleViolationError("recycled.origin", f"outputs[{i}] {key}: a mine cannot extract recycled material")
            if k.country != site.country:
                raise RuleViolationError("origin.country", f"outputs[{i}] {key}: the mine is in {site.country}")
            if k.origin == "certified" and not certified_ok:
                raise RuleViolationError(
                    "certified.origin",
                    f"mine site {site_id} holds no valid attestation satisfying the sourcing policy at "
                    f"event time ({st.policy.sourcing.describe()})",
                )
    check_evidence(ev.body)
    atts = sorted(a.attestation_id for a in valid)
    effect = Effect()
    for i, spec in enumerate(outputs):
        lot = new_lot(ev, i, spec, t, site_id, atts)
        lot.extra[RAW] = True
        lot.extra[ORIGIN_SITES] = [site_id]
        effect.lots[lot.lot_id] = lot
    return effect


def _ship(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    receiver = req_str(b, "to")
    to = st.participant(receiver)
    if to is None or to.role == ANONYMOUS_ROLE:  # a one-time key receives nothing
        raise RuleViolationError("registration", f"receiver {receiver} is not registered")
    if receiver == ev.actor:
        raise schema_error("a shipment goes to another participant")
    check_evidence(b)
    lots = _take_inputs(ev, t, st, req_list(b, "lots", 1, 10_000))
    gross = req_int(b, "gross_mass_g", 1, 2**48) if b.get("gross_mass_g") is not None else None
    shipment = {
        "event": ev.hash_hex, "to": receiver, "seals": sorted(b.get("seals") or []),
        "gross_mass_g": gross, "lots": len(lots), "time": t,
    }
    effect = Effect()
    for lot in lots:
        lot.status, lot.shipment, lot.last_event_at = "in_transit", shipment, t
        effect.lots[lot.lot_id] = lot
    return effect


def _receipt_lots(ev: SignedEvent, t: int, st: BatchState, confidential: bool = False) -> tuple[list[Lot], str | None]:
    """The lots a receipt names, checked against their shipment (custody, seals, weighbridge);
    returns them and the declared discrepancy, if any. Shared with confidential receipts."""
    b = ev.body
    ship_hash = req_str(b, "shipment", 64)
    ids = req_list(b, "lots", 1, 10_000)
    if len(set(map(str, ids))) != len(ids):
        raise RuleViolationError("unspent", "a received lot is listed twice")
    lots: list[Lot] = []
    for lid in ids:
        lot = st.lot(str(lid))
        if lot is None:
            raise RuleViolationError("unknown-lot", f"lot {lid} does not exist")
        if lot.status == "spent":
            raise RuleViolationError("unspent", f"lot {lid} was already consumed by event {lot.spent_by}")
        if lot.status != "in_transit" or lot.shipment is None or lot.shipment["event"] != ship_hash:
            raise RuleViolationError("custody", f"lot {lid} is not in transit under shipment {ship_hash[:12]}…")
        if lot.shipment["to"] != ev.actor:
            raise RuleViolationError("custody", f"lot {lid} was shipped to another participant")
        if t < lot.last_event_at:
            raise RuleViolationError("time.order", f"receipt predates the shipment of lot {lid}")
        lots.append(lot)
    _check_mode(ev.kind, lots, confidential)
    shipment = lots[0].shipment
    assert shipment is not None
    if len(lots) != shipment["lots"]:
        raise RuleViolationError("receipt.lots", f"shipment holds {shipment['lots']} lots; receipt lists {len(lots)}")
    check_evidence(b)
    if sorted(b.get("seals") or []) != shipment["seals"]:
        raise RuleViolationError(
            "receipt.seals", f"seals presented {sorted(b.get('seals') or [])} differ from seals shipped {shipment['seals']}"
        )
    discrepancy = opt_str(b, "discrepancy", 1000)
    shipped_gross = shipment["gross_mass_g"]
    if shipped_gross is not None:
        got = req_int(b, "gross_mass_g", 1, 2**48)
        wb_tol = st.policy.weighbridge_tolerance_permille
        if abs(shipped_gross - got) * 1000 > wb_tol * shipped_gross and discrepancy is None:
            raise RuleViolationError(
                "receipt.weighbridge",
                f"weighbridge {got} g vs {shipped_gross} g shipped exceeds {wb_tol}‰; declare a discrepancy",
            )
    return lots, discrepancy


def check_receipt_identity(i: int, spec: dict[str, Any], src: Lot) -> None:
    """A receipt passes a product's identity on: GTIN, serial and product data unchanged."""
    kept = {"gtin": src.gtin, "serial": src.serial, **{k: src.extra.get(k) for k in PRODUCT_DATA}}
    for name, value in kept.items():
        if spec.get(name, value) != value:
            raise RuleViolationError(
                "receipt.identity", f"outputs[{i}] changes {name} of lot {src.lot_id} ({value!r} → {spec[name]!r})"
            )


def _receive(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    lots, discrepancy = _receipt_lots(ev, t, st)
    site = _site_of_actor(ev, st, required=False)
    outputs = [parse_output(o, i, st.policy.assay_tolerance_permille) for i, o in enumerate(req_list(b, "outputs", 1, 10_000))]
    in_b = add_buckets(lot.buckets for lot in lots)
    out_b = add_buckets(o["buckets"] for o in outputs)
    loss = req_buckets(b, "loss", allow_empty=True)
    if len(outputs) != len(lots):
        raise RuleViolationError("receipt.lots", "a receipt yields one output per received lot, in order")
    check_identities(st, outputs, sources=lots)
    for i, (spec, src) in enumerate(zip(outputs, lots, strict=True)):
        if spec["form"] != src.form:
            raise RuleViolationError("receipt.form", f"outputs[{i}] is {spec['form']}; a receipt does not transform {src.form}")
        check_receipt_identity(i, spec, src)
        if COC_MODELS.index(spec.get("coc_model", "mass_balance")) < COC_MODELS.index(src.coc_model):
            raise RuleViolationError("coc.model", f"outputs[{i}] claims a stronger chain-of-custody model than lot {src.lot_id}")
        for key, grams in spec["buckets"].items():
            if grams > src.buckets.get(key, 0):
                raise RuleViolationError("balance", f"outputs[{i}] {key}: {grams} g received but lot {src.lot_id} held {src.buckets.get(key, 0)} g")
    _check_created_classes(in_b, outputs)
    tol = st.policy.tolerance("receive") if discrepancy is None else 1000
    try:
        _check_balance("receive", in_b, out_b, loss, tol)
    except RuleViolationError as exc:
        if exc.rule == "loss.tolerance":
            raise RuleViolationError("receipt.tolerance", exc.detail + "; declare a discrepancy to record the loss") from exc
        raise
    effect = Effect()
    atts = _inherited_attestations(lots)
    _spend(ev, t, lots, effect)
    for i, spec in enumerate(outputs):
        src = lots[i]
        lot = new_lot(ev, i, spec, t, site, atts)
        lot.extra = {**src.extra, **lot.extra, ORIGIN_SITES: origin_sites(src)}
        if discrepancy is not None:
            lot.extra["discrepancy"] = {"event": ev.hash_hex, "note": discrepancy, "loss": loss}
        effect.lots[lot.lot_id] = lot
    return effect


def _consume_and_produce(ev: SignedEvent, t: int, st: BatchState) -> tuple[list[Lot], list[dict[str, Any]], dict[str, int], dict[str, int], dict[str, int]]:
    b = ev.body
    check_evidence(b)
    lots = _take_inputs(ev, t, st, req_list(b, "inputs", 1, 100_000))
    outputs = [parse_output(o, i, st.policy.assay_tolerance_permille) for i, o in enumerate(req_list(b, "outputs", 1, 100_000))]
    in_b = add_buckets(lot.buckets for lot in lots)
    out_b = add_buckets(o["buckets"] for o in outputs)
    loss = req_buckets(b, "loss", allow_empty=True)
    return lots, outputs, in_b, out_b, loss


def _emit(ev: SignedEvent, t: int, st: BatchState, lots: list[Lot], outputs: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Effect:
    site = _site_of_actor(ev, st, required=False)
    effect = Effect()
    atts = _inherited_attestations(lots)
    sources = merged_origin_sites(lots)
    _spend(ev, t, lots, effect)
    for i, spec in enumerate(outputs):
        lot = new_lot(ev, i, spec, t, site, atts)
        lot.extra[ORIGIN_SITES] = sources
        if extra:
            lot.extra.update(extra)
        effect.lots[lot.lot_id] = lot
    return effect


def _transform(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, outputs, in_b, out_b, loss = _consume_and_produce(ev, t, st)
    if any(lot.level > 0 for lot in lots):
        raise RuleViolationError("aggregation.hierarchy", "transform consumes bulk material; use recycle or disaggregate for products")
    if any(FORM_LEVELS.get(o["form"], 0) > 1 for o in outputs):
        raise RuleViolationError("aggregation.hierarchy", "transform produces bulk material or cells; modules and packs come from aggregate")
    check_provenance(ev, st, lots, outputs)
    _check_created_classes(in_b, outputs)
    _check_balance("transform", in_b, out_b, loss, 0, allowance=_allowance("transform", st, lots))
    check_scrap_share(st, outputs)
    _check_coc(lots, in_b, outputs)
    check_identities(st, outputs)
    return carry_raw(ev, st, lots, _emit(ev, t, st, lots, outputs))


def _aggregate(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, outputs, in_b, out_b, loss = _consume_and_produce(ev, t, st)
    if len(outputs) != 1:
        raise schema_error("aggregation produces exactly one parent")
    parent = outputs[0]
    level = FORM_LEVELS.get(parent["form"], 0)
    child_max = max(lot.level for lot in lots)
    if level < 2 or min(lot.level for lot in lots) < 1 or level <= child_max:
        raise RuleViolationError(
            "aggregation.hierarchy",
            f"a {parent['form']} cannot contain {sorted({lot.form for lot in lots})} (cell → module → pack → vehicle)",
        )
    if loss:
        raise RuleViolationError("balance", "aggregation loses no material")
    _check_created_classes(in_b, outputs)
    _check_balance("aggregate", in_b, out_b, {}, 0)
    if parent["gross_mass_g"] < sum(lot.gross_mass_g for lot in lots):
        raise RuleViolationError("aggregation.mass", "parent weighs less than its children")
    if COC_MODELS.index(parent.get("coc_model", "mass_balance")) < _weakest_coc(lots):
        raise RuleViolationError("coc.model", "parent claims a stronger chain-of-custody model than its children")
    _check_coc(lots, in_b, outputs)
    check_identities(st, outputs)
    return mark_parent(ev, _emit(ev, t, st, lots, outputs), lots, level)


def mark_parent(ev: SignedEvent, effect: Effect, children: list[Lot], level: int) -> Effect:
    """A parent (module and up) records the identities of the children it was assembled from
    (``ASSEMBLED``: only these may a disaggregation give back); a pack (or vehicle) also records
    the economic operator that assembled it and its children's lots."""
    for lot in effect.lots.values():
        if lot.event == ev.hash_hex:
            lot.extra[ASSEMBLED] = assembled_from(children)
            if level >= 3:
                lot.extra["economic_operator"] = ev.actor
                lot.extra["children"] = sorted(x.lot_id for x in children)
    return effect


def _disaggregate(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, outputs, in_b, out_b, loss = _consume_and_produce(ev, t, st)
    if len(lots) != 1 or lots[0].level < 2:
        raise RuleViolationError("aggregation.hierarchy", "disaggregation takes one module, pack or vehicle")
    if any(not 1 <= FORM_LEVELS.get(o["form"], 0) < lots[0].level for o in outputs):
        raise RuleViolationError("aggregation.hierarchy", "parts must sit below the parent in the hierarchy")
    if loss:
        raise RuleViolationError("balance", "disaggregation loses no material")
    _check_created_classes(in_b, outputs)
    _check_balance("disaggregate", in_b, out_b, {}, 0)
    _check_coc(lots, in_b, outputs)
    restored = check_identities(st, outputs, parent=lots[0])
    return restore_parts(_emit(ev, t, st, lots, outputs, part_marks(lots[0])), ev, restored)


def _recycle(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    lots, outputs, in_b, out_b, loss = _consume_and_produce(ev, t, st)
    check_recyclable(lots)
    _check_bulk_outputs("recycling", outputs)
    check_identities(st, outputs)
    _check_coc_model(lots, outputs)
    for i, spec in enumerate(outputs):
        for key in spec["buckets"]:
            if not parse_bucket_key(key).recycled:
                raise RuleViolationError("recycled.origin", f"outputs[{i}] {key}: recycling yields recycled buckets only")
    for key in loss:
        if not parse_bucket_key(key).recycled:
            raise schema_error("recycling losses are booked in recycled buckets")
    _check_balance("recycle", in_b, out_b, loss, st.policy.tolerance("recycle"), by_element=True)
    # each input keeps its class: production scrap → pre-consumer, end-of-life products →
    # post-consumer, already-recycled material → its own class; per element and class,
    # outputs + loss may not exceed what came in (a token pack cannot relabel a tonne of scrap)
    came_in: dict[tuple[str, str], int] = {}
    for lot in lots:
        for key, grams in lot.buckets.items():
            k = parse_bucket_key(key)
            cls = recycled_class(lot, key)
            came_in[(k.element, cls)] = came_in.get((k.element, cls), 0) + grams
    went_out: dict[tuple[str, str], int] = {}
    for key, grams in [*out_b.items(), *loss.items()]:
        k = parse_bucket_key(key)
        went_out[(k.element, k.origin)] = went_out.get((k.element, k.origin), 0) + grams
    for (el, cls), grams in sorted(went_out.items()):
        if grams > came_in.get((el, cls), 0):
            raise RuleViolationError(
                "recycled.origin",
                f"{el}: {grams} g booked as {cls} (outputs + loss) but the inputs hold only "
                f"{came_in.get((el, cls), 0)} g of {cls} origin (scrap → pre-consumer, end-of-life → post-consumer)",
            )
    cited = {"recycled_from": sorted(lot.lot_id for lot in lots)}
    passports = sorted(
        passport_id_for(lot.gtin, lot.serial, passport_version(lot.extra.get("lifecycle", [])))
        for lot in lots if lot.gtin and lot.serial
    )
    if passports:
        cited["recycled_from_passports"] = passports  # the passports this recycling closes
    return _emit(ev, t, st, lots, outputs, cited)


_HANDLERS = {
    "extract": _extract,
    "ship": _ship,
    "receive": _receive,
    "transform": _transform,
    "aggregate": _aggregate,
    "disaggregate": _disaggregate,
    "recycle": _recycle,
}


def check_material_event(ev: SignedEvent, t: int, st: BatchState) -> Effect | None:
    handler = _HANDLERS.get(ev.kind)
    return None if handler is None else handler(ev, t, st)
