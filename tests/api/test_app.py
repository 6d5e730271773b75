"""The REST API end to end on an in-memory ledger: writes, EPCIS capture and query, log proofs,
passports with content negotiation and access levels, verification, problem details."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, serve
from batterytrace.crypto.merkle import verify_consistency, verify_inclusion
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.epcis import epcis_document, export_event
from batterytrace.passport.issue import FIELD_LEVELS

PROBLEM = "application/problem+json"


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["detail"]
    return body


def test_openapi_is_published(served: Served) -> None:
    spec = served.client.get("/openapi.json").json()
    for path in ("/events", "/events/batch", "/capture", "/capture/{capture_id}", "/ledger/head",
                 "/ledger/proofs/inclusion", "/ledger/proofs/consistency", "/trace/{lot_id}",
                 "/01/{gtin}/21/{serial}", "/verify"):
        assert path in spec["paths"], path


def test_single_and_batch_writes(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, chain=False)
    first = scenario.events[0].to_wire()
    r = s.client.post("/events", json=first)
    assert r.status_code == 201 and r.json()["seq"] == 0
    body = _problem(s.client.post("/events", json=first), 422)
    assert body["rule"] == "replay"
    forged = {**first, "signature": scenario.events[1].to_wire()["signature"]}
    assert "signature" in _problem(s.client.post("/events", json=forged), 422)["detail"].lower()
    _problem(s.client.post("/events", json={"event": {"kind": "ship"}, "signature": "AA"}), 400)
    _problem(s.client.post("/events", content=b"not json", headers={"content-type": "application/json"}), 400)
    batch = [ev.to_wire() for ev in scenario.events[1:40]]
    batch.insert(5, first)  # a replay in the middle
    r = s.client.post("/events/batch", json={"events": batch})
    assert r.status_code == 200
    out = r.json()
    assert len(out["accepted"]) == 39 and [x["index"] for x in out["rejected"]] == [5]
    assert s.ledger.size() == 40
    r = s.client.post("/events/batch", json={"events": [ev.to_wire() for ev in scenario.events[40:45]] + [first],
                                             "all_or_nothing": True})
    assert r.json()["accepted"] == [] and s.ledger.size() == 40


def test_supply_chain_through_the_api_alone(scenario: Scenario, tmp_path: Path) -> None:
    """EPCIS documents in, passports out."""
    s = serve(scenario, tmp_path, chain=False)
    events = [export_event(ev) for ev in scenario.events]
    half = len(events) // 2
    for part in (events[:half], events[half:]):
        doc = epcis_document(part, 0)
        r = s.client.post("/capture", content=json.dumps(doc), headers={"content-type": "application/ld+json"})
        assert r.status_code == 202, r.text
        job = s.client.get(r.headers["location"]).json()
        assert job["success"] and job["eventsRecorded"] == len(part) and not job["errors"]
    assert s.ledger.size() == len(scenario.events)
    pack = s.ledger.store.get_lot(scenario.packs[0])
    assert pack is not None
    r = s.client.get(f"/01/{pack.gtin}/21/{pack.serial}", headers={"accept": "application/json"})
    assert r.status_code == 200, r.text
    claims = r.json()["claims"]
    assert claims["battery"]["serial"] == pack.serial and claims["summary"]["chemistry"] == "NMC811"
    sd = s.client.get(f"/01/{pack.gtin}/21/{pack.serial}", headers={"accept": "application/dc+sd-jwt"})
    assert sd.headers["content-type"].startswith("application/dc+sd-jwt") and sd.text.endswith("~")
    v = s.client.post("/verify", content=sd.text, headers={"content-type": "application/dc+sd-jwt"})
    assert v.status_code == 200 and v.json()["valid"] is True


def test_capture_rollback_proceed_limits_and_jobs(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, chain=False, capture_limit=50)
    opts = s.client.options("/capture")
    assert opts.status_code == 204 and opts.headers["GS1-EPCIS-Capture-Limit"] == "50"
    assert "rollback" in opts.headers["GS1-Capture-Error-Behaviour"]
    events = [export_event(ev) for ev in scenario.events[:30]]
    events.insert(2, {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2025-01-01T00:00:00Z",
                      "eventTimeZoneOffset": "+00:00", "epcList": []})
    doc = epcis_document(events, 0)
    r = s.client.post("/capture", json=doc)
    job = r.json()
    assert r.status_code == 202 and not job["success"] and job["eventsRecorded"] == 0 and s.ledger.size() == 0
    assert job["errors"][0]["index"] == 2 and job["errors"][0]["reason"] == "unsigned"
    r = s.client.post("/capture", json=doc, headers={"GS1-Capture-Error-Behaviour": "proceed"})
    assert r.json()["eventsRecorded"] == 30 and s.ledger.size() == 30
    _problem(s.client.post("/capture", json=doc, headers={"GS1-Capture-Error-Behaviour": "maybe"}), 400)
    too_many = epcis_document([export_event(ev) for ev in scenario.events[:51]], 0)
    _problem(s.client.post("/capture", json=too_many), 413)
    _problem(s.client.post("/capture", json={"type": "EPCISDocument"}), 400)
    _problem(s.client.post("/capture", content=b"{", headers={"content-type": "application/ld+json"}), 400)
    _problem(s.client.get("/capture/0123"), 404)
    # jobs are listed to the token that submitted them (authorities: all); anonymous ones to nobody
    _problem(s.client.get("/capture"), 401)
    authority = {"authorization": f"Bearer {s.token('authorities')}"}
    assert len(s.client.get("/capture", headers=authority).json()) == 2  # the refused header created no job
    mine = {"authorization": f"Bearer {s.token('participant', subject=scenario.actors['kasonta'].did)}"}
    assert s.client.get("/capture", headers=mine).json() == []
    r = s.client.post("/capture", json=epcis_document([], 0), headers=mine)
    assert r.status_code == 202
    assert s.client.get("/capture", headers=mine).json() == [r.json()["captureID"]]
    assert len(s.client.get("/capture", headers=authority).json()) == 3


def test_epcis_query_with_paging(served: Served) -> None:
    _problem(served.client.get("/events", params={"EQ_bizStep": "shipping"}), 401)  # event bodies need a token
    served.client.headers["authorization"] = f"Bearer {served.token('authorities')}"
    try:
        _query_with_paging(served)
    finally:
        del served.client.headers["authorization"]


def _query_with_paging(served: Served) -> None:
    r = served.client.get("/events", params={"EQ_bizStep": "shipping", "perPage": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert doc["type"] == "EPCISQueryDocument"
    seen = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    while "link" in r.headers:
        url = r.headers["link"].split(">")[0].lstrip("<")
        r = served.client.get(url)
        seen += r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(seen) == sum(ev.kind == "ship" for ev in served.scenario.events)
    assert all(e["bizStep"] == "shipping" for e in seen)
    _problem(served.client.get("/events", params={"GE_eventTime": "soon"}), 400)
    _problem(served.client.get("/events", params={"nextPageToken": "zz"}), 400)
    _problem(served.client.get("/events", params={"perPage": 0}), 400)
    assert "EQ_colour" in _problem(served.client.get("/events", params={"EQ_colour": "red"}), 400)["detail"]


def test_log_head_and_proofs(served: Served) -> None:
    c, ledger = served.client, served.ledger
    head = c.get("/ledger/head").json()
    assert head["tree_size"] == ledger.size() and head["root_hash"] == ledger.root().hex()
    ev = served.scenario.events[10]
    p = c.get("/ledger/proofs/inclusion", params={"event_hash": ev.hash_hex, "tree_size": 50}).json()
    verify_inclusion(bytes.fromhex(p["leaf_hash"]), p["leaf_index"], 50, [bytes.fromhex(x) for x in p["proof"]],
                     bytes.fromhex(p["root_hash"]))
    q = c.get("/ledger/proofs/consistency", params={"old_size": 20, "new_size": 50}).json()
    verify_consistency(20, 50, bytes.fromhex(q["old_root"]), bytes.fromhex(q["new_root"]),
                       [bytes.fromhex(x) for x in q["proof"]])
    _problem(c.get(f"/ledger/events/{ev.hash_hex}"), 401)  # proofs are public, event bodies are not
    auth = {"authorization": f"Bearer {served.token('authorities')}"}
    assert c.get(f"/ledger/events/{ev.hash_hex}", headers=auth).json()["signature"] == ev.to_wire()["signature"]
    _problem(c.get("/ledger/proofs/inclusion", params={"event_hash": ev.hash_hex, "tree_size": 5}), 400)
    _problem(c.get("/ledger/proofs/inclusion", params={"event_hash": "0" * 64}), 404)
    _problem(c.get("/ledger/proofs/consistency", params={"old_size": 10**6}), 400)
    _problem(c.get("/ledger/events/nothex", headers=auth), 404)
    _problem(c.get(f"/ledger/events/{'0' * 64}", headers=auth), 404)


def test_trace_needs_a_token(served: Served) -> None:
    pack = served.scenario.packs[-1]
    _problem(served.client.get(f"/trace/{pack}"), 401)
    _problem(served.client.get(f"/trace/{pack}", headers={"authorization": "Bearer nonsense"}), 401)
    _problem(served.client.get(f"/trace/{pack}", headers={"authorization": "Basic abc"}), 401)
    auth = {"authorization": f"Bearer {served.token('authorities')}"}
    r = served.client.get(f"/trace/{pack}", headers=auth)
    assert r.status_code == 200 and r.json()["origin_shares_percent"]
    fwd = served.client.get(f"/trace/{served.scenario.packs[0]}", params={"direction": "forward"}, headers=auth)
    assert fwd.json()["packs"] == [served.scenario.packs[0]] and fwd.json()["lot_count"] == 1
    _problem(served.client.get("/trace/none", headers=auth), 404)


def _restricted_leaves(li: dict[str, Any], pub: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Field names and distinctive text values the legitimate-interest presentation adds."""
    names = {path.rsplit(".", 1)[-1] for fields in FIELD_LEVELS.values() for path, level in fields.items()
             if level == "legitimate_interest"}
    pub_text = json.dumps(pub)
    values: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str) and len(x) >= 8 and x not in pub_text:
            values.add(x)

    aspects = li["aspects"]
    walk(aspects["PerformanceAndDurability"].get("batteryCondition"))
    walk({k: aspects["GeneralProductInformation"].get(k) for k in ("batteryStatus", "puttingIntoService")})
    return names, values


def test_public_reads_never_carry_legitimate_interest_fields(served: Served) -> None:
    c, path = served.client, served.link_path
    li = c.get(path, headers={"accept": "application/json", "authorization": f"Bearer {served.token('legitimate_interest')}"})
    assert li.json()["level"] == "legitimate_interest"
    pub_json = c.get(path, headers={"accept": "application/json"})
    assert pub_json.json()["level"] == "public"
    names, values = _restricted_leaves(li.json()["claims"], pub_json.json()["claims"])
    assert "stateOfCharge" in names and values
    html = c.get(path, headers={"accept": "text/html"}).text
    sd = c.get(path, headers={"accept": "application/dc+sd-jwt"}).text
    for text in (pub_json.text, html):
        for name in names:
            assert name not in text, name
        for value in values:
            assert value not in text, value
    li_text = json.dumps(li.json())
    assert all(name in li_text for name in ("stateOfCharge", "remainingCapacity"))
    assert len(sd.split("~")) < len(c.get(path, headers={"accept": "application/dc+sd-jwt",
                                                           "authorization": f"Bearer {served.token('legitimate_interest')}"}).text.split("~"))


def test_html_page_shows_figures_and_verification(served: Served) -> None:
    r = served.client.get(served.link_path, headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for needle in ('data-chart="carbon"', 'data-chart="recycled"', 'data-chart="origin-Co"', "GBA-ChildLabour",
                   "GBA-HumanRights", "NMC811", "log inclusion", "Verified passport", 'lang="en"'):
        assert needle in page, needle
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no external assets
    assert "restricted" not in page.split("<main", 1)[1].split('id="h-cert"')[0]
    assert served.client.get("/static/viewer.css").status_code == 200


def test_sign_in_shows_restricted_data(served: Served) -> None:
    c = served.client
    bad = c.post("/signin?next=/x", content=b"token=forged.token", headers={"content-type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 401 and "Sign-in failed" in bad.text
    r = c.post(f"/signin?next={served.link_path}", content=f"token={served.token('legitimate_interest')}".encode(),
               headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == served.link_path
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    page = c.get(served.link_path, headers={"accept": "text/html"}).text
    assert 'id="restricted"' in page and "DismantlingManual" in page and "stateOfCharge" in page
    c.post("/signout", follow_redirects=False)
    c.cookies.clear()
    assert 'id="restricted"' not in c.get(served.link_path, headers={"accept": "text/html"}).text
    assert c.post("/signin?next=//evil.example", content=f"token={served.token('commission')}".encode(),
                  headers={"content-type": "application/x-www-form-urlencoded"},
                  follow_redirects=False).headers["location"] == "/"
    c.cookies.clear()
    for evil in ("/\\evil.example", "https://evil.example", "/ok\\..\\x"):
        r = c.post("/signin", params={"next": evil}, content=f"token={served.token('commission')}".encode(),
                   headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)
        assert r.headers["location"] == "/", evil
    c.cookies.clear()


def test_verify_endpoint_refuses_tampered_passports(served: Served) -> None:
    c = served.client
    sd = c.get(served.link_path, headers={"accept": "application/dc+sd-jwt"}).text
    ok = c.post("/verify", json={"presentation": sd})
    assert ok.status_code == 200 and {x["name"] for x in ok.json()["checks"]} >= {"issuer signature", "log inclusion",
                                                                                "ledger", "figures"}
    figures = {f["name"]: f["status"] for f in ok.json()["figures"]}  # re-derived from this service's ledger
    assert figures["summary.carbon_kgco2e_per_stage.main product production"] == "verified"
    assert figures["summary.due_diligence_indices"] == "verified"
    assert figures["summary.carbon_kgco2e_per_kwh"] == "declared"  # over the declared lifetime energy
    assert figures["aspects.GeneralProductInformation.warrentyPeriod"] == "declared"
    page = c.get(served.link_path, headers={"accept": "application/json"}).json()
    assert {f["name"] for f in page["figures"]} == set(figures)
    jws, *disclosures = sd.split("~")
    head, payload, sig = jws.split(".")
    tampered = ".".join([head, payload, sig[:-3] + ("AAA" if not sig.endswith("AAA") else "BBB")]) + "~" + "~".join(disclosures)
    assert "signature" in _problem(c.post("/verify", content=tampered, headers={"content-type": "text/plain"}), 422)["detail"]
    _problem(c.post("/verify", content="garbage", headers={"content-type": "text/plain"}), 422)
    _problem(c.post("/verify", json={"nope": 1}), 400)


def test_unknown_battery_and_malformed_link(served: Served) -> None:
    _problem(served.client.get("/01/00000000000000/21/none"), 404)
    _problem(served.client.get("/01/123/21/x"), 400)


def test_rate_limit_answers_429(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, chain=False, rate_per_s=0.5, rate_burst=2)
    codes = [s.client.get("/ledger/head").status_code for _ in range(3)]
    assert codes[:2] == [200, 200]
    r = s.client.get("/ledger/head")
    body = _problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1 and "per second" in body["detail"]


@pytest.mark.parametrize("role", ["legitimate_interest", "commission", "authorities"])
def test_each_role_sees_its_level(served: Served, role: str) -> None:
    r = served.client.get(served.link_path, headers={"accept": "application/json",
                                                     "authorization": f"Bearer {served.token(role)}"})
    assert r.json()["level"] == role
    aspects = r.json()["claims"]["aspects"]
    # a repairer or recycler and the Commission read the dismantling data; notified bodies and
    # market surveillance authorities read the test reports, as does the Commission (the longlist)
    assert ("dismantlingAndRemovalInformation" in aspects["Circularity"]) == (role != "authorities")
    assert ("resultOfTestReport" in aspects["Labeling"]) == (role != "legitimate_interest")
    assert ("stateOfCharge" in aspects["PerformanceAndDurability"]["batteryCondition"]) == (role == "legitimate_interest")


def test_operator_publishes_its_own_passport(scenario: Scenario, tmp_path: Path) -> None:
    """The server holds no OEM key: the OEM issues the passport itself and publishes it."""
    import time

    from batterytrace.demo.master_data import VOLTARA_VM75
    from batterytrace.passport.issue import ACCESS_LEVELS, issue_passport
    from batterytrace.passport.publish import publish_request

    s = serve(scenario, tmp_path, issuers=False)
    pack = s.ledger.store.get_lot(scenario.packs[0])
    assert pack is not None
    link = f"/01/{pack.gtin}/21/{pack.serial}"
    assert "economic operator's key" in _problem(s.client.get(link), 404)["detail"]
    s.ledger.sign_tree_head(scenario.actors["operator"].signing_key)
    p = issue_passport(s.ledger, scenario.packs[0], VOLTARA_VM75, scenario.actors["voltara"].signing_key, int(time.time()))
    levels = {level: p.present(level) for level in ACCESS_LEVELS}
    oem_key = scenario.actors["voltara"].signing_key

    def signed(presentations: dict[str, str], key: Any = oem_key) -> dict[str, Any]:
        return publish_request(key, s.ledger.operator_did, presentations, int(time.time()))

    misfiled = {**levels, "public": levels["legitimate_interest"]}
    assert "not for the public access level" in _problem(s.client.post("/passports", json=signed(misfiled)), 422)["detail"]
    assert _problem(s.client.post("/passports", json=signed({"commission": levels["commission"]})), 422)["rule"] == \
        "passport.incomplete"
    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.crypto.signing import SigningKey
    from batterytrace.passport.issue import VCT, verify_passport

    claims = verify_passport(levels["public"], log_operator=s.ledger.operator_did).claims
    body = {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct")}
    mallory = SigningKey.from_label("test/mallory")
    forged = issue_sd_jwt(mallory, body, vct=VCT, issued_at=int(time.time()),
                          expires_at=int(time.time()) + 3600).present([])
    refused = _problem(s.client.post("/passports", json=signed(dict.fromkeys(ACCESS_LEVELS, forged), mallory)), 403)
    assert refused["rule"] == "passport.publisher" and "economic operator" in refused["detail"]
    r = s.client.post("/passports", json=signed(levels))
    assert r.status_code == 201 and r.json()["passport_id"] == p.passport_id
    page = s.client.get(link, headers={"accept": "application/json"})
    assert page.status_code == 200 and page.json()["claims"]["passport_id"] == p.passport_id
