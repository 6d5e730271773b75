"""What participants and the operator sign and read about themselves, as library functions:
the bodies of registry events (participant, site, attestation, key rotation), signing a body
for a participant whatever key is in force for it, what a participant holds now, and which key
speaks for it (``key_history``, ``key_in_force``, ``key_standing``: what artefacts signed outside
the log, passports and status lists, are judged by).

The rules that judge these events live in ``rules_registry`` and ``rules`` (``check_signer``);
this module only builds bodies and reads state, so the CLI, the API and integrators share one
spelling of each event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.ledger import Ledger, Receipt
from batterytrace.ledger.state import KEY_PREFIX
from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import EventFilter, Store, Visibility
from batterytrace.timeutil import format_time, now_us

__all__ = [
    "KeyPeriod",
    "KeyStanding",
    "attestation_body",
    "holdings",
    "key_history",
    "key_in_force",
    "key_owner",
    "key_standing",
    "participant_body",
    "rotate_key",
    "rotation_body",
    "sign_as",
    "site_body",
]


def participant_body(
    did: str, role: str, legal_name: str, country: str, accreditations: Sequence[str] = ()
) -> dict[str, Any]:
    """A ``register_participant`` body (signed by the operator). ``accreditations`` are an
    auditor's schemes, valid from the event time until withdrawn."""
    body: dict[str, Any] = {"kind": "register_participant", "did": did, "role": role,
                            "legal_name": legal_name, "country": country}
    if accreditations:
        body["accreditations"] = [{"scheme": s} for s in accreditations]
    return body


def site_body(
    site_id: str, owner: str, site_kind: str, name: str, country: str,
    lat: float | None = None, lon: float | None = None,
) -> dict[str, Any]:
    """A ``register_site`` body (signed by the operator): a site ``owner`` (a registered
    participant's did) operates."""
    body: dict[str, Any] = {"kind": "register_site", "site_id": site_id, "owner": owner,
                            "site_kind": site_kind, "name": name, "country": country}
    if lat is not None:
        body["lat"] = lat
    if lon is not None:
        body["lon"] = lon
    return body


def attestation_body(
    subject: str, scheme: str, valid_from: str, valid_until: str, *,
    level: str | None = None, score: int | None = None, revokes: str | None = None,
) -> dict[str, Any]:
    """An ``attest`` body (signed by an auditor accredited for ``scheme``): a site or participant
    conforms from ``valid_from`` until ``valid_until`` (RFC 3339)."""
    body: dict[str, Any] = {"kind": "attest", "subject": subject, "scheme": scheme,
                            "valid_from": valid_from, "valid_until": valid_until}
    for name, value in (("level", level), ("score", score), ("revokes", revokes)):
        if value is not None:
            body[name] = value
    return body


def rotation_body(participant: str, new_key: str) -> dict[str, Any]:
    """A ``rotate_key`` body (signed by the operator): from its acceptance on, ``new_key`` (a
    did:key) signs for ``participant`` (its registered did) and the key in force before is
    refused (rules ``key.rotated``, ``key.signer``)."""
    return {"kind": "rotate_key", "participant": participant, "new_key": new_key}


def key_owner(store: Store, key_did: str) -> str | None:
    """The participant a key was rotated in for, ``None`` if it never was."""
    return store.get_meta(KEY_PREFIX + key_did)


KeyStanding = Literal["in force", "rotated out", "not its key"]


@dataclass(frozen=True)
class KeyPeriod:
    """One key of a participant and when it spoke for it, as ingestion times (µs, the ledger's
    clock, which no signer chooses): from ``since_us`` (the registration, or the ``rotate_key``
    that rotated it in, at log position ``seq``) until ``until_us`` (the rotation that took it
    out; ``None`` while in force). ``rotation`` is that rotating-in event's hash (``None`` for the
    registered did)."""

    key: str
    since_us: int
    until_us: int | None
    seq: int
    rotation: str | None


def _rotations(store: Store, participant: str) -> list[tuple[int, int, str, str]]:
    """(seq, ingestion µs, new key, event hash) of every ``rotate_key`` for ``participant``, in
    log order (read through the event index: rotations are few)."""
    from batterytrace.model.events import SignedEvent

    kinds = frozenset({"rotate_key"})
    out: list[tuple[int, int, str, str]] = []
    after: tuple[int, int] | None = None
    while True:
        page = store.query_events(EventFilter(Visibility(kinds=kinds), kinds=kinds, after=after, limit=500))
        for stored, row in page:
            body = SignedEvent.from_stored(stored.canonical, stored.signature).body
            if body.get("participant") == participant and isinstance(body.get("new_key"), str):
                out.append((stored.seq, row.ingested_at, body["new_key"], stored.event_hash.hex()))
        if len(page) < 500:
            return out
        after = (0, page[-1][0].seq)


def key_history(store: Store, participant: str) -> list[KeyPeriod]:
    """Every key that spoke for ``participant`` (its registered did first, then each key rotated
    in), with the ingestion times of its registration and rotations; empty when it is not a
    registered participant."""
    p = store.get_participant(participant)
    if p is None:
        return []
    seq = store.event_seq(bytes.fromhex(p.event))
    registered_us = store.get_event(seq).ingested_at if seq is not None else p.registered_at
    periods: list[KeyPeriod] = []
    key, since, at, rotation = participant, registered_us, seq if seq is not None else -1, None
    for r_seq, r_at, new_key, r_hash in _rotations(store, participant):
        periods.append(KeyPeriod(key, since, r_at, at, rotation))
        key, since, at, rotation = new_key, r_at, r_seq, r_hash
    periods.append(KeyPeriod(key, since, None, at, rotation))
    return periods


def key_in_force(store: Store, participant: str, at_us: int | None = None) -> str | None:
    """The did:key that speaks for ``participant``: now (``at_us`` None: its record), or at
    ingestion time ``at_us`` (µs); ``None`` when it is not registered (then).
    The rule: a key speaks for a participant from the ingestion of its registration or of the
    rotation that rotated it in until the ingestion of the next rotation."""
    if at_us is None:
        p = store.get_participant(participant)
        return None if p is None else p.key_in_force
    for period in key_history(store, participant):
        if period.since_us <= at_us and (period.until_us is None or at_us < period.until_us):
            return period.key
    return None


def key_standing(store: Store, participant: str, key_did: str) -> KeyStanding:
    """How ``key_did`` stands for ``participant`` now: ``in force`` (it signs for it),
    ``rotated out`` (it once did: its registered did, or a key rotated in before the key in force)
    or ``not its key`` (anyone else's key, or ``participant`` is no registered participant)."""
    p = store.get_participant(participant)
    if p is None:
        return "not its key"
    if key_did == p.key_in_force:
        return "in force"
    if key_did == p.did or key_owner(store, key_did) == participant:
        return "rotated out"
    return "not its key"


def sign_as(
    body: dict[str, Any], key: SigningKey, *, ledger: str, participant: str | None = None,
    time_us: int | None = None,
) -> SignedEvent:
    """Sign ``body`` with ``key`` for ``ledger``, at ``time_us`` (default: now) unless the body
    has a time. With ``participant`` other than the key's did, the event acts for that
    participant with ``key`` as its rotated-in key (``actor`` = participant, ``signer`` = key)."""
    full = dict(body)
    full.setdefault("time", format_time(time_us if time_us is not None else now_us()))
    if participant is not None and participant != key.did:
        full.setdefault("actor", participant)
        full.setdefault("signer", key.did)
    return sign_event(full, key, ledger=ledger)


def rotate_key(ledger: Ledger, operator_key: SigningKey, participant: str, new_key: str) -> Receipt:
    """Rotate ``participant``'s key to ``new_key`` (a did:key): the operator signs the ``rotate_key``
    event at the ledger's clock and the ledger judges it; raises ``RuleViolationError`` naming
    the rule."""
    body = rotation_body(participant, new_key)
    return ledger.submit(sign_as(body, operator_key, ledger=ledger.ledger_id, time_us=ledger.clock()))


def holdings(store: Store, participant: str) -> list[Lot]:
    """Every lot ``participant`` holds now (in its custody and unspent: held, or shipped and not
    yet received), oldest first."""
    lots = [lot for lot in store.iter_lots() if lot.custodian == participant and lot.status != "spent"]
    return sorted(lots, key=lambda lot: (lot.created_at, lot.lot_id))
