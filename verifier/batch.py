"""Verifying many licenses at once: a strict check for tokens from anywhere, a fast one
for tokens the verifying party knows it issued, and both spread over every core.

The registry's ``POST /api/v1/verify`` uses these; so can anyone who keeps the
registry's licenses and their SHA-256 digests.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.documents import LICENSE_SCHEMA
from verifier.errors import JWSError, VerificationError
from verifier.jcs import parse_json_strict
from verifier.jws import ALGORITHM, TYP_LICENSE, b64url_decode, decode_jws, verify_jws_signature
from verifier.reasons import reason_for_jws_error

__all__ = [
    "PARALLEL_FROM",
    "TokenCheck",
    "check_license_token",
    "is_license_typ",
    "parallel_map",
    "verify_as_issued",
]


@dataclass
class TokenCheck:
    """What a token's own checks found: the kid it names (once decoded), and either the
    license document or the reason it failed."""

    kid: str | None = None
    document: dict[str, Any] | None = None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.document is not None


def is_license_typ(typ: Any) -> bool:
    return isinstance(typ, str) and typ.lower().removeprefix("application/") == TYP_LICENSE


def check_license_token(token: Any, keys: Mapping[str, Ed25519PublicKey]) -> TokenCheck:
    """Every check of the token itself, strictly and in order, as for a token from
    anywhere: structure, a key among ``keys``, the license type, the signature, strict
    JSON, the license schema. The first that fails is the reason."""
    result = TokenCheck()
    try:
        decoded = decode_jws(token)
    except JWSError as exc:
        result.reason, result.detail = reason_for_jws_error(exc.code), exc.message
        return result
    kid = decoded.header.get("kid")
    result.kid = kid if isinstance(kid, str) else None
    public_key = keys.get(result.kid or "")
    if public_key is None:
        result.reason, result.detail = "unknown_key", f"no key of this registry has kid {kid!r}"
        return result
    typ = decoded.header.get("typ")
    if not is_license_typ(typ):
        result.reason, result.detail = "wrong_type", f"typ must be {TYP_LICENSE!r}, got {typ!r}"
        return result
    try:
        verify_jws_signature(decoded, public_key)
        document = parse_json_strict(decoded.payload_bytes)
    except JWSError as exc:
        result.reason, result.detail = reason_for_jws_error(exc.code), exc.message
        return result
    except VerificationError as exc:  # strict JSON: duplicate keys, bad numbers...
        result.reason, result.detail = "malformed", f"payload is not strict JSON: {exc.message}"
        return result
    if not isinstance(document, dict) or document.get("schema") != LICENSE_SCHEMA:
        result.reason = "malformed"
        result.detail = f"the payload is not a {LICENSE_SCHEMA} document"
        return result
    result.document = document
    return result


def verify_as_issued(
    token: str, *, kid: str, public_key: Ed25519PublicKey, license_id: str
) -> dict[str, Any] | None:
    """The document of a token whose SHA-256 is that of a license the caller issued as
    ``license_id`` with key ``kid``; None if anything is off.

    Such a token is, byte for byte, the one that was signed: its base64url and JSON are
    canonical by construction, so the strict re-checks of the encoding that
    :func:`check_license_token` makes for tokens from elsewhere (canonical base64url,
    duplicate keys, number ranges) cannot fail here and are skipped. Everything else is
    checked as for any token: the header (parsed strictly, once per distinct header)
    names the license's key and type, the signature verifies with that key, and the
    signed payload is that license's document. On None the caller runs
    :func:`check_license_token`, which names the reason.
    """
    header_b64, _, rest = token.partition(".")
    payload_b64, _, signature_b64 = rest.partition(".")
    if _license_header_kid(header_b64) != kid:
        return None
    try:
        signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
        payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
        public_key.verify(signature, token[: len(header_b64) + 1 + len(payload_b64)].encode())
        document = json.loads(payload)
    except (ValueError, InvalidSignature):
        return None
    if (
        not isinstance(document, dict)
        or document.get("schema") != LICENSE_SCHEMA
        or document.get("license_id") != license_id
    ):
        return None
    return document


@lru_cache(maxsize=64)  # a pure function of the string; all of a key's licenses share one
def _license_header_kid(header_b64: str) -> str | None:
    """The kid of a protected header fit for a license, else None."""
    try:
        header = parse_json_strict(b64url_decode(header_b64, "protected header"))
    except (JWSError, VerificationError):
        return None
    if (
        not isinstance(header, dict)
        or header.get("alg") != ALGORITHM
        or "crit" in header
        or "b64" in header
        or not isinstance(header.get("kid"), str)
        or not is_license_typ(header.get("typ"))
    ):
        return None
    return str(header["kid"])


# Signature checks of a big batch run on every core: cryptography releases the GIL while
# it verifies, so a batch of 1,000 takes about half the time on two cores. The pool is
# made on first use, in the process that uses it (never before a fork).
PARALLEL_FROM = 64
_pool: ThreadPoolExecutor | None = None


def parallel_map[T](check: Callable[[int], T], count: int) -> list[T]:
    """``[check(0), ..., check(count - 1)]``, in chunks on up to four threads when the
    batch is big enough to pay for them. ``check`` must touch nothing thread-bound (a
    database connection made in a pool thread would outlive its work)."""
    workers = min(os.cpu_count() or 1, 4)
    if count < PARALLEL_FROM or workers < 2:
        return [check(i) for i in range(count)]
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")
    step = -(-count // workers)
    chunks = [range(start, min(start + step, count)) for start in range(0, count, step)]

    def run(chunk: range) -> list[T]:
        return [check(i) for i in chunk]

    return [result for part in _pool.map(run, chunks) for result in part]
