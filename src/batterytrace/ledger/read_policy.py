"""Who may read which logged event: the read policy of the ledger's query interfaces.

Readers (``Reader.of`` builds one from a verified access grant, or none):

* **public** (no token): tree heads, checkpoints, inclusion and consistency proofs (hashes only)
  and public passport presentations; no event body, no lot trace.
* **participant** (grant role ``participant``, subject = its registered did): the events it is a
  party to (``ledger.event_index``): those it signed, those naming a lot it held (a lot's
  custodian), shipments to it, and its own registration, accreditations and attestations about
  it. This includes the lifecycle readings of batteries it held: the custodian is the economic
  operator the readings concern. Lot traces of lots it held.
* **auditor** (a participant registered with role ``auditor``): what a participant sees, plus,
  for each attestation it issued that still stands, every event at the attested site (read point)
  or signed by the attested participant whose event time lies in the attestation's audit window;
  lifecycle readings excepted (``audit_window``). An attestation stands while it is not revoked,
  the accreditation it was issued under was not withdrawn since (by log order, as for
  certification: ``Participant.accredited_for`` with ``accreditations_held``) and the auditor
  holds an accreditation for its scheme, not withdrawn, valid at the time of the read. The window
  is the validity ``[valid_from, valid_until)`` clamped by the policy in force: it starts at most
  ``audit_lookback_s`` before the attest event and lasts at most ``max_attestation_validity_s``
  (the bound ``attestation.period`` enforces at ingestion, applied again for attestations accepted
  under a looser policy). An auditor whose accreditations were withdrawn or have expired reads,
  through its role, nothing: only what it reads as a participant.
* **legitimate_interest**, **commission**, **authorities** (operator-issued role tokens; as the
  passport's audiences, not nested): event kinds by role (``ROLE_KINDS``). Lifecycle readings
  feed the passport attributes of the battery's condition (status, remaining capacity and energy,
  state of charge, fades, cycles…), which the longlist gives to persons with a legitimate interest
  only: so do these (``LIFECYCLE_ROLES``); the Commission and the authorities do not read them.
  Material-flow events and attestations to the Commission and the authorities (supply-chain
  oversight: due diligence, material composition); incidents and the registry to the authorities.
  Lot traces to every role.

Filtering runs in the store (``storage.base.Visibility``), so a reader's page costs the same as an
unrestricted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from batterytrace.canonical import parse_json
from batterytrace.errors import BatterytraceError
from batterytrace.ledger.access import PARTICIPANT_ROLE
from batterytrace.model.entities import Attestation, Lot, Participant
from batterytrace.model.events import EVENT_KINDS
from batterytrace.model.policy import DEFAULT_POLICY, LedgerPolicy
from batterytrace.storage.base import AuditWindow, EventFilter, Store, Visibility
from batterytrace.timeutil import now_us

__all__ = [
    "LEVEL_ROLES",
    "LIFECYCLE_ROLES",
    "MATERIAL_KINDS",
    "PARTICIPANT_ROLE",
    "ROLE_KINDS",
    "AccessDeniedError",
    "Grant",
    "Reader",
    "audit_window",
    "may_read_event",
    "may_see_job",
    "may_trace",
]

LEVEL_ROLES = ("legitimate_interest", "commission", "authorities")
# The roles that read the passport attributes lifecycle events feed (docs/passport-attributes.md:
# battery status, remaining capacity and energy, fades, SoC, SOCE, cycles — the longlist's
# "persons with a legitimate interest" only; tests/ledger/test_read_policy.py checks it against
# passport.attributes and passport.issue.AUDIENCES).
LIFECYCLE_ROLES = frozenset({"legitimate_interest"})
MATERIAL_KINDS = frozenset({"extract", "ship", "receive", "transform", "aggregate", "disaggregate", "recycle"})
ROLE_KINDS: dict[str, frozenset[str]] = {
    "legitimate_interest": frozenset({"lifecycle"}),
    "commission": MATERIAL_KINDS | {"attest"},
    "authorities": EVENT_KINDS - {"lifecycle"},
}


class AccessDeniedError(BatterytraceError):
    """The reader may not read this. ``needs_token``: a public reader, who should authenticate."""

    def __init__(self, message: str, needs_token: bool = False) -> None:
        super().__init__(message)
        self.needs_token = needs_token


class Grant(Protocol):
    """What the read policy needs from a verified access grant (``ledger.access.AccessGrant``)."""

    @property
    def subject(self) -> str: ...

    @property
    def role(self) -> str: ...


def _site_uri(site: str) -> str:
    return f"urn:batterytrace:site:{site}"


def audit_window(att: Attestation, auditor: Participant, policy: LedgerPolicy, at_us: int) -> AuditWindow | None:
    """The events ``att`` lets its auditor read at time ``at_us`` (µs), or ``None`` when it grants
    nothing: revoked; issued under an accreditation withdrawn since; or its auditor holds no
    accreditation for the scheme now (withdrawn or expired). Otherwise the attestation's validity,
    starting at most ``policy.audit_lookback_s`` before the attest event and lasting at most
    ``policy.max_attestation_validity_s``."""
    if att.revoked_by is not None or att.auditor != auditor.did:
        return None
    if not auditor.accredited_for(att.scheme, att.issued_at, att.accreditations_held):
        return None
    if not auditor.accredited_for(att.scheme, at_us):
        return None
    start = max(att.valid_from, att.issued_at - policy.audit_lookback_s * 1_000_000)
    end = min(att.valid_until, att.valid_from + policy.max_attestation_validity_s * 1_000_000)
    if end <= start:
        return None
    subject = att.subject if att.subject.startswith("did:") else _site_uri(att.subject)
    return AuditWindow(subject, start, end)


def _policy_in_force(store: Store) -> LedgerPolicy:
    text = store.get_meta("policy")
    return DEFAULT_POLICY if text is None else LedgerPolicy.from_dict(parse_json(text))


@dataclass(frozen=True)
class Reader:
    audience: str  # public | participant | auditor | one of LEVEL_ROLES | operator
    did: str | None = None
    windows: tuple[AuditWindow, ...] = ()

    @classmethod
    def public(cls) -> Reader:
        return cls("public")

    @classmethod
    def operator(cls) -> Reader:
        """The ledger operator's own view (command line, benchmarks, tests): every event. No
        grant maps to it: the API never reads as the operator."""
        return cls("operator")

    @classmethod
    def of(cls, grant: Grant | None, store: Store, at_us: int | None = None) -> Reader:
        """The reader a verified grant stands for (``None``: public). A participant grant must name
        a registered participant (else ``AccessDeniedError``); an auditor's windows are read here,
        from the store as it is now (withdrawals by log order) and for the time ``at_us`` (µs,
        default the system clock: an accreditation that has expired by then grants no window)."""
        if grant is None:
            return cls.public()
        if grant.role in LEVEL_ROLES:
            return cls(grant.role)
        if grant.role != PARTICIPANT_ROLE:
            raise AccessDeniedError(f"access role {grant.role!r} grants no read access")
        participant = store.get_participant(grant.subject)
        if participant is None:
            raise AccessDeniedError(f"{grant.subject} is not a registered participant of this ledger")
        if participant.role != "auditor":
            return cls("participant", participant.did)
        at = now_us() if at_us is None else at_us
        policy = _policy_in_force(store)
        windows = {
            w for a in store.iter_attestations()
            if a.auditor == participant.did and (w := audit_window(a, participant, policy, at)) is not None
        }
        return cls("auditor", participant.did, tuple(sorted(windows)))

    @property
    def is_public(self) -> bool:
        return self.audience == "public"

    def visibility(self) -> Visibility:
        if self.audience == "operator":
            return Visibility(all_events=True)
        if self.audience in ROLE_KINDS:
            return Visibility(kinds=ROLE_KINDS[self.audience])
        if self.audience == "participant":
            return Visibility(party=self.did)
        if self.audience == "auditor":
            return Visibility(party=self.did, windows=self.windows, window_excluded=frozenset({"lifecycle"}))
        return Visibility()


def _needs_token(what: str) -> AccessDeniedError:
    return AccessDeniedError(f"{what} needs a bearer token; tree heads, proofs and public passports need none",
                        needs_token=True)


def may_read_event(store: Store, reader: Reader, seq: int) -> bool:
    """Whether ``reader`` may read the logged event at ``seq`` (public: ``AccessDeniedError``)."""
    if reader.is_public:
        raise _needs_token("reading event bodies")
    return bool(store.query_events(EventFilter(reader.visibility(), seq=seq, limit=1)))


def may_trace(reader: Reader, lot: Lot) -> bool:
    """Lineage shows who supplied whom: every token level may trace; a participant or auditor the
    lots it held (public: ``AccessDeniedError``)."""
    if reader.is_public:
        raise _needs_token("tracing a lot")
    if reader.audience in (*LEVEL_ROLES, "operator"):
        return True
    return lot.custodian == reader.did


def may_see_job(grant: Grant | None, owner: str | None) -> bool:
    """Capture jobs are listed to the grant holder that submitted them (authorities: all). A job
    submitted without a token is nobody's: only its id (a 128-bit capability) finds it."""
    if grant is None:
        return False
    return grant.role == "authorities" or (owner is not None and owner == grant.subject)
