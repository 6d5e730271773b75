"""Helpers for custodial capture tests: a ledger whose mine, refiner, cell maker and OEM are
hosted participants (the service holds their keys), their participant credentials, and the
example EPCIS documents of tests/ledger/epcis/ (the first is shown in docs/epcis-mapping.md)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from batterytrace.api.app import create_app
from batterytrace.api.config import ApiConfig
from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.credentials import issue_credential, verify_credential
from batterytrace.ledger.epcis import CaptureOutcome
from batterytrace.ledger.epcis_capture import capture_custodial
from batterytrace.ledger.hosted_keys import KeyEncryptionKey, create_hosted_key, load_hosted_key
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.model.events import sign_event
from batterytrace.passport.registry import PassportDesk
from batterytrace.storage.base import Store
from batterytrace.storage.memory import MemoryStore

__all__ = ["CHAIN", "DOCS", "HostedChain", "fill", "load_doc"]

DOCS = Path(__file__).parent / "ledger" / "epcis"
TOKEN_KEY = SigningKey.from_label("test/custodial-token-key")
OPERATOR = SigningKey.from_label("test/custodial-operator")
LEDGER_ID = "urn:uuid:5b0e8f4c-1111-4aaa-8bbb-000000000001"
# participant → (role, site id, site kind, country); keys from labels so the example documents can name dids
PARTICIPANTS = {
    "mine": ("mine", "urn:epc:id:sgln:6164003.00001.0", "mine", "CD"),
    "refiner": ("refiner", "plant:refinery", "refinery", "FI"),
    "cellmaker": ("cell_maker", "plant:cells", "cell_plant", "SE"),
    "oem": ("oem", "plant:packs", "pack_plant", "DE"),
}


def key_of(who: str) -> SigningKey:
    return SigningKey.from_label(f"epcis-example/{who}")


def load_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DOCS / f"{name}.json").read_text())
    return doc


def fill(doc: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``doc`` with ``{{name}}`` placeholders replaced (lot ids learnt from earlier captures)."""
    text = json.dumps(doc)
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    assert "{{" not in text, text
    filled: dict[str, Any] = json.loads(text)
    return filled


@dataclass
class HostedChain:
    """A ledger (historical clock: the example documents are dated March 2026) with the four
    participants registered under hosted keys, served by the API with the KEK configured."""

    tmp: Path
    store: Store | None = None
    kek: KeyEncryptionKey = field(default_factory=KeyEncryptionKey.generate)
    ledger_id: str = LEDGER_ID

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store if self.store is not None else MemoryStore(), OPERATOR.did, self.ledger_id,
                             clock=historical_clock)
        self.kek_file = self.tmp / f"kek-{self.ledger_id[-4:]}"
        self.kek.save(self.kek_file)
        t = "2026-03-01T00:00:{:02d}Z"
        events = []
        for i, (who, (role, site, kind, country)) in enumerate(PARTICIPANTS.items()):
            did = create_hosted_key(self.ledger.store, self.ledger_id, self.kek, key_of(who))
            events.append(sign_event({"kind": "register_participant", "did": did, "role": role,
                                      "legal_name": f"Example {who}", "country": country, "time": t.format(2 * i)},
                                     OPERATOR, ledger=self.ledger_id))
            events.append(sign_event({"kind": "register_site", "site_id": site, "owner": did, "site_kind": kind,
                                      "name": f"{who} site", "country": country, "lat": 50.0, "lon": 10.0,
                                      "time": t.format(2 * i + 1)}, OPERATOR, ledger=self.ledger_id))
        result = self.ledger.submit_batch(events)
        assert not result.rejected, result.rejected
        config = ApiConfig.load(env={}, db=":memory:", rate_per_s=0, kek_file=str(self.kek_file))
        self.app: FastAPI = create_app(config, self.ledger, PassportDesk(self.ledger, self.tmp / "passports", [], OPERATOR))
        self.client = TestClient(self.app)

    def did(self, who: str) -> str:
        return key_of(who).did

    def token(self, who: str, role: str = "participant", ttl: int = 3600, subject: str | None = None) -> str:
        now = int(time.time())
        token, _ = issue_credential(self.ledger.store, self.ledger_id, TOKEN_KEY, subject or self.did(who), role, now,
                                    now + ttl)
        return token

    def capture(self, doc: Any, token: str | None, behaviour: str = "rollback") -> dict[str, Any]:
        """POST /capture; the job document (asserts 202)."""
        headers = {"GS1-Capture-Error-Behaviour": behaviour}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        r = self.client.post("/capture", json=doc, headers=headers)
        assert r.status_code == 202, r.text
        job: dict[str, Any] = r.json()
        return job

    def capture_ledger(self, doc: Any, who: str, behaviour: str = "rollback", token: str | None = None
                       ) -> CaptureOutcome:
        """The ledger-layer capture (no HTTP) under ``who``'s credential."""
        grant = verify_credential(self.ledger.store, self.ledger_id, token or self.token(who), int(time.time()))
        return capture_custodial(self.ledger, doc, participant=grant.subject, credential_id=grant.token_id,
                                 key_for=lambda did: load_hosted_key(self.ledger.store, self.ledger_id, self.kek, did),
                                 behaviour=behaviour)

    def record_chain(self, via_api: bool = True) -> dict[str, str]:
        """Post the four example documents in order (mine → refiner → cell maker → OEM); returns the
        lot ids learnt on the way, ending with the pack's."""
        lots: dict[str, str] = {}
        for name, placeholder, pick in CHAIN:
            doc = fill(load_doc(name), lots)
            if via_api:
                job = self.capture(doc, self.token(name))
                assert job["success"], job["errors"]
                recorded = job["bt:recorded"]
            else:
                outcome = self.capture_ledger(doc, name)
                assert outcome.success, outcome.errors
                recorded = outcome.recorded
            index, i = pick
            lots[placeholder] = recorded[index]["lots"][i]
        return lots


# document, the placeholder its created lot fills in the next one, (event index, output index)
CHAIN = [("mine", "mine.lot", (0, 0)), ("refiner", "refiner.lot", (1, 0)), ("cellmaker", "cells.rest", (1, 2)),
         ("oem", "pack", (2, 0))]
