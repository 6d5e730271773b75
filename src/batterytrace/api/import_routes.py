"""``POST /import/csv``: a supplier's CSV file (docs/csv-import.md) posted under its participant
credential, signed with its hosted key (custodial, as plain EPCIS capture) and recorded all rows
or none. The rules live in ``ledger/csv_import.py``; this route authenticates, bounds the body
and turns the outcome into JSON or a problem document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from batterytrace.api.auth import require_grant
from batterytrace.api.problems import ProblemError
from batterytrace.errors import VerificationError
from batterytrace.ledger.access import PARTICIPANT_ROLE
from batterytrace.ledger.csv_import import KINDS, MAX_CSV_BYTES, CsvError, ImportResult, import_csv
from batterytrace.ledger.hosted_keys import load_hosted_key
from batterytrace.ledger.ledger import Ledger

__all__ = ["router"]

router = APIRouter()


@router.post("/import/csv", status_code=201, tags=["events"], summary="Record a supplier CSV file, all rows or none",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_csv_route(request: Request, kind: str = Query(..., description=f"One of {', '.join(KINDS)}."),
                           check: bool = Query(False, description="Check and judge every row; record nothing.")
                           ) -> JSONResponse:
    """The same semantics as ``batterytrace import csv``: every row is checked, every event judged,
    then all are recorded together, signed with the participant's hosted key and marked custodial
    under the credential. Row errors and ledger refusals answer 422 with ``problems``
    (``row``, ``column``, ``message``) and, for a refusal, the ``rule``."""
    grant = require_grant(request)
    if grant.role != PARTICIPANT_ROLE:
        raise ProblemError(403, "import-forbidden", "Not a participant credential",
                           f"a {grant.role} token reads; a CSV import needs a participant credential")
    if kind not in KINDS:
        raise ProblemError(400, "malformed", "Unknown CSV kind", f"kind must be one of {', '.join(KINDS)}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CSV_BYTES:
        raise ProblemError(413, "import-too-large", "CSV file too large", f"at most {MAX_CSV_BYTES} bytes per file")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_CSV_BYTES:
            raise ProblemError(413, "import-too-large", "CSV file too large", f"at most {MAX_CSV_BYTES} bytes per file")
    ledger: Ledger = request.app.state.ledger
    kek = request.app.state.kek

    def work() -> ImportResult:
        key = None if kek is None else load_hosted_key(ledger.store, ledger.ledger_id, kek, grant.subject)
        if key is None:
            raise ProblemError(409, "not-configured", "No hosted key",
                               f"the service holds no hosted key for {grant.subject}; import with your own key "
                               "('batterytrace import csv') or ask the operator for a hosted key")
        with request.app.state.write_lock:
            return import_csv(ledger, kind, bytes(raw), key, None, check_only=check, credential_id=grant.token_id)

    try:
        result = await run_in_threadpool(work)
    except CsvError as exc:
        extra: dict[str, Any] = {"problems": [{"row": r, "column": c, "message": m} for r, c, m in exc.problems]}
        if exc.rule is not None:
            extra["rule"] = exc.rule
        raise ProblemError(422, "csv-import" if exc.rule is None else f"rule/{exc.rule}", "CSV file not recorded",
                           str(exc).splitlines()[0], **extra) from exc
    except VerificationError as exc:  # the hosted key does not open (KEK changed, tampered row)
        raise ProblemError(409, "hosted-key", "Hosted key unusable", str(exc)) from exc
    body = {"kind": kind, "recorded": not check, "custodial": {"credential": grant.token_id},
            "events": [{"rows": rows, "event": event_hash} for rows, event_hash in result.events],
            "ids": result.lots, "log_size": result.log_size}
    return JSONResponse(body, status_code=200 if check else 201)
