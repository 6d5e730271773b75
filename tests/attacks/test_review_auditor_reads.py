"""Review attack (issue 13, item 5): what an auditor reads through its role.

1. The auditor chose its own read window: it reads the events of a site it attested within the
   attestation's validity, which it signs itself. An attestation "valid" from the epoch to 2100,
   or one whose validity starts years before the audit, opened everything the site ever did. Now
   a validity longer than the policy's ``max_attestation_validity_s`` is refused at ingestion
   (``attestation.period``) and the read window starts at most ``audit_lookback_s`` before the
   attest event (``ledger.read_policy.audit_window``).
2. The auditor kept reading after the operator withdrew its accreditation, or after the
   accreditation expired. Now an attestation grants no window once the accreditation it was
   issued under is withdrawn (log order, as for certification), nor while the auditor holds no
   accreditation for its scheme valid at the time of the read. The auditor still reads what it
   reads as a participant (the events it signed, those naming it).

Library (``Reader.of``, ``run_query``, ``may_read_event``) on every store, and over HTTP
(``GET /events``, ``GET /ledger/events/{hash}``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, serve
from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.epcis_query import EventQuery, run_query
from batterytrace.ledger.read_policy import Reader, may_read_event
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time, parse_time
from support import Chain

DAY_US = 86_400_000_000
DAY_H = 24


@dataclass(frozen=True)
class Grant:
    subject: str
    role: str


def reader(c: Chain, did: str, at_us: int | None = None) -> Reader:
    return Reader.of(Grant(did, "participant"), c.ledger.store, c.s.clock if at_us is None else at_us)


def seen(c: Chain, r: Reader) -> set[str]:
    q = EventQuery.from_params({"perPage": "20"})
    out: set[str] = set()
    token = None
    while True:
        page = run_query(c.ledger.store, q, token, reader=r)
        out |= {str(e["eventID"]).rsplit(":", 1)[-1] for e in page.events}
        token = page.next_token
        if token is None:
            return out


def readable(c: Chain, r: Reader, event_hash: str) -> bool:
    seq = c.ledger.store.event_seq(bytes.fromhex(event_hash))
    assert seq is not None
    return may_read_event(c.ledger.store, r, seq)


def as_participant(c: Chain, did: str) -> set[str]:
    return seen(c, Reader("participant", did))


def extract(c: Chain, who: str) -> str:
    return c.extract(who, certified=False).split(":")[0]


def attest(subject: str, valid_from: int, valid_until: int, scheme: str = "RMAP") -> dict[str, Any]:
    return {"kind": "attest", "scheme": scheme, "subject": subject, "level": "conformant",
            "valid_from": format_time(valid_from), "valid_until": format_time(valid_until)}


def new_auditor(c: Chain, label: str, accreditations: list[dict[str, str]]) -> SigningKey:
    key = SigningKey.from_label(f"attack/{label}")
    c.accept(c.sign("operator", {"kind": "register_participant", "did": key.did, "role": "auditor",
                                 "legal_name": label, "country": "GB", "accreditations": accreditations}))
    return key


def signed_by(c: Chain, key: SigningKey, body: dict[str, Any]) -> SignedEvent:
    c.s.tick(0.25)
    return sign_event({**body, "time": format_time(c.s.clock)}, key, ledger=c.ledger.ledger_id)


def set_policy(c: Chain, **changes: int) -> None:
    c.accept(c.sign("operator", {"kind": "set_policy", "policy": {**DEFAULT_POLICY.to_dict(), **changes}}))


def withdraw(c: Chain, auditor: str, scheme: str) -> None:
    c.accept(c.sign("operator", {"kind": "accredit", "auditor": auditor, "scheme": scheme, "withdraw": True}))


@pytest.fixture
def c(store: Store) -> Chain:
    return Chain(store)


# 1. the window an auditor chooses ---------------------------------------------------------


@pytest.mark.parametrize("span", [
    ("1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),  # everything the site ever did, and will do
    ("2015-01-01T00:00:00Z", "2025-06-01T00:00:00Z"),  # ten years back
    ("2025-01-01T00:00:00Z", "2028-01-02T00:00:01Z"),  # 1096 days and a second
])
def test_an_attestation_valid_for_decades_is_refused(span: tuple[str, str]) -> None:
    c = Chain()
    body = attest("mine:tujenge", parse_time(span[0]), parse_time(span[1]))
    err = c.reject(c.sign("rmap", body))
    assert err.rule == "attestation.period" and "max_attestation_validity_s" in str(err)
    assert "RMAP" not in {a.scheme for a in c.ledger.store.attestations_for("mine:tujenge")}


def test_the_longest_validity_is_the_policys() -> None:
    c = Chain()
    start = parse_time("2025-01-01T00:00:00Z")
    c.accept(c.sign("rmap", attest("mine:tujenge", start, start + 1096 * DAY_US)))  # three years with a leap day
    set_policy(c, max_attestation_validity_s=365 * 86_400)
    assert c.reject(c.sign("rmap", attest("mine:tujenge", start, start + 366 * DAY_US))).rule == "attestation.period"
    c.accept(c.sign("rmap", attest("mine:tujenge", start, start + 365 * DAY_US)))
    for name, bad in (("max_attestation_validity_s", 0), ("max_attestation_validity_s", 10**12),
                      ("audit_lookback_s", -1), ("audit_lookback_s", 10**12), ("audit_lookback_s", True)):
        policy = {**DEFAULT_POLICY.to_dict(), name: bad}
        assert c.reject(c.sign("operator", {"kind": "set_policy", "policy": policy})).rule in {"policy", "schema"}, name


def test_a_back_dated_validity_opens_at_most_the_lookback(c: Chain) -> None:
    """The RMAP auditor attests Tujenge 400 days after Tujenge's first extraction, dating the
    validity from before it (within the longest validity): it reads the site's events of the year
    before the attestation and after, not the older extraction; an operator policy that looks
    further back opens it."""
    old = extract(c, "tujenge")
    first = c.s.clock
    c.s.tick(400 * DAY_H)
    recent = extract(c, "tujenge")
    rmap = c.did("rmap")
    assert old not in seen(c, reader(c, rmap))
    c.accept(c.sign("rmap", attest("mine:tujenge", first - DAY_US, first + 1000 * DAY_US)))
    auditor = reader(c, rmap)
    assert recent in seen(c, auditor) and readable(c, auditor, recent)
    assert old not in seen(c, auditor) and not readable(c, auditor, old)
    (window,) = [w for w in auditor.windows if w.subject.endswith("mine:tujenge")]
    assert window.start == c.s.clock - 365 * DAY_US
    set_policy(c, audit_lookback_s=2 * 366 * 86_400)
    auditor = reader(c, rmap)
    assert old in seen(c, auditor) and readable(c, auditor, old)


# 2. an auditor that lost its accreditation -------------------------------------------------


def test_a_withdrawn_accreditation_stops_the_auditors_reads(c: Chain) -> None:
    """The RMAP auditor reads Kasonta's extraction; the operator withdraws its RMAP accreditation:
    from then on it reads exactly what it reads as a participant, the extraction (dated before
    the withdrawal) included; re-accreditation does not revive the old attestation's window, a
    fresh attestation opens one."""
    rmap = c.did("rmap")
    mined = extract(c, "kasonta")
    before = reader(c, rmap)
    assert before.windows and mined in seen(c, before) and readable(c, before, mined)
    withdraw(c, rmap, "RMAP")
    after = reader(c, rmap)
    assert after.audience == "auditor" and after.windows == ()
    assert seen(c, after) == as_participant(c, rmap)
    assert mined not in seen(c, after) and not readable(c, after, mined)
    own = [ev.hash_hex for ev in c.s.events if ev.actor == rmap and ev.kind == "attest"]
    assert own and set(own) <= seen(c, after)  # what it signed, like any participant
    c.accept(c.sign("operator", {"kind": "accredit", "auditor": rmap, "scheme": "RMAP"}))
    assert not readable(c, reader(c, rmap), mined)
    c.accept(c.sign("rmap", attest("mine:kasonta", parse_time("2024-06-01T00:00:00Z"),
                                   parse_time("2027-06-01T00:00:00Z"))))
    assert readable(c, reader(c, rmap), mined)


def test_an_expired_accreditation_stops_the_auditors_reads(c: Chain) -> None:
    """An auditor accredited for 30 days attests Kasonta: it reads Kasonta's extraction until
    its accreditation ends, and nothing through its role afterwards; a renewed accreditation (an
    expiry is no sanction) lets it read on."""
    key = new_auditor(c, "thirty-day-auditor", [
        {"scheme": "RMAP", "valid_from": "2020-01-01T00:00:00Z", "valid_until": format_time(c.s.clock + 30 * DAY_US)}])
    c.accept(signed_by(c, key, attest("mine:kasonta", c.s.clock - 30 * DAY_US, c.s.clock + 700 * DAY_US)))
    mined = extract(c, "kasonta")
    assert readable(c, reader(c, key.did), mined)
    assert readable(c, reader(c, key.did, c.s.clock + 20 * DAY_US), mined)
    lapsed = reader(c, key.did, c.s.clock + 31 * DAY_US)
    assert lapsed.windows == () and not readable(c, lapsed, mined)
    assert seen(c, lapsed) == as_participant(c, key.did)
    c.accept(c.sign("operator", {"kind": "accredit", "auditor": key.did, "scheme": "RMAP"}))
    assert readable(c, reader(c, key.did, c.s.clock + 31 * DAY_US), mined)


def test_a_withdrawal_closes_only_what_the_withdrawn_scheme_opened(c: Chain) -> None:
    """An auditor accredited for RMAP and IRMA attests Kasonta (RMAP) and Tanjung Biru (IRMA);
    the operator withdraws RMAP: Kasonta closes, Tanjung Biru stays open; withdrawing IRMA too
    leaves the auditor its participant view only."""
    key = new_auditor(c, "two-scheme-auditor", [{"scheme": "RMAP"}, {"scheme": "IRMA"}])
    valid = (c.s.clock - 30 * DAY_US, c.s.clock + 700 * DAY_US)
    c.accept(signed_by(c, key, attest("mine:kasonta", *valid)))
    c.accept(signed_by(c, key, attest("mine:tanjung-biru", *valid, scheme="IRMA")))
    kasonta, tanjung = extract(c, "kasonta"), extract(c, "tanjung")
    withdraw(c, key.did, "RMAP")
    r = reader(c, key.did)
    assert not readable(c, r, kasonta) and readable(c, r, tanjung)
    withdraw(c, key.did, "IRMA")
    r = reader(c, key.did)
    assert r.windows == () and seen(c, r) == as_participant(c, key.did)


# over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def served(c: Chain, tmp_path: Path) -> Iterator[Served]:
    s = serve(c.s, tmp_path, chain=False, store=c.ledger.store, issuers=False)
    yield s
    s.client.close()


def http_seen(served: Served, headers: dict[str, str]) -> set[str]:
    out: set[str] = set()
    r = served.client.get("/events", params={"perPage": 50}, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        out |= {str(e["eventID"]).rsplit(":", 1)[-1] for e in r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]}
        if "link" not in r.headers:
            return out
        r = served.client.get(r.headers["link"].split(">")[0].lstrip("<"), headers=headers)


def test_over_http_a_withdrawn_auditor_reads_nothing_through_its_role(c: Chain, served: Served) -> None:
    rmap = c.did("rmap")
    mined = extract(c, "kasonta")
    bearer = {"authorization": f"Bearer {served.token('participant', subject=rmap)}"}
    assert mined in http_seen(served, bearer)
    assert served.client.get(f"/ledger/events/{mined}", headers=bearer).status_code == 200
    withdraw(c, rmap, "RMAP")
    assert http_seen(served, bearer) == as_participant(c, rmap)
    r = served.client.get(f"/ledger/events/{mined}", headers=bearer)
    assert r.status_code == 403 and r.json()["type"].endswith("/forbidden")


def test_over_http_an_expired_accreditation_reads_nothing_through_its_role(c: Chain, served: Served) -> None:
    """The server reads with its own clock: an accreditation that ended in 2025 opens nothing today."""
    key = new_auditor(c, "expired-auditor", [
        {"scheme": "RMAP", "valid_from": "2020-01-01T00:00:00Z", "valid_until": format_time(c.s.clock + 30 * DAY_US)}])
    c.accept(signed_by(c, key, attest("mine:kasonta", c.s.clock - 30 * DAY_US, c.s.clock + 700 * DAY_US)))
    mined = extract(c, "kasonta")
    assert readable(c, reader(c, key.did), mined)  # while it was accredited
    bearer = {"authorization": f"Bearer {served.token('participant', subject=key.did)}"}
    assert mined not in http_seen(served, bearer)
    assert served.client.get(f"/ledger/events/{mined}", headers=bearer).status_code == 403


def test_over_http_an_attestation_valid_for_decades_is_refused(c: Chain, served: Served) -> None:
    ev = c.sign("rmap", attest("mine:tujenge", 0, parse_time("2100-01-01T00:00:00Z")))
    r = served.client.post("/events", json=ev.to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "attestation.period", r.text
