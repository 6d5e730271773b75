"""The ledger: accepts signed events under the rules, appends them to the transparency log and
stores the derived state, one transaction per batch."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from batterytrace.canonical import canonical_json, parse_json
from batterytrace.crypto.merkle import (
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    subtree_hash,
)
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import ConfigError, EncodingError, RuleViolationError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint, sign_checkpoint
from batterytrace.ledger.confidential import DeferredProofs
from batterytrace.ledger.event_index import (
    INDEX_META,
    INDEX_VERSION,
    ensure_index,
    index_entry,
    named_lots,
)
from batterytrace.ledger.rules import check_event
from batterytrace.ledger.state import BatchState
from batterytrace.model.entities import Lot, Participant, Site
from batterytrace.model.events import SignedEvent
from batterytrace.model.policy import LedgerPolicy
from batterytrace.storage.base import Store, StoredEvent, TreeHeadRecord, open_store
from batterytrace.storage.errors import StorageUnavailableError
from batterytrace.timeutil import now_us, parse_time

__all__ = [
    "INTERNAL_RULE",
    "BatchResult",
    "Clock",
    "Ledger",
    "Receipt",
    "Rejection",
    "check_ledger_id",
    "check_signatures",
    "historical_clock",
    "labelled_ledger_id",
    "new_ledger_id",
]

Clock = Callable[[], "int | None"]
"""The ledger's clock: the current time in µs since the epoch (UTC); ``None`` for historical
import (``historical_clock``)."""


def historical_clock() -> None:
    """The clock of an operator importing history (the demo, benchmarks, tests replaying events
    signed long ago): each event counts as ingested at its own time, never earlier than the
    previous event's ingestion (``Ledger.submit_batch``)."""
    return None


_LEDGER_ID_MAX = 200


def new_ledger_id() -> str:
    """A fresh ledger identifier: a random (version 4) UUID URN."""
    return uuid.uuid4().urn


def labelled_ledger_id(label: str) -> str:
    """A reproducible ledger identifier named by ``label`` (a name-based, version 5 UUID URN):
    for the demo and benchmarks, whose events are signed before any ledger exists."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"batterytrace:{label}").urn


def check_ledger_id(value: str) -> str:
    """A ledger identifier is a non-empty printable ASCII string without spaces (a URI such as
    ``urn:uuid:…``), at most 200 characters."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= _LEDGER_ID_MAX
        or not value.isascii()
        or not value.isprintable()
        or " " in value
    ):
        raise ConfigError(f"a ledger id is a printable ASCII URI of 1-{_LEDGER_ID_MAX} characters")
    return value

_log = logging.getLogger("batterytrace.ledger")

# The rule of a refusal caused by an unexpected exception while judging one event: a defect in
# the rules, never the client's fault alone. The event is refused, the rest of its batch is judged
# on its own, and the exception is logged with the event's hash.
INTERNAL_RULE = "internal"


@dataclass(frozen=True)
class Receipt:
    seq: int
    event_hash: str
    lots: tuple[str, ...]


@dataclass(frozen=True)
class Rejection:
    index: int
    event_hash: str | None
    rule: str
    message: str


@dataclass
class BatchResult:
    accepted: list[Receipt] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


#: attempts of a write whose transaction conflicted (PostgreSQL serialization failure, deadlock)
WRITE_ATTEMPTS = 3


def check_signatures(events: Sequence[SignedEvent]) -> tuple[list[int], list[Rejection]]:
    """Verify each event's signature (rule ``signature``, the first rule ``check_event`` applies):
    the indices of those that verify, and a rejection for each other one. Callers run it before
    they take the write lock and submit the survivors with ``signatures_checked=True``, so a flood
    of forged events costs CPU but never holds up the writers."""
    good: list[int] = []
    rejected: list[Rejection] = []
    for i, ev in enumerate(events):
        try:
            ev.verify_signature()
        except VerificationError as exc:
            rejected.append(Rejection(i, ev.hash_hex, "signature", f"[signature] {exc}"))
            continue
        good.append(i)
    return good, rejected


def _referenced_lots(events: Sequence[SignedEvent]) -> list[str]:
    """Every lot the events name (``named_lots`` of each), sorted."""
    return sorted({lot for ev in events for lot in named_lots(ev)})


class _IngestClock:
    """The ingestion times of one batch (see ``Ledger.submit_batch``); ``last`` is the ingestion
    time of the latest accepted event, which no later event's may precede."""

    def __init__(self, last: int, now: int | None, recorded: Sequence[int] | None) -> None:
        self.last, self._now, self._recorded = last, now, recorded

    def time_for(self, index: int, ev: SignedEvent) -> int:
        if self._recorded is not None:
            recorded = self._recorded[index]
            if recorded < self.last:
                raise RuleViolationError(
                    "time.ingestion", f"recorded ingestion time {recorded} precedes the previous event's ({self.last})"
                )
            return recorded
        if self._now is not None:
            return max(self._now, self.last)
        try:
            own = parse_time(str(ev.body.get("time")))
        except EncodingError:
            own = self.last  # the rules refuse the malformed time themselves
        return max(own, self.last)


class Ledger:
    """Library entry point. ``Ledger.open(url, operator_did=...)`` creates or opens a ledger."""

    def __init__(
        self,
        store: Store,
        operator_did: str | None = None,
        ledger_id: str | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` is the operator's clock that stamps each accepted event's ingestion time
        (default: the system clock; ``historical_clock`` to import history). Participants never
        choose it: the API server and ``submit`` construct the ledger with the system clock."""
        self.store = store
        self.clock: Clock = clock or now_us
        stored = store.get_meta("operator_did")
        stored_id = store.get_meta("ledger_id")
        if stored is None:
            if operator_did is None:
                raise ConfigError("a new ledger needs its operator's did (ledger init)")
            from batterytrace.storage.base import WriteBatch

            stored_id = check_ledger_id(ledger_id) if ledger_id is not None else new_ledger_id()
            with store.write_lock():
                store.apply(WriteBatch(meta={"operator_did": operator_did, "ledger_id": stored_id,
                                             INDEX_META: INDEX_VERSION}))
            stored = operator_did
        elif operator_did is not None and operator_did != stored:
            raise ConfigError(f"this ledger is operated by {stored}, not {operator_did}")
        if stored_id is None:
            raise ConfigError("this store holds a ledger without an identifier (created before ledger ids)")
        if ledger_id is not None and ledger_id != stored_id:
            raise ConfigError(f"this store holds ledger {stored_id}, not {ledger_id}")
        self.operator_did: str = stored
        self.ledger_id: str = stored_id
        ensure_index(store)  # a ledger from before the event index gets it now
        self._tree: CompactTree | None = None
        self._last_ingested: tuple[int, int] | None = None  # (log size, ingestion time of its last event)
        self._registry_cache: dict[str, Participant | Site] = {}

    @classmethod
    def open(cls, url: str, operator_did: str | None = None, ledger_id: str | None = None) -> Ledger:
        return cls(open_store(url), operator_did, ledger_id)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------------- writing
    def policy(self) -> LedgerPolicy | None:
        text = self.store.get_meta("policy")
        return None if text is None else LedgerPolicy.from_dict(parse_json(text))

    def submit(self, event: SignedEvent, *, signatures_checked: bool = False) -> Receipt:
        """Accept one event or raise ``RuleViolationError``."""
        result = self.submit_batch([event], signatures_checked=signatures_checked)
        if result.rejected:
            r = result.rejected[0]
            raise RuleViolationError(r.rule, r.message.removeprefix(f"[{r.rule}] "))
        return result.accepted[0]

    def submit_batch(
        self,
        events: Sequence[SignedEvent],
        *,
        signatures_checked: bool = False,
        check_clock: bool = True,
        all_or_nothing: bool = False,
        ingested_at: Sequence[int] | None = None,
    ) -> BatchResult:
        """Check each event in order; accepted ones are committed together, rejected ones are
        reported with their rule and leave no trace. With ``all_or_nothing`` one rejection
        commits nothing: ``accepted`` comes back empty and ``rejected`` names every failure.

        Every accepted event is stamped with its ingestion time (µs), stored beside it and
        committed in its Merkle leaf; ingestion times never decrease along the log. The time rules
        (``time.future``, ``time.backdate``) judge the event's own time against it, and state
        (revocations, policies) is the state at ingestion, in log order. Where it comes from:

        * by default (``check_clock``): the ledger's clock, read once per batch;
        * ``check_clock=False`` or a ledger whose clock is ``historical_clock``: historical
          import by the operator (the demo, benchmarks, a migrated log): each event counts as
          ingested at its own time, or at the previous event's ingestion time when that is
          later, so back-dating is still bounded by the log;
        * ``ingested_at``, the replay of a recorded log (``log verify``): the recorded times, one
          per event; a time before the previous one is refused (``time.ingestion``).
        """
        if ingested_at is not None and len(ingested_at) != len(events):
            raise ValueError("ingested_at names one time per event")
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return self._submit_once(events, signatures_checked, check_clock, all_or_nothing, ingested_at)
            except StorageUnavailableError as exc:
                # a transaction conflict rolled everything back: judge again on fresh state,
                # a bounded number of times (then the caller hears the store is unavailable)
                self._tree, self._last_ingested = None, None
                if not exc.retryable or attempt + 1 == WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _submit_once(
        self,
        events: Sequence[SignedEvent],
        signatures_checked: bool,
        check_clock: bool,
        all_or_nothing: bool,
        ingested_at: Sequence[int] | None,
    ) -> BatchResult:
        now = self.clock() if check_clock and ingested_at is None else None
        with self.store.write_lock():
            size = self.store.size()
            tree = self._tree
            if tree is None or tree.size != size:
                tree = CompactTree.from_source(self.store.get_node, size)
            clock = _IngestClock(self._ingested_before(size), now, ingested_at)
            result, st = self._judge(events, size, tree, clock, signatures_checked, defer=True)
            deferred = st.deferred_proofs
            if deferred:
                try:
                    deferred.verify()
                except Exception as exc:  # a false proof, or a defect in batch verification
                    if not isinstance(exc, VerificationError):
                        _log.exception("batched proof verification failed unexpectedly; judging one by one")
                    # some proof in the batch is false: judge again event by event, which
                    # names the rule and refuses only the culprits
                    tree = CompactTree.from_source(self.store.get_node, size)
                    clock = _IngestClock(self._ingested_before(size), now, ingested_at)
                    result, st = self._judge(events, size, tree, clock, signatures_checked, defer=False)
            batch = st.batch
            if st.policy_changed:
                batch.meta["policy"] = canonical_json(st.policy.to_dict()).decode()
            self._tree = None
            if all_or_nothing and result.rejected:
                return BatchResult([], result.rejected)
            if batch:
                self.store.apply(batch)
        self._tree = tree
        self._last_ingested = (tree.size, clock.last)
        return result

    def dry_run(self, events: Sequence[SignedEvent], *, check_clock: bool = True) -> tuple[BatchResult, dict[str, Lot]]:
        """Judge ``events`` as ``submit_batch`` would, commit nothing, and return the verdicts with
        every lot the accepted ones would create or change (``lot_id → Lot``): what a client
        checks before it submits, and what the rules fuzzer inspects."""
        now = self.clock() if check_clock else None
        with self.store.write_lock():
            size = self.store.size()
            tree = CompactTree.from_source(self.store.get_node, size)
            clock = _IngestClock(self._ingested_before(size), now, None)
            result, st = self._judge(events, size, tree, clock, False, defer=False)
        return result, dict(st.batch.lots)

    def _ingested_before(self, size: int) -> int:
        """Ingestion time of the last logged event (0 for an empty log)."""
        if self._last_ingested is not None and self._last_ingested[0] == size:
            return self._last_ingested[1]
        return self.store.get_event(size - 1).ingested_at if size else 0

    def ingestion_time(self, seq: int) -> int:
        """When the ledger accepted the event at ``seq`` (µs): part of its Merkle leaf."""
        return self.store.get_event(seq).ingested_at

    def _judge(
        self,
        events: Sequence[SignedEvent],
        size: int,
        tree: CompactTree,
        clock: _IngestClock,
        signatures_checked: bool,
        defer: bool,
    ) -> tuple[BatchResult, BatchState]:
        """Run every event through the rules, staging accepted ones; with ``defer`` the proofs of
        confidential events are collected for one batched check by the caller."""
        result = BatchResult()
        st = BatchState(self.store, self.operator_did, self.policy(), self._registry_cache, ledger_id=self.ledger_id)
        st.prefetch([ev.event_hash for ev in events], _referenced_lots(events))
        deferred = st.deferred_proofs = DeferredProofs() if defer else None
        batch = st.batch
        for i, ev in enumerate(events):
            mark = deferred.mark() if deferred is not None else (0, 0, 0)
            try:
                ingested = clock.time_for(i, ev)
                t, effect = check_event(ev, st, ingested_us=ingested, signature_checked=signatures_checked)
            except (RuleViolationError, EncodingError) as exc:
                rule = exc.rule if isinstance(exc, RuleViolationError) else "schema"
                result.rejected.append(Rejection(i, ev.hash_hex, rule, str(exc)))
                if deferred is not None:
                    deferred.rollback(mark)
                continue
            except Exception as exc:  # one defective judgement must not sink the batch
                _log.exception("unexpected error judging event %s; refused as %r", ev.hash_hex, INTERNAL_RULE)
                message = (
                    f"[{INTERNAL_RULE}] the ledger could not judge this event ({type(exc).__name__}); "
                    "it was refused and logged with its hash"
                )
                result.rejected.append(Rejection(i, ev.hash_hex, INTERNAL_RULE, message))
                if deferred is not None:
                    deferred.rollback(mark)
                continue
            seq = size + len(batch.events)
            clock.last = ingested
            st.merge(ev.event_hash, ev.hash_hex, effect)
            batch.events.append(
                StoredEvent(seq, ev.event_hash, ev.canonical, ev.signature, ev.kind, ev.actor, t, ingested)
            )
            batch.nodes.extend(tree.append(leaf_hash(ev.leaf_data(ingested))))
            batch.event_index.append(index_entry(ev, seq, t, ingested, st.custodians, st.identities))
            created = tuple(lid for lid, lot in effect.lots.items() if lot.event == ev.hash_hex)
            result.accepted.append(Receipt(seq, ev.hash_hex, created))
        return result, st

    # --------------------------------------------------------------------- the log
    def size(self) -> int:
        return self.store.size()

    def root(self, size: int | None = None) -> bytes:
        n = self.store.size() if size is None else size
        return subtree_hash(self.store.get_node, 0, n)

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> list[bytes]:
        n = self.store.size() if tree_size is None else tree_size
        return inclusion_proof(self.store.get_node, seq, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        n = self.store.size() if new_size is None else new_size
        return consistency_proof(self.store.get_node, old_size, n)

    def sign_tree_head(self, operator_key: SigningKey, timestamp: int | None = None) -> Checkpoint:
        """Sign and store the current tree head (the operator's checkpoint). Its timestamp (default:
        the ledger's clock) is never before the ingestion of the events it covers: a head is a
        statement that the log held them then (``log verify`` checks it)."""
        if operator_key.did != self.operator_did:
            raise ConfigError("only the ledger operator signs tree heads")
        from batterytrace.storage.base import WriteBatch

        with self.store.write_lock():
            size = self.store.size()
            covered = self._ingested_before(size)
            if timestamp is None:
                timestamp = max(self.clock() or now_us(), covered)
            elif timestamp < covered:
                raise ConfigError(f"a tree head at {timestamp} cannot cover an event ingested at {covered}")
            cp = sign_checkpoint(operator_key, size, self.root(size), timestamp, ledger=self.ledger_id)
            self.store.apply(
                WriteBatch(
                    tree_heads=[TreeHeadRecord(size, cp.root_hash, cp.timestamp, cp.signature, cp.log_id, cp.note_signature)]
                )
            )
        return cp

    def checkpoints(self) -> list[Checkpoint]:
        return [
            Checkpoint(h.log_id, h.tree_size, h.root_hash, h.timestamp, h.signature, self.ledger_id, h.note_signature)
            for h in self.store.tree_heads()
        ]

    def latest_checkpoint(self) -> Checkpoint | None:
        heads = self.checkpoints()
        return heads[-1] if heads else None

    def event_by_hash(self, event_hash_hex: str) -> tuple[int, SignedEvent] | None:
        if len(event_hash_hex) != 64:  # a SHA-256 hash in hex; checked before any decoding
            return None
        try:
            raw = bytes.fromhex(event_hash_hex)
        except ValueError:
            return None
        seq = self.store.event_seq(raw)
        if seq is None:
            return None
        stored = self.store.get_event(seq)
        return seq, SignedEvent.from_stored(stored.canonical, stored.signature)
