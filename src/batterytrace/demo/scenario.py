"""The demo supply chain: DRC cobalt, Indonesian nickel, Australian lithium and South African
manganese → a Finnish refinery → a German cathode maker (NMC811) → a Swedish cell maker → a
German OEM's 75 kWh packs → a Belgian recycler whose recycled sulphates flow back into new cells.

All companies are fictional. Figures are physically plausible (see docs/data-sources.md). The
scenario is pure: it produces the signed events in order; lot ids are predictable because a lot
is named by its creating event's hash, so nothing needs a ledger to build the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.allocation import draw, split_even
from batterytrace.ledger.ledger import labelled_ledger_id
from batterytrace.model.buckets import add_buckets, element_totals
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.timeutil import format_time, parse_time

__all__ = ["CELLS_PER_PACK", "CELL_CONTENT_MG", "CELL_GTIN", "DEMO_LEDGER_ID", "MODULE_GTIN", "PACK_MASTER_DATA", "Actor", "Scenario", "build_scenario", "gtin14"]

# Element content of one 108 Ah / 3.63 V NMC811 cell (0.392 kWh) in milligrams; see
# docs/data-sources.md (≈ 0.093 kg Co per kWh).
CELL_CONTENT_MG = {"Co": 36_500, "Ni": 290_600, "Mn": 34_000, "Li": 42_900}
CELLS_PER_MODULE = 24
MODULES_PER_PACK = 8
CELLS_PER_PACK = CELLS_PER_MODULE * MODULES_PER_PACK
CELL_KWH = 0.392
CELL_GROSS_G = 1_450
# Mass fraction of the named element in each material form (ppm); stoichiometric or typical.
FORM_ASSAY_PPM = {
    "cobalt_hydroxide": {"Co": 350_000},
    "heterogenite_concentrate": {"Co": 120_000},
    "mixed_hydroxide_precipitate": {"Ni": 390_000, "Co": 35_000},
    "spodumene_concentrate": {"Li": 27_900},
    "manganese_ore": {"Mn": 370_000},
    "cobalt_sulphate": {"Co": 209_700},
    "nickel_sulphate": {"Ni": 223_300},
    "lithium_hydroxide": {"Li": 165_400},
    "manganese_sulphate": {"Mn": 325_000},
}
SULPHATE_FOR = {"Co": "cobalt_sulphate", "Ni": "nickel_sulphate", "Li": "lithium_hydroxide", "Mn": "manganese_sulphate"}
# The OEM's master data for its VM75 pack (not on the ledger): usable share of the rated energy,
# declared service life and its estimate for the pack's own end of life (secondary data).
PACK_MASTER_DATA = {"usable_energy_fraction": 0.95, "service_years": 10.0, "end_of_life_kgco2e_per_kg": 0.5}
CAM_PPM = {"Co": 60_580, "Ni": 482_300, "Mn": 56_480, "Li": 71_260}  # LiNi0.8Mn0.1Co0.1O2
# Trade items of the serialised products (fictional GS1 company prefixes): every cell, module
# and pack carries a GTIN + serial number (docs/rules.md, identity.*).
CELL_GTIN = "07350999001087"  # Nordcell NC-811-108Ah cell
MODULE_GTIN = "04099999000241"  # Voltara VM75 module (24 cells)


def gtin14(company_prefix: str, item: int) -> str:
    body = f"0{company_prefix}{item:0{12 - len(company_prefix)}d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Actor:
    key: str
    name: str
    role: str
    country: str
    site: str | None = None
    site_kind: str | None = None
    lat: float | None = None
    lon: float | None = None
    accreditations: tuple[str, ...] = ()  # an auditor's schemes (the operator records them)
    seed: bytes | None = None  # a key of its own; else derived from a public label (demo participants)

    @property
    def signing_key(self) -> SigningKey:
        if self.seed is not None:
            return SigningKey(self.seed)
        return SigningKey.from_label(f"batterytrace-demo/{self.key}")

    @property
    def did(self) -> str:
        return self.signing_key.did


@dataclass
class LotRef:
    lot_id: str
    form: str
    gross_g: int
    buckets: dict[str, int]
    holder: str
    extra: dict[str, Any] = field(default_factory=dict)


ACTORS = [
    Actor("operator", "Open Battery Ledger Operator", "operator", "BE"),
    Actor("kasonta", "Kasonta Cobalt SA", "mine", "CD", "mine:kasonta", "mine", -10.72, 25.47),
    Actor("mwelu", "Mwelu Hill Mining SARL", "mine", "CD", "mine:mwelu", "mine", -10.98, 26.74),
    Actor("tujenge", "Coopérative Minière Tujenge", "mine", "CD", "mine:tujenge", "mine", -10.63, 25.88),
    Actor("tanjung", "PT Tanjung Biru Nikel", "mine", "ID", "mine:tanjung-biru", "mine", -2.55, 121.38),
    Actor("redgum", "Red Gum Lithium Pty Ltd", "mine", "AU", "mine:red-gum", "mine", -21.03, 118.91),
    Actor("kuruman", "Kuruman Vale Manganese (Pty) Ltd", "mine", "ZA", "mine:kuruman-vale", "mine", -27.42, 22.95),
    Actor("kivijarvi", "Kivijärvi Battery Chemicals Oy", "refiner", "FI", "plant:kivijarvi", "refinery", 63.84, 23.13),
    Actor("aurelia", "Aurelia Cathode Materials GmbH", "cathode_maker", "DE", "plant:aurelia", "cathode_plant", 51.34, 12.37),
    Actor("nordcell", "Nordcell Batteries AB", "cell_maker", "SE", "plant:nordcell", "cell_plant", 64.75, 20.95),
    Actor("voltara", "Voltara Motors AG", "oem", "DE", "plant:voltara", "pack_plant", 48.78, 9.18),
    Actor("circulon", "Circulon Recycling NV", "recycler", "BE", "plant:circulon", "recycling_plant", 51.17, 4.38),
    Actor("rmap", "Responsible Minerals Assurance Auditors Ltd", "auditor", "GB", accreditations=("RMAP",)),
    Actor("gba", "Battery Index Assessors GmbH", "auditor", "DE", accreditations=("GBA-ChildLabour", "GBA-HumanRights")),
    Actor("irma", "Mining Assurance Partners Inc", "auditor", "CA", accreditations=("IRMA",)),
]


DEMO_LEDGER_ID = labelled_ledger_id("demo")
"""The demo ledger's identifier: fixed, so the demo's events and lot ids are reproducible."""


class Scenario:
    def __init__(self, start: str = "2025-01-06T08:00:00Z", ledger_id: str = DEMO_LEDGER_ID) -> None:
        self.ledger_id = ledger_id  # every event is signed for this ledger (body field ``ledger``)
        self.actors = {a.key: a for a in ACTORS}
        self.events: list[SignedEvent] = []
        self.clock = parse_time(start)
        self.lots: dict[str, LotRef] = {}
        self.packs: list[str] = []
        self.legacy_packs: list[str] = []
        self._seal = 0
        self._serial = 0
        self._serials: dict[str, int] = {}

    # ------------------------------------------------------------------------ basics
    def tick(self, hours: float = 1.0) -> None:
        self.clock += int(hours * 3_600_000_000)

    def emit(self, who: str, body: dict[str, Any]) -> SignedEvent:
        actor = self.actors[who]
        full = {**body, "time": format_time(self.clock)}
        nonce = hashlib.sha256(f"{len(self.events)}/{who}".encode()).hexdigest()[:24]
        ev = sign_event({**full, "nonce": nonce}, actor.signing_key, ledger=self.ledger_id)
        self.events.append(ev)
        self.tick(0.25)
        return ev

    def _outputs(self, ev: SignedEvent, specs: list[dict[str, Any]], holder: str) -> list[str]:
        ids = []
        for i, spec in enumerate(specs):
            lid = f"{ev.hash_hex}:{i}"
            self.lots[lid] = LotRef(lid, spec["form"], spec["gross_mass_g"], dict(spec["buckets"]), holder, spec)
            ids.append(lid)
        return ids

    def _spend(self, ids: list[str]) -> dict[str, int]:
        return add_buckets(self.lots.pop(i).buckets for i in ids)

    @staticmethod
    def material(form: str, buckets: dict[str, int], coc: str = "mass_balance", carbon: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
        """An output spec whose gross mass follows from the form's assay of its lead element."""
        assay = FORM_ASSAY_PPM[form]
        lead = next(iter(assay))
        totals = element_totals(buckets)
        gross = max(1, round(totals.get(lead, 0) * 1_000_000 / assay[lead]))
        ppm = {el: round(g * 1_000_000 / gross) for el, g in totals.items()}
        spec: dict[str, Any] = {"form": form, "gross_mass_g": gross, "buckets": buckets, "coc_model": coc, "assay_ppm": ppm}
        spec["assay_cert_sha256"] = hashlib.sha256(f"assay/{form}/{sorted(buckets.items())}".encode()).hexdigest()
        if carbon:
            spec["carbon"] = carbon
        spec.update(more)
        return spec

    def product_id(self, gtin: str, prefix: str) -> dict[str, str]:
        """The next GTIN + serial number of a serialised product line (``prefix``-0000001, …)."""
        n = self._serials[prefix] = self._serials.get(prefix, 0) + 1
        return {"gtin": gtin, "serial": f"{prefix}-{n:07d}"}

    # ------------------------------------------------------------------- registry
    def register_all(self) -> None:
        for a in ACTORS[1:]:
            body: dict[str, Any] = {"kind": "register_participant", "did": a.did, "role": a.role, "legal_name": a.name, "country": a.country}
            if a.accreditations:
                body["accreditations"] = [{"scheme": scheme, "valid_from": "2020-01-01T00:00:00Z"} for scheme in a.accreditations]
            self.emit("operator", body)
        for a in ACTORS:
            if a.site:
                self.emit("operator", {"kind": "register_site", "site_id": a.site, "owner": a.did, "site_kind": a.site_kind, "name": f"{a.name}, {(a.site_kind or 'site').replace('_', ' ')}", "country": a.country, "lat": a.lat, "lon": a.lon})
        self.emit("operator", {"kind": "set_policy", "policy": DEFAULT_POLICY.to_dict()})

    def attest(self, auditor: str, subject: str, scheme: str, start: str, end: str, **more: Any) -> SignedEvent:
        return self.emit(auditor, {"kind": "attest", "scheme": scheme, "subject": subject, "valid_from": start, "valid_until": end, **more})

    # ---------------------------------------------------------------- material flow
    def extract(self, who: str, form: str, gross_g: int, certified: bool, kgco2e_per_kg: float, primary: bool) -> str:
        a = self.actors[who]
        origin = "certified" if certified else "uncertified"
        buckets = {f"{el}/{origin}/{a.country}": gross_g * ppm // 1_000_000 for el, ppm in FORM_ASSAY_PPM[form].items()}
        spec = self.material(form, buckets, "segregated" if certified else "mass_balance", [{"stage": "raw_material", "kgco2e_per_kg": kgco2e_per_kg, "primary": primary}])
        spec["gross_mass_g"] = gross_g
        ev = self.emit(who, {"kind": "extract", "site": a.site, "outputs": [spec], "location": {"lat": a.lat, "lon": a.lon}})
        return self._outputs(ev, [spec], who)[0]

    def ship(self, src: str, dst: str, ids: list[str], loss_permille: int = 0, hours: float = 240) -> list[str]:
        self._seal += 1
        seals = [f"SEAL-{self._seal:06d}-A", f"SEAL-{self._seal:06d}-B"]
        gross = sum(self.lots[i].gross_g for i in ids)
        ship = self.emit(src, {"kind": "ship", "to": self.actors[dst].did, "lots": ids, "seals": seals, "gross_mass_g": gross, "sensors": [{"type": "Temperature", "value": 24.5, "uom": "CEL"}, {"type": "RelativeHumidity", "value": 61.0, "uom": "A93"}]})
        self.tick(hours)
        outputs: list[dict[str, Any]] = []
        loss: dict[str, int] = {}
        for i in ids:
            ref = self.lots[i]
            kept = dict(ref.buckets)
            for key, g in ref.buckets.items():
                lost = g * loss_permille // 1000
                if lost:
                    kept[key] -= lost
                    loss[key] = loss.get(key, 0) + lost
            spec = {k: v for k, v in ref.extra.items() if k in ("form", "coc_model", "gtin", "serial", "model", "capacity_kwh", "chemistry")}
            spec.update({"gross_mass_g": ref.gross_g, "buckets": kept, "carbon": [{"stage": "distribution", "kgco2e_per_kg": 0.05, "primary": False}]})
            spec.setdefault("form", ref.form)
            outputs.append(spec)
        body: dict[str, Any] = {"kind": "receive", "shipment": ship.hash_hex, "lots": ids, "seals": seals, "gross_mass_g": gross, "outputs": outputs, "site": self.actors[dst].site}
        if loss:
            body["loss"] = loss
        ev = self.emit(dst, body)
        for i in ids:
            self.lots.pop(i)
        return self._outputs(ev, outputs, dst)

    def refine(self, who: str, ids: list[str], element: str, loss_permille: int, lot_element_g: int, coc: str, kgco2e_per_kg: float, also: dict[str, int] | None = None) -> list[str]:
        """Turn input lots into sulphate lots of ``lot_element_g`` of ``element`` (+ by-products)."""
        pool = self._spend(ids)
        totals = element_totals(pool)
        loss = {}
        for el, g in totals.items():
            loss.update(draw(pool, {el: g * (also or {}).get(el, loss_permille) // 1000}))
        specs = []
        for el in sorted(element_totals(pool), key=lambda e: e != element):
            remaining = element_totals(pool).get(el, 0)
            while remaining > 0:
                take = min(lot_element_g, remaining)
                specs.append(self.material(SULPHATE_FOR[el], draw(pool, {el: take}), coc, [{"stage": "raw_material", "kgco2e_per_kg": kgco2e_per_kg, "primary": True}]))
                remaining -= take
        ev = self.emit(who, {"kind": "transform", "inputs": ids, "outputs": specs, "loss": loss, "site": self.actors[who].site})
        return self._outputs(ev, specs, who)

    def make_cam(self, who: str, ids: list[str], packs: int) -> tuple[list[str], list[str]]:
        """NMC811 CAM for ``packs`` packs plus 5 % scrap allowance; returns (CAM lots, remainders)."""
        pool = self._spend(ids)
        need = {el: CELL_CONTENT_MG[el] * CELLS_PER_PACK * packs * 105 // 100_000 for el in CELL_CONTENT_MG}
        cam_specs = []
        per_lot = max(1, packs // 2)
        for share in split_even(packs, max(1, (packs + per_lot - 1) // per_lot)):
            amounts = {el: need[el] * share // packs for el in need}
            b = draw(pool, amounts)
            gross = round(element_totals(b)["Co"] * 1_000_000 / CAM_PPM["Co"])
            cam_specs.append({"form": "cam_nmc811", "gross_mass_g": gross, "buckets": b, "coc_model": "mass_balance", "assay_ppm": {el: round(g * 1_000_000 / gross) for el, g in element_totals(b).items()}, "carbon": [{"stage": "raw_material", "kgco2e_per_kg": 9.5, "primary": True}], "assay_cert_sha256": hashlib.sha256(f"cam/{gross}".encode()).hexdigest()})
        loss = draw(pool, {el: need[el] * 15 // 1000 for el in need})
        rest = [self.material(SULPHATE_FOR[el], draw(pool, {el: g})) for el, g in sorted(element_totals(pool).items()) if g > 0]
        ev = self.emit(who, {"kind": "transform", "inputs": ids, "outputs": cam_specs + rest, "loss": loss, "site": self.actors[who].site})
        out = self._outputs(ev, cam_specs + rest, who)
        return out[: len(cam_specs)], out[len(cam_specs) :]

    def make_cells(self, who: str, cam: list[str], n_cells: int) -> tuple[list[str], str | None, str | None]:
        """Cells from CAM lots; returns (cells, production scrap lot, CAM remainder lot)."""
        pool = self._spend(cam)
        cell_g = {el: mg // 1000 for el, mg in CELL_CONTENT_MG.items()}
        cells = []
        for _ in range(n_cells):
            cells.append({"form": "cell", "gross_mass_g": CELL_GROSS_G, "buckets": draw(pool, cell_g), "coc_model": "mass_balance", "model": "NC-811-108Ah", "capacity_kwh": CELL_KWH, "chemistry": "NMC811", "carbon": [{"stage": "production", "kgco2e_per_kg": 7.8, "primary": True}], **self.product_id(CELL_GTIN, "NC811")})
        used = {el: g * n_cells for el, g in cell_g.items()}
        scrap_b = draw(pool, {el: min(element_totals(pool).get(el, 0), g * 4 // 100) for el, g in used.items()})
        loss = draw(pool, {el: min(element_totals(pool).get(el, 0), g * 4 // 1000) for el, g in used.items()})
        specs = list(cells)
        scrap_idx = rem_idx = None
        if scrap_b:
            scrap_idx = len(specs)
            specs.append({"form": "production_scrap", "gross_mass_g": sum(scrap_b.values()) * 3, "buckets": scrap_b, "coc_model": "mass_balance"})
        if pool:
            rem_idx = len(specs)
            gross = round(element_totals(pool).get("Co", 0) * 1_000_000 / CAM_PPM["Co"]) or 1
            specs.append({"form": "cam_nmc811", "gross_mass_g": max(gross, sum(pool.values())), "buckets": dict(pool), "coc_model": "mass_balance"})
        ev = self.emit(who, {"kind": "transform", "inputs": cam, "outputs": specs, "loss": loss, "site": self.actors[who].site})
        out = self._outputs(ev, specs, who)
        return out[:n_cells], (out[scrap_idx] if scrap_idx is not None else None), (out[rem_idx] if rem_idx is not None else None)

    def assemble_pack(self, who: str, cells: list[str]) -> str:
        modules = []
        for m in range(MODULES_PER_PACK):
            part = cells[m * CELLS_PER_MODULE : (m + 1) * CELLS_PER_MODULE]
            b = add_buckets(self.lots[i].buckets for i in part)
            spec = {"form": "module", "gross_mass_g": sum(self.lots[i].gross_g for i in part) + 2_100, "buckets": b, "coc_model": "mass_balance", **self.product_id(MODULE_GTIN, "VM75M")}
            ev = self.emit(who, {"kind": "aggregate", "inputs": part, "outputs": [spec], "site": self.actors[who].site})
            self._spend(part)
            modules.extend(self._outputs(ev, [spec], who))
        self._serial += 1
        b = add_buckets(self.lots[i].buckets for i in modules)
        spec = {"form": "pack", "gross_mass_g": sum(self.lots[i].gross_g for i in modules) + 118_000, "buckets": b, "coc_model": "mass_balance", "gtin": gtin14("4099999", 75), "serial": f"VM75-{self._serial:06d}", "model": "Voltara VM75 NMC811", "capacity_kwh": round(CELL_KWH * CELLS_PER_PACK, 2), "chemistry": "NMC811", "carbon": [{"stage": "production", "kgco2e_per_kg": 0.6, "primary": True}]}
        ev = self.emit(who, {"kind": "aggregate", "inputs": modules, "outputs": [spec], "site": self.actors[who].site})
        self._spend(modules)
        pack = self._outputs(ev, [spec], who)[0]
        # end-of-line test data from the pack's battery management system
        self.emit(who, {"kind": "lifecycle", "lot": pack, "status": "original", "soh_percent": 100.0, "cycles": 0,
                        "deep_discharge_events": 0, "bms": END_OF_LINE_BMS})
        return pack

    def held(self, who: str, form: str) -> list[str]:
        return [i for i, r in self.lots.items() if r.holder == who and r.form == form]

    def pick(self, who: str, form: str, element: str, grams: int, prefer: tuple[str, ...] = ()) -> list[str]:
        """Whole lots of ``form`` held by ``who`` until ``grams`` of ``element`` are covered."""
        lots = sorted(self.held(who, form), key=lambda i: (not any(k in prefer for k in self.lots[i].buckets), i))
        chosen, total = [], 0
        for i in lots:
            if total >= grams:
                break
            chosen.append(i)
            total += element_totals(self.lots[i].buckets).get(element, 0)
        if total < grams:
            raise ValueError(f"{who} holds only {total} g {element} as {form}")
        return chosen


def build_scenario(packs: int = 20, legacy_packs: int = 4, ledger_id: str = DEMO_LEDGER_ID,
                   operator_key: SigningKey | None = None) -> Scenario:
    """The demo's supply chain. The participants' keys derive from public labels (anyone can
    rebuild the demo); ``operator_key`` gives the ledger operator a key of its own, as a served
    ledger needs (a derivable operator key would let anyone sign its tree heads and registrations)."""
    s = Scenario(ledger_id=ledger_id)
    if operator_key is not None:
        s.actors["operator"] = replace(s.actors["operator"], seed=operator_key.seed)
    s.register_all()
    # --- assurance (before extraction) -------------------------------------------------
    s.attest("rmap", "mine:kasonta", "RMAP", "2024-06-01T00:00:00Z", "2027-06-01T00:00:00Z", level="conformant")
    s.attest("rmap", "mine:mwelu", "RMAP", "2023-01-15T00:00:00Z", "2025-01-15T00:00:00Z", level="conformant")
    s.attest("irma", "mine:tanjung-biru", "IRMA", "2024-09-01T00:00:00Z", "2027-09-01T00:00:00Z", level="IRMA 75", score=75)
    s.attest("irma", "mine:red-gum", "IRMA", "2024-03-01T00:00:00Z", "2027-03-01T00:00:00Z", level="IRMA 50", score=50)
    for site, cl, hr in (("mine:kasonta", 72, 70), ("mine:tujenge", 58, 63), ("mine:mwelu", 49, 55)):
        s.attest("gba", site, "GBA-ChildLabour", "2024-10-01T00:00:00Z", "2026-10-01T00:00:00Z", score=cl, questions_answered=14, questions_total=14, companies_covered=10)
        s.attest("gba", site, "GBA-HumanRights", "2024-10-01T00:00:00Z", "2026-10-01T00:00:00Z", score=hr, questions_answered=14, questions_total=14, companies_covered=10)
    s.emit("rmap", {"kind": "incident", "site": "mine:tujenge", "start": "2025-01-20T00:00:00Z", "end": "2025-02-28T00:00:00Z", "severity": "high", "description": "Grievance alleging minors at the washing ponds; site visit and remediation plan pending."})
    s.tick(24 * 14)
    # --- extraction (Feb 2025) -----------------------------------------------------------
    kas = [s.extract("kasonta", "cobalt_hydroxide", 2_000_000, True, 4.8, True) for _ in range(2)]
    mwe = s.extract("mwelu", "cobalt_hydroxide", 2_000_000, False, 5.6, False)
    tuj = s.extract("tujenge", "heterogenite_concentrate", 3_000_000, False, 2.1, False)
    tan = s.extract("tanjung", "mixed_hydroxide_precipitate", 5_000_000, True, 11.5, True)
    red = s.extract("redgum", "spodumene_concentrate", 10_000_000, False, 0.45, True)
    kur = s.extract("kuruman", "manganese_ore", 600_000, False, 0.25, False)
    # --- to the refinery ------------------------------------------------------------------
    kas_in = s.ship("kasonta", "kivijarvi", kas, loss_permille=2, hours=24 * 42)
    mix_in = s.ship("mwelu", "kivijarvi", [mwe], hours=24 * 40) + s.ship("tujenge", "kivijarvi", [tuj], hours=24 * 41)
    tan_in = s.ship("tanjung", "kivijarvi", [tan], hours=24 * 30)
    red_in = s.ship("redgum", "kivijarvi", [red], hours=24 * 35)
    kur_in = s.ship("kuruman", "kivijarvi", [kur], hours=24 * 28)
    s.tick(24 * 5)
    s.refine("kivijarvi", kas_in, "Co", 20, 210_000, "segregated", 2.6)
    s.refine("kivijarvi", mix_in, "Co", 30, 210_000, "mass_balance", 2.6)
    s.refine("kivijarvi", tan_in, "Ni", 20, 223_000, "mass_balance", 3.9)
    s.refine("kivijarvi", red_in, "Li", 120, 82_700, "mass_balance", 11.8)
    s.refine("kivijarvi", kur_in, "Mn", 30, 65_000, "mass_balance", 1.4)
    # --- legacy production (2025) whose packs come back for recycling ---------------------
    _produce(s, legacy_packs, legacy=True)
    s.tick(24 * 14)
    _into_service(s, list(s.legacy_packs))
    # --- end of life, recycling and the recycled material's return ------------------------
    s.tick(24 * 200)
    for p in s.legacy_packs:
        s.emit("voltara", {"kind": "lifecycle", "lot": p, "status": "waste", "soh_percent": 71.5, "cycles": 1450})
    eol = s.ship("voltara", "circulon", list(s.legacy_packs), hours=72)
    scrap = s.ship("nordcell", "circulon", s.held("nordcell", "production_scrap"), hours=72)
    recycled = _recycle(s, eol, "recycled-post", 950) + _recycle(s, scrap, "recycled-pre", 950)
    s.ship("circulon", "aurelia", recycled, hours=96)
    # --- series production (2026) ---------------------------------------------------------
    _produce(s, packs, legacy=False)
    s.tick(24 * 21)
    _into_service(s, list(s.packs))
    # three months on, the last pack's vehicle is in a minor collision: recorded, with the readings
    s.tick(24 * 90)
    s.emit("voltara", {"kind": "lifecycle", "lot": s.packs[-1], "status": "original", "soh_percent": 98.9, "cycles": 61,
                       "deep_discharge_events": 0, "accident": ACCIDENT, "bms": IN_SERVICE_BMS})
    return s


# End-of-line test readings of a new pack from its battery management system (docs/data-sources.md):
# nothing at extreme temperatures yet, no fade, the data sheet's initial self-discharge and efficiency.
END_OF_LINE_BMS: dict[str, float] = {
    "state_of_charge_percent": 30.0, "remaining_capacity_ah": 216.4, "remaining_energy_kwh": 75.4,
    "energy_throughput_kwh": 52.0, "capacity_throughput_ah": 150.0, "state_of_certified_energy_percent": 100.0,
    "capacity_fade_percent": 0.0, "power_fade_percent": 0.0, "round_trip_efficiency_fade_percent": 0.0,
    "remaining_round_trip_efficiency_percent": 95.0, "current_self_discharge_rate_percent_per_month": 2.0,
    "internal_resistance_increase_percent": 0.0, "time_extreme_high_temp_h": 0.0, "time_extreme_low_temp_h": 0.0,
    "time_extreme_high_temp_charging_h": 0.0, "time_extreme_low_temp_charging_h": 0.0, "overcharge_events": 0.0,
}
# After three months and ~61 full cycles (≈ 20,000 km): 1.1 % capacity fade is typical of NMC811 in its
# first months (docs/data-sources.md); a few hours in a cold spell, none charging at extremes.
IN_SERVICE_BMS: dict[str, float] = {
    "state_of_charge_percent": 64.0, "remaining_capacity_ah": 213.6, "remaining_energy_kwh": 74.2,
    "energy_throughput_kwh": 4_650.0, "capacity_throughput_ah": 13_400.0, "state_of_certified_energy_percent": 98.9,
    "capacity_fade_percent": 1.1, "power_fade_percent": 0.8, "round_trip_efficiency_fade_percent": 0.2,
    "remaining_round_trip_efficiency_percent": 94.8, "current_self_discharge_rate_percent_per_month": 2.1,
    "internal_resistance_increase_percent": 1.5, "time_extreme_high_temp_h": 0.0, "time_extreme_low_temp_h": 7.5,
    "time_extreme_high_temp_charging_h": 0.0, "time_extreme_low_temp_charging_h": 0.0, "overcharge_events": 0.0,
}
ACCIDENT = ("Rear-end collision at low speed; pack housing inspected by an authorised workshop: no deformation, "
            "no electrolyte leak, no thermal event; insulation resistance within specification")


def _into_service(s: Scenario, packs: list[str]) -> None:
    """Vehicles delivered: the economic operator records that each pack was put into service, with
    the readings at hand-over (a few hundred km of transfer and test drives since the line)."""
    for p in packs:
        s.emit("voltara", {"kind": "lifecycle", "lot": p, "status": "original", "put_into_service": True, "cycles": 2,
                           "soh_percent": 100.0, "bms": {**END_OF_LINE_BMS, "state_of_charge_percent": 80.0,
                                                         "energy_throughput_kwh": 190.0, "capacity_throughput_ah": 560.0}})


def _recycle(s: Scenario, ids: list[str], origin: str, recovery_permille: int) -> list[str]:
    pool = s._spend(ids)
    totals = element_totals(pool)
    specs, loss = [], {}
    for el, g in sorted(totals.items()):
        rec = g * (recovery_permille - (40 if el == "Li" else 0)) // 1000
        specs.append(s.material(SULPHATE_FOR[el], {f"{el}/{origin}/—": rec}, "mass_balance", [{"stage": "end_of_life", "kgco2e_per_kg": 2.2, "primary": True}]))
        loss[f"{el}/{origin}/—"] = g - rec
    ev = s.emit("circulon", {"kind": "recycle", "inputs": ids, "outputs": specs, "loss": loss, "site": "plant:circulon"})
    return s._outputs(ev, specs, "circulon")


def _produce(s: Scenario, packs: int, legacy: bool) -> None:
    need = {el: mg * CELLS_PER_PACK * packs * 110 // 100_000 for el, mg in CELL_CONTENT_MG.items()}
    recycled_co = sum(g for i in s.held("aurelia", "cobalt_sulphate") for k, g in s.lots[i].buckets.items() if "recycled" in k)
    shipments = []
    for el, form in SULPHATE_FOR.items():
        if el == "Co" and not legacy:
            # series production counts only certified stock (plus recycled) towards its cobalt need
            have = recycled_co + sum(
                g for i in s.held("aurelia", form) for k, g in s.lots[i].buckets.items() if k.startswith("Co/certified")
            )
        else:
            have = sum(element_totals(s.lots[i].buckets).get(el, 0) for i in s.held("aurelia", form))
        short = need[el] - have
        if short > 0:
            # the earlier run buys the cheaper uncertified blend; series production buys certified
            prefer = (("Co/uncertified/CD",) if legacy else ("Co/certified/CD",)) if el == "Co" else ()
            shipments += s.pick("kivijarvi", form, el, short, prefer)
    if shipments:
        s.ship("kivijarvi", "aurelia", shipments, hours=24 * 4)
    stock = [i for form in SULPHATE_FOR.values() for i in s.held("aurelia", form)]
    cam, _rest = s.make_cam("aurelia", stock, packs)
    cam = s.ship("aurelia", "nordcell", cam, hours=48)
    for _ in range(packs):
        cells, _scrap, remainder = s.make_cells("nordcell", cam, CELLS_PER_PACK)
        cam = [remainder] if remainder else []
        cells = s.ship("nordcell", "voltara", cells, hours=36)
        pack = s.assemble_pack("voltara", cells)
        (s.legacy_packs if legacy else s.packs).append(pack)
        s.tick(6)
