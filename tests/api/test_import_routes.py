"""``POST /import/csv``: a participant credential, the hosted key, all rows or none. Recorded
events are marked custodial under the credential; row errors and ledger refusals are 422 problem
documents listing rows, columns and the rule; nothing of a refused file is recorded; reading
credentials, missing credentials, unknown kinds and oversized bodies are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batterytrace.ledger.credentials import list_credentials
from batterytrace.ledger.csv_import import MAX_CSV_BYTES
from custodial_support import HostedChain

MINE_SITE = "urn:epc:id:sgln:6164003.00001.0"
HEADER = "ref,time,site,form,mass_kg,origin,Co_pct,kgco2e_per_kg,carbon_primary,pact_file"


@pytest.fixture
def chain(tmp_path: Path) -> HostedChain:
    return HostedChain(tmp_path)


def bags(*rows: str) -> bytes:
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


def bag(ref: str, hour: int, origin: str = "uncertified", grade: str = "11.8", pact: str = "") -> str:
    carbon = ",," if pact else "0.9,no,"
    return f"{ref},2026-03-02T{hour:02d}:00:00+02:00,{MINE_SITE},heterogenite_concentrate,1250.5,{origin},{grade},{carbon}{pact}"


def post(chain: HostedChain, data: bytes, token: str | None, kind: str = "extraction", **params: str) -> Any:
    headers = {"content-type": "text/csv"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return chain.client.post("/import/csv", params={"kind": kind, **params}, content=data, headers=headers)


def refused(chain: HostedChain, data: bytes, token: str | None, status: int, needle: str, **params: str) -> dict[str, Any]:
    size = chain.ledger.size()
    r = post(chain, data, token, **params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and needle in r.text, r.text
    assert chain.ledger.size() == size
    problem: dict[str, Any] = r.json()
    return problem


def test_a_participant_records_its_rows_signed_custodially(chain: HostedChain) -> None:
    token = chain.token("mine")
    r = post(chain, bags(bag("B1", 8), bag("B2", 9)), token)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["recorded"] is True and [e["rows"] for e in body["events"]] == [[2], [3]]
    (credential,) = [c for c in list_credentials(chain.ledger.store) if c.subject == chain.did("mine")]
    assert body["custodial"] == {"credential": credential.token_id}
    for e in body["events"]:
        found = chain.ledger.event_by_hash(e["event"])
        assert found is not None
        ev = found[1]
        assert ev.actor == chain.did("mine") and ev.body["custodial"] == {"credential": credential.token_id}
    lot = chain.ledger.store.get_lot(body["ids"]["B1"])
    assert lot is not None and lot.buckets == {"Co/uncertified/CD": 147_559}


def test_check_records_nothing(chain: HostedChain) -> None:
    size = chain.ledger.size()
    r = post(chain, bags(bag("B1", 8)), chain.token("mine"), check="true")
    assert r.status_code == 200 and r.json()["recorded"] is False and chain.ledger.size() == size


def test_row_errors_and_refusals_are_problems_naming_rows(chain: HostedChain) -> None:
    token = chain.token("mine")
    p = refused(chain, bags(bag("B1", 8), bag("B2", 9, grade="eleven")), token, 422, "Co_pct")
    assert p["problems"] == [{"row": 3, "column": "Co_pct", "message": "'eleven' is not a non-negative decimal number"}]
    p = refused(chain, bags(bag("B1", 8), bag("B2", 9, origin="certified")), token, 422, "certified.origin")
    assert p["rule"] == "certified.origin" and p["type"].endswith("rule/certified.origin")
    assert p["problems"][0]["row"] == 3
    # PACT files are read beside a CSV file on disk, by the CLI
    p = refused(chain, bags(bag("B1", 8, pact="pcf.json")), token, 422, "pact_file")
    assert "batterytrace import csv" in p["problems"][0]["message"]


def test_a_double_spend_in_one_file_records_nothing(chain: HostedChain) -> None:
    token = chain.token("mine")
    lot = post(chain, bags(bag("B1", 8)), token).json()["ids"]["B1"]
    refiner = chain.did("refiner")
    shipment = (f"ref,time,to,lots\nS1,2026-03-02T12:00:00+02:00,{refiner},{lot}\n"
                f"S2,2026-03-02T13:00:00+02:00,{refiner},{lot}\n").encode()
    p = refused(chain, shipment, token, 422, "in-transit", kind="shipment")
    assert p["problems"][0]["row"] == 3


def test_who_may_import(chain: HostedChain) -> None:
    data = bags(bag("B1", 8))
    refused(chain, data, None, 401, "bearer token")
    refused(chain, data, "not-a-token", 401, "")
    refused(chain, data, chain.token("mine", role="legitimate_interest"), 403, "participant credential")
    # the refiner's credential signs with the refiner's key: the mine's site is not its own
    p = refused(chain, data, chain.token("refiner"), 422, "rule/")
    assert p["rule"] in ("authorisation", "site")


def test_bad_requests(chain: HostedChain) -> None:
    token = chain.token("mine")
    refused(chain, bags(bag("B1", 8)), token, 400, "kind must be one of", kind="aggregation")
    refused(chain, b"x" * (MAX_CSV_BYTES + 1), token, 413, "at most")
    refused(chain, b"", token, 422, "empty")
    refused(chain, b"ref;time\nA;b\n", token, 422, "semicolons")
    refused(chain, b"\x00\x01\x02binary", token, 422, "binary")
