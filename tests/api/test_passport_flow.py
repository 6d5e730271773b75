"""The passport page's stage-by-stage material flow follows the ledger's read policy: none for the
public (nor from a page cached for a signed-in reader), the economic operator's own battery, any
battery for a token level, never for a supplier that did not hold the battery, and not when a token
holder asks for the public presentation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api_support import Served, serve
from batterytrace.demo.scenario import build_scenario

HTML = {"accept": "text/html"}
NAMES = ("Kivijärvi Battery Chemicals Oy", "Nordcell Batteries AB", "Kasonta Cobalt SA")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield serve(build_scenario(packs=1, legacy_packs=1), tmp_path_factory.mktemp("flow"))


def _page(site: Served, token: str | None = None, query: str = "") -> str:
    headers = dict(HTML) if token is None else {**HTML, "authorization": f"Bearer {token}"}
    response = site.client.get(site.link_path + query, headers=headers)
    assert response.status_code == 200
    return response.text


def _drawn(html: str) -> bool:
    return 'data-chart="stages"' in html


def test_public_readers_get_no_stages_even_after_a_signed_in_view(site: Served) -> None:
    signed_in = _page(site, site.token("commission"))
    assert _drawn(signed_in) and all(name in signed_in for name in NAMES)
    operator = site.scenario.actors["voltara"].did
    own = _page(site, site.token("participant", subject=operator))  # reads the public presentation
    assert _drawn(own) and "Kasonta Cobalt SA" in own
    public = _page(site)
    assert not _drawn(public)
    assert not any(name in public for name in NAMES)
    assert "not disclosed at this access level" in public


def test_a_supplier_that_never_held_the_battery_gets_no_stages(site: Served) -> None:
    mine = site.scenario.actors["kasonta"].did
    html = _page(site, site.token("participant", subject=mine))
    assert not _drawn(html) and "Kivijärvi Battery Chemicals Oy" not in html


def test_asking_for_the_public_presentation_draws_no_stages(site: Served) -> None:
    html = _page(site, site.token("legitimate_interest"), "?level=public")
    assert not _drawn(html)
    # a participant's own level is the public presentation: asking for it explicitly still drops
    # the flow, as for every token holder
    operator = site.token("participant", subject=site.scenario.actors["voltara"].did)
    assert _drawn(_page(site, operator)) and not _drawn(_page(site, operator, "?level=public"))


def test_json_carries_the_flow_for_a_reader_who_may_trace(site: Served) -> None:
    token = site.token("authorities")
    data = site.client.get(site.link_path, headers={"authorization": f"Bearer {token}"}).json()
    flow = data["material_flow"]
    assert flow["quantities"] == "shown"
    assert {n["role"] for n in flow["nodes"]} >= {"mine", "refiner", "cathode_maker", "cell_maker", "oem", "product"}
    public = site.client.get(site.link_path).json()
    assert "material_flow" not in public


def test_the_flow_is_drawn_in_german_and_french(site: Served) -> None:
    token = site.token("commission")
    assert "Raffinerien" in _page(site, token, "?lang=de")
    assert "Raffineurs" in _page(site, token, "?lang=fr")
