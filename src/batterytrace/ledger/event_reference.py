"""docs/events.md, rendered from the field table (model/event_spec.py), the roles that may sign
each kind (ledger/rules.py) and the worked example chain (ledger/event_examples.py).
``batterytrace schema --markdown docs/events.md`` writes it; a test insists the committed copy
is what this renders."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from batterytrace.ledger.event_examples import EXAMPLE_LEDGER_ID, example_chain
from batterytrace.ledger.rules import ROLE_PERMISSIONS
from batterytrace.model import event_spec as spec
from batterytrace.model.entities import ANONYMOUS_ROLE

__all__ = ["render_events_markdown", "type_words"]

_PATTERN_WORDS = {
    spec.BUCKET_KEY_PATTERN: "bucket key",
    spec.RECYCLED_KEY_PATTERN: "recycled bucket key",
    spec.TIME_PATTERN: "RFC 3339 UTC time",
    spec.DID_KEY_PATTERN: "did:key",
    spec.HASH_PATTERN: "64 lower-case hex digits",  # also POINT_PATTERN: a 32-byte point
    spec.LOT_PATTERN: "lot id (event hash:index)",
    spec.GTIN_PATTERN: "8, 12, 13 or 14 digits",
    spec.SERIAL_PATTERN: "1–20 characters of GS1 CSET 82",
    spec.HEX_PATTERN: "lower-case hex",
    spec.COUNTRY_PATTERN: "ISO 3166-1 alpha-2",
    "^(?!ring:)": "not starting with ring:",
    "^[0-9a-f]{128}$": "64 bytes, lower-case hex",
    "^(https?://\\S+)?$": "http(s) URL, or empty",
}


def _show(x: Any) -> str:
    names = {spec.MAX_SAFE_INT: "2^53−1", spec.MAX_GRAMS: "2^48", spec.MAX_GRAMS - 1: "2^48−1"}
    if not isinstance(x, bool) and x in names:
        return names[x]
    return f"{x:g}" if isinstance(x, float) else str(x)


def _bound(lo: Any, hi: Any) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" ≥ {_show(lo)}"
    return f" in [{_show(lo)}, {_show(hi)}]"


def type_words(s: Mapping[str, Any]) -> str:
    """A JSON Schema fragment in a few words (the Type column)."""
    if "anyOf" in s:
        return " or ".join(type_words(x) for x in s["anyOf"])
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "enum" in s:
        return "one of " + ", ".join(f"`{v}`" for v in s["enum"])
    t = s.get("type")
    if t == "string":
        words, pattern = "string", s.get("pattern")
        if pattern is not None:
            words += f" ({_PATTERN_WORDS.get(pattern, '`' + pattern + '`')})"
        if "maxLength" in s and (pattern is None or pattern == "^(?!ring:)"):
            lo = s.get("minLength", 0)
            words += f", {lo}–{s['maxLength']} chars" if lo else f", ≤ {s['maxLength']} chars"
        return words
    if t in ("integer", "number"):
        t = str(t)
        if "exclusiveMinimum" in s:
            hi = s.get("maximum")
            return t + (f" in ({_show(s['exclusiveMinimum'])}, {_show(hi)}]" if hi is not None
                        else f" > {_show(s['exclusiveMinimum'])}")
        return t + _bound(s.get("minimum"), s.get("maximum"))
    if t == "boolean":
        return "boolean"
    if t == "null":
        return "null"
    if t == "array":
        lo, hi = s.get("minItems", 0), s.get("maxItems")
        size = f"{lo}–{_show(hi) if hi is not None and hi < spec.MAX_SAFE_INT else '…'}"
        unique = ", distinct" if s.get("uniqueItems") else ""
        return f"list ({size}{unique}) of {type_words(s.get('items', {}))}"
    if t == "object":
        if "propertyNames" in s:
            key = _PATTERN_WORDS.get(s["propertyNames"]["pattern"], "key")
            return f"object: {key} → {type_words(s.get('additionalProperties', {}))}"
        if "properties" in s:
            return "object" + (" (closed)" if s.get("additionalProperties") is False else "")
        if isinstance(s.get("additionalProperties"), dict):
            return f"object: key → {type_words(s['additionalProperties'])}"
        if s.get("maxProperties") == 0:
            return "empty object"
        return "object"
    return "any"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(fields: Iterable[spec.Field], prefix: str = "", outputs_ref: bool = True) -> list[str]:
    rows = []
    for f in fields:
        name = prefix + f.name
        if outputs_ref and f.name == "outputs" and f.fields:
            lo, hi = f.many or (1, 1)
            kind = f"list ({lo}–{_show(hi)}) of output specs (§ Output spec)"
        else:
            kind = type_words({k: v for k, v in f.value_schema().items() if k != "description"}
                              if not f.nullable else f.value_schema()["anyOf"][0])
            if f.nullable:
                kind += " or null"
        rows.append(f"| `{name}` | {_cell(kind)} | {'yes' if f.required else 'no'} | {_cell(f.unit)} | "
                    f"{_cell(f.doc)} | {_cell(f.rule)} |")
        if f.fields and not (outputs_ref and f.name == "outputs"):
            rows += _rows(f.fields, f"{name}{'[]' if f.many else ''}.", outputs_ref)
    return rows


def _table(fields: Iterable[spec.Field], outputs_ref: bool = True) -> list[str]:
    return ["| Field | Type | Required | Unit | Meaning | Rule |", "|---|---|---|---|---|---|",
            *_rows(fields, "", outputs_ref)]


def _json(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def _signers(kind: str) -> str:
    roles = sorted(ROLE_PERMISSIONS[kind])
    words = ", ".join(f"`{r}`" for r in roles if r != ANONYMOUS_ROLE)
    if ANONYMOUS_ROLE in roles:
        words += " (and the one-time key of an anonymous extraction, for the lots it extracted)"
    if kind == "extract":
        words += "; an anonymous extraction: a fresh one-time key"
    return words


def render_events_markdown() -> str:
    chain = example_chain()
    featured = {ex.event.kind: ex for ex in chain if ex.featured}
    order = list(dict.fromkeys(ex.event.kind for ex in chain if ex.featured))
    out = [
        "# Event reference",
        "",
        "<!-- Generated from src/batterytrace/model/event_spec.py, ledger/rules.py and ledger/event_examples.py by",
        "     `batterytrace schema --markdown docs/events.md`; do not edit by hand",
        "     (tests/ledger/test_event_reference.py fails when this file is out of date). -->",
        "",
        "Every event the ledger takes, field by field: JSON type and bounds, unit, meaning and the ledger rule",
        "that refuses a bad value (docs/rules.md explains each rule). The same table generates the JSON Schemas",
        "(draft 2020-12) that the API serves at `GET /schemas` and `batterytrace schema KIND` prints. A schema says",
        "what one event must look like on its own; whether a lot exists, who holds it, balances, tolerances and",
        "attestations are stateful rules, listed under each kind. Unknown top-level members are signed, stored and",
        "ignored; the nested objects marked *closed* refuse unknown members.",
        "",
        "Every example below is real: the chain of events in § Example chain, signed with the documentation's keys",
        f"(`example_key(name)` in `batterytrace.ledger.event_examples`) for the ledger `{EXAMPLE_LEDGER_ID}`, is",
        "accepted in order by a fresh ledger — a test submits it — so its lot ids and hashes are the ones a ledger",
        "computes.",
        "",
        "## Signed events (wire form)",
        "",
        "An event is submitted as `{\"event\": body, \"signature\": base64url}` (schema `/schemas/signed-event.json`):",
        "the body's `actor` signs with Ed25519 `b\"batterytrace/event/v1\\x00\" || SHA-256(JCS(body))`, JCS being RFC",
        "8785 canonical JSON. `sign_event(body, key, ledger=...)` fills in `actor`, `nonce`, `v` and `ledger`. The",
        "first example, signed:",
        "",
        *_json(chain[0].event.to_wire()),
        "",
        "## Fields every event carries",
        "",
        *_table(spec.COMMON),
        "",
        "## Output spec",
        "",
        "Events that create lots (extract, receive, transform, aggregate, disaggregate, recycle) list them in",
        "`outputs`; the lot id is the event hash and the output's index. Bulk material carries no GTIN or serial;",
        "cells, modules, packs and vehicles carry both.",
        "",
        *_table(spec.OUTPUT_FIELDS),
        "",
        "In a **confidential** event an output carries `commitments` instead of `buckets` (Pedersen commitments to",
        "the grams, docs/confidential.md), an empty or no `assay_ppm`, and no `controlled_blending`.",
        "",
    ]
    for kind in order:
        s = spec.EVENT_SPECS[kind]
        ex = featured[kind]
        out += [f"## `{kind}`", "", s.summary, "", f"Signed by: {_signers(kind)}. Schema: "
                f"`/schemas/events/{kind}.json`.", "", *_table(s.fields), ""]
        for name, rule in sorted(s.forbidden.items()):
            out.append(f"* `{name}` must be absent ({rule}).")
        for _, words in s.conditions:
            out.append(f"* {words[0].upper() + words[1:]}.")
        for note in s.notes:
            out.append(f"* {note}")
        if s.forbidden or s.conditions or s.notes:
            out.append("")
        for v in s.variants:
            out += [f"**{v.name.capitalize()} variant.** {v.doc}", ""]
            changed = list(v.fields) + [replace(f, name="outputs[]." + f.name) for f in v.output_fields]
            out += _table(changed, outputs_ref=False)
            gone = [f"`{n}` ({r})" for n, r in sorted(v.forbidden.items())]
            gone += [f"`outputs[].{n}` ({r})" for n, r in sorted(v.output_forbidden.items())]
            if gone:
                out += ["", "Absent: " + ", ".join(gone) + "."]
            out.append("")
        out += [f"Example — {ex.caption}:", "", *_json(ex.event.body), ""]
    out += ["## Example chain", "",
            "The examples above are part of this chain; a fresh ledger accepts it in this order.", ""]
    for i, ex in enumerate(chain, 1):
        out.append(f"{i}. `{ex.event.kind}` — {ex.caption}" + (" (worked example above)" if ex.featured else ""))
    out.append("")
    return "\n".join(out)
