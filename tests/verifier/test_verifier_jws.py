"""JWS with EdDSA: RFC 8037 vectors, round trips, and the classic attacks."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.errors import JWSError
from verifier.jcs import canonical_json
from verifier.jws import (
    TYP_LICENSE,
    TYP_RECEIPT,
    b64url_decode,
    b64url_encode,
    decode_jws,
    encode_jws,
    jwk_from_public_key,
    jwk_thumbprint,
    keys_from_jwks,
    kid_for_public_key,
    public_key_from_jwk,
    sign_jws,
    verify_jws,
    verify_jws_signature,
    verify_jws_with_key,
)

# --- RFC 8037 Appendix A -------------------------------------------------------------

RFC_PRIVATE_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC_PUBLIC_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC_TOKEN = (
    "eyJhbGciOiJFZERTQSJ9"
    ".RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
rfc_key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC_PRIVATE_JWK["d"]))


def test_rfc8037_a1_a2_the_public_key_matches_the_private_key() -> None:
    assert jwk_from_public_key(rfc_key.public_key()) == RFC_PUBLIC_JWK


def test_rfc8037_a3_the_thumbprint() -> None:
    assert jwk_thumbprint(RFC_PUBLIC_JWK) == RFC_THUMBPRINT
    # Private and optional members do not change a thumbprint.
    assert jwk_thumbprint({**RFC_PRIVATE_JWK, "kid": "whatever", "use": "sig"}) == RFC_THUMBPRINT
    assert kid_for_public_key(rfc_key.public_key()) == RFC_THUMBPRINT


def test_rfc8037_a4_the_signature() -> None:
    assert encode_jws({"alg": "EdDSA"}, b"Example of Ed25519 signing", rfc_key) == RFC_TOKEN


def test_rfc8037_a5_the_signature_verifies() -> None:
    decoded = decode_jws(RFC_TOKEN)
    assert decoded.header == {"alg": "EdDSA"}
    assert decoded.payload_bytes == b"Example of Ed25519 signing"
    verify_jws_signature(decoded, public_key_from_jwk(RFC_PUBLIC_JWK))


def test_the_rfc_token_is_refused_by_verify_jws_because_it_has_no_kid() -> None:
    with pytest.raises(JWSError) as exc:
        verify_jws(RFC_TOKEN, {RFC_THUMBPRINT: rfc_key.public_key()})
    assert exc.value.code == "jws.missing_kid"


# --- personas ------------------------------------------------------------------------

registry_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
REGISTRY_KID = kid_for_public_key(registry_key.public_key())
TRUSTED = {REGISTRY_KID: registry_key.public_key()}
mallory_key = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
MALLORY_KID = kid_for_public_key(mallory_key.public_key())

LICENSE: dict[str, Any] = {
    "schema": "timbre.license/1",
    "license_id": "lic_123",
    "licensee": {"id": "brand_bob", "name": "Bob's Brand"},
    "royalty": {"currency": "EUR", "upfront_fee": "50000"},
}


def _license_token() -> str:
    return sign_jws(LICENSE, registry_key, REGISTRY_KID, TYP_LICENSE)


def _parts(token: str) -> list[str]:
    return token.split(".")


def _forge(header: dict[str, Any], payload: bytes, key: Ed25519PrivateKey) -> str:
    """A token with an arbitrary header, signed by ``key`` (the attacker's tool)."""
    signing_input = b64url_encode(json.dumps(header).encode()) + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))


# --- round trip ----------------------------------------------------------------------------


def test_it_round_trips_a_license() -> None:
    token = _license_token()
    header, payload, payload_bytes = verify_jws(token, TRUSTED, expected_typ=TYP_LICENSE)
    assert header == {"alg": "EdDSA", "kid": REGISTRY_KID, "typ": TYP_LICENSE}
    assert payload == LICENSE
    assert payload_bytes == canonical_json(LICENSE)


def test_the_header_and_payload_are_canonical_json() -> None:
    header_b64, payload_b64, _ = _parts(_license_token())
    assert b64url_decode(header_b64) == canonical_json(
        {"alg": "EdDSA", "kid": REGISTRY_KID, "typ": TYP_LICENSE}
    )
    assert b64url_decode(payload_b64) == canonical_json(LICENSE)


def test_it_verifies_the_bytes_received_without_recanonicalising() -> None:
    # A non-canonical (but validly signed) payload still verifies, and the bytes
    # handed back are the ones that were signed.
    payload = b'{ "b": 1, "a": 2 }'
    token = _forge({"alg": "EdDSA", "kid": REGISTRY_KID}, payload, registry_key)
    verified = verify_jws(token, TRUSTED)
    assert verified.payload_bytes == payload
    assert verified.payload == {"a": 2, "b": 1}


def test_it_accepts_typ_with_the_application_prefix_and_other_case() -> None:
    token = sign_jws(LICENSE, registry_key, REGISTRY_KID, "application/Timbre-License+JWS")
    verify_jws(token, TRUSTED, expected_typ=TYP_LICENSE)


# --- tampering -------------------------------------------------------------------------------


def test_it_rejects_a_tampered_payload() -> None:
    header_b64, _, signature_b64 = _parts(_license_token())
    evil = canonical_json({**LICENSE, "royalty": {"currency": "EUR", "upfront_fee": "1"}})
    with pytest.raises(JWSError) as exc:
        verify_jws(f"{header_b64}.{b64url_encode(evil)}.{signature_b64}", TRUSTED)
    assert exc.value.code == "jws.bad_signature"


def test_it_rejects_a_tampered_header() -> None:
    _, payload_b64, signature_b64 = _parts(_license_token())
    header = canonical_json({"alg": "EdDSA", "kid": REGISTRY_KID, "typ": TYP_RECEIPT})
    with pytest.raises(JWSError) as exc:
        verify_jws(f"{b64url_encode(header)}.{payload_b64}.{signature_b64}", TRUSTED)
    assert exc.value.code == "jws.bad_signature"


def test_it_rejects_a_tampered_signature() -> None:
    header_b64, payload_b64, signature_b64 = _parts(_license_token())
    signature = bytearray(b64url_decode(signature_b64))
    signature[0] ^= 0x01
    with pytest.raises(JWSError) as exc:
        verify_jws(f"{header_b64}.{payload_b64}.{b64url_encode(bytes(signature))}", TRUSTED)
    assert exc.value.code == "jws.bad_signature"


def test_it_rejects_a_receipt_presented_as_a_license() -> None:
    token = sign_jws(LICENSE, registry_key, REGISTRY_KID, TYP_RECEIPT)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED, expected_typ=TYP_LICENSE)
    assert exc.value.code == "jws.wrong_typ"


# --- algorithm and key confusion ------------------------------------------------------------


@pytest.mark.parametrize(
    "alg", ["none", "None", "HS256", "RS256", "ES256", "eddsa", "Ed25519", None]
)
def test_it_rejects_any_alg_but_eddsa(alg: str | None) -> None:
    header: dict[str, Any] = {"kid": REGISTRY_KID}
    if alg is not None:
        header["alg"] = alg
    token = _forge(header, canonical_json(LICENSE), registry_key)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_alg"


def test_it_rejects_an_unsigned_alg_none_token() -> None:
    header_b64 = b64url_encode(b'{"alg":"none","kid":"' + REGISTRY_KID.encode() + b'"}')
    token = f"{header_b64}.{b64url_encode(canonical_json(LICENSE))}."
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_alg"


def test_it_rejects_a_token_signed_by_an_untrusted_kid() -> None:
    token = sign_jws(LICENSE, mallory_key, MALLORY_KID, TYP_LICENSE)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.unknown_kid"


def test_it_rejects_a_token_whose_kid_names_the_wrong_key() -> None:
    token = sign_jws(LICENSE, mallory_key, REGISTRY_KID, TYP_LICENSE)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_signature"


@pytest.mark.parametrize("kid", [REGISTRY_KID, MALLORY_KID])
def test_it_ignores_an_embedded_jwk(kid: str) -> None:
    # The attacker embeds their own key and signs with it; a verifier that believed
    # the header's jwk (or fetched jku/x5u) would accept.
    header = {
        "alg": "EdDSA",
        "kid": kid,
        "jwk": jwk_from_public_key(mallory_key.public_key()),
        "jku": "https://mallory.example/jwks.json",
        "x5u": "https://mallory.example/cert.pem",
    }
    token = _forge(header, canonical_json(LICENSE), mallory_key)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code in {"jws.bad_signature", "jws.unknown_kid"}


def test_jku_and_jwk_members_do_not_stop_a_genuine_token() -> None:
    header = {"alg": "EdDSA", "kid": REGISTRY_KID, "jku": "https://registry.example/jwks"}
    verify_jws(_forge(header, canonical_json(LICENSE), registry_key), TRUSTED)


def test_a_pinned_key_ignores_the_kid() -> None:
    token = sign_jws(LICENSE, registry_key, "any-kid", TYP_LICENSE)
    assert verify_jws_with_key(token, registry_key.public_key()).payload == LICENSE
    with pytest.raises(JWSError):
        verify_jws_with_key(token, mallory_key.public_key())


# --- header rules ------------------------------------------------------------------------


def test_it_rejects_crit_it_does_not_understand() -> None:
    header = {"alg": "EdDSA", "kid": REGISTRY_KID, "crit": ["exp"], "exp": 1}
    with pytest.raises(JWSError) as exc:
        verify_jws(_forge(header, canonical_json(LICENSE), registry_key), TRUSTED)
    assert exc.value.code == "jws.unsupported_crit"


def test_it_rejects_unencoded_payload_tokens() -> None:
    header = {"alg": "EdDSA", "kid": REGISTRY_KID, "b64": False, "crit": ["b64"]}
    with pytest.raises(JWSError):
        verify_jws(_forge(header, canonical_json(LICENSE), registry_key), TRUSTED)


def test_it_rejects_a_header_with_duplicate_keys() -> None:
    # Another parser might keep the first "alg" or "kid" and see a different header.
    raw_header = b'{"alg":"EdDSA","kid":"' + REGISTRY_KID.encode() + b'","kid":"other"}'
    signing_input = b64url_encode(raw_header) + "." + b64url_encode(canonical_json(LICENSE))
    token = signing_input + "." + b64url_encode(registry_key.sign(signing_input.encode()))
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_header"


def test_it_rejects_a_payload_with_duplicate_keys_even_when_signed() -> None:
    payload = b'{"license_id":"lic_123","license_id":"lic_999"}'
    token = _forge({"alg": "EdDSA", "kid": REGISTRY_KID}, payload, registry_key)
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_payload"


@pytest.mark.parametrize("header", [b"[]", b'"EdDSA"', b"null", b"{"])
def test_it_rejects_a_header_that_is_not_a_json_object(header: bytes) -> None:
    token = b64url_encode(header) + "." + b64url_encode(b"{}") + "." + "A" * 86
    with pytest.raises(JWSError) as exc:
        verify_jws(token, TRUSTED)
    assert exc.value.code == "jws.bad_header"


# --- structure and encoding -----------------------------------------------------------------


def _mangle(token: str, part: int, new: str) -> str:
    parts = _parts(token)
    parts[part] = new
    return ".".join(parts)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".extra.parts",  # five parts: JWE, not JWS
        lambda t: t.rsplit(".", 1)[0],  # two parts
        lambda t: _mangle(t, 2, _parts(t)[2] + "=="),  # padding
        lambda t: _mangle(t, 1, _parts(t)[1] + "="),
        lambda t: _mangle(t, 0, _parts(t)[0].replace("_", "/").replace("-", "+") + "+/"),
        lambda t: _mangle(t, 2, _parts(t)[2][:-1] + "B"),  # non-zero padding bits
        lambda t: _mangle(t, 2, _parts(t)[2][:-4]),  # short signature
        lambda t: _mangle(t, 2, ""),
        lambda t: _mangle(t, 1, "A"),  # impossible base64 length
        lambda t: " " + t,
        lambda t: t.replace(".", ".\n", 1),
    ],
)
def test_it_rejects_malformed_compact_serialization(mangle: Any) -> None:
    with pytest.raises(JWSError):
        verify_jws(mangle(_license_token()), TRUSTED)


def test_it_rejects_a_non_ascii_token() -> None:
    with pytest.raises(JWSError) as exc:
        verify_jws(_license_token().encode() + "é".encode(), TRUSTED)
    assert exc.value.code == "jws.malformed"


def test_it_rejects_an_oversized_token() -> None:
    with pytest.raises(JWSError) as exc:
        decode_jws("a" * 1000 + ".b.c", max_bytes=100)
    assert exc.value.code == "jws.too_large"


def test_base64url_round_trips_canonical_text() -> None:
    assert b64url_decode("AQID") == b"\x01\x02\x03"
    assert b64url_decode("AQ") == b"\x01"
    assert b64url_decode("") == b""


@pytest.mark.parametrize("bad", ["AQID=", "AQ==", "AR", "A+8", "A/8", "A 8", "A", "AQ\n"])
def test_base64url_rejects_padding_foreign_characters_and_second_spellings(bad: str) -> None:
    with pytest.raises(JWSError) as exc:
        b64url_decode(bad)
    assert exc.value.code == "jws.bad_base64"


# --- JWKS ------------------------------------------------------------------------------------


def test_it_indexes_a_jwks_by_thumbprint_and_skips_foreign_keys() -> None:
    jwks = {
        "keys": [
            {
                **jwk_from_public_key(registry_key.public_key()),
                "kid": REGISTRY_KID,
                "status": "active",
            },
            {"kty": "RSA", "n": "xyz", "e": "AQAB", "kid": "rsa-1"},
        ]
    }
    keys = keys_from_jwks(jwks)
    assert list(keys) == [REGISTRY_KID]


def test_it_rejects_a_jwks_entry_whose_kid_is_not_its_thumbprint() -> None:
    # Otherwise a JWKS could make Mallory's key answer for the registry's kid.
    jwks = {"keys": [{**jwk_from_public_key(mallory_key.public_key()), "kid": REGISTRY_KID}]}
    with pytest.raises(JWSError) as exc:
        keys_from_jwks(jwks)
    assert exc.value.code == "jws.bad_jwks"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "X25519", "x": RFC_PUBLIC_JWK["x"]},
        {"kty": "EC", "crv": "Ed25519", "x": RFC_PUBLIC_JWK["x"]},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC_PUBLIC_JWK["x"][:-2]},
        {"kty": "OKP", "crv": "Ed25519", "x": base64.b64encode(b"\xfb" * 32).decode()},
    ],
)
def test_it_refuses_to_fingerprint_a_key_that_is_not_ed25519(jwk: dict[str, str]) -> None:
    with pytest.raises(JWSError):
        jwk_thumbprint(jwk)
