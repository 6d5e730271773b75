"""Invariant 8: publishing a passport is authenticated and never goes backwards. Through the HTTP
API, against a service that holds no economic-operator key: anonymous uploads, uploads signed by
another participant, a public presentation filed for the restricted levels, a replayed or older
issuance, a version going back. Each is refused with its ``passport.*`` rule and what the
service serves is unchanged."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, serve
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.model.events import sign_event
from batterytrace.passport.issue import ACCESS_LEVELS, IssuedPassport, issue_passport
from batterytrace.passport.publish import MAX_ENVELOPE_AGE_S, MAX_ISSUANCE_SKEW_S, publish_request
from batterytrace.passport.registry import check_complete
from batterytrace.timeutil import format_time


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = serve(build_scenario(packs=1, legacy_packs=1), tmp_path, issuers=False)
    s.ledger.sign_tree_head(s.scenario.actors["operator"].signing_key)
    yield s
    s.client.close()


def oem(s: Served) -> SigningKey:
    return s.scenario.actors["voltara"].signing_key


def issue(s: Served, issued_at: int) -> IssuedPassport:
    return issue_passport(s.ledger, s.scenario.packs[-1], VOLTARA_VM75, oem(s), issued_at)


def levels(p: IssuedPassport) -> dict[str, str]:
    return {level: p.present(level) for level in ACCESS_LEVELS}


def body(s: Served, presentations: dict[str, str], key: SigningKey | None = None,
         signed_at: int | None = None) -> dict[str, Any]:
    return publish_request(key or oem(s), s.ledger.operator_did, presentations,
                           int(time.time()) if signed_at is None else signed_at)


def served_files(s: Served) -> dict[str, str]:
    directory = s.app.state.desk.directory
    return {p.name: p.read_text() for p in sorted(Path(directory).glob("*.sd-jwt"))}


def refused(s: Served, payload: dict[str, Any], status: int, rule: str) -> dict[str, Any]:
    before = served_files(s)
    r = s.client.post("/passports", json=payload)
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["rule"] == rule and problem["type"].endswith(f"rule/{rule}"), problem
    assert served_files(s) == before  # nothing changed
    return problem  # type: ignore[no-any-return]


def li_view(s: Served) -> dict[str, Any]:
    token = s.token("legitimate_interest")
    r = s.client.get(s.link_path, headers={"accept": "application/json", "authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["claims"]  # type: ignore[no-any-return]


def published(s: Served, issued_at: int) -> IssuedPassport:
    p = issue(s, issued_at)
    r = s.client.post("/passports", json=body(s, levels(p)))
    assert r.status_code == 201, r.text
    return p


def test_an_anonymous_upload_is_refused(served: Served) -> None:
    genuine = published(served, int(time.time()) - 100)
    public_only = {level: genuine.present("public") for level in ACCESS_LEVELS}
    refused(served, {"presentations": public_only}, 403, "passport.publisher")
    refused(served, {"presentations": {"public": genuine.present("public")}}, 403, "passport.publisher")
    refused(served, {"presentations": levels(genuine), "envelope": None}, 403, "passport.publisher")
    assert len(li_view(served)["aspects"]["PerformanceAndDurability"]["batteryCondition"]) > 10


def test_an_upload_signed_by_another_participant_is_refused(served: Served) -> None:
    p = issue(served, int(time.time()) - 100)
    for who in ("kivijarvi", "circulon", "operator"):  # registered, but not the battery's economic operator
        refused(served, body(served, levels(p), served.scenario.actors[who].signing_key), 403, "passport.publisher")
    refused(served, body(served, levels(p), SigningKey.from_label("test/stranger")), 403, "passport.publisher")
    forged = body(served, levels(p))
    forged["envelope"]["publisher"] = served.scenario.actors["kivijarvi"].did  # the signature no longer fits
    refused(served, forged, 403, "passport.publisher")


def test_a_public_presentation_cannot_replace_the_restricted_levels(served: Served) -> None:
    genuine = published(served, int(time.time()) - 100)
    before = li_view(served)
    for level in ACCESS_LEVELS[1:]:  # the economic operator itself files the public one for a restricted level
        stripped = {**levels(genuine), level: genuine.present("public")}
        detail = refused(served, body(served, stripped), 422, "passport.incomplete")["detail"]
        assert f"the {level} presentation does not disclose" in detail
    partial = {level: t for level, t in levels(genuine).items() if level != "authorities"}
    refused(served, body(served, partial), 422, "passport.incomplete")
    newer = issue(served, int(time.time()) - 50)  # presentations of two issuances mixed
    refused(served, body(served, {**levels(genuine), "commission": newer.present("commission")}), 422,
            "passport.incomplete")
    assert li_view(served) == before
    check_complete(before, "legitimate_interest")  # every field the original attack erased is still served


def test_an_older_issuance_never_replaces_a_newer_one(served: Served) -> None:
    now = int(time.time())
    older = issue(served, now - 200)
    newer = published(served, now - 100)
    served_now = served_files(served)
    problem = refused(served, body(served, levels(older)), 409, "passport.rollback")
    assert str(now - 100) in problem["detail"]
    same_time = issue(served, now - 100)  # another issuance claiming the same time
    if same_time.present("public").split("~")[0] != newer.present("public").split("~")[0]:
        refused(served, body(served, levels(same_time)), 409, "passport.rollback")
    r = served.client.post("/passports", json=body(served, levels(newer)))  # re-posting the served one: a no-op
    assert r.status_code == 201 and served_files(served) == served_now
    assert li_view(served)["iat"] == now - 100


def test_a_captured_upload_cannot_be_replayed_later(served: Served) -> None:
    now = int(time.time())
    old = issue(served, now - 3600)
    stale = body(served, levels(old), signed_at=now - MAX_ENVELOPE_AGE_S - 60)  # captured an hour ago
    refused(served, stale, 422, "passport.envelope")
    swapped = body(served, levels(old))
    swapped["presentations"] = levels(issue(served, now - 10))  # the envelope signs other presentations
    refused(served, swapped, 422, "passport.envelope")
    other_ledger = publish_request(oem(served), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                                   levels(old), now)
    refused(served, other_ledger, 422, "passport.envelope")
    tampered = copy.deepcopy(body(served, levels(old)))
    tampered["envelope"]["issued_at"] += 1
    refused(served, tampered, 403, "passport.publisher")


def test_the_version_never_goes_back(served: Served) -> None:
    now = int(time.time())
    first = published(served, now - 300)
    pack = served.ledger.store.get_lot(served.scenario.packs[-1])
    assert pack is not None
    repurposed = sign_event({"kind": "lifecycle", "lot": pack.lot_id, "status": "repurposed", "soh_percent": 80.0,
                             "cycles": 900, "time": format_time(pack.last_event_at + 86_400_000_000),
                             "bms": {"state_of_charge_percent": 50.0}}, oem(served),
                            ledger=served.ledger.ledger_id)
    served.ledger.submit(repurposed)
    served.ledger.sign_tree_head(served.scenario.actors["operator"].signing_key)
    second = published(served, now - 200)
    assert second.passport_id != first.passport_id
    refused(served, body(served, levels(first)), 409, "passport.rollback")  # version 1 after version 2
    assert li_view(served)["passport_version"] == 2


def forged_levels(served: Served, claims: dict[str, Any], forged: dict[str, Any], iat: int) -> dict[str, str]:
    """The economic operator signs ``forged`` claims with the access levels of an issued passport."""
    from batterytrace.crypto.sdjwt import SdClaim, issue_sd_jwt
    from batterytrace.passport.issue import FIELD_LEVELS, VCT, IssuedPassport

    for aspect, fields in FIELD_LEVELS.items():  # the same selective disclosure as an issued passport
        for path, level in fields.items():
            *parents, leaf = path.split(".")
            node = forged["aspects"][aspect]
            for name in parents:
                node = node[name]
            node[leaf] = SdClaim(node[leaf], level)
    if "material_proofs" in claims:
        forged["material_proofs"] = SdClaim(forged["material_proofs"], FIELD_LEVELS["MaterialComposition"]["batteryMaterials"])
    signed = IssuedPassport("", "", issue_sd_jwt(oem(served), forged, vct=VCT, issued_at=iat, expires_at=iat + 86400))
    return {level: signed.present(level) for level in ACCESS_LEVELS}


def genuine_claims(served: Served) -> tuple[dict[str, Any], dict[str, Any]]:
    from batterytrace.passport.issue import verify_passport

    genuine = published(served, int(time.time()) - 100)
    claims = verify_passport(genuine.present_all(), log_operator=served.ledger.operator_did).claims
    return claims, {k: v for k, v in copy.deepcopy(claims).items() if k not in ("iss", "iat", "exp", "vct")}


def test_a_lifetime_energy_of_zero_is_a_refusal_not_a_server_error(served: Served) -> None:
    """Usable energy and service years so small their product underflows to 0: the verifier used
    to divide by it (HTTP 500). Now the figure is named, at /verify and at publication."""
    claims, forged = genuine_claims(served)
    forged["summary"]["carbon_lifetime"].update(usable_energy_kwh=5e-324, service_years=5e-324)
    presentations = forged_levels(served, claims, forged, int(time.time()) - 10)
    r = served.client.post("/verify", json={"presentation": presentations["authorities"]})
    assert r.status_code == 422 and "carbon_lifetime" in r.json()["detail"], r.text
    before = served_files(served)
    r = served.client.post("/passports", json=body(served, presentations))
    assert r.status_code == 422 and "carbon_lifetime" in r.json()["detail"], r.text
    assert served_files(served) == before


def test_an_issuance_dated_in_the_future_is_not_published(served: Served) -> None:
    """Served, an issuance dated ten years ahead would refuse every honest reissue as a rollback."""
    now = int(time.time())
    future = issue(served, now + 10 * 365 * 86400)
    refused(served, body(served, levels(future)), 422, "passport.future")
    refused(served, body(served, levels(issue(served, now + MAX_ISSUANCE_SKEW_S + 60))), 422, "passport.future")
    published(served, now)  # the honest issuance is not blocked
    assert li_view(served)["iat"] == now


def test_a_passport_with_forged_figures_is_not_published(served: Served) -> None:
    """The economic operator itself signs a consistent but lower footprint: offline it would only
    be declared, the service re-derives it from its ledger before serving it."""
    claims, forged = genuine_claims(served)
    forged["summary"]["carbon_kgco2e_per_stage"] = {k: round(v / 10, 3)
                                                    for k, v in forged["summary"]["carbon_kgco2e_per_stage"].items()}
    forged["summary"]["carbon_kgco2e_per_kwh"] = round(forged["summary"]["carbon_kgco2e_per_kwh"] / 10, 6)
    cf = forged["aspects"]["CarbonFootprintForBatteries"]
    cf["batteryCarbonFootprint"] = forged["summary"]["carbon_kgco2e_per_kwh"]
    cf["absoluteCarbonFootprint"] = round(cf["absoluteCarbonFootprint"] / 10, 3)
    for entry in cf["carbonFootprintPerLifecycleStage"]:
        entry["carbonFootprint"] = round(entry["carbonFootprint"] / 10, 6)
    forged["summary"]["carbon_performance_class"] = cf["carbonFootprintPerformanceClass"] = "A"
    presentations = forged_levels(served, claims, forged, int(time.time()) - 10)
    before = served_files(served)
    r = served.client.post("/passports", json=body(served, presentations))
    assert r.status_code == 422 and "carbon_kgco2e_per_stage" in r.json()["detail"], r.text
    assert served_files(served) == before
