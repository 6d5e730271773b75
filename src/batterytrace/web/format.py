"""Every disclosed passport field as a labelled, formatted row, grouped as Annex XIII / BatteryPass
group them, in the reader's language. Labels, units and kinds come from ``passport/labels.py``.

A value of unexpected shape is never an error here: it is shown as plain escaped text under its
label (the verifier has already refused claims outside the schema's paths).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from markupsafe import Markup

from batterytrace.passport.issue import ACCESS_LEVELS, FIELD_LEVELS, may_read
from batterytrace.passport.labels import ENUMS, FIELDS, GROUPS, LANGUAGES, SUBFIELDS, group_of
from batterytrace.web.i18n import country, element, fmt_number, month, t

__all__ = ["Row", "Section", "attribute_sections", "fmt_date", "humanise", "link", "short_id"]

_MISSING, _NOT_RECORDED = object(), object()
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass
class Row:
    label: str
    value: Markup
    path: str
    restricted: bool = False


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


def humanise(key: str) -> str:
    """A schema key in words, for a key the label table lacks: ``stateOfCharge`` → ``State of charge``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key)).replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:]


def fmt_date(value: Any, lang: str) -> str:
    """An ISO 8601 date or time as a date in words (12 April 2026, 12. April 2026, 12 avril 2026)."""
    m = _DATE.match(str(value)) if isinstance(value, str) else None
    if m is None:
        return str(value)
    year, mon, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= mon <= 12:
        return str(value)
    return f"{day}. {month(mon, lang)} {year}" if lang == "de" else f"{day} {month(mon, lang)} {year}"


def _date_us(value: Any, lang: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**17:
        return fmt_date(datetime.fromtimestamp(value / 1e6, UTC).strftime("%Y-%m-%d"), lang)
    return str(value)


def short_id(urn: Any) -> Markup:
    """A long identifier (URN, hash) shortened for reading, the full one in its title."""
    text = str(urn)
    tail = text.rsplit(":", 1)[-1]
    shown = tail if len(tail) <= 14 else f"{tail[:8]}…{tail[-4:]}"
    return Markup('<abbr title="{}">{}</abbr>').format(text, shown)


def link(url: Any, text: str | None = None) -> Markup:
    """An http(s) URL as a link (shown without its scheme); any other value as plain text."""
    s = str(url)
    if not re.match(r"^https?://[^\s\"'<>]+$", s):
        return Markup(escape(s))
    shown = text if text is not None else s.split("://", 1)[1]
    return Markup('<a href="{}">{}</a>').format(s, shown)


def _num(value: Any, lang: str, unit: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = fmt_number(float(value), lang)
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}"


def _address(a: Any, lang: str) -> Markup:
    if not isinstance(a, dict):
        return Markup(escape(str(a)))
    parts = [str(a.get("streetAddress", "")), " ".join(str(a.get(k, "")) for k in ("postalCode", "addressLocality")
                                                        if a.get(k)),
             country(str(a.get("addressCountry", "")), lang) if a.get("addressCountry") else ""]
    return Markup(escape(", ".join(p for p in parts if p.strip())))


def _lines(items: list[Markup]) -> Markup:
    if not items:
        return Markup("")
    if len(items) == 1:
        return items[0]
    return Markup('<ul class="vals">') + Markup("").join(Markup("<li>") + i + Markup("</li>") for i in items) \
        + Markup("</ul>")


def _updated(value: Any, lang: str) -> Markup:
    return Markup(' <span class="updated">({})</span>').format(t("last_updated", lang, date=fmt_date(value, lang)))


def _contact(c: dict[str, Any], lang: str) -> Markup:
    items = [Markup("<strong>{}</strong>").format(c.get("contactName", ""))]
    if c.get("postalAddress"):
        items.append(_address(c["postalAddress"], lang))
    if c.get("webAddress"):
        items.append(link(c["webAddress"]))
    if c.get("identifier"):
        items.append(Markup("{}: {}").format(SUBFIELDS["identifier"][1 + LANGUAGES.index(lang)], c["identifier"]))
    return Markup("<br>").join(items)


def _reading(item: dict[str, Any], unit: str, lang: str) -> Markup:
    value_key = next((k for k in item if k not in ("lastUpdate", "batteryComponent", "rPCLastUpdated")), None)
    value = item.get(value_key) if value_key else None
    if isinstance(value, dict) and "powerCapabilityAt" in value:
        out = _power(value, lang)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out = Markup(escape(_num(value, lang, unit)))
    else:
        out = Markup(escape(str(value)))
    if item.get("batteryComponent"):
        out = Markup("{}: ").format(item["batteryComponent"]) + out
    if item.get("lastUpdate"):
        out += _updated(item["lastUpdate"], lang)
    return out


def _power(p: dict[str, Any], lang: str) -> Markup:
    soc = {"en": "at {s} % state of charge", "de": "bei {s} % Ladezustand", "fr": "à {s} % d’état de charge"}
    return Markup(escape(f"{_num(p['powerCapabilityAt'], lang, 'kW')} "
                         f"{soc.get(lang, soc['en']).format(s=_num(p['atSoC'], lang))}"))


def _enum(name: str, code: Any, lang: str) -> str:
    words = ENUMS.get(name, {}).get(str(code))
    return words[LANGUAGES.index(lang)] if words else str(code)


def _record(d: dict[str, Any], unit: str, lang: str) -> Markup:
    items = []
    for k, v in d.items():
        if k == "lastUpdate":
            continue
        sub = SUBFIELDS.get(k)
        name = sub[1 + LANGUAGES.index(lang)] if sub else humanise(k)
        sub_unit = sub[0] if sub else unit
        if isinstance(v, list):
            shown = Markup(", ").join(_scalar(x, sub_unit, lang) for x in v) or Markup(escape(t("none", lang)))
        elif isinstance(v, dict):
            shown = _record(v, sub_unit, lang)
        else:
            shown = _scalar(v, sub_unit, lang)
        items.append(Markup("{}: ").format(name) + shown)
    out = Markup("<br>").join(items)
    if d.get("lastUpdate"):
        out += _updated(d["lastUpdate"], lang)
    return out


def _scalar(v: Any, unit: str, lang: str) -> Markup:
    if isinstance(v, str) and v.startswith(("http://", "https://")):
        return link(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return Markup(escape(_num(v, lang, unit)))
    if isinstance(v, dict | list):
        return _generic(v, lang)
    return Markup(escape(str(v)))


def _generic(v: Any, lang: str) -> Markup:
    """Any JSON value as escaped text, structure kept, keys in words."""
    if isinstance(v, dict):
        return Markup("<br>").join(Markup("{}: ").format(humanise(k)) + _generic(x, lang) for k, x in v.items())
    if isinstance(v, list):
        return _lines([_generic(x, lang) for x in v]) if v else Markup(escape(t("none", lang)))
    return _scalar(v, "", lang)


def _format(kind: str, name: str, unit: str, v: Any, lang: str) -> Markup:
    if v is None:
        return Markup(escape(t("none", lang)))
    if isinstance(v, list) and not v:
        return Markup(escape(t("none", lang)))
    if kind == "text":
        return Markup(escape(str(v)))
    if kind == "urn":
        return short_id(v)
    if kind == "enum":
        return Markup(escape(_enum(name, v, lang)))
    if kind == "date":
        return Markup(escape(fmt_date(v, lang)))
    if kind == "number":
        return Markup(escape(_num(v, lang, unit)))
    if kind == "gmonth":
        mm = str(v).removeprefix("--")
        words = {"en": "month {m} (typed xsd:gMonth by the BatteryPass schema)",
                 "de": "Monat {m} (im BatteryPass-Schema als xsd:gMonth typisiert)",
                 "fr": "mois {m} (typé xsd:gMonth par le schéma BatteryPass)"}
        return Markup(escape(words.get(lang, words["en"]).format(m=mm)))
    if kind == "url":
        return link(v)
    if kind == "address":
        return _address(v, lang)
    if kind == "contact":
        return _contact(v, lang)
    if kind == "chemistry":
        return Markup("<strong>{}</strong> — {}").format(v.get("shortName", ""), v.get("clearName", ""))
    if kind == "stages":
        return _lines([Markup(escape(f"{_enum('lifecycleStage', s['lifecycleStage'], lang)}: "
                                     f"{_num(s['carbonFootprint'], lang, unit)}")) for s in v])
    if kind == "documents":
        return _lines([link(d["documentURL"], _enum("documentType", d.get("documentType"), lang)
                            + (f" ({str(d['mimeType']).rsplit('/', 1)[-1].upper()})" if d.get("mimeType") else ""))
                       for d in v])
    if kind == "spareparts":
        out = []
        for s in v:
            items = [Markup("<strong>{}</strong>").format(s.get("nameOfSupplier", ""))]
            if s.get("addressOfSupplier"):
                items.append(_address(s["addressOfSupplier"], lang))
            if s.get("emailAddressOfSupplier"):
                mail = str(s["emailAddressOfSupplier"])
                items.append(Markup('<a href="mailto:{}">{}</a>').format(mail, mail) if re.match(r"^[^\s@<>\"]+@[^\s@<>\"]+$", mail)
                             else Markup(escape(mail)))
            if s.get("supplierWebAddress"):
                items.append(link(s["supplierWebAddress"]))
            part = {"en": "part", "de": "Teil", "fr": "réf."}.get(lang, "part")
            items += [Markup(escape(f"{c.get('partName', '')} ({part} {c.get('partNumber', '')})"))
                      for c in s.get("components", [])]
            out.append(Markup("<br>").join(items))
        return _lines(out)
    if kind == "recycled":
        el = {v2[0]: k for k, v2 in _ELEMENT_EN.items()}
        return _lines([Markup(escape(
            f"{element(el.get(r['recycledMaterial'], r['recycledMaterial']), lang)}: "
            f"{_num(r['preConsumerShare'], lang, '%')} {t('pre', lang).lower()}, "
            f"{_num(r['postConsumerShare'], lang, '%')} {t('post', lang).lower()}")) for r in v])
    if kind == "materials":
        el = {v2[0]: k for k, v2 in _ELEMENT_EN.items()}
        crm = {"en": "critical raw material", "de": "kritischer Rohstoff", "fr": "matière première critique"}
        return _lines([Markup(escape(
            f"{element(el.get(m['batteryMaterialName'], m['batteryMaterialName']), lang)} "
            f"(CAS {m.get('batteryMaterialIdentifier', '—')}): {_num(m['batteryMaterialMass'], lang, unit)}"
            + (f", {_location(m.get('batteryMaterialLocation'))}" if m.get("batteryMaterialLocation") else "")
            + (f", {crm.get(lang, crm['en'])}" if m.get("isCriticalRawMaterial") is True else ""))) for m in v])
    if kind == "power":
        return _lines([_power(p, lang) for p in v])
    if kind == "resistance":
        return _lines([Markup(escape(f"{r['batteryComponent']}: {_num(r['ohmicResistance'], lang, unit)}")) for r in v])
    if kind == "reading":
        return _reading(v, unit, lang) if isinstance(v, dict) else Markup(escape(_num(v, lang, unit)))
    if kind == "readings":
        return _lines([_reading(i, unit, lang) for i in v])
    if kind == "record":
        return _record(v, unit, lang)
    if kind == "records":
        return _lines([_record(i, unit, lang) for i in v])
    if kind == "labels":
        out = []
        for lb in v:
            meaning = lb.get("labelingMeaning")
            said = (meaning.get(lang) or meaning.get("en") or next(iter(meaning.values()), "")) if isinstance(meaning, dict) \
                else (meaning or "")
            subject = _enum("labelingSubject", lb.get("labelingSubject"), lang)
            item = Markup("<strong>{}</strong>: {}").format(subject, said)
            if lb.get("labelingSymbol"):
                item += Markup(" · ") + link(lb["labelingSymbol"], {"en": "symbol", "de": "Symbol", "fr": "symbole"}
                                             .get(lang, "symbol"))
            out.append(item)
        return _lines(out)
    if kind == "assurances":
        valid = {"en": "valid {a} – {b}", "de": "gültig {a} – {b}", "fr": "valable du {a} au {b}"}.get(lang, "")
        return _lines([Markup(escape(
            f"{a.get('scheme', '')} {a.get('level', '')} — {a.get('site', '')}, "
            + valid.format(a=_date_us(a.get("valid_from"), lang), b=_date_us(a.get("valid_until"), lang))))
            for a in v])
    if kind == "indices":
        return _lines([Markup(escape(
            f"{scheme}: {t('score_of', lang, s=_num(i['score'], lang))} ("
            + t("coverage", lang, c=_num(i["coverage_percent"], lang), a=i["questions_answered"],
                q=i["questions_total"], n=i["companies_covered"]) + ")")) for scheme, i in v.items()])
    if kind == "element_names":
        by_name = {v2[0]: k for k, v2 in _ELEMENT_EN.items()}
        return Markup(escape(", ".join(element(by_name.get(str(n), str(n)), lang) for n in v)))
    if kind == "element_symbols":
        return Markup(escape(", ".join(element(str(x), lang) for x in v)))
    if kind == "grams":
        return _lines([Markup(escape(f"{element(el, lang)}: {_num(g / 1000, lang, 'kg')}")) for el, g in sorted(v.items())])
    if kind == "range":
        lo, hi = v
        to = {"en": "to", "de": "bis", "fr": "à"}.get(lang, "to")
        return Markup(escape(f"{_num(lo, lang)} {to} {_num(hi, lang, unit)}"))
    return _generic(v, lang)


def _location(loc: Any) -> str:
    if isinstance(loc, dict):
        return str(loc.get("componentName", "")).lower()
    return str(loc)


_ELEMENT_EN = {"Co": ("Cobalt",), "Ni": ("Nickel",), "Li": ("Lithium",), "Mn": ("Manganese",), "Pb": ("Lead",)}


def _lookup(claims: dict[str, Any], path: str) -> Any:
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _audience(path: str) -> str:
    parts = path.split(".")
    if parts[0] != "aspects" or len(parts) < 3:
        return "public"
    return FIELD_LEVELS.get(parts[1], {}).get(".".join(parts[2:]), "public")


def _readable(path: str, level: str) -> bool:
    return may_read(level, _audience(path)) if level in ACCESS_LEVELS else _audience(path) == "public"


def _restricted(path: str) -> bool:
    parts = path.split(".")
    if parts[0] != "aspects" or len(parts) < 3:
        return False
    return ".".join(parts[2:]) in FIELD_LEVELS.get(parts[1], {})


def _known_leaves(claims: dict[str, Any]) -> list[str]:
    """Disclosed paths under ``aspects`` the label table lacks (shown with a humanised label)."""
    out: list[str] = []
    aspects = claims.get("aspects")
    if not isinstance(aspects, dict):
        return out

    def walk(node: Any, path: str) -> None:
        if path in FIELDS:
            return
        if isinstance(node, dict) and any(p.startswith(path + ".") for p in FIELDS):
            for k, v in node.items():
                walk(v, f"{path}.{k}")
            return
        out.append(path)

    for name, value in aspects.items():
        walk(value, f"aspects.{name}")
    return out


MAX_SHOWN_TEXT = 2_000  # characters of one text inside a shown value
MAX_SHOWN_ITEMS = 100  # members or items of one object or list inside a shown value
MAX_SHOWN_DEPTH = 6


def value_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` is not shown as is (too long, too many members, too deep), or None."""
    if isinstance(value, str):
        return f"a text of {len(value):,} characters (at most {MAX_SHOWN_TEXT:,} are shown)" \
            if len(value) > MAX_SHOWN_TEXT else None
    if isinstance(value, dict | list):
        if depth >= MAX_SHOWN_DEPTH:
            return f"nesting deeper than {MAX_SHOWN_DEPTH} levels"
        if len(value) > MAX_SHOWN_ITEMS:
            return f"{len(value):,} members (at most {MAX_SHOWN_ITEMS} are shown)"
        items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        for key, inner in items:
            if key is not None and len(key) > MAX_SHOWN_TEXT:
                return "a member name too long to show"
            problem = value_problem(inner, depth + 1)
            if problem is not None:
                return problem
    return None


def _hidden(path: str, hidden: frozenset[str]) -> bool:
    return any(path == h or path.startswith(h + ".") or h.startswith(path + ".") for h in hidden)


def attribute_sections(claims: dict[str, Any], lang: str, level: str = "public",
                       hidden: frozenset[str] = frozenset(), not_shown: list[str] | None = None) -> list[Section]:
    """Every disclosed field of ``claims``, labelled and formatted, by group in page order; and
    each attribute ``level`` may read that the passport names as never recorded
    (``summary.not_recorded``), said so. Paths in ``hidden`` (claims of a shape the viewer does
    not display, passport_view's ``not_shown``) and values too long, wide or deep to show are
    left out; the latter are appended to ``not_shown`` with the reason."""
    not_shown = not_shown if not_shown is not None else []
    lang = lang if lang in LANGUAGES else "en"
    raw_summary = claims.get("summary")
    summary: dict[str, Any] = raw_summary if isinstance(raw_summary, dict) else {}
    raw_missing = summary.get("not_recorded")
    missing: list[Any] = raw_missing if isinstance(raw_missing, list) else []
    unrecorded = {f"aspects.{p}" for p in missing if isinstance(p, str)}
    sections = {key: Section(key, names[LANGUAGES.index(lang)]) for key, names in GROUPS.items()}
    seen_labels: set[tuple[str, str]] = set()
    for path, f in FIELDS.items():
        value = _lookup(claims, path)
        if value is _MISSING and path in unrecorded and _readable(path, level):
            value = _NOT_RECORDED
        if value is _MISSING or _hidden(path, hidden):
            continue
        problem = None if value is _NOT_RECORDED else value_problem(value)
        if problem is not None:
            not_shown.append(f"{path}: {problem}")
            continue
        if path == f"{'aspects.GeneralProductInformation'}.batteryPassportIdentifier" and "passport_id" in claims:
            continue  # the same identifier as passport_id, shown once
        label = f.labels[LANGUAGES.index(lang)]
        if value is _NOT_RECORDED:
            shown = Markup('<span class="not-recorded">{}</span>').format(t("not_recorded", lang))
        elif path == "summary.element_g" and value is None:
            shown = Markup(escape(t("confidential_grams", lang)))
        else:
            try:
                shown = _format(f.kind, path.rsplit(".", 1)[-1], f.unit, value, lang)
            except (TypeError, ValueError, KeyError, AttributeError, IndexError):
                shown = _generic(value, lang)
        group = group_of(path)
        if (group, label) in seen_labels:
            continue
        seen_labels.add((group, label))
        sections[group].rows.append(Row(label, shown, path, _restricted(path)))
    for path in _known_leaves(claims):
        if _hidden(path, hidden):
            continue
        problem = value_problem(_lookup(claims, path))
        if problem is not None:
            not_shown.append(f"{path}: {problem}")
            continue
        parts = path.split(".")
        try:
            group = group_of(path)
        except KeyError:
            group = "general"
        sections[group].rows.append(Row(humanise(parts[-1]), _generic(_lookup(claims, path), lang), path,
                                        _restricted(path)))
    return [s for s in sections.values() if s.rows]
