"""Passport figures of a confidential pack, proved in zero knowledge against its commitments.

A confidential pack's assembly event carries one Pedersen commitment per bucket key and no grams.
Its passport states the same shares a plain passport does (recycled content pre/post/total per
element, certified share, origin mix by country, the Art. 8 verdicts) to 0.01 percentage point,
and proves each one from the pack's commitments: a share s = Σ_num v / Σ_den v stated as ``p``
percent (``b = 100·p`` basis points, an integer) holds b/10000 ≤ s < (b+1)/10000, i.e.

    lower:  10000·Σ_num v − b·Σ_den v       ≥ 0     (left out when b = 0: always true)
    upper:  (b+1)·Σ_den v − 10000·Σ_num v − 1 ≥ 0   (also proves Σ_den v ≥ 1)

each a 64-bit threshold proof over a linear combination of the commitments (crypto/zk/linear.py),
bound to the assembly event, the passport id and the figure. The set of figures follows from the
public bucket keys alone, so a verifier rebuilds every statement itself: a passport can neither
drop a figure nor state one its proofs do not cover. Art. 8 targets are whole percents, so
``met`` ⇔ b ≥ 100·target is exact. Statements, bounds and the security argument: docs/zk.md §14.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from batterytrace.crypto.zk import (
    LinearStatement,
    Opening,
    Point,
    RangeProof,
    decode_commitment,
    prove_linear,
)
from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.linear import linear_equation
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.figures import ART8_TARGETS_PERCENT, MaterialFigures
from batterytrace.model.buckets import parse_bucket_key

__all__ = ["SCALE", "ShareClaim", "prove_material_masses", "prove_share_figures", "share_claims",
           "verify_material_masses", "verify_share_figures"]

SCALE = 10_000  # basis points: figures to 0.01 percentage point
PROOF_DOMAIN = b"batterytrace/passport/zk-figures/v1\x00"
_N_BITS = 64


@dataclass(frozen=True)
class ShareClaim:
    """One stated share: ``path`` names it in the summary (``recycled_percent/Co/post``)."""

    path: tuple[str, ...]
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]  # sorted bucket keys; the commitments are taken in this order


def share_claims(keys: Iterable[str]) -> list[ShareClaim]:
    """Every share a passport states for a pack holding these bucket keys, as in
    ``ledger.figures.material_figures``."""
    parsed = [(parse_bucket_key(k), k) for k in sorted(set(keys))]
    claims: list[ShareClaim] = []
    for el in sorted({p.element for p, _ in parsed}):
        mine = [(p, k) for p, k in parsed if p.element == el]
        every = tuple(sorted(k for _, k in mine))

        def pick(keep: Any, among: tuple[str, ...] = every, mine: Any = mine) -> tuple[str, ...]:
            return tuple(k for p, k in mine if k in among and keep(p))

        claims += [
            ShareClaim(("recycled_percent", el, "pre"), pick(lambda p: p.origin == "recycled-pre"), every),
            ShareClaim(("recycled_percent", el, "post"), pick(lambda p: p.origin == "recycled-post"), every),
            ShareClaim(("recycled_percent", el, "total"), pick(lambda p: p.recycled), every),
            ShareClaim(("certified_percent", el), pick(lambda p: p.origin == "certified"), every),
        ]
        mined = pick(lambda p: not p.recycled)
        for country in sorted({p.country for p, k in mine if k in mined}):
            claims.append(ShareClaim(("origin_mix_percent", el, country),
                                     pick(lambda p, c=country: p.country == c, mined), mined))
    return claims


def _statements(claim: ShareClaim, bp: int) -> dict[str, LinearStatement]:
    label = "/".join(claim.path)
    num = set(claim.numerator)
    lower = tuple(SCALE * (k in num) - bp for k in claim.denominator)
    upper = tuple(bp + 1 - SCALE * (k in num) for k in claim.denominator)
    out = {}
    if bp > 0 and any(lower):
        out["lower"] = LinearStatement(f"passport/{label}>={bp}bp", lower, 0, _N_BITS)
    # always present: with num = den and b = 9 999 its coefficients are all 0 and it reads
    # "0 − 1 ≥ 0", which no proof satisfies (a whole share is 100 %, not 99.99)
    out["upper"] = LinearStatement(f"passport/{label}<{bp + 1}bp", upper, 1, _N_BITS)
    return out


def _extra(event_hash: str, passport_id: str, claim: ShareClaim) -> bytes:
    return PROOF_DOMAIN + f"{event_hash}\x00{passport_id}\x00{'/'.join(claim.path)}".encode()


def _set(tree: dict[str, Any], path: tuple[str, ...], value: float) -> None:
    for name in path[:-1]:
        tree = tree.setdefault(name, {})
    tree[path[-1]] = value


def _figures(values: dict[str, Any], keys: Iterable[str]) -> MaterialFigures:
    elements = sorted({parse_bucket_key(k).element for k in keys})
    rec = values.get("recycled_percent", {})
    art8: dict[str, dict[str, dict[str, float | bool]]] = {}
    for el, targets in ART8_TARGETS_PERCENT.items():
        if el in elements:
            total_bp = round(rec[el]["total"] * 100)
            art8[el] = {year: {"target": t, "met": total_bp >= round(t * 100)} for year, t in targets.items()}
    return MaterialFigures(
        element_g={},  # the grams stay confidential
        recycled_percent={el: rec[el] for el in elements},
        art8=art8,
        origin_mix_percent={el: values["origin_mix_percent"][el] for el in elements
                            if el in values.get("origin_mix_percent", {})},
        certified_percent={el: values["certified_percent"][el] for el in elements},
    )


def _basis_points(openings: Mapping[str, Opening], claim: ShareClaim) -> int:
    """The claim's share in basis points, floored: the figure a passport states and proves."""
    den = sum(openings[k].value for k in claim.denominator)
    if den <= 0:
        raise ValueError(f"{'/'.join(claim.path)}: the pack holds 0 g of the denominator")
    return SCALE * sum(openings[k].value for k in claim.numerator) // den


def share_figures(openings: Mapping[str, Opening]) -> MaterialFigures:
    """The figures ``prove_share_figures`` states (floored to a basis point), without the proofs:
    what an export of the same pack states (passport/catenax.py). Raises ValueError as it does."""
    values: dict[str, Any] = {}
    for claim in share_claims(openings):
        _set(values, claim.path, _basis_points(openings, claim) / 100)
    return _figures(values, openings)


def prove_share_figures(openings: Mapping[str, Opening], event_hash: str,
                        passport_id: str) -> tuple[MaterialFigures, dict[str, dict[str, str]]]:
    """The pack's figures (floored to a basis point) and their proofs, keyed by figure path.
    ``openings`` open the pack's commitments in its assembly event. Raises ValueError when an
    element's denominator is 0 g (no share can be stated)."""
    values: dict[str, Any] = {}
    proofs: dict[str, dict[str, str]] = {}
    for claim in share_claims(openings):
        bp = _basis_points(openings, claim)
        _set(values, claim.path, bp / 100)
        items = [openings[k] for k in claim.denominator]
        proofs["/".join(claim.path)] = {
            side: prove_linear(st, items, _extra(event_hash, passport_id, claim))[0].to_bytes().hex()
            for side, st in _statements(claim, bp).items()
        }
    return _figures(values, openings), proofs


def _claimed(summary: Mapping[str, Any], path: tuple[str, ...]) -> int:
    node: Any = summary
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    if isinstance(node, bool) or not isinstance(node, int | float) or (isinstance(node, float) and not math.isfinite(node)):
        raise VerificationError(f"the passport states no number for {'/'.join(path)}")
    if not 0 <= node <= 100:  # before scaling: a huge int or float overflows round()
        raise VerificationError(f"{'/'.join(path)} = {node!r} is not a percentage")
    bp = round(node * 100)
    if not 0 <= bp <= SCALE or abs(node * 100 - bp) > 1e-6:
        raise VerificationError(f"{'/'.join(path)} = {node!r} is not a percentage to 0.01 point")
    return bp


def verify_share_figures(commitments: Mapping[str, Any], summary: Mapping[str, Any], proofs: Any,
                         event_hash: str, passport_id: str) -> MaterialFigures:
    """Check every share the summary must state for a pack with these commitments (hex by bucket
    key, from the logged assembly event) against its proofs; return the proved figures (the
    caller compares them with the rest of the passport). Raises ``VerificationError``."""
    if not isinstance(proofs, dict):
        raise VerificationError("the passport carries no zero-knowledge proofs of its figures")
    points: dict[str, Point] = {}
    try:
        for key, text in commitments.items():
            parse_bucket_key(key)
            points[key] = decode_commitment(text, f"commitment {key}")
        claims = share_claims(points)
    except (EncodingError, TypeError, ValueError) as exc:
        raise VerificationError(f"the pack's commitments are malformed: {exc}") from exc
    expected = {"/".join(c.path) for c in claims}
    if set(proofs) != expected:
        extra, missing = sorted(set(proofs) - expected), sorted(expected - set(proofs))
        raise VerificationError(f"figure proofs do not match the pack's buckets (missing {missing}, unexpected {extra})")
    values: dict[str, Any] = {}
    equations: list[Equation] = []
    for claim in claims:
        name = "/".join(claim.path)
        bp = _claimed(summary, claim.path)
        _set(values, claim.path, bp / 100)
        statements = _statements(claim, bp)
        given = proofs[name]
        if not isinstance(given, dict) or set(given) != set(statements):
            raise VerificationError(f"{name}: expected proofs {sorted(statements)}")
        items = [points[k] for k in claim.denominator]
        for side, st in statements.items():
            try:
                proof = RangeProof.from_bytes(bytes.fromhex(given[side]), _N_BITS, 1)
            except (EncodingError, TypeError, ValueError) as exc:
                raise VerificationError(f"{name} {side} proof is malformed: {exc}") from exc
            equations.append(linear_equation(st, items, proof, _extra(event_hash, passport_id, claim)))
    check_all(equations, "passport figure proofs")
    return _figures(values, points)


# -- element masses of a confidential pack, for the levels that may read them ---------------------
# MaterialComposition.batteryMaterials (commission level) states each element's mass; for a
# confidential pack that mass x (grams) is proved equal to the sum v of the element's committed
# buckets by two threshold proofs, v − x ≥ 0 and x − v ≥ 0. The statements name x, so the proofs
# travel in a claim disclosed at the same level as the masses (``material_proofs``), never in the
# public evidence.
MASS_DOMAIN = b"batterytrace/passport/zk-masses/v1\x00"


def _element_keys(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for key in sorted(keys):
        out.setdefault(parse_bucket_key(key).element, []).append(key)
    return {el: tuple(ks) for el, ks in out.items()}


def _mass_statements(element: str, grams: int, n: int) -> dict[str, LinearStatement]:
    return {"lower": LinearStatement(f"passport/mass/{element}>={grams}g", (1,) * n, grams, _N_BITS),
            "upper": LinearStatement(f"passport/mass/{element}<={grams}g", (-1,) * n, -grams, _N_BITS)}


def _mass_extra(event_hash: str, passport_id: str, element: str) -> bytes:
    return MASS_DOMAIN + f"{event_hash}\x00{passport_id}\x00{element}".encode()


def prove_material_masses(openings: Mapping[str, Opening], elements: Iterable[str], event_hash: str,
                          passport_id: str) -> dict[str, dict[str, str]]:
    """Proofs that each of ``elements`` weighs the sum of its opened buckets, keyed by element."""
    keys = _element_keys(openings)
    proofs: dict[str, dict[str, str]] = {}
    for el in elements:
        items = [openings[k] for k in keys[el]]
        grams = sum(o.value for o in items)
        proofs[el] = {side: prove_linear(st, items, _mass_extra(event_hash, passport_id, el))[0].to_bytes().hex()
                      for side, st in _mass_statements(el, grams, len(items)).items()}
    return proofs


def verify_material_masses(commitments: Mapping[str, Any], grams: Mapping[str, int], proofs: Any,
                           event_hash: str, passport_id: str) -> None:
    """Check that each element of ``grams`` weighs exactly that many grams in the pack's committed
    buckets (hex by bucket key, from the logged assembly event). Raises ``VerificationError``."""
    if not isinstance(proofs, dict) or set(proofs) != set(grams):
        raise VerificationError(f"the stated masses of {sorted(grams)} need one proof each")
    try:
        keys = _element_keys(commitments)
        points = {k: decode_commitment(v, f"commitment {k}") for k, v in commitments.items()}
    except (EncodingError, TypeError, ValueError) as exc:
        raise VerificationError(f"the pack's commitments are malformed: {exc}") from exc
    equations: list[Equation] = []
    for el, x in grams.items():
        if el not in keys:
            raise VerificationError(f"the pack holds no {el} buckets")
        given = proofs[el]
        statements = _mass_statements(el, x, len(keys[el]))
        if not isinstance(given, dict) or set(given) != set(statements):
            raise VerificationError(f"{el} mass: expected proofs {sorted(statements)}")
        for side, st in statements.items():
            try:
                proof = RangeProof.from_bytes(bytes.fromhex(given[side]), _N_BITS, 1)
            except (EncodingError, TypeError, ValueError) as exc:
                raise VerificationError(f"{el} mass {side} proof is malformed: {exc}") from exc
            equations.append(linear_equation(st, [points[k] for k in keys[el]], proof,
                                             _mass_extra(event_hash, passport_id, el)))
    check_all(equations, "passport material mass proofs")
