"""Synthetic, rule-valid workloads for benchmarks: campaigns of mine → refinery → cells →
modules → packs with fan-out, every event signed by its actor.

One campaign: ``mines`` extractions, their shipments and receipts, one refining transform that
mixes them (mass balance) into ``packs`` sulphate lots, one shipment and receipt to the cell
maker, then per pack: cells transform, module aggregation, pack aggregation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from batterytrace.crypto.signing import SigningKey
from batterytrace.ledger.ledger import labelled_ledger_id
from batterytrace.model.events import SignedEvent, sign_event
from batterytrace.model.policy import DEFAULT_POLICY
from batterytrace.timeutil import format_time, parse_time

__all__ = ["Workload"]

_CO_PER_LOT = 700_000  # g Co in a 2 t cobalt hydroxide lot
_CELLS = 4
_YEAR_US = 365 * 86_400_000_000


@dataclass
class _Party:
    key: SigningKey
    role: str
    site: str
    site_kind: str
    country: str


class Workload:
    def __init__(
        self, mines: int = 10, packs_per_campaign: int = 50, prefix: str = "bench", start: int | None = None,
        serial_prefix: str = "",
    ) -> None:
        """``start`` (µs) dates the first event (default 2024-01-01); events are one second apart.
        ``serial_prefix`` starts every cell, module and pack serial (workloads on one ledger need
        distinct ones: a GTIN + serial names one battery)."""
        self.mines = [
            _Party(SigningKey.from_label(f"{prefix}/mine/{i}"), "mine", f"mine:{prefix}-{i}", "mine", "CD")
            for i in range(mines)
        ]
        self.refiner = _Party(SigningKey.from_label(f"{prefix}/refiner"), "refiner", f"plant:{prefix}-refinery", "refinery", "FI")
        self.cells = _Party(SigningKey.from_label(f"{prefix}/cells"), "cell_maker", f"plant:{prefix}-cells", "cell_plant", "SE")
        self.auditor = _Party(SigningKey.from_label(f"{prefix}/auditor"), "auditor", "", "", "GB")
        self.operator = SigningKey.from_label(f"{prefix}/operator")
        self.packs_per_campaign = packs_per_campaign
        self.clock = parse_time("2024-01-01T00:00:00Z") if start is None else start
        self.ledger_id = labelled_ledger_id(f"bench/{prefix}")
        self._n = 0
        self.serial_prefix = serial_prefix

    def _emit(self, key: SigningKey, body: dict[str, object]) -> SignedEvent:
        self._n += 1
        self.clock += 1_000_000
        return sign_event({**body, "time": format_time(self.clock), "nonce": f"{self._n:024x}"}, key, ledger=self.ledger_id)

    def setup(self) -> list[SignedEvent]:
        evs = []
        parties = [*self.mines, self.refiner, self.cells, self.auditor]
        for p in parties:
            evs.append(self._emit(self.operator, {"kind": "register_participant", "did": p.key.did, "role": p.role, "legal_name": f"{p.role} {p.site}", "country": p.country,
                                                    **({"accreditations": [{"scheme": "RMAP"}]} if p.role == "auditor" else {})}))
        for p in parties:
            if p.site:
                evs.append(self._emit(self.operator, {"kind": "register_site", "site_id": p.site, "owner": p.key.did, "site_kind": p.site_kind, "name": p.site, "country": p.country}))
        evs.append(self._emit(self.operator, {"kind": "set_policy", "policy": DEFAULT_POLICY.to_dict()}))
        # a three-year certificate awarded a year ago (max_attestation_validity_s allows 1096 days)
        valid = {"valid_from": format_time(self.clock - _YEAR_US), "valid_until": format_time(self.clock + 2 * _YEAR_US)}
        for m in self.mines[: len(self.mines) // 2]:
            evs.append(self._emit(self.auditor.key, {"kind": "attest", "scheme": "RMAP", "level": "conformant", "subject": m.site, **valid}))
        return evs

    def campaign(self) -> Iterator[SignedEvent]:
        """Yields one campaign's events in a valid order."""
        received = []
        certified_count = len(self.mines) // 2
        for i, m in enumerate(self.mines):
            origin = "certified" if i < certified_count else "uncertified"
            spec = {"form": "cobalt_hydroxide", "gross_mass_g": 2_000_000, "buckets": {f"Co/{origin}/CD": _CO_PER_LOT}, "coc_model": "mass_balance", "assay_ppm": {"Co": 350_000}}
            ex = self._emit(m.key, {"kind": "extract", "site": m.site, "outputs": [spec]})
            yield ex
            lot = f"{ex.hash_hex}:0"
            sh = self._emit(m.key, {"kind": "ship", "to": self.refiner.key.did, "lots": [lot], "seals": [f"S{self._n}"], "gross_mass_g": 2_000_000})
            yield sh
            rc = self._emit(self.refiner.key, {"kind": "receive", "shipment": sh.hash_hex, "lots": [lot], "seals": [f"S{self._n - 1}"], "gross_mass_g": 2_000_000, "outputs": [{"form": "cobalt_hydroxide", "gross_mass_g": 2_000_000, "buckets": {f"Co/{origin}/CD": _CO_PER_LOT}, "coc_model": "mass_balance"}], "site": self.refiner.site})
            yield rc
            received.append((f"{rc.hash_hex}:0", origin))
        n = self.packs_per_campaign
        per_cell = 36
        per_pack = per_cell * _CELLS
        total = {"certified": certified_count * _CO_PER_LOT, "uncertified": (len(self.mines) - certified_count) * _CO_PER_LOT}
        outs = []
        used = {"certified": 0, "uncertified": 0}
        for _ in range(n):
            b = {}
            for origin in ("certified", "uncertified"):
                g = per_pack // 2
                b[f"Co/{origin}/CD"] = g
                used[origin] += g
            outs.append({"form": "cobalt_sulphate", "gross_mass_g": round(per_pack / 0.2097), "buckets": b, "coc_model": "mass_balance"})
        for origin in ("certified", "uncertified"):
            outs.append({"form": "cobalt_sulphate", "gross_mass_g": round((total[origin] - used[origin]) / 0.2097), "buckets": {f"Co/{origin}/CD": total[origin] - used[origin]}, "coc_model": "mass_balance"})
        tf = self._emit(self.refiner.key, {"kind": "transform", "inputs": [lid for lid, _ in received], "outputs": outs, "site": self.refiner.site})
        yield tf
        sulphates = [f"{tf.hash_hex}:{i}" for i in range(n)]
        sh = self._emit(self.refiner.key, {"kind": "ship", "to": self.cells.key.did, "lots": sulphates, "seals": [f"S{self._n}"]})
        yield sh
        rc = self._emit(self.cells.key, {"kind": "receive", "shipment": sh.hash_hex, "lots": sulphates, "seals": [f"S{self._n - 1}"], "outputs": outs[:n], "site": self.cells.site})
        yield rc
        for i in range(n):
            half = per_cell // 2
            cell = {"form": "cell", "gross_mass_g": 1_450, "buckets": {"Co/certified/CD": half, "Co/uncertified/CD": half}, "coc_model": "mass_balance"}
            cells = [{**cell, "gtin": "07350999001087", "serial": f"{self.serial_prefix}C{self._n}-{k}"} for k in range(_CELLS)]  # one identity each
            tc = self._emit(self.cells.key, {"kind": "transform", "inputs": [f"{rc.hash_hex}:{i}"], "outputs": cells, "site": self.cells.site})
            yield tc
            mod_b = {"Co/certified/CD": half * _CELLS, "Co/uncertified/CD": half * _CELLS}
            ag = self._emit(self.cells.key, {"kind": "aggregate", "inputs": [f"{tc.hash_hex}:{k}" for k in range(_CELLS)], "outputs": [{"form": "module", "gross_mass_g": 1_450 * _CELLS + 500, "buckets": mod_b, "coc_model": "mass_balance", "gtin": "04099999000241", "serial": f"{self.serial_prefix}M{self._n}"}], "site": self.cells.site})
            yield ag
            pk = self._emit(self.cells.key, {"kind": "aggregate", "inputs": [f"{ag.hash_hex}:0"], "outputs": [{"form": "pack", "gross_mass_g": 1_450 * _CELLS + 20_500, "buckets": mod_b, "coc_model": "mass_balance", "gtin": "04099999000753", "serial": f"{self.serial_prefix}P{self._n}"}], "site": self.cells.site})
            yield pk

    def events(self, count: int) -> Iterator[SignedEvent]:
        """Setup plus whole campaigns until at least ``count`` events."""
        produced = 0
        for ev in self.setup():
            produced += 1
            yield ev
        while produced < count:
            for ev in self.campaign():
                produced += 1
                yield ev
