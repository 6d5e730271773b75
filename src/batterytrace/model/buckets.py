"""Contained-element buckets: ``element / origin class / origin country`` → integer grams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from batterytrace.errors import EncodingError

__all__ = [
    "ELEMENTS",
    "NO_COUNTRY",
    "ORIGIN_CLASSES",
    "RECYCLED_CLASSES",
    "BucketKey",
    "add_buckets",
    "element_totals",
    "parse_bucket_key",
]

# Elements the ledger accounts for (battery-relevant metals and the Annex XIII reporting set).
ELEMENTS = frozenset(
    {"Co", "Ni", "Li", "Mn", "Cu", "Al", "Fe", "Pb", "C", "P", "Cd", "Hg", "Zn", "Si", "Ti", "Mg"}
)
ORIGIN_CLASSES = ("certified", "uncertified", "recycled-pre", "recycled-post")
RECYCLED_CLASSES = frozenset({"recycled-pre", "recycled-post"})
NO_COUNTRY = "—"  # recycled material has no mine country

_ISO_COUNTRIES_UPPER = frozenset(chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91))


@dataclass(frozen=True, slots=True)
class BucketKey:
    element: str
    origin: str
    country: str

    def __post_init__(self) -> None:
        if self.element not in ELEMENTS:
            raise EncodingError(f"unknown element {self.element!r}")
        if self.origin not in ORIGIN_CLASSES:
            raise EncodingError(f"unknown origin class {self.origin!r} (use one of {ORIGIN_CLASSES})")
        if self.origin in RECYCLED_CLASSES:
            if self.country != NO_COUNTRY:
                raise EncodingError(f"recycled buckets carry no country; use {NO_COUNTRY!r}")
        elif self.country not in _ISO_COUNTRIES_UPPER:
            raise EncodingError(f"origin country must be an ISO 3166 alpha-2 code: {self.country!r}")

    def __str__(self) -> str:
        return f"{self.element}/{self.origin}/{self.country}"

    @property
    def recycled(self) -> bool:
        return self.origin in RECYCLED_CLASSES


_KEY_CACHE: dict[str, BucketKey] = {}


def parse_bucket_key(text: str) -> BucketKey:
    key = _KEY_CACHE.get(text)
    if key is not None:
        return key
    if not isinstance(text, str):
        raise EncodingError("a bucket key is a string")
    parts = text.split("/")
    if len(parts) != 3:
        raise EncodingError(f"bucket key must be element/origin/country: {text!r}")
    key = BucketKey(*parts)
    if len(_KEY_CACHE) < 10_000:
        _KEY_CACHE[text] = key
    return key


def element_totals(buckets: Mapping[str, int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, grams in buckets.items():
        el = parse_bucket_key(key).element
        totals[el] = totals.get(el, 0) + grams
    return totals


def add_buckets(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, grams in part.items():
            total[key] = total.get(key, 0) + grams
    return total
