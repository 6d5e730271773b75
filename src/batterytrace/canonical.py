"""RFC 8785 JSON Canonicalization Scheme (JCS).

``canonical_json`` serialises a JSON value (dict with str keys, list, str, int, float, bool, None)
to its canonical UTF-8 bytes: object members sorted by the UTF-16 code units of their names, no
whitespace, minimal string escaping, numbers in the ECMAScript ``Number.prototype.toString`` form.
Integers outside the IEEE-754 exact range (|n| > 2^53) are refused, as are NaN and infinities,
because they cannot be represented by an I-JSON number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from batterytrace.errors import EncodingError

__all__ = ["MAX_JSON_DEPTH", "MAX_SAFE_INTEGER", "canonical_json", "canonical_json_plain", "check_depth", "format_number", "parse_json", "parse_json_probed"]

MAX_SAFE_INTEGER = 2**53 - 1
# Deepest nesting of arrays and objects any batterytrace document needs is about a dozen levels;
# parsing refuses more before the recursive parser sees it (a deep array must never reach the
# interpreter's recursion limit, or the C stack when a library raised that limit).
MAX_JSON_DEPTH = 100
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


_INNERMOST = re.compile(rb"\[\]|\{\}")


def check_depth(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``EncodingError`` when JSON text nests arrays/objects deeper than ``limit``. Runs at C
    speed without recursion: strings are cut out, everything but brackets dropped, and innermost
    ``[]``/``{}`` pairs removed one level per pass; text still holding brackets after ``limit``
    passes is deeper than ``limit`` (or malformed, which the parser would refuse anyway)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    for level in range(limit):
        if not brackets:
            return
        # after ``level`` passes, a run of this many opening brackets proves the depth
        if re.search(rb"[\[{]{%d}" % (limit + 1 - level), brackets):
            break
        # one regex pass removes exactly the innermost pairs of either kind: two chained replaces
        # would also remove the "{}" a "[]" removal just formed ("{[]}"), two levels in one pass
        shorter = _INNERMOST.sub(b"", brackets)
        if len(shorter) == len(brackets):
            break  # unbalanced: not JSON
        brackets = shorter
    if brackets:
        raise EncodingError(f"JSON is malformed or nests deeper than {limit} levels")


_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def format_number(value: float | int) -> str:
    """Serialise a number the way ECMAScript's ``Number.prototype.toString`` does."""
    if isinstance(value, bool):
        raise EncodingError("booleans are not numbers")
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise EncodingError(f"integer {value} is outside the I-JSON safe range")
        return str(value)
    if not math.isfinite(value):
        raise EncodingError("NaN and infinities have no JSON representation")
    if value == 0.0:
        return "0"
    if value < 0:
        return "-" + format_number(-value)
    # repr gives the shortest round-tripping digits; re-lay them out per ECMA-262 Number::toString.
    coeff, _, exp_text = repr(value).lower().partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = coeff.partition(".")
    joined = int_part + frac_part
    stripped = joined.lstrip("0")
    # n: decimal exponent such that value = 0.s * 10^n
    n = len(int_part) - (len(joined) - len(stripped)) + exponent
    s = stripped.rstrip("0")
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e_out = n - 1
    sign = "+" if e_out >= 0 else "-"
    if k == 1:
        return f"{s}e{sign}{abs(e_out)}"
    return f"{s[0]}.{s[1:]}e{sign}{abs(e_out)}"


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int | float):
        out.append(format_number(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        try:
            keys = sorted(value, key=_utf16_key)
        except AttributeError as exc:
            raise EncodingError("object member names must be strings") from exc
        for key in keys:
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise EncodingError(f"{type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of ``value``."""
    out: list[str] = []
    try:
        _write(value, out)
    except RecursionError as exc:
        raise EncodingError("value nests too deeply to encode") from exc
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("strings must not contain lone surrogates") from exc


def _reject_constant(name: str) -> Any:
    raise EncodingError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, val in pairs:
        if key in result:
            raise EncodingError(f"duplicate object member {key!r}")
        result[key] = val
    return result


def _json_int(text: str) -> int | float:
    """An integral JSON number beyond ±(2^53 − 1) denotes a double (I-JSON), as ``canonical_json``
    writes large doubles in integral digits: read it as that double, so parsing canonical text and
    canonicalising again gives back the same bytes."""
    value = int(text)
    return value if abs(value) <= MAX_SAFE_INTEGER else _json_float(text)


def _json_float(text: str) -> float:
    """A JSON number as a double; one beyond the double range (``1e400``) is refused, never read
    as infinity (I-JSON: numbers are finite doubles)."""
    value = float(text)
    if not math.isfinite(value):
        raise EncodingError(f"number {text[:24]}{'…' if len(text) > 24 else ''} is beyond the range of a double")
    return value


def parse_json(data: bytes | str) -> Any:
    """Parse strict I-JSON: no duplicate names, no NaN/Infinity; integral numbers beyond the safe
    integer range are read as doubles."""
    check_depth(data)
    try:
        return json.loads(
            data, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_int=_json_int,
            parse_float=_json_float,
        )
    except RecursionError as exc:
        raise EncodingError("malformed JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, EncodingError):
            raise
        raise EncodingError(f"malformed JSON: {exc}") from exc


_dumps_plain = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def canonical_json_plain(value: Any) -> bytes:
    """RFC 8785 bytes of a *plain* value — one ``parse_json_probed`` reported plain: no floats, no
    integers outside the safe range, no member names outside the Basic Multilingual Plane. For such
    values the C encoder's output is exactly JCS: the same string escaping (``_write`` uses the same
    encoder for strings), ``str(int)`` numbers, and code-point key order, which equals UTF-16 order
    when every name is in the BMP. Anything else must go through ``canonical_json``."""
    try:
        return _dumps_plain(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("strings must not contain lone surrogates") from exc


def parse_json_probed(data: bytes | str) -> tuple[Any, bool]:
    """``parse_json`` that also reports whether the value is plain (see ``canonical_json_plain``)."""
    plain = [True]

    def on_float(text: str) -> float:
        plain[0] = False
        return _json_float(text)

    def on_int(text: str) -> int | float:
        value = _json_int(text)  # as parse_json: beyond the safe range, a double
        if isinstance(value, float):
            plain[0] = False
        return value

    def on_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = _no_duplicates(pairs)
        for key in result:
            if not key.isascii() and max(key) > "\uffff":
                plain[0] = False
        return result

    check_depth(data)
    try:
        value = json.loads(data, object_pairs_hook=on_object, parse_constant=_reject_constant,
                           parse_float=on_float, parse_int=on_int)
    except RecursionError as exc:
        raise EncodingError("malformed JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, EncodingError):
            raise
        raise EncodingError(f"malformed JSON: {exc}") from exc
    return value, plain[0]
