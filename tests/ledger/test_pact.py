"""Supplier carbon data in the PACT data model: reading 2.x and 3.x PCFs, the carbon entry they
become, the ledger rules that recompute it (forged, relabelled, expired, malformed entries are
refused by name), and the mass-weighted primary-data share per lifecycle stage."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from batterytrace.canonical import canonical_json
from batterytrace.demo.scenario import Scenario
from batterytrace.errors import RuleViolationError
from batterytrace.ledger.figures import LIFECYCLE_STAGES, carbon_footprint
from batterytrace.ledger.pact import (
    MAX_PCF_BYTES,
    check_document,
    parse_pcf,
    pcf_carbon_entry,
    pcf_digest,
)
from batterytrace.ledger.trace import trace_backward
from pact_support import pcf_v2, pcf_v3, to_bytes
from support import Chain

RAW = LIFECYCLE_STAGES["raw_material"]


def refused(rule: str, data: bytes) -> RuleViolationError:
    with pytest.raises(RuleViolationError) as info:
        parse_pcf(data)
    assert info.value.rule == rule, info.value
    return info.value


# ------------------------------------------------------------------------- reading a PCF
def test_v2_pcf_keeps_id_method_share_and_converts_per_kg() -> None:
    doc = pcf_v2()
    pcf = parse_pcf(to_bytes(doc))
    assert pcf.kgco2e_per_kg == 4.82
    assert pcf.primary_data_share_percent == 72.5
    p = pcf.pact
    assert p["id"] == doc["id"] and p["spec_version"] == "2.2.0"
    assert p["sha256"] == pcf_digest(doc)
    assert p["cross_sectoral_standards"] == ["GHG Protocol Product standard", "ISO Standard 14067"]
    assert p["product_or_sector_specific_rules"] == [
        {"operator": "Other", "rule_names": ["Cobalt Institute LCA guidance 2023"], "other_operator_name": "Cobalt Institute"}]
    assert (p["declared_unit"], p["pcf_excluding_biogenic"]) == ("kilogram", "4.82")
    assert p["validity_end"] == "2026-06-01T00:00:00Z" and p["dqi"]["coveragePercent"] == 96


def test_v3_pcf_per_tonne_is_divided_by_the_declared_amount() -> None:
    pcf = parse_pcf(to_bytes(pcf_v3()))
    assert pcf.kgco2e_per_kg == 11.25
    assert pcf.primary_data_share_percent == 41.2
    assert pcf.pact["spec_version"] == "3.0.0" and pcf.pact["declared_unit_amount"] == "1000"


def test_api_response_wrapper_is_read_and_digest_is_of_the_footprint() -> None:
    doc = pcf_v3()
    pcf = parse_pcf(to_bytes({"data": doc}))
    assert pcf.pact["sha256"] == pcf_digest(doc)


def test_piece_converts_through_the_product_mass() -> None:
    doc = pcf_v3()
    doc["pcf"].update(declaredUnitOfMeasurement="piece", declaredUnitAmount="1", productMassPerDeclaredUnit="2.5",
                      pcfExcludingBiogenicUptake="30")
    assert parse_pcf(to_bytes(doc)).kgco2e_per_kg == 12.0


def test_only_dqi_means_no_primary_share_and_not_primary() -> None:
    doc = pcf_v2()
    del doc["pcf"]["primaryDataShare"]
    pcf = parse_pcf(to_bytes(doc))
    entry = pcf_carbon_entry(pcf)
    assert pcf.primary_data_share_percent is None and "primary_data_share_percent" not in entry
    assert entry["primary"] is False


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return change


_DELETE = object()

BAD_V2 = [
    ("unknown version", _set("specVersion", "1.0.0"), "pact.version"),
    ("future version", _set("specVersion", "4.0.0"), "pact.version"),
    ("version not a string", _set("specVersion", 2), "pact.version"),
    ("value not a decimal", _set("pcf.pCfExcludingBiogenic", "4,82"), "pact.value"),
    ("value with a unit", _set("pcf.pCfExcludingBiogenic", "4.82 kg"), "pact.value"),
    ("value NaN", _set("pcf.pCfExcludingBiogenic", "NaN"), "pact.value"),
    ("value Infinity", _set("pcf.pCfExcludingBiogenic", "Infinity"), "pact.value"),
    ("value exponent", _set("pcf.pCfExcludingBiogenic", "1e400"), "pact.value"),
    ("value a JSON number", _set("pcf.pCfExcludingBiogenic", 4.82), "pact.value"),
    ("negative value", _set("pcf.pCfExcludingBiogenic", "-4.82"), "pact.value"),
    ("zero amount", _set("pcf.unitaryProductAmount", "0"), "pact.value"),
    ("share above 100", _set("pcf.primaryDataShare", 120), "pact.value"),
    ("negative share", _set("pcf.primaryDataShare", -1), "pact.value"),
    ("liter without mass", _set("pcf.declaredUnit", "liter"), "pact.unit"),
    ("energy unit", _set("pcf.declaredUnit", "kilowatt hour"), "pact.unit"),
    ("unknown unit", _set("pcf.declaredUnit", "tonne"), "pact.unit"),
    ("relabelled kilogram", _set("pcf.productMassPerDeclaredUnit", "1000"), "pact.unit"),
    ("deprecated", _set("status", "Deprecated"), "pact.validity"),
    ("no id", _set("id", _DELETE), "pact"),
    ("empty company", _set("companyName", " "), "pact"),
    ("no productIds", _set("productIds", _DELETE), "pact"),
    ("no pcf", _set("pcf", _DELETE), "pact"),
    ("no value", _set("pcf.pCfExcludingBiogenic", _DELETE), "pact"),
    ("no declared unit", _set("pcf.declaredUnit", _DELETE), "pact"),
    ("no standards", _set("pcf.crossSectoralStandardsUsed", _DELETE), "pact"),
    ("no reference period", _set("pcf.referencePeriodEnd", _DELETE), "pact"),
    ("reference period without zone", _set("pcf.referencePeriodEnd", "2024-01-01T00:00:00"), "pact"),
    ("neither share nor dqi", lambda d: (d["pcf"].pop("primaryDataShare"), d["pcf"].pop("dqi")), "pact"),
]


@pytest.mark.parametrize(("change", "rule"), [(c, r) for _, c, r in BAD_V2], ids=[n for n, _, _ in BAD_V2])
def test_bad_v2_pcfs_are_refused_by_name(change: Callable[[dict[str, Any]], None], rule: str) -> None:
    doc = pcf_v2()
    change(doc)
    refused(rule, to_bytes(doc))


@pytest.mark.parametrize(("path", "value", "rule"), [
    ("pcf.pcfExcludingBiogenicUptake", "eleven", "pact.value"),
    ("pcf.declaredUnitAmount", "-1", "pact.value"),
    ("pcf.productMassPerDeclaredUnit", _DELETE, "pact"),
    ("pcf.declaredUnitOfMeasurement", "megajoule", "pact.unit"),
    ("pcf.primaryDataShare", "forty", "pact.value"),
])
def test_bad_v3_pcfs_are_refused_by_name(path: str, value: Any, rule: str) -> None:
    doc = pcf_v3()
    _set(path, value)(doc)
    if path.endswith("declaredUnitOfMeasurement"):
        doc["pcf"]["productMassPerDeclaredUnit"] = "0"  # an energy product: no mass
    refused(rule, to_bytes(doc))


def test_malformed_and_oversized_documents() -> None:
    refused("pact", b"{not json")
    refused("pact", b"[]")
    refused("pact", b'{"id": "a", "id": "b"}')  # duplicate names
    refused("pact", b"[" * 10_000 + b"]" * 10_000)
    refused("pact", b" " * (MAX_PCF_BYTES + 1))


def test_check_document_binds_the_entry_to_one_document() -> None:
    doc = pcf_v2()
    entry = pcf_carbon_entry(parse_pcf(to_bytes(doc)))
    check_document(entry, to_bytes(doc))
    check_document(entry, json.dumps(doc, indent=2).encode())  # the same PCF, formatted otherwise
    doc["pcf"]["pCfExcludingBiogenic"] = "3.10"
    with pytest.raises(RuleViolationError) as info:
        check_document(entry, to_bytes(doc))
    assert info.value.rule == "pact.digest"


# ----------------------------------------------------------------------- on the ledger
@pytest.fixture
def chain() -> Chain:
    return Chain()


def _extract_body(chain: Chain, carbon: list[dict[str, Any]]) -> dict[str, Any]:
    spec = Scenario.material("cobalt_hydroxide", {"Co/certified/CD": 350_000}, "segregated", carbon)
    return {"kind": "extract", "site": "mine:kasonta", "outputs": [spec]}


def _entry(doc: dict[str, Any] | None = None) -> dict[str, Any]:
    return pcf_carbon_entry(parse_pcf(to_bytes(doc or pcf_v2())))


def test_extraction_with_a_pact_entry_is_accepted_and_kept(chain: Chain) -> None:
    entry = _entry()
    (lot,) = chain.accept(chain.sign("kasonta", _extract_body(chain, [entry])))
    got = chain.ledger.store.get_lot(lot)
    assert got is not None and got.carbon == [entry]
    assert got.carbon[0]["pact"]["id"] == pcf_v2()["id"]


def _tampered(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    entry = json.loads(canonical_json(_entry()))
    change(entry)
    return entry


FORGED = [
    ("lower intensity", lambda e: e.update(kgco2e_per_kg=1.0), "pact.value"),
    ("pcf text lowered", lambda e: e["pact"].update(pcf_excluding_biogenic="1.0"), "pact.value"),
    ("relabelled to per tonne", lambda e: e["pact"].update(declared_unit_amount="1000", spec_version="3.0.0"),
     "pact.value"),
    ("kilogram with another mass", lambda e: e["pact"].update(product_mass_per_declared_unit_kg="1000"), "pact.unit"),
    ("relabelled unit", lambda e: e["pact"].update(declared_unit="liter"), "pact.unit"),
    ("unknown unit", lambda e: e["pact"].update(declared_unit="barrel"), "pact.unit"),
    ("share raised", lambda e: e.update(primary_data_share_percent=100.0, primary=True), "pact.share"),
    ("share dropped", lambda e: e.pop("primary_data_share_percent"), "pact.share"),
    ("all primary", lambda e: e.update(primary=True), "schema"),
    ("unknown version", lambda e: e["pact"].update(spec_version="9.0.0"), "pact.version"),
    ("digest not hex", lambda e: e["pact"].update(sha256="zz" * 32), "pact"),
    ("no digest", lambda e: e["pact"].pop("sha256"), "pact"),
    ("no id", lambda e: e["pact"].pop("id"), "pact"),
    ("no standards", lambda e: e["pact"].update(cross_sectoral_standards=[]), "pact"),
    ("pact not an object", lambda e: e.update(pact="urn:pcf"), "pact"),
    ("pact oversized", lambda e: e["pact"].update(padding="x" * 20_000), "pact"),
    ("negative value", lambda e: e["pact"].update(pcf_excluding_biogenic="-4.82"), "pact.value"),
    ("malformed validity", lambda e: e["pact"].update(validity_end="next year"), "pact"),
    ("expired", lambda e: e["pact"].update(validity_end="2024-12-31T00:00:00Z"), "pact.validity"),
    ("not yet valid", lambda e: e["pact"].update(validity_start="2025-06-01T00:00:00Z"), "pact.validity"),
    ("default validity over", lambda e: (e["pact"].pop("validity_end"),
                                         e["pact"].update(reference_period_end="2021-12-31T00:00:00Z")), "pact.validity"),
]


@pytest.mark.parametrize(("change", "rule"), [(c, r) for _, c, r in FORGED], ids=[n for n, _, _ in FORGED])
def test_forged_pact_entries_are_refused_by_name(chain: Chain, change: Callable[[dict[str, Any]], None],
                                                 rule: str) -> None:
    ev = chain.sign("kasonta", _extract_body(chain, [_tampered(change)]))
    assert chain.reject(ev).rule == rule


def test_default_validity_is_three_years_after_the_reference_period(chain: Chain) -> None:
    doc = pcf_v2()
    del doc["validityPeriodEnd"]
    doc["pcf"]["referencePeriodEnd"] = "2022-03-01T00:00:00Z"  # valid until 2025-03-01
    chain.accept(chain.sign("kasonta", _extract_body(chain, [_entry(doc)])))


def test_pact_entry_is_checked_on_transformations_too(chain: Chain) -> None:
    lot = chain.extract()
    (received,) = chain.ship_and_receive("kasonta", "kivijarvi", [lot])
    got = chain.ledger.store.get_lot(received)
    assert got is not None
    spec = {"form": "cobalt_sulphate", "gross_mass_g": got.gross_mass_g, "buckets": dict(got.buckets),
            "coc_model": got.coc_model, "carbon": [_tampered(lambda e: e.update(kgco2e_per_kg=0.5))]}
    body = {"kind": "transform", "inputs": [received], "site": "plant:kivijarvi", "outputs": [spec]}
    assert chain.reject(chain.sign("kivijarvi", body)).rule == "pact.value"
    spec["carbon"] = [_entry(pcf_v3())]
    chain.accept(chain.sign("kivijarvi", body))


def test_plain_share_must_agree_with_primary(chain: Chain) -> None:
    for share, primary in ((101.0, False), (-1.0, False), (50.0, True), (100.0, False)):
        carbon = [{"stage": "raw_material", "kgco2e_per_kg": 3.0, "primary": primary, "primary_data_share_percent": share}]
        assert chain.reject(chain.sign("kasonta", _extract_body(chain, carbon))).rule == "schema"


# ------------------------------------------------------- primary-data share per stage
def test_primary_share_per_stage_of_one_lineage(chain: Chain) -> None:
    """A lot with a PCF of 72.5 % primary data: the raw-material stage is 72.5 % primary; the
    receipt's distribution entry (secondary) makes that stage 0 %."""
    (a,) = chain.accept_tracked("kasonta", _extract_body(chain, [_entry()]))
    (received,) = chain.ship_and_receive("kasonta", "kivijarvi", [a])
    fp = carbon_footprint(trace_backward(chain.ledger.store, chain.refine(received)), 60.0, 10.0)
    assert fp.primary_data_share_percent_per_stage[RAW] == 72.5
    assert fp.primary_data_share_percent_per_stage[LIFECYCLE_STAGES["distribution"]] == 0.0
    assert fp.primary_data_share_percent_per_stage[LIFECYCLE_STAGES["production"]] == 0.0  # no entries


def test_primary_share_mixes_lots_by_mass(chain: Chain) -> None:
    (a,) = chain.accept_tracked("kasonta", _extract_body(chain, [_entry()]))
    estimate = [{"stage": "raw_material", "kgco2e_per_kg": 4.82, "primary": False}]
    (b,) = chain.accept_tracked("kasonta", _extract_body(chain, estimate))
    ra, rb = chain.ship_and_receive("kasonta", "kivijarvi", [a, b])
    lots = chain.ledger.store.get_lots([ra, rb])
    spec = {"form": "cobalt_sulphate", "gross_mass_g": 2 * 350_000 * 1_000_000 // 209_700,
            "buckets": {"Co/certified/CD": 700_000}, "coc_model": "segregated"}
    (out,) = chain.accept(chain.sign("kivijarvi", {"kind": "transform", "inputs": [ra, rb], "site": "plant:kivijarvi",
                                                   "outputs": [spec]}))
    assert all(lot.buckets == {"Co/certified/CD": 350_000} for lot in lots.values())
    fp = carbon_footprint(trace_backward(chain.ledger.store, out), 60.0, 10.0)
    assert fp.primary_data_share_percent_per_stage[RAW] == pytest.approx(36.25, abs=0.01)


def test_a_supplier_pcf_covers_the_lots_upstream_of_it(chain: Chain) -> None:
    """A PCF is cradle-to-gate: the extraction and receipt entries upstream of a lot that carries
    one are inside it and are not counted again."""
    lot = chain.extract()  # carries 4.8 kg CO2e/kg raw material, primary (the demo scenario's)
    (received,) = chain.ship_and_receive("kasonta", "kivijarvi", [lot])
    got = chain.ledger.store.get_lot(received)
    assert got is not None
    spec = {"form": "cobalt_sulphate", "gross_mass_g": got.gross_mass_g, "buckets": dict(got.buckets),
            "coc_model": got.coc_model, "carbon": [_entry(pcf_v3())]}
    (out,) = chain.accept(chain.sign("kivijarvi", {"kind": "transform", "inputs": [received],
                                                   "site": "plant:kivijarvi", "outputs": [spec]}))
    fp = carbon_footprint(trace_backward(chain.ledger.store, out), 60.0, 10.0)
    assert fp.per_stage_kgco2e[RAW] == pytest.approx(11.25 * got.gross_mass_g / 1000, abs=0.001)
    assert fp.per_stage_kgco2e[LIFECYCLE_STAGES["distribution"]] == 0.0
    assert fp.primary_data_share_percent_per_stage[RAW] == 41.2


# ----------------------------------------------------------- malformed values, never "internal"
ODD_VALUES: list[Any] = [None, True, 0, -1, 1e308, "", " ", "x" * 300, "9" * 40, "1e5", "0.0", "-0", [], {}, ["a"],
                         {"a": 1}, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize("field", ["id", "spec_version", "sha256", "company_name", "declared_unit",
                                   "declared_unit_amount", "product_mass_per_declared_unit_kg",
                                   "pcf_excluding_biogenic", "cross_sectoral_standards", "primary_data_share",
                                   "reference_period_end", "validity_start", "validity_end"])
def test_odd_values_in_every_pact_field_are_refused_by_a_rule(chain: Chain, field: str) -> None:
    """Every field of the signed ``pact`` object set to values of the wrong type, size or range:
    the ledger either accepts an entry that still converts to its figures or refuses it under a
    named rule, never ``internal``."""
    events = []
    for value in ODD_VALUES:
        entry = json.loads(canonical_json(_entry()))
        entry["pact"][field] = value
        events.append(chain.sign("kasonta", _extract_body(chain, [entry])))
    result, _ = chain.ledger.dry_run(events, check_clock=False)
    assert not [r for r in result.rejected if r.rule == "internal"], result.rejected
    assert {r.rule for r in result.rejected} <= {"pact", "pact.version", "pact.unit", "pact.value", "pact.share",
                                                  "pact.validity", "time.order"}


@pytest.mark.parametrize("field", ["stage", "kgco2e_per_kg", "primary", "primary_data_share_percent", "pact"])
def test_odd_values_in_the_carbon_entry_are_refused_by_a_rule(chain: Chain, field: str) -> None:
    events = []
    for value in ODD_VALUES:
        entry = json.loads(canonical_json(_entry()))
        entry[field] = value
        events.append(chain.sign("kasonta", _extract_body(chain, [entry])))
    result, _ = chain.ledger.dry_run(events, check_clock=False)
    assert len(result.rejected) == len(events)  # none of them is the PCF's entry any more
    assert {r.rule for r in result.rejected} <= {"schema", "pact", "pact.value", "pact.share"}, result.rejected


def test_conversion_ignores_the_callers_decimal_context() -> None:
    """Replaying the log must give every entry the same verdict: 10 ÷ 3 kg converts to the same
    double whatever decimal precision the process happens to use."""
    import decimal

    doc = pcf_v3()
    doc["pcf"].update(declaredUnitAmount="3", productMassPerDeclaredUnit="3", pcfExcludingBiogenicUptake="10")
    expected = parse_pcf(to_bytes(doc)).kgco2e_per_kg
    with decimal.localcontext(decimal.Context(prec=3)):
        assert parse_pcf(to_bytes(doc)).kgco2e_per_kg == expected == 10 / 3


def test_a_pcf_too_large_for_a_carbon_entry_is_refused_when_read() -> None:
    doc = pcf_v2()
    doc["productIds"] = [f"urn:pact:kasonta.example:product-id:{i:04d}-" + "x" * 400 for i in range(60)]
    assert "more than 16384 bytes" in str(refused("pact", to_bytes(doc)))
