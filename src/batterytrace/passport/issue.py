"""Issue a battery passport as an SD-JWT VC and verify it, offline or against a ledger.

The passport holds the BatteryPass v1.2 aspects, a readable summary of the ledger figures, and its
evidence: the signed event that created the pack, its RFC 9162 inclusion proof and the operator's
signed checkpoint. Attributes above the public level (Regulation 2023/1542 Art. 77(2), BatteryPass
longlist access rights) are selectively disclosable claims tagged with their access level; a
presentation for one level carries only the disclosures of that level and the levels below it.
Verification returns a ``PassportVerification``: every check, and every stated figure as verified
(re-derived) or declared (verification.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from batterytrace.crypto.merkle import leaf_hash, verify_inclusion
from batterytrace.crypto.sdjwt import IssuedSdJwt, SdClaim, issue_sd_jwt, verify_sd_jwt
from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.zk import Opening
from batterytrace.errors import BatterytraceError, EncodingError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.confidential_client import check_openings
from batterytrace.ledger.figures import ART8_TARGETS_PERCENT, MaterialFigures, material_figures
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.openings_view import OpeningsError, revealer
from batterytrace.ledger.trace import TraceCache
from batterytrace.model.buckets import element_totals
from batterytrace.model.entities import Lot
from batterytrace.model.events import SignedEvent
from batterytrace.model.identifiers import (
    IdentifierError,
    check_serial,
    normalise_gtin,
    passport_id_for,
    passport_uuid_for,
    passport_version,
)
from batterytrace.passport.aspects import (
    ELEMENTS,
    PackFacts,
    build_aspects,
    gather_facts,
    not_recorded,
    recycled_content,
)
from batterytrace.passport.master import PackMasterData
from batterytrace.passport.publish import MAX_ISSUANCE_SKEW_S
from batterytrace.passport.resolver import DEFAULT_RESOLVER, Resolver, load_resolver, parse_resolver
from batterytrace.passport.signing_key import (
    SigningKeyError,
    check_key_rotation,
    check_signing_key,
    key_rotation_evidence,
)
from batterytrace.passport.status import check_status, status_claim
from batterytrace.passport.verification import (
    CARBON_CYCLES_PER_YEAR,
    CheckResult,
    PassportVerification,
    bind_figures,
)
from batterytrace.passport.view import verification_checks
from batterytrace.passport.zk_figures import (
    prove_material_masses,
    prove_share_figures,
    share_figures,
    verify_share_figures,
)
from batterytrace.storage.openings import OpeningStore
from batterytrace.timeutil import format_time

__all__ = [
    "ACCESS_LEVELS",
    "AUDIENCES",
    "FIELD_LEVELS",
    "MAX_ISSUANCE_SKEW_S",
    "VCT",
    "IssuedPassport",
    "PassportVerification",
    "assembly_openings",
    "check_issued_at",
    "digital_link",
    "issue_passport",
    "may_read",
    "passport_facts",
    "passport_id_for",
    "verify_passport",
]

VCT = "urn:batterytrace:battery-passport:1"
ART8_ELEMENTS = tuple(ART8_TARGETS_PERCENT)  # the materials Art. 8 sets recycled-content targets for

# Access levels: the roles an operator-issued token grants (public needs none). A repairer, a
# second-life operator or a recycler holds legitimate_interest; the Commission commission; notified
# bodies and market surveillance authorities authorities (Art. 77(2), docs/passport-attributes.md).
ACCESS_LEVELS = ("public", "legitimate_interest", "commission", "authorities")
LI_ONLY, LI_COMMISSION, AUTHORITIES_COMMISSION = (
    "legitimate_interest", "legitimate_interest+commission", "authorities+commission")
# Who may read a field, as the BatteryPass v1.2 longlist words its access rights: the roles of each
# audience. The audiences are not nested: the Commission does not read what only persons with a
# legitimate interest may (the battery's condition), and notified bodies and market surveillance
# authorities read the test reports, not the dismantling information.
AUDIENCES: dict[str, frozenset[str]] = {
    "public": frozenset(ACCESS_LEVELS),                                    # "Public"
    LI_ONLY: frozenset({"legitimate_interest"}),                           # "persons with a legitimate interest"
    LI_COMMISSION: frozenset({"legitimate_interest", "commission"}),       # "… and the Commission"
    AUTHORITIES_COMMISSION: frozenset({"authorities", "commission"}),      # "Notified bodies, market surveillance authorities and the Commission"
}
# aspect → field → its audience (absent: public). From the BatteryPass v1.2 longlist.
FIELD_LEVELS: dict[str, dict[str, str]] = {
    "GeneralProductInformation": {"puttingIntoService": LI_ONLY, "batteryStatus": LI_ONLY},
    "MaterialComposition": {"batteryMaterials": LI_COMMISSION},
    "Circularity": {"dismantlingAndRemovalInformation": LI_COMMISSION, "sparePartSources": LI_COMMISSION,
                    "safetyMeasures": LI_COMMISSION},
    "PerformanceAndDurability": {
        "batteryTechicalProperties.expectedLifetime": LI_ONLY,
        "batteryTechicalProperties.initialSelfDischarge": LI_ONLY,
        **{f"batteryCondition.{name}": LI_ONLY for name in (
            "energyThroughput", "capacityThroughput", "numberOfFullCycles", "stateOfCertifiedEnergy",
            "capacityFade", "remainingEnergy", "remainingCapacity", "negativeEvents", "temperatureInformation",
            "remainingPowerCapability", "powerFade", "roundTripEfficiencyFade", "evolutionOfSelfDischarge",
            "currentSelfDischargingRate", "internalResistanceIncrease", "remainingRoundTripEnergyEfficiency",
            "stateOfCharge")},
    },
    "Labeling": {"resultOfTestReport": AUTHORITIES_COMMISSION},
}


def may_read(level: str, audience: str) -> bool:
    """Whether a reader at access ``level`` may read a field for ``audience``."""
    return level in AUDIENCES[audience]


DIGITAL_LINK_BASE = DEFAULT_RESOLVER.rstrip("/")


def digital_link(gtin: str, serial: str, base: str | Resolver = DIGITAL_LINK_BASE) -> str:
    """GS1 Digital Link URI for a serialised item: ``{base}/01/{GTIN-14}/21/{serial}``. The GTIN
    (8, 12, 13 or 14 digits, check digit verified) is written in its 14-digit form; the serial
    must be GS1 AI 21 syntax (1-20 characters of CSET 82), else ``BatterytraceError``. ``base``
    is a resolver (resolver.py), validated as such when given as a string."""
    try:
        gtin14, serial = normalise_gtin(gtin), check_serial(serial)
    except IdentifierError as exc:
        raise BatterytraceError(f"no GS1 Digital Link for this item: {exc}") from exc
    resolver = base if isinstance(base, Resolver) else parse_resolver(base)
    return resolver.item_link(gtin14, serial)


def _tags_for(level: str) -> list[str]:
    if level not in ACCESS_LEVELS:
        raise BatterytraceError(f"unknown access level {level!r}; one of {ACCESS_LEVELS}")
    return [audience for audience, roles in AUDIENCES.items() if audience != "public" and level in roles]


@dataclass(frozen=True)
class IssuedPassport:
    passport_id: str
    link: str
    sd_jwt: IssuedSdJwt

    def present(self, level: str) -> str:
        return self.sd_jwt.present(_tags_for(level))

    def present_all(self) -> str:
        """Every disclosure: the issuer's complete view. No access level reads all of it (the
        audiences do not nest); it is for the issuer's own checks (schema conformance, exports)."""
        return self.sd_jwt.present(AUDIENCES)


def _with_levels(payload: dict[str, Any], levels: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Wrap every field whose dotted path has an access level above public in an ``SdClaim``."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        path = f"{prefix}{key}"
        if path in levels:
            out[key] = SdClaim(value, levels[path])
        elif isinstance(value, dict) and any(p.startswith(path + ".") for p in levels):
            out[key] = _with_levels(value, levels, path + ".")
        else:
            out[key] = value
    return out


def _summary(f: PackFacts, m: PackMasterData) -> dict[str, Any]:
    mf, dd, fp = f.materials, f.diligence, f.footprint
    idle = [m.technical.temperature_range_idle_lower_c, m.technical.temperature_range_idle_upper_c] if m.technical else None
    return {
        "temperature_range_idle_c": idle,
        "chemistry": f.lot.extra.get("chemistry"),
        "capacity_kwh": f.lot.extra.get("capacity_kwh"),
        "confidential": f.lot.confidential,
        # a confidential pack's grams stay private; its shares are proved (evidence.zk_figures)
        "element_g": None if f.lot.confidential else mf.element_g,
        "recycled_percent": mf.recycled_percent,
        "art8_targets": mf.art8,
        "origin_mix_percent": mf.origin_mix_percent,
        "certified_percent": mf.certified_percent,
        "carbon_kgco2e_per_stage": fp.per_stage_kgco2e,
        "carbon_kgco2e_per_kwh": round(fp.total_kgco2e_per_kwh, 6),
        "carbon_primary_data_percent": round(fp.primary_data_share_percent, 2),
        "carbon_primary_data_percent_per_stage": fp.primary_data_share_percent_per_stage,
        "carbon_performance_class": fp.performance_class,
        # the lifetime energy the footprint is divided by (verification.py checks the figures against it)
        "carbon_lifetime": {"usable_energy_kwh": float(f.lot.extra.get("capacity_kwh", 0)) * m.usable_energy_fraction,
                            "cycles_per_year": CARBON_CYCLES_PER_YEAR, "service_years": m.service_years,
                            "end_of_life_kgco2e_per_kg": m.end_of_life_kgco2e_per_kg},
        "due_diligence_indices": {
            scheme: {"score": round(i.score, 1), "coverage_percent": round(i.coverage_percent, 1),
                     "questions_answered": i.questions_answered, "questions_total": i.questions_total,
                     "companies_covered": i.companies_covered}
            for scheme, i in dd.indices.items()
        },
        "assurances": [{k: v for k, v in a.items() if k != "auditor"} for a in dd.assurances],
        # public: which EU critical raw materials the battery holds (batteryMaterials is restricted)
        "critical_raw_materials": [ELEMENTS[el][0] for el in sorted(mf.element_g)
                                   if el in ELEMENTS and ELEMENTS[el][2] and mf.element_g[el] > 0],
        # the full commercial warranty (GeneralProductInformation.warrentyPeriod is an xsd:gMonth, 1-12)
        "warranty_months": m.warranty_months,
        # Art. 8 materials the battery holds none of: no recycled share can be stated for them
        "art8_not_applicable": [el for el in ART8_ELEMENTS if mf.element_g.get(el, 0) == 0 and not f.lot.confidential],
        # dynamic attributes left out because nothing was recorded for them (never stated as 0)
        "not_recorded": not_recorded(f),
    }


def _assembled(ledger: Ledger, f: PackFacts) -> Lot:
    # the aggregation that assembled the pack (the first lot with its GTIN + serial, which the
    # ledger issues once), not a later receipt: it names the economic operator who signs
    assert f.lot.gtin is not None and f.lot.serial is not None
    first = ledger.store.get_lots(ledger.store.lots_by_serial(f.lot.gtin, f.lot.serial)[:1])
    return next(iter(first.values()), f.lot)


def _logged_leaf(event: SignedEvent, evidence: dict[str, Any], checkpoint: Checkpoint) -> bytes:
    """The Merkle leaf of the evidence's event: it must be signed for the checkpoint's ledger, and
    the leaf commits to its ingestion time (``evidence["ingested_at"]``, µs)."""
    if event.ledger != checkpoint.ledger:
        raise VerificationError(f"the embedded event is signed for ledger {event.ledger}, the checkpoint is of {checkpoint.ledger}")
    ingested = evidence.get("ingested_at")
    if isinstance(ingested, bool) or not isinstance(ingested, int) or not 0 <= ingested < 1 << 63:
        raise VerificationError("passport evidence is malformed: ingested_at must be µs since the epoch")
    return event.leaf_data(ingested)


def _evidence(ledger: Ledger, assembled: Lot) -> dict[str, Any]:
    found = ledger.event_by_hash(assembled.event)
    if found is None or found[1].kind != "aggregate":
        raise BatterytraceError(f"the aggregation that assembled {assembled.lot_id} is not in the log")
    seq, event = found
    cp = ledger.latest_checkpoint()
    if cp is None or cp.tree_size <= seq:
        raise BatterytraceError("no signed tree head covers the pack yet; sign one first (log head)")
    evidence = {
        "event": event.to_wire(),
        "ingested_at": ledger.ingestion_time(seq),  # part of the Merkle leaf
        "leaf_index": seq,
        "inclusion_proof": [p.hex() for p in ledger.inclusion_proof(seq, cp.tree_size)],
        "checkpoint": cp.to_dict(),
    }
    from batterytrace.anchoring.records import record_for  # the checkpoint's anchor, if any

    anchor = record_for(ledger.store, cp)
    if anchor is not None:  # verify with batterytrace.anchoring.verify_passport_anchor
        evidence["anchor"] = anchor.to_dict()
    return evidence


def assembly_openings(assembled: Lot, openings: OpeningStore | None, pack_id: str) -> dict[str, Opening]:
    """The openings of a confidential pack's assembly commitments, checked against them; refused
    with ``OpeningsError`` (``openings.missing``, ``openings.lot``, ``openings.mismatch``)."""
    if openings is None:
        raise OpeningsError("openings.missing", f"pack {pack_id} is confidential: its passport needs the openings "
                            "of its lineage")
    held = openings.get(assembled.lot_id)
    if not held:
        raise OpeningsError("openings.lot", f"no openings for confidential lot {assembled.lot_id}")
    try:
        check_openings(assembled, held)
    except VerificationError as exc:
        raise OpeningsError("openings.mismatch", f"cannot prove the figures of {pack_id}: {exc}") from exc
    return dict(held)


def passport_facts(ledger: Ledger, pack_id: str, master: PackMasterData,
                   openings: OpeningStore | None = None) -> PackFacts:
    """The facts ``issue_passport`` states for a pack, without signing or proving anything: for a
    confidential pack (which needs ``openings``) its shares floored to 0.01 point as the passport
    proves them and its element masses from the openings. Exports (catenax.py) state these."""
    f = gather_facts(ledger.store, pack_id, master, None, revealer(openings) if openings is not None else None)
    if not f.lot.confidential:
        return f
    held = assembly_openings(_assembled(ledger, f), openings, pack_id)
    try:
        shares = share_figures(held)
    except ValueError as exc:
        raise BatterytraceError(f"cannot state the figures of {pack_id}: {exc}") from exc
    grams = element_totals({k: o.value for k, o in held.items()})
    return replace(f, materials=replace(shares, element_g=grams))


def issue_passport(ledger: Ledger, pack_id: str, master: PackMasterData, issuer: SigningKey,
                   issued_at: int, valid_years: int = 15, cache: TraceCache | None = None,
                   openings: OpeningStore | None = None, resolver: Resolver | None = None,
                   status: Callable[[str], tuple[int, str]] | None = None,
                   participant: str | None = None) -> IssuedPassport:
    """Build and sign the passport of one pack. ``issuer`` is the economic operator's key in force:
    its registered did's own, or a key the operator rotated in for it (``participant`` names the
    registered did, the passport's ``iss``; default ``issuer``'s did); a
    ``TraceCache`` shared by the passports of one batch saves re-reading their common lineage.
    The passport's Digital Link is under ``resolver`` (default: the ledger's, resolver.py).
    A confidential pack needs ``openings`` of its lineage: its shares are then stated to 0.01
    point and proved in zero knowledge against the commitments of its assembly event. ``status``
    gives the passport id's entry ``(idx, uri)`` in the issuer's status list (status.py), so the
    issuer can revoke or suspend this version later; without it the passport cannot be revoked."""
    iss = participant if participant is not None else issuer.did
    f = gather_facts(ledger.store, pack_id, master, cache, revealer(openings) if openings is not None else None)
    if f.lot.extra.get("economic_operator") not in (None, iss):
        raise BatterytraceError("only the pack's economic operator may issue its passport")
    if ledger.store.get_participant(iss) is not None or issuer.did != iss:
        try:  # a rotated-out key's passport would be refused by every verifier holding the ledger
            check_signing_key(ledger.store, iss, issuer.did, "passport")
        except SigningKeyError as exc:
            raise BatterytraceError(f"cannot issue a passport for {iss}: {exc.detail}") from exc
    assert f.lot.gtin is not None and f.lot.serial is not None
    history = f.lot.extra.get("lifecycle", [])
    version = passport_version(history)
    pid = passport_id_for(f.lot.gtin, f.lot.serial, version)
    assembled = _assembled(ledger, f)
    evidence = _evidence(ledger, assembled)
    if issuer.did != iss:  # signed by a key rotated in for the issuer: prove the rotation
        evidence["key_rotation"] = key_rotation_evidence(ledger, Checkpoint.from_dict(evidence["checkpoint"]), iss,
                                                         issuer.did)
    material_proofs = None
    if f.lot.confidential:
        held = assembly_openings(assembled, openings, pack_id)
        try:
            proved, evidence["zk_figures"] = prove_share_figures(held, assembled.event, pid)
        except ValueError as exc:  # a share over 0 g: no band can be stated or proved
            raise BatterytraceError(f"cannot state the figures of {pack_id}: {exc}") from exc
        grams = element_totals({k: o.value for k, o in held.items()})
        f = replace(f, materials=replace(proved, element_g=grams))
        # the masses MaterialComposition states (commission level), proved against the commitments
        material_proofs = prove_material_masses(held, [el for el in grams if el in ELEMENTS], assembled.event, pid)
    assert f.lot.gtin is not None and f.lot.serial is not None
    aspects: dict[str, Any] = {}
    for name, payload in build_aspects(f, master, pid).items():
        if name == "GeneralProductInformation":  # made when assembled, whichever lot the pack is now
            payload = {**payload, "manufacturingDate": format_time(assembled.created_at)}
        aspects[name] = _with_levels(payload, FIELD_LEVELS.get(name, {}))
    link = digital_link(f.lot.gtin, f.lot.serial, resolver if resolver is not None else load_resolver(ledger.store))
    claims: dict[str, Any] = {
        "passport_id": pid,
        "passport_uuid": passport_uuid_for(pid),  # the same passport as a UUID (Catena-X, catenax.py)
        "passport_version": version,
        "battery": {"gtin": f.lot.gtin, "serial": f.lot.serial, "digital_link": link, "lot": f.lot.lot_id},
        "aspects": aspects,
        "summary": _summary(f, master),
        "evidence": evidence,
    }
    if material_proofs is not None:
        claims["material_proofs"] = SdClaim(material_proofs, FIELD_LEVELS["MaterialComposition"]["batteryMaterials"])
    if version > 1:  # Art. 77(6): linked to the passport of the battery before repurposing
        claims["predecessor"] = passport_id_for(f.lot.gtin, f.lot.serial, version - 1)
    if status is not None:  # plain: every reader must be able to check it
        claims["status"] = status_claim(*status(pid))
    expires = issued_at + valid_years * 365 * 86400
    return IssuedPassport(pid, link, issue_sd_jwt(issuer, claims, vct=VCT, issued_at=issued_at, expires_at=expires,
                                                  issuer=iss))


def _same_figures(claimed: Any, computed: Any) -> bool:
    """Equal structure and values, numbers to within 1e-6 (percentages survive JSON exactly, but
    a float sum may differ in its last bit between platforms)."""
    if isinstance(computed, list):
        return isinstance(claimed, list) and len(claimed) == len(computed) and all(
            _same_figures(c, v) for c, v in zip(claimed, computed, strict=True)
        )
    if isinstance(computed, dict):
        return isinstance(claimed, dict) and claimed.keys() == computed.keys() and all(
            _same_figures(claimed[k], v) for k, v in computed.items()
        )
    if isinstance(computed, bool) or isinstance(claimed, bool):
        return claimed is computed
    if isinstance(computed, int | float):
        return isinstance(claimed, int | float) and abs(claimed - computed) <= 1e-6
    return bool(claimed == computed)


def _proved_figures(out: dict[str, Any], summary: dict[str, Any], evidence: dict[str, Any],
                    event_hash: str, passport_id: Any) -> MaterialFigures:
    """The pack's figures from the logged assembly event: recomputed from its buckets (plain),
    or checked against the zero-knowledge proofs over its commitments (confidential)."""
    if "commitments" in out:
        if summary.get("element_g") is not None or summary.get("confidential") is not True:
            raise VerificationError("a confidential pack's passport states no grams and says it is confidential")
        if not isinstance(out["commitments"], dict) or not isinstance(passport_id, str):
            raise VerificationError("the embedded event's commitments or the passport id are malformed")
        return verify_share_figures(out["commitments"], summary, evidence.get("zk_figures"), event_hash, passport_id)
    buckets = out.get("buckets")
    if not isinstance(buckets, dict):
        raise VerificationError("the embedded event carries no buckets")
    if summary.get("confidential", False) is not False or "zk_figures" in evidence:
        raise VerificationError("a plain pack's passport claims confidential figures")
    try:
        totals = element_totals(buckets)
    except (EncodingError, TypeError) as exc:
        raise VerificationError(f"the embedded event's buckets are malformed: {exc}") from exc
    if totals != summary.get("element_g"):
        raise VerificationError("the passport's element masses differ from the pack's buckets on the ledger")
    # every share the summary states is a ratio of those buckets: recompute, never trust
    return material_figures(buckets)


def _check_passport_id(claims: dict[str, Any], battery: dict[str, Any]) -> None:
    """The identifier is passport_id_for(GTIN, serial, version), as the issuer derives it (and the
    ZK figure proofs are bound to it); a later version names its predecessor."""
    version = claims.get("passport_version")
    gtin, serial = battery.get("gtin"), battery.get("serial")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1 or not isinstance(gtin, str) \
            or not isinstance(serial, str):
        raise VerificationError("the passport version, GTIN or serial is malformed")
    pid = claims.get("passport_id")
    if pid != passport_id_for(gtin, serial, version):
        raise VerificationError(f"passport_id {pid!r} is not the identifier of {gtin}/{serial} version {version}")
    if "passport_uuid" in claims and claims["passport_uuid"] != passport_uuid_for(str(pid)):
        raise VerificationError(f"passport_uuid {claims['passport_uuid']!r} is not the UUID of passport {pid}")
    previous = passport_id_for(gtin, serial, version - 1) if version > 1 else None
    if claims.get("predecessor") != previous:
        raise VerificationError(f"the passport's predecessor must be {previous!r}")
    aspects = claims.get("aspects")
    gpi = aspects.get("GeneralProductInformation") if isinstance(aspects, dict) else None
    if isinstance(gpi, dict) and gpi.get("batteryPassportIdentifier", pid) != pid:
        raise VerificationError("GeneralProductInformation.batteryPassportIdentifier differs from the passport_id")


# claims a passport may carry (besides the SD-JWT's own); any other is refused, never ignored
PASSPORT_CLAIMS = frozenset({"passport_id", "passport_uuid", "passport_version", "battery", "aspects", "summary", "evidence",
                             "material_proofs", "predecessor", "status", "iss", "iat", "exp", "vct", "_sd_alg"})
BATTERY_CLAIMS = frozenset({"gtin", "serial", "digital_link", "lot"})
# MAX_ISSUANCE_SKEW_S (publish.py): how far ahead of the verifier's clock an issuance may be dated
# (clocks drift; a passport dated later is refused: published, it would block every honest reissue)


def check_issued_at(claims: dict[str, Any], now: int) -> None:
    """Raise ``VerificationError`` unless the passport's ``iat`` is an integer no later than
    ``now`` + ``MAX_ISSUANCE_SKEW_S``."""
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int) or iat < 0:
        raise VerificationError("the passport's issuance time (iat) is not a NumericDate")
    if iat > now + MAX_ISSUANCE_SKEW_S:
        raise VerificationError(f"the passport is dated {iat - now} s in the future (iat {iat}, now {now}); "
                                f"an issuance may be at most {MAX_ISSUANCE_SKEW_S} s ahead of the verifier's clock")


def verify_passport(presentation: str, *, trusted_issuers: list[str] | None = None,
                    log_operator: str | None = None, now: int | None = None,
                    ledger: Ledger | None = None, ledger_id: str | None = None,
                    status_list: str | None = None) -> PassportVerification:
    """Verify a passport presentation (``_verify_passport``). Whatever the input, this returns a
    result or raises ``VerificationError``: an error of any other kind on odd input (an
    arithmetic or type error deep in a check) is reported as a verification failure."""
    try:
        return _verify_passport(presentation, trusted_issuers=trusted_issuers, log_operator=log_operator,
                                now=now, ledger=ledger, ledger_id=ledger_id, status_list=status_list)
    except VerificationError:
        raise
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            EncodingError) as exc:  # not a storage or service error: those are no verdict on the passport
        raise VerificationError(f"the passport cannot be verified ({type(exc).__name__}: {str(exc)[:160]})") from exc


def _verify_passport(presentation: str, *, trusted_issuers: list[str] | None,
                     log_operator: str | None, now: int | None,
                     ledger: Ledger | None, ledger_id: str | None = None,
                     status_list: str | None = None) -> PassportVerification:
    """Verify a passport presentation and return what was established: its claims, each check,
    and each figure as verified or declared. Checks the issuer's signature and disclosures, that
    the embedded event is the signed aggregation that assembled this very pack (GTIN + serial) by
    the issuer, that it is included in the operator-signed checkpoint, and every figure
    (verification.py). ``log_operator`` is the did of the log operator the verifier trusts;
    without it any key could vouch for a log of its own making, so a passport is refused.
    Offline (no ``ledger``) the lineage figures (carbon footprint, due-diligence indices) can
    only be checked for consistency and are reported as declared; with the ``ledger`` they are
    re-derived from it. ``ledger_id`` pins the ledger (domain separation): an operator key may run
    several ledgers, and a passport whose checkpoint is of another is refused (with ``ledger``
    given, that ledger's id is pinned). ``status_list`` is the issuer's Status List Token the
    passport's ``status`` names (status.py): a revoked or suspended version is refused
    (``PassportStatusError``); without it the status is reported ``not checked``. Raises
    ``VerificationError`` (``FigureError`` naming a forged figure)."""
    if not log_operator:
        raise VerificationError("no trusted log operator given: a passport's checkpoint must be signed by "
                                "the operator of the log the verifier trusts")
    signed_by: list[str] = []  # the key the header names: its binding to iss is checked below
    claims = verify_sd_jwt(presentation, trusted_issuers=trusted_issuers, now=now,
                           check_key=lambda _iss, key: signed_by.append(key))
    if claims.get("vct") != VCT:
        raise VerificationError("not a batterytrace battery passport")
    check_issued_at(claims, int(time.time()) if now is None else now)  # as the expiry: the verifier's clock
    extra = sorted(set(claims) - PASSPORT_CLAIMS)
    if extra:
        raise VerificationError(f"the passport carries claims no verifier checks: {extra}")
    try:
        battery, evidence, summary = claims["battery"], claims["evidence"], claims.get("summary", {})
        if not all(isinstance(x, dict) for x in (battery, evidence, summary)):
            raise TypeError("battery, evidence and summary are objects")
        if set(battery) - BATTERY_CLAIMS:
            raise TypeError(f"battery carries unknown claims {sorted(set(battery) - BATTERY_CLAIMS)}")
        event = SignedEvent.from_wire(evidence["event"])
        checkpoint = Checkpoint.from_dict(evidence["checkpoint"])
        path = [bytes.fromhex(p) for p in evidence["inclusion_proof"]]
        index = int(evidence["leaf_index"])
    except (KeyError, TypeError, ValueError, EncodingError) as exc:
        raise VerificationError(f"passport evidence is malformed: {exc}") from exc
    event.verify_signature()
    if event.kind != "aggregate":
        raise VerificationError(f"the embedded event is a {event.kind}, not the aggregation that assembled the pack")
    outputs = event.body.get("outputs")
    out = outputs[0] if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) else {}
    if (out.get("gtin"), out.get("serial")) != (battery.get("gtin"), battery.get("serial")):
        raise VerificationError("the embedded event names another GTIN/serial")
    mf = _proved_figures(out, summary, evidence, event.hash_hex, claims.get("passport_id"))
    for name, value in (("recycled_percent", mf.recycled_percent), ("art8_targets", mf.art8),
                        ("origin_mix_percent", mf.origin_mix_percent), ("certified_percent", mf.certified_percent)):
        if not _same_figures(summary.get(name), value):
            raise VerificationError(f"the passport's {name} differs from the pack's buckets on the ledger")
    aspects = claims.get("aspects")
    circularity = aspects.get("Circularity") if isinstance(aspects, dict) else None
    if not isinstance(circularity, dict) or not _same_figures(circularity.get("recycledContent"), recycled_content(mf)):
        raise VerificationError("the passport's Circularity.recycledContent differs from the pack's buckets on the ledger")
    if claims.get("iss") != event.actor:
        raise VerificationError("the passport issuer is not the economic operator that assembled the pack")
    checkpoint.verify(log_operator)
    pinned = ledger.ledger_id if ledger is not None else ledger_id
    if pinned is not None and checkpoint.ledger != pinned:
        raise VerificationError(f"the passport's checkpoint is of ledger {checkpoint.ledger}, not the pinned ledger {pinned}")
    verify_inclusion(leaf_hash(_logged_leaf(event, evidence, checkpoint)), index, checkpoint.tree_size, path, checkpoint.root_hash)
    key_check = _check_key(claims, signed_by[0], evidence, checkpoint, ledger)
    _check_passport_id(claims, battery)
    checks = list(verification_checks(claims))
    checks.append(key_check)
    iss, key = str(claims["iss"]), signed_by[0]

    def list_key(list_signer: str) -> None:  # who may sign the issuer's status list
        if ledger is not None:
            check_signing_key(ledger.store, iss, list_signer, "statuslist")
        elif list_signer == iss != key:  # the passport's key_rotation evidence proves iss was rotated out
            raise SigningKeyError("statuslist.key-rotated", f"the status list is signed by {list_signer}, a key the "
                                  f"passport's own evidence shows rotated out for {iss} (its key {key} was rotated "
                                  "in since): it no longer speaks for it")
        elif list_signer != key:
            raise SigningKeyError("statuslist.signer", f"the status list is signed by {list_signer}, not by the key "
                                  f"that signed the passport of {iss}")

    outcome, detail = check_status(claims, status_list, int(time.time()) if now is None else now, list_key)
    checks.append(CheckResult("status", outcome, detail))
    if ledger is not None:
        checks.append(_check_on_ledger(ledger, event, index, checkpoint))
    figures = bind_figures(claims, out, event.hash_hex, ledger=ledger, assembled_at=event.body.get("time"))
    declared = sum(f.status == "declared" for f in figures)
    checks.append(CheckResult("figures", "passed", f"{len(figures) - declared} figures re-derived from "
                              + ("the ledger and " if ledger is not None else "") + "the passport's evidence; "
                              f"{declared} declared by the manufacturer"))
    return PassportVerification(claims, tuple(checks), tuple(figures), key)


def _check_key(claims: dict[str, Any], key: str, evidence: dict[str, Any], checkpoint: Checkpoint,
               ledger: Ledger | None) -> CheckResult:
    """The passport's signing key speaks for its issuer (signing_key.py): with ``ledger``, it is the
    issuer's key in force now (``passport.key-rotated``, ``passport.signer``); a key other than the
    issuer's registered did must come with the evidence of its rotation (``passport.signer``)."""
    iss = str(claims["iss"])
    if ledger is not None:
        check_signing_key(ledger.store, iss, key, "passport")
    rotation = evidence.get("key_rotation")
    if key == iss and rotation is not None:
        raise SigningKeyError("passport.signer", "the passport is signed by its issuer's registered key yet carries "
                              "key rotation evidence")
    how = "its issuer's registered key" if key == iss else (
        f"a key the ledger operator rotated in for its issuer at leaf {check_key_rotation(rotation, iss, key, checkpoint)}")
    if ledger is not None:
        return CheckResult("signing key", "passed", f"signed by {key}, {how}, in force on the given ledger now")
    return CheckResult("signing key", "not checked", f"signed by {key}, {how}; whether the operator has rotated it "
                       "out since needs the ledger (a rotated-out key's passports are refused against it)")


def _check_on_ledger(ledger: Ledger, event: SignedEvent, index: int, checkpoint: Checkpoint) -> CheckResult:
    """The verifier's own ledger holds the embedded event at the stated leaf and the checkpoint's root."""
    found = ledger.event_by_hash(event.hash_hex)
    if found is None or found[0] != index:
        raise VerificationError(f"the given ledger does not hold the passport's event at leaf {index}")
    if ledger.size() < checkpoint.tree_size or ledger.root(checkpoint.tree_size) != checkpoint.root_hash:
        raise VerificationError(f"the given ledger's first {checkpoint.tree_size} events do not hash to the "
                                "passport's checkpoint")
    return CheckResult("ledger", "passed", f"the event is leaf {index} of the given ledger, whose first "
                       f"{checkpoint.tree_size} events hash to the checkpoint's root")
