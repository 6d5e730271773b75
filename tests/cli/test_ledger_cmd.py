"""``trace forward`` as a recall tool: refusals of a mistyped site or a bad window, one line per
battery with holder and status, JSON and CSV output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from batterytrace.cli.ledger_cmd import _csv_cell
from batterytrace.demo.scenario import build_scenario
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import run

WINDOW = ["--from", "2025-01-01T00:00:00Z", "--to", "2030-01-01T00:00:00Z"]


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    s = build_scenario(packs=3, legacy_packs=2)
    db = tmp_path_factory.mktemp("recall") / "l.db"
    store = SQLiteStore(str(db))
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    store.close()
    return db, s.packs, s.legacy_packs


def test_recall_prints_each_battery_once_sorted(ledger_db: tuple[Path, list[str], list[str]]) -> None:
    db, packs, legacy = ledger_db
    out = run("trace", "forward", "--site", "mine:tujenge", *WINDOW, "--db", str(db)).stdout
    lines = [line.split() for line in out.splitlines()[1:]]
    ids = [line[0] for line in lines]
    assert ids == sorted(set(ids)) and len(ids) == len(packs) + len(legacy)
    assert "batteries" in out.splitlines()[0]
    assert sum("recycled" in line for line in lines) == len(legacy)
    assert sum(line[2] == "held" and "Voltara" in " ".join(line) for line in lines) == len(packs)


def test_recall_as_json_and_csv(ledger_db: tuple[Path, list[str], list[str]]) -> None:
    db, packs, legacy = ledger_db
    doc = json.loads(run("trace", "forward", "--site", "mine:tujenge", *WINDOW, "--json", "--db", str(db)).stdout)
    products = doc["products"]
    assert len(products) == len(packs) + len(legacy) and doc["downstream_lots"] > len(products)
    assert set(products[0]) == {"gtin", "serial", "form", "lot_id", "holder", "holder_name", "status", "lifecycle"}
    assert {p["lot_id"] for p in products} >= set(packs)
    rows = list(csv.DictReader(io.StringIO(run("trace", "forward", "--lot", packs[0], "--csv", "--db", str(db)).stdout)))
    assert len(rows) == 1 and rows[0]["lot_id"] == packs[0] and rows[0]["status"] == "held"
    assert rows[0]["holder"].startswith("did:key:") and rows[0]["lifecycle"] == "original"


@pytest.mark.parametrize(("args", "message"), [
    (["--site", "mine:tujengee", *WINDOW], "unknown site 'mine:tujengee'"),
    (["--site", "mine:tujenge", "--from", "2026-01-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"], "empty or reversed"),
    (["--site", "mine:tujenge", "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"], "empty or reversed"),
    (["--site", "mine:tujenge", "--from", "2025-01-01T00:00:00Z"], "needs a window"),
    (["--site", "mine:tujenge", "--from", "yesterday", "--to", "2025-01-01T00:00:00Z"], "RFC 3339"),
    ([], "give start lots"),
    (["--lot", "00" * 32 + ":0"], "does not exist"),
    (["--lot", "00" * 32 + ":0", "--site", "mine:tujenge"], "not both"),
    (["--site", "mine:tujenge", *WINDOW, "--json", "--csv"], "--json or --csv"),
])
def test_recall_refusals_are_one_line_and_non_zero(ledger_db: tuple[Path, list[str], list[str]],
                                                   args: list[str], message: str) -> None:
    out = run("trace", "forward", *args, "--db", str(ledger_db[0]), ok=False)
    assert out.returncode != 0 and message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    assert [_csv_cell(v) for v in ("=HYPERLINK(1)", "+1", "-1", "@x", "\tx", "VM75-1", None)] == [
        "'=HYPERLINK(1)", "'+1", "'-1", "'@x", "'\tx", "VM75-1", ""]
