"""docs/events.md is what the field table renders (regenerate with
``batterytrace schema --markdown docs/events.md``), and every rule it cites is one the ledger
raises."""

from __future__ import annotations

import re
from pathlib import Path

from batterytrace.ledger.event_reference import render_events_markdown, type_words
from batterytrace.model.event_spec import COMMON, EVENT_SPECS, OUTPUT_FIELDS, Field

ROOT = Path(__file__).resolve().parents[2]


def test_docs_events_md_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render_events_markdown(), "run: batterytrace schema --markdown docs/events.md"


def _all_fields() -> list[Field]:
    out: list[Field] = []
    todo = [*COMMON, *OUTPUT_FIELDS]
    for s in EVENT_SPECS.values():
        todo += s.fields
        for v in s.variants:
            todo += [*v.fields, *v.output_fields]
    while todo:
        f = todo.pop()
        out.append(f)
        todo += f.fields
    return out


def test_every_rule_the_reference_cites_is_raised_by_the_ledger() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src/batterytrace/ledger").glob("*.py"))
    # rule names are string literals of the ledger layer (some reach RuleViolationError through a variable)
    raised = set(re.findall(r"\"([a-z]+(?:[._-][a-z]+)*)\"", source))
    cited: set[str] = set()
    for f in _all_fields():
        cited.update(r for r in f.rule.split(", ") if r not in ("wire", "none"))
    for s in EVENT_SPECS.values():
        cited.update(s.forbidden.values())
        for v in s.variants:
            cited.update(v.forbidden.values())
            cited.update(v.output_forbidden.values())
    unknown = [r for r in cited if not (r in raised or (r.endswith("*") and any(x.startswith(r[:-1]) for x in raised)))]
    assert unknown == []


def test_type_words() -> None:
    assert type_words({"type": "integer", "minimum": 0, "maximum": 100}) == "integer in [0, 100]"
    assert type_words({"type": "string", "enum": ["a", "b"]}) == "one of `a`, `b`"
    assert type_words({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 5,
                       "uniqueItems": True}) == "list (1–5, distinct) of string"
