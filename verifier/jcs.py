"""Canonical JSON out (RFC 8785), strict JSON in.

Everything Timbre signs is serialised with :func:`canonical_json`, so that the
same document always yields the same bytes. Everything Timbre verifies is parsed
with :func:`parse_json_strict`, which refuses the inputs on which JSON parsers
disagree with each other (duplicate keys, NaN, invalid UTF-8, lone surrogates,
integers no double can hold): a signed document must mean one thing to every reader.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785
from rfc8785 import CanonicalizationError

from verifier.errors import JSONError

__all__ = [
    "DEFAULT_MAX_JSON_BYTES",
    "CanonicalizationError",
    "canonical_json",
    "parse_json_strict",
]

# Signed documents, proofs and JWKS files are a few KiB; the cap only exists so
# that a hostile input cannot make the parser allocate without bound.
DEFAULT_MAX_JSON_BYTES = 1 << 20

# Largest integer n such that every integer up to n is an exact IEEE 754 double
# (I-JSON, RFC 7493 §2.2).
_MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` as RFC 8785 canonical JSON (UTF-8 bytes).

    Accepts ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int`` within
    ±(2**53 - 1), finite ``float``, ``bool`` and ``None``. Anything else raises
    :class:`CanonicalizationError` (a ``ValueError``): that is a programming error
    on the signing side, not bad input, so it is deliberately not a
    ``VerificationError``.
    """
    return rfc8785.dumps(obj)


def parse_json_strict(data: bytes, *, max_bytes: int = DEFAULT_MAX_JSON_BYTES) -> Any:
    """Parse untrusted JSON bytes, refusing anything ambiguous.

    Raises :class:`~verifier.errors.JSONError` with one of the codes
    ``json.too_large``, ``json.invalid_utf8``, ``json.malformed``,
    ``json.duplicate_key``, ``json.non_finite_number``,
    ``json.integer_out_of_range`` or ``json.invalid_string``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        # Taking str would hide the encoding question this function exists to answer.
        raise TypeError("parse_json_strict takes bytes, not " + type(data).__name__)
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise JSONError(
            "json.too_large", f"JSON document is {len(raw)} bytes; the limit is {max_bytes}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONError("json.invalid_utf8", f"JSON is not valid UTF-8 (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        # RFC 8259 §8.1: senders MUST NOT add a BOM; accepting one would let two
        # byte strings carry the same document.
        raise JSONError("json.malformed", "JSON must not start with a byte order mark")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_safe_int,
        )
    except JSONError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONError("json.malformed", f"malformed JSON: {exc.msg} at offset {exc.pos}") from exc
    except RecursionError as exc:
        raise JSONError("json.malformed", "JSON is nested too deeply") from exc
    except ValueError as exc:
        # Python's guard against quadratic int parsing (over 4300 digits) lands here.
        raise JSONError("json.malformed", f"malformed JSON: {exc}") from exc
    _reject_lone_surrogates(value)
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json's default keeps the last duplicate silently; another parser may keep the
    # first, so a duplicate key is exactly how two readers see two documents.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JSONError("json.duplicate_key", f"duplicate object key {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise JSONError("json.non_finite_number", f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        # "1e400" is syntactically valid JSON but overflows to infinity.
        raise JSONError("json.non_finite_number", f"number {literal} is out of range")
    return value


def _safe_int(literal: str) -> int | float:
    # I-JSON numbers are IEEE 754 doubles. Integers within ±(2**53 - 1) are exact
    # either way and stay ints. Beyond that, RFC 8785 itself writes a large float
    # in integer syntax ("1e16" -> "10000000000000000", using the shortest digits
    # that round-trip), so such a literal is read as that double when it is
    # exactly how RFC 8785 spells the double; re-canonicalising then gives the
    # same bytes. Any other big literal (2**53 + 1, say) would mean one number to
    # a reader with big integers and another to JavaScript, so it is refused.
    digits = literal.lstrip("-")
    if len(digits) > 21:  # RFC 8785 switches to exponent notation from 1e21 on
        raise JSONError("json.integer_out_of_range", f"integer {literal[:24]}... is out of range")
    value = int(literal)
    if abs(value) <= _MAX_SAFE_INTEGER:
        return value
    as_double = float(value)
    if rfc8785.dumps(as_double) != literal.encode("ascii"):
        raise JSONError(
            "json.integer_out_of_range",
            f"integer {literal} is not exactly a double; large numbers must travel as strings",
        )
    return as_double


def _reject_lone_surrogates(value: Any) -> None:
    # "\ud800" escapes decode to lone surrogates, which are not Unicode text
    # (RFC 7493 §2.1) and cannot be re-encoded as UTF-8 or canonicalised.
    # Iterative so that nesting depth cannot exhaust the stack here either.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JSONError(
            "json.invalid_string", "JSON string contains a lone surrogate escape"
        ) from exc
