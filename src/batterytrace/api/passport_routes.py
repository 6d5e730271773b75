"""Passports by GS1 Digital Link with content negotiation, the verify endpoint, viewer sign-in."""

from __future__ import annotations

import csv
import io
import time
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel, Field

from batterytrace.api.auth import TOKEN_COOKIE, access_level, grant_of
from batterytrace.api.cache import LINKSET_TYPE, SD_JWT_TYPES, representation
from batterytrace.api.problems import ProblemError
from batterytrace.errors import (
    BatterytraceError,
    EncodingError,
    NotFoundError,
    RuleViolationError,
    VerificationError,
)
from batterytrace.ledger.access import PARTICIPANT_ROLE
from batterytrace.ledger.credentials import verify_credential
from batterytrace.ledger.material_flow import MaterialFlow, battery_flow
from batterytrace.ledger.read_policy import AccessDeniedError, Reader
from batterytrace.model.identifiers import (
    IdentifierError,
    check_serial,
    gtin_check_digit,
    normalise_gtin,
)
from batterytrace.passport.history import battery_history, operator_batteries
from batterytrace.passport.issue import ACCESS_LEVELS, PassportVerification, verify_passport
from batterytrace.passport.registry import PassportDesk, model_listing
from batterytrace.passport.signing_key import SigningKeyError
from batterytrace.passport.status import PassportStatusError
from batterytrace.passport.view import Check, passport_view, verification_checks
from batterytrace.timeutil import format_time
from batterytrace.web.i18n import LANGUAGES, negotiate, t
from batterytrace.web.render import (
    PageContext,
    render_error,
    render_index,
    render_model,
    render_operator,
    render_passport,
    render_signin,
)

__all__ = ["link_router", "router"]

router = APIRouter(tags=["passports"])
# the GS1 Digital Link paths, mounted at the root and under the resolver's path prefix (app.py)
link_router = APIRouter(tags=["passports"])


def _level(granted: str, wanted: str | None) -> str:
    """The access level granted (bearer token or sign-in cookie), or with ``?level=`` (a linkset
    names each level's presentation) that level itself or public; any other is a 403 (the levels
    are audiences, not nested: issue.py AUDIENCES)."""
    if wanted is None:
        return granted
    if wanted not in ACCESS_LEVELS:
        raise ProblemError(400, "invalid-request", "Invalid request", f"level must be one of {', '.join(ACCESS_LEVELS)}",
                           field="level")
    if wanted not in ("public", granted):
        raise ProblemError(403, "forbidden", "Access level not granted", f"the {wanted} presentation needs an "
                           f"operator-issued bearer token granting it (this request has {granted})")
    return wanted


def _wants(request: Request) -> str:
    return representation(request.headers.get("accept", ""))


def _safe_next(value: str | None) -> str:
    """Only local paths: no scheme, no network path (``//host``, ``/\\host``), no control characters."""
    if not value or not value.startswith("/") or value[1:2] in ("/", "\\"):
        return "/"
    return value if value.isprintable() and "\\" not in value else "/"


LANG_COOKIE = "bt_lang"


def _lang(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                     request.headers.get("accept-language"))


def _page(request: Request, html: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An HTML page; a ``?lang=`` choice is remembered in a cookie."""
    response = HTMLResponse(html, status_code=status, headers=headers)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES and chosen != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, str(chosen), max_age=365 * 86400, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


def _viewer_level(request: Request) -> tuple[str, bool]:
    """The reader's access level and whether a sign-in cookie was refused. A bearer token is
    strict (401 when it fails); a sign-in cookie that fails (expired, another service's) falls
    back to the public view, so public data is never hidden behind a stale cookie."""
    if request.headers.get("authorization") or TOKEN_COOKIE not in request.cookies:
        return access_level(request), False
    try:
        return access_level(request), False
    except ProblemError as exc:
        if exc.status != 401:
            raise
        return "public", True


def _gtin_problem(gtin: str, lang: str) -> str | None:
    """Why ``gtin`` is not a GTIN-8, -12, -13 or -14, in words; ``None`` when it is one."""
    if not gtin.isascii() or not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return t("bad_gtin_length", lang, gtin=gtin[:40])
    if gtin_check_digit(gtin[:-1]) != int(gtin[-1]):
        return t("bad_gtin_check", lang, gtin=gtin, want=gtin_check_digit(gtin[:-1]))
    return None


def _html_error(request: Request, exc: Exception, ctx: PageContext, gtin: str, serial: str) -> HTMLResponse | None:
    """The page a browser gets for ``exc`` on a passport link; ``None`` to answer as the API does."""
    lang = ctx.lang
    if isinstance(exc, NotFoundError):
        return _page(request, render_error(404, t("not_found_title", lang),
                                           t("not_found", lang, gtin=gtin, serial=serial), ctx, str(exc),
                                           gtin=gtin, serial=serial), 404)
    if isinstance(exc, PassportStatusError):
        revoked = exc.rule == "passport.revoked"
        return _page(request, render_error(410 if revoked else 409, t("revoked_title" if revoked else "suspended_title", lang),
                                           exc.detail, ctx, exc.rule, search=False), 410 if revoked else 409)
    if isinstance(exc, SigningKeyError):  # signed by a key that no longer (or never) spoke for its issuer
        return _page(request, render_error(422, t("failed_title", lang), f"{t('failed_intro', lang)} {exc.detail}", ctx,
                                           exc.rule, search=False), 422)
    if isinstance(exc, VerificationError):
        return _page(request, render_error(422, t("failed_title", lang), f"{t('failed_intro', lang)} {exc}", ctx,
                                           type(exc).__name__, search=False), 422)
    if isinstance(exc, ProblemError) and exc.status < 500:
        return _page(request, render_error(exc.status, t("error", lang), t("other_error", lang), ctx, exc.detail),
                     exc.status)
    return None


def _gtin14(gtin: str) -> str:
    try:
        return normalise_gtin(gtin)
    except IdentifierError as exc:
        raise ProblemError(400, "invalid-identifier", "Invalid GS1 identifier", str(exc), field="gtin") from exc


def _canonical(request: Request, gtin: str, gtin14: str) -> RedirectResponse | None:
    """A GTIN-8, -12 or -13 in the path answers a permanent redirect to the GTIN-14 form (the one
    link of the item: GS1 Digital Link's uncompressed canonical form)."""
    if gtin == gtin14:
        return None
    path = request.url.path.replace(f"/01/{gtin}", f"/01/{gtin14}", 1)
    query = request.url.query
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=301)


@link_router.get("/01/{gtin}/21/{serial}", summary="Battery passport by GS1 Digital Link",
                 responses={200: {"content": {"text/html": {}, "application/json": {}, SD_JWT_TYPES[0]: {}}}})
def passport(request: Request, gtin: str = Path(..., max_length=64),
             serial: str = Path(..., min_length=1, max_length=64),
             level: str | None = Query(None, max_length=32, description="A presentation at or below the level "
                                       "granted (public without a token)"),
             link_type: str | None = Query(None, alias="linkType", max_length=64,
                                           description="'all': the RFC 9264 linkset of this battery")) -> Response:
    """HTML for browsers, verified claims as JSON for clients, or the SD-JWT presentation itself
    (``Accept: application/dc+sd-jwt``), or its linkset (``Accept: application/linkset+json`` or
    ``?linkType=all``). Public unless a bearer token grants a higher level (``?level=`` asks for a
    the public one). A GTIN-8/12/13 redirects to its GTIN-14 link; a wrong check digit or a serial
    outside GS1 AI 21 (1-20 characters of CSET 82) is a 400 (for browsers, a page saying why)."""
    kind = _wants(request)
    lang = _lang(request)
    try:
        gtin14 = _gtin14(gtin)
        try:
            check_serial(serial)
        except IdentifierError as exc:
            raise ProblemError(400, "invalid-identifier", "Invalid GS1 identifier", str(exc), field="serial") from exc
    except ProblemError as exc:
        if kind != "html":
            raise
        ctx = PageContext(lang, request.url.path)
        bad_gtin = exc.extra.get("field") == "gtin"
        message = (_gtin_problem(gtin, lang) or exc.detail) if bad_gtin else t("bad_serial", lang)
        return _page(request, render_error(400, t("bad_gtin_title" if bad_gtin else "error", lang), message, ctx,
                                           exc.detail, gtin=gtin[:14], serial=serial[:64]), 400)
    redirect = _canonical(request, gtin, gtin14)
    if redirect is not None:
        return redirect
    granted, refused_cookie = _viewer_level(request)
    level = _level(granted, level)
    desk: PassportDesk = request.app.state.desk
    resolver = request.app.state.resolver
    linkset = f"{resolver.item_link(gtin14, serial)}?linkType=all"
    headers = {"Vary": "Accept, Accept-Language, Authorization, Cookie", "Cache-Control": "private, max-age=60",
               "Link": f'<{linkset}>; rel="linkset"; type="{LINKSET_TYPE}"'}
    if kind == "linkset" or link_type == "all":
        desk.passport_id(gtin, serial)  # a battery on the ledger (404 otherwise)
        return JSONResponse(resolver.linkset(gtin14, serial, ACCESS_LEVELS), media_type=LINKSET_TYPE,
                            headers={**headers, "Cache-Control": "public, max-age=60"})
    if kind == "sd-jwt":
        return PlainTextResponse(desk.presentation(gtin, serial, level), media_type=SD_JWT_TYPES[0], headers=headers)
    notice = t("cookie_fallback", lang) if refused_cookie else None
    ctx = PageContext(lang, request.url.path, level, notice)
    try:
        result = desk.verified(gtin, serial, level)
    except (BatterytraceError, ProblemError) as exc:
        error_page = _html_error(request, exc, ctx, gtin, serial) if kind == "html" else None
        if error_page is None:
            raise
        return error_page
    claims = result.claims
    checks = _checks(result, desk.anchor_checked(claims))
    reader, lineage = _lineage(request, gtin14, serial, granted, level, refused_cookie)
    if kind == "json":
        body = {"level": level, "claims": claims, "verification": [c.__dict__ for c in checks],
                "figures": [f.__dict__ for f in result.figures]}
        if lineage is not None:
            body["material_flow"] = lineage.to_dict()
        return JSONResponse(body, headers=headers)
    pages: dict[tuple[str, ...], str] = request.app.state.rendered_pages
    status = next((c.detail for c in result.checks if c.name == "status"), "")
    history = battery_history(desk.ledger.store, gtin, serial, level)
    # a new status list or lifecycle record renders anew
    # the lineage is the reader's own: a page drawing it is cached for that reader only
    key = (str(claims["passport_id"]), level, status, lang, notice or "", str(len(history.health)),
           f"{reader.audience}:{reader.did}" if lineage is not None else "")
    page = pages.get(key)
    if page is None:
        page = render_passport(passport_view(claims, level), checks, request.url.path, result.figures, claims, ctx,
                               history, lineage)
        if len(pages) > 10_000:
            pages.clear()
        pages[key] = page
    response = _page(request, page, headers=headers)
    if refused_cookie:
        response.delete_cookie(TOKEN_COOKIE)
    return response


def _lineage(request: Request, gtin14: str, serial: str, granted: str, level: str,
             refused_cookie: bool) -> tuple[Reader, MaterialFlow | None]:
    """The reader under the ledger's read policy and the battery's material flow when it may trace
    it (ledger/material_flow.py): a token level, or the participant that held the battery. Public
    readers, a refused cookie and an explicit ``?level=public`` get none."""
    public = Reader.public()
    if refused_cookie or (level == "public" and (granted != "public" or request.query_params.get("level") == "public")):
        return public, None
    try:
        reader = Reader.of(grant_of(request), request.app.state.ledger.store)
    except AccessDeniedError:
        return public, None
    if reader.is_public:
        return reader, None
    try:
        return reader, battery_flow(request.app.state.ledger.store, gtin14, serial, reader)
    except (AccessDeniedError, NotFoundError):
        return reader, None


@link_router.get("/01/{gtin}", summary="Battery model by GS1 Digital Link (GTIN only)",
                 responses={200: {"content": {"text/html": {}, "application/json": {}}}})
def model(request: Request, gtin: str = Path(..., max_length=14),
          after: str = Query("", max_length=20, description="Continue after this serial (the previous page's next)"),
          limit: int = Query(100, ge=1, le=1000, description="Batteries per page")) -> Response:
    """The model's public data (chemistry, rated energy, economic operator, from its packs on the
    ledger) and its batteries, each with its Digital Link and current passport id, by serial."""
    html = _wants(request) == "html"
    ctx = PageContext(_lang(request), request.url.path)
    try:
        gtin14 = _gtin14(gtin)
    except ProblemError as exc:
        if not html:
            raise
        message = _gtin_problem(gtin, ctx.lang) or exc.detail
        return _page(request, render_error(400, t("bad_gtin_title", ctx.lang), message, ctx, exc.detail,
                                           gtin=gtin[:14]), 400)
    redirect = _canonical(request, gtin, gtin14)
    if redirect is not None:
        return redirect
    try:
        listing = model_listing(request.app.state.ledger, gtin14, request.app.state.resolver, after, limit)
    except (BatterytraceError, ProblemError) as exc:
        error_page = _html_error(request, exc, ctx, gtin14, "") if html else None
        if error_page is None:
            raise
        return error_page
    headers = {"Vary": "Accept, Accept-Language", "Cache-Control": "public, max-age=60"}
    if html:
        return _page(request, render_model(listing, request.url.path, ctx), headers=headers)
    return JSONResponse(listing, headers=headers)


def _checks(result: PassportVerification, anchor_checked: bool) -> list[Check]:
    """The checks of ``result``, the anchor's as this service established it."""
    anchor = next(c for c in verification_checks(result.claims, anchor_checked) if c.name == "anchor")
    return [anchor if c.name == "anchor" else c for c in result.checks]


class PassportUpload(BaseModel):
    presentations: dict[str, str] = Field(
        description="SD-JWT presentation per access level (public, legitimate_interest, commission, authorities), "
                    "all four, of one issuance")
    envelope: dict[str, Any] | None = Field(
        None, description="The upload envelope signed by the battery's economic operator (passport/publish.py): "
                          "ledger, passport_id, passport_version, issued_at, signed_at, presentations (level → "
                          "SHA-256 hex), publisher, signature")


# passport.* refusals: who may publish (403), what is stale (409), what is malformed or partial (422)
_PUBLISH_STATUS = {"passport.publisher": (403, "Not the battery's economic operator"),
                   "passport.rollback": (409, "Older than the passport served"),
                   "passport.envelope": (422, "Upload envelope does not match"),
                   "passport.future": (422, "Issued in the future"),
                   "passport.incomplete": (422, "Incomplete publication")}


@router.post("/passports", status_code=201, summary="Publish a passport issued by its economic operator")
def publish(body: PassportUpload, request: Request) -> dict[str, Any]:
    """Only the battery's economic operator may publish, by an envelope signed with its registered
    key over the upload; every access level, each disclosing all its claims; never an older
    version or issuance than the one served. Served afterwards at its Digital Link."""
    desk: PassportDesk = request.app.state.desk
    try:
        pid = desk.accept(body.presentations, body.envelope)
    except RuleViolationError as exc:
        status, title = _PUBLISH_STATUS.get(exc.rule, (422, "Publication refused"))
        raise ProblemError(status, f"rule/{exc.rule}", title, exc.detail, rule=exc.rule) from exc
    request.app.state.rendered_pages.clear()
    request.app.state.public_generation += 1  # cached public pages are stale
    return {"passport_id": pid, "levels": sorted(body.presentations)}


_VERIFY_BODY = {"requestBody": {"required": True, "content": {
    SD_JWT_TYPES[0]: {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object", "properties": {"presentation": {"type": "string"}},
                                    "required": ["presentation"]}}}}}


@router.post("/verify", summary="Verify a passport presentation", openapi_extra=_VERIFY_BODY)
async def verify(request: Request) -> dict[str, Any]:
    """Checks the issuer signature and disclosures, the embedded ledger event, its inclusion proof,
    the checkpoint signed by this ledger's operator, and every figure against this ledger (each
    reported verified or declared). A defect answers 422 naming it."""
    raw = await request.body()  # bounded while read by api/limits.py (413 past the verify limit)
    text = raw.decode("utf-8", errors="replace").strip()
    if request.headers.get("content-type", "").startswith("application/json"):
        from batterytrace.canonical import parse_json  # depth-bounded, finite numbers only

        try:
            data = parse_json(text)
            text = str(data["presentation"]).strip()
        except (EncodingError, KeyError, TypeError) as exc:
            raise ProblemError(400, "malformed", "Malformed request", "expected {\"presentation\": \"<sd-jwt>\"}") from exc
    ledger = request.app.state.ledger
    desk: PassportDesk = request.app.state.desk
    token = desk.status_token(text)  # the issuer's status list, when kept or published here
    result = await run_in_threadpool(partial(verify_passport, text, log_operator=ledger.operator_did,
                                             now=int(time.time()), ledger=ledger, status_list=token))
    claims = result.claims
    evidence, check_anchor = claims.get("evidence"), desk.anchor_verifier
    anchored = isinstance(evidence, dict) and "anchor" in evidence and check_anchor is not None
    if anchored and check_anchor is not None:
        await run_in_threadpool(check_anchor, claims)
    return {"valid": True, "passport_id": claims.get("passport_id"), "issuer": claims.get("iss"),
            "checks": [c.__dict__ for c in _checks(result, anchored)],
            "figures": [f.__dict__ for f in result.figures], "claims": claims}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    level, refused = _viewer_level(request)
    lang = _lang(request)
    page = _page(request, render_index(PageContext(lang, "/", level, t("cookie_fallback", lang) if refused else None)))
    if refused:
        page.delete_cookie(TOKEN_COOKIE)
    return page


@router.get("/find", include_in_schema=False)
def find(request: Request, gtin: str = Query("", max_length=64), serial: str = Query("", max_length=200)) -> Response:
    """The search form's target: a valid GTIN-13/14 and serial redirect to the Digital Link; else
    the form again, saying what is wrong."""
    lang = _lang(request)
    gtin, serial = gtin.strip().replace(" ", ""), serial.strip()
    problem = _gtin_problem(gtin, lang) or (None if _serial_ok(serial) else t("bad_serial", lang))
    if problem is not None:
        ctx = PageContext(lang, "/")
        return _page(request, render_index(ctx, problem, gtin[:14], serial[:64]), 400)
    return RedirectResponse(f"/01/{normalise_gtin(gtin)}/21/{quote(serial, safe='')}", status_code=303)


@router.get("/operator", summary="An economic operator's batteries and passports (participant credential)",
            responses={200: {"content": {"text/html": {}, "application/json": {}, "text/csv": {}}}})
def operator_view(request: Request, format: str | None = Query(None, pattern="^(csv|json)$")) -> Response:
    """The batteries whose economic operator is the credential's subject, each with its lifecycle
    status, passport version and id, passport status and last update: HTML for browsers, or
    ``?format=csv`` / ``?format=json``."""
    lang = _lang(request)
    grant = grant_of(request)
    kind = format or ("html" if _wants(request) == "html" else "json")
    if grant is None or grant.role != PARTICIPANT_ROLE:
        if kind == "html":
            ctx = PageContext(lang, "/operator", "public" if grant is None else grant.role)
            return _page(request, render_error(401, t("operator_title", lang), t("operator_signin", lang), ctx,
                                               search=False), 401)
        raise ProblemError(401, "unauthorized", "Unauthorized", "the operator view needs a participant credential "
                           "of the battery's economic operator", {"WWW-Authenticate": "Bearer"})
    desk: PassportDesk = request.app.state.desk

    def status_of(pid: str) -> str:
        try:
            return desk.status_lists.status(pid, grant.subject)
        except NotFoundError:
            return "not issued here"

    rows = operator_batteries(desk.ledger.store, grant.subject, status_of)
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["gtin", "serial", "model", "battery_status", "passport_version", "passport_id",
                         "passport_status", "last_update"])
        for b in rows:
            writer.writerow([b.gtin, b.serial, _csv_cell(b.model or ""), b.battery_status, b.passport_version,
                             b.passport_id, b.passport_status, format_time(b.last_update_us)])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="batteries.csv"',
                                 "Cache-Control": "private, no-store"})
    if kind == "json":
        return JSONResponse({"operator": grant.subject, "batteries": [
            {**b.__dict__, "last_update": format_time(b.last_update_us)} for b in rows]},
            headers={"Cache-Control": "private, no-store"})
    ctx = PageContext(lang, "/operator", PARTICIPANT_ROLE)
    return _page(request, render_operator(grant.subject, rows, ctx), headers={"Cache-Control": "private, no-store"})


def _csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (=, +, -, @ first)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _serial_ok(serial: str) -> bool:
    try:
        check_serial(serial)
    except IdentifierError:
        return False
    return True


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    target = _safe_next(next)
    return _page(request, render_signin(target, ctx=PageContext(_lang(request), target)))


@router.post("/signin", include_in_schema=False)
async def signin(request: Request, next: str | None = None) -> Response:
    target = _safe_next(next)
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        ledger = request.app.state.ledger
        grant = verify_credential(ledger.store, ledger.ledger_id, token, int(time.time()))
    except VerificationError as exc:
        return HTMLResponse(render_signin(target, str(exc), PageContext(_lang(request), target)), status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, max_age=max(1, grant.expires_at - int(time.time())),
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/signout", include_in_schema=False)
def signout(next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response
