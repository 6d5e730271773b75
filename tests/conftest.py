"""Shared fixtures: stores of every backend, PostgreSQL discovery with CI enforcement."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore
from batterytrace.storage.sqlite import SQLiteStore

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def services_required() -> bool:
    return os.environ.get("BATTERYTRACE_REQUIRE_SERVICES", "") not in ("", "0")


def missing_service(reason: str) -> None:
    """Skip with ``reason``, or fail when CI requires every service (BATTERYTRACE_REQUIRE_SERVICES)."""
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def _pg_base_url() -> str:
    return os.environ.get("BATTERYTRACE_TEST_PG_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    import psycopg

    url = _pg_base_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        missing_service(f"no PostgreSQL server at {url} ({str(exc).strip()[:120]})")
    return url


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema, dropped after the test."""
    from batterytrace.storage.base import destroy_store

    sep = "&" if "?" in pg_base_url else "?"
    url = f"{pg_base_url}{sep}schema=bt_test_{uuid.uuid4().hex[:12]}"
    yield url
    destroy_store(url)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    """The same store suite runs on every backend."""
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SQLiteStore(str(tmp_path) + "/ledger.db")
    else:
        url = request.getfixturevalue("pg_url")
        from batterytrace.storage.postgres import PostgresStore

        s = PostgresStore(url)
    yield s
    s.close()
