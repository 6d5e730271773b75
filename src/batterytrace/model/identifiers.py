"""Identifiers derived from product data: passport ids and their versions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NEW_PASSPORT_STATUSES", "passport_id_for", "passport_version"]

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
