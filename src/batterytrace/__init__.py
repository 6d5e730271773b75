"""batterytrace: trace battery minerals from mine to car to recycler; issue verifiable passports.

The public surface is small: open a ``Ledger``, submit ``SignedEvent``s, trace, verify the log.
"""

from batterytrace.errors import (
    BatterytraceError,
    RuleViolationError,
    StorageError,
    VerificationError,
)
from batterytrace.ledger.ledger import BatchResult, Ledger, Receipt
from batterytrace.model.events import SignedEvent, sign_event

__all__ = [
    "BatchResult",
    "BatterytraceError",
    "Ledger",
    "Receipt",
    "RuleViolationError",
    "SignedEvent",
    "StorageError",
    "VerificationError",
    "sign_event",
]
__version__ = "0.1.0"
