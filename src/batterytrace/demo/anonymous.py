"""Anonymous certified extraction on the demo supply chain: a certified DRC mine extracts cobalt
without naming itself and ships it to Kivijärvi, which alone learns which mine it was.

In the scenario only Kasonta is certified in CD once Mwelu's RMAP lapses (2025-01-15), and a
ring of one would name the mine (``ring.size``). ``ring_setup`` therefore has RMAP re-audit Mwelu
(conformant for three years from the setup's time), and every CD mine — Kasonta, Mwelu and Tujenge — register their
sites' ring keys; Tujenge (GBA indices below 60, no RMAP) holds a key but is not certified, so it
is not in the ring. ``anonymous_shipment`` then proves an anonymous extraction of certified
cobalt by one of the certified mines, with the ring the ledger will build, and its shipment to
Kivijärvi signed by the extraction's one-time key.

Neither function appends to ``Scenario.events``: they return events to submit in order
(``AnonymousRun.events``), at the scenario clock, like ``demo/confidential.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batterytrace.crypto.zk import Opening
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.anonymous import ring_from_store
from batterytrace.ledger.anonymous_client import (
    AnonymousExtraction,
    RingSecret,
    disclose_origin,
    prove_anonymous_extraction,
    ring_key_registration,
    ship_anonymous,
)
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.openings import OpeningStore
from batterytrace.timeutil import format_time

__all__ = ["CD_MINES", "AnonymousRun", "RingSetup", "anonymous_shipment", "ring_setup"]

CD_MINES = ("kasonta", "mwelu", "tujenge")
CO_KEY = "Co/certified/CD"
_THREE_YEARS_US = 3 * 365 * 86_400 * 1_000_000
_REGISTRY_KINDS = frozenset({"register_participant", "register_site", "set_policy", "attest", "register_ring_key"})


@dataclass
class RingSetup:
    """Events to submit before any anonymous extraction, and each CD mine's ring secret (which
    in reality each mine keeps to itself)."""

    events: list[SignedEvent] = field(default_factory=list)
    secrets: dict[str, RingSecret] = field(default_factory=dict)


@dataclass
class AnonymousRun:
    extraction: AnonymousExtraction
    shipment: SignedEvent
    lot: str  # the anonymous lot, in transit to the refiner
    openings: dict[str, dict[str, Opening]]  # lot id → bucket → opening, for the receiver
    disclosure: dict[str, str]  # the mine's private origin disclosure to the refiner
    ring_sites: list[str]  # the certified ring (public), by site

    @property
    def events(self) -> list[SignedEvent]:
        return [self.extraction.event, self.shipment]


def ring_setup(s: Scenario) -> RingSetup:
    """RMAP re-audits Mwelu; Kasonta, Mwelu and Tujenge register their sites' ring keys."""
    setup = RingSetup()
    renewal = {"kind": "attest", "scheme": "RMAP", "subject": "mine:mwelu", "level": "conformant",
               "valid_from": format_time(s.clock), "valid_until": format_time(s.clock + _THREE_YEARS_US),
               "time": format_time(s.clock)}
    setup.events.append(sign_event(renewal, s.actors["rmap"].signing_key, ledger=s.ledger_id))
    for who in CD_MINES:
        s.tick(0.25)
        actor = s.actors[who]
        secret = RingSecret.from_label(str(actor.site), f"batterytrace-demo/ring/{who}")
        setup.secrets[who] = secret
        setup.events.append(ring_key_registration(actor.signing_key, secret, format_time(s.clock), ledger=s.ledger_id))
    s.tick(0.25)
    return setup


def _registry_store(s: Scenario, setup: RingSetup) -> Store:
    """The registry the scenario and the setup imply (participants, sites, policy, attestations,
    ring keys), replayed through the ledger rules: the ring is built by the rule's own function."""
    store = MemoryStore()
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    events = [ev for ev in [*s.events, *setup.events] if ev.kind in _REGISTRY_KINDS]
    result = ledger.submit_batch(events, check_clock=False)
    if result.rejected:
        raise ValueError(f"the scenario's registry events are refused: {result.rejected[0].message}")
    return store


def anonymous_shipment(
    s: Scenario,
    setup: RingSetup,
    who: str = "kasonta",
    co_g: int = 350_000,
    receiver: OpeningStore | None = None,
    store: Store | None = None,
) -> AnonymousRun:
    """``who`` extracts ``co_g`` g of certified cobalt anonymously and ships it to Kivijärvi.

    The ring is read from ``store`` when given (a ledger that has accepted the scenario and
    ``setup.events``), else from the registry the scenario implies. The lot's openings go into
    ``receiver`` (Kivijärvi's opening store) when given, and come back in ``AnonymousRun``."""
    gross = co_g * 1_000_000 // 350_000
    body = {"kind": "extract", "time": format_time(s.clock), "outputs": [
        {"form": "cobalt_hydroxide", "gross_mass_g": gross, "coc_model": "segregated", "buckets": {CO_KEY: co_g},
         "carbon": [{"stage": "raw_material", "kgco2e_per_kg": 4.8, "primary": True}]}]}
    ring = ring_from_store(store if store is not None else _registry_store(s, setup), "CD", s.clock)
    made = prove_anonymous_extraction(body, setup.secrets[who], ring, ledger=s.ledger_id)
    [lot] = made.proved.lot_openings()
    s.tick(1)
    refiner = s.actors["kivijarvi"].did
    shipment = ship_anonymous(made, refiner, format_time(s.clock), seals=[f"ASEAL-{lot[:12]}"])
    s.tick(0.25)
    openings = made.proved.lot_openings()
    if receiver is not None:
        receiver.put(lot, openings[lot])
    return AnonymousRun(
        made, shipment, lot, openings, disclose_origin(made, setup.secrets[who], refiner),
        [m.site_id for m in ring],
    )
