"""Confidential lots seen with the openings their holder received.

The economic operator of a confidential pack holds the openings of its lineage (each supplier
hands over the openings of what it delivered, docs/confidential.md "Passports"). ``revealer``
turns a confidential lot into one whose ``buckets`` hold the opened grams, after checking every
opening against the lot's public commitments, so traces, footprints and due-diligence weights
work as for plain lots. Plain lots pass through unchanged.

Refusals are ``OpeningsError`` naming their rule: ``openings.missing`` (a confidential pack and no
openings store), ``openings.lot`` (no openings held for a lot of the lineage), ``openings.mismatch``
(the openings held do not open the lot's commitments: wrong or tampered).
"""

from __future__ import annotations

from collections.abc import Callable

from batterytrace.errors import BatterytraceError, VerificationError
from batterytrace.ledger.confidential_client import check_openings
from batterytrace.model.entities import Lot
from batterytrace.storage.openings import OpeningStore

__all__ = ["OpeningsError", "revealer"]


class OpeningsError(BatterytraceError):
    """A confidential pack's figures cannot be opened; ``rule`` is ``openings.missing``,
    ``openings.lot`` or ``openings.mismatch``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule


def revealer(openings: OpeningStore) -> Callable[[Lot], Lot]:
    checked: dict[str, dict[str, int]] = {}

    def reveal(lot: Lot) -> Lot:
        if not lot.confidential:
            return lot
        grams = checked.get(lot.lot_id)
        if grams is None:
            held = openings.get(lot.lot_id)
            if not held:
                raise OpeningsError("openings.lot", f"no openings for confidential lot {lot.lot_id}: the issuer needs the "
                                        "openings of the pack's lineage from its suppliers")
            try:
                check_openings(lot, held)
            except VerificationError as exc:
                raise OpeningsError("openings.mismatch", f"openings held for lot {lot.lot_id} do not open it: {exc}") from exc
            grams = checked[lot.lot_id] = {k: o.value for k, o in held.items()}
        opened = lot.copy()
        opened.buckets = dict(grams)
        return opened

    return reveal
