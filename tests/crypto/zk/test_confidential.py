"""The per-element proof bundle of a confidential event: prove, wire round trip, batch, refusals."""

from __future__ import annotations

import dataclasses

import pytest

from batterytrace.crypto.zk.confidential import (
    ElementBalanceProof,
    ElementStatement,
    decode_commitment,
    prove_element_balance,
    verify_element_balance,
    verify_element_balances,
)
from batterytrace.crypto.zk.generators import G
from batterytrace.crypto.zk.group import IDENTITY, L
from batterytrace.crypto.zk.pedersen import random_opening
from batterytrace.errors import EncodingError, VerificationError

EVENT = bytes.fromhex("cd" * 32)


def _bundle(
    ins: list[int],
    outs: list[int],
    loss: int,
    tol: int = 30,
    element: str = "Co",
    event: bytes = EVENT,
) -> tuple[ElementStatement, ElementBalanceProof]:
    return prove_element_balance(
        event,
        element,
        [random_opening(v) for v in ins],
        [random_opening(v) for v in outs],
        random_opening(loss),
        tol,
    )


def test_honest_bundle_verifies_and_survives_the_wire() -> None:
    statement, proof = _bundle([600_000, 400_000], [700_000, 290_000], 10_000)
    verify_element_balance(statement, proof)
    wire = proof.to_wire()
    decoded = ElementBalanceProof.from_wire(wire, outputs=2)
    assert decoded == proof
    commitments = [decode_commitment(c.hex()) for c in statement.outputs]
    assert commitments == list(statement.outputs)


def test_batch_verification_names_the_bad_item() -> None:
    good = [_bundle([1000], [990], 10) for _ in range(3)]
    verify_element_balances(good)
    st, pr = good[1]
    moved = dataclasses.replace(
        st, event_hash=bytes.fromhex("ce" * 32)
    )  # replayed on another event
    with pytest.raises(VerificationError, match="item 1: element Co: kernel"):
        verify_element_balances([good[0], (moved, pr), good[2]])


def test_false_statements_cannot_be_proved() -> None:
    with pytest.raises(ValueError, match="do not balance"):
        _bundle([1000], [995], 10)
    with pytest.raises(ValueError, match="loss-bound"):
        _bundle([1000], [900], 100, tol=30)  # 10 % loss, tolerance 3 %
    with pytest.raises(ValueError, match="outside"):
        _bundle([2**48 + 10], [2**48], 10)


def test_every_public_input_is_bound() -> None:
    statement, proof = _bundle([5000], [4900], 100, tol=30)
    variants = {
        "element": dataclasses.replace(statement, element="Ni"),
        "event": dataclasses.replace(statement, event_hash=b"\x00" * 32),
        "tolerance": dataclasses.replace(statement, tolerance_per_mille=19),
        "output": dataclasses.replace(statement, outputs=(statement.outputs[0] + G,)),
        "loss": dataclasses.replace(statement, loss=statement.loss + G),
    }
    for name, changed in variants.items():
        with pytest.raises(VerificationError, match="element"):
            verify_element_balance(changed, proof)
        assert name


def test_wire_decoding_is_strict() -> None:
    _, proof = _bundle([1000], [990], 10)
    wire = proof.to_wire()
    with pytest.raises(EncodingError, match="bytes"):
        ElementBalanceProof.from_wire(wire, outputs=2)
    with pytest.raises(EncodingError, match="kernel, range, loss_bound"):
        ElementBalanceProof.from_wire({**wire, "extra": "00"}, outputs=1)
    with pytest.raises(EncodingError, match="not hex"):
        ElementBalanceProof.from_wire({**wire, "kernel": "zz"}, outputs=1)
    with pytest.raises(EncodingError, match="identity"):
        decode_commitment(IDENTITY.hex())
    with pytest.raises(EncodingError, match="invalid"):
        decode_commitment("ff" * 32)
    with pytest.raises(EncodingError, match="not hex"):
        decode_commitment("xyz")
    scalar_hex = wire["kernel"][:64] + L.to_bytes(32, "little").hex()
    with pytest.raises(EncodingError, match="non-canonical"):
        ElementBalanceProof.from_wire({**wire, "kernel": scalar_hex}, outputs=1)


def test_event_contexts_are_injective_and_validated() -> None:
    from batterytrace.crypto.zk.confidential import element_context, event_context

    assert event_context("ab", b"c") != event_context("a", b"bc")
    assert element_context(EVENT, "Co") == event_context("element:Co", EVENT)
    with pytest.raises(ValueError, match="event hash"):
        event_context("x", b"")
    with pytest.raises(ValueError, match="label"):
        event_context("", EVENT)
