"""The web3 client: idempotent submission, clear errors for an unreachable node and an unfunded
account, retries with backoff."""

from __future__ import annotations

import secrets
import socket
import time

import pytest

from anchoring_support import Registry, random_checkpoint
from batterytrace.anchoring.client import AnchorClient, connect_rpc
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import DEMO_LEDGER_ID
from batterytrace.errors import AnchorError, ServiceUnavailableError, VerificationError

KEY = SigningKey.generate()


def test_submission_is_idempotent(registry: Registry) -> None:
    cp = random_checkpoint(KEY, 12)
    first = registry.operator.anchor(cp)
    height = registry.chain.w3.eth.block_number
    again = registry.operator.anchor(cp)
    assert again == first
    assert registry.chain.w3.eth.block_number == height  # nothing was sent the second time


def test_refuses_another_root_for_an_anchored_size(registry: Registry) -> None:
    registry.operator.anchor(random_checkpoint(KEY, 12))
    with pytest.raises(VerificationError, match="already holds a different checkpoint of size 12"):
        registry.operator.anchor(random_checkpoint(KEY, 12))


def test_refuses_empty_log(registry: Registry) -> None:
    from batterytrace.ledger.checkpoint import sign_checkpoint

    with pytest.raises(AnchorError, match="empty log"):
        registry.operator.anchor(sign_checkpoint(KEY, 0, bytes(32), 1, ledger=DEMO_LEDGER_ID))


def test_unfunded_account_is_named(registry: Registry) -> None:
    poor = AnchorClient(registry.chain.w3, secrets.token_bytes(32), registry.operator.address)
    registry.owner.register_operator(poor.account.address)  # type: ignore[union-attr]
    with pytest.raises(AnchorError, match=f"account {poor.account.address} is unfunded"):  # type: ignore[union-attr]
        poor.anchor(random_checkpoint(KEY, 3))


def test_unreachable_node_is_a_clear_error_after_retries() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = AnchorClient(connect_rpc(url, timeout_s=2), secrets.token_bytes(32), "0x" + "11" * 20,
                          endpoint=url, retries=2, backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=rf"chain node at {url} is unreachable .*3 attempts"):
        client.anchor(random_checkpoint(KEY, 3))
    assert time.monotonic() - started >= 0.05 + 0.1  # it backed off between attempts


def test_retry_recovers_from_a_transient_failure(registry: Registry) -> None:
    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("connection reset")
        return 7

    client = AnchorClient(registry.chain.w3, None, None, retries=3, backoff_s=0.01)
    assert client.node("probe", flaky) == 7 and len(calls) == 3


def test_without_key_or_contract_the_client_says_what_is_missing(registry: Registry) -> None:
    reader = AnchorClient(registry.chain.w3, None, registry.operator.address)
    with pytest.raises(AnchorError, match="no chain account key"):
        reader.anchor(random_checkpoint(KEY, 3))
    bare = AnchorClient(registry.chain.w3, secrets.token_bytes(32), None)
    with pytest.raises(AnchorError, match="no registry contract configured"):
        bare.anchor(random_checkpoint(KEY, 3))
