"""Accessible inline SVG charts drawn on the server (no scripts, no external assets).

Every chart has ``role="img"``, a ``<title>`` and a ``<desc>`` stating its figures, so screen
readers get the numbers; the page also prints them as text. Charts are drawn 360 units wide with
13-unit text and shown at most 480 px wide, so their text stays between 12 and 18 px from a
390 px phone to a desktop.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

__all__ = ["FONT", "WIDTH", "flow_chart", "hbar_chart", "line_chart", "sankey_chart", "target_bars"]

PALETTE = ("#1f5f8b", "#c2571a", "#2e7d32", "#6a3d9a", "#8d6e00", "#ad1457", "#00695c", "#4e342e")
WIDTH, FONT = 360, 13
# origin classes of the flow chart
CLASS_COLOURS = {"certified": "#2e7d32", "uncertified": "#8d6e00", "mined": "#666666", "recycled_pre": "#1f5f8b",
                 "recycled_post": "#6a3d9a"}


def _svg(width: int, height: int, title: str, desc: str, body: str, chart_id: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'data-chart="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>{body}</svg>'
    )


def _text(x: float, y: float, text: str, cls: str = "lbl", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def _legend(items: list[tuple[str, str]], y: float, width: int = WIDTH) -> tuple[str, float]:
    """Swatches with their labels, two to a row; returns the SVG and the height used."""
    parts = []
    cols = 1 if any(len(label) > 22 for label, _ in items) else 2
    col = width // cols
    for i, (label, colour) in enumerate(items):
        lx, ly = (i % cols) * col, y + (i // cols) * 20
        parts.append(f'<rect x="{lx}" y="{ly:.1f}" width="12" height="12" fill="{colour}"/>'
                     + _text(lx + 16, ly + 11, label))
    return "".join(parts), ((len(items) + cols - 1) // cols) * 20


def _axis(x0: float, plot: float, top: float, y: float, unit: str, fmt: str = "{:g}") -> str:
    """A horizontal axis from 0 to ``top`` with three ticks and the unit."""
    parts = [f'<line x1="{x0:.1f}" x2="{x0 + plot:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#444"/>']
    for i in range(3):
        value = top * i / 2
        x = x0 + plot * i / 2
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}" stroke="#444"/>'
                     + _text(x, y + 18, fmt.format(value), "tick", "start" if i == 0 else "end" if i == 2 else "middle"))
    parts.append(_text(x0 + plot, y + 34, unit, "tick", "end"))
    return "".join(parts)


def hbar_chart(chart_id: str, title: str, rows: list[tuple[str, float]], unit: str, width: int = WIDTH) -> Markup:
    """Horizontal bars, one per (label, value), each labelled above its bar, with a value axis."""
    top = max((v for _, v in rows), default=0.0) or 1.0
    row_h, bar_h = 44, 18
    plot = width - 90
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * row_h
        w = max(1.0, plot * value / top)
        parts.append(_text(0, y + 14, label)
                     + f'<rect x="0" y="{y + 20}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     + _text(w + 4, y + 34, f"{value:,.0f}", "val"))
    axis_y = max(1, len(rows)) * row_h + 2
    parts.append(_axis(0, plot, top, axis_y, unit, "{:,.0f}"))
    desc = "; ".join(f"{label}: {value:,.1f} {unit}" for label, value in rows)
    return _svg(width, axis_y + 40, title, desc, "".join(parts), chart_id)


def _pct(pct: float) -> str:
    return f"{pct:.0f} %" if pct >= 1 or pct == 0 else "<1 %"


def target_bars(chart_id: str, title: str, rows: list[dict[str, object]], width: int = WIDTH,
                legend: tuple[str, str, str] = ("pre-consumer", "post-consumer", "Art. 8 minimum")) -> Markup:
    """Recycled content per element (pre- and post-consumer stacked) against target markers (the
    2031 one labelled below the bar, the 2036 one above), with a legend and a percent axis."""
    label_w, bar_h, band = 84, 20, 18
    row_h = band + bar_h + band + 8
    plot = width - label_w - 10
    scale = max([30.0] + [float(str(t[1])) for r in rows for t in r["targets"]]  # type: ignore[attr-defined]
                + [float(str(r["pre"])) + float(str(r["post"])) for r in rows]) * 1.1
    parts = []
    descs = []
    for i, r in enumerate(rows):
        y = i * row_h + band
        pre, post = float(str(r["pre"])), float(str(r["post"]))
        w1, w2 = plot * pre / scale, plot * post / scale
        parts.append(_text(0, y + 15, str(r["name"]))
                     + f'<rect x="{label_w}" y="{y}" width="{w1:.1f}" height="{bar_h}" fill="{PALETTE[0]}"/>'
                     f'<rect x="{label_w + w1:.1f}" y="{y}" width="{w2:.1f}" height="{bar_h}" fill="{PALETTE[2]}"/>')
        targets = []
        marks = list(r["targets"])  # type: ignore[call-overload]
        same = len({float(m[1]) for m in marks}) == 1 and len(marks) > 1
        for j, (year, target, met) in enumerate(marks):
            tx = label_w + plot * float(target) / scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y - 3}" y2="{y + bar_h + 3}" stroke="#000" '
                         f'stroke-width="2" stroke-dasharray="{"0" if j == 0 else "4 2"}"/>')
            text = f"{'/'.join(str(m[0]) for m in marks) if same else year}: {float(target):g} %"
            half = len(text) * 3.6  # about half the text's width at 13 units
            cx = min(max(tx, label_w + half), width - half)
            if not (same and j > 0):
                parts.append(_text(cx, y + bar_h + 15 if j == 0 else y - 5, text, "tick", "middle"))
            targets.append(f"{year} target {float(target):g} % {'met' if met else 'not met'}")
        descs.append(f"{r['name']}: {pre:.1f} % pre-consumer + {post:.1f} % post-consumer ({', '.join(targets) or 'no target'})")
    axis_y = max(1, len(rows)) * row_h + 2
    body = "".join(parts) + _axis(label_w, plot, scale, axis_y, "%", "{:.0f}")
    lg, lh = _legend([(legend[0], PALETTE[0]), (legend[1], PALETTE[2]),
                      (legend[2] + " (2031 ─, 2036 ┄)", "#000")], axis_y + 42, width)
    return _svg(width, int(axis_y + 42 + lh), title, "; ".join(descs), body + lg, chart_id)


def flow_chart(chart_id: str, title: str, elements: list[dict[str, object]], labels: dict[str, str],
               width: int = WIDTH) -> Markup:
    """A Sankey-style flow: sources on the left (mining countries, certified or uncertified, and
    recycled material) into each element, and the elements into the pack on the right.

    ``elements``: ``{"name", "sources": [(source label, class, percent)]}`` per element, shares of
    that element summing to 100; each element gets the same height. ``labels``: the class names
    (``certified``, ``uncertified``, ``recycled_pre``, ``recycled_post``) and ``this_pack``."""
    per_el, gap, src_gap, min_band = 96.0, 18.0, 3.0, 16.0
    x_el, x_pack, node_w, slot = 226.0, 346.0, 8.0, 24.0
    parts: list[str] = []
    descs: list[str] = []
    y_src = 0.0
    n = len(elements)
    tops: list[float] = []
    for e in elements:
        sources: list[tuple[str, str, float]] = [s for s in e["sources"] if s[2] > 0]  # type: ignore[attr-defined]
        need = sum(max(per_el * s[2] / 100.0, min_band) + src_gap for s in sources)
        el_top = max(y_src, 0.0)
        name = str(e["name"])
        cursor = el_top
        for label, cls, pct in sources:
            h = per_el * pct / 100.0
            colour = CLASS_COLOURS.get(cls, "#777")
            x1, x2 = node_w, x_el
            mid = (x1 + x2) / 2
            parts.append(f'<rect x="0" y="{y_src:.1f}" width="{node_w}" height="{max(h, 1.0):.1f}" fill="{colour}"/>'
                         f'<path d="M{x1:.1f},{y_src:.1f} C{mid:.1f},{y_src:.1f} {mid:.1f},{cursor:.1f} {x2:.1f},{cursor:.1f} '
                         f'L{x2:.1f},{cursor + h:.1f} C{mid:.1f},{cursor + h:.1f} {mid:.1f},{y_src + h:.1f} '
                         f'{x1:.1f},{y_src + h:.1f} Z" fill="{colour}" fill-opacity="0.35"/>'
                         + _text(node_w + 4, y_src + 13, f"{label} {_pct(pct)}"))
            descs.append(f"{name}: {label} ({labels.get(cls, cls)}) {pct:.1f} %")
            cursor += h
            y_src += max(h, min_band) + src_gap
        y_src = max(y_src, el_top + need, el_top + per_el) + gap
        tops.append(el_top)
        parts.append(f'<rect x="{x_el}" y="{el_top:.1f}" width="{node_w}" height="{per_el:.1f}" fill="#333"/>'
                     + _text(x_el + node_w + 4, el_top + 14, name))
    height = max(y_src - gap, per_el)
    pack_top = height / 2 - n * slot / 2
    a, m = x_el + node_w, (x_el + node_w + x_pack) / 2
    for i, top in enumerate(tops):
        pt, pb, bottom = pack_top + i * slot, pack_top + (i + 1) * slot, top + per_el
        parts.append(f'<path d="M{a:.1f},{top:.1f} C{m:.1f},{top:.1f} {m:.1f},{pt:.1f} {x_pack:.1f},{pt:.1f} '
                     f'L{x_pack:.1f},{pb:.1f} C{m:.1f},{pb:.1f} {m:.1f},{bottom:.1f} {a:.1f},{bottom:.1f} Z" '
                     f'fill="#333" fill-opacity="0.2"/>')
    body = "".join(parts)
    body += (f'<rect x="{x_pack}" y="{pack_top:.1f}" width="{node_w + 6}" height="{n * slot:.1f}" fill="#111"/>'
             + _text(x_pack + node_w + 6, pack_top - 6, labels.get("this_pack", "this battery"), "lbl", "end"))
    used = {s[1] for e in elements for s in e["sources"]}  # type: ignore[attr-defined]
    legend_items = [(labels.get(c, c), colour) for c, colour in CLASS_COLOURS.items() if c in used]
    lg, lh = _legend(legend_items, height + 12, width)
    return _svg(width, int(height + 16 + lh), title, "; ".join(descs), body + lg, chart_id)


def line_chart(chart_id: str, title: str, points: list[tuple[str, float]], unit: str, top: float = 100.0,
               width: int = WIDTH) -> Markup:
    """Values over time (``(date label, value)`` in time order) as a line with dots, a value axis
    from 0 to ``top`` and the dates under their dots (first and last when there are many)."""
    x0, plot_h, y0 = 34.0, 120.0, 8.0
    plot_w = width - x0 - 24
    n = len(points)
    parts = [f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y0 + plot_h}" stroke="#444"/>',
             f'<line x1="{x0}" x2="{x0 + plot_w}" y1="{y0 + plot_h}" y2="{y0 + plot_h}" stroke="#444"/>']
    for i in range(3):
        value = top * i / 2
        y = y0 + plot_h - plot_h * i / 2
        parts.append(_text(x0 - 4, y + 4, f"{value:g}", "tick", "end"))
    parts.append(_text(x0 + 4, y0 + 10, unit, "tick"))
    coords = []
    for i, (label, value) in enumerate(points):
        x = x0 + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = y0 + plot_h - plot_h * max(0.0, min(value, top)) / top
        coords.append((x, y))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}"/>')
        if i in (0, n - 1) or n <= 3:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            parts.append(_text(x, y0 + plot_h + 18, label, "tick", anchor))
            parts.append(_text(x, y - 8, f"{value:g}", "val", anchor))
    if n > 1:
        parts.insert(2, '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            PALETTE[0], " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)))
    desc = "; ".join(f"{label}: {value:g} {unit}" for label, value in points)
    return _svg(width, int(y0 + plot_h + 26), title, desc, "".join(parts), chart_id)


def _wrap(text: str, width: float) -> list[str]:
    """``text`` in lines of at most ``width`` units at 13-unit text (about 7.2 units a character,
    generous for proportional fonts), broken at spaces."""
    most = max(8, int(width / 7.2))
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > most:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def _spread(weights: list[float], minimum: list[float], room: float) -> float:
    """The scale (units per weight) that fits every segment, at least its minimum, into ``room``."""
    scale = room / (sum(weights) or 1.0)
    for _ in range(len(weights) + 1):
        fixed = [i for i, w in enumerate(weights) if w * scale < minimum[i]]
        rest = sum(w for i, w in enumerate(weights) if i not in fixed)
        left = room - sum(minimum[i] for i in fixed)
        new = left / rest if rest > 0 and left > 0 else scale
        if abs(new - scale) < 1e-9:
            break
        scale = new
    return scale


def sankey_chart(chart_id: str, title: str, stages: list[dict[str, object]], links: list[dict[str, object]],
                 class_labels: dict[str, str], width: int = WIDTH) -> Markup:
    """A multi-stage Sankey drawn top to bottom (a phone's width holds one stage's sites side by
    side, not six columns of names): one bar per stage, split into its nodes, bands between the
    stages coloured by the material's origin class, and under the diagram a key naming each
    numbered node.

    ``stages``: in flow order, each ``{"label", "nodes": [{"id", "name", "short" (in its bar when
    it fits), "detail", "cls" (origin class colouring the node, or "")}]}``; the first stage's order is kept, later ones are ordered
    by where their material comes from, and nodes are numbered as drawn. ``links``: ``{"source", "target", "cls",
    "weight", "text"}`` between nodes of later stages (weights in one unit, each stage's summing to
    the same total; ``text`` describes the link for screen readers). A link skipping stages passes
    through a gap kept for it in each stage between."""
    bar_h, corridor, gap, min_w, head = 18.0, 62.0, 4.0, 22.0, 22.0
    column = {str(n["id"]): c for c, s in enumerate(stages) for n in s["nodes"]}  # type: ignore[attr-defined]
    info = {str(n["id"]): n for s in stages for n in s["nodes"]}  # type: ignore[attr-defined]
    members: list[list[str]] = [[str(n["id"]) for n in s["nodes"]] for s in stages]  # type: ignore[attr-defined]
    # split links skipping stages into hops through pass-through gaps ("via" nodes)
    hops: list[tuple[str, str, str, float]] = []
    for link in links:
        src, dst, cls, w = str(link["source"]), str(link["target"]), str(link["cls"]), float(str(link["weight"]))
        if src not in column or dst not in column or column[dst] <= column[src] or w <= 0:
            continue
        prev = src
        for c in range(column[src] + 1, column[dst]):
            via = f"via:{src}>{dst}@{c}"
            if via not in column:
                column[via] = c
                members[c].append(via)
            hops.append((prev, via, cls, w))
            prev = via
        hops.append((prev, dst, cls, w))
    out_w: dict[str, float] = {}
    in_w: dict[str, float] = {}
    for s, d, _, w in hops:
        out_w[s] = out_w.get(s, 0.0) + w
        in_w[d] = in_w.get(d, 0.0) + w
    classes = list(CLASS_COLOURS)
    x: dict[str, float] = {}
    seg: dict[str, float] = {}
    scale: list[float] = []
    parts: list[str] = []
    y_bar: list[float] = []
    for c, ids in enumerate(members):
        if c > 0:  # order by where the material comes from (fewer crossings)
            def centre(n: str) -> float:
                sources = [(x[s] + seg[s] / 2, w) for s, d, _, w in hops if d == n and s in x]
                total = sum(w for _, w in sources)
                return sum(p * w for p, w in sources) / total if total else width / 2
            ids.sort(key=centre)
        weights = [max(in_w.get(n, 0.0), out_w.get(n, 0.0)) for n in ids]
        minimum = [0.0 if n.startswith("via:") else min_w for n in ids]
        k = _spread(weights, minimum, width - gap * max(0, len(ids) - 1))
        scale.append(k)
        cursor = 0.0
        for n, w, m in zip(ids, weights, minimum, strict=True):
            x[n], seg[n] = cursor, max(w * k, m)
            cursor += seg[n] + gap
        y_bar.append(head + c * (bar_h + corridor + head))
    # bands: leaving a node in the order of their targets, arriving in the order of their sources
    out_at = {n: x[n] + (seg[n] - out_w.get(n, 0.0) * scale[column[n]]) / 2 for n in x}
    in_at = {n: x[n] + (seg[n] - in_w.get(n, 0.0) * scale[column[n]]) / 2 for n in x}
    order = sorted(hops, key=lambda h: (x[h[0]], x[h[1]], classes.index(h[2]) if h[2] in classes else 9))
    for s, d, cls, w in order:
        w_top, y0 = w * scale[column[s]], y_bar[column[s]] + bar_h
        x0 = out_at[s]
        out_at[s] += w_top
        w_bot, y1 = w * scale[column[d]], y_bar[column[d]]
        x1 = in_at[d]
        in_at[d] += w_bot
        m = (y0 + y1) / 2
        parts.append(f'<path d="M{x0:.1f},{y0:.1f} C{x0:.1f},{m:.1f} {x1:.1f},{m:.1f} {x1:.1f},{y1:.1f} '
                     f'L{x1 + w_bot:.1f},{y1:.1f} C{x1 + w_bot:.1f},{m:.1f} {x0 + w_top:.1f},{m:.1f} '
                     f'{x0 + w_top:.1f},{y0:.1f} Z" fill="{CLASS_COLOURS.get(cls, "#777")}" fill-opacity="0.45"/>')
    # numbers in drawing order: left to right, stage by stage
    number = {n: i + 1 for i, n in enumerate(n for ids in members for n in ids if not n.startswith("via:"))}
    for c, stage in enumerate(stages):
        parts.append(_text(0, y_bar[c] - 6, str(stage["label"]), "hdr"))
        for n in members[c]:
            if n.startswith("via:"):
                continue
            node = info[n]
            colour = CLASS_COLOURS.get(str(node.get("cls", "")), "#333")
            parts.append(f'<rect x="{x[n]:.1f}" y="{y_bar[c]:.1f}" width="{seg[n]:.1f}" height="{bar_h}" '
                         f'fill="{colour}"/>')
            mark = str(number[n])
            named = f"{mark} {node.get('short') or node['name']}"
            text = named if len(named) * 7.2 + 8 <= seg[n] else mark
            parts.append(_text(x[n] + seg[n] / 2, y_bar[c] + 13.5, text, "on", "middle"))
    # the key: each stage, each node by its number, wrapped to the width
    y = y_bar[-1] + bar_h + 26
    for c, stage in enumerate(stages):
        parts.append(_text(0, y, str(stage["label"]), "hdr"))
        y += 19
        for n in members[c]:
            if n.startswith("via:"):
                continue
            node = info[n]
            colour = CLASS_COLOURS.get(str(node.get("cls", "")), "#333")
            parts.append(f'<circle cx="9" cy="{y - 4.5:.1f}" r="9.5" fill="{colour}"/>'
                         + _text(9, y, str(number[n]), "on", "middle"))
            lines = _wrap(f"{node['name']} · {node['detail']}" if node["detail"] else str(node["name"]), width - 24)
            for i, line in enumerate(lines):
                parts.append(_text(24, y + i * 17, line))
            y += 17 * len(lines) + 4
        y += 8
    used = {str(h[2]) for h in hops} | {str(n.get("cls", "")) for n in info.values()}
    lg, lh = _legend([(class_labels.get(c, c), colour) for c, colour in CLASS_COLOURS.items() if c in used], y, width)
    desc = "; ".join(str(link["text"]) for link in links)
    return _svg(width, int(y + lh + 4), title, desc, "".join(parts) + lg, chart_id)
