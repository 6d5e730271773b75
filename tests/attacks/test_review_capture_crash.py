"""Review attack: a plain EPCIS AggregationEvent whose ``action`` is a JSON array or object makes
custodial capture answer 500 (the mapper looks the action up in a dict) instead of a mapping error."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custodial_support import HostedChain, load_doc


@pytest.mark.parametrize("action", [[], {}, ["ADD"]])
def test_an_aggregation_with_a_non_string_action_is_a_client_error(tmp_path: Path, action: object) -> None:
    chain = HostedChain(tmp_path)
    doc = load_doc("oem")
    aggregation = next(e for e in doc["epcisBody"]["eventList"] if e["type"] == "AggregationEvent")
    aggregation["action"] = action
    doc["epcisBody"]["eventList"] = [aggregation]
    client = TestClient(chain.app, raise_server_exceptions=False)
    size = chain.ledger.size()
    r = client.post("/capture", json=doc, headers={"authorization": f"Bearer {chain.token('oem')}"})
    assert r.status_code < 500, r.text
    assert chain.ledger.size() == size
