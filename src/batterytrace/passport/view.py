"""What a passport viewer shows, computed from verified passport claims only.

``passport_view`` reads nothing but the claims a presentation disclosed, so a public view cannot
contain a field the public presentation did not carry. ``verification_checks`` explains what
``verify_passport`` established for those claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batterytrace.passport.verification import CheckResult as Check

__all__ = ["Check", "PassportView", "passport_view", "verification_checks"]

ELEMENT_NAMES = {"Co": "Cobalt", "Ni": "Nickel", "Li": "Lithium", "Mn": "Manganese", "Pb": "Lead"}


@dataclass
class PassportView:
    level: str
    identity: dict[str, Any]
    carbon_per_stage_kg: list[tuple[str, float]]
    carbon_per_kwh_kg: float | None
    carbon_class: str | None
    primary_data_percent: float | None
    recycled: list[dict[str, Any]]  # element, pre, post, targets [(year, target, met)]
    origin_mix: list[tuple[str, list[tuple[str, float]]]]
    certified_percent: list[tuple[str, float]]
    diligence: list[dict[str, Any]]
    certifications: list[dict[str, Any]]
    restricted: dict[str, Any] = field(default_factory=dict)  # above-public data, by section
    primary_data_percent_per_stage: dict[str, float] = field(default_factory=dict)


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


def passport_view(claims: dict[str, Any], level: str) -> PassportView:
    s = claims.get("summary", {})
    battery = claims.get("battery", {})
    gpi = _get(claims, "aspects", "GeneralProductInformation") or {}
    identity = {
        "gtin": battery.get("gtin"), "serial": battery.get("serial"), "digital_link": battery.get("digital_link"),
        "passport_id": claims.get("passport_id"), "passport_version": claims.get("passport_version"),
        "chemistry": s.get("chemistry"), "capacity_kwh": s.get("capacity_kwh"),
        "category": gpi.get("batteryCategory"), "manufacturer": _get(gpi, "manufacturerInformation", "contactName"),
        "manufacturing_date": gpi.get("manufacturingDate"), "mass_kg": gpi.get("batteryMass"),
        "issuer": claims.get("iss"),
    }
    art8 = s.get("art8_targets", {})
    recycled = []
    for element, shares in sorted(s.get("recycled_percent", {}).items()):
        targets = [(year, float(t["target"]), bool(t["met"])) for year, t in sorted(art8.get(element, {}).items())]
        recycled.append({"element": element, "name": ELEMENT_NAMES.get(element, element),
                         "pre": float(shares.get("pre", 0)), "post": float(shares.get("post", 0)),
                         "targets": targets})
    view = PassportView(
        level=level,
        identity=identity,
        carbon_per_stage_kg=[(k, float(v)) for k, v in s.get("carbon_kgco2e_per_stage", {}).items()],
        carbon_per_kwh_kg=s.get("carbon_kgco2e_per_kwh"),
        carbon_class=s.get("carbon_performance_class"),
        primary_data_percent=s.get("carbon_primary_data_percent"),
        primary_data_percent_per_stage={str(k): float(v) for k, v in
                                        (s.get("carbon_primary_data_percent_per_stage") or {}).items()
                                        if isinstance(v, int | float) and not isinstance(v, bool)},
        recycled=recycled,
        origin_mix=[(el, sorted(((c, float(p)) for c, p in mix.items()), key=lambda x: -x[1]))
                    for el, mix in sorted(s.get("origin_mix_percent", {}).items())],
        certified_percent=[(el, float(p)) for el, p in sorted(s.get("certified_percent", {}).items())],
        diligence=[{"scheme": k, **v} for k, v in sorted(s.get("due_diligence_indices", {}).items())],
        certifications=list(s.get("assurances", [])),
    )
    perf = _get(claims, "aspects", "PerformanceAndDurability") or {}
    condition = perf.get("batteryCondition")
    if isinstance(condition, dict) and any(k in condition for k in ("stateOfCertifiedEnergy", "remainingCapacity")):
        view.restricted["state_of_health"] = condition
    technical = perf.get("batteryTechicalProperties") or {}
    lifetime = {k: technical[k] for k in ("expectedLifetime", "initialSelfDischarge") if k in technical}
    if lifetime:
        view.restricted["lifetime"] = lifetime
    status = {k: gpi[k] for k in ("batteryStatus", "puttingIntoService") if k in gpi}
    if status:
        view.restricted["status"] = status
    dismantling = _get(claims, "aspects", "Circularity", "dismantlingAndRemovalInformation")
    if dismantling:
        view.restricted["dismantling"] = dismantling
    return view


def verification_checks(claims: dict[str, Any], anchor_checked: bool = False) -> list[Check]:
    """What a successful ``verify_passport`` established for ``claims``, check by check;
    ``anchor_checked``: the caller also verified the checkpoint's anchor on chain."""
    ev = claims.get("evidence", {})
    cp = ev.get("checkpoint", {})
    checks = [
        Check("issuer signature", "passed", f"EdDSA signature of the economic operator {claims.get('iss')} over the passport"),
        Check("selective disclosures", "passed", "every disclosed field is committed to by the signed passport"),
        Check("ledger event", "passed", "the signed event that assembled this pack names its GTIN, serial and "
              + ("commitments to its element masses" if isinstance(ev.get("zk_figures"), dict) else "element masses")),
        Check("log inclusion", "passed", f"event is leaf {ev.get('leaf_index')} of the log's tree of "
              f"{cp.get('tree_size')} entries (RFC 9162 inclusion proof)"),
        Check("checkpoint", "passed", f"tree head signed by the ledger operator {cp.get('log_id')}"),
    ]
    anchor = ev.get("anchor")
    if isinstance(anchor, dict) and anchor_checked:
        checks.append(Check("anchor", "passed", f"the checkpoint (tree size {anchor.get('tree_size')}) is recorded "
                            f"by contract {anchor.get('contract')} on chain {anchor.get('chain_id')}, block "
                            f"{anchor.get('block_number')}, transaction {str(anchor.get('tx_hash'))[:18]}…"))
    elif anchor is not None:
        checks.append(Check("anchor", "not checked", "the passport carries anchor evidence, not checked here: "
                            "verify it against the registry you pin (anchor passport)"))
    else:
        checks.append(Check("anchor", "absent", "the passport carries no on-chain anchor of its checkpoint"))
    zk = ev.get("zk_figures")
    if isinstance(zk, dict):
        proofs = sum(len(v) for v in zk.values() if isinstance(v, dict))
        checks.append(Check("ZK claims", "passed", f"{len(zk)} figures (recycled content, certified share, origin mix) "
                            f"proved by {proofs} zero-knowledge range proofs over the pack's commitments on the "
                            "ledger; the grams stay confidential"))
    else:
        checks.append(Check("ZK claims", "absent", "the passport carries no zero-knowledge threshold proofs"))
    return checks
