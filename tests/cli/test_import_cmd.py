"""``batterytrace import``: templates, a CSV import signed with a participant key on a SQLite
ledger (the system clock), the ref → id file, and every user error as one line with a non-zero
exit, never a traceback; ``import pact`` prints the carbon entry docs/pact.md shows."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batterytrace.demo.scenario import Scenario
from batterytrace.keys import save_key
from batterytrace.ledger.csv_import import TEMPLATES
from batterytrace.ledger.ledger import Ledger
from batterytrace.storage.base import open_store
from batterytrace.timeutil import format_time, now_us
from pact_support import pcf_v2, to_bytes

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from batterytrace.cli import main; main()", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )


def one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and text in proc.stderr, proc.stderr
    assert proc.stderr.count("error:") == 1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Scenario]:
    """A SQLite ledger with the demo participants registered over the last ten hours, and the
    mine's key file."""
    folder = tmp_path_factory.mktemp("import")
    s = Scenario(start=format_time((now_us() // 1_000_000 - 10 * 3600) * 1_000_000))
    s.register_all()
    db = folder / "ledger.db"
    ledger = Ledger(open_store(str(db)), s.actors["operator"].did, s.ledger_id)
    assert not ledger.submit_batch(s.events, check_clock=False).rejected
    ledger.close()
    key = folder / "tujenge.key"
    save_key(s.actors["tujenge"].signing_key, key)
    return folder, db, s


def extraction_csv(folder: Path, rows: list[str]) -> Path:
    path = folder / "bags.csv"
    path.write_text("ref,time,site,form,mass_kg,origin,Co_pct,kgco2e_per_kg,carbon_primary\n" + "\n".join(rows) + "\n")
    return path


def recent(hours_ago: float) -> str:
    return format_time((now_us() // 1_000_000 - int(hours_ago * 3600)) * 1_000_000).replace("Z", "+00:00")


def test_template_prints_the_packaged_file() -> None:
    for kind, path in TEMPLATES.items():
        out = run("import", "template", kind)
        assert out.returncode == 0 and out.stdout == path.read_text()
    bad = run("import", "template", "aggregation")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "one of extraction" in bad.stderr


def test_import_csv_records_all_rows_and_writes_the_ids(world: tuple[Path, Path, Scenario]) -> None:
    folder, db, _ = world
    path = extraction_csv(folder, [f"BAG-1,{recent(2)},mine:tujenge,heterogenite_concentrate,812.4,uncertified,10.7,0.9,no",
                                   f"BAG-2,{recent(1.5)},mine:tujenge,heterogenite_concentrate,640,uncertified,11.05,,"])
    out_file = folder / "lots.csv"
    before = Ledger(open_store(str(db), create=False)).size()
    checked = run("import", "csv", str(path), "--kind", "extraction", "--key", str(folder / "tujenge.key"),
                  "--db", str(db), "--check")
    assert checked.returncode == 0 and "would be accepted; nothing was recorded" in checked.stdout, checked.stderr
    assert Ledger(open_store(str(db), create=False)).size() == before
    out = run("import", "csv", str(path), "--kind", "extraction", "--key", str(folder / "tujenge.key"),
              "--db", str(db), "--lots-out", str(out_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BAG-1 →" in out.stdout and "recorded 2 events" in out.stdout
    rows = list(csv.reader(out_file.open()))
    assert rows[0] == ["ref", "id"] and [r[0] for r in rows[1:]] == ["BAG-1", "BAG-2"]
    ledger = Ledger(open_store(str(db), create=False))
    assert ledger.size() == before + 2
    lot = ledger.store.get_lot(rows[1][1])
    assert lot is not None and lot.buckets == {"Co/uncertified/CD": 86_926}  # 812 400 g × 10.7 %, rounded down


def test_a_bad_row_records_nothing(world: tuple[Path, Path, Scenario]) -> None:
    folder, db, _ = world
    before = Ledger(open_store(str(db), create=False)).size()
    path = extraction_csv(folder, [f"BAG-3,{recent(1)},mine:tujenge,heterogenite_concentrate,500,uncertified,10.7,,",
                                   f"BAG-4,{recent(0.9)},mine:tujenge,heterogenite_concentrate,500;5,uncertified,10.7,,"])
    out = run("import", "csv", str(path), "--kind", "extraction", "--key", str(folder / "tujenge.key"), "--db", str(db))
    one_line_error(out, "row 3")
    assert "column mass_kg" in out.stderr or "cells" in out.stderr
    # the ledger refuses row 2 (older than the mine's last event): nothing recorded, the rule named
    late = extraction_csv(folder, [f"BAG-5,{recent(9)},mine:tujenge,heterogenite_concentrate,500,uncertified,10.7,,"])
    out = run("import", "csv", str(late), "--kind", "extraction", "--key", str(folder / "tujenge.key"), "--db", str(db))
    one_line_error(out, "row 2: refused by rule time.order")
    assert Ledger(open_store(str(db), create=False)).size() == before


def test_user_errors_are_one_line(world: tuple[Path, Path, Scenario], tmp_path: Path) -> None:
    folder, db, _ = world
    key = str(folder / "tujenge.key")
    one_line_error(run("import", "csv", str(tmp_path / "nope.csv"), "--kind", "extraction", "--key", key, "--db",
                       str(db)), "cannot read")
    one_line_error(run("import", "csv", str(tmp_path), "--kind", "extraction", "--key", key, "--db", str(db)),
                   "is a folder")
    (tmp_path / "semi.csv").write_text("ref;time;site\n")
    one_line_error(run("import", "csv", str(tmp_path / "semi.csv"), "--kind", "extraction", "--key", key, "--db",
                       str(db)), "semicolons")
    (tmp_path / "bad.key").write_text("not a key")
    one_line_error(run("import", "csv", str(tmp_path / "semi.csv"), "--kind", "extraction", "--key",
                       str(tmp_path / "bad.key"), "--db", str(db)), "32-byte hex seed")
    out = run("import", "csv", str(tmp_path / "semi.csv"), "--kind", "recycling", "--key", key, "--db", str(db))
    assert out.returncode != 0 and "Traceback" not in out.stderr


def test_import_pact_prints_the_documented_entry(tmp_path: Path) -> None:
    example = TEMPLATES["extraction"].parent / "kivijarvi-cobalt-sulphate-pcf.json"
    out = run("import", "pact", str(example), "--stage", "raw_material")
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)
    doc = (ROOT / "docs" / "pact.md").read_text()
    assert entry["kgco2e_per_kg"] == 6.85 and entry["primary_data_share_percent"] == 64.5
    assert f'"sha256":"{entry["pact"]["sha256"][:8]}' in doc  # the digest docs/pact.md shows
    bad = pcf_v2()
    bad["pcf"]["pCfExcludingBiogenic"] = "4,82"
    (tmp_path / "bad.json").write_bytes(to_bytes(bad))
    one_line_error(run("import", "pact", str(tmp_path / "bad.json")), "[pact.value]")
    one_line_error(run("import", "pact", str(example), "--stage", "cradle"), "[schema]")
