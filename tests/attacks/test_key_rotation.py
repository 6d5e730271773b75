"""Key rotation (``rotate_key``): the operator links a participant's key in force to a new did:key.

The attacker holds a rotated-out key (stolen, or the participant's own after leaving a hosted key),
a key of another participant, or is a participant trying to rotate keys itself. It signs with the
old key (now or back-dated to before the rotation), names a ``signer`` that is not the actor's key
in force, signs as the new key's own did, replays or re-issues the rotation, and rotates to keys
already in use. Every attempt is refused by name and leaves the log unchanged; the new key acts as
the participant (custody, sites, accreditations) and ``log verify`` accepts the history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api_support import serve
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import RuleViolationError, VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ingest import ingest_wire
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import holdings, rotate_key, sign_as
from batterytrace.ledger.state import KEY_PREFIX
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import WriteBatch
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time
from custodial_support import OPERATOR, HostedChain, load_doc
from ring_support import RingChain, resign_body
from support import Chain


@pytest.fixture
def c() -> Chain:
    return Chain()


def rotation(c: Chain, who: str, new_key: str, signer: str = "operator") -> SignedEvent:
    return c.sign(signer, {"kind": "rotate_key", "participant": c.did(who), "new_key": new_key})


def as_key(c: Chain, who: str, key: SigningKey, body: dict[str, Any]) -> SignedEvent:
    """``body`` signed by ``key`` on behalf of participant ``who`` (``signer`` names the key)."""
    c.s.tick(0.25)
    return sign_event({**body, "time": format_time(c.s.clock), "actor": c.did(who), "signer": key.did},
                      key, ledger=c.s.ledger_id)


def extraction(c: Chain) -> dict[str, Any]:
    spec = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 300_000},
            "coc_model": "segregated", "assay_ppm": {"Co": 300_000}}
    return {"kind": "extract", "site": "mine:kasonta", "outputs": [spec], "location": {"lat": -10.72, "lon": 25.47}}


def rotated(c: Chain, who: str = "kasonta") -> SigningKey:
    new = SigningKey.generate()
    c.accept(rotation(c, who, new.did))
    return new


def test_new_key_acts_as_the_participant_and_the_log_verifies(c: Chain) -> None:
    before = c.extract("kasonta")  # extracted with the registered key
    new = rotated(c)
    p = c.ledger.store.get_participant(c.did("kasonta"))
    assert p is not None and p.key == new.did and p.role == "mine"
    (lot,) = c.accept(as_key(c, "kasonta", new, extraction(c)))
    got = c.ledger.store.get_lot(lot)
    assert got is not None and got.custodian == c.did("kasonta")  # the identity stays stable
    # custody of a lot extracted before the rotation continues: the new key ships it
    ship = as_key(c, "kasonta", new, {"kind": "ship", "to": c.did("kivijarvi"), "lots": [before, lot],
                                      "gross_mass_g": 2_000_000})
    c.accept(ship)
    moved = c.ledger.store.get_lot(before)
    assert moved is not None and moved.status == "in_transit"
    verify_log(c.ledger.store)


def test_old_key_is_refused_after_rotation(c: Chain) -> None:
    rotated(c)
    err = c.reject(c.sign("kasonta", extraction(c)))
    assert err.rule == "key.rotated"


def test_backdated_event_signed_by_the_old_key_is_refused(c: Chain) -> None:
    c.s.tick(2)
    early = c.sign("kasonta", extraction(c))  # signed before the rotation, submitted after it
    c.s.tick(1)
    rotated(c)
    assert c.reject(early).rule == "key.rotated"


def test_old_key_naming_itself_as_signer_is_refused(c: Chain) -> None:
    rotated(c)
    old = c.s.actors["kasonta"].signing_key
    assert c.reject(as_key(c, "kasonta", old, extraction(c))).rule == "key.signer"


def test_only_the_operator_rotates(c: Chain) -> None:
    new = SigningKey.generate()
    assert c.reject(rotation(c, "kasonta", new.did, signer="kasonta")).rule == "authorisation"
    assert c.reject(rotation(c, "kasonta", new.did, signer="rmap")).rule == "authorisation"
    # a stranger's key is no participant at all
    stranger = SigningKey.generate()
    c.s.tick(0.25)
    ev = sign_event({"kind": "rotate_key", "participant": c.did("kasonta"), "new_key": new.did,
                     "time": format_time(c.s.clock)}, stranger, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "registration"


def test_rotation_replayed_or_reissued_is_refused(c: Chain) -> None:
    new = SigningKey.generate()
    ev = rotation(c, "kasonta", new.did)
    c.accept(ev)
    assert c.reject(ev).rule == "replay"
    assert c.reject(rotation(c, "kasonta", new.did)).rule == "key.same"


def test_signer_naming_a_key_that_is_not_the_actors_is_refused(c: Chain) -> None:
    # another participant's key, signing as kasonta: the signature is its own, the key is not kasonta's
    nordcell = c.s.actors["nordcell"].signing_key
    assert c.reject(as_key(c, "kasonta", nordcell, extraction(c))).rule == "key.signer"
    # a fresh key never rotated in
    assert c.reject(as_key(c, "kasonta", SigningKey.generate(), extraction(c))).rule == "key.signer"
    # after rotating kasonta, a key rotated in for kivijarvi still does not sign for kasonta
    rotated(c, "kasonta")
    kivi_new = rotated(c, "kivijarvi")
    assert c.reject(as_key(c, "kasonta", kivi_new, extraction(c))).rule == "key.signer"


def test_signer_forged_onto_a_body_signed_by_another_key_fails_the_signature(c: Chain) -> None:
    new = rotated(c)
    ev = as_key(c, "kasonta", new, extraction(c))
    forged = SignedEvent({**ev.body, "signer": c.did("kivijarvi")}, ev.signature)
    assert c.reject(forged).rule == "signature"


def test_new_key_signing_as_itself_is_refused(c: Chain) -> None:
    new = rotated(c)
    c.s.tick(0.25)
    ev = sign_event({**extraction(c), "time": format_time(c.s.clock)}, new, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "key.signer"


@pytest.mark.parametrize("target", ["registered", "operator", "same", "rotated-in", "own-did"])
def test_rotation_to_a_key_in_use_is_refused(c: Chain, target: str) -> None:
    first = rotated(c, "kasonta")
    new_key = {
        "registered": c.did("nordcell"),
        "operator": c.did("operator"),
        "same": first.did,
        "rotated-in": first.did,
        "own-did": c.did("kasonta"),
    }[target]
    who = "kivijarvi" if target == "rotated-in" else "kasonta"
    assert c.reject(rotation(c, who, new_key)).rule == ("key.same" if target == "same" else "key.in-use")


def test_rotation_of_an_unknown_participant_or_to_a_malformed_did_is_refused(c: Chain) -> None:
    new = SigningKey.generate()
    ev = c.sign("operator", {"kind": "rotate_key", "participant": new.did, "new_key": SigningKey.generate().did})
    assert c.reject(ev).rule == "key.participant"
    for bad in ("did:key:zNotAKey", "did:web:example.com", "", 42):
        ev = c.sign("operator", {"kind": "rotate_key", "participant": c.did("kasonta"), "new_key": bad})
        assert c.reject(ev).rule == "schema"
    ev = c.sign("operator", {"kind": "rotate_key", "participant": c.did("kasonta")})
    assert c.reject(ev).rule == "schema"


def test_a_rotated_in_key_cannot_register_as_a_participant(c: Chain) -> None:
    new = rotated(c)
    ev = c.sign("operator", {"kind": "register_participant", "did": new.did, "role": "mine",
                             "legal_name": "Shadow", "country": "CD"})
    assert c.reject(ev).rule == "registration.duplicate"


def test_second_rotation_retires_the_first_new_key(c: Chain) -> None:
    first = rotated(c)
    c.accept(as_key(c, "kasonta", first, extraction(c)))
    second = rotated(c)
    assert c.reject(as_key(c, "kasonta", first, extraction(c))).rule == "key.signer"
    assert c.reject(rotation(c, "kasonta", first.did)).rule == "key.in-use"  # never back
    c.accept(as_key(c, "kasonta", second, extraction(c)))
    verify_log(c.ledger.store)


def test_auditor_keeps_its_accreditation_across_rotation(c: Chain) -> None:
    new = rotated(c, "rmap")
    ev = as_key(c, "rmap", new, {"kind": "attest", "scheme": "RMAP", "subject": "mine:mwelu",
                                 "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"})
    c.accept(ev)
    att = c.ledger.store.get_attestation(ev.hash_hex)
    assert att is not None and att.auditor == c.did("rmap")


def test_time_order_continues_across_rotation(c: Chain) -> None:
    c.extract("kasonta")
    last = c.s.clock
    new = rotated(c)
    c.s.clock = last - 3_600_000_000  # an hour before kasonta's latest event
    ev = sign_event({**extraction(c), "time": format_time(c.s.clock), "actor": c.did("kasonta"), "signer": new.did},
                    new, ledger=c.s.ledger_id)
    assert c.reject(ev).rule == "time.order"


def test_wire_ingest_checks_the_signer_key_before_the_lock(c: Chain) -> None:
    new = rotated(c)
    good = as_key(c, "kasonta", new, extraction(c))
    old_key_body = as_key(c, "kasonta", new, extraction(c)).body
    wrong = SignedEvent(old_key_body, c.s.actors["kasonta"].signing_key.sign(b"x" * 32))
    bad_signer = {"event": {**good.body, "signer": 7}, "signature": good.to_wire()["signature"]}
    lines = [good.wire_bytes(), wrong.wire_bytes(), json.dumps(bad_signer).encode()]
    result = ingest_wire(c.ledger, lines, workers=1, check_clock=False)
    assert len(result.accepted) == 1
    assert [(r.index, r.rule) for r in result.rejected] == [(1, "signature"), (2, "schema")]


def test_log_verify_refuses_a_planted_or_missing_key_row(c: Chain) -> None:
    new = rotated(c)
    verify_log(c.ledger.store)
    c.ledger.store.apply(WriteBatch(meta={KEY_PREFIX + SigningKey.generate().did: c.did("kivijarvi")}))
    with pytest.raises(VerificationError, match="key:"):
        verify_log(c.ledger.store)
    c2 = Chain()
    c2.accept(rotation(c2, "kasonta", new.did))
    c2.ledger.store.apply(WriteBatch(meta={KEY_PREFIX + new.did: c2.did("nordcell")}))
    with pytest.raises(VerificationError, match="differs from the log"):
        verify_log(c2.ledger.store)


def test_log_verify_refuses_an_old_key_event_planted_after_the_rotation(c: Chain) -> None:
    """A store edited to hold, after the rotation, an event signed by the rotated-out key (as if
    the ledger had accepted it) fails replay by the rule's name."""
    rotated(c)
    ev = c.sign("kasonta", extraction(c))
    replica = Ledger(MemoryStore(), c.operator.did, c.s.ledger_id, clock=c.now_us)
    events = [SignedEvent.from_stored(e.canonical, e.signature) for e in c.ledger.store.iter_events()]
    times = [e.ingested_at for e in c.ledger.store.iter_events()]
    result = replica.submit_batch([*events, ev], ingested_at=[*times, times[-1]])
    assert [r.rule for r in result.rejected] == ["key.rotated"]


def test_rotation_through_the_http_api(tmp_path: Path) -> None:
    """POST /events and /events/batch: the rotation by the operator, the new key accepted, the
    old key refused with the rule as problem details."""
    s = Scenario()
    s.register_all()
    served = serve(s, tmp_path, chain=False, issuers=False)
    assert not served.ledger.submit_batch(s.events).rejected
    new = SigningKey.generate()
    kasonta = s.actors["kasonta"]
    s.tick(1)
    rot = sign_event({"kind": "rotate_key", "participant": kasonta.did, "new_key": new.did,
                      "time": format_time(s.clock)}, s.actors["operator"].signing_key, ledger=s.ledger_id)
    assert served.client.post("/events", json=rot.to_wire()).status_code == 201
    s.tick(1)
    body = {"kind": "register_ring_key", "site": "mine:kasonta", "time": format_time(s.clock)}
    old = sign_event(body, kasonta.signing_key, ledger=s.ledger_id)
    r = served.client.post("/events", json=old.to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "key.rotated"
    forged = sign_event({**body, "actor": kasonta.did, "signer": s.actors["mwelu"].did},
                        s.actors["mwelu"].signing_key, ledger=s.ledger_id)
    out = served.client.post("/events/batch", json={"events": [forged.to_wire()]}).json()
    assert [x["rule"] for x in out["rejected"]] == ["key.signer"]


def test_a_rotated_in_key_is_no_fresh_one_time_key_for_an_anonymous_extraction() -> None:
    chain = RingChain()
    new = SigningKey.generate()
    chain.accept(chain.sign("operator", {"kind": "rotate_key", "participant": chain.did("kivijarvi"), "new_key": new.did}))
    made = chain.anon_with_ring(chain.ring())
    assert chain.reject(resign_body(made.event, new, lambda b: None)).rule == "key.signer"
    # naming a registered participant as actor and the rotated-in key as signer is no anonymity either
    body = {**made.event.body, "actor": chain.did("kivijarvi"), "signer": new.did}
    assert chain.reject(sign_event(body, new, ledger=chain.s.ledger_id)).rule == "ring.one-time"


def test_a_hosted_participant_moves_to_its_own_key(tmp_path: Path) -> None:
    """Plain EPCIS capture signs with the hosted key; after the operator rotates the participant to
    its own key, the service's custodial signature is refused (``key.rotated``), the participant's
    own key acts for it, and the log verifies."""
    chain = HostedChain(tmp_path)
    job = chain.capture(load_doc("mine"), chain.token("mine"))
    assert job["success"], job
    mine = chain.did("mine")
    (lot,) = [x.lot_id for x in holdings(chain.ledger.store, mine)]
    own = SigningKey.generate()
    rotate_key(chain.ledger, OPERATOR, mine, own.did)
    again = load_doc("mine")
    for e in again["epcisBody"]["eventList"]:
        e["eventID"] += "-after-rotation"
    size = chain.ledger.size()
    job = chain.capture(again, chain.token("mine"))
    assert not job["success"] and "key.rotated" in json.dumps(job)
    assert chain.ledger.size() == size
    site = "urn:epc:id:sgln:6164003.00001.0"
    spec = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 300_000},
            "coc_model": "mass_balance", "assay_ppm": {"Co": 300_000}}
    wrong_site = sign_as({"kind": "extract", "site": "plant:refinery", "outputs": [spec]}, own,
                         ledger=chain.ledger_id, participant=mine)
    with pytest.raises(RuleViolationError) as info:  # judged as the mine, by the mine's rules
        chain.ledger.submit(wrong_site)
    assert info.value.rule == "site"  # not its site: the new key does not widen what the mine may do
    (made,) = chain.ledger.submit(sign_as({"kind": "extract", "site": site, "outputs": [spec]}, own,
                                          ledger=chain.ledger_id, participant=mine)).lots
    assert {x.lot_id for x in holdings(chain.ledger.store, mine)} == {lot, made}
    verify_log(chain.ledger.store)
