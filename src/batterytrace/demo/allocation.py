"""Integer-exact bucket arithmetic for building scenarios: drawing element masses from a pool of
buckets in proportion (largest-remainder rounding), so every event balances to the gram."""

from __future__ import annotations

from collections.abc import Mapping

from batterytrace.model.buckets import element_totals, parse_bucket_key

__all__ = ["draw", "split_even"]


def draw(pool: dict[str, int], want: Mapping[str, int]) -> dict[str, int]:
    """Remove ``want[element]`` grams from ``pool`` spread over that element's buckets in
    proportion to their size; returns the buckets taken. Raises if the pool is short."""
    taken: dict[str, int] = {}
    totals = element_totals(pool)
    for el, grams in want.items():
        if grams <= 0:
            continue
        have = totals.get(el, 0)
        if grams > have:
            raise ValueError(f"pool holds {have} g {el}, {grams} g requested")
        keys = sorted(k for k in pool if parse_bucket_key(k).element == el and pool[k] > 0)
        shares = [(pool[k] * grams) // have for k in keys]
        rema = [(pool[k] * grams) % have for k in keys]
        short = grams - sum(shares)
        for idx in sorted(range(len(keys)), key=lambda i: (-rema[i], keys[i]))[:short]:
            shares[idx] += 1
        for k, g in zip(keys, shares, strict=True):
            if g:
                taken[k] = taken.get(k, 0) + g
                pool[k] -= g
    for k in [k for k, v in pool.items() if v == 0]:
        del pool[k]
    return taken


def split_even(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
