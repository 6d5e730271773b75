"""Documentation keeps up with the code: every rule identifier is documented in docs/rules.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rule_ids_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "batterytrace").rglob("*.py"):
        text = path.read_text()
        found.update(re.findall(r'RuleViolationError\(\s*"([a-z][a-z._-]*)"', text))
        found.update(re.findall(r'\brule = "([a-z][a-z._-]*)" if .* else "([a-z][a-z._-]*)"', text)[0]
                     if re.search(r'\brule = "', text) else ())
        found.update(re.findall(r'Rejection\([^)]*?"([a-z][a-z._-]*)"', text))
    return found


def test_every_rule_is_documented() -> None:
    doc = (ROOT / "docs" / "rules.md").read_text()
    documented = set(re.findall(r"`([a-z][a-z._-]*)`", doc))
    ids = rule_ids_in_code()
    assert {"signature", "custody", "coc.segregated", "coc.identity", "schema"} <= ids
    missing = sorted(ids - documented)
    assert not missing, f"rules missing from docs/rules.md: {missing}"
