"""Review attacks on passport status lists: a revocation published to the service (POST
/statuslists, ``StatusLists.accept``) is undone when the service next signs the same issuer's list
itself, and a list carrying ``exp`` blocks every later publication once it expires."""

from __future__ import annotations

import json
import time
from pathlib import Path

from batterytrace.crypto.signing import SigningKey
from batterytrace.crypto.status_list import STATUS_TYP, StatusList, verify_status_list_token
from batterytrace.encoding import b64u_encode
from batterytrace.passport.issue import DIGITAL_LINK_BASE
from batterytrace.passport.status import StatusLists, list_id_for

KEY = SigningKey.from_label("review/status-issuer")


def _token(uri: str, statuses: StatusList, iat: int, **extra: int) -> str:
    """A Status List Token signed by KEY with extra payload claims (``exp``)."""
    header = {"alg": "EdDSA", "typ": STATUS_TYP}
    payload = {"iss": KEY.did, "sub": uri, "iat": iat, "status_list": statuses.encode(), **extra}
    signing_input = ".".join(b64u_encode(json.dumps(x).encode()) for x in (header, payload))
    return f"{signing_input}.{b64u_encode(KEY.sign(signing_input.encode()))}"


def test_a_published_revocation_survives_the_service_signing_the_list_again(tmp_path: Path) -> None:
    now = int(time.time())
    desk = StatusLists(tmp_path / "desk")  # the service's, which also holds the issuer's key (hosted issuer)
    idx, uri = desk.allocate(KEY, "urn:pass:p", DIGITAL_LINK_BASE, now)
    # the issuer revokes passport p with its own tooling and publishes the list to the service
    served = desk.token(list_id_for(KEY.did))
    assert served is not None
    statuses = verify_status_list_token(served, issuer=KEY.did, uri=uri, now=now).statuses
    statuses.set(idx, 1)
    desk.accept(_token(uri, statuses, now + 1), now + 1)
    # the service then issues another passport of the same issuer (lazy issuance on GET)
    desk.allocate(KEY, "urn:pass:q", DIGITAL_LINK_BASE, now + 2)
    latest = desk.token(list_id_for(KEY.did))
    assert latest is not None
    verified = verify_status_list_token(latest, issuer=KEY.did, uri=uri, now=now + 2)
    assert verified.status_of(idx) == "revoked"  # a revocation is final
    assert desk.status("urn:pass:p", KEY.did) == "revoked"


def test_an_expired_list_does_not_block_the_next_publication(tmp_path: Path) -> None:
    now = int(time.time())
    desk = StatusLists(tmp_path / "desk")
    uri = f"{DIGITAL_LINK_BASE.rstrip('/')}/statuslists/{list_id_for(KEY.did)}"
    statuses = StatusList.new(1 << 16)
    desk.accept(_token(uri, statuses, now, exp=now + 60), now)
    # two minutes later the issuer revokes a passport and publishes a newer list
    statuses.set(7, 1)
    newer = _token(uri, statuses, now + 120, exp=now + 3600)
    desk.accept(newer, now + 120)
    assert desk.token(list_id_for(KEY.did)) == newer
