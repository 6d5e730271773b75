"""Rules for ring keys and anonymous certified extraction (wire form in ledger/anonymous.py,
docs/confidential.md § Anonymous certified extraction, docs/adr/0008).

* ``register_ring_key`` — signed by a mine site's owner: the site's ring key P and a proof of
  possession of its secret bound to the event, so nobody registers a key they cannot use or
  someone else's key (``ring.key``).
* an anonymous ``extract`` — confidential, signed by a fresh one-time did:key, naming no site:
  certified buckets of one country only (``ring.origin``, ``origin.country``), a ring of at least
  the policy's ``min_ring_size`` (``ring.size``) equal to the certified ring the ledger builds
  itself (``ring.set``), a membership proof over the event (``ring.membership``), then the range
  and ``contained`` proofs of any confidential extraction. The one-time key becomes a participant
  with the ``anonymous`` role, so a reused key is refused (``ring.one-time``); that role may only
  ship the lots the key holds, to a registered participant.
"""

from __future__ import annotations

from batterytrace.crypto.zk import (
    MembershipProof,
    Point,
    PossessionProof,
    verify_membership,
    verify_possession,
)
from batterytrace.errors import EncodingError, RuleViolationError, VerificationError
from batterytrace.ledger import rules_confidential as rc
from batterytrace.ledger import rules_material as rm
from batterytrace.ledger.anonymous import (
    RING_SITE_PREFIX,
    certified_ring_at,
    decode_ring_key,
    is_anonymous_body,
    membership_message,
    parse_origin,
    possession_message,
)
from batterytrace.ledger.confidential import (
    is_confidential_body,
    malformed,
    verify_extraction_ranges,
)
from batterytrace.ledger.fields import req_str, schema_error
from batterytrace.ledger.lot_specs import ORIGIN_SITES, check_evidence, check_identities, new_lot
from batterytrace.ledger.provenance import RAW
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.buckets import parse_bucket_key
from batterytrace.model.entities import ANONYMOUS_ROLE, Participant, RingKey
from batterytrace.model.events import SignedEvent

__all__ = ["check_anonymous_event", "check_one_time_signer"]


def _key_error(message: str) -> RuleViolationError:
    return RuleViolationError("ring.key", message)


def _register_ring_key(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    site_id = req_str(b, "site", 128)
    site = st.site(site_id)
    if site is None:
        raise RuleViolationError("site", f"site {site_id} is not registered")
    if site.owner != ev.actor:
        raise RuleViolationError("site", f"site {site_id} is not operated by the signer")
    if site.kind != "mine":
        raise _key_error(f"ring keys belong to mine sites, not to a {site.kind}")
    key = decode_ring_key(b.get("ring_key"), "ring_key")
    if key.is_identity():
        raise _key_error("a ring key cannot be the identity point (0·G would let anyone sign)")
    for other in st.ring_keys().values():
        if other.key == key.hex() and other.site_id != site_id:
            raise _key_error(f"this ring key is already registered for site {other.site_id}")
    pop = b.get("pop")
    if not isinstance(pop, str) or pop != pop.lower():
        raise malformed("pop must be lower-case hex")
    try:
        proof = PossessionProof.from_bytes(bytes.fromhex(pop))
    except (EncodingError, ValueError) as exc:
        raise malformed(f"pop: {exc}") from exc
    try:
        verify_possession(proof, key, possession_message(b))
    except VerificationError as exc:
        raise _key_error(f"the proof of possession does not verify for this event: {exc}") from exc
    return Effect(ring_keys=[RingKey(site_id, ev.actor, key.hex(), t, ev.hash_hex)])


def check_one_time_signer(ev: SignedEvent, role: str | None) -> None:
    """An anonymous extraction is signed by a key that has signed nothing before: not a
    registered participant, the operator, nor an earlier anonymous extraction's key."""
    if role is not None:
        what = "an earlier anonymous extraction's key" if role == ANONYMOUS_ROLE else f"a registered {role}"
        raise RuleViolationError(
            "ring.one-time", f"an anonymous extraction needs a fresh one-time key; the signer is {what}"
        )


def _check_ring(ev: SignedEvent, t: int, st: BatchState, country: str, ring: list[Point]) -> None:
    if len(ring) < st.policy.min_ring_size:
        raise RuleViolationError(
            "ring.size", f"a ring of {len(ring)} is below the policy's minimum of {st.policy.min_ring_size}"
        )
    expected = [m.key for m in certified_ring_at(st, country, t)]
    if ring == expected:
        return
    given = set(ring)
    if any(p.is_identity() for p in ring):
        why = "a member is the identity point"
    elif len(given) != len(ring):
        why = "a member appears twice"
    elif given - set(expected):
        why = f"{len(given - set(expected))} member(s) are not certified ring keys in {country} at event time"
    elif set(expected) - given:
        why = f"{len(set(expected) - given)} certified mine(s) of {country} are missing"
    else:
        why = "the members are not in canonical order"
    raise RuleViolationError(
        "ring.set", f"the ring is not the certified ring of {country} at event time ({len(expected)} members): {why}"
    )


def _verify_membership(ev: SignedEvent, st: BatchState, ring: list[Point]) -> None:
    text = ev.body.get("membership")
    if not isinstance(text, str) or text != text.lower():
        raise malformed("membership must be the proof in lower-case hex")
    try:
        proof = MembershipProof.from_bytes(bytes.fromhex(text), len(ring))
    except (EncodingError, ValueError) as exc:
        raise malformed(f"membership: {exc}") from exc
    message = membership_message(ev.body)
    if st.deferred_proofs is not None:
        st.deferred_proofs.memberships.append((proof, ring, message))
        return
    try:
        verify_membership(proof, ring, message)
    except VerificationError as exc:
        raise RuleViolationError(
            "ring.membership", f"the membership proof does not show a certified ring member signed this event: {exc}"
        ) from exc


def _anonymous_extract(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    for name in ("site", "location"):
        if name in b:
            raise RuleViolationError("ring.origin", f"an anonymous extraction names no {name} (it would name the mine)")
    if "inputs" in b:
        raise schema_error("extraction has no inputs")
    if not is_confidential_body(b):
        raise RuleViolationError("ring.origin", "an anonymous extraction is confidential (commitments, not grams)")
    origin = parse_origin(b)
    specs, points = rc._outputs(ev, st, 1000)
    rm._check_bulk_outputs("extraction", specs)
    check_identities(st, specs)
    check_evidence(b)
    for i, spec in enumerate(specs):
        if spec.get("coc_model") == "identity_preserved":
            raise RuleViolationError("coc.identity", f"outputs[{i}]: an anonymous lot cannot preserve its mine's identity")
        for key in spec["buckets"]:
            k = parse_bucket_key(key)
            if k.origin != "certified":
                raise RuleViolationError("ring.origin", f"outputs[{i}] {key}: an anonymous extraction yields certified buckets only")
            if k.country != origin.country:
                raise RuleViolationError("origin.country", f"outputs[{i}] {key}: the ring is of mines in {origin.country}")
    _check_ring(ev, t, st, origin.country, origin.ring)
    _verify_membership(ev, st, origin.ring)
    verify_extraction_ranges(b, points, st.deferred_proofs)
    rc._check_contained(ev, st, specs, points)
    effect = Effect()
    for i, spec in enumerate(specs):
        lot = new_lot(ev, i, spec, t, RING_SITE_PREFIX + origin.country, [])
        lot.extra["ring"] = {"country": origin.country, "size": len(origin.ring)}
        lot.extra[RAW] = True
        lot.extra[ORIGIN_SITES] = [lot.site]
        effect.lots[lot.lot_id] = lot
    effect.participants.append(
        Participant(ev.actor, ANONYMOUS_ROLE, f"anonymous certified mine ({origin.country})", origin.country, t, ev.hash_hex)
    )
    return rc._seal(effect, ev, specs)


def check_anonymous_event(ev: SignedEvent, t: int, st: BatchState) -> Effect | None:
    """The effect of a ring-key registration or an anonymous extraction; None for other events."""
    if ev.kind == "register_ring_key":
        return _register_ring_key(ev, t, st)
    if is_anonymous_body(ev.body):
        return _anonymous_extract(ev, t, st)
    return None
