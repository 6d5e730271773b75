"""OEM master data: what the economic operator knows about a battery model that the ledger does
not record (addresses, documents, warranty, lifetime declarations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from batterytrace.errors import ConfigError

__all__ = ["Contact", "Document", "PackMasterData", "TechnicalData", "master_from_dict", "master_to_dict"]


@dataclass(frozen=True)
class Contact:
    name: str
    identifier: str  # e.g. an EORI or the participant's did
    street: str
    postal_code: str
    country: str
    email: str | None = None
    web: str | None = None

    def to_batterypass(self, with_email: bool = True) -> dict[str, object]:
        out: dict[str, object] = {
            "contactName": self.name,
            "identifier": self.identifier,
            "postalAddress": {"addressCountry": self.country, "postalCode": self.postal_code,
                              "streetAddress": self.street},
        }
        if self.email and with_email:
            out["emailAddress"] = self.email
        if self.web:
            out["webAddress"] = self.web
        return out


@dataclass(frozen=True)
class Document:
    kind: str  # BatteryPass documentType: BillOfMaterial, Model3D, DismantlingManual, RemovalManual, ...
    mime_type: str
    url: str


@dataclass(frozen=True)
class TechnicalData:
    """The battery model's data sheet (BatteryPass performance and durability, static part)."""

    rated_capacity_ah: float
    nominal_voltage_v: float
    minimum_voltage_v: float
    maximum_voltage_v: float
    rated_maximum_power_kw: float
    original_power_capability_kw: tuple[tuple[float, float], ...]  # (state of charge %, kW)
    expected_cycles: int
    expected_lifetime_years: float
    initial_self_discharge_percent_per_month: float
    initial_round_trip_efficiency_percent: float
    round_trip_efficiency_at_50pct_cycle_life_percent: float
    initial_internal_resistance_mohm: tuple[tuple[str, float], ...]  # (pack/module/cell, mΩ)
    capacity_threshold_for_exhaustion_percent: float
    lifetime_reference_test_url: str
    c_rate_life_cycle_test: float
    temperature_range_idle_lower_c: float
    temperature_range_idle_upper_c: float
    declaration_of_conformity_url: str
    test_report_url: str
    labels: tuple[tuple[str, str, str], ...]  # (subject, symbol URL, meaning in English)


@dataclass(frozen=True)
class PackMasterData:
    category: str  # lmt, ev, industrial, stationary
    chemistry_short: str
    chemistry_name: str
    manufacturer: Contact
    operator: Contact
    manufacturing_place: Contact
    warranty_months: int
    usable_energy_fraction: float
    service_years: float
    end_of_life_kgco2e_per_kg: float
    carbon_footprint_study_url: str
    due_diligence_report_url: str
    third_party_assurances_url: str
    dismantling_documents: tuple[Document, ...] = field(default_factory=tuple)
    spare_part_supplier: Contact | None = None
    spare_parts: tuple[tuple[str, str], ...] = ()  # (part name, part number)
    safety_instructions_url: str = ""
    extinguishing_agents: tuple[str, ...] = ()
    end_of_life_urls: tuple[str, str, str] = ("", "", "")  # waste prevention, separate collection, collection info
    renewable_content_percent: float = 0.0
    technical: TechnicalData | None = None
    # OEM declaration of regulated substances in the battery, ppm (Reg. 2023/1542 Art. 6, Annex I)
    declared_hazardous_ppm: tuple[tuple[str, float], ...] = ()
    backup_url: str | None = None  # where a backup copy of the passport is kept (Art. 77(5))
    manufacturer_bpnl: str | None = None  # Catena-X business partner number of the legal entity
    manufacturing_site_bpna: str | None = None  # Catena-X business partner number of the site


def master_to_dict(m: PackMasterData) -> dict[str, Any]:
    return asdict(m)


def master_from_dict(data: Any) -> PackMasterData:
    """Rebuild master data from its JSON form; malformed input raises ``ConfigError``."""
    try:
        d = dict(data)
        for name in ("manufacturer", "operator", "manufacturing_place"):
            d[name] = Contact(**d[name])
        if d.get("spare_part_supplier") is not None:
            d["spare_part_supplier"] = Contact(**d["spare_part_supplier"])
        d["dismantling_documents"] = tuple(Document(**x) for x in d.get("dismantling_documents", ()))
        d["spare_parts"] = tuple(tuple(x) for x in d.get("spare_parts", ()))
        d["extinguishing_agents"] = tuple(d.get("extinguishing_agents", ()))
        d["end_of_life_urls"] = tuple(d.get("end_of_life_urls", ("", "", "")))
        d["declared_hazardous_ppm"] = tuple(tuple(x) for x in d.get("declared_hazardous_ppm", ()))
        if d.get("technical") is not None:
            t = dict(d["technical"])
            for name in ("original_power_capability_kw", "initial_internal_resistance_mohm", "labels"):
                t[name] = tuple(tuple(x) for x in t.get(name, ()))
            d["technical"] = TechnicalData(**t)
        return PackMasterData(**d)
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"malformed master data: {exc}") from exc
