"""Every disclosed field as a labelled, formatted row: labels from the one table in three
languages, units, dates in words, documents as links, "none declared", last-updated dates, and no
error on a value of unexpected shape."""

from __future__ import annotations

import re
from typing import Any

import pytest

from batterytrace.passport.attributes import ATTRIBUTES
from batterytrace.passport.labels import (
    ENUMS,
    FIELDS,
    GROUPS,
    LANGUAGES,
    SUBFIELDS,
    group_of,
    label,
)
from batterytrace.web.format import attribute_sections, fmt_date, humanise, link, short_id
from batterytrace.web.i18n import _TEXT, country, fmt_number, negotiate

BC = "aspects.PerformanceAndDurability.batteryCondition"
CAMEL = re.compile(r"\b[a-z]{2,}[A-Z]\w*")  # a schema key such as stateOfCharge, not a unit such as kWh


def test_the_label_table_covers_the_93_attributes_in_three_languages() -> None:
    assert len(ATTRIBUTES) == 93
    for a in ATTRIBUTES:
        f = FIELDS[a.path]
        assert all(x.strip() for x in f.labels), a.path
        assert group_of(a.path) in GROUPS
    for f in FIELDS.values():
        assert not [x for x in f.labels if CAMEL.search(x)], f.labels
    assert {len(v) for v in GROUPS.values()} == {3}
    assert {len(v) for v in _TEXT.values()} == {3}
    assert {len(v) for v in SUBFIELDS.values()} == {4}
    assert {len(w) for e in ENUMS.values() for w in e.values()} == {3}


def test_label_in_german_and_french() -> None:
    assert label("aspects.Labeling.declarationOfConformity", "de") == "EU-Konformitätserklärung"
    assert label("aspects.Labeling.declarationOfConformity", "fr") == "Déclaration UE de conformité"
    assert label("aspects.Labeling.declarationOfConformity", "xx") == "EU declaration of conformity"


def test_numbers_dates_and_countries_in_each_language() -> None:
    assert fmt_number(6640.878, "en") == "6,640.878"
    assert fmt_number(6640.878, "de") == "6.640,878"
    assert fmt_number(6640.878, "fr") == "6\u202f640,878"
    assert fmt_number(16.0, "en") == "16" and fmt_number(0.1, "en", 1) == "0.1"
    assert fmt_date("2026-04-12T16:15:00Z", "en") == "12 April 2026"
    assert fmt_date("2026-04-12", "de") == "12. April 2026"
    assert fmt_date("2026-04-12", "fr") == "12 avril 2026"
    assert fmt_date("2026-13-12", "en") == "2026-13-12"  # not a date: shown as given
    assert country("CD", "en") == "DR Congo" and country("CD", "de") == "DR Kongo" and country("XQ", "en") == "XQ"


def test_language_negotiation() -> None:
    assert negotiate(None, None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert negotiate(None, None, "es, fr;q=0.5, de;q=0.4") == "fr"
    assert negotiate(None, None, "de;q=0, en") == "en"
    assert negotiate("fr", "de", "de") == "fr"  # the switch wins
    assert negotiate("xx", "de", "fr") == "de"  # then the remembered choice
    assert negotiate(None, None, "q=;;,,de;q=abc") == "en"  # malformed: ignored


def test_links_only_for_http_urls_and_short_ids() -> None:
    assert str(link("https://x.example/a.pdf")) == '<a href="https://x.example/a.pdf">x.example/a.pdf</a>'
    assert "href" not in str(link("javascript:alert(1)"))
    assert "href" not in str(link('https://x.example/"onmouseover=alert(1)'))
    assert str(short_id("urn:batterytrace:e7197acc74eda12a9fa6f99a037d441c")) == \
        '<abbr title="urn:batterytrace:e7197acc74eda12a9fa6f99a037d441c">e7197acc…441c</abbr>'
    assert humanise("stateOfCharge") == "State of charge"


def _rows(claims: dict[str, Any], lang: str = "en") -> dict[str, str]:
    return {r.path: str(r.value) for s in attribute_sections(claims, lang) for r in s.rows}


def test_values_are_formatted() -> None:
    claims = {"aspects": {
        "GeneralProductInformation": {"batteryCategory": "ev", "batteryMass": 413.2,
                                      "manufacturingDate": "2026-04-12T16:00:00Z",
                                      "manufacturingPlace": {"addressCountry": "DE", "postalCode": "70435",
                                                             "streetAddress": "Werkstraße 12"}},
        "MaterialComposition": {"hazardousSubstances": []},
        "Circularity": {"dismantlingAndRemovalInformation": [
            {"documentType": "DismantlingManual", "mimeType": "application/pdf", "documentURL": "https://v.example/d.pdf"}]},
        "PerformanceAndDurability": {"batteryCondition": {
            "remainingCapacity": {"remainingCapacityValue": 216.4, "lastUpdate": "2026-04-12T16:15:00Z"},
            "remainingEnergy": {"remainingEnergyalue": 75.4, "lastUpdate": "2026-04-12T16:15:00Z"}}},
    }}
    rows = _rows(claims)
    g = "aspects.GeneralProductInformation"
    assert rows[f"{g}.batteryCategory"] == "Electric vehicle battery"
    assert rows[f"{g}.batteryMass"] == "413.2 kg"
    assert rows[f"{g}.manufacturingDate"] == "12 April 2026"
    assert rows[f"{g}.manufacturingPlace"] == "Werkstraße 12, 70435, Germany"
    assert rows["aspects.MaterialComposition.hazardousSubstances"] == "none declared"
    assert rows["aspects.Circularity.dismantlingAndRemovalInformation"] == \
        '<a href="https://v.example/d.pdf">Dismantling manual (PDF)</a>'
    assert rows[f"{BC}.remainingCapacity"].startswith("216.4 Ah") and "last updated 12 April 2026" in rows[f"{BC}.remainingCapacity"]
    assert "75.4 kWh" in rows[f"{BC}.remainingEnergy"] and "alue" not in rows[f"{BC}.remainingEnergy"]
    de = _rows(claims, "de")
    assert de[f"{g}.batteryCategory"] == "Elektrofahrzeugbatterie" and de[f"{g}.batteryMass"] == "413,2 kg"
    assert "zuletzt aktualisiert 12. April 2026" in de[f"{BC}.remainingCapacity"]
    sections = attribute_sections(claims, "fr")
    assert [s.title for s in sections] == ["Informations générales", "Composition des matériaux",
                                           "Circularité et fin de vie", "Performance et durabilité"]


@pytest.mark.parametrize("value", [None, 7, "text", [1, [2, {"a": None}]], {"x": {"y": [True]}}, [{}], "<script>"])
def test_a_value_of_unexpected_shape_is_shown_escaped_never_an_error(value: Any) -> None:
    claims = {"aspects": {"Circularity": {"sparePartSources": value, "recycledContent": value},
                          "Labeling": {"labels": value},
                          "PerformanceAndDurability": {"batteryCondition": {"negativeEvents": value}}}}
    for lang in LANGUAGES:
        rows = _rows(claims, lang)
        assert len(rows) == 4
        assert all("<script>" not in v for v in rows.values())


def test_a_field_outside_the_table_gets_a_worded_label() -> None:
    rows = {r.path: r.label for s in attribute_sections({"aspects": {"Labeling": {"someNewField": "x"}}}, "en")
            for r in s.rows}
    assert rows == {"aspects.Labeling.someNewField": "Some new field"}


def test_a_later_version_names_its_predecessor() -> None:
    rows = _rows({"passport_id": "urn:batterytrace:" + "b" * 32, "predecessor": "urn:batterytrace:" + "a" * 32})
    assert rows["predecessor"] == f'<abbr title="urn:batterytrace:{"a" * 32}">aaaaaaaa…aaaa</abbr>'
    assert [r.label for s in attribute_sections({"predecessor": "urn:x:1"}, "de") for r in s.rows] == \
        ["Vorheriger Pass dieser Batterie (vor Umnutzung oder Wiederaufbereitung)"]


def test_attributes_never_recorded_are_said_so_to_the_levels_that_may_read_them() -> None:
    claims = {"summary": {"not_recorded": ["PerformanceAndDurability.batteryCondition.stateOfCharge",
                                           "GeneralProductInformation.puttingIntoService", 7]},
              "aspects": {"GeneralProductInformation": {"batteryMass": 1.0}}}
    li = {r.path: str(r.value) for s in attribute_sections(claims, "en", "legitimate_interest") for r in s.rows}
    assert li[f"{BC}.stateOfCharge"].endswith("not recorded yet (no lifecycle event has stated it)</span>")
    assert "aspects.GeneralProductInformation.puttingIntoService" in li
    public = {r.path for s in attribute_sections(claims, "en", "public") for r in s.rows}
    assert public == {"aspects.GeneralProductInformation.batteryMass"}  # names of restricted fields stay hidden
    authorities = {r.path for s in attribute_sections(claims, "en", "authorities") for r in s.rows}
    assert authorities == public
