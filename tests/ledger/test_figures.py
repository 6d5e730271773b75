"""Passport figures from the ledger: footprint allocation, recycled content vs Art. 8, origin mix,
certified share, due-diligence indices."""

from __future__ import annotations

import pytest

from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.figures import carbon_footprint, due_diligence, material_figures
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import trace_backward
from batterytrace.storage.memory import MemoryStore
from support import Chain

RAW = "raw material acquisition and pre-processing"


def test_footprint_of_a_received_lot_is_extraction_plus_transport() -> None:
    c = Chain()
    (lot,) = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])  # 1,000 kg hydroxide
    fp = carbon_footprint(trace_backward(c.ledger.store, lot), usable_energy_kwh=10, service_years=1)
    assert fp.per_stage_kgco2e[RAW] == pytest.approx(1000 * 4.8)
    assert fp.per_stage_kgco2e["distribution"] == pytest.approx(1000 * 0.05)
    assert fp.total_kgco2e == pytest.approx(4850)
    assert fp.lifetime_energy_kwh == 600
    assert fp.total_kgco2e_per_kwh == pytest.approx(4850 / 600)
    assert fp.primary_data_share_percent == pytest.approx(100 * 4800 / 4850)
    assert fp.performance_class == "E"


def test_footprint_is_allocated_by_contained_mass() -> None:
    c = Chain()
    (lot,) = c.ship_and_receive("kasonta", "kivijarvi", [c.extract("kasonta")])
    held = c.ledger.store.get_lot(lot)
    assert held is not None
    co = held.buckets["Co/certified/CD"]
    quarter = co // 4
    outputs = [Scenario.material("cobalt_sulphate", {"Co/certified/CD": quarter}, "segregated",
                                 [{"stage": "production", "kgco2e_per_kg": 2.0, "primary": False}]),
               Scenario.material("cobalt_sulphate", {"Co/certified/CD": co - quarter}, "segregated")]
    small, _big = c.accept_tracked("kivijarvi", {"kind": "transform", "inputs": [lot], "outputs": outputs,
                                                "site": "plant:kivijarvi"})
    fp = carbon_footprint(trace_backward(c.ledger.store, small), usable_energy_kwh=10, service_years=1)
    share = quarter / co
    assert fp.per_stage_kgco2e[RAW] == pytest.approx(4800 * share, rel=1e-6)
    assert fp.per_stage_kgco2e["distribution"] == pytest.approx(50 * share, rel=1e-6)
    assert fp.per_stage_kgco2e["main product production"] == pytest.approx(2.0 * outputs[0]["gross_mass_g"] / 1000, rel=1e-3)


def test_footprint_refuses_nonsense_lifetimes() -> None:
    c = Chain()
    trace = trace_backward(c.ledger.store, c.extract("kasonta"))
    with pytest.raises(BatterytraceError):
        carbon_footprint(trace, usable_energy_kwh=0, service_years=10)


def test_recycled_content_origin_mix_and_art8() -> None:
    figures = material_figures({
        "Co/certified/CD": 600, "Co/uncertified/CD": 200, "Co/recycled-post/—": 150, "Co/recycled-pre/—": 50,
        "Ni/certified/ID": 900, "Ni/uncertified/AU": 100, "Li/recycled-post/—": 130, "Li/uncertified/CL": 870,
    })
    assert figures.recycled_percent["Co"] == {"pre": 5.0, "post": 15.0, "total": 20.0}
    assert figures.art8["Co"]["2031"] == {"target": 16.0, "met": True}
    assert figures.art8["Co"]["2036"] == {"target": 26.0, "met": False}
    assert figures.art8["Ni"]["2031"]["met"] is False
    assert figures.art8["Li"]["2036"]["met"] is True
    assert "Pb" not in figures.art8
    assert figures.origin_mix_percent["Ni"] == {"AU": 10.0, "ID": 90.0}
    assert figures.origin_mix_percent["Co"] == {"CD": 100.0}  # recycled mass has no mine country
    assert figures.certified_percent == {"Co": 60.0, "Ni": 90.0, "Li": 0.0}


def test_due_diligence_indices_weighted_by_cobalt_supplied() -> None:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    trace = trace_backward(ledger.store, s.packs[0])
    dd = due_diligence(ledger.store, trace)
    cl = dd.indices["GBA-ChildLabour"]
    assert 49 < cl.score < 72  # between the weakest (Mwelu 49) and strongest (Kasonta 72) mine
    assert cl.coverage_percent == pytest.approx(100.0)
    assert cl.questions_answered == cl.questions_total > 0
    assert any(a["scheme"] == "RMAP" and a["site"] == "mine:kasonta" for a in dd.assurances)
    # the weights are the cobalt each mine supplied
    co = {site: sum(g for k, g in b.items() if k.startswith("Co/") and "recycled" not in k)
          for site, b in trace.origins.items()}
    scores = {"mine:kasonta": 72, "mine:tujenge": 58, "mine:mwelu": 49}
    expected = sum(co[m] * sc for m, sc in scores.items() if co.get(m)) / sum(co[m] for m in scores if co.get(m))
    assert cl.score == pytest.approx(expected)


def test_an_element_with_only_empty_mined_buckets_has_no_origin_mix() -> None:
    mf = material_figures({"Co/certified/CD": 0, "Co/recycled-post/—": 500})
    assert "Co" not in mf.origin_mix_percent
    assert mf.recycled_percent["Co"]["post"] == 100.0
