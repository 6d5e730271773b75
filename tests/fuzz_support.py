"""A rules fuzzer: mutates genuine signed events, re-signs them with the actor's own key (the
attacker is a registered participant) and judges them against the ledger state the genuine event
met, without committing. Every verdict must be a named refusal or an acceptance whose effect keeps
the ledger's invariants:

* no unexpected exception (no refusal with rule ``internal``);
* no lot that existed before changes its quantities (buckets or commitments) without being spent;
* per element, the lots an event creates hold no more grams than the lots it spends (extraction
  aside), no more certified grams than it spends, and no more recycled grams than it spends
  (recycling aside, which may turn what it spends into recycled material); an extraction creates no
  recycled grams, and certified grams only at a mine whose genuine extractions are certified;
* no accepted mutant names a new lot with the GTIN + serial of another live lot;
* a confidential event's accepted mutant creates only (bucket key, commitment) pairs the genuine
  event created (the fuzzer cannot re-prove: any other pair would be mass or a class from nowhere).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import INTERNAL_RULE, Ledger
from batterytrace.model.buckets import parse_bucket_key
from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent, sign_event

Path = tuple[str | int, ...]

_FORMS = ("cell", "module", "pack", "vehicle", "production_scrap", "cobalt_hydroxide", "cobalt_sulphate",
          "black_mass", "ore")
_ORIGINS = ("certified", "uncertified", "recycled-pre", "recycled-post")
_ODD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 1, 2**48, 2**63, -(2**53), 0.5, 1e300, "", "x" * 700,
                                [], {}, [None], {"": None}, "2025-01-01T00:00:00Z", "1970-01-01T00:00:00Z")


@dataclass
class FuzzReport:
    judged: int = 0
    accepted: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            if prefix or k not in ("actor",):
                yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            yield from _paths(v, (*prefix, i))


def _get(body: Any, path: Path) -> Any:
    for p in path:
        body = body[p]
    return body


def _set(body: Any, path: Path, value: Any) -> None:
    _get(body, path[:-1])[path[-1]] = value


def _relabel(key: str, rng: random.Random) -> str:
    parts = key.split("/")
    if len(parts) != 3:
        return key + "/x"
    choice = rng.randrange(3)
    if choice == 0:
        parts[1] = rng.choice(_ORIGINS)
        parts[2] = "—" if parts[1].startswith("recycled") else (parts[2] if parts[2] != "—" else "CD")
    elif choice == 1:
        parts[2] = rng.choice(("CD", "ID", "AU", "ZA", "—", "XX"))
    else:
        parts[0] = rng.choice(("Co", "Ni", "Li", "Mn", "Cd", "Pb"))
    return "/".join(parts)


class Mutator:
    def __init__(self, rng: random.Random, strings: Sequence[str]) -> None:
        self.rng = rng
        self.strings = list(strings)

    def mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(body)
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            self._one(out)
        out.pop("actor", None)
        return out

    def _one(self, body: dict[str, Any]) -> None:
        rng = self.rng
        paths = [p for p in _paths(body) if p and p[0] not in ("actor", "nonce")]
        path = rng.choice(paths)
        value = _get(body, path)
        parent = _get(body, path[:-1])
        op = rng.randrange(10)
        if op == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 1:
            _set(body, path, rng.choice(_ODD_VALUES))
        elif op == 2 and isinstance(value, int) and not isinstance(value, bool):
            _set(body, path, rng.choice((value + 1, value - 1, value * 10, -value, value // 2, value * 2)))
        elif op == 3 and isinstance(value, str):
            _set(body, path, rng.choice(self.strings))
        elif op == 4 and isinstance(value, dict) and value:
            # relabel a bucket key (origin class, country or element), keeping its quantity
            key = rng.choice(list(value))
            value[_relabel(key, rng) if "/" in key else key + "x"] = value.pop(key)
        elif op == 5 and isinstance(value, list) and value:
            rng.choice((lambda: value.append(rng.choice(value)), lambda: value.pop(rng.randrange(len(value))),
                        lambda: value.append(rng.choice(self.strings)), value.reverse))()
        elif op == 6 and isinstance(value, dict):
            extra = rng.choice((("form", rng.choice(_FORMS)), ("gtin", "04012345000016"),
                                ("serial", "VM75-000001"), ("coc_model", "identity_preserved"),
                                ("discrepancy", "short"), ("loss", {}), ("status", "waste"),
                                ("revokes", rng.choice(self.strings)), ("inputs", [rng.choice(self.strings)])))
            value[extra[0]] = extra[1]
        elif op == 7 and path[-1] == "form":
            _set(body, path, rng.choice(_FORMS))
        elif op == 8 and path[-1] == "kind":
            _set(body, path, rng.choice(("extract", "transform", "recycle", "aggregate", "disaggregate",
                                         "receive", "ship", "lifecycle", "attest")))
        else:
            _set(body, path, copy.deepcopy(_get(body, rng.choice(paths))))


def _strings(events: Sequence[SignedEvent]) -> list[str]:
    """Identifiers an attacker may splice in: lot ids, dids, sites, event hashes, bucket keys."""
    found: set[str] = set()
    for ev in events:
        found.add(ev.hash_hex)
        found.add(f"{ev.hash_hex}:0")
        for path in _paths(ev.body):
            v = _get(ev.body, path) if path else None
            if isinstance(v, str) and len(v) < 20_000:  # proofs too: spliced from other events
                found.add(v)
            if isinstance(v, dict):
                found.update(k for k in v if isinstance(k, str) and "/" in k)
    return sorted(found)


class _Totals:
    def __init__(self) -> None:
        self.all: dict[str, int] = {}
        self.certified: dict[str, int] = {}
        self.recycled: dict[str, int] = {}

    def add(self, lot: Lot) -> None:
        for key, grams in lot.buckets.items():
            k = parse_bucket_key(key)
            self.all[k.element] = self.all.get(k.element, 0) + grams
            if k.origin == "certified":
                self.certified[k.element] = self.certified.get(k.element, 0) + grams
            if k.recycled:
                self.recycled[k.element] = self.recycled.get(k.element, 0) + grams


def check_effect(ledger: Ledger, genuine: SignedEvent, mutant: SignedEvent, staged: dict[str, Lot],
                 certified_sites: set[str]) -> list[str]:
    """The invariants an accepted mutant must keep; returns the broken ones."""
    broken: list[str] = []
    spent, created = _Totals(), _Totals()
    created_pairs: set[tuple[str, str]] = set()
    for lot in staged.values():
        before = ledger.store.get_lot(lot.lot_id)
        if lot.event == mutant.hash_hex:
            created.add(lot)
            created_pairs.update(lot.commitments.items())
            continue
        if before is None:
            broken.append(f"lot {lot.lot_id} appears without being created by the event")
            continue
        if (before.buckets, before.commitments) != (lot.buckets, lot.commitments):
            broken.append(f"lot {lot.lot_id} changed its quantities")
        if lot.status == "spent" and before.status != "spent":
            spent.add(before)
    kind = mutant.kind
    for el, grams in created.all.items():
        if kind != "extract" and grams > spent.all.get(el, 0):
            broken.append(f"{el}: {grams} g created from {spent.all.get(el, 0)} g spent")
    for el, grams in created.certified.items():
        if kind == "extract" and mutant.body.get("site") not in certified_sites:
            broken.append(f"{el}: certified grams extracted at uncertified site {mutant.body.get('site')}")
        if kind != "extract" and grams > spent.certified.get(el, 0):
            broken.append(f"{el}: {grams} certified g from {spent.certified.get(el, 0)} g certified spent")
    for el, grams in created.recycled.items():
        limit = spent.all.get(el, 0) if kind == "recycle" else spent.recycled.get(el, 0)
        if kind == "extract" or grams > limit:
            broken.append(f"{el}: {grams} recycled g from {limit} g")
    for lot in staged.values():  # a GTIN + serial names one live battery (invariant 3)
        if lot.event != mutant.hash_hex or not (lot.gtin and lot.serial):
            continue
        for other_id in ledger.store.lots_by_serial(lot.gtin, lot.serial):
            other = staged.get(other_id) or ledger.store.get_lot(other_id)
            if other is not None and other.lot_id != lot.lot_id and other.status != "spent":
                broken.append(f"two live lots named {lot.gtin}/{lot.serial}")
    if created_pairs:
        genuine_pairs = {
            (k, c) for spec in genuine.body.get("outputs", []) if isinstance(spec, dict)
            for k, c in (spec.get("commitments") or {}).items()
        }
        if not created_pairs <= genuine_pairs:
            broken.append("a confidential lot holds a commitment or bucket key the prover never proved")
    return broken


def fuzz_events(ledger: Ledger, events: Sequence[SignedEvent], keys: dict[str, SigningKey], *, seed: int,
                per_event: int, deadline: float, check_clock: bool = True) -> FuzzReport:
    """Feed ``events`` (accepted in order) to ``ledger``; before each one, judge ``per_event``
    re-signed mutants of it against the state it meets, until ``deadline`` (time.monotonic)."""
    rng = random.Random(seed)
    mutator = Mutator(rng, _strings(events))
    report = FuzzReport()
    certified_sites = {
        str(ev.body.get("site")) for ev in events if ev.kind == "extract"
        and any("/certified/" in k for o in ev.body.get("outputs", []) for k in (o.get("buckets") or o.get("commitments") or {}))
    }
    for genuine in events:
        key = keys.get(genuine.actor)
        if key is not None and time.monotonic() < deadline:
            mutants: list[SignedEvent] = []
            for _ in range(per_event):
                try:
                    body = mutator.mutate(genuine.body)
                    named = body.get("ledger")  # a mutated ledger id is signed as it is
                    mutants.append(sign_event(body, key, ledger=named if isinstance(named, str) else ledger.ledger_id))
                except BatterytraceError:
                    continue  # the mutant is not even signable JSON (the client library refuses it)
            for mutant in mutants:
                result, staged = ledger.dry_run([mutant], check_clock=check_clock)
                report.judged += 1
                for r in result.rejected:
                    report.rules[r.rule] = report.rules.get(r.rule, 0) + 1
                    if r.rule == INTERNAL_RULE:
                        report.failures.append(f"internal error on a mutant of {genuine.kind}: {mutant.body}")
                if result.accepted:
                    report.accepted += 1
                    for problem in check_effect(ledger, genuine, mutant, staged, certified_sites):
                        report.failures.append(f"accepted mutant of {genuine.kind}: {problem}: {mutant.body}")
        result = ledger.submit_batch([genuine], check_clock=check_clock)
        assert not result.rejected, result.rejected[0].message
    return report
