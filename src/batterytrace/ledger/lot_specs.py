"""Parsing the parts of a material event that become lots: output specs (form, gross mass, buckets,
assay, carbon, product data), physical evidence, and the new ``Lot`` records. Shared by the plain,
confidential and anonymous rule handlers. Every refusal names its rule (docs/rules.md)."""

from __future__ import annotations

import math
from typing import Any

from batterytrace.errors import RuleViolationError
from batterytrace.ledger.fields import (
    req_buckets,
    req_int,
    req_number,
    req_str,
    schema_error,
)
from batterytrace.ledger.pact import check_pact_entry, check_pact_time
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.buckets import element_totals
from batterytrace.model.entities import CARBON_STAGES, COC_MODELS, FORM_LEVELS, Lot, lot_id
from batterytrace.model.events import SignedEvent
from batterytrace.model.identifiers import IdentifierError, check_serial, normalise_gtin

__all__ = [
    "ASSEMBLED",
    "ORIGIN_SITES",
    "PRODUCT_DATA",
    "assembled_from",
    "check_evidence",
    "check_identities",
    "merged_origin_sites",
    "new_lot",
    "origin_sites",
    "parse_output",
    "restore_parts",
]

_HEX = frozenset("0123456789abcdef")
PRODUCT_DATA = ("model", "capacity_kwh", "chemistry")  # carried by new_lot into Lot.extra


def check_evidence(body: dict[str, Any]) -> None:
    """Physical evidence: seals, sensor readings, assay certificate hashes, locations."""
    seals = body.get("seals")
    if seals is not None and (
        not isinstance(seals, list)
        or not all(isinstance(s, str) and 0 < len(s) <= 128 for s in seals)
        or len(set(seals)) != len(seals)
    ):
        raise RuleViolationError("evidence.seals", "seals must be a list of distinct seal/tag ids")
    sensors = body.get("sensors")
    if sensors is not None:
        if not isinstance(sensors, list):
            raise RuleViolationError("evidence.sensor", "sensors must be a list of readings")
        for r in sensors:
            ok = (
                isinstance(r, dict)
                and isinstance(r.get("type"), str)
                and isinstance(r.get("uom"), str)
                and isinstance(r.get("value"), int | float)
                and not isinstance(r.get("value"), bool)
                and math.isfinite(r["value"])
            )
            if not ok:
                raise RuleViolationError(
                    "evidence.sensor", "a sensor reading needs type, numeric value and uom (EPCIS sensorReport)"
                )
    loc = body.get("location")
    if loc is not None:
        ok = isinstance(loc, dict) and all(
            isinstance(loc.get(k), int | float) and not isinstance(loc.get(k), bool) for k in ("lat", "lon")
        )
        if not ok or not (-90 <= loc["lat"] <= 90 and -180 <= loc["lon"] <= 180):
            raise RuleViolationError("evidence.location", "location must be {lat, lon} in degrees")


def _cert_hash(spec: dict[str, Any]) -> None:
    h = spec.get("assay_cert_sha256")
    if h is not None and (not isinstance(h, str) or len(h) != 64 or not set(h) <= _HEX):
        raise RuleViolationError("evidence.assay_cert", "assay_cert_sha256 must be 64 lower-case hex digits")


def _carbon_share(entry: dict[str, Any], where: str) -> None:
    """The optional primary-data share of a carbon entry (% of its kg CO2e from primary data;
    without it ``primary`` counts as 100 % or 0 %) and the optional PACT provenance
    (``ledger/pact.py``: the entry must be what the supplier's PCF converts to)."""
    share = entry.get("primary_data_share_percent")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share) or not 0 <= share <= 100:
            raise schema_error(f"{where}.primary_data_share_percent must be a percentage in [0, 100]")
        if entry["primary"] is not (share == 100):
            raise schema_error(f"{where}: primary is true exactly when primary_data_share_percent is 100")
    if "pact" in entry:
        check_pact_entry(entry, where)


def check_carbon_time(spec: dict[str, Any], i: int, t: int) -> None:
    """``pact.validity`` of every PACT-backed carbon entry of output ``i`` at event time ``t``."""
    for c in spec.get("carbon") or []:
        if isinstance(c, dict) and "pact" in c:
            check_pact_time(c, f"outputs[{i}].carbon", t)


def parse_output(given: Any, i: int, policy_assay_permille: int) -> dict[str, Any]:
    """A checked copy of an output spec (the rules may complete it; the event body stays as signed)."""
    if not isinstance(given, dict):
        raise schema_error(f"outputs[{i}] must be an object")
    spec: dict[str, Any] = dict(given)
    req_str(spec, "form", 64)
    gross = req_int(spec, "gross_mass_g", 1, 2**48)
    buckets = req_buckets(spec, "buckets", allow_empty=True)
    coc = spec.get("coc_model", "mass_balance")
    if coc not in COC_MODELS:
        raise schema_error(f"outputs[{i}].coc_model must be one of {COC_MODELS}")
    assay = spec.get("assay_ppm", {})
    if not isinstance(assay, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1_000_000 for v in assay.values()
    ):
        raise schema_error(f"outputs[{i}].assay_ppm must map elements to integer ppm")
    totals = element_totals(buckets)
    if sum(totals.values()) > gross:
        raise RuleViolationError("assay", f"outputs[{i}]: contained metal exceeds gross mass")
    for el, ppm in assay.items():
        expected = gross * ppm / 1_000_000
        if abs(totals.get(el, 0) - expected) > expected * policy_assay_permille / 1000 + 1:
            raise RuleViolationError(
                "assay",
                f"outputs[{i}]: {el} buckets hold {totals.get(el, 0)} g but the assay says {expected:.0f} g",
            )
    carbon = spec.get("carbon", [])
    if not isinstance(carbon, list):
        raise schema_error(f"outputs[{i}].carbon must be a list")
    for c in carbon:
        ok = (
            isinstance(c, dict)
            and c.get("stage") in CARBON_STAGES
            and isinstance(c.get("kgco2e_per_kg"), int | float)
            and not isinstance(c.get("kgco2e_per_kg"), bool)
            and math.isfinite(c["kgco2e_per_kg"])
            and c["kgco2e_per_kg"] >= 0
            and isinstance(c.get("primary"), bool)
        )
        if not ok:
            raise schema_error(
                f"outputs[{i}].carbon entries need stage in {CARBON_STAGES}, kgco2e_per_kg ≥ 0, primary"
            )
        _carbon_share(c, f"outputs[{i}].carbon")
    _cert_hash(spec)
    for name in ("model", "chemistry"):  # gtin and serial: check_identities
        if spec.get(name) is not None:
            req_str(spec, name, 64)
    if spec.get("capacity_kwh") is not None:
        req_number(spec, "capacity_kwh", 1e-9, 1e9)  # rated energy: the passport divides by it
    # a normalised copy: later rules read ``buckets`` and ``coc_model`` without defaults
    return {**spec, "buckets": buckets, "coc_model": coc}


ORIGIN_SITES = "origin_sites"
"""Lot.extra of every lot: the sites its material was extracted at (a mine, or ``ring:<country>``
for an anonymous extraction). Extraction sets it, every other event carries the union of its
inputs' on (receipts keep it although they move the lot to the receiver's site), so the ISO 22095
identity-preserved model (``coc.identity``) compares the sources, not where a lot lies now."""


def origin_sites(lot: Lot) -> list[str]:
    """The extraction sites of a lot's material (``ORIGIN_SITES``; an extracted lot: its site)."""
    recorded = lot.extra.get(ORIGIN_SITES)
    if recorded is not None:
        return list(recorded)
    return [lot.site] if lot.site is not None else []


def merged_origin_sites(lots: list[Lot]) -> list[str]:
    return sorted({site for lot in lots for site in origin_sites(lot)})


ASSEMBLED = "assembled_from"
"""Lot.extra of a module, pack or vehicle: the identities of the children the aggregation that
assembled it consumed, ``[{gtin, serial, form, assembled_from?}]`` (nested for children that were
assembled themselves); receipts carry it on, and a disaggregation may give exactly these back."""


# A product's own history, which an identity carries: its lifecycle records (status, state of
# health, the passport version they imply), who assembled it and from which lots, whether it came
# out of an end-of-life product, and what it was assembled from. Aggregation keeps them with the
# child's identity, and the part that takes the identity back takes them back: taking a battery
# into a vehicle and out again must not wipe its waste status or roll its passport back.
PRODUCT_HISTORY = ("lifecycle", "economic_operator", "children", "end_of_life_from", ASSEMBLED)


def assembled_from(children: list[Lot]) -> list[dict[str, Any]]:
    """What an aggregation records on its parent (``ASSEMBLED``): each child's identity, form and
    history (``PRODUCT_HISTORY``)."""
    entries: list[dict[str, Any]] = []
    for child in children:
        entry: dict[str, Any] = {"gtin": child.gtin, "serial": child.serial, "form": child.form}
        for key in PRODUCT_HISTORY:
            if child.extra.get(key):
                entry[key] = child.extra[key]
        entries.append(entry)
    return sorted(entries, key=lambda e: (str(e["gtin"]), str(e["serial"])))


def check_identities(
    st: BatchState, outputs: list[dict[str, Any]], *, sources: list[Lot] | None = None, parent: Lot | None = None
) -> dict[int, dict[str, Any]]:
    """The one identity check of every event that creates lots (extract, transform, aggregate,
    disaggregate, receive, recycle; plain, confidential and anonymous alike). A GTIN + serial
    number names one physical product:

    * bulk material (level 0) carries no GTIN or serial (``identity.bulk``);
    * a product (cell and up) carries both (``identity.missing``), a GTIN-8/12/13/14 with a correct
      check digit, stored in its 14-digit form, and a GS1 AI 21 serial (``identity.format``);
    * no output takes a pair that another lot carries, in the log or earlier in the batch or the
      event (``identity.serial``), except that a receipt's output ``i`` keeps the identity of the
      lot ``sources[i]`` it receives (a missing one is inherited), and disaggregating ``parent``
      gives a part back the identity of a child the aggregation that assembled the parent
      consumed (recorded on the parent as ``ASSEMBLED``, carried through receipts), in that
      child's form, once, and only while no live lot carries it.

    Completes the specs in place (normalised GTIN, inherited identity); they are rule-owned copies.
    Returns output index → the ``ASSEMBLED`` entry of each identity a disaggregation gave back."""
    seen: set[tuple[str, str]] = set()
    children = {(e["gtin"], e["serial"]): e for e in (parent.extra.get(ASSEMBLED) or [])} if parent else {}
    restored: dict[int, dict[str, Any]] = {}
    for i, spec in enumerate(outputs):
        src = sources[i] if sources is not None else None
        if src is not None:
            spec.setdefault("gtin", src.gtin)
            spec.setdefault("serial", src.serial)
        gtin, serial = spec.get("gtin"), spec.get("serial")
        if FORM_LEVELS.get(spec["form"], 0) == 0:
            if gtin is not None or serial is not None:
                raise RuleViolationError(
                    "identity.bulk", f"outputs[{i}]: bulk material ({spec['form']}) carries no GTIN or serial number"
                )
            continue
        if gtin is None or serial is None:
            raise RuleViolationError(
                "identity.missing", f"outputs[{i}]: a {spec['form']} is a serialised product and needs a GTIN and a serial number"
            )
        try:
            gtin = spec["gtin"] = normalise_gtin(gtin)
            check_serial(serial)
        except IdentifierError as exc:
            raise RuleViolationError("identity.format", f"outputs[{i}]: {exc}") from exc
        if src is not None and (gtin, serial) == (src.gtin, src.serial):
            seen.add((gtin, serial))  # the received product keeps its name (receipt.identity)
            continue
        carriers = st.lots_with_serial(gtin, serial)
        if (gtin, serial) in seen:
            raise RuleViolationError("identity.serial", f"outputs[{i}]: GTIN {gtin} serial {serial} is given twice")
        seen.add((gtin, serial))
        if not carriers:
            continue
        child = children.get((gtin, serial))
        if child is None or any(x.status != "spent" for x in carriers):
            raise RuleViolationError(
                "identity.serial", f"outputs[{i}]: GTIN {gtin} serial {serial} is already issued to another lot"
            )
        if child["form"] != spec["form"]:
            raise RuleViolationError(
                "identity.serial",
                f"outputs[{i}]: GTIN {gtin} serial {serial} named a {child['form']} of the parent, not a {spec['form']}",
            )
        restored[i] = child
    return restored


def restore_parts(effect: Effect, ev: SignedEvent, restored: dict[int, dict[str, Any]]) -> Effect:
    """A part that took back a child's identity takes back that child's history
    (``PRODUCT_HISTORY``: lifecycle, economic operator, lineage, end-of-life mark, what it was
    assembled from); marks the disaggregation itself set (an end-of-life parent) stay."""
    for lot in effect.lots.values():
        entry = restored.get(lot.index) if lot.event == ev.hash_hex else None
        if entry is None:
            continue
        for key in PRODUCT_HISTORY:
            if key in entry:
                lot.extra.setdefault(key, entry[key])
    return effect


def new_lot(ev: SignedEvent, i: int, spec: dict[str, Any], t: int, site: str | None, attestations: list[str]) -> Lot:
    check_carbon_time(spec, i, t)
    extra: dict[str, Any] = {}
    if spec.get("assay_cert_sha256"):
        extra["assay_cert_sha256"] = spec["assay_cert_sha256"]
    for name in PRODUCT_DATA:
        if spec.get(name) is not None:
            extra[name] = spec[name]
    return Lot(
        lot_id=lot_id(ev.hash_hex, i),
        event=ev.hash_hex,
        index=i,
        custodian=ev.actor,
        site=site,
        form=spec["form"],
        created_at=t,
        gross_mass_g=spec["gross_mass_g"],
        buckets=dict(spec["buckets"]),
        coc_model=spec.get("coc_model", "mass_balance"),
        assay_ppm=dict(spec.get("assay_ppm", {})),
        carbon=list(spec.get("carbon", [])),
        attestations=attestations,
        gtin=spec.get("gtin"),
        serial=spec.get("serial"),
        last_event_at=t,
        extra=extra,
        made_by=ev.kind,
    )
