"""Ledger policy: sourcing rules (which attestations make a mine's output ``certified``) and
tolerances. The operator sets it with a signed ``set_policy`` event, so replaying the log always
evaluates each event under the policy in force when it was accepted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from batterytrace.errors import EncodingError
from batterytrace.model.entities import Attestation

__all__ = ["DEFAULT_POLICY", "LedgerPolicy", "SourcingPolicy", "SourcingRequirement"]


@dataclass(frozen=True)
class SourcingRequirement:
    """One attestation a mine must hold: a scheme, optionally a level and a minimum score."""

    scheme: str
    level: str | None = None
    min_score: int | None = None

    def met_by(self, att: Attestation, t: int) -> bool:
        if att.scheme != self.scheme or not att.valid_at(t):
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
        return text


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

    def tolerance(self, kind: str, input_forms: Iterable[str] = ()) -> int:
        """Loss tolerance for ``kind``; a ``kind:form`` entry for an input form may raise it
        (e.g. spodumene conversion recovers less lithium than sulphate refining)."""
        base = self.loss_tolerance_permille.get(kind, 0)
        return max([base] + [self.loss_tolerance_permille.get(f"{kind}:{f}", 0) for f in input_forms])

    def to_dict(self) -> dict[str, Any]:
        return {
            "sourcing": [
                [
                    {k: v for k, v in vars(r).items() if v is not None}
                    for r in alt
                ]
                for alt in self.sourcing.alternatives
            ],
            "loss_tolerance_permille": dict(self.loss_tolerance_permille),
            "assay_tolerance_permille": self.assay_tolerance_permille,
            "weighbridge_tolerance_permille": self.weighbridge_tolerance_permille,
            "max_clock_skew_s": self.max_clock_skew_s,
        }

    @classmethod
    def from_dict(cls, data: Any) -> LedgerPolicy:
        try:
            alts = tuple(
                tuple(
                    SourcingRequirement(
                        scheme=str(r["scheme"]),
                        level=r.get("level"),
                        min_score=r.get("min_score"),
                    )
                    for r in alt
                )
                for alt in data["sourcing"]
            )
            tol = {str(k): int(v) for k, v in data["loss_tolerance_permille"].items()}
            policy = cls(
                sourcing=SourcingPolicy(alts),
                loss_tolerance_permille=tol,
                assay_tolerance_permille=int(data["assay_tolerance_permille"]),
                weighbridge_tolerance_permille=int(data["weighbridge_tolerance_permille"]),
                max_clock_skew_s=int(data["max_clock_skew_s"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EncodingError(f"malformed policy: {exc}") from exc
        if any(not 0 <= v <= 1000 for v in tol.values()) or not alts:
            raise EncodingError("tolerances are per mille in 0..1000 and a policy needs an alternative")
        return policy


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
