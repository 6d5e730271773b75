"""Token Status List: the draft's test vectors, and refusal of forged, relabelled, stale,
oversized and malformed status list tokens."""

from __future__ import annotations

import json
import zlib

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import (
    StatusList,
    issue_status_list_token,
    verify_status_list_token,
)
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError

ISSUER = SigningKey.from_label("status-issuer")
URI = "https://id.example/statuslists/abc"
NOW = 1_900_000_000


def test_the_drafts_examples_encode_byte_for_byte() -> None:
    """draft-ietf-oauth-status-list §4.1: 1-bit and 2-bit example lists and their ``lst``."""
    one = StatusList.new(16, bits=1)
    for i, v in enumerate([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]):
        if v:
            one.set(i, v)
    assert bytes(one.data) == bytes([0xB9, 0xA3]) and one.encode() == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    two = StatusList(2, bytearray(3))
    for i, v in enumerate([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]):
        two.data[i * 2 // 8] |= v << (i * 2 % 8)  # the layout by hand, then read back through get()
    assert two.encode()["lst"] == "eNo76fITAAPfAgc"
    decoded = StatusList.decode({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    assert [decoded.get(i) for i in range(12)] == [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]


def test_set_get_round_trip_and_revocation_is_final() -> None:
    lst = StatusList.new(1000)
    lst.set(999, 2)
    lst.set(3, 1)
    assert (lst.get(999), lst.get(3), lst.get(0)) == (2, 1, 0)
    lst.set(999, 0)  # a suspension can be lifted
    assert lst.get(999) == 0
    with pytest.raises(EncodingError, match="final"):
        lst.set(3, 0)
    with pytest.raises(VerificationError, match="outside"):
        lst.get(1000)
    with pytest.raises(EncodingError):
        lst.set(1, 4)


def test_a_token_verifies_and_reads_each_status() -> None:
    lst = StatusList.new(64)
    lst.set(5, 1)
    lst.set(6, 2)
    token = verify_status_list_token(issue_status_list_token(ISSUER, URI, lst, NOW), issuer=ISSUER.did, uri=URI, now=NOW)
    assert (token.status_of(4), token.status_of(5), token.status_of(6)) == ("valid", "revoked", "suspended")
    header = json.loads(b64u_decode(issue_status_list_token(ISSUER, URI, lst, NOW).split(".")[0]))
    assert header["typ"] == "statuslist+jwt"


def _resign(token: str, key: SigningKey, header: dict[str, object] | None = None,
            payload: dict[str, object] | None = None) -> str:
    h, p, _ = token.split(".")
    head = json.loads(b64u_decode(h)) | (header or {})
    body = json.loads(b64u_decode(p)) | (payload or {})
    h2, p2 = b64u_encode(json.dumps(head).encode()), b64u_encode(json.dumps(body).encode())
    return f"{h2}.{p2}.{b64u_encode(key.sign(f'{h2}.{p2}'.encode()))}"


def test_forged_relabelled_stale_and_malformed_tokens_are_refused() -> None:
    good = issue_status_list_token(ISSUER, URI, StatusList.new(64), NOW)
    mallory = SigningKey.from_label("mallory")
    bomb = b64u_encode(zlib.compress(bytes(8 << 20), 9))  # 8 MiB of zeros in a few KiB
    cases = {
        "signature": _resign(good, mallory),  # re-signed by another key, still naming the issuer
        "signed for": _resign(good, mallory, payload={"iss": mallory.did}),
        "not .*abc": _resign(good, ISSUER, payload={"sub": "https://id.example/statuslists/other"}),
        "statuslist\\+jwt": _resign(good, ISSUER, header={"typ": "JWT"}),
        "future": _resign(good, ISSUER, payload={"iat": NOW + 3600}),
        "expired": _resign(good, ISSUER, payload={"exp": NOW - 1}),
        "non-negative": _resign(good, ISSUER, payload={"iat": -1}),
        "no iat": _resign(good, ISSUER, payload={"iat": None}),
        "bits": _resign(good, ISSUER, payload={"status_list": {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}}),
        "ZLIB": _resign(good, ISSUER, payload={"status_list": {"bits": 1, "lst": b64u_encode(b"not zlib")}}),
        "more than": _resign(good, ISSUER, payload={"status_list": {"bits": 1, "lst": bomb}}),
        "truncated": _resign(good, ISSUER, payload={"status_list": {"bits": 1, "lst": b64u_encode(
            zlib.compress(bytes(64), 9)[:-3])}}),
        "empty": _resign(good, ISSUER, payload={"status_list": {"bits": 1, "lst": b64u_encode(zlib.compress(b""))}}),
        "object": _resign(good, ISSUER, payload={"status_list": [1, "x"]}),
        "compact JWS": good + ".x",
        "ASCII": good + "é",
        "1 MiB": "a" * (2 << 20),
    }
    for reason, token in cases.items():
        with pytest.raises(VerificationError, match=reason):
            verify_status_list_token(token, issuer=ISSUER.did, uri=URI, now=NOW)
