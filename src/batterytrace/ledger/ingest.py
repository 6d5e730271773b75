"""Batch ingest built for throughput: signature checks run in worker processes (one per core)
while the main process applies the ledger rules and writes, one transaction per chunk.

Workers parse the wire form, canonicalise, hash and verify the Ed25519 signature; the main
process trusts only that work (same code, own processes) and re-derives everything else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from batterytrace.canonical import canonical_json, canonical_json_plain, parse_json_probed
from batterytrace.crypto.signing import public_key_from_did
from batterytrace.encoding import b64u_decode
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.ledger import BatchResult, Ledger, Rejection
from batterytrace.model.events import SignedEvent, signing_input

__all__ = ["check_wire_chunk", "ingest_wire"]

Checked = tuple[bytes, bytes, bytes] | tuple[str, str]

_log = logging.getLogger("batterytrace.ledger")


def _check_one(wire: bytes) -> Checked:
    try:
        doc, plain = parse_json_probed(wire)
        if not isinstance(doc, dict) or set(doc) != {"event", "signature"}:
            return ("schema", "a signed event is {'event': {...}, 'signature': '...'}")
        body = doc["event"]
        sig = b64u_decode(doc["signature"])
        if not isinstance(body, dict) or not isinstance(body.get("actor"), str):
            return ("schema", "event body with an actor is required")
        signer = body.get("signer", body["actor"])
        if not isinstance(signer, str):
            return ("schema", "event field 'signer' must be a string (the did:key that signed for the actor)")
        canonical = canonical_json_plain(body) if plain else canonical_json(body)
        digest = hashlib.sha256(canonical).digest()
        key = public_key_from_did(signer)
        if len(sig) != 64:
            return ("signature", "an Ed25519 signature has 64 bytes")
        crypto_sign_open(sig + signing_input(digest), key)
    except BadSignatureError:
        return ("signature", "Ed25519 signature does not verify")
    except BatterytraceError as exc:
        return ("schema", str(exc))
    except (ValueError, TypeError) as exc:
        return ("signature", f"signature check failed: {exc}")
    except RecursionError:
        return ("schema", "the event nests deeper than JSON parsing allows")
    except Exception as exc:  # one line the checker did not foresee must not sink the submission
        _log.exception("unexpected error checking a submitted line (%d bytes)", len(wire))
        return ("internal", f"the line could not be checked ({type(exc).__name__}); it was refused and logged")
    return (canonical, sig, digest)


def check_wire_chunk(chunk: list[bytes]) -> list[Checked]:
    return [_check_one(w) for w in chunk]


def _chunks(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ingest_wire(
    ledger: Ledger,
    wire_events: Iterable[bytes],
    *,
    workers: int | None = None,
    chunk_size: int = 2000,
    check_clock: bool = True,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Ingest signed events in wire form (canonical or plain JSON bytes), in order."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    total = BatchResult()
    offset = 0
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        checked_iter: Iterable[list[Checked]] = (
            pool.imap(check_wire_chunk, _chunks(wire_events, chunk_size))
            if pool is not None
            else map(check_wire_chunk, _chunks(wire_events, chunk_size))
        )
        for checked in checked_iter:
            events: list[SignedEvent] = []
            positions: list[int] = []
            for i, item in enumerate(checked):
                if isinstance(item[0], str):
                    rule, message = item[0], str(item[1])
                    total.rejected.append(Rejection(offset + i, None, rule, f"[{rule}] {message}"))
                    continue
                canonical, sig, digest = item
                assert isinstance(canonical, bytes) and isinstance(sig, bytes) and isinstance(digest, bytes)
                try:
                    # canonical bytes come from our own worker's parse of this very input
                    ev = SignedEvent(json.loads(canonical), sig, canonical, digest)
                except (BatterytraceError, RecursionError) as exc:
                    total.rejected.append(Rejection(offset + i, digest.hex(), "schema", f"[schema] {exc}"))
                    continue
                events.append(ev)
                positions.append(offset + i)
            result = ledger.submit_batch(events, signatures_checked=True, check_clock=check_clock)
            total.accepted.extend(result.accepted)
            total.rejected.extend(
                Rejection(positions[r.index], r.event_hash, r.rule, r.message) for r in result.rejected
            )
            offset += len(checked)
            if progress:
                progress(len(checked))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    total.rejected.sort(key=lambda r: r.index)
    return total
