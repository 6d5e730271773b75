"""Operator-issued bearer tokens for reads above the public level.

A token is ``base64url(JSON claims) "." base64url(Ed25519 signature)``; the signature covers
``b"batterytrace/access-token/v1\\x00" || JSON claims`` and is made by the ledger operator's key.
Claims: ``sub`` (who holds it), ``role`` (an access level above public), ``iat`` and ``exp``
(seconds). Verification needs only the operator's did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = ["TOKEN_ROLES", "AccessGrant", "issue_access_token", "verify_access_token"]

TOKEN_DOMAIN = b"batterytrace/access-token/v1\x00"
# The access levels a token can grant (see passport.issue.ACCESS_LEVELS; public needs no token).
TOKEN_ROLES = ("legitimate_interest", "commission", "authorities")


@dataclass(frozen=True)
class AccessGrant:
    subject: str
    role: str
    issued_at: int
    expires_at: int


def issue_access_token(operator: SigningKey, subject: str, role: str, issued_at: int,
                       expires_at: int) -> str:
    if role not in TOKEN_ROLES:
        raise EncodingError(f"unknown role {role!r}; one of {TOKEN_ROLES}")
    if expires_at <= issued_at:
        raise EncodingError("a token must expire after it is issued")
    claims = json.dumps({"sub": subject, "role": role, "iat": issued_at, "exp": expires_at},
                        sort_keys=True, separators=(",", ":")).encode()
    return f"{b64u_encode(claims)}.{b64u_encode(operator.sign(TOKEN_DOMAIN + claims))}"


def verify_access_token(token: str, operator_did: str, now: int) -> AccessGrant:
    """The grant a token carries; raises ``VerificationError`` naming the defect."""
    head, dot, sig_text = token.partition(".")
    if not dot or not head or not sig_text:
        raise VerificationError("access token is malformed: expected <claims>.<signature>")
    try:
        claims_bytes, sig = b64u_decode(head), b64u_decode(sig_text)
    except EncodingError as exc:
        raise VerificationError(f"access token is malformed: {exc}") from exc
    verify_signature(public_key_from_did(operator_did), TOKEN_DOMAIN + claims_bytes, sig)
    try:
        claims = json.loads(claims_bytes)
        grant = AccessGrant(str(claims["sub"]), str(claims["role"]), int(claims["iat"]), int(claims["exp"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"access token claims are malformed: {exc}") from exc
    if grant.role not in TOKEN_ROLES:
        raise VerificationError(f"access token role {grant.role!r} is not one of {TOKEN_ROLES}")
    if now >= grant.expires_at:
        raise VerificationError("access token has expired")
    if now < grant.issued_at - 300:
        raise VerificationError("access token is not valid yet")
    return grant
