"""The CSV on-ramp: the shipped templates run through the import on a fresh ledger, unit
conversion (kg, %, g/t → integer grams and ppm), row-level errors, all-or-nothing submission,
bad files, and attacks (double spends, relabelled units, formula injection, path traversal)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.csv_import import (
    MAX_CSV_BYTES,
    MAX_ROWS,
    TEMPLATES,
    CsvError,
    ImportResult,
    csv_safe,
    import_csv,
    plan_csv,
    template_text,
)
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from pact_support import pcf_v3, to_bytes

# the example ids in the templates, replaced by the ids the previous step printed
EXAMPLE_LOTS = ("fe15be871fd5105b59b4e92038a1d12367cf4d11adbc7e32c4db4b9aaf132bb2:0",
                "874d07dae8e0ba380b669914da1f3da763ecf5c10c97ab3527aed15a02efee6c:0")
EXAMPLE_SHIPMENT = "6f948a798b366bdfaff1ede3c65592565f4e4b42431dbe5edac7d6298ae001f9"
EXAMPLE_RECEIPT = "b749f5c7505ec2a11f6fdb6ca652b1c44a6bdd2f3e2178fc46032789ac38db96"
TEMPLATE_DIR = TEMPLATES["extraction"].parent


class World:
    """A fresh ledger with the demo participants registered on 2026-11-01 (before the templates'
    example times), importing history (each event counts as ingested at its own time)."""

    def __init__(self, store: Store | None = None) -> None:
        self.s = Scenario(start="2026-11-01T00:00:00Z")
        self.s.register_all()
        self.ledger = Ledger(store or MemoryStore(), self.s.actors["operator"].did, self.s.ledger_id,
                             clock=historical_clock)
        self.received_lots: list[str] = []
        assert not self.ledger.submit_batch(self.s.events, check_clock=False).rejected
        self._extracted: list[str] | None = None

    def key(self, who: str) -> SigningKey:
        return self.s.actors[who].signing_key

    def run(self, kind: str, who: str, text: str, base: Path = TEMPLATE_DIR) -> ImportResult:
        return import_csv(self.ledger, kind, text.encode(), self.key(who), base=base)

    def refused(self, kind: str, who: str, text: str | bytes, base: Path = TEMPLATE_DIR) -> CsvError:
        size, root = self.ledger.size(), self.ledger.root()
        with pytest.raises(CsvError) as info:
            import_csv(self.ledger, kind, text if isinstance(text, bytes) else text.encode(), self.key(who), base=base)
        assert (self.ledger.size(), self.ledger.root()) == (size, root)  # nothing recorded
        return info.value

    def extracted(self) -> list[str]:
        if self._extracted is None:
            self._extracted = list(self.run("extraction", "tujenge", template_text("extraction")).lots.values())
        return self._extracted

    def shipped(self) -> tuple[list[str], str]:
        lots = self.extracted()
        text = template_text("shipment").replace(EXAMPLE_LOTS[0], lots[0]).replace(EXAMPLE_LOTS[1], lots[1])
        return lots, self.run("shipment", "tujenge", text).lots["TJG-SHIP-0142"]

    def received(self) -> str:
        _, shipment = self.shipped()
        lots = self.run("receipt", "kivijarvi", template_text("receipt").replace(EXAMPLE_SHIPMENT, shipment)).lots
        self.received_lots = [lots["KBC-IN-2026-0877:0"], lots["KBC-IN-2026-0877:1"]]
        return lots["KBC-IN-2026-0877"]


@pytest.fixture
def world() -> World:
    return World()


def header(kind: str) -> str:
    return template_text(kind).splitlines()[0]


# ------------------------------------------------------------- the templates, end to end
def test_templates_run_mine_to_refined_sulphate(store: Store) -> None:
    """The four shipped templates, in order, on a fresh ledger of every backend
    (docs/csv-import.md walks them)."""
    world = World(store)
    lots = world.extracted()
    first = world.ledger.store.get_lot(lots[0])
    assert first is not None
    # 1250.5 kg at 11.8 % Co: 147 559 g (rounded down), assay 118 000 ppm
    assert (first.gross_mass_g, first.buckets, first.assay_ppm) == (1_250_500, {"Co/uncertified/CD": 147_559},
                                                                    {"Co": 118_000})
    assert first.carbon == [{"stage": "raw_material", "kgco2e_per_kg": 0.92, "primary": False}]
    receipt = world.received()
    assert world.received_lots == [f"{receipt}:0", f"{receipt}:1"]
    text = template_text("transformation").replace(EXAMPLE_RECEIPT, receipt)
    made = world.run("transformation", "kivijarvi", text).lots
    final = world.ledger.store.get_lot(made["KBC-CS-119-1"])
    assert final is not None
    assert final.buckets == {"Co/uncertified/CD": 260_028}  # 1240 kg at 20.97 %
    (entry,) = final.carbon
    assert entry["pact"]["id"] == "5d0f7c1e-3b7a-4c52-9e0d-7a1b2c3d4e5f" and entry["kgco2e_per_kg"] == 6.85
    assert entry["primary_data_share_percent"] == 64.5
    # the second event consumed the first one's output (@ref), and the losses are recorded
    first_out = world.ledger.store.get_lot(made["KBC-CS-118-1"])
    assert first_out is not None and first_out.status == "spent"
    found = world.ledger.event_by_hash(made["KBC-CS-118-1"].split(":")[0])
    assert found is not None and found[1].body["loss"] == {"Co/uncertified/CD": 268_589 - 261_875}


def test_every_template_column_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "csv-import.md").read_text()
    for kind in TEMPLATES:
        for column in header(kind).split(","):
            assert f"`{column}`" in doc, (kind, column)


# ----------------------------------------------------------------------- conversions
def test_grades_in_percent_and_grams_per_tonne(world: World) -> None:
    text = ("ref,time,site,form,mass_kg,origin,Co_pct,Cu_gpt\n"
            "B1,2026-11-16T08:00:00+02:00,mine:tujenge,heterogenite_concentrate,1000.001,uncertified,9.99995,2500.5\n")
    plan = plan_csv("extraction", text.encode(), world.ledger.store)
    (spec,) = plan.events[0].body["outputs"]
    assert spec["gross_mass_g"] == 1_000_001
    # 1 000 001 g × 9.99995 % = 99 999.599… → 99 999 g; 1 000 001 g × 2500.5 g/t = 2500.5025 → 2500 g
    assert spec["buckets"] == {"Co/uncertified/CD": 99_999, "Cu/uncertified/CD": 2_500}
    # ppm: 99 999.5 → 100 000 (half to even); 2500.5 → 2500 (half to even)
    assert spec["assay_ppm"] == {"Co": 100_000, "Cu": 2_500}
    assert plan.events[0].body["time"] == "2026-11-16T06:00:00Z"


@pytest.mark.parametrize(("cell", "column", "message"), [
    ("1250,5", "mass_kg", "decimals with a point"),
    ("1.250,5", "mass_kg", "decimals with a point"),
    ("1250.5 kg", "mass_kg", "not a mass in kg"),
    ("1250.5001", "mass_kg", "at most 3 decimals"),
    ("-5", "mass_kg", "not a mass in kg"),
    ("0", "mass_kg", "more than 0 kg"),
    ("1e3", "mass_kg", "not a mass in kg"),
    ("NaN", "mass_kg", "not a mass in kg"),
])
def test_relabelled_or_malformed_masses_name_row_and_column(world: World, cell: str, column: str,
                                                            message: str) -> None:
    text = (f"{header('extraction')}\n"
            f'A,2026-11-16T08:00:00+02:00,mine:tujenge,heterogenite_concentrate,"{cell}",uncertified,11.8,,,,,,\n')
    err = world.refused("extraction", "tujenge", text)
    assert err.problems[0][:2] == (2, column) and message in err.problems[0][2]
    assert str(err).startswith(f"row 2, column {column}: ")


@pytest.mark.parametrize(("cells", "column", "message"), [
    ({"Co_pct": "120"}, "Co_pct", "above 100"),
    ({"Co_pct": "11,8"}, "Co_pct", "with a point"),
    ({"Co_pct": "-3"}, "Co_pct", "non-negative"),
    ({"Co_pct": ""}, "", "no grade column"),
    ({"time": "2026-11-16 08:00"}, "time", "offset"),
    ({"time": "16/11/2026"}, "time", "ISO 8601"),
    ({"time": "2026-11-16"}, "time", "offset"),
    ({"origin": "recycled-post"}, "origin", "certified, uncertified"),
    ({"site": "mine:nowhere"}, "site", "no registered site"),
    ({"site": "plant:kivijarvi"}, "site", "not a mine"),
    ({"coc_model": "book_and_claim"}, "coc_model", "not one of"),
    ({"carbon_primary": "maybe"}, "carbon_primary", "yes or no"),
    ({"kgco2e_per_kg": "", "carbon_primary": "yes"}, "carbon_primary", "kgco2e_per_kg is empty"),
    ({"lat": "95"}, "lat", "decimal degrees"),
    ({"assay_cert_sha256": "ABC"}, "assay_cert_sha256", "hex"),
    ({"ref": "=cmd|' /C calc'!A0"}, "ref", "not a reference"),
    ({"form": "Heterogenite Ore"}, "form", "material form"),
])
def test_row_errors_name_row_and_column(world: World, cells: dict[str, str], column: str, message: str) -> None:
    names = header("extraction").split(",")
    row = dict(zip(names, template_text("extraction").splitlines()[1].split(","), strict=True))
    row.update(cells)
    text = header("extraction") + "\n" + ",".join(f'"{row[n]}"' for n in names) + "\n"
    err = world.refused("extraction", "tujenge", text)
    assert any(p[0] == 2 and p[1] == column and message in p[2] for p in err.problems), err.problems


def test_every_problem_of_the_file_is_listed(world: World) -> None:
    lines = template_text("extraction").splitlines()
    text = "\n".join([lines[0], lines[1].replace("11.8", "eleven"), lines[2].replace("uncertified", "gold"), lines[1]])
    err = world.refused("extraction", "tujenge", text)
    assert [(r, c) for r, c, _ in err.problems] == [(2, "Co_pct"), (3, "origin"), (4, "ref")]
    assert str(err).startswith("nothing was recorded:")


# ----------------------------------------------------------------- all rows or none
def test_a_row_the_ledger_refuses_records_nothing(world: World) -> None:
    """Row 3 claims certified cobalt from a mine without a valid attestation: the first row is
    fine, but neither is recorded; the error names row 3 and the rule."""
    lines = template_text("extraction").splitlines()
    text = "\n".join([lines[0], lines[1], lines[2].replace("uncertified", "certified")])
    err = world.refused("extraction", "tujenge", text)
    assert err.rule == "certified.origin"
    assert err.problems[0][0] == 3 and "refused by rule certified.origin" in str(err)


def test_a_row_that_double_spends_is_refused(world: World) -> None:
    lots = world.extracted()
    to = world.s.actors["kivijarvi"].did
    text = (f"{header('shipment')}\n"
            f"S1,2026-11-18T06:00:00+02:00,{to},{lots[0]},,\n"
            f"S2,2026-11-18T07:00:00+02:00,{to},{lots[0]} {lots[1]},,\n")
    err = world.refused("shipment", "tujenge", text)
    assert (err.rule, err.problems[0][0]) == ("in-transit", 3)  # row 2 already put it on the road
    # after a real shipment, shipping the lot again in a later file is refused too
    world.run("shipment", "tujenge", f"{header('shipment')}\nS1,2026-11-18T06:00:00+02:00,{to},{lots[0]},,\n")
    err = world.refused("shipment", "tujenge", f"{header('shipment')}\nS3,2026-11-19T06:00:00+02:00,{to},{lots[0]},,\n")
    assert err.rule in ("in-transit", "custody")


def test_signing_with_someone_elses_key_is_refused(world: World) -> None:
    lots = world.extracted()
    text = template_text("shipment").replace(EXAMPLE_LOTS[0], lots[0]).replace(EXAMPLE_LOTS[1], lots[1])
    assert world.refused("shipment", "kasonta", text).rule == "custody"


def test_receipt_with_wrong_seals_or_weight(world: World) -> None:
    _, shipment = world.shipped()
    good = template_text("receipt").replace(EXAMPLE_SHIPMENT, shipment)
    assert world.refused("receipt", "kivijarvi", good.replace("TJG-0142-A;", "TJG-9999-A;")).rule == "receipt.seals"
    assert world.refused("receipt", "kivijarvi", good.replace(",2229.8,", ",2100,")).rule == "receipt.weighbridge"
    refused = world.refused("receipt", "tujenge", good)  # the sender cannot receive it: not a shipment to it
    assert refused.rule is None and "is not a shipment to you" in str(refused)
    unknown = world.refused("receipt", "kivijarvi", good.replace(shipment, "ab" * 32))
    assert unknown.problems[0][1] == "shipment" and "is not a shipment to you" in unknown.problems[0][2]


# ------------------------------------------------------------------ transformations
def test_transformation_references_and_balances(world: World) -> None:
    receipt = world.received()
    head = header("transformation")
    inputs = f"{receipt}:0 {receipt}:1"

    def row(event: str, ref: str, ins: str, mass: str, grade: str) -> str:
        return f"{event},{ref},2026-11-28T14:00:00+02:00,plant:kivijarvi,{ins},cobalt_sulphate,{mass},{grade},,,,,"

    cases = {
        "unknown @ref": (row("E1", "A", "@nowhere", "10", "20"), 2, "inputs", "no output of an earlier row"),
        "listed twice": (row("E1", "A", f"{receipt}:0 {receipt}:0", "10", "20"), 2, "inputs", "listed twice"),
        "not a lot id": (row("E1", "A", "lot-7", "10", "20"), 2, "inputs", "neither a lot id"),
        "missing lot": (row("E1", "A", "ab" * 32 + ":0", "10", "20"), 2, "inputs", "is not a lot you hold"),
        "more metal than the inputs": (row("E1", "A", inputs, "1300", "20.97"), 2, "Co_pct", "inputs have 268589 g"),
    }
    for name, (line, n, column, message) in cases.items():
        err = world.refused("transformation", "kivijarvi", f"{head}\n{line}\n")
        assert any(p[:2] == (n, column) and message in p[2] for p in err.problems), (name, err.problems)
    # the element is not in the inputs
    nickel = f"{head.replace('Co_pct', 'Ni_pct')}\n{row('E1', 'A', inputs, '1000', '22.3')}\n"
    err = world.refused("transformation", "kivijarvi", nickel)
    assert err.problems[0][1] == "Ni_pct" and "inputs have 0 g" in err.problems[0][2]
    # too much loss: the ledger's tolerance names the rule
    lossy = f"{head}\n{row('E1', 'A', inputs, '1000', '20.97')}\n"
    assert world.refused("transformation", "kivijarvi", lossy).rule == "loss.tolerance"
    # rows of one event must follow each other, and agree on the event's columns
    split = "\n".join([head, row("E1", "A", inputs, "600", "20.97"), row("E2", "B", "@A", "590", "20.97"),
                       row("E1", "C", "", "650", "20.97")])
    err = world.refused("transformation", "kivijarvi", split)
    assert (4, "event") in [p[:2] for p in err.problems]
    conflict = "\n".join([head, row("E1", "A", inputs, "600", "20.97"), row("E1", "B", f"{receipt}:0", "650", "20.97")])
    assert (3, "inputs") in [p[:2] for p in world.refused("transformation", "kivijarvi", conflict).problems]
    # two outputs of one event share the inputs' buckets, exactly
    two = "\n".join([head, row("E1", "A", inputs, "600", "20.97"), row("E1", "B", "", "650", "20.97")])
    made = world.run("transformation", "kivijarvi", two).lots
    got = world.ledger.store.get_lots(list(made.values()))
    assert [got[made[r]].buckets for r in ("A", "B")] == [{"Co/uncertified/CD": 125_820},
                                                         {"Co/uncertified/CD": 136_305}]


def test_pact_file_is_read_next_to_the_csv_and_never_outside(world: World, tmp_path: Path) -> None:
    receipt = world.received()
    folder = tmp_path / "supplier"
    folder.mkdir()
    (tmp_path / "secret.json").write_text("{}")
    head = header("transformation")

    def row(pact: str) -> str:
        return (f"E1,A,2026-11-28T14:00:00+02:00,plant:kivijarvi,{receipt}:0 {receipt}:1,nickel_sulphate_x,1250,"
                f"20.95,,,,raw_material,{pact}").replace("nickel_sulphate_x", "cobalt_sulphate")

    climbing = f"{os.pardir}/secret.json"  # a traversal attempt (the file is beside the folder, in tmp_path)
    for pact, message in ((climbing, "relative to the CSV"), ("/etc/passwd", "relative to the CSV"),
                          ("missing.json", "cannot read"), ("bad.json", "pact.version")):
        doc = pcf_v3()
        doc["specVersion"] = "1.0.0"
        (folder / "bad.json").write_bytes(to_bytes(doc))
        err = world.refused("transformation", "kivijarvi", f"{head}\n{row(pact)}\n", base=folder)
        assert err.problems[0][1] == "pact_file" and message in err.problems[0][2], err.problems
    doc = pcf_v3()
    doc["validityPeriodEnd"] = "2026-11-01T00:00:00Z"  # ended before the event
    (folder / "old.json").write_bytes(to_bytes(doc))
    assert world.refused("transformation", "kivijarvi", f"{head}\n{row('old.json')}\n", base=folder).rule == "pact.validity"
    both = f"{head}\n{row('old.json')}\n".replace(",,,raw_material,", ",3.1,no,raw_material,")
    assert "either a PACT file" in world.refused("transformation", "kivijarvi", both, base=folder).problems[0][2]


# ------------------------------------------------------------------------ bad files
@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
    (b"ref,time,site,form,mass_kg,origin,Co_pct\n", "no rows"),
    (b"ref;time;site;form;mass_kg;origin;Co_pct\nA;b;c;d;1;uncertified;2\n", "separated by semicolons"),
    (b"ref\ttime\tsite\tform\tmass_kg\torigin\tCo_pct\n", "separated by tabs"),
    ("ref,time\n".encode("utf-16"), "UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"ref,time,site\n\xff\xfe\xfa,b,c\n", "not UTF-8"),
    (b"ref,time,site,form,mass_kg\nA,b,c,d,1\n", "missing column(s) origin"),
    (b"ref,time,site,form,mass_kg,origin,Co_pct,colour\nA,b,c,d,1,e,2,red\n", "unknown column"),
    (b"ref,time,site,form,mass_kg,origin,Co_pct\nA,b,c,d,1,e\n", "6 cells, the header has 7"),
    (b'ref,time,site,form,mass_kg,origin,Co_pct\n"A,b,c,d,1,e,2\n', "malformed CSV"),
    (b"ref,time,site,form,mass_kg,origin,Co_pct\nA,b,c,d,1,e," + b"9" * 3000 + b"\n", "longer than"),
])
def test_bad_files_are_one_clear_error(world: World, data: bytes, message: str) -> None:
    err = world.refused("extraction", "tujenge", data)
    assert message in str(err), str(err)
    assert len(err.problems) == 1


def test_huge_files_and_too_many_rows(world: World) -> None:
    assert "larger than" in str(world.refused("extraction", "tujenge", b"a" * (MAX_CSV_BYTES + 1)))
    line = template_text("extraction").splitlines()[1]
    many = header("extraction") + "\n" + "\n".join([line] * (MAX_ROWS + 1))
    assert f"at most {MAX_ROWS}" in str(world.refused("extraction", "tujenge", many))


def test_utf8_byte_order_mark_from_excel_is_accepted(world: World) -> None:
    data = "\ufeff" + template_text("extraction").replace("\n", "\r\n")
    assert len(world.run("extraction", "tujenge", data).lots) == 2


def test_unknown_kind() -> None:
    with pytest.raises(CsvError, match="unknown CSV kind"):
        template_text("aggregation")
    with pytest.raises(CsvError, match="unknown CSV kind"):
        plan_csv("aggregation", b"a\n1\n", MemoryStore())


# ------------------------------------------------------------------ CSV injection
def test_formula_cells_are_kept_inert() -> None:
    for text in ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_safe(text).startswith("'")
    assert csv_safe("TJG-2026-0141") == "TJG-2026-0141"


def test_free_text_is_stored_as_signed_text(world: World) -> None:
    """A discrepancy note is the receiver's signed statement: kept verbatim in the event body
    (JSON, never evaluated); any CSV the tools write passes cells through csv_safe."""
    _, shipment = world.shipped()
    note = "=HYPERLINK(\"http://evil.example\",\"ok\")"
    text = template_text("receipt").replace(EXAMPLE_SHIPMENT, shipment).replace(",2229.8,,", f',2229.8,"{note.replace(chr(34), chr(34) * 2)}",')
    event_hash = world.run("receipt", "kivijarvi", text).lots["KBC-IN-2026-0877"]
    found = world.ledger.event_by_hash(event_hash)
    assert found is not None and found[1].body["discrepancy"] == note


def test_templates_are_packaged() -> None:
    for path in TEMPLATES.values():
        assert path.is_file()
    assert (TEMPLATE_DIR / "kivijarvi-cobalt-sulphate-pcf.json").is_file()


def test_check_only_records_nothing(world: World) -> None:
    size = world.ledger.size()
    result = import_csv(world.ledger, "extraction", template_text("extraction").encode(), world.key("tujenge"),
                        check_only=True)
    assert len(result.events) == 2 and world.ledger.size() == size == result.log_size
    assert not world.ledger.store.get_lots(list(result.lots.values()))
    lines = template_text("extraction").splitlines()
    with pytest.raises(CsvError) as info:
        import_csv(world.ledger, "extraction", "\n".join([lines[0], lines[1].replace("uncertified", "certified")]).encode(),
                   world.key("tujenge"), check_only=True)
    assert info.value.rule == "certified.origin"
