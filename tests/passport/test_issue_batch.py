"""A batch of passports sharing one TraceCache holds exactly the claims each passport gets when
issued alone, and the SD-JWT parts are the standard JSON encoding of what they carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batterytrace.crypto import sdjwt
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.scenario import build_scenario
from batterytrace.encoding import b64u_decode
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import TraceCache
from batterytrace.passport import issue as issue_module
from batterytrace.passport.issue import IssuedPassport, issue_passport
from batterytrace.storage.memory import MemoryStore

NOW = 1_790_000_000


@pytest.fixture(scope="module")
def world() -> tuple[Ledger, list[str], Any]:
    s = build_scenario(packs=4, legacy_packs=1)
    ledger = Ledger(MemoryStore(), s.actors["operator"].did, s.ledger_id, clock=historical_clock)
    assert not ledger.submit_batch(s.events).rejected
    ledger.sign_tree_head(s.actors["operator"].signing_key)
    return ledger, s.packs, s.actors["voltara"].signing_key


def _claims_of_batch(world: tuple[Ledger, list[str], Any], cache: TraceCache | None,
                     monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ledger, packs, key = world
    seen: list[str] = []
    real = sdjwt.issue_sd_jwt

    def spy(k: Any, claims: Any, **kw: Any) -> sdjwt.IssuedSdJwt:
        seen.append(repr(claims))  # SdClaim reprs included: values, tags and order
        return real(k, claims, **kw)

    monkeypatch.setattr(issue_module, "issue_sd_jwt", spy)
    for pack in packs:
        issue_passport(ledger, pack, VOLTARA_VM75, key, issued_at=NOW, cache=cache)
    return seen


def test_batch_with_shared_cache_issues_the_same_claims_as_one_by_one(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alone = _claims_of_batch(world, None, monkeypatch)
    shared = TraceCache()
    assert _claims_of_batch(world, shared, monkeypatch) == alone
    assert _claims_of_batch(world, shared, monkeypatch) == alone  # a cache warm from a batch before
    assert len(alone) == len(world[1])


def test_sd_jwt_parts_are_plain_compact_json(world) -> None:  # type: ignore[no-untyped-def]
    ledger, packs, key = world
    p: IssuedPassport = issue_passport(ledger, packs[0], VOLTARA_VM75, key, issued_at=NOW)
    header, payload, _sig = p.sd_jwt.jws.split(".")
    for part in (header, payload):
        raw = b64u_decode(part)
        assert raw == json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    assert p.sd_jwt.disclosures
    for d in p.sd_jwt.disclosures:
        raw = b64u_decode(d.encoded)
        value = json.loads(raw)
        assert raw == json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        assert value[1] == d.name
