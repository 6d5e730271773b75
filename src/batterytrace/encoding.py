"""Byte encodings used on the wire: unpadded base64url, base58btc (for did:key) and hex."""

from __future__ import annotations

import base64
import binascii

from batterytrace.errors import EncodingError

__all__ = ["b58decode", "b58encode", "b64u_decode", "b64u_encode", "hex_decode"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64u_encode(data: bytes) -> str:
    # base64.urlsafe_b64encode without its two Python-level wrappers (hot in SD-JWT issuance)
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise EncodingError("expected unpadded base64url text")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EncodingError(f"malformed base64url: {exc}") from exc
    if b64u_encode(raw) != text:
        raise EncodingError("non-canonical base64url")
    return raw


def hex_decode(text: str, length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise EncodingError("expected hex text")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise EncodingError(f"malformed hex: {text[:20]!r}") from exc
    if raw.hex() != text:
        raise EncodingError("hex must be lower case")
    if length is not None and len(raw) != length:
        raise EncodingError(f"expected {length} bytes, got {len(raw)}")
    return raw


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


MAX_B58_CHARS = 1024


def b58decode(text: str) -> bytes:
    """Decode base58btc text of at most ``MAX_B58_CHARS`` characters (decoding costs the square of
    the length, so longer text is refused before any work)."""
    if len(text) > MAX_B58_CHARS:
        raise EncodingError(f"base58 text of {len(text)} characters, at most {MAX_B58_CHARS}")
    n = 0
    for ch in text:
        try:
            n = n * 58 + _B58_INDEX[ch]
        except KeyError as exc:
            raise EncodingError(f"invalid base58 character {ch!r}") from exc
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body
