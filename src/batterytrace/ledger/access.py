"""Operator-issued bearer tokens: reads above the public level and participant credentials.

A token is ``base64url(JSON claims) "." base64url(Ed25519 signature)``; the signature covers
``b"batterytrace/access-token/v1\\x00" || JSON claims`` and is made by the ledger's token key
(distinct from the log operator key; ``ledger.credentials``). Claims: ``jti`` (the token's id in
the ledger's credential registry), ``aud`` (the ledger id it is valid for), ``sub`` (who holds it:
a name, or for the ``participant`` role the participant's registered did), ``role``, ``iat`` and
``exp`` (seconds). ``verify_access_token`` checks the signature, claims, audience and lifetime;
``ledger.credentials.verify_credential`` adds the registry (known, not revoked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "CREDENTIAL_ROLES",
    "PARTICIPANT_ROLE",
    "TOKEN_ROLES",
    "AccessGrant",
    "issue_access_token",
    "verify_access_token",
]

TOKEN_DOMAIN = b"batterytrace/access-token/v1\x00"
# The access levels a token can grant (see passport.issue.ACCESS_LEVELS; public needs no token).
TOKEN_ROLES = ("legitimate_interest", "commission", "authorities")
# A participant's API credential: it writes plain EPCIS through its hosted key (custodial signing)
# and reads as that participant; it grants no passport access level above public.
PARTICIPANT_ROLE = "participant"
CREDENTIAL_ROLES = (*TOKEN_ROLES, PARTICIPANT_ROLE)
_MAX_TOKEN = 4096  # bytes of token text: checked before any decoding


@dataclass(frozen=True)
class AccessGrant:
    subject: str
    role: str
    issued_at: int
    expires_at: int
    token_id: str = ""
    audience: str = ""


def issue_access_token(key: SigningKey, subject: str, role: str, issued_at: int, expires_at: int, *,
                       audience: str, token_id: str) -> str:
    """A token signed by ``key`` (the ledger's token key) for the ledger ``audience``."""
    if role not in CREDENTIAL_ROLES:
        raise EncodingError(f"unknown role {role!r}; one of {CREDENTIAL_ROLES}")
    if expires_at <= issued_at:
        raise EncodingError("a token must expire after it is issued")
    if not subject or not audience or not token_id:
        raise EncodingError("a token names its subject, audience (ledger id) and id")
    claims = json.dumps({"jti": token_id, "aud": audience, "sub": subject, "role": role, "iat": issued_at,
                         "exp": expires_at}, sort_keys=True, separators=(",", ":")).encode()
    return f"{b64u_encode(claims)}.{b64u_encode(key.sign(TOKEN_DOMAIN + claims))}"


def verify_access_token(token: str, issuer_did: str, now: int, *, audience: str) -> AccessGrant:
    """The grant a token carries when ``issuer_did`` signed it for ``audience``; raises
    ``VerificationError`` naming the defect. Registry state (revocation) is checked by
    ``ledger.credentials.verify_credential``."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN:
        raise VerificationError(f"access token is malformed: longer than {_MAX_TOKEN} characters")
    head, dot, sig_text = token.partition(".")
    if not dot or not head or not sig_text:
        raise VerificationError("access token is malformed: expected <claims>.<signature>")
    try:
        claims_bytes, sig = b64u_decode(head), b64u_decode(sig_text)
    except EncodingError as exc:
        raise VerificationError(f"access token is malformed: {exc}") from exc
    verify_signature(public_key_from_did(issuer_did), TOKEN_DOMAIN + claims_bytes, sig)
    try:
        claims = json.loads(claims_bytes)
        if not isinstance(claims, dict):
            raise TypeError("claims are a JSON object")
        values = [claims[k] for k in ("sub", "role", "jti", "aud")]
        if not all(isinstance(v, str) for v in values):
            raise TypeError("sub, role, jti and aud are strings")
        times = [claims["iat"], claims["exp"]]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in times):
            raise TypeError("iat and exp are integers")
        grant = AccessGrant(claims["sub"], claims["role"], times[0], times[1], claims["jti"], claims["aud"])
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"access token claims are malformed: {exc}") from exc
    if grant.role not in CREDENTIAL_ROLES:
        raise VerificationError(f"access token role {grant.role!r} is not one of {CREDENTIAL_ROLES}")
    if grant.audience != audience:
        raise VerificationError(f"access token is for ledger {grant.audience[:80]!r}, not this ledger ({audience})")
    if now >= grant.expires_at:
        raise VerificationError("access token has expired")
    if now < grant.issued_at - 300:
        raise VerificationError("access token is not valid yet")
    return grant
