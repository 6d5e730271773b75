"""SD-JWT: selective disclosure per access level, refusal of forgeries, and acceptance by an
independent SD-JWT implementation (the ``sd-jwt`` reference library with jwcrypto)."""

from __future__ import annotations

import hashlib
import json

import pytest

from batterytrace.crypto.sdjwt import IssuedSdJwt, SdClaim, issue_sd_jwt, verify_sd_jwt
from batterytrace.crypto.signing import SigningKey
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import VerificationError

ISSUER = SigningKey.from_label("sdjwt-issuer")
VCT = "urn:batterytrace:battery-passport:1"


def issue() -> IssuedSdJwt:
    claims = {
        "passport_id": "urn:uuid:7e1c",
        "chemistry": "NMC811",
        "carbon": {"total_kgco2e": 6787.7, "class": "C"},
        "dismantling": SdClaim({"manual": "sha256:ab12", "tools": ["T20"]}, "legitimate_interest"),
        "soh_percent": SdClaim(97.5, "legitimate_interest"),
        "detailed_composition": SdClaim({"Co_g": 6912, "supplier": SdClaim("Aurelia", "commission")}, "commission"),
        "test_reports": SdClaim(["sha256:cd34"], "authorities"),
    }
    return issue_sd_jwt(ISSUER, claims, vct=VCT, issued_at=1_800_000_000, expires_at=2_000_000_000)


LEVELS = {
    "public": [],
    "legitimate_interest": ["legitimate_interest"],
    "commission": ["legitimate_interest", "commission"],
    "authorities": ["legitimate_interest", "commission", "authorities"],
}


def test_each_level_sees_only_its_claims() -> None:
    sd = issue()
    public = verify_sd_jwt(sd.present(LEVELS["public"]), trusted_issuers=[ISSUER.did], now=1_900_000_000)
    assert public["chemistry"] == "NMC811" and public["carbon"]["class"] == "C"
    assert "soh_percent" not in public and "dismantling" not in public and "test_reports" not in public
    li = verify_sd_jwt(sd.present(LEVELS["legitimate_interest"]))
    assert li["soh_percent"] == 97.5 and li["dismantling"]["tools"] == ["T20"]
    assert "detailed_composition" not in li
    com = verify_sd_jwt(sd.present(LEVELS["commission"]))
    assert com["detailed_composition"] == {"Co_g": 6912, "supplier": "Aurelia"}
    assert "test_reports" not in com
    auth = verify_sd_jwt(sd.present(LEVELS["authorities"]))
    assert auth["test_reports"] == ["sha256:cd34"]
    assert auth["iss"] == ISSUER.did and auth["vct"] == VCT


def test_public_token_carries_no_hidden_value() -> None:
    sd = issue()
    text = sd.present(LEVELS["public"])
    jws_payload = json.loads(b64u_decode(text.split(".")[1]))
    dumped = json.dumps(jws_payload)
    assert "97.5" not in dumped and "Aurelia" not in dumped and "T20" not in dumped


def tamper_payload(presentation: str, change: dict[str, object]) -> str:
    jws, rest = presentation.split("~", 1)
    h, p, s = jws.split(".")
    payload = json.loads(b64u_decode(p))
    payload.update(change)
    p2 = b64u_encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{h}.{p2}.{s}~{rest}"


def test_refuses_tampering_and_forgery() -> None:
    sd = issue()
    good = sd.present(LEVELS["legitimate_interest"])
    with pytest.raises(VerificationError):
        verify_sd_jwt(tamper_payload(good, {"chemistry": "LFP"}))
    jws, rest = good.split("~", 1)
    h, p, s = jws.split(".")
    sig = b64u_decode(s)
    flipped = b64u_encode(bytes([sig[0] ^ 1]) + sig[1:])
    with pytest.raises(VerificationError):
        verify_sd_jwt(f"{h}.{p}.{flipped}~{rest}")
    # a disclosure the holder invents (right name, own salt) is not in the signed digests
    forged = b64u_encode(json.dumps(["c2FsdHNhbHRzYWx0", "detailed_composition", {"Co_g": 1}]).encode())
    with pytest.raises(VerificationError, match="not referenced"):
        verify_sd_jwt(good[:-1] + "~" + forged + "~")
    # a disclosure altered in one byte
    d = sd.disclosures[0].encoded
    raw = bytearray(b64u_decode(d))
    raw[-3] ^= 0x01
    with pytest.raises(VerificationError):
        verify_sd_jwt(f"{jws}~{b64u_encode(bytes(raw))}~")
    # the same disclosure twice
    with pytest.raises(VerificationError, match="twice"):
        verify_sd_jwt(f"{jws}~{d}~{d}~")


def test_disclosure_from_another_passport_is_refused() -> None:
    a, b = issue(), issue()
    stolen = next(d for d in b.disclosures if d.name == "soh_percent").encoded
    with pytest.raises(VerificationError, match="not referenced"):
        verify_sd_jwt(a.present([]) [:-1] + "~" + stolen + "~")


def test_unknown_issuer_expiry_and_malformed_input() -> None:
    sd = issue()
    text = sd.present([])
    with pytest.raises(VerificationError, match="not trusted"):
        verify_sd_jwt(text, trusted_issuers=[SigningKey.from_label("other").did])
    with pytest.raises(VerificationError, match="expired"):
        verify_sd_jwt(text, now=2_000_000_000)
    other = SigningKey.from_label("impostor")
    with pytest.raises(VerificationError):
        verify_sd_jwt(tamper_payload(text, {"iss": other.did}))
    for bad in ["", "~", "a.b~", "a.b.c~", text[:-1], text.replace(".", "", 1)]:
        with pytest.raises(VerificationError):
            verify_sd_jwt(bad)


def test_accepted_by_an_independent_sd_jwt_verifier() -> None:
    jwk_mod = pytest.importorskip("jwcrypto.jwk")
    verifier_mod = pytest.importorskip("sd_jwt.verifier")
    sd = issue()
    x = b64u_encode(ISSUER.public_key)
    issuer_key = jwk_mod.JWK(kty="OKP", crv="Ed25519", x=x)

    def get_key(issuer: str, header: dict[str, object]) -> object:
        assert issuer == ISSUER.did
        return issuer_key

    for level, tags in LEVELS.items():
        presentation = sd.present(tags)
        theirs = verifier_mod.SDJWTVerifier(presentation, get_key).get_verified_payload()
        ours = verify_sd_jwt(presentation)
        assert theirs == ours, level
    # and it refuses what ours refuses
    with pytest.raises(Exception):  # noqa: B017 - the library raises its own error types
        verifier_mod.SDJWTVerifier(tamper_payload(sd.present([]), {"chemistry": "LFP"}), get_key).get_verified_payload()
    assert hashlib  # digests are SHA-256 per _sd_alg


def test_expiry_is_checked_without_an_explicit_clock() -> None:
    """Leaving out ``now`` checks against the current time; it never skips the expiry check."""
    old = issue_sd_jwt(ISSUER, {"passport_id": "urn:uuid:old"}, vct=VCT, issued_at=1_000_000_000, expires_at=1_100_000_000)
    with pytest.raises(VerificationError, match="expired"):
        verify_sd_jwt(old.present([]))
    for exp in ("2100-01-01", 1.5e9, True, None):
        text = tamper_payload(issue().present([]), {"exp": exp})
        resigned = _resign(text)
        with pytest.raises(VerificationError, match="exp"):
            verify_sd_jwt(resigned, now=1_900_000_000)


def _resign(text: str) -> str:
    """Re-sign a tampered payload with the issuer's own key (the issuer wrote a malformed exp)."""
    jws, rest = text.split("~", 1)
    h, p, _ = jws.split(".")
    return f"{h}.{p}.{b64u_encode(ISSUER.sign(f'{h}.{p}'.encode()))}~{rest}"


def test_non_ascii_presentation_is_a_refusal() -> None:
    text = issue().present(LEVELS["authorities"])
    for bad in (text[:-1] + "é~", text.replace(".", "é", 1), "é~"):
        with pytest.raises(VerificationError):
            verify_sd_jwt(bad, now=1_900_000_000)


def _sd_lengths(obj: object) -> list[int]:
    """The length of every ``_sd`` array in a signed payload, depth first."""
    out: list[int] = []
    if isinstance(obj, dict):
        if "_sd" in obj:
            out.append(len(obj["_sd"]))
        for value in obj.values():
            out.extend(_sd_lengths(value))
    return out


def _payload(presentation: str) -> dict[str, object]:
    payload = json.loads(b64u_decode(presentation.split("~", 1)[0].split(".")[1]))
    assert isinstance(payload, dict)
    return payload


def test_decoys_hide_how_many_claims_an_object_holds() -> None:
    """Objects hiding 1 and 7 claims show the same ``_sd`` length; 9 hidden claims pad to 16."""
    def with_hidden(n: int) -> str:
        claims = {"passport_id": "urn:uuid:x", **{f"c{i}": SdClaim(i, "legitimate_interest") for i in range(n)}}
        return issue_sd_jwt(ISSUER, claims, vct=VCT, issued_at=1_800_000_000).present([])
    assert _sd_lengths(_payload(with_hidden(1))) == [8]
    assert _sd_lengths(_payload(with_hidden(7))) == [8]
    assert _sd_lengths(_payload(with_hidden(9))) == [16]
    # the nested object of the fixture is padded too, and its digests are all distinct
    payload = _payload(issue().present([]))
    assert all(n >= 8 for n in _sd_lengths(payload))
    digests = payload["_sd"]
    assert isinstance(digests, list) and len(set(digests)) == len(digests)


def test_decoys_never_match_a_disclosure_and_all_levels_still_verify() -> None:
    sd = issue()
    real = {d.digest for d in sd.disclosures}
    payload = _payload(sd.present([]))
    top = payload["_sd"]
    assert isinstance(top, list)
    decoys = set(top) - real
    assert len(decoys) == len(top) - sum(1 for d in sd.disclosures if d.digest in top)
    for tags in LEVELS.values():
        verify_sd_jwt(sd.present(tags), now=1_900_000_000)
    # a decoy cannot be "disclosed": nobody has a preimage, and a guessed one is refused
    forged = b64u_encode(json.dumps(["salt", "soh_percent", 12.0]).encode())
    with pytest.raises(VerificationError, match="not referenced"):
        verify_sd_jwt(sd.present([]) + forged + "~", now=1_900_000_000)


def test_a_presentation_ends_at_the_final_tilde() -> None:
    for tags in LEVELS.values():
        text = issue().present(tags)
        assert text.endswith("~") and not text.endswith("~~") and "\n" not in text
