"""Passport status lists (IETF Token Status List): served for verifiers, published by issuers."""

from __future__ import annotations

import time

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from batterytrace.api.problems import ProblemError
from batterytrace.errors import NotFoundError, RuleViolationError
from batterytrace.passport.registry import PassportDesk
from batterytrace.passport.signing_key import SigningKeyError

__all__ = ["STATUS_LIST_TYPE", "router"]

router = APIRouter(tags=["passports"])
STATUS_LIST_TYPE = "application/statuslist+jwt"
MAX_TOKEN_BYTES = 1 << 20

# statuslist.* refusals: a list that is not the signer's or not signed by its issuer's key in force
# (403), an older or reinstating list (409)
_STATUS = {"statuslist.issuer": (403, "Not the signer's status list"),
           "statuslist.signer": (403, "Not signed by a key of the list's issuer"),
           "statuslist.key-rotated": (403, "Signed by a key the operator rotated out"),
           "statuslist.rollback": (409, "Older than the status list served"),
           "statuslist.final": (409, "A revoked passport stays revoked")}


@router.get("/statuslists/{list_id}", summary="An issuer's passport status list (Status List Token)",
            responses={200: {"content": {STATUS_LIST_TYPE: {}}}})
def status_list(request: Request, list_id: str = Path(..., pattern="^[0-9a-f]{32}$")) -> PlainTextResponse:
    """The latest Status List Token of an issuer (``statuslist+jwt``, signed by the issuer): every
    passport names its entry (``status.status_list``); 0 valid, 1 revoked, 2 suspended."""
    desk: PassportDesk = request.app.state.desk
    token = desk.status_lists.token(list_id)
    if token is None:
        raise NotFoundError(f"no status list {list_id}")
    return PlainTextResponse(token, media_type=STATUS_LIST_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.post("/statuslists", status_code=201, summary="Publish an issuer's status list",
             openapi_extra={"requestBody": {"required": True, "content": {
                 STATUS_LIST_TYPE: {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}})
async def publish_status_list(request: Request) -> dict[str, object]:
    """An issuer publishes a new Status List Token it signed (after revoking or suspending one of
    its passports): the token must be its issuer's list, signed by the issuer's key in force on this
    ledger, newer than the one served, and keep every revoked entry revoked."""
    raw = await request.body()
    if len(raw) > MAX_TOKEN_BYTES:
        raise ProblemError(413, "too-large", "Status list too large", f"at most {MAX_TOKEN_BYTES} bytes")
    desk: PassportDesk = request.app.state.desk
    try:
        token = desk.accept_status_list(raw.decode("ascii", errors="replace"), int(time.time()))
    except (RuleViolationError, SigningKeyError) as exc:
        status, title = _STATUS.get(exc.rule, (422, "Status list refused"))
        raise ProblemError(status, f"rule/{exc.rule}", title, exc.detail, rule=exc.rule) from exc
    request.app.state.rendered_pages.clear()
    request.app.state.public_generation += 1  # cached public pages are stale
    return {"list": token.uri, "issuer": token.issuer, "issued_at": token.issued_at}
