"""Event writes (signed events, single and batch) and the EPCIS 2.0 capture and query interface."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from batterytrace.api.auth import grant_of
from batterytrace.api.config import ApiConfig
from batterytrace.api.problems import ProblemError
from batterytrace.api.readers import denied, reader_of
from batterytrace.canonical import parse_json
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.ledger.access import PARTICIPANT_ROLE
from batterytrace.ledger.epcis import (
    CaptureOutcome,
    epcis_document,
    prepare_capture,
    record_capture,
)
from batterytrace.ledger.epcis_capture import capture_custodial
from batterytrace.ledger.epcis_query import MAX_PER_PAGE, QUERY_PARAMS, EventQuery, run_query
from batterytrace.ledger.event_index import stored_identities
from batterytrace.ledger.hosted_keys import load_hosted_key
from batterytrace.ledger.ledger import Ledger, check_signatures
from batterytrace.ledger.read_policy import AccessDeniedError, may_see_job
from batterytrace.model.events import SignedEvent
from batterytrace.timeutil import format_time, now_us

__all__ = ["capture_limit_headers", "router"]

router = APIRouter()
EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
LD_JSON = "application/ld+json"


class WireEvent(BaseModel):
    event: dict[str, Any] = Field(description="The event body (RFC 8785 canonicalised when signed).")
    signature: str = Field(description="base64url Ed25519 signature by the event's actor.")


class BatchRequest(BaseModel):
    events: list[WireEvent] = Field(max_length=10_000)
    all_or_nothing: bool = Field(False, description="Record nothing when any event is rejected.")


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _signed(w: WireEvent) -> SignedEvent:
    return SignedEvent.from_wire({"event": w.event, "signature": w.signature})


@router.post("/events", status_code=201, tags=["events"], summary="Record one signed event")
def submit_event(body: WireEvent, request: Request) -> dict[str, Any]:
    """The event must be signed by its actor, a registered participant; ledger rules apply."""
    ev = _signed(body)
    _, bad = check_signatures([ev])  # before the write lock: forged events never hold it
    if bad:
        raise RuleViolationError("signature", bad[0].message.removeprefix("[signature] "))
    with request.app.state.write_lock:
        receipt = _ledger(request).submit(ev, signatures_checked=True)
    return {"seq": receipt.seq, "event_hash": receipt.event_hash, "lots": list(receipt.lots)}


@router.post("/events/batch", tags=["events"], summary="Record signed events in order")
def submit_batch(body: BatchRequest, request: Request) -> dict[str, Any]:
    events: list[SignedEvent] = []
    rejected: list[dict[str, Any]] = []
    positions: list[int] = []
    for i, w in enumerate(body.events):
        try:
            events.append(_signed(w))
            positions.append(i)
        except EncodingError as exc:
            rejected.append({"index": i, "event_hash": None, "rule": "schema", "message": str(exc)})
    good, bad = check_signatures(events)  # before the write lock: forged events never hold it
    rejected += [{"index": positions[r.index], "event_hash": r.event_hash, "rule": r.rule, "message": r.message}
                 for r in bad]
    if (rejected and body.all_or_nothing) or not good:
        rejected.sort(key=lambda r: int(r["index"]))
        return {"accepted": [], "rejected": rejected}
    events = [events[i] for i in good]
    positions = [positions[i] for i in good]
    with request.app.state.write_lock:
        result = _ledger(request).submit_batch(events, all_or_nothing=body.all_or_nothing, signatures_checked=True)
    rejected += [{"index": positions[r.index], "event_hash": r.event_hash, "rule": r.rule, "message": r.message}
                 for r in result.rejected]
    rejected.sort(key=lambda r: int(r["index"]))
    return {"accepted": [{"seq": a.seq, "event_hash": a.event_hash, "lots": list(a.lots)} for a in result.accepted],
            "rejected": rejected}


class CaptureJobs:
    """Capture jobs of this process (the most recent ``keep``), each with the subject of the grant
    that submitted it (``None`` without a token)."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._owners: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def add(self, outcome: CaptureOutcome, created_us: int, owner: str | None = None) -> dict[str, Any]:
        """Record a finished job; a job posted under a participant credential (``owner``: the
        participant's did) is shown to that participant only."""
        capture_id = secrets.token_hex(16)
        job: dict[str, Any] = {"captureID": capture_id, "createdAt": format_time(created_us),
               "finishedAt": format_time(now_us()), "running": False, "success": outcome.success,
               "captureErrorBehaviour": outcome.behaviour, "eventsRecorded": len(outcome.accepted),
               "errors": outcome.errors, "bt:recorded": outcome.recorded}
        with self._lock:
            self._jobs[capture_id] = job
            self._owners[capture_id] = owner
            while len(self._jobs) > self.keep:
                gone, _ = self._jobs.popitem(last=False)
                self._owners.pop(gone, None)
        return job

    def get(self, capture_id: str, reader: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            if self._owners.get(capture_id) not in (None, reader):
                return None
            return self._jobs.get(capture_id)

    def ids(self, visible: Callable[[str | None], bool]) -> list[str]:
        """The ids of the jobs whose owner ``visible`` accepts, oldest first."""
        with self._lock:
            return [i for i in self._jobs if visible(self._owners.get(i))]


def capture_limit_headers(cfg: ApiConfig) -> dict[str, str]:
    """The EPCIS capture limits (also on a 413 answer to a capture document too large)."""
    return {**EPCIS_HEADERS, "GS1-EPCIS-Capture-Limit": str(cfg.capture_limit),
            "GS1-EPCIS-Capture-File-Size-Limit": str(cfg.body_limit("capture")),
            "GS1-Capture-Error-Behaviour": "rollback, proceed"}


def _limits(request: Request) -> dict[str, str]:
    return capture_limit_headers(request.app.state.config)


@router.options("/capture", status_code=204, tags=["epcis"], summary="Capture limits")
def capture_options(request: Request) -> Response:
    return Response(status_code=204, headers={**_limits(request), "Allow": "OPTIONS, GET, POST"})


_CAPTURE_BODY = {"requestBody": {"required": True, "content": {
    LD_JSON: {"schema": {"type": "object", "description": "EPCIS 2.0 EPCISDocument (JSON-LD)"}},
    "application/json": {"schema": {"type": "object", "description": "EPCIS 2.0 EPCISDocument (JSON-LD)"}}}}}


@router.post("/capture", status_code=202, tags=["epcis"], summary="Capture an EPCIS document",
             openapi_extra=_CAPTURE_BODY)
async def capture(request: Request, gs1_capture_error_behaviour: str = Header(
        "rollback", alias="GS1-Capture-Error-Behaviour")) -> JSONResponse:
    """Without credentials every event must carry ``bt:event`` and ``bt:signature`` (our JSON-LD
    namespace). With a participant credential (``Authorization: Bearer``) plain EPCIS 2.0 events
    are mapped to ledger events and signed with the participant's hosted key, marked custodial
    (docs/epcis-mapping.md). The job completes before the answer; its status stays at ``Location``."""
    cfg = request.app.state.config
    grant = grant_of(request)  # a participant credential: plain EPCIS, signed with the hosted key
    if grant is not None and grant.role != PARTICIPANT_ROLE:
        raise ProblemError(403, "capture-forbidden", "Not a participant credential",
                           f"a {grant.role} token reads; capture takes self-signed events or a participant credential")
    raw = await request.body()  # bounded while read by api/limits.py (413 past the capture limit)
    created = now_us()
    grant = grant_of(request)
    doc = await run_in_threadpool(parse_json, raw)
    body = doc.get("epcisBody") if isinstance(doc, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    if isinstance(events, list) and len(events) > cfg.capture_limit:
        raise ProblemError(413, "capture-too-large", "Too many events",
                      f"at most {cfg.capture_limit} events per capture", _limits(request))

    behaviour = gs1_capture_error_behaviour.strip().lower()
    ledger: Ledger = request.app.state.ledger
    kek = request.app.state.kek

    def key_for(did: str) -> SigningKey | None:
        return None if kek is None else load_hosted_key(ledger.store, ledger.ledger_id, kek, did)

    def work() -> CaptureOutcome:
        if grant is None:
            # signatures and projections are verified before the write lock: a flood of forged
            # events never holds up writers, and a document refused whole never takes the lock
            # the ledger's identities check the Digital Links of lots created before this document
            # (an identity is fixed when its lot is created: read without the lock)
            prepared = prepare_capture(doc, behaviour, stored_identities(ledger.store))
            if not prepared.needs_ledger:
                return record_capture(ledger, prepared)
            with request.app.state.write_lock:
                return record_capture(ledger, prepared)
        with request.app.state.write_lock:
            return capture_custodial(ledger, doc, participant=grant.subject, credential_id=grant.token_id,
                                     key_for=key_for, behaviour=behaviour)

    outcome = await run_in_threadpool(work)
    job = request.app.state.capture_jobs.add(outcome, created, None if grant is None else grant.subject)
    return JSONResponse(job, status_code=202, headers={**EPCIS_HEADERS, "Location": f"/capture/{job['captureID']}"})


@router.get("/capture", tags=["epcis"], summary="Your capture jobs (bearer token required)")
def capture_jobs(request: Request) -> list[str]:
    """The capture jobs submitted with the caller's token (authorities: every job). A job
    submitted without a token is listed to nobody; its ``Location`` finds it."""
    grant = grant_of(request)
    if grant is None:
        raise ProblemError(401, "unauthorized", "Unauthorized", "listing capture jobs needs a bearer token",
                           {"WWW-Authenticate": "Bearer"})
    ids: list[str] = request.app.state.capture_jobs.ids(lambda owner: may_see_job(grant, owner))
    return ids


def _reader(request: Request) -> str | None:
    grant = grant_of(request)
    return grant.subject if grant is not None and grant.role == PARTICIPANT_ROLE else None


@router.get("/capture/{capture_id}", tags=["epcis"], summary="Capture job status")
def capture_job(request: Request, capture_id: str = Path(..., max_length=64)) -> JSONResponse:
    job = request.app.state.capture_jobs.get(capture_id, _reader(request))
    if job is None:
        raise ProblemError(404, "not-found", "No such capture job", f"no capture job {capture_id}")
    return JSONResponse(job, headers=EPCIS_HEADERS)


@router.get("/events", tags=["epcis"], summary="EPCIS SimpleEventQuery (bearer token required)",
            response_description="An EPCISQueryDocument; a Link header carries the next page")
def query_events(
    request: Request,
    eventType: str | None = Query(None, description="ObjectEvent, AggregationEvent, TransformationEvent"),  # noqa: N803
    EQ_action: str | None = Query(None),  # noqa: N803
    EQ_bizStep: str | None = Query(None, description="bizStep values, comma-separated"),  # noqa: N803
    EQ_readPoint: str | None = Query(None, description="read point (site) URIs, comma-separated"),  # noqa: N803
    MATCH_epc: str | None = Query(None, description="EPC URIs, comma-separated"),  # noqa: N803
    MATCH_anyEPC: str | None = Query(None),  # noqa: N803
    MATCH_parentID: str | None = Query(None),  # noqa: N803
    MATCH_inputEPC: str | None = Query(None),  # noqa: N803
    MATCH_outputEPC: str | None = Query(None),  # noqa: N803
    GE_eventTime: str | None = Query(None, description="RFC 3339 time, inclusive"),  # noqa: N803
    LT_eventTime: str | None = Query(None, description="RFC 3339 time, exclusive"),  # noqa: N803
    GE_recordTime: str | None = Query(None, description="ingestion time (RFC 3339), inclusive"),  # noqa: N803
    LT_recordTime: str | None = Query(None, description="ingestion time (RFC 3339), exclusive"),  # noqa: N803
    perPage: int = Query(30, ge=1, le=MAX_PER_PAGE),  # noqa: N803
    nextPageToken: str | None = Query(None, max_length=64),  # noqa: N803
) -> JSONResponse:
    """The events the caller may read (docs/api.md, read policy) that match the filters, through
    the event index: a page costs O(page size), not a scan of the log."""
    unknown = sorted(set(request.query_params) - set(QUERY_PARAMS))
    if unknown:
        raise ProblemError(400, "query-parameter", "QueryParameterException",
                           f"unsupported query parameter(s): {', '.join(u[:64] for u in unknown[:5])}")
    reader = reader_of(request)
    given = {"eventType": eventType, "EQ_action": EQ_action, "EQ_bizStep": EQ_bizStep, "EQ_readPoint": EQ_readPoint,
             "MATCH_epc": MATCH_epc, "MATCH_anyEPC": MATCH_anyEPC, "MATCH_parentID": MATCH_parentID,
             "MATCH_inputEPC": MATCH_inputEPC, "MATCH_outputEPC": MATCH_outputEPC, "GE_eventTime": GE_eventTime,
             "LT_eventTime": LT_eventTime, "GE_recordTime": GE_recordTime, "LT_recordTime": LT_recordTime,
             "perPage": str(perPage)}
    params = {k: v for k, v in given.items() if v is not None}
    query = EventQuery.from_params(params)
    try:
        page = run_query(_ledger(request).store, query, nextPageToken, reader=reader)
    except AccessDeniedError as exc:
        raise denied(exc) from exc
    headers = dict(EPCIS_HEADERS)
    if page.next_token:
        from urllib.parse import urlencode

        headers["Link"] = f'</events?{urlencode({**params, "nextPageToken": page.next_token})}>; rel="next"'
    doc = epcis_document(page.events, int(time.time() * 1_000_000), query=True)
    if page.next_token:
        doc["bt:nextPageToken"] = page.next_token
    return JSONResponse(doc, media_type=LD_JSON, headers=headers)
