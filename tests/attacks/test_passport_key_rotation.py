"""Invariant 11 for passports and status lists: after the operator rotates an economic operator's
key, the rotated-out key (perhaps stolen) no longer issues passports or signs status lists that
verify, and the key rotated in does.

The attacker holds the rotated-out key and mints passports for the participant's pack, fresh or
back-dated to before the rotation (``iat`` is the signer's word); re-signs a status list with it;
publishes with it; or names as ``kid`` a key of another participant, the operator's, another
participant's rotated-in key, with or without forged rotation evidence. Each is refused by name
through the library, the CLI, the API and the viewer; the new key issues, signs lists and
publishes, and a desk holding it re-issues the passport an old key signed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import Served, serve
from batterytrace.crypto.sdjwt import key_id
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import BatterytraceError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.participants import key_history, key_in_force, key_standing, rotate_key
from batterytrace.model.events import SignedEvent
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    IssuedPassport,
    issue_passport,
    verify_passport,
)
from batterytrace.passport.publish import publish_request
from batterytrace.passport.registry import PassportDesk, PassportIssuer, save_presentations
from batterytrace.passport.signing_key import SigningKeyError, key_rotation_evidence
from batterytrace.passport.status import StatusLists, list_id_for
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import bt


@pytest.fixture
def s(tmp_path: Path) -> Iterator[Served]:
    served = serve(build_scenario(packs=1, legacy_packs=1), tmp_path, issuers=False,
                   store=SQLiteStore(str(tmp_path / "ledger.db")), page_cache_s=0)
    served.ledger.sign_tree_head(operator(served))
    yield served
    served.client.close()


def operator(s: Served) -> SigningKey:
    return s.scenario.actors["operator"].signing_key


def oem(s: Served) -> SigningKey:
    return s.scenario.actors["voltara"].signing_key


def pack(s: Served) -> str:
    return s.scenario.packs[-1]


def rotate(s: Served, who: str = "voltara") -> SigningKey:
    new = SigningKey.generate()
    rotate_key(s.ledger, operator(s), s.scenario.actors[who].did, new.did)
    s.ledger.sign_tree_head(operator(s))  # a checkpoint covering the rotation (its evidence)
    return new


def verify(s: Served, text: str, **kw: Any) -> Any:
    return verify_passport(text, log_operator=s.ledger.operator_did, now=int(time.time()), **kw)


def _enc(obj: dict[str, Any]) -> str:
    return b64u_encode(json.dumps(obj, separators=(",", ":")).encode())


def resign(text: str, key: SigningKey, *, iat: int | None = None, kid: str | None = None,
           evidence: dict[str, Any] | None = None) -> str:
    """``text``'s passport signed anew by ``key`` (header ``kid`` naming ``kid`` or the key), with
    another ``iat`` and evidence when given: what a holder of ``key`` can mint."""
    jws, *disclosures = text[:-1].split("~")
    h, p, _ = jws.split(".")
    header, payload = json.loads(b64u_decode(h)), json.loads(b64u_decode(p))
    header["kid"] = key_id(kid or key.did)
    if iat is not None:
        payload["iat"] = iat
    if evidence is not None:
        payload["evidence"] = evidence
    signing_input = f"{_enc(header)}.{_enc(payload)}"
    return "~".join([f"{signing_input}.{b64u_encode(key.sign(signing_input.encode()))}", *disclosures]) + "~"


def refused(fn: Any, rule: str) -> SigningKeyError:
    with pytest.raises(SigningKeyError) as info:
        fn()
    assert info.value.rule == rule, info.value
    return info.value


def test_before_any_rotation_the_registered_key_issues_as_before(s: Served) -> None:
    text = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time())).present("public")
    header = json.loads(b64u_decode(text.split(".", 1)[0]))
    assert header["kid"] == key_id(oem(s).did)  # the registered did's own key, as it always was
    checks = {c.name: c for c in verify(s, text, ledger=s.ledger).checks}
    assert checks["signing key"].status == "passed" and "registered key" in checks["signing key"].detail
    offline = {c.name: c for c in verify(s, text).checks}
    assert offline["signing key"].status == "not checked"  # only the ledger knows of later rotations
    assert key_history(s.ledger.store, oem(s).did)[0].key == oem(s).did
    assert key_in_force(s.ledger.store, oem(s).did) == oem(s).did


def test_the_key_history_names_each_key_with_the_ingestion_time_of_its_rotation(s: Served) -> None:
    did = oem(s).did
    first = rotate(s)
    second = rotate(s)
    history = key_history(s.ledger.store, did)
    assert [p.key for p in history] == [did, first.did, second.did]
    assert history[0].until_us == history[1].since_us and history[1].until_us == history[2].since_us
    assert history[2].until_us is None and history[1].rotation is not None
    for period in history:  # each period's start is the ledger's ingestion time, not a signed date
        assert key_in_force(s.ledger.store, did, period.since_us) == period.key
    assert key_in_force(s.ledger.store, did, history[0].since_us - 1) is None
    assert [key_standing(s.ledger.store, did, k) for k in (did, first.did, second.did, operator(s).did)] == [
        "rotated out", "rotated out", "in force", "not its key"]


def test_the_rotated_out_key_mints_no_passport_that_verifies(s: Served) -> None:
    genuine = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time()) - 60).present("public")
    rotate(s)
    # the honest library refuses to issue with a rotated-out key
    with pytest.raises(BatterytraceError, match="rotated out"):
        issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time()))
    now = int(time.time())
    fresh = resign(genuine, oem(s), iat=now)
    backdated = resign(genuine, oem(s), iat=now - 30 * 86400)  # "issued" a month before the rotation
    for text in (genuine, fresh, backdated):
        err = refused(lambda t=text: verify(s, t, ledger=s.ledger), "passport.key-rotated")
        assert "rotated out" in err.detail and "re-issue" in err.detail
    # the old key naming itself as a rotated-in key, with the issuer's own evidence slot forged: refused
    evidence = json.loads(b64u_decode(genuine.split(".")[1]))["evidence"]
    refused(lambda: verify(s, resign(genuine, oem(s), evidence={**evidence, "key_rotation": {}}), ledger=s.ledger),
            "passport.key-rotated")
    offline = {c.name: c for c in verify(s, fresh).checks}  # without the ledger: reported, not checked
    assert offline["signing key"].status == "not checked" and "needs the ledger" in offline["signing key"].detail


def test_the_new_key_issues_passports_that_verify_online_and_offline(s: Served) -> None:
    new = rotate(s)
    did = oem(s).did
    p = issue_passport(s.ledger, pack(s), VOLTARA_VM75, new, int(time.time()), participant=did)
    text = p.present("public")
    payload = json.loads(b64u_decode(text.split(".")[1]))
    assert payload["iss"] == did  # the identity does not change; the header names the key
    assert json.loads(b64u_decode(text.split(".")[0]))["kid"] == key_id(new.did)
    assert SignedEvent.from_wire(payload["evidence"]["key_rotation"]["event"]).body["new_key"] == new.did
    checks = {c.name: c for c in verify(s, text, ledger=s.ledger).checks}
    assert checks["signing key"].status == "passed" and "rotated in" in checks["signing key"].detail
    assert verify(s, text).claims["iss"] == did  # offline: the rotation is proved by its evidence
    for level in ACCESS_LEVELS:
        verify(s, p.present(level), ledger=s.ledger)
    # a later rotation takes the new key out in turn
    rotate(s)
    refused(lambda: verify(s, text, ledger=s.ledger), "passport.key-rotated")


def test_a_key_that_never_spoke_for_the_issuer_is_refused_as_signer(s: Served) -> None:
    other_new = rotate(s, "nordcell")  # another participant's rotated-in key
    genuine = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time())).present("public")
    keys = {"another participant's key": s.scenario.actors["nordcell"].signing_key, "the operator's key": operator(s),
            "another participant's rotated-in key": other_new, "a fresh key": SigningKey.generate()}
    for key in keys.values():
        forged = resign(genuine, key)
        refused(lambda t=forged: verify(s, t, ledger=s.ledger), "passport.signer")
        refused(lambda t=forged: verify(s, t), "passport.signer")  # offline: no evidence binds it to the issuer
    # the other participant's genuine rotation evidence, under the passport's own checkpoint, does
    # not bind its key to this issuer
    evidence = json.loads(b64u_decode(genuine.split(".")[1]))["evidence"]
    cp = Checkpoint.from_dict(evidence["checkpoint"])
    theirs = key_rotation_evidence(s.ledger, cp, s.scenario.actors["nordcell"].did, other_new.did)
    forged = resign(genuine, other_new, evidence={**evidence, "key_rotation": theirs})
    refused(lambda: verify(s, forged, ledger=s.ledger), "passport.signer")
    assert "does not rotate" in refused(lambda: verify(s, forged), "passport.signer").detail
    # the registered key's passport carrying rotation evidence it does not need: refused, not ignored
    refused(lambda: verify(s, resign(genuine, oem(s), evidence={**evidence, "key_rotation": theirs})),
            "passport.signer")
    # a kid that names no did:key at all
    jws, rest = genuine.split("~", 1)
    h = json.loads(b64u_decode(jws.split(".")[0])) | {"kid": "https://evil.example/key"}
    with pytest.raises(VerificationError, match="kid"):
        verify(s, _enc(h) + jws[jws.index("."):] + "~" + rest)


def test_status_lists_follow_the_key_in_force(s: Served, tmp_path: Path) -> None:
    lists, did = StatusLists(tmp_path / "issuer"), oem(s).did
    now = int(time.time())
    issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), now,
                   status=lists.allocator(oem(s), "https://id.batterytrace.example/", now))
    new = rotate(s)
    p = issue_passport(s.ledger, pack(s), VOLTARA_VM75, new, now + 1, participant=did,
                       status=lists.allocator(new, "https://id.batterytrace.example/", now + 1, did))
    text = p.present("public")
    by_new = lists.token(list_id_for(did))  # the same list (its id is the issuer's did), signed anew by the new key
    assert by_new is not None and json.loads(b64u_decode(by_new.split(".")[0]))["kid"] == key_id(new.did)
    checks = {c.name: c for c in verify(s, text, ledger=s.ledger, status_list=by_new).checks}
    assert checks["status"].status == "passed"
    # the thief signs the list with the old key after the rotation ("reinstating" or suspending at will)
    by_old = lists.set_status(oem(s), p.passport_id, "suspended", now + 2, did)
    refused(lambda: verify(s, text, ledger=s.ledger, status_list=by_old), "statuslist.key-rotated")
    # ... or with another participant's key
    mallory = s.scenario.actors["nordcell"].signing_key
    by_mallory = lists.set_status(mallory, p.passport_id, "valid", now + 3, did)
    refused(lambda: verify(s, text, ledger=s.ledger, status_list=by_mallory), "statuslist.signer")
    refused(lambda: verify(s, text, status_list=by_mallory), "statuslist.signer")
    # published to the service: the old key's list is refused by name, the new key's accepted
    r = s.client.post("/statuslists", content=by_old, headers={"content-type": "application/statuslist+jwt"})
    assert r.status_code == 403 and r.json()["rule"] == "statuslist.key-rotated", r.text
    r = s.client.post("/statuslists", content=by_mallory, headers={"content-type": "application/statuslist+jwt"})
    assert r.status_code == 403 and r.json()["rule"] == "statuslist.signer", r.text
    fresh = lists.set_status(new, p.passport_id, "valid", now + 4, did)
    r = s.client.post("/statuslists", content=fresh, headers={"content-type": "application/statuslist+jwt"})
    assert r.status_code == 201, r.text


def test_the_api_verify_and_publish_refuse_the_old_key_and_take_the_new(s: Served) -> None:
    genuine = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time()) - 60)
    new = rotate(s)
    forged = resign(genuine.present("public"), oem(s), iat=int(time.time()))
    r = s.client.post("/verify", content=forged, headers={"content-type": "application/dc+sd-jwt"})
    assert r.status_code == 422 and r.json()["rule"] == "passport.key-rotated", r.text
    assert r.json()["type"].endswith("rule/passport.key-rotated") and "rotated out" in r.json()["detail"]
    r = s.client.post("/verify", json={"presentation": resign(forged, operator(s))})
    assert r.status_code == 422 and r.json()["rule"] == "passport.signer", r.text
    did = oem(s).did
    p = issue_passport(s.ledger, pack(s), VOLTARA_VM75, new, int(time.time()), participant=did)
    r = s.client.post("/verify", content=p.present("public"), headers={"content-type": "application/dc+sd-jwt"})
    assert r.status_code == 200 and r.json()["issuer"] == did, r.text
    assert {c["name"]: c["status"] for c in r.json()["checks"]}["signing key"] == "passed"
    # publishing: an envelope signed by the old key is refused, the new key (naming itself signer) publishes
    presentations = {level: p.present(level) for level in ACCESS_LEVELS}
    r = s.client.post("/passports", json=publish_request(oem(s), s.ledger.operator_did, presentations, int(time.time())))
    assert r.status_code == 403 and r.json()["rule"] == "passport.publisher" and "rotated out" in r.json()["detail"]
    r = s.client.post("/passports", json=publish_request(new, s.ledger.operator_did, presentations, int(time.time()),
                                                         publisher=did))
    assert r.status_code == 201, r.text
    page = s.client.get(s.link_path, headers={"accept": "text/html"})
    assert page.status_code == 200, page.text


def _save(s: Served, p: IssuedPassport) -> None:
    save_presentations(p, s.app.state.desk.directory)


def test_the_viewer_shows_an_old_key_passport_as_failed_and_a_desk_with_the_new_key_reissues(s: Served) -> None:
    genuine = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time()) - 60)
    _save(s, genuine)  # served by a desk that holds no key of the economic operator
    assert s.client.get(s.link_path, headers={"accept": "text/html"}).status_code == 200
    new = rotate(s)
    page = s.client.get(s.link_path, headers={"accept": "text/html"})
    assert page.status_code == 422 and "passport.key-rotated" in page.text and "rotated out" in page.text, page.text
    r = s.client.get(s.link_path, headers={"accept": "application/json"})
    assert r.status_code == 422 and r.json()["rule"] == "passport.key-rotated", r.text
    # a desk holding the key in force re-issues the passport (same version, signed by the new key)
    desk = PassportDesk(s.ledger, s.app.state.desk.directory, [PassportIssuer(new, VOLTARA_VM75)], operator(s))
    gtin, serial = s.gtin, s.serial
    result = desk.verified(gtin, serial, "public")
    assert result.claims["passport_id"] == genuine.passport_id and result.claims["iss"] == oem(s).did
    text = desk.presentation(gtin, serial, "public")
    assert json.loads(b64u_decode(text.split(".")[0]))["kid"] == key_id(new.did)
    assert s.client.get(s.link_path, headers={"accept": "text/html"}).status_code == 200
    # a desk holding only the rotated-out key issues nothing with it
    stale = PassportDesk(s.ledger, s.app.state.desk.directory.parent / "stale", [PassportIssuer(oem(s), VOLTARA_VM75)])
    with pytest.raises(BatterytraceError, match="economic operator's key"):
        stale.presentation(gtin, serial, "public")


def test_the_cli_refuses_the_old_key_in_one_line_and_verifies_the_new(s: Served, tmp_path: Path) -> None:
    genuine = issue_passport(s.ledger, pack(s), VOLTARA_VM75, oem(s), int(time.time()) - 60)
    new = rotate(s)
    db = str(tmp_path / "ledger.db")
    forged = tmp_path / "forged.sd-jwt"
    forged.write_text(resign(genuine.present("public"), oem(s), iat=int(time.time()) - 86400))
    proc = bt("passport", "verify", forged, "--operator", s.ledger.operator_did, "--db", db, ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "FAILED" in lines[0] and "passport.key-rotated" in proc.stderr, proc.stderr
    from batterytrace.keys import save_key

    key_file = tmp_path / "new.key"
    save_key(new, key_file)
    from batterytrace.passport.master import master_to_dict

    master = tmp_path / "m.json"
    master.write_text(json.dumps(master_to_dict(VOLTARA_VM75)))
    out = tmp_path / "out"
    bt("passport", "issue", f"{s.gtin}/{s.serial}", "--key", key_file, "--master", master, "--out", out, "--db", db)
    (issued,) = out.glob("*.public.sd-jwt")
    ok = bt("passport", "verify", issued, "--operator", s.ledger.operator_did, "--db", db).stdout
    assert "signing key" in ok and "passport verified" in ok and f"issued by {oem(s).did}" in ok
    offline = bt("passport", "verify", issued, "--operator", s.ledger.operator_did).stdout
    assert "not checked" in offline and "passport verified" in offline
    pid = ok.split("passport verified: ", 1)[1].split(" ")[0]
    status = bt("passport", "status", pid, "--key", key_file, "--participant", oem(s).did, "--passports", out,
                "--set", "suspended").stdout
    assert "suspended" in status
