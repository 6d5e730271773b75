"""``batterytrace demo``: build the fictional supply chain, ingest it, verify, trace, summarise."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from batterytrace.anchoring import Anchoring, chain_path_for, verify_anchored_passport
from batterytrace.cli import DB_HELP, app, console
from batterytrace.cli.ledger_cmd import progress_bar, shares_table
from batterytrace.cli.passport_cmd import write_presentations
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.anonymous import ring_setup
from batterytrace.demo.attempts import bad_events
from batterytrace.demo.confidential import (
    CO_KEY,
    ConfidentialRun,
    anonymous_chain,
    confidential_attacks,
    confidential_chain,
)
from batterytrace.demo.confidential_pack import PackDesign, confidential_packs
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.demo.passport_attempts import forged_passports
from batterytrace.demo.scenario import PACK_MASTER_DATA, Scenario, build_scenario
from batterytrace.errors import BatterytraceError, RuleViolationError, VerificationError
from batterytrace.keys import default_key_path, save_key
from batterytrace.ledger.anonymous_client import verify_origin_disclosure
from batterytrace.ledger.audit import verify_log
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.confidential_client import import_openings
from batterytrace.ledger.figures import carbon_footprint, due_diligence, material_figures
from batterytrace.ledger.ingest import ingest_wire
from batterytrace.ledger.ledger import Ledger, historical_clock
from batterytrace.ledger.trace import BackwardTrace, TraceCache, trace_backward, trace_forward
from batterytrace.model.buckets import element_totals
from batterytrace.model.events import SignedEvent
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    DIGITAL_LINK_BASE,
    IssuedPassport,
    issue_passport,
    verify_passport,
)
from batterytrace.passport.master import master_to_dict
from batterytrace.passport.qr import hri_lines, write_qr
from batterytrace.passport.status import StatusLists
from batterytrace.storage.base import destroy_store, open_store
from batterytrace.storage.openings import OpeningStore


@app.command()
def demo(
    db: str = typer.Option("./batterytrace.db", "--db", help=DB_HELP),
    fresh: bool = typer.Option(False, help="Delete an existing ledger at --db first (SQLite files or PostgreSQL schema)."),
    packs: int = typer.Option(20, min=1, max=500, help="Packs in the series production run."),
    legacy_packs: int = typer.Option(4, min=1, max=100, help="Earlier packs that reach end of life and are recycled."),
    serve: bool = typer.Option(False, "--serve", help="Afterwards, serve the API and passport viewer until Ctrl-C."),
    host: str = typer.Option("127.0.0.1", help="With --serve: address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="With --serve: TCP port."),
    confidential: bool = typer.Option(False, "--confidential", help="Also run confidential chains (commitments and proofs instead of grams)."),
    confidential_pack: str = typer.Option(
        "8x24", "--confidential-pack", metavar="MODULESxCELLS",
        help="With --confidential: modules × cells per module of the confidential pack (8x24 is the VM75; proving takes about a minute)."),
) -> None:
    """Run the end-to-end demo: mines → refinery → cathode → cells → packs → recycler → new cells."""
    if fresh:
        destroy_store(db)
    if not db.startswith(("postgresql://", "postgres://")):
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    with console.status("building the supply chain (signing events)…"):
        s = build_scenario(packs, legacy_packs)
    operator = s.actors["operator"]
    save_key(operator.signing_key, default_key_path(db))
    ledger = Ledger(open_store(db), operator.did, s.ledger_id, clock=historical_clock)  # the demo imports 2025 history
    if ledger.size():
        console.print("[yellow]the database already holds a ledger; use --fresh to rebuild it[/]")
        raise typer.Exit(1)
    wire = [ev.wire_bytes() for ev in s.events]
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("ingesting signed events", total=len(wire))
        result = ingest_wire(ledger, wire, chunk_size=100, progress=lambda n: bar.advance(task, n))
    elapsed = time.perf_counter() - started
    for r in result.rejected[:5]:
        console.print(f"[red]rejected[/] event {r.index}: {escape(r.message)}")
    if result.rejected:
        raise typer.Exit(1)
    cp = ledger.sign_tree_head(operator.signing_key)
    console.print(f"accepted {len(result.accepted)} events in {elapsed:.2f} s; signed tree head #{cp.tree_size} root {cp.root_hash.hex()[:16]}…")

    console.rule("the ledger refuses bad events")
    _show_refusals(ledger, bad_events(s))

    conf: tuple[ConfidentialRun, list[str]] | None = None
    if confidential:
        conf = _confidential(ledger, s, _design(confidential_pack))
    report = verify_log(ledger.store)
    console.print(f"[green]log verified[/]: {report.events} events, {report.lots} lots replayed; root {report.root_hash[:16]}…")
    if ledger.size() > cp.tree_size:  # the confidential run added events: cover them too
        cp = ledger.sign_tree_head(operator.signing_key)
    anchoring = _anchor(ledger, cp, db, fresh)
    _summary(ledger, s.packs, Counter(ev.kind for ev in s.events))

    pack = s.packs[-1]
    tr = trace_backward(ledger.store, pack)
    lot = tr.lot
    console.print(shares_table(tr.shares(), f"pack {lot.gtin}/{lot.serial} traced to its origins ({len(tr.lots)} contributing lots)"))
    console.print(_figures_table(ledger, tr))
    flagged = trace_forward(ledger.store, site="mine:tujenge", start_us=0, end_us=2**62)
    console.print(
        f"incident at mine:tujenge → forward trace flags {flagged.lot_count} downstream lots and "
        f"{len(flagged.pack_ids)} packs"
    )
    _passports(ledger, s, db, anchoring)
    if conf is not None:
        _confidential_passports(ledger, s, db, anchoring, *conf)
    anchoring.close()
    console.print(f"\nledger: {db}   try: batterytrace log verify --db {db}; batterytrace anchor verify --db {db}")
    if serve:
        _serve(ledger, s, db, host, port, conf[1] if conf is not None else [])


def _passports_dir(db: str) -> Path:
    """Where the demo writes passports, keys and QR codes: where ``passport issue`` writes and
    ``serve`` reads them (``default_passport_dir``: ``demo.db`` → ``demo-passports``)."""
    from batterytrace.passport.resolver import default_passport_dir

    return default_passport_dir(db)


def _show_refusals(ledger: Ledger, attempts: Iterable[tuple[str, SignedEvent]]) -> None:
    """Submit each bad event and show the rule the ledger names; one acceptance fails the demo."""
    for description, ev in attempts:
        try:
            ledger.submit(ev)
        except RuleViolationError as exc:
            console.print(f"[green]refused[/] {description}: [bold]{exc.rule}[/] — {escape(exc.detail[:110])}")
            continue
        console.print(f"[red]ACCEPTED (unexpected)[/] {description}")
        raise typer.Exit(1)


def _serve(ledger: Ledger, s: Scenario, db: str, host: str, port: int, confidential: list[str]) -> None:
    """Serve the viewer over this ledger with the OEM's key and master data from the demo."""
    from batterytrace.cli.serve_cmd import run_server
    from batterytrace.keys import default_token_key_path, load_or_create_key
    from batterytrace.ledger.credentials import issue_credential

    out = _passports_dir(db)
    lot = ledger.store.get_lot(s.packs[-1])
    assert lot is not None and lot.gtin is not None and lot.serial is not None
    local = f"http://{host}:{port}/01/{lot.gtin}/21/{lot.serial}"
    write_qr(local, out / "qr-last-pack-local.png")
    now = int(time.time())
    token, _ = issue_credential(ledger.store, ledger.ledger_id, load_or_create_key(default_token_key_path(db)),
                                "demo-recycler", "legitimate_interest", now, now + 86400)
    conf_links = [f"http://{host}:{port}/01/{p.gtin}/21/{p.serial}" for p in ledger.store.get_lots(confidential).values()]
    ledger.close()
    console.rule("passport viewer")
    console.print(f"open {local}  (QR: {out}/qr-last-pack-local.png)")
    for link in conf_links:
        console.print(f"confidential pack (figures proved in zero knowledge): {link}")
    console.print(f"sign in at http://{host}:{port}/signin with this 24 h legitimate-interest token (a recycler):\n{token}", soft_wrap=True)
    run_server(host, port, None, db=db, passports=str(out), issuers=((str(out / "voltara.key"), str(out / "vm75.master.json")),),
               operator_key=str(default_key_path(db)))


def _anchor(ledger: Ledger, cp: Checkpoint, db: str, fresh: bool) -> Anchoring:
    """Anchor the signed tree head on the in-process EVM chain kept beside the ledger."""
    chain_state = "demo-postgres.chain.sqlite" if db.startswith(("postgresql://", "postgres://")) else None
    path = chain_state or chain_path_for(ledger.store.url)
    if fresh and path:
        Path(path).unlink(missing_ok=True)
    with console.status("deploying the checkpoint registry and anchoring the tree head…"):
        anchoring = Anchoring.setup(ledger, chain_state=chain_state)
        record = anchoring.anchor_checkpoint(cp)
    console.print(f"[green]anchored[/] tree head #{record.tree_size} on chain {record.chain_id} "
                  f"(in-process EVM, {path}): contract {record.contract}, block {record.block_number}, "
                  f"tx {record.tx_hash[:18]}…")
    return anchoring


def _design(text: str) -> PackDesign:
    try:
        modules, cells = (int(x) for x in text.lower().split("x"))
        return PackDesign(modules, cells)
    except ValueError as exc:
        raise typer.BadParameter(f"--confidential-pack takes MODULESxCELLS, e.g. 8x24: {exc}") from exc


def _confidential(ledger: Ledger, s: Scenario, design: PackDesign) -> tuple[ConfidentialRun, list[str]]:
    """Confidential chains: the log holds commitments and proofs; openings stay private."""
    console.rule("confidential mode")
    run = ConfidentialRun()
    setup = ring_setup(s)  # RMAP re-audits Mwelu; the CD mines register their sites' ring keys
    if ledger.submit_batch(setup.events, check_clock=False).rejected:
        raise typer.Exit(1)
    with console.status("proving confidential events…"):
        for i in range(3):
            confidential_chain(s, run, co_g=320_000 + 10_000 * i)
        anonymous_chain(s, run, setup, ledger.store, "mwelu", co_g=300_000)
    started = time.perf_counter()
    result = ledger.submit_batch(run.events, check_clock=False)
    elapsed = time.perf_counter() - started
    for r in result.rejected[:5]:
        console.print(f"[red]rejected[/] confidential event {r.index}: {escape(r.message)}")
    if result.rejected:
        raise typer.Exit(1)
    lot = run.refined[-1]
    stored = ledger.store.get_lot(lot)
    assert stored is not None
    console.print(f"accepted {len(result.accepted)} confidential events in {elapsed:.2f} s; lot {lot[:16]}… "
                  f"holds {escape(str(stored.commitments))[:90]}… and no grams")
    [disclosure] = run.disclosures
    ring = next(ev for ev in run.events if ev.kind == "extract" and "origin" in ev.body).body["origin"]
    site = verify_origin_disclosure(ledger.store, disclosure, s.actors["kivijarvi"].did)
    console.print(f"an anonymous certified extraction: signed by a one-time key with a ring proof over "
                  f"{len(ring['ring'])} certified {ring['country']} mine sites (the public learns no more); "
                  f"Kivijärvi alone checks the mine's private disclosure: {site}")
    auditor = OpeningStore()
    import_openings(ledger.store, auditor, run.store("kivijarvi").export([lot]))
    grams = auditor.get(lot)[CO_KEY].value
    console.print(f"an auditor receives Kivijärvi's openings for it, checks them against the log: {grams:,} g Co")
    _show_refusals(ledger, confidential_attacks(s, run, lot))
    done = len(run.events)
    started = time.perf_counter()
    workers = max(1, os.cpu_count() or 1)
    with console.status(f"proving a confidential pack ({design.modules} modules × {design.cells_per_module} cells) "
                        f"from the refined cobalt and the cathode maker's stock on {workers} cores…"), \
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        run.executor = pool
        packs = confidential_packs(s, run, 1, design)
        run.executor = None
    proving = time.perf_counter() - started
    started = time.perf_counter()
    result = ledger.submit_batch(run.events[done:], check_clock=False)
    for r in result.rejected[:5]:
        console.print(f"[red]rejected[/] confidential event {r.index}: {escape(r.message)}")
    if result.rejected:
        raise typer.Exit(1)
    console.print(f"confidential pack {packs[0][:16]}…: {len(run.events) - done} events proved in {proving:.1f} s "
                  f"(participants' side), verified and accepted in {time.perf_counter() - started:.1f} s; "
                  "the log holds no grams from mine to pack")
    return run, packs


def _passports(ledger: Ledger, s: Scenario, db: str, anchoring: Anchoring) -> None:
    """Issue every series pack's passport at every access level, verify each offline, write the
    files a user needs to repeat it with the CLI (issuer key, master data, QR codes)."""
    console.rule("battery passports")
    out = _passports_dir(db)
    out.mkdir(parents=True, exist_ok=True)
    oem = s.actors["voltara"]
    save_key(oem.signing_key, out / "voltara.key")
    (out / "vm75.master.json").write_text(json.dumps(master_to_dict(VOLTARA_VM75), indent=2) + "\n")
    now = int(time.time())
    started = time.perf_counter()
    issued = []
    cache = TraceCache()  # the packs share their upstream lineage: read it once
    statuses = StatusLists(out).allocator(oem.signing_key, DIGITAL_LINK_BASE, now)  # revocable: passport status
    with progress_bar() as bar:
        task = bar.add_task("issuing and verifying passports", total=len(s.packs))
        for pack in s.packs:
            p = issue_passport(ledger, pack, VOLTARA_VM75, oem.signing_key, issued_at=now, cache=cache,
                               status=statuses)
            for path in write_presentations(p, out, p.passport_id.rsplit(":", 1)[1]):
                verify_anchored_passport(path.read_text().strip(), anchoring.client.w3, trusted_issuers=[oem.did],
                                         log_operator=ledger.operator_did, now=now, registry=anchoring.config.contract,
                                         registry_operator=anchoring.config.operator)
            issued.append(p)
            bar.advance(task)
    elapsed = time.perf_counter() - started
    last = issued[-1]
    last_lot = ledger.store.get_lot(s.packs[-1])
    label = hri_lines(last_lot.gtin, last_lot.serial) if last_lot and last_lot.gtin and last_lot.serial else []
    write_qr(last.link, out / "qr-last-pack.png", label)
    write_qr(last.link, out / "qr-last-pack.svg", label)
    console.print(
        f"[green]{len(issued)} passports issued[/] × {len(ACCESS_LEVELS)} access levels "
        f"({', '.join(ACCESS_LEVELS)}), each verified offline and its checkpoint anchor checked on chain, in {elapsed:.1f} s → {out}/"
    )
    console.print(f"QR for {last.link}: {out}/qr-last-pack.png (and .svg)")
    _show_forged_passports(ledger, last, oem.signing_key, now)
    console.print(f"try: batterytrace passport verify {out}/{last.passport_id.rsplit(':', 1)[1]}.public.sd-jwt "
                  f"--operator {ledger.operator_did}", soft_wrap=True)


def _show_forged_passports(ledger: Ledger, p: IssuedPassport, key: SigningKey, now: int) -> None:
    """The economic operator re-signs a passport with better figures: refused by name, offline
    when the passport's evidence suffices, else against the ledger (offline: declared)."""
    claims = verify_passport(p.present("public"), log_operator=ledger.operator_did, now=now).claims
    for description, text in forged_passports(claims, key, now):
        try:
            offline = verify_passport(text, log_operator=ledger.operator_did, now=now)
        except VerificationError as exc:
            console.print(f"[green]refused[/] forged passport, {description}: {escape(str(exc)[:110])}")
            continue
        status = offline.figure("summary.carbon_kgco2e_per_kwh").status
        try:
            verify_passport(text, log_operator=ledger.operator_did, now=now, ledger=ledger)
        except VerificationError as exc:
            console.print(f"[green]refused[/] forged passport, {description} (offline: footprint {status}): "
                          f"{escape(str(exc)[:110])}")
        else:  # pragma: no cover - the ledger re-derives every lineage figure of a plain pack
            raise BatterytraceError(f"a forged passport verified against the ledger: {description}")


def _confidential_passports(ledger: Ledger, s: Scenario, db: str, anchoring: Anchoring, run: ConfidentialRun,
                            packs: list[str]) -> None:
    """Passports of the confidential packs: figures proved in zero knowledge, grams private."""
    console.rule("confidential pack passports")
    out = _passports_dir(db)
    oem = s.actors["voltara"]
    now = int(time.time())
    kept = out / "voltara.openings.sqlite"  # for `passport issue --openings`
    kept.unlink(missing_ok=True)
    saved = OpeningStore(str(kept))
    saved.merge(run.store("voltara"))
    saved.close()
    for pack in packs:
        started = time.perf_counter()
        p = issue_passport(ledger, pack, VOLTARA_VM75, oem.signing_key, issued_at=now, cache=TraceCache(),
                           openings=run.store("voltara"),
                           status=StatusLists(out).allocator(oem.signing_key, DIGITAL_LINK_BASE, now))
        issued_s = time.perf_counter() - started
        started = time.perf_counter()
        for path in write_presentations(p, out, p.passport_id.rsplit(":", 1)[1]):
            claims = verify_anchored_passport(path.read_text().strip(), anchoring.client.w3, trusted_issuers=[oem.did],
                                              log_operator=ledger.operator_did, now=now, registry=anchoring.config.contract,
                                              registry_operator=anchoring.config.operator).claims
        verify_s = (time.perf_counter() - started) / len(ACCESS_LEVELS)
        summary, proofs = claims["summary"], claims["evidence"]["zk_figures"]
        table = Table(title=f"confidential pack {claims['battery']['gtin']}/{claims['battery']['serial']}: "
                            "figures proved in zero knowledge (grams stay private)")
        table.add_column("figure")
        table.add_column("value (to 0.01 point)", justify="right")
        for el in ("Co", "Ni", "Li"):
            r = summary["recycled_percent"].get(el, {})
            met = "meets" if summary["art8_targets"].get(el, {}).get("2031", {}).get("met") else "below"
            table.add_row(f"recycled {el} (pre / post)", f"{r.get('pre', 0):.2f} / {r.get('post', 0):.2f} % ({met} 2031 target)")
        for el in ("Co", "Ni", "Li", "Mn"):
            mix = ", ".join(f"{c} {v:.2f} %" for c, v in summary["origin_mix_percent"].get(el, {}).items())
            table.add_row(f"{el} origin (mined) / certified", f"{mix} / {summary['certified_percent'].get(el, 0):.2f} %")
        table.add_row("CO2e per kWh (issuer, opened lineage)", f"{summary['carbon_kgco2e_per_kwh'] * 1000:.1f} g")
        console.print(table)
        console.print(f"[green]passport {p.passport_id}[/]: {len(proofs)} figures, "
                      f"{sum(len(v) for v in proofs.values())} range proofs; issued in {issued_s:.1f} s, each of "
                      f"{len(ACCESS_LEVELS)} presentations verified (proofs, inclusion, anchor) in {verify_s * 1000:.0f} ms")
        console.print(f"try: batterytrace passport verify {out}/{p.passport_id.rsplit(':', 1)[1]}.public.sd-jwt "
                      f"--operator {ledger.operator_did}", soft_wrap=True)
        console.print(f"     batterytrace passport issue {claims['battery']['gtin']}/{claims['battery']['serial']} "
                      f"--key {out}/voltara.key --master {out}/vm75.master.json --openings {kept} --db {db}", soft_wrap=True)


def _figures_table(ledger: Ledger, tr: BackwardTrace) -> Table:
    """The figures a passport shows, computed from the ledger for one pack."""
    lot = tr.lot
    m = PACK_MASTER_DATA
    usable = float(lot.extra.get("capacity_kwh", 0)) * m["usable_energy_fraction"]
    fp = carbon_footprint(tr, usable_energy_kwh=usable, service_years=m["service_years"],
                          end_of_life_kgco2e_per_kg=m["end_of_life_kgco2e_per_kg"])
    mf = material_figures(lot.buckets)
    dd = due_diligence(ledger.store, tr, "Co")
    table = Table(title=f"passport figures for {lot.gtin}/{lot.serial} (computed from the ledger)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("chemistry / capacity", f"{lot.extra.get('chemistry')} / {lot.extra.get('capacity_kwh')} kWh")
    for stage, kg in fp.per_stage_kgco2e.items():
        table.add_row(f"CO2e: {stage}", f"{kg:,.0f} kg")
    table.add_row("CO2e per kWh of lifetime energy", f"{fp.total_kgco2e_per_kwh * 1000:.1f} g (class {fp.performance_class})")
    table.add_row("primary data share", f"{fp.primary_data_share_percent:.1f} %")
    for el in ("Co", "Ni", "Li"):
        r = mf.recycled_percent.get(el, {})
        met = "meets" if mf.art8.get(el, {}).get("2031", {}).get("met") else "below"
        table.add_row(f"recycled {el} (pre / post)", f"{r.get('pre', 0):.1f} / {r.get('post', 0):.1f} % ({met} 2031 target)")
    for el in ("Co", "Ni", "Li", "Mn"):
        mix = ", ".join(f"{c} {p:.0f} %" for c, p in mf.origin_mix_percent.get(el, {}).items())
        table.add_row(f"{el} origin (mined) / certified", f"{mix} / {mf.certified_percent.get(el, 0):.1f} %")
    for scheme, idx in dd.indices.items():
        table.add_row(f"{scheme} index (Co mines)", f"{idx.score:.0f}/100, coverage {idx.coverage_percent:.0f} %, "
                      f"{idx.questions_answered}/{idx.questions_total} questions")
    return table


def _summary(ledger: Ledger, packs: list[str], kinds: Counter[str]) -> None:
    table = Table(title="supply chain summary")
    table.add_column("what")
    table.add_column("value", justify="right")
    parts = ledger.store.list_participants()
    for role, n in sorted(Counter(p.role for p in parts).items()):
        table.add_row(f"participants: {role}", str(n))
    for kind, n in sorted(kinds.items()):
        table.add_row(f"events: {kind}", str(n))
    lots = ledger.store.get_lots(packs)
    kwh = sum(float(lot.extra.get("capacity_kwh", 0)) for lot in lots.values())
    co = sum(element_totals(lot.buckets).get("Co", 0) for lot in lots.values())
    rec = sum(g for lot in lots.values() for k, g in lot.buckets.items() if k.startswith("Co/recycled"))
    cert = sum(g for lot in lots.values() for k, g in lot.buckets.items() if k.startswith("Co/certified"))
    table.add_row("packs (series)", f"{len(lots)} × {kwh / max(1, len(lots)):.1f} kWh")
    table.add_row("cobalt per kWh", f"{co / 1000 / kwh:.3f} kg")
    table.add_row("recycled cobalt share", f"{100 * rec / co:.1f} %")
    table.add_row("certified cobalt share", f"{100 * cert / co:.1f} %")
    console.print(table)
