"""Export of a passport as a Catena-X BatteryPass 6.1.0 aspect (urn:samm:io.catenax.battery.battery_pass:6.1.0).

Values come from the same ledger facts and OEM master data as the BatteryPass v1.2 aspects (a
confidential pack's from its openings, as ``issue_passport`` states them); the tests validate the
export against the Catena-X JSON schema. The passport identifier is the SD-JWT passport's
``passport_uuid``; the statuses come from the ledger and from the issuer's *signed* status list
(docs/catenax.md): the passport's entry is read at the index its signed presentation names, in
a list token verified as ``verify_passport`` verifies it against the ledger. The unsigned state
file the issuer signs its lists from (``statuslists/*.state.json``) is never the source of a
stated status; a state file that disagrees with the signed list is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from batterytrace.crypto.status_list import STATUS_NAMES, StatusList, verify_status_list_token
from batterytrace.errors import BatterytraceError, EncodingError, NotFoundError, VerificationError
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.entities import Lot
from batterytrace.model.identifiers import (
    NEW_PASSPORT_STATUSES,
    passport_id_for,
    passport_uuid_for,
    passport_version,
)
from batterytrace.passport.aspects import ELEMENTS, PackFacts, put_into_service_at
from batterytrace.passport.issue import passport_facts, verify_passport
from batterytrace.passport.master import PackMasterData
from batterytrace.passport.signing_key import check_signing_key
from batterytrace.passport.status import (
    PassportStatusError,
    StatusLists,
    check_status,
    list_id_for,
    status_ref,
)
from batterytrace.storage.openings import OpeningStore
from batterytrace.timeutil import format_time

__all__ = ["BATTERY_STATES", "PASSPORT_STATES", "SPEC_VERSION", "ExportStatusError", "catenax_battery_pass",
           "catenax_passport_uuid", "export_catenax", "passport_state", "signed_status"]

SPEC_VERSION = "urn:io.catenax.battery.battery_pass:6.1.0"
_STAGES = {
    "raw material acquisition and pre-processing": "raw material extraction",
    "main product production": "main product production",
    "distribution": "distribution",
    "end of life and recycling": "recycling",
}
NIL_UUID = "urn:uuid:00000000-0000-0000-0000-000000000000"
_CATEGORY = {"ev": "EV", "lmt": "LMT", "industrial": "industrial", "stationary": "stationary"}
# the ledger's lifecycle statuses (model/event_spec.py LIFECYCLE_STATUSES) → Catena-X StateEnumeration
BATTERY_STATES = {"original": "original", "repurposed": "repurposed", "reused": "re-used",
                  "remanufactured": "remanufactured", "waste": "waste"}
# the passport version's state (passport_state) → Catena-X StatusEnumeration
PASSPORT_STATES = {"not issued": "draft", "valid": "approved", "suspended": "invalid", "revoked": "invalid",
                   "superseded": "invalid"}


def _doc(header: str, url: str) -> list[dict[str, str]]:
    return [{"contentType": "URL", "header": header, "content": url}]


def catenax_battery_pass(f: PackFacts, m: PackMasterData, passport_id: str, version: int,
                         issued_at: int, expires_at: int, predecessor: str | None = None, *,
                         status: str, assembled: Lot | None = None) -> dict[str, Any]:
    """The document for the facts ``f``; ``status`` is the Catena-X passport status (a value of
    ``PASSPORT_STATES``), the battery's state follows from its latest lifecycle record.
    ``assembled`` is the lot the pack's aggregation created (default: ``f.lot``): the battery was
    made when it was, whichever lot (a receipt's, after a transfer) carries it now; it is put into
    service when a lifecycle record of its current life says so (as the SD-JWT passport states)."""
    if status not in PASSPORT_STATES.values():
        raise BatterytraceError(f"Catena-X passport status must be one of {sorted(set(PASSPORT_STATES.values()))}")
    t = m.technical
    if t is None or m.manufacturer_bpnl is None or m.manufacturing_site_bpna is None:
        raise BatterytraceError("Catena-X export needs the technical data sheet and the BPNL/BPNA numbers")
    lot = f.lot
    made = assembled if assembled is not None else lot
    made_day = format_time(made.created_at)[:10]
    service = put_into_service_at(f)
    history = lot.extra.get("lifecycle", [])
    last: dict[str, Any] = history[-1] if history else {"time": lot.created_at, "status": "original"}
    when = format_time(int(last["time"]))
    state = BATTERY_STATES.get(str(last.get("status", "original")))
    if state is None:
        raise BatterytraceError(f"lifecycle status {last.get('status')!r} has no Catena-X state")
    bms: dict[str, float] = {}
    for rec in history:
        bms.update(rec.get("bms", {}))
    soh = float(last.get("soh_percent", 100.0))
    if "state_of_charge_percent" not in bms:
        raise BatterytraceError("no state_of_charge_percent reading has been recorded for this battery")
    fade_p = float(bms.get("power_fade_percent", 0.0))
    ir_up = float(bms.get("internal_resistance_increase_percent", 0.0))
    max_kw = t.rated_maximum_power_kw
    capacity_kwh = float(lot.extra.get("capacity_kwh", 0))
    mf, fp = f.materials, f.footprint
    docs = m.dismantling_documents
    out: dict[str, Any] = {
        "specVersion": SPEC_VERSION,
        "metadata": {
            "passportIdentifier": passport_id,
            "version": f"{version}.0.0",
            "status": status,
            "issueDate": format_time(issued_at * 1_000_000)[:10],
            "expirationDate": format_time(expires_at * 1_000_000)[:10],
            "lastModification": format_time(issued_at * 1_000_000)[:10],
            "economicOperatorId": m.manufacturer_bpnl,
            "registrationIdentifier": f"{m.manufacturer.web or ''}/passports/{passport_id}",
            "backupReference": m.backup_url or "",
            # the schema requires a predecessor; a first passport has none: the RFC 9562 nil UUID
            "predecessor": predecessor or NIL_UUID,
        },
        "identification": {
            "category": _CATEGORY[m.category],
            "chemistry": m.chemistry_name,
            "idDmc": f"{lot.gtin}{lot.serial}",
            "identification": {
                "type": {"manufacturerPartId": lot.extra.get("model", lot.gtin), "nameAtManufacturer": str(lot.extra.get("model", ""))},
                "serial": [{"key": "partInstanceId", "value": lot.serial}],
                "batch": [{"key": "batchId", "value": made.event[:16]}],
                "codes": [{"key": "GTIN", "value": lot.gtin}],
                "dataCarrier": {"carrierType": "QR", "carrierLayout": "pack housing, top right"},
                "classification": [{"classificationStandard": "Harmonized System (WCO)", "classificationID": "8507.60",
                                    "classificationDescription": "Lithium-ion accumulators"}],
            },
        },
        "operation": {
            "manufacturer": {"manufacturer": m.manufacturer_bpnl, "manufacturingDate": made_day,
                             "facility": [{"facility": m.manufacturing_site_bpna}]},
            **({"intoServiceDate": format_time(service)[:10]} if service is not None else {}),
        },
        "characteristics": {
            "physicalDimension": {"weight": {"value": lot.gross_mass_g, "unit": "unit:gram"}},
            "warranty": {"lifeValue": m.warranty_months, "lifeUnit": "unit:month"},
        },
        "commercial": {"placedOnMarket": made_day, "purpose": ["automotive"]},
        "sustainability": {
            "status": state,
            "carbonFootprint": [
                {"lifecycle": _STAGES[stage], "type": "Climate Change Total", "unit": "kg CO2 / kWh",
                 "value": round(v, 6), "performanceClass": fp.performance_class,
                 "manufacturingPlant": [{"facility": m.manufacturing_site_bpna}],
                 "rulebook": _doc("Carbon footprint study", m.carbon_footprint_study_url),
                 "declaration": _doc("Carbon footprint declaration", m.carbon_footprint_study_url)}
                for stage, v in fp.per_stage_kgco2e_per_kwh.items()
            ],
            "documents": {
                "separateCollection": _doc("Separate collection", m.end_of_life_urls[1]),
                "wastePrevention": _doc("Waste prevention", m.end_of_life_urls[0]),
                "sustainabilityReport": _doc("Due diligence report", m.due_diligence_report_url),
            },
        },
        "materials": {
            "hazardous": {
                name: {"concentration": ppm, "materialUnit": "unit:partPerMillion", "location": "Battery",
                       "critical": False, "impactOfSubstances": _doc("Substance information", m.safety_instructions_url),
                       "documentation": _doc("Declaration of regulated substances", t.declaration_of_conformity_url)}
                for name, ppm in m.declared_hazardous_ppm
            },
            "active": {
                name.lower(): {"location": "Cathode", "critical": ELEMENTS[el][2],
                               "recycled": round(mf.recycled_percent.get(el, {}).get("total", 0.0), 3),
                               "documentation": _doc("Bill of material", docs[0].url if docs else m.due_diligence_report_url)}
                for el, (name, _cas, _crm) in ELEMENTS.items() if el in ("Co", "Ni", "Li", "Pb")
            },
            "composition": [
                {"id": [{"type": "CAS", "name": ELEMENTS[el][0], "id": ELEMENTS[el][1]}], "location": "Cathode",
                 "unit": "unit:partPerMillion", "concentration": round(g * 1_000_000 / lot.gross_mass_g, 1),
                 "critical": ELEMENTS[el][2], "recycled": round(mf.recycled_percent.get(el, {}).get("total", 0.0), 3),
                 "renewable": 0.0, "documentation": _doc("Bill of material", docs[0].url if docs else "")}
                for el, g in mf.element_g.items() if el in ELEMENTS
            ],
        },
        "performance": {
            "rated": {
                "capacity": {"value": t.rated_capacity_ah, "thresholdExhaustion": t.capacity_threshold_for_exhaustion_percent, "temperature": 25.0},
                "energy": {"value": capacity_kwh, "temperature": 25.0},
                "voltage": {"min": t.minimum_voltage_v, "nominal": t.nominal_voltage_v, "max": t.maximum_voltage_v, "temperature": 25.0},
                "power": {"value": t.rated_maximum_power_kw * 1000, "temperature": 25.0,
                          **{f"at{int(soc)}SoC": kw * 1000 for soc, kw in t.original_power_capability_kw if int(soc) in (20, 80)}},
                "resistance": {"temperature": 25.0, **{c: r / 1000 for c, r in t.initial_internal_resistance_mohm}},
                "roundTripEfficiency": {"initial": t.initial_round_trip_efficiency_percent,
                                        "50PercentLife": t.round_trip_efficiency_at_50pct_cycle_life_percent,
                                        "temperature": 25.0, "depthOfDischarge": 100.0},
                "selfDischargingRate": t.initial_self_discharge_percent_per_month,
                "temperature": {"lower": t.temperature_range_idle_lower_c, "upper": t.temperature_range_idle_upper_c},
                "lifetime": {"expectedYears": int(t.expected_lifetime_years),
                             "cycleLifeTesting": {"cycles": t.expected_cycles, "depthOfDischarge": 100.0, "temperature": 25.0,
                                                  "appliedChargeRate": t.c_rate_life_cycle_test, "appliedDischargeRate": t.c_rate_life_cycle_test},
                             "report": _doc("Cycle-life reference test", t.lifetime_reference_test_url)},
                "testReport": _doc("Test reports", t.test_report_url),
                "performanceDocument": _doc("Data sheet", t.lifetime_reference_test_url),
            },
            "dynamic": {
                "stateOfCharge": {"value": float(bms["state_of_charge_percent"]), "time": when},
                "selfDischargingRate": float(bms.get("current_self_discharge_rate_percent_per_month", t.initial_self_discharge_percent_per_month)),
                "power": {"remaining": {"value": max_kw * 1000 * (1 - fade_p / 100), "time": when},
                          "fade": {"value": fade_p, "time": when}},
                "roundTripEfficiency": {
                    "remaining": {"value": float(bms.get("remaining_round_trip_efficiency_percent", t.initial_round_trip_efficiency_percent)), "time": when},
                    "fade": {"value": float(bms.get("round_trip_efficiency_fade_percent", 0.0)), "time": when}},
                "resistance": {
                    "increase": {c: {"value": ir_up, "time": when} for c, _r in t.initial_internal_resistance_mohm},
                    "remaining": {c: {"value": r / 1000 * (1 + ir_up / 100), "time": when} for c, r in t.initial_internal_resistance_mohm}},
                "fullCycles": {"value": int(last.get("cycles", 0)), "time": when},
                "capacity": {"capacity": {"value": float(bms.get("remaining_capacity_ah", t.rated_capacity_ah * soh / 100)), "time": when},
                             "fade": {"value": float(bms.get("capacity_fade_percent", 100.0 - soh)), "time": when},
                             "throughput": {"value": float(bms.get("capacity_throughput_ah", 0.0)), "time": when}},
                "energy": {"remaining": {"value": float(bms.get("remaining_energy_kwh", capacity_kwh * soh / 100)), "time": when},
                           "soce": {"value": float(bms.get("state_of_certified_energy_percent", soh)), "time": when},
                           "throughput": {"value": float(bms.get("energy_throughput_kwh", 0.0)), "time": when}},
            },
        },
        "conformity": {
            "declarationOfConformity": _doc("EU declaration of conformity", t.declaration_of_conformity_url),
            "resultOfTestReport": _doc("Test reports", t.test_report_url),
            "dueDiligencePolicy": _doc("Due diligence report", m.due_diligence_report_url),
            "thirdPartyAssurance": _doc("Third-party assurances", m.third_party_assurances_url),
        },
        "safety": {
            "safetyMeasures": _doc("Safety instructions", m.safety_instructions_url),
            "dismantling": [{"contentType": "URL", "header": d.kind, "content": d.url} for d in docs],
            "usableExtinguishAgent": [{"media": agent, "fireClass": "A, B",
                                       "document": _doc("Safety instructions", m.safety_instructions_url)}
                                      for agent in m.extinguishing_agents],
            "meaningOfLabels": [{"contentType": "URL", "header": meaning, "content": url} for _s, url, meaning in t.labels],
        },
        "handling": {"applicable": True, "content": {
            "producer": [{"id": m.manufacturer_bpnl}],
            "sparePart": [{"manufacturerPartId": number, "nameAtManufacturer": name} for name, number in m.spare_parts],
        }},
        "sources": [{"header": "batterytrace ledger lot", "category": "Supply Chain Information", "type": "URL",
                     "content": f"{m.manufacturer.web or ''}/ledger/lots/{lot.lot_id}"}],
    }
    # lead is both active and hazardous: the schema requires the union of both records in both places
    mats = out["materials"]
    if "lead" in mats["active"] or "lead" in mats["hazardous"]:
        lead = {**mats["hazardous"].get("lead", {}), **mats["active"].get("lead", {})}
        lead.setdefault("concentration", 0.0)
        lead.setdefault("materialUnit", "unit:partPerMillion")
        lead.setdefault("impactOfSubstances", _doc("Substance information", m.safety_instructions_url))
        mats["active"]["lead"] = mats["hazardous"]["lead"] = lead
    return out


def catenax_passport_uuid(passport_id: str) -> str:
    """Catena-X identifies passports by UUID: ``passport_uuid_for`` of our passport id (RFC 9562
    name-based v5), which the SD-JWT passport carries as ``passport_uuid``."""
    return passport_uuid_for(passport_id)


def _lifecycle_of_version(history: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    """The lifecycle records up to (not including) the one that opened the version after ``version``."""
    n, previous = 1, "original"
    for i, record in enumerate(history):
        status = str(record.get("status"))
        if status in NEW_PASSPORT_STATUSES and status != previous:
            n += 1
            if n > version:
                return history[:i]
        previous = status
    return history


class ExportStatusError(VerificationError):
    """The passport's status cannot be stated from its issuer's signed status list; ``rule``
    names why (``statuslist.missing``, ``statuslist.state``, ``statuslist.rollback``,
    ``catenax.passport``)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


def _kept_state(lists: StatusLists, list_id: str) -> dict[str, Any] | None:
    """The issuer's own signing state of a list (unsigned; only compared with the signed list)."""
    path = lists.directory / f"{list_id}.state.json"
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeError, ValueError) as exc:
        raise ExportStatusError("statuslist.state", f"the status list state {path.name} is unreadable: {exc}") from exc
    if not isinstance(state, dict) or not isinstance(state.get("entries"), dict):
        raise ExportStatusError("statuslist.state", f"the status list state {path.name} is malformed")
    return state


def signed_status(ledger: Ledger, passports: Path, passport_id: str, issuer_did: str,
                  now: int | None = None) -> str | None:
    """The status (``valid``, ``suspended``, ``revoked``) of passport version ``passport_id`` as
    its issuer signed it, from the passports directory ``passports`` (the layout ``passport
    issue`` and the passport desk write): its presentation ``<id suffix>.public.sd-jwt``,
    verified (``verify_passport``: issuer ``issuer_did``, the ledger's operator and id) and
    signed by the issuer's key in force on ``ledger`` (``passport.signer``,
    ``passport.key-rotated``), names its index in its issuer's list; the list token ``statuslists/<list id>.jwt``
    must be that issuer's list signed by its key in force on the ledger (``statuslist.signer``,
    ``statuslist.key-rotated``). A passport without a status claim (issued before status lists)
    cannot be withdrawn: ``valid``. None when the directory holds neither the passport nor a
    status entry for it (not issued from here). Refused (``ExportStatusError``): the issuer's
    state names the passport but its presentation is missing, or the presentation is another
    passport (``catenax.passport``); no signed list (``statuslist.missing``); a signed list older
    than the state the issuer last signed (``statuslist.rollback``) or disagreeing with it on the
    passport's index or status (``statuslist.state``). Other verification failures propagate."""
    now = int(time.time()) if now is None else now
    lists = StatusLists(passports)
    list_id = list_id_for(issuer_did)
    state = _kept_state(lists, list_id)
    entry = state["entries"].get(passport_id) if state is not None else None
    path = passports / f"{passport_id.rsplit(':', 1)[1]}.public.sd-jwt"
    if not path.is_file():
        if entry is not None:
            raise ExportStatusError("catenax.passport", f"the issuer's status list state names {passport_id} as issued "
                                    f"but {passports} holds no presentation of it: its status cannot be verified")
        return None
    try:
        presentation = path.read_text().strip()
    except (OSError, UnicodeError) as exc:
        raise ExportStatusError("catenax.passport", f"the presentation {path.name} is unreadable: {exc}") from exc
    # verified as issued (an earlier, superseded version too: its figures are of its time), under
    # this ledger's checkpoint, and signed by the issuer's key in force on the ledger now: a
    # rotated-out key could otherwise forge a passport naming another entry of the list
    passport = verify_passport(presentation, trusted_issuers=[issuer_did], log_operator=ledger.operator_did,
                               now=now, ledger_id=ledger.ledger_id)
    check_signing_key(ledger.store, issuer_did, passport.signer, "passport")
    claims = passport.claims
    if claims.get("passport_id") != passport_id:
        raise ExportStatusError("catenax.passport", f"{path.name} is passport {claims.get('passport_id')!r}, "
                                f"not {passport_id}")
    ref = status_ref(claims)
    if ref is None:
        return "valid"  # issued before status lists: nothing can withdraw it
    idx, uri = ref
    token = lists.token(list_id)
    if token is None:
        raise ExportStatusError("statuslist.missing", f"{passports} holds no signed status list of {issuer_did}: "
                                f"the status of {passport_id} cannot be stated")

    def list_key(signer: str) -> None:  # the issuer's key in force on the ledger, as verify_passport judges it
        check_signing_key(ledger.store, issuer_did, signer, "statuslist")

    try:
        check_status(claims, token, now, list_key)
        listed = "valid"
    except PassportStatusError as exc:
        listed = "revoked" if exc.rule == "passport.revoked" else "suspended"
    if state is not None:  # the issuer's own signing state must say what its signed list says
        verified = verify_status_list_token(token, issuer=issuer_did, uri=uri, now=now, check_key=list_key)
        try:
            iat = int(state.get("iat", 0))
            kept = STATUS_NAMES.get(StatusList.decode(state["list"]).get(int(entry))) if entry is not None else None
        except (KeyError, TypeError, ValueError, EncodingError, VerificationError) as exc:
            raise ExportStatusError("statuslist.state", f"the status list state of {issuer_did} is malformed: "
                                    f"{exc}") from exc
        if iat > verified.issued_at:
            raise ExportStatusError("statuslist.rollback", f"the signed status list of {issuer_did} is of "
                                    f"{verified.issued_at}, older than the list the issuer last signed ({iat}): "
                                    "a superseded list may not state a status")
        if entry is not None and (entry != idx or kept != listed):
            raise ExportStatusError("statuslist.state", f"the status list state says {passport_id} is "
                                    f"{kept} at entry {entry}; its signed list says {listed} at entry {idx}")
    return listed


def passport_state(status: str | None, superseded: bool) -> str:
    """The state of a passport version, a key of ``PASSPORT_STATES``, from its ``status`` as its
    issuer signed it (``signed_status``): revoked or suspended, else superseded (the battery has
    a later passport version), else valid (issued), else not issued (None: no passport issued
    from the directory given, or none given)."""
    if status in ("revoked", "suspended"):
        return status
    if superseded:
        return "superseded"
    return "valid" if status == "valid" else "not issued"


def export_catenax(ledger: Ledger, pack_id: str, master: PackMasterData, issued_at: int,
                   valid_years: int = 15, *, openings: OpeningStore | None = None,
                   passports: Path | None = None, version: int | None = None,
                   now: int | None = None) -> dict[str, Any]:
    """The Catena-X BatteryPass 6.1.0 document of a pack's passport ``version`` (default: the
    current one), from its ledger lineage and OEM data. A confidential pack needs ``openings``
    (refused as ``issue_passport`` refuses: ``OpeningsError`` naming ``openings.missing``,
    ``openings.lot`` or ``openings.mismatch``); its figures are those its passport states. The
    passport identifier and predecessor are the ``passport_uuid`` of that version and of the one
    before; ``metadata.status`` maps ``passport_state`` of the status the issuer signed
    (``signed_status`` in the passports directory ``passports``, checked at ``now``; refused as
    it refuses) and ``sustainability.status`` the battery's lifecycle status as of that version."""
    f = passport_facts(ledger, pack_id, master, openings)
    gtin, serial = f.lot.gtin, f.lot.serial
    assert gtin is not None and serial is not None  # gather_facts refuses a lot that is not a serialised pack
    history: list[dict[str, Any]] = list(f.lot.extra.get("lifecycle", []))
    current = passport_version(history)
    version = current if version is None else version
    if isinstance(version, bool) or not 1 <= version <= current:
        raise NotFoundError(f"{gtin}/{serial} has no passport version {version} "
                            f"(versions 1 to {current})")
    if version < current:  # the battery as it was while that version was the current one
        lot = f.lot.copy()
        lot.extra = {**lot.extra, "lifecycle": _lifecycle_of_version(history, version)}
        f = replace(f, lot=lot)
    pid = passport_id_for(gtin, serial, version)
    operator = f.lot.extra.get("economic_operator")
    signed = signed_status(ledger, passports, pid, operator, now) \
        if passports is not None and isinstance(operator, str) else None
    state = passport_state(signed, version < current)
    predecessor = catenax_passport_uuid(passport_id_for(gtin, serial, version - 1)) if version > 1 else None
    first = ledger.store.get_lots(ledger.store.lots_by_serial(gtin, serial)[:1])  # the aggregation's lot
    return catenax_battery_pass(f, master, catenax_passport_uuid(pid), version, issued_at,
                                issued_at + valid_years * 365 * 86400, predecessor, status=PASSPORT_STATES[state],
                                assembled=next(iter(first.values()), f.lot))
