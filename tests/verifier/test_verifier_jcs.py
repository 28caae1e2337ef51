"""Canonical JSON out, strict JSON in."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import JSONError, VerificationError
from verifier.jcs import CanonicalizationError, canonical_json, parse_json_strict


def test_it_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_it_sorts_keys_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB01.
    assert canonical_json({"\ufb01": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb01":1}'.encode()


def test_it_writes_numbers_the_ecmascript_way() -> None:
    assert canonical_json([1.0, 1e21, 0.000001, -0.0]) == b"[1,1e+21,0.000001,0]"


def test_it_refuses_what_cannot_be_canonicalised() -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json({"n": 2**53})
    with pytest.raises(CanonicalizationError):
        canonical_json(float("nan"))
    with pytest.raises(CanonicalizationError):
        canonical_json({1: "non-string key"})


def test_it_parses_a_plain_document() -> None:
    assert parse_json_strict(b'{"a": [1, "two", null, 1.5]}') == {"a": [1, "two", None, 1.5]}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"kid": "a", "kid": "b"}', "json.duplicate_key"),
        (b'{"outer": {"x": 1, "x": 1}}', "json.duplicate_key"),
        (b'[{"a": 1}, {"b": 2, "b": 3}]', "json.duplicate_key"),
        (b'{"n": NaN}', "json.non_finite_number"),
        (b'{"n": Infinity}', "json.non_finite_number"),
        (b'{"n": -Infinity}', "json.non_finite_number"),
        (b'{"n": 1e400}', "json.non_finite_number"),
        (b'{"n": 9007199254740993}', "json.integer_out_of_range"),  # 2**53 + 1: no double
        (b'{"n": -9007199254740993}', "json.integer_out_of_range"),
        (b'{"n": 12345678901234567890123}', "json.integer_out_of_range"),
        (b"[" + b"9" * 5000 + b"]", "json.integer_out_of_range"),
        (b'{"s": "\xff"}', "json.invalid_utf8"),
        (b'{"s": "\xc0\xaf"}', "json.invalid_utf8"),  # overlong encoding of "/"
        ('{"s": "é"}'.encode("latin-1"), "json.invalid_utf8"),
        (b'\xef\xbb\xbf{"a": 1}', "json.malformed"),  # byte order mark
        (b'{"s": "\\ud800"}', "json.invalid_string"),
        (b'{"\\udfff": 1}', "json.invalid_string"),
        (b'{"a": 1,}', "json.malformed"),
        (b'{"a": 1} trailing', "json.malformed"),
        (b"", "json.malformed"),
        (b"[" * 100_000 + b"]" * 100_000, "json.malformed"),
    ],
)
def test_it_rejects_ambiguous_json(data: bytes, code: str) -> None:
    with pytest.raises(JSONError) as exc:
        parse_json_strict(data)
    assert exc.value.code == code
    assert isinstance(exc.value, VerificationError)
    assert str(exc.value)  # a human-readable reason, not an empty message


def test_it_reads_a_large_integer_that_a_double_holds_as_that_double() -> None:
    # RFC 8785 itself writes the float 1e16 as 10000000000000000.
    assert canonical_json(1e16) == b"10000000000000000"
    parsed = parse_json_strict(b"10000000000000000")
    assert parsed == 1e16
    assert isinstance(parsed, float)
    assert parse_json_strict(b"9007199254740991") == 2**53 - 1
    assert isinstance(parse_json_strict(b"9007199254740991"), int)


def test_it_names_the_duplicated_key() -> None:
    with pytest.raises(JSONError, match="'kid'"):
        parse_json_strict(b'{"kid": "a", "kid": "b"}')


def test_it_refuses_oversized_input() -> None:
    with pytest.raises(JSONError) as exc:
        parse_json_strict(b'"' + b"a" * 100 + b'"', max_bytes=50)
    assert exc.value.code == "json.too_large"


def test_it_insists_on_bytes() -> None:
    with pytest.raises(TypeError):
        parse_json_strict('{"a": 1}')  # type: ignore[arg-type]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(json_values)
def test_canonical_json_round_trips_through_the_strict_parser(value: Any) -> None:
    encoded = canonical_json(value)
    parsed = parse_json_strict(encoded)
    # Canonicalisation is idempotent: parsing and re-canonicalising changes nothing.
    assert canonical_json(parsed) == encoded
    assert parsed == value
