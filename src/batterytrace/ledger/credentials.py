"""The ledger's credential registry: every operator-issued bearer token is recorded, listed and
revocable, and signed by the ledger's token key (distinct from the log operator key).

Storage (service meta rows of the ledger's store; ``log verify`` checks their shape):

* ``token_key_did``: the did of the token key that signs this ledger's tokens. The private key
  stays in a key file (``keys.default_token_key_path``), never in the store.
* ``credential/<jti>``: one row per issued token, ``{jti, sub, role, iat, exp, revoked_at}``.

``verify_credential`` is what the service runs on every authenticated request: the token's
signature by the token key, its audience (this ledger's id), lifetime, and one primary-key lookup
of its registry row (known, not revoked, same claims).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import ConfigError, NotFoundError, VerificationError
from batterytrace.ledger.access import (
    CREDENTIAL_ROLES,
    PARTICIPANT_ROLE,
    AccessGrant,
    issue_access_token,
    verify_access_token,
)
from batterytrace.storage.base import Store, WriteBatch

__all__ = [
    "CREDENTIAL_PREFIX",
    "TOKEN_KEY_META",
    "Credential",
    "check_credential_rows",
    "install_token_key",
    "issue_credential",
    "list_credentials",
    "revoke_credential",
    "token_key_did",
    "verify_credential",
]

TOKEN_KEY_META = "token_key_did"
CREDENTIAL_PREFIX = "credential/"


@dataclass(frozen=True)
class Credential:
    """A registry row: what was issued to whom, and when it was revoked (None: in force)."""

    token_id: str
    subject: str
    role: str
    issued_at: int
    expires_at: int
    revoked_at: int | None = None

    def to_json(self) -> str:
        return json.dumps({"jti": self.token_id, "sub": self.subject, "role": self.role, "iat": self.issued_at,
                           "exp": self.expires_at, "revoked_at": self.revoked_at}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Credential:
        try:
            d: dict[str, Any] = json.loads(text)
            cred = cls(str(d["jti"]), str(d["sub"]), str(d["role"]), int(d["iat"]), int(d["exp"]),
                       None if d["revoked_at"] is None else int(d["revoked_at"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(f"a stored credential row is corrupt: {exc}") from exc
        if cred.role not in CREDENTIAL_ROLES:
            raise VerificationError(f"a stored credential row names an unknown role {cred.role!r}")
        return cred


def token_key_did(store: Store) -> str | None:
    return store.get_meta(TOKEN_KEY_META)


def install_token_key(store: Store, key: SigningKey) -> None:
    """Make ``key`` this ledger's token key (once; the same key again is a no-op). Refuses the log
    operator's key: a token key's compromise must not forge tree heads, nor the reverse."""
    current = token_key_did(store)
    if current == key.did:
        return
    if current is not None:
        raise ConfigError(f"this ledger's tokens are signed by {current}, not by {key.did}")
    if store.get_meta("operator_did") == key.did:
        raise ConfigError("the token key must differ from the log operator key")
    with store.write_lock():
        store.apply(WriteBatch(meta={TOKEN_KEY_META: key.did}))


def issue_credential(store: Store, ledger_id: str, token_key: SigningKey, subject: str, role: str,
                     issued_at: int, expires_at: int) -> tuple[str, Credential]:
    """Issue, record and return a token (and its registry row). A ``participant`` credential's
    subject is a registered participant's did."""
    if role == PARTICIPANT_ROLE and store.get_participant(subject) is None:
        raise ConfigError(f"{subject[:80]} is not a registered participant of this ledger")
    install_token_key(store, token_key)
    cred = Credential(secrets.token_hex(16), subject, role, issued_at, expires_at)
    token = issue_access_token(token_key, subject, role, issued_at, expires_at, audience=ledger_id,
                               token_id=cred.token_id)
    with store.write_lock():
        store.apply(WriteBatch(meta={CREDENTIAL_PREFIX + cred.token_id: cred.to_json()}))
    return token, cred


def list_credentials(store: Store) -> list[Credential]:
    """Every issued credential, oldest first."""
    rows = [Credential.from_json(v) for v in store.meta_with_prefix(CREDENTIAL_PREFIX).values()]
    return sorted(rows, key=lambda c: (c.issued_at, c.token_id))


def revoke_credential(store: Store, token_id: str, now: int) -> Credential:
    """Revoke a credential from ``now`` on (seconds); it is refused on the next request."""
    with store.write_lock():
        text = store.get_meta(CREDENTIAL_PREFIX + token_id)
        if text is None:
            raise NotFoundError(f"no credential {token_id[:80]!r} in this ledger")
        cred = Credential.from_json(text)
        if cred.revoked_at is None:
            cred = Credential(cred.token_id, cred.subject, cred.role, cred.issued_at, cred.expires_at, now)
            store.apply(WriteBatch(meta={CREDENTIAL_PREFIX + token_id: cred.to_json()}))
    return cred


def verify_credential(store: Store, ledger_id: str, token: str, now: int) -> AccessGrant:
    """The grant of a token this ledger issued and has not revoked; ``VerificationError`` naming
    the defect otherwise (forged, other ledger, expired, unknown, revoked)."""
    issuer = token_key_did(store)
    if issuer is None:
        raise VerificationError("this ledger has issued no tokens (no token key is installed)")
    grant = verify_access_token(token, issuer, now, audience=ledger_id)
    text = store.get_meta(CREDENTIAL_PREFIX + grant.token_id) if len(grant.token_id) <= 64 else None
    if text is None:
        raise VerificationError(f"access token {grant.token_id[:64]!r} is not in this ledger's credential registry")
    cred = Credential.from_json(text)
    if cred.revoked_at is not None:
        raise VerificationError(f"access token {cred.token_id} was revoked")
    if (cred.subject, cred.role, cred.issued_at, cred.expires_at) != (grant.subject, grant.role, grant.issued_at,
                                                                     grant.expires_at):
        raise VerificationError(f"access token {cred.token_id} does not match its registry row")
    return grant


def check_credential_rows(store: Store) -> None:
    """``log verify``: every credential row parses and is keyed by its own id."""
    for key, value in store.meta_with_prefix(CREDENTIAL_PREFIX).items():
        cred = Credential.from_json(value)
        if key != CREDENTIAL_PREFIX + cred.token_id:
            raise VerificationError(f"credential row {key!r} holds credential {cred.token_id!r}")
