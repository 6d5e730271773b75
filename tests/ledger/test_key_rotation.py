"""Key rotation on every storage backend: the rotated participant, the key index (meta rows
``key:<did>``) and replay by ``log verify`` across the rotation; the ledger reopened from its
store (a new process) still refuses the old key."""

from __future__ import annotations

from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.state import KEY_PREFIX
from batterytrace.model.events import sign_event
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time
from support import Chain


def test_rotation_is_stored_replayed_and_survives_reopening(store: Store) -> None:
    c = Chain(store)
    lot = c.extract("kasonta")
    new = SigningKey.generate()
    c.accept(c.sign("operator", {"kind": "rotate_key", "participant": c.did("kasonta"), "new_key": new.did}))
    assert store.get_meta(KEY_PREFIX + new.did) == c.did("kasonta")
    assert store.meta_with_prefix(KEY_PREFIX) == {KEY_PREFIX + new.did: c.did("kasonta")}
    c.s.tick(1)
    ship = sign_event({"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot], "gross_mass_g": 1_000_000,
                       "time": format_time(c.s.clock), "actor": c.did("kasonta"), "signer": new.did},
                      new, ledger=c.s.ledger_id)
    c.accept(ship)
    assert verify_log(store).events == c.ledger.size()
    reopened = Ledger(store, clock=c.now_us)  # no cache: the participant row carries the key
    c.s.tick(1)
    old = sign_event({"kind": "ship", "to": c.did("kivijarvi"), "lots": [lot], "gross_mass_g": 1,
                      "time": format_time(c.s.clock)}, c.s.actors["kasonta"].signing_key, ledger=c.s.ledger_id)
    result = reopened.submit_batch([old])
    assert [r.rule for r in result.rejected] == ["key.rotated"]
