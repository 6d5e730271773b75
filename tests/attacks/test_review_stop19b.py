"""Review of three features (passport keys bound to the key in force, C2SP checkpoint notes, the
Catena-X export), written as the attacker acts. Each test reproduces a break found in the review:

* a thief holding an issuer's rotated-out registered key signs a status list that reinstates a
  revoked passport, and offline verification reported the status ``passed``, although the
  passport's own evidence proves that key was rotated out (``statuslist.key-rotated``);
* a Catena-X export of a battery that changed hands stated the receipt date as its manufacturing
  date and as its putting into service, contradicting the SD-JWT passport of the same identifier;
* a stored tree head whose checkpoint-note signature was deleted passed ``log verify``, and the
  note route then served an older checkpoint as the latest (a frozen view for C2SP witnesses).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import StatusList, issue_status_list_token
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.errors import VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.participants import rotate_key
from batterytrace.passport.catenax import export_catenax
from batterytrace.passport.issue import issue_passport, verify_passport
from batterytrace.passport.signing_key import SigningKeyError
from batterytrace.passport.status import (
    LIST_SIZE,
    PassportStatusError,
    StatusLists,
    list_id_for,
    status_ref,
)
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import format_time
from support import Chain

BASE = "https://id.batterytrace.example/"


def _world() -> tuple[Any, Ledger]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return s, ledger


def test_offline_a_rotated_out_key_cannot_reinstate_a_revoked_passport_by_status_list(tmp_path: Path) -> None:
    s, ledger = _world()
    operator = s.actors["operator"].signing_key
    old = s.actors["voltara"].signing_key
    did, pack, now = old.did, s.packs[-1], int(time.time())
    lists = StatusLists(tmp_path)
    new = SigningKey.generate()
    rotate_key(ledger, operator, did, new.did)  # the registered key leaked: the operator rotates it out
    ledger.sign_tree_head(operator)
    p = issue_passport(ledger, pack, VOLTARA_VM75, new, now, participant=did,
                       status=lists.allocator(new, BASE, now, did))
    text = p.present("public")
    lists.set_status(new, p.passport_id, "revoked", now + 1, did)
    revoked = lists.token(list_id_for(did))
    with pytest.raises(PassportStatusError):
        verify_passport(text, log_operator=ledger.operator_did, now=now + 2, status_list=revoked)
    # the thief signs a later list with the leaked registered key: every entry valid again
    claims = verify_passport(text, log_operator=ledger.operator_did, now=now + 2).claims
    _idx, uri = status_ref(claims) or (0, "")
    reinstating = issue_status_list_token(old, uri, StatusList.new(LIST_SIZE), now + 10, issuer=did)
    with pytest.raises(SigningKeyError) as online:
        verify_passport(text, log_operator=ledger.operator_did, now=now + 11, status_list=reinstating, ledger=ledger)
    assert online.value.rule == "statuslist.key-rotated"
    # offline the passport's own evidence (its key_rotation event) proves the registered key was
    # rotated out: a list it signs is no word of the issuer, so the status must not pass
    with pytest.raises(SigningKeyError) as offline:
        verify_passport(text, log_operator=ledger.operator_did, now=now + 11, status_list=reinstating)
    assert offline.value.rule == "statuslist.key-rotated", offline.value
    # the key that signed the passport still signs its lists offline
    fresh = lists.set_status(new, p.passport_id, "revoked", now + 12, did)
    with pytest.raises(PassportStatusError):
        verify_passport(text, log_operator=ledger.operator_did, now=now + 13, status_list=fresh)


def test_catenax_export_states_the_passports_dates_after_the_battery_changed_hands() -> None:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    sent = len(s.events)
    current = s.ship("voltara", "circulon", [s.packs[-1]], hours=24 * 90)[0]  # a new lot: the receipt's
    assert not ledger.submit_batch(s.events[sent:]).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    p = issue_passport(ledger, current, VOLTARA_VM75, s.actors["voltara"].signing_key, 1_790_000_000)
    gpi = verify_passport(p.present_all(), log_operator=ledger.operator_did, now=1_790_000_000).claims[
        "aspects"]["GeneralProductInformation"]
    doc = export_catenax(ledger, current, VOLTARA_VM75, issued_at=1_790_000_000)
    received = format_time(ledger.store.get_lot(current).created_at)[:10]  # type: ignore[union-attr]
    operation = doc["operation"]
    assert operation["manufacturer"]["manufacturingDate"] == gpi["manufacturingDate"][:10] != received
    # into service when the ledger says so (the passport's puttingIntoService), never the receipt
    assert operation.get("intoServiceDate") == gpi["puttingIntoService"][:10]
    assert doc["commercial"]["placedOnMarket"] != received


def test_log_verify_refuses_a_tree_head_whose_note_signature_was_deleted(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    chain = Chain(store=SQLiteStore(path))
    key = chain.operator.signing_key
    first = chain.ledger.sign_tree_head(key)
    chain.s.extract("kasonta", "cobalt_hydroxide", 1_000_000, True, 2.0, True)
    chain.flush()
    latest = chain.ledger.sign_tree_head(key)
    assert latest.tree_size > first.tree_size and latest.note_signature is not None
    verify_log(SQLiteStore(path))
    with sqlite3.connect(path) as db:  # storage tampering: the latest head loses its note form
        db.execute("UPDATE tree_heads SET note_signature = NULL WHERE tree_size = ?", (latest.tree_size,))
    tampered = Ledger(SQLiteStore(path))
    noted = [cp for cp in tampered.checkpoints() if cp.note_signature is not None]
    assert noted[-1].tree_size == first.tree_size  # what GET /ledger/checkpoint now serves as the latest
    with pytest.raises(VerificationError, match="note"):
        verify_log(SQLiteStore(path))
