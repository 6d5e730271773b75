"""Labels for a passport's GS1 Digital Link: a QR code (PNG or SVG) with its quiet zone and, below
it, the human-readable interpretation (HRI) of the identifiers it carries, written as GS1 writes
element strings: the application identifier in parentheses, then its data — ``(01)`` and the
GTIN-14, ``(21)`` and the serial number."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import qrcode
import qrcode.constants

from batterytrace.errors import ConfigError

__all__ = ["QUIET_ZONE", "hri_lines", "write_qr"]

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)
_BOX_PX = 8  # PNG pixels per module
_MODULE_MM = 0.5  # SVG: printed size of one module (GS1 recommends 0.396-0.990 mm for QR)
_TEXT_MODULES = 3.2  # SVG: height of one HRI line, in modules


def hri_lines(gtin14: str, serial: str) -> list[str]:
    """The human-readable lines of a serialised item's label: ``(01) <GTIN-14>``, ``(21) <serial>``."""
    return [f"(01) {gtin14}", f"(21) {serial}"]


def _symbol(link: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=_BOX_PX, border=QUIET_ZONE)
    qr.add_data(link)
    qr.make(fit=True)
    return [list(map(bool, row)) for row in qr.get_matrix()]  # the quiet zone included


def _svg(matrix: list[list[bool]], hri: Sequence[str]) -> str:
    n = len(matrix)
    height = n + len(hri) * _TEXT_MODULES + (1 if hri else 0)
    dark = "".join(f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, on in enumerate(row) if on)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {n} {height:g}" '
        f'width="{n * _MODULE_MM:g}mm" height="{height * _MODULE_MM:g}mm">',
        f'<rect x="0" y="0" width="{n}" height="{height:g}" fill="#fff"/>',
        f'<path d="{dark}" fill="#000"/>',
    ]
    # a monospace character is ~0.6 em wide: the longest line fits within the symbol's width
    size = min(_TEXT_MODULES * 0.7, 0.95 * (n - 2) / (0.6 * max((len(x) for x in hri), default=1)))
    for i, line in enumerate(hri):
        y = n + (i + 1) * _TEXT_MODULES - 0.6
        parts.append(f'<text x="{n / 2:g}" y="{y:g}" text-anchor="middle" font-family="OCR-B, \'DejaVu Sans Mono\', '
                     f'monospace" font-size="{size:.3f}" fill="#000" '
                     f'aria-label={quoteattr(line)}>{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _png(matrix: list[list[bool]], hri: Sequence[str], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    n = len(matrix)
    side = n * _BOX_PX
    line_px = 4 * _BOX_PX
    canvas = Image.new("L", (side, side + len(hri) * line_px + (_BOX_PX if hri else 0)), 255)
    draw = ImageDraw.Draw(canvas)
    size = 3 * _BOX_PX
    font = ImageFont.load_default(size=size)
    while size > 8 and any(draw.textlength(line, font=font) > side - 2 * _BOX_PX for line in hri):
        size -= 1  # the longest line fits within the symbol's width
        font = ImageFont.load_default(size=size)
    for y, row in enumerate(matrix):
        for x, on in enumerate(row):
            if on:
                draw.rectangle((x * _BOX_PX, y * _BOX_PX, (x + 1) * _BOX_PX - 1, (y + 1) * _BOX_PX - 1), fill=0)
    for i, line in enumerate(hri):
        draw.text((side / 2, side + i * line_px), line, fill=0, font=font, anchor="mt")
    canvas.save(path, format="PNG")


def write_qr(link: str, path: Path, hri: Sequence[str] = ()) -> Path:
    """Write ``link`` as a QR code (error correction M, 4-module quiet zone) with the ``hri`` text
    lines below it (``hri_lines``), sized to the symbol's width; the file suffix selects PNG or SVG.
    ``ConfigError`` for another suffix or a path that cannot be written."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ConfigError(f"QR output {path} must be a .png or .svg file")
    matrix = _symbol(link)
    try:
        if suffix == ".svg":
            path.write_text(_svg(matrix, hri), encoding="utf-8")
        else:
            _png(matrix, hri, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
