"""GET /schemas, /schemas/events/{kind}.json, /schemas/signed-event.json and
/schemas/master-data.json: public, cacheable, the generated schemas byte for byte; an unknown
kind is a 404 problem document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api_support import serve
from batterytrace.demo.scenario import Scenario
from batterytrace.model.event_spec import event_schema, wire_schema
from batterytrace.model.events import EVENT_KINDS
from batterytrace.passport.master import master_schema


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return serve(Scenario(), tmp_path_factory.mktemp("schemas"), chain=False, issuers=False).client


def test_the_index_lists_every_kind_and_each_path_answers(client: TestClient) -> None:
    r = client.get("/schemas")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    index = r.json()
    assert set(index["event_kinds"]) == EVENT_KINDS
    for path in index["schemas"].values():
        got = client.get(path)
        assert got.status_code == 200, path
        assert got.headers["content-type"].startswith("application/schema+json")


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_each_event_schema_is_the_generated_one(client: TestClient, kind: str) -> None:
    r = client.get(f"/schemas/events/{kind}.json")
    assert r.status_code == 200 and r.json() == event_schema(kind)


def test_wire_and_master_data_schemas(client: TestClient) -> None:
    assert client.get("/schemas/signed-event.json").json() == wire_schema()
    assert client.get("/schemas/master-data.json").json() == master_schema()


def test_etag_revalidation(client: TestClient) -> None:
    first = client.get("/schemas/events/ship.json")
    again = client.get("/schemas/events/ship.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/schemas/events/ship.json", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


@pytest.mark.parametrize("path", [
    "/schemas/events/rotate_everything.json", "/schemas/events/..%2Fmaster-data.json",
    "/schemas/events/" + "x" * 5000 + ".json", "/schemas/events/ship", "/schemas/events/SHIP.json",
])
def test_unknown_kinds_are_404_problem_documents(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and len(r.json()["detail"]) < 200  # the detail does not echo the input
