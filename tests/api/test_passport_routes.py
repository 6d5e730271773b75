"""GS1 Digital Link resolution: item and model level, under the configured resolver's path, GTIN
forms and refused identifiers (problem details)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api_support import Served, serve
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import ConfigError
from batterytrace.passport.resolver import RESOLVER_KEY

GTIN14 = "04099999000753"


@pytest.fixture(scope="module")
def prefixed(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return serve(scenario, tmp_path_factory.mktemp("prefixed"), resolver="https://dpp.voltara.example/batteries")


def test_the_resolver_is_stored_and_passports_link_under_it(prefixed: Served) -> None:
    assert prefixed.ledger.store.get_meta(RESOLVER_KEY) == "https://dpp.voltara.example/batteries/"
    r = prefixed.client.get(f"/batteries{prefixed.link_path}", headers={"accept": "application/json"})
    assert r.status_code == 200, r.text
    link = r.json()["claims"]["battery"]["digital_link"]
    assert link == f"https://dpp.voltara.example/batteries{prefixed.link_path}"
    # the root path answers too (a proxy that strips the prefix)
    assert prefixed.client.get(prefixed.link_path, headers={"accept": "application/json"}).status_code == 200
    html = prefixed.client.get(f"/batteries{prefixed.link_path}", headers={"accept": "text/html"})
    assert html.status_code == 200 and prefixed.serial in html.text


def test_a_bad_resolver_is_refused_before_serving(scenario: Scenario, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="http is only allowed for localhost"):
        serve(scenario, tmp_path, chain=False, resolver="http://dpp.voltara.example/")


def test_model_level_lists_the_batteries_of_a_gtin(prefixed: Served) -> None:
    r = prefixed.client.get(f"/batteries/01/{GTIN14}", headers={"accept": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    serials = [b["serial"] for b in body["batteries"]]
    assert prefixed.serial in serials and serials == sorted(serials) and len(serials) == len(set(serials))
    expected = {lot.serial for lot in prefixed.ledger.store.iter_lots() if lot.gtin == GTIN14 and lot.form == "pack"}
    assert set(serials) == expected and len(expected) >= 2
    assert body["digital_link"] == f"https://dpp.voltara.example/batteries/01/{GTIN14}"
    assert body["chemistry"] and body["capacity_kwh"] and body["economic_operators"][0]["legal_name"]
    assert all(b["digital_link"].endswith(f"/01/{GTIN14}/21/{b['serial']}") for b in body["batteries"])
    assert all(b["passport_id"].startswith("urn:batterytrace:") for b in body["batteries"])
    assert body["next"] is None
    first = prefixed.client.get(f"/01/{GTIN14}?limit=1").json()
    assert [b["serial"] for b in first["batteries"]] == serials[:1] and first["next"] == serials[0]
    second = prefixed.client.get(f"/01/{GTIN14}?limit=1&after={first['next']}").json()
    assert [b["serial"] for b in second["batteries"]] == serials[1:2]
    page = prefixed.client.get(f"/01/{GTIN14}", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"(21) {prefixed.serial}" in page.text and "(01) " + GTIN14 in page.text


def test_a_13_digit_ean_is_padded_to_the_gtin_14_link(served: Served) -> None:
    r = served.client.get(f"/01/{GTIN14[1:]}/21/{served.serial}", headers={"accept": "application/json"},
                          follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == served.link_path
    followed = served.client.get(f"/01/{GTIN14[1:]}/21/{served.serial}", headers={"accept": "application/json"})
    assert followed.status_code == 200 and followed.json()["claims"]["battery"]["serial"] == served.serial
    model = served.client.get(f"/01/{GTIN14[1:]}?limit=5", follow_redirects=False)
    assert model.status_code == 301 and model.headers["location"] == f"/01/{GTIN14}?limit=5"


@pytest.mark.parametrize("path", [
    f"/01/{GTIN14[:-1]}4/21/VM75-000001",  # wrong check digit
    f"/01/{GTIN14[:-1]}4",
    "/01/0409999900075/21/VM75-000001",  # 13 digits, wrong check digit
    "/01/12345/21/VM75-000001",  # no GTIN length
    "/01/0409999900075x/21/VM75-000001",
])
def test_a_bad_gtin_is_a_problem_not_a_page(served: Served, path: str) -> None:
    r = served.client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "gtin" and "GTIN" in r.json()["detail"]


@pytest.mark.parametrize("serial", ["VM75 000001", "VM75~1", "X" * 21, "%C3%A9"])
def test_a_serial_outside_gs1_ai_21_is_a_problem(served: Served, serial: str) -> None:
    r = served.client.get(f"/01/{GTIN14}/21/{serial}")
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "serial"


def test_an_unknown_model_is_404(served: Served) -> None:
    r = served.client.get("/01/00000000000000")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_linkset_lists_the_passport_representations(prefixed: Served) -> None:
    """RFC 9264 JSON linkset by Accept or ?linkType=all: the anchor is the battery's Digital Link
    under the resolver; each representation link it names is served."""
    r = prefixed.client.get(f"/batteries{prefixed.link_path}", headers={"accept": "application/linkset+json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/linkset+json")
    (context,) = r.json()["linkset"]
    item = f"https://dpp.voltara.example/batteries{prefixed.link_path}"
    assert context["anchor"] == item
    assert prefixed.client.get(f"{prefixed.link_path}?linkType=all").json() == r.json()
    for rel, targets in context.items():
        if rel == "anchor":
            continue
        assert rel in ("collection",) or rel.startswith("https://gs1.org/voc/"), rel
        assert isinstance(targets, list) and all(isinstance(t["href"], str) and t["type"] for t in targets)
    assert context["https://gs1.org/voc/defaultLink"][0] == {"href": item, "title": "Battery passport",
                                                            "type": "text/html", "hreflang": ["en"]}
    dpp = context["https://gs1.org/voc/dpp"]
    assert [t["type"] for t in dpp] == ["application/json"] + ["application/dc+sd-jwt"] * 4
    for target in dpp + context["collection"]:
        local = target["href"].removeprefix("https://dpp.voltara.example")
        level = local.split("?level=")[1] if "?level=" in local else "public"
        auth = {} if level == "public" else {"authorization": f"Bearer {prefixed.token(level)}"}
        got = prefixed.client.get(local, headers={"accept": target["type"], **auth})
        assert got.status_code == 200, (target, got.text)
        assert got.headers["content-type"].startswith(target["type"])
    normal = prefixed.client.get(prefixed.link_path, headers={"accept": "text/html"})
    assert normal.headers["link"] == f'<{item}?linkType=all>; rel="linkset"; type="application/linkset+json"'


def test_the_granted_level_or_public_is_served_any_other_refused(prefixed: Served) -> None:
    from batterytrace.passport.issue import verify_passport

    operator = prefixed.ledger.operator_did
    token = {"authorization": f"Bearer {prefixed.token('legitimate_interest')}"}
    sd = {"accept": "application/dc+sd-jwt"}
    public = prefixed.client.get(f"{prefixed.link_path}?level=public", headers={**sd, **token})
    claims = verify_passport(public.text, log_operator=operator).claims
    assert "batteryStatus" not in claims["aspects"]["GeneralProductInformation"]
    li = prefixed.client.get(f"{prefixed.link_path}?level=legitimate_interest", headers={**sd, **token})
    assert "batteryStatus" in verify_passport(li.text, log_operator=operator).claims["aspects"]["GeneralProductInformation"]
    above = prefixed.client.get(f"{prefixed.link_path}?level=commission", headers={**sd, **token})
    assert above.status_code == 403 and "commission" in above.json()["detail"]
    authorities = {"authorization": f"Bearer {prefixed.token('authorities')}"}
    other = prefixed.client.get(f"{prefixed.link_path}?level=legitimate_interest", headers={**sd, **authorities})
    assert other.status_code == 403  # audiences are not nested: authorities do not read the battery's condition
    anonymous = prefixed.client.get(f"{prefixed.link_path}?level=legitimate_interest", headers=sd)
    assert anonymous.status_code == 403
    bad = prefixed.client.get(f"{prefixed.link_path}?level=root", headers=sd)
    assert bad.status_code == 400 and bad.json()["field"] == "level"


def test_no_linkset_for_an_unknown_battery(served: Served) -> None:
    r = served.client.get(f"/01/{GTIN14}/21/NOPE-1?linkType=all")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_the_public_cache_keeps_linkset_and_json_apart(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, page_cache_s=60)
    json_first = s.client.get(s.link_path, headers={"accept": "application/json"})
    linkset = s.client.get(s.link_path, headers={"accept": "application/linkset+json"})
    assert "claims" in json_first.json() and "linkset" in linkset.json()
    assert "claims" in s.client.get(s.link_path, headers={"accept": "application/json"}).json()


def test_status_lists_live_under_the_resolver_too(prefixed: Served) -> None:
    """A passport issued on demand names its status list under the ledger's resolver, and the
    service answers that path (behind a proxy that keeps the prefix)."""
    claims = prefixed.client.get(f"/batteries{prefixed.link_path}", headers={"accept": "application/json"}).json()["claims"]
    uri = claims["status"]["status_list"]["uri"]
    assert uri.startswith("https://dpp.voltara.example/batteries/statuslists/")
    r = prefixed.client.get(uri.removeprefix("https://dpp.voltara.example"))
    assert r.status_code == 200 and r.text.count(".") == 2  # a signed status list token (JWT)
