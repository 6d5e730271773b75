"""The participant's side of confidential mode: commit, prove, sign; check received openings.

``prove_event`` takes an event body written as in plain mode (grams in each output's ``buckets``),
replaces every quantity by a Pedersen commitment, commits to the loss of every group (inputs −
outputs, so a plain ``loss`` in the body is ignored), adds the proofs the rules verify
(ledger/confidential.py) and signs it. It returns the signed event and the private
openings of the new lots (and of the loss), which never enter the log: the sender keeps them in
its ``OpeningStore`` and hands them to the receiver or to an auditor (``OpeningStore.export``);
the receiver checks them against the public lot with ``check_openings`` / ``import_openings``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.zk import (
    QUANTITY_BITS,
    Opening,
    decode_commitment,
    element_context,
    open_commitment,
    prove_element_balance,
    prove_linear,
    prove_range,
    random_opening,
)
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.confidential import (
    binding_hash,
    bucket_groups,
    contained_context,
    contained_statement,
    receipt_groups,
    scrap_context,
    scrap_statement,
    scrap_terms,
)
from batterytrace.ledger.provenance import SCRAP_FORMS
from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent, new_nonce, sign_event
from batterytrace.model.policy import DEFAULT_MAX_SCRAP_PERMILLE
from batterytrace.storage.base import Store
from batterytrace.storage.openings import OpeningStore, openings_from_wire

__all__ = ["ProvedEvent", "check_openings", "import_openings", "prove_body", "prove_event"]

R = TypeVar("R")


@dataclass(frozen=True)
class ProvedEvent:
    event: SignedEvent
    outputs: list[dict[str, Opening]]  # private openings of output lot i, by bucket key
    loss: dict[str, Opening] = field(default_factory=dict)

    def lot_openings(self) -> dict[str, dict[str, Opening]]:
        """Openings keyed by the new lots' ids (event hash:index)."""
        return {f"{self.event.hash_hex}:{i}": o for i, o in enumerate(self.outputs)}


def _contained_proof(gross_mass_g: int, openings: list[Opening], context: bytes) -> str:
    bound, _ = prove_linear(contained_statement(gross_mass_g, len(openings)), openings, context)
    return bound.to_bytes().hex()


def _scrap_proof(max_permille: int, products: list[Opening], scrap: list[Opening], context: bytes) -> str:
    bound, _ = prove_linear(scrap_statement(max_permille, len(products), len(scrap)), [*products, *scrap], context)
    return bound.to_bytes().hex()


def _balance_proof(out_hash: bytes, group: str, ins: list[Opening], outs: list[Opening], loss: Opening,
                   tolerance_per_mille: int) -> dict[str, str]:
    _, proof = prove_element_balance(out_hash, group, ins, outs, loss, tolerance_per_mille)
    return proof.to_wire()


def prove_event(
    body: Mapping[str, Any],
    key: SigningKey,
    inputs: Sequence[Mapping[str, Opening]] = (),
    tolerance_per_mille: int = 0,
    executor: Executor | None = None,
    *,
    ledger: str,
    scrap_permille: int = DEFAULT_MAX_SCRAP_PERMILLE,
) -> ProvedEvent:
    """Commit, prove and sign for the ledger ``ledger`` (its identifier). ``inputs`` are the openings of the input (or received) lots, in
    the order the body lists them; ``tolerance_per_mille`` is the policy's tolerance for the
    event (0 for aggregation, 1000 for a receipt declaring a discrepancy). Raises ValueError
    when the quantities do not satisfy the statements (the prover cannot prove a false one).
    ``executor`` (e.g. a process pool) proves the groups and outputs in parallel; the proofs are
    the same statements either way. ``scrap_permille`` is the policy's ``max_scrap_permille``
    (a transformation yielding production scrap proves, per element, its share of the product
    and scrap it yields within it)."""
    out, openings, loss = prove_body(
        body, key.did, inputs, tolerance_per_mille, executor, ledger=ledger, scrap_permille=scrap_permille
    )
    return ProvedEvent(sign_event(out, key, ledger=ledger), openings, loss)


def prove_body(
    body: Mapping[str, Any],
    actor: str,
    inputs: Sequence[Mapping[str, Opening]] = (),
    tolerance_per_mille: int = 0,
    executor: Executor | None = None,
    *,
    ledger: str,
    scrap_permille: int = DEFAULT_MAX_SCRAP_PERMILLE,
) -> tuple[dict[str, Any], list[dict[str, Opening]], dict[str, Opening]]:
    """``prove_event`` without the signature: the proved body (``actor`` filled in when absent,
    ``ledger`` set before proving, so the proofs bind the ledger too),
    the openings of the outputs and of the loss. Members a caller adds afterwards are covered
    by the proofs unless they are proof members (``PROOF_FIELDS``)."""
    out: dict[str, Any] = {k: v for k, v in body.items() if k not in ("proofs", "contained", "loss", "scrap")}
    kind = str(out["kind"])
    out.setdefault("actor", actor)
    if out.setdefault("ledger", ledger) != ledger:
        raise ValueError(f"the body names ledger {out['ledger']!r}, not {ledger!r}")
    out.setdefault("nonce", new_nonce())
    out.setdefault("v", 1)
    specs: list[dict[str, Any]] = []
    openings: list[dict[str, Opening]] = []
    for i, spec in enumerate(body["outputs"]):
        mine: dict[str, Opening] = {}
        for bucket, grams in spec["buckets"].items():
            reused = inputs[i].get(bucket) if kind == "receive" and i < len(inputs) else None
            mine[bucket] = reused if reused is not None and reused.value == grams else random_opening(grams)
        openings.append(mine)
        plain = {k: v for k, v in spec.items() if k not in ("buckets", "assay_ppm")}
        specs.append({**plain, "commitments": {b: o.commitment().hex() for b, o in mine.items()}})
    out["outputs"] = specs
    proofs: dict[str, Any] = {}
    loss: dict[str, Opening] = {}
    if kind == "extract":
        out_hash = binding_hash(out)
        per_key: dict[str, list[Opening]] = {}
        for mine in openings:
            for bucket, o in mine.items():
                per_key.setdefault(bucket, []).append(o)
        for bucket, items in per_key.items():
            ranges, _ = prove_range(
                [o.value for o in items], [o.blinding for o in items], QUANTITY_BITS,
                element_context(out_hash, bucket),
            )
            proofs[bucket] = {"range": ranges.to_bytes().hex()}
    else:
        if kind == "receive":
            changed = {(i, b) for i, mine in enumerate(openings) for b, o in mine.items() if o is not inputs[i].get(b)}
            groups = receipt_groups(inputs, openings, changed)
        else:
            groups = bucket_groups(kind, inputs, openings)
        for group, (ins, outs) in groups.items():
            lost = sum(o.value for o in ins) - sum(o.value for o in outs)
            if lost < 0:
                raise ValueError(f"{group}: the outputs hold {-lost} g more than the inputs")
            loss[group] = random_opening(lost)
        if loss:
            out["loss"] = {b: o.commitment().hex() for b, o in loss.items()}
        out_hash = binding_hash(out)
        jobs = {bucket: (out_hash, bucket, ins, outs, loss[bucket], tolerance_per_mille)
                for bucket, (ins, outs) in sorted(groups.items())}
        proofs.update(zip(jobs, _run(executor, _balance_proof, list(jobs.values())), strict=True))
    out_hash = binding_hash(out)
    if kind == "transform":
        forms = [str(spec["form"]) for spec in specs]
        terms = scrap_terms(openings, forms, SCRAP_FORMS, scrap_permille)
        if terms:
            out["scrap"] = dict(zip(sorted(terms), _run(executor, _scrap_proof, [
                (scrap_permille, *terms[el], scrap_context(out_hash, el)) for el in sorted(terms)
            ]), strict=True))
    out["contained"] = _run(executor, _contained_proof, [
        (int(spec["gross_mass_g"]), [mine[b] for b in sorted(mine)], contained_context(out_hash, i))
        for i, (spec, mine) in enumerate(zip(specs, openings, strict=True))
    ])
    if proofs:
        out["proofs"] = proofs
    return out, openings, loss


def _run(executor: Executor | None, fn: Callable[..., R], jobs: list[tuple[Any, ...]]) -> list[R]:
    if executor is None or len(jobs) < 2:
        return [fn(*job) for job in jobs]
    return list(executor.map(fn, *zip(*jobs, strict=True)))


def check_openings(lot: Lot, openings: Mapping[str, Opening]) -> None:
    """Raise VerificationError unless ``openings`` open every commitment of ``lot`` exactly."""
    if not lot.confidential:
        raise VerificationError(f"lot {lot.lot_id} is not confidential")
    if set(openings) != set(lot.commitments):
        raise VerificationError(
            f"lot {lot.lot_id}: openings for {sorted(openings)} but the lot commits to {sorted(lot.commitments)}"
        )
    for bucket, opening in openings.items():
        try:
            open_commitment(decode_commitment(lot.commitments[bucket]), opening)
        except (VerificationError, EncodingError) as exc:
            raise VerificationError(f"lot {lot.lot_id} {bucket}: {exc}") from exc


def import_openings(ledger_store: Store, into: OpeningStore, wire: Any) -> list[str]:
    """Check openings received from a sender (``OpeningStore.export`` form) against the public
    lots and keep them; nothing is stored unless every lot checks. Returns the lot ids."""
    received = openings_from_wire(wire)
    for lot_id, openings in received.items():
        lot = ledger_store.get_lot(lot_id)
        if lot is None:
            raise VerificationError(f"lot {lot_id} is not on the ledger")
        check_openings(lot, openings)
    for lot_id, openings in received.items():
        into.put(lot_id, openings)
    return sorted(received)
