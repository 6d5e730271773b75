"""ristretto255 group layer: RFC 9496 known-answer vectors, strict decoding, identity and zero."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.group import (
    BASEPOINT,
    IDENTITY,
    L,
    Point,
    base_mul,
    hash_to_point,
    multiexp,
    multiexp_buckets,
    point_from_uniform,
    random_scalar,
    scalar_from_bytes,
    scalar_to_bytes,
)
from batterytrace.errors import EncodingError

# RFC 9496 Appendix A.1: encodings of k·B for k = 0..15.
MULTIPLES = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
]

# RFC 9496 Appendix A.2: invalid encodings (non-canonical, negative, non-square, x·y < 0, s = −1).
INVALID = [
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]

# RFC 9496 Appendix A.3: the one-way map on 64 uniform bytes.
FROM_UNIFORM = [
    (
        "5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1"
        "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
        "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
    ),
    (
        "f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27"
        "0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
        "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
    ),
    (
        "8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c"
        "27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c",
        "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826",
    ),
    (
        "ac22415129b61427bf464e17baee8db65940c233b98afce8d17c57beeb7876c2"
        "150d15af1cb1fb824bbd14955f2b57d08d388aab431a391cfc33d5bafb5dbbaf",
        "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a",
    ),
    (
        "165d697a1ef3d5cf3c38565beefcf88c0f282b8e7dbd28544c483432f1cec767"
        "5debea8ebb4e5fe7d6f6e5db15f15587ac4d4d4a1de7191e0c1ca6664abcc413",
        "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179",
    ),
    (
        "a836e6c9a9ca9f1e8d486273ad56a78c70cf18f0ce10abb1c7172ddd605d7fd2"
        "979854f47ae1ccf204a33102095b4200e5befc0465accc263175485f0e17ea5c",
        "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628",
    ),
    (
        "2cdc11eaeb95daf01189417cdddbf95952993aa9cb9c640eb5058d09702c7462"
        "2c9965a697a3b345ec24ee56335b556e677b30e6f90ac77d781064f866a3c982",
        "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065",
    ),
]


def test_small_multiples_of_the_base_point_match_rfc9496() -> None:
    acc = IDENTITY
    for k, expected in enumerate(MULTIPLES):
        assert base_mul(k).hex() == expected
        assert (BASEPOINT * k).hex() == expected
        assert acc.hex() == expected
        assert Point.from_hex(expected).hex() == expected
        acc = acc + BASEPOINT


@pytest.mark.parametrize("encoding", INVALID)
def test_invalid_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(EncodingError, match="invalid ristretto255 point"):
        Point.from_hex(encoding)


@pytest.mark.parametrize(("uniform", "expected"), FROM_UNIFORM)
def test_hash_to_group_matches_rfc9496(uniform: str, expected: str) -> None:
    assert point_from_uniform(bytes.fromhex(uniform)).hex() == expected


def test_wrong_lengths_are_refused() -> None:
    for raw in (b"", bytes(31), bytes(33)):
        with pytest.raises(EncodingError, match="exactly 32 bytes"):
            Point.from_bytes(raw)
    with pytest.raises(EncodingError, match="not hex"):
        Point.from_hex("zz" * 32)


def test_zero_scalars_and_identity_give_the_identity_without_calling_libsodium() -> None:
    p = base_mul(random_scalar())
    assert base_mul(0) == IDENTITY and base_mul(L) == IDENTITY
    assert (p * 0).is_identity() and (p * L).is_identity()
    assert (IDENTITY * 5).is_identity()
    assert p + IDENTITY == p and IDENTITY + p == p and p - IDENTITY == p
    assert (p - p).is_identity() and (p + -p).is_identity()
    # ℓ − 1 acts as −1
    assert p * (L - 1) == -p


def test_group_laws() -> None:
    a, b = random_scalar(), random_scalar()
    p = base_mul(a)
    assert base_mul(a + b) == p + base_mul(b)
    assert base_mul(a * b) == p * b
    assert multiexp([a, b, 0], [BASEPOINT, p, p]) == base_mul(a + a * b)
    assert multiexp([a], [p], base_scalar=b) == p * a + base_mul(b)
    assert multiexp([], []) == IDENTITY
    with pytest.raises(ValueError, match="as many scalars"):
        multiexp([1], [])


def test_scalar_decoding_refuses_non_canonical_values() -> None:
    assert scalar_from_bytes(scalar_to_bytes(L - 1)) == L - 1
    with pytest.raises(EncodingError, match="non-canonical"):
        scalar_from_bytes(L.to_bytes(32, "little"))
    with pytest.raises(EncodingError, match="non-canonical"):
        scalar_from_bytes(b"\xff" * 32)
    with pytest.raises(EncodingError, match="32 bytes"):
        scalar_from_bytes(bytes(31))


def test_hash_to_point_separates_tags_and_indices() -> None:
    points = {hash_to_point(b"tag/a", 0), hash_to_point(b"tag/a", 1), hash_to_point(b"tag/b", 0)}
    assert len(points) == 3
    assert hash_to_point(b"tag/a", 1) == hash_to_point(b"tag/a", 1)
    with pytest.raises(ValueError, match="domain-separation tag"):
        hash_to_point(b"")


def test_points_are_immutable() -> None:
    with pytest.raises(AttributeError):
        BASEPOINT.data = bytes(32)  # type: ignore[misc]


def test_the_point_constructor_validates() -> None:
    assert Point(BASEPOINT.data) == BASEPOINT
    with pytest.raises(EncodingError, match="invalid ristretto255 point"):
        Point(bytes.fromhex(INVALID[0]))


@pytest.mark.parametrize("window", [1, 4, 7])
def test_bucket_multiexp_agrees_with_per_term_multiexp(window: int) -> None:
    scalars = [random_scalar() for _ in range(5)] + [0, L - 1]
    points = [base_mul(random_scalar()) for _ in range(6)] + [IDENTITY]
    assert multiexp_buckets(scalars, points, window) == multiexp(scalars, points)
    with pytest.raises(ValueError, match="window"):
        multiexp_buckets(scalars, points, 0)
