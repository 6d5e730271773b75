"""The viewer and /verify check a passport's on-chain anchor when the ledger anchors its
checkpoints, and refuse a passport whose anchor does not hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from batterytrace.anchoring import Anchoring
from batterytrace.api.app import anchor_verifier, create_app
from batterytrace.api.config import ApiConfig
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import VerificationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.storage.sqlite import SQLiteStore


def _anchored_app(scenario: Scenario, tmp: Path, verifier: Any = None) -> tuple[TestClient, str]:
    operator = scenario.actors["operator"]
    ledger = Ledger(SQLiteStore(str(tmp / "ledger.db")), operator.did, scenario.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(scenario.events).rejected
    anchoring = Anchoring.setup(ledger)
    anchoring.anchor_checkpoint(ledger.sign_tree_head(operator.signing_key))
    anchoring.close()
    verify = anchor_verifier(ledger) if verifier is None else verifier
    desk = PassportDesk(ledger, tmp / "passports", [PassportIssuer(scenario.actors["voltara"].signing_key, VOLTARA_VM75)],
                        operator.signing_key, verify)
    app = create_app(ApiConfig.load(env={}, db=":memory:", rate_per_s=0), ledger, desk)
    pack = ledger.store.get_lot(scenario.packs[-1])
    assert pack is not None
    return TestClient(app), f"/01/{pack.gtin}/21/{pack.serial}"


def _check(checks: list[dict[str, str]], name: str) -> dict[str, str]:
    return next(c for c in checks if c["name"] == name)


def test_anchor_is_checked_on_chain(scenario: Scenario, tmp_path: Path) -> None:
    client, link = _anchored_app(scenario, tmp_path)
    body = client.get(link, headers={"accept": "application/json"}).json()
    assert body["claims"]["evidence"]["anchor"]["tx_hash"].startswith("0x")
    anchor = _check(body["verification"], "anchor")
    assert anchor["status"] == "passed" and "block" in anchor["detail"]
    page = client.get(link, headers={"accept": "text/html"}).text
    assert "anchor" in page and "passed" in page
    sd_jwt = client.get(link, headers={"accept": "application/dc+sd-jwt"}).text
    verified = client.post("/verify", content=sd_jwt, headers={"content-type": "text/plain"}).json()
    assert _check(verified["checks"], "anchor")["status"] == "passed"


def test_a_failing_anchor_fails_the_passport(scenario: Scenario, tmp_path: Path) -> None:
    def wrong_chain(claims: dict[str, Any]) -> None:
        raise VerificationError("anchor: the chain holds another root for this tree size")

    client, link = _anchored_app(scenario, tmp_path, wrong_chain)
    r = client.get(link, headers={"accept": "application/json"})
    assert 400 <= r.status_code < 500 and "another root" in r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_without_anchoring_the_anchor_is_reported_absent(scenario: Scenario, tmp_path: Path) -> None:
    from api_support import serve

    served = serve(scenario, tmp_path)
    body = served.client.get(served.link_path, headers={"accept": "application/json"}).json()
    assert _check(body["verification"], "anchor")["status"] == "absent"
