"""Ledger state objects: participants, sites, lots, attestations, incidents and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANONYMOUS_ROLE",
    "CARBON_STAGES",
    "COC_MODELS",
    "FORM_LEVELS",
    "ROLES",
    "Attestation",
    "Incident",
    "Lot",
    "Participant",
    "RingKey",
    "Site",
    "lot_id",
]

ROLES = frozenset(
    {"operator", "mine", "refiner", "cathode_maker", "cell_maker", "oem", "recycler", "auditor", "authority", "logistics"}
)
# The role the ledger gives the one-time key of an anonymous certified extraction
# (docs/confidential.md): it may ship the lots it extracted, nothing else; never registered by hand.
ANONYMOUS_ROLE = "anonymous"
# ISO 22095 chain-of-custody models.
COC_MODELS = ("identity_preserved", "segregated", "controlled_blending", "mass_balance")
# Lifecycle stages of the Commission's battery carbon-footprint method.
CARBON_STAGES = ("raw_material", "production", "distribution", "end_of_life")
# Aggregation hierarchy: bulk material 0, cell 1, module 2, pack 3, vehicle 4.
FORM_LEVELS: dict[str, int] = {"cell": 1, "module": 2, "pack": 3, "vehicle": 4}


def lot_id(event_hash_hex: str, index: int) -> str:
    return f"{event_hash_hex}:{index}"


@dataclass(frozen=True)
class Participant:
    did: str
    role: str
    legal_name: str
    country: str
    registered_at: int  # µs
    event: str
    # An auditor's accreditations, set by the operator (register_participant, accredit): the
    # schemes it may attest, each {"scheme", "valid_from" µs, "valid_until" µs (absent: open),
    # "withdrawn_at" µs (once withdrawn: it no longer counts for anything ingested afterwards)}.
    accreditations: list[dict[str, Any]] = field(default_factory=list, hash=False)
    # The did:key that signs for this participant since the operator rotated its key
    # (``rotate_key``); ``None`` while its registered did's own key is in force. The registered
    # did stays its identifier (the ``actor`` of its events, custodian, site owner, auditor).
    key: str | None = None

    @property
    def key_in_force(self) -> str:
        """The did:key whose key signs for this participant now."""
        return self.key or self.did

    def accredited_for(self, scheme: str, t: int, held: int | None = None) -> bool:
        """Whether this participant holds an accreditation for ``scheme``, not withdrawn, whose
        validity covers time ``t`` (µs); with ``held``, among its first ``held`` records only
        (those granted, in log order, before a given attestation was accepted)."""
        records = self.accreditations if held is None else self.accreditations[:held]
        return any(
            a["scheme"] == scheme
            and "withdrawn_at" not in a
            and a["valid_from"] <= t
            and ("valid_until" not in a or t < a["valid_until"])
            for a in records
        )


@dataclass(frozen=True)
class Site:
    site_id: str
    owner: str
    kind: str
    name: str
    country: str
    lat: float | None
    lon: float | None
    registered_at: int
    event: str


@dataclass(frozen=True)
class RingKey:
    """A mine site's ring key (hex of P = sk·G on ristretto255), registered by the site's owner
    with a proof of possession; the certified rings of anonymous extractions are made of these."""

    site_id: str
    owner: str
    key: str
    registered_at: int
    event: str


@dataclass(frozen=True)
class Attestation:
    attestation_id: str  # hash of the attest event
    scheme: str
    subject: str  # a site id or a participant did
    auditor: str
    valid_from: int
    valid_until: int
    level: str | None
    score: int | None
    questions_answered: int | None
    questions_total: int | None
    companies_covered: int | None
    issued_at: int
    revokes: str | None = None
    # hash of the attest event that revoked it: from then on (in log order) it satisfies no rule
    revoked_by: str | None = None
    # how many accreditation records its auditor held when it was accepted (they are appended in
    # log order): only those can stand behind it, never one granted later (a re-accreditation
    # after a withdrawal does not revive what the withdrawal voided)
    accreditations_held: int | None = None

    def valid_at(self, t: int) -> bool:
        return self.valid_from <= t < self.valid_until

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Incident:
    incident_id: str
    site: str
    auditor: str
    start: int
    end: int
    severity: str
    description: str
    recorded_at: int


@dataclass
class Lot:
    """A quantity of material in one custodian's hands (UTXO-like: consumed whole)."""

    lot_id: str
    event: str  # hash of the creating event
    index: int
    custodian: str
    site: str | None
    form: str
    created_at: int
    gross_mass_g: int
    buckets: dict[str, int]
    coc_model: str
    assay_ppm: dict[str, int] = field(default_factory=dict)
    carbon: list[dict[str, Any]] = field(default_factory=list)
    attestations: list[str] = field(default_factory=list)
    gtin: str | None = None
    serial: str | None = None
    status: str = "held"  # held | in_transit | spent
    spent_by: str | None = None
    last_event_at: int = 0
    shipment: dict[str, Any] | None = None  # while in transit: {"event","to","seals","gross_mass_g"}
    extra: dict[str, Any] = field(default_factory=dict)  # lifecycle state, passport links...
    made_by: str = ""  # kind of the event that created the lot
    # Confidential lots: bucket key → Pedersen commitment (hex) instead of ``buckets`` grams
    # (docs/confidential.md). A lot is either plain (empty) or confidential (non-empty).
    commitments: dict[str, str] = field(default_factory=dict)

    @property
    def confidential(self) -> bool:
        return bool(self.commitments)

    @property
    def level(self) -> int:
        return FORM_LEVELS.get(self.form, 0)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # a plain dataclass: __dict__ holds exactly the fields

    def copy(self) -> Lot:
        """A copy whose containers can be changed without touching this lot (rules replace
        nested values instead of mutating them)."""
        fields = self.__dict__.copy()
        fields["buckets"] = self.buckets.copy()
        fields["assay_ppm"] = self.assay_ppm.copy()
        fields["carbon"] = self.carbon.copy()
        fields["attestations"] = self.attestations.copy()
        fields["extra"] = self.extra.copy()
        fields["commitments"] = self.commitments.copy() if self.commitments else {}
        clone = object.__new__(Lot)
        clone.__dict__ = fields  # hot path of the rules: no __init__, one dict built once
        return clone

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lot:
        return cls(**data)
