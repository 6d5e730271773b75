"""Forged passports the demo tries after issuing the real ones: the economic operator re-signs its
own passport with better figures, and the verifier refuses them (or, offline, reports what it
cannot re-derive as declared by the manufacturer)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from batterytrace.crypto.sdjwt import issue_sd_jwt
from batterytrace.crypto.signing import SigningKey
from batterytrace.passport.issue import VCT

__all__ = ["forged_passports"]


def _lower_footprint(c: dict[str, Any], factor: float = 0.1) -> None:
    """Every carbon figure scaled alike and class A: the passport stays self-consistent."""
    s, a = c["summary"], c["aspects"]["CarbonFootprintForBatteries"]
    s["carbon_kgco2e_per_stage"] = {k: round(v * factor, 3) for k, v in s["carbon_kgco2e_per_stage"].items()}
    s["carbon_kgco2e_per_kwh"] = a["batteryCarbonFootprint"] = round(s["carbon_kgco2e_per_kwh"] * factor, 6)
    a["absoluteCarbonFootprint"] = round(a["absoluteCarbonFootprint"] * factor, 3)
    for entry in a["carbonFootprintPerLifecycleStage"]:
        entry["carbonFootprint"] = round(entry["carbonFootprint"] * factor, 6)
    s["carbon_performance_class"] = a["carbonFootprintPerformanceClass"] = "A"


def _lighter(c: dict[str, Any]) -> None:
    c["aspects"]["GeneralProductInformation"]["batteryMass"] = 1.0


def _footprint_class_and_mass(c: dict[str, Any]) -> None:
    _lower_footprint(c)
    _lighter(c)


def _class_a(c: dict[str, Any]) -> None:
    c["summary"]["carbon_performance_class"] = c["aspects"]["CarbonFootprintForBatteries"][
        "carbonFootprintPerformanceClass"] = "A"


def forged_passports(claims: dict[str, Any], key: SigningKey, now: int) -> list[tuple[str, str]]:
    """(description, presentation) pairs: ``claims`` of a verified passport, re-signed by ``key``
    (the economic operator's) with better figures."""
    changes: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("10x lower footprint, class A and a 1 kg battery", _footprint_class_and_mass),
        ("class A on the real footprint", _class_a),
        ("10x lower footprint and class A, consistently", _lower_footprint),
    ]
    out = []
    for description, change in changes:
        forged = copy.deepcopy({k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct")})
        change(forged)
        out.append((description, issue_sd_jwt(key, forged, vct=VCT, issued_at=now, expires_at=now + 86400).present([])))
    return out
