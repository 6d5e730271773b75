"""A confidential run on the demo supply chain: cobalt extracted, shipped, received and refined
with commitments and proofs instead of grams, openings kept in each participant's private store.

Used by ``batterytrace demo --confidential`` and by the ``confidential`` benchmark group.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from batterytrace.crypto.zk import Opening
from batterytrace.demo.anonymous import RingSetup, anonymous_shipment
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.confidential_client import ProvedEvent, prove_event
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.policy import DEFAULT_POLICY, LedgerPolicy
from batterytrace.storage.base import Store
from batterytrace.storage.openings import OpeningStore
from batterytrace.timeutil import format_time

__all__ = ["ConfidentialRun", "anonymous_chain", "confidential_attacks", "confidential_chain", "prove_as", "sign_as"]

CO_KEY = "Co/certified/CD"


@dataclass
class ConfidentialRun:
    """Events in ingest order and every participant's private openings store."""

    events: list[SignedEvent] = field(default_factory=list)
    stores: dict[str, OpeningStore] = field(default_factory=dict)
    refined: list[str] = field(default_factory=list)  # confidential sulphate lots at the refinery
    executor: Executor | None = None  # proves the groups of an event in parallel when set
    disclosures: list[dict[str, str]] = field(default_factory=list)  # anonymous mines' origin disclosures

    def store(self, who: str) -> OpeningStore:
        if who not in self.stores:
            self.stores[who] = OpeningStore()
        return self.stores[who]


def prove_as(s: Scenario, run: ConfidentialRun, who: str, body: dict[str, Any],
             inputs: Sequence[Mapping[str, Opening]], tol: int) -> ProvedEvent:
    """``who`` proves and signs ``body`` at the scenario clock from the openings of its inputs
    (on the run's executor when set), keeps the new lots' openings and queues the event."""
    timed = {**body, "time": format_time(s.clock)}
    s.tick(0.25)
    proved = prove_event(timed, s.actors[who].signing_key, inputs, tol, run.executor, ledger=s.ledger_id)
    for lot, openings in proved.lot_openings().items():
        run.store(who).put(lot, openings)
    run.events.append(proved.event)
    return proved


def _prove(s: Scenario, run: ConfidentialRun, who: str, body: dict[str, Any], inputs: list[str], tol: int) -> ProvedEvent:
    return prove_as(s, run, who, body, [run.store(who).get(i) for i in inputs], tol)


def sign_as(s: Scenario, run: ConfidentialRun, who: str, body: dict[str, Any]) -> SignedEvent:
    ev = sign_event({**body, "time": format_time(s.clock)}, s.actors[who].signing_key, ledger=s.ledger_id)
    s.tick(0.25)
    run.events.append(ev)
    return ev


def confidential_chain(
    s: Scenario, run: ConfidentialRun, co_g: int = 350_000, policy: LedgerPolicy = DEFAULT_POLICY
) -> str:
    """Kasonta extracts ``co_g`` g of certified cobalt (confidentially), ships it to Kivijärvi,
    which receives it with a 0.2 % transit loss and refines it with a 3 % loss. Openings travel
    from sender to receiver through their stores. Returns the refined lot id."""
    mine, refiner = "kasonta", "kivijarvi"
    gross = co_g * 1_000_000 // 350_000
    hydroxide = {"form": "cobalt_hydroxide", "gross_mass_g": gross, "coc_model": "segregated"}
    extracted = _prove(s, run, mine, {"kind": "extract", "site": s.actors[mine].site,
                                      "outputs": [{**hydroxide, "buckets": {CO_KEY: co_g}}]}, [], 0)
    [lot] = extracted.lot_openings()
    s.tick(1)
    ship = sign_as(s, run, mine, {"kind": "ship", "to": s.actors[refiner].did, "lots": [lot], "seals": [f"CSEAL-{lot[:12]}"]})
    # the sender hands the openings over a private channel; the receiver keeps them
    run.store(refiner).put(lot, run.store(mine).get(lot))
    return _receive_and_refine(s, run, lot, ship, co_g, gross, policy)


def anonymous_chain(s: Scenario, run: ConfidentialRun, setup: RingSetup, store: Store, who: str = "kasonta",
                    co_g: int = 300_000, policy: LedgerPolicy = DEFAULT_POLICY) -> str:
    """As ``confidential_chain``, but ``who`` extracts anonymously (a one-time key and a ring
    proof over the certified CD mines' keys; ``setup.events`` must be on the ledger behind
    ``store``); the one-time key ships to Kivijärvi, which alone learns the mine from the
    disclosure. Returns the refined lot id."""
    made = anonymous_shipment(s, setup, who, co_g, receiver=run.store("kivijarvi"), store=store)
    run.events += made.events
    run.disclosures.append(made.disclosure)  # private, to Kivijärvi: checkable once the extraction is logged
    gross = co_g * 1_000_000 // 350_000
    return _receive_and_refine(s, run, made.lot, made.shipment, co_g, gross, policy)


def _receive_and_refine(s: Scenario, run: ConfidentialRun, lot: str, ship: SignedEvent, co_g: int, gross: int,
                        policy: LedgerPolicy) -> str:
    refiner = "kivijarvi"
    hydroxide = {"form": "cobalt_hydroxide", "gross_mass_g": gross, "coc_model": "segregated"}
    s.tick(48)
    lost = co_g * 2 // 1000
    received = _prove(s, run, refiner, {
        "kind": "receive", "shipment": ship.hash_hex, "lots": [lot], "seals": ship.body["seals"],
        "site": s.actors[refiner].site, "outputs": [{**hydroxide, "buckets": {CO_KEY: co_g - lost}}],
        "loss": {CO_KEY: lost},
    }, [lot], policy.tolerance("receive"))
    [held] = received.lot_openings()
    s.tick(24)
    refined_g = (co_g - lost) * 97 // 100
    sulphate = {"form": "cobalt_sulphate", "gross_mass_g": refined_g * 1_000_000 // 209_700,
                "coc_model": "segregated", "buckets": {CO_KEY: refined_g}}
    transformed = _prove(s, run, refiner, {
        "kind": "transform", "inputs": [held], "site": s.actors[refiner].site, "outputs": [sulphate],
        "loss": {CO_KEY: co_g - lost - refined_g},
    }, [held], policy.tolerance("transform", {"cobalt_hydroxide"}))
    [out] = transformed.lot_openings()
    run.refined.append(out)
    return out


def confidential_attacks(s: Scenario, run: ConfidentialRun, lot: str) -> list[tuple[str, SignedEvent]]:
    """Events the ledger must refuse, each spending the refined confidential ``lot``."""
    who = "kivijarvi"
    key = s.actors[who].signing_key
    openings = run.store(who).get(lot)
    grams = openings[CO_KEY].value

    def body(out_g: int, loss_g: int) -> dict[str, Any]:
        return {"kind": "transform", "inputs": [lot], "site": s.actors[who].site, "time": format_time(s.clock),
                "outputs": [{"form": "cobalt_sulphate", "gross_mass_g": 1_000_000, "coc_model": "mass_balance",
                             "buckets": {CO_KEY: out_g}}], "loss": {CO_KEY: loss_g}}

    s.tick(1)
    too_lossy = prove_event(body(grams // 2, grams - grams // 2), key, [openings], 1000, ledger=s.ledger_id).event
    honest = prove_event(body(grams, 0), key, [openings], 50, ledger=s.ledger_id).event
    replayed_body = copy.deepcopy(body(grams, 0))
    replayed_body.pop("loss")
    replayed_body["outputs"][0].pop("buckets")
    replayed = sign_event({**replayed_body, "outputs": honest.body["outputs"], "loss": honest.body["loss"],
                           "proofs": honest.body["proofs"], "contained": honest.body["contained"]}, key, ledger=s.ledger_id)
    plain = sign_event({**body(grams, 0), "loss": {}}, key, ledger=s.ledger_id)
    return [
        ("a committed 50 % refining loss (proved against a looser tolerance)", too_lossy),
        ("balance proofs copied from another event", replayed),
        ("a plain event consuming a confidential lot", plain),
    ]
