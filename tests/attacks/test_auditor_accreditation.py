"""Invariant 4 of issue 12: auditors attest only schemes they are accredited for.

The attacker is a registered auditor (or a participant posing as one) that issues an attestation
for a scheme it holds no accreditation for, or after the operator withdrew it, hoping the mine's
output becomes ``certified``; or the operator's sourcing policy names the auditors it accepts and
an attestation from another one is offered. Plain, confidential and anonymous extraction alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import VerificationError
from batterytrace.model.events import sign_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.timeutil import format_time
from conf_support import ConfChain
from ring_support import RingChain
from support import Chain

RMAP_TUJENGE = {"kind": "attest", "scheme": "RMAP", "subject": "mine:tujenge", "level": "conformant",
                "valid_from": "2024-06-01T00:00:00Z", "valid_until": "2027-06-01T00:00:00Z"}


def certified_extract(c: Chain, who: str = "tujenge") -> dict[str, Any]:
    site = c.s.actors[who].site
    return {"kind": "extract", "site": site, "outputs": [
        {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 120_000}}]}


def attestations(c: Chain, subject: str) -> list[str]:
    return sorted(a.scheme for a in c.ledger.store.attestations_for(subject))


def operator_sign(c: Chain, body: dict[str, Any]) -> Any:
    return c.sign("operator", body)


@pytest.fixture
def c() -> Chain:
    return Chain()


def test_index_assessor_cannot_issue_rmap_for_a_mine_under_grievance(c: Chain) -> None:
    """The demo's GBA index assessor (accredited for the GBA indices only) issues "RMAP
    conformant" for Tujenge, under a child-labour grievance: refused, and Tujenge's cobalt stays
    uncertified."""
    before = attestations(c, "mine:tujenge")
    err = c.reject(c.sign("gba", RMAP_TUJENGE))
    assert err.rule == "attestation.accreditation"
    assert attestations(c, "mine:tujenge") == before
    assert c.reject(c.sign("tujenge", certified_extract(c))).rule == "certified.origin"


@pytest.mark.parametrize("scheme", ["IRMA", "CopperMark", "rmap", "RMAP "])
def test_an_auditor_attests_no_scheme_outside_its_accreditations(c: Chain, scheme: str) -> None:
    err = c.reject(c.sign("rmap", {**RMAP_TUJENGE, "scheme": scheme}))
    assert err.rule == "attestation.accreditation"


def test_an_unaccredited_auditor_attests_nothing(c: Chain) -> None:
    """An auditor registered without accreditations (before issue 12 any auditor could issue any
    scheme) cannot attest even a revocation-free score."""
    rogue = SigningKey.from_label("attack/rogue-auditor")
    c.accept(operator_sign(c, {"kind": "register_participant", "did": rogue.did, "role": "auditor",
                               "legal_name": "Rogue Assurance", "country": "CD"}))
    c.s.tick(1)
    for scheme in ("RMAP", "GBA-ChildLabour"):
        ev = sign_event({**RMAP_TUJENGE, "scheme": scheme, "time": format_time(c.s.clock)}, rogue, ledger=c.ledger.ledger_id)
        assert c.reject(ev).rule == "attestation.accreditation"


def test_an_auditor_cannot_accredit_itself(c: Chain) -> None:
    for who in ("gba", "tujenge"):
        ev = c.sign(who, {"kind": "accredit", "auditor": c.did("gba"), "scheme": "RMAP"})
        assert c.reject(ev).rule == "authorisation"
    assert c.reject(c.sign("gba", RMAP_TUJENGE)).rule == "attestation.accreditation"


def test_accreditation_outside_its_validity_does_not_count(c: Chain) -> None:
    key = SigningKey.from_label("attack/lapsed-auditor")
    c.accept(operator_sign(c, {"kind": "register_participant", "did": key.did, "role": "auditor",
                               "legal_name": "Lapsed Audits", "country": "GB",
                               "accreditations": [{"scheme": "RMAP", "valid_from": "2020-01-01T00:00:00Z",
                                                   "valid_until": "2024-01-01T00:00:00Z"},
                                                  {"scheme": "IRMA", "valid_from": "2030-01-01T00:00:00Z"}]}))
    c.s.tick(1)
    for scheme in ("RMAP", "IRMA"):
        ev = sign_event({**RMAP_TUJENGE, "scheme": scheme, "time": format_time(c.s.clock)}, key, ledger=c.ledger.ledger_id)
        assert c.reject(ev).rule == "attestation.accreditation"


def test_a_withdrawn_accreditation_stops_attestations_even_back_dated(c: Chain) -> None:
    """The operator withdraws RMAP from its auditor; an attestation the auditor then dates before
    the withdrawal is refused all the same (withdrawal takes effect by ingestion order)."""
    back_dated = c.sign("rmap", RMAP_TUJENGE)  # signed now, submitted after the withdrawal
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "withdraw": True}))
    assert c.reject(back_dated).rule == "attestation.accreditation"
    assert c.reject(c.sign("rmap", RMAP_TUJENGE)).rule == "attestation.accreditation"
    # withdrawing what is not held is refused; a new accreditation restores the right to attest
    again = operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "withdraw": True})
    assert c.reject(again).rule == "accreditation"
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP"}))
    c.accept(c.sign("rmap", RMAP_TUJENGE))
    assert "RMAP" in attestations(c, "mine:tujenge")


def test_an_accreditation_granted_later_lets_the_auditor_attest(c: Chain) -> None:
    assert c.reject(c.sign("gba", RMAP_TUJENGE)).rule == "attestation.accreditation"
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("gba"), "scheme": "RMAP"}))
    c.accept(c.sign("gba", RMAP_TUJENGE))
    c.accept(c.sign("tujenge", certified_extract(c)))


@pytest.mark.parametrize(
    "change",
    [
        {"role": "mine", "accreditations": [{"scheme": "RMAP"}]},  # only auditors are accredited
        {"accreditations": "RMAP"},
        {"accreditations": [{"scheme": ""}]},
        {"accreditations": [{"scheme": "RMAP", "valid_from": "yesterday"}]},
        {"accreditations": [{"scheme": "RMAP", "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2024-01-01T00:00:00Z"}]},
        {"accreditations": [{"scheme": "RMAP", "by": "self"}]},
        {"accreditations": [{"scheme": "RMAP"}] * 65},
    ],
)
def test_malformed_accreditations_are_refused(c: Chain, change: dict[str, Any]) -> None:
    key = SigningKey.from_label("attack/malformed-auditor")
    body = {"kind": "register_participant", "did": key.did, "role": "auditor", "legal_name": "X", "country": "GB", **change}
    err = c.reject(operator_sign(c, body))
    assert err.rule in {"accreditation", "schema"}
    assert c.ledger.store.get_participant(key.did) is None


@pytest.mark.parametrize(
    "body",
    [
        {"auditor": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "scheme": "RMAP"},  # not registered
        {"scheme": "RMAP"},
        {"auditor": "MINE", "scheme": "RMAP"},
        {"auditor": "AUDITOR", "scheme": "RMAP", "withdraw": False},
        {"auditor": "AUDITOR", "scheme": "IRMA", "withdraw": True},  # not held
    ],
)
def test_malformed_accredit_events_are_refused(c: Chain, body: dict[str, Any]) -> None:
    body = {k: c.did("kasonta") if v == "MINE" else c.did("rmap") if v == "AUDITOR" else v for k, v in body.items()}
    err = c.reject(operator_sign(c, {"kind": "accredit", **body}))
    assert err.rule in {"accreditation", "schema"}


def accepted_issuers_policy(c: Chain, rmap_issuers: list[str]) -> dict[str, Any]:
    policy = DEFAULT_POLICY.to_dict()
    policy["sourcing"] = [[{"scheme": "RMAP", "level": "conformant", "issuers": rmap_issuers}]]
    return policy


def test_the_sourcing_policy_accepts_only_the_issuers_it_names(c: Chain) -> None:
    """A second auditor, accredited for RMAP, attests Tujenge; the operator's policy accepts RMAP
    only from the first: Tujenge's output cannot be certified, Kasonta's (attested by the listed
    auditor) still is."""
    second = SigningKey.from_label("attack/second-rmap-auditor")
    c.accept(operator_sign(c, {"kind": "register_participant", "did": second.did, "role": "auditor",
                               "legal_name": "Second RMAP Auditors", "country": "CD",
                               "accreditations": [{"scheme": "RMAP"}]}))
    c.s.tick(1)
    c.accept(sign_event({**RMAP_TUJENGE, "time": format_time(c.s.clock)}, second, ledger=c.ledger.ledger_id))
    c.accept(operator_sign(c, {"kind": "set_policy", "policy": accepted_issuers_policy(c, [c.did("rmap")])}))
    assert c.reject(c.sign("tujenge", certified_extract(c))).rule == "certified.origin"
    c.accept(c.sign("kasonta", certified_extract(c, "kasonta")))
    # malformed issuer lists are refused when the policy is set
    for bad in ([], "did:key:x", [1], ["not-a-did"], [second.did, second.did]):
        policy = accepted_issuers_policy(c, [])
        policy["sourcing"][0][0]["issuers"] = bad
        assert c.reject(operator_sign(c, {"kind": "set_policy", "policy": policy})).rule == "policy", bad
    # the policy names the second auditor too: Tujenge's attestation now counts
    c.accept(operator_sign(c, {"kind": "set_policy", "policy": accepted_issuers_policy(c, [c.did("rmap"), second.did])}))
    c.accept(c.sign("tujenge", certified_extract(c)))


def test_confidential_extraction_is_judged_the_same_way() -> None:
    c = ConfChain()
    assert c.reject(c.sign("gba", RMAP_TUJENGE)).rule == "attestation.accreditation"
    forged = c.conf_extract_event("tujenge", "certified")
    assert c.reject(forged.event).rule == "certified.origin"


def test_the_anonymous_certified_ring_follows_the_accepted_issuers() -> None:
    """Tujenge's ring membership rests on an IRMA attestation; once the policy accepts IRMA only
    from another auditor, the certified ring of CD no longer holds Tujenge's key: a ring that
    still includes it is refused (ring.set), the ledger's own ring is accepted."""
    c = RingChain()
    listed = SigningKey.from_label("attack/listed-irma-auditor").did
    policy = DEFAULT_POLICY.to_dict()
    policy["sourcing"] = [[{"scheme": "RMAP", "level": "conformant"}],
                          [{"scheme": "IRMA", "min_score": 75, "issuers": [listed]}]]
    stale_ring = [m.key for m in c.ring()]
    assert len(stale_ring) == 3
    c.accept(operator_sign(c, {"kind": "set_policy", "policy": policy}))
    assert len(c.ring()) == 2
    err = c.reject(c.anon_with_ring(stale_ring).proved.event)
    assert err.rule == "ring.set"
    c.keep(c.anon().proved)


def test_accreditations_persist_and_an_insider_cannot_grant_one(tmp_path: Path) -> None:
    """Accreditations live on the participant record in the store: an accredit event survives a
    restart; a database administrator who writes an accreditation into the row is caught by
    ``log verify`` (the record differs from what the log implies)."""
    import sqlite3

    from batterytrace.ledger.audit import verify_log
    from batterytrace.ledger.ledger import Ledger
    from batterytrace.storage.sqlite import SQLiteStore

    db = tmp_path / "ledger.db"
    c = Chain(SQLiteStore(str(db)))
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("irma"), "scheme": "CopperMark"}))
    c.ledger.store.close()
    again = SQLiteStore(str(db))
    p = again.get_participant(c.did("irma"))
    assert p is not None and [a["scheme"] for a in p.accreditations] == ["IRMA", "CopperMark"]
    verify_log(again)
    again.close()
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute("SELECT data FROM participants WHERE did=?", (c.did("gba"),)).fetchone()
        forged = json.loads(text)
        forged["accreditations"].append({"scheme": "RMAP", "valid_from": 0})
        conn.execute("UPDATE participants SET data=? WHERE did=?", (json.dumps(forged), c.did("gba")))
    tampered = SQLiteStore(str(db))
    with pytest.raises(VerificationError, match="participant"):
        verify_log(tampered)
    # the forged row would let the assessor attest RMAP: that is exactly what log verify reveals
    ledger = Ledger(tampered, c.operator.did, clock=c.now_us)
    ledger.submit(c.sign("gba", RMAP_TUJENGE))


def test_a_withdrawal_voids_what_was_attested_under_it(c: Chain) -> None:
    """The RMAP auditor certified Kasonta; the operator finds it issuing false certificates and
    withdraws its RMAP accreditation: Kasonta's cobalt is no longer certified on its word (plain
    and anonymous judgement alike), and re-accrediting the auditor does not revive the old
    certificate; a fresh attestation does."""
    c.accept(c.sign("kasonta", certified_extract(c, "kasonta")))
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "withdraw": True}))
    assert c.reject(c.sign("kasonta", certified_extract(c, "kasonta"))).rule == "certified.origin"
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP"}))
    assert c.reject(c.sign("kasonta", certified_extract(c, "kasonta"))).rule == "certified.origin"
    c.accept(c.sign("rmap", {**RMAP_TUJENGE, "subject": "mine:kasonta"}))
    c.accept(c.sign("kasonta", certified_extract(c, "kasonta")))


def test_a_withdrawal_empties_the_anonymous_ring_of_its_certificates() -> None:
    c = RingChain()
    assert len(c.ring()) == 3
    stale = [m.key for m in c.ring()]
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("irma"), "scheme": "IRMA", "withdraw": True}))
    assert len(c.ring()) == 2  # Tujenge was certified on IRMA's word only
    assert c.reject(c.anon_with_ring(stale).proved.event).rule == "ring.set"
    c.keep(c.anon().proved)


@pytest.mark.parametrize("valid_from", ["2020-01-01T00:00:00Z", "2024-01-01T00:00:00Z"])
def test_a_back_dated_re_accreditation_does_not_revive_voided_certificates(c: Chain, valid_from: str) -> None:
    """The operator withdraws RMAP and then re-accredits the auditor with a ``valid_from`` in the
    past, covering the old certificate's issuance: it stays void (only accreditation records
    granted before the attestation was accepted count), plain and confidential; an attestation
    the auditor issues after the re-accreditation counts."""
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "withdraw": True}))
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "valid_from": valid_from}))
    size = c.ledger.store.size()
    assert c.reject(c.sign("kasonta", certified_extract(c, "kasonta"))).rule == "certified.origin"
    assert c.ledger.store.size() == size
    c.accept(c.sign("rmap", {**RMAP_TUJENGE, "subject": "mine:kasonta"}))
    c.accept(c.sign("kasonta", certified_extract(c, "kasonta")))


def test_a_back_dated_re_accreditation_does_not_revive_them_in_confidential_mode() -> None:
    c = ConfChain()
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP", "withdraw": True}))
    c.accept(operator_sign(c, {"kind": "accredit", "auditor": c.did("rmap"), "scheme": "RMAP",
                               "valid_from": "2020-01-01T00:00:00Z"}))
    assert c.reject(c.conf_extract_event("kasonta", "certified").event).rule == "certified.origin"
