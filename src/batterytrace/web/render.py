"""HTML pages of the passport viewer (Jinja2 templates shipped with the package), in English,
German or French."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from batterytrace.ledger.figures import ART8_TARGETS_PERCENT, DEFAULT_PERFORMANCE_CLASSES
from batterytrace.ledger.material_flow import MaterialFlow
from batterytrace.passport.history import BatteryHistory, OperatorBattery
from batterytrace.passport.labels import FIELDS, LANGUAGES
from batterytrace.passport.verification import FigureResult
from batterytrace.passport.view import Check, PassportView
from batterytrace.web.charts import flow_chart, hbar_chart, line_chart, sankey_chart, target_bars
from batterytrace.web.format import attribute_sections, fmt_date, humanise, short_id
from batterytrace.web.i18n import LANG_NAMES, STATUS_KEYS, country, element, fmt_number, t

__all__ = ["STATIC_DIR", "PageContext", "flow_elements", "flow_stages", "render_error", "render_index", "render_model",
           "render_operator", "render_passport", "render_signin"]

STATIC_DIR = Path(__file__).parent / "static"
_env = Environment(loader=PackageLoader("batterytrace.web", "templates"), autoescape=select_autoescape(["html"]))
_env.globals["LANG_NAMES"] = LANG_NAMES


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides its content: language, the path (for sign-in and language
    links), the reader's access level and a notice to show (a sign-in that fell back)."""

    lang: str = "en"
    path: str = "/"
    level: str = "public"
    notice: str | None = None


def _base(ctx: PageContext) -> dict[str, Any]:
    lang = ctx.lang if ctx.lang in LANGUAGES else "en"

    def tr(key: str, **values: object) -> str:
        return t(key, lang, **values)

    return {"lang": lang, "path": ctx.path, "level": ctx.level, "notice": ctx.notice, "tr": tr,
            "languages": LANGUAGES}


# what a plain reader is told each check established (absent optional checks are not listed)
_PLAIN: dict[str, tuple[str, str, str]] = {
    "issuer signature": ("The manufacturer's digital signature over this passport is valid.",
                         "Die digitale Signatur des Herstellers über diesen Pass ist gültig.",
                         "La signature numérique du fabricant sur ce passeport est valide."),
    "selective disclosures": ("Every value shown is covered by that signature.",
                              "Jeder angezeigte Wert ist von dieser Signatur gedeckt.",
                              "Chaque valeur affichée est couverte par cette signature."),
    "ledger event": ("The battery's assembly is a signed event naming its GTIN and serial number.",
                     "Die Montage der Batterie ist ein signiertes Ereignis mit GTIN und Seriennummer.",
                     "L’assemblage de la batterie est un événement signé indiquant son GTIN et son numéro de série."),
    "log inclusion": ("That event is recorded in the public transparency log.",
                      "Dieses Ereignis ist im öffentlichen Transparenzprotokoll verzeichnet.",
                      "Cet événement est inscrit au journal public de transparence."),
    "checkpoint": ("The log's state is signed by the ledger operator.",
                   "Der Stand des Protokolls ist vom Registerbetreiber signiert.",
                   "L’état du journal est signé par l’opérateur du registre."),
    "anchor.passed": ("The log's state is recorded on a public blockchain.",
                      "Der Stand des Protokolls ist in einer öffentlichen Blockchain festgehalten.",
                      "L’état du journal est enregistré sur une blockchain publique."),
    "anchor.not checked": ("The passport carries a blockchain anchor; this service did not check it.",
                           "Der Pass trägt eine Blockchain-Verankerung; dieser Dienst hat sie nicht geprüft.",
                           "Le passeport porte un ancrage sur blockchain ; ce service ne l’a pas vérifié."),
    "ZK claims.passed": ("The recycled, certified and origin shares are proved with zero-knowledge proofs; the "
                         "quantities stay confidential.",
                         "Recycling-, Zertifizierungs- und Herkunftsanteile sind per Zero-Knowledge-Beweis belegt; "
                         "die Mengen bleiben vertraulich.",
                         "Les parts recyclées, certifiées et d’origine sont prouvées à divulgation nulle ; les "
                         "quantités restent confidentielles."),
    "status": ("The manufacturer has not withdrawn or suspended this passport.",
               "Der Hersteller hat diesen Pass weder zurückgezogen noch ausgesetzt.",
               "Le fabricant n’a ni retiré ni suspendu ce passeport."),
    "ledger": ("The log matches this service's ledger.", "Das Protokoll stimmt mit dem Register dieses Dienstes überein.",
               "Le journal correspond au registre de ce service."),
}
_FIGURE_NAMES: dict[str, tuple[str, str, str]] = {
    "summary.recycled_percent": ("Recycled shares", "Recyclinganteile", "Parts recyclées"),
    "summary.art8_targets": ("Art. 8 targets reached", "Erreichte Art.-8-Ziele", "Objectifs de l’art. 8 atteints"),
    "summary.origin_mix_percent": ("Countries of origin", "Herkunftsländer", "Pays d’origine"),
    "summary.certified_percent": ("Certified shares", "Zertifizierte Anteile", "Parts certifiées"),
    "summary.capacity_kwh": ("Capacity", "Kapazität", "Capacité"),
    "summary.chemistry": ("Chemistry", "Chemie", "Chimie"),
    "summary.carbon_kgco2e_per_stage": ("Carbon footprint by stage", "CO₂-Fußabdruck je Phase",
                                        "Empreinte carbone par étape"),
    "summary.carbon_primary_data_percent": ("Primary-data share", "Primärdatenanteil", "Part de données primaires"),
    "summary.carbon_primary_data_percent_per_stage": ("Primary-data share by stage", "Primärdatenanteil je Phase",
                                                      "Part de données primaires par étape"),
    "summary.carbon_performance_class": ("Performance class", "Leistungsklasse", "Classe de performance"),
    "passport_version": ("Passport version", "Passversion", "Version du passeport"),
    "summary.carbon_lifetime.usable_energy_kwh": ("Usable energy over the lifetime", "Nutzbare Energie über die Lebensdauer",
                                                  "Énergie utilisable sur la durée de vie"),
    "summary.carbon_lifetime.cycles_per_year": ("Cycles per year (method)", "Zyklen pro Jahr (Methode)",
                                                "Cycles par an (méthode)"),
    "summary.carbon_lifetime.service_years": ("Service years", "Nutzungsjahre", "Années de service"),
    "summary.carbon_lifetime.end_of_life_kgco2e_per_kg": ("End-of-life emissions per kg", "Emissionen am Lebensende je kg",
                                                          "Émissions de fin de vie par kg"),
    "summary.carbon_kgco2e_per_kwh": ("Carbon footprint per kWh (summary)", "CO₂-Fußabdruck je kWh (Übersicht)",
                                      "Empreinte carbone par kWh (résumé)"),
}


def _figure_name(name: str, lang: str) -> str:
    i = LANGUAGES.index(lang)
    if name in _FIGURE_NAMES:
        return _FIGURE_NAMES[name][i]
    if name in FIELDS:
        return FIELDS[name].labels[i]
    # a sub-path of a labelled field (aspects.X.y.z): the nearest labelled parent, then the rest in words
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:cut])
        if parent in FIELDS:
            return f"{FIELDS[parent].labels[i]}: {humanise(parts[cut])}"
        if parent in _FIGURE_NAMES:
            return f"{_FIGURE_NAMES[parent][i]}: {_stage_name('.'.join(parts[cut:]), lang)}"
    return humanise(parts[-1])


def _plain_checks(checks: list[Check], lang: str) -> list[str]:
    i = LANGUAGES.index(lang)
    out = []
    for c in checks:
        key = c.name if c.name in _PLAIN else f"{c.name}.{c.status}"
        if key in _PLAIN and (c.status == "passed" or "." in key):
            out.append(_PLAIN[key][i])
        elif c.name == "figures" or c.status == "absent":
            continue
        elif c.status != "passed":
            out.append(f"{c.name}: {c.status} — {c.detail}")
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pack_output(claims: dict[str, Any]) -> dict[str, Any]:
    """This pack's output in its signed assembly event (public evidence); empty when absent."""
    battery = _dict(claims.get("battery"))
    event = _dict(_dict(_dict(claims.get("evidence")).get("event")).get("event"))
    outputs = event.get("outputs")
    for out in outputs if isinstance(outputs, list) else []:
        if isinstance(out, dict) and out.get("gtin") == battery.get("gtin") and out.get("serial") == battery.get("serial"):
            return out
    return {}


def _model(claims: dict[str, Any]) -> str | None:
    """The model name the signed assembly event gives this pack."""
    model = _pack_output(claims).get("model")
    return model if isinstance(model, str) and model else None


def _buckets(claims: dict[str, Any]) -> dict[str, int] | None:
    """The pack's element buckets (grams by element/class/country) when its assembly event,
    embedded as public evidence, carries them in the clear (plain mode); else ``None``."""
    b = _pack_output(claims).get("buckets")
    if isinstance(b, dict) and b and all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                         and v >= 0 for k, v in b.items()):
        return b
    return None


def flow_elements(claims: dict[str, Any], lang: str) -> list[dict[str, object]]:
    """Per element, its sources (see ``_flow_elements``); none when the stated shares are not
    numbers (nothing is drawn rather than a guess)."""
    try:
        return _flow_elements(claims, lang)
    except (TypeError, ValueError, AttributeError):
        return []


def _flow_elements(claims: dict[str, Any], lang: str) -> list[dict[str, object]]:
    """Per element, its sources as shares of the element: mining country with certified or
    uncertified, and recycled pre/post-consumer. From the plain assembly event's buckets when the
    passport carries them in the clear; else from the stated shares (one mining country: exact;
    several: per country, certification not split by country)."""
    s = _dict(claims.get("summary"))
    origin, recycled, certified = (_dict(s.get(k)) for k in ("origin_mix_percent", "recycled_percent",
                                                             "certified_percent"))
    buckets = _buckets(claims)
    out: list[dict[str, object]] = []
    for el in sorted(set(origin) | set(recycled)):
        sources: list[tuple[str, str, float]] = []
        if buckets is not None:
            total = sum(g for k, g in buckets.items() if k.split("/")[0] == el) or 1
            for key, grams in sorted(buckets.items(), key=lambda kv: -kv[1]):
                parts = key.split("/")
                if len(parts) != 3 or parts[0] != el:
                    continue
                cls = parts[1].replace("-", "_")
                label = t(cls, lang) if cls.startswith("recycled") else country(parts[2], lang)
                sources.append((label, cls, 100.0 * grams / total))
        else:
            r = _dict(recycled.get(el))
            pre, post = float(r.get("pre", 0) or 0), float(r.get("post", 0) or 0)
            mined = max(0.0, 100.0 - pre - post)
            mix = _dict(origin.get(el))
            cert = float(certified.get(el, 0) or 0)
            if len(mix) == 1:
                (code,) = mix
                sources += [(country(code, lang), "certified", cert),
                            (country(code, lang), "uncertified", max(0.0, mined - cert))]
            else:
                sources += [(country(code, lang), "mined", mined * float(p) / 100.0)
                            for code, p in sorted(mix.items(), key=lambda kv: -float(kv[1]))]
            sources += [(t("recycled_pre", lang), "recycled_pre", pre), (t("recycled_post", lang), "recycled_post", post)]
        out.append({"name": element(el, lang), "sources": sources})
    return out


_ORIGIN_CLASSES = ("certified", "uncertified", "recycled-pre", "recycled-post")


def _stage_label(roles: set[str], lang: str) -> str:
    order = ("mine", "recycler", "refiner", "cathode_maker", "cell_maker", "oem", "product")
    keys = sorted({r if r in order else "other" for r in roles}, key=lambda r: order.index(r) if r in order else 2)
    names = [t(f"stage.{r}", lang) for r in keys]
    # "Mines and recyclers"; German nouns keep their capital
    return t("stage_and", lang).join([names[0]] + [n if lang == "de" else n.lower() for n in names[1:]])


def _grams(value: float, lang: str) -> str:
    """Grams in words, the unit kept with its number (a no-break space) when a chart line wraps."""
    return f"{fmt_number(value / 1000, lang, 1)}\u00a0kg" if value >= 10_000 else f"{fmt_number(value, lang, 0)}\u00a0g"


def _pct_text(value: float, lang: str) -> str:
    return f"{fmt_number(value, lang, 0 if value >= 1 else 1)}\u00a0%"


def flow_stages(flow: MaterialFlow, lang: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The stages and links of ``sankey_chart`` for a material flow with its quantities shown:
    every element weighs the same (its percents over the element count), bands per origin class."""
    elements = sorted(flow.element_g)
    n = len(elements) or 1
    through: dict[str, dict[str, list[float]]] = {}  # node → element → [percent, grams]
    weights: dict[tuple[str, str, str], float] = {}
    texts: dict[tuple[str, str, str], list[str]] = {}
    names = {node.node_id: node for node in flow.nodes}
    for link in flow.links:
        if link.element is None or link.percent is None or link.mass_g is None or link.origin is None:
            continue
        # what passes a node is what leaves it (mass balance); the battery's is what arrives
        for side in (link.source, "product") if link.target == "product" else (link.source,):
            acc = through.setdefault(side, {}).setdefault(link.element, [0.0, 0.0])
            acc[0] += link.percent
            acc[1] += link.mass_g
        cls = link.origin.replace("-", "_")
        key = (link.source, link.target, cls)
        weights[key] = weights.get(key, 0.0) + link.percent / n
        texts.setdefault(key, []).append(f"{element(link.element, lang)} {_pct_text(link.percent, lang)} "
                                         f"({_grams(link.mass_g, lang)})")
    links: list[dict[str, object]] = []
    for (src, dst, cls), w in weights.items():
        a, b = names[src], names[dst]
        a_name = a.name or t("unregistered", lang)
        b_name = t("this_pack", lang) if dst == "product" else (b.name or t("unregistered", lang))
        links.append({"source": src, "target": dst, "cls": cls, "weight": w,
                      "text": f"{a_name} → {b_name}, {t(cls, lang)}: {', '.join(texts[(src, dst, cls)])}"})
    columns: dict[int, list[dict[str, object]]] = {}
    roles: dict[int, set[str]] = {}

    def main_element(node_id: str) -> tuple[str, float]:
        els = through.get(node_id, {})
        best = max(els.items(), key=lambda kv: kv[1][0], default=("", [0.0, 0.0]))
        return best[0], -best[1][0]

    for node in sorted(flow.nodes, key=lambda x: (x.column, main_element(x.node_id),
                                                   _ORIGIN_CLASSES.index(x.origin) if x.origin in _ORIGIN_CLASSES else 9,
                                                   x.name or "")):
        els = through.get(node.node_id, {})
        parts = [f"{element(el, lang)} {_pct_text(els[el][0], lang)} ({_grams(els[el][1], lang)})"
                 for el in elements if el in els]
        short = name = node.name or t("unregistered", lang)
        if node.node_id == "product":
            short = name = f"{t('this_pack', lang)}{': ' + node.name if node.name else ''}"
            detail = ", ".join(f"{element(el, lang)} {_grams(flow.element_g[el], lang)}" for el in elements)
        else:
            if node.country:
                name += f" ({country(node.country, lang)})"
            if els and all(abs(els[el][0] - 100.0) < 0.05 for el in elements if el in els) and len(els) == n:
                detail = t("all_of", lang, els=", ".join(element(el, lang) for el in elements))
            else:
                detail = ", ".join(parts)
            if node.origin:
                detail = f"{t(node.origin.replace('-', '_'), lang)} · {detail}"
        columns.setdefault(node.column, []).append({"id": node.node_id, "name": name, "short": short, "detail": detail,
                                                    "cls": (node.origin or "").replace("-", "_")})
        roles.setdefault(node.column, set()).add(node.role)
    stages: list[dict[str, object]] = [{"label": _stage_label(roles[c], lang), "nodes": columns[c]}
                                       for c in sorted(columns)]
    return stages, links


def _stage_names(flow: MaterialFlow, lang: str) -> str:
    """The stages of a flow whose quantities are withheld, in words: "Mines: A, B; Refiners: C; …"."""
    columns: dict[int, list[str]] = {}
    roles: dict[int, set[str]] = {}
    for node in flow.nodes:
        if node.node_id == "product":
            continue
        name = node.name or t("unregistered", lang)
        if name not in columns.setdefault(node.column, []):
            columns[node.column].append(name)
        roles.setdefault(node.column, set()).add(node.role)
    return "; ".join(f"{_stage_label(roles[c], lang)}: {', '.join(columns[c])}" for c in sorted(columns))


def _class_bounds(lang: str) -> str:
    parts = []
    for name, bound in DEFAULT_PERFORMANCE_CLASSES:
        if bound == float("inf"):
            parts.append(f"{name} > {fmt_number(DEFAULT_PERFORMANCE_CLASSES[-2][1], lang)}")
        else:
            parts.append(f"{name} ≤ {fmt_number(bound, lang)}")
    return ", ".join(parts)


def render_passport(view: PassportView, checks: list[Check], path: str,
                    figures: Sequence[FigureResult] = (), claims: dict[str, Any] | None = None,
                    ctx: PageContext | None = None, history: BatteryHistory | None = None,
                    lineage: MaterialFlow | None = None) -> str:
    """``lineage``: the battery's material flow when the reader may trace it (ledger/material_flow.py),
    drawn stage by stage; without it the origin chart draws the shares the passport states."""
    ctx = ctx or PageContext(path=path, level=view.level)
    lang = ctx.lang if ctx.lang in LANGUAGES else "en"
    claims = claims or {}
    carbon = hbar_chart("carbon", t("carbon_title", lang),
                        [(_stage_name(stage, lang), kg) for stage, kg in view.carbon_per_stage_kg], "kg CO₂e")
    recycled_rows = [{**r, "name": element(r["element"], lang)} for r in view.recycled]
    recycled = target_bars("recycled", t("recycled_title", lang), recycled_rows,
                           legend=(t("pre", lang), t("post", lang), t("targets", lang)))
    labels = {k: t(k, lang) for k in ("certified", "uncertified", "recycled_pre", "recycled_post", "this_pack")}
    labels["mined"] = {"en": "mined (certification not split by country)",
                       "de": "abgebaut (Zertifizierung nicht nach Land aufgeteilt)",
                       "fr": "extrait (certification non ventilée par pays)"}[lang]
    flows = flow_elements(claims, lang)
    flow = flow_chart("flow", t("origin", lang), flows, labels) if flows else None
    stages_chart, stages_withheld = None, None
    if lineage is not None and lineage.quantities == "shown" and lineage.links:
        stages, links = flow_stages(lineage, lang)
        stages_chart = sankey_chart("stages", t("flow_stages_title", lang), stages, links, labels)
    elif lineage is not None and lineage.nodes:
        stages_withheld = t("flow_withheld", lang, stages=_stage_names(lineage, lang))
    anchor = next((c for c in checks if c.name == "anchor"), None)
    manufacturer = view.identity.get("manufacturer") or str(view.identity.get("issuer") or "")
    headline = [t("issued_by", lang, who=manufacturer), t("in_log", lang)]
    if anchor is not None and anchor.status == "passed":
        headline.append(t("anchored", lang))
    verified = [f for f in figures if f.status == "verified"]
    declared = [f for f in figures if f.status == "declared"]
    model = _model(claims)
    health = history.health if history is not None else []
    soh_chart = line_chart("soh", t("soh_title", lang), [(fmt_date(_iso(h.time_us), lang), h.soh_percent)
                                                        for h in health], "%") if health else None
    # claims of a shape the viewer does not display are named, never rendered (passport_view's
    # checks, then the bounds of every shown value)
    not_shown = list(view.not_shown)
    sections = attribute_sections(claims, lang, view.level, frozenset(e.split(": ", 1)[0] for e in view.not_shown),
                                  not_shown)
    iat = claims.get("iat")
    issued = (datetime.fromtimestamp(iat, UTC).strftime("%Y-%m-%d")
              if isinstance(iat, int) and not isinstance(iat, bool) and 0 < iat < 10**11 else None)
    return _env.get_template("passport.html").render(
        **_base(ctx), v=view, checks=checks, carbon_chart=carbon, recycled_chart=recycled, flow_chart=flow,
        stages_chart=stages_chart, stages_withheld=stages_withheld,
        sections=sections, not_shown=not_shown[:200], headline=", ".join(headline),
        plain_checks=_plain_checks(checks, lang), verified=[_figure_name(f.name, lang) for f in verified],
        declared=[_figure_name(f.name, lang) for f in declared], model=model,
        class_bounds=_class_bounds(lang), art8=ART8_TARGETS_PERCENT, el_name=lambda e: element(e, lang),
        num=lambda x, d=None: _num(x, lang, d), date=lambda x: fmt_date(x, lang),
        short_id=short_id, issued=issued, origin_rows=_origin_rows(view, lang),
        versions=history.versions if history is not None else [], health=health, soh_chart=soh_chart,
        iso=_iso, status_words=STATUS_KEYS, stage_name=lambda stage: _stage_name(stage, lang))


def _iso(time_us: int | None) -> str:
    if not isinstance(time_us, int) or time_us <= 0 or time_us >= 10**17:
        return ""
    return datetime.fromtimestamp(time_us / 1e6, UTC).strftime("%Y-%m-%d")


def _num(value: Any, lang: str, digits: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return fmt_number(float(value), lang, digits)


def _stage_name(stage: str, lang: str) -> str:
    words = {"raw material acquisition and pre-processing": "RawMaterialExtraction",
             "main product production": "MainProduction", "distribution": "Distribution",
             "end of life and recycling": "Recycling"}
    from batterytrace.passport.labels import ENUMS

    names = ENUMS["lifecycleStage"].get(words.get(stage, ""))
    return names[LANGUAGES.index(lang)] if names else stage


def _origin_rows(view: PassportView, lang: str) -> list[tuple[str, str, str]]:
    """Per element: its name, its mining countries with shares in words, its certified share."""
    certified = dict(view.certified_percent)
    rows = []
    for el, mix in view.origin_mix:
        countries = ", ".join(f"{country(c, lang)} {fmt_number(p, lang, 0)} %" for c, p in mix)
        cert = f"{fmt_number(certified[el], lang, 1)} %" if el in certified else "—"
        rows.append((element(el, lang), countries, cert))
    return rows


def render_operator(operator: str, batteries: Sequence[OperatorBattery], ctx: PageContext) -> str:
    """An economic operator's batteries with their passports' version and status."""
    lang = ctx.lang if ctx.lang in LANGUAGES else "en"
    return _env.get_template("operator.html").render(
        **_base(ctx), operator=operator, batteries=batteries, status_words=STATUS_KEYS, pstatus_words=STATUS_KEYS,
        iso=_iso, date=lambda x: fmt_date(x, lang))


def render_signin(next_path: str, error: str | None = None, ctx: PageContext | None = None) -> str:
    ctx = ctx or PageContext(path=next_path)
    return _env.get_template("signin.html").render(**_base(ctx), next=next_path, error=error)


def render_index(ctx: PageContext | None = None, message: str | None = None, gtin: str = "", serial: str = "") -> str:
    return _env.get_template("index.html").render(**_base(ctx or PageContext()), message=message, gtin=gtin,
                                                  serial=serial)


def render_error(status: int, title: str, message: str, ctx: PageContext | None = None, detail: str | None = None,
                 search: bool = True, gtin: str = "", serial: str = "") -> str:
    """An error page for a browser: what went wrong in words, and the search form to try again."""
    return _env.get_template("error.html").render(**_base(ctx or PageContext()), status=status, title=title,
                                                  message=message, detail=detail, search=search, gtin=gtin,
                                                  serial=serial)


def render_model(listing: dict[str, Any], path: str, ctx: PageContext | None = None) -> str:
    """The model-level page of a GTIN (passport/registry.py ``model_listing``)."""
    from urllib.parse import quote

    items = [(f"{path}/21/{quote(b['serial'], safe='')}", b) for b in listing["batteries"]]
    more = f"{path}?after={quote(listing['next'], safe='')}" if listing.get("next") else None
    return _env.get_template("model.html").render(**_base(ctx or PageContext(path=path)), m=listing, items=items,
                                                  more=more)
