"""``log verify``: recompute everything from storage and compare.

1. every stored event re-canonicalises to its stored bytes and re-hashes to its stored hash;
2. sequence numbers are contiguous;
3. replaying the whole log through the rules into a fresh in-memory ledger, each event at its
   recorded ingestion time (non-decreasing; committed in the Merkle leaf), accepts every event
   (signatures and time rules included) and reproduces every stored Merkle node, every stored lot
   and the signers' and sites' latest event times and the rotated-in keys;
4. every operator-signed tree head verifies for this ledger, matches the recomputed root at its
   size and is not dated before the ingestion of the events it covers;
5. every stored row is accounted for: no event row outside ``0..size-1`` (a hand-planted row at a
   negative sequence number, a duplicate), no state row, Merkle node, tree head or meta key the log
   does not produce, and every anchor record names a stored tree head of this log.
Any difference raises ``VerificationError`` naming the first problem found. A store too corrupt to
read (``StorageError``) is reported the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

import orjson

from batterytrace.crypto.merkle import subtree_hash
from batterytrace.errors import EncodingError, StorageError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.credentials import CREDENTIAL_PREFIX, TOKEN_KEY_META, check_credential_rows
from batterytrace.ledger.event_index import INDEX_META, INDEX_VERSION
from batterytrace.ledger.hosted_keys import HOSTED_KEY_PREFIX, check_hosted_key_rows
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.state import KEY_PREFIX, LATEST_PREFIX
from batterytrace.model.entities import Attestation
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from batterytrace.timeutil import parse_time

__all__ = ["LEDGER_META_KEYS", "SERVICE_META_KEYS", "AuditReport", "check_event_rows", "check_head_rows", "check_meta_rows", "verify_log"]

_REPLAY_BATCH = 2000
_P = ParamSpec("_P")
#: meta keys the ledger writes: its operator and identifier (at creation) and the policy the log
#: sets; the signers' and sites' latest event times (``latest:…``) are compared with the replay
LEDGER_META_KEYS = frozenset({"operator_did", "ledger_id", "policy", INDEX_META})
#: meta keys of the anchoring layer (configuration, records): records are checked here against the
#: stored tree heads and the log, both against the chain by ``anchor verify``; the passport layer's
#: Digital Link resolver (passport/resolver.py)
SERVICE_META_KEYS = frozenset({"anchor/config", "anchor/records", TOKEN_KEY_META, "passport/resolver"})
#: meta rows of the service (credential registry, sealed hosted keys): shapes checked here
SERVICE_META_PREFIXES = (CREDENTIAL_PREFIX, HOSTED_KEY_PREFIX)
_ANCHOR_RECORDS = "anchor/records"


@dataclass(frozen=True)
class AuditReport:
    events: int
    lots: int
    tree_heads: int
    root_hash: str


def _att_id(a: Attestation) -> str:
    return a.attestation_id


def _event_time(ev: SignedEvent) -> int | None:
    try:
        return parse_time(str(ev.body["time"]))
    except EncodingError:
        return None


def _inputs_by_event(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event_hash, lot_id in store.iter_inputs():
        out.setdefault(event_hash, []).append(lot_id)
    return out


def _positions(total: int) -> str:
    return f"0..{total - 1}" if total else "none: the log is empty"


def check_event_rows(store: Store, total: int) -> None:
    """Every event row is a position of the log of ``total`` events: none below 0 (invisible to
    the replay, which reads 0..size-1), none twice."""
    rows = store.event_rows()
    if rows.low is not None and rows.low < 0:
        raise VerificationError(
            f"an event row at sequence number {rows.low} lies outside the log (positions "
            f"{_positions(total)}): no logged event explains it"
        )
    if rows.total != total:
        raise VerificationError(
            f"the store holds {rows.total} event rows for a log of {total} events: "
            "duplicate or stray sequence numbers"
        )


def _anchor_records(store: Store) -> list[tuple[int, str]]:
    text = store.get_meta(_ANCHOR_RECORDS)
    if text is None:
        return []
    try:
        data = orjson.loads(text)
        return [(int(r["tree_size"]), str(r["root_hash"])) for r in data]
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise VerificationError(f"the stored anchor records are corrupt: {exc}") from exc


def check_head_rows(heads: Sequence[Checkpoint]) -> None:
    """Tree heads are stored in the order the operator signed them: sizes never shrink (an older
    head moved last would be served as the latest) and no row is stored twice."""
    seen: set[tuple[int, bytes, int, bytes]] = set()
    for i, cp in enumerate(heads):
        if i and cp.tree_size < heads[i - 1].tree_size:
            raise VerificationError(f"the stored tree head of size {cp.tree_size} follows one of size "
                                    f"{heads[i - 1].tree_size}: tree heads were reordered")
        row = (cp.tree_size, cp.root_hash, cp.timestamp, cp.signature)
        if row in seen:
            raise VerificationError(f"the tree head of size {cp.tree_size} signed at {cp.timestamp} is stored twice")
        seen.add(row)


def check_meta_rows(
    store: Store, total: int, heads: Sequence[Checkpoint], root_at: Callable[[int], bytes]
) -> None:
    """No meta key beyond the ledger's and the anchoring layer's; every anchor record names a
    stored tree head of this log, within it, whose root the log still hashes to."""
    unknown = [
        k for k in store.meta_keys()
        if k not in LEDGER_META_KEYS | SERVICE_META_KEYS
        and not k.startswith((LATEST_PREFIX, KEY_PREFIX, *SERVICE_META_PREFIXES))
    ]
    if unknown:
        raise VerificationError(f"meta row {unknown[0]!r} is no ledger setting and no logged event produced it")
    check_credential_rows(store)
    check_hosted_key_rows(store)
    for size, root in _anchor_records(store):
        if not 0 < size <= total:
            raise VerificationError(f"an anchor record names tree size {size}, outside the log of {total} events")
        if not any(cp.tree_size == size and cp.root_hash.hex() == root for cp in heads):
            raise VerificationError(f"the anchor record of tree size {size} names no stored signed tree head")
        if root_at(size).hex() != root:
            raise VerificationError(f"the anchor record of tree size {size} names a root the log does not hash to")


def _check_event_index(store: Store, rebuilt: MemoryStore) -> None:
    """The event index (queries, read policy) holds exactly the entries the replay wrote. A ledger
    from before the index has neither index rows nor the ``event_index`` meta row; opening it
    builds both from the log."""
    version = store.get_meta(INDEX_META)
    if version is None:
        if next(store.iter_event_index(), None) is not None:
            raise VerificationError("event index rows are stored but the index is not recorded as built")
        return
    if version != INDEX_VERSION:
        raise VerificationError(f"the event index version {version!r} is not {INDEX_VERSION!r} (opening the "
                                "ledger rebuilds the index from the log)")
    implied = rebuilt.iter_event_index()
    for entry in store.iter_event_index():
        if next(implied, None) != entry:
            raise VerificationError(f"the stored event index entry of event {entry.row.seq} differs from the log")
    missing = next(implied, None)
    if missing is not None:
        raise VerificationError(f"the event index entry of event {missing.row.seq} implied by the log is missing")


def _unreadable_store_fails(fn: Callable[_P, AuditReport]) -> Callable[_P, AuditReport]:
    """A store that cannot be read (corrupt rows, missing tables) fails verification."""

    @functools.wraps(fn)
    def verify(*args: _P.args, **kwargs: _P.kwargs) -> AuditReport:
        try:
            return fn(*args, **kwargs)
        except (StorageError, EncodingError) as exc:
            raise VerificationError(f"the store cannot be read: {exc}") from exc

    return verify


@_unreadable_store_fails
def verify_log(store: Store, progress: Callable[[int, int], None] | None = None) -> AuditReport:
    operator = store.get_meta("operator_did")
    if operator is None:
        raise VerificationError("the store holds no ledger (no operator recorded)")
    ledger_id = store.get_meta("ledger_id")
    if ledger_id is None:
        raise VerificationError("the store holds no ledger identifier")
    replica = Ledger(MemoryStore(), operator, ledger_id)
    total = store.size()
    pending: list[SignedEvent] = []
    ingested: list[int] = []
    expected_seq = 0

    def flush() -> None:
        result = replica.submit_batch(pending, ingested_at=ingested)
        if result.rejected:
            bad = result.rejected[0]
            raise VerificationError(
                f"event {bad.event_hash} at position {expected_seq - len(pending) + bad.index} "
                f"no longer passes the ledger rules: {bad.message}"
            )
        pending.clear()
        ingested.clear()

    for stored in store.iter_events():
        if stored.seq != expected_seq:
            raise VerificationError(f"log sequence gap: expected {expected_seq}, found {stored.seq}")
        try:
            ev = SignedEvent.from_stored(stored.canonical, stored.signature)
        except EncodingError as exc:
            raise VerificationError(f"event {stored.seq} is corrupt: {exc}") from exc
        if ev.event_hash != stored.event_hash:
            raise VerificationError(f"event {stored.seq} does not hash to its stored hash")
        if (stored.kind, stored.actor, stored.time) != (ev.kind, ev.actor, _event_time(ev)):
            raise VerificationError(f"event {stored.seq}: stored kind/actor/time columns differ from its body")
        pending.append(ev)
        ingested.append(stored.ingested_at)
        expected_seq += 1
        if len(pending) >= _REPLAY_BATCH:
            flush()
            if progress:
                progress(expected_seq, total)
    flush()
    if progress:
        progress(expected_seq, total)
    if expected_seq != total:
        raise VerificationError(f"store reports {total} events but yields {expected_seq}")
    check_event_rows(store, total)

    rebuilt = replica.store
    assert isinstance(rebuilt, MemoryStore)
    for (level, index), h in rebuilt.nodes.items():
        try:
            stored_node = store.get_node(level, index)
        except StorageError as exc:
            raise VerificationError(f"Merkle node ({level}, {index}) is missing") from exc
        if stored_node != h:
            raise VerificationError(f"stored Merkle node ({level}, {index}) differs from the recomputed one")
    lots = 0
    try:
        for lot in store.iter_lots():
            lots += 1
            again = rebuilt.lots.get(lot.lot_id)
            if again is None or again.to_dict() != lot.to_dict():
                raise VerificationError(f"stored lot {lot.lot_id} differs from the state the log implies")
        registry: list[tuple[str, Sequence[Any], Sequence[Any], str]] = [
            ("participant", store.list_participants(), rebuilt.list_participants(), "did"),
            ("site", store.list_sites(), rebuilt.list_sites(), "site_id"),
            ("incident", store.incidents(), rebuilt.incidents(), "incident_id"),
            ("ring key of site", store.ring_keys(), rebuilt.ring_keys(), "site_id"),
        ]
        for kind, stored_rows, implied_rows, key in registry:
            by_key = {getattr(x, key): x for x in implied_rows}
            for row in stored_rows:
                if by_key.pop(getattr(row, key), None) != row:
                    raise VerificationError(f"stored {kind} {getattr(row, key)} differs from the log")
            if by_key:
                raise VerificationError(f"{kind} {next(iter(by_key))} implied by the log is missing")
        # the rules and the API find these rows by their key column, not by the record's own
        # field: a row must be found under its own key (a swapped or renamed key column would
        # make the ledger judge an auditor, site or attestation by another's record)
        keyed: list[tuple[str, str, Any, Any]] = [
            *(("participant", p.did, store.get_participant(p.did), p) for p in rebuilt.list_participants()),
            *(("site", x.site_id, store.get_site(x.site_id), x) for x in rebuilt.list_sites()),
            *(("attestation", a.attestation_id, store.get_attestation(a.attestation_id), a)
              for a in rebuilt.attestations.values()),
        ]
        for kind, key_value, found, implied in keyed:
            if found != implied:
                raise VerificationError(
                    f"the stored {kind} row keyed {key_value} does not hold that {kind}'s record "
                    "(a key column differs from the log)"
                )
        implied_atts = dict(rebuilt.attestations)
        for att in store.iter_attestations():
            if implied_atts.pop(att.attestation_id, None) != att:
                raise VerificationError(f"stored attestation {att.attestation_id} of {att.subject} differs from the log")
        if implied_atts:
            raise VerificationError(f"attestation {next(iter(implied_atts))} implied by the log is missing")
        for subject in {a.subject for a in rebuilt.attestations.values()}:
            if sorted(store.attestations_for(subject), key=_att_id) != sorted(
                rebuilt.attestations_for(subject), key=_att_id
            ):
                raise VerificationError(f"stored attestations of {subject} differ from the log")
        # the columns traces, recalls and serial look-ups read without decoding the lot
        implied_index = rebuilt.lot_index()
        for row in store.lot_index():
            if next(implied_index, None) != row:
                raise VerificationError(f"stored index columns of lot {row.lot_id} differ from the log")
        if next(implied_index, None) is not None:
            raise VerificationError("a lot's index columns implied by the log are missing")
        if _inputs_by_event(store) != _inputs_by_event(rebuilt):
            raise VerificationError("stored lineage (the lots each event consumed) differs from the log")
        _check_event_index(store, rebuilt)
        if store.get_meta("policy") != rebuilt.get_meta("policy"):
            raise VerificationError("the stored ledger policy differs from the policy the log sets")
        for prefix in (LATEST_PREFIX, KEY_PREFIX):
            implied_meta = rebuilt.meta_with_prefix(prefix)
            for key, value in store.meta_with_prefix(prefix).items():
                if implied_meta.pop(key, None) != value:
                    raise VerificationError(f"the stored {key} differs from the log (or no event implies it)")
            if implied_meta:
                raise VerificationError(f"the stored {next(iter(implied_meta))} implied by the log is missing")
        if store.node_count() != rebuilt.node_count():
            raise VerificationError(
                f"store holds {store.node_count()} Merkle nodes; the log implies {rebuilt.node_count()}"
            )
        heads = store.tree_heads()
    except StorageError as exc:
        raise VerificationError(f"stored state is corrupt: {exc}") from exc
    if lots != len(rebuilt.lots):
        raise VerificationError(f"store holds {lots} lots; the log implies {len(rebuilt.lots)}")

    checkpoints: list[Checkpoint] = []
    for head in heads:
        cp = Checkpoint(head.log_id, head.tree_size, head.root_hash, head.timestamp, head.signature, ledger_id,
                        head.note_signature)
        cp.verify(operator)  # its note signature too, when it has one
        if cp.note_signature is None and any(c.note_signature is not None for c in checkpoints):
            # the ledger signs every head in both forms since heads have a note form: a later
            # head without one lost it in storage (the note route would serve an older head)
            raise VerificationError(f"the tree head of size {cp.tree_size} has no checkpoint note signature, "
                                    "though an earlier head has one: its note signature was deleted")
        if cp.tree_size > total:
            raise VerificationError(f"tree head for size {cp.tree_size} exceeds the log ({total})")
        if subtree_hash(rebuilt.get_node, 0, cp.tree_size) != cp.root_hash:
            raise VerificationError(f"signed tree head at size {cp.tree_size} does not match the log")
        # the stored ingestion times are those the replay committed in the (compared) leaves
        if cp.tree_size and cp.timestamp < store.get_event(cp.tree_size - 1).ingested_at:
            raise VerificationError(
                f"signed tree head at size {cp.tree_size} is dated before the ingestion of an event it covers"
            )
        checkpoints.append(cp)
    check_head_rows(checkpoints)
    check_meta_rows(store, total, checkpoints, lambda n: subtree_hash(rebuilt.get_node, 0, n))
    root = subtree_hash(rebuilt.get_node, 0, total).hex()
    return AuditReport(total, lots, len(heads), root)
