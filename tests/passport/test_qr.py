"""QR labels decode back to the passport's Digital Link (decoded with an independent reader, zxing-cpp)
and carry the GS1 human-readable text; a serial's XML characters cannot break the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from batterytrace.errors import ConfigError
from batterytrace.passport.issue import digital_link
from batterytrace.passport.qr import QUIET_ZONE, hri_lines, write_qr

SVG = "{http://www.w3.org/2000/svg}"


def test_png_label_decodes_to_the_digital_link_and_has_text_below(tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    link = digital_link("04099999000753", "VM75-000007")
    png = write_qr(link, tmp_path / "p.png", hri_lines("04099999000753", "VM75-000007"))
    image = Image.open(png).convert("L")
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [link]
    width, height = image.size
    assert height > width  # the text band under the square symbol
    border = QUIET_ZONE * 8  # 8 pixels per module
    for edge in ((0, 0, width, border), (0, 0, border, width), (width - border, 0, width, width),
                 (0, width - border, width, width)):
        assert image.crop(edge).getextrema()[0] == 255, edge  # the quiet zone is white
    text_band = image.crop((0, width, width, height))
    assert text_band.getextrema()[0] < 128  # something is written below the code
    other = Image.open(write_qr(link, tmp_path / "o.png", hri_lines("04099999000753", "VM75-000008"))).convert("L")
    assert other.crop((0, width, width, height)).tobytes() != text_band.tobytes()  # the text is the serial's
    bare = Image.open(write_qr(link, tmp_path / "bare.png")).convert("L")
    assert bare.size[1] == bare.size[0]  # without text: only the symbol


def test_svg_label_is_a_qr_drawing_with_the_hri_text(tmp_path: Path) -> None:
    svg = write_qr(digital_link("04099999000753", "VM75-000007"), tmp_path / "p.svg",
                   hri_lines("04099999000753", "VM75-000007"))
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg" and root.get("width", "").endswith("mm")
    assert any(el.tag == f"{SVG}path" for el in root.iter())
    assert [t.text for t in root.iter(f"{SVG}text")] == ["(01) 04099999000753", "(21) VM75-000007"]


def test_svg_label_renders_and_decodes(tmp_path: Path) -> None:
    """The SVG drawing itself decodes: rasterise its modules and read them with zxing-cpp."""
    zxingcpp = pytest.importorskip("zxingcpp")
    import re

    from PIL import Image, ImageDraw

    link = digital_link("04099999000753", "VM75-000007", "https://dpp.example.com/b")
    root = ET.parse(write_qr(link, tmp_path / "p.svg", hri_lines("04099999000753", "VM75-000007"))).getroot()
    (path,) = [el for el in root.iter(f"{SVG}path")]
    n = int(root.get("viewBox", "").split()[2])
    image = Image.new("L", (n * 8, n * 8), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)h1v1h-1z", path.get("d", "")):
        draw.rectangle((int(x) * 8, int(y) * 8, int(x) * 8 + 7, int(y) * 8 + 7), fill=0)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [link]


def test_xml_characters_of_a_serial_are_escaped(tmp_path: Path) -> None:
    serial = "<a&b>'\"/x"  # all GS1 CSET 82
    link = digital_link("04099999000753", serial)
    root = ET.parse(write_qr(link, tmp_path / "x.svg", hri_lines("04099999000753", serial))).getroot()
    assert [t.text for t in root.iter(f"{SVG}text")][1] == f"(21) {serial}"
    assert len(list(root)) == 4  # background, symbol, two lines: nothing injected


def test_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.png or \.svg"):
        write_qr("x", tmp_path / "p.gif")
    with pytest.raises(ConfigError, match="cannot write"):
        write_qr("x", tmp_path / "no" / "such" / "p.png")
    with pytest.raises(Exception, match="14 digits"):
        digital_link("123", "S1")
