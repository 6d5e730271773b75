"""Every error batterytrace raises.

    BatterytraceError
    ├── EncodingError          input that is not canonical JSON / not the expected shape
    ├── RuleViolationError     an event broke a ledger rule; ``.rule`` names it
    ├── VerificationError      a signature, proof, checkpoint or log check failed
    │   └── SplitViewError     two signed tree heads disagree for one tree size
    ├── NotFoundError          what was asked for does not exist (a lot, a passport)
    ├── StorageError           the store failed or holds inconsistent data
    ├── ServiceUnavailableError a needed service (database, chain node) cannot be reached
    ├── AnchorError            the chain refused an anchor (unfunded account, unregistered operator)
    └── ConfigError            invalid configuration

Each error carries the text the user sees; the CLI only prints it.
"""

from __future__ import annotations

__all__ = [
    "AnchorError",
    "BatterytraceError",
    "ConfigError",
    "EncodingError",
    "NotFoundError",
    "RuleViolationError",
    "ServiceUnavailableError",
    "SplitViewError",
    "StorageError",
    "VerificationError",
]


class BatterytraceError(Exception):
    """Base of every batterytrace error."""


class EncodingError(BatterytraceError):
    """Data cannot be encoded or decoded as required (canonical JSON, base64, did:key...)."""


class RuleViolationError(BatterytraceError):
    """An event broke a ledger rule. ``rule`` is the stable rule identifier (e.g. ``custody``)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


class VerificationError(BatterytraceError):
    """A cryptographic or log verification failed."""


class SplitViewError(VerificationError):
    """Two operator-signed tree heads for the same size carry different roots. ``evidence``, when
    set, is the portable evidence object (``SplitViewEvidence.to_dict()``)."""

    evidence: dict[str, object] | None = None


class NotFoundError(BatterytraceError):
    """What was asked for (a battery, a passport, a lot) does not exist."""


class StorageError(BatterytraceError):
    """The store failed or its contents are inconsistent."""


class ServiceUnavailableError(BatterytraceError):
    """An external service (PostgreSQL, a chain node) cannot be reached."""


class AnchorError(BatterytraceError):
    """The chain refused or cannot take an anchor transaction (unfunded account, an operator the
    registry does not know, a reverted or lost transaction)."""


class ConfigError(BatterytraceError):
    """Configuration is invalid."""
