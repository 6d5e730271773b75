"""The repository is self-contained: no test reads a path outside it (a user's clone has nothing
beside it), the reference data tests need is inside with its licence, and the root carries the
licence and notices. ``.ci/run`` also runs the whole suite from a copy with no siblings."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a path built from this file that climbs out of the repository, or names the sibling folder
_PARENTS = re.compile(r"parents\[(\d+)\]((?:\.parent)*)")
_SIBLING = re.compile(r"[\"']\.\./|[\"']shared[\"']")


def test_no_test_reads_outside_the_repository() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        root_index = len(path.relative_to(ROOT).parts) - 1  # path.parents[root_index] is ROOT
        for match in _PARENTS.finditer(text):
            if int(match.group(1)) + match.group(2).count(".parent") > root_index:
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in _SIBLING.finditer(text)]
    assert not offenders, offenders


def test_reference_data_and_licences_are_in_the_repository() -> None:
    ref = ROOT / "tests" / "reference"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    notice = (ROOT / "NOTICE").read_text()
    for needle in ("CC-BY-4.0", "Battery Pass consortium", "Tractus-X", "GS1"):
        assert needle in notice
    assert (ref / "epcis" / "LICENSE-GS1-DISCLAIMER.txt").exists()
    assert len(list((ref / "batterypass").rglob("*-schema.json"))) == 7
    assert (ref / "catenax" / "io.catenax.battery.battery_pass" / "6.1.0" / "gen" / "BatteryPass-schema.json").exists()
    assert len(list((ref / "epcis" / "JSON").rglob("*.jsonld"))) >= 40
