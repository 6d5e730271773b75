"""A participant's private store of commitment openings (value in grams, blinding).

Openings are never part of the log: each participant keeps its own in a separate SQLite file
(or ``:memory:``), keyed by lot id and bucket key. ``export`` gives the wire form handed to a
receiver or an auditor over a private channel; ``openings_from_wire`` decodes it strictly.
Wire form: ``{lot_id: {bucket_key: {"value": grams, "blinding": "<64 hex, little-endian>"}}}``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from batterytrace.crypto.zk import L, Opening
from batterytrace.errors import EncodingError, StorageError

__all__ = ["OpeningStore", "openings_from_wire", "openings_to_wire"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS openings (
    lot_id TEXT NOT NULL, bucket_key TEXT NOT NULL, value INTEGER NOT NULL, blinding TEXT NOT NULL,
    PRIMARY KEY (lot_id, bucket_key))"""


def _blinding_hex(r: int) -> str:
    return r.to_bytes(32, "little").hex()


def openings_to_wire(openings: Mapping[str, Mapping[str, Opening]]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        lot: {b: {"value": o.value, "blinding": _blinding_hex(o.blinding)} for b, o in per.items()}
        for lot, per in openings.items()
    }


def openings_from_wire(wire: Any) -> dict[str, dict[str, Opening]]:
    """Strict decoding: integer grams in [0, 2^48), a 32-byte reduced blinding per bucket."""
    if not isinstance(wire, dict):
        raise EncodingError("openings must be an object lot id → bucket → opening")
    out: dict[str, dict[str, Opening]] = {}
    for lot, per in wire.items():
        if not isinstance(lot, str) or not isinstance(per, dict) or not per:
            raise EncodingError(f"openings of lot {lot!r} must be a non-empty object")
        decoded: dict[str, Opening] = {}
        for bucket, item in per.items():
            if not isinstance(item, dict) or set(item) != {"value", "blinding"}:
                raise EncodingError(f"opening {lot} {bucket} must have value and blinding")
            value, blinding = item["value"], item["blinding"]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**48:
                raise EncodingError(f"opening {lot} {bucket}: value must be integer grams in [0, 2^48)")
            try:
                raw = bytes.fromhex(blinding)
            except (TypeError, ValueError) as exc:
                raise EncodingError(f"opening {lot} {bucket}: blinding is not hex") from exc
            r = int.from_bytes(raw, "little")
            if len(raw) != 32 or r >= L:
                raise EncodingError(f"opening {lot} {bucket}: blinding must be a reduced 32-byte scalar")
            decoded[bucket] = Opening(value, r)
        out[lot] = decoded
    return out


class OpeningStore:
    """Openings by (lot id, bucket key) in a private SQLite database."""

    def __init__(self, path: str = ":memory:") -> None:
        try:
            self._db = sqlite3.connect(path)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the openings store {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def put(self, lot_id: str, openings: Mapping[str, Opening]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO openings(lot_id, bucket_key, value, blinding) VALUES (?,?,?,?)",
                [(lot_id, b, o.value, _blinding_hex(o.blinding)) for b, o in openings.items()],
            )

    def get(self, lot_id: str) -> dict[str, Opening]:
        rows = self._db.execute(
            "SELECT bucket_key, value, blinding FROM openings WHERE lot_id=?", (lot_id,)
        ).fetchall()
        return {b: Opening(v, int.from_bytes(bytes.fromhex(r), "little")) for b, v, r in rows}

    def lot_ids(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT DISTINCT lot_id FROM openings ORDER BY lot_id")]

    def merge(self, other: OpeningStore) -> None:
        """Keep every opening ``other`` holds (e.g. a supplier's, handed over privately)."""
        for lot_id in other.lot_ids():
            self.put(lot_id, other.get(lot_id))

    def export(self, lot_ids: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """The wire form for ``lot_ids`` (for the receiver, or an auditor's request)."""
        found: dict[str, dict[str, Opening]] = {}
        for lot_id in lot_ids:
            per = self.get(lot_id)
            if not per:
                raise StorageError(f"no openings stored for lot {lot_id}")
            found[lot_id] = per
        return openings_to_wire(found)
