"""The private openings store: round trips, export wire form, strict decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batterytrace.crypto.zk import L, Opening, random_opening
from batterytrace.errors import EncodingError, StorageError
from batterytrace.storage.openings import OpeningStore, openings_from_wire


def test_openings_survive_reopening_and_export_round_trips(tmp_path: Path) -> None:
    path = str(tmp_path / "openings.db")
    store = OpeningStore(path)
    mine = {"Co/certified/CD": random_opening(350_000), "Ni/uncertified/ID": Opening(0, L - 1)}
    store.put("abc:0", mine)
    store.close()
    again = OpeningStore(path)
    assert again.get("abc:0") == mine
    assert again.get("missing:0") == {}
    assert openings_from_wire(again.export(["abc:0"])) == {"abc:0": mine}
    with pytest.raises(StorageError, match="no openings stored for lot other:1"):
        again.export(["abc:0", "other:1"])
    again.close()


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ([], "must be an object"),
        ({"l:0": {}}, "non-empty"),
        ({"l:0": {"Co/certified/CD": {"value": 1}}}, "value and blinding"),
        ({"l:0": {"Co/certified/CD": {"value": -1, "blinding": "00" * 32}}}, "integer grams"),
        ({"l:0": {"Co/certified/CD": {"value": 2**48, "blinding": "00" * 32}}}, "integer grams"),
        ({"l:0": {"Co/certified/CD": {"value": True, "blinding": "00" * 32}}}, "integer grams"),
        ({"l:0": {"Co/certified/CD": {"value": 1, "blinding": "zz"}}}, "not hex"),
        ({"l:0": {"Co/certified/CD": {"value": 1, "blinding": "00" * 31}}}, "32-byte"),
        ({"l:0": {"Co/certified/CD": {"value": 1, "blinding": "ff" * 32}}}, "reduced"),
    ],
)
def test_malformed_openings_are_refused(wire: Any, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        openings_from_wire(wire)
