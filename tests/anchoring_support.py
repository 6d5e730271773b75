"""Helpers of the anchoring tests: an in-process registry and a ledger with demo events."""

from __future__ import annotations

import os
from dataclasses import dataclass

from batterytrace.anchoring.client import AnchorClient
from batterytrace.anchoring.inprocess import InProcessChain
from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.scenario import DEMO_LEDGER_ID
from batterytrace.ledger.checkpoint import Checkpoint, sign_checkpoint
from batterytrace.ledger.ledger import Ledger
from batterytrace.model.events import SignedEvent


@dataclass
class Registry:
    chain: InProcessChain
    owner: AnchorClient
    operator: AnchorClient
    stranger: AnchorClient


def random_checkpoint(key: SigningKey, size: int) -> Checkpoint:
    return sign_checkpoint(key, size, os.urandom(32), 1_790_000_000_000_000 + size, ledger=DEMO_LEDGER_ID)


@dataclass
class World:
    db: str
    ledger: Ledger
    operator_key: SigningKey
    keys: dict[str, SigningKey]
    packs: list[str]
    rest: list[SignedEvent]

    def submit_rest(self) -> None:
        assert not self.ledger.submit_batch(self.rest, check_clock=False).rejected
        self.rest = []
