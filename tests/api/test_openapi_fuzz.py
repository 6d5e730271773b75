"""Schemathesis against our published OpenAPI document, in-process (ASGI), bounded and
deterministic: no request the spec allows may produce a server error (5xx), anonymous or with
an authority's token; the routes outside the document (viewer pages, sign-in) are fuzzed with
hypothesis; and the two together cover every route the application serves."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.routing import APIRoute, APIRouter
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_support import serve
from batterytrace.api import app as app_module
from batterytrace.demo.scenario import build_scenario

_served = serve(build_scenario(packs=1, legacy_packs=1), Path(tempfile.mkdtemp(prefix="bt-fuzz-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", _served.app)
_AUTHORITY = {"Authorization": f"Bearer {_served.token('authorities')}"}
_client = TestClient(_served.app, raise_server_exceptions=False)
_SETTINGS = settings(max_examples=25, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.data_too_large])

# served outside the OpenAPI document (HTML pages and forms), fuzzed below
NOT_IN_SCHEMA = {("GET", "/"), ("GET", "/find"), ("GET", "/signin"), ("POST", "/signin"), ("POST", "/signout")}


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


def _check_problem(response: Any, what: str) -> None:
    _check(response, what)
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith("application/problem+json"), response.text[:200]


@schema.parametrize()
@_SETTINGS
def test_no_server_errors(case: schemathesis.Case) -> None:
    _check_problem(case.call(), f"{case.method} {case.formatted_path}")


@schema.parametrize()
@settings(_SETTINGS, max_examples=10)
def test_no_server_errors_with_an_authority_token(case: schemathesis.Case) -> None:
    _check_problem(case.call(headers=_AUTHORITY), f"{case.method} {case.formatted_path} (authorities)")


def test_every_route_is_fuzzed() -> None:
    routers = [r for module in vars(app_module).values() if isinstance(getattr(module, "router", None), APIRouter)
               for r in vars(module).values() if isinstance(r, APIRouter)]  # every router of every route module
    assert len(routers) >= 6
    served = {(m, r.path) for router in routers for r in router.routes if isinstance(r, APIRoute) for m in r.methods}
    in_schema = {(m.upper(), p) for p, ops in _served.app.openapi()["paths"].items() for m in ops}
    assert served == in_schema | NOT_IN_SCHEMA, served ^ (in_schema | NOT_IN_SCHEMA)


_text = st.text(st.characters(codec="utf-8"), max_size=300)


@_SETTINGS
@given(gtin=_text, serial=_text, next_=_text)
def test_pages_outside_the_schema(gtin: str, serial: str, next_: str) -> None:
    _check(_client.get("/"), "GET /")
    _check(_client.get("/find", params={"gtin": gtin, "serial": serial}), "GET /find")
    _check(_client.get("/signin", params={"next": next_}), "GET /signin")
    r = _client.post("/signout", params={"next": next_}, follow_redirects=False)
    _check(r, "POST /signout")
    if r.status_code == 303:
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


@_SETTINGS
@given(body=st.binary(max_size=4000) | st.builds(lambda t: "token=" + t, _text).map(str.encode),
       next_=_text, content_type=st.sampled_from(["application/x-www-form-urlencoded", "text/plain", ""]))
def test_signin_form(body: bytes, next_: str, content_type: str) -> None:
    r = _client.post("/signin", params={"next": next_}, content=body, headers={"content-type": content_type},
                     follow_redirects=False)
    _check(r, "POST /signin")
    assert r.status_code in (303, 401, 413), r.status_code
