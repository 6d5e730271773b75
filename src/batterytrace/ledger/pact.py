"""Supplier carbon data in the PACT data model (WBCSD Partnership for Carbon Transparency, Tech
Spec 2.x and 3.x): a product carbon footprint (PCF) becomes a lot's carbon entry.

Two halves, both here so they cannot drift apart:

* ``parse_pcf`` reads a supplier's PCF document (a ``ProductFootprint``, optionally wrapped in the
  ``{"data": …}`` of a PACT API response) and ``pcf_carbon_entry`` turns it into the carbon entry
  of an output spec: ``{stage, kgco2e_per_kg, primary, primary_data_share_percent?, pact: {…}}``.
  The ``pact`` object keeps what the claim rests on: the PCF's ``id``, ``specVersion``, the SHA-256
  of the document's RFC 8785 form (binds the entry to one document), the declared unit and amount,
  the product mass per declared unit, the PCF excluding biogenic uptake as the decimal text the
  supplier wrote, the cross-sectoral standards, the product/sector rules, the primary-data share
  or data quality indicators, and the validity period.
* ``check_pact_entry`` (every event that creates lots, via ``lot_specs.parse_output``) and
  ``check_pact_time`` (at the event's time, via ``lot_specs.new_lot``) are the ledger rules: the
  signed entry's ``kgco2e_per_kg`` and primary-data share must be what its ``pact`` object
  converts to, the spec version and unit must be ones this module understands, and the PCF must
  be valid at the event's time. Anyone who holds the PCF document checks the binding with
  ``check_document``.

Units: the ledger keeps kg CO2e per kg of the lot's gross mass. A PCF per ``kilogram`` converts
directly (v3: divided by ``declaredUnitAmount``); any other declared unit converts only through
``productMassPerDeclaredUnit`` (kg per declared unit; 2.3 and 3.x); otherwise ``pact.unit``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from batterytrace.canonical import canonical_json, parse_json
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.model.entities import CARBON_STAGES
from batterytrace.timeutil import format_time, parse_time

__all__ = [
    "DECLARED_UNITS",
    "MAX_PCF_BYTES",
    "Pcf",
    "check_document",
    "check_pact_entry",
    "check_pact_time",
    "parse_pcf",
    "pcf_carbon_entry",
    "pcf_digest",
]

MAX_PCF_BYTES = 1_000_000
_MAX_ENTRY_BYTES = 16_384  # a carbon entry's ``pact`` object
# PACT DeclaredUnit (v2) / declaredUnitOfMeasurement (v3) values.
DECLARED_UNITS = frozenset({
    "liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer", "square meter",
    "piece", "hour", "megabit second",
})
_VERSION = re.compile(r"^([23])\.(\d{1,3})\.(\d{1,3})(-\d{8})?$")
_DECIMAL = re.compile(r"^-?(0|[1-9]\d{0,20})(\.\d{1,20})?$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Exact decimal arithmetic whatever the caller's decimal context: the same entry gets the same
# verdict on every replay of the log.
_EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)
_VALIDITY_DEFAULT_YEARS = 3  # PACT: without a validity period a PCF is valid 3 years from referencePeriodEnd


def _err(rule: str, message: str) -> RuleViolationError:
    return RuleViolationError(rule, message)


def _decimal(value: Any, name: str, *, positive: bool = False) -> Decimal:
    """A PACT Decimal: a JSON string of a decimal number, finite, ≥ 0 (> 0 with ``positive``)."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise _err("pact.value", f"{name} must be a decimal number written as a JSON string, not {str(value)[:40]!r}")
    number = Decimal(value)
    if number < 0 or (positive and number == 0):
        raise _err("pact.value", f"{name} must be {'greater than' if positive else 'at least'} 0 (got {value})")
    return number


def _share(value: Any, name: str) -> Decimal:
    """primaryDataShare: a number in 2.x, a decimal string in 3.x; a percentage 0–100."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _err("pact.value", f"{name} must be a percentage")
    if isinstance(value, str):
        number = _decimal(value, name)
    else:
        if not math.isfinite(value):
            raise _err("pact.value", f"{name} must be finite")
        number = Decimal(str(value))
    if not 0 <= number <= 100:
        raise _err("pact.value", f"{name} must lie in 0..100 (got {value})")
    return number


def _time(value: Any, name: str) -> str:
    """A PACT DateTime (ISO 8601 UTC) as the ledger's RFC 3339 ``…Z`` form."""
    if not isinstance(value, str) or len(value) > 64:
        raise _err("pact", f"{name} must be an ISO 8601 date-time")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _err("pact", f"{name} is not an ISO 8601 date-time: {value[:40]!r}") from exc
    if dt.tzinfo is None:
        raise _err("pact", f"{name} needs a time zone (Z or an offset)")
    return format_time(int(dt.astimezone(UTC).timestamp()) * 1_000_000 + dt.microsecond)


def _text(doc: dict[str, Any], name: str, where: str = "", max_len: int = 512) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise _err("pact", f"required field {where}{name} is missing or not a non-empty string")
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 64 or not all(
        isinstance(v, str) and 0 < len(v) <= 512 for v in value
    ):
        raise _err("pact", f"{name} must be a non-empty list of strings")
    return list(value)


def _rules(value: Any) -> list[dict[str, Any]]:
    """productOrSectorSpecificRules: [{operator, ruleNames, otherOperatorName?}] (optional)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 64:
        raise _err("pact", "pcf.productOrSectorSpecificRules must be a list")
    out: list[dict[str, Any]] = []
    for r in value:
        if not isinstance(r, dict) or not isinstance(r.get("operator"), str):
            raise _err("pact", "each product or sector specific rule needs an operator and ruleNames")
        entry: dict[str, Any] = {"operator": r["operator"][:128],
                                 "rule_names": _strings(r.get("ruleNames"), "ruleNames")}
        if isinstance(r.get("otherOperatorName"), str) and r["otherOperatorName"]:
            entry["other_operator_name"] = r["otherOperatorName"][:128]
        out.append(entry)
    return out


@dataclass(frozen=True)
class Pcf:
    """The parts of a PACT ProductFootprint the ledger keeps (``pact`` of a carbon entry)."""

    pact: dict[str, Any]
    kgco2e_per_kg: float
    primary_data_share_percent: float | None


def pcf_digest(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the ProductFootprint's RFC 8785 form: what the carbon entry binds."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def parse_pcf(data: bytes) -> Pcf:
    """Read one PACT ProductFootprint (2.x or 3.x JSON). Refuses, naming the rule: malformed or
    oversized JSON and missing required fields (``pact``), an unknown spec version
    (``pact.version``), a deprecated PCF (``pact.validity``), non-decimal, negative or non-finite
    values (``pact.value``), a declared unit that does not convert to kg (``pact.unit``)."""
    if len(data) > MAX_PCF_BYTES:
        raise _err("pact", f"a PCF document is at most {MAX_PCF_BYTES} bytes")
    try:
        doc = parse_json(data)
    except EncodingError as exc:
        raise _err("pact", f"the PCF is not JSON: {exc}") from exc
    if isinstance(doc, dict) and set(doc) == {"data"} and isinstance(doc["data"], dict):
        doc = doc["data"]  # a saved GetFootprint response
    if not isinstance(doc, dict):
        raise _err("pact", "a PCF is a JSON object (a PACT ProductFootprint)")
    version = doc.get("specVersion")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise _err("pact.version", f"specVersion {str(version)[:40]!r} is not a PACT Tech Spec version this ledger reads (2.x, 3.x)")
    major = int(version[0])
    pcf_id = _text(doc, "id", max_len=200)
    for name in ("created", "companyName", "productDescription", "productNameCompany"):
        _text(doc, name)
    status = _text(doc, "status", max_len=32)
    if status != "Active":
        raise _err("pact.validity", f"the PCF's status is {status!r}, not 'Active'")
    product_ids = _strings(doc.get("productIds"), "productIds")
    pcf = doc.get("pcf")
    if not isinstance(pcf, dict):
        raise _err("pact", "required field pcf (the CarbonFootprint) is missing")
    if major == 2:
        unit = _text(pcf, "declaredUnit", "pcf.", 32)
        amount_text = pcf.get("unitaryProductAmount")
        value_name, value_text = "pcf.pCfExcludingBiogenic", pcf.get("pCfExcludingBiogenic")
        standards = pcf.get("crossSectoralStandards", pcf.get("crossSectoralStandardsUsed"))
    else:
        unit = _text(pcf, "declaredUnitOfMeasurement", "pcf.", 32)
        amount_text = pcf.get("declaredUnitAmount")
        value_name, value_text = "pcf.pcfExcludingBiogenicUptake", pcf.get("pcfExcludingBiogenicUptake")
        standards = pcf.get("crossSectoralStandards")
        if "productMassPerDeclaredUnit" not in pcf:
            raise _err("pact", "required field pcf.productMassPerDeclaredUnit is missing (3.x)")
    if value_text is None:
        raise _err("pact", f"required field {value_name} is missing")
    if amount_text is None:
        raise _err("pact", "required field pcf." + ("unitaryProductAmount" if major == 2 else "declaredUnitAmount") + " is missing")
    entry: dict[str, Any] = {
        "id": pcf_id,
        "spec_version": version,
        "sha256": pcf_digest(doc),
        "company_name": doc["companyName"][:256],
        "product_ids": product_ids,
        "declared_unit": unit,
        "declared_unit_amount": amount_text,
        "pcf_excluding_biogenic": value_text,
        "cross_sectoral_standards": _strings(standards, "pcf.crossSectoralStandards"),
        "product_or_sector_specific_rules": _rules(pcf.get("productOrSectorSpecificRules")),
        "reference_period_start": _time(pcf.get("referencePeriodStart"), "pcf.referencePeriodStart"),
        "reference_period_end": _time(pcf.get("referencePeriodEnd"), "pcf.referencePeriodEnd"),
    }
    mass = pcf.get("productMassPerDeclaredUnit")
    if mass is not None:
        entry["product_mass_per_declared_unit_kg"] = mass
    for name, key in (("validityPeriodStart", "validity_start"), ("validityPeriodEnd", "validity_end")):
        if doc.get(name) is not None:
            entry[key] = _time(doc[name], name)
    if pcf.get("primaryDataShare") is not None:
        share = _share(pcf["primaryDataShare"], "pcf.primaryDataShare")
        entry["primary_data_share"] = format(share.normalize(), "f")
    dqi = pcf.get("dqi")
    if dqi is not None:
        if not isinstance(dqi, dict) or len(canonical_json(dqi)) > 2048:
            raise _err("pact", "pcf.dqi must be an object of data quality ratings")
        entry["dqi"] = dqi
    if "primary_data_share" not in entry and "dqi" not in entry:
        raise _err("pact", "the PCF states neither pcf.primaryDataShare nor pcf.dqi")
    if len(canonical_json(entry)) > _MAX_ENTRY_BYTES:
        raise _err("pact", f"the PCF's identifiers and rules take more than {_MAX_ENTRY_BYTES} bytes in a carbon entry")
    per_kg, share_pct = _derive(entry)
    return Pcf(entry, per_kg, share_pct)


def pcf_carbon_entry(pcf: Pcf, stage: str = "raw_material") -> dict[str, Any]:
    """The carbon entry of an output spec that carries ``pcf`` at lifecycle ``stage``. ``primary``
    is true only for a PCF made entirely of primary data; the share itself is kept."""
    if stage not in CARBON_STAGES:
        raise _err("schema", f"carbon stage must be one of {CARBON_STAGES}")
    entry: dict[str, Any] = {"stage": stage, "kgco2e_per_kg": pcf.kgco2e_per_kg,
                             "primary": pcf.primary_data_share_percent == 100.0, "pact": dict(pcf.pact)}
    if pcf.primary_data_share_percent is not None:
        entry["primary_data_share_percent"] = pcf.primary_data_share_percent
    return entry


def _derive(pact: dict[str, Any]) -> tuple[float, float | None]:
    """kg CO2e per kg and the primary-data share (%) a ``pact`` object converts to."""
    version = pact.get("spec_version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise _err("pact.version", f"spec_version {str(version)[:40]!r} is not PACT 2.x or 3.x")
    unit = pact.get("declared_unit")
    if not isinstance(unit, str) or unit not in DECLARED_UNITS:
        raise _err("pact.unit", f"declared unit {str(unit)[:40]!r} is not a PACT declared unit")
    value = _decimal(pact.get("pcf_excluding_biogenic"), "the PCF excluding biogenic uptake")
    amount = _decimal(pact.get("declared_unit_amount"), "the declared unit amount", positive=True)
    mass_text = pact.get("product_mass_per_declared_unit_kg")
    mass = None if mass_text is None else _decimal(mass_text, "productMassPerDeclaredUnit")
    if unit == "kilogram":
        # 3.x: the PCF is per declaredUnitAmount kg; 2.x: per declared unit (1 kg)
        kg = amount if version.startswith("3") else Decimal(1)
        if mass is not None and mass != 0 and mass != kg:
            raise _err("pact.unit", f"a PCF per {kg} kg states {mass} kg of product per declared unit")
    elif mass is not None and mass > 0:
        kg = mass
    else:
        raise _err("pact.unit", f"a PCF per {unit!r} converts to kg CO2e per kg only with productMassPerDeclaredUnit > 0")
    per_kg = float(_EXACT.divide(value, kg))
    if not math.isfinite(per_kg):
        raise _err("pact.value", "the PCF per kg is not a finite number")
    share_text = pact.get("primary_data_share")
    share = None if share_text is None else float(_share(share_text, "primary_data_share"))
    return per_kg, share


def check_pact_entry(entry: dict[str, Any], where: str) -> None:
    """Ledger rule for a carbon entry with a ``pact`` object: well formed (``pact``), a known
    version and unit (``pact.version``, ``pact.unit``), and ``kgco2e_per_kg``, ``primary`` and
    ``primary_data_share_percent`` exactly what it converts to (``pact.value``, ``pact.share``)."""
    pact = entry.get("pact")
    if not isinstance(pact, dict) or len(canonical_json(pact)) > _MAX_ENTRY_BYTES:
        raise _err("pact", f"{where}.pact must be an object (at most 16 KiB)")
    for name in ("id", "company_name", "reference_period_end"):
        if not isinstance(pact.get(name), str) or not 0 < len(pact[name]) <= 256:
            raise _err("pact", f"{where}.pact.{name} must be a non-empty string")
    if not isinstance(pact.get("sha256"), str) or not _HEX64.match(pact["sha256"]):
        raise _err("pact", f"{where}.pact.sha256 must be the PCF document's SHA-256 in lower-case hex")
    if not isinstance(pact.get("cross_sectoral_standards"), list) or not pact["cross_sectoral_standards"]:
        raise _err("pact", f"{where}.pact.cross_sectoral_standards must name the standards the PCF follows")
    for name in ("reference_period_end", "validity_start", "validity_end"):
        if pact.get(name) is not None:
            try:
                parse_time(pact[name]) if isinstance(pact[name], str) else parse_time("")
            except EncodingError as exc:
                raise _err("pact", f"{where}.pact.{name}: {exc}") from exc
    per_kg, share = _derive(pact)
    if entry.get("kgco2e_per_kg") != per_kg:
        raise _err("pact.value", f"{where}: kgco2e_per_kg {entry.get('kgco2e_per_kg')} is not the PCF's {per_kg} kg CO2e per kg")
    if entry.get("primary_data_share_percent") != share:
        raise _err("pact.share", f"{where}: primary_data_share_percent {entry.get('primary_data_share_percent')} is not the PCF's {share}")
    if entry.get("primary") is not (share == 100.0):
        raise _err("pact.share", f"{where}: primary is true only for a PCF of 100 % primary data")


def _valid_until(pact: dict[str, Any]) -> int:
    end = pact.get("validity_end")
    if isinstance(end, str):
        return parse_time(end)
    ref = datetime.fromisoformat(str(pact["reference_period_end"]).replace("Z", "+00:00"))
    year = ref.year + _VALIDITY_DEFAULT_YEARS
    if year > 9999:
        return 2**63 - 1  # beyond any event time the ledger takes
    later = ref.replace(year=year, day=28) if (ref.month, ref.day) == (2, 29) else ref.replace(year=year)
    return int(later.timestamp()) * 1_000_000 + later.microsecond


def check_pact_time(entry: dict[str, Any], where: str, t: int) -> None:
    """``pact.validity``: the PCF is valid at the event's time ``t``: on or after its validity
    start, before its validity end (exclusive; without one, 3 years after the reference period)."""
    pact = entry["pact"]
    start = pact.get("validity_start")
    if isinstance(start, str) and t < parse_time(start):
        raise _err("pact.validity", f"{where}: the PCF {pact['id']} is valid only from {start}")
    if t >= _valid_until(pact):
        raise _err("pact.validity", f"{where}: the PCF {pact['id']} was no longer valid at the event's time ({format_time(t)})")


def check_document(entry: dict[str, Any], data: bytes) -> None:
    """For the holder of the PCF document: raise ``RuleViolationError('pact.digest')`` unless
    the carbon entry was made from exactly this document."""
    pcf = parse_pcf(data)
    if pcf.pact["sha256"] != (entry.get("pact") or {}).get("sha256"):
        raise _err("pact.digest", "the carbon entry was not made from this PCF document")
    if pcf_carbon_entry(pcf, str(entry.get("stage"))) != entry:
        raise _err("pact.digest", "the carbon entry differs from what this PCF document converts to")
