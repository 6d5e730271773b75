"""Anonymous certified extraction: a certified mine of CD extracts without naming itself; the
ledger checks the ring against its own certified set and the membership proof against the event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.zk import Point
from batterytrace.crypto.zk.group import IDENTITY
from batterytrace.errors import VerificationError
from batterytrace.ledger.anonymous_client import (
    RingSecret,
    disclose_origin,
    ship_anonymous,
    verify_origin_disclosure,
)
from batterytrace.model.entities import ANONYMOUS_ROLE
from batterytrace.model.events import sign_event
from batterytrace.model.policy import DEFAULT_POLICY, LedgerPolicy
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time, parse_time
from conf_support import CO_G, hydroxide, sulphate
from ring_support import TUJENGE_UNTIL, RingChain, resign_body


@pytest.fixture(scope="module")
def chain() -> RingChain:
    return RingChain()


def test_anonymous_extraction_ship_receive_transform(store: Store) -> None:
    c = RingChain(store)
    assert [m.site_id for m in sorted(c.ring(), key=lambda m: m.site_id)] == ["mine:kasonta", "mine:mwelu", "mine:tujenge"]
    made, lot = c.extract_anonymously("mwelu")
    ev = made.event
    assert "site" not in ev.body and ev.body["origin"]["country"] == "CD" and len(ev.body["origin"]["ring"]) == 3
    assert ev.actor == made.key.did and ev.actor not in {c.did(w) for w in ("kasonta", "mwelu", "tujenge")}
    stored = store.get_lot(lot)
    assert stored is not None
    assert stored.site == "ring:CD" and stored.custodian == made.key.did and stored.attestations == []
    assert stored.extra["ring"] == {"country": "CD", "size": 3} and stored.buckets == {}
    anon = store.get_participant(made.key.did)
    assert anon is not None and anon.role == ANONYMOUS_ROLE and anon.country == "CD"
    # the shipment is signed by the one-time key; the refiner receives with the openings
    ship = c.ship_anon(made)
    c.openings.update(made.proved.lot_openings())
    body = c.receipt_body(ship, "kivijarvi", [hydroxide({"Co/certified/CD": CO_G - 500})], loss={"Co/certified/CD": 500})
    [held] = c.keep(c.prove("kivijarvi", body, [lot], DEFAULT_POLICY.tolerance("receive")))
    received = store.get_lot(held)
    assert received is not None and received.extra["ring"]["size"] == 3 and received.custodian == c.did("kivijarvi")
    out = {"kind": "transform", "inputs": [held], "site": "plant:kivijarvi",
           "outputs": [sulphate({"Co/certified/CD": CO_G - 10_000}, coc="segregated")], "loss": {"Co/certified/CD": 9_500}}
    c.keep(c.prove("kivijarvi", out, [held], c.transform_tol()))
    # the refiner alone learns which mine: a disclosure checked against the log and the registry
    disclosure = disclose_origin(made, c.secrets["mwelu"], c.did("kivijarvi"))
    assert verify_origin_disclosure(store, disclosure, c.did("kivijarvi")) == "mine:mwelu"


def test_extraction_and_shipment_in_one_batch_with_a_false_proof(chain: RingChain) -> None:
    """Deferred (batched) membership proofs: a batch with one false proof refuses exactly that
    event and names ring.membership; the others are accepted."""
    good = chain.anon("kasonta")
    ship = ship_anonymous(good, chain.did("kivijarvi"), chain.now())
    other = chain.anon("tujenge")
    forged = resign_body(other.event, other.key, lambda b: b.update(membership=good.event.body["membership"]))
    result = chain.ledger.submit_batch([good.event, forged, ship])
    assert [r.event_hash for r in result.accepted] == [good.event.hash_hex, ship.hash_hex]
    assert [(r.index, r.rule) for r in result.rejected] == [(1, "ring.membership")]


def _fresh() -> SigningKey:
    return SigningKey.generate()


def test_refused_rings(chain: RingChain) -> None:
    ring = [m.key for m in chain.ring()]
    outside = RingSecret.from_label("nowhere", "outsider").key
    cases: list[tuple[str, list[Any], str]] = [
        ("a member outside the certified set", sorted([*ring, outside], key=lambda p: p.data), "ring.set"),
        ("a certified mine missing", [m.key for m in chain.ring() if m.site_id != "mine:mwelu"], "ring.set"),
        ("another order", list(reversed(ring)), "ring.set"),
        ("a ring of one", [chain.secrets["kasonta"].key], "ring.size"),
    ]
    for what, members, rule in cases:
        made = chain.anon_with_ring(members)
        assert chain.reject(made.event).rule == rule, what


@pytest.mark.parametrize(
    ("what", "change", "rule"),
    [
        ("a duplicated member", lambda b, r: b["origin"].update(ring=[r[0], *r]), "ring.set"),
        ("an identity member", lambda b, r: b["origin"].update(ring=[IDENTITY.hex(), *r[1:]]), "ring.set"),
        ("a member that is not a point", lambda b, r: b["origin"].update(ring=["ff" * 32, *r[1:]]), "zk.malformed"),
        ("no ring", lambda b, r: b["origin"].update(ring=[]), "ring.origin"),
        ("no origin country", lambda b, r: b["origin"].pop("country"), "ring.origin"),
        ("a lower-case country", lambda b, r: b["origin"].update(country="cd"), "ring.origin"),
        ("a named site", lambda b, r: b.update(site="mine:kasonta"), "ring.origin"),
        ("a location", lambda b, r: b.update(location={"lat": -10.7, "lon": 25.5}), "ring.origin"),
        ("no membership proof", lambda b, r: b.pop("membership"), "zk.malformed"),
        ("a truncated membership proof", lambda b, r: b.update(membership=b["membership"][:-64]), "zk.malformed"),
        ("inputs", lambda b, r: b.update(inputs=[]), "schema"),
        ("the range proofs removed", lambda b, r: b.pop("proofs"), "zk.malformed"),
    ],
)
def test_malformed_anonymous_extractions(chain: RingChain, what: str, change: Callable[[dict[str, Any], list[str]], Any], rule: str) -> None:
    made = chain.anon()
    ring = list(made.event.body["origin"]["ring"])
    bad = resign_body(made.event, made.key, lambda b: change(b, ring))
    assert chain.reject(bad).rule == rule, what


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("time", lambda b: b.update(time=format_time(parse_time(b["time"]) + 1))),
        ("nonce", lambda b: b.update(nonce="0" * 24)),
        ("gross mass", lambda b: b["outputs"][0].update(gross_mass_g=b["outputs"][0]["gross_mass_g"] + 1)),
        ("form", lambda b: b["outputs"][0].update(form="heterogenite_concentrate")),
        ("chain-of-custody model", lambda b: b["outputs"][0].update(coc_model="mass_balance")),
        ("carbon", lambda b: b["outputs"][0].update(carbon=[{"stage": "raw_material", "kgco2e_per_kg": 1.0, "primary": True}])),
        ("a commitment", lambda b: b["outputs"][0]["commitments"].update(
            {"Co/certified/CD": (Point.from_hex(b["outputs"][0]["commitments"]["Co/certified/CD"]) + Point.from_hex(b["origin"]["ring"][0])).hex()})),
        ("a membership scalar", lambda b: b.update(membership=b["membership"][:-64] + (1).to_bytes(32, "little").hex())),
    ],
)
def test_any_field_changed_after_proving_is_refused(chain: RingChain, what: str, change: Callable[[dict[str, Any]], Any]) -> None:
    """Frozen Heart: the membership proof is bound to the whole body but its proofs."""
    made = chain.anon()
    bad = resign_body(made.event, made.key, change)
    assert chain.reject(bad).rule == "ring.membership", what


def test_proof_replayed_on_another_event_or_signer(chain: RingChain) -> None:
    first, second = chain.anon(), chain.anon()
    moved = resign_body(second.event, second.key, lambda b: b.update(membership=first.event.body["membership"]))
    assert chain.reject(moved).rule == "ring.membership"
    # the same body taken over by another one-time key (the actor is bound)
    stolen = resign_body(first.event, _fresh(), lambda b: None)
    assert chain.reject(stolen).rule == "ring.membership"


@pytest.mark.parametrize(
    ("what", "bucket", "rule"),
    [
        ("an uncertified bucket", "Co/uncertified/CD", "ring.origin"),
        ("a recycled bucket", "Co/recycled-post/—", "ring.origin"),
    ],
)
def test_only_certified_buckets(chain: RingChain, what: str, bucket: str, rule: str) -> None:
    made = chain.anon_with_ring(chain.ring(), bucket="Co/certified/CD")
    bad = resign_body(made.event, made.key, lambda b: b["outputs"][0].update(
        commitments={bucket: b["outputs"][0]["commitments"]["Co/certified/CD"]}))
    assert chain.reject(bad).rule == rule, what


def test_wrong_country_and_identity_preserved(chain: RingChain) -> None:
    made = chain.anon()
    elsewhere = resign_body(made.event, made.key, lambda b: b["outputs"][0].update(
        commitments={"Co/certified/ZM": b["outputs"][0]["commitments"]["Co/certified/CD"]}))
    assert chain.reject(elsewhere).rule == "origin.country"
    zm = resign_body(made.event, made.key, lambda b: b["origin"].update(country="ZM"))
    assert chain.reject(zm).rule == "origin.country"
    assert chain.reject(chain.anon(coc="identity_preserved").event).rule == "coc.identity"


def test_plain_anonymous_extraction_is_refused(chain: RingChain) -> None:
    made = chain.anon()
    plain = {k: v for k, v in made.event.body.items() if k not in ("proofs", "contained", "actor")}
    plain["outputs"] = [hydroxide({"Co/certified/CD": CO_G})]
    assert chain.reject(sign_event(plain, made.key, ledger=chain.s.ledger_id)).rule == "ring.origin"


def test_certification_expired_at_event_time() -> None:
    c = RingChain()
    before = c.ring()
    assert len(before) == 3
    c.s.clock = max(c.s.clock, parse_time(TUJENGE_UNTIL))
    made = c.anon_with_ring(before)  # a prover still using the ring from before the expiry
    assert c.reject(made.event).rule == "ring.set"
    assert {m.site_id for m in c.ring()} == {"mine:kasonta", "mine:mwelu"}
    # Tujenge can no longer sign at all; Kasonta can, with the new ring
    with pytest.raises(ValueError, match="not in the ring"):
        c.anon("tujenge")
    c.keep(c.anon("kasonta").proved)


def test_revoked_certification_leaves_the_ring() -> None:
    c = RingChain()
    rmap = [a for a in c.ledger.store.attestations_for("mine:mwelu") if a.scheme == "RMAP" and a.valid_until > c.s.clock]
    before = c.ring()
    c.keep(c.anon_with_ring(before).proved)  # accepted while the attestation stands
    dated_before = c.anon_with_ring(before)
    c.accept(c.sign("rmap", {"kind": "attest", "scheme": "RMAP", "subject": "mine:mwelu", "revokes": rmap[0].attestation_id,
                             "valid_from": "2025-01-16T00:00:00Z", "valid_until": "2025-01-17T00:00:00Z", "level": "withdrawn"}))
    assert "mine:mwelu" not in {m.site_id for m in c.ring()}
    assert c.reject(c.anon_with_ring(before).event).rule == "ring.set"  # dated after the revocation
    # dated before the revocation but ingested after it: a revocation takes effect for everything
    # ingested after it, whatever the event's time (this test accepted it before issue 12)
    assert c.reject(dated_before.event).rule == "ring.set"


def test_policy_minimum_ring_size() -> None:
    c = RingChain()
    strict = LedgerPolicy(**{**DEFAULT_POLICY.__dict__, "min_ring_size": 4})
    c.accept(c.sign("operator", {"kind": "set_policy", "policy": strict.to_dict()}))
    assert c.reject(c.anon().event).rule == "ring.size"


def test_one_time_key_rules(chain: RingChain) -> None:
    made, lot = chain.extract_anonymously()
    # reused for a second extraction: refused, it would link the two
    again = chain.anon_with_ring(chain.ring())
    reused = resign_body(again.event, made.key, lambda b: None)
    assert chain.reject(reused).rule == "ring.one-time"
    # a registered mine cannot sign an anonymous extraction either
    named = resign_body(again.event, chain.s.actors["kasonta"].signing_key, lambda b: None)
    assert chain.reject(named).rule == "ring.one-time"
    # the one-time key ships only its own lots
    _other, other_lot = chain.extract_anonymously("mwelu")
    theirs = sign_event({"kind": "ship", "to": chain.did("kivijarvi"), "lots": [other_lot], "time": chain.now()}, made.key, ledger=chain.s.ledger_id)
    assert chain.reject(theirs).rule == "custody"
    plain_lot = chain.extract("kasonta")
    assert chain.reject(sign_event({"kind": "ship", "to": chain.did("kivijarvi"), "lots": [plain_lot], "time": chain.now()},
                                   made.key, ledger=chain.s.ledger_id)).rule == "custody"
    # nothing but shipments; nobody ships to it; it owns no site
    transform = sign_event({"kind": "transform", "inputs": [lot], "outputs": [], "time": chain.now()}, made.key, ledger=chain.s.ledger_id)
    assert chain.reject(transform).rule == "authorisation"
    to_anon = chain.sign("kasonta", {"kind": "ship", "to": made.key.did, "lots": [plain_lot]})
    assert chain.reject(to_anon).rule == "registration"
    site = chain.sign("operator", {"kind": "register_site", "site_id": "mine:hidden", "owner": made.key.did,
                                   "site_kind": "mine", "name": "x", "country": "CD"})
    assert chain.reject(site).rule == "registration"
    reserved = chain.sign("operator", {"kind": "register_site", "site_id": "ring:CD", "owner": chain.did("kasonta"),
                                       "site_kind": "mine", "name": "x", "country": "CD"})
    assert chain.reject(reserved).rule == "schema"
    # an unregistered key that made no anonymous extraction signs nothing
    stranger = _fresh()
    assert chain.reject(sign_event({"kind": "ship", "to": chain.did("kivijarvi"), "lots": [lot], "time": chain.now()},
                                   stranger, ledger=chain.s.ledger_id)).rule == "registration"
    chain.ship_anon(made)


def test_origin_disclosure_is_checked(chain: RingChain) -> None:
    made, _lot = chain.extract_anonymously("kasonta")
    refiner = chain.did("kivijarvi")
    good = disclose_origin(made, chain.secrets["kasonta"], refiner)
    assert verify_origin_disclosure(chain.ledger.store, good, refiner) == "mine:kasonta"
    # another ring member claiming the lot has no one-time key; the one-time key holder cannot
    # claim another site without its ring secret; and the disclosure is for one receiver
    other, _ = chain.extract_anonymously("mwelu")
    claims = [
        ({**disclose_origin(other, chain.secrets["mwelu"], refiner), "extraction": made.event.hash_hex}, refiner),
        ({**good, "site": "mine:mwelu"}, refiner),
        (good, chain.did("aurelia")),
        ({**good, "pop": good["pop"][:-2]}, refiner),
        ({**good, "extraction": "00" * 32}, refiner),
        ({**good, "site": "mine:tanjung-biru"}, refiner),
    ]
    for claim, receiver in claims:
        with pytest.raises(VerificationError):
            verify_origin_disclosure(chain.ledger.store, claim, receiver)
