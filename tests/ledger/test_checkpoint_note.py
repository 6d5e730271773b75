"""Tree heads as C2SP tlog-checkpoint signed notes: the note form carries the JSON form's size and
RFC 9162 root, is signed by the operator key, and our verifier refuses each forgery by name."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest

from batterytrace.crypto.signed_note import (
    MAX_NOTE_BYTES,
    NoteError,
    NoteVerifier,
    note_key_id,
    open_note,
    sign_note,
)
from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import (
    Checkpoint,
    checkpoint_origin,
    checkpoint_verifier,
    verify_checkpoint_note,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.storage.base import Store
from batterytrace.storage.sqlite import SQLiteStore
from note_support import tampered
from support import Chain

EM = "\u2014"


@pytest.fixture
def chain() -> Chain:
    return Chain()


def head(chain: Chain) -> tuple[Checkpoint, str]:
    cp = chain.ledger.sign_tree_head(chain.operator.signing_key)
    return cp, checkpoint_verifier(cp.ledger, cp.log_id).encode()


def refused(rule: str, note: str | bytes, vkey: str, **kw: object) -> None:
    with pytest.raises(NoteError) as err:
        verify_checkpoint_note(note, vkey, **kw)  # type: ignore[arg-type]
    assert err.value.rule == rule, str(err.value)


def test_spec_example_verifies() -> None:
    """The signed-note specification's own example (key, note) verifies with our code."""
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    note = ("This is an example message.\n\n"
            f"{EM} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
    assert open_note(note, NoteVerifier.parse(vkey)) == "This is an example message.\n"
    with pytest.raises(NoteError) as err:
        open_note(note.replace("example message", "exemplary message"), NoteVerifier.parse(vkey))
    assert err.value.rule == "note.signature"


def test_round_trip_matches_json_form(chain: Chain) -> None:
    cp, vkey = head(chain)
    note = cp.to_note()
    origin, size, root = note.split("\n")[:3]
    assert origin == checkpoint_origin(chain.ledger.ledger_id) == "batterytrace/" + chain.ledger.ledger_id
    assert int(size) == cp.tree_size == chain.ledger.size() > 0
    assert base64.b64decode(root) == cp.root_hash == chain.ledger.root()
    found = verify_checkpoint_note(note, vkey, expect=cp)
    assert (found.origin, found.tree_size, found.root_hash) == (origin, cp.tree_size, cp.root_hash)
    # the key id is the C2SP one: SHA-256(name || 0x0A || 0x01 || public key)[:4]
    pk = chain.operator.signing_key.public_key
    assert note_key_id(origin, pk) == hashlib.sha256(origin.encode() + b"\n\x01" + pk).digest()[:4]
    material = base64.b64encode(bytes([1]) + pk).decode()
    assert vkey == f"{origin}+{note_key_id(origin, pk).hex()}+{material}"
    # the JSON form round-trips the note signature; the note signs the note text only
    assert Checkpoint.from_dict(cp.to_dict()) == cp
    assert chain.ledger.latest_checkpoint() == cp


def test_origin_is_injective_and_plus_free() -> None:
    assert checkpoint_origin("a+b") == "batterytrace/a%2Bb" != checkpoint_origin("a%2Bb")
    assert "+" not in checkpoint_origin("x+y+z") and " " not in checkpoint_origin("x\ty")


TAMPERINGS = [("size", "note.signature"), ("root", "note.signature"), ("origin", "note.key_id"),
              ("signature", "note.signature")]


@pytest.mark.parametrize(("what", "rule"), TAMPERINGS)
def test_tampering_refused(chain: Chain, what: str, rule: str) -> None:
    cp, vkey = head(chain)
    refused(rule, tampered(cp.to_note(), what), vkey)


def test_foreign_origin_refused(chain: Chain) -> None:
    """A valid note of another log (its own key and origin) is not a checkpoint of this one."""
    cp, _ = head(chain)
    key = SigningKey.from_label("other-log")
    other = NoteVerifier.of("batterytrace/urn:uuid:other", key.public_key)
    note = sign_note(cp.note_text().replace(checkpoint_origin(cp.ledger), other.name), other.name, key)
    assert verify_checkpoint_note(note, other.encode()).origin == other.name
    refused("note.origin", note, other.encode(), origin=checkpoint_origin(cp.ledger))


def test_wrong_key_refused(chain: Chain) -> None:
    cp, vkey = head(chain)
    other = SigningKey.from_label("other-operator")
    other_vkey = NoteVerifier.of(checkpoint_origin(cp.ledger), other.public_key).encode()
    refused("note.key_id", cp.to_note(), other_vkey)
    # the right key id but another key behind it (a collision an attacker can compute): signature
    name, key_id, _ = vkey.split("+", 2)
    collide = NoteVerifier(name, bytes.fromhex(key_id), other.public_key)
    with pytest.raises(NoteError) as err:
        open_note(cp.to_note(), collide)
    assert err.value.rule == "note.signature"
    # signed by another key under our name: that signature is unknown, none of ours is there
    forged = sign_note(cp.note_text(), checkpoint_origin(cp.ledger), other)
    refused("note.key_id", forged, vkey)


def test_other_signatures_are_ignored(chain: Chain) -> None:
    """A witness cosignature (another key) beside ours does not stop verification."""
    cp, vkey = head(chain)
    witness = sign_note(cp.note_text(), "witness.example/w1", SigningKey.from_label("witness"))
    both = cp.to_note() + witness.split("\n\n", 1)[1]
    assert verify_checkpoint_note(both, vkey).tree_size == cp.tree_size


def test_mismatch_with_json_form(chain: Chain) -> None:
    cp, vkey = head(chain)
    chain.extract()
    later, _ = head(chain)
    refused("note.mismatch", later.to_note(), vkey, expect=cp)
    same_size = dataclasses.replace(cp, root_hash=bytes(32))
    refused("note.mismatch", cp.to_note(), vkey, expect=same_size)


@pytest.mark.parametrize("note", [
    "no blank line\n",
    "text\n\n",
    "text\n\n- name AAAA\n",
    f"text\n\n{EM} name not-base64!\n",
    f"text\n\n{EM} name AAAA\n",
    f"text\n\n{EM} name  AAAAAAAA\n",
    "text\x07\n\n{EM} a AAAAAAAA\n",
    f"text\n\n{EM} a AAAAAAAA",
    b"\xff\xfe\n\n",
])
def test_malformed_refused(chain: Chain, note: str | bytes) -> None:
    _, vkey = head(chain)
    refused("note.malformed", note, vkey)


@pytest.mark.parametrize("body", ["only-origin\n", "o\n007\nAAAA\n", "o\n-1\nAAAA\n", "o\n1\nnot base64\n",
                                  "o\n1\nAAAA\n", "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\nx\n"])
def test_malformed_body_refused(body: str) -> None:
    key = SigningKey.from_label("log")
    vkey = NoteVerifier.of("o" if body.startswith("o\n") else "only-origin", key.public_key)
    refused("note.malformed", sign_note(body, vkey.name, key), vkey.encode())


def test_oversized_refused_before_parsing(chain: Chain) -> None:
    cp, vkey = head(chain)
    big = cp.to_note() + (f"{EM} x AAAAAAAA\n" * (MAX_NOTE_BYTES // 10))
    refused("note.size", big, vkey)
    refused("note.size", big.encode(), vkey)


@pytest.mark.parametrize("vkey", ["", "a+b", "name+0000000+AQ==", "na me+00000000+AQ==", "n+zzzzzzzz+AQ==",
                                  "n+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode(),
                                  "n+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(), "x" * 2000])
def test_bad_vkey_refused(vkey: str) -> None:
    with pytest.raises(NoteError) as err:
        NoteVerifier.parse(vkey)
    assert err.value.rule == "note.vkey"


def test_log_verify_checks_stored_note_signatures(tmp_path: object) -> None:
    store = SQLiteStore(str(tmp_path) + "/l.db")  # type: ignore[operator]
    chain = Chain(store)
    cp, _ = head(chain)
    assert verify_log(store).tree_heads == 1
    assert cp.note_signature is not None
    bad = bytes([cp.note_signature[0] ^ 1]) + cp.note_signature[1:]
    store._conn().execute("UPDATE tree_heads SET note_signature = ?", (bad,))
    with pytest.raises(NoteError) as err:
        verify_log(store)
    assert err.value.rule == "note.signature"


def test_legacy_sqlite_ledger_gains_the_column(tmp_path: object) -> None:
    """A ledger created before tree heads had notes opens; its old heads have no note form."""
    import sqlite3

    path = str(tmp_path) + "/old.db"  # type: ignore[operator]
    store = SQLiteStore(path)
    chain = Chain(store)
    cp, _ = head(chain)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE tree_heads DROP COLUMN note_signature")
    conn.commit()
    conn.close()
    reopened = SQLiteStore(path)
    [old] = reopened.tree_heads()
    assert old.note_signature is None and old.root_hash == cp.root_hash
    assert verify_log(reopened).tree_heads == 1


def test_every_store_keeps_the_note_signature(store: Store) -> None:
    chain = Chain(store)
    cp, vkey = head(chain)
    [stored] = store.tree_heads()
    assert stored.note_signature == cp.note_signature is not None
    assert verify_checkpoint_note(chain.ledger.latest_checkpoint().to_note(), vkey).root_hash == cp.root_hash  # type: ignore[union-attr]


def test_legacy_postgres_ledger_gains_the_column(pg_url: str) -> None:
    from batterytrace.storage.postgres import PostgresStore

    store = PostgresStore(pg_url)
    chain = Chain(store)
    cp, _ = head(chain)
    store._conn().execute("ALTER TABLE tree_heads DROP COLUMN note_signature")
    store.close()
    reopened = PostgresStore(pg_url)
    try:
        [old] = reopened.tree_heads()
        assert old.note_signature is None and old.signature == cp.signature
        Ledger(reopened).sign_tree_head(chain.operator.signing_key)
        assert [h.note_signature is not None for h in reopened.tree_heads()] == [False, True]
    finally:
        reopened.close()
