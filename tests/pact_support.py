"""Product carbon footprints in the PACT data model for tests, authored here (fictional suppliers,
realistic figures): a Tech Spec 2.2 PCF of cobalt hydroxide from a DRC mine and a 3.0 PCF of
battery-grade nickel sulphate declared per tonne."""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["pcf_v2", "pcf_v3", "to_bytes"]

_V2: dict[str, Any] = {
    "id": "b3c1e2d4-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "specVersion": "2.2.0",
    "version": 3,
    "created": "2024-05-20T10:00:00Z",
    "status": "Active",
    "validityPeriodStart": "2024-06-01T00:00:00Z",
    "validityPeriodEnd": "2026-06-01T00:00:00Z",
    "companyName": "Kasonta Cobalt SA",
    "companyIds": ["urn:pact:company:kasonta.example:cd-lsh-00417"],
    "productDescription": "Cobalt hydroxide, 35 % Co (dry basis), bulk in 1.2 t bags",
    "productIds": ["urn:pact:kasonta.example:product-id:COH-35"],
    "productCategoryCpc": "34290",
    "productNameCompany": "Kasonta cobalt hydroxide",
    "comment": "Cradle-to-gate at the mine gate; grid power from the national utility (hydro).",
    "pcf": {
        "declaredUnit": "kilogram",
        "unitaryProductAmount": "1",
        "pCfExcludingBiogenic": "4.82",
        "pCfIncludingBiogenic": "4.82",
        "fossilGhgEmissions": "4.71",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "ipccCharacterizationFactorsSources": ["AR6"],
        "crossSectoralStandardsUsed": ["GHG Protocol Product standard", "ISO Standard 14067"],
        "productOrSectorSpecificRules": [
            {"operator": "Other", "ruleNames": ["Cobalt Institute LCA guidance 2023"], "otherOperatorName": "Cobalt Institute"}
        ],
        "boundaryProcessesDescription": "Open-pit mining, crushing, leaching and precipitation of cobalt hydroxide",
        "referencePeriodStart": "2023-01-01T00:00:00Z",
        "referencePeriodEnd": "2024-01-01T00:00:00Z",
        "exemptedEmissionsPercent": 0.8,
        "exemptedEmissionsDescription": "Office buildings",
        "packagingEmissionsIncluded": True,
        "primaryDataShare": 72.5,
        "dqi": {"coveragePercent": 96, "technologicalDQR": 1.4, "temporalDQR": 1.2, "geographicalDQR": 1.1,
                "completenessDQR": 1.3, "reliabilityDQR": 1.6},
    },
}

_V3: dict[str, Any] = {
    "id": "0f9e8d7c-6b5a-4948-8372-615243342516",
    "specVersion": "3.0.0",
    "created": "2024-09-02T12:00:00Z",
    "status": "Active",
    "validityPeriodStart": "2024-09-02T12:00:00Z",
    "validityPeriodEnd": "2027-09-01T00:00:00Z",
    "companyName": "PT Tanjung Biru Nikel",
    "companyIds": ["urn:pact:company:tanjungbiru.example:id-0093"],
    "productDescription": "Nickel sulphate hexahydrate, battery grade (Ni 22.3 %)",
    "productIds": ["urn:pact:tanjungbiru.example:product-id:NSH-BG"],
    "productClassifications": ["urn:pact:productclassification:cas:10101-97-0"],
    "productNameCompany": "TBN nickel sulphate",
    "comment": "HPAL route; captive coal power partly replaced by solar since 2024.",
    "pcf": {
        "declaredUnitOfMeasurement": "kilogram",
        "declaredUnitAmount": "1000",
        "productMassPerDeclaredUnit": "1000",
        "referencePeriodStart": "2023-07-01T00:00:00Z",
        "referencePeriodEnd": "2024-07-01T00:00:00Z",
        "pcfExcludingBiogenicUptake": "11250",
        "pcfIncludingBiogenicUptake": "11250",
        "fossilGhgEmissions": "11020",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "GHGP-Product"],
        "productOrSectorSpecificRules": [{"operator": "Other", "ruleNames": ["Nickel Institute LCA methodology 2023"]}],
        "exemptedEmissionsPercent": "0",
        "primaryDataShare": "41.2",
    },
}


def pcf_v2() -> dict[str, Any]:
    return copy.deepcopy(_V2)


def pcf_v3() -> dict[str, Any]:
    return copy.deepcopy(_V3)


def to_bytes(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()
