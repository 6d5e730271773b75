"""Anonymous certified extraction: the wire form and the certified ring, shared by the rules
(ledger/rules_anonymous.py) and the prover (ledger/anonymous_client.py). docs/confidential.md,
docs/adr/0008-anonymous-certified-extraction.md.

A mine site holds a ring key P = sk·G (ristretto255, distinct from its operator's Ed25519 key),
registered by the site's owner with a proof of possession (``register_ring_key``). An anonymous
extraction is a confidential ``extract`` signed by a fresh one-time did:key that names no site::

    "origin":     {"country": "CD", "ring": [hex P_0, …]}   # the certified ring, canonical order
    "membership": hex                                       # one-out-of-many proof (oneofmany.py)

The ring must be exactly ``certified_ring_at(state, country, time)``: the ring keys of the mine
sites in that country whose attestations satisfy the sourcing policy at the event time, in
canonical (encoding) order — the rule builds it from the ledger state and never trusts the
submitter's list. The membership proof signs ``membership_message(body)``, which covers the
whole body except its proofs (actor, nonce, time, origin, every commitment).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batterytrace.canonical import canonical_json, parse_json
from batterytrace.crypto.zk import Point
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.ledger.confidential import binding_hash, malformed
from batterytrace.ledger.state import BatchState
from batterytrace.model.event_spec import is_country
from batterytrace.model.policy import LedgerPolicy
from batterytrace.storage.base import Store

__all__ = [
    "MEMBERSHIP_DOMAIN",
    "POSSESSION_DOMAIN",
    "RING_SITE_PREFIX",
    "Origin",
    "RingMember",
    "certified_ring_at",
    "decode_ring_key",
    "is_anonymous_body",
    "membership_message",
    "parse_origin",
    "possession_message",
    "ring_from_store",
]

MEMBERSHIP_DOMAIN = b"batterytrace/ring/extract/v1\x00"
POSSESSION_DOMAIN = b"batterytrace/ring/key/v1\x00"
RING_SITE_PREFIX = "ring:"
"""An anonymous lot's site is ``ring:<country>`` (no registered site may use the prefix)."""


@dataclass(frozen=True)
class RingMember:
    site_id: str
    key: Point


@dataclass(frozen=True)
class Origin:
    country: str
    ring: list[Point]


def is_anonymous_body(body: Mapping[str, Any]) -> bool:
    """An extraction carrying ``origin`` is anonymous (and must then be one in every respect)."""
    return body.get("kind") == "extract" and "origin" in body


def membership_message(body: Mapping[str, Any]) -> bytes:
    """What the membership proof signs: the confidential binding hash of the body (everything
    but ``proofs``, ``contained`` and ``membership``) under its own domain tag."""
    return hashlib.sha256(MEMBERSHIP_DOMAIN + binding_hash(body)).digest()


def possession_message(body: Mapping[str, Any]) -> bytes:
    """What a ring-key registration's proof of possession signs: the body without ``pop``
    (actor, site, key, nonce, time)."""
    return hashlib.sha256(
        POSSESSION_DOMAIN + canonical_json({k: v for k, v in body.items() if k != "pop"})
    ).digest()


def decode_ring_key(text: Any, what: str) -> Point:
    """A ring key from lower-case hex: a valid canonical point (the identity is allowed here so
    that the caller can refuse it under its own rule)."""
    if not isinstance(text, str) or text != text.lower():
        raise malformed(f"{what} must be lower-case hex")
    try:
        return Point.from_hex(text)
    except EncodingError as exc:
        raise malformed(f"{what}: {exc}") from exc


def parse_origin(body: Mapping[str, Any]) -> Origin:
    """``origin`` → country and ring points; ``ring.origin`` when the object is not the wire
    form, ``zk.malformed`` for a key that is not a point."""
    origin = body.get("origin")
    if not isinstance(origin, dict) or set(origin) != {"country", "ring"}:
        raise RuleViolationError("ring.origin", "origin must be {'country': ISO code, 'ring': [hex, …]}")
    country, ring = origin["country"], origin["ring"]
    if not is_country(country):
        raise RuleViolationError("ring.origin", "origin.country must be an ISO 3166-1 alpha-2 code")
    if not isinstance(ring, list) or not ring:
        raise RuleViolationError("ring.origin", "origin.ring must list the certified ring keys")
    return Origin(country, [decode_ring_key(k, f"origin.ring[{i}]") for i, k in enumerate(ring)])


def certified_ring_at(st: BatchState, country: str, t: int) -> list[RingMember]:
    """The certified ring of ``country`` at time ``t``: the ring keys of mine sites in that
    country, operated by a registered mine, whose site and operator attestations satisfy the
    ledger's sourcing policy at ``t`` (the same test plain certified extraction passes), in
    canonical order (by key encoding, as ``certified_ring``)."""
    members: list[RingMember] = []
    for rk in st.ring_keys().values():
        site = st.site(rk.site_id)
        if site is None or site.kind != "mine" or site.country != country or site.owner != rk.owner:
            continue
        owner = st.participant(rk.owner)
        if owner is None or owner.role != "mine":
            continue
        if st.policy.sourcing.satisfied(st.valid_attestations(site.site_id, site.owner, t), t):
            members.append(RingMember(site.site_id, Point.from_hex(rk.key)))
    return sorted(members, key=lambda m: m.key.data)


def ring_from_store(store: Store, country: str, t: int, policy: LedgerPolicy | None = None) -> list[RingMember]:
    """``certified_ring_at`` on a committed store under its policy in force (or ``policy``): the
    ring a prover must use for an extraction at ``t`` submitted next."""
    operator = store.get_meta("operator_did") or ""
    if policy is None:
        stored = store.get_meta("policy")
        policy = None if stored is None else LedgerPolicy.from_dict(parse_json(stored))
    return certified_ring_at(BatchState(store, operator, policy), country, t)
