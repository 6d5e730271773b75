"""Passports of confidential packs: figures proved in zero knowledge from the logged commitments,
grams never disclosed; forged figures, a plain pack posing as confidential and missing openings
are refused."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from batterytrace.crypto.sdjwt import issue_sd_jwt
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.errors import BatterytraceError, VerificationError
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    VCT,
    IssuedPassport,
    issue_passport,
    verify_passport,
)
from batterytrace.passport.view import verification_checks
from batterytrace.storage.openings import OpeningStore
from conf_pack_support import ConfWorld, conf_world
from passport.test_aspects import SCHEMAS, load_schema

NOW = 1_790_000_000


@pytest.fixture(scope="module")
def world() -> ConfWorld:
    return conf_world()


@pytest.fixture(scope="module")
def issued(world: ConfWorld) -> IssuedPassport:
    key = world.s.actors["voltara"].signing_key
    return issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW,
                          openings=world.run.store("voltara"))


def test_every_level_verifies_with_proved_figures_and_no_grams(world: ConfWorld, issued: IssuedPassport) -> None:
    for level in ACCESS_LEVELS:
        claims = verify_passport(issued.present(level), log_operator=world.ledger.operator_did, now=NOW).claims
        summary = claims["summary"]
        assert summary["confidential"] is True and summary["element_g"] is None
        assert "buckets" not in claims["evidence"]["event"]["event"]["outputs"][0]
    co = summary["recycled_percent"]["Co"]
    assert co["total"] >= 16.0 and summary["art8_targets"]["Co"]["2031"]["met"] is True
    # the issuer's figures are the true shares floored to 0.01 point
    held = world.run.store("voltara").get(world.packs[0])
    total = sum(o.value for k, o in held.items() if k.startswith("Co/"))
    post = sum(o.value for k, o in held.items() if k.startswith("Co/recycled-post"))
    assert co["post"] == 10_000 * post // total / 100
    assert summary["certified_percent"]["Co"] > 50 and summary["due_diligence_indices"]["GBA-ChildLabour"]["score"] > 0
    assert summary["carbon_kgco2e_per_kwh"] > 0  # footprint from the opened lineage
    checks = {c.name: c for c in verification_checks(claims)}
    assert checks["ZK claims"].status == "passed"


def _reissue(world: ConfWorld, claims: dict[str, Any], change: Any) -> str:
    """The issuer itself signs altered claims (the cheat holds the key)."""
    forged = copy.deepcopy({k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct", "cnf")})
    change(forged)
    key = world.s.actors["voltara"].signing_key
    return issue_sd_jwt(key, forged, vct=VCT, issued_at=NOW, expires_at=NOW + 86400).present([])


@pytest.mark.parametrize("change", [
    lambda c: c["summary"]["recycled_percent"]["Co"].update(post=c["summary"]["recycled_percent"]["Co"]["post"] + 1),
    lambda c: c["summary"]["certified_percent"].update(Co=100.0),
    lambda c: c["summary"].update(element_g={"Co": 1}),
    lambda c: c["summary"].update(confidential=False),
    lambda c: c["summary"]["art8_targets"]["Li"]["2036"].update(met=True),
    lambda c: c["evidence"].pop("zk_figures"),
    lambda c: c["evidence"]["zk_figures"].pop("certified_percent/Co"),
    lambda c: c.update(passport_id="urn:batterytrace:" + "0" * 32),
    lambda c: c["aspects"]["Circularity"]["recycledContent"][0].update(postConsumerShare=50.0),
])
def test_forged_confidential_figures_are_refused(world: ConfWorld, issued: IssuedPassport, change: Any) -> None:
    claims = verify_passport(issued.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims
    assert verify_passport(_reissue(world, claims, lambda c: None), log_operator=world.ledger.operator_did, now=NOW).claims
    with pytest.raises(VerificationError):
        verify_passport(_reissue(world, claims, change), log_operator=world.ledger.operator_did, now=NOW)


def test_a_plain_pack_cannot_pose_as_confidential(world: ConfWorld, issued: IssuedPassport) -> None:
    plain = issue_passport(world.ledger, world.s.packs[0], VOLTARA_VM75, world.s.actors["voltara"].signing_key, issued_at=NOW)
    claims = verify_passport(plain.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims
    assert claims["summary"]["confidential"] is False and claims["summary"]["element_g"]
    conf = verify_passport(issued.present("public"), log_operator=world.ledger.operator_did, now=NOW).claims
    with pytest.raises(VerificationError):
        verify_passport(_reissue(world, claims, lambda c: c["evidence"].update(zk_figures=conf["evidence"]["zk_figures"])),
                        log_operator=world.ledger.operator_did, now=NOW)


def test_issuing_needs_the_lineage_openings(world: ConfWorld) -> None:
    key = world.s.actors["voltara"].signing_key
    with pytest.raises(BatterytraceError, match="confidential"):
        issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW)
    with pytest.raises(BatterytraceError, match="no openings"):
        issue_passport(world.ledger, world.packs[0], VOLTARA_VM75, key, issued_at=NOW, openings=OpeningStore())
    wrong = OpeningStore()
    wrong.merge(world.run.store("voltara"))
    pack = world.packs[0]
    held = wrong.get(pack)
    key0 = sorted(held)[0]
    wrong.put(pack, {**held, key0: type(held[key0])(held[key0].value + 1, held[key0].blinding)})
    with pytest.raises(BatterytraceError, match="do not open"):
        issue_passport(world.ledger, pack, VOLTARA_VM75, key, issued_at=NOW, openings=wrong)


@pytest.mark.parametrize("aspect", sorted(SCHEMAS))
def test_confidential_aspects_validate_against_batterypass_schemas(world: ConfWorld, issued: IssuedPassport,
                                                                   aspect: str) -> None:
    claims = verify_passport(issued.present_all(), log_operator=world.ledger.operator_did, now=NOW).claims
    validator = jsonschema.Draft4Validator(load_schema(SCHEMAS[aspect]), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    # what nothing recorded is left out (summary.not_recorded): the 1.2.0 schema requires it, the passport
    # does not invent it; every other part validates
    unrecorded = {path.rsplit(".", 1)[1] for path in claims["summary"]["not_recorded"] if path.startswith(aspect + ".")}
    errors = [e.message for e in validator.iter_errors(claims["aspects"][aspect])
              if not (e.validator == "required" and e.message in {f"{n!r} is a required property" for n in unrecorded})]
    assert errors == []
    if aspect == "Circularity":  # proved figures, not the opened grams
        co = next(r for r in claims["aspects"][aspect]["recycledContent"] if r["recycledMaterial"] == "Cobalt")
        assert co["postConsumerShare"] == claims["summary"]["recycled_percent"]["Co"]["post"]


def test_a_desk_cannot_issue_a_confidential_pack_on_demand(world: ConfWorld, tmp_path: Any) -> None:
    from batterytrace.errors import NotFoundError
    from batterytrace.passport.registry import PassportDesk, PassportIssuer

    desk = PassportDesk(world.ledger, tmp_path, [PassportIssuer(world.s.actors["voltara"].signing_key, VOLTARA_VM75)])
    pack = world.ledger.store.get_lot(world.packs[0])
    assert pack is not None and pack.gtin and pack.serial
    with pytest.raises(NotFoundError, match="confidential pack"):
        desk.presentation(pack.gtin, pack.serial, "public")
