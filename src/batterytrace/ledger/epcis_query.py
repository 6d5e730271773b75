"""EPCIS 2.0 SimpleEventQuery over the ledger: the standard filters (``eventType``, ``EQ_action``,
``EQ_bizStep``, ``EQ_readPoint``, ``MATCH_epc``, ``MATCH_anyEPC``, ``MATCH_parentID``,
``MATCH_inputEPC``, ``MATCH_outputEPC``, ``GE_eventTime``, ``LT_eventTime``, ``GE_recordTime``,
``LT_recordTime``) with paging by an opaque ``nextPageToken``, under the read policy.

The filters run in the store through the event index (``ledger.event_index``): a page costs
O(page size) index steps for one filter, whatever the log's length, instead of decoding the log
from the start. ``MATCH_*`` compare EPC URIs exactly (no ``idpat`` patterns); ``MATCH_epc`` matches
epcList, childEPCs, inputEPCList and outputEPCList, ``MATCH_anyEPC`` parentID too. recordTime is the
ledger's ingestion time. Results come in log order, or by event time (then log order) when the
query bounds the event time. The token is the position of the last event returned, bound to the
filter it was issued for so a token cannot be replayed with another query; visibility is applied
on every page. Every returned event is exported with its signed form (see ``ledger.epcis``), a
serialised lot named by its lot URI and by its GS1 Digital Link, so ``MATCH_epc`` / ``MATCH_anyEPC``
with a product's Digital Link find every event that names it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError
from batterytrace.ledger.epcis import export_event, shape_kinds
from batterytrace.ledger.event_index import named_lots, stored_identities
from batterytrace.ledger.read_policy import AccessDeniedError, Reader
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import EventFilter, Store
from batterytrace.timeutil import format_time, parse_time

__all__ = ["MAX_PER_PAGE", "QUERY_PARAMS", "EventQuery", "QueryPage", "run_query"]

MAX_PER_PAGE = 1000
_MAX_VALUES = 100  # values per list parameter
_MAX_VALUE_CHARS = 512
_EPC_PARAMS: dict[str, frozenset[str]] = {
    "MATCH_epc": frozenset({"epc", "child", "input", "output"}),
    "MATCH_anyEPC": frozenset({"epc", "child", "input", "output", "parent"}),
    "MATCH_parentID": frozenset({"parent"}),
    "MATCH_inputEPC": frozenset({"input"}),
    "MATCH_outputEPC": frozenset({"output"}),
}
_LIST_PARAMS = ("eventType", "EQ_action", "EQ_bizStep", "EQ_readPoint", *_EPC_PARAMS)
_TIME_PARAMS = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
QUERY_PARAMS = (*_LIST_PARAMS, *_TIME_PARAMS, "perPage", "nextPageToken")
_CBV_STEP = "https://ref.gs1.org/cbv/BizStep-"


def _split(name: str, value: str) -> frozenset[str]:
    values = frozenset(v.strip() for v in value.replace("|", ",").split(",") if v.strip())
    if len(values) > _MAX_VALUES:
        raise EncodingError(f"{name}: at most {_MAX_VALUES} values")
    for v in values:
        if len(v) > _MAX_VALUE_CHARS or not v.isprintable():
            raise EncodingError(f"{name}: each value is printable text of at most {_MAX_VALUE_CHARS} characters")
    return values


@dataclass(frozen=True)
class EventQuery:
    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)  # parameter → µs
    per_page: int = 30

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        """Build from query-string parameters; unknown or malformed parameters raise
        ``EncodingError`` naming them (EPCIS QueryParameterException)."""
        lists: dict[str, frozenset[str]] = {}
        times: dict[str, int] = {}
        per_page = 30
        for name, value in params.items():
            if name in _LIST_PARAMS:
                lists[name] = _split(name, value)
            elif name in _TIME_PARAMS:
                try:
                    times[name] = parse_time(value)
                except (EncodingError, ValueError, OverflowError) as exc:
                    raise EncodingError(f"{name}: not an RFC 3339 time ({value[:40]!r})") from exc
            elif name == "perPage":
                if not value.isdigit() or len(value) > 4 or not 1 <= int(value) <= MAX_PER_PAGE:
                    raise EncodingError(f"perPage must be an integer from 1 to {MAX_PER_PAGE}")
                per_page = int(value)
            elif name != "nextPageToken":
                raise EncodingError(f"unsupported query parameter {name[:64]!r}")
        return cls(lists, times, per_page)

    def fingerprint(self) -> bytes:
        parts = [f"{k}={','.join(sorted(v))}" for k, v in sorted(self.lists.items())]
        parts += [f"{k}={v}" for k, v in sorted(self.times.items())]
        return hashlib.sha256("&".join(parts).encode()).digest()[:8]

    @property
    def order(self) -> str:
        return "time" if "GE_eventTime" in self.times or "LT_eventTime" in self.times else "seq"

    def filter(self, reader: Reader, after: tuple[int, int] | None) -> EventFilter:
        lists, times = self.lists, self.times
        steps = lists.get("EQ_bizStep")
        if steps is not None:  # bare CBV names and their full URIs are the same step
            steps = steps | {s.removeprefix(_CBV_STEP) for s in steps if s.startswith(_CBV_STEP)}
        return EventFilter(
            reader.visibility(),
            # type, action and business step are fixed by the kind (``epcis.projected_shape``): the
            # conditions become the kinds they allow, one condition the store can estimate (three
            # correlated ones make PostgreSQL guess 1 row of 25 and hash 40,000), and a query no
            # visible kind can answer reads no row
            kinds=shape_kinds(lists.get("eventType"), lists.get("EQ_action"), steps),
            read_points=lists.get("EQ_readPoint"),
            epcs=tuple((roles, lists[name]) for name, roles in _EPC_PARAMS.items() if name in lists),
            event_time_ge=times.get("GE_eventTime"), event_time_lt=times.get("LT_eventTime"),
            record_time_ge=times.get("GE_recordTime"), record_time_lt=times.get("LT_recordTime"),
            order=self.order, after=after, limit=self.per_page,
        )


@dataclass
class QueryPage:
    events: list[dict[str, Any]]
    next_token: str | None


def _token(query: EventQuery, position: tuple[int, int]) -> str:
    return b64u_encode(query.fingerprint() + position[0].to_bytes(8, "big", signed=True)
                       + position[1].to_bytes(8, "big"))


def _resume(query: EventQuery, token: str | None) -> tuple[int, int] | None:
    if token is None:
        return None
    if len(token) > 64:
        raise EncodingError("nextPageToken is malformed")
    try:
        raw = b64u_decode(token)
    except EncodingError as exc:
        raise EncodingError("nextPageToken is malformed") from exc
    if len(raw) != 24 or raw[:8] != query.fingerprint():
        raise EncodingError("nextPageToken does not belong to this query")
    seq = int.from_bytes(raw[16:], "big")
    if seq >= 1 << 63:  # no log position is (the stores' integers are signed 64-bit)
        raise EncodingError("nextPageToken is malformed")
    return int.from_bytes(raw[8:16], "big", signed=True), seq


def run_query(store: Store, query: EventQuery, token: str | None = None, *, reader: Reader) -> QueryPage:
    """One page of the events ``reader`` may see that match ``query``. A public reader is refused
    (``AccessDeniedError``): event bodies need a token. A full page carries a token to continue; the
    next page may be empty."""
    if reader.is_public:
        raise AccessDeniedError("querying event bodies needs a bearer token; tree heads, proofs and public "
                           "passports need none", needs_token=True)
    after = _resume(query, token)
    rows = store.query_events(query.filter(reader, after))
    out: list[dict[str, Any]] = []
    events = [SignedEvent.from_stored(stored.canonical, stored.signature) for stored, _ in rows]
    # the identities of every lot the page names, in one read (serialised lots by Digital Link)
    known = stored_identities(store)(sorted({lid for ev in events for lid in named_lots(ev)}))
    for (_, ix), ev in zip(rows, events, strict=True):
        exported = export_event(ev, lambda ids: {lid: known[lid] for lid in ids if lid in known})
        exported["recordTime"] = format_time(ix.ingested_at)
        out.append(exported)
    if len(rows) < query.per_page:
        return QueryPage(out, None)
    last = rows[-1][1]
    return QueryPage(out, _token(query, (last.event_time if query.order == "time" else 0, last.seq)))
