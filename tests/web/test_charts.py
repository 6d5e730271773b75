"""Server-drawn SVG charts: accessible (role, title, desc with the figures), escaped, proportional,
with legends and axes, drawn at a width that keeps text at least 12 px on a 390 px phone."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from batterytrace.web.charts import FONT, WIDTH, flow_chart, hbar_chart, sankey_chart, target_bars

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {"certified": "certified mining", "uncertified": "uncertified mining", "mined": "mined",
          "recycled_pre": "recycled, pre-consumer", "recycled_post": "recycled, post-consumer", "this_pack": "this battery"}


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_hbar_chart_is_accessible_proportional_and_has_an_axis() -> None:
    svg = str(hbar_chart("c1", "Carbon <kg>", [("raw & pre", 300.0), ("production", 150.0)], "kg"))
    root = ET.fromstring(svg)  # well-formed XML: labels are escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find(f"{SVG}title").text == "Carbon <kg>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "raw & pre: 300.0 kg; production: 150.0 kg"  # type: ignore[union-attr]
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert abs(widths[0] / widths[1] - 2.0) < 0.01
    assert {"0", "150", "300", "kg"} <= set(_texts(root))  # axis ticks and unit


def test_target_bars_mark_targets_state_them_and_have_a_legend() -> None:
    rows = [{"element": "Co", "name": "Cobalt", "pre": 1.0, "post": 2.0, "targets": [("2031", 16.0, False)]}]
    root = ET.fromstring(str(target_bars("r", "Recycled", rows, legend=("pre", "post", "minimum"))))
    assert len([x for x in root.iter(f"{SVG}line") if x.get("stroke-width") == "2"]) == 1
    assert re.search(r"Cobalt: 1\.0 % pre-consumer \+ 2\.0 % post-consumer \(2031 target 16 % not met\)",
                     root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    texts = _texts(root)
    assert "pre" in texts and "post" in texts and any(t.startswith("minimum") for t in texts)
    assert "%" in texts  # the axis unit


def test_flow_chart_bands_are_proportional_and_named() -> None:
    elements = [{"name": "Cobalt", "sources": [("DR Congo", "certified", 50.0), ("DR Congo", "uncertified", 48.0),
                                               ("recycled, post-consumer", "recycled_post", 2.0)]},
                {"name": "Lithium", "sources": [("Australia", "uncertified", 100.0)]}]
    root = ET.fromstring(str(flow_chart("flow", "Flow <x>", elements, LABELS)))
    texts = _texts(root)
    assert "Cobalt" in texts and "Lithium" in texts and "this battery" in texts
    assert "DR Congo 50 %" in texts and "Australia 100 %" in texts
    # the source nodes are as tall as their shares (96 units per element)
    heights = [float(r.get("height", 0)) for r in root.iter(f"{SVG}rect") if r.get("x") == "0"]
    assert [abs(h - want) < 0.1 for h, want in zip(heights[:4], (48.0, 46.08, 1.92, 96.0), strict=True)] == [True] * 4
    # the legend names each class used, and only those
    assert "certified mining" in texts and "uncertified mining" in texts and "recycled, post-consumer" in texts
    assert "recycled, pre-consumer" not in texts and "mined" not in texts
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "Cobalt: DR Congo (certified mining) 50.0 %" in desc


def test_chart_text_stays_legible_on_a_phone() -> None:
    """A 390 px phone shows a chart about 358 px wide (1 rem padding each side): the 13-unit text of
    a 360-unit chart is then at least 12 px."""
    assert FONT * 358 / WIDTH >= 12
    svg = str(hbar_chart("c", "t", [("a", 1.0)], "kg"))
    assert f'viewBox="0 0 {WIDTH} ' in svg


def _stages() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    stages: list[dict[str, object]] = [
        {"label": "Mines and recyclers", "nodes": [
            {"id": "m1", "name": "Mine <A>", "detail": "certified · Cobalt 60 %", "cls": "certified"},
            {"id": "m2", "name": "Mine B", "detail": "uncertified · Cobalt 30 %", "cls": "uncertified"},
            {"id": "r", "name": "Recycler", "detail": "Cobalt 10 %", "cls": "recycled_post"}]},
        {"label": "Refiners", "nodes": [{"id": "f", "name": "Refinery", "detail": "", "cls": ""}]},
        {"label": "Cell makers", "nodes": [{"id": "c", "name": "Cells", "detail": "", "cls": ""}]},
        {"label": "This battery", "nodes": [{"id": "p", "name": "this battery", "detail": "", "cls": ""}]}]
    links: list[dict[str, object]] = [
        {"source": "m1", "target": "f", "cls": "certified", "weight": 60.0, "text": "A to refinery 60 %"},
        {"source": "m2", "target": "f", "cls": "uncertified", "weight": 30.0, "text": "B to refinery 30 %"},
        {"source": "r", "target": "c", "cls": "recycled_post", "weight": 10.0, "text": "recycler to cells 10 %"},
        {"source": "f", "target": "c", "cls": "certified", "weight": 60.0, "text": ""},
        {"source": "f", "target": "c", "cls": "uncertified", "weight": 30.0, "text": ""},
        {"source": "c", "target": "p", "cls": "certified", "weight": 60.0, "text": ""},
        {"source": "c", "target": "p", "cls": "uncertified", "weight": 30.0, "text": ""},
        {"source": "c", "target": "p", "cls": "recycled_post", "weight": 10.0, "text": ""}]
    return stages, links


def test_sankey_stages_bars_bands_and_key() -> None:
    stages, links = _stages()
    root = ET.fromstring(str(sankey_chart("stages", "Flow <x>", stages, links, LABELS)))
    texts = _texts(root)
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "Flow <x>"  # type: ignore[union-attr]
    for label in ("Mines and recyclers", "Refiners", "Cell makers", "This battery"):
        assert texts.count(label) == 2  # over its bar and in the key
    assert "Mine <A> · certified · Cobalt 60 %" in texts  # escaped in the markup, intact in the text
    assert "recycled, post-consumer" in texts and "recycled, pre-consumer" not in texts  # the legend
    # nodes numbered as drawn; the bars of one stage share the width in proportion (at least 22 units)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "18.0"]
    first = sorted((float(r.get("x", 0)), float(r.get("width", 0))) for r in bars if r.get("y") == bars[0].get("y"))
    assert len(first) == 3
    assert first[0][1] / first[1][1] == pytest.approx(2.0, rel=0.01)
    assert first[2][1] >= 22.0
    assert sum(w for _, w in first) + 2 * 4 == pytest.approx(WIDTH, abs=0.2)
    # the recycler skips the refiners: a gap is kept for it in their bar, the refinery is 90 % of it
    refinery = next(r for r in bars if r.get("y") != bars[0].get("y"))
    assert float(refinery.get("width", 0)) == pytest.approx((WIDTH - 4) * 0.9, abs=0.5)
    assert len(list(root.iter(f"{SVG}path"))) == 1 + 1 + 1 + 1 + 2 + 3  # hops, the skip drawn in two
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "A to refinery 60 %" in desc and "recycler to cells 10 %" in desc


def test_sankey_key_lines_wrap_inside_the_chart() -> None:
    stages, links = _stages()
    long = "Kivijärvi Battery Chemicals Oy, refinery (Finland) · Cobalt 98 % (6,798 g), Lithium 91 % (7,306 g)"
    stages[1]["nodes"] = [{"id": "f", "name": long, "detail": "", "cls": ""}]
    root = ET.fromstring(str(sankey_chart("stages", "t", stages, links, LABELS)))
    for t in root.iter(f"{SVG}text"):
        if t.get("text-anchor") == "start":
            assert float(t.get("x", 0)) + len(t.text or "") * 7.2 <= WIDTH + 8, t.text
    assert any((t.text or "").startswith("Kivijärvi") for t in root.iter(f"{SVG}text"))
    assert not any(t.text == long for t in root.iter(f"{SVG}text"))
