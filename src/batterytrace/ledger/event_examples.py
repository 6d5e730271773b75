"""The worked examples of docs/events.md: one coherent chain on a fresh ledger — participants,
sites, policy, an attestation, a ring key, then cobalt hydroxide mined in the DRC, refined in
Finland into sulphate, made into two cells and a module in Sweden, assembled into a pack in
Germany, put on the market, declared waste and recycled in Belgium; an incident closes it.

Everything is deterministic (keys from labels, fixed times and nonces, Ed25519 and the
possession proof deterministic), so lot ids in the examples are real and the rendered document
is reproducible. ``example_chain`` returns the signed events in order; tests submit them to a
fresh ledger and insist every one is accepted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.zk.possession import prove_possession
from batterytrace.ledger.anonymous import possession_message
from batterytrace.ledger.anonymous_client import RingSecret
from batterytrace.ledger.ledger import labelled_ledger_id
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.timeutil import format_time, parse_time

__all__ = ["EXAMPLE_LEDGER_ID", "Example", "example_chain", "example_key", "featured_examples"]

EXAMPLE_LEDGER_ID = labelled_ledger_id("docs-examples")
START = "2026-01-05T08:00:00Z"
CELL_GTIN = "07350999001087"
MODULE_GTIN = "04099999000241"
PACK_GTIN = "04099999000258"
PARTICIPANTS = {  # name → (role, legal name, country)
    "mine": ("mine", "Kasonta Cobalt SA", "CD"),
    "refiner": ("refiner", "Kivijärvi Battery Chemicals Oy", "FI"),
    "cell_maker": ("cell_maker", "Nordcell Batteries AB", "SE"),
    "oem": ("oem", "Voltara Motors AG", "DE"),
    "recycler": ("recycler", "Circulon Recycling NV", "BE"),
    "auditor": ("auditor", "Responsible Minerals Assurance Auditors Ltd", "GB"),
}
SITES = {  # owner → (site id, site kind, name, lat, lon)
    "mine": ("mine:kasonta", "mine", "Kasonta open pit", -10.72, 25.47),
    "refiner": ("plant:kivijarvi", "refinery", "Kivijärvi refinery", 63.84, 23.13),
    "cell_maker": ("plant:nordcell", "cell_plant", "Nordcell gigafactory", 64.75, 20.95),
    "oem": ("plant:voltara", "pack_plant", "Voltara pack plant", 48.78, 9.18),
    "recycler": ("plant:circulon", "recycling_plant", "Circulon hydrometallurgy", 51.17, 4.38),
}


def example_key(name: str) -> SigningKey:
    """The documentation's key for ``name`` (operator or a participant): derived from a public
    label, for examples and tests only."""
    return SigningKey.from_label(f"batterytrace-docs/{name}")


@dataclass(frozen=True)
class Example:
    event: SignedEvent
    featured: bool  # the worked example of its kind in docs/events.md
    caption: str


class _Chain:
    def __init__(self) -> None:
        self.clock = parse_time(START)
        self.examples: list[Example] = []

    def emit(self, who: str, body: dict[str, Any], caption: str, featured: bool = False) -> SignedEvent:
        nonce = hashlib.sha256(f"docs/{len(self.examples)}".encode()).hexdigest()[:24]
        ev = sign_event({**body, "time": format_time(self.clock), "nonce": nonce}, example_key(who),
                        ledger=EXAMPLE_LEDGER_ID)
        self.examples.append(Example(ev, featured, caption))
        self.clock += 3_600_000_000  # one hour between events
        return ev

    def when(self, hours: float = 0) -> str:
        return format_time(self.clock + int(hours * 3_600_000_000))


def _lot(ev: SignedEvent, i: int = 0) -> str:
    return f"{ev.hash_hex}:{i}"


def _did(name: str) -> str:
    return example_key(name).did


def _ring_key_body(c: _Chain) -> dict[str, Any]:
    secret = RingSecret.from_label(SITES["mine"][0], "batterytrace-docs/mine-ring")
    body: dict[str, Any] = {"kind": "register_ring_key", "site": secret.site_id, "ring_key": secret.key.hex(),
                            "time": c.when(), "actor": _did("mine"), "v": 1, "ledger": EXAMPLE_LEDGER_ID,
                            "nonce": hashlib.sha256(f"docs/{len(c.examples)}".encode()).hexdigest()[:24]}
    body["pop"] = prove_possession(secret.scalar, possession_message(body), deterministic=True).to_bytes().hex()
    return body


def example_chain() -> list[Example]:
    """The signed example events, in the order a fresh ledger accepts them."""
    c = _Chain()
    for name, (role, legal_name, country) in PARTICIPANTS.items():
        body: dict[str, Any] = {"kind": "register_participant", "did": _did(name), "role": role,
                                "legal_name": legal_name, "country": country}
        if role == "auditor":
            body["accreditations"] = [{"scheme": "RMAP", "valid_from": "2025-01-01T00:00:00Z"}]
        c.emit("operator", body, f"the operator registers the {role.replace('_', ' ')}", featured=name == "mine")
    c.emit("operator", {"kind": "accredit", "auditor": _did("auditor"), "scheme": "IRMA",
                        "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2029-01-01T00:00:00Z"},
           "the operator accredits the auditor for IRMA as well", featured=True)
    for owner, (site_id, kind, name, lat, lon) in SITES.items():
        c.emit("operator", {"kind": "register_site", "site_id": site_id, "owner": _did(owner), "site_kind": kind,
                            "name": name, "country": PARTICIPANTS[owner][2], "lat": lat, "lon": lon},
               f"the operator registers {site_id}", featured=owner == "mine")
    c.emit("operator", {"kind": "set_policy", "policy": DEFAULT_POLICY.to_dict()},
           "the operator sets the sourcing policy and tolerances", featured=True)
    c.emit("auditor", {"kind": "attest", "subject": SITES["mine"][0], "scheme": "RMAP", "level": "conformant",
                       "valid_from": "2025-06-01T00:00:00Z", "valid_until": "2027-06-01T00:00:00Z"},
           "an RMAP audit finds the mine conformant", featured=True)
    ring = _ring_key_body(c)
    c.emit("mine", ring, "the mine registers its site's ring key", featured=True)

    mine, refinery, cells, packs, recycling = (SITES[k][0] for k in SITES)
    hydroxide = {"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 350_000},
                 "assay_ppm": {"Co": 350_000}, "coc_model": "mass_balance",
                 "assay_cert_sha256": hashlib.sha256(b"docs/assay/cobalt_hydroxide").hexdigest(),
                 "carbon": [{"stage": "raw_material", "kgco2e_per_kg": 4.8, "primary": True}]}
    ext = c.emit("mine", {"kind": "extract", "site": mine, "outputs": [hydroxide],
                          "location": {"lat": -10.72, "lon": 25.47}},
                 "the mine extracts one tonne of cobalt hydroxide (35 % Co), certified", featured=True)
    ship1 = c.emit("mine", {"kind": "ship", "to": _did("refiner"), "lots": [_lot(ext)], "seals": ["SEAL-CD-0001"],
                            "gross_mass_g": 1_000_000,
                            "sensors": [{"type": "gs1:Temperature", "value": 31.5, "uom": "CEL"}]},
                   "the mine ships it to the refiner, sealed and weighed", featured=True)
    rec1 = c.emit("refiner", {"kind": "receive", "shipment": ship1.hash_hex, "lots": [_lot(ext)],
                              "seals": ["SEAL-CD-0001"], "gross_mass_g": 998_500, "site": refinery,
                              "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 998_500,
                                           "buckets": {"Co/certified/CD": 349_000}}],
                              "loss": {"Co/certified/CD": 1_000}},
                  "the refiner receives it, 1 kg of cobalt short (within the 5 ‰ receive tolerance)", featured=True)
    sulphate = c.emit("refiner", {"kind": "transform", "inputs": [_lot(rec1)], "site": refinery,
                                  "outputs": [{"form": "cobalt_sulphate", "gross_mass_g": 1_621_364,
                                               "buckets": {"Co/certified/CD": 340_000}, "assay_ppm": {"Co": 209_700},
                                               "carbon": [{"stage": "production", "kgco2e_per_kg": 2.1,
                                                           "primary": True}]}],
                                  "loss": {"Co/certified/CD": 9_000}},
                      "the refiner makes cobalt sulphate, losing 2.6 % of the cobalt (tolerance 5 %)")
    ship2 = c.emit("refiner", {"kind": "ship", "to": _did("cell_maker"), "lots": [_lot(sulphate)]},
                   "the refiner ships the sulphate to the cell maker")
    rec2 = c.emit("cell_maker", {"kind": "receive", "shipment": ship2.hash_hex, "lots": [_lot(sulphate)],
                                 "site": cells, "outputs": [{"form": "cobalt_sulphate", "gross_mass_g": 1_621_364,
                                                             "buckets": {"Co/certified/CD": 340_000}}]},
                  "the cell maker receives it")
    cell = {"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": 37}, "gtin": CELL_GTIN,
            "model": "NC-811-108Ah", "chemistry": "NMC811", "capacity_kwh": 0.392}
    made = c.emit("cell_maker", {"kind": "transform", "inputs": [_lot(rec2)], "site": cells, "outputs": [
        {**cell, "serial": "C-0000001"}, {**cell, "serial": "C-0000002"},
        {"form": "cobalt_sulphate", "gross_mass_g": 1_621_011, "buckets": {"Co/certified/CD": 339_926}}]},
        "the cell maker makes two cells (GTIN + serial each) and keeps the rest of the sulphate", featured=True)
    module = c.emit("cell_maker", {"kind": "aggregate", "inputs": [_lot(made, 0), _lot(made, 1)], "site": cells,
                                   "outputs": [{"form": "module", "gross_mass_g": 3_200, "gtin": MODULE_GTIN,
                                                "serial": "M-0000001", "buckets": {"Co/certified/CD": 74}}]},
                    "the cell maker assembles the cells into a module", featured=True)
    ship3 = c.emit("cell_maker", {"kind": "ship", "to": _did("oem"), "lots": [_lot(module)]},
                   "the module goes to the OEM")
    rec3 = c.emit("oem", {"kind": "receive", "shipment": ship3.hash_hex, "lots": [_lot(module)], "site": packs,
                          "outputs": [{"form": "module", "gross_mass_g": 3_200, "buckets": {"Co/certified/CD": 74}}]},
                  "the OEM receives it (the module keeps its GTIN and serial)")
    pack = c.emit("oem", {"kind": "aggregate", "inputs": [_lot(rec3)], "site": packs,
                          "outputs": [{"form": "pack", "gross_mass_g": 4_000, "gtin": PACK_GTIN,
                                       "serial": "P-0000001", "buckets": {"Co/certified/CD": 74},
                                       "model": "VM-demo", "chemistry": "NMC811", "capacity_kwh": 0.784}]},
                  "the OEM assembles the pack")
    c.emit("oem", {"kind": "lifecycle", "lot": _lot(pack), "status": "original", "soh_percent": 100.0,
                   "cycles": 0, "bms": {"state_of_charge_percent": 50.0, "remaining_capacity_ah": 216.0}},
           "the OEM places the pack on the market (status original)", featured=True)
    ship4 = c.emit("oem", {"kind": "ship", "to": _did("recycler"), "lots": [_lot(pack)]},
                   "years later the pack goes to the recycler")
    rec4 = c.emit("recycler", {"kind": "receive", "shipment": ship4.hash_hex, "lots": [_lot(pack)],
                               "site": recycling, "outputs": [{"form": "pack", "gross_mass_g": 4_000,
                                                               "buckets": {"Co/certified/CD": 74}}]},
                  "the recycler receives it")
    c.emit("recycler", {"kind": "lifecycle", "lot": _lot(rec4), "status": "waste", "soh_percent": 61.5,
                        "cycles": 2_140}, "the recycler declares it waste")
    parts = c.emit("recycler", {"kind": "disaggregate", "inputs": [_lot(rec4)], "site": recycling, "outputs": [
        {"form": "module", "gross_mass_g": 3_200, "gtin": MODULE_GTIN, "serial": "M-0000001",
         "buckets": {"Co/certified/CD": 74}}]},
        "the recycler takes the module out (it gets back its identity)", featured=True)
    c.emit("recycler", {"kind": "recycle", "inputs": [_lot(parts)], "site": recycling, "outputs": [
        {"form": "black_mass", "gross_mass_g": 1_000, "buckets": {"Co/recycled-post/—": 70}}],
        "loss": {"Co/recycled-post/—": 4}},
        "the recycler recovers 70 g of post-consumer recycled cobalt as black mass", featured=True)
    c.emit("auditor", {"kind": "incident", "site": mine, "start": c.when(-30), "end": c.when(-26),
                       "severity": "medium", "description": "Unsafe pit wall reported by a community monitor; "
                       "work stopped for four hours."},
           "the auditor records an incident at the mine", featured=True)
    new_key = example_key("auditor-2")
    c.emit("operator", {"kind": "rotate_key", "participant": _did("auditor"), "new_key": new_key.did},
           "the operator rotates the auditor's key; the auditor's did stays its identifier", featured=True)
    nonce = hashlib.sha256(f"docs/{len(c.examples)}".encode()).hexdigest()[:24]
    body = {"kind": "attest", "subject": SITES["refiner"][0], "scheme": "IRMA", "level": "IRMA 50",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2028-01-01T00:00:00Z", "actor": _did("auditor"),
            "signer": new_key.did, "time": c.when(), "nonce": nonce}
    c.examples.append(Example(sign_event(body, new_key, ledger=EXAMPLE_LEDGER_ID), False,
                              "the auditor attests with its new key (signer), acting as itself (actor)"))
    c.clock += 3_600_000_000
    return c.examples


def featured_examples() -> dict[str, Example]:
    """Kind → its worked example."""
    return {ex.event.kind: ex for ex in example_chain() if ex.featured}
