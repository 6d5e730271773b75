"""Benchmarks of the zero-knowledge layer (group `zk` of `batterytrace bench`).

Every figure is a median over repetitions of real proofs made and checked here; nothing is
extrapolated. Anchors are published figures of native implementations, printed for comparison.
Times are the process's CPU time (``time.process_time``): the work is single-threaded and CPU-bound,
so on an idle machine this equals wall-clock time, and on the shared 2-core development machine it
does not count the time other jobs hold the CPU.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from batterytrace.crypto.zk.group import (
    BASEPOINT,
    base_mul,
    multiexp,
    multiexp_buckets,
    random_scalar,
)
from batterytrace.crypto.zk.kernel import prove_kernel, verify_kernel
from batterytrace.crypto.zk.oneofmany import (
    prove_membership,
    verify_membership,
    verify_membership_batch,
)
from batterytrace.crypto.zk.pedersen import random_opening
from batterytrace.crypto.zk.rangeproof import prove_range, verify_range, verify_range_batch

__all__ = ["run_benchmarks"]

DALEK = "dalek bulletproofs (Rust): 7.3 ms prove / 1.04 ms verify"
MONERO = "Monero: 28.7 ms prove / 4.47 ms verify"


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        times.append((time.process_time() - t0) * 1000)
    return round(statistics.median(times), 3)


def _metric(
    value: float, unit: str, target: float | None = None, anchor: str | None = None
) -> dict[str, Any]:
    # times here are process CPU time, not wall time: the unit says so
    return {"value": value, "unit": f"{unit} CPU" if unit in ("ms", "µs") else unit, "target": target, "anchor": anchor}


def _group_ops(reps: int) -> dict[str, dict[str, Any]]:
    p = base_mul(random_scalar())
    k = random_scalar()
    n = 200 * reps

    def per_op_us(fn: Callable[[], object]) -> float:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        return round((time.process_time() - t0) / n * 1e6, 2)

    terms = 128
    scalars = [random_scalar() for _ in range(terms)]
    points = [base_mul(random_scalar()) for _ in range(terms)]
    return {
        "zk_scalarmult_us": _metric(per_op_us(lambda: p * k), "µs", None, "DESIGN.md: ≈ 57 µs"),
        "zk_base_mult_us": _metric(
            per_op_us(lambda: base_mul(k)), "µs", None, "DESIGN.md: ≈ 19 µs"
        ),
        "zk_point_add_us": _metric(
            per_op_us(lambda: p + BASEPOINT), "µs", None, "DESIGN.md: ≈ 16 µs"
        ),
        "zk_multiexp_128_terms_ms": _metric(
            _median_ms(lambda: multiexp(scalars, points), reps),
            "ms",
            None,
            "one libsodium scalar mult + one add per term",
        ),
        "zk_multiexp_128_terms_buckets_ms": _metric(
            _median_ms(lambda: multiexp_buckets(scalars, points, 6), 1),
            "ms",
            None,
            "bucket (Pippenger) method, 6-bit windows, additions only — not used",
        ),
    }


def _range(
    n_bits: int, reps: int, target_prove: float | None, target_verify: float | None
) -> dict[str, dict[str, Any]]:
    ctx = b"bench"
    made = [prove_range([2**n_bits - 1 - i], [random_scalar()], n_bits, ctx) for i in range(reps)]
    it = iter(range(reps))
    prove = _median_ms(
        lambda: prove_range([12345 + next(it)], [random_scalar()], n_bits, ctx), reps
    )
    jt = iter(made)

    def verify_one() -> None:
        proof, v = next(jt)
        verify_range(proof, v, n_bits, ctx)

    verify = _median_ms(verify_one, reps)
    anchor = f"{DALEK}; {MONERO}" if n_bits == 64 else None
    return {
        f"zk_range{n_bits}_prove_ms": _metric(prove, "ms", target_prove, anchor),
        f"zk_range{n_bits}_verify_ms": _metric(verify, "ms", target_verify, anchor),
    }


def _batched(n_bits: int, count: int) -> dict[str, dict[str, Any]]:
    ctx = b"bench"
    items = []
    for i in range(count):
        proof, v = prove_range([1000 + i], [random_scalar()], n_bits, ctx)
        items.append((proof, v, n_bits, ctx))
    per = _median_ms(lambda: verify_range_batch(items), 3) / count
    return {
        f"zk_range{n_bits}_verify_batched_per_proof_ms": _metric(
            round(per, 3),
            "ms",
            2,
            f"batch of {count} single proofs, one multi-scalar multiplication",
        )
    }


def _aggregated_one(m: int, reps: int) -> dict[str, dict[str, Any]]:
    ctx = b"bench"
    values = [1000 * (j + 1) for j in range(m)]
    blind = [random_scalar() for _ in range(m)]
    made: list[Any] = []
    prove = _median_ms(lambda: made.append(prove_range(values, blind, 64, ctx)), reps)
    proof, v = made[0]
    verify = _median_ms(lambda: verify_range(proof, v, 64, ctx), reps)
    return {
        f"zk_range64_agg_m{m}_prove_ms": _metric(prove, "ms"),
        f"zk_range64_agg_m{m}_verify_ms": _metric(verify, "ms"),
    }


def _kernel(reps: int) -> dict[str, dict[str, Any]]:
    ins = [random_opening(600_000), random_opening(400_000)]
    outs = [random_opening(970_000)]
    loss = random_opening(30_000)
    e = sum(o.blinding for o in ins) - sum(o.blinding for o in outs) - loss.blinding
    c_in, c_out = [o.commitment() for o in ins], [o.commitment() for o in outs]
    proof = prove_kernel(e, c_in, c_out, loss.commitment(), b"event")
    verify = _median_ms(
        lambda: verify_kernel(proof, c_in, c_out, loss.commitment(), b"event"), reps
    )
    return {"zk_kernel_verify_ms": _metric(verify, "ms", None, "2 inputs, 1 output, 1 loss")}


def _membership_one(size: int, reps: int) -> dict[str, dict[str, Any]]:
    sks = [random_scalar() for _ in range(size)]
    ring = [base_mul(s) for s in sks]
    made: list[Any] = []
    prove = _median_ms(lambda: made.append(prove_membership(ring, sks[size // 3], b"event")), reps)
    verify = _median_ms(lambda: verify_membership(made[0], ring, b"event"), reps)
    tp, tv = (120.0, 30.0) if size == 256 else (None, None)
    return {
        f"zk_membership_n{size}_prove_ms": _metric(prove, "ms", tp),
        f"zk_membership_n{size}_verify_ms": _metric(verify, "ms", tv),
    }


def _membership_batched(size: int, count: int) -> dict[str, dict[str, Any]]:
    sks = [random_scalar() for _ in range(size)]
    ring = [base_mul(s) for s in sks]
    items = [
        (prove_membership(ring, sks[(7 * i) % size], b"event %d" % i), ring, b"event %d" % i)
        for i in range(count)
    ]
    per = _median_ms(lambda: verify_membership_batch(items), 3) / count
    return {
        f"zk_membership_n{size}_verify_batched_per_proof_ms": _metric(
            round(per, 3), "ms", None, f"batch of {count} proofs over one ring"
        )
    }


def run_benchmarks(quick: bool) -> dict[str, dict[str, Any]]:
    reps = 5 if quick else 15
    results: dict[str, dict[str, Any]] = {}
    results.update(_group_ops(1 if quick else 5))
    results.update(_range(64, reps, 30, 12))
    results.update(_range(48, reps, None, None))
    results.update(_batched(64, 32 if quick else 128))
    for m in [1, 2, 4] if quick else [1, 2, 4, 8, 16]:
        results.update(_aggregated_one(m, 2 if quick else 5))
    results.update(_kernel(reps))
    for size in [16, 256] if quick else [16, 64, 256, 1024]:
        results.update(_membership_one(size, reps))
    results.update(_membership_batched(256, 8 if quick else 64))
    return results
