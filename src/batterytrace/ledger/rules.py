"""Ledger rules: the checks every event passes before it is accepted.

``check_event`` verifies the signature (unless a worker already did), refuses an event signed for
another ledger (its body's ``ledger`` must be this ledger's identifier), rejects replays, checks
that the signer's role may perform the event kind and that its time is acceptable, then applies
the kind's own rules (``rules_registry``, ``rules_anonymous``, ``rules_confidential``,
``rules_material``). An anonymous extraction is the one event whose signer is not registered:
a fresh one-time key (``ring.one-time``), which then holds the ``anonymous`` role. It returns the event's effect or
raises ``RuleViolationError`` whose ``rule`` names the broken rule.
"""

from __future__ import annotations

from batterytrace.errors import RuleViolationError, VerificationError
from batterytrace.ledger.anonymous import is_anonymous_body
from batterytrace.ledger.fields import req_time
from batterytrace.ledger.rules_anonymous import check_anonymous_event, check_one_time_signer
from batterytrace.ledger.rules_confidential import check_confidential_event
from batterytrace.ledger.rules_material import check_material_event
from batterytrace.ledger.rules_registry import check_registry_event
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.entities import ANONYMOUS_ROLE
from batterytrace.model.events import SignedEvent

__all__ = ["ROLE_PERMISSIONS", "check_event"]

_MATERIAL = frozenset({"mine", "refiner", "cathode_maker", "cell_maker", "oem", "recycler", "logistics"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "register_participant": frozenset({"operator"}),
    "accredit": frozenset({"operator"}),
    "register_site": frozenset({"operator"}),
    "register_ring_key": frozenset({"mine"}),
    "set_policy": frozenset({"operator"}),
    "extract": frozenset({"mine"}),  # and a fresh one-time key for an anonymous extraction
    "ship": _MATERIAL | {ANONYMOUS_ROLE},
    "receive": _MATERIAL,
    "transform": frozenset({"refiner", "cathode_maker", "cell_maker", "oem", "recycler"}),
    "aggregate": frozenset({"cell_maker", "oem"}),
    "disaggregate": frozenset({"cell_maker", "oem", "recycler"}),
    "attest": frozenset({"auditor"}),
    "incident": frozenset({"auditor"}),
    "lifecycle": frozenset({"oem", "recycler", "cell_maker"}),
    "recycle": frozenset({"recycler"}),
    "rotate_key": frozenset({"operator"}),
}


def check_event(
    ev: SignedEvent, st: BatchState, *, ingested_us: int, signature_checked: bool = False
) -> tuple[int, Effect]:
    """Return ``(event time µs, effect)`` or raise ``RuleViolationError``. ``ingested_us`` is the
    ledger's ingestion time for the event (``Ledger.submit_batch``)."""
    if not signature_checked:
        try:
            ev.verify_signature()
        except VerificationError as exc:
            raise RuleViolationError("signature", str(exc)) from exc
    if st.ledger_id is None or ev.ledger != st.ledger_id:
        named = "no ledger" if ev.ledger is None else f"ledger {ev.ledger!r}"
        raise RuleViolationError("ledger.domain", f"the event is signed for {named}, not for this ledger ({st.ledger_id})")
    custodial = ev.body.get("custodial")
    if custodial is not None and not (
        isinstance(custodial, dict) and set(custodial) == {"credential"}
        and isinstance(custodial["credential"], str) and 0 < len(custodial["credential"]) <= 64
    ):
        raise RuleViolationError("custodial", "custodial must be {'credential': <credential id>} (ledger.epcis_capture)")
    if st.seen(ev.event_hash):
        raise RuleViolationError("replay", f"event {ev.hash_hex} was already accepted")
    check_signer(ev, st)
    role = st.role(ev.actor)
    allowed = ROLE_PERMISSIONS[ev.kind]
    if is_anonymous_body(ev.body):
        check_one_time_signer(ev, role)
        role, allowed = ANONYMOUS_ROLE, frozenset({ANONYMOUS_ROLE})
    elif role is None:
        raise RuleViolationError("registration", f"signer {ev.actor} is not a registered participant")
    if role not in allowed:
        raise RuleViolationError(
            "authorisation", f"a {role} may not sign {ev.kind} events (allowed: {sorted(allowed)})"
        )
    t = req_time(ev.body, "time")
    check_time(ev, t, st, ingested_us)
    effect = check_registry_event(ev, t, st)
    if effect is None:
        effect = check_anonymous_event(ev, t, st)
    if effect is None:
        effect = check_confidential_event(ev, t, st)
    if effect is None:
        effect = check_material_event(ev, t, st)
    assert effect is not None  # every kind in EVENT_KINDS has a handler
    effect.latest = dict.fromkeys(_clock_keys(ev, st), t)
    return t, effect


def check_signer(ev: SignedEvent, st: BatchState) -> None:
    """The key that signed (``ev.signer``, its signature already verified) is the actor's key in
    force at ingestion: without ``signer``, the actor's own did key, refused once the operator
    rotated it out (``key.rotated``) and never a key rotated in for a participant (which signs
    as that participant, naming it as actor); with ``signer``, exactly the key rotated in last
    for the actor, or the actor's own did while none was (``key.signer``)."""
    p = st.participant(ev.actor)
    if "signer" not in ev.body:
        if p is not None and p.key is not None:
            raise RuleViolationError(
                "key.rotated", f"the key of {ev.actor} was rotated out; its events are signed by {p.key} (field signer)"
            )
        if p is None and ev.actor != st.operator_did and (owner := st.key_owner(ev.actor)) is not None:
            raise RuleViolationError(
                "key.signer", f"{ev.actor} signs for participant {owner}: name it as actor and this key as signer"
            )
        return
    in_force = st.operator_did if ev.actor == st.operator_did else (
        p.key_in_force if p is not None and p.role != ANONYMOUS_ROLE else None
    )
    if in_force is None:
        raise RuleViolationError("key.signer", f"actor {ev.actor} is not a registered participant a key signs for")
    if ev.signer != in_force:
        raise RuleViolationError("key.signer", f"{ev.signer} is not the key in force for {ev.actor} ({in_force})")


def _clock_keys(ev: SignedEvent, st: BatchState) -> list[str]:
    """The time lines an event continues: its signer's, and the site it names when that is a
    registered site the signer operates (extraction, processing, receipt, ring key) or an
    incident an auditor records there. A site the signer merely mentions is not its to advance."""
    keys = [f"actor:{ev.actor}"]
    site_id = ev.body.get("site")
    if isinstance(site_id, str):
        site = st.site(site_id)
        if site is not None and (site.owner == ev.actor or ev.kind == "incident"):
            keys.append(f"site:{site_id}")
    return keys


def check_time(ev: SignedEvent, t: int, st: BatchState, ingested_us: int) -> None:
    """The event's own time ``t`` against its ingestion time and the time lines it continues:
    at most ``max_clock_skew_s`` ahead (``time.future``), at most ``max_backdate_s`` behind
    (``time.backdate``), never before its signer's or its site's latest accepted event
    (``time.order``; the input lots' latest events are checked where they are taken)."""
    policy = st.policy
    if t > ingested_us + policy.max_clock_skew_s * 1_000_000:
        raise RuleViolationError("time.future", "event time lies in the future")
    if t < ingested_us - policy.max_backdate_s * 1_000_000:
        raise RuleViolationError(
            "time.backdate",
            f"event time lies more than {policy.max_backdate_s} s (max_backdate_s) before its ingestion",
        )
    for key in _clock_keys(ev, st):
        if t < st.latest_time(key):
            who = "signer" if key.startswith("actor:") else "site"
            raise RuleViolationError("time.order", f"event predates its {who}'s latest accepted event")
