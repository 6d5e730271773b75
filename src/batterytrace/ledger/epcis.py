"""EPCIS 2.0 JSON-LD ⇄ ledger events.

Export: every ledger event becomes one EPCIS event (Object, Aggregation or Transformation event)
whose standard fields are a projection of the signed body, and which carries the signed event
itself in two extension fields of our JSON-LD namespace: ``bt:event`` (the body) and
``bt:signature`` (base64url Ed25519 signature). Lots are named ``urn:batterytrace:lot:<hash>:<i>``;
a serialised lot (one with a GTIN and serial) is named too by the canonical GS1 Digital Link of its
item, ``https://id.gs1.org/01/{GTIN-14}/21/{serial}``, in every event that names the lot. Events
name lots by id only, so the projection takes an identity lookup (lot id → GTIN, serial) backed by
the ledger. A receipt is an ObjectEvent (bizStep receiving) observing the shipped and the new lots.

Import: an EPCIS event is accepted only when it carries ``bt:event`` and ``bt:signature`` that
verify, and when its standard fields equal the projection of that signed body (so what EPCIS
clients read is what the participant signed). Everything else is refused with the reason:
unsigned events, fields that differ from the projection (reason ``epcis.epc`` for the EPC
fields, ``epcis.projection`` for the others), error declarations (the log is append-only; a correcting event is recorded
instead), association and transaction events (no material moves), events we do not model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batterytrace.encoding import b64u_decode, b64u_encode
from batterytrace.errors import EncodingError, VerificationError
from batterytrace.ledger.event_index import named_lots, stored_identities
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import EVENT_KINDS, SignedEvent
from batterytrace.model.identifiers import IdentifierError, canonical_digital_link
from batterytrace.timeutil import format_time, parse_time

__all__ = [
    "BT_NAMESPACE",
    "EPCIS_CONTEXT",
    "PARENT_LOT",
    "CaptureOutcome",
    "DocumentIdentities",
    "IdentityLookup",
    "ImportRefusal",
    "PreparedCapture",
    "ProjectionError",
    "capture_document",
    "epcis_document",
    "epcis_projection",
    "export_event",
    "export_events",
    "import_document",
    "import_event",
    "item_uri",
    "lot_uri",
    "namespace_prefixes",
    "no_identities",
    "output_identities",
    "prepare_capture",
    "projected_shape",
    "record_capture",
    "shape_kinds",
]

BT_NAMESPACE = "https://batterytrace.example/ns/epcis#"
# ``bt:event`` is a JSON literal (``@json``): a JSON-LD processor keeps the signed body byte for
# byte (canonical JSON is unchanged by expansion and compaction), where a node object would be
# emptied (its keys are no terms) and the signature would no longer verify.
EPCIS_CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"bt": BT_NAMESPACE, "bt:event": {"@type": "@json"}, "bt:parentLot": {"@type": "@id"}},
]
# Business steps of our own vocabulary (CBV has no recycling, registration or policy steps).
_BT_STEP = BT_NAMESPACE.removesuffix("#") + "/bizstep/"
# An aggregation's parentID is the Digital Link of a serialised parent; its lot URI goes here.
PARENT_LOT = "bt:parentLot"
_PROJECTED = (
    "type", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "disposition", "epcList",
    "parentID", "childEPCs", "inputEPCList", "outputEPCList", "readPoint", "destinationList",
)
_EPC_FIELDS = frozenset({"epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList", PARENT_LOT})


class ProjectionError(VerificationError):
    """A standard field of an imported EPCIS event differs from the projection of its signed body;
    ``rule`` is ``epcis.epc`` (an EPC field) or ``epcis.projection`` (any other)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule


def lot_uri(lot_id: str) -> str:
    return f"urn:batterytrace:lot:{lot_id}"


IdentityLookup = Callable[[Sequence[str]], Mapping[str, tuple[str, str]]]
"""Lot id → (GTIN, serial) for the serialised lots among the ids it is given; bulk lots and lots it
does not know are left out. A lot's identity is fixed when the lot is created, so a lookup backed by
the ledger (``ledger.event_index.stored_identities``) makes the projection a function of the log."""


def no_identities(lot_ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
    """The lookup that knows no lot (an event's own outputs are still named by their identity)."""
    return {}


def item_uri(gtin: object, serial: object) -> str | None:
    """The canonical GS1 Digital Link of a serialised item, or None when GTIN and serial are not
    valid GS1 syntax (the ledger rules refuse such an item; the projection names it by lot only)."""
    try:
        return canonical_digital_link(gtin, serial)
    except IdentifierError:
        return None


def output_identities(ev: SignedEvent) -> dict[str, tuple[str, str]]:
    """Lot id → (GTIN, serial) of the serialised lots ``ev`` creates, from its signed body."""
    outputs = ev.body.get("outputs")
    found: dict[str, tuple[str, str]] = {}
    for i, spec in enumerate(outputs if isinstance(outputs, list) else []):
        if isinstance(spec, dict) and isinstance(spec.get("gtin"), str) and isinstance(spec.get("serial"), str):
            found[f"{ev.hash_hex}:{i}"] = (spec["gtin"], spec["serial"])
    return found


class DocumentIdentities:
    """The identity lookup while importing a document: the serialised outputs of the events
    accepted so far (``remember``), then ``fallback`` (the ledger's lots, when there is one)."""

    def __init__(self, fallback: IdentityLookup | None = None) -> None:
        self._known: dict[str, tuple[str, str]] = {}
        self._fallback = fallback

    def remember(self, ev: SignedEvent) -> None:
        self._known.update(output_identities(ev))

    def __call__(self, lot_ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        found = {lid: self._known[lid] for lid in lot_ids if lid in self._known}
        rest = [lid for lid in lot_ids if lid not in found]
        if rest and self._fallback is not None:
            found.update(self._fallback(rest))
        return found


def _site_uri(site: str) -> str:
    return f"urn:batterytrace:site:{site}"


def _ids(ev: SignedEvent, name: str) -> list[str]:
    value = ev.body.get(name)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class _Names:
    """How one event names lots: by lot URI, and a serialised lot also by its Digital Link."""

    def __init__(self, ev: SignedEvent, identities: IdentityLookup) -> None:
        outputs = ev.body.get("outputs")
        self.created = [f"{ev.hash_hex}:{i}" for i in range(len(outputs) if isinstance(outputs, list) else 0)]
        found = dict(output_identities(ev))
        named = named_lots(ev)
        if named:
            found.update((lid, ident) for lid, ident in identities(named).items() if lid in named)
        self.links = {lid: uri for lid, (gtin, serial) in found.items() if (uri := item_uri(gtin, serial))}

    def epcs(self, lot_ids: list[str]) -> list[str]:
        """The lot URIs of ``lot_ids``, then the Digital Links of the serialised ones (each once)."""
        uris = [lot_uri(lid) for lid in lot_ids]
        return uris + list(dict.fromkeys(self.links[lid] for lid in lot_ids if lid in self.links))


# Each kind's EPCIS type, action and business step: fixed by the kind alone, so a query's
# ``eventType`` / ``EQ_action`` / ``EQ_bizStep`` conditions name a set of kinds (``shape_kinds``)
# that the event index can be narrowed to before any row is read.
_SHAPES: dict[str, tuple[str, str | None, str]] = {
    "extract": ("ObjectEvent", "ADD", "commissioning"),
    "ship": ("ObjectEvent", "OBSERVE", "shipping"),
    # CBV receiving: the shipped lots and the receiver's new lots are observed together
    "receive": ("ObjectEvent", "OBSERVE", "receiving"),
    "transform": ("TransformationEvent", None, "commissioning"),
    "recycle": ("TransformationEvent", None, _BT_STEP + "recycling"),
    "aggregate": ("AggregationEvent", "ADD", "assembling"),
    "disaggregate": ("AggregationEvent", "DELETE", "disassembling"),
}


def projected_shape(kind: str) -> tuple[str, str | None, str]:
    """(EPCIS type, action or None, bizStep) of every event of ``kind``."""
    shape = _SHAPES.get(kind)
    if shape is not None:
        return shape
    return "ObjectEvent", "OBSERVE", "inspecting" if kind in ("attest", "incident", "lifecycle") else _BT_STEP + kind


def shape_kinds(types: frozenset[str] | None, actions: frozenset[str] | None,
                biz_steps: frozenset[str] | None) -> frozenset[str] | None:
    """The kinds whose events can match these conditions (None: no condition given)."""
    if types is None and actions is None and biz_steps is None:
        return None
    out = set()
    for kind in EVENT_KINDS:
        etype, action, step = projected_shape(kind)
        if ((types is None or etype in types) and (actions is None or action in actions)
                and (biz_steps is None or step in biz_steps)):
            out.add(kind)
    return frozenset(out)


def _projection(ev: SignedEvent, identities: IdentityLookup) -> dict[str, Any]:
    """The standard EPCIS fields that represent ``ev``: a function of the signed body and of the
    identities of the lots it names (``identities``)."""
    b, kind = ev.body, ev.kind
    etype, action, step = projected_shape(kind)
    names = _Names(ev, identities)
    out: dict[str, Any] = {"eventTime": b["time"], "eventTimeZoneOffset": "+00:00"}
    site = b.get("site")
    if isinstance(site, str):
        out["readPoint"] = {"id": _site_uri(site)}
    out["type"] = etype
    if action is not None:
        out["action"] = action
    out["bizStep"] = step
    if kind == "extract":
        out.update(disposition="active", epcList=names.epcs(names.created))
    elif kind == "ship":
        out.update(disposition="in_transit", epcList=names.epcs(_ids(ev, "lots")))
        if isinstance(b.get("to"), str):
            out["destinationList"] = [{"type": "owning_party", "destination": b["to"]}]
    elif kind == "receive":
        out.update(disposition="in_progress", epcList=names.epcs(_ids(ev, "lots") + names.created))
    elif kind in ("transform", "recycle"):
        out.update(disposition="active", inputEPCList=names.epcs(_ids(ev, "inputs")),
                   outputEPCList=names.epcs(names.created))
    elif kind in ("aggregate", "disaggregate"):
        inputs = _ids(ev, "inputs")
        parts, whole = (inputs, names.created) if kind == "aggregate" else (names.created, inputs)
        out["childEPCs"] = names.epcs(parts)
        if whole:
            link = names.links.get(whole[0])
            out["parentID"] = link or lot_uri(whole[0])
            if link:
                out[PARENT_LOT] = lot_uri(whole[0])  # parentID holds one URI: the item's
    else:
        lot = b.get("lot")
        out["epcList"] = names.epcs([lot]) if isinstance(lot, str) else []
    return out


def epcis_projection(ev: SignedEvent, identities: IdentityLookup | None = None) -> dict[str, Any]:
    """The standard EPCIS fields of ``ev`` (what ``export_event`` adds its signed form to);
    ``identities`` names the serialised lots the event consumes or observes by their Digital
    Link (without it, only its own outputs)."""
    return _projection(ev, identities or no_identities)


def export_event(ev: SignedEvent, identities: IdentityLookup | None = None) -> dict[str, Any]:
    """One ledger event as an EPCIS 2.0 event carrying its signed form (``identities`` as for
    ``epcis_projection``: pass the ledger's, ``stored_identities(ledger.store)``)."""
    out = _projection(ev, identities or no_identities)
    out["eventID"] = f"urn:batterytrace:event:{ev.hash_hex}"
    out["bt:event"] = ev.body
    out["bt:signature"] = b64u_encode(ev.signature)
    return out


def export_events(events: Iterable[SignedEvent], identities: IdentityLookup | None = None) -> list[dict[str, Any]]:
    """Events in log order as EPCIS events: a serialised lot created by an earlier event of
    ``events`` is named by its Digital Link without a lookup; ``identities`` (the ledger's) names
    the others."""
    known = DocumentIdentities(identities)
    out = []
    for ev in events:
        out.append(export_event(ev, known))
        known.remember(ev)
    return out


def epcis_document(events: list[dict[str, Any]], created_us: int, *, query: bool = False,
                   query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An EPCISDocument (capture) or EPCISQueryDocument (query results) around exported events."""
    doc: dict[str, Any] = {"@context": EPCIS_CONTEXT, "schemaVersion": "2.0", "creationDate": format_time(created_us)}
    if query:
        doc["type"] = "EPCISQueryDocument"
        doc["epcisBody"] = {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": events}}}
    else:
        doc["type"] = "EPCISDocument"
        doc["epcisBody"] = {"eventList": events}
    return doc


@dataclass(frozen=True)
class ImportRefusal:
    """Why one EPCIS event cannot become a ledger event (``index`` in the document's eventList)."""

    index: int
    event_id: str | None
    reason: str
    message: str


_NOT_MATERIAL = {
    "AssociationEvent": "an AssociationEvent links sensors or assets to objects; no material moves, "
                        "so it is not a material-flow event for this ledger",
    "TransactionEvent": "a TransactionEvent associates objects with business transactions; no "
                        "material moves, so it is not a material-flow event for this ledger",
}


def _same_time(a: Any, b: Any) -> bool:
    try:
        return isinstance(a, str) and isinstance(b, str) and parse_time(a) == parse_time(b)
    except (EncodingError, ValueError):
        return False


def namespace_prefixes(context: Any) -> tuple[str, ...]:
    """The JSON-LD prefixes a ``@context`` maps to our namespace (``bt`` unless redefined)."""
    entries = context if isinstance(context, list) else [context]
    found = [k for e in entries if isinstance(e, dict) for k, v in e.items() if v == BT_NAMESPACE]
    redefined = any(isinstance(e, dict) and "bt" in e and e["bt"] != BT_NAMESPACE for e in entries)
    return tuple(dict.fromkeys([*found, *([] if redefined else ["bt"])]))


def _extension(epcis: dict[str, Any], prefixes: tuple[str, ...], name: str) -> Any:
    for prefix in prefixes:
        if f"{prefix}:{name}" in epcis:
            return epcis[f"{prefix}:{name}"]
    return epcis.get(BT_NAMESPACE + name)


def _differs(name: str, have: Any, want: Any) -> ProjectionError:
    if name not in _EPC_FIELDS:
        return ProjectionError("epcis.projection", f"EPCIS field {name} ({str(have)[:200]}) differs from the "
                                                   f"signed event ({str(want)[:200]})")
    wanted = set(want) if isinstance(want, list) else {want}
    stray = [v for v in (have if isinstance(have, list) else [have]) if not isinstance(v, str) or v not in wanted]
    if stray and have is not None:
        return ProjectionError("epcis.epc", f"EPCIS field {name} names {str(stray[0])[:120]!r}, which is no lot of the "
                                            "signed event nor the Digital Link of one (a lot created outside this "
                                            "document is named by its Digital Link only when the ledger that holds "
                                            "it checks the import)")
    return ProjectionError("epcis.epc", f"EPCIS field {name} ({str(have)[:200]}) differs from the signed event "
                                        f"({str(want)[:200]})")


def import_event(epcis: Any, prefixes: tuple[str, ...] = ("bt",),
                 identities: IdentityLookup | None = None) -> SignedEvent:
    """The signed ledger event an EPCIS event carries (under any of ``prefixes`` or the full
    namespace IRI). The standard fields must be the projection of the signed body under
    ``identities`` (the ledger's, ``stored_identities``), or under no lookup (an exporter that did
    not know the lots' identities: only the lots the event creates by Digital Link); both name only
    what was signed. Raises ``EncodingError`` for unusable input, ``ProjectionError`` when the EPCIS
    fields are not the projection of the signed body and ``VerificationError`` when the signature
    does not verify."""
    if not isinstance(epcis, dict):
        raise EncodingError("malformed: an EPCIS event is a JSON object")
    kind = epcis.get("type")
    if "errorDeclaration" in epcis:
        raise EncodingError("error_declaration: the ledger is append-only and cannot retract an "
                            "event; record a correcting event instead")
    if kind in _NOT_MATERIAL:
        raise EncodingError(f"not_material_flow: {_NOT_MATERIAL[kind]}")
    if kind not in ("ObjectEvent", "AggregationEvent", "TransformationEvent"):
        raise EncodingError(f"unsupported: EPCIS event type {kind!r} is not modelled")
    body, sig = _extension(epcis, prefixes, "event"), _extension(epcis, prefixes, "signature")
    if body is None or sig is None:
        raise EncodingError("unsigned: a material-flow event must carry bt:event and bt:signature "
                            f"({BT_NAMESPACE}) signed by a registered participant, or be posted with "
                            "the participant's credential for custodial signing (docs/epcis-mapping.md)")
    if not isinstance(sig, str):
        raise EncodingError("malformed: bt:signature must be base64url text")
    try:
        ev = SignedEvent(body, b64u_decode(sig))
    except EncodingError as exc:
        raise EncodingError(f"malformed: bt:event/bt:signature: {exc}") from exc
    ev.verify_signature()
    full = _mismatch(epcis, prefixes, _projection(ev, identities or no_identities))
    if full is not None and (identities is None or _mismatch(epcis, prefixes, _projection(ev, no_identities))):
        raise full
    return ev


def _mismatch(epcis: dict[str, Any], prefixes: tuple[str, ...], expected: dict[str, Any]) -> ProjectionError | None:
    for name in (*_PROJECTED, PARENT_LOT):
        have = _extension(epcis, prefixes, PARENT_LOT.partition(":")[2]) if name == PARENT_LOT else epcis.get(name)
        want = expected.get(name)
        if name == "eventTime" and _same_time(have, want):
            continue
        if name == "eventTimeZoneOffset" and have is not None and want is not None:
            continue  # the offset is presentation only; eventTime fixes the instant
        if name == "readPoint" and isinstance(have, str) and want == {"id": have}:
            continue  # the compact JSON-LD form of {"id": …} (the context types readPoint @id)
        if have != want:
            return _differs(name, have, want)
    return None


def import_document(doc: Any, identities: IdentityLookup | None = None
                    ) -> tuple[list[SignedEvent], list[ImportRefusal]]:
    """Every event of an EPCISDocument (or EPCISQueryDocument): the signed events it carries, in
    order, and a refusal for each event that cannot be recorded. A serialised lot is known by its
    Digital Link once an accepted event of the document created it, else through ``identities``
    (the ledger's). Raises ``EncodingError`` when the document itself is malformed."""
    if not isinstance(doc, dict):
        raise EncodingError("an EPCIS document is a JSON object")
    body = doc.get("epcisBody")
    if doc.get("type") == "EPCISDocument" and isinstance(body, dict):
        events = body.get("eventList")
    elif doc.get("type") == "EPCISQueryDocument" and isinstance(body, dict):
        results = body.get("queryResults")
        rb = results.get("resultsBody") if isinstance(results, dict) else None
        events = rb.get("eventList") if isinstance(rb, dict) else None
    else:
        raise EncodingError("not an EPCISDocument or EPCISQueryDocument with an epcisBody")
    if not isinstance(events, list):
        raise EncodingError("epcisBody has no eventList")
    prefixes = namespace_prefixes(doc.get("@context"))
    known = DocumentIdentities(identities)
    accepted: list[SignedEvent] = []
    refused: list[ImportRefusal] = []
    for i, item in enumerate(events):
        event_id = item.get("eventID") if isinstance(item, dict) else None
        try:
            ev = import_event(item, prefixes, known)
        except ProjectionError as exc:
            refused.append(ImportRefusal(i, event_id, exc.rule, str(exc)))
            continue
        except VerificationError as exc:
            refused.append(ImportRefusal(i, event_id, "signature", str(exc)))
            continue
        except EncodingError as exc:
            reason, _, message = str(exc).partition(": ")
            refused.append(ImportRefusal(i, event_id, reason, message))
            continue
        accepted.append(ev)
        known.remember(ev)
    return accepted, refused


@dataclass
class CaptureOutcome:
    """The result of capturing one EPCIS document under an error behaviour."""

    behaviour: str
    accepted: list[str]  # event hashes recorded
    errors: list[dict[str, Any]]  # {"index", "eventID", "reason", "message"}
    # per recorded event: {"index" in the document, "eventID", "lots" it created (lot URIs)}
    recorded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class PreparedCapture:
    """An EPCIS document judged without the ledger: its signed events (signatures and
    projections verified) and the refusals of the others."""

    behaviour: str
    events: list[SignedEvent]
    refusals: list[ImportRefusal]

    @property
    def needs_ledger(self) -> bool:
        """False when nothing will be submitted (a rollback with refusals, or no event)."""
        return bool(self.events) and not (self.behaviour == "rollback" and self.refusals)


def prepare_capture(doc: Any, behaviour: str = "rollback",
                    identities: IdentityLookup | None = None) -> PreparedCapture:
    """Parse and verify a document's signed events before the ledger's write lock: the costly
    part (signatures, projections) runs before a service takes it. ``identities`` (the ledger's,
    ``stored_identities``: a lot's identity never changes) checks the Digital Links of lots
    created outside the document. Raises ``EncodingError`` for a malformed document or behaviour."""
    if behaviour not in ("rollback", "proceed"):
        raise EncodingError(f"GS1-Capture-Error-Behaviour must be rollback or proceed, not {behaviour!r}")
    events, refusals = import_document(doc, identities)
    return PreparedCapture(behaviour, events, refusals)


def record_capture(ledger: Ledger, prepared: PreparedCapture) -> CaptureOutcome:
    """Submit a prepared document's events (the ledger rules apply): ``rollback`` (the EPCIS
    default) records nothing when any event is refused or rejected; ``proceed`` records every
    acceptable event and reports the others."""
    behaviour, events, refusals = prepared.behaviour, prepared.events, prepared.refusals
    errors: list[dict[str, Any]] = [
        {"index": r.index, "eventID": r.event_id, "reason": r.reason, "message": r.message} for r in refusals
    ]
    if not prepared.needs_ledger:
        return CaptureOutcome(behaviour, [], errors)
    positions = sorted(set(range(len(events) + len(refusals))) - {r.index for r in refusals})
    result = ledger.submit_batch(events, signatures_checked=True, all_or_nothing=behaviour == "rollback")
    for r in result.rejected:
        errors.append({"index": positions[r.index], "eventID": f"urn:batterytrace:event:{r.event_hash}",
                       "reason": f"rule/{r.rule}", "message": r.message})
    errors.sort(key=lambda e: int(e["index"]))
    rejected = {r.index for r in result.rejected}
    kept = [positions[i] for i in range(len(events)) if i not in rejected] if result.accepted else []
    recorded = [{"index": k, "eventID": f"urn:batterytrace:event:{a.event_hash}",
                 "lots": [lot_uri(lot) for lot in a.lots]} for k, a in zip(kept, result.accepted, strict=True)]
    return CaptureOutcome(behaviour, [a.event_hash for a in result.accepted], errors, recorded)


def capture_document(ledger: Ledger, doc: Any, behaviour: str = "rollback") -> CaptureOutcome:
    """Record the signed events of an EPCIS document (``prepare_capture`` then
    ``record_capture``). Raises ``EncodingError`` for a malformed document."""
    return record_capture(ledger, prepare_capture(doc, behaviour, stored_identities(ledger.store)))
