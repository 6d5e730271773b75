"""Ledger policy: sourcing rules (which attestations make a mine's output ``certified``) and
tolerances. The operator sets it with a signed ``set_policy`` event, so replaying the log always
evaluates each event under the policy in force when it was accepted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from batterytrace.errors import EncodingError
from batterytrace.model.entities import Attestation

__all__ = ["DEFAULT_POLICY", "POLICY_BOUNDS", "LedgerPolicy", "SourcingPolicy", "SourcingRequirement"]


@dataclass(frozen=True)
class SourcingRequirement:
    """One attestation a mine must hold: a scheme, optionally a level, a minimum score and the
    auditors (did) whose attestations the policy accepts for it (absent: any auditor the ledger
    accepted the attestation from, i.e. one accredited for the scheme when it attested)."""

    scheme: str
    level: str | None = None
    min_score: int | None = None
    issuers: tuple[str, ...] | None = None

    def met_by(self, att: Attestation, t: int) -> bool:
        if att.scheme != self.scheme or not att.valid_at(t):
            return False
        if self.issuers is not None and att.auditor not in self.issuers:
            return False
        if self.level is not None and att.level != self.level:
            return False
        return self.min_score is None or (att.score is not None and att.score >= self.min_score)

    def describe(self) -> str:
        text = self.scheme
        if self.level:
            text += f" {self.level}"
        if self.min_score is not None:
            text += f" score ≥ {self.min_score}"
        if self.issuers is not None:
            text += f" by one of {len(self.issuers)} accepted auditor(s)"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scheme": self.scheme}
        if self.level is not None:
            out["level"] = self.level
        if self.min_score is not None:
            out["min_score"] = self.min_score
        if self.issuers is not None:
            out["issuers"] = list(self.issuers)
        return out


@dataclass(frozen=True)
class SourcingPolicy:
    """Certified if every requirement of at least one alternative is met at event time."""

    alternatives: tuple[tuple[SourcingRequirement, ...], ...]

    def satisfied(self, attestations: Iterable[Attestation], t: int) -> bool:
        atts = [a for a in attestations if a.valid_at(t)]
        return any(
            all(any(req.met_by(a, t) for a in atts) for req in alt) for alt in self.alternatives
        )

    def describe(self) -> str:
        return " OR ".join(
            "(" + " AND ".join(r.describe() for r in alt) + ")" for alt in self.alternatives
        )


DEFAULT_MIN_RING = 2
DEFAULT_MAX_BACKDATE_S = 7 * 86_400
# Cell plants scrap 15–30 % of their output early in their life and around 10 % after years
# (electrode coating and slitting, formation rejects; docs/data-sources.md); 30 % is the top of
# that common range, so a line ramping up is not refused while a "scrap" output of 99 % is.
DEFAULT_MAX_SCRAP_PERMILLE = 300
# Attestation schemes award at most three years (RMAP, IRMA and Copper Mark certification cycles):
# three years with a leap day. An auditor's read window is its audit period: the validity, and
# before it at most the year preceding the audit that the evidence of an audit typically covers.
DEFAULT_MAX_ATTESTATION_VALIDITY_S = 1096 * 86_400
DEFAULT_AUDIT_LOOKBACK_S = 365 * 86_400
_MAX_BACKDATE_S = 366 * 86_400
_MAX_RING = 1 << 16  # crypto/zk/oneofmany.MAX_RING
# Inclusive bounds of every integer a policy holds: from_dict refuses anything outside them, and
# the set_policy schema (model/event_spec.py) states them.
POLICY_BOUNDS: dict[str, tuple[int, int]] = {
    "loss_tolerance": (0, 1000),
    "assay_tolerance_permille": (0, 1000),
    "weighbridge_tolerance_permille": (0, 1000),
    "max_clock_skew_s": (0, 86_400),
    "min_ring_size": (2, _MAX_RING),
    "max_scrap_permille": (0, 1000),
    "max_backdate_s": (0, _MAX_BACKDATE_S),
    "min_score": (0, 100),
    "max_attestation_validity_s": (86_400, 10 * 366 * 86_400),
    "audit_lookback_s": (0, 3 * 366 * 86_400),
}


@dataclass(frozen=True)
class LedgerPolicy:
    sourcing: SourcingPolicy
    # Maximum loss per element, per mille of the input, by event kind.
    loss_tolerance_permille: dict[str, int] = field(default_factory=dict)
    # Assay declared vs bucket totals must agree within this (per mille of the assayed mass).
    assay_tolerance_permille: int = 10
    # Weighbridge gross mass at receipt vs at shipment.
    weighbridge_tolerance_permille: int = 5
    # Events may not be dated further than this in the future at acceptance.
    max_clock_skew_s: int = 300
    # Nor further than this before their ingestion (rule time.backdate): a week covers paperwork
    # entered after a weekend or a site offline for days, and bounds how far a signer can move an
    # event back to dodge an expiry (docs/rules.md).
    max_backdate_s: int = DEFAULT_MAX_BACKDATE_S
    # Fewest members the certified ring of an anonymous extraction may have (a ring of k hides
    # the mine among k at best; a ring of 1 names it).
    min_ring_size: int = DEFAULT_MIN_RING
    # Most production scrap a manufacturing transformation may book, per element, per mille of
    # the product plus scrap it yields (a scrap rate; rule provenance.scrap-share): scrap is
    # recycled as pre-consumer content, so an unbounded share would launder virgin material.
    max_scrap_permille: int = DEFAULT_MAX_SCRAP_PERMILLE
    # Longest validity an attestation may state, valid_from to valid_until (rule
    # attestation.period): a certificate "valid" for decades would certify a mine, and open its
    # events to its auditor, long after any audit could vouch for it.
    max_attestation_validity_s: int = DEFAULT_MAX_ATTESTATION_VALIDITY_S
    # How far before its attest event an auditor's read window may start (ledger.read_policy):
    # a certificate issued earlier may be recorded with its original valid_from, but its auditor
    # reads the attested site's events from at most this long before the attestation on.
    audit_lookback_s: int = DEFAULT_AUDIT_LOOKBACK_S

    def tolerance(self, kind: str, input_forms: Iterable[str] = ()) -> int:
        """Loss tolerance for ``kind``; a ``kind:form`` entry for an input form may raise it
        (e.g. spodumene conversion recovers less lithium than sulphate refining)."""
        base = self.loss_tolerance_permille.get(kind, 0)
        return max([base] + [self.loss_tolerance_permille.get(f"{kind}:{f}", 0) for f in input_forms])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sourcing": [[r.to_dict() for r in alt] for alt in self.sourcing.alternatives],
            "loss_tolerance_permille": dict(self.loss_tolerance_permille),
            "assay_tolerance_permille": self.assay_tolerance_permille,
            "weighbridge_tolerance_permille": self.weighbridge_tolerance_permille,
            "max_clock_skew_s": self.max_clock_skew_s,
        }
        if self.max_backdate_s != DEFAULT_MAX_BACKDATE_S:
            out["max_backdate_s"] = self.max_backdate_s  # only when set, as min_ring_size
        if self.max_scrap_permille != DEFAULT_MAX_SCRAP_PERMILLE:
            out["max_scrap_permille"] = self.max_scrap_permille  # only when set, as max_backdate_s
        if self.max_attestation_validity_s != DEFAULT_MAX_ATTESTATION_VALIDITY_S:
            out["max_attestation_validity_s"] = self.max_attestation_validity_s  # only when set
        if self.audit_lookback_s != DEFAULT_AUDIT_LOOKBACK_S:
            out["audit_lookback_s"] = self.audit_lookback_s  # only when set
        if self.min_ring_size != DEFAULT_MIN_RING:
            # only when set, so policies written before rings existed keep their stored form
            out["min_ring_size"] = self.min_ring_size
        return out

    @classmethod
    def from_dict(cls, data: Any) -> LedgerPolicy:
        """Parse strictly: every value has the type and range the rules compute with (a policy the
        rules cannot apply is refused when it is set, not when a later event trips on it)."""
        if not isinstance(data, dict):
            raise EncodingError("malformed policy: not an object")
        try:
            alts = tuple(tuple(_requirement(r) for r in _list(alt, "alternative")) for alt in _list(data["sourcing"], "sourcing"))
            tol_data = data["loss_tolerance_permille"]
            if not isinstance(tol_data, dict):
                raise EncodingError("loss_tolerance_permille is an object")
            tol = {str(k): _int(v, k, *POLICY_BOUNDS["loss_tolerance"]) for k, v in tol_data.items()}
            policy = cls(
                sourcing=SourcingPolicy(alts),
                loss_tolerance_permille=tol,
                assay_tolerance_permille=_bounded(data["assay_tolerance_permille"], "assay_tolerance_permille"),
                weighbridge_tolerance_permille=_bounded(
                    data["weighbridge_tolerance_permille"], "weighbridge_tolerance_permille"
                ),
                max_clock_skew_s=_bounded(data["max_clock_skew_s"], "max_clock_skew_s"),
                min_ring_size=_bounded(data.get("min_ring_size", DEFAULT_MIN_RING), "min_ring_size"),
                max_scrap_permille=_bounded(
                    data.get("max_scrap_permille", DEFAULT_MAX_SCRAP_PERMILLE), "max_scrap_permille"
                ),
                max_backdate_s=_bounded(data.get("max_backdate_s", DEFAULT_MAX_BACKDATE_S), "max_backdate_s"),
                max_attestation_validity_s=_bounded(
                    data.get("max_attestation_validity_s", DEFAULT_MAX_ATTESTATION_VALIDITY_S),
                    "max_attestation_validity_s",
                ),
                audit_lookback_s=_bounded(data.get("audit_lookback_s", DEFAULT_AUDIT_LOOKBACK_S), "audit_lookback_s"),
            )
        except KeyError as exc:
            raise EncodingError(f"malformed policy: missing {exc}") from exc
        if not alts or not all(alts):
            raise EncodingError("a policy needs an alternative, and every alternative a requirement")
        return policy


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise EncodingError(f"malformed policy: {what} is a list")
    return value


def _int(value: Any, what: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise EncodingError(f"malformed policy: {what} must be an integer in [{lo}, {hi}]")
    return value


def _bounded(value: Any, name: str) -> int:
    return _int(value, name, *POLICY_BOUNDS[name])


def _requirement(r: Any) -> SourcingRequirement:
    if not isinstance(r, dict) or not set(r) <= {"scheme", "level", "min_score", "issuers"}:
        raise EncodingError("malformed policy: a requirement is {scheme, level?, min_score?, issuers?}")
    scheme, level, min_score = r.get("scheme"), r.get("level"), r.get("min_score")
    if not isinstance(scheme, str) or not scheme or (level is not None and not isinstance(level, str)):
        raise EncodingError("malformed policy: scheme and level are strings")
    issuers = r.get("issuers")
    if issuers is not None and (
        not isinstance(issuers, list)
        or not issuers
        or len(issuers) > 1000
        or not all(isinstance(d, str) and d.startswith("did:") and len(d) <= 512 for d in issuers)
        or len(set(issuers)) != len(issuers)
    ):
        raise EncodingError("malformed policy: issuers is a non-empty list of distinct auditor DIDs")
    return SourcingRequirement(
        scheme, level, None if min_score is None else _bounded(min_score, "min_score"),
        None if issuers is None else tuple(issuers),
    )


DEFAULT_POLICY = LedgerPolicy(
    sourcing=SourcingPolicy(
        (
            (SourcingRequirement("RMAP", level="conformant"),),
            (SourcingRequirement("IRMA", min_score=75),),
            (SourcingRequirement("CopperMark", level="awarded"),),
            (
                SourcingRequirement("GBA-ChildLabour", min_score=60),
                SourcingRequirement("GBA-HumanRights", min_score=60),
            ),
        )
    ),
    # receive: ISO 22095-2 / ISCC reconciliation tolerance 0.5 %; refining and cathode synthesis
    # lose a few per cent of contained metal; hydrometallurgical recycling recovers ≥ 90 % Co.
    loss_tolerance_permille={
        "receive": 5,
        "transform": 50,
        "transform:spodumene_concentrate": 150,
        "recycle": 100,
        "aggregate": 0,
        "disaggregate": 0,
    },
)
