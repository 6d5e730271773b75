"""SD-JWT (IETF Selective Disclosure for JWTs, RFC 9901) with EdDSA (Ed25519) JWS signatures.

Issuance: claims marked selectively disclosable are replaced by the SHA-256 digests of their
disclosures (``base64url(JSON [salt, name, value])``) in the object's ``_sd`` array; the issuer
signs the payload as a compact JWS. A presentation is ``<JWS>~<disclosure>~…~`` holding any
subset of the disclosures. Verification checks the signature with the issuer's did:key, refuses
any disclosure whose digest the signed payload does not contain (or contains twice), and returns
the payload with the presented claims restored. Disclosures carry 128-bit random salts, so a
holder cannot produce a disclosure it was not given.

Decoy digests (RFC 9901 §4.2.5): every object that has selectively disclosable claims gets its
``_sd`` array padded with digests of random values up to a bucket size (``decoy_bucket``: at least
8, then the next power of two). A reader of a presentation learns the bucket, never how many
claims an object hides. The bucket depends only on the real count (no random extra), so many
passports of one model cannot be averaged to recover it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batterytrace.canonical import parse_json
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = ["Disclosure", "IssuedSdJwt", "SdClaim", "decoy_bucket", "issue_sd_jwt", "jws_signing_key", "key_id",
           "verify_sd_jwt"]

SD_ALG = "sha-256"
TYP = "dc+sd-jwt"


@dataclass(frozen=True)
class SdClaim:
    """Marks a value in the claims tree as selectively disclosable, tagged with who may see it."""

    value: Any
    tag: str


@dataclass(frozen=True)
class Disclosure:
    encoded: str
    tag: str
    name: str

    @property
    def digest(self) -> str:
        return b64u_encode(hashlib.sha256(self.encoded.encode("ascii")).digest())


@dataclass(frozen=True)
class IssuedSdJwt:
    jws: str
    disclosures: list[Disclosure] = field(default_factory=list)

    def present(self, tags: Iterable[str]) -> str:
        """The compact presentation holding only the disclosures whose tag is in ``tags``."""
        wanted = set(tags)
        parts = [self.jws, *(d.encoded for d in self.disclosures if d.tag in wanted)]
        return "~".join(parts) + "~"


# Encoders built once (json.dumps builds one per call with the same settings; same output).
_DISCLOSURE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_JWS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_RESERVED = frozenset({"_sd", "...", "_sd_alg"})
# values that are never claim objects: skips the (slow) Mapping ABC check for most leaves
_LEAVES = (str, int, float, list, tuple, type(None))


MIN_SD_BUCKET = 8


def decoy_bucket(real: int) -> int:
    """The ``_sd`` array length for an object hiding ``real`` claims: at least ``MIN_SD_BUCKET``,
    else the next power of two."""
    size = MIN_SD_BUCKET
    while size < real:
        size *= 2
    return size


def _decoy_digest() -> str:
    # the digest of a random salt, as the RFC recommends: indistinguishable from a real digest
    return b64u_encode(hashlib.sha256(b64u_encode(secrets.token_bytes(16)).encode("ascii")).digest())


def _make_disclosure(name: str, value: Any, tag: str) -> Disclosure:
    salt = b64u_encode(secrets.token_bytes(16))
    text = _DISCLOSURE_JSON.encode([salt, name, value])
    return Disclosure(b64u_encode(text.encode("utf-8")), tag, name)


def _is_object(value: Any) -> bool:
    return type(value) is dict or (not isinstance(value, _LEAVES) and isinstance(value, Mapping))


def _conceal(obj: Mapping[str, Any], out: list[Disclosure]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    digests: list[str] = []
    for name, value in obj.items():
        if name in _RESERVED:
            raise EncodingError(f"claim name {name!r} is reserved by SD-JWT")
        if isinstance(value, SdClaim):
            inner = _conceal(value.value, out) if _is_object(value.value) else value.value
            d = _make_disclosure(name, inner, value.tag)
            out.append(d)
            digests.append(d.digest)
        elif _is_object(value):
            plain[name] = _conceal(value, out)
        else:
            plain[name] = value
    if digests:
        digests.extend(_decoy_digest() for _ in range(decoy_bucket(len(digests)) - len(digests)))
        plain["_sd"] = sorted(digests)  # sorted: order reveals nothing about the claims
    return plain


def _jws(key: SigningKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    def enc(part: dict[str, Any]) -> str:
        return b64u_encode(_JWS_JSON.encode(part).encode("utf-8"))

    signing_input = f"{enc(header)}.{enc(payload)}"
    return f"{signing_input}.{b64u_encode(key.sign(signing_input.encode('ascii')))}"


def key_id(did: str) -> str:
    """The JWS ``kid`` naming a did:key's verification method: ``<did>#<its multibase key>``."""
    return f"{did}#{did.removeprefix('did:key:')}"


def jws_signing_key(header: Mapping[str, Any], issuer: str) -> str:
    """The did:key whose key signed a JWS: the one its ``kid`` names (``key_id``), else the
    ``issuer``'s own. Raises ``VerificationError`` for a ``kid`` that names no did:key."""
    kid = header.get("kid")
    if kid is None:
        return issuer
    if not isinstance(kid, str) or not kid.startswith("did:key:"):
        raise VerificationError("the JWS kid must name a did:key verification method")
    did, _, fragment = kid.partition("#")
    if fragment and fragment != did.removeprefix("did:key:"):
        raise VerificationError("the JWS kid's fragment is not the did:key's own key")
    try:
        public_key_from_did(did)
    except EncodingError as exc:
        raise VerificationError(f"the JWS kid names no Ed25519 did:key: {exc}") from exc
    return did


def issue_sd_jwt(key: SigningKey, claims: Mapping[str, Any], *, vct: str, issued_at: int,
                 expires_at: int | None = None, issuer: str | None = None) -> IssuedSdJwt:
    """Sign ``claims`` (``SdClaim`` values become disclosures) as an SD-JWT VC by ``key``. The
    issuer (``iss``) is ``issuer`` (a participant's registered did signed for by a key rotated in
    for it), by default ``key``'s did; the header's ``kid`` always names ``key``."""
    disclosures: list[Disclosure] = []
    payload = _conceal(claims, disclosures)
    payload.update({"iss": issuer if issuer is not None else key.did, "iat": issued_at, "vct": vct, "_sd_alg": SD_ALG})
    if expires_at is not None:
        payload["exp"] = expires_at
    header = {"alg": "EdDSA", "typ": TYP, "kid": key_id(key.did)}
    return IssuedSdJwt(_jws(key, header, payload), disclosures)


def _decode_part(text: str, what: str) -> Any:
    try:
        return parse_json(b64u_decode(text))
    except EncodingError as exc:
        raise VerificationError(f"SD-JWT {what} is not base64url JSON: {exc}") from exc


def verify_sd_jwt(presentation: str, *, trusted_issuers: Iterable[str] | None = None,
                  now: int | None = None, check_key: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Verify a compact SD-JWT presentation; return the claims with presented disclosures applied.
    Expiry is checked against ``now`` (Unix seconds), by default the current time. The signature
    is checked against the key the header's ``kid`` names (``jws_signing_key``). Without
    ``check_key`` that must be the issuer's own did:key; with it, ``check_key(iss, key)`` is
    called first and decides whether that key may sign for ``iss`` (raising
    ``VerificationError`` if not). Raises ``VerificationError`` on any defect."""
    if not isinstance(presentation, str) or not presentation.isascii():
        raise VerificationError("an SD-JWT presentation is ASCII text (base64url parts joined by '.' and '~')")
    if not presentation.endswith("~"):
        raise VerificationError("SD-JWT presentation must end with '~' (key binding is not used)")
    jws, *encoded = presentation[:-1].split("~")
    pieces = jws.split(".")
    if len(pieces) != 3:
        raise VerificationError("issuer-signed JWT is not a compact JWS")
    header = _decode_part(pieces[0], "header")
    payload = _decode_part(pieces[1], "payload")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise VerificationError("JWS header and payload must be JSON objects")
    if header.get("alg") != "EdDSA" or header.get("typ") != TYP:
        raise VerificationError(f"unsupported JWS header (alg {header.get('alg')!r}, typ {header.get('typ')!r})")
    issuer = payload.get("iss")
    if not isinstance(issuer, str):
        raise VerificationError("SD-JWT has no issuer")
    if trusted_issuers is not None and issuer not in set(trusted_issuers):
        raise VerificationError(f"issuer {issuer} is not trusted")
    signer = jws_signing_key(header, issuer)
    if check_key is not None:
        check_key(issuer, signer)
    elif signer != issuer:
        raise VerificationError(f"the SD-JWT is signed by {signer}, not by its issuer {issuer}")
    try:
        public = public_key_from_did(signer)
        signature = b64u_decode(pieces[2])
    except EncodingError as exc:
        raise VerificationError(f"issuer key or signature malformed: {exc}") from exc
    verify_signature(public, f"{pieces[0]}.{pieces[1]}".encode("ascii"), signature)
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise VerificationError("only sha-256 disclosure digests are supported")
    if "exp" in payload:
        exp = payload["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int):
            raise VerificationError("SD-JWT exp must be an integer NumericDate")
        if (int(time.time()) if now is None else now) >= exp:
            raise VerificationError("SD-JWT has expired")
    by_digest: dict[str, tuple[str, Any]] = {}
    for enc in encoded:
        digest = b64u_encode(hashlib.sha256(enc.encode("ascii")).digest())
        if digest in by_digest:
            raise VerificationError("a disclosure is presented twice")
        item = _decode_part(enc, "disclosure")
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str)):
            raise VerificationError("a disclosure must be [salt, name, value]")
        if item[1] in ("_sd", "...", "_sd_alg"):
            raise VerificationError(f"disclosure uses reserved claim name {item[1]!r}")
        by_digest[digest] = (item[1], item[2])
    used: set[str] = set()
    claims = _reveal(payload, by_digest, used)
    unused = set(by_digest) - used
    if unused:
        raise VerificationError("a presented disclosure is not referenced by the signed payload")
    claims.pop("_sd_alg", None)
    return claims


def _reveal(obj: dict[str, Any], by_digest: dict[str, tuple[str, Any]], used: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "_sd":
            continue
        out[name] = _reveal(value, by_digest, used) if isinstance(value, dict) else value
    digests = obj.get("_sd", [])
    if not isinstance(digests, list):
        raise VerificationError("_sd must be an array of digests")
    for digest in digests:
        if not isinstance(digest, str):
            raise VerificationError("_sd entries are strings")
        if digest in used:
            raise VerificationError("a digest appears twice in the payload")
        if digest not in by_digest:
            continue  # not presented: the claim stays hidden
        used.add(digest)
        name, value = by_digest[digest]
        if name in out:
            raise VerificationError(f"disclosed claim {name!r} collides with a plain claim")
        out[name] = _reveal(value, by_digest, used) if isinstance(value, dict) else value
    return out
