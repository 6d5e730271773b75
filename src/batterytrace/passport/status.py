"""Passport status: the issuer can revoke or suspend a passport version (IETF Token Status List).

Every passport carries ``status.status_list = {idx, uri}``: its entry in its issuer's status list,
published at ``{resolver}/statuslists/{list id}`` (one list per issuer; the list id is derived
from the issuer's did, so nobody else can claim the list). ``StatusLists`` keeps, in a passports
directory (``statuslists/``), each list's state (which passport holds which index) and its latest
signed token. Indices are drawn at random among the free ones, so an index tells nothing about
when or how many passports an issuer issued. A status changes only by a new token the issuer
signs; an older token never replaces a newer one (``statuslist.rollback``), so an issuer's
revocation cannot be undone by replaying the list it superseded. ``check_status`` reads a
passport's entry: revoked → ``passport.revoked``, suspended → ``passport.suspended``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from batterytrace.crypto.sdjwt import jws_signing_key
from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import (
    STATUS_NAMES,
    StatusList,
    StatusListToken,
    issue_status_list_token,
    verify_status_list_token,
)
from batterytrace.encoding import b64u_decode
from batterytrace.errors import EncodingError, NotFoundError, RuleViolationError, VerificationError
from batterytrace.passport.verification import CheckStatus

__all__ = [
    "LIST_SIZE",
    "STATUS_VALUES",
    "PassportStatusError",
    "StatusLists",
    "check_status",
    "list_id_for",
    "status_claim",
    "status_ref",
    "status_uri",
]

LIST_SIZE = 1 << 16  # statuses per issuer list: 2 bits each, 16 KiB before compression
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
_LIST_ID = re.compile(r"^[0-9a-f]{32}$")


class PassportStatusError(VerificationError):
    """The issuer revoked or suspended this passport version; ``rule`` is ``passport.revoked`` or
    ``passport.suspended``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


def list_id_for(issuer_did: str) -> str:
    """The id of ``issuer_did``'s status list: 32 hex digits of SHA-256 over the did."""
    return hashlib.sha256(f"batterytrace/status-list/v1\x00{issuer_did}".encode()).hexdigest()[:32]


def status_uri(base: str, issuer_did: str) -> str:
    return f"{base.rstrip('/')}/statuslists/{list_id_for(issuer_did)}"


def status_claim(idx: int, uri: str) -> dict[str, Any]:
    return {"status_list": {"idx": idx, "uri": uri}}


def status_ref(claims: dict[str, Any]) -> tuple[int, str] | None:
    """(idx, uri) of a passport's ``status`` claim; None when it has none. Raises
    ``VerificationError`` on a malformed claim, or a uri that is not the issuer's list."""
    status = claims.get("status")
    if status is None:
        return None
    ref = status.get("status_list") if isinstance(status, dict) else None
    if not isinstance(status, dict) or set(status) != {"status_list"} or not isinstance(ref, dict) \
            or set(ref) != {"idx", "uri"}:
        raise VerificationError("the passport's status claim must be {status_list: {idx, uri}}")
    idx, uri = ref["idx"], ref["uri"]
    if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < LIST_SIZE \
            or not isinstance(uri, str) or len(uri) > 2048:
        raise VerificationError("the passport's status_list.idx must be an index of the list and uri a URL")
    if not uri.endswith(f"/statuslists/{list_id_for(str(claims.get('iss')))}"):
        raise VerificationError("the passport's status list is not its issuer's list")
    return idx, uri


def check_status(claims: dict[str, Any], token: str | None, now: int,
                 check_key: Callable[[str], None] | None = None) -> tuple[CheckStatus, str]:
    """The passport's status check: ``(outcome, detail)`` with outcome ``passed`` (valid),
    ``absent`` (no status claim) or ``not checked`` (no token given). ``check_key`` judges the
    key that signed the list (default: only the issuer's own did:key). Raises
    ``PassportStatusError`` when revoked or suspended, ``VerificationError`` when the token is
    not the issuer's list for this passport."""
    ref = status_ref(claims)
    if ref is None:
        return "absent", "the passport names no status list (issued before status lists): it cannot be revoked"
    idx, uri = ref
    if token is None:
        return "not checked", f"status list {uri} was not consulted (entry {idx})"
    verified = verify_status_list_token(token, issuer=str(claims.get("iss")), uri=uri, now=now, check_key=check_key)
    status = verified.status_of(idx)
    when = f"issuer's status list signed at {verified.issued_at}"
    if status == "revoked":
        raise PassportStatusError("passport.revoked", f"the issuer revoked passport {claims.get('passport_id')} ({when})")
    if status != "valid":
        raise PassportStatusError("passport.suspended", f"the issuer {status} passport {claims.get('passport_id')} ({when})")
    return "passed", f"valid in the {when}"


class StatusLists:
    """The status lists kept in a passports directory (``<dir>/statuslists/``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "statuslists"

    def _paths(self, list_id: str) -> tuple[Path, Path]:
        if not _LIST_ID.match(list_id):
            raise NotFoundError(f"no status list {list_id[:40]!r}")
        return self.directory / f"{list_id}.state.json", self.directory / f"{list_id}.jwt"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _state(self, list_id: str) -> dict[str, Any] | None:
        state_path, _ = self._paths(list_id)
        if not state_path.exists():
            return None
        state = json.loads(state_path.read_text())
        assert isinstance(state, dict)
        return state

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)

    def token(self, list_id: str) -> str | None:
        """The latest signed token of the list, or None."""
        _, token_path = self._paths(list_id)
        return token_path.read_text().strip() if token_path.exists() else None

    def token_for(self, claims: dict[str, Any]) -> str | None:
        """The latest token of the list a passport names, when this directory keeps it."""
        try:
            ref = status_ref(claims)
        except VerificationError:
            return None
        return None if ref is None else self.token(ref[1].rsplit("/", 1)[1])

    def _sign(self, key: SigningKey, state: dict[str, Any], statuses: StatusList, now: int) -> None:
        list_id = list_id_for(str(state["issuer"]))
        kept = self.token(list_id)  # may have been published from elsewhere (accept) since
        kept_iat = 0
        if kept is not None:
            try:
                kept_iat = int(json.loads(b64u_decode(kept.split(".")[1])).get("iat", 0))
            except (EncodingError, IndexError, ValueError, TypeError, AttributeError):
                kept_iat = 0
        iat = max(now, int(state.get("iat", 0)) + 1, kept_iat + 1)  # strictly newer than the token it replaces
        if kept is not None:  # a revocation published here stays revoked in every list signed after it
            try:
                kept_list = StatusList.decode(json.loads(b64u_decode(kept.split(".")[1])).get("status_list"))
            except (EncodingError, VerificationError, IndexError, ValueError, AttributeError):
                kept_list = None
            if kept_list is not None and kept_list.bits == statuses.bits:
                for idx in range(min(kept_list.size, statuses.size)):
                    if kept_list.get(idx) == 1 and statuses.get(idx) != 1:
                        statuses.data[idx * statuses.bits // 8] &= ~(((1 << statuses.bits) - 1) << (idx * statuses.bits % 8)) & 0xFF
                        statuses.data[idx * statuses.bits // 8] |= 1 << (idx * statuses.bits % 8)
        token = issue_status_list_token(key, state["uri"], statuses, iat, issuer=str(state["issuer"]))
        state["iat"], state["list"] = iat, statuses.encode()
        state_path, token_path = self._paths(list_id)
        self._write(state_path, json.dumps(state, sort_keys=True))
        self._write(token_path, token)

    def _signer_of_kept(self, list_id: str) -> str | None:
        """The did:key that signed the kept token of a list (its ``kid``, else its ``iss``)."""
        kept = self.token(list_id)
        if kept is None:
            return None
        try:
            header, payload = (json.loads(b64u_decode(part)) for part in kept.split(".")[:2])
            return jws_signing_key(header, str(payload.get("iss")))
        except (EncodingError, VerificationError, ValueError, AttributeError):
            return None

    def allocate(self, key: SigningKey, passport_id: str, base: str, now: int,
                 issuer: str | None = None) -> tuple[int, str]:
        """The (idx, uri) of ``passport_id`` in the list of ``issuer`` (default: ``key``'s did; a
        registered did ``key`` was rotated in for) at ``base``: the index it already holds, else a
        random free one (the list is signed anew, so the entry is published valid). A list last
        signed by another key (rotated out since) is signed anew by ``key``."""
        issuer = issuer if issuer is not None else key.did
        uri = status_uri(base, issuer)
        list_id = list_id_for(issuer)
        with self._locked():
            state = self._state(list_id) or {"issuer": issuer, "uri": uri, "entries": {}, "iat": 0}
            if state["uri"] != uri:
                raise EncodingError(f"{issuer}'s status list is published at {state['uri']}, not {uri}")
            entries: dict[str, int] = state["entries"]
            if passport_id in entries:
                if "list" in state and self._signer_of_kept(list_id) != key.did:
                    self._sign(key, state, StatusList.decode(state["list"]), now)
                return entries[passport_id], uri
            if len(entries) >= LIST_SIZE // 2:
                raise EncodingError(f"the status list of {issuer} is half full ({len(entries)} passports): "
                                    "start a new list before issuing more")
            used = set(entries.values())
            idx = secrets.randbelow(LIST_SIZE)
            while idx in used:
                idx = secrets.randbelow(LIST_SIZE)
            entries[passport_id] = idx
            statuses = StatusList.decode(state["list"]) if "list" in state else StatusList.new(LIST_SIZE)
            self._sign(key, state, statuses, now)
            return idx, uri

    def allocator(self, key: SigningKey, base: str, now: int,
                  issuer: str | None = None) -> Callable[[str], tuple[int, str]]:
        """``allocate`` bound to a key, a resolver base, a time and the issuer ``key`` signs for
        (``issue_passport(status=)``)."""
        return lambda passport_id: self.allocate(key, passport_id, base, now, issuer)

    def set_status(self, key: SigningKey, passport_id: str, status: str, now: int, issuer: str | None = None) -> str:
        """Set ``passport_id``'s status (``valid``, ``suspended`` or ``revoked``; revoked is final)
        in the list of ``issuer`` (default: ``key``'s did) and sign the list anew by ``key``.
        Returns the new token."""
        if status not in STATUS_VALUES:
            raise EncodingError(f"status must be one of {sorted(STATUS_VALUES)}, not {status!r}")
        issuer = issuer if issuer is not None else key.did
        list_id = list_id_for(issuer)
        with self._locked():
            state = self._state(list_id)
            if state is None or passport_id not in state["entries"]:
                raise NotFoundError(f"{issuer} has issued no passport {passport_id} with a status entry here")
            statuses = StatusList.decode(state["list"])
            try:
                statuses.set(int(state["entries"][passport_id]), STATUS_VALUES[status])
            except EncodingError as exc:
                raise RuleViolationError("statuslist.final", f"{passport_id}: {exc}") from exc
            self._sign(key, state, statuses, now)
            token = self.token(list_id)
            assert token is not None
            return token

    def status(self, passport_id: str, issuer_did: str) -> str:
        state = self._state(list_id_for(issuer_did))
        if state is None or passport_id not in state["entries"]:
            raise NotFoundError(f"no status entry for {passport_id}")
        return STATUS_NAMES[StatusList.decode(state["list"]).get(int(state["entries"][passport_id]))]

    def accept(self, token: str, now: int, check_key: Callable[[str, str], None] | None = None) -> StatusListToken:
        """Keep a token an issuer signed elsewhere (published to this service). The token must be
        the list of its issuer (its ``sub`` ends in the issuer's list id), signed by a key
        ``check_key(issuer, key)`` accepts for it (default: the issuer's own did:key), and newer than the one
        kept; refusals: ``statuslist.issuer``, ``statuslist.rollback``, ``VerificationError``
        (``SigningKeyError`` from ``check_key``)."""
        from batterytrace.crypto.status_list import MAX_TOKEN_CHARS

        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise VerificationError("a status list token is a compact JWS of at most 1 MiB")
        token = token.strip()
        try:
            payload = json.loads(b64u_decode(token.split(".")[1]))
        except (EncodingError, IndexError, ValueError) as exc:
            raise VerificationError(f"not a status list token: {exc}") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("iss"), str) or not isinstance(payload.get("sub"), str):
            raise VerificationError("a status list token names its issuer (iss) and list (sub)")
        issuer, uri = payload["iss"], payload["sub"]
        list_id = list_id_for(issuer)
        if not uri.endswith(f"/statuslists/{list_id}"):
            raise RuleViolationError("statuslist.issuer", f"{uri} is not the status list of {issuer}")
        judge = check_key
        verified = verify_status_list_token(token, issuer=issuer, uri=uri, now=now,
                                            check_key=None if judge is None else lambda key: judge(issuer, key))
        with self._locked():
            kept = self.token(list_id)
            if kept is not None:
                # the kept list may have expired since, or its key been rotated out: only its
                # signature and time matter here (it was judged when kept)
                old = verify_status_list_token(kept, issuer=issuer, uri=uri, now=now, check_expiry=False,
                                               check_key=lambda _key: None)
                if kept == token:
                    return verified
                if verified.issued_at <= old.issued_at:
                    raise RuleViolationError("statuslist.rollback", f"the list kept was signed at {old.issued_at}; "
                                             f"a token signed at {verified.issued_at} may not replace it")
                for idx in range(old.statuses.size):  # a revocation is final, whatever the issuer signs later
                    if old.statuses.get(idx) == 1 and (idx >= verified.statuses.size or verified.statuses.get(idx) != 1):
                        raise RuleViolationError("statuslist.final", f"entry {idx} was revoked and may not be reinstated")
            state_path, token_path = self._paths(list_id)
            state = self._state(list_id)
            if state is not None:  # this directory also signs the list: sign on from the published statuses
                state["list"], state["iat"] = verified.statuses.encode(), verified.issued_at
                self._write(state_path, json.dumps(state, sort_keys=True))
            self._write(token_path, token)
        return verified
