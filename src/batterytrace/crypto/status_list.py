"""IETF Token Status List (draft-ietf-oauth-status-list): a compressed array of statuses, one
per issued token, signed by the issuer as a JWT.

A referenced token (here: a passport) carries ``{"status": {"status_list": {"idx": i, "uri": u}}}``.
The list at ``u`` is a Status List Token: a compact JWS with header ``typ: statuslist+jwt`` whose
payload holds ``sub`` (= ``u``), ``iat``, ``ttl`` and ``status_list: {bits, lst}``, where ``lst`` is
the base64url of the ZLIB-compressed (RFC 1950) byte array. Status ``i`` occupies ``bits`` bits
of that array starting at bit ``i * bits``, least significant bit first within each byte.
Values: 0 valid, 1 invalid (revoked, irreversible), 2 suspended.

The signature is EdDSA (Ed25519) by the key the header's ``kid`` names: the issuer's own
did:key (``iss``), or a key rotated in for it whose binding the verifier checks (``check_key``);
the list's ``iss`` is the issuer of the referenced tokens.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batterytrace.canonical import parse_json
from batterytrace.crypto.sdjwt import jws_signing_key, key_id
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

__all__ = [
    "STATUS_NAMES",
    "STATUS_TYP",
    "StatusList",
    "StatusListToken",
    "issue_status_list_token",
    "verify_status_list_token",
]

STATUS_TYP = "statuslist+jwt"
VALID, INVALID, SUSPENDED = 0, 1, 2
STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}
MAX_ENTRIES = 1 << 20  # a list of more entries is refused (decompression bound: 2^20 × 8 bits = 1 MiB)
MAX_TOKEN_CHARS = 1 << 20


@dataclass
class StatusList:
    """``size`` statuses of ``bits`` bits each (1, 2, 4 or 8), all valid at first."""

    bits: int
    data: bytearray

    @classmethod
    def new(cls, size: int, bits: int = 2) -> StatusList:
        if bits not in (1, 2, 4, 8):
            raise EncodingError("a status list has 1, 2, 4 or 8 bits per status")
        if not 0 < size <= MAX_ENTRIES:
            raise EncodingError(f"a status list holds 1 to {MAX_ENTRIES} statuses")
        return cls(bits, bytearray((size * bits + 7) // 8))

    @property
    def size(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, idx: int) -> int:
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < self.size:
            raise VerificationError(f"status index {idx!r} is outside the list (0 to {self.size - 1})")
        bit = idx * self.bits
        return (self.data[bit // 8] >> (bit % 8)) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        if not 0 <= value < (1 << self.bits):
            raise EncodingError(f"status {value} does not fit in {self.bits} bits")
        current = self.get(idx)
        if current == INVALID and value != INVALID:
            raise EncodingError("a revoked status is final: it cannot be changed back")
        bit = idx * self.bits
        mask = ((1 << self.bits) - 1) << (bit % 8)
        self.data[bit // 8] = (self.data[bit // 8] & ~mask & 0xFF) | (value << (bit % 8))

    def encode(self) -> dict[str, Any]:
        return {"bits": self.bits, "lst": b64u_encode(zlib.compress(bytes(self.data), 9))}

    @classmethod
    def decode(cls, obj: Any) -> StatusList:
        if not isinstance(obj, dict) or set(obj) - {"bits", "lst", "aggregation_uri"}:
            raise VerificationError("status_list must be an object {bits, lst}")
        bits, lst = obj.get("bits"), obj.get("lst")
        if bits not in (1, 2, 4, 8) or isinstance(bits, bool) or not isinstance(lst, str):
            raise VerificationError("status_list.bits must be 1, 2, 4 or 8 and lst a base64url string")
        try:
            packed = b64u_decode(lst)
            inflater = zlib.decompressobj()
            data = inflater.decompress(packed, MAX_ENTRIES * bits // 8 + 1)
        except (EncodingError, zlib.error) as exc:
            raise VerificationError(f"status_list.lst is not base64url ZLIB data: {exc}") from exc
        if inflater.unconsumed_tail or not inflater.eof or len(data) * 8 // bits > MAX_ENTRIES:
            raise VerificationError(f"status_list.lst is truncated or holds more than {MAX_ENTRIES} statuses")
        if not data:
            raise VerificationError("status_list.lst is empty")
        return cls(bits, bytearray(data))


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token; ``signer`` is the did:key that signed it (the issuer's own,
    or a key rotated in for it)."""

    issuer: str
    uri: str
    issued_at: int
    ttl: int | None
    statuses: StatusList
    signer: str = ""

    def status_of(self, idx: int) -> str:
        value = self.statuses.get(idx)
        return STATUS_NAMES.get(value, f"status {value:#x}")


def _part(obj: dict[str, Any]) -> str:
    return b64u_encode(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def issue_status_list_token(key: SigningKey, uri: str, statuses: StatusList, issued_at: int,
                            ttl: int | None = 300, issuer: str | None = None) -> str:
    """The compact JWS of ``statuses`` published at ``uri``, signed by ``key`` (named in ``kid``)
    for ``issuer`` (default: ``key``'s did)."""
    header = {"alg": "EdDSA", "typ": STATUS_TYP, "kid": key_id(key.did)}
    payload: dict[str, Any] = {"iss": issuer if issuer is not None else key.did, "sub": uri, "iat": issued_at, "status_list": statuses.encode()}
    if ttl is not None:
        payload["ttl"] = ttl
    signing_input = f"{_part(header)}.{_part(payload)}"
    return f"{signing_input}.{b64u_encode(key.sign(signing_input.encode('ascii')))}"


def verify_status_list_token(token: str, *, issuer: str, uri: str, now: int, max_skew_s: int = 300,
                             check_expiry: bool = True,
                             check_key: Callable[[str], None] | None = None) -> StatusListToken:
    """Verify a Status List Token for the list at ``uri`` issued by ``issuer`` (a did:key). The
    signing key is the one ``kid`` names: without ``check_key`` it must be ``issuer``'s own; with
    it, ``check_key(key)`` decides (raising ``VerificationError``). Raises ``VerificationError``
    naming the defect: wrong type, signature, subject, issuer, a token dated in the future or
    expired (``exp``; ``check_expiry=False`` for a kept token compared with a newer one, whose
    age is no defect)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise VerificationError("a status list token is an ASCII compact JWS of at most 1 MiB")
    pieces = token.strip().split(".")
    if len(pieces) != 3:
        raise VerificationError("a status list token is a compact JWS (header.payload.signature)")
    try:
        header, payload = (parse_json(b64u_decode(p)) for p in pieces[:2])
        signature = b64u_decode(pieces[2])
    except EncodingError as exc:
        raise VerificationError(f"status list token is not base64url JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise VerificationError("status list token header and payload must be JSON objects")
    if header.get("typ") != STATUS_TYP or header.get("alg") != "EdDSA":
        raise VerificationError(f"not an EdDSA {STATUS_TYP} token (typ {header.get('typ')!r}, alg {header.get('alg')!r})")
    if payload.get("iss") != issuer:
        raise VerificationError(f"the status list is signed for {payload.get('iss')!r}, not the passport's issuer {issuer}")
    signer = jws_signing_key(header, issuer)
    if check_key is not None:
        check_key(signer)
    elif signer != issuer:
        raise VerificationError(f"the status list is signed by {signer}, not by its issuer {issuer}")
    try:
        public = public_key_from_did(signer)
    except EncodingError as exc:
        raise VerificationError(f"issuer key malformed: {exc}") from exc
    verify_signature(public, f"{pieces[0]}.{pieces[1]}".encode("ascii"), signature)
    if payload.get("sub") != uri:
        raise VerificationError(f"the status list token is for {payload.get('sub')!r}, not {uri!r}")
    iat, ttl, exp = payload.get("iat"), payload.get("ttl"), payload.get("exp")
    for name, value in (("iat", iat), ("ttl", ttl), ("exp", exp)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise VerificationError(f"status list token {name} must be a non-negative integer")
    if not isinstance(iat, int):
        raise VerificationError("status list token has no iat")
    if iat > now + max_skew_s:
        raise VerificationError(f"the status list token is dated {iat - now} s in the future")
    if check_expiry and isinstance(exp, int) and now >= exp:
        raise VerificationError("the status list token has expired")
    return StatusListToken(issuer, uri, iat, ttl, StatusList.decode(payload.get("status_list")), signer)
