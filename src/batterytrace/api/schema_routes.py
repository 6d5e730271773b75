"""The JSON Schemas of event bodies, of the signed wire form and of master data (public, cacheable):
generated from the field table (model/event_spec.py) and the master-data model (passport/master.py)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request, Response

from batterytrace.errors import NotFoundError
from batterytrace.model.event_spec import EVENT_SPECS, event_schema, schema_index, wire_schema
from batterytrace.passport.master import master_schema

__all__ = ["SCHEMA_MEDIA_TYPE", "router"]

router = APIRouter(tags=["schemas"])
SCHEMA_MEDIA_TYPE = "application/schema+json"
_CACHE_CONTROL = "public, max-age=3600"


@cache
def _rendered(name: str) -> tuple[bytes, str]:
    """The schema's bytes and their ETag (schemas change only with the software)."""
    if name == "index":
        value: dict[str, Any] = schema_index()
    elif name == "signed-event":
        value = wire_schema()
    elif name == "master-data":
        value = master_schema()
    else:
        value = event_schema(name)
    body = json.dumps(value, indent=2, ensure_ascii=False).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _answer(request: Request, name: str, media_type: str = SCHEMA_MEDIA_TYPE) -> Response:
    body, etag = _rendered(name)
    headers = {"Cache-Control": _CACHE_CONTROL, "ETag": etag}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/schemas", summary="Every JSON Schema the service publishes (event kinds, signed event, master data)")
def index(request: Request) -> Response:
    return _answer(request, "index", "application/json")


@router.get("/schemas/events/{kind}.json", summary="JSON Schema (draft 2020-12) of one event kind's body")
def event(request: Request, kind: str) -> Response:
    if kind not in EVENT_SPECS:
        raise NotFoundError(f"no event kind {kind[:64]!r}; GET /schemas lists them")
    return _answer(request, kind)


@router.get("/schemas/signed-event.json", summary="JSON Schema of the signed wire form {event, signature}")
def signed_event(request: Request) -> Response:
    return _answer(request, "signed-event")


@router.get("/schemas/master-data.json", summary="JSON Schema of battery-model master data")
def master_data(request: Request) -> Response:
    return _answer(request, "master-data")
