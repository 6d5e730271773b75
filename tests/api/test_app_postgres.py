"""The API over a PostgreSQL ledger: EPCIS capture in, passport out, proofs (needs PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_support import serve
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.epcis import epcis_document, export_event
from batterytrace.storage.base import open_store


@pytest.mark.postgres
def test_capture_and_passport_on_postgres(scenario: Scenario, pg_url: str, tmp_path: Path) -> None:
    store = open_store(pg_url)
    s = serve(scenario, tmp_path, chain=False, store=store)
    try:
        doc = epcis_document([export_event(ev) for ev in scenario.events], 0)
        r = s.client.post("/capture", content=json.dumps(doc), headers={"content-type": "application/ld+json"})
        assert r.status_code == 202 and r.json()["success"], r.text
        pack = s.ledger.store.get_lot(scenario.packs[-1])
        assert pack is not None
        page = s.client.get(f"/01/{pack.gtin}/21/{pack.serial}", headers={"accept": "text/html"})
        assert page.status_code == 200 and "Verified passport" in page.text
        head = s.client.get("/ledger/head").json()
        assert head["tree_size"] == len(scenario.events) and head["checkpoint"]["tree_size"] == head["tree_size"]
        assert s.client.get("/events", params={"EQ_bizStep": "shipping"}).status_code == 401
        commission = {"authorization": f"Bearer {s.token('commission')}"}
        shipping = s.client.get("/events", params={"EQ_bizStep": "shipping", "perPage": 1000},
                                headers=commission).json()
        assert len(shipping["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == sum(
            ev.kind == "ship" for ev in scenario.events)
    finally:
        s.client.close()
        store.close()
