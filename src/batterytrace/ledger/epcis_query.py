"""EPCIS 2.0 SimpleEventQuery over the ledger: the standard filters (``eventType``, ``EQ_action``,
``EQ_bizStep``, ``MATCH_epc``, ``MATCH_anyEPC``, ``GE_eventTime``, ``LT_eventTime``) with paging by an opaque ``nextPageToken``.

The query walks the log in sequence order from the page token; the token is the sequence number
to resume at, bound to the filter it was issued for so a token cannot be replayed with another
query. Every returned event is exported with its signed form (see ``ledger.epcis``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError
from batterytrace.ledger.epcis import export_event
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import Store
from batterytrace.timeutil import parse_time

__all__ = ["MAX_PER_PAGE", "EventQuery", "QueryPage", "run_query"]

MAX_PER_PAGE = 1000
_LIST_PARAMS = ("eventType", "EQ_action", "EQ_bizStep", "MATCH_epc", "MATCH_anyEPC")
_TIME_PARAMS = ("GE_eventTime", "LT_eventTime")


def _split(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.replace("|", ",").split(",") if v.strip())


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
                lists[name] = _split(value)
            elif name in _TIME_PARAMS:
                try:
                    times[name] = parse_time(value)
                except (EncodingError, ValueError) as exc:
                    raise EncodingError(f"{name}: not an RFC 3339 time ({value!r})") from exc
            elif name == "perPage":
                if not value.isdigit() or not 1 <= int(value) <= MAX_PER_PAGE:
                    raise EncodingError(f"perPage must be an integer from 1 to {MAX_PER_PAGE}")
                per_page = int(value)
            elif name != "nextPageToken":
                raise EncodingError(f"unsupported query parameter {name!r}")
        return cls(lists, times, per_page)

    def fingerprint(self) -> bytes:
        parts = [f"{k}={','.join(sorted(v))}" for k, v in sorted(self.lists.items())]
        parts += [f"{k}={v}" for k, v in sorted(self.times.items())]
        return hashlib.sha256("&".join(parts).encode()).digest()[:8]

    def matches(self, e: dict[str, Any]) -> bool:
        lists = self.lists
        if "eventType" in lists and e["type"] not in lists["eventType"]:
            return False
        if "EQ_action" in lists and e.get("action") not in lists["EQ_action"]:
            return False
        if "EQ_bizStep" in lists and not _step_in(e.get("bizStep"), lists["EQ_bizStep"]):
            return False
        epcs = set(e.get("epcList", [])) | set(e.get("childEPCs", [])) | set(e.get("inputEPCList", [])) | set(
            e.get("outputEPCList", []))
        if "MATCH_epc" in lists and not epcs & lists["MATCH_epc"]:
            return False
        if "MATCH_anyEPC" in lists and not (epcs | {e.get("parentID")}) & lists["MATCH_anyEPC"]:
            return False
        t = self.times
        event_us = parse_time(e["eventTime"])
        if "GE_eventTime" in t and event_us < t["GE_eventTime"]:
            return False
        return not ("LT_eventTime" in t and event_us >= t["LT_eventTime"])


def _step_in(step: Any, wanted: frozenset[str]) -> bool:
    """Bare CBV names and their full URIs (https://ref.gs1.org/cbv/BizStep-…) are the same step."""
    if not isinstance(step, str):
        return False
    return step in wanted or f"https://ref.gs1.org/cbv/BizStep-{step}" in wanted


@dataclass
class QueryPage:
    events: list[dict[str, Any]]
    next_token: str | None


def _token(query: EventQuery, seq: int) -> str:
    return b64u_encode(query.fingerprint() + seq.to_bytes(8, "big"))


def _resume(query: EventQuery, token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = b64u_decode(token)
    except EncodingError as exc:
        raise EncodingError("nextPageToken is malformed") from exc
    if len(raw) != 16 or raw[:8] != query.fingerprint():
        raise EncodingError("nextPageToken does not belong to this query")
    return int.from_bytes(raw[8:], "big")


def run_query(store: Store, query: EventQuery, token: str | None = None,
              scan_limit: int = 100_000) -> QueryPage:
    """One page of matching events in log order. At most ``scan_limit`` log entries are read per
    call; a page can therefore be short and still carry a token to continue."""
    start = _resume(query, token)
    size = store.size()
    out: list[dict[str, Any]] = []
    seq = start
    end = min(size, start + scan_limit)
    for stored in store.iter_events(start, end):
        seq = stored.seq + 1
        ev = SignedEvent.from_stored(stored.canonical, stored.signature)
        exported = export_event(ev)
        if query.matches(exported):
            out.append(exported)
            if len(out) >= query.per_page:
                break
    else:
        seq = end
    return QueryPage(out, _token(query, seq) if seq < size else None)
