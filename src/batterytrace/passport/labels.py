"""Human labels of every passport field the viewer shows, in English, German and French: the one
table the passport viewer (web/render.py) and ``docs/passport-attributes.md`` both read.

A row names a claim path (as in ``attributes.ATTRIBUTES``), its Annex XIII / BatteryPass group, its
unit and how its value is formatted (``kind``; web/format.py knows each kind). Sub-fields of a
structured value (an address, a document, a reading) have their own rows so no raw schema key
(``remainingEnergyalue``) ever reaches a page.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ENUMS", "FIELDS", "GROUPS", "LANGUAGES", "SUBFIELDS", "Field", "group_of", "label"]

LANGUAGES = ("en", "de", "fr")

# Annex XIII / BatteryPass groups, in page order
GROUPS: dict[str, tuple[str, str, str]] = {
    "general": ("General information", "Allgemeine Angaben", "Informations générales"),
    "carbon": ("Carbon footprint", "CO₂-Fußabdruck", "Empreinte carbone"),
    "diligence": ("Supply-chain due diligence", "Sorgfaltspflichten in der Lieferkette",
                  "Devoir de diligence dans la chaîne d’approvisionnement"),
    "materials": ("Material composition", "Materialzusammensetzung", "Composition des matériaux"),
    "circularity": ("Circularity and end of life", "Kreislaufwirtschaft und Lebensende", "Circularité et fin de vie"),
    "performance": ("Performance and durability", "Leistung und Haltbarkeit", "Performance et durabilité"),
    "labels": ("Labels and conformity", "Kennzeichnung und Konformität", "Étiquetage et conformité"),
}
_ASPECT_GROUP = {"GeneralProductInformation": "general", "CarbonFootprintForBatteries": "carbon",
                 "SupplyChainDueDiligence": "diligence", "MaterialComposition": "materials",
                 "Circularity": "circularity", "PerformanceAndDurability": "performance", "Labeling": "labels"}
_SUMMARY_GROUP = {"summary.assurances": "diligence", "summary.due_diligence_indices": "diligence",
                  "summary.critical_raw_materials": "materials", "summary.warranty_months": "general",
                  "summary.art8_not_applicable": "circularity",
                  "summary.element_g": "materials", "summary.temperature_range_idle_c": "performance",
                  "passport_id": "general", "predecessor": "general"}


class Field(NamedTuple):
    path: str
    unit: str  # "" when the value has none
    kind: str  # how web/format.py formats it
    labels: tuple[str, str, str]  # en, de, fr


GPI = "aspects.GeneralProductInformation"
CF = "aspects.CarbonFootprintForBatteries"
DD = "aspects.SupplyChainDueDiligence"
MC = "aspects.MaterialComposition"
CI = "aspects.Circularity"
TP = "aspects.PerformanceAndDurability.batteryTechicalProperties"
BC = "aspects.PerformanceAndDurability.batteryCondition"
LB = "aspects.Labeling"

_ROWS: list[tuple[str, str, str, str, str, str]] = [
    ("passport_id", "", "urn", "Passport identifier", "Kennung des Batteriepasses", "Identifiant du passeport"),
    ("predecessor", "", "urn", "Previous passport of this battery (before repurposing or remanufacturing)",
     "Vorheriger Pass dieser Batterie (vor Umnutzung oder Wiederaufbereitung)",
     "Passeport précédent de cette batterie (avant réaffectation ou reconditionnement)"),
    (f"{GPI}.productIdentifier", "", "text", "Battery identifier (GTIN/serial)", "Batteriekennung (GTIN/Seriennummer)",
     "Identifiant de la batterie (GTIN/série)"),
    (f"{GPI}.batteryPassportIdentifier", "", "urn", "Passport identifier", "Kennung des Batteriepasses",
     "Identifiant du passeport"),
    (f"{GPI}.batteryCategory", "", "enum", "Battery category", "Batteriekategorie", "Catégorie de batterie"),
    (f"{GPI}.manufacturerInformation", "", "contact", "Manufacturer", "Hersteller", "Fabricant"),
    (f"{GPI}.operatorInformation", "", "contact", "Economic operator", "Wirtschaftsakteur", "Opérateur économique"),
    (f"{GPI}.manufacturingPlace", "", "address", "Manufacturing place", "Herstellungsort", "Lieu de fabrication"),
    (f"{GPI}.manufacturingDate", "", "date", "Manufacturing date", "Herstellungsdatum", "Date de fabrication"),
    (f"{GPI}.puttingIntoService", "", "date", "Put into service", "Inbetriebnahme", "Mise en service"),
    (f"{GPI}.batteryMass", "kg", "number", "Battery mass", "Batteriemasse", "Masse de la batterie"),
    ("summary.warranty_months", "months", "number", "Warranty period", "Garantiezeitraum", "Période de garantie"),
    (f"{GPI}.warrentyPeriod", "", "gmonth", "Warranty period", "Garantiezeitraum", "Période de garantie"),
    (f"{GPI}.batteryStatus", "", "enum", "Battery status", "Batteriestatus", "Statut de la batterie"),
    (f"{CF}.batteryCarbonFootprint", "kg CO₂e/kWh", "number", "Carbon footprint per kWh",
     "CO₂-Fußabdruck je kWh", "Empreinte carbone par kWh"),
    (f"{CF}.absoluteCarbonFootprint", "kg CO₂e", "number", "Absolute carbon footprint", "Absoluter CO₂-Fußabdruck",
     "Empreinte carbone absolue"),
    (f"{CF}.carbonFootprintPerLifecycleStage", "kg CO₂e/kWh", "stages", "Carbon footprint by life-cycle stage",
     "CO₂-Fußabdruck je Lebenszyklusphase", "Empreinte carbone par étape du cycle de vie"),
    (f"{CF}.carbonFootprintPerformanceClass", "", "text", "Carbon footprint performance class",
     "CO₂-Leistungsklasse", "Classe de performance carbone"),
    (f"{CF}.carbonFootprintStudy", "", "url", "Carbon footprint study", "CO₂-Fußabdruck-Studie",
     "Étude de l’empreinte carbone"),
    (f"{DD}.supplyChainDueDiligenceReport", "", "url", "Due diligence report", "Bericht zur Sorgfaltspflicht",
     "Rapport de diligence raisonnable"),
    (f"{DD}.thirdPartyAussurances", "", "url", "Third-party assurances", "Prüfungen durch Dritte",
     "Assurances de tiers"),
    (f"{DD}.supplyChainIndicies", "/100", "number", "Supply-chain index (weaker GBA index)",
     "Lieferkettenindex (schwächerer GBA-Index)", "Indice de la chaîne d’approvisionnement (indice GBA le plus faible)"),
    ("summary.assurances", "", "assurances", "Third-party assurances of recognised schemes",
     "Zertifizierungen anerkannter Systeme", "Certifications de systèmes reconnus"),
    ("summary.due_diligence_indices", "/100", "indices", "Supply-chain indices (GBA)", "Lieferkettenindizes (GBA)",
     "Indices de la chaîne d’approvisionnement (GBA)"),
    (f"{MC}.batteryChemistry", "", "chemistry", "Battery chemistry", "Batteriechemie", "Chimie de la batterie"),
    ("summary.critical_raw_materials", "", "element_names", "Critical raw materials", "Kritische Rohstoffe",
     "Matières premières critiques"),
    ("summary.element_g", "kg", "grams", "Element masses", "Elementmassen", "Masses des éléments"),
    (f"{MC}.batteryMaterials", "kg", "materials", "Materials of cathode, anode and electrolyte",
     "Materialien von Kathode, Anode und Elektrolyt", "Matériaux de la cathode, de l’anode et de l’électrolyte"),
    (f"{MC}.hazardousSubstances", "", "records", "Hazardous substances", "Gefährliche Stoffe", "Substances dangereuses"),
    (f"{CI}.dismantlingAndRemovalInformation", "", "documents", "Dismantling and removal information",
     "Informationen zu Demontage und Ausbau", "Informations sur le démontage et le retrait"),
    (f"{CI}.sparePartSources", "", "spareparts", "Spare parts: sources and part numbers",
     "Ersatzteile: Bezugsquellen und Teilenummern", "Pièces de rechange : sources et références"),
    (f"{CI}.safetyMeasures", "", "record", "Safety measures", "Sicherheitsmaßnahmen", "Mesures de sécurité"),
    (f"{CI}.recycledContent", "%", "recycled", "Recycled content", "Rezyklatanteil", "Contenu recyclé"),
    ("summary.art8_not_applicable", "", "element_symbols", "Art. 8 recycled content not applicable (none of it in "
     "the battery)", "Rezyklatanteil nach Art. 8 nicht anwendbar (nicht in der Batterie enthalten)",
     "Contenu recyclé de l’art. 8 sans objet (absent de la batterie)"),
    (f"{CI}.renewableContent", "%", "number", "Renewable content", "Anteil erneuerbarer Stoffe",
     "Contenu renouvelable"),
    (f"{CI}.endOfLifeInformation", "", "record", "End of life: your role", "Lebensende: Ihre Rolle",
     "Fin de vie : votre rôle"),
    (f"{TP}.ratedCapacity", "Ah", "number", "Rated capacity", "Nennkapazität", "Capacité nominale"),
    (f"{TP}.ratedEnergy", "kWh", "number", "Certified usable energy", "Zertifizierte nutzbare Energie",
     "Énergie utilisable certifiée"),
    (f"{TP}.minimumVoltage", "V", "number", "Minimum voltage", "Mindestspannung", "Tension minimale"),
    (f"{TP}.maximumVoltage", "V", "number", "Maximum voltage", "Höchstspannung", "Tension maximale"),
    (f"{TP}.nominalVoltage", "V", "number", "Nominal voltage", "Nennspannung", "Tension nominale"),
    (f"{TP}.originalPowerCapability", "kW", "power", "Original power capability", "Ursprüngliche Leistungsfähigkeit",
     "Capacité de puissance d’origine"),
    (f"{TP}.ratedMaximumPower", "kW", "number", "Maximum permitted power", "Zulässige Höchstleistung",
     "Puissance maximale autorisée"),
    (f"{TP}.powerCapabilityRatio", "kW/kWh", "number", "Ratio of power to energy", "Verhältnis Leistung zu Energie",
     "Rapport puissance/énergie"),
    (f"{TP}.roundtripEfficiency", "%", "number", "Initial round-trip efficiency", "Anfänglicher Wirkungsgrad",
     "Rendement aller-retour initial"),
    (f"{TP}.initialSelfDischarge", "%/month", "number", "Initial self-discharge rate", "Anfängliche Selbstentladung",
     "Taux d’autodécharge initial"),
    (f"{TP}.initialInternalResistance", "mΩ", "resistance", "Initial internal resistance",
     "Anfänglicher Innenwiderstand", "Résistance interne initiale"),
    (f"{TP}.expectedLifetime", "years", "number", "Expected lifetime", "Erwartete Lebensdauer", "Durée de vie prévue"),
    (f"{TP}.expectedNumberOfCycles", "cycles", "number", "Expected charge-discharge cycles",
     "Erwartete Lade-/Entladezyklen", "Cycles de charge-décharge prévus"),
    (f"{TP}.lifetimeReferenceTest", "", "url", "Cycle-life reference test", "Referenztest der Zyklenlebensdauer",
     "Essai de référence de durée de vie"),
    (f"{TP}.cRateLifeCycleTest", "C", "number", "C-rate of the cycle-life test", "C-Rate des Zyklentests",
     "Régime C de l’essai de cyclage"),
    (f"{TP}.capacityThresholdForExhaustion", "%", "number", "Capacity threshold for exhaustion",
     "Kapazitätsgrenze für Erschöpfung", "Seuil de capacité d’épuisement"),
    (f"{TP}.temperatureRangeIdleState", "°C", "number", "Idle temperature, lower boundary",
     "Ruhetemperatur, untere Grenze", "Température au repos, limite inférieure"),
    ("summary.temperature_range_idle_c", "°C", "range", "Idle temperature range", "Ruhetemperaturbereich",
     "Plage de température au repos"),
    (f"{BC}.roundTripEfficiencyat50PerCentCycleLife", "%", "number", "Round-trip efficiency at 50 % of cycle life",
     "Wirkungsgrad bei 50 % der Zyklenlebensdauer", "Rendement à 50 % de la durée de vie"),
    (f"{BC}.remainingCapacity", "Ah", "reading", "Remaining capacity", "Verbleibende Kapazität", "Capacité restante"),
    (f"{BC}.capacityFade", "%", "reading", "Capacity fade", "Kapazitätsverlust", "Perte de capacité"),
    (f"{BC}.remainingEnergy", "kWh", "reading", "Remaining usable energy", "Verbleibende nutzbare Energie",
     "Énergie utilisable restante"),
    (f"{BC}.stateOfCertifiedEnergy", "%", "reading", "State of certified energy (SOCE)",
     "Zustand der zertifizierten Energie (SOCE)", "État de l’énergie certifiée (SOCE)"),
    (f"{BC}.stateOfCharge", "%", "reading", "State of charge", "Ladezustand", "État de charge"),
    (f"{BC}.remainingPowerCapability", "kW", "readings", "Remaining power capability",
     "Verbleibende Leistungsfähigkeit", "Capacité de puissance restante"),
    (f"{BC}.powerFade", "%", "number", "Power fade", "Leistungsverlust", "Perte de puissance"),
    (f"{BC}.remainingRoundTripEnergyEfficiency", "%", "reading", "Remaining round-trip efficiency",
     "Verbleibender Wirkungsgrad", "Rendement aller-retour restant"),
    (f"{BC}.roundTripEfficiencyFade", "%", "number", "Round-trip efficiency fade", "Wirkungsgradverlust",
     "Perte de rendement"),
    (f"{BC}.currentSelfDischargingRate", "%/month", "reading", "Current self-discharge rate",
     "Aktuelle Selbstentladung", "Taux d’autodécharge actuel"),
    (f"{BC}.evolutionOfSelfDischarge", "%/month", "reading", "Evolution of self-discharge",
     "Entwicklung der Selbstentladung", "Évolution de l’autodécharge"),
    (f"{BC}.internalResistanceIncrease", "%", "readings", "Internal resistance increase",
     "Anstieg des Innenwiderstands", "Augmentation de la résistance interne"),
    (f"{BC}.numberOfFullCycles", "cycles", "reading", "Full charge-discharge cycles", "Vollzyklen",
     "Cycles complets"),
    (f"{BC}.energyThroughput", "kWh", "number", "Energy throughput", "Energiedurchsatz", "Énergie échangée"),
    (f"{BC}.capacityThroughput", "Ah", "reading", "Capacity throughput", "Kapazitätsdurchsatz", "Capacité échangée"),
    (f"{BC}.temperatureInformation", "h", "record", "Time in extreme temperatures",
     "Zeit bei extremen Temperaturen", "Temps passé à des températures extrêmes"),
    (f"{BC}.negativeEvents", "", "readings", "Negative events (deep discharge, overcharge, accidents)",
     "Negative Ereignisse (Tiefentladung, Überladung, Unfälle)",
     "Événements négatifs (décharge profonde, surcharge, accidents)"),
    (f"{LB}.labels", "", "labels", "Labels and symbols", "Kennzeichnungen und Symbole", "Étiquettes et symboles"),
    (f"{LB}.declarationOfConformity", "", "url", "EU declaration of conformity", "EU-Konformitätserklärung",
     "Déclaration UE de conformité"),
    (f"{LB}.resultOfTestReport", "", "url", "Test reports proving compliance",
     "Prüfberichte zum Nachweis der Konformität", "Rapports d’essai prouvant la conformité"),
]

FIELDS: dict[str, Field] = {r[0]: Field(r[0], r[1], r[2], (r[3], r[4], r[5])) for r in _ROWS}

# Keys inside structured values (addresses, documents, readings, records): key → (unit, en, de, fr)
SUBFIELDS: dict[str, tuple[str, str, str, str]] = {
    "contactName": ("", "Name", "Name", "Nom"),
    "identifier": ("", "Identifier", "Kennung", "Identifiant"),
    "postalAddress": ("", "Address", "Anschrift", "Adresse"),
    "webAddress": ("", "Website", "Website", "Site web"),
    "emailAddress": ("", "E-mail", "E-Mail", "Courriel"),
    "shortName": ("", "Short name", "Kurzname", "Nom court"),
    "clearName": ("", "Full name", "Vollständiger Name", "Nom complet"),
    "safetyInstructions": ("", "Safety instructions", "Sicherheitshinweise", "Consignes de sécurité"),
    "extinguishingAgent": ("", "Extinguishing agent", "Löschmittel", "Agent extincteur"),
    "wastePrevention": ("", "Waste prevention", "Abfallvermeidung", "Prévention des déchets"),
    "separateCollection": ("", "Separate collection", "Getrennte Sammlung", "Collecte séparée"),
    "informationOnCollection": ("", "Collection and second life", "Rücknahme und Second Life",
                                "Collecte et seconde vie"),
    "timeExtremeHighTemp": ("h", "Above the upper boundary", "Über der oberen Grenze", "Au-dessus de la limite haute"),
    "timeExtremeLowTemp": ("h", "Below the lower boundary", "Unter der unteren Grenze", "Au-dessous de la limite basse"),
    "timeExtremeHighTempCharging": ("h", "Charging above the upper boundary", "Laden über der oberen Grenze",
                                    "Charge au-dessus de la limite haute"),
    "timeExtremeLowTempCharging": ("h", "Charging below the lower boundary", "Laden unter der unteren Grenze",
                                   "Charge au-dessous de la limite basse"),
    "hazardousSubstanceName": ("", "Substance", "Stoff", "Substance"),
    "hazardousSubstanceClass": ("", "Hazard class", "Gefahrenklasse", "Classe de danger"),
    "hazardousSubstanceConcentration": ("%", "Concentration", "Konzentration", "Concentration"),
    "hazardousSubstanceImpact": ("", "Impact", "Auswirkung", "Impact"),
    "hazardousSubstanceLocation": ("", "Location", "Ort", "Emplacement"),
    "hazardousSubstanceIdentifier": ("", "Identifier", "Kennung", "Identifiant"),
}

# Enumerated codes in words: field name → code → (en, de, fr)
ENUMS: dict[str, dict[str, tuple[str, str, str]]] = {
    "batteryCategory": {
        "ev": ("Electric vehicle battery", "Elektrofahrzeugbatterie", "Batterie de véhicule électrique"),
        "lmt": ("Light means of transport battery", "Batterie für leichte Verkehrsmittel",
                "Batterie de moyen de transport léger"),
        "industrial": ("Industrial battery", "Industriebatterie", "Batterie industrielle"),
        "sli": ("Starting, lighting and ignition battery", "Starterbatterie", "Batterie de démarrage"),
        "portable": ("Portable battery", "Gerätebatterie", "Batterie portable"),
    },
    "batteryStatus": {
        "Original": ("Original", "Original", "D’origine"),
        "Repurposed": ("Repurposed", "Umgenutzt", "Réaffectée"),
        "Reused": ("Reused", "Wiederverwendet", "Réemployée"),
        "Remanufactured": ("Remanufactured", "Wiederaufbereitet", "Reconditionnée"),
        "Waste": ("Waste", "Abfall", "Déchet"),
    },
    "lifecycleStage": {
        "RawMaterialExtraction": ("Raw material acquisition and pre-processing", "Rohstoffgewinnung und Vorverarbeitung",
                                  "Acquisition et prétraitement des matières premières"),
        "MainProduction": ("Main product production", "Hauptproduktion", "Production principale"),
        "Distribution": ("Distribution", "Vertrieb", "Distribution"),
        "Recycling": ("End of life and recycling", "Lebensende und Recycling", "Fin de vie et recyclage"),
    },
    "documentType": {
        "DismantlingManual": ("Dismantling manual", "Demontageanleitung", "Manuel de démontage"),
        "RemovalManual": ("Removal manual", "Ausbauanleitung", "Manuel de retrait"),
        "BillOfMaterial": ("Bill of materials", "Stückliste", "Nomenclature"),
        "OtherManual": ("Other manual", "Sonstige Anleitung", "Autre manuel"),
        "Drawing": ("Drawing", "Zeichnung", "Dessin"),
        "Model3D": ("3D model", "3D-Modell", "Modèle 3D"),
    },
    "labelingSubject": {
        "SeparateCollection": ("Separate collection symbol", "Symbol für getrennte Sammlung", "Symbole de collecte séparée"),
        "CarbonFootPrint": ("Carbon footprint label", "CO₂-Fußabdruck-Kennzeichnung", "Étiquette d’empreinte carbone"),
        "ExtinguishingAgent": ("Extinguishing agent", "Löschmittel", "Agent extincteur"),
        "Cadmium": ("Cadmium symbol", "Cadmium-Symbol", "Symbole cadmium"),
        "Lead": ("Lead symbol", "Blei-Symbol", "Symbole plomb"),
    },
}


def label(path: str, lang: str = "en") -> str:
    """The label of the field at ``path`` in ``lang``; ``KeyError`` for a field the table lacks."""
    return FIELDS[path].labels[LANGUAGES.index(lang) if lang in LANGUAGES else 0]


def group_of(path: str) -> str:
    """The Annex XIII / BatteryPass group of the field at ``path``."""
    if path in _SUMMARY_GROUP:
        return _SUMMARY_GROUP[path]
    parts = path.split(".")
    if parts[0] == "aspects" and len(parts) > 1 and parts[1] in _ASPECT_GROUP:
        return _ASPECT_GROUP[parts[1]]
    raise KeyError(path)
