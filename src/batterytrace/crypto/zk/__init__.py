"""Zero-knowledge proofs on ristretto255 for confidential quantities (statements in docs/zk.md).

The API the ledger uses:

* commitments — ``commit(value_g, blinding)``, ``Opening``, ``random_opening``,
  ``decode_commitment(hex)`` (strict: valid, canonical, not the identity);
* balance kernels — ``prove_kernel`` / ``verify_kernel`` bound to an event hash;
* range proofs — ``prove_range`` / ``verify_range`` / ``verify_range_batch`` (aggregated over the
  values of one event; ``context`` binds the event under a label:
  ``event_context("outputs", event_hash)`` or ``element_context(event_hash, "Co")``);
* thresholds — ``LinearStatement`` (``loss_bound``, ``recycled_share``, ``at_most``) with
  ``prove_linear`` / ``verify_linear``;
* certified origin — ``certified_ring`` from ``CertificationRecord``s, ``prove_membership`` /
  ``verify_membership`` / ``verify_membership_batch``; ring keys registered with a proof of
  possession (``prove_possession`` / ``verify_possession``);
* one element of one confidential event — ``prove_element_balance`` /
  ``verify_element_balance`` / ``verify_element_balances`` (batched) and the wire form
  ``ElementBalanceProof.to_wire`` / ``from_wire``.

Every ``verify_*`` returns None or raises ``VerificationError`` naming what failed; decoders raise
``EncodingError``. Provers raise ``ValueError`` when asked to prove a false statement.
"""

from batterytrace.crypto.zk.confidential import (
    QUANTITY_BITS,
    ElementBalanceProof,
    ElementStatement,
    decode_commitment,
    element_context,
    event_context,
    prove_element_balance,
    verify_element_balance,
    verify_element_balances,
)
from batterytrace.crypto.zk.group import L, Point
from batterytrace.crypto.zk.kernel import KernelProof, prove_kernel, verify_kernel
from batterytrace.crypto.zk.linear import (
    LinearStatement,
    at_most,
    loss_bound,
    prove_linear,
    recycled_share,
    verify_linear,
)
from batterytrace.crypto.zk.oneofmany import (
    CertificationRecord,
    MembershipProof,
    certified_ring,
    prove_membership,
    verify_membership,
    verify_membership_batch,
)
from batterytrace.crypto.zk.pedersen import Opening, commit, open_commitment, random_opening
from batterytrace.crypto.zk.possession import PossessionProof, prove_possession, verify_possession
from batterytrace.crypto.zk.rangeproof import (
    RangeProof,
    prove_range,
    verify_range,
    verify_range_batch,
)

__all__ = [
    "QUANTITY_BITS",
    "CertificationRecord",
    "ElementBalanceProof",
    "ElementStatement",
    "KernelProof",
    "L",
    "LinearStatement",
    "MembershipProof",
    "Opening",
    "Point",
    "PossessionProof",
    "RangeProof",
    "at_most",
    "certified_ring",
    "commit",
    "decode_commitment",
    "element_context",
    "event_context",
    "loss_bound",
    "open_commitment",
    "prove_element_balance",
    "prove_kernel",
    "prove_linear",
    "prove_membership",
    "prove_possession",
    "prove_range",
    "random_opening",
    "recycled_share",
    "verify_element_balance",
    "verify_element_balances",
    "verify_kernel",
    "verify_linear",
    "verify_membership",
    "verify_membership_batch",
    "verify_possession",
    "verify_range",
    "verify_range_batch",
]
