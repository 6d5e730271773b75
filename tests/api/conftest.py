"""Fixtures for API tests (TestClient, no network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api_support import Served, serve
from batterytrace.demo.scenario import Scenario, build_scenario


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(packs=2, legacy_packs=1)


@pytest.fixture(scope="module")
def served(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = serve(scenario, tmp_path_factory.mktemp("api"))
    yield s
    s.client.close()
