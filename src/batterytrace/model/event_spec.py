"""The declarative field reference of every event kind: the one table the JSON Schemas
(``event_schema``), ``docs/events.md`` and the API's ``/schemas`` are generated from.

Each field names its JSON type and bounds (built from the model's own constants: roles, element
symbols, origin classes, chain-of-custody models, carbon stages, GS1 syntax, policy bounds), what
it means, its unit, and the ledger rule that refuses a value outside them (docs/rules.md). The
rules read some of these bounds from here (``COUNTRY_PATTERN``, ``LIFECYCLE_STATUSES``,
``SEVERITIES``, ``BMS_FIELDS``, the policy bounds); tests/model/test_event_spec.py and
tests/ledger/test_event_examples.py prove that the schemas and the ledger agree: every worked
example validates and is accepted, and every mutation the schema refuses the ledger refuses too,
by the rule named here.

A schema can only say what one event looks like on its own: whether a lot exists, who holds it,
balances, tolerances and attestations are the ledger's stateful rules (listed in ``notes``).
Unknown top-level members are allowed (the ledger signs and stores them, and ignores them); the
nested objects whose rules refuse unknown members are closed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from batterytrace.model.buckets import ELEMENTS, NO_COUNTRY, ORIGIN_CLASSES, RECYCLED_CLASSES
from batterytrace.model.entities import CARBON_STAGES, COC_MODELS, ROLES
from batterytrace.model.events import EVENT_KINDS
from batterytrace.model.identifiers import GS1_CSET82
from batterytrace.model.policy import POLICY_BOUNDS

__all__ = [
    "BMS_FIELDS",
    "COUNTRY_PATTERN",
    "EVENT_SPECS",
    "LIFECYCLE_STATUSES",
    "SCHEMA_BASE",
    "SEVERITIES",
    "Field",
    "KindSpec",
    "Variant",
    "event_schema",
    "is_country",
    "kinds_without_spec",
    "schema_errors",
    "schema_index",
    "wire_schema",
]

JSON = dict[str, Any]
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://batterytrace.example/schemas/"

# ------------------------------------------------------------------ constants the rules share
COUNTRY_PATTERN = "^[A-Z]{2}$"
_COUNTRY_RE = re.compile(COUNTRY_PATTERN)
LIFECYCLE_STATUSES = ("original", "repurposed", "reused", "remanufactured", "waste")
SEVERITIES = ("low", "medium", "high", "critical")
# Battery-management readings a lifecycle update may carry (BatteryPass v1.2 dynamic attributes).
BMS_FIELDS: dict[str, str] = {
    "remaining_capacity_ah": "Ah",
    "capacity_fade_percent": "%",
    "remaining_energy_kwh": "kWh",
    "state_of_certified_energy_percent": "%",
    "state_of_charge_percent": "%",
    "power_fade_percent": "%",
    "remaining_round_trip_efficiency_percent": "%",
    "round_trip_efficiency_fade_percent": "%",
    "current_self_discharge_rate_percent_per_month": "%/month",
    "internal_resistance_increase_percent": "%",
    "energy_throughput_kwh": "kWh",
    "capacity_throughput_ah": "Ah",
    "time_extreme_high_temp_h": "h",
    "time_extreme_low_temp_h": "h",
    "time_extreme_high_temp_charging_h": "h",
    "time_extreme_low_temp_charging_h": "h",
    "overcharge_events": "count",
}
MAX_GRAMS = 2**48  # quantities are integer grams in [0, 2^48)
MAX_SAFE_INT = 2**53 - 1


def is_country(value: object) -> bool:
    """An ISO 3166-1 alpha-2 code as the ledger takes it: two upper-case ASCII letters."""
    return isinstance(value, str) and _COUNTRY_RE.fullmatch(value) is not None


def _alternation(values: Any) -> str:
    assert all(re.fullmatch("[A-Za-z-]+", v) for v in values)  # nothing to escape
    return "|".join(sorted(values))


_MINED = sorted(set(ORIGIN_CLASSES) - RECYCLED_CLASSES)
BUCKET_KEY_PATTERN = (
    f"^({_alternation(ELEMENTS)})/(({_alternation(_MINED)})/[A-Z]{{2}}|"
    f"({_alternation(RECYCLED_CLASSES)})/{NO_COUNTRY})$"
)
RECYCLED_KEY_PATTERN = f"^({_alternation(ELEMENTS)})/({_alternation(RECYCLED_CLASSES)})/{NO_COUNTRY}$"
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?Z$"
DID_KEY_PATTERN = "^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$"
HASH_PATTERN = "^[0-9a-f]{64}$"
LOT_PATTERN = "^[0-9a-f]{64}:[0-9]{1,7}$"
GTIN_PATTERN = "^([0-9]{8}|[0-9]{12,14})$"
SERIAL_PATTERN = "^[" + "".join(sorted(GS1_CSET82 - {"-"})) + "-]{1,20}$"  # "-" last: literal
POINT_PATTERN = "^[0-9a-f]{64}$"  # a compressed ristretto255 point, lower-case hex
HEX_PATTERN = "^([0-9a-f]{2})+$"


# ------------------------------------------------------------------------ the spec objects
@dataclass(frozen=True)
class Field:
    """One member of an event body (or of a nested object).

    ``schema`` is the JSON Schema of the value; for an object (or a list of objects, ``many``)
    the schema is built from ``fields`` instead, ``closed`` refusing unknown members.
    ``nullable``: ``null`` counts as absent (the rules read it so)."""

    name: str
    schema: Mapping[str, Any]
    doc: str
    rule: str
    required: bool = True
    unit: str = ""
    nullable: bool = False
    fields: tuple[Field, ...] = ()
    closed: bool = False
    many: tuple[int, int] | None = None

    def value_schema(self) -> JSON:
        if self.fields:
            obj = object_schema(self.fields, closed=self.closed)
            obj.update(self.schema)
            out: JSON = obj
            if self.many is not None:
                out = {"type": "array", "items": obj, "minItems": self.many[0], "maxItems": self.many[1]}
        else:
            out = dict(self.schema)
        out["description"] = self.describe()
        if self.nullable:
            out = {"anyOf": [out, {"type": "null"}], "description": out["description"]}
        return out

    def describe(self) -> str:
        text = self.doc
        if self.unit:
            text += f" Unit: {self.unit}."
        return text + f" Rule: {self.rule}."


@dataclass(frozen=True)
class Variant:
    """A mode whose body differs from the plain one (confidential, anonymous): fields it adds
    or replaces, output members it adds or replaces, and what it forbids (name → rule)."""

    name: str
    doc: str
    fields: tuple[Field, ...] = ()
    output_fields: tuple[Field, ...] = ()
    forbidden: Mapping[str, str] = field(default_factory=dict)
    output_forbidden: Mapping[str, str] = field(default_factory=dict)
    selector: Mapping[str, Any] = field(default_factory=dict)  # schema that picks this variant


@dataclass(frozen=True)
class KindSpec:
    kind: str
    summary: str
    fields: tuple[Field, ...]
    notes: tuple[str, ...] = ()
    forbidden: Mapping[str, str] = field(default_factory=dict)  # member name → rule refusing it
    conditions: tuple[tuple[Mapping[str, Any], str], ...] = ()  # (extra schema clause, its words)
    variants: tuple[Variant, ...] = ()


def object_schema(fields: tuple[Field, ...], closed: bool = False) -> JSON:
    out: JSON = {
        "type": "object",
        "properties": {f.name: f.value_schema() for f in fields},
        "required": [f.name for f in fields if f.required],
    }
    if closed:
        out["additionalProperties"] = False
    return out


# -------------------------------------------------------------------- value schema builders
def text(max_len: int = 512, pattern: str | None = None) -> JSON:
    out: JSON = {"type": "string", "minLength": 1, "maxLength": max_len}
    if pattern:
        out["pattern"] = pattern
    return out


def integer(lo: int = 0, hi: int = MAX_SAFE_INT) -> JSON:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def number(lo: float, hi: float) -> JSON:
    return {"type": "number", "minimum": lo, "maximum": hi}


def enum(values: Any) -> JSON:
    return {"type": "string", "enum": list(values)}


def time_value() -> JSON:
    return {"type": "string", "pattern": TIME_PATTERN, "format": "date-time"}


def buckets_value(values: Mapping[str, Any] | None = None) -> JSON:
    return {
        "type": "object",
        "propertyNames": {"pattern": BUCKET_KEY_PATTERN},
        "additionalProperties": dict(values) if values is not None else integer(0, MAX_GRAMS - 1),
    }


def lot_list(max_items: int) -> JSON:
    return {"type": "array", "items": {"type": "string", "pattern": LOT_PATTERN},
            "minItems": 1, "maxItems": max_items, "uniqueItems": True}


COMMITMENTS = buckets_value({"type": "string", "pattern": POINT_PATTERN})

# ----------------------------------------------------------------------------- shared fields
COMMON = (
    Field("kind", {"type": "string"}, "The event kind (this schema's).", "wire"),
    Field("time", time_value(), "When the event happened, RFC 3339 UTC ending in Z (microseconds at most). "
          "At most max_clock_skew_s ahead of and max_backdate_s behind its ingestion, and never before the "
          "signer's, the site's or an input lot's latest event.",
          "wire, schema, time.future, time.backdate, time.order"),
    Field("actor", text(512, DID_KEY_PATTERN), "The participant acting: an Ed25519 did:key, the signer unless "
          "signer names another key. sign_event fills it in.",
          "signature, registration, authorisation"),
    Field("signer", text(512, DID_KEY_PATTERN), "The did:key that signed, when it is not the actor's: the key the "
          "operator rotated in for the actor (rotate_key). Absent: the actor's own key signs, refused once rotated "
          "out.", "wire, signature, key.signer, key.rotated", required=False),
    Field("nonce", {"type": "string"}, "Any string making the body unique (sign_event fills in 24 random hex "
          "digits); an identical body is a replay.", "wire, replay"),
    Field("ledger", text(), "The identifier of the ledger the event is signed for (domain separation).",
          "ledger.domain, wire"),
    Field("v", {}, "Body format version; sign_event sets 1. Not checked.", "none", required=False),
)

_SITE_OF_SIGNER = Field("site", text(128), "A registered site the signer operates.", "schema, site")
_OPT_SITE = Field("site", text(128), "A registered site the signer operates, where the new lots lie.",
                  "schema, site", required=False, nullable=True)

SEALS = Field("seals", {"type": "array", "items": text(128), "uniqueItems": True},
              "Distinct seal or tag identifiers on the consignment; a receipt presents exactly the shipped set.",
              "evidence.seals, receipt.seals", required=False, nullable=True)
SENSORS = Field("sensors", {}, "Sensor readings (EPCIS sensorReport): type, numeric value, unit of measure.",
                "evidence.sensor", required=False, nullable=True, many=(0, MAX_SAFE_INT), fields=(
                    Field("type", {"type": "string"}, "What was measured, e.g. gs1:Temperature.", "evidence.sensor"),
                    Field("value", {"type": "number"}, "The reading (a finite number).", "evidence.sensor"),
                    Field("uom", {"type": "string"}, "UN/CEFACT unit code, e.g. CEL.", "evidence.sensor"),
                ))
LOCATION = Field("location", {}, "Where it happened (WGS 84).", "evidence.location", required=False, nullable=True,
                 fields=(
                     Field("lat", number(-90, 90), "Latitude.", "evidence.location", unit="degrees"),
                     Field("lon", number(-180, 180), "Longitude.", "evidence.location", unit="degrees"),
                 ))
EVIDENCE = (SEALS, SENSORS, LOCATION)

OUTPUT_FIELDS = (
    Field("form", text(64), "The material form: bulk forms are free text (cobalt_hydroxide, cobalt_sulphate, "
          "black_mass, production_scrap, …); cell, module, pack and vehicle are serialised products "
          "(levels 1–4 of the aggregation hierarchy).", "schema, aggregation.hierarchy, provenance.*"),
    Field("gross_mass_g", integer(1, MAX_GRAMS), "Gross mass of the new lot.", "schema, assay, aggregation.mass",
          unit="g (integer)"),
    Field("buckets", buckets_value(), "Contained metal: bucket key element/origin/country → integer grams. "
          f"Origins {', '.join(ORIGIN_CLASSES)}; recycled buckets carry no country ({NO_COUNTRY}). Sum ≤ gross mass.",
          "schema, balance, assay, origin.country, certified.origin, recycled.origin, coc.*",
          required=False, unit="g (integer, < 2^48)"),
    Field("coc_model", enum(COC_MODELS), "ISO 22095 chain-of-custody model (default mass_balance); never stronger "
          "than the weakest input.", "schema, coc.model, coc.identity, coc.segregated, coc.blending", required=False),
    Field("assay_ppm", {"type": "object", "additionalProperties": integer(0, 1_000_000)},
          "Assay: element → mass fraction; the buckets must agree within assay_tolerance_permille.",
          "schema, assay", required=False, unit="ppm (integer)"),
    Field("assay_cert_sha256", text(64, HASH_PATTERN), "SHA-256 of the assay certificate (lower-case hex).",
          "evidence.assay_cert", required=False, nullable=True),
    Field("carbon", {}, "Carbon-footprint entries per lifecycle stage of the Commission's method.", "schema",
          required=False, many=(0, MAX_SAFE_INT), fields=(
              Field("stage", enum(CARBON_STAGES), "Lifecycle stage.", "schema"),
              Field("kgco2e_per_kg", {"type": "number", "minimum": 0}, "Emission factor.", "schema",
                    unit="kg CO2e per kg"),
              Field("primary", {"type": "boolean"}, "Primary (measured) data, not a secondary database value.",
                    "schema"),
          )),
    Field("gtin", text(14, GTIN_PATTERN), "GS1 GTIN-8/12/13/14 of a serialised product (cell and up), with a "
          "correct check digit; stored as 14 digits. Bulk material carries none.",
          "identity.format, identity.missing, identity.bulk, identity.serial", required=False, nullable=True),
    Field("serial", {"type": "string", "pattern": SERIAL_PATTERN}, "GS1 AI 21 serial number: 1–20 characters of "
          "GS1 CSET 82; GTIN + serial name one product once.",
          "identity.format, identity.missing, identity.bulk, identity.serial", required=False, nullable=True),
    Field("model", text(64), "Product model name (passport data).", "schema", required=False, nullable=True),
    Field("chemistry", text(64), "Cell chemistry (passport data).", "schema", required=False, nullable=True),
    Field("capacity_kwh", number(1e-9, 1e9), "Rated energy of the product (the passport divides by it).",
          "schema", required=False, nullable=True, unit="kWh"),
)


def outputs_field(max_items: int, doc: str = "The lots the event creates, in order (lot id = event hash:index).") -> Field:
    return Field("outputs", {}, doc, "schema", fields=OUTPUT_FIELDS, many=(1, max_items))


LOSS = Field("loss", buckets_value(), "Metal lost in processing, per bucket; inputs = outputs + loss, and the loss "
             "stays within the policy's loss tolerance for the kind.", "schema, balance, loss.tolerance",
             required=False, unit="g (integer)")


def inputs_field(max_items: int = 100_000, rule: str = "") -> Field:
    return Field("inputs", lot_list(max_items), "The lots consumed, whole (each held by the signer, not in "
                 "transit, not spent). Lot ids are creating event hash:index.",
                 "schema, unspent, unknown-lot, custody, in-transit, time.order" + rule)


# --------------------------------------------------------------------- confidential variants
CONFIDENTIAL_OUTPUT = (
    Field("commitments", COMMITMENTS, "Pedersen commitments (ristretto255, hex) to the grams of each bucket, "
          "instead of buckets.", "zk.malformed"),
    Field("assay_ppm", {"type": "object", "maxProperties": 0}, "Empty: an assay would disclose the committed "
          "quantities.", "zk.malformed", required=False),
    Field("coc_model", enum([m for m in COC_MODELS if m != "controlled_blending"]), "As in plain mode, but "
          "controlled blending ratios cannot be checked on commitments.", "schema, zk.unsupported, coc.*",
          required=False),
)
_CONF_SELECTOR: JSON = {"anyOf": [{"required": ["proofs"]},
                                  {"properties": {"outputs": {"contains": {"required": ["commitments"]}}},
                                   "required": ["outputs"]}]}
_CONF_FORBIDDEN_OUT = {"buckets": "zk.mixed-mode"}
_PROOFS = Field("proofs", {"type": "object"}, "One proof bundle per bucket group (balance, range and loss bound; "
                "docs/confidential.md).", "zk.malformed, zk.balance, zk.range, zk.loss", required=False)
_CONTAINED = Field("contained", {"type": "array", "items": {"type": "string", "pattern": HEX_PATTERN}},
                   "One threshold proof (hex) per output: committed metal ≤ public gross mass.",
                   "zk.malformed, zk.assay", required=False)
_CONF_LOSS = Field("loss", {"type": "object", "propertyNames": {"pattern": "^([0-9]+:)?" + BUCKET_KEY_PATTERN[1:]},
                           "additionalProperties": {"type": "string", "pattern": POINT_PATTERN}},
                   "Commitments to the loss of each bucket group: a bucket key, or for a receipt "
                   "output index:bucket key of each bucket whose commitment changed.", "zk.malformed, zk.balance",
                   required=False)


def confidential(extra: tuple[Field, ...] = (), *, extraction: bool = False) -> Variant:
    return Variant(
        "confidential",
        "Quantities are committed, not published: outputs carry commitments instead of buckets and "
        "no assay_ppm; the body carries proofs and contained" + ("" if extraction else ", and loss as commitments")
        + "; controlled_blending is not supported.",
        fields=(_PROOFS, _CONTAINED, *extra) if extraction else (_PROOFS, _CONTAINED, _CONF_LOSS, *extra),
        output_fields=CONFIDENTIAL_OUTPUT,
        output_forbidden=_CONF_FORBIDDEN_OUT,
        forbidden={"loss": "zk.malformed"} if extraction else {},
        selector=_CONF_SELECTOR,
    )


_ANONYMOUS = Variant(
    "anonymous",
    "An anonymous certified extraction: a confidential extraction signed by a fresh one-time did:key, naming "
    "no site or location; origin names the country and the certified ring of mine ring keys, membership "
    "proves a ring member signed it. Buckets are certified, of that country.",
    fields=(
        _PROOFS, _CONTAINED,
        Field("origin", {}, "The certified ring the extraction hides in.", "ring.origin", closed=True, fields=(
            Field("country", {"type": "string", "pattern": COUNTRY_PATTERN}, "ISO 3166-1 alpha-2.", "ring.origin"),
            Field("ring", {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": POINT_PATTERN}},
                  "The certified ring keys of that country at event time, in canonical order.",
                  "ring.origin, ring.size, ring.set, zk.malformed"),
        )),
        Field("membership", {"type": "string", "pattern": HEX_PATTERN}, "One-out-of-many proof (hex).",
              "zk.malformed, ring.membership"),
    ),
    output_fields=(*CONFIDENTIAL_OUTPUT[:2], Field(
        "coc_model", enum(["segregated", "mass_balance"]), "An anonymous lot cannot preserve its mine's identity, "
        "nor blend on commitments.", "schema, coc.identity, zk.unsupported", required=False)),
    output_forbidden=_CONF_FORBIDDEN_OUT,
    forbidden={"site": "ring.origin", "location": "ring.origin", "loss": "zk.malformed"},
    selector={"required": ["origin"]},
)

# ---------------------------------------------------------------------------- the kinds
_ACCREDITATION = (
    Field("scheme", text(64), "The assurance scheme, e.g. RMAP, IRMA.", "accreditation, schema"),
    Field("valid_from", time_value(), "Start (default: the event time).", "accreditation, schema", required=False),
    Field("valid_until", time_value(), "End, after valid_from (absent: until withdrawn).",
          "accreditation, schema", required=False),
)
_COUNTRY = Field("country", {"type": "string", "pattern": COUNTRY_PATTERN}, "ISO 3166-1 alpha-2 code.", "schema")


def _policy_int(name: str, doc: str, unit: str, required: bool = True) -> Field:
    lo, hi = POLICY_BOUNDS[name]
    return Field(name, integer(lo, hi), doc, "policy", required=required, unit=unit)


_REQUIREMENT = (
    Field("scheme", {"type": "string", "minLength": 1}, "Scheme the mine's attestation is under.", "policy"),
    Field("level", {"type": "string"}, "Level the attestation must state.", "policy", required=False, nullable=True),
    Field("min_score", integer(*POLICY_BOUNDS["min_score"]), "Lowest score accepted.", "policy", required=False,
          nullable=True),
    Field("issuers", {"type": "array", "minItems": 1, "maxItems": 1000, "uniqueItems": True,
                      "items": {"type": "string", "pattern": "^did:", "maxLength": 512}},
          "Auditor DIDs whose attestations count (absent: any accredited auditor).", "policy", required=False,
          nullable=True),
)
_POLICY = Field("policy", {}, "The ledger policy from this event on (replaces the previous one).", "policy", fields=(
    Field("sourcing", {"type": "array", "minItems": 1, "items": {
        "type": "array", "minItems": 1, "items": object_schema(_REQUIREMENT, closed=True)}},
        "Alternatives (OR) of requirements (AND) a mine's valid attestations must meet for certified output; "
        "a requirement is {scheme, level?, min_score?, issuers?}.", "policy"),
    Field("loss_tolerance_permille", {"type": "object", "additionalProperties": integer(*POLICY_BOUNDS["loss_tolerance"])},
          "Maximum loss per element by event kind, or kind:input form.", "policy", unit="‰ of the input"),
    _policy_int("assay_tolerance_permille", "Assay vs buckets agreement.", "‰"),
    _policy_int("weighbridge_tolerance_permille", "Receipt vs shipment gross mass.", "‰"),
    _policy_int("max_clock_skew_s", "How far in the future an event may be dated.", "s"),
    _policy_int("max_backdate_s", "How far before its ingestion an event may be dated.", "s", required=False),
    _policy_int("min_ring_size", "Fewest members of an anonymous extraction's ring.", "keys", required=False),
    _policy_int("max_scrap_permille", "Most production scrap per element of product plus scrap.", "‰",
                required=False),
    _policy_int("max_attestation_validity_s", "Longest attestation validity, valid_from to valid_until "
                "(attestation.period; default 1096 days).", "s", required=False),
    _policy_int("audit_lookback_s", "How far before its attest event an auditor's read window may start "
                "(default 365 days).", "s", required=False),
))

EVENT_SPECS: dict[str, KindSpec] = {s.kind: s for s in (
    KindSpec("register_participant", "The operator registers a participant's key and role.", (
        Field("did", text(512, DID_KEY_PATTERN), "The participant's Ed25519 did:key (signs its events).",
              "schema, registration.duplicate"),
        Field("role", enum(sorted(ROLES - {"operator"})), "What it may sign (docs/rules.md, authorisation).", "schema"),
        Field("legal_name", text(), "Registered legal name.", "schema"),
        _COUNTRY,
        Field("accreditations", {}, "An auditor's accreditations: the schemes it may attest.", "accreditation",
              required=False, fields=_ACCREDITATION, closed=True, many=(0, 64)),
    ), notes=("Only an auditor holds accreditations (accreditation).", "A did is registered once "
              "(registration.duplicate)."),
        conditions=(({"if": {"properties": {"role": {"not": {"const": "auditor"}}}},
                      "then": {"not": {"required": ["accreditations"]}}}, "accreditations only with role auditor"),)),
    KindSpec("accredit", "The operator grants a registered auditor an accreditation, or withdraws every "
             "accreditation it holds for a scheme (withdraw: true).", (
        Field("auditor", text(), "The auditor's did.", "schema, accreditation"),
        Field("scheme", text(64), "The scheme.", "schema, accreditation"),
        Field("valid_from", time_value(), "Start (default: the event time); not with withdraw.",
              "accreditation, schema", required=False),
        Field("valid_until", time_value(), "End, after valid_from; not with withdraw.", "accreditation, schema",
              required=False),
        Field("withdraw", {"const": True}, "Withdraw the scheme's accreditations (from this event on, in log order).",
              "accreditation", required=False),
    ), notes=("An auditor holds at most 64 accreditation records (accreditation).",),
        conditions=(({"if": {"required": ["withdraw"]}, "then": {"not": {"anyOf": [
            {"required": ["valid_from"]}, {"required": ["valid_until"]}]}}},
            "a withdrawal names no validity"),)),
    KindSpec("register_site", "The operator registers a site (mine, refinery, plant) and its operating participant.", (
        Field("site_id", text(128, "^(?!ring:)"), "Site identifier, unique; the prefix ring: is reserved.",
              "schema, registration.duplicate"),
        Field("owner", text(), "The did of the registered participant operating it.", "schema, registration"),
        Field("site_kind", text(), "mine for an extraction site; refinery, cell_plant, … otherwise.", "schema, site"),
        Field("name", text(), "Display name.", "schema"),
        _COUNTRY,
        Field("lat", number(-90, 90), "Latitude.", "schema", required=False, unit="degrees"),
        Field("lon", number(-180, 180), "Longitude.", "schema", required=False, unit="degrees"),
    )),
    KindSpec("register_ring_key", "A mine site's owner registers the site's ring key for anonymous extraction.", (
        Field("site", text(128), "The mine site (registered, operated by the signer).", "schema, site, ring.key"),
        Field("ring_key", {"type": "string", "pattern": POINT_PATTERN}, "P = sk·G on ristretto255, lower-case hex; "
              "not the identity, not another site's.", "zk.malformed, ring.key"),
        Field("pop", {"type": "string", "pattern": "^[0-9a-f]{128}$"}, "Proof of possession of sk over the body "
              "without pop (64 bytes, hex).", "zk.malformed, ring.key"),
    )),
    KindSpec("set_policy", "The operator sets the ledger policy (sourcing rules, tolerances).", (_POLICY,)),
    KindSpec("rotate_key", "The operator rotates a participant's key: from this event on the new did:key signs for "
             "it (its events name it in signer) and the key in force before is refused.", (
        Field("participant", text(512, DID_KEY_PATTERN), "The participant's registered did (its identifier, unchanged).",
              "schema, key.participant"),
        Field("new_key", text(512, DID_KEY_PATTERN), "The did:key that signs for it from now on: never the key in "
              "force, a registered did, the operator's or a key rotated in before.",
              "schema, key.same, key.in-use"),
    )),
    KindSpec("extract", "A mine records material extracted at its site: new bulk lots.", (
        _SITE_OF_SIGNER, outputs_field(1000), *EVIDENCE,
    ), forbidden={"inputs": "schema"}, notes=(
        "The site is a mine (site); buckets carry the mine's country (origin.country); certified buckets need "
        "attestations satisfying the sourcing policy (certified.origin); no recycled buckets (recycled.origin); "
        "bulk forms only, no production scrap (aggregation.hierarchy, provenance.scrap).",),
        variants=(confidential(extraction=True), _ANONYMOUS)),
    KindSpec("ship", "The custodian hands lots to a carrier for another participant; they are in transit.", (
        Field("to", text(), "The receiving participant's did.", "schema, registration"),
        Field("lots", lot_list(10_000), "The lots shipped.", "schema, unspent, unknown-lot, custody, in-transit"),
        Field("gross_mass_g", integer(1, MAX_GRAMS), "Weighbridge gross mass of the consignment; the receipt must "
              "then weigh it too.", "schema, receipt.weighbridge", required=False, nullable=True, unit="g"),
        *EVIDENCE,
    ), notes=("A shipment carries no quantities; plain and confidential lots do not travel together (zk.mixed-mode).",)),
    KindSpec("receive", "The receiver takes lots out of transit: one output per received lot, in order.", (
        Field("shipment", text(64, HASH_PATTERN), "Hash of the ship event.", "schema, custody"),
        Field("lots", lot_list(10_000), "Every lot of the shipment.",
              "schema, unspent, unknown-lot, custody, receipt.lots"),
        outputs_field(10_000, "One output per received lot, same form and identity, at most its grams."),
        LOSS,
        _OPT_SITE,
        Field("gross_mass_g", integer(1, MAX_GRAMS), "Weighbridge mass; required when the shipment stated one.",
              "schema, receipt.weighbridge", required=False, unit="g"),
        Field("discrepancy", text(1000), "A declared discrepancy: allows loss beyond the receive tolerance and a "
              "weighbridge difference.", "schema", required=False, nullable=True),
        *EVIDENCE,
    ), notes=("Seals presented equal the seals shipped (receipt.seals); the output keeps the lot's form, GTIN, "
              "serial and product data (receipt.form, receipt.identity).",), variants=(confidential(),)),
    KindSpec("transform", "A processor turns input lots into new lots (refining, cathode synthesis, cell making).", (
        inputs_field(), outputs_field(100_000), LOSS, _OPT_SITE, *EVIDENCE,
    ), notes=("Bulk inputs only; outputs bulk or cells (aggregation.hierarchy). Cells are made by cell makers and "
              "OEMs from processed material (provenance.product); production scrap only next to product, within "
              "max_scrap_permille (provenance.scrap, provenance.scrap-share).",),
        variants=(confidential((Field("scrap", {"type": "object", "additionalProperties": {"type": "string"}},
                                      "Per element booked as production scrap: threshold proof of the scrap share.",
                                      "zk.malformed, zk.scrap", required=False),)),)),
    KindSpec("aggregate", "Cells into a module, modules into a pack, a pack into a vehicle: one parent.", (
        inputs_field(), outputs_field(1, "Exactly one parent (module, pack or vehicle) holding the children's buckets."),
        LOSS, _OPT_SITE, *EVIDENCE,
    ), notes=("Loses nothing (balance); the parent weighs at least its children (aggregation.mass) and sits above "
              "them (aggregation.hierarchy). A pack records the OEM as economic operator.",),
        variants=(confidential(),)),
    KindSpec("disaggregate", "One module, pack or vehicle taken apart into parts below it.", (
        inputs_field(1, ", aggregation.hierarchy"), outputs_field(100_000), LOSS, _OPT_SITE, *EVIDENCE,
    ), notes=("Parts may take back the identities of the children the parent was assembled from (identity.serial); "
              "no loss (balance).",), variants=(confidential(),)),
    KindSpec("attest", "An accredited auditor attests a site or participant under a scheme.", (
        Field("subject", text(), "A site id or participant did.", "schema, attestation.subject"),
        Field("scheme", text(64), "The scheme (the signer must be accredited for it at the event time).",
              "schema, attestation.accreditation"),
        Field("valid_from", time_value(), "Validity start.", "schema"),
        Field("valid_until", time_value(), "Validity end, after valid_from, at most the policy's "
              "max_attestation_validity_s after it.", "schema, attestation.validity, attestation.period"),
        Field("level", text(64), "Level awarded (e.g. conformant).", "schema", required=False, nullable=True),
        Field("score", integer(0, 100), "Score.", "schema", required=False, nullable=True, unit="points of 100"),
        Field("questions_answered", integer(), "Questions answered (with questions_total).", "schema, attestation.coverage",
              required=False, nullable=True),
        Field("questions_total", integer(1), "Questions in the questionnaire.", "schema, attestation.coverage",
              required=False, nullable=True),
        Field("companies_covered", integer(1), "Companies the assessment covered.", "schema", required=False,
              nullable=True),
        Field("revokes", text(), "Hash of an earlier attest event of the signer that this one revokes.",
              "schema, attestation.revoke", required=False, nullable=True),
    )),
    KindSpec("incident", "An auditor records an incident at a registered site.", (
        Field("site", text(), "The site.", "schema, incident.site"),
        Field("start", time_value(), "Incident start.", "schema"),
        Field("end", time_value(), "Incident end, after start.", "schema, incident.window"),
        Field("severity", enum(SEVERITIES), "Severity.", "schema"),
        Field("description", text(4000), "What happened.", "schema"),
    )),
    KindSpec("lifecycle", "The custodian or the economic operator updates a product's status and health.", (
        Field("lot", text(512, LOT_PATTERN), "The product's lot (cell and up).", "schema, unknown-lot, lifecycle, custody"),
        Field("status", enum(LIFECYCLE_STATUSES), "Regulation 2023/1542 status; once not original, never original "
              "again.", "schema, lifecycle.status"),
        Field("soh_percent", number(0, 100), "State of health.", "schema", required=False, nullable=True, unit="%"),
        Field("cycles", integer(), "Full equivalent cycles.", "schema", required=False, nullable=True, unit="cycles"),
        Field("energy_throughput_kwh", integer(), "Energy throughput.", "schema", required=False, nullable=True,
              unit="kWh (integer)"),
        Field("deep_discharge_events", integer(), "Deep-discharge events.", "schema", required=False, nullable=True,
              unit="count"),
        Field("put_into_service", {"const": True}, "This event puts the battery into service (its time is the "
              "passport's date of putting into service); once per life (status).", "schema, lifecycle.service",
              required=False, nullable=True),
        Field("accident", text(500), "An accident involving the battery (passport: information on accidents).",
              "schema", required=False, nullable=True),
        Field("bms", {}, "Battery-management readings (BatteryPass dynamic attributes), each a number in "
              "[0, 10^12].", "schema", required=False, nullable=True, closed=True, fields=tuple(
                  Field(name, number(0, 1e12), name.replace("_", " ") + ".", "schema", required=False, unit=unit)
                  for name, unit in BMS_FIELDS.items())),
    )),
    KindSpec("recycle", "A recycler turns end-of-life products, production scrap or recycled material into "
             "recycled bulk material.", (
        inputs_field(), outputs_field(100_000), replace(LOSS, schema={
            **buckets_value(), "propertyNames": {"pattern": RECYCLED_KEY_PATTERN}},
            doc=LOSS.doc + " Recycling books its loss in recycled buckets."), _OPT_SITE, *EVIDENCE,
    ), notes=("Outputs and loss are recycled buckets only (recycled.origin, schema); inputs are products at their "
              "end of life (recycled.end-of-life), scrap or recycled material; balance per element within the "
              "recycle tolerance.",), variants=(confidential(),)),
)}


# ------------------------------------------------------------------------------ generation
def _closed_out(fields: tuple[Field, ...], replace: tuple[Field, ...], forbid: Mapping[str, str]) -> tuple[Field, ...]:
    names = {f.name for f in replace}
    return tuple(f for f in fields if f.name not in names and f.name not in forbid) + replace


def _body(spec: KindSpec, variant: Variant | None, plain_forbid: Mapping[str, str]) -> JSON:
    fields: tuple[Field, ...] = (*COMMON, *spec.fields)
    forbid = dict(spec.forbidden)
    out_forbid: dict[str, str] = {}
    if variant is not None:
        forbid.update(variant.forbidden)
        out_forbid.update(variant.output_forbidden)
        out_fields = _closed_out(OUTPUT_FIELDS, variant.output_fields, out_forbid)
        fields = tuple(replace(f, fields=out_fields) if f.name == "outputs" else f
                       for f in _closed_out(fields, variant.fields, forbid))
    else:
        forbid.update(plain_forbid)
    body = object_schema(fields)
    body["properties"]["kind"] = {"const": spec.kind, "description": COMMON[0].describe()}
    for name in sorted(forbid):
        body["properties"][name] = False
    if out_forbid:
        items = body["properties"]["outputs"]["items"]
        for name in sorted(out_forbid):
            items["properties"][name] = False
    conditions = [c for c, _ in spec.conditions]
    if variant is not None and variant.selector:
        conditions.append(dict(variant.selector))
    if conditions:
        body["allOf"] = conditions
    return body


def event_schema(kind: str) -> JSON:
    """The JSON Schema (draft 2020-12) of an event body of ``kind``; ``KeyError`` for an unknown kind."""
    spec = EVENT_SPECS[kind]
    head: JSON = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}events/{kind}.json",
        "title": f"batterytrace {kind} event body",
        "description": spec.summary + (" " + " ".join(spec.notes) if spec.notes else ""),
    }
    if not spec.variants:
        return {**head, **_body(spec, None, {})}
    plain_forbid = {"proofs": "zk.mixed-mode"}
    if any(v.name == "anonymous" for v in spec.variants):
        plain_forbid["origin"] = "ring.origin"
    plain = _body(spec, None, plain_forbid)
    items = plain["properties"]["outputs"]["items"]
    items["properties"]["commitments"] = False
    plain["title"] = "plain"
    defs: JSON = {"plain": plain}
    for v in spec.variants:
        body = _body(spec, v, {})
        body["title"] = v.name
        body["description"] = v.doc
        if v.name == "confidential" and any(w.name == "anonymous" for w in spec.variants):
            body["properties"]["origin"] = False
        defs[v.name] = body
    return {**head, "type": "object", "oneOf": [{"$ref": f"#/$defs/{name}"} for name in defs], "$defs": defs}


def wire_schema() -> JSON:
    """The signed wire form ``{"event": body, "signature": base64url}`` of any event kind."""
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}signed-event.json",
        "title": "batterytrace signed event",
        "description": "An event body and its Ed25519 signature over b'batterytrace/event/v1\\x00' || "
                       "SHA-256(RFC 8785 canonical JSON of the body), by the body's signer (default: its actor).",
        "type": "object",
        "required": ["event", "signature"],
        "additionalProperties": False,
        "properties": {
            "event": {"oneOf": [{"$ref": f"events/{kind}.json"} for kind in sorted(EVENT_SPECS)],
                      "description": "The event body; its kind selects the schema."},
            "signature": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$",
                          "description": "64-byte Ed25519 signature, base64url without padding."},
        },
    }


def schema_index() -> JSON:
    """What ``GET /schemas`` lists: every schema by name and path."""
    return {
        "event_kinds": sorted(EVENT_SPECS),
        "schemas": {
            **{kind: f"/schemas/events/{kind}.json" for kind in sorted(EVENT_SPECS)},
            "signed-event": "/schemas/signed-event.json",
            "master-data": "/schemas/master-data.json",
        },
    }


def kinds_without_spec() -> list[str]:
    """Event kinds the ledger takes that have no reference entry (a test insists on none)."""
    return sorted(EVENT_KINDS - set(EVENT_SPECS))


def _registry() -> Any:
    from referencing import Registry, Resource

    resources = [(s["$id"], Resource.from_contents(s)) for s in map(event_schema, sorted(EVENT_SPECS))]
    return Registry().with_resources(resources)


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    schema = wire_schema() if name == "signed-event" else event_schema(name)
    return Draft202012Validator(schema, registry=_registry(), format_checker=None)


def schema_errors(name: str, value: Any) -> list[str]:
    """Why ``value`` does not match the schema ``name`` (an event kind, or ``signed-event``): one
    line per error, ``path: message``, sorted; empty when it matches. ``KeyError`` for an unknown
    name."""
    if name != "signed-event" and name not in EVENT_SPECS:
        raise KeyError(name)
    lines = []
    for err in _validator(name).iter_errors(value):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
        lines.append(f"{path or '(body)'}: {err.message[:300]}")
    return sorted(lines)
