"""The write path under hostile input: signatures are verified before the ledger's write lock is
taken (a flood of forged events never holds up writers), and identifiers of any length are
judged before they are decoded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import Served, serve
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import Scenario
from batterytrace.model.events import SignedEvent

PROBLEM = "application/problem+json"


class RecordingLock:
    """The app's write lock, recording every acquisition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acquired = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.acquired += 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


def _forged(scenario: Scenario, n: int) -> list[dict[str, Any]]:
    """Events whose signatures belong to other events (valid base64, 64 bytes, wrong)."""
    wires = [ev.to_wire() for ev in scenario.events[:n]]
    return [{**w, "signature": wires[(i + 1) % n]["signature"]} for i, w in enumerate(wires)]


def test_forged_batch_never_takes_the_write_lock(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, chain=False)
    lock = s.app.state.write_lock = RecordingLock()
    r = s.client.post("/events/batch", json={"events": _forged(scenario, 40)})
    assert r.status_code == 200
    out = r.json()
    assert out["accepted"] == [] and [x["rule"] for x in out["rejected"]] == ["signature"] * 40
    assert [x["index"] for x in out["rejected"]] == list(range(40))
    assert lock.acquired == 0
    r = s.client.post("/events", json=_forged(scenario, 2)[0])
    assert r.status_code == 422 and r.json()["rule"] == "signature" and lock.acquired == 0
    assert s.ledger.size() == 0


def test_no_signature_is_verified_under_the_write_lock(scenario: Scenario, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    s = serve(scenario, tmp_path, chain=False)
    lock = s.app.state.write_lock = RecordingLock()
    under_lock: list[str] = []
    original = SignedEvent.verify_signature

    def watched(self: SignedEvent) -> None:
        if lock.locked():
            under_lock.append(self.hash_hex)
        original(self)

    monkeypatch.setattr(SignedEvent, "verify_signature", watched)
    batch = [ev.to_wire() for ev in scenario.events[:30]]
    batch[7] = _forged(scenario, 9)[8]  # event 8's body with event 0's signature
    r = s.client.post("/events/batch", json={"events": batch})
    out = r.json()
    assert [(x["index"], x["rule"]) for x in out["rejected"] if x["rule"] == "signature"] == [(7, "signature")]
    assert len(out["accepted"]) == 30 - len(out["rejected"]) > 20
    r = s.client.post("/events", json=scenario.events[0].to_wire())
    assert r.status_code == 422 and r.json()["rule"] == "replay", r.text  # judged under the lock
    assert lock.acquired == 2 and under_lock == []


def test_overlong_actor_is_refused_fast(served: Served) -> None:
    """A 200,000-character did:key used to cost 12 s of base58 decoding inside the write lock."""
    key = SigningKey.from_label("attack/long-did")
    body = {**served.scenario.events[0].body, "actor": "did:key:z" + "2" * 200_000}
    client = TestClient(served.app, raise_server_exceptions=False)
    start = time.perf_counter()
    from batterytrace.encoding import b64u_encode

    r = client.post("/events", json={"event": body, "signature": b64u_encode(key.sign(b"x"))})
    assert r.status_code == 422 and r.json()["rule"] == "signature", r.text
    assert "did:key" in r.json()["detail"]
    r = client.post("/events/batch", json={"events": [{"event": body, "signature": b64u_encode(key.sign(b"x"))}] * 3})
    assert [x["rule"] for x in r.json()["rejected"]] == ["signature"] * 3
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("path", ["/ledger/events/" + "a" * 60_000, "/capture/" + "b" * 5000,
                                  "/trace/" + "c" * 5000, "/01/12345678901234/21/" + "d" * 5000])
def test_overlong_path_identifiers(served: Served, path: str) -> None:
    client = TestClient(served.app, raise_server_exceptions=False)
    r = client.get(path)
    assert r.status_code in (400, 404, 414), (r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith(PROBLEM)


def test_overlong_query_strings_and_event_hashes(served: Served) -> None:
    client = TestClient(served.app, raise_server_exceptions=False)
    r = client.get("/events", params={"MATCH_epc": "urn:x," * 5000})
    assert r.status_code == 414 and r.json()["type"].endswith("/uri-too-long")
    r = client.get("/ledger/events/" + "ab" * 40,  # 80 hex digits: not a SHA-256 hash
                   headers={"authorization": f"Bearer {served.token('authorities')}"})
    assert r.status_code == 404
    assert served.ledger.event_by_hash("00" * 1000) is None
    r = client.get("/capture/" + "e" * 65)
    assert r.status_code == 400


def test_forged_capture_never_takes_the_write_lock(scenario: Scenario, tmp_path: Path) -> None:
    """Self-signed EPCIS capture verifies every signature and projection before the lock: a
    document refused whole (rollback) never takes it; a good one takes it once."""
    from batterytrace.ledger.epcis import epcis_document, export_event

    s = serve(scenario, tmp_path, chain=False)
    lock = s.app.state.write_lock = RecordingLock()
    good = [export_event(ev) for ev in scenario.events[:30]]
    forged = [{**e, "bt:signature": good[(i + 1) % len(good)]["bt:signature"]} for i, e in enumerate(good)]
    r = s.client.post("/capture", json=epcis_document(forged, 0), headers={"content-type": "application/ld+json"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["success"] is False and len(job["errors"]) == 30 and lock.acquired == 0
    r = s.client.post("/capture", json=epcis_document(forged, 0),
                      headers={"content-type": "application/ld+json", "GS1-Capture-Error-Behaviour": "proceed"})
    assert r.status_code == 202 and r.json()["eventsRecorded"] == 0 and lock.acquired == 0
    r = s.client.post("/capture", json=epcis_document(good, 0), headers={"content-type": "application/ld+json"})
    assert r.status_code == 202 and r.json()["eventsRecorded"] == 30, r.text
    assert lock.acquired == 1 and s.ledger.size() == 30
