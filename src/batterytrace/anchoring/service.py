"""Anchoring a ledger: set up the registry, anchor its signed tree heads on demand or every N
events / seconds, and verify the anchored history. Ingest never waits for any of this: anchoring
reads checkpoints the ledger already signed and runs in its own process or loop."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from batterytrace.anchoring.client import AnchorClient, connect_rpc
from batterytrace.anchoring.inprocess import InProcessChain, chain_path_for
from batterytrace.anchoring.records import (
    INPROCESS,
    AnchorConfig,
    AnchorRecord,
    add_record,
    load_config,
    load_records,
    record_for,
    save_config,
)
from batterytrace.anchoring.verify import verify_anchored_log
from batterytrace.crypto.signing import SigningKey
from batterytrace.errors import BatterytraceError, ConfigError, VerificationError
from batterytrace.ledger.checkpoint import Checkpoint
from batterytrace.ledger.ledger import Ledger

__all__ = ["CHAIN_KEY_ENV", "Anchoring", "RunSchedule", "read_chain_key"]

CHAIN_KEY_ENV = "BATTERYTRACE_CHAIN_KEY"
# In-process chain roles: genesis account 0 owns the registry, account 1 anchors.
_OWNER, _OPERATOR = 0, 1


def read_chain_key(path: str | None) -> bytes | None:
    """The chain account's private key: from a file holding it in hex, else from the
    ``BATTERYTRACE_CHAIN_KEY`` environment variable, else None."""
    text: str | None
    if path is not None:
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read()
        except OSError as exc:
            raise ConfigError(f"cannot read the chain key file {path!r}: {exc}") from exc
    else:
        text = os.environ.get(CHAIN_KEY_ENV)
    if text is None:
        return None
    try:
        key = bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError as exc:
        raise ConfigError("the chain key is not hex") from exc
    if len(key) != 32:
        raise ConfigError("the chain key must be 32 bytes (64 hex digits)")
    return key


@dataclass(frozen=True)
class RunSchedule:
    """Anchor when the log grew by ``every_events`` events or ``every_seconds`` passed (and it
    grew); stop after ``rounds`` polls (None: run until interrupted)."""

    every_events: int | None = None
    every_seconds: float | None = None
    poll_seconds: float = 1.0
    rounds: int | None = None


class Anchoring:
    """A ledger joined to the chain its configuration names."""

    def __init__(self, ledger: Ledger, config: AnchorConfig, client: AnchorClient,
                 chain: InProcessChain | None = None) -> None:
        self.ledger = ledger
        self.config = config
        self.client = client
        self.chain = chain

    # -------------------------------------------------------------------- construction
    @classmethod
    def setup(cls, ledger: Ledger, *, endpoint: str = INPROCESS, key: bytes | None = None,
              contract: str | None = None, chain_state: str | None = None,
              chain: InProcessChain | None = None) -> Anchoring:
        """Deploy a registry (or attach to ``contract``), register this ledger's chain account as
        an operator when this account owns the registry, and store the configuration."""
        if load_config(ledger.store) is not None:
            raise ConfigError("this ledger is already set up for anchoring")
        if endpoint == INPROCESS:
            if chain is None:
                if ledger.store.url.startswith(("postgresql://", "postgres://")) and chain_state is None:
                    raise ConfigError("a PostgreSQL ledger needs --chain-state PATH for its in-process chain")
                state = chain_state or chain_path_for(ledger.store.url)
                if state is None:
                    raise ConfigError("an in-memory ledger needs an in-process chain object")
                chain = InProcessChain(state)
            keys = chain.funded_keys()
            owner = AnchorClient(chain.w3, keys[_OWNER], contract, endpoint=INPROCESS, before_send=chain.sync)
            operator_key = keys[_OPERATOR]
            w3 = chain.w3
        else:
            if key is None:
                raise ConfigError(f"anchoring on {endpoint} needs a chain account key ({CHAIN_KEY_ENV} or --chain-key)")
            w3 = connect_rpc(endpoint)
            owner = AnchorClient(w3, key, contract, endpoint=endpoint)
            operator_key = key
        if contract is None:
            contract = owner.deploy()
        client = AnchorClient(w3, operator_key, contract, endpoint=endpoint,
                              before_send=chain.sync if chain is not None else None)
        assert client.account is not None
        if not client.is_operator(client.account.address):
            registry_owner = owner._registry().functions.owner().call()
            if owner.account is not None and registry_owner == owner.account.address:
                owner.register_operator(client.account.address)
        config = AnchorConfig(endpoint, client.chain_id(), str(client.address), client.account.address,
                              chain_state if endpoint == INPROCESS else None)
        save_config(ledger.store, config)
        return cls(ledger, config, client, chain)

    @classmethod
    def open(cls, ledger: Ledger, *, key: bytes | None = None, chain: InProcessChain | None = None,
             receipt_timeout_s: float = 60.0) -> Anchoring:
        config = load_config(ledger.store)
        if config is None:
            raise ConfigError("this ledger is not set up for anchoring; run 'batterytrace anchor setup'")
        if config.endpoint == INPROCESS:
            if chain is None:
                state = config.chain_state or chain_path_for(ledger.store.url)
                if state is None:
                    raise ConfigError("the in-process chain of this ledger was not persisted")
                chain = InProcessChain(state)
            w3, key, endpoint = chain.w3, chain.funded_keys()[_OPERATOR], INPROCESS
        else:
            w3, endpoint = connect_rpc(config.endpoint), config.endpoint
        client = AnchorClient(w3, key, config.contract, endpoint=endpoint, receipt_timeout_s=receipt_timeout_s,
                              before_send=chain.sync if chain is not None else None)
        if client.account is not None and client.account.address.lower() != config.operator.lower():
            raise ConfigError(f"the chain key is for {client.account.address}, this ledger anchors as {config.operator}")
        return cls(ledger, config, client, chain)

    def close(self) -> None:
        if self.chain is not None:
            self.chain.close()

    # ------------------------------------------------------------------------ anchoring
    def records(self) -> list[AnchorRecord]:
        return load_records(self.ledger.store)

    def anchor_checkpoint(self, cp: Checkpoint) -> AnchorRecord:
        cp.verify(self.ledger.operator_did)
        record = self.client.anchor(cp)
        add_record(self.ledger.store, record)
        return record

    def anchor_latest(self, operator_key: SigningKey | None = None) -> AnchorRecord:
        """Anchor the latest signed tree head; with ``operator_key``, first sign a new one when
        the log grew past it."""
        cp = self.ledger.latest_checkpoint()
        if operator_key is not None and (cp is None or cp.tree_size < self.ledger.size()):
            cp = self.ledger.sign_tree_head(operator_key)
        if cp is None:
            raise BatterytraceError("no signed tree head to anchor; sign one (log head) or pass the operator key")
        existing = record_for(self.ledger.store, cp)
        if existing is not None and existing.contract == self.config.contract:
            return existing
        return self.anchor_checkpoint(cp)

    def run(self, schedule: RunSchedule, operator_key: SigningKey,
            report: Callable[[str], None] = lambda _: None,
            sleep: Callable[[float], None] = time.sleep) -> int:
        """Anchor on a schedule; chain failures are reported and retried on the next round, never
        raised, so the loop (and the log) keeps going. Returns the number of anchors made."""
        made, rounds = 0, 0
        done = self.records()
        last_size = done[-1].tree_size if done else 0
        last_time = time.monotonic()
        while schedule.rounds is None or rounds < schedule.rounds:
            rounds += 1
            size = self.ledger.size()
            grown = size - last_size
            due = grown > 0 and (
                (schedule.every_events is not None and grown >= schedule.every_events)
                or (schedule.every_seconds is not None and time.monotonic() - last_time >= schedule.every_seconds)
            )
            if due:
                try:
                    record = self.anchor_latest(operator_key)
                except BatterytraceError as exc:
                    report(f"anchoring failed, retrying next round: {exc}")
                else:
                    made += 1
                    last_size, last_time = record.tree_size, time.monotonic()
                    report(f"anchored tree size {record.tree_size} in block {record.block_number} tx {record.tx_hash}")
            if schedule.rounds is None or rounds < schedule.rounds:
                sleep(schedule.poll_seconds)
        return made

    def verify(self, *, contract: str | None = None, operator: str | None = None) -> None:
        """``anchor verify``; ``contract`` and ``operator`` pin the registry and anchoring account
        the verifier trusts (the stored configuration is the database's word, not the chain's)."""
        for what, pinned, configured in (("registry", contract, self.config.contract),
                                          ("anchoring account", operator, self.config.operator)):
            if pinned is not None and pinned.lower() != configured.lower():
                raise VerificationError(f"this ledger's stored configuration names {what} {configured}, "
                                        f"not the pinned {pinned}")
        verify_anchored_log(self.ledger, self.client, self.config.operator)
