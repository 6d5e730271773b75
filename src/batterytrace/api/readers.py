"""The reader of a request under the ledger's read policy (``ledger.read_policy``)."""

from __future__ import annotations

from fastapi import Request

from batterytrace.api.auth import grant_of
from batterytrace.api.problems import ProblemError
from batterytrace.ledger.read_policy import AccessDeniedError, Reader

__all__ = ["denied", "reader_of"]


def reader_of(request: Request) -> Reader:
    """The reader of a request under the read policy: 401 for a bad token, 403 for a grant that
    reads nothing (an unregistered participant)."""
    try:
        return Reader.of(grant_of(request), request.app.state.ledger.store)
    except AccessDeniedError as exc:
        raise ProblemError(403, "forbidden", "Forbidden", str(exc)) from exc


def denied(exc: AccessDeniedError) -> ProblemError:
    if exc.needs_token:
        return ProblemError(401, "unauthorized", "Unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
    return ProblemError(403, "forbidden", "Forbidden", str(exc))

