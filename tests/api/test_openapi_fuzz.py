"""Schemathesis against our published OpenAPI document, in-process (ASGI), bounded and
deterministic: no request the spec allows may produce a server error (5xx)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from api_support import serve
from batterytrace.demo.scenario import build_scenario

_served = serve(build_scenario(packs=1, legacy_packs=1), Path(tempfile.mkdtemp(prefix="bt-fuzz-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", _served.app)


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith("application/problem+json"), response.text[:200]
