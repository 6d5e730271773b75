"""The library side of the participant commands: registry bodies the ledger accepts as built,
signing for a participant with its rotated-in key, and holdings."""

from __future__ import annotations

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.ledger.participants import (
    attestation_body,
    holdings,
    key_owner,
    participant_body,
    rotate_key,
    sign_as,
    site_body,
)
from support import Chain


def test_bodies_are_accepted_as_built_and_attest_reaches_the_state() -> None:
    c = Chain()
    op = c.s.actors["operator"].signing_key
    mine, auditor = SigningKey.generate(), SigningKey.generate()
    now = c.s.clock
    for body in (participant_body(mine.did, "mine", "M", "CD"),
                 participant_body(auditor.did, "auditor", "A", "GB", ["RMAP"]),
                 site_body("mine:new", mine.did, "mine", "New", "CD", -10.0, 25.0)):
        now += 1_000_000
        c.ledger.submit(sign_as(body, op, ledger=c.s.ledger_id, time_us=now))
    assert c.ledger.store.get_participant(auditor.did).accreditations[0]["scheme"] == "RMAP"  # type: ignore[union-attr]
    site = c.ledger.store.get_site("mine:new")
    assert site is not None and (site.owner, site.lat, site.lon) == (mine.did, -10.0, 25.0)
    att = sign_as(attestation_body("mine:new", "RMAP", "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", level="conformant",
                                   score=90), auditor, ledger=c.s.ledger_id, time_us=now + 1_000_000)
    c.ledger.submit(att)
    stored = c.ledger.store.get_attestation(att.hash_hex)
    assert stored is not None and (stored.level, stored.score) == ("conformant", 90)


def test_sign_as_names_the_signer_only_for_another_participant() -> None:
    key = SigningKey.generate()
    own = sign_as({"kind": "attest"}, key, ledger="urn:x", time_us=0)
    assert own.actor == key.did and "signer" not in own.body and own.body["time"] == "1970-01-01T00:00:00Z"
    other = sign_as({"kind": "attest"}, key, ledger="urn:x", participant="did:key:z6MkOther")
    assert (other.actor, other.signer) == ("did:key:z6MkOther", key.did)
    other.verify_signature()
    with pytest.raises(EncodingError):
        sign_as({"kind": "attest", "signer": "did:key:z6MkOther"}, key, ledger="urn:x")


def test_rotate_key_and_holdings() -> None:
    c = Chain()
    held = c.extract("kasonta")
    spent_into = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])
    assert [lot.lot_id for lot in holdings(c.ledger.store, c.did("kasonta"))] == [held]
    assert [lot.lot_id for lot in holdings(c.ledger.store, c.did("kivijarvi"))] == spent_into
    new = SigningKey.generate()
    rotate_key(c.ledger, c.s.actors["operator"].signing_key, c.did("kasonta"), new.did)
    assert key_owner(c.ledger.store, new.did) == c.did("kasonta")
    assert key_owner(c.ledger.store, c.did("kasonta")) is None
    with pytest.raises(RuleViolationError) as info:
        rotate_key(c.ledger, c.s.actors["kasonta"].signing_key, c.did("kasonta"), SigningKey.generate().did)
    assert info.value.rule == "key.rotated"  # the rotated-out key signs nothing, a rotation least of all
