"""Attacks on the checkpoint-note verifier (``verify_checkpoint_note``, ``log verify-checkpoint``):
cross-ledger replay under one operator key, signature transplant between the JSON and note forms,
key-ID collisions, signature floods and absurd sizes. Each is refused by its named rule."""

from __future__ import annotations

import base64

import pytest

from batterytrace.crypto.signed_note import (
    MAX_NOTE_SIGNATURES,
    NoteError,
    NoteVerifier,
    note_key_id,
    sign_note,
)
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import VerificationError
from batterytrace.ledger.checkpoint import (
    Checkpoint,
    checkpoint_origin,
    checkpoint_verifier,
    verify_checkpoint_note,
)
from support import Chain

EM = "\u2014"


def refused(rule: str, note: str, vkey: str | NoteVerifier, **kw: object) -> None:
    with pytest.raises(NoteError) as err:
        verify_checkpoint_note(note, vkey, **kw)  # type: ignore[arg-type]
    assert err.value.rule == rule, str(err.value)


@pytest.fixture
def chain() -> Chain:
    return Chain()


def test_note_of_another_ledger_of_the_same_operator(chain: Chain) -> None:
    """One operator key, two ledgers: a tree head of one is no checkpoint of the other."""
    key = chain.operator.signing_key
    cp = chain.ledger.sign_tree_head(key)
    other_ledger = "urn:uuid:00000000-0000-4000-8000-000000000001"
    other_vkey = checkpoint_verifier(other_ledger, cp.log_id)
    assert other_vkey.public_key == key.public_key and other_vkey.key_id != checkpoint_verifier(cp.ledger, cp.log_id).key_id
    refused("note.key_id", cp.to_note(), other_vkey)
    # even when the verifier is told to accept any origin under the other ledger's key
    refused("note.key_id", cp.to_note(), other_vkey, origin=checkpoint_origin(cp.ledger))


def test_signatures_do_not_transplant_between_forms(chain: Chain) -> None:
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    assert cp.note_signature is not None
    vkey = checkpoint_verifier(cp.ledger, cp.log_id)
    # the JSON statement's signature in the note's signature line
    line = f"{EM} {vkey.name} {base64.b64encode(vkey.key_id + cp.signature).decode()}\n"
    refused("note.signature", cp.note_text() + "\n" + line, vkey)
    # the note's signature as the JSON form's signature
    swapped = Checkpoint(cp.log_id, cp.tree_size, cp.root_hash, cp.timestamp, cp.note_signature, cp.ledger)
    with pytest.raises(VerificationError):
        swapped.verify()


def test_colliding_key_id_is_still_checked(chain: Chain) -> None:
    """An attacker's key whose name and 4-byte ID equal the log's (cheap to find) gets only a
    signature failure: the verifier holds the real public key."""
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    vkey = checkpoint_verifier(cp.ledger, cp.log_id)
    attacker = SigningKey.from_label("attacker")
    forged_text = cp.note_text().replace(f"\n{cp.tree_size}\n", f"\n{cp.tree_size + 1000}\n")
    forged_sig = attacker.sign(forged_text.encode())
    line = f"{EM} {vkey.name} {base64.b64encode(vkey.key_id + forged_sig).decode()}\n"
    refused("note.signature", forged_text + "\n" + line, vkey)
    assert note_key_id(vkey.name, attacker.public_key) != vkey.key_id  # the ID was forged, not derived


def test_signature_flood_and_absurd_sizes(chain: Chain) -> None:
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    vkey = checkpoint_verifier(cp.ledger, cp.log_id)
    flood = "".join(f"{EM} w{i}.example/x AAAAAAAA\n" for i in range(MAX_NOTE_SIGNATURES))
    refused("note.malformed", cp.to_note() + flood, vkey)
    key = SigningKey.from_label("log")
    log = NoteVerifier.of("o.example/log", key.public_key)
    root = base64.b64encode(bytes(32)).decode()
    for size in ("9" * 21, "1e3", "0x10", "\u0661"):  # too many digits, exponent, hex, Arabic-Indic one
        refused("note.malformed", sign_note(f"{log.name}\n{size}\n{root}\n", log.name, key), log)
