"""Plain EPCIS 2.0 capture with custodial signing (docs/epcis-mapping.md).

A participant authenticated by its operator-issued credential posts ordinary EPCIS 2.0 events;
each is mapped to a ledger event body, signed with the participant's hosted key (the key the
service keeps for it, ``ledger.hosted_keys``) and submitted through the ordinary ledger path
(``Ledger.submit_batch``: same rules, same capture error behaviour). Every custodial body carries
``"custodial": {"credential": <jti>}``, covered by the signature and the Merkle leaf, so anyone
reading the log can tell that the service signed it and under which credential.

The mapping (field by field in docs/epcis-mapping.md):

* ObjectEvent ADD + bizStep commissioning → ``extract``; bizStep shipping → ``ship``; bizStep
  receiving → ``receive``; TransformationEvent → ``transform``; AggregationEvent ADD →
  ``aggregate``, DELETE → ``disaggregate``.
* Serialised products: GS1 Digital Link ``https://host/…/01/{gtin}/21/{serial}`` or SGTIN
  ``urn:epc:id:sgtin:…``; bulk lots: ``quantityList`` entries in ``KGM`` whose ``epcClass`` is a
  ledger lot ``urn:batterytrace:lot:<hash>:<i>`` (inputs) or an LGTIN
  ``urn:epc:class:lgtin:…`` that names a lot this document creates (outputs, and later events of
  the same document that consume it).
* Ledger fields EPCIS has no place for live in extension fields of our namespace (``bt:lots``,
  ``bt:site``, ``bt:seals``, ``bt:loss``, ``bt:location``, ``bt:discrepancy``, ``bt:actor``).

An event that cannot be mapped is refused with ``reason`` ``mapping`` and the offending field.
Events that carry a self-signed ``bt:event`` are taken as they are (``ledger.epcis.import_event``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.epcis import (
    BT_NAMESPACE,
    CaptureOutcome,
    DocumentIdentities,
    ProjectionError,
    import_event,
    namespace_prefixes,
)
from batterytrace.ledger.event_index import stored_identities
from batterytrace.ledger.ledger import BatchResult, Ledger
from batterytrace.model.entities import COC_MODELS, FORM_LEVELS, Lot
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.identifiers import IdentifierError, check_serial, normalise_gtin
from batterytrace.timeutil import format_time

__all__ = [
    "CUSTODIAL_FIELD",
    "MAX_ITEMS",
    "MappingError",
    "capture_custodial",
    "parse_epc",
    "sign_custodial",
    "submit_custodial",
]

CUSTODIAL_FIELD = "custodial"
MAX_ITEMS = 10_000  # identifiers per list of one event
_BT_FIELDS = frozenset({"lots", "site", "seals", "loss", "location", "discrepancy", "actor"})
# Standard EPCIS fields read by the mapping, and those accepted without effect on the ledger.
_MAPPED = frozenset({
    "type", "eventID", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "readPoint", "bizLocation",
    "epcList", "quantityList", "parentID", "childEPCs", "childQuantityList", "inputEPCList", "inputQuantityList",
    "outputEPCList", "outputQuantityList", "destinationList", "sourceList",
})
_IGNORED = frozenset({"recordTime", "disposition", "bizTransactionList", "transformationID", "@context"})
_LOT_SPEC_FIELDS = frozenset({"form", "buckets", "coc_model", "assay_ppm", "carbon", "assay_cert_sha256", "model",
                              "capacity_kwh", "chemistry", "gross_mass_g"})
_MAX_GRAMS = 2**48

_LOT_URI = re.compile(r"urn:batterytrace:lot:([0-9a-f]{64}:[0-9]{1,6})")
_SGTIN = re.compile(r"urn:epc:id:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.{1,60})")
_LGTIN = re.compile(r"urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.{1,60})")
_DL_PATH = re.compile(r"(?:/.*)?/01/([0-9]{8,14})/21/([^/?#]+)")
_STEP_PREFIXES = ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-")


class MappingError(ValueError):
    """One EPCIS event that cannot become a ledger event: ``field`` names where, ``message`` why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# ------------------------------------------------------------------------- identifiers
@dataclass(frozen=True)
class Epc:
    """A parsed identifier: a ledger lot, a serialised product (GTIN + serial) or an LGTIN class."""

    uri: str
    lot_id: str | None = None
    gtin: str | None = None
    serial: str | None = None
    lgtin: str | None = None


def _gtin_from_epc(prefix: str, item: str, where: str) -> str:
    if len(prefix) + len(item) != 13:
        raise MappingError(where, "company prefix and item reference (with indicator) must have 13 digits together")
    body = item[0] + prefix + item[1:]
    from batterytrace.model.identifiers import gtin_check_digit

    return body + str(gtin_check_digit(body))


def parse_epc(uri: Any, where: str) -> Epc:
    """A ledger lot URI, GS1 Digital Link (AI 01 + 21), SGTIN or LGTIN; ``MappingError`` else."""
    if not isinstance(uri, str) or not 0 < len(uri) <= 512:
        raise MappingError(where, "an identifier is a URI string of at most 512 characters")
    if m := _LOT_URI.fullmatch(uri):
        return Epc(uri, lot_id=m.group(1))
    if m := _SGTIN.fullmatch(uri):
        gtin = _gtin_from_epc(m.group(1), m.group(2), where)
        return Epc(uri, gtin=gtin, serial=_serial(unquote(m.group(3)), where))
    if m := _LGTIN.fullmatch(uri):
        gtin = _gtin_from_epc(m.group(1), m.group(2), where)
        return Epc(uri, lgtin=f"{gtin}/{unquote(m.group(3))}")
    if uri.startswith("https://"):
        parts = urlsplit(uri)
        m = _DL_PATH.fullmatch(parts.path)
        if not parts.netloc or m is None or parts.query or parts.fragment:
            raise MappingError(where, f"{uri[:80]!r} is no GS1 Digital Link of a serialised item "
                                      "(https://host/01/{gtin}/21/{serial})")
        try:
            gtin = normalise_gtin(m.group(1))
        except IdentifierError as exc:
            raise MappingError(where, str(exc)) from exc
        return Epc(uri, gtin=gtin, serial=_serial(unquote(m.group(2)), where))
    raise MappingError(where, f"{uri[:80]!r} is not an identifier the ledger maps (urn:batterytrace:lot, "
                              "GS1 Digital Link, urn:epc:id:sgtin, urn:epc:class:lgtin)")


def _serial(text: str, where: str) -> str:
    try:
        return check_serial(text)
    except IdentifierError as exc:
        raise MappingError(where, str(exc)) from exc


# ------------------------------------------------------------------------- field readers
def _step(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError("bizStep", "must be a string")
    for prefix in _STEP_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def _time(epcis: dict[str, Any]) -> str:
    value = epcis.get("eventTime")
    if not isinstance(value, str) or len(value) > 40:
        raise MappingError("eventTime", "required: an RFC 3339 date-time with a time zone")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MappingError("eventTime", f"not an RFC 3339 date-time: {value!r}") from exc
    if dt.tzinfo is None:
        raise MappingError("eventTime", "needs a time zone (Z or an offset)")
    stamp = dt.timestamp()
    return format_time(int(stamp) * 1_000_000 + dt.microsecond)


def _list(epcis: dict[str, Any], name: str) -> list[Any]:
    value = epcis.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(name, "must be a list")
    if len(value) > MAX_ITEMS:
        raise MappingError(name, f"at most {MAX_ITEMS} entries per event")
    return value


def grams_of(entry: Any, where: str) -> int:
    """The mass of a ``quantityList`` entry in whole grams (``uom`` must be KGM)."""
    if not isinstance(entry, dict):
        raise MappingError(where, "a quantity element is an object {epcClass, quantity, uom}")
    uom = entry.get("uom")
    if uom != "KGM":
        named = "absent (a count of instances)" if uom is None else repr(uom)[:20]
        raise MappingError(f"{where}.uom", f"the ledger records masses in KGM (UN/ECE rec. 20 kilogram), not {named}")
    q = entry.get("quantity")
    if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
        raise MappingError(f"{where}.quantity", "must be a finite number of kilograms")
    if not 0 < q < _MAX_GRAMS / 1000:
        raise MappingError(f"{where}.quantity", f"must be above 0 and below {_MAX_GRAMS // 1000} kg")
    grams = Decimal(repr(q)) * 1000  # the decimal the document wrote, not its binary approximation
    if grams != grams.to_integral_value():
        raise MappingError(f"{where}.quantity", "the ledger records whole grams (at most 3 decimals of KGM)")
    return int(grams)


@dataclass
class _Known:
    """A lot the mapping knows the contents of: stored, or created earlier in this document."""

    lot_id: str
    form: str
    gross_mass_g: int
    buckets: dict[str, int]
    coc_model: str
    product: dict[str, Any]  # gtin, serial, model, capacity_kwh, chemistry (when set)
    shipment: dict[str, Any] | None = None

    @classmethod
    def of(cls, lot: Lot) -> _Known:
        product = {k: v for k, v in {"gtin": lot.gtin, "serial": lot.serial, **{
            k: lot.extra.get(k) for k in ("model", "capacity_kwh", "chemistry")}}.items() if v is not None}
        return cls(lot.lot_id, lot.form, lot.gross_mass_g, dict(lot.buckets), lot.coc_model, product, lot.shipment)


@dataclass
class _Context:
    ledger: Ledger
    actor: str
    prefixes: tuple[str, ...]
    # identifiers created earlier in this document: LGTIN key or (gtin, serial) → lot
    local: dict[Any, _Known] = field(default_factory=dict)

    def ext(self, epcis: dict[str, Any], name: str) -> Any:
        for prefix in self.prefixes:
            if f"{prefix}:{name}" in epcis:
                return epcis[f"{prefix}:{name}"]
        return epcis.get(BT_NAMESPACE + name)

    def resolve(self, epc: Epc, where: str) -> _Known:
        """The live lot an identifier names now (for an input)."""
        if epc.lgtin is not None:
            known = self.local.get(epc.lgtin)
            if known is None:
                raise MappingError(where, f"{epc.uri[:80]} names no lot commissioned earlier in this document; "
                                          "name a recorded bulk lot by its urn:batterytrace:lot id")
            return known
        if epc.lot_id is not None:
            known = self.local.get(("lot", epc.lot_id))
            if known is not None:
                return known
            for known in self.local.values():
                if known.lot_id == epc.lot_id:
                    return known
            return _Known.of(self._yours(self._follow_receipts(epc.lot_id, where), epc.uri, where))
        assert epc.gtin is not None and epc.serial is not None
        known = self.local.get((epc.gtin, epc.serial))
        if known is not None:
            return known
        store = self.ledger.store
        live = [x for x in store.get_lots(store.lots_by_serial(epc.gtin, epc.serial)).values() if x.status != "spent"]
        if len(live) != 1:
            what = "no" if not live else "more than one"
            raise MappingError(where, f"{what} live lot carries GTIN {epc.gtin} serial {epc.serial}")
        return _Known.of(self._yours(live[0], epc.uri, where))

    def _yours(self, lot: Lot | None, uri: str, where: str) -> Lot:
        """``lot`` when the credential's participant holds it or it is in transit to it; else one
        refusal, whether it exists or not, that tells nothing of it (no mass, no holder)."""
        if lot is not None and (lot.custodian == self.actor
                                or (lot.status == "in_transit" and (lot.shipment or {}).get("to") == self.actor)):
            return lot
        raise MappingError(where, f"{uri[:80]} is not a lot you hold or that is shipped to you")


    def _follow_receipts(self, lot_id: str, where: str) -> Lot | None:
        """The stored lot ``lot_id``, or, when a receipt consumed it, the lot that receipt gave its
        receiver for it (a bulk lot keeps its name through shipments and receipts); None when unknown."""
        store = self.ledger.store
        lot = store.get_lot(lot_id)
        for _ in range(64):
            if lot is None:
                return None
            if lot.status != "spent" or lot.spent_by is None:
                return lot
            seq = store.event_seq(bytes.fromhex(lot.spent_by))
            if seq is None or store.get_event(seq).kind != "receive":
                return lot  # consumed: the rules name it (unspent)
            order = store.inputs_of([lot.spent_by]).get(lot.spent_by, [])
            if lot.lot_id not in order:
                return lot
            lot = store.get_lot(f"{lot.spent_by}:{order.index(lot.lot_id)}")
        raise MappingError(where, f"lot {lot_id} was received too many times to follow")


def _site(ctx: _Context, epcis: dict[str, Any]) -> str | None:
    """``bt:site``, else ``bizLocation.id``, else ``readPoint.id`` (``urn:batterytrace:site:<id>``
    names site ``<id>``; any other URI, such as an SGLN, is the site id as registered)."""
    found: list[tuple[str, str]] = []
    explicit = ctx.ext(epcis, "site")
    if explicit is not None:
        if not isinstance(explicit, str) or not 0 < len(explicit) <= 128:
            raise MappingError("bt:site", "a registered site id of at most 128 characters")
        found.append(("bt:site", explicit))
    for name in ("bizLocation", "readPoint"):
        value = epcis.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            value = {"id": value}  # the compact JSON-LD form (the EPCIS context types it @id)
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            raise MappingError(name, "must be an object with an id")
        site = value["id"].removeprefix("urn:batterytrace:site:")
        if not 0 < len(site) <= 128:
            raise MappingError(f"{name}.id", "a site id has 1 to 128 characters")
        found.append((name, site))
    for name, site in found[1:]:
        if site != found[0][1]:
            raise MappingError(name, f"names site {site!r} but {found[0][0]} names {found[0][1]!r}")
    return found[0][1] if found else None


def _bucket_map(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > 1000:
        raise MappingError(where, "an object of element bucket (element/origin/country) → integer grams")
    for key, grams in value.items():
        if isinstance(grams, bool) or not isinstance(grams, int) or not 0 <= grams < _MAX_GRAMS:
            raise MappingError(f"{where}[{str(key)[:40]!r}]", "must be integer grams in [0, 2^48)")
    return dict(value)


def _sum(buckets: Sequence[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in buckets:
        for k, g in b.items():
            out[k] = out.get(k, 0) + g
    return out


def _difference(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What ``after`` lacks of ``before`` (the declared loss when ``bt:loss`` is absent)."""
    return {k: g - after.get(k, 0) for k, g in sorted(before.items()) if g > after.get(k, 0)}


class _Mapper:
    def __init__(self, ctx: _Context, epcis: dict[str, Any]) -> None:
        self.ctx, self.e = ctx, epcis
        lots = ctx.ext(epcis, "lots")
        if lots is not None and (not isinstance(lots, dict) or len(lots) > MAX_ITEMS):
            raise MappingError("bt:lots", "an object of identifier → lot fields")
        self.lot_specs: dict[str, Any] = lots or {}
        self.used_specs: set[str] = set()

    # -- the parts shared by every kind
    def check_fields(self) -> None:
        for name in self.e:
            if not isinstance(name, str):
                raise MappingError(str(name), "field names are strings")
            prefix, colon, local = name.partition(":")
            if colon and prefix in self.ctx.prefixes:
                if local not in _BT_FIELDS:
                    raise MappingError(name, f"unknown extension field; known: {sorted(_BT_FIELDS)}")
            elif name.startswith(BT_NAMESPACE):
                if name[len(BT_NAMESPACE):] not in _BT_FIELDS:
                    raise MappingError(name, "unknown extension field")
            elif name not in _MAPPED | _IGNORED:
                raise MappingError(name, "this EPCIS field is not mapped to the ledger; move its content to a "
                                         "documented bt: extension field or leave it out (docs/epcis-mapping.md)")
        actor = self.ctx.ext(self.e, "actor")
        if actor is not None and actor != self.ctx.actor:
            raise MappingError("bt:actor", f"names {str(actor)[:80]}, but the credential is {self.ctx.actor}'s")
        for i, src in enumerate(_list(self.e, "sourceList")):
            if isinstance(src, dict) and src.get("type") in ("owning_party", "possessing_party") \
                    and src.get("source") != self.ctx.actor:
                raise MappingError(f"sourceList[{i}].source", f"the source party must be the credential's participant "
                                                              f"{self.ctx.actor}")

    def base(self, kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "time": _time(self.e)}
        site = _site(self.ctx, self.e)
        if site is not None:
            body["site"] = site
        seals = self.ctx.ext(self.e, "seals")
        if seals is not None:
            if not isinstance(seals, list) or len(seals) > 1000 or not all(isinstance(s, str) for s in seals):
                raise MappingError("bt:seals", "a list of seal / tag ids")
            body["seals"] = seals
        loc = self.ctx.ext(self.e, "location")
        if loc is not None:
            body["location"] = loc  # checked by the rules (evidence.location)
        return body

    def identifiers(self, epc_name: str, qty_name: str) -> list[tuple[Epc, int | None, str]]:
        """(identifier, grams or None for an instance, where) for an EPC list and quantity list;
        an identifier listed twice is refused."""
        out: list[tuple[Epc, int | None, str]] = []
        for i, uri in enumerate(_list(self.e, epc_name)):
            out.append((parse_epc(uri, f"{epc_name}[{i}]"), None, f"{epc_name}[{i}]"))
        for i, entry in enumerate(_list(self.e, qty_name)):
            where = f"{qty_name}[{i}]"
            grams = grams_of(entry, where)
            epc = parse_epc(entry.get("epcClass"), f"{where}.epcClass")
            if epc.gtin is not None:
                raise MappingError(f"{where}.epcClass", "a serialised item is listed as an EPC, not as a quantity")
            out.append((epc, grams, where))
        seen: set[str] = set()
        for epc, _, where in out:
            key = epc.lot_id or epc.lgtin or f"{epc.gtin}/{epc.serial}"
            if key in seen:
                raise MappingError(where, f"{epc.uri[:80]} is listed twice")
            seen.add(key)
        return out

    def inputs(self, epc_name: str, qty_name: str, whole: bool = True) -> list[tuple[_Known, int | None, str]]:
        items = []
        for epc, grams, where in self.identifiers(epc_name, qty_name):
            known = self.ctx.resolve(epc, where)
            if whole and grams is not None and grams != known.gross_mass_g:
                raise MappingError(f"{where}.quantity", f"lots move whole: lot {known.lot_id} holds "
                                                        f"{known.gross_mass_g / 1000:g} kg")
            items.append((known, grams, where))
        if len({k.lot_id for k, _, _ in items}) != len(items):
            raise MappingError(epc_name, "two identifiers name the same lot")
        return items

    def spec_for(self, epc: Epc, grams: int | None, where: str, default: dict[str, Any] | None = None,
                 receiving: bool = False) -> dict[str, Any]:
        """The ledger output spec of an output identifier: ``bt:lots[uri]`` plus identity and mass
        from the identifier itself."""
        given = self.lot_specs.get(epc.uri)
        if given is None and default is None:
            raise MappingError(f"bt:lots[{epc.uri[:80]!r}]", f"required for output {where}: form, buckets, …")
        self.used_specs.add(epc.uri)
        spec: dict[str, Any] = dict(default or {})
        if given is not None:
            if not isinstance(given, dict):
                raise MappingError(f"bt:lots[{epc.uri[:80]!r}]", "an object of lot fields")
            unknown = sorted(set(given) - _LOT_SPEC_FIELDS)
            if unknown:
                raise MappingError(f"bt:lots[{epc.uri[:80]!r}].{unknown[0]}",
                                   f"not a lot field; known: {sorted(_LOT_SPEC_FIELDS)}")
            spec.update(given)
        if "buckets" in spec:
            spec["buckets"] = _bucket_map(spec["buckets"], f"bt:lots[{epc.uri[:80]!r}].buckets")
        if grams is not None:
            if given is not None and "gross_mass_g" in given:
                raise MappingError(f"bt:lots[{epc.uri[:80]!r}].gross_mass_g", f"the mass is {where}'s quantity")
            spec["gross_mass_g"] = grams
        elif "gross_mass_g" not in spec:
            raise MappingError(f"bt:lots[{epc.uri[:80]!r}].gross_mass_g", "a serialised item's gross mass in grams")
        if epc.gtin is not None:
            spec["gtin"], spec["serial"] = epc.gtin, epc.serial
        elif epc.lot_id is not None and not receiving:
            raise MappingError(where, "a new lot cannot take an existing ledger lot id; name it by an LGTIN")
        if not isinstance(spec.get("form"), str):
            raise MappingError(f"bt:lots[{epc.uri[:80]!r}].form", "the material form is required")
        if FORM_LEVELS.get(spec["form"], 0) > 0 and epc.gtin is None and not receiving:
            raise MappingError(where, f"a {spec['form']} is a serialised product: name it by Digital Link or SGTIN")
        return spec

    def outputs(self, epc_name: str, qty_name: str) -> tuple[list[Epc], list[dict[str, Any]]]:
        epcs, specs = [], []
        for epc, grams, where in self.identifiers(epc_name, qty_name):
            epcs.append(epc)
            specs.append(self.spec_for(epc, grams, where))
        return epcs, specs

    def loss(self, computed: dict[str, int]) -> dict[str, int]:
        given = self.ctx.ext(self.e, "loss")
        return computed if given is None else _bucket_map(given, "bt:loss")

    def finish(self, body: dict[str, Any]) -> dict[str, Any]:
        unused = sorted(set(self.lot_specs) - self.used_specs)
        if unused:
            raise MappingError(f"bt:lots[{unused[0][:80]!r}]", "names no output of this event")
        return body

    # -- one mapping per kind
    def map(self) -> tuple[dict[str, Any], list[Epc]]:
        self.check_fields()
        kind = self.e.get("type")
        step = _step(self.e.get("bizStep"))
        action = self.e.get("action")
        if action is not None and not isinstance(action, str):
            raise MappingError("action", "action is one of ADD, OBSERVE, DELETE (a string)")
        if kind == "ObjectEvent":
            if step == "commissioning":
                if action != "ADD":
                    raise MappingError("action", "a commissioning ObjectEvent has action ADD")
                return self.extract()
            if step in ("shipping", "receiving"):
                if action not in ("OBSERVE", None):
                    raise MappingError("action", f"a {step} ObjectEvent has action OBSERVE")
                return (self.ship(), []) if step == "shipping" else self.receive()
            raise MappingError("bizStep", f"{str(step)[:60]!r} is not mapped for an ObjectEvent "
                                          "(commissioning, shipping, receiving)")
        if kind == "TransformationEvent":
            if step not in (None, "commissioning", "creating_class_instance"):
                raise MappingError("bizStep", f"{str(step)[:60]!r} is not mapped for a TransformationEvent")
            return self.transform()
        if kind == "AggregationEvent":
            steps = {"ADD": (None, "assembling", "packing"), "DELETE": (None, "disassembling", "unpacking")}
            if action in steps and step not in steps[action]:
                raise MappingError("bizStep", f"{str(step)[:60]!r} is not mapped for an AggregationEvent {action}")
            if action == "ADD":
                return self.aggregate()
            if action == "DELETE":
                return self.disaggregate()
            raise MappingError("action", "an AggregationEvent is mapped for ADD (aggregate) and DELETE (disaggregate)")
        raise MappingError("type", f"{str(kind)[:40]!r} is not mapped (ObjectEvent, TransformationEvent, AggregationEvent)")

    def extract(self) -> tuple[dict[str, Any], list[Epc]]:
        body = self.base("extract")
        epcs, specs = self.outputs("epcList", "quantityList")
        if not specs:
            raise MappingError("quantityList", "a commissioning event names what it commissions")
        body["outputs"] = specs
        return self.finish(body), epcs

    def ship(self) -> dict[str, Any]:
        body = self.base("ship")
        items = self.inputs("epcList", "quantityList")
        if not items:
            raise MappingError("epcList", "a shipment names the lots it moves")
        owners = [d for d in _list(self.e, "destinationList")
                  if isinstance(d, dict) and d.get("type") in ("owning_party", "possessing_party")]
        if len(owners) != 1 or not isinstance(owners[0].get("destination"), str):
            raise MappingError("destinationList", "one owning_party destination: the receiver's registered did")
        body["to"] = owners[0]["destination"]
        body["lots"] = [k.lot_id for k, _, _ in items]
        body["gross_mass_g"] = sum(k.gross_mass_g for k, _, _ in items)
        return self.finish(body)

    def receive(self) -> tuple[dict[str, Any], list[Epc]]:
        body = self.base("receive")
        items = [(epc, self.ctx.resolve(epc, where), grams, where)
                 for epc, grams, where in self.identifiers("epcList", "quantityList")]
        if not items:
            raise MappingError("epcList", "a receipt names the lots it receives")
        if len({k.lot_id for _, k, _, _ in items}) != len(items):
            raise MappingError("epcList", "two identifiers name the same lot")
        shipments = {k.shipment["event"] if k.shipment else None for _, k, _, _ in items}
        if None in shipments or len(shipments) != 1:
            raise MappingError("epcList", "the received lots are in transit under one shipment")
        body["shipment"] = shipments.pop()
        body["lots"] = [k.lot_id for _, k, _, _ in items]
        outputs = []
        for epc, known, grams, where in items:
            default = {"form": known.form, "buckets": known.buckets, "coc_model": known.coc_model, **known.product}
            if grams is None:
                default["gross_mass_g"] = known.gross_mass_g
            outputs.append(self.spec_for(epc, grams, where, default=default, receiving=True))
        body["outputs"] = outputs
        body["gross_mass_g"] = sum(o["gross_mass_g"] for o in outputs)
        body["loss"] = self.loss(_difference(_sum([k.buckets for _, k, _, _ in items]),
                                             _sum([o["buckets"] for o in outputs])))
        disc = self.ctx.ext(self.e, "discrepancy")
        if disc is not None:
            body["discrepancy"] = disc
        return self.finish(body), [epc for epc, _, _, _ in items]

    def transform(self) -> tuple[dict[str, Any], list[Epc]]:
        body = self.base("transform")
        items = self.inputs("inputEPCList", "inputQuantityList")
        if not items:
            raise MappingError("inputQuantityList", "a transformation consumes at least one lot")
        epcs, specs = self.outputs("outputEPCList", "outputQuantityList")
        if not specs:
            raise MappingError("outputQuantityList", "a transformation produces at least one lot")
        body["inputs"] = [k.lot_id for k, _, _ in items]
        body["outputs"] = specs
        body["loss"] = self.loss(_difference(_sum([k.buckets for k, _, _ in items]),
                                             _sum([s.get("buckets", {}) for s in specs])))
        return self.finish(body), epcs

    def aggregate(self) -> tuple[dict[str, Any], list[Epc]]:
        body = self.base("aggregate")
        items = self.inputs("childEPCs", "childQuantityList")
        if not items:
            raise MappingError("childEPCs", "an aggregation names its children")
        parent = parse_epc(self.e.get("parentID"), "parentID")
        children = _sum([k.buckets for k, _, _ in items])
        worst = max((k.coc_model for k, _, _ in items), key=COC_MODELS.index)  # the weakest
        spec = self.spec_for(parent, None, "parentID", default={"buckets": children, "coc_model": worst})
        body["inputs"] = [k.lot_id for k, _, _ in items]
        body["outputs"] = [spec]
        return self.finish(body), [parent]

    def disaggregate(self) -> tuple[dict[str, Any], list[Epc]]:
        body = self.base("disaggregate")
        parent = self.ctx.resolve(parse_epc(self.e.get("parentID"), "parentID"), "parentID")
        epcs, specs = self.outputs("childEPCs", "childQuantityList")
        if not specs:
            raise MappingError("childEPCs", "a disaggregation names the parts it gives back")
        body["inputs"] = [parent.lot_id]
        body["outputs"] = specs
        return self.finish(body), epcs


# ------------------------------------------------------------------------- signing & submitting
def sign_custodial(body: dict[str, Any], key: SigningKey, ledger_id: str, credential_id: str,
                   nonce_seed: str | None = None) -> SignedEvent:
    """Sign ``body`` with a hosted key, marked custodial under ``credential_id``. With
    ``nonce_seed`` (an EPCIS eventID) the nonce is derived from it, so posting the same event
    twice is refused as a replay instead of being recorded twice."""
    marked = {**body, CUSTODIAL_FIELD: {"credential": credential_id}}
    if nonce_seed is not None:
        marked["nonce"] = hashlib.sha256(f"{ledger_id}\x00{key.did}\x00{credential_id}\x00{nonce_seed}"
                                         .encode()).hexdigest()[:24]
    return sign_event(marked, key, ledger=ledger_id)


def submit_custodial(ledger: Ledger, key: SigningKey, credential_id: str, bodies: Sequence[dict[str, Any]], *,
                     all_or_nothing: bool = True) -> tuple[list[SignedEvent], BatchResult]:
    """Sign ``bodies`` (ledger event bodies without actor, ledger or signature) for the participant
    whose hosted key is ``key``, marked custodial under ``credential_id``, and submit them in order
    through the ledger rules. For importers (CSV) that build bodies themselves; a body that names
    the lots of an earlier body uses ``<that event's hash>:<i>`` (sign one by one with
    ``sign_custodial`` to learn it)."""
    events = [sign_custodial(b, key, ledger.ledger_id, credential_id) for b in bodies]
    return events, ledger.submit_batch(events, signatures_checked=True, all_or_nothing=all_or_nothing)


def _document_events(doc: Any) -> list[Any]:
    if not isinstance(doc, dict) or doc.get("type") != "EPCISDocument":
        raise EncodingError("not an EPCISDocument with an epcisBody")
    body = doc.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise EncodingError("epcisBody has no eventList")
    return events


def capture_custodial(ledger: Ledger, doc: Any, *, participant: str, credential_id: str,
                      key_for: Callable[[str], SigningKey | None], behaviour: str = "rollback") -> CaptureOutcome:
    """Record an EPCIS document posted under a participant credential: events carrying a
    self-signed ``bt:event`` are taken as signed; every other event is mapped, signed with the
    participant's hosted key (``key_for(participant)``) and marked custodial. ``rollback`` records
    nothing when any event is refused; ``proceed`` records every acceptable one."""
    if behaviour not in ("rollback", "proceed"):
        raise EncodingError(f"GS1-Capture-Error-Behaviour must be rollback or proceed, not {behaviour!r}")
    items = _document_events(doc)
    ctx = _Context(ledger, participant, namespace_prefixes(doc.get("@context")))
    errors: list[dict[str, Any]] = []
    signed: list[SignedEvent] = []
    positions: list[int] = []
    key: SigningKey | None = None
    identities = DocumentIdentities(stored_identities(ledger.store))
    for i, item in enumerate(items):
        event_id = item.get("eventID") if isinstance(item, dict) else None
        if not isinstance(item, dict):
            errors.append({"index": i, "eventID": None, "reason": "malformed", "message": "an EPCIS event is an object"})
            continue
        if ctx.ext(item, "event") is not None or ctx.ext(item, "signature") is not None:
            try:
                signed.append(import_event(item, ctx.prefixes, identities))
                positions.append(i)
                identities.remember(signed[-1])
            except ProjectionError as exc:
                errors.append({"index": i, "eventID": event_id, "reason": exc.rule, "message": str(exc)})
            except VerificationError as exc:
                errors.append({"index": i, "eventID": event_id, "reason": "signature", "message": str(exc)})
            except EncodingError as exc:
                reason, _, message = str(exc).partition(": ")
                errors.append({"index": i, "eventID": event_id, "reason": reason, "message": message})
            continue
        try:
            if "errorDeclaration" in item:
                raise MappingError("errorDeclaration", "the ledger is append-only and cannot retract an event; "
                                                       "record a correcting event instead")
            body, created = _Mapper(ctx, item).map()
            if key is None:
                key = key_for(participant)
            if key is None:
                raise MappingError("type", f"the service holds no hosted key for {participant}; sign events "
                                           "yourself (bt:event) or ask the operator for a hosted key")
            ev = sign_custodial(body, key, ledger.ledger_id, credential_id,
                                event_id if isinstance(event_id, str) and len(event_id) <= 512 else None)
        except MappingError as exc:
            errors.append({"index": i, "eventID": event_id, "reason": "mapping", "field": exc.field,
                           "message": str(exc)})
            continue
        except VerificationError as exc:  # the hosted key does not open (KEK, tampered row)
            errors.append({"index": i, "eventID": event_id, "reason": "hosted-key", "message": str(exc)})
            continue
        except EncodingError as exc:
            errors.append({"index": i, "eventID": event_id, "reason": "mapping", "field": "type", "message": str(exc)})
            continue
        _remember(ctx, ev, created)
        identities.remember(ev)
        signed.append(ev)
        positions.append(i)
    if behaviour == "rollback" and errors:
        return CaptureOutcome(behaviour, [], errors)
    result = ledger.submit_batch(signed, signatures_checked=True, all_or_nothing=behaviour == "rollback")
    for r in result.rejected:
        errors.append({"index": positions[r.index], "eventID": f"urn:batterytrace:event:{r.event_hash}",
                       "reason": f"rule/{r.rule}", "message": r.message})
    errors.sort(key=lambda e: int(e["index"]))
    recorded = [{"index": positions[k], "eventID": f"urn:batterytrace:event:{a.event_hash}",
                 "lots": [f"urn:batterytrace:lot:{lot}" for lot in a.lots]}
                for k, a in zip(_accepted_indices(result, len(signed)), result.accepted, strict=True)]
    return CaptureOutcome(behaviour, [a.event_hash for a in result.accepted], errors, recorded)


def _accepted_indices(result: BatchResult, total: int) -> list[int]:
    rejected = {r.index for r in result.rejected}
    return [i for i in range(total) if i not in rejected] if result.accepted else []


def _remember(ctx: _Context, ev: SignedEvent, created: list[Epc]) -> None:
    """Outputs of a mapped event become resolvable for later events of the document."""
    consumed = ev.body.get("inputs") or ev.body.get("lots") or []
    for name, known in list(ctx.local.items()):
        if known.lot_id in consumed:
            if ev.kind == "ship":
                continue  # shipped lots stay named until received (by another participant)
            del ctx.local[name]
    for i, (epc, spec) in enumerate(zip(created, ev.body.get("outputs") or [], strict=False)):
        known = _Known(f"{ev.hash_hex}:{i}", spec["form"], spec["gross_mass_g"], dict(spec.get("buckets") or {}),
                       spec.get("coc_model", "mass_balance"),
                       {k: spec[k] for k in ("gtin", "serial", "model", "capacity_kwh", "chemistry") if k in spec})
        if epc.lgtin is not None:
            ctx.local[epc.lgtin] = known
        elif epc.lot_id is not None:
            ctx.local[("lot", epc.lot_id)] = known  # a received bulk lot keeps its name
        elif epc.gtin is not None:
            ctx.local[(epc.gtin, epc.serial)] = known
