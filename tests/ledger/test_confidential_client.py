"""Openings travel from sender to receiver (and auditor) and are checked against the public lot."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk import Opening, random_opening
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.confidential_client import check_openings, import_openings
from batterytrace.storage.openings import OpeningStore
from conf_support import CO_G, ConfChain


@pytest.fixture
def c() -> ConfChain:
    return ConfChain()


def test_sender_exports_and_receiver_imports_checked_openings(c: ConfChain) -> None:
    lot = c.conf_extract()
    sender, receiver = OpeningStore(), OpeningStore()
    sender.put(lot, c.openings[lot])
    wire = sender.export([lot])
    assert import_openings(c.ledger.store, receiver, wire) == [lot]
    assert receiver.get(lot) == c.openings[lot]
    assert receiver.get(lot)["Co/certified/CD"].value == CO_G  # the receiver learns the grams


def test_wrong_openings_are_refused_and_nothing_is_kept(c: ConfChain) -> None:
    lot = c.conf_extract()
    other = c.conf_extract(co_g=CO_G)
    key = "Co/certified/CD"
    right = c.openings[lot][key]
    receiver = OpeningStore()
    cases = [
        ("does not match", {key: Opening(right.value + 1, right.blinding)}),
        ("does not match", {key: Opening(right.value, right.blinding ^ 1)}),
        ("openings for", {key: right, "Ni/certified/CD": random_opening(1)}),
    ]
    for message, openings in cases:
        sender = OpeningStore()
        sender.put(lot, openings)
        with pytest.raises(VerificationError, match=message):
            import_openings(c.ledger.store, receiver, sender.export([lot]))
    # another lot's (valid) openings do not open this lot
    with pytest.raises(VerificationError, match="does not match"):
        check_openings(c.ledger.store.get_lot(lot), c.openings[other])  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match="not on the ledger"):
        import_openings(c.ledger.store, receiver, {"ff" * 32 + ":0": {key: {"value": 1, "blinding": "00" * 32}}})
    with pytest.raises(EncodingError):
        import_openings(c.ledger.store, receiver, {lot: {key: {"value": "1", "blinding": "00" * 32}}})
    assert receiver.get(lot) == {}


def test_plain_lots_have_no_openings(c: ConfChain) -> None:
    plain = c.ledger.store.get_lot(c.extract())
    assert plain is not None
    with pytest.raises(VerificationError, match="not confidential"):
        check_openings(plain, {})


def test_auditor_request_is_an_export_of_the_asked_lots(c: ConfChain) -> None:
    lots = [c.conf_extract(), c.conf_extract()]
    mine = OpeningStore()
    for lot in lots:
        mine.put(lot, c.openings[lot])
    auditor = OpeningStore()
    assert import_openings(c.ledger.store, auditor, mine.export(lots[:1])) == lots[:1]
    assert auditor.get(lots[1]) == {}
