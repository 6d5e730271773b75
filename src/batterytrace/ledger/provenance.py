"""Provenance of recycled content (docs/rules.md § Serialised products and recycled provenance):
products only from manufacturing, production scrap only as a by-product of it, post-consumer
input only from products at their end of life. Shared by the plain and confidential rule
handlers (and the raw-material mark by the anonymous one)."""

from __future__ import annotations

from typing import Any

from batterytrace.errors import RuleViolationError
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.buckets import add_buckets, element_totals, parse_bucket_key
from batterytrace.model.entities import FORM_LEVELS, Lot
from batterytrace.model.events import SignedEvent

__all__ = [
    "EOL_FROM",
    "IN_SERVICE",
    "MANUFACTURING_ROLES",
    "PROCESSING_ROLES",
    "RAW",
    "SCRAP_FORMS",
    "carry_raw",
    "check_provenance",
    "check_recyclable",
    "check_scrap_share",
    "end_of_life",
    "part_marks",
    "recycled_class",
]

SCRAP_FORMS = frozenset({"production_scrap"})
# Who may make products (cells) in a transformation: the manufacturing roles of the hierarchy
# cell → module → pack → vehicle (aggregation is theirs too, by authorisation).
MANUFACTURING_ROLES = frozenset({"cell_maker", "oem"})
# Lifecycle statuses that put a product on the market / in service (the status before "waste").
IN_SERVICE = frozenset({"original", "reused", "repurposed", "remanufactured"})
# Who processes extracted material: only their transformations clear the raw-material mark (a
# cell maker's own "refining" of ore would otherwise launder it into cell feed).
PROCESSING_ROLES = frozenset({"refiner", "cathode_maker"})
RAW = "raw_material"  # Lot.extra marker: extracted and not yet processed (receipts keep it)
EOL_FROM = "end_of_life_from"  # Lot.extra marker: a part disaggregated from an end-of-life product


def check_provenance(ev: SignedEvent, st: BatchState, lots: list[Lot], outputs: list[dict[str, Any]]) -> None:
    """A transformation making products (cells) is manufacturing: signed by a manufacturing role
    and fed with processed material, never with extracted material no processing role has
    transformed since (ore into cells, ``carry_raw``); production scrap is only a by-product of
    such a transformation, next to the product it falls from. Plain and confidential transformations alike."""
    products = [o["form"] for o in outputs if FORM_LEVELS.get(o["form"], 0) > 0]
    scrap = [i for i, o in enumerate(outputs) if o["form"] in SCRAP_FORMS]
    if scrap and not products:
        raise RuleViolationError(
            "provenance.scrap",
            f"outputs[{scrap[0]}]: production scrap only falls from a manufacturing transformation that also yields product",
        )
    if not products:
        return
    role = st.role(ev.actor)
    if role not in MANUFACTURING_ROLES:
        raise RuleViolationError(
            "provenance.product", f"a {role} cannot make {products[0]}s; products come from {sorted(MANUFACTURING_ROLES)}"
        )
    for lot in lots:
        if lot.extra.get(RAW):
            raise RuleViolationError(
                "provenance.product",
                f"lot {lot.lot_id} ({lot.form}) is extracted material no transformation has processed; it cannot become a {products[0]}",
            )


def check_scrap_share(st: BatchState, outputs: list[dict[str, Any]]) -> None:
    """Production scrap is a by-product, not the product: per element, the scrap a transformation
    books may be at most the policy's ``max_scrap_permille`` of what falls out of it as product
    plus scrap (a scrap rate), i.e. ``max·Σ product − (1000 − max)·Σ scrap ≥ 0`` over the element's
    grams in the product outputs (``FORM_LEVELS`` ≥ 1) and the scrap outputs. Recycling turns scrap
    into pre-consumer recycled content, so 99 % "scrap" next to one token cell would launder
    virgin material; bounding it against the input instead would let a maker iterate (scrap 30 %,
    feed the bulk residue into the next transformation, again). Residue is not bounded: it stays
    the material it was. Plain transformations; confidential ones prove it (``zk.scrap``)."""
    limit = st.policy.max_scrap_permille
    product = element_totals(add_buckets(o["buckets"] for o in outputs if FORM_LEVELS.get(o["form"], 0) > 0))
    scrap = element_totals(add_buckets(o["buckets"] for o in outputs if o["form"] in SCRAP_FORMS))
    for el, grams in sorted(scrap.items()):
        made = product.get(el, 0)
        if (1000 - limit) * grams > limit * made:
            raise RuleViolationError(
                "provenance.scrap-share",
                f"{el}: {grams} g of production scrap next to {made} g of product exceeds {limit}‰ "
                "(max_scrap_permille) of the product and scrap the transformation yields",
            )


def carry_raw(ev: SignedEvent, st: BatchState, lots: list[Lot], effect: Effect) -> Effect:
    """A transformation's outputs stay raw material when any input was and the signer is not a
    processing role (``PROCESSING_ROLES``)."""
    if st.role(ev.actor) not in PROCESSING_ROLES and any(lot.extra.get(RAW) for lot in lots):
        for lot in effect.lots.values():
            if lot.event == ev.hash_hex:
                lot.extra[RAW] = True
    return effect


def end_of_life(lot: Lot) -> bool:
    """A product at its end of life: declared waste after having been placed on the market / in
    service (a lifecycle status in ``IN_SERVICE`` before the final "waste", declared before the
    current holder took the lot — received or made it — so a holder cannot put a product in
    service on paper itself and then scrap it), or a part disaggregated from such a product and
    not put back into service since."""
    history = lot.extra.get("lifecycle", [])
    if not history:
        return bool(lot.extra.get(EOL_FROM))
    if history[-1]["status"] != "waste":
        return False
    return bool(lot.extra.get(EOL_FROM)) or any(
        r["status"] in IN_SERVICE and r["time"] < lot.created_at for r in history[:-1]
    )




def part_marks(parent: Lot) -> dict[str, Any]:
    """What a disaggregation's parts record: their parent, and whether it was at its end of life
    (then the parts are end-of-life too, and may be recycled as post-consumer material)."""
    marks: dict[str, Any] = {"disaggregated_from": parent.lot_id}
    if end_of_life(parent):
        marks[EOL_FROM] = parent.lot_id
    return marks


def check_recyclable(lots: list[Lot]) -> None:
    """Recycling turns waste into recycled material: products at their end of life (any level,
    ``end_of_life``), production scrap, or material that is already recycled (black mass) — never
    virgin bulk material, nor a product still in service or never placed on the market. Plain
    lots and confidential ones (by their bucket keys) alike."""
    for lot in lots:
        keys = lot.commitments if lot.confidential else lot.buckets
        if lot.level == 0 and lot.form not in SCRAP_FORMS and not all(parse_bucket_key(key).recycled for key in keys):
            raise RuleViolationError(
                "recycled.origin",
                f"lot {lot.lot_id} ({lot.form}) is neither a product, production scrap nor recycled material",
            )
        if lot.level > 0 and not end_of_life(lot):
            raise RuleViolationError(
                "recycled.end-of-life",
                f"{lot.form} {lot.lot_id} is not at its end of life: it must be placed on the market / in service "
                f"(lifecycle {sorted(IN_SERVICE)}) and then declared waste, or be a part of such a product",
            )


def recycled_class(lot: Lot, key: str) -> str:
    """The recycled class a bucket of an input lot becomes: production scrap → pre-consumer,
    end-of-life products → post-consumer, already-recycled material keeps its own class."""
    k = parse_bucket_key(key)
    return k.origin if k.recycled else "recycled-pre" if lot.form in SCRAP_FORMS else "recycled-post"
