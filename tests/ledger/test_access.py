"""Operator-issued access tokens: issued, verified, and refused when forged, tampered, expired,
malformed or meant for another ledger."""

from __future__ import annotations

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.access import issue_access_token, verify_access_token

TOKEN_KEY = SigningKey.from_label("test/token-key")
NOW = 1_800_000_000
LEDGER = "urn:uuid:00000000-0000-4000-8000-000000000001"


def _token(role: str = "legitimate_interest", key: SigningKey = TOKEN_KEY, ttl: int = 600, aud: str = LEDGER) -> str:
    return issue_access_token(key, "recycler-1", role, NOW, NOW + ttl, audience=aud, token_id="t1")


def _verify(token: str, now: int = NOW) -> object:
    return verify_access_token(token, TOKEN_KEY.did, now, audience=LEDGER)


def test_valid_token_grants_its_role() -> None:
    grant = verify_access_token(_token("authorities"), TOKEN_KEY.did, NOW + 10, audience=LEDGER)
    assert (grant.subject, grant.role, grant.expires_at, grant.token_id, grant.audience) == (
        "recycler-1", "authorities", NOW + 600, "t1", LEDGER)


def test_token_from_another_key_is_refused() -> None:
    forged = _token(key=SigningKey.from_label("test/mallory"))
    with pytest.raises(VerificationError, match="does not verify"):
        _verify(forged)


def test_token_for_another_ledger_is_refused() -> None:
    with pytest.raises(VerificationError, match="not this ledger"):
        _verify(_token(aud="urn:uuid:00000000-0000-4000-8000-000000000002"))


def test_tampered_role_is_refused() -> None:
    head, sig = _token().split(".")
    claims = b64u_decode(head).replace(b"legitimate_interest", b"authorities")
    with pytest.raises(VerificationError, match="does not verify"):
        _verify(f"{b64u_encode(claims)}.{sig}")


def test_expired_and_future_tokens_are_refused() -> None:
    with pytest.raises(VerificationError, match="expired"):
        _verify(_token(), NOW + 600)
    with pytest.raises(VerificationError, match="not valid yet"):
        _verify(_token(), NOW - 3600)


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "a.b.c", "!!.??", "a" * 5000 + ".b"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(VerificationError):
        _verify(token)


def test_signed_but_malformed_claims_are_refused() -> None:
    from batterytrace.ledger.access import TOKEN_DOMAIN

    for claims in (b'{"sub":"x"}', b'{"sub":"x","role":"public","iat":1,"exp":9999999999,"jti":"a","aud":"' +
                   LEDGER.encode() + b'"}', b"[1]", b'{"sub":1,"role":"commission","iat":1,"exp":2,"jti":"a","aud":"b"}',
                   b'{"sub":"x","role":"commission","iat":true,"exp":9999999999,"jti":"a","aud":"b"}'):
        token = f"{b64u_encode(claims)}.{b64u_encode(TOKEN_KEY.sign(TOKEN_DOMAIN + claims))}"
        with pytest.raises(VerificationError, match=r"malformed|role"):
            _verify(token)


def test_issuing_checks_role_and_lifetime() -> None:
    with pytest.raises(EncodingError, match="unknown role"):
        issue_access_token(TOKEN_KEY, "x", "public", NOW, NOW + 1, audience=LEDGER, token_id="t")
    with pytest.raises(EncodingError, match="expire"):
        issue_access_token(TOKEN_KEY, "x", "authorities", NOW, NOW, audience=LEDGER, token_id="t")
    with pytest.raises(EncodingError, match="audience"):
        issue_access_token(TOKEN_KEY, "x", "authorities", NOW, NOW + 1, audience="", token_id="t")
