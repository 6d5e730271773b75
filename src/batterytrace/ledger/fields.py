"""Field readers for event bodies: each failure is a ``schema`` rule violation naming the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from batterytrace.errors import EncodingError, RuleViolationError
from batterytrace.model.buckets import parse_bucket_key
from batterytrace.timeutil import parse_time

__all__ = [
    "opt_str",
    "req_buckets",
    "req_int",
    "req_list",
    "req_str",
    "req_time",
    "schema_error",
]


def schema_error(message: str) -> RuleViolationError:
    return RuleViolationError("schema", message)


def req_str(body: Mapping[str, Any], name: str, max_len: int = 512) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise schema_error(f"field {name!r} must be a non-empty string (≤ {max_len} chars)")
    return value


def opt_str(body: Mapping[str, Any], name: str, max_len: int = 512) -> str | None:
    if body.get(name) is None:
        return None
    return req_str(body, name, max_len)


def req_int(
    body: Mapping[str, Any], name: str, lo: int = 0, hi: int = 2**53 - 1, default: int | None = None
) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise schema_error(f"field {name!r} must be an integer in [{lo}, {hi}]")
    return value


def req_number(body: Mapping[str, Any], name: str, lo: float, hi: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise schema_error(f"field {name!r} must be a number")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise schema_error(f"field {name!r} must be in [{lo}, {hi}]")
    return float(value)


def req_list(body: Mapping[str, Any], name: str, min_len: int = 1, max_len: int = 100_000) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list) or not min_len <= len(value) <= max_len:
        raise schema_error(f"field {name!r} must be a list of {min_len}..{max_len} items")
    return value


def req_time(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    try:
        return parse_time(value) if isinstance(value, str) else parse_time("")
    except EncodingError as exc:
        raise schema_error(f"field {name!r}: {exc}") from exc


def req_buckets(body: Mapping[str, Any], name: str, allow_empty: bool = False) -> dict[str, int]:
    value = body.get(name, {} if allow_empty else None)
    if not isinstance(value, dict) or (not value and not allow_empty):
        raise schema_error(f"field {name!r} must be an object of bucket → grams")
    for key, grams in value.items():
        try:
            parse_bucket_key(key)
        except EncodingError as exc:
            raise schema_error(f"{name}: {exc}") from exc
        if isinstance(grams, bool) or not isinstance(grams, int) or not 0 <= grams < 2**48:
            raise schema_error(f"{name}[{key!r}] must be integer grams in [0, 2^48)")
    return dict(value)
