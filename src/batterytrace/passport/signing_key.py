"""Which key may sign a passport or a status list for its issuer (docs/security.md, invariant 11).

A passport's issuer (``iss``) is the economic operator's registered did, whatever key signs it;
the SD-JWT header's ``kid`` names the signing key. The rule, against the verifier's ledger:

* ``passport.key-rotated`` / ``statuslist.key-rotated``: the key once spoke for the issuer (its
  registered did, or a key rotated in before the one in force) and the operator has since rotated
  it out. Nothing the signer states (``iat``) proves it signed before the rotation, and the
  ledger records no issuance, so a rotated-out key's passports and lists are refused from the
  rotation on: the economic operator re-issues them with the key in force.
* ``passport.signer`` / ``statuslist.signer``: the key never spoke for the issuer (another
  participant's, the operator's, another participant's rotated-in key, any other key).

A passport signed by a rotated-in key carries ``evidence.key_rotation``: the operator-signed
``rotate_key`` event that rotated the key in for the issuer and its inclusion proof under the
passport's checkpoint, so a verifier without the ledger checks the key did speak for the issuer.
Whether it still does (no later rotation) only the ledger says: offline, that check is reported
``not checked``.
"""

from __future__ import annotations

from typing import Any, Literal

from batterytrace.crypto.merkle import leaf_hash, verify_inclusion
from batterytrace.errors import BatterytraceError, EncodingError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import key_history, key_standing
from batterytrace.model.events import SignedEvent
from batterytrace.storage.base import Store

__all__ = ["SigningKeyError", "check_key_rotation", "check_signing_key", "key_rotation_evidence"]

Artefact = Literal["passport", "statuslist"]


class SigningKeyError(VerificationError):
    """A passport or status list signed by a key that does not speak for its issuer now;
    ``rule`` names why (``passport.key-rotated``, ``passport.signer``, ``statuslist.*``)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


_NAMES = {"passport": "passport", "statuslist": "status list"}


def check_signing_key(store: Store, issuer: str, key: str, artefact: Artefact) -> None:
    """Raise ``SigningKeyError`` unless ``key`` is ``issuer``'s key in force on ``store`` now."""
    standing = key_standing(store, issuer, key)
    what = _NAMES[artefact]
    if standing == "rotated out":
        raise SigningKeyError(f"{artefact}.key-rotated", f"the {what} is signed by {key}, a key the ledger operator "
                              f"rotated out for {issuer}; it no longer speaks for it, whatever date the {what} "
                              "states: the issuer must re-issue it with its key in force")
    if standing != "in force":
        raise SigningKeyError(f"{artefact}.signer", f"the {what} is signed by {key}, which is not a key of its issuer "
                              f"{issuer} on this ledger")


def key_rotation_evidence(ledger: Ledger, checkpoint: Checkpoint, issuer: str, key: str) -> dict[str, Any]:
    """``evidence.key_rotation`` of a passport ``key`` signs for ``issuer``: the ``rotate_key``
    event that rotated it in, its ingestion time and inclusion proof under ``checkpoint``.
    Raises ``BatterytraceError`` when no rotation put ``key`` in for ``issuer`` or the checkpoint
    does not cover it yet."""
    period = next((p for p in key_history(ledger.store, issuer) if p.key == key and p.rotation is not None), None)
    if period is None:
        raise BatterytraceError(f"{key} was never rotated in for {issuer}")
    if checkpoint.tree_size <= period.seq:
        raise BatterytraceError("no signed tree head covers the rotation of the issuer's key yet; sign one first "
                                "(log head)")
    found = ledger.event_by_hash(str(period.rotation))
    assert found is not None and found[0] == period.seq
    return {"event": found[1].to_wire(), "ingested_at": ledger.ingestion_time(period.seq), "leaf_index": period.seq,
            "inclusion_proof": [p.hex() for p in ledger.inclusion_proof(period.seq, checkpoint.tree_size)]}


def check_key_rotation(evidence: Any, issuer: str, key: str, checkpoint: Checkpoint) -> int:
    """Check ``evidence.key_rotation``: the checkpoint's operator rotated ``key`` in for ``issuer``
    by an event included in ``checkpoint`` (already verified). Returns its leaf index; raises
    ``SigningKeyError("passport.signer")`` otherwise."""
    if not isinstance(evidence, dict):
        raise SigningKeyError("passport.signer", f"the passport is signed by {key}, not by its issuer {issuer}, "
                              "and carries no evidence that the ledger operator rotated that key in for it")
    try:
        event = SignedEvent.from_wire(evidence["event"])
        ingested, index = evidence["ingested_at"], evidence["leaf_index"]
        path = [bytes.fromhex(p) for p in evidence["inclusion_proof"]]
        if set(evidence) != {"event", "ingested_at", "leaf_index", "inclusion_proof"}:
            raise TypeError("unknown members")
        if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 63 for v in (ingested, index)):
            raise TypeError("ingested_at and leaf_index are non-negative integers")
    except (KeyError, TypeError, ValueError, EncodingError) as exc:
        raise SigningKeyError("passport.signer", f"the passport's key rotation evidence is malformed: {exc}") from exc
    event.verify_signature()
    if event.kind != "rotate_key" or event.actor != checkpoint.log_id or event.ledger != checkpoint.ledger:
        raise SigningKeyError("passport.signer", "the passport's key rotation evidence is not a rotate_key event of "
                              "the checkpoint's operator and ledger")
    if event.body.get("participant") != issuer or event.body.get("new_key") != key:
        raise SigningKeyError("passport.signer", f"the passport's key rotation evidence does not rotate {key} in for "
                              f"its issuer {issuer}")
    verify_inclusion(leaf_hash(event.leaf_data(ingested)), index, checkpoint.tree_size, path, checkpoint.root_hash)
    return int(index)
