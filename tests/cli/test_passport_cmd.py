"""``passport issue|qr|check`` from the CLI: the resolver as ledger configuration, one passports
directory shared with ``serve``, label files, readiness reports and one-line refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from batterytrace.api.config import ApiConfig
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.keys import save_key
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.master import master_to_dict
from batterytrace.passport.resolver import RESOLVER_KEY
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import run


class World:
    def __init__(self, root: Path) -> None:
        s = build_scenario(packs=2, legacy_packs=1)
        self.db = root / "ledger.db"
        store = SQLiteStore(str(self.db))
        ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
        assert not ledger.submit_batch(s.events).rejected
        ledger.sign_tree_head(s.actors["operator"].signing_key)
        packs = [store.get_lot(p) for p in s.packs]
        self.refs = [f"{p.gtin}/{p.serial}" for p in packs if p is not None]
        store.close()
        self.key = root / "voltara.key"
        save_key(s.actors["voltara"].signing_key, self.key)
        self.master = root / "vm75.master.json"
        self.master.write_text(json.dumps(master_to_dict(VOLTARA_VM75)))

    def meta(self, key: str) -> str | None:
        store = SQLiteStore(str(self.db), create=False)
        try:
            return store.get_meta(key)
        finally:
            store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("passport-cli"))


def test_issue_writes_where_serve_reads_and_under_the_given_resolver(world: World) -> None:
    out = run("passport", "issue", world.refs[0], "--key", str(world.key), "--master", str(world.master),
              "--resolver", "https://DPP.voltara.example/batteries", "--db", str(world.db)).stdout
    shared = world.db.parent / "ledger-passports"
    assert ApiConfig.load(env={}, db=str(world.db)).passport_dir == shared  # serve's default
    assert len(list(shared.glob("*.sd-jwt"))) == 4 and str(shared) in out
    assert f"https://dpp.voltara.example/batteries/01/{world.refs[0].replace('/', '/21/')}" in out
    assert world.meta(RESOLVER_KEY) == "https://dpp.voltara.example/batteries/"
    pid = out.split("passport ", 1)[1].split(" ")[0]
    # the status list sits in the same default directory: passport status finds it by --db
    assert f"{pid}: valid" in run("passport", "status", pid, "--key", str(world.key), "--db", str(world.db)).stdout


def test_qr_labels_default_to_the_stored_resolver(world: World, tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    import xml.etree.ElementTree as ET

    from PIL import Image

    run("passport", "issue", world.refs[0], "--key", str(world.key), "--master", str(world.master),
        "--out", str(tmp_path / "p"), "--resolver", "https://dpp.voltara.example/batteries", "--db", str(world.db))
    gtin, serial = world.refs[1].split("/")
    link = f"https://dpp.voltara.example/batteries/01/{gtin}/21/{serial}"
    out = run("passport", "qr", world.refs[1], "--out", str(tmp_path / "l.png"), "--db", str(world.db)).stdout
    assert link in out
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "l.png"))] == [link]
    run("passport", "qr", world.refs[1], "--out", str(tmp_path / "l.svg"), "--db", str(world.db))
    texts = [t.text for t in ET.parse(tmp_path / "l.svg").getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert texts == [f"(01) {gtin}", f"(21) {serial}"]
    local = run("passport", "qr", world.refs[1], "--out", str(tmp_path / "local.png"), "--resolver",
                "http://localhost:8000/", "--db", str(world.db)).stdout
    assert f"http://localhost:8000/01/{gtin}/21/{serial}" in local
    assert world.meta(RESOLVER_KEY) == "http://localhost:8000/"
    run("passport", "qr", world.refs[1], "--out", str(tmp_path / "l.png"), "--resolver",
        "https://dpp.voltara.example/batteries", "--db", str(world.db))


@pytest.mark.parametrize(("args", "message"), [
    (["--resolver", "http://dpp.voltara.example/"], "http is only allowed for localhost"),
    (["--resolver", "https://dpp.voltara.example/?a=b"], "no query or fragment"),
    (["--resolver", "https://me@dpp.voltara.example/"], "no user information"),
    (["--out", "label.gif"], ".png or .svg"),
    (["--out", "/nonexistent-dir/label.png"], "does not exist"),
])
def test_qr_refusals_are_one_line(world: World, tmp_path: Path, args: list[str], message: str) -> None:
    before = world.meta(RESOLVER_KEY)
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "l.png")]
    elif not args[1].startswith("/"):
        args = ["--out", str(tmp_path / args[1])]
    bad = run("passport", "qr", world.refs[0], *args, "--db", str(world.db), ok=False)
    assert bad.returncode == 2 and message in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert world.meta(RESOLVER_KEY) == before  # a refused resolver is not stored


def test_check_reports_the_demo_pack_ready(world: World) -> None:
    out = run("passport", "check", world.refs[0], "--master", str(world.master), "--db", str(world.db))
    assert out.returncode == 0 and "ready: every mandatory attribute is stated" in out.stdout
    lines = [line for line in out.stdout.splitlines() if line.strip().startswith("#")]
    assert len(lines) == 93 and "verified" in lines[0] and "Battery passport identifier" in lines[0]
    doc = json.loads(run("passport", "check", world.refs[0], "--master", str(world.master), "--json", "--db",
                         str(world.db)).stdout)
    assert doc["ready"] is True and doc["missing_mandatory"] == []
    by = {a["number"]: a for a in doc["attributes"]}
    assert by[7]["status"] == "declared" and by[43]["status"] == "verified" and by[93]["status"] == "declared"


def test_check_with_a_thin_master_data_file(world: World, tmp_path: Path) -> None:
    thin = master_to_dict(replace(VOLTARA_VM75, technical=None, dismantling_documents=(), spare_parts=()))
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(thin))
    doc = json.loads(run("passport", "check", world.refs[0], "--master", str(path), "--json", "--db",
                         str(world.db), ok=False).stdout)
    missing = set(doc["missing_mandatory"])
    assert {36, 37, 52, 59, 60, 61, 74, 17, 18} <= missing
    by = {a["number"]: a for a in doc["attributes"]}
    assert "no technical data sheet" in by[52]["detail"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ('{"category": "ev"}', "master data: (top level): missing field 'chemistry_short'"),
    ("[]", "master data: "),
])
def test_check_refuses_bad_master_data_in_one_line(world: World, tmp_path: Path, content: str | None,
                                                   message: str) -> None:
    path = tmp_path / "m.json"
    if content is not None:
        path.write_text(content)
    bad = run("passport", "check", world.refs[0], "--master", str(path), "--db", str(world.db), ok=False)
    assert bad.returncode == 2 and message in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_check_refuses_an_unknown_pack(world: World) -> None:
    bad = run("passport", "check", "04099999000753/NOPE-1", "--master", str(world.master), "--db", str(world.db),
              ok=False)
    assert bad.returncode == 2 and "no pack 04099999000753/NOPE-1" in bad.stderr
