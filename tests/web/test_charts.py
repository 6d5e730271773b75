"""Server-drawn SVG charts: accessible (role, title, desc with the figures), escaped, proportional,
with legends and axes, drawn at a width that keeps text at least 12 px on a 390 px phone."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from batterytrace.web.charts import FONT, WIDTH, flow_chart, hbar_chart, target_bars

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
