"""Master data: the schema is derived from the dataclasses (every field documented, nothing
stale), the demo's master data and the docs example load, and malformed master data — a missing
field, a wrong type, an unknown field, an oversized string, nested garbage, non-finite numbers,
random JSON — is refused with one ConfigError naming the field; the CLI prints one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.errors import ConfigError
from batterytrace.keys import save_key
from batterytrace.passport.master import (
    MASTER_DOCS,
    Contact,
    Document,
    HazardousSubstance,
    PackMasterData,
    TechnicalData,
    master_from_dict,
    master_schema,
    master_to_dict,
    render_master_markdown,
)

ROOT = Path(__file__).resolve().parents[2]


def good() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(master_to_dict(VOLTARA_VM75)))
    return data


def refusal(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        master_from_dict(data)
    text = str(info.value)
    assert text.startswith("master data: ") and "\n" not in text and len(text) < 400
    return text


def test_the_schema_is_valid_and_documents_every_dataclass_field() -> None:
    Draft202012Validator.check_schema(master_schema())
    expected = {f"{c.__name__}.{f.name}" for c in (Contact, Document, HazardousSubstance, TechnicalData, PackMasterData)
                for f in fields(c)}
    assert set(MASTER_DOCS) == expected


def test_the_demo_master_data_round_trips() -> None:
    assert master_from_dict(good()) == VOLTARA_VM75


def test_optional_fields_may_be_left_out() -> None:
    data = good()
    for name in ("technical", "spare_part_supplier", "spare_parts", "backup_url", "manufacturer_bpnl",
                 "dismantling_documents", "end_of_life_urls", "declared_hazardous_ppm"):
        del data[name]
    m = master_from_dict(data)
    assert m.technical is None and m.end_of_life_urls == ("", "", "")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.pop("warranty_months"), "master data: (top level): missing field 'warranty_months'"),
    (lambda d: d.update(warranty_months="96"), "master data: warranty_months: expected integer, got string"),
    (lambda d: d.update(warranty_months=True), "master data: warranty_months: expected integer, got boolean"),
    (lambda d: d.update(warranty_months=-1), "master data: warranty_months: must be ≥ 0, got -1"),
    (lambda d: d.update(colour="red"), "master data: (top level): unknown field 'colour'"),
    (lambda d: d["manufacturer"].update(fax="0"), "master data: manufacturer: unknown field 'fax'"),
    (lambda d: d["manufacturer"].pop("street"), "master data: manufacturer: missing field 'street'"),
    (lambda d: d["operator"].update(name="x" * 10_000), "master data: operator.name: longer than 200 characters"),
    (lambda d: d.update(chemistry_name="x" * 100_000), "master data: chemistry_name: longer than 500 characters"),
    (lambda d: d["technical"].update(expected_cycles="many"),
     "master data: technical.expected_cycles: expected integer, got string"),
    (lambda d: d.update(category="car"), "master data: category: expected one of lmt, ev, industrial, stationary"),
    (lambda d: d["manufacturer"].update(country="Germany"), "master data: manufacturer.country: \"Germany\" is not"),
    (lambda d: d.update(technical={"a": {"b": [1, {"c": None}]}}), "master data: technical: missing field"),
    (lambda d: d.update(spare_part_supplier=[1, 2]), "master data: spare_part_supplier: expected null or object"),
    (lambda d: d.update(spare_parts=[["Module", 7]]), "master data: spare_parts[0][1]: expected string, got integer"),
    (lambda d: d.update(end_of_life_urls=["a"]), "master data: end_of_life_urls: expected exactly 3 items, got 1"),
    (lambda d: d.update(dismantling_documents=[{"kind": "X"}]), "master data: dismantling_documents[0]: missing"),
    (lambda d: d.update(extinguishing_agents=["water"] * 21), "master data: extinguishing_agents: expected at most 20"),
    (lambda d: d.update(usable_energy_fraction=0), "master data: usable_energy_fraction: must be > 0, got 0"),
    (lambda d: d.update(usable_energy_fraction=float("nan")), "master data: usable_energy_fraction: expected a finite"),
    (lambda d: d["technical"].update(rated_capacity_ah=float("inf")), "master data: technical.rated_capacity_ah:"),
    (lambda d: d.update(backup_url="javascript:alert(1)"), "master data: backup_url: \"javascript:alert(1)\" is not"),
])
def test_malformed_master_data_is_refused_naming_the_field(change: Any, expected: str) -> None:
    data = good()
    change(data)
    assert refusal(data).startswith(expected)


@pytest.mark.parametrize("value", [None, [], "master", 42, [good()]])
def test_not_an_object(value: Any) -> None:
    assert refusal(value).startswith("master data: (top level): expected object")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(good())), json_values)
def test_garbage_in_any_field_is_a_config_error_or_valid(name: str, value: Any) -> None:
    data = good()
    data[name] = value
    try:
        master_from_dict(data)
    except ConfigError as exc:
        assert re.match(r"master data: [\w.\[\]() ]+: ", str(exc)), str(exc)


def test_docs_master_data_md_is_up_to_date_and_its_example_loads() -> None:
    text = (ROOT / "docs" / "master-data.md").read_text(encoding="utf-8")
    assert text == render_master_markdown(VOLTARA_VM75), "run: batterytrace schema --master-markdown docs/master-data.md"
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    assert master_from_dict(json.loads(example)) == VOLTARA_VM75
    for name in MASTER_DOCS:
        assert f"| `{name.split('.')[1]}` |" in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )


def test_the_cli_prints_one_line_naming_the_field(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    assert run_cli("init", "--db", str(db)).returncode == 0
    bad = good()
    bad["technical"]["expected_cycles"] = "many"
    master = tmp_path / "master.json"
    master.write_text(json.dumps(bad))
    save_key(SigningKey.generate(), tmp_path / "oem.key")
    proc = run_cli("passport", "issue", "0" * 64 + ":0", "--key", str(tmp_path / "oem.key"),
                   "--master", str(master), "--db", str(db))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: master data: technical.expected_cycles: expected integer, got string"]


def test_master_data_schema_printed_by_the_cli_is_the_generated_one() -> None:
    proc = run_cli("schema", "master-data")
    assert proc.returncode == 0 and json.loads(proc.stdout) == master_schema()
    unknown = run_cli("schema", "no-such-schema")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr and "no schema" in unknown.stderr


def test_required_fields_are_those_without_a_default() -> None:
    required = {f.name for f in fields(PackMasterData) if f.default is MISSING and f.default_factory is MISSING}
    assert set(master_schema()["required"]) == required
    assert "warranty_months" in required and "technical" not in required
