"""The read policy over HTTP, per audience: public, token roles, participants (their credentials);
bad tokens are 401."""

from __future__ import annotations

import time
from typing import Any

from api_support import TOKEN_KEY, Served
from batterytrace.ledger.access import issue_access_token
from batterytrace.model.events import SignedEvent


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _events(served: Served, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = served.client.get("/events", params={"perPage": 50, **params}, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        out += r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        if "link" not in r.headers:
            return out
        r = served.client.get(r.headers["link"].split(">")[0].lstrip("<"), headers=headers)


def _hashes(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["eventID"]).rsplit(":", 1)[-1] for e in events]


def _first(served: Served, kind: str, actor: str | None = None) -> SignedEvent:
    return next(ev for ev in served.scenario.events
                if ev.kind == kind and (actor is None or ev.actor == served.scenario.actors[actor].did))


def test_the_public_sees_heads_proofs_and_passports_not_event_bodies(served: Served) -> None:
    c = served.client
    extract = _first(served, "extract")
    reading = _first(served, "lifecycle")
    for path in ("/events", f"/ledger/events/{extract.hash_hex}", f"/ledger/events/{reading.hash_hex}",
                 f"/trace/{served.scenario.packs[-1]}"):
        r = c.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), path
        assert "bearer token" in r.json()["detail"]
    assert c.get("/ledger/head").status_code == 200
    proof = c.get("/ledger/proofs/inclusion", params={"event_hash": reading.hash_hex})
    assert proof.status_code == 200 and set(proof.json()) == {
        "ledger", "leaf_index", "ingested_at", "tree_size", "leaf_hash", "root_hash", "proof"}
    # the public passport shows no lifecycle reading
    page = c.get(served.link_path, headers={"accept": "text/html"})
    assert page.status_code == 200 and "Verified passport" in page.text
    public_json = c.get(served.link_path, headers={"accept": "application/json"}).text
    assert str(reading.body["bms"]["remaining_energy_kwh"]) not in public_json
    assert "soh_percent" not in public_json


def test_token_roles(served: Served) -> None:
    scenario = served.scenario
    li = _bearer(served.token("legitimate_interest"))
    readings = [ev.hash_hex for ev in scenario.events if ev.kind == "lifecycle"]
    got = _events(served, li)
    assert _hashes(got) == readings and got[0]["bt:event"]["bms"]  # the readings themselves
    assert _events(served, li, EQ_bizStep="shipping") == []
    ship = _first(served, "ship")
    incident = _first(served, "incident")
    assert served.client.get(f"/ledger/events/{readings[0]}", headers=li).status_code == 200
    assert served.client.get(f"/ledger/events/{ship.hash_hex}", headers=li).status_code == 403
    commission = _bearer(served.token("commission"))
    ships = _events(served, commission, EQ_bizStep="shipping")
    assert _hashes(ships) == [ev.hash_hex for ev in scenario.events if ev.kind == "ship"]
    assert served.client.get(f"/ledger/events/{incident.hash_hex}", headers=commission).status_code == 403
    # the battery's condition is for persons with a legitimate interest, not the Commission or authorities
    assert served.client.get(f"/ledger/events/{readings[0]}", headers=commission).status_code == 403
    authorities = _bearer(served.token("authorities"))
    assert served.client.get(f"/ledger/events/{incident.hash_hex}", headers=authorities).status_code == 200
    assert served.client.get(f"/ledger/events/{readings[0]}", headers=authorities).status_code == 403
    assert len(_events(served, authorities)) == len(scenario.events) - len(readings)
    assert served.client.get(f"/trace/{scenario.packs[-1]}", headers=li).status_code == 200


def test_forged_expired_and_malformed_tokens_are_401(served: Served) -> None:
    now = int(time.time())
    ledger_id = served.ledger.ledger_id
    stranger = served.scenario.actors["kasonta"].signing_key
    forged = issue_access_token(stranger, "tester", "authorities", now, now + 3600, audience=ledger_id,
                                token_id="forged")
    unrecorded = issue_access_token(TOKEN_KEY, "tester", "authorities", now, now + 3600, audience=ledger_id,
                                    token_id="never-issued")
    expired = served.token("authorities", ttl=1)
    head, _, sig = served.token("legitimate_interest").partition(".")
    relabelled = served.token("authorities").partition(".")[0] + "." + sig  # claims of one, signature of another
    time.sleep(1.1)
    for token in (forged, unrecorded, expired, relabelled, "x" * 5000, "a.b", head + "."):
        for path in ("/events", f"/ledger/events/{'0' * 64}", f"/trace/{served.scenario.packs[-1]}", "/capture"):
            r = served.client.get(path, headers=_bearer(token))
            assert r.status_code == 401, (path, token[:20], r.text)


def test_participants_see_their_own_and_their_lots_events(served: Served) -> None:
    s = served.scenario
    kasonta, mwelu = s.actors["kasonta"].did, s.actors["mwelu"].did
    mine = _bearer(served.token("participant", subject=kasonta))
    seen = set(_hashes(_events(served, mine)))
    own = [ev for ev in s.events if ev.actor == kasonta]
    assert own and {ev.hash_hex for ev in own} <= seen
    theirs = [ev for ev in s.events if ev.actor == mwelu]
    assert theirs and not {ev.hash_hex for ev in theirs} & seen
    assert not any(ev.kind == "lifecycle" and ev.hash_hex in seen for ev in s.events)
    c = served.client
    assert c.get(f"/ledger/events/{own[0].hash_hex}", headers=mine).status_code == 200
    hidden = c.get(f"/ledger/events/{theirs[0].hash_hex}", headers=mine)
    assert hidden.status_code == 403 and hidden.json()["type"].endswith("/forbidden")
    assert c.get(f"/ledger/events/{'0' * 64}", headers=mine).status_code == 404
    own_lot = f"{next(ev for ev in own if ev.kind == 'extract').hash_hex}:0"
    their_lot = f"{next(ev for ev in theirs if ev.kind == 'extract').hash_hex}:0"
    assert c.get(f"/trace/{own_lot}", params={"direction": "forward"}, headers=mine).status_code == 200
    assert c.get(f"/trace/{their_lot}", headers=mine).status_code == 403
    # the battery's holder reads the readings of its battery
    voltara = _bearer(served.token("participant", subject=s.actors["voltara"].did))
    readings = {ev.hash_hex for ev in s.events if ev.kind == "lifecycle"}
    assert readings and readings <= set(_hashes(_events(served, voltara)))
