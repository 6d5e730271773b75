"""Server-drawn SVG charts: accessible (role, title, desc with the figures), escaped, proportional."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from batterytrace.web.charts import hbar_chart, stacked_bar, target_bars

SVG = "{http://www.w3.org/2000/svg}"


def test_hbar_chart_is_accessible_and_proportional() -> None:
    svg = str(hbar_chart("c1", "Carbon <kg>", [("raw & pre", 300.0), ("production", 150.0)], "kg"))
    root = ET.fromstring(svg)  # well-formed XML: labels are escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find(f"{SVG}title").text == "Carbon <kg>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "raw & pre: 300.0 kg; production: 150.0 kg"  # type: ignore[union-attr]
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert abs(widths[0] / widths[1] - 2.0) < 0.01


def test_stacked_bar_shares_fill_the_width() -> None:
    root = ET.fromstring(str(stacked_bar("o", "Origin", [("CD", 75.0), ("AU", 25.0)], width=400)))
    bars = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect") if r.get("height") == "24"]
    assert bars == [300.0, 100.0]


def test_target_bars_mark_targets_and_state_them() -> None:
    rows = [{"element": "Co", "name": "Cobalt", "pre": 1.0, "post": 2.0, "targets": [("2031", 16.0, False)]}]
    svg = str(target_bars("r", "Recycled", rows))
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}line"))) == 1
    assert re.search(r"Cobalt: 1\.0 % pre-consumer \+ 2\.0 % post-consumer \(2031 target 16 % not met\)",
                     root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
