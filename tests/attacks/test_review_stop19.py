"""Review of the material flow in the viewer, the auditor's read window and the EPCIS query by kind:
the public page cache must key on exactly what the viewer reads (a token cookie starlette parses,
the first Accept header, the representation the viewer answers), else a signed-in reader's
lineage is served to the public, or one representation to clients asking another; a forged
nextPageToken past the stores' integers is a 400, not a 500."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_support import Served, serve
from batterytrace.demo.scenario import build_scenario
from batterytrace.encoding import b64u_encode
from batterytrace.ledger.epcis_query import EventQuery
from batterytrace.storage.sqlite import SQLiteStore

HTML = {"accept": "text/html"}
LINEAGE = ("Kivijärvi Battery Chemicals Oy", "Kasonta Cobalt SA")


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[Served]:
    yield serve(build_scenario(packs=1, legacy_packs=1), tmp_path, page_cache_s=60)


@pytest.mark.parametrize("cookie", ["bt_token ={t}", " bt_token\t= {t}", "bt_lang=en; bt_token ={t}"])
def test_a_token_cookie_starlette_reads_is_never_cached_for_the_public(cached: Served, cookie: str) -> None:
    operator = cached.scenario.actors["voltara"].did
    token = cached.token("participant", subject=operator)
    signed_in = cached.client.get(cached.link_path, headers={**HTML, "cookie": cookie.format(t=token)})
    assert signed_in.status_code == 200
    assert 'data-chart="stages"' in signed_in.text  # the viewer read the cookie: the operator's lineage
    public = cached.client.get(cached.link_path, headers=HTML)
    assert public.status_code == 200
    assert 'data-chart="stages"' not in public.text
    assert not any(name in public.text for name in LINEAGE)


def test_an_accept_naming_sd_jwt_and_linkset_does_not_poison_the_linkset(cached: Served) -> None:
    both = cached.client.get(cached.link_path, headers={"accept": "application/dc+sd-jwt, application/linkset+json"})
    assert both.headers["content-type"].startswith("application/dc+sd-jwt")  # the viewer prefers the SD-JWT
    linkset = cached.client.get(cached.link_path, headers={"accept": "application/linkset+json"})
    assert linkset.headers["content-type"].startswith("application/linkset+json")
    assert "linkset" in linkset.json()


def test_a_near_sd_jwt_type_does_not_poison_the_sd_jwt(cached: Served) -> None:
    near = cached.client.get(cached.link_path, headers={"accept": "application/x-sd-jwt"})
    assert near.headers["content-type"].startswith("application/json")  # not a type the viewer serves
    sd = cached.client.get(cached.link_path, headers={"accept": "application/dc+sd-jwt"})
    assert sd.headers["content-type"].startswith("application/dc+sd-jwt")


def test_a_repeated_accept_header_does_not_poison_the_json(cached: Served) -> None:
    twice = cached.client.get(cached.link_path, headers=[("accept", "text/html"), ("accept", "application/json")])
    assert twice.headers["content-type"].startswith("text/html")  # the viewer reads the first
    as_json = cached.client.get(cached.link_path, headers={"accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert "claims" in as_json.json()


@pytest.mark.parametrize("seq", [2**63, 2**64 - 1])
@pytest.mark.parametrize("params", [{"perPage": "30"}, {"perPage": "5", "GE_eventTime": "2025-01-01T00:00:00Z"}])
def test_a_forged_page_token_past_the_stores_integers_is_a_400(seq: int, params: dict[str, str]) -> None:
    # the token's first bytes are a hash of the query's parameters: anyone can forge one
    scenario = build_scenario(packs=1, legacy_packs=1)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(tmp + "/ledger.db")
        try:
            served = serve(scenario, Path(tmp), store=store)
            client = TestClient(served.app, raise_server_exceptions=False)
            fingerprint = EventQuery.from_params(params).fingerprint()
            token = b64u_encode(fingerprint + (0).to_bytes(8, "big", signed=True) + seq.to_bytes(8, "big"))
            response = client.get("/events", params={**params, "nextPageToken": token},
                                  headers={"authorization": f"Bearer {served.token('authorities')}"})
            assert response.status_code == 400, response.text[:200]
            assert "nextPageToken" in response.json()["detail"]
        finally:
            store.close()
