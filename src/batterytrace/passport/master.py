"""OEM master data: what the economic operator knows about a battery model that the ledger does
not record (addresses, documents, warranty, lifetime declarations).

The dataclasses below are the model; ``MASTER_DOCS`` says what each attribute means, its unit and
its bounds. ``master_schema`` derives the JSON Schema (draft 2020-12) from the dataclass fields
and their types plus those bounds, so the two cannot drift (a test insists every field has its
entry); ``master_from_dict`` validates against it and names the failing field;
``render_master_markdown`` writes docs/master-data.md."""

from __future__ import annotations

import functools
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any

from batterytrace.errors import ConfigError
from batterytrace.model.event_spec import COUNTRY_PATTERN, SCHEMA_BASE

__all__ = [
    "CATEGORIES",
    "MASTER_DOCS",
    "Contact",
    "Document",
    "HazardousSubstance",
    "PackMasterData",
    "TechnicalData",
    "master_from_dict",
    "master_schema",
    "master_to_dict",
    "render_master_markdown",
]

CATEGORIES = ("lmt", "ev", "industrial", "stationary")  # Regulation 2023/1542 Art. 3 battery categories


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


HAZARD_CLASSES = ("AcuteToxicity", "SkinCorrosionOrIrritation", "EyeDamageOrIrritation")  # BatteryPass 1.2.0


@dataclass(frozen=True)
class HazardousSubstance:
    """A hazardous substance in the battery (Annex XIII 1(b), Annex VI Part A (8)): CLP hazard
    class, concentration and the impact statements of its classification."""

    name: str
    cas: str
    hazard_class: str
    concentration_percent: float  # % w/w of the battery
    location: str  # the component that holds it
    impacts: tuple[str, ...]  # e.g. CLP hazard statements "H314 Causes severe skin burns and eye damage"


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
    hazardous_substances: tuple[HazardousSubstance, ...] = ()
    backup_url: str | None = None  # where a backup copy of the passport is kept (Art. 77(5))
    manufacturer_bpnl: str | None = None  # Catena-X business partner number of the legal entity
    manufacturing_site_bpna: str | None = None  # Catena-X business partner number of the site


def master_to_dict(m: PackMasterData) -> dict[str, Any]:
    return asdict(m)


def master_from_dict(data: Any) -> PackMasterData:
    """Rebuild master data from its JSON form. Anything that does not match ``master_schema``
    raises ``ConfigError`` naming the first offending field, e.g. ``master data:
    technical.expected_cycles: expected integer, got string``."""
    problem = master_problem(data)
    if problem is not None:
        raise ConfigError(f"master data: {problem}")
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
        d["hazardous_substances"] = tuple(HazardousSubstance(**{**x, "impacts": tuple(x.get("impacts", ()))})
                                          for x in d.get("hazardous_substances", ()))
        if d.get("technical") is not None:
            t = dict(d["technical"])
            for name in ("original_power_capability_kw", "initial_internal_resistance_mohm", "labels"):
                t[name] = tuple(tuple(x) for x in t.get(name, ()))
            d["technical"] = TechnicalData(**t)
        return PackMasterData(**d)
    except (TypeError, ValueError, KeyError) as exc:  # pragma: no cover - the schema refuses these first
        raise ConfigError(f"malformed master data: {exc}") from exc


# ------------------------------------------------------------------------- the reference
@dataclass(frozen=True)
class Doc:
    """What one master-data attribute means, its unit and its bounds (JSON Schema keywords merged
    into the schema its Python type gives)."""

    text: str
    unit: str = ""
    bounds: Mapping[str, Any] = field(default_factory=dict)


_URL = {"maxLength": 2048, "pattern": "^(https?://\\S+)?$"}
_PERCENT = {"minimum": 0, "maximum": 100}
_NAME = {"minLength": 1, "maxLength": 200}
MASTER_DOCS: dict[str, Doc] = {
    "Contact.name": Doc("Name of the company, person or place.", bounds=_NAME),
    "Contact.identifier": Doc("Identifier: an EORI number, a did, a site id.", bounds=_NAME),
    "Contact.street": Doc("Street address.", bounds={"maxLength": 200}),
    "Contact.postal_code": Doc("Postal code.", bounds={"maxLength": 20}),
    "Contact.country": Doc("ISO 3166-1 alpha-2 country code.", bounds={"pattern": COUNTRY_PATTERN}),
    "Contact.email": Doc("Contact e-mail (shown to legitimate-interest readers only).",
                         bounds={"maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"}),
    "Contact.web": Doc("Web address.", bounds=_URL),
    "Document.kind": Doc("BatteryPass documentType: BillOfMaterial, Model3D, DismantlingManual, RemovalManual, "
                         "OtherManual, Drawing.", bounds=_NAME),
    "Document.mime_type": Doc("Media type of the document, e.g. application/pdf.",
                              bounds={"maxLength": 100, "pattern": "^[a-z]+/[A-Za-z0-9.+-]+$"}),
    "Document.url": Doc("Where it is published.", bounds={**_URL, "minLength": 1}),
    "HazardousSubstance.name": Doc("Clear name of the substance.", bounds=_NAME),
    "HazardousSubstance.cas": Doc("CAS registry number.", bounds={"pattern": "^[0-9]{2,7}-[0-9]{2}-[0-9]$"}),
    "HazardousSubstance.hazard_class": Doc("CLP hazard class (the BatteryPass 1.2.0 list).",
                                           bounds={"enum": list(HAZARD_CLASSES)}),
    "HazardousSubstance.concentration_percent": Doc("Concentration in the battery (w/w).", "%", _PERCENT),
    "HazardousSubstance.location": Doc("The component that holds it (e.g. cell electrolyte).", bounds=_NAME),
    "HazardousSubstance.impacts": Doc("Impact on health, safety and environment: the hazard statements of its "
                                      "classification.", bounds={"minItems": 1, "maxItems": 20}),
    "TechnicalData.rated_capacity_ah": Doc("Rated capacity.", "Ah", {"exclusiveMinimum": 0}),
    "TechnicalData.nominal_voltage_v": Doc("Nominal voltage.", "V", {"exclusiveMinimum": 0}),
    "TechnicalData.minimum_voltage_v": Doc("Minimum voltage.", "V", {"minimum": 0}),
    "TechnicalData.maximum_voltage_v": Doc("Maximum voltage.", "V", {"exclusiveMinimum": 0}),
    "TechnicalData.rated_maximum_power_kw": Doc("Rated (maximum) power.", "kW", {"exclusiveMinimum": 0}),
    "TechnicalData.original_power_capability_kw": Doc(
        "Original power capability: pairs [state of charge %, power kW].", "%, kW", {"maxItems": 100}),
    "TechnicalData.expected_cycles": Doc("Expected lifetime in full charge-discharge cycles.", "cycles",
                                         {"minimum": 0, "maximum": 1_000_000}),
    "TechnicalData.expected_lifetime_years": Doc("Expected lifetime.", "years", {"exclusiveMinimum": 0,
                                                                                 "maximum": 100}),
    "TechnicalData.initial_self_discharge_percent_per_month": Doc("Initial self-discharge rate.", "%/month",
                                                                  _PERCENT),
    "TechnicalData.initial_round_trip_efficiency_percent": Doc("Initial round-trip energy efficiency.", "%",
                                                               _PERCENT),
    "TechnicalData.round_trip_efficiency_at_50pct_cycle_life_percent": Doc(
        "Round-trip efficiency at 50 % of cycle life.", "%", _PERCENT),
    "TechnicalData.initial_internal_resistance_mohm": Doc(
        "Initial internal resistance: pairs [pack, module or cell, mΩ].", "mΩ", {"maxItems": 100}),
    "TechnicalData.capacity_threshold_for_exhaustion_percent": Doc(
        "Capacity below which the battery counts as exhausted.", "%", _PERCENT),
    "TechnicalData.lifetime_reference_test_url": Doc("Reference test for the lifetime figures.", bounds=_URL),
    "TechnicalData.c_rate_life_cycle_test": Doc("C-rate of the life-cycle test.", "C", {"exclusiveMinimum": 0}),
    "TechnicalData.temperature_range_idle_lower_c": Doc("Idle temperature range, lower bound.", "°C",
                                                        {"minimum": -273.15}),
    "TechnicalData.temperature_range_idle_upper_c": Doc("Idle temperature range, upper bound.", "°C",
                                                        {"minimum": -273.15}),
    "TechnicalData.declaration_of_conformity_url": Doc("EU declaration of conformity.", bounds=_URL),
    "TechnicalData.test_report_url": Doc("Test reports proving compliance.", bounds=_URL),
    "TechnicalData.labels": Doc("Labels: triples [subject, symbol URL, meaning in English].",
                                bounds={"maxItems": 100}),
    "PackMasterData.category": Doc("Battery category (Regulation 2023/1542 Art. 3).", bounds={"enum": list(CATEGORIES)}),
    "PackMasterData.chemistry_short": Doc("Chemistry, short name (e.g. NMC811).", bounds=_NAME),
    "PackMasterData.chemistry_name": Doc("Chemistry, full name.", bounds={"minLength": 1, "maxLength": 500}),
    "PackMasterData.manufacturer": Doc("The manufacturer."),
    "PackMasterData.operator": Doc("The economic operator placing the battery on the market."),
    "PackMasterData.manufacturing_place": Doc("The manufacturing site."),
    "PackMasterData.warranty_months": Doc("Commercial warranty period.", "months", {"minimum": 0, "maximum": 1200}),
    "PackMasterData.usable_energy_fraction": Doc("Share of the rated energy that is usable (carbon footprint "
                                                 "functional unit).", "fraction", {"exclusiveMinimum": 0,
                                                                                   "maximum": 1}),
    "PackMasterData.service_years": Doc("Declared service life (carbon footprint functional unit).", "years",
                                        {"exclusiveMinimum": 0, "maximum": 100}),
    "PackMasterData.end_of_life_kgco2e_per_kg": Doc("The OEM's estimate of the end-of-life stage emissions "
                                                    "(secondary data).", "kg CO2e per kg", {"minimum": 0}),
    "PackMasterData.carbon_footprint_study_url": Doc("Public carbon footprint study.", bounds=_URL),
    "PackMasterData.due_diligence_report_url": Doc("Supply-chain due diligence report.", bounds=_URL),
    "PackMasterData.third_party_assurances_url": Doc("Third-party verifications of the due diligence.",
                                                     bounds=_URL),
    "PackMasterData.dismantling_documents": Doc("Dismantling information (Annex XIII 2(c)).", bounds={"maxItems": 100}),
    "PackMasterData.spare_part_supplier": Doc("Where spare parts can be bought."),
    "PackMasterData.spare_parts": Doc("Spare parts: pairs [part name, part number].", bounds={"maxItems": 1000}),
    "PackMasterData.safety_instructions_url": Doc("Safety measures and instructions.", bounds=_URL),
    "PackMasterData.extinguishing_agents": Doc("Usable extinguishing agents.", bounds={"maxItems": 20}),
    "PackMasterData.end_of_life_urls": Doc("End-of-life information: [waste prevention, separate collection, "
                                           "collection points] URLs."),
    "PackMasterData.renewable_content_percent": Doc("Renewable content share.", "%", _PERCENT),
    "PackMasterData.technical": Doc("The model's data sheet (performance and durability, static part); needed "
                                    "for the Catena-X export."),
    "PackMasterData.declared_hazardous_ppm": Doc("Declared regulated substances (Art. 6, Annex I): pairs "
                                                 "[substance, ppm].", "ppm", {"maxItems": 100}),
    "PackMasterData.hazardous_substances": Doc("Hazardous substances other than mercury, cadmium and lead "
                                               "(Annex XIII 1(b)).", bounds={"maxItems": 100}),
    "PackMasterData.backup_url": Doc("Where a backup copy of the passport is kept (Art. 77(5)).", bounds=_URL),
    "PackMasterData.manufacturer_bpnl": Doc("Catena-X business partner number of the legal entity.",
                                            bounds={"pattern": "^BPNL[0-9A-Z]{12}$"}),
    "PackMasterData.manufacturing_site_bpna": Doc("Catena-X business partner number of the site.",
                                                  bounds={"pattern": "^BPNA[0-9A-Z]{12}$"}),
}
_MAX_TEXT = 2000  # any string without its own bound
_MAX_ITEMS = 1000  # any list without its own bound


def _type_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of a master-data field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        assert len(inner) == 1
        return {"anyOf": [_type_schema(inner[0]), {"type": "null"}]}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0]), "maxItems": _MAX_ITEMS}
        return {"type": "array", "prefixItems": [_type_schema(a) for a in args], "items": False,
                "minItems": len(args), "maxItems": len(args)}
    if isinstance(tp, type) and is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string", "maxLength": _MAX_TEXT}, int: {"type": "integer"}, float: {"type": "number"}}
    return dict(simple[tp])


def _with_bounds(schema: dict[str, Any], bounds: Mapping[str, Any]) -> dict[str, Any]:
    if not bounds:
        return schema
    if "anyOf" in schema:  # X | None: the bounds are X's
        return {"anyOf": [_with_bounds(schema["anyOf"][0], bounds), schema["anyOf"][1]]}
    return {**schema, **bounds}


def _object_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in fields(cls):
        doc = MASTER_DOCS[f"{cls.__name__}.{f.name}"]
        props[f.name] = {**_with_bounds(_type_schema(hints[f.name]), doc.bounds),
                         "description": doc.text + (f" Unit: {doc.unit}." if doc.unit else "")}
        if f.default is MISSING and f.default_factory is MISSING:
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


@functools.cache
def master_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of master data, as ``master_from_dict`` reads it."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}master-data.json",
        "title": "batterytrace battery-model master data",
        "description": "What the economic operator knows about a battery model that the ledger does not record "
                       "(passport issue --master, serve --issuer key=master.json).",
        **_object_schema(PackMasterData),
        "$defs": {c.__name__: _object_schema(c) for c in (Contact, Document, HazardousSubstance, TechnicalData)},
    }


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "array")


def _path(parts: Any) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return text or "(top level)"


def _words(err: Any) -> tuple[list[Any], str]:
    """(path, message) of a jsonschema error, in words that name what was expected."""
    v, value, inst, path = err.validator, err.validator_value, err.instance, list(err.absolute_path)
    if v == "anyOf":  # X | None: say what X wanted
        inner = [e for e in err.context if e.schema.get("type") != "null"]
        if inner:
            best = min(inner, key=lambda e: len(e.relative_path))
            sub_path, words = _words(best)
            if best.validator == "type" and not best.relative_path:
                words = words.replace("expected ", "expected null or ", 1)
            return sub_path, words
    if v == "type":
        return path, f"expected {value if isinstance(value, str) else ' or '.join(value)}, got {_json_type(inst)}"
    if v == "required":
        missing = [n for n in value if n not in inst]
        return path, f"missing field {missing[0]!r}"
    if v == "additionalProperties":
        extra = sorted(set(inst) - set(err.schema.get("properties", {})))
        return path, f"unknown field {extra[0]!r}"
    if v == "maxLength":
        return path, f"longer than {value} characters ({len(inst)})"
    if v == "minLength":
        return path, "must not be empty"
    if v == "enum":
        return path, f"expected one of {', '.join(map(str, value))}, got {json.dumps(inst)[:60]}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return path, f"must be {op} {value}, got {inst}"
    if v in ("minItems", "maxItems", "items"):
        size = err.schema.get("maxItems")
        exact = err.schema.get("minItems") == size
        want = f"exactly {size}" if exact else (f"at most {value}" if v == "maxItems" else f"at least {value}")
        return path, f"expected {want} items, got {len(inst)}"
    if v == "pattern":
        return path, f"{json.dumps(inst)[:60]} is not of the expected form (pattern {value})"
    return path, err.message[:200]


def _non_finite(value: Any, path: list[Any]) -> list[Any] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _non_finite(child, [*path, key])
        if found is not None:
            return found
    return None


def master_problem(data: Any) -> str | None:
    """The first thing wrong with ``data`` as master data, as ``path: words``; None when it is valid."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    errors = sorted(Draft202012Validator(master_schema()).iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        path, words = _words(errors[0])
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        return f"{_path(path)}: {words}{more}"
    bad = _non_finite(data, [])
    if bad is not None:
        return f"{_path(bad)}: expected a finite number"
    return None


def render_master_markdown(example: PackMasterData) -> str:
    """docs/master-data.md: every attribute with its type, unit and meaning, and ``example`` in JSON."""
    from batterytrace.ledger.event_reference import type_words

    schema = master_schema()
    out = [
        "# Master data reference",
        "",
        "<!-- Generated from src/batterytrace/passport/master.py by",
        "     `batterytrace schema --master-markdown docs/master-data.md`; do not edit by hand",
        "     (tests/passport/test_master.py fails when this file is out of date). -->",
        "",
        "Master data is what the economic operator knows about a battery model that the ledger does not record:",
        "addresses, documents, warranty, lifetime declarations, the data sheet. It is a JSON file given to",
        "`batterytrace passport issue --master FILE` and `batterytrace serve --issuer KEY=FILE`, checked on load",
        "against the schema `/schemas/master-data.json` (`batterytrace schema master-data`): a malformed file is",
        "refused with one line naming the field, e.g. `master data: technical.expected_cycles: expected integer,",
        "got string`. Unknown fields are refused. Strings without their own bound hold at most "
        f"{_MAX_TEXT} characters, lists at most {_MAX_ITEMS} items.",
        "",
    ]
    for name, obj in (("Battery model (top level)", schema), *((f"`{k}`", d) for k, d in schema["$defs"].items())):
        out += [f"## {name}", "", "| Field | Type | Required | Unit | Meaning |", "|---|---|---|---|---|"]
        cls = {"Contact": Contact, "Document": Document, "HazardousSubstance": HazardousSubstance,
               "TechnicalData": TechnicalData}.get(name.strip("`"),
                                                                                         PackMasterData)
        for f in fields(cls):
            prop = obj["properties"][f.name]
            words = _schema_words(prop, type_words)
            doc = MASTER_DOCS[f"{cls.__name__}.{f.name}"]
            out.append(f"| `{f.name}` | {words} | {'yes' if f.name in obj['required'] else 'no'} | {doc.unit} | "
                       f"{doc.text} |")
        out.append("")
    out += ["## Example", "", "The demo OEM's master data for its VM75 pack (it loads; a test checks):", "",
            "```json", json.dumps(master_to_dict(example), indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(out)


def _schema_words(prop: Mapping[str, Any], type_words: Any) -> str:
    if "anyOf" in prop:
        return " or ".join(_schema_words(p, type_words) for p in prop["anyOf"])
    if "$ref" in prop:
        return f"object (§ `{prop['$ref'].rsplit('/', 1)[-1]}`)"
    if prop.get("type") == "array" and "prefixItems" in prop:
        return "[" + ", ".join(_schema_words(p, type_words) for p in prop["prefixItems"]) + "]"
    if prop.get("type") == "array":
        return f"list (≤ {prop.get('maxItems')}) of {_schema_words(prop['items'], type_words)}"
    words: str = type_words({k: v for k, v in prop.items() if k != "description"})
    return words.replace("|", "\\|")
