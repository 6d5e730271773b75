"""Accessible inline SVG charts drawn on the server (no scripts, no external assets).

Every chart has ``role="img"``, a ``<title>`` and a ``<desc>`` stating its figures, so screen
readers get the numbers; the page also prints them as text.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

__all__ = ["hbar_chart", "stacked_bar", "target_bars"]

PALETTE = ("#1f5f8b", "#c2571a", "#2e7d32", "#6a3d9a", "#8d6e00", "#ad1457", "#00695c", "#4e342e")


def _svg(width: int, height: int, title: str, desc: str, body: str, chart_id: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'data-chart="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>{body}</svg>'
    )


def hbar_chart(chart_id: str, title: str, rows: list[tuple[str, float]], unit: str, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, value), each labelled above its bar."""
    top = max((v for _, v in rows), default=0.0) or 1.0
    row_h, bar_h = 52, 22
    plot = width - 170
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * row_h
        w = max(1.0, plot * value / top)
        parts.append(
            f'<text x="0" y="{y + 16}" class="lbl">{escape(label)}</text>'
            f'<rect x="0" y="{y + 22}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{w + 6:.1f}" y="{y + 38}" class="val">{value:,.1f} {escape(unit)}</text>'
        )
    height = max(1, len(rows)) * row_h
    desc = "; ".join(f"{label}: {value:,.1f} {unit}" for label, value in rows)
    return _svg(width, height, title, desc, "".join(parts), chart_id)


def stacked_bar(chart_id: str, title: str, parts: list[tuple[str, float]], width: int = 640) -> Markup:
    """One 100 % bar split into shares (percent), with a legend."""
    x = 0.0
    rects, legend = [], []
    for i, (label, pct) in enumerate(parts):
        w = width * pct / 100.0
        colour = PALETTE[i % len(PALETTE)]
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="24" fill="{colour}"/>')
        lx = (i % 4) * (width // 4)
        ly = 44 + (i // 4) * 20
        legend.append(f'<rect x="{lx}" y="{ly - 11}" width="12" height="12" fill="{colour}"/>'
                      f'<text x="{lx + 16}" y="{ly}" class="lbl">{escape(label)} {pct:.1f} %</text>')
        x += w
    height = 50 + ((len(parts) - 1) // 4 + 1) * 20
    desc = "; ".join(f"{label}: {pct:.1f} %" for label, pct in parts)
    return _svg(width, height, title, desc, "".join(rects + legend), chart_id)


def target_bars(chart_id: str, title: str, rows: list[dict[str, object]], width: int = 640) -> Markup:
    """Recycled content per element (pre- and post-consumer stacked) against target markers."""
    label_w, bar_h, gap = 110, 22, 22
    plot = width - label_w - 20
    scale = max([30.0] + [float(str(t[1])) for r in rows for t in r["targets"]]  # type: ignore[attr-defined]
                + [float(str(r["pre"])) + float(str(r["post"])) for r in rows]) * 1.1
    parts = []
    descs = []
    for i, r in enumerate(rows):
        y = i * (bar_h + gap)
        pre, post = float(str(r["pre"])), float(str(r["post"]))
        w1, w2 = plot * pre / scale, plot * post / scale
        parts.append(f'<text x="0" y="{y + 16}" class="lbl">{escape(str(r["name"]))}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w1:.1f}" height="{bar_h}" fill="{PALETTE[0]}"/>'
                     f'<rect x="{label_w + w1:.1f}" y="{y}" width="{w2:.1f}" height="{bar_h}" fill="{PALETTE[2]}"/>')
        targets = []
        for year, target, met in r["targets"]:  # type: ignore[attr-defined]
            tx = label_w + plot * float(target) / scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y - 4}" y2="{y + bar_h + 4}" stroke="#000" '
                         f'stroke-width="2" stroke-dasharray="{"0" if year == "2031" else "4 2"}"/>'
                         f'<text x="{tx + 3:.1f}" y="{y + bar_h + 14}" class="tick">{escape(str(year))}: {float(target):g} %</text>')
            targets.append(f"{year} target {float(target):g} % {'met' if met else 'not met'}")
        descs.append(f"{r['name']}: {pre:.1f} % pre-consumer + {post:.1f} % post-consumer ({', '.join(targets) or 'no target'})")
    height = max(1, len(rows)) * (bar_h + gap) + 8
    return _svg(width, height, title, "; ".join(descs), "".join(parts), chart_id)
