"""RFC 8785 (JCS) canonical JSON: the RFC's number samples, key order and escaping; strict parsing."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.canonical import (
    MAX_JSON_DEPTH,
    canonical_json,
    check_depth,
    parse_json,
    parse_json_probed,
)
from batterytrace.errors import EncodingError

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical serialisations.
NUMBER_SAMPLES = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), NUMBER_SAMPLES)
def test_rfc8785_number_samples(bits: str, text: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(value) == text.encode()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    with pytest.raises(EncodingError):
        canonical_json({"x": bad})


def test_rfc8785_key_order_is_by_utf16_code_units() -> None:
    obj = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
           "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}
    values = [v for _, v in sorted(obj.items(), key=lambda kv: canonical_json(obj).index(canonical_json(kv[1])))]
    assert values == ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
                      "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]


def test_rfc8785_string_escaping_and_literals() -> None:
    value = {"literals": [None, True, False], "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/"}
    assert canonical_json(value) == (
        '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()
    )


def test_nested_structures_and_integers() -> None:
    assert canonical_json({"b": [1, {"d": 2, "c": 3}], "a": -0.0}) == b'{"a":0,"b":[1,{"c":3,"d":2}]}'
    assert canonical_json(2**53 - 1) == b"9007199254740991"


def test_integers_beyond_the_i_json_safe_range_are_refused() -> None:
    with pytest.raises(EncodingError):
        canonical_json(2**53)
    with pytest.raises(EncodingError):
        canonical_json(-(2**53))


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":2}', '{"a":NaN}', '{"a":Infinity}', "[1,]", '{"a":1', b"\xff\xfe"],
)
def test_strict_parse_refuses(text: str | bytes) -> None:
    with pytest.raises(EncodingError):
        parse_json(text)


def test_round_trip() -> None:
    value = {"kind": "extract", "outputs": [{"buckets": {"Co/certified/CD": 350000}}], "x": 0.5}
    assert parse_json(canonical_json(value)) == value


@pytest.mark.parametrize("value", [1e16, 2.0**53, -(2.0**60), 1e20, 123456789012345680000.0, 5.0, -0.0])
def test_canonical_form_is_stable_under_reparsing(value: float) -> None:
    """What the ledger stores is canonical JSON; parsing it back (Python reads integral digits as
    int) and canonicalising again must give the same bytes, or the stored event looks corrupt."""
    text = canonical_json({"v": value})
    assert canonical_json(parse_json(text)) == text


def test_integers_that_are_not_doubles_are_refused() -> None:
    with pytest.raises(EncodingError):
        canonical_json(2**53 + 1)


# --- the plain fast path used by ingest must be byte-identical to JCS --------------------------
from hypothesis import settings  # noqa: E402

from batterytrace.canonical import canonical_json_plain  # noqa: E402

_plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_plain_values)
def test_plain_fast_path_equals_jcs(value: object) -> None:
    import json as _json

    text = _json.dumps(value, ensure_ascii=False)
    parsed, plain = parse_json_probed(text)
    expect_plain = not any(not k.isascii() and max(k) > "\uffff" for k in _keys(parsed))
    assert plain == expect_plain
    if plain:
        try:
            assert canonical_json_plain(parsed) == canonical_json(parsed)
        except EncodingError:  # lone surrogates: both paths must refuse
            with pytest.raises(EncodingError):
                canonical_json(parsed)


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value] + [k2 for v in value.values() for k2 in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


@pytest.mark.parametrize("text", ['{"a":1.5}', '[9007199254740992]', '{"\\ud83d\\ude00":1,"\\ue000":2}', '[-9007199254740992]'])
def test_values_jcs_treats_specially_are_not_plain(text: str) -> None:
    _value, plain = parse_json_probed(text)
    assert not plain


def test_probed_parse_refuses_what_parse_refuses() -> None:
    for bad in ('{"a":1,"a":2}', "[NaN]", "{", b"\xff"):
        with pytest.raises(EncodingError):
            parse_json_probed(bad)
    # a non-BMP key sorts differently by code point and by UTF-16: the slow path is the reference
    value, plain = parse_json_probed('{"\\ud83d\\ude00":1,"\\ue000":2}')
    assert not plain and canonical_json(value) == '{"\U0001f600":1,"\ue000":2}'.encode()


def test_probed_parse_reads_numbers_as_parse_json_does() -> None:
    for text in ('{"v":10000000000000000}', '[9007199254740993]', '{"v":-1e16}', '{"v":12}'):
        value, _plain = parse_json_probed(text)
        assert value == parse_json(text) and type(value) is type(parse_json(text))
        assert canonical_json(value) == canonical_json(parse_json(text))


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=3), inner, max_size=3),
    max_leaves=40,
)


def test_mixed_brackets_are_not_unnested_two_levels_at_once() -> None:
    """[[], {"a": []}] nests 3 deep: a pass that removed "[]" and then the "{}" it formed would
    count 2 (found by the property below)."""
    text = json.dumps([[], {"a": []}])
    with pytest.raises(EncodingError):
        check_depth(text, 2)
    check_depth(text, 3)


@given(_json, st.integers(1, 12))
def test_depth_limit_agrees_with_the_nesting_it_parses(value: object, limit: int) -> None:
    """check_depth refuses exactly the documents nesting deeper than the limit, brackets inside
    strings (escaped quotes and backslashes included) ignored."""
    text = json.dumps(value)
    if _depth(value) > limit:
        with pytest.raises(EncodingError):
            check_depth(text, limit)
        with pytest.raises(EncodingError):
            check_depth(text.encode(), limit)
    else:
        check_depth(text, limit)
        check_depth(text.encode(), limit)


@pytest.mark.parametrize("doc", [b"[" * 100_000 + b"]" * 100_000, b"[[]" * 100_000 + b"]" * 100_000,
                                 b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_deep_documents_are_refused_before_parsing(doc: bytes) -> None:
    with pytest.raises(EncodingError, match="deeper than"):
        parse_json(doc)
    with pytest.raises(EncodingError, match="deeper than"):
        parse_json_probed(doc)
    parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)


@pytest.mark.parametrize("text", ["1e400", "-1e400", "[1e999]", '{"a": -2e308}', "1" + "0" * 400])
def test_numbers_beyond_a_double_are_refused_not_infinite(text: str) -> None:
    with pytest.raises(EncodingError, match="beyond the range of a double"):
        parse_json(text)
    with pytest.raises(EncodingError, match="beyond the range of a double"):
        parse_json_probed(text)
