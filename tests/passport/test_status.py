"""Passport status: an issuer revokes or suspends a passport version through its status list;
verifiers refuse it by name; a list cannot be claimed by another key, rolled back, or used to
reinstate a revoked passport."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import StatusList, issue_status_list_token
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.encoding import b64u_decode
from batterytrace.errors import RuleViolationError, VerificationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import DIGITAL_LINK_BASE, issue_passport, verify_passport
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.passport.status import (
    LIST_SIZE,
    PassportStatusError,
    StatusLists,
    check_status,
    list_id_for,
    status_uri,
)
from batterytrace.storage.memory import MemoryStore

KEY = SigningKey.from_label("status-oem")


def test_indices_are_random_distinct_and_stable_per_passport(tmp_path: Path) -> None:
    lists = StatusLists(tmp_path)
    now = int(time.time())
    got = [lists.allocate(KEY, f"urn:pass:{i}", DIGITAL_LINK_BASE, now) for i in range(50)]
    assert len({idx for idx, _ in got}) == 50
    assert all(uri == status_uri(DIGITAL_LINK_BASE, KEY.did) for _, uri in got)
    assert sorted(idx for idx, _ in got) != list(range(50))  # not issuance order
    assert lists.allocate(KEY, "urn:pass:7", DIGITAL_LINK_BASE, now) == got[7]  # the same entry again
    assert lists.status("urn:pass:7", KEY.did) == "valid"


def test_revoked_is_final_and_a_suspension_can_be_lifted(tmp_path: Path) -> None:
    lists = StatusLists(tmp_path)
    now = int(time.time())
    lists.allocate(KEY, "urn:pass:a", DIGITAL_LINK_BASE, now)
    lists.set_status(KEY, "urn:pass:a", "suspended", now)
    assert lists.status("urn:pass:a", KEY.did) == "suspended"
    lists.set_status(KEY, "urn:pass:a", "valid", now)
    lists.set_status(KEY, "urn:pass:a", "revoked", now)
    with pytest.raises(RuleViolationError, match=r"statuslist\.final"):
        lists.set_status(KEY, "urn:pass:a", "valid", now)
    with pytest.raises(Exception, match="status must be one of"):
        lists.set_status(KEY, "urn:pass:a", "deleted", now)
    with pytest.raises(Exception, match="no passport"):
        lists.set_status(SigningKey.from_label("other"), "urn:pass:a", "revoked", now)
    # every change is a newer token: a replayed older one would be refused by a desk
    token = lists.token(list_id_for(KEY.did))
    assert token is not None
    assert json.loads(b64u_decode(token.split(".")[1]))["iat"] >= now + 3


def test_a_desk_refuses_a_rolled_back_relabelled_or_reinstating_list(tmp_path: Path) -> None:
    issuer_dir, desk_lists = StatusLists(tmp_path / "issuer"), StatusLists(tmp_path / "desk")
    now = int(time.time())
    idx, uri = issuer_dir.allocate(KEY, "urn:pass:b", DIGITAL_LINK_BASE, now)
    first = issuer_dir.token(list_id_for(KEY.did))
    assert first is not None
    desk_lists.accept(first, now)
    revoked = issuer_dir.set_status(KEY, "urn:pass:b", "revoked", now)
    desk_lists.accept(revoked, now)
    with pytest.raises(RuleViolationError, match=r"statuslist\.rollback"):
        desk_lists.accept(first, now)  # replaying the list from before the revocation
    # the issuer itself cannot reinstate it either, even with a newer list
    fresh = StatusList.new(LIST_SIZE)
    with pytest.raises(RuleViolationError, match=r"statuslist\.final"):
        desk_lists.accept(issue_status_list_token(KEY, uri, fresh, now + 100), now + 100)
    # a key cannot publish a list under another issuer's list id
    mallory = SigningKey.from_label("mallory")
    with pytest.raises(RuleViolationError, match=r"statuslist\.issuer"):
        desk_lists.accept(issue_status_list_token(mallory, uri, fresh, now + 200), now + 200)
    # nor a token that is not signed by the did it names
    forged = issue_status_list_token(mallory, status_uri(DIGITAL_LINK_BASE, KEY.did), fresh, now + 300)
    h, p, sig = forged.split(".")
    from batterytrace.encoding import b64u_encode

    body = json.loads(b64u_decode(p)) | {"iss": KEY.did}
    with pytest.raises(VerificationError, match=r"signed by .*, not by its issuer"):  # kid names mallory's key
        desk_lists.accept(f"{h}.{b64u_encode(json.dumps(body).encode())}.{sig}", now + 300)
    header = {k: v for k, v in json.loads(b64u_decode(h)).items() if k != "kid"}  # no kid: the issuer's key
    with pytest.raises(VerificationError, match="signature"):
        desk_lists.accept(f"{b64u_encode(json.dumps(header).encode())}.{b64u_encode(json.dumps(body).encode())}.{sig}",
                          now + 300)
    with pytest.raises(VerificationError):
        desk_lists.accept("garbage", now)
    assert desk_lists.token(list_id_for(KEY.did)) == revoked
    assert idx >= 0


def test_malformed_status_claims_are_refused() -> None:
    uri = status_uri(DIGITAL_LINK_BASE, KEY.did)
    good = {"iss": KEY.did, "passport_id": "urn:p"}
    for status in ({"status_list": {"idx": -1, "uri": uri}}, {"status_list": {"idx": LIST_SIZE, "uri": uri}},
                   {"status_list": {"idx": True, "uri": uri}}, {"status_list": {"idx": 1}},
                   {"status_list": {"idx": 1, "uri": uri, "x": 1}}, {"other": {}}, [], "valid",
                   {"status_list": {"idx": 1, "uri": uri.replace(list_id_for(KEY.did), list_id_for("did:key:zX"))}}):
        with pytest.raises(VerificationError):
            check_status(good | {"status": status}, None, 0)
    assert check_status(good, None, 0)[0] == "absent"
    assert check_status(good | {"status": {"status_list": {"idx": 1, "uri": uri}}}, None, 0)[0] == "not checked"


@pytest.fixture(scope="module")
def chain() -> tuple[Scenario, Ledger]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return s, ledger


def test_a_revoked_passport_fails_verification_by_name(chain: tuple[Scenario, Ledger], tmp_path: Path) -> None:
    s, ledger = chain
    oem = s.actors["voltara"].signing_key
    lists, now = StatusLists(tmp_path), int(time.time())
    p = issue_passport(ledger, s.packs[0], VOLTARA_VM75, oem, issued_at=now,
                       status=lists.allocator(oem, DIGITAL_LINK_BASE, now))
    text, op = p.present("public"), ledger.operator_did
    token = lists.token(list_id_for(oem.did))
    result = verify_passport(text, log_operator=op, now=now, status_list=token)
    assert [c.status for c in result.checks if c.name == "status"] == ["passed"]
    assert [c.status for c in verify_passport(text, log_operator=op, now=now).checks if c.name == "status"] == ["not checked"]
    lists.set_status(oem, p.passport_id, "suspended", now)
    with pytest.raises(PassportStatusError, match=r"passport\.suspended"):
        verify_passport(text, log_operator=op, now=now + 5, status_list=lists.token(list_id_for(oem.did)))
    lists.set_status(oem, p.passport_id, "revoked", now)
    with pytest.raises(PassportStatusError, match=r"passport\.revoked") as err:
        verify_passport(text, log_operator=op, now=now + 5, status_list=lists.token(list_id_for(oem.did)))
    assert err.value.rule == "passport.revoked"
    # another issuer's list, or the issuer's list for another URI, is no answer about this passport
    other = issue_status_list_token(SigningKey.from_label("x"), "https://x/statuslists/y", StatusList.new(8), now)
    with pytest.raises(VerificationError, match="signed for"):
        verify_passport(text, log_operator=op, now=now, status_list=other)


def test_the_desk_serves_the_status_and_stops_serving_a_revoked_passport(
        chain: tuple[Scenario, Ledger], tmp_path: Path) -> None:
    s, ledger = chain
    oem = s.actors["voltara"].signing_key
    desk = PassportDesk(ledger, tmp_path, [PassportIssuer(oem, VOLTARA_VM75)], s.actors["operator"].signing_key)
    lot = ledger.store.get_lot(s.packs[0])
    assert lot is not None and lot.gtin and lot.serial
    result = desk.verified(lot.gtin, lot.serial, "public")
    assert [c.status for c in result.checks if c.name == "status"] == ["passed"]
    desk.status_lists.set_status(oem, str(result.claims["passport_id"]), "revoked", int(time.time()))
    with pytest.raises(PassportStatusError, match=r"passport\.revoked"):
        desk.verified(lot.gtin, lot.serial, "public")  # the cached result is not reused under a new list
