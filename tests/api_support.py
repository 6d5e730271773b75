"""Helpers for API tests: a demo supply chain on an in-memory ledger served by the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from batterytrace.api.app import create_app
from batterytrace.api.config import ApiConfig
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.credentials import issue_credential
from batterytrace.ledger.ledger import Clock, Ledger, historical_clock
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore

TOKEN_KEY = SigningKey.from_label("test/token-key")  # the served ledgers' token key (not the operator's)


@dataclass
class Served:
    scenario: Scenario
    ledger: Ledger
    app: FastAPI
    client: TestClient
    gtin: str
    serial: str

    @property
    def link_path(self) -> str:
        return f"/01/{self.gtin}/21/{self.serial}"

    def token(self, role: str, ttl: int = 3600, subject: str = "tester") -> str:
        """A token issued by this ledger's token key and recorded in its credential registry."""
        now = int(time.time())
        token, _ = issue_credential(self.ledger.store, self.ledger.ledger_id, TOKEN_KEY, subject, role, now, now + ttl)
        return token


def serve(scenario: Scenario, tmp: Path, chain: bool = True, store: Store | None = None, issuers: bool = True,
          clock: Clock | None = historical_clock, **cfg: object) -> Served:
    """Serve ``scenario`` (its events imported as history when ``chain``). ``clock`` is the ledger's:
    by default historical import, so the demo's 2025 events are accepted through the API too;
    ``None`` for the system clock, as the real server."""
    operator = scenario.actors["operator"]
    ledger = Ledger(store if store is not None else MemoryStore(), operator.did, scenario.ledger_id, clock=clock)
    if chain:
        result = ledger.submit_batch(scenario.events)
        assert not result.rejected
    keys = [PassportIssuer(scenario.actors["voltara"].signing_key, VOLTARA_VM75)] if issuers else []
    desk = PassportDesk(ledger, tmp / "passports", keys, operator.signing_key)
    config = ApiConfig.load(env={}, db=":memory:", rate_per_s=cfg.pop("rate_per_s", 0), **cfg)
    app = create_app(config, ledger, desk)
    pack = ledger.store.get_lot(scenario.packs[-1]) if chain else None
    return Served(scenario, ledger, app, TestClient(app), pack.gtin if pack else "", pack.serial if pack else "")


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import socket
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
