"""Event times: RFC 3339 UTC strings ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` ↔ integer microseconds."""

from __future__ import annotations

from datetime import UTC, datetime

from batterytrace.errors import EncodingError

__all__ = ["format_time", "now_us", "parse_time"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CACHE: dict[str, int] = {}


def parse_time(text: str) -> int:
    """Parse an RFC 3339 UTC timestamp ending in ``Z`` to microseconds since the epoch."""
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    if not isinstance(text, str) or not text.endswith("Z") or "T" not in text:
        raise EncodingError(f"time must be RFC 3339 UTC ending in 'Z': {str(text)[:40]!r}")
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise EncodingError(f"malformed time {text!r}") from exc
    delta = dt - _EPOCH
    value = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if len(_CACHE) > 100_000:
        _CACHE.clear()
    _CACHE[text] = value
    return value


def format_time(us: int) -> str:
    dt = datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}"
    return text + "Z"


def now_us() -> int:
    dt = datetime.now(tz=UTC)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond
