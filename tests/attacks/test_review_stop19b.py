"""Review of three features (passport keys bound to the key in force, C2SP checkpoint notes, the
Catena-X export), written as the attacker acts. Each test reproduces a break found in the review:

* a thief holding an issuer's rotated-out registered key signs a status list that reinstates a
  revoked passport, and offline verification reported the status ``passed``, although the
  passport's own evidence proves that key was rotated out (``statuslist.key-rotated``);
* a Catena-X export of a battery that changed hands stated the receipt date as its manufacturing
  date and as its putting into service, contradicting the SD-JWT passport of the same identifier;
* a stored tree head whose checkpoint-note signature was deleted passed ``log verify``, and the
  note route then served an older checkpoint as the latest (a frozen view for C2SP witnesses);
* the Catena-X export read a passport's status from the unsigned status list state file in the
  passports directory: whoever could write that directory made a revoked passport ``approved``
  (a swapped state file, a list signed by another key, no signed list at all);
* a passport's embedded checkpoint carried a ``note_signature`` no verifier checked: an issuer
  could embed a bogus one, which C2SP tooling reading the note form then refuses.
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


# --- the Catena-X export states the status its issuer signed, never the unsigned state file ---

NOW = 1_790_000_000


def _issued_and_revoked(tmp_path: Path, store: Any = None, check: bool = True) -> tuple[Any, Ledger, Path, str, str]:
    """A passport issued into a passports directory, then revoked by its issuer: the directory,
    the passport id and the issuer's list id; its state file as it was while the passport was
    valid is kept beside it (``valid.state.json``), as an attacker would have copied it."""
    import shutil

    from batterytrace.passport.registry import save_presentations

    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(store if store is not None else MemoryStore(), s.actors["operator"].did, s.ledger_id,
                    clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    oem = s.actors["voltara"].signing_key
    passports = tmp_path / "passports"
    lists = StatusLists(passports)
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, NOW, status=lists.allocator(oem, BASE, NOW))
    save_presentations(p, passports)
    list_id = list_id_for(oem.did)
    shutil.copy(lists.directory / f"{list_id}.state.json", tmp_path / "valid.state.json")
    if check:
        assert export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports,
                              now=NOW)["metadata"]["status"] == "approved"
    lists.set_status(oem, p.passport_id, "revoked", NOW + 1)
    if check:
        assert export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports,
                              now=NOW + 2)["metadata"]["status"] == "invalid"
    return s, ledger, passports, p.passport_id, list_id


def test_catenax_export_refuses_a_swapped_status_state_file(tmp_path: Path) -> None:
    import shutil

    from batterytrace.passport.catenax import ExportStatusError

    s, ledger, passports, _pid, list_id = _issued_and_revoked(tmp_path)
    state = passports / "statuslists" / f"{list_id}.state.json"
    shutil.copy(tmp_path / "valid.state.json", state)  # the state as it was before the revocation
    with pytest.raises(ExportStatusError) as swapped:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 3)
    assert swapped.value.rule == "statuslist.state", swapped.value
    # without any state file, the signed list alone speaks: revoked stays invalid
    state.unlink()
    doc = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 3)
    assert doc["metadata"]["status"] == "invalid"


def test_catenax_export_refuses_a_status_list_not_signed_by_the_issuers_key_in_force(tmp_path: Path) -> None:
    from batterytrace.passport.catenax import ExportStatusError

    s, ledger, passports, pid, list_id = _issued_and_revoked(tmp_path)
    claims = verify_passport((passports / f"{pid.rsplit(':', 1)[1]}.public.sd-jwt").read_text(),
                             log_operator=ledger.operator_did, now=NOW).claims
    _idx, uri = status_ref(claims) or (0, "")
    issuer = s.actors["voltara"].did
    token = passports / "statuslists" / f"{list_id}.jwt"
    (passports / "statuslists" / f"{list_id}.state.json").unlink()  # nothing but the signed list to go by
    # an all-valid list for the issuer, signed by a key that never spoke for it (and by the operator's)
    for stranger in (SigningKey.generate(), s.actors["operator"].signing_key):
        token.write_text(issue_status_list_token(stranger, uri, StatusList.new(LIST_SIZE), NOW + 5, issuer=issuer))
        with pytest.raises(SigningKeyError) as refused:
            export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 6)
        assert refused.value.rule == "statuslist.signer", refused.value
    # no signed list at all: no status can be stated
    token.unlink()
    with pytest.raises(ExportStatusError) as missing:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 6)
    assert missing.value.rule == "statuslist.missing", missing.value
    # the issuer's registered key leaks; the operator rotates it out and the issuer re-issues the
    # passport with its new key: a list the leaked key signs no longer speaks for the issuer
    from batterytrace.passport.registry import save_presentations

    old, new = s.actors["voltara"].signing_key, SigningKey.generate()
    rotate_key(ledger, s.actors["operator"].signing_key, issuer, new.did)
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, new, NOW + 7, participant=issuer,
                       status=StatusLists(passports).allocator(new, BASE, NOW + 7, issuer))
    save_presentations(p, passports)
    assert export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports,
                          now=NOW + 8)["metadata"]["status"] == "approved"  # a fresh list (the revoked one was deleted)
    (passports / "statuslists" / f"{list_id}.state.json").unlink()
    token.write_text(issue_status_list_token(old, uri, StatusList.new(LIST_SIZE), NOW + 9, issuer=issuer))
    with pytest.raises(SigningKeyError) as rotated:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 10)
    assert rotated.value.rule == "statuslist.key-rotated", rotated.value


def test_catenax_export_refuses_a_missing_list_a_replayed_list_and_a_swapped_passport(tmp_path: Path) -> None:
    import shutil

    from batterytrace.passport.catenax import ExportStatusError

    s, ledger, passports, pid, list_id = _issued_and_revoked(tmp_path)
    token = passports / "statuslists" / f"{list_id}.jwt"
    revoked = token.read_text()
    # the list signed while the passport was valid, replayed over the revoking one
    lists = StatusLists(tmp_path / "replay")
    (lists.directory).mkdir(parents=True)
    shutil.copy(tmp_path / "valid.state.json", lists.directory / f"{list_id}.state.json")
    oem = s.actors["voltara"].signing_key
    claims = verify_passport((passports / f"{pid.rsplit(':', 1)[1]}.public.sd-jwt").read_text(),
                             log_operator=ledger.operator_did, now=NOW).claims
    _idx, uri = status_ref(claims) or (0, "")
    token.write_text(issue_status_list_token(oem, uri, StatusList.new(LIST_SIZE), NOW, issuer=oem.did))
    with pytest.raises(ExportStatusError) as replayed:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 3)
    assert replayed.value.rule == "statuslist.rollback", replayed.value
    # the signed list deleted: refused by name, never a status read from the state file
    token.unlink()
    with pytest.raises(ExportStatusError) as missing:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 3)
    assert missing.value.rule == "statuslist.missing", missing.value
    token.write_text(revoked)
    # the presentation deleted while the issuer's state names the passport: refused, not "draft"
    stem = pid.rsplit(":", 1)[1]
    public = passports / f"{stem}.public.sd-jwt"
    kept = public.read_text()
    public.unlink()
    with pytest.raises(ExportStatusError) as gone:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 3)
    assert gone.value.rule == "catenax.passport", gone.value
    # another battery's valid passport filed under this one's name
    other = issue_passport(ledger, s.packs[1], VOLTARA_VM75, oem, NOW,
                           status=StatusLists(passports).allocator(oem, BASE, NOW + 4))
    public.write_text(other.present("public"))
    with pytest.raises(ExportStatusError) as swapped:
        export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 5)
    assert swapped.value.rule == "catenax.passport", swapped.value
    public.write_text(kept)
    doc = export_catenax(ledger, s.packs[0], VOLTARA_VM75, issued_at=NOW, passports=passports, now=NOW + 5)
    assert doc["metadata"]["status"] == "invalid"


def test_catenax_export_cli_refuses_a_swapped_status_state_file(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import shutil

    from batterytrace.passport.master import master_to_dict
    from cli_support import run_main

    db = tmp_path / "ledger.db"
    s, ledger, passports, _pid, list_id = _issued_and_revoked(tmp_path, SQLiteStore(str(db)), check=False)
    master = tmp_path / "vm75.master.json"
    master.write_text(json.dumps(master_to_dict(VOLTARA_VM75)))
    lot = ledger.store.get_lot(s.packs[0])
    assert lot is not None
    args = ("passport", "export", f"{lot.gtin}/{lot.serial}", "--master", master, "--out", tmp_path / "cx.json",
            "--passports", passports, "--db", db)
    code, out, err = run_main(capsys, *args)
    assert code == 0 and "status invalid" in out, out + err
    shutil.copy(tmp_path / "valid.state.json", passports / "statuslists" / f"{list_id}.state.json")
    code, out, err = run_main(capsys, *args)
    assert code != 0 and "status approved" not in out, out
    assert "statuslist.state" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


# --- a passport's embedded checkpoint note signature is verified ---


def _reissued_with_checkpoint(s: Any, ledger: Ledger, change: Any) -> str:
    """The issuer's own passport of a pack, re-signed by the issuer with its embedded checkpoint
    changed by ``change`` (as an issuer can: it signs the whole passport)."""
    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.passport.issue import VCT

    oem = s.actors["voltara"].signing_key
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, NOW)
    claims = verify_passport(p.present("public"), log_operator=ledger.operator_did, now=NOW).claims
    forged = {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct", "cnf")}
    checkpoint = dict(forged["evidence"]["checkpoint"])
    change(checkpoint)
    forged["evidence"] = {**forged["evidence"], "checkpoint": checkpoint}
    return issue_sd_jwt(oem, forged, vct=VCT, issued_at=NOW, expires_at=NOW + 86400).present([])


def test_a_passport_with_a_bogus_checkpoint_note_signature_is_refused() -> None:
    from batterytrace.crypto.signed_note import NoteError
    from batterytrace.encoding import b64u_encode
    from batterytrace.ledger.checkpoint import Checkpoint

    s, ledger = _world()
    operator = s.actors["operator"].signing_key
    first = ledger.latest_checkpoint()
    assert first is not None and first.note_signature is not None
    s.extract("kasonta", "cobalt_hydroxide", 1_000_000, True, 2.0, True)
    assert not ledger.submit_batch(s.events[-1:]).rejected
    later = ledger.sign_tree_head(operator)
    assert later.note_signature is not None and later.tree_size > first.tree_size

    def set_note(sig: bytes | None) -> Any:
        def change(cp: dict[str, Any]) -> None:
            if sig is None:
                cp.pop("note_signature", None)
            else:
                cp["note_signature"] = b64u_encode(sig)
        return change

    honest = _reissued_with_checkpoint(s, ledger, lambda cp: None)
    result = verify_passport(honest, log_operator=ledger.operator_did, now=NOW, ledger=ledger)
    assert "note_signature" in result.claims["evidence"]["checkpoint"]
    assert any(c.name == "checkpoint" and "checkpoint note" in c.detail for c in result.checks)
    # an old passport (checkpoint signed before tree heads had a note form) still verifies
    verify_passport(_reissued_with_checkpoint(s, ledger, set_note(None)), log_operator=ledger.operator_did,
                    now=NOW, ledger=ledger)
    stranger = SigningKey.generate()
    for bogus in (b"\x07" * 64,                                   # noise
                  first.note_signature,                           # the operator's note of another tree head
                  stranger.sign(Checkpoint.from_dict(ledger.latest_checkpoint().to_dict()).note_text().encode()),  # type: ignore[union-attr]
                  operator.sign(later.statement())):               # the JSON form's message
        forged = _reissued_with_checkpoint(s, ledger, set_note(bogus))
        for ledger_given in (None, ledger):
            with pytest.raises(NoteError) as refused:
                verify_passport(forged, log_operator=ledger.operator_did, now=NOW, ledger=ledger_given)
            assert refused.value.rule == "note.signature", refused.value


def test_split_view_evidence_with_a_bogus_note_signature_is_refused() -> None:
    from dataclasses import replace

    from batterytrace.crypto.signed_note import NoteError
    from batterytrace.ledger.checkpoint import Checkpoint, SplitViewEvidence

    _s, ledger = _world()
    cp = ledger.latest_checkpoint()
    assert cp is not None
    other = Checkpoint.from_dict({**cp.to_dict(), "note_signature": None})
    evidence = SplitViewEvidence(replace(cp, note_signature=b"\x01" * 64), other)
    with pytest.raises(NoteError) as refused:
        SplitViewEvidence.from_dict(evidence.to_dict()).first.verify(ledger.operator_did)
    assert refused.value.rule == "note.signature"
    cp.verify(ledger.operator_did)  # the honest head, both forms
