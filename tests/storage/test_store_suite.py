"""One suite, every backend: memory (the double), SQLite and PostgreSQL must behave the same."""

from __future__ import annotations

import pytest

from batterytrace.errors import StorageError
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.storage.base import Store, StoredEvent, WriteBatch, open_store
from batterytrace.storage.memory import MemoryStore
from support import Chain


def small_chain(store: Store) -> tuple[Chain, list[str]]:
    c = Chain(store)
    lots = [c.extract("kasonta"), c.extract("tujenge", certified=False)]
    received = c.ship_and_receive("kasonta", "kivijarvi", lots[:1])
    c.s.emit("rmap", {"kind": "incident", "site": "mine:tujenge", "start": "2025-01-20T00:00:00Z",
                      "end": "2025-02-28T00:00:00Z", "severity": "high", "description": "test incident"})
    c.flush()
    return c, received


def reference() -> tuple[Chain, list[str]]:
    return small_chain(MemoryStore())


def test_same_log_and_state_as_the_memory_double(store: Store) -> None:
    c, _received = small_chain(store)
    ref, _ = reference()
    assert store.size() == ref.ledger.store.size() > 30
    assert c.ledger.root() == ref.ledger.root()
    ref_events = list(ref.ledger.store.iter_events())
    assert list(store.iter_events()) == ref_events
    assert list(store.iter_events(3, 7)) == ref_events[3:7]
    assert store.get_event(5) == ref_events[5]
    assert {x.lot_id: x.to_dict() for x in store.iter_lots()} == {
        x.lot_id: x.to_dict() for x in ref.ledger.store.iter_lots()
    }
    assert sorted(p.did for p in store.list_participants()) == sorted(
        p.did for p in ref.ledger.store.list_participants()
    )
    assert sorted(s.site_id for s in store.list_sites()) == sorted(s.site_id for s in ref.ledger.store.list_sites())
    assert [a.attestation_id for a in store.attestations_for("mine:kasonta")] == [
        a.attestation_id for a in ref.ledger.store.attestations_for("mine:kasonta")
    ]
    assert [i.incident_id for i in store.incidents()] == [i.incident_id for i in ref.ledger.store.incidents()]
    assert store.get_meta("operator_did") == c.operator.did
    assert store.get_meta("policy") == ref.ledger.store.get_meta("policy")
    verify_log(store)


def test_lookups(store: Store) -> None:
    c, received = small_chain(store)
    ev0 = store.get_event(0)
    assert store.event_seq(ev0.event_hash) == 0
    assert store.event_seq(b"\x00" * 32) is None
    assert store.known_hashes([ev0.event_hash, b"\x01" * 32]) == {ev0.event_hash}
    assert store.known_hashes([]) == set()
    (lot_id,) = received
    lot = store.get_lot(lot_id)
    assert lot is not None and lot.custodian == c.did("kivijarvi")
    assert store.get_lot("nope") is None
    assert set(store.get_lots([lot_id, "nope"])) == {lot_id}
    assert store.get_lots([]) == {}
    created = store.lots_created_by([lot.event, "ff" * 32])
    assert created == {lot.event: [lot_id], "ff" * 32: []}
    (link,) = store.lot_links([lot_id])
    assert (link.lot_id, link.form, link.event, link.spent_by) == (lot_id, lot.form, lot.event, None)
    assert [x.lot_id for x in store.links_created_by([lot.event])] == [lot_id]
    assert store.lot_links([]) == [] and store.links_created_by([]) == []
    inputs = store.inputs_of([lot.event])[lot.event]
    assert len(inputs) == 1
    spent = store.get_lot(inputs[0])
    assert spent is not None and spent.status == "spent" and spent.spent_by == lot.event
    assert lot_id in store.lots_at_site("plant:kivijarvi", 0, 2**62)
    assert store.lots_at_site("plant:kivijarvi", 0, lot.created_at) == []
    with pytest.raises(StorageError):
        store.get_event(10_000)
    with pytest.raises(StorageError):
        store.get_node(40, 0)
    assert store.get_participant(c.did("kasonta")) is not None
    assert store.get_participant("did:key:nobody") is None
    assert store.get_site("mine:kasonta") is not None and store.get_site("mine:nowhere") is None


def test_row_accounting_queries(store: Store) -> None:
    """``event_rows`` and ``meta_keys``, which ``log verify`` holds against the log's bounds."""
    assert store.event_rows() == (0, None, None) and store.meta_keys() == []
    small_chain(store)
    ref, _ = reference()
    assert store.event_rows() == (store.size(), 0, store.size() - 1)
    keys = store.meta_keys()
    assert keys == ref.ledger.store.meta_keys()
    assert [k for k in keys if not k.startswith("latest:")] == ["event_index", "ledger_id", "operator_did", "policy"]
    assert any(k.startswith("latest:actor:") for k in keys) and any(k.startswith("latest:site:") for k in keys)


def test_many_ids_in_one_query(store: Store) -> None:
    """Lookups by thousands of ids (beyond SQLite's parameter limit) return everything."""
    _c, _ = small_chain(store)
    ids = [f"{i:064x}:0" for i in range(5_000)]
    real = [x.lot_id for x in store.iter_lots()]
    assert set(store.get_lots(ids + real)) == set(real)
    hashes = [e.event_hash for e in store.iter_events()]
    assert store.known_hashes([bytes([i % 256]) * 32 for i in range(4_000)] + hashes) >= set(hashes)


def test_failed_batch_leaves_nothing(store: Store) -> None:
    c, _ = small_chain(store)
    size, root = store.size(), c.ledger.root()
    last = store.get_event(size - 1)
    dup = StoredEvent(size, last.event_hash, last.canonical, last.signature, last.kind, last.actor, last.time, last.ingested_at)
    with pytest.raises(Exception), store.write_lock():  # noqa: B017 - each backend raises its own
        store.apply(WriteBatch(meta={"probe": "x"}))
        store.apply(WriteBatch(events=[dup]))  # duplicate hash: refused by the store
    assert store.size() == size and c.ledger.root() == root
    assert store.get_meta("probe") is None


def test_tree_heads_in_order(store: Store) -> None:
    c, _ = small_chain(store)
    key = c.operator.signing_key
    first = c.ledger.sign_tree_head(key)
    c.extract("kasonta")
    second = c.ledger.sign_tree_head(key)
    assert [h.tree_size for h in store.tree_heads()] == [first.tree_size, second.tree_size]
    assert c.ledger.latest_checkpoint() == second
    verify_log(store)


def test_reopen_sees_everything(tmp_path: object, request: pytest.FixtureRequest) -> None:
    for url in [str(tmp_path) + "/reopen.db", request.getfixturevalue("pg_url")]:
        c, _ = small_chain(open_store(url))
        root, size = c.ledger.root(), c.ledger.size()
        c.ledger.close()
        again = Ledger.open(url)
        assert (again.root(), again.size()) == (root, size)
        assert again.operator_did == c.operator.did
        # and it keeps appending where the first process stopped
        more = Chain.__new__(Chain)
        more.__dict__.update(c.__dict__)
        more.ledger = again
        more.extract("kasonta")
        assert again.size() == size + 1
        verify_log(again.store)
        again.close()


def test_downstream_walk_matches_the_memory_double(store: Store) -> None:
    from batterytrace.demo.scenario import build_scenario
    from batterytrace.ledger.trace import PRODUCT_FORMS

    s = build_scenario(packs=2, legacy_packs=1)
    ref = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ref.submit_batch(s.events).rejected
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    mine_lots = store.lots_at_site("mine:tujenge", 0, 2**62)
    assert mine_lots
    count, packs = store.downstream(mine_lots, PRODUCT_FORMS)
    assert (count, packs) == ref.store.downstream(mine_lots, PRODUCT_FORMS)
    assert count > len(mine_lots) and packs and set(s.packs) & set(packs)
    assert all(p.startswith(tuple(e.hash_hex for e in s.events)) for p in packs)
    # a pack is its own only downstream lot; unknown ids reach nothing
    assert store.downstream([s.packs[0]], PRODUCT_FORMS) == (1, [s.packs[0]])
    assert store.downstream(["ff" * 32 + ":0"], PRODUCT_FORMS) == (0, [])
    assert store.downstream([], PRODUCT_FORMS) == (0, [])
    assert store.downstream(mine_lots, ())[1] == []


def test_ring_keys_are_kept_by_site_and_replaced(store: Store) -> None:
    from batterytrace.model.entities import RingKey

    Ledger(store, "did:key:operator")
    a = RingKey("mine:a", "did:key:a", "11" * 32, 1, "e1")
    b = RingKey("mine:b", "did:key:b", "22" * 32, 2, "e2")
    with store.write_lock():
        store.apply(WriteBatch(ring_keys=[b, a]))
    assert store.ring_keys() == [a, b]
    rotated = RingKey("mine:a", "did:key:a", "33" * 32, 3, "e3")
    with store.write_lock():
        store.apply(WriteBatch(ring_keys=[rotated]))
    assert store.ring_keys() == [rotated, b]


def test_serials_of_a_gtin_page_by_page(store: Store) -> None:
    """The model-level listing of a GS1 resolver: distinct serials of one GTIN's products, sorted,
    after a cursor, limited; the same on every backend as a scan of every lot."""
    from batterytrace.demo.scenario import CELL_GTIN, build_scenario
    from batterytrace.ledger.trace import PRODUCT_FORMS

    s = build_scenario(packs=3, legacy_packs=1)
    ledger = Ledger(store, s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    pack = store.get_lot(s.packs[0])
    assert pack is not None and pack.gtin is not None
    scanned = sorted({x.serial for x in store.iter_lots() if x.gtin == pack.gtin and x.form in PRODUCT_FORMS and x.serial})
    assert len(scanned) >= 3
    assert store.serials_of(pack.gtin, PRODUCT_FORMS) == scanned
    assert Store.serials_of(store, pack.gtin, PRODUCT_FORMS) == scanned  # the generic scan agrees
    assert store.serials_of(pack.gtin, PRODUCT_FORMS, limit=2) == scanned[:2]
    assert store.serials_of(pack.gtin, PRODUCT_FORMS, after=scanned[0], limit=2) == scanned[1:3]
    assert store.serials_of(pack.gtin, PRODUCT_FORMS, after=scanned[-1]) == []
    assert store.serials_of(CELL_GTIN, PRODUCT_FORMS) == []  # cells are no products a passport is issued for
    assert store.serials_of(CELL_GTIN, ("cell",))
    assert store.serials_of("00000000000000", PRODUCT_FORMS) == []
