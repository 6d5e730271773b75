"""A battery's history as its passport viewer shows it: the passport versions (a repurposed or
remanufactured battery gets a new passport linked to the previous one, Art. 77(6)) and its state of
health over time from the signed lifecycle records, for the readers the longlist lets see the
battery's condition (persons with a legitimate interest) and no one else; and an economic
operator's batteries with their passports' version and status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batterytrace.model.identifiers import NEW_PASSPORT_STATUSES, passport_id_for, passport_version
from batterytrace.passport.issue import FIELD_LEVELS, may_read
from batterytrace.storage.base import Store

__all__ = ["BatteryHistory", "HealthReading", "OperatorBattery", "PassportVersion", "battery_history",
           "operator_batteries"]

# the audience of the battery's condition (state of certified energy and the other readings)
_CONDITION = FIELD_LEVELS["PerformanceAndDurability"]["batteryCondition.stateOfCertifiedEnergy"]


@dataclass(frozen=True)
class PassportVersion:
    version: int
    passport_id: str
    status: str  # the lifecycle status that opened it ("original" for version 1)
    since_us: int | None  # the time of that lifecycle record; None for version 1 before any record


@dataclass(frozen=True)
class HealthReading:
    time_us: int
    soh_percent: float
    status: str


@dataclass(frozen=True)
class BatteryHistory:
    versions: list[PassportVersion]
    health: list[HealthReading]  # empty unless the level may read the battery's condition


def _soh(record: dict[str, Any]) -> float | None:
    value = record.get("soh_percent")
    if value is None and isinstance(record.get("bms"), dict):
        value = record["bms"].get("state_of_certified_energy_percent")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def battery_history(store: Store, gtin: str, serial: str, level: str) -> BatteryHistory:
    """The passport versions of the battery now carrying ``gtin``/``serial`` (each named by its
    passport id, as ``passport_version`` counts them), and, when ``level`` may read the battery's
    condition, its state of health at each lifecycle record that states one. No battery: empty."""
    ids = store.lots_by_serial(gtin, serial)
    lot = store.get_lot(ids[-1]) if ids else None
    records = [r for r in (lot.extra.get("lifecycle", []) if lot is not None else []) if isinstance(r, dict)]
    versions = [PassportVersion(1, passport_id_for(gtin, serial, 1), "original", None)]
    previous = "original"
    for r in records:
        status = str(r.get("status"))
        if status in NEW_PASSPORT_STATUSES and status != previous:
            n = versions[-1].version + 1
            versions.append(PassportVersion(n, passport_id_for(gtin, serial, n), status, int(r.get("time", 0))))
        previous = status
    health: list[HealthReading] = []
    if may_read(level, _CONDITION):
        for r in records:
            soh = _soh(r)
            if soh is not None:
                health.append(HealthReading(int(r.get("time", 0)), soh, str(r.get("status"))))
    return BatteryHistory(versions, health)


@dataclass(frozen=True)
class OperatorBattery:
    """One battery an economic operator placed on the market, as its operator view lists it."""

    gtin: str
    serial: str
    model: str | None
    battery_status: str  # the latest lifecycle status ("original" before any record)
    passport_version: int
    passport_id: str
    passport_status: str  # valid, invalid, suspended (status list), or "not issued here"
    last_update_us: int


def operator_batteries(store: Store, operator_did: str, status_of: Callable[[str], str]) -> list[OperatorBattery]:
    """The serialised batteries whose economic operator (the assembler the ledger recorded) is
    ``operator_did``, the newest lot per GTIN/serial, by GTIN and serial; ``status_of`` gives a
    passport id's status in the operator's status list."""
    newest: dict[tuple[str, str], Any] = {}
    for lot in store.iter_lots():
        if lot.gtin and lot.serial and lot.extra.get("economic_operator") == operator_did:
            key = (lot.gtin, lot.serial)
            if key not in newest or lot.created_at >= newest[key].created_at:
                newest[key] = lot
    out = []
    for (gtin, serial), lot in sorted(newest.items()):
        records = [r for r in lot.extra.get("lifecycle", []) if isinstance(r, dict)]
        version = passport_version(records)
        pid = passport_id_for(gtin, serial, version)
        model = lot.extra.get("model")
        out.append(OperatorBattery(gtin, serial, model if isinstance(model, str) else None,
                                   str(records[-1].get("status")) if records else "original", version, pid,
                                   status_of(pid), lot.last_event_at))
    return out
