"""Signed events rebuilt from stored bytes: canonical bytes only, hash recomputed (plain bodies take
the C encoder's path, others the RFC 8785 writer; both refuse edited rows)."""

from __future__ import annotations

import hashlib

import pytest

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import EncodingError
from batterytrace.model.events import SignedEvent, sign_event


@pytest.mark.parametrize("extra", [{"grams": 12}, {"soh_percent": 97.5}, {"name": "Kivijärvi ✓"}])
def test_stored_bytes_round_trip(extra: dict[str, object]) -> None:
    ev = sign_event({"kind": "ship", "time": "2025-01-01T00:00:00Z", **extra}, SigningKey.generate(), ledger="urn:x")
    again = SignedEvent.from_stored(ev.canonical, ev.signature)
    assert again.body == ev.body and again.event_hash == ev.event_hash == hashlib.sha256(ev.canonical).digest()


@pytest.mark.parametrize("edit", [
    lambda b: b.replace(b'{"actor"', b'{ "actor"'),  # whitespace
    lambda b: b.replace(b'"kind":"ship"', b'"kind":"\\u0073hip"'),  # an escape JCS does not write
    lambda b: b.replace(b'"grams":12', b'"grams":12.0'),  # a number JCS writes as 12
    lambda b: b'{"v":1,' + b[1:].replace(b',"v":1', b""),  # members out of order
])
def test_non_canonical_stored_bytes_are_refused(edit: object) -> None:
    ev = sign_event({"kind": "ship", "time": "2025-01-01T00:00:00Z", "grams": 12}, SigningKey.generate(),
                    ledger="urn:x")
    edited = edit(ev.canonical)  # type: ignore[operator]
    assert edited != ev.canonical and edited != canonical_json(ev.body)
    with pytest.raises(EncodingError, match="not canonical"):
        SignedEvent.from_stored(edited, ev.signature)
