"""Status lists through the API: served for verifiers, published by issuers, a revoked passport
answered 410 at its Digital Link and by /verify, refusals as problem details."""

from __future__ import annotations

import time

from api_support import Served
from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import StatusList, issue_status_list_token
from batterytrace.passport.issue import DIGITAL_LINK_BASE
from batterytrace.passport.status import LIST_SIZE, list_id_for, status_uri


def test_status_list_served_then_revocation_published_and_enforced(served: Served) -> None:
    c = served.client
    oem = served.scenario.actors["voltara"].signing_key
    passport = c.get(served.link_path).json()  # issued on demand, with its status entry
    assert [v["status"] for v in passport["verification"] if v["name"] == "status"] == ["passed"]
    ref = passport["claims"]["status"]["status_list"]
    list_id = list_id_for(oem.did)
    assert ref["uri"] == status_uri(DIGITAL_LINK_BASE, oem.did)
    got = c.get(f"/statuslists/{list_id}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/statuslist+jwt")
    assert c.get(f"/statuslists/{'0' * 32}").status_code == 404
    assert c.get("/statuslists/../../etc").status_code == 404
    assert c.get(f"/statuslists/{'A' * 32}").status_code in (400, 404, 422)
    sdjwt = c.get(served.link_path, headers={"Accept": "application/dc+sd-jwt"}).text
    assert c.post("/verify", content=sdjwt, headers={"content-type": "text/plain"}).status_code == 200

    # the issuer revokes this passport version elsewhere and publishes the new list
    statuses = StatusList.new(LIST_SIZE)
    statuses.set(ref["idx"], 1)
    newer = issue_status_list_token(oem, ref["uri"], statuses, int(time.time()) + 10)
    ok = c.post("/statuslists", content=newer, headers={"content-type": "application/statuslist+jwt"})
    assert ok.status_code == 201, ok.text
    gone = c.get(served.link_path)
    assert gone.status_code == 410 and gone.json()["rule"] == "passport.revoked"
    assert gone.headers["content-type"].startswith("application/problem+json")
    verdict = c.post("/verify", content=sdjwt, headers={"content-type": "text/plain"})
    assert verdict.status_code == 410 and verdict.json()["rule"] == "passport.revoked"

    # replaying the old list, reinstating, or publishing another issuer's list is refused by name
    assert c.post("/statuslists", content=got.text).json()["rule"] == "statuslist.rollback"
    reinstated = issue_status_list_token(oem, ref["uri"], StatusList.new(LIST_SIZE), int(time.time()) + 20)
    refused = c.post("/statuslists", content=reinstated)
    assert refused.status_code == 409 and refused.json()["rule"] == "statuslist.final"
    mallory = SigningKey.from_label("mallory")
    foreign = c.post("/statuslists", content=issue_status_list_token(mallory, ref["uri"], statuses, int(time.time())))
    assert foreign.status_code == 403 and foreign.json()["rule"] == "statuslist.issuer"
    for bad in ("", "x.y.z", "é" * 10, "a" * 100):
        r = c.post("/statuslists", content=bad.encode())
        assert 400 <= r.status_code < 500, (bad[:10], r.status_code)
    assert c.post("/statuslists", content=b"a" * (2 << 20)).status_code == 413
