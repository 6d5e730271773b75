"""Hosted keys are sealed at rest: the database never holds a seed in clear, a row opens only under
its KEK, for its own did and ledger; KEK files are private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import ConfigError, VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.hosted_keys import (
    HOSTED_KEY_PREFIX,
    KeyEncryptionKey,
    create_hosted_key,
    hosted_dids,
    load_hosted_key,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.storage.base import Store, WriteBatch

OPERATOR = SigningKey.from_label("test/hosted-operator")


@pytest.fixture
def ledger(store: Store) -> Ledger:
    return Ledger(store, OPERATOR.did)


def test_a_hosted_key_round_trips_and_is_listed(ledger: Ledger) -> None:
    kek = KeyEncryptionKey.generate()
    did = create_hosted_key(ledger.store, ledger.ledger_id, kek)
    key = load_hosted_key(ledger.store, ledger.ledger_id, kek, did)
    assert key is not None and key.did == did
    assert hosted_dids(ledger.store) == [did]
    assert load_hosted_key(ledger.store, ledger.ledger_id, kek, OPERATOR.did) is None
    assert verify_log(ledger.store).events == 0


def test_the_seed_is_never_stored_in_clear(ledger: Ledger, tmp_path: Path) -> None:
    kek = KeyEncryptionKey.generate()
    key = SigningKey.from_label("test/hosted-participant")
    create_hosted_key(ledger.store, ledger.ledger_id, kek, key)
    row = ledger.store.get_meta(HOSTED_KEY_PREFIX + key.did) or ""
    from batterytrace.encoding import b64u_encode

    for form in (key.seed.hex(), b64u_encode(key.seed), key.seed.hex().upper()):
        assert form not in row
    assert key.seed not in row.encode("latin-1", "replace")
    db = getattr(ledger.store, "url", "")
    if Path(db).is_file():  # SQLite: the database file holds neither the seed nor the KEK
        ledger.store.close()
        raw = b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))
        assert key.seed not in raw and key.seed.hex().encode() not in raw
        assert kek._secret not in raw and kek._secret.hex().encode() not in raw
    assert "secret" not in repr(kek) and kek._secret.hex() not in repr(kek)


def test_a_row_opens_only_under_its_kek_did_and_ledger(ledger: Ledger) -> None:
    kek = KeyEncryptionKey.generate()
    a = create_hosted_key(ledger.store, ledger.ledger_id, kek)
    b = create_hosted_key(ledger.store, ledger.ledger_id, kek)
    with pytest.raises(VerificationError, match="key-encryption key"):
        load_hosted_key(ledger.store, ledger.ledger_id, KeyEncryptionKey.generate(), a)
    with pytest.raises(VerificationError, match="does not decrypt"):
        load_hosted_key(ledger.store, "urn:uuid:other", kek, a)
    # an insider copies a's sealed seed into b's row: it does not open as b
    row_a = json.loads(ledger.store.get_meta(HOSTED_KEY_PREFIX + a) or "")
    with ledger.store.write_lock():
        ledger.store.apply(WriteBatch(meta={HOSTED_KEY_PREFIX + b: json.dumps({**row_a, "did": b})}))
    with pytest.raises(VerificationError, match="does not decrypt"):
        load_hosted_key(ledger.store, ledger.ledger_id, kek, b)
    # a flipped ciphertext byte does not open either
    sealed = bytearray(row_a["sealed"].encode())
    sealed[5] = ord("A") if sealed[5] != ord("A") else ord("B")
    with ledger.store.write_lock():
        ledger.store.apply(WriteBatch(meta={HOSTED_KEY_PREFIX + a: json.dumps({**row_a, "sealed": sealed.decode()})}))
    with pytest.raises(VerificationError):
        load_hosted_key(ledger.store, ledger.ledger_id, kek, a)


def test_a_key_is_hosted_once(ledger: Ledger) -> None:
    kek = KeyEncryptionKey.generate()
    key = SigningKey.from_label("test/hosted-once")
    create_hosted_key(ledger.store, ledger.ledger_id, kek, key)
    with pytest.raises(ConfigError, match="already holds"):
        create_hosted_key(ledger.store, ledger.ledger_id, kek, key)


def test_log_verify_refuses_a_bare_seed_in_a_hosted_key_row(ledger: Ledger) -> None:
    key = SigningKey.from_label("test/hosted-bare")
    bare = json.dumps({"did": key.did, "kek": "x", "nonce": "AAAA", "sealed": key.seed.hex()})
    with ledger.store.write_lock():
        ledger.store.apply(WriteBatch(meta={HOSTED_KEY_PREFIX + key.did: bare}))
    with pytest.raises(VerificationError, match="not a sealed seed"):
        verify_log(ledger.store)


def test_kek_files_are_private_and_checked(tmp_path: Path) -> None:
    kek = KeyEncryptionKey.generate()
    kek.save(tmp_path / "kek")
    assert stat.S_IMODE((tmp_path / "kek").stat().st_mode) == 0o600
    assert KeyEncryptionKey.load(tmp_path / "kek").key_id == kek.key_id
    with pytest.raises(FileExistsError):
        KeyEncryptionKey.generate().save(tmp_path / "kek")  # never overwrites the key that opens the rows
    (tmp_path / "bad").write_text("abc")
    with pytest.raises(ConfigError, match="32 bytes"):
        KeyEncryptionKey.load(tmp_path / "bad")
    with pytest.raises(ConfigError, match="cannot read"):
        KeyEncryptionKey.load(tmp_path / "missing")
