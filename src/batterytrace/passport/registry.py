"""Issued passports by GS1 Digital Link: find, issue on demand, verify, cache.

A ``PassportDesk`` serves the passport of the pack currently carrying ``GTIN/serial``. Its
presentations live as files ``<dir>/<passport-id-suffix>.<level>.sd-jwt`` (the layout ``passport
issue`` and the demo write). When none exists and the desk holds the key of the pack's economic
operator, it issues one (signing a tree head first when it also holds the operator key and no
checkpoint covers the pack). Every presentation is verified before use; verified claims are cached
per passport id and level. A passport whose signing key the operator has since rotated out
(``passport.key-rotated``) is re-issued, when the desk holds the economic operator's key in force.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import StatusListToken
from batterytrace.encoding import b64u_decode
from batterytrace.errors import (
    BatterytraceError,
    EncodingError,
    NotFoundError,
    RuleViolationError,
    VerificationError,
)
from batterytrace.ledger.ledger import Ledger
from batterytrace.ledger.participants import key_history, key_in_force, key_owner, key_standing
from batterytrace.model.identifiers import passport_id_for, passport_version
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    FIELD_LEVELS,
    IssuedPassport,
    PassportVerification,
    issue_passport,
    may_read,
    verify_passport,
)
from batterytrace.passport.master import PackMasterData
from batterytrace.passport.publish import PublishEnvelope, presentation_digest
from batterytrace.passport.resolver import Resolver, load_resolver
from batterytrace.passport.signing_key import SigningKeyError, check_signing_key
from batterytrace.passport.status import StatusLists

__all__ = ["PassportDesk", "PassportIssuer", "check_complete", "check_disclosure_level", "model_listing",
           "save_presentations"]


def _node(claims: dict[str, Any], aspect: str, path: str) -> Any:
    node: Any = claims.get("aspects", {})
    for name in (aspect, *path.split(".")):
        node = node.get(name) if isinstance(node, dict) else None
    return node


def _payload(presentation: str) -> dict[str, Any]:
    """The issuer-signed payload of an SD-JWT, unverified (to route it before verifying it)."""
    from batterytrace.canonical import parse_json

    try:
        payload = parse_json(b64u_decode(presentation.split("~", 1)[0].split(".")[1]))
    except (EncodingError, IndexError, ValueError) as exc:
        raise VerificationError(f"not an SD-JWT presentation: {exc}") from exc
    if not isinstance(payload, dict):
        raise VerificationError("not an SD-JWT presentation")
    return payload


def _issued_at(presentation: str) -> int:
    return int(_payload(presentation)["iat"])


def check_complete(claims: dict[str, Any], level: str) -> None:
    """Raise ``RuleViolationError("passport.incomplete")`` when verified ``claims`` served as
    ``level`` leave out a field that level may read (a public presentation filed as the
    legitimate-interest one would hide 19 of its fields)."""
    summary = claims.get("summary")
    unrecorded = summary.get("not_recorded") if isinstance(summary, dict) else None
    skip = set(unrecorded) if isinstance(unrecorded, list) else set()  # stated as never recorded (verified absent)
    missing = [f"{aspect}.{path}" for aspect, fields in FIELD_LEVELS.items() for path, audience in fields.items()
               if may_read(level, audience) and _node(claims, aspect, path) is None and f"{aspect}.{path}" not in skip]
    if missing:
        raise RuleViolationError("passport.incomplete", f"the {level} presentation does not disclose "
                                 f"{len(missing)} of its fields: {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}")


def check_disclosure_level(claims: dict[str, Any], level: str) -> None:
    """Raise ``VerificationError`` when verified ``claims`` disclose a field ``level`` may not
    read (e.g. a legitimate-interest field in what is served as the public presentation)."""
    for aspect, fields in FIELD_LEVELS.items():
        for path, audience in fields.items():
            if may_read(level, audience):
                continue
            if _node(claims, aspect, path) is not None:
                raise VerificationError(f"the presentation discloses {aspect}.{path}, which is not for the "
                                        f"{level} access level (its audience: {audience})")


@dataclass(frozen=True)
class PassportIssuer:
    """An economic operator's key and the master data of its battery model. ``participant`` is
    the registered did ``key`` signs for when the operator rotated it in (default: found on the
    ledger, else ``key``'s own did)."""

    key: SigningKey
    master: PackMasterData
    participant: str | None = None


def save_presentations(p: IssuedPassport, out: Path) -> list[Path]:
    """Write one presentation per access level, named by the passport id's suffix."""
    out.mkdir(parents=True, exist_ok=True)
    stem = p.passport_id.rsplit(":", 1)[1]
    paths = []
    for level in ACCESS_LEVELS:
        path = out / f"{stem}.{level}.sd-jwt"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(p.present(level))  # ends at the final "~"
        tmp.replace(path)
        paths.append(path)
    return paths


class PassportDesk:
    def __init__(self, ledger: Ledger, directory: Path, issuers: list[PassportIssuer] | None = None,
                 operator_key: SigningKey | None = None,
                 anchor_verifier: Callable[[dict[str, Any]], None] | None = None) -> None:
        """``anchor_verifier`` checks a passport's on-chain anchor evidence against the chain this
        ledger anchors on (raising ``VerificationError``); without it anchors are left unchecked."""
        self.ledger = ledger
        self.anchor_verifier = anchor_verifier
        self._anchor_checked: set[str] = set()
        self.directory = directory
        self.issuers = list(issuers or [])
        self.operator_key = operator_key
        self.status_lists = StatusLists(directory)  # the issuers' lists (kept, or published to this desk)
        # verified results per (passport id, level), with the status list token they were checked
        # against and the issuer's key in force then (a rotation since makes them stale)
        self._verified: dict[tuple[str, str], tuple[str | None, str | None, PassportVerification]] = {}
        self._lock = threading.Lock()

    def passport_id(self, gtin: str, serial: str) -> tuple[str, str]:
        """(pack lot id, passport id) of the pack now carrying ``gtin``/``serial``."""
        ids = self.ledger.store.lots_by_serial(gtin, serial)
        if not ids:
            raise NotFoundError(f"no battery {gtin}/{serial} on the ledger")
        lot = self.ledger.store.get_lot(ids[-1])
        if lot is None:
            raise NotFoundError(f"no battery {gtin}/{serial} on the ledger")
        return lot.lot_id, passport_id_for(gtin, serial, passport_version(lot.extra.get("lifecycle", [])))

    def presentation(self, gtin: str, serial: str, level: str) -> str:
        if level not in ACCESS_LEVELS:
            raise BatterytraceError(f"unknown access level {level!r}")
        lot_id, pid = self.passport_id(gtin, serial)
        path = self.directory / f"{pid.rsplit(':', 1)[1]}.{level}.sd-jwt"
        if not path.exists():
            with self._lock:
                if not path.exists():
                    self._issue(lot_id)
        return path.read_text().strip()

    def _issuer_for(self, operator: str) -> PassportIssuer | None:
        """The issuer this desk holds for ``operator`` (a registered did) whose key is in force."""
        store = self.ledger.store
        for issuer in self.issuers:
            participant = issuer.participant or key_owner(store, issuer.key.did) or issuer.key.did
            if participant == operator and (store.get_participant(operator) is None
                                            or key_standing(store, operator, issuer.key.did) == "in force"):
                return PassportIssuer(issuer.key, issuer.master, participant)
        return None

    def _issue(self, lot_id: str) -> None:
        lot = self.ledger.store.get_lot(lot_id)
        assert lot is not None
        found = self.ledger.event_by_hash(lot.event)
        operator = lot.extra.get("economic_operator") or (found[1].actor if found else None)
        issuer = self._issuer_for(str(operator))
        if lot.confidential:
            raise NotFoundError(f"no passport has been published for {lot.gtin}/{lot.serial}, a confidential pack: "
                                "only its economic operator, holding the openings of its lineage, can issue it "
                                "(passport issue --openings) and publish it (POST /passports)")
        if issuer is None:
            raise NotFoundError(f"no passport has been issued for {lot.gtin}/{lot.serial} and this "
                                "service does not hold its economic operator's key")
        cp = self.ledger.latest_checkpoint()
        participant = str(issuer.participant)
        # the checkpoint must cover the pack's assembly and, for a rotated-in key, its rotation
        needed = max([found[0] if found is not None else -1] + [
            period.seq for period in key_history(self.ledger.store, participant) if period.key == issuer.key.did])
        if (cp is None or cp.tree_size <= needed) and self.operator_key is not None:
            self.ledger.sign_tree_head(self.operator_key)
        now = int(time.time())
        p = issue_passport(self.ledger, lot_id, issuer.master, issuer.key, issued_at=now,
                           status=self.status_lists.allocator(issuer.key, load_resolver(self.ledger.store).base, now,
                                                              participant),
                           participant=participant)
        save_presentations(p, self.directory)

    def reissue(self, gtin: str, serial: str) -> bool:
        """Issue the current passport of ``gtin``/``serial`` anew (same version, a later issuance)
        with the key in force of its economic operator, e.g. after the operator rotated the key
        that signed it; False when this desk does not hold that key."""
        lot_id, pid = self.passport_id(gtin, serial)
        lot = self.ledger.store.get_lot(lot_id)
        assert lot is not None
        found = self.ledger.event_by_hash(lot.event)
        operator = lot.extra.get("economic_operator") or (found[1].actor if found else None)
        if lot.confidential or self._issuer_for(str(operator)) is None:
            return False
        with self._lock:
            self._issue(lot_id)
            for level in ACCESS_LEVELS:
                self._verified.pop((pid, level), None)
        return True

    def accept(self, presentations: dict[str, str], envelope: Any = None, now: int | None = None) -> str:
        """Publish presentations an economic operator issued itself (publish.py): one per access
        level of one issuance, under an ``envelope`` signed by the battery's economic operator.
        Each must verify against this ledger, be the current passport of its battery, disclose
        every claim of its level and nothing above it, and be no older than what is served.
        Returns the passport id. Refusals: ``RuleViolationError`` (``passport.*``) or
        ``VerificationError``."""
        now = int(time.time()) if now is None else now
        env = PublishEnvelope.from_dict(envelope)
        env.verify_signature()
        if set(presentations) != set(ACCESS_LEVELS):
            raise RuleViolationError("passport.incomplete", f"a publication carries one presentation per access "
                                     f"level ({', '.join(ACCESS_LEVELS)}), got {sorted(presentations)}")
        texts = {level: text.strip() for level, text in presentations.items()}
        if env.ledger != self.ledger.operator_did:
            raise RuleViolationError("passport.envelope", f"the envelope publishes to ledger {env.ledger}, "
                                     f"this is {self.ledger.operator_did}")
        if env.presentations != {level: presentation_digest(t) for level, t in texts.items()}:
            raise RuleViolationError("passport.envelope", "the envelope signs other presentations than those uploaded")
        env.check_fresh(now)
        env.check_not_future(now)
        if len({t.split("~", 1)[0] for t in texts.values()}) != 1:
            raise RuleViolationError("passport.incomplete", "the presentations come from different issuances")
        # who may publish, before any costly verification: the economic operator of the battery named
        named = _payload(texts["public"]).get("battery")
        named = named if isinstance(named, dict) else {}
        lot_id, current_version = self.ledger_version(str(named.get("gtin")), str(named.get("serial")))
        self._check_publisher(lot_id, env.publisher, env.publisher)
        try:  # the envelope's key must speak for the publisher now
            check_signing_key(self.ledger.store, env.publisher, env.signing_key, "passport")
        except SigningKeyError as exc:
            raise RuleViolationError("passport.publisher", f"the upload envelope: {exc.detail}") from exc
        if env.passport_version < current_version:  # verified against the ledger it would name passport_version
            raise RuleViolationError("passport.rollback", f"version {env.passport_version} of {named.get('gtin')}/"
                                     f"{named.get('serial')} is older than its current version {current_version}")
        # one issuance, every level verified against this ledger: the audiences are not nested, so no
        # single presentation discloses every figure, and each one's figures are re-derived here
        token = self.status_token(texts["public"])  # a revoked version is not republished
        results = {level: verify_passport(t, log_operator=self.ledger.operator_did, now=now,
                                          ledger=self.ledger,
                                          status_list=token)
                   for level, t in texts.items()}
        claims = results["public"].claims
        for level, result in results.items():
            check_disclosure_level(result.claims, level)
            check_complete(result.claims, level)
        battery = claims["battery"]
        lot_id, current = self.passport_id(str(battery.get("gtin")), str(battery.get("serial")))
        pid, version = str(claims["passport_id"]), int(claims["passport_version"])
        if (env.passport_id, env.passport_version, env.issued_at) != (pid, version, claims.get("iat")):
            raise RuleViolationError("passport.envelope", "the envelope names another passport id, version or "
                                     "issuance time than the presentations")
        self._check_publisher(lot_id, env.publisher, str(claims.get("iss")))
        if pid != current:
            _, current_version = self.ledger_version(str(battery.get("gtin")), str(battery.get("serial")))
            if version < current_version:
                raise RuleViolationError("passport.rollback", f"version {version} of {battery.get('gtin')}/"
                                         f"{battery.get('serial')} is older than its current version {current_version}")
            raise VerificationError(f"{pid} is not the current passport of {battery.get('gtin')}/"
                                    f"{battery.get('serial')} ({current})")
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = pid.rsplit(":", 1)[1]
        with self._lock:
            if self._check_not_older(pid, stem, int(claims["iat"]), texts["public"]):
                return pid  # the very issuance already served
            for level, text in texts.items():
                path = self.directory / f"{stem}.{level}.sd-jwt"
                tmp = path.with_suffix(".tmp")
                tmp.write_text(text)  # ends at the final "~"
                tmp.replace(path)
                self._verified.pop((pid, level), None)
        return pid

    def ledger_version(self, gtin: str, serial: str) -> tuple[str, int]:
        """(pack lot id, current passport version) of ``gtin``/``serial`` on the ledger."""
        ids = self.ledger.store.lots_by_serial(gtin, serial)
        lot = self.ledger.store.get_lot(ids[-1]) if ids else None
        if lot is None:
            raise NotFoundError(f"no battery {gtin}/{serial} on the ledger")
        return lot.lot_id, passport_version(lot.extra.get("lifecycle", []))

    def _check_publisher(self, lot_id: str, publisher: str, issuer: str) -> None:
        lot = self.ledger.store.get_lot(lot_id)
        assert lot is not None
        found = self.ledger.event_by_hash(lot.event)
        operator = lot.extra.get("economic_operator") or (found[1].actor if found else None)
        if publisher != operator or issuer != operator:
            raise RuleViolationError("passport.publisher", f"only the battery's economic operator {operator} may "
                                     f"publish its passport; the upload is signed by {publisher}")
        if self.ledger.store.get_participant(publisher) is None:
            raise RuleViolationError("passport.publisher", f"{publisher} is not a registered participant")

    def _check_not_older(self, pid: str, stem: str, issued_at: int, public: str) -> bool:
        """Refuse an issuance older than (or as old as, but other than) the one served for
        ``pid``; True when it is the very one served."""
        path = self.directory / f"{stem}.public.sd-jwt"
        if not path.exists():
            return False
        served = path.read_text().strip()
        if served.split("~", 1)[0] == public.split("~", 1)[0]:
            return True
        served_at = _issued_at(served)
        if issued_at <= served_at:
            raise RuleViolationError("passport.rollback", f"{pid} is served as issued at {served_at}; an issuance "
                                     f"at {issued_at} may not replace it")
        return False

    def accept_status_list(self, token: str, now: int) -> StatusListToken:
        """Keep a status list an issuer published (``StatusLists.accept``), signed by the issuer's
        key in force on this ledger (``statuslist.key-rotated``, ``statuslist.signer``)."""
        store = self.ledger.store
        return self.status_lists.accept(token, now, lambda issuer, key: check_signing_key(store, issuer, key, "statuslist"))

    def status_token(self, presentation: str) -> str | None:
        """The status list token (kept by this desk) that a presentation's status names, if any."""
        try:
            return self.status_lists.token_for(_payload(presentation))
        except VerificationError:
            return None

    def verified(self, gtin: str, serial: str, level: str) -> PassportVerification:
        """The passport at ``level`` after full verification against this ledger (cached until its
        issuer's status list changes). A revoked or suspended passport raises
        ``PassportStatusError``."""
        _, pid = self.passport_id(gtin, serial)
        key = (pid, level)
        text = self.presentation(gtin, serial, level)
        token = self.status_token(text)
        cached = self._verified.get(key)
        in_force = key_in_force(self.ledger.store, str(cached[2].claims.get("iss"))) if cached is not None else None
        result = cached[2] if cached is not None and (cached[0], cached[1]) == (token, in_force) else None
        if result is None:
            try:
                result = verify_passport(text, log_operator=self.ledger.operator_did,
                                         now=int(time.time()), ledger=self.ledger, status_list=token)
            except SigningKeyError as exc:  # signed by a key rotated out since: issue it anew, if we can
                if exc.rule not in ("passport.key-rotated", "statuslist.key-rotated") or not self.reissue(gtin, serial):
                    raise
                text = self.presentation(gtin, serial, level)
                token = self.status_token(text)
                result = verify_passport(text, log_operator=self.ledger.operator_did,
                                         now=int(time.time()), ledger=self.ledger, status_list=token)
            claims = result.claims
            if claims.get("passport_id") != pid:
                raise VerificationError(f"stored passport file for {pid} holds {claims.get('passport_id')}")
            check_disclosure_level(claims, level)
            evidence = claims.get("evidence")
            if isinstance(evidence, dict) and "anchor" in evidence and self.anchor_verifier is not None:
                self.anchor_verifier(claims)  # a forged or wrong anchor fails the passport
                self._anchor_checked.add(pid)
            self._verified[key] = (token, key_in_force(self.ledger.store, str(claims.get("iss"))), result)
        return result

    def anchor_checked(self, claims: dict[str, Any]) -> bool:
        """Whether this desk verified the on-chain anchor of the passport ``claims`` came from."""
        return str(claims.get("passport_id")) in self._anchor_checked


def model_listing(ledger: Ledger, gtin14: str, resolver: Resolver, after: str = "", limit: int = 100) -> dict[str, Any]:
    """What a resolver answers for a model (``/01/{gtin}``): the model's public data as its packs
    on the ledger state it (chemistry, rated energy, the economic operator who assembles them) and
    one page of its batteries with their Digital Links and current passport ids, by serial;
    ``next`` is the serial to continue after (None on the last page). ``NotFoundError`` when the
    ledger has no pack of this GTIN."""
    from batterytrace.ledger.trace import PRODUCT_FORMS

    serials = ledger.store.serials_of(gtin14, PRODUCT_FORMS, after, limit + 1)
    if not serials and not after:
        raise NotFoundError(f"no battery model {gtin14} on the ledger")
    page, more = serials[:limit], len(serials) > limit
    chemistry: set[str] = set()
    capacity: set[float] = set()
    operators: dict[str, str | None] = {}
    batteries = []
    for serial in page:
        ids = ledger.store.lots_by_serial(gtin14, serial)
        lot = ledger.store.get_lot(ids[-1]) if ids else None
        if lot is None:
            continue
        if lot.extra.get("chemistry") is not None:
            chemistry.add(str(lot.extra["chemistry"]))
        if isinstance(lot.extra.get("capacity_kwh"), int | float):
            capacity.add(float(lot.extra["capacity_kwh"]))
        operator = lot.extra.get("economic_operator")
        if isinstance(operator, str) and operator not in operators:
            participant = ledger.store.get_participant(operator)
            operators[operator] = participant.legal_name if participant is not None else None
        batteries.append({"serial": serial, "digital_link": resolver.item_link(gtin14, serial),
                          "passport_id": passport_id_for(gtin14, serial, passport_version(lot.extra.get("lifecycle", [])))})
    return {
        "gtin": gtin14,
        "digital_link": resolver.model_link(gtin14),
        "chemistry": sorted(chemistry),
        "capacity_kwh": sorted(capacity),
        "economic_operators": [{"did": did, "legal_name": name} for did, name in sorted(operators.items())],
        "batteries": batteries,
        "next": page[-1] if more else None,
    }
