"""web3.py client of the CheckpointRegistry: deploy, register operators, anchor checkpoints.

Every call to the node is retried with exponential backoff on connection failures and then fails
with ``ServiceUnavailableError`` naming the endpoint; receipts are awaited with a timeout.
Submission is idempotent: a checkpoint already on chain is found (contract state + its event) and
returned instead of being sent again, and a resent transaction is the same signed bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from batterytrace.anchoring._libs import quiet_chain_imports
from batterytrace.anchoring.contract import checkpoint_hash, load_artifact
from batterytrace.anchoring.records import AnchorRecord
from batterytrace.errors import AnchorError, ServiceUnavailableError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint

__all__ = ["AnchorClient", "connect_rpc", "decode_anchored"]

T = TypeVar("T")
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors = list(_CONNECTION_ERRORS)
    try:
        import requests

        errors.append(requests.exceptions.ConnectionError)
        errors.append(requests.exceptions.Timeout)
    except ImportError:  # pragma: no cover
        pass
    quiet_chain_imports("web3")
    from web3.exceptions import ProviderConnectionError

    errors.append(ProviderConnectionError)
    return tuple(errors)


def connect_rpc(url: str, timeout_s: float = 10.0) -> Any:
    """A Web3 on a JSON-RPC HTTP endpoint (Besu, an L2, Ethereum, anvil)."""
    quiet_chain_imports("web3")
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(url, request_kwargs={"timeout": timeout_s}))


def decode_anchored(contract: Any, log: Any) -> dict[str, Any]:
    """Decode one ``Anchored`` log of the registry into plain values."""
    ev = contract.events.Anchored().process_log(log)
    args = ev["args"]
    return {
        "operator": str(args["operator"]), "tree_size": int(args["tree_size"]),
        "root_hash": bytes(args["root_hash"]), "checkpoint_hash": bytes(args["checkpoint_hash"]),
        "block_time": int(args["block_time"]), "log_id": str(args["log_id"]),
        "timestamp_us": int(args["timestamp_us"]), "signature": bytes(args["signature"]),
        "log_index": int(ev["logIndex"]), "tx_hash": "0x" + bytes(ev["transactionHash"]).hex(),
        "block_number": int(ev["blockNumber"]), "block_hash": "0x" + bytes(ev["blockHash"]).hex(),
    }


class AnchorClient:
    """One account talking to one registry contract through ``w3``.

    ``key`` is the account's private key (transactions are signed locally, so any node works);
    ``before_send`` lets the in-process chain catch up with blocks other processes journaled.
    """

    def __init__(
        self, w3: Any, key: bytes | None, contract: str | None, *, endpoint: str = "chain",
        retries: int = 4, backoff_s: float = 0.25, receipt_timeout_s: float = 60.0,
        before_send: Callable[[], None] | None = None,
    ) -> None:
        quiet_chain_imports("web3", "eth_account")
        from eth_account import Account

        self.w3 = w3
        self.endpoint = endpoint
        self.retries = retries
        self.backoff_s = backoff_s
        self.receipt_timeout_s = receipt_timeout_s
        self.before_send = before_send
        self.account = Account.from_key(key) if key is not None else None
        self.artifact = load_artifact()
        self.address = None if contract is None else w3.to_checksum_address(contract)
        self.contract = None if contract is None else w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self._conn_errors = _connection_errors()

    # ------------------------------------------------------------------------ plumbing
    def node(self, what: str, fn: Callable[[], T]) -> T:
        """Run one node call, retrying connection failures with exponential backoff."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except self._conn_errors as exc:
                if attempt == self.retries:
                    raise ServiceUnavailableError(
                        f"the chain node at {self.endpoint} is unreachable ({what}; "
                        f"{self.retries + 1} attempts): {exc}"
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def chain_id(self) -> int:
        return int(self.node("chain id", lambda: self.w3.eth.chain_id))

    def _registry(self) -> Any:
        if self.contract is None:
            raise AnchorError("no registry contract configured; deploy one first (anchor setup)")
        return self.contract

    def _sender(self) -> Any:
        if self.account is None:
            raise AnchorError("no chain account key configured for sending transactions")
        return self.account

    def _transact(self, fn: Any, what: str) -> Any:
        """Build, fund-check, sign, send (idempotently) and await one contract transaction."""
        quiet_chain_imports("web3", "eth_tester")
        from eth_tester.exceptions import TransactionFailed
        from eth_utils.exceptions import ValidationError
        from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

        account = self._sender()
        if self.before_send is not None:
            self.before_send()
        chain_id = self.chain_id()
        nonce = self.node("nonce", lambda: self.w3.eth.get_transaction_count(account.address, "pending"))
        balance = int(self.node("balance", lambda: self.w3.eth.get_balance(account.address)))
        if balance == 0:
            raise AnchorError(f"account {account.address} is unfunded on chain {chain_id}: balance 0 wei; "
                              f"{what} needs gas")
        try:
            tx = self.node("gas estimate", lambda: fn.build_transaction(
                {"from": account.address, "nonce": nonce, "chainId": chain_id}))
        except ContractLogicError as exc:
            raise AnchorError(f"the registry refused {what}: {exc.message or exc}") from exc
        except TransactionFailed as exc:  # the in-process chain's form of a revert
            reason = str(exc).removeprefix("execution reverted: ")
            raise AnchorError(f"the registry refused {what}: {reason}") from exc
        except (ValueError, Web3RPCError, ValidationError) as exc:
            raise self._value_error(what, exc) from exc
        price = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0)
        needed = int(tx["gas"]) * price + int(tx.get("value", 0))
        if balance < needed:
            raise AnchorError(
                f"account {account.address} is unfunded on chain {chain_id}: balance {balance} wei, "
                f"{what} needs up to {needed} wei"
            )
        signed = account.sign_transaction(tx)
        tx_hash = bytes(signed.hash)
        try:
            self.node("send", lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction))
        except (ValueError, Web3RPCError, ValidationError) as exc:
            text = str(exc).lower()
            if "already known" not in text and "nonce too low" not in text:
                raise self._value_error(what, exc) from exc
        try:
            receipt = self.node("receipt", lambda: self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout_s, poll_latency=0.05))
        except TimeExhausted as exc:
            raise AnchorError(
                f"no receipt for {what} (tx 0x{tx_hash.hex()}) within {self.receipt_timeout_s:g} s; "
                "it may still be mined: run the command again (submission is idempotent)"
            ) from exc
        if int(receipt["status"]) != 1:
            raise AnchorError(f"{what} reverted on chain (tx 0x{tx_hash.hex()})")
        return receipt

    def _value_error(self, what: str, exc: Exception) -> AnchorError:
        text = str(exc)
        if "insufficient funds" in text.lower() or "cannot afford" in text.lower():
            sender = self.account.address if self.account is not None else "?"
            return AnchorError(f"account {sender} is unfunded: the node refused {what}: {text}")
        return AnchorError(f"the node refused {what}: {text}")

    # -------------------------------------------------------------------------- owner
    def deploy(self) -> str:
        """Deploy a registry owned by this account; the client then talks to it."""
        factory = self.w3.eth.contract(abi=self.artifact.abi, bytecode=self.artifact.bytecode)
        receipt = self._transact(factory.constructor(), "the registry deployment")
        address = str(receipt["contractAddress"])
        self.address = self.w3.to_checksum_address(address)
        self.contract = self.w3.eth.contract(address=self.address, abi=self.artifact.abi)
        return address

    def register_operator(self, operator: str) -> None:
        addr = self.w3.to_checksum_address(operator)
        self._transact(self._registry().functions.register_operator(addr), f"registering operator {addr}")

    # ----------------------------------------------------------------------- reading
    def is_operator(self, operator: str) -> bool:
        c = self._registry()
        return bool(self.node("is_operator", lambda: c.functions.is_operator(operator).call()))

    def latest_size(self, operator: str) -> int:
        c = self._registry()
        return int(self.node("latest_size", lambda: c.functions.latest_size(operator).call()))

    def anchor_count(self, operator: str) -> int:
        c = self._registry()
        return int(self.node("anchor_count", lambda: c.functions.anchor_count(operator).call()))

    def operator_anchors(self, operator: str) -> list[dict[str, Any]]:
        """Every decoded ``Anchored`` event ``operator`` emitted in this registry, in chain order."""
        quiet_chain_imports("web3")
        from web3 import Web3

        c = self._registry()
        topics = ["0x" + bytes(Web3.keccak(text=_ANCHORED_SIGNATURE)).hex(),
                  "0x" + bytes(12).hex() + operator[2:].lower()]
        params: dict[str, Any] = {"address": self.address, "topics": topics, "fromBlock": 0, "toBlock": "latest"}
        logs = self.node("logs", lambda: self.w3.eth.get_logs(params))
        return [decode_anchored(c, log) for log in logs]

    def stored(self, operator: str, tree_size: int) -> tuple[bytes, bytes, int, int]:
        """(root, checkpoint hash, block time, block number) the contract stores; zeros if none."""
        c = self._registry()
        row = self.node("checkpoint", lambda: c.functions.checkpoint(operator, tree_size).call())
        return bytes(row[0]), bytes(row[1]), int(row[2]), int(row[3])

    def anchored_events(self, operator: str, tree_size: int, block_number: int | None = None) -> list[dict[str, Any]]:
        """Decoded ``Anchored`` events of ``operator`` for ``tree_size``."""
        quiet_chain_imports("web3")
        from web3 import Web3

        c = self._registry()
        topics = [
            "0x" + bytes(Web3.keccak(text=_ANCHORED_SIGNATURE)).hex(),
            "0x" + bytes(12).hex() + operator[2:].lower(),
            "0x" + tree_size.to_bytes(32, "big").hex(),
        ]
        params: dict[str, Any] = {"address": self.address, "topics": topics,
                                  "fromBlock": block_number if block_number is not None else 0,
                                  "toBlock": block_number if block_number is not None else "latest"}
        logs = self.node("logs", lambda: self.w3.eth.get_logs(params))
        return [decode_anchored(c, log) for log in logs]

    # ------------------------------------------------------------------------ anchor
    def anchor(self, cp: Checkpoint) -> AnchorRecord:
        """Put ``cp`` on chain (or find it there) and return where it is."""
        account = self._sender()
        if self.before_send is not None:
            self.before_send()
        if cp.tree_size <= 0:
            raise AnchorError("an empty log has nothing to anchor")
        found = self.find(cp, account.address)
        if found is not None:
            return found
        latest = self.latest_size(account.address)
        if latest >= cp.tree_size:
            raise AnchorError(
                f"the registry already holds a checkpoint of size {latest} for {account.address}; "
                f"tree size never decreases (asked to anchor size {cp.tree_size})"
            )
        if not self.is_operator(account.address):
            raise AnchorError(
                f"account {account.address} is not a registered operator of registry {self.address}; "
                "its owner must register it first"
            )
        fn = self._registry().functions.anchor(
            cp.tree_size, cp.root_hash, checkpoint_hash(cp), cp.log_id, cp.timestamp, cp.signature
        )
        try:
            receipt = self._transact(fn, f"the anchor of tree size {cp.tree_size}")
        except AnchorError:
            # An earlier, timed-out submission of this checkpoint may have been mined meanwhile.
            found = self.find(cp, account.address)
            if found is not None:
                return found
            raise
        for log in receipt["logs"]:
            if str(log["address"]).lower() == str(self.address).lower():
                return self._record(decode_anchored(self._registry(), log))
        raise AnchorError(f"the anchor transaction 0x{bytes(receipt['transactionHash']).hex()} emitted no event")

    def find(self, cp: Checkpoint, operator: str) -> AnchorRecord | None:
        """The on-chain record of ``cp`` if it is already anchored by ``operator``; raises when
        the chain holds another root for that size."""
        root, chash, _, block = self.stored(operator, cp.tree_size)
        if root == bytes(32):
            return None
        if root != cp.root_hash or chash != checkpoint_hash(cp):
            raise VerificationError(
                f"the chain already holds a different checkpoint of size {cp.tree_size} for "
                f"{operator} (root {root.hex()}, ours {cp.root_hash.hex()})"
            )
        events = [e for e in self.anchored_events(operator, cp.tree_size, block) if e["checkpoint_hash"] == chash]
        if not events:
            raise VerificationError(f"the registry stores size {cp.tree_size} but block {block} has no event for it")
        return self._record(events[0])

    def _record(self, ev: dict[str, Any]) -> AnchorRecord:
        return AnchorRecord(
            tree_size=ev["tree_size"], root_hash=ev["root_hash"].hex(),
            checkpoint_hash=ev["checkpoint_hash"].hex(), chain_id=self.chain_id(),
            contract=str(self.address), operator=ev["operator"], block_number=ev["block_number"],
            block_hash=ev["block_hash"], tx_hash=ev["tx_hash"], log_index=ev["log_index"],
            block_time=ev["block_time"],
        )


_ANCHORED_SIGNATURE = "Anchored(address,uint256,bytes32,bytes32,uint256,string,uint256,bytes)"
