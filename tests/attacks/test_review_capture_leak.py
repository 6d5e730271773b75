"""Review attack: a participant learns the mass of a lot it never held through the error text of a
custodial capture (the EPCIS mapper resolves any lot id and reports its gross mass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custodial_support import HostedChain, load_doc


@pytest.fixture
def chain(tmp_path: Path) -> HostedChain:
    return HostedChain(tmp_path)


def _transform_of(lot: str, kg: float) -> dict[str, Any]:
    out = "urn:epc:class:lgtin:4000001.000009.X-1"
    return {"@context": load_doc("mine")["@context"], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-03-21T00:00:00Z", "epcisBody": {"eventList": [
                {"type": "TransformationEvent", "eventID": "urn:uuid:review-1", "eventTime": "2026-03-21T08:00:00Z",
                 "readPoint": {"id": "urn:batterytrace:site:plant:packs"},
                 "inputQuantityList": [{"epcClass": lot, "quantity": kg, "uom": "KGM"}],
                 "outputQuantityList": [{"epcClass": out, "quantity": 1, "uom": "KGM"}],
                 "bt:lots": {out: {"form": "cobalt_sulphate", "buckets": {}}}}]}}


def test_a_participant_cannot_learn_the_mass_of_a_lot_it_never_held(chain: HostedChain) -> None:
    job = chain.capture(load_doc("mine"), chain.token("mine"))
    lot = job["bt:recorded"][0]["lots"][0]  # the mine's 2000 kg lot, in transit to the refiner
    # the OEM never held it and may not read the mine's events (read policy) ...
    oem = chain.token("oem")
    hidden = chain.client.get("/events", headers={"authorization": f"Bearer {oem}"}).json()
    seen = str(hidden["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
    assert lot.split(":")[-2] not in seen and "2000" not in seen
    # ... yet a capture naming the lot with a wrong quantity answers with the lot's true mass
    answer = chain.capture(_transform_of(lot, 1), oem)
    assert not answer["success"]
    text = str(answer["errors"])
    assert "2000 kg" not in text, text
