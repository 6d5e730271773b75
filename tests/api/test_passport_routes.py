"""GS1 Digital Link resolution: item and model level, under the configured resolver's path, GTIN
forms and refused identifiers (problem details for API clients, pages for browsers). The passport
page: every attribute a level may read is on its page under its label (and none it may not read),
German for a German browser, HTML error pages for browsers while API clients keep problem details,
a stale sign-in cookie falling back to the public page while a bad bearer token stays refused, the
battery's history, the operator view."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_support import TOKEN_KEY, Served, serve
from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import StatusList, issue_status_list_token
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import ConfigError
from batterytrace.ledger.access import issue_access_token
from batterytrace.ledger.credentials import issue_credential, revoke_credential
from batterytrace.model.events import sign_event
from batterytrace.passport.attributes import ATTRIBUTES
from batterytrace.passport.issue import ACCESS_LEVELS, may_read
from batterytrace.passport.labels import FIELDS, LANGUAGES
from batterytrace.passport.resolver import RESOLVER_KEY
from batterytrace.passport.status import LIST_SIZE
from batterytrace.timeutil import format_time

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
    assert "Battery model" in page.text and "Economic operator" in page.text
    german = prefixed.client.get(f"/01/{GTIN14}", headers={"accept": "text/html", "accept-language": "de-DE,de;q=0.9"})
    assert "Batteriemodell" in german.text and "Wirtschaftsakteur" in german.text and "Battery model" not in german.text
    french = prefixed.client.get(f"/01/{GTIN14}?lang=fr", headers={"accept": "text/html"})
    assert "Modèle de batterie" in french.text


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
def test_a_bad_gtin_is_a_problem_for_clients_and_a_page_for_browsers(served: Served, path: str) -> None:
    r = served.client.get(path, headers={"accept": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "gtin" and "GTIN" in r.json()["detail"]
    # the passport and the model link: a page saying why, with the search form
    page = served.client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "This is not a valid GTIN" in page.text and 'action="/find"' in page.text


@pytest.mark.parametrize("serial", ["VM75 000001", "VM75~1", "X" * 21, "%C3%A9"])
def test_a_serial_outside_gs1_ai_21_is_a_problem(served: Served, serial: str) -> None:
    r = served.client.get(f"/01/{GTIN14}/21/{serial}")
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "serial"


def test_an_unknown_model_is_404(served: Served) -> None:
    r = served.client.get("/01/00000000000000")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    page = served.client.get("/01/00000000000000", headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'action="/find"' in page.text and '<meta name="viewport"' in page.text


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


HTML = {"Accept": "text/html"}
CAMEL = re.compile(r"\b[a-z]{2,}[A-Z]\w*")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield serve(build_scenario(packs=1, legacy_packs=1), tmp_path_factory.mktemp("pages"))


def _headers(site: Served, level: str, lang: str = "en") -> dict[str, str]:
    h = {**HTML, "Accept-Language": lang}
    if level != "public":
        h["Authorization"] = f"Bearer {site.token(level)}"
    return h


def _labels_on(page: str) -> set[str]:
    return set(re.findall(r'<dt[^>]*><span class="lbl">(.*?)</span>', page, re.S))


@pytest.mark.parametrize("level", ACCESS_LEVELS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_attribute_a_level_may_read_is_on_its_page_with_its_label(site: Served, level: str, lang: str) -> None:
    page = site.client.get(site.link_path, headers=_headers(site, level, lang))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    shown = _labels_on(page.text)
    i = LANGUAGES.index(lang)
    readable = {FIELDS[a.path].labels[i] for a in ATTRIBUTES if may_read(level, a.level)}
    hidden = {FIELDS[a.path].labels[i] for a in ATTRIBUTES if not may_read(level, a.level)} - readable
    assert not readable - shown, f"{level}/{lang}: missing {sorted(readable - shown)}"
    assert not hidden & shown, f"{level}/{lang}: shows {sorted(hidden & shown)}"
    assert not [x for x in shown if CAMEL.search(x)], "a raw schema key as a label"
    assert f'<html lang="{lang}">' in page.text and 'name="viewport"' in page.text


def test_the_page_reads_as_words(site: Served) -> None:
    page = site.client.get(site.link_path, headers=_headers(site, "authorities")).text
    assert "<title>Voltara VM75 NMC811 · " in page  # the model, not the GTIN
    assert "✓</span> Verified — issued by Voltara Motors AG, recorded in the public log" in page
    assert "ZK claims: absent" not in page and "not present" not in page.split('id="technical"')[0]
    assert re.search(r'<details id="technical">.*leaf \d+ of the log', page, re.S)  # technical details collapsed
    assert "Electric vehicle battery" in page and ">ev<" not in page
    assert '<a href="https://voltara.example.com/docs/vm75/test-reports.pdf">' in page  # the authority's reports
    assert '<a href="https://voltara.example.com/docs/vm75/eu-declaration-of-conformity.pdf">' in page
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", page.split("<details")[0]) and re.search(r">\d{1,2} [A-Z][a-z]+ 20\d\d<", page)
    assert "provisional" in page and "C ≤ 0.16" in page  # the class bounds used
    assert "18 August 2031" in page and "18 August 2036" in page
    assert "from 0 to 100; higher is better" in page
    assert "DR Congo 100 %" in page and "Cobalt" in page
    assert 'data-chart="flow"' in page and 'data-chart="recycled"' in page and 'data-chart="carbon"' in page


def test_a_german_browser_gets_german_labels_and_the_switch_is_remembered(site: Served) -> None:
    de = site.client.get(site.link_path, headers={**HTML, "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).text
    assert "EU-Konformitätserklärung" in de and "Allgemeine Angaben" in de and "Elektrofahrzeugbatterie" in de
    assert "Geprüft — ausgestellt von Voltara Motors AG" in de
    fr = site.client.get(site.link_path + "?lang=fr", headers={**HTML, "Accept-Language": "de"})
    assert "Déclaration UE de conformité" in fr.text and fr.cookies.get("bt_lang") == "fr"
    again = site.client.get(site.link_path, headers={**HTML, "Accept-Language": "de"})  # the cookie wins
    assert "Déclaration UE de conformité" in again.text
    site.client.cookies.clear()


def test_browser_errors_are_pages_and_api_errors_stay_problem_details(site: Served) -> None:
    c = site.client
    unknown = c.get(f"/01/{site.gtin}/21/NO-SUCH-SERIAL", headers=HTML)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "No passport found" in unknown.text and 'action="/find"' in unknown.text and 'name="viewport"' in unknown.text
    api = c.get(f"/01/{site.gtin}/21/NO-SUCH-SERIAL")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    wrong = site.gtin[:-1] + str((int(site.gtin[-1]) + 1) % 10)
    typo = c.get(f"/01/{wrong}/21/{site.serial}", headers=HTML)
    assert typo.status_code == 400 and "check digit" in typo.text and f"should be {site.gtin[-1]}" in typo.text
    for bad in ("12345", "0409999900075X", "4" * 20):
        page = c.get(f"/01/{bad}/21/{site.serial}", headers=HTML)
        assert page.status_code == 400 and "This is not a valid GTIN" in page.text, bad
        problem = c.get(f"/01/{bad}/21/{site.serial}")
        assert problem.status_code == 400 and problem.json()["type"].endswith("invalid-identifier"), bad
        assert problem.json()["field"] == "gtin"
    bad_serial = c.get(f"/01/{site.gtin}/21/VM75~1", headers=HTML)
    assert bad_serial.status_code == 400 and "serial number" in bad_serial.text
    ean = c.get(f"/01/{site.gtin[1:]}/21/{site.serial}", headers=HTML, follow_redirects=False)
    assert ean.status_code == 301 and ean.headers["location"] == site.link_path
    assert c.get(f"/01/{site.gtin[1:]}/21/{site.serial}", headers=HTML).status_code == 200
    found = c.get("/find", params={"gtin": site.gtin[1:], "serial": site.serial}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == site.link_path
    bad_find = c.get("/find", params={"gtin": wrong, "serial": site.serial})
    assert bad_find.status_code == 400 and "check digit" in bad_find.text and 'role="alert"' in bad_find.text


def test_a_stale_or_foreign_sign_in_cookie_falls_back_to_the_public_page(site: Served) -> None:
    c = site.client
    now = int(time.time())
    expired, _ = issue_credential(site.ledger.store, site.ledger.ledger_id, TOKEN_KEY, "t", "legitimate_interest",
                                  now - 7200, now - 3600)
    foreign = issue_access_token(SigningKey.from_label("another-operator"), "t", "legitimate_interest", now, now + 60,
                                 audience="urn:uuid:another-ledger", token_id="0" * 32)
    revoked, cred = issue_credential(site.ledger.store, site.ledger.ledger_id, TOKEN_KEY, "t", "legitimate_interest",
                                     now, now + 3600)
    revoke_credential(site.ledger.store, cred.token_id, now)
    for token in (expired, foreign, revoked, "garbage"):
        c.cookies.set("bt_token", token)
        page = c.get(site.link_path, headers=HTML)
        assert page.status_code == 200 and 'id="notice"' in page.text and "expired" in page.text
        assert "Remaining capacity" not in page.text and "Battery mass" in page.text
        assert 'id="signin"' in page.text
        assert "bt_token" in page.headers.get("set-cookie", "")  # the stale cookie is dropped
        c.cookies.clear()
        refused = c.get(site.link_path, headers={**HTML, "Authorization": f"Bearer {token}"})
        assert refused.status_code == 401  # a bearer token stays strict
    c.cookies.set("bt_token", site.token("legitimate_interest"))
    signed_in = c.get(site.link_path, headers=HTML).text
    assert "Remaining capacity" in signed_in and 'id="notice"' not in signed_in and "Sign out" in signed_in
    c.cookies.clear()


def test_a_revoked_passport_is_a_page_in_words(tmp_path: Path) -> None:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path)
    c = s.client
    oem = s.scenario.actors["voltara"].signing_key
    ref = c.get(s.link_path).json()["claims"]["status"]["status_list"]
    statuses = StatusList.new(LIST_SIZE)
    statuses.set(ref["idx"], 1)
    assert c.post("/statuslists", content=issue_status_list_token(oem, ref["uri"], statuses, int(time.time()) + 10),
                  headers={"content-type": "application/statuslist+jwt"}).status_code == 201
    page = c.get(s.link_path, headers=HTML)
    assert page.status_code == 410 and "This passport has been withdrawn" in page.text
    assert c.get(s.link_path).json()["rule"] == "passport.revoked"


def test_history_shows_versions_and_state_of_health_to_legitimate_interest_only(tmp_path: Path) -> None:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path)
    oem = s.scenario.actors["voltara"].signing_key
    lot = s.ledger.store.get_lot(s.ledger.store.lots_by_serial(s.gtin, s.serial)[-1])
    assert lot is not None
    later = format_time(lot.last_event_at + 30 * 86_400_000_000)
    s.ledger.submit(sign_event({"kind": "lifecycle", "lot": lot.lot_id, "status": "repurposed", "soh_percent": 78.0,
                                "time": later, "bms": {"state_of_charge_percent": 40.0}}, oem, ledger=s.ledger.ledger_id))
    li = s.client.get(s.link_path, headers=_headers(s, "legitimate_interest")).text
    assert 'id="history"' in li and "version 2" in li and "(this passport)" in li and "repurposed" in li
    assert 'data-chart="soh"' in li and "<td>78 %</td>" in li and "<td>100 %</td>" in li
    assert "Previous passport of this battery" in li  # the predecessor, named by the signed passport
    public = s.client.get(s.link_path, headers=HTML).text
    assert 'id="history"' in public and "version 2" in public
    assert 'data-chart="soh"' not in public and "78 %" not in public


def test_a_passport_that_fails_verification_is_explained_not_shown(tmp_path: Path) -> None:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path)
    assert s.client.get(s.link_path).status_code == 200  # issued and stored
    (stored,) = (tmp_path / "passports").glob("*.public.sd-jwt")
    jwt, _, rest = stored.read_text().partition("~")
    header, payload, signature = jwt.split(".")
    forged = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    stored.write_text(f"{header}.{payload}.{forged}~{rest}")
    s.app.state.desk._verified.clear()
    page = s.client.get(s.link_path, headers=HTML)
    assert page.status_code == 422 and "This passport could not be verified" in page.text
    assert "Do not rely on it" in page.text and 'id="attributes"' not in page.text


def test_operator_view_lists_the_operators_batteries_for_its_credential_only(tmp_path: Path) -> None:
    s = serve(build_scenario(packs=2, legacy_packs=1), tmp_path)
    c = s.client
    voltara = s.scenario.actors["voltara"].did
    assert c.get(s.link_path).status_code == 200  # this one's passport is issued here
    now = int(time.time())
    token, _ = issue_credential(s.ledger.store, s.ledger.ledger_id, TOKEN_KEY, voltara, "participant", now, now + 600)
    bearer = {"Authorization": f"Bearer {token}"}
    data = c.get("/operator", params={"format": "json"}, headers=bearer).json()
    assert data["operator"] == voltara
    rows = {(b["gtin"], b["serial"]): b for b in data["batteries"]}
    mine = rows[(s.gtin, s.serial)]
    assert mine["passport_status"] == "valid" and mine["passport_version"] == 1 and mine["model"] == "Voltara VM75 NMC811"
    assert len(rows) == 3  # two packs and the legacy one
    assert any(b["passport_status"] == "not issued here" for b in rows.values())
    table = c.get("/operator", params={"format": "csv"}, headers=bearer)
    assert table.headers["content-type"].startswith("text/csv") and "attachment" in table.headers["content-disposition"]
    assert table.text.splitlines()[0].startswith("gtin,serial,model,battery_status") and len(table.text.splitlines()) == 4
    page = c.get("/operator", headers={**HTML, **bearer})
    assert page.status_code == 200 and "Your batteries" in page.text and f"/01/{s.gtin}/21/{s.serial}" in page.text
    # another participant sees none of them; a reader's token and no token are refused
    cell_maker = s.scenario.actors["nordcell"].did  # a participant, but no pack's economic operator
    token2, _ = issue_credential(s.ledger.store, s.ledger.ledger_id, TOKEN_KEY, cell_maker, "participant", now, now + 600)
    assert c.get("/operator", params={"format": "json"},
                 headers={"Authorization": f"Bearer {token2}"}).json()["batteries"] == []
    assert c.get("/operator", params={"format": "json"}).status_code == 401
    assert c.get("/operator", headers={**HTML, "Authorization": f"Bearer {s.token('authorities')}"}).status_code == 401
    refused = c.get("/operator", headers=HTML)
    assert refused.status_code == 401 and "participant credential" in refused.text


def test_csv_cells_never_start_a_formula() -> None:
    from batterytrace.api.passport_routes import _csv_cell

    assert [_csv_cell(x) for x in ("=1+1", "+x", "-x", "@x", "\tx", "VM75")] == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "VM75"]
