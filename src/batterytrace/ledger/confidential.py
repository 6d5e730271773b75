"""Confidential mode: the wire form shared by the rules (verifier) and the prover helpers.

A confidential output spec carries ``"commitments": {bucket_key: hex}`` instead of ``"buckets"``;
the event carries ``"loss": {bucket_key: hex}`` and ``"proofs": {group_key: proof}``. Bucket keys
stay public, so rules on origins, countries and segregation still apply to them.

Groups (``bucket_groups``): one proof bundle per bucket key — the inputs and outputs holding that
key — except for recycling, where the group is the recycled output key and its inputs are every
input bucket of the same element (recycling balances per element). Extraction has no inputs: its
proof per key is one aggregated range proof over the outputs holding the key.

Each output also carries a threshold proof that its committed metal does not exceed its public
gross mass (``"contained"``, one per output).

Binding: every proof is bound to ``element_context(binding_hash(body), group_key)`` where
``binding_hash`` hashes the canonical body with ``"proofs"`` and ``"contained"`` removed, under
its own domain tag;
the proofs therefore commit to everything else the event says (actor, nonce, time, inputs,
commitments, loss), and the signature covers the proofs.

Every refusal is a ``RuleViolationError`` whose rule starts with ``zk.`` (docs/rules.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from batterytrace.canonical import canonical_json
from batterytrace.crypto.zk import (
    QUANTITY_BITS,
    ElementBalanceProof,
    ElementStatement,
    LinearStatement,
    MembershipProof,
    Opening,
    Point,
    RangeProof,
    decode_commitment,
    element_context,
    loss_bound,
    verify_element_balances,
    verify_kernel,
    verify_linear,
    verify_membership_batch,
    verify_range,
    verify_range_batch,
)
from batterytrace.errors import EncodingError, RuleViolationError, VerificationError
from batterytrace.model.buckets import parse_bucket_key
from batterytrace.model.entities import FORM_LEVELS

__all__ = [
    "BINDING_DOMAIN",
    "MAX_PER_GROUP",
    "PROOF_FIELDS",
    "DeferredProofs",
    "binding_hash",
    "bucket_groups",
    "contained_statement",
    "decode_commitments",
    "is_confidential_body",
    "malformed",
    "public_openings",
    "public_points",
    "receipt_groups",
    "scrap_statement",
    "scrap_terms",
    "verify_bundles",
    "verify_contained",
    "verify_extraction_ranges",
    "verify_scrap_share",
]

BINDING_DOMAIN = b"batterytrace/confidential/event/v1\x00"
MAX_PER_GROUP = 63
"""Outputs per group: the aggregated range proof covers the outputs and the loss (≤ 64 values)."""

T = TypeVar("T")


class DeferredProofs:
    """Proofs collected over the events of a batch and verified together at its end (one
    multi-scalar multiplication for the balance bundles, one for extraction range proofs, one
    for the ring membership proofs of anonymous extractions).
    ``verify`` raises VerificationError when any fails; the ledger then re-checks the batch
    event by event, which names the rule and refuses only the culprit."""

    def __init__(self) -> None:
        self.bundles: list[tuple[ElementStatement, ElementBalanceProof]] = []
        self.ranges: list[tuple[RangeProof, list[Point], int, bytes]] = []
        self.memberships: list[tuple[MembershipProof, list[Point], bytes]] = []

    def __bool__(self) -> bool:
        return bool(self.bundles or self.ranges or self.memberships)

    def mark(self) -> tuple[int, int, int]:
        return len(self.bundles), len(self.ranges), len(self.memberships)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Drop what a refused event added."""
        del self.bundles[mark[0] :], self.ranges[mark[1] :], self.memberships[mark[2] :]

    def verify(self) -> None:
        if self.bundles:
            verify_element_balances(self.bundles)
        if self.ranges:
            verify_range_batch(self.ranges)
        if self.memberships:
            verify_membership_batch(self.memberships)


def malformed(message: str) -> RuleViolationError:
    return RuleViolationError("zk.malformed", message)


PROOF_FIELDS = frozenset({"proofs", "contained", "membership", "scrap"})


def binding_hash(body: Mapping[str, Any]) -> bytes:
    """SHA-256 over the domain tag and the RFC 8785 body without its proof members
    (``"proofs"``, ``"contained"``, and an anonymous extraction's ``"membership"``)."""
    return hashlib.sha256(
        BINDING_DOMAIN + canonical_json({k: v for k, v in body.items() if k not in PROOF_FIELDS})
    ).digest()


def public_openings(buckets: Mapping[str, int]) -> dict[str, Opening]:
    """The openings of a plain lot's buckets as they enter a confidential transformation: the
    public grams with blinding 0 (empty buckets are left out: 0·G is the identity)."""
    return {key: Opening(int(grams), 0) for key, grams in buckets.items() if grams}


def public_points(buckets: Mapping[str, int]) -> dict[str, Point]:
    """The commitments v·G of ``public_openings`` (what the verifier uses for a plain input)."""
    return {key: o.commitment() for key, o in public_openings(buckets).items()}


def is_confidential_body(body: Mapping[str, Any]) -> bool:
    """An event is confidential when it carries proofs or any output carries commitments."""
    outputs = body.get("outputs")
    specs = outputs if isinstance(outputs, list) else []
    return "proofs" in body or any(isinstance(o, dict) and "commitments" in o for o in specs)


def decode_commitments(value: Any, what: str, allow_empty: bool = False) -> dict[str, Point]:
    """``{bucket_key: hex}`` → points; any bad key or encoding is ``zk.malformed``."""
    if not isinstance(value, dict) or (not value and not allow_empty):
        raise malformed(f"{what} must be an object of bucket key → commitment hex")
    out: dict[str, Point] = {}
    for key, text in value.items():
        try:
            parse_bucket_key(key)
            if not isinstance(text, str) or text != text.lower():
                raise EncodingError("commitment must be lower-case hex")
            out[key] = decode_commitment(text, f"{what}[{key}]")
        except EncodingError as exc:
            raise malformed(f"{what}[{key!r}]: {exc}") from exc
    return out


def bucket_groups(
    kind: str, inputs: Sequence[Mapping[str, T]], outputs: Sequence[Mapping[str, T]]
) -> dict[str, tuple[list[T], list[T]]]:
    """Group key → (input items, output items), in input and output order (within a lot, in
    sorted key order: the log stores bodies as canonical JSON, so dict order is not kept).

    Per bucket key, or for ``recycle`` per output key with every input bucket of its element.
    Raises ``zk.balance`` when an output key has no input (mass created) or an input key no
    output (a fully lost bucket must still be carried as an output committing to zero).
    """
    groups: dict[str, tuple[list[T], list[T]]] = {}
    for spec in outputs:
        for key in sorted(spec):
            groups.setdefault(key, ([], []))[1].append(spec[key])
    if kind == "recycle":
        by_element: dict[str, str] = {}
        for key in groups:
            element = parse_bucket_key(key).element
            if element in by_element:
                raise RuleViolationError(
                    "recycled.origin", f"recycling yields one {element} bucket, not {by_element[element]} and {key}"
                )
            by_element[element] = key
        for spec in inputs:
            for key in sorted(spec):
                target = by_element.get(parse_bucket_key(key).element)
                if target is None:
                    raise RuleViolationError("zk.balance", f"input bucket {key} has no output bucket of its element")
                groups[target][0].append(spec[key])
    else:
        for spec in inputs:
            for key in sorted(spec):
                if key not in groups:
                    raise RuleViolationError(
                        "zk.balance", f"input bucket {key} has no output bucket (commit to zero when all is lost)"
                    )
                groups[key][0].append(spec[key])
    for key, (ins, outs) in groups.items():
        if not ins:
            raise RuleViolationError("zk.balance", f"{key}: output bucket without an input bucket (mass created)")
        if len(outs) > MAX_PER_GROUP:
            raise malformed(f"{key}: at most {MAX_PER_GROUP} outputs per bucket key")
    return groups


def receipt_groups(
    inputs: Sequence[Mapping[str, T]], outputs: Sequence[Mapping[str, T]], changed: set[tuple[int, str]]
) -> dict[str, tuple[list[T], list[T]]]:
    """Receipts balance lot by lot: group ``"<i>:<bucket key>"`` = ([shipped], [received]) for
    every bucket of received lot i whose commitment changed (unchanged ones need no proof)."""
    return {f"{i}:{key}": ([inputs[i][key]], [outputs[i][key]]) for i, key in sorted(changed)}


def _proofs_for(body: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
    proofs = body.get("proofs", {} if not keys else None)
    if not isinstance(proofs, dict):
        raise malformed("a confidential event needs an object 'proofs'")
    if set(proofs) != keys:
        missing, extra = sorted(keys - set(proofs)), sorted(set(proofs) - keys)
        raise malformed(f"proofs must cover exactly the bucket groups (missing {missing}, unexpected {extra})")
    return proofs


def verify_bundles(
    body: Mapping[str, Any],
    groups: Mapping[str, tuple[list[Point], list[Point]]],
    tolerance_per_mille: int,
    defer: DeferredProofs | None = None,
) -> None:
    """Check every group's balance bundle (one batched multi-scalar multiplication).

    ``body["loss"]`` must commit to a loss for exactly the group keys. On failure the bundles
    are re-checked part by part to name the rule: ``zk.balance`` (kernel), ``zk.range`` (outputs
    and loss in [0, 2^48)), ``zk.loss`` (loss above the tolerance). With ``defer`` the shape
    is checked now and the proofs are only collected for the batch's final check.
    """
    keys = set(groups)
    wire_loss = body.get("loss", {})
    if not isinstance(wire_loss, dict) or set(wire_loss) != keys:
        got = sorted(wire_loss) if isinstance(wire_loss, dict) else wire_loss
        raise malformed(f"loss must commit to exactly the groups {sorted(keys)}, got {got}")
    loss: dict[str, Point] = {}
    for key, text in wire_loss.items():
        try:
            if not isinstance(text, str) or text != text.lower():
                raise EncodingError("commitment must be lower-case hex")
            loss[key] = decode_commitment(text, f"loss[{key}]")
        except EncodingError as exc:
            raise malformed(f"loss[{key!r}]: {exc}") from exc
    proofs = _proofs_for(body, keys)
    event_hash = binding_hash(body)
    items: list[tuple[ElementStatement, ElementBalanceProof]] = []
    for key in sorted(keys):
        ins, outs = groups[key]
        try:
            proof = ElementBalanceProof.from_wire(proofs[key], outputs=len(outs))
        except EncodingError as exc:
            raise malformed(f"proof for {key}: {exc}") from exc
        statement = ElementStatement(
            event_hash, key, tuple(ins), tuple(outs), loss[key], tolerance_per_mille
        )
        items.append((statement, proof))
    if defer is not None:
        defer.bundles.extend(items)
        return
    try:
        verify_element_balances(items)
    except VerificationError as exc:
        _name_failure(items, exc)


def _failing_part(st: ElementStatement, proof: ElementBalanceProof) -> tuple[str, str] | None:
    """(rule, message) of the first part of one bundle that does not verify, else None."""
    ctx = st.context
    ins, outs = list(st.inputs), list(st.outputs)
    try:
        verify_kernel(proof.kernel, ins, outs, st.loss, ctx)
    except VerificationError as exc:
        return "zk.balance", str(exc)
    try:
        verify_range(proof.ranges, [*outs, st.loss], QUANTITY_BITS, ctx)
    except VerificationError as exc:
        return "zk.range", str(exc)
    try:
        bound = loss_bound(st.tolerance_per_mille, len(ins))
        verify_linear(bound, [*ins, st.loss], proof.loss_bound, ctx)
    except VerificationError as exc:
        return "zk.loss", f"{exc} (tolerance {st.tolerance_per_mille}‰)"
    return None


def _name_failure(
    items: list[tuple[ElementStatement, ElementBalanceProof]], exc: VerificationError
) -> None:
    for st, proof in items:
        failed = _failing_part(st, proof)
        if failed is not None:
            raise RuleViolationError(failed[0], f"{st.element}: {failed[1]}") from exc
    raise RuleViolationError("zk.balance", str(exc)) from exc


def verify_extraction_ranges(
    body: Mapping[str, Any], outputs: Sequence[Mapping[str, Point]], defer: DeferredProofs | None = None
) -> None:
    """Extraction: one aggregated 48-bit range proof per bucket key over the outputs holding it
    (collected into ``defer`` instead of verified, when given)."""
    if body.get("loss") is not None:
        raise malformed("extraction books no loss")
    per_key: dict[str, list[Point]] = {}
    for spec in outputs:
        for key, c in spec.items():
            per_key.setdefault(key, []).append(c)
    proofs = _proofs_for(body, set(per_key))
    event_hash = binding_hash(body)
    items: list[tuple[RangeProof, list[Point], int, bytes]] = []
    for key in sorted(per_key):
        wire = proofs[key]
        if not isinstance(wire, dict) or set(wire) != {"range"} or not isinstance(wire["range"], str):
            raise malformed(f"proof for {key} must be {{'range': hex}}")
        commitments = per_key[key]
        if len(commitments) > MAX_PER_GROUP + 1:
            raise malformed(f"{key}: at most {MAX_PER_GROUP + 1} outputs per bucket key")
        try:
            proof = RangeProof.from_bytes(bytes.fromhex(wire["range"]), QUANTITY_BITS, len(commitments))
        except (EncodingError, ValueError) as exc:
            raise malformed(f"range proof for {key}: {exc}") from exc
        items.append((proof, commitments, QUANTITY_BITS, element_context(event_hash, key)))
    if defer is not None:
        defer.ranges.extend(items)
        return
    try:
        verify_range_batch(items)
    except VerificationError as exc:
        for (proof, commitments, bits, ctx), key in zip(items, sorted(per_key), strict=True):
            try:
                verify_range(proof, commitments, bits, ctx)
            except VerificationError as part:
                raise RuleViolationError("zk.range", f"{key}: {part}") from exc
        raise RuleViolationError("zk.range", str(exc)) from exc


RangeItem = tuple[RangeProof, list[Point], int, bytes]


def threshold_item(statement: LinearStatement, points: list[Point], text: str, context: bytes, where: str) -> RangeItem:
    """A threshold proof (hex ``text``) of ``statement`` over ``points`` as a range-proof item:
    Σ a_i·C_i − c·G is in range, bound to ``context``."""
    try:
        proof = RangeProof.from_bytes(bytes.fromhex(text), statement.n_bits, 1)
    except (EncodingError, ValueError) as exc:
        raise malformed(f"{where}: {exc}") from exc
    return proof, [statement.combined(points)], statement.n_bits, statement.context(points, context)


def check_thresholds(
    items: list[RangeItem], names: Sequence[str], defer: DeferredProofs | None,
    refusal: Callable[[str, VerificationError], RuleViolationError],
) -> None:
    """Verify threshold items now, the first failure refused as ``refusal(name, error)``, or hand
    them to ``defer`` to join the batch's range proofs."""
    if defer is not None:
        defer.ranges.extend(items)
        return
    for name, (proof, combined, bits, context) in zip(names, items, strict=True):
        try:
            verify_range(proof, combined, bits, context)
        except VerificationError as exc:
            raise refusal(name, exc) from exc


def contained_statement(gross_mass_g: int, buckets: int) -> LinearStatement:
    """gross − Σ v_bucket ≥ 0: an output holds no more metal than it weighs."""
    return LinearStatement(f"contained<={gross_mass_g}", (-1,) * buckets, -gross_mass_g)


def contained_context(event_hash: bytes, index: int) -> bytes:
    return element_context(event_hash, f"outputs[{index}]")


def verify_contained(
    body: Mapping[str, Any],
    outputs: Sequence[tuple[int, Mapping[str, Point]]],
    defer: DeferredProofs | None = None,
) -> None:
    """``body["contained"]``: one 64-bit threshold proof per output (gross mass, commitments in
    sorted bucket key order) that the committed metal does not exceed the public gross mass
    (``zk.assay``). A threshold proof is a range proof on Σ a_i·C_i − c·G, so it joins the
    batch's range proofs."""
    wire = body.get("contained")
    if not isinstance(wire, list) or len(wire) != len(outputs) or not all(isinstance(w, str) for w in wire):
        raise malformed("'contained' must list one proof (hex) per output")
    event_hash = binding_hash(body)
    items: list[RangeItem] = []
    for i, ((gross, commitments), text) in enumerate(zip(outputs, wire, strict=True)):
        points = [commitments[k] for k in sorted(commitments)]
        items.append(threshold_item(contained_statement(gross, len(points)), points, text,
                                    contained_context(event_hash, i), f"contained[{i}]"))
    check_thresholds(items, [f"outputs[{i}]" for i in range(len(items))], defer, lambda where, exc: RuleViolationError(
        "zk.assay", f"{where}: contained metal ≤ gross mass does not verify: {exc}"))


def scrap_terms(
    outputs: Sequence[Mapping[str, T]], forms: Sequence[str], scrap_forms: frozenset[str], max_permille: int
) -> dict[str, tuple[list[T], list[T]]]:
    """Element → (every product output bucket of it, every production-scrap output bucket of it),
    for the elements a transformation books as scrap; products are the outputs of ``FORM_LEVELS``
    ≥ 1; outputs in order, each in sorted bucket key order (prover and verifier build the same
    list). Empty when ``max_permille`` is 1000: such a policy does not bound scrap, nothing to prove."""
    if max_permille >= 1000:
        return {}
    scrap: dict[str, list[T]] = {}
    for spec, form in zip(outputs, forms, strict=True):
        if form in scrap_forms:
            for key in sorted(spec):
                scrap.setdefault(parse_bucket_key(key).element, []).append(spec[key])
    terms: dict[str, tuple[list[T], list[T]]] = {el: ([], items) for el, items in scrap.items()}
    for spec, form in zip(outputs, forms, strict=True):
        if FORM_LEVELS.get(form, 0) > 0:
            for key in sorted(spec):
                element = parse_bucket_key(key).element
                if element in terms:
                    terms[element][0].append(spec[key])
    return terms


def scrap_statement(max_permille: int, products: int, scrap: int) -> LinearStatement:
    """max‰·Σ v_product − (1000 − max‰)·Σ v_scrap ≥ 0: the scrap of an element at most max‰ of
    the product and scrap the transformation yields (a scrap rate; the input does not enter, so
    feeding the residue into another transformation gains nothing)."""
    return LinearStatement(f"scrap-of-output<={max_permille}", (max_permille,) * products + (max_permille - 1000,) * scrap, 0)


def scrap_context(event_hash: bytes, element: str) -> bytes:
    return element_context(event_hash, f"scrap:{element}")


def verify_scrap_share(
    body: Mapping[str, Any],
    terms: Mapping[str, tuple[list[Point], list[Point]]],
    max_permille: int,
    defer: DeferredProofs | None = None,
) -> None:
    """``body["scrap"]``: one threshold proof per element booked as production scrap that the
    committed scrap is at most ``max_permille`` of the committed product plus scrap of the
    element (``scrap_statement``; ``zk.scrap``)."""
    wire = body.get("scrap", {} if not terms else None)
    if not isinstance(wire, dict) or set(wire) != set(terms) or not all(isinstance(w, str) for w in wire.values()):
        raise malformed(f"'scrap' must hold one proof (hex) for each element booked as scrap {sorted(terms)}")
    event_hash = binding_hash(body)
    items: list[RangeItem] = []
    for element in sorted(terms):
        products, scrap = terms[element]
        items.append(threshold_item(scrap_statement(max_permille, len(products), len(scrap)), [*products, *scrap],
                                    wire[element], scrap_context(event_hash, element), f"scrap[{element}]"))
    check_thresholds(items, sorted(terms), defer, lambda element, exc: RuleViolationError(
        "zk.scrap", f"{element}: production scrap ≤ {max_permille}‰ of the product and scrap does not verify: {exc}"))
