"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from batterytrace.errors import (
    BatterytraceError,
    ConfigError,
    EncodingError,
    NotFoundError,
    RuleViolationError,
    ServiceUnavailableError,
    VerificationError,
)
from batterytrace.passport.signing_key import SigningKeyError
from batterytrace.passport.status import PassportStatusError
from batterytrace.storage.errors import StorageCorruptError, StorageUnavailableError

__all__ = ["PROBLEM_BASE", "BodyTooLarge", "ProblemError", "install_problem_handlers", "problem_response"]

PROBLEM_BASE = "https://batterytrace.example/problems/"
PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("batterytrace.api")


class ProblemError(Exception):
    """Raised by routes to answer with a problem document."""

    def __init__(self, status: int, kind: str, title: str, detail: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.extra = extra


class BodyTooLarge(StarletteHTTPException):
    """A request body passed its route's limit while it was read (api/limits.py): 413. An
    HTTPException so that the framework's body parsing passes it on unchanged."""

    def __init__(self, route: str, limit: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(413, f"at most {limit} bytes per {route} request body; this one is larger",
                         {**(headers or {}), "Connection": "close"})
        self.route, self.limit = route, limit


def problem_response(status: int, kind: str, title: str, detail: str, instance: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _for_error(exc: BatterytraceError) -> tuple[int, str, str, dict[str, Any]]:
    if isinstance(exc, StorageUnavailableError):
        return 503, "storage-unavailable", "Ledger storage busy or unreachable", {"retry_after": exc.retry_after}
    if isinstance(exc, StorageCorruptError):
        return 500, "storage-corrupt", "Ledger storage damaged", {}
    if isinstance(exc, RuleViolationError):
        return 422, f"rule/{exc.rule}", "Event refused by a ledger rule", {"rule": exc.rule}
    if isinstance(exc, NotFoundError):
        return 404, "not-found", "Not found", {}
    if isinstance(exc, PassportStatusError):  # the issuer withdrew this passport version
        if exc.rule == "passport.revoked":
            return 410, f"rule/{exc.rule}", "Passport revoked by its issuer", {"rule": exc.rule}
        return 409, f"rule/{exc.rule}", "Passport suspended by its issuer", {"rule": exc.rule}
    if isinstance(exc, SigningKeyError):  # signed by a key that does not speak for the issuer now
        return 422, f"rule/{exc.rule}", "Not signed by the issuer's key in force", {"rule": exc.rule}
    if isinstance(exc, VerificationError):
        return 422, "verification-failed", "Verification failed", {}
    if isinstance(exc, EncodingError):
        return 400, "malformed", "Malformed request", {}
    if isinstance(exc, ServiceUnavailableError):
        return 503, "unavailable", "Service unavailable", {}
    if isinstance(exc, ConfigError):
        return 409, "not-configured", "Not possible with this service's configuration", {}
    return 409, "refused", "Request refused", {}


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.status, exc.kind, exc.title, exc.detail, request.url.path,
                                exc.headers, **exc.extra)

    async def on_library(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BatterytraceError)
        status, kind, title, extra = _for_error(exc)
        detail = exc.detail if isinstance(exc, (RuleViolationError, PassportStatusError)) else str(exc)
        headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
        if isinstance(exc, StorageCorruptError):
            _log.error("ledger storage damaged: %s", exc)
            detail = "the ledger's storage is damaged; the operator must restore it (see the service log)"
        return problem_response(status, kind, title, detail, request.url.path, headers, **extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem_response(400, "invalid-request", "Invalid request", where, request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        if isinstance(exc, BodyTooLarge):
            return problem_response(413, "body-too-large", "Request body too large", str(exc.detail),
                                    request.url.path, headers, limit=exc.limit)
        return problem_response(exc.status_code, f"http-{exc.status_code}", str(exc.detail), str(exc.detail),
                                request.url.path, headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(500, "internal", "Internal error", "the service failed; see its log",
                                request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(BatterytraceError, on_library)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
