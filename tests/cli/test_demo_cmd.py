"""``batterytrace demo --confidential`` (in process): the confidential section runs and is verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.ledger.audit import verify_log
from batterytrace.storage.openings import OpeningStore
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import run
from passport.test_catenax import schema_errors


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo with its confidential section, run once: its directory and output."""
    from batterytrace.cli import bench_cmd, demo_cmd, ledger_cmd, passport_cmd  # noqa: F401  (register commands)

    tmp_path = tmp_path_factory.mktemp("confdemo")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(
            app, ["demo", "--db", str(tmp_path / "demo.db"), "--fresh", "--packs", "1", "--legacy-packs", "1",
                  "--confidential", "--confidential-pack", "2x3"],
            env={"COLUMNS": "200"},
        )
    assert result.exit_code == 0, result.output
    return tmp_path, result.output


def test_demo_with_a_confidential_section(demo: tuple[Path, str]) -> None:
    tmp_path, out = demo
    db = tmp_path / "demo.db"
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


def test_catenax_export_of_the_confidential_pack(demo: tuple[Path, str]) -> None:
    """``passport export`` takes the openings as ``passport issue`` does: with them a schema-valid
    document of the opened figures, whose identifier is the passport's ``passport_uuid`` and whose
    status is the status list's; without them, or tampered, one line on stderr naming the rule."""
    tmp_path, out = demo
    db, passports = tmp_path / "demo.db", tmp_path / "demo-passports"
    serial = out.split("confidential pack 04099999000753/")[1].split(":")[0]
    pack = f"04099999000753/{serial}"
    openings = passports / "voltara.openings.sqlite"
    export = ["passport", "export", pack, "--master", str(passports / "vm75.master.json"), "--db", str(db)]
    target = tmp_path / "conf.catenax.json"
    done = run(*export, "--out", str(target), "--openings", str(openings))
    doc = json.loads(target.read_text())
    assert not schema_errors(doc), schema_errors(doc)[:8]
    assert "status approved" in done.stdout and doc["metadata"]["status"] == "approved"  # the demo issued it
    claims = next(c for c in map(_claims, passports.glob("*.public.sd-jwt")) if c["battery"]["serial"] == serial)
    assert doc["metadata"]["passportIdentifier"] == claims["passport_uuid"]
    co = claims["summary"]["recycled_percent"]["Co"]["total"]
    assert doc["materials"]["active"]["cobalt"]["recycled"] == round(co, 3) > 0
    # refusals: one line on stderr, exit status 2, the rule named
    without = run(*export, "--out", str(tmp_path / "x.json"), ok=False)
    assert without.returncode == 2 and len(without.stderr.strip().splitlines()) == 1
    assert "[openings.missing]" in without.stderr and "Traceback" not in without.stderr
    tampered = tmp_path / "tampered.openings.sqlite"
    store = OpeningStore(str(tampered))
    store.merge(OpeningStore(str(openings)))
    ledger_store = SQLiteStore(str(db))
    try:
        lot_id = ledger_store.lots_by_serial("04099999000753", serial)[-1]
    finally:
        ledger_store.close()
    held = store.get(lot_id)
    first = sorted(held)[0]
    store.put(lot_id, {**held, first: type(held[first])(held[first].value + 1, held[first].blinding)})
    store.close()
    bad = run(*export, "--out", str(tmp_path / "y.json"), "--openings", str(tampered), ok=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "[openings.mismatch]" in bad.stderr and "do not open" in bad.stderr
    for extra, said in ((["--openings", str(tmp_path / "none.sqlite")], "no openings store at"),
                        (["--openings", str(openings), "--passport-version", "2"], "no passport version 2")):
        refused = run(*export, "--out", str(tmp_path / "z.json"), *extra, ok=False)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1 and said in refused.stderr
    assert not any((tmp_path / name).exists() for name in ("x.json", "y.json", "z.json"))


def _claims(presentation: Path) -> dict[str, Any]:
    from batterytrace.crypto.sdjwt import verify_sd_jwt

    return verify_sd_jwt(presentation.read_text().strip())
