"""EPCIS capture and query by GS1 Digital Link through the API, on every store: a signed document
naming serialised lots by Digital Link is checked against the ledger's identities, and
``MATCH_epc`` / ``MATCH_anyEPC`` with a pack's Digital Link find every event that names it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from api_support import Served, serve
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.ledger.epcis import epcis_document, export_events, lot_uri, output_identities
from batterytrace.ledger.event_index import named_lots, stored_identities
from batterytrace.model.identifiers import canonical_digital_link
from batterytrace.storage.base import Store


def _post(s: Served, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = s.client.post("/capture", content=json.dumps(epcis_document(events, 0)),
                      headers={"content-type": "application/ld+json"})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job


def _query(s: Served, params: dict[str, str], auth: dict[str, str]) -> list[str]:
    """The kinds of the events a query finds, every page."""
    r = s.client.get("/events", params={**params, "perPage": "3"}, headers=auth)
    found: list[dict[str, Any]] = []
    while True:
        assert r.status_code == 200, r.text
        found += r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        if "link" not in r.headers:
            return [e["bt:event"]["kind"] for e in found]
        r = s.client.get(r.headers["link"].split(">")[0].lstrip("<"), headers=auth)


def _naming(scenario: Scenario, identity: tuple[str, str]) -> list[str]:
    """The kinds of the scenario's events that create or name a lot carrying ``identity``."""
    ids = {lid for ev in scenario.events for lid, i in output_identities(ev).items() if i == identity}
    return [ev.kind for ev in scenario.events if ids & {*named_lots(ev), *output_identities(ev)}]


def test_capture_and_query_by_digital_link(store: Store, tmp_path: Path) -> None:
    scenario = build_scenario(packs=1, legacy_packs=1)
    pack = scenario.packs[-1]
    scenario.ship("voltara", "circulon", [pack])  # the pack's shipment and receipt
    s = serve(scenario, tmp_path, chain=False, store=store)
    try:
        events = scenario.events
        cells = {lid for ev in events if ev.kind == "transform" for lid in output_identities(ev)}
        cut = next(i for i, ev in enumerate(events) if ev.kind == "ship" and set(ev.body["lots"]) & cells)
        assert _post(s, export_events(events[:cut]))["success"]
        # the rest names the cells the first document created, by Digital Link: the ledger checks them
        rest = export_events(events[cut:], stored_identities(s.ledger.store))
        forged = copy.deepcopy(rest)
        forged[0]["epcList"][-1] = "https://id.gs1.org/01/07350999001087/21/FORGED"
        job = _post(s, forged)
        assert not job["success"] and [e["reason"] for e in job["errors"]] == ["epcis.epc"]
        assert "FORGED" in job["errors"][0]["message"] and s.ledger.size() == cut
        assert _post(s, rest)["success"] and s.ledger.size() == len(events)

        # the OEM reads every event that names its pack (its own, and the receipt of its lot)
        oem = scenario.actors["voltara"].did
        auth = {"authorization": f"Bearer {s.token('participant', subject=oem)}"}
        lot = s.ledger.store.get_lot(pack)
        assert lot is not None and lot.gtin and lot.serial
        link = canonical_digital_link(lot.gtin, lot.serial)
        expected = _naming(scenario, (lot.gtin, lot.serial))
        assert expected[0] == "aggregate" and {"lifecycle", "ship", "receive"} <= set(expected)
        assert _query(s, {"MATCH_anyEPC": link}, auth) == expected
        assert _query(s, {"MATCH_epc": link}, auth) == expected[1:]  # parentID is not an epcList
        assert _query(s, {"MATCH_parentID": link}, auth) == ["aggregate"]
        assert _query(s, {"MATCH_epc": link, "EQ_bizStep": "receiving", "eventType": "ObjectEvent"}, auth) == [
            "receive"]
        # the lot URI still finds what it named: the pack's own lot until its receipt
        assert _query(s, {"MATCH_anyEPC": lot_uri(pack)}, auth) == expected
        assert _query(s, {"MATCH_parentID": lot_uri(pack)}, auth) == ["aggregate"]
    finally:
        s.client.close()
