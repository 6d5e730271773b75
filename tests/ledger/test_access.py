"""Operator-issued access tokens: issued, verified, and refused when forged, tampered, expired or malformed."""

from __future__ import annotations

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.access import issue_access_token, verify_access_token

OPERATOR = SigningKey.from_label("test/operator")
NOW = 1_800_000_000


def _token(role: str = "legitimate_interest", key: SigningKey = OPERATOR, ttl: int = 600) -> str:
    return issue_access_token(key, "recycler-1", role, NOW, NOW + ttl)


def test_valid_token_grants_its_role() -> None:
    grant = verify_access_token(_token("authorities"), OPERATOR.did, NOW + 10)
    assert (grant.subject, grant.role, grant.expires_at) == ("recycler-1", "authorities", NOW + 600)


def test_token_from_another_key_is_refused() -> None:
    forged = _token(key=SigningKey.from_label("test/mallory"))
    with pytest.raises(VerificationError, match="does not verify"):
        verify_access_token(forged, OPERATOR.did, NOW)


def test_tampered_role_is_refused() -> None:
    head, sig = _token().split(".")
    claims = b64u_decode(head).replace(b"legitimate_interest", b"authorities")
    with pytest.raises(VerificationError, match="does not verify"):
        verify_access_token(f"{b64u_encode(claims)}.{sig}", OPERATOR.did, NOW)


def test_expired_and_future_tokens_are_refused() -> None:
    with pytest.raises(VerificationError, match="expired"):
        verify_access_token(_token(), OPERATOR.did, NOW + 600)
    with pytest.raises(VerificationError, match="not valid yet"):
        verify_access_token(_token(), OPERATOR.did, NOW - 3600)


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "a.b.c", "!!.??"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(VerificationError):
        verify_access_token(token, OPERATOR.did, NOW)


def test_signed_but_malformed_claims_are_refused() -> None:
    from batterytrace.ledger.access import TOKEN_DOMAIN

    for claims in (b'{"sub":"x"}', b'{"sub":"x","role":"public","iat":1,"exp":9999999999}', b"[1]"):
        token = f"{b64u_encode(claims)}.{b64u_encode(OPERATOR.sign(TOKEN_DOMAIN + claims))}"
        with pytest.raises(VerificationError, match=r"malformed|role"):
            verify_access_token(token, OPERATOR.did, NOW)


def test_issuing_checks_role_and_lifetime() -> None:
    with pytest.raises(EncodingError, match="unknown role"):
        issue_access_token(OPERATOR, "x", "public", NOW, NOW + 1)
    with pytest.raises(EncodingError, match="expire"):
        issue_access_token(OPERATOR, "x", "authorities", NOW, NOW)
