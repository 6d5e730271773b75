"""Invariant 1, event time cannot be chosen to dodge a rule. The signer picks an event's ``time``;
the ledger records its own ingestion time beside it (committed in the Merkle leaf) and bounds the
signer's choice: no more than ``max_backdate_s`` before ingestion (``time.backdate``), never before
the signer's, the site's or the input lots' latest event (``time.order``). A revocation is state
in log order: it takes effect for every later-ingested event whatever its time
(``certified.origin``, ``ring.set``). Plain, confidential and anonymous (ring) mode alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from api_support import serve
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import ConfigError, RuleViolationError, VerificationError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import sign_checkpoint
from batterytrace.ledger.confidential_client import prove_event
from batterytrace.model.events import SignedEvent
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.storage.base import TreeHeadRecord, WriteBatch
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import format_time, now_us, parse_time
from conf_support import CO_G, ConfChain, hydroxide
from ring_support import TUJENGE_UNTIL, RingChain
from support import Chain, resign

HOUR = 3_600_000_000
DAY = 24 * HOUR


def _extract_body(who: str, chain: Chain, certified: bool = True) -> dict[str, Any]:
    actor = chain.s.actors[who]
    origin = "certified" if certified else "uncertified"
    return {"kind": "extract", "site": actor.site, "outputs": [hydroxide({f"Co/{origin}/{actor.country}": CO_G})]}


def _sign_at(chain: Chain, who: str, body: dict[str, Any], t: int) -> SignedEvent:
    """``who`` signs ``body`` dated ``t`` (µs), whatever the chain's clock says."""
    return resign(chain.sign(who, body), chain.s.actors[who].signing_key, time=format_time(t))


def _prove_at(chain: ConfChain, who: str, body: dict[str, Any], t: int) -> SignedEvent:
    key = chain.s.actors[who].signing_key
    return prove_event({**body, "time": format_time(t)}, key, ledger=chain.s.ledger_id).event


def _refused(chain: Chain, ev: SignedEvent) -> str:
    """The rule that refuses ``ev``; the log, the lots and the signer's time line are unchanged."""
    lots = sorted(lot.lot_id for lot in chain.ledger.store.iter_lots())
    line = chain.ledger.store.get_meta(f"latest:actor:{ev.actor}")
    rule = chain.reject(ev).rule
    assert sorted(lot.lot_id for lot in chain.ledger.store.iter_lots()) == lots
    assert chain.ledger.store.get_meta(f"latest:actor:{ev.actor}") == line
    return rule


def _revoke(chain: Chain, site: str, scheme: str = "RMAP") -> int:
    """The auditor revokes ``site``'s attestation; returns the revocation's event time."""
    [att] = [a for a in chain.ledger.store.attestations_for(site) if a.scheme == scheme and a.valid_at(chain.s.clock)]
    auditor = {"RMAP": "rmap", "IRMA": "irma"}[scheme]
    ev = chain.sign(auditor, {"kind": "attest", "scheme": scheme, "subject": site, "revokes": att.attestation_id,
                              "valid_from": format_time(chain.s.clock), "valid_until": format_time(chain.s.clock + 1),
                              "level": "withdrawn"})
    chain.accept(ev)
    return parse_time(str(ev.body["time"]))


# ------------------------------------------------------------------ revocation, every mode
def test_back_dated_plain_extraction_after_a_revocation() -> None:
    c = Chain()
    c.extract("kasonta")  # certified while RMAP stands
    last = c.s.clock
    c.s.tick(2)
    revoked_at = _revoke(c, "mine:kasonta")
    back_dated = _sign_at(c, "kasonta", _extract_body("kasonta", c), last + HOUR)
    assert last < parse_time(str(back_dated.body["time"])) < revoked_at
    assert _refused(c, back_dated) == "certified.origin"
    c.accept(_sign_at(c, "kasonta", _extract_body("kasonta", c, certified=False), last + HOUR))  # uncertified is fine


def test_back_dated_confidential_extraction_after_a_revocation() -> None:
    c = ConfChain()
    c.conf_extract("kasonta")
    last = c.s.clock
    c.s.tick(2)
    _revoke(c, "mine:kasonta")
    assert _refused(c, _prove_at(c, "kasonta", _extract_body("kasonta", c), last + HOUR)) == "certified.origin"
    c.accept(_prove_at(c, "kasonta", _extract_body("kasonta", c, certified=False), last + HOUR))


def test_back_dated_ring_extraction_after_a_revocation() -> None:
    c = RingChain()
    ring = c.ring()
    assert "mine:mwelu" in {m.site_id for m in ring}
    made_in_time = c.anon_with_ring(ring, "mwelu")  # dated before the revocation…
    c.s.tick(1)
    _revoke(c, "mine:mwelu")
    # …submitted after it: Mwelu is out of the ring for everything ingested from now on
    assert _refused(c, made_in_time.event) == "ring.set"
    back_dated = c.anon_with_ring(ring, "mwelu", time=format_time(parse_time(str(made_in_time.event.body["time"]))))
    assert _refused(c, back_dated.event) == "ring.set"
    with pytest.raises(ValueError, match="not in the ring"):
        c.anon("mwelu")
    c.keep(c.anon("kasonta").proved)  # the others still extract anonymously


# ------------------------------------------------------------------ expiry and max_backdate_s
def test_back_dating_into_an_expired_validity_period() -> None:
    c = Chain()  # Mwelu's RMAP expired on 2025-01-15; the chain's clock is past 2025-01-20
    c.s.tick(24 * 30)
    inside = parse_time("2025-01-14T12:00:00Z")
    assert _refused(c, _sign_at(c, "mwelu", _extract_body("mwelu", c), inside)) == "time.backdate"
    assert _refused(c, _sign_at(c, "mwelu", _extract_body("mwelu", c), c.s.clock)) == "certified.origin"


def test_back_dating_a_confidential_extraction_into_an_expired_period() -> None:
    c = ConfChain()
    c.s.tick(24 * 30)
    inside = parse_time("2025-01-14T12:00:00Z")
    assert _refused(c, _prove_at(c, "mwelu", _extract_body("mwelu", c), inside)) == "time.backdate"


def test_back_dating_a_ring_extraction_into_an_expired_period() -> None:
    c = RingChain()
    ring = c.ring()
    c.s.clock = max(c.s.clock, parse_time(TUJENGE_UNTIL)) + 10 * DAY
    inside = format_time(parse_time(TUJENGE_UNTIL) - DAY)  # Tujenge was certified then
    assert _refused(c, c.anon_with_ring(ring, "tujenge", time=inside).event) == "time.backdate"


def test_max_backdate_is_a_policy_in_force_at_ingestion() -> None:
    c = Chain()
    c.accept(c.sign("operator", {"kind": "set_policy", "policy": {**DEFAULT_POLICY.to_dict(), "max_backdate_s": 3600}}))
    policy = c.ledger.policy()
    assert policy is not None and policy.max_backdate_s == 3600
    c.s.tick(3)
    now = c.s.clock
    body = _extract_body("kasonta", c, certified=False)
    assert _refused(c, _sign_at(c, "kasonta", body, now - 2 * HOUR)) == "time.backdate"
    c.accept(_sign_at(c, "kasonta", body, now - HOUR // 2))
    with pytest.raises(RuleViolationError, match="max_backdate_s"):
        c.accept(c.sign("operator", {"kind": "set_policy", "policy": {**DEFAULT_POLICY.to_dict(), "max_backdate_s": -1}}))


# ------------------------------------------------------------------ time lines
def test_no_event_before_the_signers_latest() -> None:
    c = Chain()
    c.extract("kasonta")
    latest = parse_time(str(c.s.events[-1].body["time"]))
    assert _refused(c, _sign_at(c, "kasonta", _extract_body("kasonta", c, certified=False), latest - 60_000_000)) == "time.order"
    c.accept(_sign_at(c, "kasonta", _extract_body("kasonta", c, certified=False), latest))


def test_no_event_before_the_sites_latest() -> None:
    c = Chain()
    c.s.tick(1)
    incident = c.sign("rmap", {"kind": "incident", "site": "mine:kasonta", "start": format_time(c.s.clock - DAY),
                               "end": format_time(c.s.clock), "severity": "low", "description": "site visit"})
    c.accept(incident)
    at = parse_time(str(incident.body["time"]))
    # Kasonta signed nothing since; its site did see a later event
    assert _refused(c, _sign_at(c, "kasonta", _extract_body("kasonta", c), at - 60_000_000)) == "time.order"


def test_a_site_line_is_not_anyones_to_advance() -> None:
    """Naming another participant's site in one's own event does not move that site's time line
    (which would lock its operator out of signing anything dated earlier)."""
    c = Chain()
    [lot] = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])
    now = c.s.clock
    ahead = _sign_at(c, "kivijarvi", {"kind": "ship", "to": c.did("aurelia"), "lots": [lot], "site": "mine:kasonta"},
                     now + 4 * 60_000_000)
    c.accept(ahead)
    assert c.ledger.store.get_meta("latest:site:mine:kasonta") is not None
    assert int(c.ledger.store.get_meta("latest:site:mine:kasonta") or 0) < now
    c.accept(_sign_at(c, "kasonta", _extract_body("kasonta", c), now))


def test_no_receipt_before_its_shipment() -> None:
    c = Chain()
    lot = c.extract("kasonta")
    c.s.ship("kasonta", "kivijarvi", [lot], hours=1)
    receipt = c.s.events.pop()  # the honest receipt is not submitted
    c.flush()
    shipped = parse_time(str(c.s.events[-1].body["time"]))
    early = resign(receipt, c.s.actors["kivijarvi"].signing_key, time=format_time(shipped - 60_000_000))
    assert _refused(c, early) == "time.order"


def test_a_participant_cannot_choose_its_ingestion_time_over_http(tmp_path: Path) -> None:
    """The API server stamps events with its own clock: an event dated eight days ago is refused,
    whatever the body says about ingestion."""
    start = now_us() - 12 * HOUR
    s = Scenario(start=format_time(start))
    s.register_all()
    served = serve(s, tmp_path, chain=False, clock=None)
    assert served.client.post("/events/batch", json={"events": [ev.to_wire() for ev in s.events]}).json()["rejected"] == []
    s.clock = now_us() - 8 * DAY
    ev = s.emit("kasonta", {"kind": "extract", "site": "mine:kasonta", "ingested_at": format_time(now_us()),
                            "outputs": [hydroxide({"Co/uncertified/CD": CO_G})]})
    r = served.client.post("/events", json=ev.to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "time.backdate"
    ingested = served.ledger.ingestion_time(served.ledger.size() - 1)
    assert start <= ingested <= now_us()


# ------------------------------------------------------------------ the database insider
def _sqlite_chain(tmp_path: Path) -> tuple[Chain, str]:
    db = str(tmp_path / "ledger.db")
    c = Chain(SQLiteStore(db))
    c.extract("kasonta")
    c.s.tick(24)
    c.accept(c.sign("kasonta", _extract_body("kasonta", c, certified=False)))
    c.ledger.sign_tree_head(c.operator.signing_key)
    verify_log(c.ledger.store)
    return c, db


def test_an_insider_editing_an_ingestion_time_is_caught(tmp_path: Path) -> None:
    c, db = _sqlite_chain(tmp_path)
    last = c.ledger.size() - 1
    with sqlite3.connect(db) as conn:  # pretend the last event came in ten days earlier
        conn.execute("UPDATE events SET ingested_at = ingested_at - ? WHERE seq = ?", (10 * DAY, last))
    with pytest.raises(VerificationError):
        verify_log(SQLiteStore(db))


def test_an_insider_making_ingestion_go_back_is_caught(tmp_path: Path) -> None:
    c, db = _sqlite_chain(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET ingested_at = 0 WHERE seq = ?", (c.ledger.size() - 1,))
    with pytest.raises(VerificationError, match=r"time\.ingestion"):
        verify_log(SQLiteStore(db))


@pytest.mark.parametrize("edit", ["rewind", "delete", "invent"])
def test_an_insider_editing_a_time_line_is_caught(tmp_path: Path, edit: str) -> None:
    """Rewinding a signer's latest time would let it back-date again; inventing a far-future line
    for another participant would lock it out (``time.order``): log verify accounts for every row."""
    c, db = _sqlite_chain(tmp_path)
    key = f"latest:actor:{c.did('kasonta')}"
    with sqlite3.connect(db) as conn:
        if edit == "rewind":
            conn.execute("UPDATE meta SET value = '0' WHERE key = ?", (key,))
        elif edit == "delete":
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (f"latest:site:{c.s.actors['tujenge'].site}", str(2**62)))
    with pytest.raises(VerificationError, match="latest:"):
        verify_log(SQLiteStore(db))


def test_a_tree_head_dated_before_the_events_it_covers_is_caught(tmp_path: Path) -> None:
    c, db = _sqlite_chain(tmp_path)
    size = c.ledger.size()
    early = sign_checkpoint(c.operator.signing_key, size, c.ledger.root(size), 1, ledger=c.ledger.ledger_id)
    with pytest.raises(ConfigError, match="cannot cover"):
        c.ledger.sign_tree_head(c.operator.signing_key, timestamp=1)
    c.ledger.store.apply(WriteBatch(tree_heads=[TreeHeadRecord(size, early.root_hash, 1, early.signature, early.log_id,
                                                                   early.note_signature)]))
    with pytest.raises(VerificationError, match="dated before"):
        verify_log(SQLiteStore(db))


def test_a_passport_cannot_restate_when_its_pack_was_logged() -> None:
    """The economic operator re-signs its passport with another ingestion time for the pack's
    assembly: the leaf commits to it, so the inclusion proof no longer verifies."""
    import copy

    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.demo.master_data import VOLTARA_VM75
    from batterytrace.demo.scenario import build_scenario
    from batterytrace.ledger.ledger import Ledger, historical_clock
    from batterytrace.passport.issue import VCT, issue_passport, verify_passport
    from batterytrace.storage.memory import MemoryStore

    now_s = 1_790_000_000
    s = build_scenario(packs=1, legacy_packs=1)
    operator, oem = s.actors["operator"].signing_key, s.actors["voltara"].signing_key
    ledger = Ledger(MemoryStore(), operator.did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(operator)
    passport = issue_passport(ledger, s.packs[-1], VOLTARA_VM75, oem, issued_at=now_s)
    claims = verify_passport(passport.present_all(), log_operator=operator.did, now=now_s).claims
    for name in ("iss", "iat", "exp", "vct"):
        claims.pop(name)
    logged = claims["evidence"]["ingested_at"]
    assert logged == ledger.ingestion_time(claims["evidence"]["leaf_index"])
    for ingested, error in ((logged, None), (logged - 10 * DAY, "inclusion"), (None, "ingested_at"), ("x", "ingested_at")):
        forged = copy.deepcopy(claims)
        forged["evidence"]["ingested_at"] = ingested
        signed = issue_sd_jwt(oem, forged, vct=VCT, issued_at=now_s).jws + "~"
        if error is None:
            verify_passport(signed, log_operator=operator.did, now=now_s)
        else:
            with pytest.raises(VerificationError, match=error):
                verify_passport(signed, log_operator=operator.did, now=now_s)
