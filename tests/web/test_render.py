"""Viewer pages rendered from claims: the model as title, the flow chart's sources from the plain
buckets or the stated shares, and no error for evidence or shares of unexpected shape."""

from __future__ import annotations

from typing import Any

import pytest

from batterytrace.passport.view import Check, passport_view
from batterytrace.web.render import PageContext, flow_elements, render_error, render_passport


def _claims(**summary: Any) -> dict[str, Any]:
    return {
        "passport_id": "urn:batterytrace:" + "ab" * 16, "passport_version": 1,
        "battery": {"gtin": "04099999000753", "serial": "S-1", "digital_link": "https://id.example/01/04099999000753/21/S-1"},
        "evidence": {"event": {"event": {"outputs": [
            {"gtin": "04099999000753", "serial": "S-1", "model": "Voltara VM75",
             "buckets": {"Co/certified/CD": 500, "Co/uncertified/CD": 300, "Co/recycled-post/—": 200}}]}}},
        "summary": {"origin_mix_percent": {"Co": {"CD": 100.0}}, "recycled_percent": {"Co": {"pre": 0.0, "post": 20.0}},
                    "certified_percent": {"Co": 50.0}, **summary},
        "aspects": {"GeneralProductInformation": {"manufacturerInformation": {"contactName": "Voltara Motors AG"}}},
    }


CHECKS = [Check("issuer signature", "passed", "EdDSA"), Check("anchor", "passed", "contract 0xabc"),
          Check("ZK claims", "absent", "no proofs")]


def test_flow_from_the_plain_buckets() -> None:
    (co,) = flow_elements(_claims(), "en")
    assert co == {"name": "Cobalt", "sources": [("DR Congo", "certified", 50.0), ("DR Congo", "uncertified", 30.0),
                                                ("recycled, post-consumer", "recycled_post", 20.0)]}


def test_flow_from_the_stated_shares_when_the_grams_are_confidential() -> None:
    claims = _claims(origin_mix_percent={"Co": {"CD": 60.0, "ZM": 40.0}, "Li": {"AU": 100.0}},
                     recycled_percent={"Co": {"pre": 0.0, "post": 20.0}, "Li": {"pre": 1.0, "post": 9.0}},
                     certified_percent={"Co": 50.0, "Li": 0.0})
    claims["evidence"]["event"]["event"]["outputs"][0]["buckets"] = {"Co/certified/CD": "c2NhbGFy"}  # commitments
    co, li = flow_elements(claims, "de")
    # several mining countries: per country, the certification not split by country (not guessed)
    assert co["sources"][:2] == [("DR Kongo", "mined", 48.0), ("Sambia", "mined", 32.0)]
    assert li["sources"][:2] == [("Australien", "certified", 0.0), ("Australien", "uncertified", 90.0)]


@pytest.mark.parametrize("evidence", [None, "x", {"event": "x"}, {"event": {"event": {"outputs": "x"}}},
                                      {"event": {"event": {"outputs": [1, {"gtin": []}]}}}])
def test_evidence_of_unexpected_shape_is_not_an_error(evidence: Any) -> None:
    claims = _claims()
    claims["evidence"] = evidence
    page = render_passport(passport_view(claims, "public"), CHECKS, "/01/04099999000753/21/S-1", (), claims,
                           PageContext("en", "/01/04099999000753/21/S-1"))
    assert "<title>Battery · S-1" in page  # no model name to show


def test_shares_of_unexpected_shape_draw_nothing() -> None:
    claims = _claims()
    claims["evidence"] = None  # no plain buckets: the stated shares are used
    assert flow_elements({**claims, "summary": {**claims["summary"], "certified_percent": {"Co": "lots"}}}, "en") == []
    assert flow_elements({**claims, "summary": {"recycled_percent": {"Co": {"pre": "x"}},
                                                "origin_mix_percent": {"Co": {"CD": 100}}}}, "en") == []


def test_the_page_says_verified_in_words_and_anchored() -> None:
    claims = _claims()
    page = render_passport(passport_view(claims, "public"), CHECKS, "/p", (), claims, PageContext("fr", "/p"))
    assert "<title>Voltara VM75 · S-1" in page and '<html lang="fr">' in page
    assert "Vérifié — émis par Voltara Motors AG, inscrit au journal public, ancré sur la chaîne" in page
    assert "absent" not in page.split('id="technical"')[0]


def test_error_page_escapes_what_it_repeats() -> None:
    page = render_error(404, "No passport", "<script>x</script>", PageContext("en", "/"), gtin='"><b>')
    assert "<script>x" not in page and "&lt;script&gt;" in page and 'value="&#34;&gt;&lt;b&gt;"' in page


def _lineage() -> Any:
    from batterytrace.ledger.material_flow import FlowLink, FlowNode, MaterialFlow

    nodes = (FlowNode("origin:mine:a/certified", 0, "mine", "Mine Alpha", "CD", "certified", ("ore",)),
             FlowNode("origin:plant:r/recycled-post", 0, "recycler", "Recycler Rho", "BE", "recycled-post", ()),
             FlowNode("site:plant:f", 1, "refiner", "Refinery Phi", "FI"),
             FlowNode("site:plant:v", 2, "oem", "Voltara plant", "DE"),
             FlowNode("product", 3, "product", "Voltara VM75", ""))
    links = (FlowLink("origin:mine:a/certified", "site:plant:f", "Co", "certified", 800.0, 80.0),
             FlowLink("origin:plant:r/recycled-post", "site:plant:v", "Co", "recycled-post", 200.0, 20.0),
             FlowLink("site:plant:f", "site:plant:v", "Co", "certified", 800.0, 80.0),
             FlowLink("site:plant:v", "product", "Co", "certified", 800.0, 80.0),
             FlowLink("site:plant:v", "product", "Co", "recycled-post", 200.0, 20.0))
    return MaterialFlow("e:0", nodes, links, {"Co": 1000}, "shown")


@pytest.mark.parametrize(("lang", "stage"), [("en", "Refiners"), ("de", "Raffinerien"), ("fr", "Raffineurs")])
def test_the_lineage_is_drawn_stage_by_stage_with_names(lang: str, stage: str) -> None:
    claims = _claims()
    html = render_passport(passport_view(claims, "commission"), CHECKS, "/p", (), claims,
                           PageContext(lang, "/p", "commission"), None, _lineage())
    assert 'data-chart="stages"' in html and 'data-chart="flow"' in html
    assert "Refinery Phi (" in html and "Mine Alpha (" in html and stage in html
    assert "800" in html and "80\u00a0%" in html
    assert 'id="stages-note"' in html


def test_without_the_lineage_the_page_says_the_stages_are_not_disclosed() -> None:
    claims = _claims()
    html = render_passport(passport_view(claims, "public"), CHECKS, "/p", (), claims, PageContext("en", "/p"))
    assert 'data-chart="stages"' not in html and "Refinery Phi" not in html
    assert "not disclosed at this access level" in html


def test_a_withheld_lineage_names_the_stages_without_amounts() -> None:
    from dataclasses import replace

    from batterytrace.ledger.material_flow import FlowLink

    lineage = _lineage()
    hidden = replace(lineage, element_g={}, quantities="withheld",
                     links=tuple(FlowLink(x.source, x.target, None, None, None, None) for x in lineage.links))
    claims = _claims()
    html = render_passport(passport_view(claims, "authorities"), CHECKS, "/p", (), claims,
                           PageContext("en", "/p", "authorities"), None, hidden)
    assert 'data-chart="stages"' not in html
    assert "Refiners: Refinery Phi" in html and "Mines and recyclers: Mine Alpha, Recycler Rho" in html
    assert "800" not in html.split('id="stages-withheld"')[1].split("</p>")[0]
