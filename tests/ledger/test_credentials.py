"""The credential registry: tokens are recorded, listed, revocable, bound to their ledger and
signed by a token key that is not the operator key; ``log verify`` checks the rows."""

from __future__ import annotations

import json

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import ConfigError, NotFoundError, VerificationError
from batterytrace.ledger.access import issue_access_token
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.credentials import (
    CREDENTIAL_PREFIX,
    issue_credential,
    list_credentials,
    revoke_credential,
    token_key_did,
    verify_credential,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import sign_event
from batterytrace.storage.base import Store, WriteBatch

OPERATOR = SigningKey.from_label("test/cred-operator")
TOKEN_KEY = SigningKey.from_label("test/cred-token-key")
NOW = 1_800_000_000


@pytest.fixture
def ledger(store: Store) -> Ledger:
    return Ledger(store, OPERATOR.did)


def _issue(ledger: Ledger, role: str = "legitimate_interest", subject: str = "repairer-7", ttl: int = 600) -> str:
    token, _ = issue_credential(ledger.store, ledger.ledger_id, TOKEN_KEY, subject, role, NOW, NOW + ttl)
    return token


def test_issued_tokens_are_listed_verified_and_revoked(ledger: Ledger) -> None:
    token = _issue(ledger)
    other = _issue(ledger, "authorities", "market-surveillance")
    assert token_key_did(ledger.store) == TOKEN_KEY.did
    creds = list_credentials(ledger.store)
    assert sorted((c.role, c.subject, c.revoked_at) for c in creds) == [
        ("authorities", "market-surveillance", None), ("legitimate_interest", "repairer-7", None)]
    grant = verify_credential(ledger.store, ledger.ledger_id, token, NOW + 1)
    assert (grant.role, grant.subject) == ("legitimate_interest", "repairer-7")
    revoked = revoke_credential(ledger.store, grant.token_id, NOW + 2)
    assert revoked.revoked_at == NOW + 2
    with pytest.raises(VerificationError, match="revoked"):
        verify_credential(ledger.store, ledger.ledger_id, token, NOW + 3)
    assert verify_credential(ledger.store, ledger.ledger_id, other, NOW + 3).role == "authorities"
    assert revoke_credential(ledger.store, grant.token_id, NOW + 9).revoked_at == NOW + 2  # first revocation stands
    with pytest.raises(NotFoundError):
        revoke_credential(ledger.store, "nope", NOW)
    assert verify_log(ledger.store).events == 0


def test_the_token_key_is_not_the_operator_key_and_never_changes(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="differ from the log operator key"):
        issue_credential(ledger.store, ledger.ledger_id, OPERATOR, "x", "commission", NOW, NOW + 1)
    _issue(ledger)
    with pytest.raises(ConfigError, match="signed by"):
        issue_credential(ledger.store, ledger.ledger_id, SigningKey.from_label("test/other"), "x", "commission",
                         NOW, NOW + 1)


def test_tokens_the_registry_does_not_hold_are_refused(ledger: Ledger) -> None:
    with pytest.raises(VerificationError, match="no token key"):
        verify_credential(ledger.store, ledger.ledger_id, "a.b", NOW)
    _issue(ledger)
    # signed by the token key but never recorded (a leaked key's forgery or a token from a wiped registry)
    stray = issue_access_token(TOKEN_KEY, "x", "authorities", NOW, NOW + 60, audience=ledger.ledger_id, token_id="f" * 32)
    with pytest.raises(VerificationError, match="not in this ledger's credential registry"):
        verify_credential(ledger.store, ledger.ledger_id, stray, NOW)
    # the operator key's token (how tokens were signed before) is refused
    old = issue_access_token(OPERATOR, "x", "authorities", NOW, NOW + 60, audience=ledger.ledger_id, token_id="a")
    with pytest.raises(VerificationError, match="does not verify"):
        verify_credential(ledger.store, ledger.ledger_id, old, NOW)


def test_a_token_of_another_ledger_is_refused(ledger: Ledger) -> None:
    from batterytrace.storage.memory import MemoryStore

    other = Ledger(MemoryStore(), OPERATOR.did)
    token = _issue(other)
    _issue(ledger)
    with pytest.raises(VerificationError, match="not this ledger"):
        verify_credential(ledger.store, ledger.ledger_id, token, NOW)


def test_a_registry_row_edited_to_a_higher_role_does_not_match(ledger: Ledger) -> None:
    token = _issue(ledger)
    jti = list_credentials(ledger.store)[0].token_id
    row = json.loads(ledger.store.get_meta(CREDENTIAL_PREFIX + jti) or "")
    row["role"] = "authorities"
    with ledger.store.write_lock():
        ledger.store.apply(WriteBatch(meta={CREDENTIAL_PREFIX + jti: json.dumps(row)}))
    with pytest.raises(VerificationError, match="does not match"):
        verify_credential(ledger.store, ledger.ledger_id, token, NOW)


def test_participant_credentials_name_a_registered_participant(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="not a registered participant"):
        _issue(ledger, "participant", SigningKey.from_label("test/nobody").did)
    mine = SigningKey.from_label("test/cred-mine")
    ev = sign_event({"kind": "register_participant", "did": mine.did, "role": "mine", "legal_name": "M",
                     "country": "CD", "time": "2026-01-01T00:00:00Z"}, OPERATOR, ledger=ledger.ledger_id)
    assert not ledger.submit_batch([ev], check_clock=False).rejected
    grant = verify_credential(ledger.store, ledger.ledger_id, _issue(ledger, "participant", mine.did), NOW)
    assert (grant.role, grant.subject) == ("participant", mine.did)


@pytest.mark.parametrize("row", ['{"jti": "x"}', "not json", '{"jti":"other","sub":"s","role":"commission",'
                                 '"iat":1,"exp":2,"revoked_at":null}'])
def test_log_verify_refuses_corrupt_credential_rows(ledger: Ledger, row: str) -> None:
    with ledger.store.write_lock():
        ledger.store.apply(WriteBatch(meta={CREDENTIAL_PREFIX + "x": row}))
    with pytest.raises(VerificationError, match="credential"):
        verify_log(ledger.store)
