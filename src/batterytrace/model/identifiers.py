"""Identifiers of serialised products (GS1 GTIN and serial number syntax) and the passport ids
and versions derived from them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

__all__ = [
    "GS1_CANONICAL_BASE",
    "GS1_CSET82",
    "NEW_PASSPORT_STATUSES",
    "IdentifierError",
    "canonical_digital_link",
    "check_serial",
    "digital_link_path",
    "gtin_check_digit",
    "normalise_gtin",
    "passport_id_for",
    "passport_uuid_for",
    "passport_version",
]

# GS1 General Specifications, figure 7.11-1: the 82 characters of "GS1 AI encodable character
# set 82", which AI 21 (serial number) uses.
GS1_CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
# GS1 Digital Link 1.2, §4.11: the canonical GS1 Digital Link URI of an item uses this domain,
# whatever resolver serves it; EPCIS 2.0 names serialised items by it (its §8.2.4).
GS1_CANONICAL_BASE = "https://id.gs1.org/"
_GTIN_LENGTHS = (8, 12, 13, 14)
_SERIAL_MAX = 20  # AI 21: X..20


class IdentifierError(ValueError):
    """A GTIN or serial number that is not valid GS1 syntax (the message says why)."""


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (the GTIN without its check digit): weights 3
    and 1 alternate from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def normalise_gtin(gtin: object) -> str:
    """A GTIN-8, -12, -13 or -14 with a correct check digit, as its 14-digit form (left-padded
    with zeros, as GS1 Digital Link and AI 01 carry it); ``IdentifierError`` otherwise."""
    if not isinstance(gtin, str) or not gtin.isascii() or not gtin.isdigit() or len(gtin) not in _GTIN_LENGTHS:
        raise IdentifierError(f"a GTIN has 8, 12, 13 or 14 digits: {gtin!r}")
    if gtin_check_digit(gtin[:-1]) != int(gtin[-1]):
        raise IdentifierError(f"GTIN {gtin} has a wrong check digit (expected {gtin_check_digit(gtin[:-1])})")
    return gtin.zfill(14)


def check_serial(serial: object) -> str:
    """A serial number as GS1 AI 21 allows it: 1 to 20 characters of GS1 CSET 82."""
    if not isinstance(serial, str) or not 1 <= len(serial) <= _SERIAL_MAX:
        raise IdentifierError(f"a serial number (GS1 AI 21) has 1 to {_SERIAL_MAX} characters: {serial!r}")
    bad = sorted(set(serial) - GS1_CSET82)
    if bad:
        raise IdentifierError(f"serial number {serial!r} holds characters outside GS1 CSET 82: {bad!r}")
    return serial


def digital_link_path(gtin14: str, serial: str) -> str:
    """The path of an item's GS1 Digital Link below a resolver base: ``01/{GTIN-14}/21/{serial}``,
    the serial percent-encoded (every character outside the URI unreserved set)."""
    return f"01/{gtin14}/21/{quote(serial, safe='')}"


def canonical_digital_link(gtin: object, serial: object) -> str:
    """The canonical GS1 Digital Link URI of a serialised item,
    ``https://id.gs1.org/01/{GTIN-14}/21/{serial}``; ``IdentifierError`` when the GTIN or the
    serial is not valid GS1 syntax."""
    return GS1_CANONICAL_BASE + digital_link_path(normalise_gtin(gtin), check_serial(serial))


# Regulation 2023/1542 Art. 77(6): a repurposed or remanufactured battery gets a new passport
# linked to the passport(s) of the original battery.
NEW_PASSPORT_STATUSES = frozenset({"repurposed", "remanufactured"})


def passport_version(lifecycle: Sequence[Mapping[str, Any]]) -> int:
    """1 for the original battery, +1 for each change of status into repurposed/remanufactured."""
    version, previous = 1, "original"
    for record in lifecycle:
        status = str(record.get("status"))
        if status in NEW_PASSPORT_STATUSES and status != previous:
            version += 1
        previous = status
    return version


def passport_id_for(gtin: str, serial: str, version: int = 1) -> str:
    """A stable passport identifier matching the BatteryPass pattern ``urn:<nid>:<id>``."""
    digest = hashlib.sha256(f"{gtin}/{serial}/{version}".encode()).hexdigest()[:32]
    return f"urn:batterytrace:{digest}"


def passport_uuid_for(passport_id: str) -> str:
    """The passport's identifier as a UUID URN (``urn:uuid:…``, RFC 9562 name-based v5 of the
    passport id in the URL namespace). Catena-X identifies a passport by a UUID, which the
    BatteryPass ``urn:<nid>:<id>`` pattern (no hyphens) cannot hold; the SD-JWT passport carries
    both (``passport_id``, ``passport_uuid``) so a Catena-X export matches it by equality."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, passport_id)}"
