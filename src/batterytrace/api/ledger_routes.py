"""The transparency log: tree heads, inclusion and consistency proofs, events; lot traces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from batterytrace.api.problems import ProblemError
from batterytrace.api.readers import denied, reader_of
from batterytrace.crypto.merkle import leaf_hash
from batterytrace.errors import NotFoundError
from batterytrace.ledger.checkpoint import checkpoint_verifier
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.read_policy import AccessDeniedError, may_read_event, may_trace
from batterytrace.ledger.trace import trace_backward, trace_forward

__all__ = ["router"]

router = APIRouter(tags=["ledger"])
HASH_PATTERN = "^[0-9a-f]{64}$"
LOT_PATTERN = "^[0-9a-f]{64}:[0-9]{1,6}$"


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


@router.get("/ledger/head", summary="Current tree size and root, and the latest signed checkpoint")
def head(request: Request) -> dict[str, Any]:
    ledger = _ledger(request)
    size = ledger.size()
    cp = ledger.latest_checkpoint()
    verifier = checkpoint_verifier(ledger.ledger_id, ledger.operator_did)
    return {"ledger": ledger.ledger_id, "operator": ledger.operator_did, "tree_size": size, "root_hash": ledger.root(size).hex(),
            "checkpoint": cp.to_dict() if cp else None, "checkpoint_origin": verifier.name,
            "checkpoint_vkey": verifier.encode()}


NOTE_TEXT = "text/plain; charset=utf-8"


@router.get("/ledger/checkpoint", summary="The latest signed tree head as a C2SP tlog-checkpoint (signed note)",
            response_class=PlainTextResponse,
            responses={200: {"content": {NOTE_TEXT: {}}}, 404: {"description": "no tree head with a note yet"}})
def checkpoint_note(request: Request) -> PlainTextResponse:
    """The operator-signed note ``<origin>\\n<tree size>\\n<base64 root>\\n`` of the latest tree
    head that has one, verifiable with ``checkpoint_vkey`` of ``/ledger/head`` by any C2SP
    signed-note verifier (e.g. Go's golang.org/x/mod/sumdb/note)."""
    ledger = _ledger(request)
    noted = [cp for cp in ledger.checkpoints() if cp.note_signature is not None]
    if not noted:
        raise NotFoundError("no tree head has been signed as a checkpoint note yet; the operator runs 'batterytrace log head'")
    return PlainTextResponse(noted[-1].to_note(), media_type=NOTE_TEXT, headers={"Cache-Control": "no-cache"})


@router.get("/ledger/checkpoints", summary="Every operator-signed tree head")
def checkpoints(request: Request) -> list[dict[str, Any]]:
    return [cp.to_dict() for cp in _ledger(request).checkpoints()]


@router.get("/ledger/events/{event_hash}", summary="One logged event in its signed wire form (bearer token required)")
def event(request: Request, event_hash: str) -> dict[str, Any]:
    """Under the read policy: 401 without a token, 403 for an event the caller may not read (its
    existence is public anyway: the inclusion proof of a hash is), 404 for an unknown hash."""
    reader = reader_of(request)
    ledger = _ledger(request)
    if reader.is_public:
        raise denied(AccessDeniedError("reading event bodies needs a bearer token; tree heads, proofs and public "
                                  "passports need none", needs_token=True))
    found = ledger.event_by_hash(event_hash.lower()[:64]) if len(event_hash) == 64 else None
    if found is None:
        raise NotFoundError(f"no event {event_hash[:64]} in the log")
    seq, ev = found
    if not may_read_event(ledger.store, reader, seq):
        raise ProblemError(403, "forbidden", "Forbidden", "the read policy does not show you this event")
    return {"seq": seq, "ingested_at": _ledger(request).ingestion_time(seq), **ev.to_wire()}


def _size(ledger: Ledger, tree_size: int | None) -> int:
    size = ledger.size()
    if tree_size is None:
        return size
    if tree_size > size:
        raise ProblemError(400, "invalid-request", "Invalid request", f"tree_size {tree_size} exceeds the log size {size}")
    return tree_size


@router.get("/ledger/proofs/inclusion", summary="RFC 9162 inclusion proof of an event")
def inclusion(request: Request, event_hash: str = Query(..., pattern=HASH_PATTERN),
              tree_size: int | None = Query(None, ge=1)) -> dict[str, Any]:
    ledger = _ledger(request)
    found = ledger.event_by_hash(event_hash)
    if found is None:
        raise NotFoundError(f"no event {event_hash} in the log")
    seq, ev = found
    n = _size(ledger, tree_size)
    if seq >= n:
        raise ProblemError(400, "invalid-request", "Invalid request", f"event is leaf {seq}, not in a tree of {n}")
    ingested = ledger.ingestion_time(seq)
    return {"ledger": ledger.ledger_id, "leaf_index": seq, "ingested_at": ingested, "tree_size": n,
            "leaf_hash": leaf_hash(ev.leaf_data(ingested)).hex(),
            "root_hash": ledger.root(n).hex(), "proof": [p.hex() for p in ledger.inclusion_proof(seq, n)]}


@router.get("/ledger/proofs/consistency", summary="RFC 9162 consistency proof between two tree sizes")
def consistency(request: Request, old_size: int = Query(..., ge=1),
                new_size: int | None = Query(None, ge=1)) -> dict[str, Any]:
    ledger = _ledger(request)
    n = _size(ledger, new_size)
    if old_size > n:
        raise ProblemError(400, "invalid-request", "Invalid request", f"old_size {old_size} exceeds new_size {n}")
    return {"ledger": ledger.ledger_id, "old_size": old_size, "new_size": n, "old_root": ledger.root(old_size).hex(),
            "new_root": ledger.root(n).hex(), "proof": [p.hex() for p in ledger.consistency_proof(old_size, n)]}


@router.get("/trace/{lot_id}", summary="Backward or forward trace of a lot (bearer token required)")
def trace(request: Request, lot_id: str, direction: str = Query("backward", pattern="^(backward|forward)$")
          ) -> dict[str, Any]:
    """Lineage shows who supplied whom: any access-level token, or a participant's token for a lot
    it held (403 otherwise; 401 without a token)."""
    reader = reader_of(request)
    if reader.is_public:
        raise denied(AccessDeniedError("tracing a lot needs a bearer token", needs_token=True))
    store = _ledger(request).store
    lot = store.get_lot(lot_id)
    if lot is None:
        raise NotFoundError(f"lot {lot_id[:80]} does not exist")
    if not may_trace(reader, lot):
        raise ProblemError(403, "forbidden", "Forbidden", "a participant may trace only the lots it held")
    if direction == "forward":
        fwd = trace_forward(store, [lot_id])
        return {"lot": lot_id, "direction": "forward", "lot_count": fwd.lot_count, "packs": fwd.pack_ids}
    tr = trace_backward(store, lot_id)
    return {"lot": lot_id, "direction": "backward", "lots": sorted(tr.lots), "origin_shares_percent": tr.shares(),
            "recycled_from": tr.recycled_from}
