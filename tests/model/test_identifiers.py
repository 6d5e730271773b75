"""The canonical GS1 Digital Link of a serialised item (EPCIS export) and the resolver's link
share one path builder: GTIN-14, percent-encoded serial, GS1 syntax checked."""

from __future__ import annotations

import pytest

from batterytrace.model.identifiers import (
    IdentifierError,
    canonical_digital_link,
    digital_link_path,
)
from batterytrace.passport.resolver import parse_resolver


def test_canonical_digital_link() -> None:
    assert canonical_digital_link("4099999000753", "VM75-000001") == (
        "https://id.gs1.org/01/04099999000753/21/VM75-000001")  # GTIN-13 written as GTIN-14
    assert canonical_digital_link("04099999000753", "A/B%C&D") == "https://id.gs1.org/01/04099999000753/21/A%2FB%25C%26D"
    resolver = parse_resolver("https://id.example-oem.test/dpp")
    assert resolver.item_link("04099999000753", "A/B") == "https://id.example-oem.test/dpp/" + digital_link_path(
        "04099999000753", "A/B")


@pytest.mark.parametrize("gtin, serial, message", [
    ("04099999000754", "X1", "wrong check digit"),
    ("409999", "X1", "8, 12, 13 or 14 digits"),
    ("04099999000753", "", "1 to 20 characters"),
    ("04099999000753", "x" * 21, "1 to 20 characters"),
    ("04099999000753", "café", "CSET 82"),
    (None, "X1", "digits"),
])
def test_invalid_identities_have_no_link(gtin: object, serial: object, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        canonical_digital_link(gtin, serial)
