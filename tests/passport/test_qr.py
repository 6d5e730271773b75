"""QR codes decode back to the passport's Digital Link (decoded with an independent reader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.passport.issue import digital_link
from batterytrace.passport.qr import write_qr


def test_png_decodes_to_the_digital_link(tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    link = digital_link("04099999000753", "VM75-000007")
    png = write_qr(link, tmp_path / "p.png")
    results = zxingcpp.read_barcodes(Image.open(png))
    assert [r.text for r in results] == [link]


def test_svg_is_a_qr_drawing(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    svg = write_qr(digital_link("04099999000753", "VM75-000007"), tmp_path / "p.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("path") for el in root.iter())


def test_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_qr("x", tmp_path / "p.gif")
    with pytest.raises(Exception, match="14 digits"):
        digital_link("123", "S1")
