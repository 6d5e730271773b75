"""The mine's side of anonymous certified extraction (docs/confidential.md, ADR 0008).

* ``RingSecret`` — a mine site's ring secret sk (P = sk·G), kept by the mine like its signing key;
* ``ring_key_registration`` — the ``register_ring_key`` event the site's owner signs, with its
  proof of possession;
* ``prove_anonymous_extraction`` — a plain-written extraction body (grams in ``buckets``) →
  commitments, range and ``contained`` proofs, the membership proof over the certified ring, all
  signed by a fresh one-time key; ``anonymous_extraction`` does the same with the ring read from a
  store (``ring_from_store``, the very function the rule uses);
* ``ship_anonymous`` — the shipment of the new lots, signed by the one-time key;
* ``disclose_origin`` / ``verify_origin_disclosure`` — how the receiver alone learns which mine:
  the mine proves, privately, that it holds both the one-time key of the extraction and the ring
  secret of one named site in its ring.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey, public_key_from_did, verify_signature
from batterytrace.crypto.zk import (
    L,
    Opening,
    Point,
    PossessionProof,
    prove_membership,
    prove_possession,
    verify_possession,
)
from batterytrace.crypto.zk.group import base_mul, random_scalar
from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.anonymous import (
    RingMember,
    is_anonymous_body,
    membership_message,
    parse_origin,
    possession_message,
    ring_from_store,
)
from batterytrace.ledger.confidential_client import ProvedEvent, prove_body
from batterytrace.model.buckets import parse_bucket_key
from batterytrace.model.events import SignedEvent, new_nonce, sign_event
from batterytrace.storage.base import Store
from batterytrace.timeutil import parse_time

__all__ = [
    "AnonymousExtraction",
    "RingSecret",
    "anonymous_extraction",
    "disclose_origin",
    "prove_anonymous_extraction",
    "ring_key_registration",
    "ship_anonymous",
    "verify_origin_disclosure",
]

DISCLOSURE_DOMAIN = b"batterytrace/ring/disclosure/v1\x00"


@dataclass(frozen=True)
class RingSecret:
    """A mine site's ring secret. Never printed; keep it like a signing key."""

    site_id: str
    scalar: int

    def __post_init__(self) -> None:
        if not 0 < self.scalar < L:
            raise ValueError("a ring secret is a non-zero scalar below ℓ")

    @classmethod
    def generate(cls, site_id: str) -> RingSecret:
        return cls(site_id, random_scalar())

    @classmethod
    def from_label(cls, site_id: str, label: str) -> RingSecret:
        """A deterministic secret (demo and tests only: anyone who knows the label has the key)."""
        digest = hashlib.sha512(b"batterytrace/ring/secret-from-label\x00" + label.encode()).digest()
        return cls(site_id, int.from_bytes(digest, "little") % (L - 1) + 1)

    @property
    def key(self) -> Point:
        return base_mul(self.scalar)

    def __repr__(self) -> str:
        return f"RingSecret({self.site_id!r}, key={self.key.hex()[:16]}…)"


def ring_key_registration(
    owner: SigningKey, secret: RingSecret, time: str, nonce: str | None = None, *, ledger: str
) -> SignedEvent:
    """The ``register_ring_key`` event for ``secret``'s site, signed by the site's owner for the
    ledger ``ledger``."""
    body: dict[str, Any] = {
        "kind": "register_ring_key", "site": secret.site_id, "ring_key": secret.key.hex(),
        "time": time, "actor": owner.did, "nonce": nonce or new_nonce(), "v": 1, "ledger": ledger,
    }
    body["pop"] = prove_possession(secret.scalar, possession_message(body)).to_bytes().hex()
    return sign_event(body, owner, ledger=ledger)


@dataclass(frozen=True)
class AnonymousExtraction:
    proved: ProvedEvent
    key: SigningKey  # the one-time key: it alone may ship the new lots
    ring: tuple[Point, ...]

    @property
    def event(self) -> SignedEvent:
        return self.proved.event

    def lot_openings(self) -> dict[str, dict[str, Opening]]:
        return self.proved.lot_openings()


def _points(ring: Sequence[RingMember] | Sequence[Point]) -> list[Point]:
    return [m.key if isinstance(m, RingMember) else m for m in ring]


def _country(body: Mapping[str, Any]) -> str:
    countries = {parse_bucket_key(k).country for spec in body["outputs"] for k in spec["buckets"]}
    if len(countries) != 1:
        raise ValueError(f"an anonymous extraction yields buckets of one country, got {sorted(countries)}")
    return countries.pop()


def prove_anonymous_extraction(
    body: Mapping[str, Any],
    secret: RingSecret,
    ring: Sequence[RingMember] | Sequence[Point],
    one_time_key: SigningKey | None = None,
    *,
    ledger: str,
) -> AnonymousExtraction:
    """Prove and sign an extraction written as in plain mode (``kind``, ``time``, ``outputs``
    with grams in ``buckets``); ``site`` and ``location`` are dropped (they would name the mine).
    ``ring`` is the certified ring for the event's country and time, in canonical order.
    Raises ValueError when ``secret``'s key is not in the ring."""
    key = one_time_key or SigningKey.generate()
    points = _points(ring)
    plain = {k: v for k, v in body.items() if k not in ("site", "location", "actor", "origin", "membership")}
    plain["origin"] = {"country": _country(body), "ring": [p.hex() for p in points]}
    out, openings, loss = prove_body(plain, key.did, ledger=ledger)
    proof = prove_membership(points, secret.scalar, membership_message(out))
    out["membership"] = proof.to_bytes().hex()
    return AnonymousExtraction(ProvedEvent(sign_event(out, key, ledger=ledger), openings, loss), key, tuple(points))


def anonymous_extraction(store: Store, body: Mapping[str, Any], secret: RingSecret) -> AnonymousExtraction:
    """``prove_anonymous_extraction`` with the certified ring the ledger in ``store`` holds for
    the body's country and time (submit it before the ring changes, or it is refused: ``ring.set``)."""
    ring = ring_from_store(store, _country(body), parse_time(str(body["time"])))
    ledger = store.get_meta("ledger_id")
    if ledger is None:
        raise ValueError("the store holds no ledger")
    return prove_anonymous_extraction(body, secret, ring, ledger=ledger)


def ship_anonymous(extraction: AnonymousExtraction, to: str, time: str, **more: Any) -> SignedEvent:
    """Ship every lot of ``extraction`` to ``to``, signed by its one-time key."""
    lots = sorted(extraction.proved.lot_openings())
    ledger = extraction.event.ledger
    assert ledger is not None  # set by prove_anonymous_extraction
    return sign_event({"kind": "ship", "to": to, "lots": lots, "time": time, **more}, extraction.key, ledger=ledger)


def _disclosure_message(event_hash: str, site_id: str, to: str) -> bytes:
    doc = {"extraction": event_hash, "site": site_id, "to": to}
    return hashlib.sha256(DISCLOSURE_DOMAIN + canonical_json(doc)).digest()


def disclose_origin(extraction: AnonymousExtraction, secret: RingSecret, to: str) -> dict[str, str]:
    """A private statement for the receiver ``to``: "this extraction was made at ``site``",
    proved with the site's ring secret and signed by the extraction's one-time key."""
    msg = _disclosure_message(extraction.event.hash_hex, secret.site_id, to)
    return {
        "extraction": extraction.event.hash_hex, "site": secret.site_id, "to": to,
        "pop": prove_possession(secret.scalar, msg).to_bytes().hex(),
        "signature": b64u_encode(extraction.key.sign(msg)),
    }


def verify_origin_disclosure(store: Store, disclosure: Mapping[str, Any], receiver: str) -> str:
    """Check a disclosure against the public log and registry; return the mine site it names.

    Raises VerificationError unless: it is addressed to ``receiver``; the extraction is an
    anonymous extraction in the log; its one-time key signed the disclosure; the site's
    registered ring key is in the extraction's ring and its secret made the proof."""
    try:
        event_hash, site_id, to = (str(disclosure[k]) for k in ("extraction", "site", "to"))
        proof = PossessionProof.from_bytes(bytes.fromhex(str(disclosure["pop"])))
        signature = b64u_decode(str(disclosure["signature"]))
        raw_hash = bytes.fromhex(event_hash)
    except (KeyError, ValueError, EncodingError) as exc:
        raise VerificationError(f"malformed origin disclosure: {exc}") from exc
    if to != receiver:
        raise VerificationError("the disclosure is addressed to another participant")
    seq = store.event_seq(raw_hash)
    if seq is None:
        raise VerificationError(f"extraction {event_hash[:12]}… is not in the log")
    stored = store.get_event(seq)
    ev = SignedEvent.from_stored(stored.canonical, stored.signature)
    if not is_anonymous_body(ev.body):
        raise VerificationError("the event is not an anonymous extraction")
    ring_key = next((r for r in store.ring_keys() if r.site_id == site_id), None)
    if ring_key is None:
        raise VerificationError(f"site {site_id} holds no ring key")
    key = Point.from_hex(ring_key.key)
    if key not in parse_origin(ev.body).ring:
        raise VerificationError(f"site {site_id}'s ring key is not in the extraction's ring")
    msg = _disclosure_message(event_hash, site_id, to)
    verify_signature(public_key_from_did(ev.actor), msg, signature)
    verify_possession(proof, key, msg)
    return site_id
