"""HTML pages of the passport viewer (Jinja2 templates shipped with the package)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from batterytrace.passport.verification import FigureResult
from batterytrace.passport.view import Check, PassportView
from batterytrace.web.charts import hbar_chart, stacked_bar, target_bars

__all__ = ["STATIC_DIR", "render_index", "render_model", "render_passport", "render_signin"]

STATIC_DIR = Path(__file__).parent / "static"
_env = Environment(loader=PackageLoader("batterytrace.web", "templates"), autoescape=select_autoescape(["html"]))


def render_passport(view: PassportView, checks: list[Check], path: str,
                    figures: Sequence[FigureResult] = ()) -> str:
    carbon = hbar_chart("carbon", "Carbon footprint by lifecycle stage (kg CO2e)", view.carbon_per_stage_kg, "kg CO2e")
    recycled = target_bars("recycled", "Recycled content (pre- and post-consumer) against Art. 8 targets",
                           view.recycled)
    origins = [stacked_bar(f"origin-{el}", f"Origin of mined {el}", mix) for el, mix in view.origin_mix]
    restricted = list(view.restricted.items())  # already flattened and bounded by passport_view
    return _env.get_template("passport.html").render(
        v=view, checks=checks, path=path, carbon_chart=carbon, recycled_chart=recycled, origin_charts=origins,
        restricted=restricted, figures=figures)


def render_signin(next_path: str, error: str | None = None) -> str:
    return _env.get_template("signin.html").render(next=next_path, error=error)


def render_index() -> str:
    return _env.get_template("index.html").render()


def render_model(listing: dict[str, Any], path: str) -> str:
    """The model-level page of a GTIN (passport/registry.py ``model_listing``)."""
    from urllib.parse import quote

    items = [(f"{path}/21/{quote(b['serial'], safe='')}", b) for b in listing["batteries"]]
    more = f"{path}?after={quote(listing['next'], safe='')}" if listing.get("next") else None
    return _env.get_template("model.html").render(m=listing, items=items, more=more)
