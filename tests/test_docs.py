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


def test_labels_and_recall_commands_exist() -> None:
    """Every ``batterytrace`` command line in docs/labels-and-recall.md names a real command and
    only options that command takes."""
    import shlex

    from typer.main import get_command

    from batterytrace.cli import app, ledger_cmd, passport_cmd, serve_cmd  # noqa: F401  (register commands)

    root = get_command(app)
    text = (ROOT / "docs" / "labels-and-recall.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("batterytrace ")]
    assert len(lines) >= 5
    for line in lines:
        words = shlex.split(line)[1:]
        cmd = root
        while words and getattr(cmd, "commands", None) and words[0] in cmd.commands:  # type: ignore[attr-defined]
            cmd = cmd.commands[words.pop(0)]  # type: ignore[attr-defined]
        assert not getattr(cmd, "commands", None), line
        known = {o for p in cmd.params for o in p.opts}
        used = {w for w in words if w.startswith("--")}
        assert used <= known, (line, used - known)
