"""JWS compact serialization (RFC 7515) with EdDSA / Ed25519 (RFC 8037).

Timbre's licenses and work receipts are JWS tokens whose payload is RFC 8785
canonical JSON. Verification follows the rules in DESIGN.md, which close the
usual JWS holes:

* ``alg`` is pinned to ``EdDSA``: ``none``, HMAC or RSA headers are refused, so
  a public key can never be misused as an HMAC secret.
* the key is chosen by ``kid`` from keys the caller trusts; ``jwk``, ``jku``,
  ``x5u`` and ``x5c`` header members are ignored, never fetched or believed.
* any ``crit`` is refused (no extension is understood), and so is ``b64``.
* the signature is checked over the exact ASCII received, then the payload is
  parsed strictly; nothing is re-canonicalised to verify.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifier.errors import JSONError, JWSError
from verifier.jcs import canonical_json, parse_json_strict

__all__ = [
    "ALGORITHM",
    "MAX_TOKEN_BYTES",
    "TYP_LICENSE",
    "TYP_RECEIPT",
    "TYP_STATEMENT",
    "DecodedJWS",
    "Signer",
    "VerifiedJWS",
    "b64url_decode",
    "b64url_encode",
    "decode_jws",
    "encode_jws",
    "jwk_from_public_key",
    "jwk_thumbprint",
    "keys_from_jwks",
    "kid_for_public_key",
    "public_key_from_jwk",
    "sign_jws",
    "verify_jws",
    "verify_jws_signature",
    "verify_jws_with_key",
]

ALGORITHM = "EdDSA"
TYP_LICENSE = "timbre-license+jws"
TYP_RECEIPT = "timbre-receipt+jws"
TYP_STATEMENT = "timbre-statement+jws"

# A license is a few KiB; the cap bounds work done on hostile input before any
# signature has been checked.
MAX_TOKEN_BYTES = 256 * 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ED25519_SIGNATURE_SIZE = 64
_ED25519_KEY_SIZE = 32


# --- base64url -------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str = "value") -> bytes:
    """Strict base64url without padding: no ``=``, no ``+``/``/``, no whitespace,
    and no non-zero padding bits, so every byte string has exactly one spelling."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JWSError("jws.bad_base64", f"{what} is not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:
        raise JWSError("jws.bad_base64", f"{what} is not canonical base64url")
    return raw


# --- keys ------------------------------------------------------------------------


def jwk_from_public_key(public_key: Ed25519PublicKey) -> dict[str, str]:
    """RFC 8037 §2 public JWK: ``{"kty": "OKP", "crv": "Ed25519", "x": ...}``."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an Ed25519 JWK: base64url(SHA-256) of the canonical
    JSON of its required members ``crv``, ``kty``, ``x`` only."""
    public_key_from_jwk(jwk)  # refuse to fingerprint something that is not an Ed25519 key
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    # RFC 7638 §3 asks for exactly this: members sorted, no whitespace — which is
    # what RFC 8785 produces for an object of ASCII strings.
    return b64url_encode(hashlib.sha256(canonical_json(required)).digest())


def kid_for_public_key(public_key: Ed25519PublicKey) -> str:
    """Timbre's ``kid`` for a key: its RFC 7638 thumbprint."""
    return jwk_thumbprint(jwk_from_public_key(public_key))


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key in an OKP JWK (private members, if any, are ignored)."""
    if not isinstance(jwk, Mapping):
        raise JWSError("jws.bad_jwk", "JWK must be a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JWSError("jws.bad_jwk", "only OKP keys on curve Ed25519 are supported")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise JWSError("jws.bad_jwk", "JWK has no 'x' member")
    raw = b64url_decode(x, "JWK 'x'")
    if len(raw) != _ED25519_KEY_SIZE:
        raise JWSError(
            "jws.bad_jwk", f"Ed25519 key is {len(raw)} bytes, expected {_ED25519_KEY_SIZE}"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Map kid -> key for the Ed25519 keys of a JWK Set ``{"keys": [...]}``.

    Keys of other types are skipped (RFC 7517 §5). Each key is indexed by its
    *computed* thumbprint, and a ``kid`` member that disagrees is refused: a JWKS
    must not be able to make one key answer for another key's id.
    """
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise JWSError("jws.bad_jwks", 'JWK Set must be an object with a "keys" array')
    keys: dict[str, Ed25519PublicKey] = {}
    for position, jwk in enumerate(jwks["keys"]):
        if not isinstance(jwk, Mapping):
            raise JWSError("jws.bad_jwks", f"keys[{position}] is not an object")
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        public_key = public_key_from_jwk(jwk)
        kid = kid_for_public_key(public_key)
        stated = jwk.get("kid", kid)
        if stated != kid:
            raise JWSError(
                "jws.bad_jwks", f"keys[{position}] has kid {stated!r} but its thumbprint is {kid!r}"
            )
        keys[kid] = public_key
    return keys


# --- signing ---------------------------------------------------------------------


def encode_jws(header: Mapping[str, Any], payload: bytes, private_key: Ed25519PrivateKey) -> str:
    """Low-level compact JWS: canonical-JSON ``header``, raw ``payload`` bytes."""
    signing_input = b64url_encode(canonical_json(dict(header))) + "." + b64url_encode(payload)
    signature = private_key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


class Signer:
    """Signs documents with one key and one protected header
    ``{"alg": "EdDSA", "kid": kid, "typ": typ}``; the payload is ``canonical_json(doc)``.

    The header is encoded once, so signing thousands of receipts costs one JCS pass and
    one Ed25519 signature each.
    """

    def __init__(self, private_key: Ed25519PrivateKey, kid: str, typ: str) -> None:
        header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
        self._prefix = b64url_encode(canonical_json(header)) + "."
        self._private_key = private_key

    def sign(self, payload_obj: Any) -> str:
        signing_input = self._prefix + b64url_encode(canonical_json(payload_obj))
        signature = self._private_key.sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url_encode(signature)


def sign_jws(payload_obj: Any, private_key: Ed25519PrivateKey, kid: str, typ: str) -> str:
    """Sign one document (see :class:`Signer`)."""
    return Signer(private_key, kid, typ).sign(payload_obj)


# --- verification ------------------------------------------------------------------


class DecodedJWS(NamedTuple):
    """A structurally valid token whose signature has NOT been checked yet."""

    header: dict[str, Any]
    payload_bytes: bytes
    signature: bytes
    signing_input: bytes


class VerifiedJWS(NamedTuple):
    header: dict[str, Any]
    payload: Any
    payload_bytes: bytes


def decode_jws(token: str | bytes, *, max_bytes: int = MAX_TOKEN_BYTES) -> DecodedJWS:
    """Split and decode a compact token and check its protected header.

    Checks everything that can be checked without a key: three strict base64url
    parts, a header that is a JSON object without duplicate keys, ``alg`` exactly
    ``EdDSA``, no ``crit`` and no ``b64``, a 64-byte signature.
    """
    if isinstance(token, bytes | bytearray):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError as exc:
            raise JWSError("jws.malformed", "token is not ASCII") from exc
    if not isinstance(token, str):
        raise JWSError("jws.malformed", "token must be a string")
    if len(token) > max_bytes:
        raise JWSError("jws.too_large", f"token is {len(token)} bytes; the limit is {max_bytes}")
    parts = token.split(".")
    if len(parts) != 3:
        # Five parts would be JWE; two or four are nothing.
        raise JWSError("jws.malformed", f"compact JWS has 3 dot-separated parts, got {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    header_bytes = b64url_decode(header_b64, "protected header")
    payload_bytes = b64url_decode(payload_b64, "payload")
    signature = b64url_decode(signature_b64, "signature")

    try:
        header = parse_json_strict(header_bytes, max_bytes=max_bytes)
    except JSONError as exc:
        raise JWSError(
            "jws.bad_header", f"protected header is not strict JSON: {exc.message}"
        ) from exc
    if not isinstance(header, dict):
        raise JWSError("jws.bad_header", "protected header is not a JSON object")

    alg = header.get("alg")
    if alg != ALGORITHM:
        # Pinned, never negotiated: this is what defeats "alg": "none" and
        # RS256/HS256 confusion.
        raise JWSError("jws.bad_alg", f"alg must be {ALGORITHM!r}, got {alg!r}")
    if "crit" in header:
        # RFC 7515 §4.1.11: extensions listed in crit that the recipient does not
        # understand make the JWS invalid, and we understand none.
        raise JWSError(
            "jws.unsupported_crit", f"unsupported critical header parameters: {header['crit']!r}"
        )
    if "b64" in header:
        # RFC 7797 unencoded payloads change what is signed; refuse rather than guess.
        raise JWSError("jws.unsupported_crit", "the b64 header parameter is not supported")
    if len(signature) != _ED25519_SIGNATURE_SIZE:
        raise JWSError(
            "jws.bad_signature", f"Ed25519 signatures are 64 bytes, got {len(signature)}"
        )
    signing_input = (header_b64 + "." + payload_b64).encode("ascii")
    return DecodedJWS(header, payload_bytes, signature, signing_input)


def verify_jws_signature(decoded: DecodedJWS, public_key: Ed25519PublicKey) -> None:
    """Raise ``jws.bad_signature`` unless the signature is valid for ``public_key``."""
    try:
        public_key.verify(decoded.signature, decoded.signing_input)
    except InvalidSignature as exc:
        raise JWSError("jws.bad_signature", "signature does not verify") from exc


def verify_jws(
    token: str | bytes,
    keys: Mapping[str, Ed25519PublicKey],
    expected_typ: str | None = None,
) -> VerifiedJWS:
    """Verify a token against trusted ``keys`` (kid -> public key); return
    ``(header, payload, payload_bytes)``.

    The key is chosen by the header's ``kid`` alone; ``jwk``/``jku``/``x5u``/``x5c``
    are ignored. If ``expected_typ`` is given the header ``typ`` must match it
    (case-insensitively, ``application/`` optional, RFC 7515 §4.1.9), so a receipt
    cannot be passed off as a license.
    """
    decoded = decode_jws(token)
    kid = decoded.header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JWSError("jws.missing_kid", "protected header has no kid")
    public_key = keys.get(kid)
    if public_key is None:
        raise JWSError("jws.unknown_kid", f"no trusted key has kid {kid!r}")
    return _finish(decoded, public_key, expected_typ)


def verify_jws_with_key(
    token: str | bytes, public_key: Ed25519PublicKey, expected_typ: str | None = None
) -> VerifiedJWS:
    """Verify against one pinned key, whatever the ``kid`` says."""
    return _finish(decode_jws(token), public_key, expected_typ)


def _finish(
    decoded: DecodedJWS, public_key: Ed25519PublicKey, expected_typ: str | None
) -> VerifiedJWS:
    if expected_typ is not None:
        typ = decoded.header.get("typ")
        if not isinstance(typ, str) or _media_type(typ) != _media_type(expected_typ):
            raise JWSError("jws.wrong_typ", f"typ must be {expected_typ!r}, got {typ!r}")
    verify_jws_signature(decoded, public_key)
    # Parse only after the signature holds, and parse the bytes that were signed.
    try:
        payload = parse_json_strict(decoded.payload_bytes)
    except JSONError as exc:
        raise JWSError("jws.bad_payload", f"payload is not strict JSON: {exc.message}") from exc
    return VerifiedJWS(decoded.header, payload, decoded.payload_bytes)


def _media_type(typ: str) -> str:
    lowered = typ.lower()
    prefix = "application/"
    if lowered.startswith(prefix) and "/" not in lowered[len(prefix) :]:
        return lowered[len(prefix) :]
    return lowered
