"""Bearer tokens at the API: checked against the ledger's credential registry on every request
(revocation applies at once), bound to the ledger, and a participant credential reads passports
at the public level only."""

from __future__ import annotations

import time

from httpx import Response

from api_support import TOKEN_KEY, Served
from batterytrace.ledger.access import issue_access_token
from batterytrace.ledger.credentials import list_credentials, revoke_credential


def _get(served: Served, token: str) -> Response:
    r: Response = served.client.get(served.link_path, headers={"accept": "application/json",
                                                        "authorization": f"Bearer {token}"})
    return r


def test_a_revoked_reading_token_is_refused_on_the_next_request(served: Served) -> None:
    token = served.token("legitimate_interest", subject="revocation-test")
    r = served.client.get(served.link_path, headers={"accept": "application/json", "authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["level"] == "legitimate_interest"
    (cred,) = [c for c in list_credentials(served.ledger.store) if c.subject == "revocation-test"]
    revoke_credential(served.ledger.store, cred.token_id, int(time.time()))
    r = served.client.get(served.link_path, headers={"accept": "application/json", "authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    signin = served.client.post("/signin", content=f"token={token}".encode(),
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert signin.status_code == 401 and "revoked" in signin.text


def test_tokens_for_another_ledger_or_by_the_operator_key_are_refused(served: Served) -> None:
    served.token("commission")  # the token key is installed
    now = int(time.time())
    foreign = issue_access_token(TOKEN_KEY, "x", "commission", now, now + 60, audience="urn:uuid:another",
                                 token_id="0" * 32)
    r = _get(served, foreign)
    assert r.status_code == 401 and "not this ledger" in r.json()["detail"]
    by_operator = issue_access_token(served.scenario.actors["operator"].signing_key, "x", "commission", now, now + 60,
                                     audience=served.ledger.ledger_id, token_id="0" * 32)
    r = _get(served, by_operator)
    assert r.status_code == 401 and "does not verify" in r.json()["detail"]


def test_a_participant_credential_reads_passports_as_the_public(served: Served) -> None:
    voltara = served.scenario.actors["voltara"].did
    token = served.token("participant", subject=voltara)
    r = served.client.get(served.link_path, headers={"accept": "application/json", "authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["level"] == "public"
