"""Rules for registry and assurance events: participants, sites, policy, attestations,
incidents and lifecycle updates."""

from __future__ import annotations

from typing import Any

from batterytrace.crypto.signing import public_key_from_did
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.ledger.anonymous import RING_SITE_PREFIX
from batterytrace.ledger.fields import (
    opt_str,
    req_int,
    req_number,
    req_str,
    req_time,
    schema_error,
)
from batterytrace.ledger.state import BatchState, Effect
from batterytrace.model.entities import (
    ANONYMOUS_ROLE,
    ROLES,
    Attestation,
    Incident,
    Participant,
    Site,
)
from batterytrace.model.event_spec import BMS_FIELDS, LIFECYCLE_STATUSES, SEVERITIES, is_country
from batterytrace.model.events import SignedEvent
from batterytrace.model.policy import LedgerPolicy

__all__ = ["BMS_FIELDS", "LIFECYCLE_STATUSES", "check_registry_event"]



def _country(body: dict[str, Any]) -> str:
    c = req_str(body, "country", 2)
    if not is_country(c):
        raise schema_error("country must be an ISO 3166-1 alpha-2 code")
    return c


def _register_participant(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    did = req_str(b, "did")
    try:
        public_key_from_did(did)
    except EncodingError as exc:
        raise schema_error(f"did: {exc}") from exc
    role = req_str(b, "role")
    if role not in ROLES or role == "operator":
        raise schema_error(f"role must be one of {sorted(ROLES - {'operator'})}")
    if st.participant(did) is not None or did == st.operator_did:
        raise RuleViolationError("registration.duplicate", f"{did} is already registered")
    if st.key_owner(did) is not None:
        raise RuleViolationError("registration.duplicate", f"{did} is a key that signs for {st.key_owner(did)}")
    accreditations: list[dict[str, Any]] = []
    if "accreditations" in b:
        if role != "auditor":
            raise RuleViolationError("accreditation", f"only an auditor holds accreditations, not a {role}")
        items = b["accreditations"]
        if not isinstance(items, list) or len(items) > 64:
            raise RuleViolationError("accreditation", "accreditations is a list of at most 64 {scheme, valid_from?, valid_until?}")
        for item in items:
            accreditations = _accredit(accreditations, item, t)
    p = Participant(did, role, req_str(b, "legal_name"), _country(b), t, ev.hash_hex, accreditations)
    return Effect(participants=[p])


def _accredit(current: list[dict[str, Any]], item: Any, t: int) -> list[dict[str, Any]]:
    """``current`` with one more accreditation ``{scheme, valid_from?, valid_until?}`` (times RFC
    3339; ``valid_from`` defaults to the event time, no ``valid_until`` means until withdrawn)."""
    if not isinstance(item, dict) or not set(item) <= {"scheme", "valid_from", "valid_until"} or "scheme" not in item:
        raise RuleViolationError("accreditation", "an accreditation is {scheme, valid_from?, valid_until?}")
    scheme = req_str(item, "scheme", 64)
    entry: dict[str, Any] = {"scheme": scheme, "valid_from": req_time(item, "valid_from") if "valid_from" in item else t}
    if "valid_until" in item:
        entry["valid_until"] = req_time(item, "valid_until")
        if entry["valid_until"] <= entry["valid_from"]:
            raise RuleViolationError("accreditation", f"accreditation for {scheme}: valid_until must be after valid_from")
    return [*current, entry]


def _accreditation_event(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    """The operator adds an accreditation to a registered auditor, or withdraws every
    accreditation it holds for a scheme. A withdrawal takes effect by ingestion order: no attest
    ingested after it passes on that accreditation, whatever time the attest states (a back-dated
    attestation does not slip in), and the attestations issued under it no longer satisfy the
    sourcing policy for any event ingested after it (``BatchState.accreditation_stands``): an
    auditor found issuing false certificates stops certifying anything at once."""
    b = ev.body
    did = req_str(b, "auditor")
    p = st.participant(did)
    if p is None or p.role != "auditor":
        raise RuleViolationError("accreditation", f"{did} is not a registered auditor")
    if "withdraw" in b:
        if b["withdraw"] is not True or "valid_from" in b or "valid_until" in b:
            raise RuleViolationError("accreditation", "a withdrawal is {auditor, scheme, withdraw: true}")
        scheme = req_str(b, "scheme", 64)
        current = [a for a in p.accreditations if a["scheme"] == scheme and "withdrawn_at" not in a]
        if not current:
            raise RuleViolationError("accreditation", f"{did} holds no accreditation for {scheme} to withdraw")
        kept = [
            {**a, "withdrawn_at": t} if a["scheme"] == scheme and "withdrawn_at" not in a else a
            for a in p.accreditations
        ]
    else:
        if len(p.accreditations) >= 64:
            raise RuleViolationError("accreditation", f"{did} already holds 64 accreditation records")
        kept = _accredit(p.accreditations, {k: b[k] for k in ("scheme", "valid_from", "valid_until") if k in b}, t)
    return Effect(participants=[Participant(**{**p.__dict__, "accreditations": kept})])


def _register_site(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    site_id = req_str(b, "site_id", 128)
    if site_id.startswith(RING_SITE_PREFIX):
        raise schema_error("site ids starting with 'ring:' are reserved for anonymous lots")
    owner = req_str(b, "owner")
    p = st.participant(owner)
    if p is None or p.role == ANONYMOUS_ROLE:
        raise RuleViolationError("registration", f"site owner {owner} is not registered")
    if st.site(site_id) is not None:
        raise RuleViolationError("registration.duplicate", f"site {site_id} is already registered")
    lat = req_number(b, "lat", -90, 90) if "lat" in b else None
    lon = req_number(b, "lon", -180, 180) if "lon" in b else None
    site = Site(site_id, owner, req_str(b, "site_kind"), req_str(b, "name"), _country(b), lat, lon, t, ev.hash_hex)
    return Effect(sites=[site])


def _rotate_key(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    """The operator links a participant's key in force to a new did:key. The participant keeps
    its registered did as its identifier; from the next event on, only the new key signs for it
    (its events name it in ``signer``), and the old key is refused (``key.rotated``). A key
    signs for one participant only, once: the new key must never have been registered, rotated
    in, or used by the operator."""
    b = ev.body
    did = req_str(b, "participant")
    p = st.participant(did)
    if p is None or p.role == ANONYMOUS_ROLE:
        raise RuleViolationError("key.participant", f"{did} is not a registered participant")
    new_key = req_str(b, "new_key")
    try:
        public_key_from_did(new_key)
    except EncodingError as exc:
        raise schema_error(f"new_key: {exc}") from exc
    if new_key == p.key_in_force:
        raise RuleViolationError("key.same", f"{new_key} is already the key in force for {did}")
    if st.participant(new_key) is not None or new_key == st.operator_did or st.key_owner(new_key) is not None:
        raise RuleViolationError("key.in-use", f"{new_key} is a registered participant, the operator or a key already rotated in")
    return Effect(participants=[Participant(**{**p.__dict__, "key": new_key})], keys={new_key: did})


def _set_policy(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    try:
        policy = LedgerPolicy.from_dict(ev.body.get("policy"))
    except EncodingError as exc:
        raise RuleViolationError("policy", str(exc)) from exc
    return Effect(policy=policy)


def _attest(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    subject = req_str(b, "subject")
    if st.site(subject) is None and st.participant(subject) is None:
        raise RuleViolationError("attestation.subject", f"{subject} is neither a site nor a participant")
    valid_from, valid_until = req_time(b, "valid_from"), req_time(b, "valid_until")
    if valid_until <= valid_from:
        raise RuleViolationError("attestation.validity", "valid_until must be after valid_from")
    longest_us = st.policy.max_attestation_validity_s * 1_000_000
    if valid_until - valid_from > longest_us:
        raise RuleViolationError(
            "attestation.period",
            f"the validity spans {(valid_until - valid_from) // 86_400_000_000} days; the policy allows at most "
            f"{longest_us // 86_400_000_000} (max_attestation_validity_s)",
        )
    score = req_int(b, "score", 0, 100) if b.get("score") is not None else None
    answered = req_int(b, "questions_answered") if b.get("questions_answered") is not None else None
    total = req_int(b, "questions_total", 1) if b.get("questions_total") is not None else None
    if (answered is None) != (total is None) or (answered or 0) > (total or 0):
        raise RuleViolationError("attestation.coverage", "questions answered must be ≤ questions total")
    companies = req_int(b, "companies_covered", 1) if b.get("companies_covered") is not None else None
    scheme = req_str(b, "scheme", 64)
    auditor = st.participant(ev.actor)
    if auditor is None or not auditor.accredited_for(scheme, t):
        raise RuleViolationError(
            "attestation.accreditation", f"the signer holds no accreditation for {scheme} at the event time"
        )
    revokes = opt_str(b, "revokes")
    effect = Effect()
    if revokes is not None:
        old = st.attestation(revokes)
        if old is None or old.auditor != ev.actor:
            raise RuleViolationError("attestation.revoke", "only the issuing auditor may revoke an attestation")
        effect.attestations.append(
            Attestation(**{**old.to_dict(), "valid_until": min(old.valid_until, t), "revoked_by": ev.hash_hex})
        )
    effect.attestations.append(
        Attestation(
            attestation_id=ev.hash_hex,
            scheme=scheme,
            subject=subject,
            auditor=ev.actor,
            valid_from=valid_from,
            valid_until=valid_until,
            level=opt_str(b, "level", 64),
            score=score,
            questions_answered=answered,
            questions_total=total,
            companies_covered=companies,
            issued_at=t,
            revokes=revokes,
            accreditations_held=len(auditor.accreditations),
        )
    )
    return effect


def _incident(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    site = req_str(b, "site")
    if st.site(site) is None:
        raise RuleViolationError("incident.site", f"site {site} is not registered")
    start, end = req_time(b, "start"), req_time(b, "end")
    if end <= start:
        raise RuleViolationError("incident.window", "incident end must be after its start")
    severity = req_str(b, "severity")
    if severity not in SEVERITIES:
        raise schema_error(f"severity must be one of {SEVERITIES}")
    inc = Incident(ev.hash_hex, site, ev.actor, start, end, severity, req_str(b, "description", 4000), t)
    return Effect(incidents=[inc])


def _lifecycle(ev: SignedEvent, t: int, st: BatchState) -> Effect:
    b = ev.body
    lid = req_str(b, "lot")
    lot = st.lot(lid)
    if lot is None:
        raise RuleViolationError("unknown-lot", f"lot {lid} does not exist")
    if lot.level < 1:
        raise RuleViolationError("lifecycle", "lifecycle data applies to serialised products (cell and up)")
    operator = lot.extra.get("economic_operator")
    if ev.actor not in (lot.custodian, operator):
        raise RuleViolationError("custody", "only the custodian or the economic operator may update lifecycle data")
    if lot.status == "spent":
        raise RuleViolationError("unspent", f"lot {lid} no longer exists (spent by {lot.spent_by})")
    if t < lot.last_event_at:
        raise RuleViolationError("time.order", "event is older than the lot's latest event")
    status = req_str(b, "status")
    if status not in LIFECYCLE_STATUSES:
        raise schema_error(f"status must be one of {LIFECYCLE_STATUSES}")
    earlier = [r.get("status") for r in lot.extra.get("lifecycle", [])]
    if status == "original" and any(s != "original" for s in earlier):
        # a battery's first life is over once it was repurposed, reused, remanufactured or
        # declared waste: declaring it "original" again would wipe that history from its passport
        raise RuleViolationError(
            "lifecycle.status", f"lot {lid} was {earlier[-1]} already; it cannot be declared original again"
        )
    record: dict[str, Any] = {"event": ev.hash_hex, "time": t, "status": status}
    if b.get("soh_percent") is not None:
        record["soh_percent"] = req_number(b, "soh_percent", 0, 100)
    for name in ("cycles", "energy_throughput_kwh", "deep_discharge_events"):
        if b.get(name) is not None:
            record[name] = req_int(b, name)
    if b.get("put_into_service") is not None:
        if b["put_into_service"] is not True:
            raise schema_error("put_into_service is true (this event puts the battery into service) or absent")
        if status == "waste":
            raise RuleViolationError("lifecycle.service", "a battery declared waste is not put into service")
        life = [r for r in lot.extra.get("lifecycle", []) if r.get("status") == status]
        if any(r.get("put_into_service") for r in life):
            raise RuleViolationError("lifecycle.service", f"lot {lid} was already put into service as a {status} battery")
        record["put_into_service"] = True
    if b.get("accident") is not None:
        accident = b["accident"]
        if not isinstance(accident, str) or not 1 <= len(accident) <= 500:
            raise schema_error("accident is a description of 1 to 500 characters")
        record["accident"] = accident
    bms = b.get("bms")
    if bms is not None:
        if not isinstance(bms, dict) or not set(bms) <= set(BMS_FIELDS):
            raise schema_error(f"bms readings are an object with keys from {sorted(BMS_FIELDS)}")
        record["bms"] = {name: req_number(bms, name, 0, 1e12) for name in sorted(bms)}
    history = list(lot.extra.get("lifecycle", []))
    history.append(record)
    lot.extra = {**lot.extra, "lifecycle": history}
    lot.last_event_at = t
    return Effect(lots={lid: lot})


_HANDLERS = {
    "register_participant": _register_participant,
    "register_site": _register_site,
    "set_policy": _set_policy,
    "rotate_key": _rotate_key,
    "attest": _attest,
    "accredit": _accreditation_event,
    "incident": _incident,
    "lifecycle": _lifecycle,
}


def check_registry_event(ev: SignedEvent, t: int, st: BatchState) -> Effect | None:
    handler = _HANDLERS.get(ev.kind)
    return None if handler is None else handler(ev, t, st)
