"""POST /capture with participant credentials: the documented example, the mine → pack chain in
plain EPCIS, what the log shows of custodial events, and a service without a KEK."""

from __future__ import annotations

import json
import re
from pathlib import Path

from batterytrace.api.app import create_app
from batterytrace.api.config import ApiConfig
from batterytrace.passport.registry import PassportDesk
from custodial_support import DOCS, HostedChain, load_doc

ROOT = Path(__file__).resolve().parents[2]


def _doc_example() -> str:
    text = (ROOT / "docs" / "epcis-mapping.md").read_text()
    section = text.split("## Complete example", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def test_the_documented_example_is_the_test_file_and_is_recorded(tmp_path: Path) -> None:
    example = _doc_example()
    assert json.loads(example) == json.loads((DOCS / "mine.json").read_text())
    chain = HostedChain(tmp_path)
    auth = {"authorization": f"Bearer {chain.token('mine')}"}
    r = chain.client.post("/capture", content=example.encode(), headers={**auth, "content-type": "application/ld+json"})
    assert r.status_code == 202, r.text
    job = chain.client.get(r.headers["location"], headers=auth).json()
    assert job["success"] and job["eventsRecorded"] == 2 and job["errors"] == []
    lot = job["bt:recorded"][0]["lots"][0]
    assert chain.ledger.store.get_lot(lot.removeprefix("urn:batterytrace:lot:")) is not None


def test_the_chain_in_plain_epcis_and_what_readers_see(tmp_path: Path) -> None:
    chain = HostedChain(tmp_path)
    lots = chain.record_chain()
    pack = chain.ledger.store.get_lot(lots["pack"].removeprefix("urn:batterytrace:lot:"))
    assert pack is not None and pack.serial == "VM75-000001"
    assert chain.client.get("/events", params={"EQ_bizStep": "shipping"}).status_code == 401  # bodies need a token
    commission = {"authorization": f"Bearer {chain.token('ec', role='commission', subject='ec')}"}
    r = chain.client.get("/events", params={"EQ_bizStep": "shipping", "perPage": 10}, headers=commission)
    shipped = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(shipped) == 3 and all("credential" in e["bt:event"]["custodial"] for e in shipped)
    # an exported custodial event is itself a self-signed event: capture takes it back as a replay
    again = {"@context": load_doc("mine")["@context"], "type": "EPCISDocument", "schemaVersion": "2.0",
             "creationDate": "2026-03-02T12:00:00Z", "epcisBody": {"eventList": shipped[:1]}}
    job = chain.capture(again, None)
    assert job["errors"][0]["reason"] == "rule/replay"


def test_without_a_kek_the_service_signs_for_nobody(tmp_path: Path) -> None:
    chain = HostedChain(tmp_path)
    config = ApiConfig.load(env={}, db=":memory:", rate_per_s=0)
    app = create_app(config, chain.ledger, PassportDesk(chain.ledger, tmp_path / "p", [], None))
    from fastapi.testclient import TestClient

    r = TestClient(app).post("/capture", json=load_doc("mine"), headers={"authorization": f"Bearer {chain.token('mine')}"})
    job = r.json()
    assert r.status_code == 202 and not job["success"] and "no hosted key" in job["errors"][0]["message"]
    assert chain.ledger.size() == 8


def test_unauthenticated_plain_events_are_refused_as_before(tmp_path: Path) -> None:
    chain = HostedChain(tmp_path)
    job = chain.capture(load_doc("mine"), None)
    assert {e["reason"] for e in job["errors"]} == {"unsigned"} and chain.ledger.size() == 8
