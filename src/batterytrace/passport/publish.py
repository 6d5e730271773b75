"""Publishing a passport: an upload envelope signed by the battery's economic operator, and the
rules a passport service applies before a publication replaces what it serves.

A passport's own SD-JWT signature says who issued it, not who uploads it now: an old genuine
passport, or a presentation stripped of its restricted disclosures, is still validly signed.
So an upload carries an envelope the publisher signs with its registered participant key, bound
to the ledger (its log id), the passport id, version and issuance time, one SHA-256 per access
level's presentation, and the time of signing. A service accepts it only when

* ``passport.publisher``: the envelope is signed, by the battery's economic operator, a
  registered participant of this ledger, with its key in force (its registered did's own, or a
  key the operator rotated in for it, named in ``signer``; a rotated-out key is refused);
* ``passport.envelope``: the envelope names this ledger and exactly the uploaded presentations,
  passport id, version and issuance time, and was signed within ``MAX_ENVELOPE_AGE_S``;
* ``passport.incomplete``: every access level is uploaded, all from one issuance, and each
  discloses every claim of its level (and, as before, nothing above it);
* ``passport.future``: the issuance time is not later than now + ``MAX_ISSUANCE_SKEW_S``;
* ``passport.rollback``: neither the version nor the issuance time goes back against what the
  service already serves for that battery (re-posting the very same issuance is a no-op).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, RuleViolationError, VerificationError

__all__ = [
    "MAX_ENVELOPE_AGE_S",
    "MAX_ISSUANCE_SKEW_S",
    "PUBLISH_DOMAIN",
    "PublishEnvelope",
    "presentation_digest",
    "publish_request",
]

PUBLISH_DOMAIN = b"batterytrace/passport/publish/v1\x00"
MAX_ENVELOPE_AGE_S = 600  # a signed upload is good for ten minutes: a captured one cannot be replayed later
_CLOCK_SKEW_S = 300
MAX_ISSUANCE_SKEW_S = 300  # an issuance dated later than now + this is refused (here and by verify_passport)


def presentation_digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PublishEnvelope:
    """What the publisher signs: ``signature`` is Ed25519 by ``publisher`` over
    ``PUBLISH_DOMAIN ‖ SHA-256(JCS(every other field))``."""

    ledger: str  # the log id (operator did) of the ledger the passport is published to
    passport_id: str
    passport_version: int
    issued_at: int  # the passport's ``iat``
    signed_at: int
    presentations: dict[str, str]  # access level → presentation_digest
    publisher: str
    signature: str = ""
    # the did:key that signs, when it is a key rotated in for the publisher (absent: its own)
    signer: str | None = None

    @property
    def signing_key(self) -> str:
        return self.signer if self.signer is not None else self.publisher

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ledger": self.ledger, "passport_id": self.passport_id, "passport_version": self.passport_version,
            "issued_at": self.issued_at, "signed_at": self.signed_at,
            "presentations": dict(sorted(self.presentations.items())), "publisher": self.publisher}
        if self.signer is not None:
            body["signer"] = self.signer
        return body

    def _message(self) -> bytes:
        return PUBLISH_DOMAIN + hashlib.sha256(canonical_json(self.body())).digest()

    def signed(self, key: SigningKey) -> PublishEnvelope:
        if key.did != self.signing_key:
            raise ValueError("the envelope names another publisher (or signer) than the signing key")
        return PublishEnvelope(**{**self.body(), "signature": b64u_encode(key.sign(self._message()))})

    def verify_signature(self) -> None:
        """Raise ``RuleViolationError("passport.publisher")`` unless ``signing_key`` (``signer``, else
        ``publisher``) signed it; whether that key speaks for the publisher is the service's check."""
        try:
            verify_signature(public_key_from_did(self.signing_key), self._message(), b64u_decode(self.signature))
        except (VerificationError, EncodingError, ValueError) as exc:
            raise RuleViolationError("passport.publisher",
                                     f"the upload envelope's signature does not verify for {self.signing_key}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Any) -> PublishEnvelope:
        if not isinstance(data, Mapping):
            raise RuleViolationError("passport.publisher", "an upload must carry an envelope signed by the "
                                     "battery's economic operator")
        try:
            env = cls(ledger=str(data["ledger"]), passport_id=str(data["passport_id"]),
                      passport_version=data["passport_version"], issued_at=data["issued_at"],
                      signed_at=data["signed_at"], presentations=dict(data["presentations"]),
                      publisher=str(data["publisher"]), signature=str(data["signature"]),
                      signer=None if data.get("signer") is None else str(data["signer"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleViolationError("passport.envelope", f"the upload envelope is malformed: {exc}") from exc
        for name in ("passport_version", "issued_at", "signed_at"):
            value = getattr(env, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise RuleViolationError("passport.envelope", f"the upload envelope's {name} is not an integer")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.presentations.items()):
            raise RuleViolationError("passport.envelope", "the upload envelope's presentations are level → digest")
        return env

    def check_not_future(self, now: int) -> None:
        """``passport.future``: the issuance is not dated ahead of the service's clock (beyond the
        skew): served, a future ``iat`` would refuse every honest reissue as a rollback."""
        if self.issued_at > now + MAX_ISSUANCE_SKEW_S:
            raise RuleViolationError("passport.future", f"the passport is issued at {self.issued_at}, "
                                     f"{self.issued_at - now} s after now ({now}); at most {MAX_ISSUANCE_SKEW_S} s "
                                     "of clock skew is allowed")

    def check_fresh(self, now: int) -> None:
        if not now - MAX_ENVELOPE_AGE_S <= self.signed_at <= now + _CLOCK_SKEW_S:
            raise RuleViolationError("passport.envelope", f"the upload envelope was signed at {self.signed_at}, "
                                     f"not within {MAX_ENVELOPE_AGE_S} s of now ({now}): sign a fresh one")


def _payload(presentation: str) -> dict[str, Any]:
    """The issuer-signed payload of an SD-JWT (not verified here: the service verifies it too)."""
    from batterytrace.canonical import parse_json

    try:
        data = parse_json(b64u_decode(presentation.strip().split("~", 1)[0].split(".")[1]))
    except (EncodingError, IndexError, ValueError) as exc:
        raise EncodingError(f"not an SD-JWT presentation: {exc}") from exc
    if not isinstance(data, dict):
        raise EncodingError("not an SD-JWT presentation")
    return data


def publish_request(key: SigningKey, ledger: str, presentations: Mapping[str, str], signed_at: int,
                    publisher: str | None = None) -> dict[str, Any]:
    """The body of ``POST /passports`` for ``presentations`` (one per access level of one
    issuance), signed by ``key``: the battery's economic operator's, or the key rotated in for
    ``publisher`` (its registered did)."""
    texts = {level: text.strip() for level, text in presentations.items()}
    claims = _payload(next(iter(texts.values())))
    envelope = PublishEnvelope(ledger, str(claims["passport_id"]), int(claims["passport_version"]),
                               int(claims["iat"]), signed_at,
                               {level: presentation_digest(t) for level, t in texts.items()},
                               publisher if publisher is not None else key.did,
                               signer=key.did if publisher not in (None, key.did) else None).signed(key)
    return {"presentations": texts, "envelope": envelope.to_dict()}
