"""Test helpers: a small registered supply chain on a ledger, and signing of hand-made events."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from batterytrace.demo.scenario import CELL_GTIN, Scenario
from batterytrace.errors import RuleViolationError
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import format_time

__all__ = ["Chain", "resign"]


class Chain:
    """Registered participants and sites, attestations (Kasonta: valid RMAP; Mwelu: RMAP that
    expired on 2025-01-15; Tanjung Biru: IRMA 75) and a ledger that has accepted all of it. Material helpers come from
    the demo scenario; ``flush`` submits what they produced and insists it is accepted."""

    def __init__(self, store: Store | None = None, ledger_id: str | None = None) -> None:
        self.s = Scenario() if ledger_id is None else Scenario(ledger_id=ledger_id)
        self.s.register_all()
        self.s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
        self.s.attest("rmap", "mine:mwelu", "RMAP", "2023-01-15T00:00:00Z", "2025-01-15T00:00:00Z", level="conformant")
        self.s.attest("irma", "mine:tanjung-biru", "IRMA", "2024-09-01T00:00:00Z", "2027-09-01T00:00:00Z", level="IRMA 75", score=75)
        self.s.tick(24 * 14)
        self.operator = self.s.actors["operator"]
        # the ledger's clock is the scenario's: events signed "now" are ingested now
        self.ledger = Ledger(
            store if store is not None else MemoryStore(), self.operator.did, self.s.ledger_id, clock=self.now_us
        )
        self._sent = 0
        self.flush()

    def now_us(self) -> int:
        return self.s.clock

    def flush(self) -> None:
        """Import what the scenario signed since the last flush, as history (each event counts as
        ingested at its own time)."""
        pending = self.s.events[self._sent :]
        result = self.ledger.submit_batch(pending, check_clock=False)
        assert not result.rejected, result.rejected
        self._sent = len(self.s.events)

    def did(self, who: str) -> str:
        return self.s.actors[who].did

    def sign(self, who: str, body: dict[str, Any]) -> SignedEvent:
        """Sign ``body`` as ``who`` at the scenario clock without recording it in the scenario."""
        self.s.tick(0.25)
        return sign_event(
            {**body, "time": format_time(self.s.clock)}, self.s.actors[who].signing_key, ledger=self.s.ledger_id
        )

    def reject(self, ev: SignedEvent) -> RuleViolationError:
        """Submit ``ev``; assert that it is refused and that the log did not change."""
        size, root = self.ledger.size(), self.ledger.root()
        with pytest.raises(RuleViolationError) as info:
            self.ledger.submit(ev)
        assert (self.ledger.size(), self.ledger.root()) == (size, root)
        return info.value

    def accept(self, ev: SignedEvent) -> list[str]:
        return list(self.ledger.submit(ev).lots)

    def accept_tracked(self, who: str, body: dict[str, Any]) -> list[str]:
        """Sign and accept ``body``; its outputs become scenario lots held by ``who``."""
        ev = self.sign(who, body)
        lots = self.accept(ev)
        assert lots == self.s._outputs(ev, body["outputs"], who)
        return lots

    # material ------------------------------------------------------------------------
    def extract(self, who: str = "kasonta", certified: bool = True, gross_g: int = 1_000_000) -> str:
        lot = self.s.extract(who, "cobalt_hydroxide", gross_g, certified, 4.8, True)
        self.flush()
        return lot

    def ship_and_receive(self, src: str, dst: str, ids: list[str]) -> list[str]:
        out = self.s.ship(src, dst, ids)
        self.flush()
        return out

    def refine(self, lot: str, who: str = "kivijarvi", form: str = "cobalt_sulphate") -> str:
        """``who`` processes a lot it holds as is (same buckets, no loss): processed material, which
        a cell maker may turn into cells (extracted material it may not, provenance.product)."""
        got = self.ledger.store.get_lot(lot)
        assert got is not None
        spec = {"form": form, "gross_mass_g": got.gross_mass_g, "buckets": dict(got.buckets), "coc_model": got.coc_model}
        (out,) = self.accept_tracked(who, {"kind": "transform", "inputs": [lot], "site": self.s.actors[who].site,
                                           "outputs": [spec]})
        return out

    def to_cell_maker(self, lots_at_refiner: list[str]) -> list[str]:
        """Refine lots the refiner holds and deliver the processed lots to the cell maker."""
        return self.ship_and_receive("kivijarvi", "nordcell", [self.refine(lot) for lot in lots_at_refiner])

    def product_id(self, prefix: str = "T") -> dict[str, str]:
        """A fresh GTIN + serial number for a test cell (every product carries one)."""
        return self.s.product_id(CELL_GTIN, prefix)

    def body_of(self, lot: str) -> dict[str, Any]:
        return copy.deepcopy(self.s.lots[lot].extra)


def resign(ev: SignedEvent, who_key: Any, **changes: Any) -> SignedEvent:
    body = {k: v for k, v in ev.body.items() if k != "actor"}
    body.update(changes)
    return sign_event(body, who_key, ledger=str(body.get("ledger", ev.ledger)))
