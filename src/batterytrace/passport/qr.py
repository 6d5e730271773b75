"""QR codes (PNG and SVG) for a passport's GS1 Digital Link URI."""

from __future__ import annotations

from pathlib import Path

import qrcode
import qrcode.image.svg

__all__ = ["write_qr"]


def write_qr(link: str, path: Path) -> Path:
    """Write ``link`` as a QR code (error correction M, 4-module quiet zone); the file suffix
    selects PNG or SVG."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError("QR output must be a .png or .svg file")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(link)
    qr.make(fit=True)
    if suffix == ".svg":
        img = qr.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    else:
        img = qr.make_image(fill_color="black", back_color="white")
    with path.open("wb") as fh:
        img.save(fh)
    return path
