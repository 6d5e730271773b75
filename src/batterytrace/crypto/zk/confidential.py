"""The per-element proof bundle of a confidential event, as the ledger will use it.

For one element (e.g. cobalt) of one event, with public commitments to the input buckets, the
output buckets and the loss, the sender proves:

* balance — a kernel: Σ C_in − Σ C_out − C_loss = e·H, Schnorr-signed over the element context;
* range — one aggregated Bulletproof that every output and the loss lie in [0, 2^48);
* loss bound — tol·Σ v_in − 1000·v_loss ≥ 0 (tolerance in per mille, public), 64-bit range proof.

All three are bound to ``element_context(event_hash, element)``, so none can be replayed on
another event or another element. ``verify_element_balances`` checks any number of bundles with
one multi-scalar multiplication; when the batch fails it re-checks them one by one to name the
culprit. The wire form is a JSON object of hex strings (see docs/zk.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.group import L, Point
from batterytrace.crypto.zk.kernel import KernelProof, kernel_equation, prove_kernel
from batterytrace.crypto.zk.linear import linear_equation, loss_bound, prove_linear
from batterytrace.crypto.zk.pedersen import Opening
from batterytrace.crypto.zk.rangeproof import (
    RangeProof,
    decode_point,
    prove_range,
    range_equation,
)
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "QUANTITY_BITS",
    "ElementBalanceProof",
    "ElementStatement",
    "decode_commitment",
    "element_context",
    "event_context",
    "prove_element_balance",
    "verify_element_balance",
    "verify_element_balances",
]

QUANTITY_BITS = 48
"""Bucket quantities are integer grams below 2^48 (≈ 281 000 t)."""


def event_context(label: str, event_hash: bytes) -> bytes:
    """Context bytes binding a proof to an event under a purpose label (injective encoding).

    Pass the result as ``context`` to ``prove_range``/``verify_range`` or as ``extra`` to the
    linear and kernel proofs, e.g. ``event_context("shipment-outputs", h)``.
    """
    if not event_hash:
        raise ValueError("an event hash is required")
    tag = label.encode()
    if not tag or len(tag) > 0xFFFF:
        raise ValueError("a context label is 1..65535 bytes")
    return b"batterytrace/zk/event/v1" + len(tag).to_bytes(2, "big") + tag + event_hash


def element_context(event_hash: bytes, element: str) -> bytes:
    """The bytes every proof of one element of one event is bound to."""
    return event_context(f"element:{element}", event_hash)


def decode_commitment(text: str, what: str = "commitment") -> Point:
    """A commitment from its hex wire form: a valid, canonical, non-identity point."""
    try:
        raw = bytes.fromhex(text)
    except (ValueError, TypeError) as exc:
        raise EncodingError(f"{what} is not hex") from exc
    return decode_point(raw, what)


@dataclass(frozen=True)
class ElementStatement:
    """The public side: commitments, tolerance and what the proofs are bound to."""

    event_hash: bytes
    element: str
    inputs: tuple[Point, ...]
    outputs: tuple[Point, ...]
    loss: Point
    tolerance_per_mille: int

    @property
    def context(self) -> bytes:
        return element_context(self.event_hash, self.element)


@dataclass(frozen=True)
class ElementBalanceProof:
    kernel: KernelProof
    ranges: RangeProof
    loss_bound: RangeProof

    def to_wire(self) -> dict[str, str]:
        return {
            "kernel": self.kernel.to_bytes().hex(),
            "range": self.ranges.to_bytes().hex(),
            "loss_bound": self.loss_bound.to_bytes().hex(),
        }

    @classmethod
    def from_wire(cls, wire: object, outputs: int) -> ElementBalanceProof:
        """Decode with strict lengths: ``outputs`` is the number of output buckets."""
        if not isinstance(wire, dict) or set(wire) != {"kernel", "range", "loss_bound"}:
            raise EncodingError("element proof must be an object with kernel, range, loss_bound")
        raw: dict[str, bytes] = {}
        for key, text in wire.items():
            try:
                raw[key] = bytes.fromhex(text)
            except (ValueError, TypeError) as exc:
                raise EncodingError(f"element proof {key} is not hex") from exc
        return cls(
            KernelProof.from_bytes(raw["kernel"]),
            RangeProof.from_bytes(raw["range"], QUANTITY_BITS, outputs + 1),
            RangeProof.from_bytes(raw["loss_bound"], 64, 1),
        )


def prove_element_balance(
    event_hash: bytes,
    element: str,
    inputs: list[Opening],
    outputs: list[Opening],
    loss: Opening,
    tolerance_per_mille: int,
) -> tuple[ElementStatement, ElementBalanceProof]:
    """Make the three proofs from the private openings; refuse if any statement is false."""
    ctx = element_context(event_hash, element)
    c_in = [o.commitment() for o in inputs]
    c_out = [o.commitment() for o in outputs]
    c_loss = loss.commitment()
    e = (sum(o.blinding for o in inputs) - sum(o.blinding for o in outputs) - loss.blinding) % L
    kernel = prove_kernel(e, c_in, c_out, c_loss, ctx)
    ranges, _ = prove_range(
        [o.value for o in [*outputs, loss]],
        [o.blinding for o in [*outputs, loss]],
        QUANTITY_BITS,
        ctx,
    )
    bound, _ = prove_linear(loss_bound(tolerance_per_mille, len(inputs)), [*inputs, loss], ctx)
    statement = ElementStatement(
        event_hash, element, tuple(c_in), tuple(c_out), c_loss, tolerance_per_mille
    )
    return statement, ElementBalanceProof(kernel, ranges, bound)


def _equations(statement: ElementStatement, proof: ElementBalanceProof) -> list[Equation]:
    ctx = statement.context
    c_in, c_out = list(statement.inputs), list(statement.outputs)
    bound = loss_bound(statement.tolerance_per_mille, len(c_in))
    return [
        kernel_equation(proof.kernel, c_in, c_out, statement.loss, ctx),
        range_equation(proof.ranges, [*c_out, statement.loss], QUANTITY_BITS, ctx),
        linear_equation(bound, [*c_in, statement.loss], proof.loss_bound, ctx),
    ]


def verify_element_balance(statement: ElementStatement, proof: ElementBalanceProof) -> None:
    """Raise VerificationError unless balance, ranges and loss bound all hold."""
    where = f"element {statement.element}"
    try:
        kernel, ranges, bound = _equations(statement, proof)
        check_all([kernel], "kernel")
        check_all([ranges], "range proof")
        check_all([bound], "loss bound")
    except VerificationError as exc:
        raise VerificationError(f"{where}: {exc}") from exc


def verify_element_balances(items: list[tuple[ElementStatement, ElementBalanceProof]]) -> None:
    """Verify many bundles with one multi-scalar multiplication; name the first failing one."""
    equations: list[Equation] = []
    for index, (statement, proof) in enumerate(items):
        try:
            equations.extend(_equations(statement, proof))
        except VerificationError as exc:
            raise VerificationError(f"item {index} element {statement.element}: {exc}") from exc
    try:
        check_all(equations, f"batch of {len(items)} element proofs")
    except VerificationError:
        for index, (statement, proof) in enumerate(items):
            try:
                verify_element_balance(statement, proof)
            except VerificationError as exc:
                raise VerificationError(f"item {index}: {exc}") from exc
        raise
