"""The confidential run reaches packs: Kivijärvi's confidential certified cobalt sulphate and
Aurelia's plain stock (with its recycled buckets) become confidential NMC811 cathode material,
Nordcell makes cells and modules, Voltara assembles packs — every quantity a commitment.

Openings travel with the material (sender → receiver). Every supplier also hands the openings of
what it delivered to Voltara, the economic operator, which therefore knows its packs' lineage and
proves the passport's recycled-content, certified-share and origin-mix figures in zero knowledge
(docs/confidential.md "Passports").

Mass balance (ISO 22095) lets each producer allocate bucket credits across its outputs, so a cell
carries mostly one bucket per element; the pack's recycled share is what the CAM maker allocated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batterytrace.crypto.zk import Opening
from batterytrace.demo.confidential import ConfidentialRun, prove_as, sign_as
from batterytrace.demo.scenario import (
    CAM_PPM,
    CELL_CONTENT_MG,
    CELL_GROSS_G,
    CELL_GTIN,
    CELL_KWH,
    MODULE_GTIN,
    SULPHATE_FOR,
    Scenario,
    gtin14,
)
from batterytrace.ledger.confidential import public_openings
from batterytrace.ledger.confidential_client import ProvedEvent
from batterytrace.model.buckets import element_totals, parse_bucket_key
from batterytrace.model.policy import DEFAULT_POLICY, LedgerPolicy

__all__ = ["CELLS_PER_BATCH", "PackDesign", "confidential_packs"]

CELLS_PER_BATCH = 48  # cells per cell-production event (a range-proof group holds ≤ 63 outputs)
# The CAM maker's allocation of recycled credits to the CAM of the confidential packs (‰ of each
# element's mass), within what its stock holds; the rest comes from primary buckets.
RECYCLED_POST_PERMILLE = {"Co": 165, "Ni": 80, "Li": 70, "Mn": 50}
RECYCLED_PRE_PERMILLE = {"Co": 12, "Ni": 3, "Li": 3, "Mn": 3}


class PackDesign:
    """Modules per pack and cells per module (the demo's VM75: 8 × 24 cells of 0.392 kWh)."""

    def __init__(self, modules: int = 8, cells_per_module: int = 24) -> None:
        if modules < 1 or cells_per_module < 1:
            raise ValueError("a pack has at least one module of at least one cell")
        self.modules = modules
        self.cells_per_module = cells_per_module

    @property
    def cells(self) -> int:
        return self.modules * self.cells_per_module


def _lots(proved: ProvedEvent) -> list[str]:
    return list(proved.lot_openings())


def _values(run: ConfidentialRun, who: str, lot: str) -> dict[str, int]:
    return {k: o.value for k, o in run.store(who).get(lot).items()}


_KEPT = ("form", "gross_mass_g", "coc_model", "gtin", "serial", "model", "capacity_kwh", "chemistry")


def _spec_of(run: ConfidentialRun, lot: str) -> dict[str, Any]:
    """The public fields a receipt keeps, from the output spec that created ``lot``."""
    event, index = lot.rsplit(":", 1)
    made = next(ev for ev in run.events if ev.hash_hex == event)
    return {k: v for k, v in made.body["outputs"][int(index)].items() if k in _KEPT}


def _deliver(s: Scenario, run: ConfidentialRun, src: str, dst: str, lots: list[str], hours: float) -> list[str]:
    """Ship confidential lots, hand their openings over, receive them unchanged (no quantity
    changes, so the receipt reuses every commitment and needs no balance proof)."""
    specs = [_spec_of(run, lot) for lot in lots]
    seals = [f"CSEAL-{lots[0][:10]}-{len(run.events)}"]
    ship = sign_as(s, run, src, {"kind": "ship", "to": s.actors[dst].did, "lots": lots, "seals": seals})
    for lot in lots:
        run.store(dst).put(lot, run.store(src).get(lot))
    s.tick(hours)
    outputs = [{**spec, "buckets": _values(run, dst, lot),
                "carbon": [{"stage": "distribution", "kgco2e_per_kg": 0.05, "primary": False}]}
               for lot, spec in zip(lots, specs, strict=True)]
    body = {"kind": "receive", "shipment": ship.hash_hex, "lots": lots, "seals": seals,
            "site": s.actors[dst].site, "outputs": outputs}
    return _lots(prove_as(s, run, dst, body, [run.store(dst).get(lot) for lot in lots], 0))


def _make_cam(s: Scenario, run: ConfidentialRun, conf_co: list[str], design: PackDesign, packs: int,
              policy: LedgerPolicy) -> str:
    """Aurelia: confidential cobalt sulphate + its plain sulphate stock → CAM for ``packs``
    packs and confidential remainders of every input bucket."""
    who = "aurelia"
    plain = [i for form in SULPHATE_FOR.values() for i in s.held(who, form)]
    inputs: list[Mapping[str, Opening]] = [run.store(who).get(i) for i in conf_co]
    inputs += [public_openings(s.lots[i].buckets) for i in plain]
    pool: dict[str, int] = {}
    for per in inputs:
        for key, o in per.items():
            pool[key] = pool.get(key, 0) + o.value
    keys = sorted(pool)
    inputs_g = dict(pool)
    cam: dict[str, int] = {}
    loss: dict[str, int] = {}
    for el, mg in CELL_CONTENT_MG.items():
        need = mg * design.cells * packs * 1_005 // 1_000_000  # 0.5 % allowance for cell losses
        want = {f"{el}/recycled-post/—": need * RECYCLED_POST_PERMILLE[el] // 1000,
                f"{el}/recycled-pre/—": need * RECYCLED_PRE_PERMILLE[el] // 1000}
        for key, grams in want.items():
            if grams:
                if pool.get(key, 0) < grams:
                    raise ValueError(f"Aurelia holds {pool.get(key, 0)} g {key}; {grams} g wanted")
                cam[key] = grams
                pool[key] -= grams
        primary = sorted((k for k in pool if parse_bucket_key(k).element == el and not parse_bucket_key(k).recycled),
                         key=lambda k: (parse_bucket_key(k).origin != "certified", k))
        rest = need - sum(want.values())
        for key in primary:  # certified buckets first
            take = min(rest, pool[key])
            if take:
                cam[key] = cam.get(key, 0) + take
                pool[key] -= take
                rest -= take
        if rest:
            raise ValueError(f"Aurelia holds too little primary {el} for {packs} confidential packs")
        for key in [k for k in keys if parse_bucket_key(k).element == el]:
            # synthesis loss: 1.5 % of what the CAM takes, borne by each bucket in proportion to its input
            lost = min(pool[key], inputs_g[key] * need * 15 // (1000 * element_totals(inputs_g)[el]))
            if lost:
                loss[key] = lost
                pool[key] -= lost
    cam_gross = round(element_totals(cam)["Co"] * 1_000_000 / CAM_PPM["Co"])
    outputs = [{"form": "cam_nmc811", "gross_mass_g": cam_gross, "buckets": cam, "coc_model": "mass_balance",
                "carbon": [{"stage": "raw_material", "kgco2e_per_kg": 9.5, "primary": True}]}]
    for el, form in SULPHATE_FOR.items():  # every input bucket needs an output bucket
        rest_b = {k: pool.get(k, 0) for k in keys if parse_bucket_key(k).element == el}
        if rest_b:
            outputs.append(Scenario.material(form, rest_b))  # prove_event drops its assay
    body = {"kind": "transform", "inputs": conf_co + plain, "outputs": outputs, "site": s.actors[who].site}
    tol = policy.tolerance("transform", {"cobalt_sulphate", "nickel_sulphate", "lithium_hydroxide", "manganese_sulphate"})
    lots = _lots(prove_as(s, run, who, body, inputs, tol))
    for i in plain:
        s.lots.pop(i)
    return lots[0]


def _take_cell(pool: dict[str, int], order: list[str]) -> dict[str, int]:
    """One cell's grams, element by element from the first buckets in ``order`` that hold them
    (mass-balance allocation: most cells carry one bucket per element)."""
    cell: dict[str, int] = {}
    for el, mg in CELL_CONTENT_MG.items():
        rest = mg // 1000
        for key in order:
            if rest and parse_bucket_key(key).element == el and pool.get(key, 0):
                take = min(rest, pool[key])
                cell[key] = take
                pool[key] -= take
                rest -= take
        if rest:
            raise ValueError(f"the CAM holds too little {el} for another cell")
    return cell


CELL_SPEC = {"form": "cell", "gross_mass_g": CELL_GROSS_G, "coc_model": "mass_balance", "model": "NC-811-108Ah",
             "capacity_kwh": CELL_KWH, "chemistry": "NMC811"}


def _make_cells(s: Scenario, run: ConfidentialRun, cam: str, count: int, policy: LedgerPolicy) -> list[str]:
    """Nordcell: cells in batches of ``CELLS_PER_BATCH``, each batch a transformation of the CAM
    lot into cells and the CAM remainder (0.3 % process loss)."""
    who = "nordcell"
    cells: list[str] = []
    while len(cells) < count:
        n = min(CELLS_PER_BATCH, count - len(cells))
        pool = _values(run, who, cam)
        keys = sorted(pool)
        for key in keys:  # process loss: 0.3 % of every bucket of the CAM this batch takes
            pool[key] -= pool[key] * n * 3 // (1000 * max(n, count - len(cells)))
        # recycled credits first: the CAM maker sized the recycled share for these packs
        order = sorted(keys, key=lambda k: (not parse_bucket_key(k).recycled, parse_bucket_key(k).origin, k))
        made = [_take_cell(pool, order) for _ in range(n)]
        outputs = [{**CELL_SPEC, "buckets": c, **s.product_id(CELL_GTIN, "NC811"),
                    "carbon": [{"stage": "production", "kgco2e_per_kg": 7.8, "primary": True}]} for c in made]
        rest = {k: pool.get(k, 0) for k in keys}
        co = element_totals(rest).get("Co", 0)
        outputs.append({"form": "cam_nmc811", "gross_mass_g": max(1, round(co * 1_000_000 / CAM_PPM["Co"]), sum(rest.values())),
                        "buckets": rest, "coc_model": "mass_balance"})
        body = {"kind": "transform", "inputs": [cam], "outputs": outputs, "site": s.actors[who].site}
        lots = _lots(prove_as(s, run, who, body, [run.store(who).get(cam)], policy.tolerance("transform", {"cam_nmc811"})))
        cells += lots[:n]
        cam = lots[n]
        s.tick(2)
    return cells


def _aggregate(s: Scenario, run: ConfidentialRun, who: str, parts: list[str], spec: dict[str, Any]) -> str:
    totals: dict[str, int] = {}
    for part in parts:
        for key, grams in _values(run, who, part).items():
            totals[key] = totals.get(key, 0) + grams
    body = {"kind": "aggregate", "inputs": parts, "outputs": [{**spec, "buckets": totals}], "site": s.actors[who].site}
    return _lots(prove_as(s, run, who, body, [run.store(who).get(p) for p in parts], 0))[0]


def confidential_packs(s: Scenario, run: ConfidentialRun, packs: int = 1, design: PackDesign | None = None,
                       policy: LedgerPolicy = DEFAULT_POLICY) -> list[str]:
    """Confidential packs from the run's refined cobalt (``run.refined``, at Kivijärvi) and
    Aurelia's remaining plain stock of the scenario. Call after ``confidential_chain`` and before
    anything else consumes Aurelia's stock. Returns the pack lot ids; Voltara's openings store
    then holds the openings of every lot in their confidential lineage."""
    design = design or PackDesign()
    if not run.refined:
        raise ValueError("no confidential refined cobalt: run confidential_chain first")
    refined = list(run.refined)
    conf_co = _deliver(s, run, "kivijarvi", "aurelia", refined, hours=24 * 4)
    run.refined.clear()
    cam = _make_cam(s, run, conf_co, design, packs, policy)
    [cam_at_cells] = _deliver(s, run, "aurelia", "nordcell", [cam], hours=48)
    cells = _make_cells(s, run, cam_at_cells, design.cells * packs, policy)
    modules: list[str] = []
    for m in range(packs * design.modules):
        part = cells[m * design.cells_per_module : (m + 1) * design.cells_per_module]
        spec = {"form": "module", "gross_mass_g": CELL_GROSS_G * len(part) + 2_100, "coc_model": "mass_balance",
                **s.product_id(MODULE_GTIN, "VM75M")}
        modules.append(_aggregate(s, run, "nordcell", part, spec))
    modules = _deliver(s, run, "nordcell", "voltara", modules, hours=36)
    module_g = CELL_GROSS_G * design.cells_per_module + 2_100
    out = []
    for p in range(packs):
        s._serial += 1
        spec = {"form": "pack", "gross_mass_g": module_g * design.modules + 118_000,
                "coc_model": "mass_balance", "gtin": gtin14("4099999", 75), "serial": f"VM75-C{s._serial:05d}",
                "model": "Voltara VM75 NMC811", "capacity_kwh": round(CELL_KWH * design.cells, 2),
                "chemistry": "NMC811", "carbon": [{"stage": "production", "kgco2e_per_kg": 0.6, "primary": True}]}
        pack = _aggregate(s, run, "voltara", modules[p * design.modules : (p + 1) * design.modules], spec)
        sign_as(s, run, "voltara", {"kind": "lifecycle", "lot": pack, "status": "original", "soh_percent": 100.0, "cycles": 0,
                                  "bms": {"state_of_charge_percent": 30.0, "remaining_capacity_ah": 216.4,
                                          "remaining_energy_kwh": round(CELL_KWH * design.cells * 0.98, 1),
                                          "energy_throughput_kwh": 52.0}})
        out.append(pack)
    # the suppliers hand the economic operator the openings of their deliveries' lineage
    for who, store in list(run.stores.items()):
        if who != "voltara":
            run.store("voltara").merge(store)
    return out
