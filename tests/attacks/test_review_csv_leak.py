"""Review attack: a participant reads the element grams of another participant's lot (a lot it never
held) through the row errors of ``POST /import/csv`` (check mode records nothing, so it costs nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodial_support import HostedChain, load_doc


@pytest.fixture
def chain(tmp_path: Path) -> HostedChain:
    return HostedChain(tmp_path)


def test_a_csv_transformation_does_not_reveal_the_grams_of_a_foreign_lot(chain: HostedChain) -> None:
    job = chain.capture(load_doc("mine"), chain.token("mine"))
    lot = job["bt:recorded"][0]["lots"][0].removeprefix("urn:batterytrace:lot:")  # 700000 g Co, the mine's
    oem = chain.token("oem")  # never held the lot, may not read the mine's events
    csv = ("event,ref,time,site,inputs,form,mass_kg,Co_pct\n"
           f"T1,O1,2026-03-21T08:00:00Z,plant:packs,{lot},cobalt_sulphate,100000,99\n")
    r = chain.client.post("/import/csv?kind=transformation&check=true", content=csv.encode(),
                          headers={"authorization": f"Bearer {oem}", "content-type": "text/csv"})
    assert r.status_code == 422, r.text
    assert "700000" not in r.text, r.text
