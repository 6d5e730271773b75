"""Helpers for confidential-mode ledger tests: a Chain whose participants prove their events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batterytrace.crypto.zk import Opening
from batterytrace.ledger.confidential_client import ProvedEvent, prove_event
from batterytrace.model.events import SignedEvent
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time
from support import Chain

HYDROXIDE_G = 1_000_000
CO_G = 350_000


def hydroxide(buckets: dict[str, int], gross: int = HYDROXIDE_G, coc: str = "segregated") -> dict[str, Any]:
    return {"form": "cobalt_hydroxide", "gross_mass_g": gross, "buckets": buckets, "coc_model": coc}


def sulphate(buckets: dict[str, int], gross: int = 1_600_000, coc: str = "mass_balance") -> dict[str, Any]:
    return {"form": "cobalt_sulphate", "gross_mass_g": gross, "buckets": buckets, "coc_model": coc}


class ConfChain(Chain):
    """A Chain plus every participant's private openings (lot id → bucket → opening)."""

    def __init__(self, store: Store | None = None, ledger_id: str | None = None) -> None:
        super().__init__(store, ledger_id)
        self.openings: dict[str, dict[str, Opening]] = {}
        self.lot = ""  # a test's confidential lot at the refinery, when it made one

    def prove(
        self, who: str, body: dict[str, Any], inputs: Sequence[str] = (), tol: int = 0, scrap_permille: int | None = None
    ) -> ProvedEvent:
        """Prove and sign; ``scrap_permille`` overrides the scrap share the proof states (default:
        the ledger policy's ``max_scrap_permille``)."""
        self.s.tick(0.25)
        timed = {**body, "time": format_time(self.s.clock)}
        if scrap_permille is None:
            scrap_permille = (self.ledger.policy() or DEFAULT_POLICY).max_scrap_permille
        return prove_event(timed, self.s.actors[who].signing_key, [self.openings[i] for i in inputs], tol,
                           ledger=self.s.ledger_id, scrap_permille=scrap_permille)

    def keep(self, proved: ProvedEvent) -> list[str]:
        """Accept the event and keep the new lots' openings."""
        lots = self.accept(proved.event)
        self.openings.update(proved.lot_openings())
        return lots

    def conf_extract_event(self, who: str = "kasonta", origin: str = "certified", co_g: int = CO_G) -> ProvedEvent:
        site = self.s.actors[who].site
        country = self.s.actors[who].country
        body = {"kind": "extract", "site": site, "outputs": [hydroxide({f"Co/{origin}/{country}": co_g})]}
        return self.prove(who, body)

    def conf_extract(self, who: str = "kasonta", origin: str = "certified", co_g: int = CO_G) -> str:
        return self.keep(self.conf_extract_event(who, origin, co_g))[0]

    def ship(self, src: str, dst: str, lots: list[str]) -> SignedEvent:
        ev = self.sign(src, {"kind": "ship", "to": self.did(dst), "lots": lots, "seals": ["S-1"]})
        self.accept(ev)
        return ev

    def receipt_body(self, ship: SignedEvent, dst: str, outputs: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        site = self.s.actors[dst].site
        return {"kind": "receive", "shipment": ship.hash_hex, "lots": ship.body["lots"], "seals": ["S-1"],
                "outputs": outputs, "site": site, **more}

    def conf_at_refinery(self, origin: str = "certified", who: str = "kasonta") -> str:
        lot = self.conf_extract(who, origin)
        ship = self.ship(who, "kivijarvi", [lot])
        key = next(iter(self.openings[lot]))
        body = self.receipt_body(ship, "kivijarvi", [hydroxide({key: CO_G})])
        return self.keep(self.prove("kivijarvi", body, [lot]))[0]

    def at_cell_maker(self, lot: str | None = None) -> str:
        """The refiner processes a confidential lot it holds (``self.lot`` by default) into
        sulphate, keeping its buckets, and delivers it to the cell maker: processed material cells
        may be made from (provenance.product). Returns the lot the cell maker holds."""
        lot = lot or self.lot
        stored = self.ledger.store.get_lot(lot)
        assert stored is not None
        spec = sulphate({k: o.value for k, o in self.openings[lot].items()}, coc=stored.coc_model)
        [refined] = self.keep(self.prove("kivijarvi", {"kind": "transform", "inputs": [lot], "site": "plant:kivijarvi",
                                                       "outputs": [spec]}, [lot], self.transform_tol()))
        ship = self.ship("kivijarvi", "nordcell", [refined])
        return self.keep(self.prove("nordcell", self.receipt_body(ship, "nordcell", [spec]), [refined]))[0]

    def transform_tol(self) -> int:
        return (self.ledger.policy() or DEFAULT_POLICY).tolerance("transform", {"cobalt_hydroxide"})
