"""The viewer never answers 500 to an issuer-signed passport of unexpected shape: claims whose
shape the viewer does not display (wrong types, missing aspects, huge strings, nested garbage)
are left out and named, at every access level and in every representation. The passports are
really signed by the battery's economic operator and published through the API; what the
verifier refuses is refused with a 4xx at publication."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api_support import Served, serve
from batterytrace.crypto.sdjwt import SdClaim
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.passport import issue as issue_module
from batterytrace.passport.issue import ACCESS_LEVELS, issue_passport
from batterytrace.passport.publish import publish_request

Mutation = Callable[[dict[str, Any]], None]


def _at(claims: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The object holding ``path``'s last name (through selectively disclosable wrappers)."""
    *parents, last = path.split(".")
    obj: Any = claims
    for name in parents:
        obj = obj[name]
        if isinstance(obj, SdClaim):
            obj = obj.value
    return obj, last


def put(path: str, value: Any) -> Mutation:
    def mutate(claims: dict[str, Any]) -> None:
        obj, last = _at(claims, path)
        if isinstance(obj.get(last), SdClaim):
            obj[last] = SdClaim(value, obj[last].tag)
        else:
            obj[last] = value
    return mutate


def drop(path: str) -> Mutation:
    def mutate(claims: dict[str, Any]) -> None:
        obj, last = _at(claims, path)
        del obj[last]
    return mutate


def nested(depth: int) -> Any:
    value: Any = {"x": [1, "a", None]}
    for i in range(depth):
        value = {"level": value, "n": i} if i % 2 else [value, value] if i < 6 else [value]
    return value


HUGE = "Ω" * 150_000
GPI = "aspects.GeneralProductInformation"
CONDITION = "aspects.PerformanceAndDurability.batteryCondition"
# claims no verifier binds to the ledger: published, so the viewer must cope with any shape
SHOWN: dict[str, list[Mutation]] = {
    "huge strings": [put(f"{GPI}.batteryCategory", HUGE), put(f"{GPI}.manufacturerInformation.contactName", HUGE)],
    "wrong types": [put(f"{GPI}.batteryCategory", {"a": [1, 2]}), put(f"{GPI}.manufacturerInformation", "ACME")],
    "missing parts": [drop(f"{GPI}.batteryCategory"), drop(f"{GPI}.manufacturerInformation")],
    "nested garbage": [put(f"{GPI}.batteryStatus", nested(20)),
                       put("aspects.Circularity.dismantlingAndRemovalInformation", nested(25)),
                       put(f"{CONDITION}.stateOfCertifiedEnergy", nested(30))],
    "many members": [put(f"{CONDITION}.remainingCapacity", {f"k{i}": list(range(50)) for i in range(2000)}),
                     put(f"{GPI}.batteryStatus", [nested(3)] * 500)],
    "unknown claims": [put("summary.extra", nested(10)), put("aspects.Garbage", nested(10))],
    "markup": [put(f"{GPI}.batteryCategory", "<script>alert(1)</script>")],
}
# claims the verifier binds to the ledger or the access levels: refused at publication (4xx)
REFUSED: dict[str, tuple[Mutation, str]] = {
    "chemistry of another type": (put("summary.chemistry", {"a": [1, 2]}), "summary.chemistry"),
    "capacity as text": (put("summary.capacity_kwh", "lots"), "summary.capacity_kwh"),
    "carbon per kWh as a list": (put("summary.carbon_kgco2e_per_kwh", [1]), "summary.carbon_kgco2e_per_kwh"),
    "class as a number": (put("summary.carbon_performance_class", 7), "summary.carbon_performance_class"),
    "indices as numbers": (put("summary.due_diligence_indices", {"GBA-ChildLabour": 5}), "summary.due_diligence_indices"),
    "assurances as text": (put("summary.assurances", "all of them"), "summary.assurances"),
    "stages as text": (put("summary.carbon_kgco2e_per_stage", {"mining": "a lot"}), "summary.carbon_kgco2e_per_stage"),
    "no product information": (drop(GPI), "batteryMass"),
    "mass as a boolean": (put(f"{GPI}.batteryMass", True), "batteryMass"),
    "huge class": (put("summary.carbon_performance_class", HUGE), "summary.carbon_performance_class"),
    "restricted data made public": (put(CONDITION, {"stateOfCertifiedEnergy": 1}), "not for the public access level"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path_factory.mktemp("shapes"), issuers=False,
              page_cache_s=0, body_limits={"passports": 32 * 1024 * 1024})
    s.ledger.sign_tree_head(s.scenario.actors["operator"].signing_key)
    yield s
    s.client.close()


_issued_at = [int(time.time()) - 3000]


def publish_response(s: Served, mutations: list[Mutation], monkeypatch: pytest.MonkeyPatch) -> Any:
    original = issue_module.issue_sd_jwt

    def mutated(key: Any, claims: dict[str, Any], **kw: Any) -> Any:
        for m in mutations:
            m(claims)
        return original(key, claims, **kw)

    monkeypatch.setattr(issue_module, "issue_sd_jwt", mutated)
    _issued_at[0] += 10  # each publication newer than the last
    p = issue_passport(s.ledger, s.scenario.packs[-1], VOLTARA_VM75, s.scenario.actors["voltara"].signing_key,
                       _issued_at[0])
    monkeypatch.setattr(issue_module, "issue_sd_jwt", original)
    levels = {level: p.present(level) for level in ACCESS_LEVELS}
    r = s.client.post("/passports", json=publish_request(s.scenario.actors["voltara"].signing_key,
                                                         s.ledger.operator_did, levels, int(time.time())))
    assert r.status_code < 500, r.text
    return r


def publish(s: Served, mutations: list[Mutation], monkeypatch: pytest.MonkeyPatch) -> int:
    r = publish_response(s, mutations, monkeypatch)
    assert r.status_code == 201, r.text[:300]
    return int(r.status_code)


@pytest.mark.parametrize("case", sorted(SHOWN))
def test_viewer_shows_what_it_can_and_names_the_rest(world: Served, case: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    assert publish(world, SHOWN[case], monkeypatch) == 201
    client = TestClient(world.app, raise_server_exceptions=False)
    for level in ("public", "legitimate_interest", "authorities"):
        headers = {} if level == "public" else {"authorization": f"Bearer {world.token(level)}"}
        for accept in ("text/html", "application/json", "application/dc+sd-jwt"):
            r = client.get(world.link_path, headers={**headers, "accept": accept})
            assert r.status_code == 200, (case, level, accept, r.status_code, r.text[:300])
        page = client.get(world.link_path, headers={**headers, "accept": "text/html"}).text
        assert HUGE[:1000] not in page and "<script>alert" not in page
        assert len(page) < 500_000, len(page)
        if case in ("huge strings", "wrong types") or (level == "legitimate_interest" and case in ("nested garbage", "many members")):
            assert 'id="not-shown"' in page, (case, level)
    r = client.post("/verify", content=client.get(world.link_path, headers={"accept": "application/dc+sd-jwt"}).text,
                    headers={"content-type": "application/dc+sd-jwt"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_the_verifier_binds_is_refused_at_publication(world: Served, case: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    mutation, named = REFUSED[case]
    r = publish_response(world, [mutation], monkeypatch)
    assert r.status_code == 422 and named in r.json()["detail"], r.text[:300]


def test_not_shown_names_the_claim_and_its_shape(world: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    assert publish(world, [put(f"{GPI}.batteryCategory", {"a": [1, 2]}),
                           put(f"{GPI}.manufacturerInformation.contactName", HUGE)], monkeypatch) == 201
    page = TestClient(world.app).get(world.link_path, headers={"accept": "text/html"}).text
    section = page[page.index('id="not-shown"'):]
    for expected in (f"{GPI}.batteryCategory: expected a text of at most 200 characters, found an object of 1 members",
                     f"{GPI}.manufacturerInformation.contactName: expected a text of at most 200 characters, found a "
                     "text of 150,000 characters"):
        assert expected in section, expected
