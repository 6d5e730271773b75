"""PassportDesk: resolves a Digital Link to the current pack, issues on demand with the economic
operator's key, verifies every stored presentation and refuses tampered files."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario, build_scenario
from batterytrace.errors import BatterytraceError, NotFoundError, VerificationError
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.storage.memory import MemoryStore


@pytest.fixture(scope="module")
def chain() -> tuple[Scenario, Ledger]:
    s = build_scenario(packs=1, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    return s, ledger


def _pack(chain: tuple[Scenario, Ledger]) -> tuple[str, str]:
    s, ledger = chain
    lot = ledger.store.get_lot(s.packs[0])
    assert lot is not None and lot.gtin and lot.serial
    return lot.gtin, lot.serial


def test_issue_on_demand_signs_a_tree_head_and_verifies(chain: tuple[Scenario, Ledger], tmp_path: Path) -> None:
    s, ledger = chain
    desk = PassportDesk(ledger, tmp_path, [PassportIssuer(s.actors["voltara"].signing_key, VOLTARA_VM75)],
                        s.actors["operator"].signing_key)
    gtin, serial = _pack(chain)
    result = desk.verified(gtin, serial, "public")
    claims = result.claims
    # verified against the desk's ledger: the lineage figures are re-derived, master data declared
    assert result.figure("summary.carbon_kgco2e_per_stage.main product production").status == "verified"
    assert result.figure("summary.carbon_kgco2e_per_kwh").status == "declared"  # over the declared lifetime energy
    assert result.figure("summary.due_diligence_indices").status == "verified"
    assert result.figure("aspects.PerformanceAndDurability.batteryTechicalProperties.nominalVoltage").status == "declared"
    assert claims["battery"]["serial"] == serial and claims["iss"] == s.actors["voltara"].did
    files = list(tmp_path.glob("*.sd-jwt"))
    assert len(files) == 4  # one file per access level
    # each file is exactly the compact presentation: it ends at the final "~" (a trailing newline
    # would be read as a key-binding JWT by a strict SD-JWT parser)
    assert all(f.read_bytes().endswith(b"~") for f in files)
    assert "stateOfCharge" not in claims["aspects"]["PerformanceAndDurability"]["batteryCondition"]
    li = desk.verified(gtin, serial, "legitimate_interest").claims
    assert "stateOfCharge" in li["aspects"]["PerformanceAndDurability"]["batteryCondition"]


def test_unknown_battery_and_missing_key(chain: tuple[Scenario, Ledger], tmp_path: Path) -> None:
    _, ledger = chain
    desk = PassportDesk(ledger, tmp_path)
    with pytest.raises(NotFoundError, match="no battery"):
        desk.presentation("00000000000000", "x", "public")
    gtin, serial = _pack(chain)
    with pytest.raises(NotFoundError, match="economic operator's key"):
        desk.presentation(gtin, serial, "public")
    with pytest.raises(BatterytraceError, match="unknown access level"):
        desk.presentation(gtin, serial, "everyone")


def test_tampered_stored_passport_is_refused(chain: tuple[Scenario, Ledger], tmp_path: Path) -> None:
    s, ledger = chain
    issuer = PassportIssuer(s.actors["voltara"].signing_key, VOLTARA_VM75)
    gtin, serial = _pack(chain)
    PassportDesk(ledger, tmp_path, [issuer], s.actors["operator"].signing_key).presentation(gtin, serial, "public")
    public = next(tmp_path.glob("*.public.sd-jwt"))
    jws, rest = public.read_text().split("~", 1)
    head, payload, sig = jws.split(".")
    public.write_text(f"{head}.{payload}.{sig[:-2]}{'AA' if not sig.endswith('AA') else 'BB'}~{rest}")
    with pytest.raises(VerificationError, match="signature"):
        PassportDesk(ledger, tmp_path).verified(gtin, serial, "public")
    # a presentation disclosing more than its level (a misfiled file) is never served at that level
    public.write_text(next(tmp_path.glob("*.legitimate_interest.sd-jwt")).read_text())
    with pytest.raises(VerificationError, match=r"discloses GeneralProductInformation\.puttingIntoService, which is not for the public"):
        PassportDesk(ledger, tmp_path).verified(gtin, serial, "public")
    public.write_text(next(tmp_path.glob("*.authorities.sd-jwt")).read_text())
    with pytest.raises(VerificationError, match="not for the public access level"):
        PassportDesk(ledger, tmp_path).verified(gtin, serial, "public")


def test_another_batterys_passport_is_refused(tmp_path: Path) -> None:
    s = build_scenario(packs=2, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    desk = PassportDesk(ledger, tmp_path, [PassportIssuer(s.actors["voltara"].signing_key, VOLTARA_VM75)],
                        s.actors["operator"].signing_key)
    lots = [ledger.store.get_lot(p) for p in s.packs]
    a, b = (lot for lot in lots if lot is not None)
    assert a.gtin and a.serial and b.gtin and b.serial
    desk.presentation(a.gtin, a.serial, "public")
    desk.presentation(b.gtin, b.serial, "public")
    _, pid_a = desk.passport_id(a.gtin, a.serial)
    _, pid_b = desk.passport_id(b.gtin, b.serial)
    file_a = tmp_path / f"{pid_a.rsplit(':', 1)[1]}.public.sd-jwt"
    file_a.write_text((tmp_path / f"{pid_b.rsplit(':', 1)[1]}.public.sd-jwt").read_text())
    with pytest.raises(VerificationError, match="holds"):
        PassportDesk(ledger, tmp_path).verified(a.gtin, a.serial, "public")
