"""Signed tree heads and split-view evidence refuse forgeries."""

from __future__ import annotations

import dataclasses

import pytest

from batterytrace.crypto.merkle import leaf_hash, verify_consistency, verify_inclusion
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import ConfigError, EncodingError, SplitViewError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence, sign_checkpoint
from support import Chain


@pytest.fixture
def chain() -> Chain:
    return Chain()


def test_checkpoint_round_trip_and_verify(chain: Chain) -> None:
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    again = Checkpoint.from_dict(cp.to_dict())
    assert again == cp
    again.verify(chain.ledger.operator_did)
    assert cp.root_hash == chain.ledger.root()


@pytest.mark.parametrize("field", ["tree_size", "root_hash", "timestamp", "log_id", "signature", "ledger"])
def test_any_changed_field_fails(chain: Chain, field: str) -> None:
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    other = SigningKey.from_label("other-operator").did
    changed = {
        "tree_size": cp.tree_size + 1,
        "root_hash": bytes(32),
        "timestamp": cp.timestamp + 1,
        "log_id": other,
        "ledger": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "signature": bytes([cp.signature[0] ^ 1]) + cp.signature[1:],
    }[field]
    forged = dataclasses.replace(cp, **{field: changed})
    with pytest.raises(VerificationError):
        forged.verify(chain.ledger.operator_did)


def test_checkpoint_signed_by_someone_else(chain: Chain) -> None:
    mallory = SigningKey.from_label("mallory")
    cp = sign_checkpoint(mallory, chain.ledger.size(), chain.ledger.root(), 1, ledger=chain.ledger.ledger_id)
    with pytest.raises(VerificationError):
        cp.verify(chain.ledger.operator_did)
    cp.verify()  # valid for its own (unrelated) log id
    with pytest.raises(ConfigError):
        chain.ledger.sign_tree_head(mallory)


@pytest.mark.parametrize(
    "data",
    [{}, {"log_id": "x", "tree_size": 1, "root_hash": "00", "timestamp": 1, "signature": "AA"}, None, "cp"],
)
def test_malformed_checkpoints(data: object) -> None:
    with pytest.raises(EncodingError):
        Checkpoint.from_dict(data)


def test_split_view_evidence(chain: Chain) -> None:
    key = chain.operator.signing_key
    honest = chain.ledger.sign_tree_head(key)
    forked = sign_checkpoint(key, honest.tree_size, b"\x42" * 32, 2, ledger=chain.ledger.ledger_id)
    evidence = SplitViewEvidence.detect(honest, forked)
    assert evidence is not None
    evidence.verify()
    again = SplitViewEvidence.from_dict(evidence.to_dict())
    again.verify()
    err = again.error()
    assert isinstance(err, SplitViewError) and "split view" in str(err) and str(honest.tree_size) in str(err)
    assert SplitViewEvidence.detect(honest, honest) is None


def test_fake_split_view_evidence_is_refused(chain: Chain) -> None:
    key = chain.operator.signing_key
    honest = chain.ledger.sign_tree_head(key)
    unsigned_fork = dataclasses.replace(honest, root_hash=b"\x42" * 32)  # not signed by the operator
    with pytest.raises(VerificationError):
        SplitViewEvidence(honest, unsigned_fork).verify()
    with pytest.raises(VerificationError):
        SplitViewEvidence(honest, honest).verify()
    bigger = sign_checkpoint(key, honest.tree_size + 1, b"\x42" * 32, 2, ledger=chain.ledger.ledger_id)
    with pytest.raises(VerificationError):
        SplitViewEvidence(honest, bigger).verify()


def test_ledger_proofs_verify_against_checkpoints(chain: Chain) -> None:
    key = chain.operator.signing_key
    old = chain.ledger.sign_tree_head(key)
    for _ in range(5):
        chain.extract("kasonta")
    new = chain.ledger.sign_tree_head(key)
    verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash,
                       chain.ledger.consistency_proof(old.tree_size, new.tree_size))
    for seq in (0, old.tree_size - 1, new.tree_size - 1):
        stored = chain.ledger.store.get_event(seq)
        proof = chain.ledger.inclusion_proof(seq, new.tree_size)
        leaf = stored.event_hash + stored.signature + stored.ingested_at.to_bytes(8, "big")
        verify_inclusion(leaf_hash(leaf), seq, new.tree_size, proof, new.root_hash)
