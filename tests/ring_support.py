"""Helpers for anonymous-extraction tests: a confidential chain whose CD mines hold ring keys.

Certified in CD at the start (≈ 2025-01-20): Kasonta (RMAP until 2027), Mwelu (RMAP renewed
2025-01-16 … 2028-01-16) and Tujenge (IRMA 80 from 2024-12-01 until ``TUJENGE_UNTIL``). Tujenge's
certification ends during the tests' time span when a test moves the clock past it.
"""

from __future__ import annotations

from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.anonymous import RingMember, ring_from_store
from batterytrace.ledger.anonymous_client import (
    AnonymousExtraction,
    RingSecret,
    anonymous_extraction,
    prove_anonymous_extraction,
    ring_key_registration,
    ship_anonymous,
)
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.storage.base import Store
from batterytrace.timeutil import format_time, parse_time
from conf_support import CO_G, ConfChain, hydroxide

__all__ = ["CD_MINES", "TUJENGE_UNTIL", "RingChain", "resign_body"]

CD_MINES = ("kasonta", "mwelu", "tujenge")
TUJENGE_UNTIL = "2025-02-01T00:00:00Z"


class RingChain(ConfChain):
    def __init__(self, store: Store | None = None, ledger_id: str | None = None) -> None:
        super().__init__(store, ledger_id)
        self.s.attest("rmap", "mine:mwelu", "RMAP", "2025-01-16T00:00:00Z", "2028-01-16T00:00:00Z", level="conformant")
        self.s.attest("irma", "mine:tujenge", "IRMA", "2024-12-01T00:00:00Z", TUJENGE_UNTIL, level="IRMA 75", score=80)
        self.secrets = {who: RingSecret.from_label(str(self.s.actors[who].site), f"test/{who}") for who in CD_MINES}
        for who in CD_MINES:
            self.s.tick(0.25)
            self.s.events.append(self.register_key(who))
        self.flush()

    def register_key(self, who: str, secret: RingSecret | None = None) -> SignedEvent:
        self.s.tick(0.25)
        return ring_key_registration(
            self.s.actors[who].signing_key, secret or self.secrets[who], format_time(self.s.clock), ledger=self.s.ledger_id
        )

    def now(self) -> str:
        self.s.tick(0.25)
        return format_time(self.s.clock)

    def body(self, co_g: int = CO_G, bucket: str = "Co/certified/CD", coc: str = "segregated", **more: Any) -> dict[str, Any]:
        return {"kind": "extract", "time": self.now(), "outputs": [hydroxide({bucket: co_g}, coc=coc)], **more}

    def ring(self, at: str | None = None) -> list[RingMember]:
        return ring_from_store(self.ledger.store, "CD", parse_time(at or format_time(self.s.clock)))

    def anon(self, who: str = "kasonta", **body: Any) -> AnonymousExtraction:
        return anonymous_extraction(self.ledger.store, self.body(**body), self.secrets[who])

    def anon_with_ring(self, ring: list[Any], who: str = "kasonta", **body: Any) -> AnonymousExtraction:
        return prove_anonymous_extraction(self.body(**body), self.secrets[who], ring, ledger=self.s.ledger_id)

    def extract_anonymously(self, who: str = "kasonta") -> tuple[AnonymousExtraction, str]:
        made = self.anon(who)
        [lot] = self.keep(made.proved)
        return made, lot

    def ship_anon(self, made: AnonymousExtraction, to: str = "kivijarvi") -> SignedEvent:
        ev = ship_anonymous(made, self.did(to), self.now(), seals=["S-1"])
        self.accept(ev)
        return ev


def resign_body(ev: SignedEvent, key: SigningKey, change: Any) -> SignedEvent:
    """Apply ``change(body)`` to a copy of ``ev``'s body and sign it again with ``key``."""
    import copy

    body = copy.deepcopy(ev.body)
    change(body)
    body["actor"] = key.did
    return sign_event(body, key, ledger=str(body.get("ledger", ev.ledger)))
