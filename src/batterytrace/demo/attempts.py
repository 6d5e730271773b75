"""Bad events the demo tries after building the chain, to show the ledger refusing them."""

from __future__ import annotations

from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.ledger import labelled_ledger_id
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.timeutil import format_time

__all__ = ["bad_events"]

_THREE_YEARS_US = 3 * 365 * 86_400_000_000


def bad_events(s: Scenario) -> list[tuple[str, SignedEvent]]:
    """(description, event) pairs that the ledger must reject."""
    t = format_time(s.clock)
    mwelu, voltara, circulon = s.actors["mwelu"], s.actors["voltara"], s.actors["circulon"]
    pack = s.packs[0]
    out: list[tuple[str, SignedEvent]] = []
    out.append((
        "uncertified mine claims certified cobalt",
        sign_event({"kind": "extract", "time": t, "site": "mine:mwelu", "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 350_000}}]}, mwelu.signing_key, ledger=s.ledger_id),
    ))
    gba, tujenge = s.actors["gba"], s.actors["tujenge"]
    out.append((
        "index assessor issues RMAP 'conformant' for the mine under a child-labour grievance",
        sign_event({"kind": "attest", "time": t, "scheme": "RMAP", "level": "conformant", "subject": "mine:tujenge",
                    "valid_from": t, "valid_until": format_time(s.clock + _THREE_YEARS_US)}, gba.signing_key, ledger=s.ledger_id),
    ))
    out.append((
        "mine sells its ore as 'production scrap' (pre-consumer recycled feed)",
        sign_event({"kind": "extract", "time": t, "site": "mine:tujenge", "outputs": [{"form": "production_scrap", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 120_000}}]}, tujenge.signing_key, ledger=s.ledger_id),
    ))
    live = s.lots[pack].extra
    out.append((
        "hydroxide labelled with a live pack's GTIN + serial (its Digital Link)",
        sign_event({"kind": "extract", "time": t, "site": "mine:tujenge", "outputs": [{"form": "heterogenite_concentrate", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 120_000}, "gtin": live["gtin"], "serial": live["serial"]}]}, tujenge.signing_key, ledger=s.ledger_id),
    ))
    out.append((
        "recycler ships a pack it does not hold",
        sign_event({"kind": "ship", "time": t, "to": voltara.did, "lots": [pack]}, circulon.signing_key, ledger=s.ledger_id),
    ))
    kasonta = s.actors["kasonta"]
    month_ago = format_time(s.clock - 30 * 86_400_000_000)
    out.append((
        "mine back-dates a certified extraction by a month (beyond max_backdate_s)",
        sign_event({"kind": "extract", "time": month_ago, "site": "mine:kasonta", "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/certified/CD": 350_000}}]}, kasonta.signing_key, ledger=s.ledger_id),
    ))
    out.append((
        "an event signed for another ledger is replayed here",
        sign_event({"kind": "extract", "time": t, "site": "mine:kasonta", "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 1_000_000, "buckets": {"Co/uncertified/CD": 350_000}}]}, kasonta.signing_key, ledger=labelled_ledger_id("demo/another-ledger")),
    ))
    spent = s.events[-1]  # the last event already consumed / touched lots
    out.append(("replay of an accepted event", spent))
    forged = SignedEvent({**s.events[-2].body, "time": t}, s.events[-2].signature)
    out.append(("event altered after signing", forged))
    return out
