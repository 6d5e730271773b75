"""Passports issued from the ledger: access levels, offline verification, and refusal of altered,
foreign, expired or unknown-issuer passports."""

from __future__ import annotations

import json

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import BatterytraceError, VerificationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.issue import digital_link, issue_passport, verify_passport
from batterytrace.storage.memory import MemoryStore

NOW = 1_790_000_000


@pytest.fixture(scope="module")
def world() -> tuple[Ledger, list[str], dict[str, object]]:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    keys = {k: a.signing_key for k, a in s.actors.items()}
    return ledger, s.packs, keys


def issue(world: tuple[Ledger, list[str], dict[str, object]], i: int = 0):  # type: ignore[no-untyped-def]
    ledger, packs, keys = world
    return issue_passport(ledger, packs[i], VOLTARA_VM75, keys["voltara"], issued_at=NOW)  # type: ignore[arg-type]


def test_levels_see_what_they_may(world) -> None:  # type: ignore[no-untyped-def]
    p = issue(world)
    operator = world[0].operator_did
    public = verify_passport(p.present("public"), log_operator=operator, now=NOW).claims
    gpi = public["aspects"]["GeneralProductInformation"]
    assert "batteryStatus" not in gpi and "puttingIntoService" not in gpi
    assert "dismantlingAndRemovalInformation" not in public["aspects"]["Circularity"]
    assert public["aspects"]["Circularity"]["recycledContent"]
    perf = public["aspects"]["PerformanceAndDurability"]
    assert perf["batteryCondition"] == {"roundTripEfficiencyat50PerCentCycleLife": 93.0}
    assert "expectedLifetime" not in perf["batteryTechicalProperties"]
    assert "resultOfTestReport" not in public["aspects"]["Labeling"]
    assert public["summary"]["due_diligence_indices"]["GBA-ChildLabour"]["coverage_percent"] == 100.0
    # a repairer or recycler (legitimate interest): the condition and the dismantling data, no test reports
    li = verify_passport(p.present("legitimate_interest"), log_operator=operator, now=NOW).claims
    assert li["aspects"]["GeneralProductInformation"]["batteryStatus"] == "Original"
    assert li["aspects"]["MaterialComposition"]["batteryMaterials"]
    assert li["aspects"]["Circularity"]["dismantlingAndRemovalInformation"]
    assert li["aspects"]["PerformanceAndDurability"]["batteryCondition"]["stateOfCharge"]["stateOfChargeValue"] == 80.0  # at hand-over
    assert "resultOfTestReport" not in li["aspects"]["Labeling"]
    # notified bodies and market surveillance authorities: the test reports, not the dismantling data
    auth = verify_passport(p.present("authorities"), log_operator=operator, now=NOW).claims
    assert auth["aspects"]["Labeling"]["resultOfTestReport"].endswith("test-reports.pdf")
    assert "dismantlingAndRemovalInformation" not in auth["aspects"]["Circularity"]
    assert "batteryStatus" not in auth["aspects"]["GeneralProductInformation"]
    # the Commission: materials, dismantling data and test reports, not the battery's condition
    com = verify_passport(p.present("commission"), log_operator=operator, now=NOW).claims
    assert com["aspects"]["MaterialComposition"]["batteryMaterials"]
    assert com["aspects"]["Circularity"]["dismantlingAndRemovalInformation"]
    assert com["aspects"]["Labeling"]["resultOfTestReport"]
    assert "stateOfCharge" not in com["aspects"]["PerformanceAndDurability"]["batteryCondition"]
    assert p.link == digital_link(public["battery"]["gtin"], public["battery"]["serial"])
    assert p.link.startswith("https://") and "/01/04099999000753/21/VM75-" in p.link


def test_public_presentation_leaks_no_restricted_value(world) -> None:  # type: ignore[no-untyped-def]
    text = issue(world).present("public")
    payload = b64u_decode(text.split(".")[1]).decode()
    assert "dismantling-manual" not in payload and "NC-M24-811" not in payload


def altered(text: str) -> str:
    jws, rest = text.split("~", 1)
    h, p, s = jws.split(".")
    claims = json.loads(b64u_decode(p))
    claims["summary"]["certified_percent"]["Co"] = 100.0
    return f"{h}.{b64u_encode(json.dumps(claims).encode())}.{s}~{rest}"


def test_refuses_altered_foreign_expired_and_unknown(world) -> None:  # type: ignore[no-untyped-def]
    a, b = issue(world, 0), issue(world, 1)
    op = world[0].operator_did
    with pytest.raises(VerificationError):
        verify_passport(altered(a.present("public")), log_operator=op)
    foreign = b.sd_jwt.disclosures[0].encoded
    with pytest.raises(VerificationError):
        verify_passport(a.present("public")[:-1] + "~" + foreign + "~", log_operator=op)
    with pytest.raises(VerificationError, match="expired"):
        verify_passport(a.present("public"), log_operator=op, now=NOW + 16 * 365 * 86400)
    with pytest.raises(VerificationError, match="not trusted"):
        verify_passport(a.present("public"), log_operator=op,
                        trusted_issuers=["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"])
    with pytest.raises(VerificationError):
        verify_passport(a.present("public"), log_operator="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    raw = a.present("public").encode()
    for i in range(0, len(raw) - 1, max(1, len(raw) // 40)):
        flipped = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        with pytest.raises((VerificationError, UnicodeDecodeError)):
            verify_passport(flipped.decode("ascii", "strict"), log_operator=op)


def test_only_the_economic_operator_may_issue(world) -> None:  # type: ignore[no-untyped-def]
    ledger, packs, keys = world
    with pytest.raises(BatterytraceError, match="economic operator"):
        issue_passport(ledger, packs[0], VOLTARA_VM75, keys["nordcell"], issued_at=NOW)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sold() -> tuple[Ledger, str, dict[str, object]]:
    """A pack that changed hands after assembly: the OEM shipped it, the recycler received it."""
    s = build_scenario(packs=1, legacy_packs=1)
    (received,) = s.ship("voltara", "circulon", [s.packs[0]], hours=24)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return ledger, received, {k: a.signing_key for k, a in s.actors.items()}


def test_passport_of_a_pack_that_changed_hands_verifies(sold) -> None:  # type: ignore[no-untyped-def]
    ledger, pack, keys = sold
    p = issue_passport(ledger, pack, VOLTARA_VM75, keys["voltara"], issued_at=NOW)
    claims = verify_passport(p.present("public"), log_operator=ledger.operator_did, now=NOW).claims
    assert claims["evidence"]["event"]["event"]["kind"] == "aggregate"
    assert claims["battery"]["lot"] == pack


def test_the_holder_of_a_pack_cannot_issue_its_passport(sold) -> None:  # type: ignore[no-untyped-def]
    """The recycler holding the pack signs a passport whose evidence is its own receipt event."""
    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.passport.issue import VCT

    ledger, pack, keys = sold
    p = issue_passport(ledger, pack, VOLTARA_VM75, keys["voltara"], issued_at=NOW)
    claims = verify_passport(p.present_all(), log_operator=ledger.operator_did, now=NOW).claims
    for name in ("iss", "iat", "exp", "vct"):
        claims.pop(name)
    seq, receipt = ledger.event_by_hash(pack.split(":")[0])  # type: ignore[misc]
    cp = ledger.latest_checkpoint()
    assert cp is not None
    own = {**claims, "evidence": {"event": receipt.to_wire(), "leaf_index": seq, "checkpoint": cp.to_dict(),
                                  "inclusion_proof": [h.hex() for h in ledger.inclusion_proof(seq, cp.tree_size)]}}
    for forged_claims in (own, claims):
        forged = issue_sd_jwt(keys["circulon"], forged_claims, vct=VCT, issued_at=NOW)  # type: ignore[arg-type]
        with pytest.raises(VerificationError):
            verify_passport(forged.jws + "~", log_operator=ledger.operator_did, now=NOW)


def summary_of(buckets: dict[str, int]) -> dict[str, object]:
    """The summary figures a verifier recomputes from the buckets (a forger gets them right)."""
    from batterytrace.ledger.figures import material_figures

    mf = material_figures(buckets)
    return {"element_g": mf.element_g, "recycled_percent": mf.recycled_percent, "art8_targets": mf.art8,
            "origin_mix_percent": mf.origin_mix_percent, "certified_percent": mf.certified_percent}


def recycled_of(buckets: dict[str, int]) -> list[dict[str, object]]:
    from batterytrace.ledger.figures import material_figures
    from batterytrace.passport.aspects import recycled_content

    return recycled_content(material_figures(buckets))


def test_a_passport_from_a_private_log_is_refused_without_a_trusted_operator() -> None:
    """An outsider signs a pack assembly, logs it in a one-leaf tree of its own and signs that
    tree head with a second key of its own: every signature checks out, but nobody trusts that log."""
    from batterytrace.crypto.merkle import leaf_hash
    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.crypto.signing import SigningKey
    from batterytrace.ledger.checkpoint import sign_checkpoint
    from batterytrace.model.events import sign_event
    from batterytrace.passport.issue import VCT

    maker, operator = SigningKey.from_label("test/forger"), SigningKey.from_label("test/forger-log")
    out = {"form": "pack", "gross_mass_g": 400_000, "gtin": "04099999000753", "serial": "VM75-000001",
           "buckets": {"Co/certified/CD": 7_000, "Ni/recycled-post/—": 56_000}}
    ev = sign_event({"kind": "aggregate", "time": "2026-01-01T00:00:00Z", "inputs": ["00:0"], "outputs": [out]}, maker, ledger="urn:example:forged-log")
    cp = sign_checkpoint(operator, 1, leaf_hash(ev.leaf_data(0)), 1, ledger="urn:example:forged-log")
    claims = {"passport_id": "urn:batterytrace:forged", "passport_version": 1,
              "battery": {"gtin": out["gtin"], "serial": out["serial"], "digital_link": "", "lot": f"{ev.hash_hex}:0"},
              "summary": summary_of(out["buckets"]), "aspects": {"Circularity": {"recycledContent": recycled_of(out["buckets"])}},
              "evidence": {"event": ev.to_wire(), "ingested_at": 0, "leaf_index": 0, "inclusion_proof": [], "checkpoint": cp.to_dict()}}
    forged = issue_sd_jwt(maker, claims, vct=VCT, issued_at=NOW).jws + "~"
    with pytest.raises(VerificationError, match="operator"):
        verify_passport(forged, now=NOW)
    with pytest.raises(VerificationError, match="operator"):
        verify_passport(forged, log_operator=SigningKey.from_label("batterytrace-demo/operator").did, now=NOW)
    # malformed claims and evidence are refusals too, never other exceptions
    bad_event = sign_event({"kind": "aggregate", "time": "2026-01-01T00:00:00Z", "inputs": ["00:0"],
                            "outputs": [{**out, "buckets": {"Xx/certified/CD": 1}}]}, maker, ledger="urn:example:forged-log")
    for change in ({"battery": "VM75-000001"}, {"summary": ["Co"]}, {"evidence": ["x"]},
                   {"evidence": {**claims["evidence"], "event": bad_event.to_wire()}},
                   {"evidence": {**claims["evidence"], "inclusion_proof": [7]}}):
        text = issue_sd_jwt(maker, {**claims, **change}, vct=VCT, issued_at=NOW).jws + "~"
        with pytest.raises(VerificationError):
            verify_passport(text, log_operator=operator.did, now=NOW)


@pytest.mark.parametrize(
    ("path", "value"),
    [(("certified_percent", "Co"), 100.0), (("recycled_percent", "Ni", "total"), 30.0),
     (("origin_mix_percent", "Co"), {"AU": 100.0}), (("art8_targets", "Co", "2031", "met"), True),
     (("..aspects", "Circularity", "recycledContent"), [])],
)
def test_issuer_cannot_overstate_what_the_buckets_say(world, path: tuple[str, ...], value: object) -> None:  # type: ignore[no-untyped-def]
    """The economic operator re-signs its own passport with an inflated share: every share is a
    ratio of the pack's buckets, which the passport carries in its logged assembly event."""
    import copy

    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.passport.issue import VCT

    ledger, _packs, keys = world
    claims = verify_passport(issue(world).present_all(), log_operator=ledger.operator_did, now=NOW).claims
    for name in ("iss", "iat", "exp", "vct"):
        claims.pop(name)
    inflated = copy.deepcopy(claims)
    node = inflated["summary"]
    if path[0] == "..aspects":  # a field of the BatteryPass aspects rather than of the summary
        node, path = inflated["aspects"], path[1:]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    assert node.get(path[-1]) != value
    node[path[-1]] = value
    for text, ok in ((claims, True), (inflated, False)):
        signed = issue_sd_jwt(keys["voltara"], text, vct=VCT, issued_at=NOW).jws + "~"  # type: ignore[arg-type]
        if ok:
            verify_passport(signed, log_operator=ledger.operator_did, now=NOW)
        else:
            with pytest.raises(VerificationError, match="buckets"):
                verify_passport(signed, log_operator=ledger.operator_did, now=NOW)


def test_the_passport_id_derives_from_the_battery_it_describes(world) -> None:  # type: ignore[no-untyped-def]
    """A passport's identifier (and its predecessor's) is passport_id_for(GTIN, serial, version):
    an issuer may not give a pack's passport another battery's identifier or version."""
    import copy

    from batterytrace.crypto.sdjwt import issue_sd_jwt
    from batterytrace.model.identifiers import passport_id_for, passport_uuid_for
    from batterytrace.passport.issue import VCT

    ledger, _packs, keys = world
    claims = verify_passport(issue(world).present("public"), log_operator=ledger.operator_did, now=NOW).claims
    for name in ("iss", "iat", "exp", "vct"):
        claims.pop(name)
    other = verify_passport(issue(world, 1).present("public"), log_operator=ledger.operator_did, now=NOW).claims
    gtin, serial = claims["battery"]["gtin"], claims["battery"]["serial"]
    for change in ({"passport_id": other["passport_id"]}, {"passport_version": 2},
                   {"passport_version": 2, "passport_id": passport_id_for(gtin, serial, 2)},
                   {"passport_version": "1"}, {"predecessor": passport_id_for(gtin, serial, 0)},
                   {"passport_uuid": other["passport_uuid"]}):
        forged = {**copy.deepcopy(claims), **change}
        signed = issue_sd_jwt(keys["voltara"], forged, vct=VCT, issued_at=NOW).jws + "~"  # type: ignore[arg-type]
        with pytest.raises(VerificationError, match="passport"):
            verify_passport(signed, log_operator=ledger.operator_did, now=NOW)
    ok = {**copy.deepcopy(claims), "passport_version": 2, "passport_id": passport_id_for(gtin, serial, 2),
          "passport_uuid": passport_uuid_for(passport_id_for(gtin, serial, 2)), "predecessor": passport_id_for(gtin, serial, 1)}
    with pytest.raises(VerificationError, match="batteryPassportIdentifier"):
        verify_passport(issue_sd_jwt(keys["voltara"], ok, vct=VCT, issued_at=NOW).jws + "~",  # type: ignore[arg-type]
                        log_operator=ledger.operator_did, now=NOW)
    ok["aspects"]["GeneralProductInformation"]["batteryPassportIdentifier"] = ok["passport_id"]
    signed = issue_sd_jwt(keys["voltara"], ok, vct=VCT, issued_at=NOW).jws + "~"  # type: ignore[arg-type]
    verify_passport(signed, log_operator=ledger.operator_did, now=NOW)  # a repurposed battery's passport
