"""Issued passports by GS1 Digital Link: find, issue on demand, verify, cache.

A ``PassportDesk`` serves the passport of the pack currently carrying ``GTIN/serial``. Its
presentations live as files ``<dir>/<passport-id-suffix>.<level>.sd-jwt`` (the layout ``passport
issue`` and the demo write). When none exists and the desk holds the key of the pack's economic
operator, it issues one (signing a tree head first when it also holds the operator key and no
checkpoint covers the pack). Every presentation is verified before use; verified claims are cached
per passport id and level.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import BatterytraceError, EncodingError, NotFoundError, VerificationError
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.identifiers import passport_id_for, passport_version
from batterytrace.passport.issue import (
    ACCESS_LEVELS,
    FIELD_LEVELS,
    IssuedPassport,
    issue_passport,
    verify_passport,
)
from batterytrace.passport.master import PackMasterData

__all__ = ["PassportDesk", "PassportIssuer", "check_disclosure_level", "save_presentations"]


def check_disclosure_level(claims: dict[str, Any], level: str) -> None:
    """Raise ``VerificationError`` when verified ``claims`` disclose a field above ``level``
    (e.g. a legitimate-interest field in what is served as the public presentation)."""
    rank = ACCESS_LEVELS.index(level)
    aspects = claims.get("aspects", {})
    for aspect, fields in FIELD_LEVELS.items():
        for path, field_level in fields.items():
            if ACCESS_LEVELS.index(field_level) <= rank:
                continue
            node: Any = aspects.get(aspect) if isinstance(aspects, dict) else None
            for name in path.split("."):
                node = node.get(name) if isinstance(node, dict) else None
            if node is not None:
                raise VerificationError(f"the presentation discloses {aspect}.{path}, "
                                        f"which is above the {level} access level")


@dataclass(frozen=True)
class PassportIssuer:
    """An economic operator's key and the master data of its battery model."""

    key: SigningKey
    master: PackMasterData


def save_presentations(p: IssuedPassport, out: Path) -> list[Path]:
    """Write one presentation per access level, named by the passport id's suffix."""
    out.mkdir(parents=True, exist_ok=True)
    stem = p.passport_id.rsplit(":", 1)[1]
    paths = []
    for level in ACCESS_LEVELS:
        path = out / f"{stem}.{level}.sd-jwt"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(p.present(level) + "\n")
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
        self.issuers = {i.key.did: i for i in issuers or []}
        self.operator_key = operator_key
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}
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

    def _issue(self, lot_id: str) -> None:
        lot = self.ledger.store.get_lot(lot_id)
        assert lot is not None
        found = self.ledger.event_by_hash(lot.event)
        operator = lot.extra.get("economic_operator") or (found[1].actor if found else None)
        issuer = self.issuers.get(str(operator))
        if lot.confidential:
            raise NotFoundError(f"no passport has been published for {lot.gtin}/{lot.serial}, a confidential pack: "
                                "only its economic operator, holding the openings of its lineage, can issue it "
                                "(passport issue --openings) and publish it (POST /passports)")
        if issuer is None:
            raise NotFoundError(f"no passport has been issued for {lot.gtin}/{lot.serial} and this "
                                "service does not hold its economic operator's key")
        cp = self.ledger.latest_checkpoint()
        if found is not None and (cp is None or cp.tree_size <= found[0]) and self.operator_key is not None:
            self.ledger.sign_tree_head(self.operator_key)
        p = issue_passport(self.ledger, lot_id, issuer.master, issuer.key, issued_at=int(time.time()))
        save_presentations(p, self.directory)

    def accept(self, presentations: dict[str, str]) -> str:
        """Store presentations an economic operator issued itself (one per access level, public
        required). Each must verify against this ledger, be the current passport of its battery,
        and disclose nothing above its level. Returns the passport id."""
        if "public" not in presentations or not set(presentations) <= set(ACCESS_LEVELS):
            raise EncodingError(f"presentations are keyed by access level ({', '.join(ACCESS_LEVELS)}); "
                                    "public is required")
        now = int(time.time())
        checked: dict[str, str] = {}
        pid = None
        for level, text in presentations.items():
            claims = verify_passport(text.strip(), log_operator=self.ledger.operator_did, now=now)
            check_disclosure_level(claims, level)
            battery = claims.get("battery", {})
            _, current = self.passport_id(str(battery.get("gtin")), str(battery.get("serial")))
            if claims.get("passport_id") != current:
                raise VerificationError(f"{claims.get('passport_id')} is not the current passport of "
                                        f"{battery.get('gtin')}/{battery.get('serial')} ({current})")
            if pid is not None and current != pid:
                raise VerificationError("the presentations belong to different passports")
            pid = current
            checked[level] = text.strip()
        assert pid is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = pid.rsplit(":", 1)[1]
        with self._lock:
            for level, text in checked.items():
                path = self.directory / f"{stem}.{level}.sd-jwt"
                tmp = path.with_suffix(".tmp")
                tmp.write_text(text + "\n")
                tmp.replace(path)
                self._verified.pop((pid, level), None)
        return pid

    def verified(self, gtin: str, serial: str, level: str) -> dict[str, Any]:
        """The claims of the passport at ``level`` after full verification (cached)."""
        _, pid = self.passport_id(gtin, serial)
        key = (pid, level)
        claims = self._verified.get(key)
        if claims is None:
            claims = verify_passport(self.presentation(gtin, serial, level),
                                     log_operator=self.ledger.operator_did, now=int(time.time()))
            if claims.get("passport_id") != pid:
                raise VerificationError(f"stored passport file for {pid} holds {claims.get('passport_id')}")
            check_disclosure_level(claims, level)
            evidence = claims.get("evidence")
            if isinstance(evidence, dict) and "anchor" in evidence and self.anchor_verifier is not None:
                self.anchor_verifier(claims)  # a forged or wrong anchor fails the passport
                self._anchor_checked.add(pid)
            self._verified[key] = claims
        return claims

    def anchor_checked(self, claims: dict[str, Any]) -> bool:
        """Whether this desk verified the on-chain anchor of the passport ``claims`` came from."""
        return str(claims.get("passport_id")) in self._anchor_checked
