"""The rules' view of ledger state: the store plus the not-yet-committed effects of the batch.

Rules read through ``BatchState`` and record their effects in it; the ledger turns the collected
effects into one ``WriteBatch``. A rejected event leaves no trace because its effects are staged
in an ``Effect`` first and merged only after every check passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from batterytrace.ledger.confidential import DeferredProofs
from batterytrace.model.entities import Attestation, Incident, Lot, Participant, RingKey, Site
from batterytrace.model.policy import DEFAULT_POLICY, LedgerPolicy
from batterytrace.storage.base import Store, WriteBatch

__all__ = ["KEY_PREFIX", "LATEST_PREFIX", "BatchState", "Effect"]

LATEST_PREFIX = "latest:"
"""Meta keys ``latest:actor:<did>`` and ``latest:site:<id>`` hold the time (µs) of the latest
accepted event of each signer and site (rule ``time.order``); ``log verify`` reproduces them."""

KEY_PREFIX = "key:"
"""Meta keys ``key:<did:key>`` name the participant (its registered did) that a key was rotated
in for (``rotate_key``): a key, once used, never signs for anyone else nor registers anew;
``log verify`` reproduces them."""


@dataclass
class Effect:
    """What one accepted event changes."""

    lots: dict[str, Lot] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    ring_keys: list[RingKey] = field(default_factory=list)
    policy: LedgerPolicy | None = None
    # rotated-in key did → the participant's registered did (rotate_key)
    keys: dict[str, str] = field(default_factory=dict)
    # time line ("actor:<did>", "site:<id>") → the event's time: they never go back
    latest: dict[str, int] = field(default_factory=dict)


class BatchState:
    def __init__(
        self,
        store: Store,
        operator_did: str,
        policy: LedgerPolicy | None,
        registry_cache: dict[str, Participant | Site] | None = None,
        *,
        ledger_id: str | None = None,
    ) -> None:
        self.store = store
        # The identifier of the ledger judging the batch: every event must name it (rule
        # ``ledger.domain``). ``None`` only for read-only views that judge no event.
        self.ledger_id = ledger_id
        # Participants and sites may be cached across batches by the ledger (keys: did / site
        # id); sites never change, a participant only through an event of this batch (accredit),
        # which drops it from the cache.
        self._registry_cache = registry_cache if registry_cache is not None else {}
        self.operator_did = operator_did
        self.policy: LedgerPolicy = policy or DEFAULT_POLICY
        self.policy_changed = False
        self.batch = WriteBatch()
        self._hashes: set[bytes] = set()
        self._participants: dict[str, Participant] = {}
        self._sites: dict[str, Site] = {}
        self._attestations: dict[str, Attestation] = {}
        self._by_subject: dict[str, list[str]] = {}
        self._known_hashes: set[bytes] = set()
        self._prefetched: dict[str, Lot] = {}
        self._stored_attestations: dict[str, list[Attestation]] = {}  # per batch: subject → rows
        self._serials: dict[tuple[str, str], list[str]] = {}  # (gtin, serial) → lots staged in this batch
        self._ring_keys: dict[str, RingKey] | None = None  # site id → key; read once per batch
        self._key_owners: dict[str, str | None] = {}  # rotated-in key → participant (read or staged)
        self._latest: dict[str, int] = {}  # time line → latest accepted event time (read or staged)
        # When set, confidential rules collect their proofs here for one check at batch end.
        self.deferred_proofs: DeferredProofs | None = None

    def prefetch(self, event_hashes: list[bytes], lot_ids: list[str]) -> None:
        """Read in one query each what the batch's events will look up: which hashes the log
        already holds (replays) and the lots they name."""
        self._known_hashes = self.store.known_hashes(event_hashes)
        self._prefetched = self.store.get_lots(lot_ids) if lot_ids else {}

    # reads -------------------------------------------------------------------------------
    def seen(self, event_hash: bytes) -> bool:
        return event_hash in self._hashes or event_hash in self._known_hashes

    def lot(self, lot_id: str) -> Lot | None:
        staged = self.batch.lots.get(lot_id) or self._prefetched.get(lot_id)
        if staged is not None:
            return staged.copy()
        return self.store.get_lot(lot_id)

    def custodians(self, lot_ids: Sequence[str]) -> dict[str, str]:
        """lot id → custodian, for the lots of ``lot_ids`` that exist (staged, prefetched or stored);
        read without copying the lots (the event index of an accepted event)."""
        out: dict[str, str] = {}
        missing = []
        for lid in lot_ids:
            lot = self.batch.lots.get(lid) or self._prefetched.get(lid)
            if lot is not None:
                out[lid] = lot.custodian
            else:
                missing.append(lid)
        if missing:
            out.update((lid, lot.custodian) for lid, lot in self.store.read_lots(missing).items())
        return out

    def identities(self, lot_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """lot id → (GTIN, serial), for the serialised lots of ``lot_ids`` that exist (staged,
        prefetched or stored): the EPCIS projection's Digital Links (``ledger.epcis``)."""
        out: dict[str, tuple[str, str]] = {}
        missing = []
        for lid in lot_ids:
            lot = self.batch.lots.get(lid) or self._prefetched.get(lid)
            if lot is None:
                missing.append(lid)
            elif lot.gtin and lot.serial:
                out[lid] = (lot.gtin, lot.serial)
        if missing:
            out.update((lid, (lot.gtin, lot.serial)) for lid, lot in self.store.read_lots(missing).items()
                       if lot.gtin and lot.serial)
        return out

    def participant(self, did: str) -> Participant | None:
        found = self._participants.get(did) or self._registry_cache.get(did)
        if isinstance(found, Participant):
            return found
        p = self.store.get_participant(did)
        if p is not None:
            self._registry_cache[did] = p
        return p

    def site(self, site_id: str) -> Site | None:
        found = self._sites.get(site_id) or self._registry_cache.get("site:" + site_id)
        if isinstance(found, Site):
            return found
        s = self.store.get_site(site_id)
        if s is not None:
            self._registry_cache["site:" + site_id] = s
        return s

    def attestation(self, attestation_id: str) -> Attestation | None:
        return self._attestations.get(attestation_id) or self.store.get_attestation(
            attestation_id
        )

    def attestations_for(self, subject: str) -> list[Attestation]:
        stored = self._stored_attestations.get(subject)
        if stored is None:
            stored = self._stored_attestations[subject] = self.store.attestations_for(subject)
        found = {a.attestation_id: a for a in stored}
        for aid in self._by_subject.get(subject, []):
            found[aid] = self._attestations[aid]
        return list(found.values())

    def valid_attestations(self, site_id: str, owner: str, t: int) -> list[Attestation]:
        """Attestations of a site and of its operator valid at ``t``, not revoked, whose issuer's
        accreditation still stands (what the sourcing policy judges for plain, confidential and
        anonymous certified extraction alike). Validity periods are judged at the event's time
        ``t``; a revocation or a withdrawn accreditation is state in log order: it takes effect for
        every event ingested after it, whatever that event's time."""
        return [
            a
            for a in self.attestations_for(site_id) + self.attestations_for(owner)
            if a.valid_at(t) and a.revoked_by is None and self.accreditation_stands(a)
        ]

    def accreditation_stands(self, att: Attestation) -> bool:
        """Whether an accreditation the auditor held for the scheme when it issued ``att`` has not
        been withdrawn since (a withdrawal voids what was issued under it, for every event
        ingested after the withdrawal; a later re-accreditation does not revive it)."""
        auditor = self.participant(att.auditor)
        return auditor is not None and auditor.accredited_for(att.scheme, att.issued_at, att.accreditations_held)

    def latest_time(self, line: str) -> int:
        """Time of the latest accepted event on ``line`` (``actor:<did>`` or ``site:<id>``), 0 if none."""
        found = self._latest.get(line)
        if found is None:
            text = self.store.get_meta(LATEST_PREFIX + line)
            found = self._latest[line] = int(text) if text is not None else 0
        return found

    def key_owner(self, key_did: str) -> str | None:
        """The participant a key was rotated in for (``rotate_key``), ``None`` if it never was."""
        if key_did not in self._key_owners:
            self._key_owners[key_did] = self.store.get_meta(KEY_PREFIX + key_did)
        return self._key_owners[key_did]

    def ring_keys(self) -> dict[str, RingKey]:
        """Site id → the site's current ring key (stored, plus those registered in this batch).
        Never cached across batches: a site may replace its key."""
        if self._ring_keys is None:
            self._ring_keys = {r.site_id: r for r in self.store.ring_keys()}
        return dict(self._ring_keys)

    def lots_with_serial(self, gtin: str, serial: str) -> list[Lot]:
        """Every lot (current state) that carries this GTIN + serial number."""
        ids = dict.fromkeys(self.store.lots_by_serial(gtin, serial) + self._serials.get((gtin, serial), []))
        return [lot for lid in ids if (lot := self.lot(lid)) is not None]

    def role(self, did: str) -> str | None:
        if did == self.operator_did:
            return "operator"
        p = self.participant(did)
        return p.role if p is not None else None

    # writes ------------------------------------------------------------------------------
    def merge(self, event_hash: bytes, event_hash_hex: str, effect: Effect) -> None:
        self._hashes.add(event_hash)
        self.batch.lots.update(effect.lots)
        for x in effect.lots.values():
            if x.gtin and x.serial:
                self._serials.setdefault((x.gtin, x.serial), []).append(x.lot_id)
        self.batch.inputs.extend((event_hash_hex, lid) for lid in effect.inputs)
        for p in effect.participants:
            self._participants[p.did] = p
            self._registry_cache.pop(p.did, None)  # an accreditation change replaces the record
            self.batch.participants.append(p)
        for s in effect.sites:
            self._sites[s.site_id] = s
            self.batch.sites.append(s)
        for a in effect.attestations:
            if a.attestation_id not in self._attestations:
                self._by_subject.setdefault(a.subject, []).append(a.attestation_id)
            self._attestations[a.attestation_id] = a
            self.batch.attestations.append(a)
        self.batch.incidents.extend(effect.incidents)
        if effect.ring_keys:
            current = self.ring_keys()
            for r in effect.ring_keys:
                current[r.site_id] = r
                self.batch.ring_keys.append(r)
            self._ring_keys = current
        if effect.policy is not None:
            self.policy = effect.policy
            self.policy_changed = True
        for key_did, owner in effect.keys.items():
            self._key_owners[key_did] = owner
            self.batch.meta[KEY_PREFIX + key_did] = owner
        for line, t in effect.latest.items():
            if t > self.latest_time(line):
                self._latest[line] = t
                self.batch.meta[LATEST_PREFIX + line] = str(t)
