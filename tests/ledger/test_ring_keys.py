"""Ring-key registration: only a mine site's owner, only a key it can use, one site per key;
``log verify`` replays anonymous extractions from the public log and checks the ring-key rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batterytrace.crypto.zk.group import IDENTITY
from batterytrace.errors import VerificationError
from batterytrace.ledger import rules_anonymous
from batterytrace.ledger.anonymous_client import RingSecret, ring_key_registration
from batterytrace.ledger.audit import verify_log
from batterytrace.storage.sqlite import SQLiteStore
from batterytrace.timeutil import format_time
from ring_support import RingChain, resign_body


@pytest.fixture(scope="module")
def chain() -> RingChain:
    return RingChain()


def test_registered_keys_are_in_the_store(chain: RingChain) -> None:
    rows = {r.site_id: r for r in chain.ledger.store.ring_keys()}
    assert set(rows) == {"mine:kasonta", "mine:mwelu", "mine:tujenge"}
    assert rows["mine:kasonta"].key == chain.secrets["kasonta"].key.hex()
    assert rows["mine:kasonta"].owner == chain.did("kasonta")


@pytest.mark.parametrize(
    ("what", "who", "change", "rule"),
    [
        ("a site of another owner", "mwelu", lambda b: b.update(site="mine:kasonta"), "site"),
        ("an unregistered site", "kasonta", lambda b: b.update(site="mine:nowhere"), "site"),
        ("the identity key", "kasonta", lambda b: b.update(ring_key=IDENTITY.hex()), "ring.key"),
        ("a key that is not a point", "kasonta", lambda b: b.update(ring_key="ff" * 32), "zk.malformed"),
        ("upper-case hex", "kasonta", lambda b: b.update(ring_key=b["ring_key"].upper()), "zk.malformed"),
        ("no proof of possession", "kasonta", lambda b: b.pop("pop"), "zk.malformed"),
        ("a short proof", "kasonta", lambda b: b.update(pop=b["pop"][:-2]), "zk.malformed"),
        ("a proof for another key", "kasonta", lambda b: b.update(ring_key=RingSecret.from_label("x", "other").key.hex()), "ring.key"),
        ("a proof for another event (time)", "kasonta", lambda b: b.update(time=b["time"][:-1] + ".000001Z"), "ring.key"),
        ("a proof for another event (nonce)", "kasonta", lambda b: b.update(nonce="1" * 24), "ring.key"),
    ],
)
def test_refused_registrations(chain: RingChain, what: str, who: str, change: Callable[[dict[str, Any]], Any], rule: str) -> None:
    fresh = RingSecret.from_label("mine:kasonta", f"fresh/{what}")
    ev = ring_key_registration(chain.s.actors["kasonta"].signing_key, fresh, chain.now(), ledger=chain.s.ledger_id)
    bad = resign_body(ev, chain.s.actors[who].signing_key, change)
    assert chain.reject(bad).rule == rule, what


def test_someone_elses_key(chain: RingChain) -> None:
    # Mwelu copies Kasonta's key and proof: the proof is bound to Kasonta's event
    kasonta = ring_key_registration(chain.s.actors["kasonta"].signing_key, chain.secrets["kasonta"], chain.now(), ledger=chain.s.ledger_id)
    copied = resign_body(kasonta, chain.s.actors["mwelu"].signing_key, lambda b: b.update(site="mine:mwelu"))
    assert chain.reject(copied).rule == "ring.key"
    # even holding the secret, a key serves one site only
    shared = RingSecret("mine:mwelu", chain.secrets["kasonta"].scalar)
    assert chain.reject(chain.register_key("mwelu", shared)).rule == "ring.key"
    # ring keys are for mine sites
    plant = RingSecret.from_label("plant:kivijarvi", "plant")
    assert chain.reject(ring_key_registration(chain.s.actors["kivijarvi"].signing_key, plant, chain.now(), ledger=chain.s.ledger_id)).rule == "authorisation"


def test_rotation_replaces_the_key() -> None:
    c = RingChain()
    stale = c.anon_with_ring(c.ring())
    new = RingSecret.from_label("mine:kasonta", "rotated")
    c.accept(c.register_key("kasonta", new))
    assert new.key in [m.key for m in c.ring()] and c.secrets["kasonta"].key not in [m.key for m in c.ring()]
    assert c.reject(c.anon_with_ring(list(stale.ring), who="mwelu").event).rule == "ring.set"
    c.secrets["kasonta"] = new
    c.keep(c.anon("kasonta").proved)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ring.db"
    c = RingChain(SQLiteStore(str(path)))
    made, _lot = c.extract_anonymously("tujenge")
    c.ship_anon(made)
    c.ledger.close()
    return path


def _audit(path: Path) -> None:
    store = SQLiteStore(str(path))
    try:
        verify_log(store)
    finally:
        store.close()


def test_log_verify_replays_anonymous_extractions(db: Path) -> None:
    _audit(db)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ring_keys SET data=? WHERE site_id='mine:kasonta'",
        "DELETE FROM ring_keys WHERE site_id='mine:mwelu' OR ?=''",
        "INSERT INTO ring_keys(site_id, data) SELECT 'mine:tanjung-biru', ? ",
    ],
)
def test_log_verify_detects_edited_ring_key_rows(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    row = json.loads(conn.execute("SELECT data FROM ring_keys WHERE site_id='mine:tujenge'").fetchone()[0])
    row["site_id"] = "mine:tanjung-biru" if "INSERT" in sql else "mine:kasonta"
    conn.execute(sql, (json.dumps(row) if "DELETE" not in sql else "x",))
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError, match="ring key"):
        _audit(db)


def test_log_verify_refuses_a_false_membership_proof_an_operator_let_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lax.db"
    c = RingChain(SQLiteStore(str(path)))
    made = c.anon_with_ring([m.key for m in c.ring()])
    other = c.anon()
    forged = resign_body(other.event, other.key, lambda b: b.update(membership=made.event.body["membership"]))
    with monkeypatch.context() as m:
        m.setattr(rules_anonymous, "_verify_membership", lambda *args: None)
        c.accept(forged)
    c.ledger.close()
    with pytest.raises(VerificationError, match=r"ring\.membership"):
        _audit(path)


def test_registration_time_is_its_own(chain: RingChain) -> None:
    """A registration may be signed at any time; the proof covers it (no replay elsewhere)."""
    fresh = RingSecret.from_label("mine:tujenge", "later")
    ev = ring_key_registration(chain.s.actors["tujenge"].signing_key, fresh, format_time(chain.s.clock + 1), ledger=chain.s.ledger_id)
    chain.accept(ev)
    assert chain.reject(ev).rule == "replay"


def test_epcis_carries_ring_events(chain: RingChain) -> None:
    """Ring-key registrations and anonymous extractions export to EPCIS and import back signed."""
    from batterytrace.ledger.epcis import export_event, import_event

    made = chain.anon()
    registration = chain.register_key("tujenge", RingSecret.from_label("mine:tujenge", "epcis"))
    for ev in (made.event, registration):
        exported = export_event(ev)
        assert "readPoint" not in exported or ev.kind == "register_ring_key"
        assert import_event(exported).event_hash == ev.event_hash
