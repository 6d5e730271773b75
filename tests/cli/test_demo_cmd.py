"""``batterytrace demo --confidential`` (in process): the confidential section runs and is verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.ledger.audit import verify_log
from batterytrace.storage.sqlite import SQLiteStore


def test_demo_with_a_confidential_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from batterytrace.cli import bench_cmd, demo_cmd, ledger_cmd, passport_cmd  # noqa: F401  (register commands)

    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(
        app, ["demo", "--db", str(db), "--fresh", "--packs", "1", "--legacy-packs", "1", "--confidential",
              "--confidential-pack", "2x3"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    flat = " ".join(out.split())
    assert "confidential mode" in out and "accepted 16 confidential events" in flat
    assert "Kivijärvi alone checks the mine's private disclosure: mine:mwelu" in flat
    for rule in ("zk.loss", "zk.balance", "zk.mixed-mode"):
        assert rule in out
    assert "ACCEPTED (unexpected)" not in out
    # the economic operator's forged passports: refused naming the figure, offline or against the ledger
    assert "forged passport, 10x lower footprint, class A and a 1 kg battery" in flat and "batteryMass" in flat
    assert "carbon_performance_class" in flat and "(offline: footprint declared)" in flat
    assert "confidential pack passports" in out and "proved in zero knowledge" in out
    assert "the log holds no grams from mine to pack" in out
    out_dir = tmp_path / "demo-passports"
    passports = sorted(out_dir.glob("*.public.sd-jwt"))
    assert len(passports) == 2  # the series pack and the confidential pack
    # the economic operator re-issues the confidential pack's passport from the CLI with its openings
    serial = out.split("confidential pack 04099999000753/")[1].split(":")[0]
    issue = ["passport", "issue", f"04099999000753/{serial}", "--key", str(out_dir / "voltara.key"),
             "--master", str(out_dir / "vm75.master.json"), "--out", str(tmp_path / "again"), "--db", str(db)]
    without = CliRunner().invoke(app, issue)
    assert without.exit_code != 0 and "openings" in str(without.exception)
    again = CliRunner().invoke(app, [*issue, "--openings", str(out_dir / "voltara.openings.sqlite")])
    assert again.exit_code == 0, again.output
    public = next((tmp_path / "again").glob("*.public.sd-jwt"))
    operator = out.split("--operator ")[1].split()[0]
    verified = CliRunner().invoke(app, ["passport", "verify", str(public), "--operator", operator])
    assert verified.exit_code == 0 and "passport verified" in verified.output, verified.output
    store = SQLiteStore(str(db))
    try:
        verify_log(store)
        confidential = [lot for lot in store.iter_lots() if lot.commitments]
        assert any(lot.form == "pack" for lot in confidential) and not any(lot.buckets for lot in confidential)
    finally:
        store.close()
