"""CSV on-ramp: spreadsheet rows from a small supplier (an artisanal cooperative, a refinery
without EPCIS) become ledger events, all of a file or none.

Four templates (``TEMPLATES``; the files ship in ``batterytrace/data/csv`` and docs/csv-import.md
explains them column by column): ``extraction`` (a mine commissions lots), ``shipment`` (one row
per shipment), ``receipt`` (one row per shipment received) and ``transformation`` (one row per
output lot; rows sharing an ``event`` value are one transformation). People's units:

* masses in **kg** with a decimal point and at most 3 decimals, converted to whole grams exactly;
* grades per element as ``<El>_pct`` (percent of the gross mass) or ``<El>_gpt`` (grams per tonne);
  contained grams are the gross grams times the grade **rounded down** to whole grams (the ledger
  never records more metal than assayed); the declared assay is the grade in ppm rounded half to
  even;
* times ISO 8601 with an offset (``2026-11-30T14:05:00+01:00``), stored as UTC.

``plan_csv`` reads a file (``csv_rows``: bytes, header, cells) and checks every row without signing anything (``CsvError`` lists the
row and column of each problem); ``sign_plan`` signs the planned bodies in order, resolving
in-file references (``@ref`` in ``inputs``: the output of an earlier row); ``import_csv`` judges
the signed events with ``Ledger.dry_run`` and submits them as one all-or-nothing batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from batterytrace.canonical import canonical_json
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.ledger.csv_rows import (
    KINDS,
    MAX_CSV_BYTES,
    MAX_ROWS,
    CsvError,
    Row,
    csv_safe,
    grades,
    read_rows,
)
from batterytrace.ledger.epcis_capture import sign_custodial
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.pact import parse_pcf, pcf_carbon_entry
from batterytrace.model.buckets import (
    NO_COUNTRY,
    add_buckets,
    element_totals,
    parse_bucket_key,
)
from batterytrace.model.entities import CARBON_STAGES, COC_MODELS, Lot
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import Store

__all__ = [
    "KINDS",
    "MAX_CSV_BYTES",
    "MAX_ROWS",
    "TEMPLATES",
    "CsvError",
    "CsvPlan",
    "ImportResult",
    "PlannedEvent",
    "csv_safe",
    "import_csv",
    "plan_csv",
    "plan_json",
    "sign_plan",
    "template_text",
]

_TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "data" / "csv"
TEMPLATES = {kind: _TEMPLATE_DIR / f"{kind}.csv" for kind in KINDS}
_LOT_ID = re.compile(r"^[0-9a-f]{64}:\d{1,6}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_FORM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PER_EVENT = ("time", "site", "inputs")  # transformation columns that belong to the event, not the output


@dataclass
class PlannedEvent:
    """One event to sign: its body (``inputs`` may hold ``@ref`` for an output of an earlier
    planned event) and the rows it came from, with each output's ``ref``."""

    body: dict[str, Any]
    rows: list[int]
    refs: list[str] = field(default_factory=list)


@dataclass
class CsvPlan:
    kind: str
    events: list[PlannedEvent]


@dataclass(frozen=True)
class ImportResult:
    """Per event: the rows and its hash; ``lots``: each row's ``ref`` → the lot id it created
    (extraction, transformation) or its event hash (shipment, receipt), and for a receipt also
    ``ref:i`` → the id of the i-th lot received."""

    events: list[tuple[list[int], str]]
    lots: dict[str, str]
    log_size: int


def template_text(kind: str) -> str:
    if kind not in TEMPLATES:
        raise CsvError([(0, "", f"unknown CSV kind {kind!r} (one of {', '.join(KINDS)})")])
    return TEMPLATES[kind].read_text(encoding="utf-8")


def _carbon(row: Row, base: Path | None, default_stage: str) -> list[dict[str, Any]]:
    stage = row.choice("carbon_stage", CARBON_STAGES, default_stage) or default_stage
    pact_file = row.text("pact_file", False, 512)
    intensity = row.number("kgco2e_per_kg", Decimal(1_000_000))
    primary = row.flag("carbon_primary")
    if pact_file is not None:
        if intensity is not None or primary is not None:
            row.bad("pact_file", "give either a PACT file or kgco2e_per_kg/carbon_primary, not both")
            return []
        path = Path(pact_file)
        if base is None:
            row.bad("pact_file", "PACT files are read beside the CSV file by 'batterytrace import csv'; here, "
                    "give kgco2e_per_kg and carbon_primary instead")
            return []
        if path.is_absolute() or ".." in path.parts:
            row.bad("pact_file", "must be a file name relative to the CSV file's folder")
            return []
        try:
            data = (base / path).read_bytes()
        except OSError as exc:
            row.bad("pact_file", f"cannot read {pact_file}: {exc.strerror}")
            return []
        try:
            return [pcf_carbon_entry(parse_pcf(data), stage)]
        except RuleViolationError as exc:
            row.bad("pact_file", f"{pact_file}: {exc}")
            return []
    if intensity is None:
        if primary is not None:
            row.bad("carbon_primary", "is set but kgco2e_per_kg is empty")
        return []
    return [{"stage": stage, "kgco2e_per_kg": float(intensity), "primary": bool(primary)}]


def _optional_hash(row: Row, spec: dict[str, Any]) -> None:
    value = row.text("assay_cert_sha256", False, 64)
    if value is not None:
        if not _HASH.match(value):
            row.bad("assay_cert_sha256", "must be 64 lower-case hex digits (SHA-256 of the assay certificate)")
        spec["assay_cert_sha256"] = value


# ------------------------------------------------------------------------------- mappers
def _extraction(rows: list[Row], store: Store, base: Path | None) -> list[PlannedEvent]:
    events: list[PlannedEvent] = []
    for row in rows:
        ref, t, mass = row.ref(), row.time(), row.grams("mass_kg")
        site_id = row.text("site")
        form = row.text("form", max_len=64)
        if form is not None and not _FORM.match(form):
            row.bad("form", f"{form[:40]!r} is not a material form such as cobalt_hydroxide")
        origin = row.choice("origin", ("certified", "uncertified"), None)
        coc = row.choice("coc_model", COC_MODELS, "mass_balance")
        grams, ppm = grades(row, mass)
        site = store.get_site(site_id) if site_id else None
        if site_id and site is None:
            row.bad("site", f"no registered site {site_id!r}")
        elif site is not None and site.kind != "mine":
            row.bad("site", f"{site_id!r} is a {site.kind}, not a mine")
        carbon = _carbon(row, base, "raw_material")
        if mass is not None and sum(grams.values()) > mass:
            row.bad("", "the grades add up to more than 100 % of the mass")
        spec: dict[str, Any] = {"form": form, "gross_mass_g": mass, "coc_model": coc, "assay_ppm": ppm,
                                "buckets": {f"{el}/{origin}/{site.country if site else NO_COUNTRY}": g
                                            for el, g in sorted(grams.items())}}
        if carbon:
            spec["carbon"] = carbon
        _optional_hash(row, spec)
        body: dict[str, Any] = {"kind": "extract", "time": t, "site": site_id, "outputs": [spec]}
        lat, lon = row.cells.get("lat", ""), row.cells.get("lon", "")
        if lat or lon:
            try:
                body["location"] = {"lat": float(lat), "lon": float(lon)}
                if not (-90 <= body["location"]["lat"] <= 90 and -180 <= body["location"]["lon"] <= 180):
                    raise ValueError
            except ValueError:
                row.bad("lat", "lat and lon must both be decimal degrees (-90..90, -180..180)")
        events.append(PlannedEvent(body, [row.n], [ref or ""]))
    return events


def _shipment(rows: list[Row], store: Store) -> list[PlannedEvent]:
    events: list[PlannedEvent] = []
    for row in rows:
        ref, t, to = row.ref(), row.time(), row.text("to")
        if to is not None and store.get_participant(to) is None:
            row.bad("to", f"{to[:60]!r} is not a registered participant's did")
        lots = row.items("lots", True)
        for lid in lots:
            if not _LOT_ID.match(lid):
                row.bad("lots", f"{lid[:40]!r} is not a lot id (event hash:index)")
        seals = row.items("seals", False)
        body: dict[str, Any] = {"kind": "ship", "time": t, "to": to, "lots": lots}
        if seals:
            body["seals"] = seals
        gross = row.grams("gross_kg", False)
        if gross is not None:
            body["gross_mass_g"] = gross
        events.append(PlannedEvent(body, [row.n], [ref or ""]))
    return events


def _shipped_lots(row: Row, store: Store, ship_hash: str, participant: str | None = None) -> list[Lot]:
    """The lots of the shipment ``ship_hash``; with ``participant``, only a shipment to it (one
    answer for any other hash: what another participant's events are is not told)."""
    seq = store.event_seq(bytes.fromhex(ship_hash))
    stored = store.get_event(seq) if seq is not None else None
    ship = SignedEvent.from_stored(stored.canonical, stored.signature) if stored is not None else None
    if participant is not None and (ship is None or ship.kind != "ship" or ship.body.get("to") != participant):
        row.bad("shipment", f"{ship_hash[:16]}… is not a shipment to you")
        return []
    if ship is None:
        row.bad("shipment", f"no event {ship_hash[:16]}… in the log")
        return []
    if ship.kind != "ship":
        row.bad("shipment", f"event {ship_hash[:16]}… is a {ship.kind}, not a shipment")
        return []
    ids = [str(x) for x in ship.body.get("lots") or []]
    found = store.get_lots(ids)
    return [found[i] for i in ids if i in found]


def _receipt(rows: list[Row], store: Store, participant: str | None = None) -> list[PlannedEvent]:
    events: list[PlannedEvent] = []
    for row in rows:
        ref, t = row.ref(), row.time()
        ship_hash = row.text("shipment", max_len=64)
        if ship_hash is not None and not _HASH.match(ship_hash):
            row.bad("shipment", "must be the shipment's event hash (64 hex digits)")
            ship_hash = None
        lots = _shipped_lots(row, store, ship_hash, participant) if ship_hash else []
        carbon = _carbon(row, None, "distribution")
        outputs = []
        for lot in lots:
            spec: dict[str, Any] = {"form": lot.form, "gross_mass_g": lot.gross_mass_g, "buckets": dict(lot.buckets),
                                    "coc_model": lot.coc_model}
            if carbon:
                spec["carbon"] = carbon
            outputs.append(spec)
        body: dict[str, Any] = {"kind": "receive", "time": t, "shipment": ship_hash,
                                "lots": [lot.lot_id for lot in lots], "outputs": outputs}
        site = row.text("site", False)
        if site is not None:
            body["site"] = site
        seals = row.items("seals", False)
        if seals:
            body["seals"] = seals
        gross = row.grams("gross_kg", False)
        if gross is not None:
            body["gross_mass_g"] = gross
        note = row.text("discrepancy", False, 1000)
        if note is not None:
            body["discrepancy"] = note
        events.append(PlannedEvent(body, [row.n], [ref or ""]))
    return events


@dataclass
class _Pool:
    """What a transformation's inputs hold, drawn down output by output."""

    buckets: dict[str, int]

    def draw(self, element: str, grams: int) -> dict[str, int] | None:
        """``grams`` of ``element`` shared over its buckets in proportion to what they still
        hold (largest remainder), or ``None`` when they hold less."""
        keys = sorted(k for k, g in self.buckets.items() if g > 0 and parse_bucket_key(k).element == element)
        held = sum(self.buckets[k] for k in keys)
        if grams > held:
            return None
        if not grams:
            return {}
        shares = {k: grams * self.buckets[k] // held for k in keys}
        left = grams - sum(shares.values())
        by_rest = sorted(keys, key=lambda k: (-(grams * self.buckets[k] % held), k))
        for k in by_rest[:left]:
            shares[k] += 1
        for k, g in shares.items():
            self.buckets[k] -= g
        return {k: g for k, g in shares.items() if g}


def _transformation(rows: list[Row], store: Store, base: Path | None,
                    participant: str | None = None) -> list[PlannedEvent]:
    groups: dict[str, list[Row]] = {}
    order: list[str] = []
    previous: str | None = None
    for row in rows:
        name = row.ref("event")
        if name is None:
            continue
        if name in groups and previous != name:
            row.bad("event", f"the rows of event {name!r} must follow each other")
        if name not in groups:
            order.append(name)
        groups.setdefault(name, []).append(row)
        previous = name
    made: dict[str, dict[str, Any]] = {}  # ref → the planned output spec (for later @ref inputs)
    events: list[PlannedEvent] = []
    for name in order:
        group = groups[name]
        first = group[0]
        for row in group[1:]:
            for column in _PER_EVENT:
                if row.cells.get(column) and row.cells[column] != first.cells.get(column):
                    row.bad(column, f"differs from row {first.n}, the first row of event {name!r} (leave it empty)")
        t, site_id = first.time(), first.text("site")
        site = store.get_site(site_id) if site_id else None
        if site_id and site is None:
            first.bad("site", f"no registered site {site_id!r}")
        inputs = first.items("inputs", True)
        in_specs: list[tuple[str, dict[str, int], str]] = []  # (id or @ref, buckets, coc model)
        listed: set[str] = set()
        for item in inputs:
            if item in listed:
                first.bad("inputs", f"{item[:40]!r} is listed twice")
                continue
            listed.add(item)
            if item.startswith("@"):
                earlier = made.get(item[1:])
                if earlier is None:
                    first.bad("inputs", f"{item[:40]!r} names no output of an earlier row of this file")
                    continue
                in_specs.append((item, earlier["buckets"], earlier["coc_model"]))
            elif _LOT_ID.match(item):
                lot = store.get_lot(item)
                if participant is not None and (lot is None or lot.custodian != participant):
                    # one answer whether it exists or another participant holds it: its contents stay private
                    first.bad("inputs", f"{item[:20]}… is not a lot you hold")
                    continue
                if lot is None:
                    first.bad("inputs", f"no lot {item[:20]}… on the ledger")
                    continue
                in_specs.append((item, lot.buckets, lot.coc_model))
            else:
                first.bad("inputs", f"{item[:40]!r} is neither a lot id (hash:index) nor @ref of an earlier row")
        pool = _Pool(dict(add_buckets(b for _, b, _ in in_specs)))
        weakest = max((COC_MODELS.index(c) for _, _, c in in_specs), default=len(COC_MODELS) - 1)
        outputs: list[dict[str, Any]] = []
        refs: list[str] = []
        for row in group:
            ref, mass = row.ref(), row.grams("mass_kg")
            form = row.text("form", max_len=64)
            if form is not None and not _FORM.match(form):
                row.bad("form", f"{form[:40]!r} is not a material form such as cobalt_sulphate")
            coc = row.choice("coc_model", COC_MODELS, COC_MODELS[weakest])
            grams, ppm = grades(row, mass)
            buckets: dict[str, int] = {}
            for element, need in grams.items():
                got = pool.draw(element, need) if in_specs else {}
                if got is None:
                    held = element_totals(pool.buckets).get(element, 0)
                    row.bad(_grade_column(row, element), f"this output holds {need} g of {element}; the inputs have "
                            f"{held} g left")
                    continue
                buckets.update(got)
            if mass is not None and sum(grams.values()) > mass:
                row.bad("", "the grades add up to more than 100 % of the mass")
            spec: dict[str, Any] = {"form": form, "gross_mass_g": mass, "buckets": dict(sorted(buckets.items())),
                                    "coc_model": coc, "assay_ppm": ppm}
            carbon = _carbon(row, base, "raw_material")
            if carbon:
                spec["carbon"] = carbon
            _optional_hash(row, spec)
            if ref is not None:
                if ref in made or ref in refs:
                    row.bad("ref", f"{ref!r} is used by an earlier row")
                made[ref] = spec
            outputs.append(spec)
            refs.append(ref or "")
        loss = {k: g for k, g in sorted(pool.buckets.items()) if g}
        body: dict[str, Any] = {"kind": "transform", "time": t, "site": site_id, "inputs": [i for i, _, _ in in_specs],
                                "outputs": outputs}
        if loss:
            body["loss"] = loss
        events.append(PlannedEvent(body, [r.n for r in group], refs))
    return events


def _grade_column(row: Row, element: str) -> str:
    return f"{element}_pct" if f"{element}_pct" in row.cells else f"{element}_gpt"


def plan_csv(kind: str, data: bytes, store: Store, base: Path | None = None,
             participant: str | None = None) -> CsvPlan:
    """Check every row of a ``kind`` CSV file and map the rows to unsigned event bodies; raise
    ``CsvError`` listing every problem (row, column, what is wrong). ``store`` resolves sites,
    participants, lots and shipments; ``base`` is the folder ``pact_file`` names are relative to.
    With ``participant`` (the signer) inputs must be lots it holds and receipts shipments to it,
    so a file never learns what another participant's lots hold."""
    if kind not in KINDS:
        raise CsvError([(0, "", f"unknown CSV kind {kind!r} (one of {', '.join(KINDS)})")])
    _, table = read_rows(kind, data)
    problems: list[tuple[int, str, str]] = []
    rows = [Row(n, cells, problems) for n, cells in table]
    seen: dict[str, int] = {}
    if kind != "transformation":  # there refs name outputs and are checked per output
        for row in rows:
            ref = row.cells.get("ref", "")
            if ref and ref in seen:
                row.bad("ref", f"{ref!r} is used by row {seen[ref]} too")
            seen.setdefault(ref, row.n)
    if kind == "extraction":
        events = _extraction(rows, store, base)
    elif kind == "shipment":
        events = _shipment(rows, store)
    elif kind == "receipt":
        events = _receipt(rows, store, participant)
    else:
        events = _transformation(rows, store, base, participant)
    if problems:
        raise CsvError(sorted(problems, key=lambda p: p[0]))
    return CsvPlan(kind, events)


def sign_plan(plan: CsvPlan, key: SigningKey, ledger_id: str, *, credential_id: str | None = None) -> list[SignedEvent]:
    """Sign the planned events in file order; ``@ref`` inputs become the lot ids of the outputs
    signed before them. With ``credential_id`` ``key`` is the participant's hosted key and every
    event is marked custodial under that credential (``epcis_capture.sign_custodial``), as the
    API's ``POST /import/csv`` signs."""
    lots: dict[str, str] = {}
    signed: list[SignedEvent] = []
    for planned in plan.events:
        body = dict(planned.body)
        if "inputs" in body:
            body["inputs"] = [lots[i[1:]] if i.startswith("@") else i for i in body["inputs"]]
        try:
            ev = (sign_event(body, key, ledger=ledger_id) if credential_id is None
                  else sign_custodial(body, key, ledger_id, credential_id))
        except EncodingError as exc:
            raise CsvError([(planned.rows[0], "", str(exc))]) from exc
        for i, ref in enumerate(planned.refs):
            if ref and ev.kind in ("extract", "transform"):
                lots[ref] = f"{ev.hash_hex}:{i}"
        signed.append(ev)
    return signed


def import_csv(ledger: Ledger, kind: str, data: bytes, key: SigningKey, base: Path | None = None, *,
               check_only: bool = False, credential_id: str | None = None) -> ImportResult:
    """All rows of the file or none: plan and check every row, sign, judge every event with
    ``Ledger.dry_run``, then submit them as one all-or-nothing batch. A refusal names the row and
    the rule (``CsvError.rule``). ``check_only`` stops after the judgement and records nothing
    (the ids it returns are those the events would get; the signed events are discarded).
    ``credential_id``: custodial signing with a hosted key (``sign_plan``)."""
    plan = plan_csv(kind, data, ledger.store, base, participant=key.did)
    events = sign_plan(plan, key, ledger.ledger_id, credential_id=credential_id)
    verdict, _ = ledger.dry_run(events)
    refused = verdict.rejected
    if not refused and not check_only:
        result = ledger.submit_batch(events, all_or_nothing=True)
        refused = result.rejected
    if refused:
        problems = [(plan.events[r.index].rows[0], "", f"refused by rule {r.rule}: {r.message.removeprefix(f'[{r.rule}] ')}")
                    for r in refused]
        raise CsvError(problems, refused[0].rule)
    refs: dict[str, str] = {}
    for planned, ev in zip(plan.events, events, strict=True):
        for i, ref in enumerate(planned.refs):
            if ref:
                refs[ref] = f"{ev.hash_hex}:{i}" if ev.kind in ("extract", "transform") else ev.hash_hex
        if ev.kind == "receive":  # the received lots, which the next file (a transformation) consumes
            for i in range(len(ev.body["outputs"])):
                refs[f"{planned.refs[0]}:{i}"] = f"{ev.hash_hex}:{i}"
    return ImportResult([(p.rows, ev.hash_hex) for p, ev in zip(plan.events, events, strict=True)], refs,
                        ledger.size())


def plan_json(plan: CsvPlan) -> bytes:
    """The planned (unsigned) bodies as canonical JSON, ``@ref`` inputs unresolved."""
    return canonical_json([p.body for p in plan.events])
