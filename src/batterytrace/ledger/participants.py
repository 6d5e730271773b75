"""What participants and the operator sign and read about themselves, as library functions:
the bodies of registry events (participant, site, attestation, key rotation), signing a body
for a participant whatever key is in force for it, and what a participant holds now.

The rules that judge these events live in ``rules_registry`` and ``rules`` (``check_signer``);
this module only builds bodies and reads state, so the CLI, the API and integrators share one
spelling of each event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.ledger import Ledger, Receipt
from batterytrace.ledger.state import KEY_PREFIX
from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time, now_us

__all__ = [
    "attestation_body",
    "holdings",
    "key_owner",
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
