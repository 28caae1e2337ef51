"""POST /api/v1/verify and the JWKS: every failure with its reason; interop with jwcrypto."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from jwcrypto import jwk as jw_jwk
from jwcrypto import jws as jw_jws

from licensing import keys, services
from licensing.models import SigningKey
from tests.licensing.helpers import request_input
from verifier.jws import b64url_decode, b64url_encode, encode_jws

pytestmark = pytest.mark.django_db


def verify(client: Client, tokens: Any) -> list[dict[str, Any]]:
    response = client.post("/api/v1/verify", {"jws": tokens}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def one(client: Client, token: str) -> dict[str, Any]:
    return verify(client, token)[0]


def parts(token: str) -> list[str]:
    return token.split(".")


def test_a_valid_license_verifies_with_status_and_inclusion_proof(
    client: Client, issued: Any
) -> None:
    client.get("/api/v1/log/checkpoint")  # a checkpoint covering the license
    result = one(client, issued.jws)
    assert result["valid"] is True and result["reason"] is None
    assert result["license_status"] == "active" and result["key_status"] == "active"
    assert result["document"]["license_id"] == issued.license_id
    assert result["log_index"] == issued.log_index
    from transparency.models import LogEntry
    from verifier.merkle import leaf_hash, verify_inclusion

    inclusion = result["inclusion"]
    entry = LogEntry.objects.get(index=issued.log_index)
    verify_inclusion(
        leaf_hash(bytes(entry.data)),
        issued.log_index,
        inclusion["tree_size"],
        [base64.b64decode(p) for p in inclusion["proof"]],
        base64.b64decode(inclusion["root_hash"]),
    )


def test_it_names_the_reason_for_each_bad_token(client: Client, issued: Any) -> None:
    header, payload, signature = parts(issued.jws)
    doc = json.loads(b64url_decode(payload))
    doc["royalty"]["upfront_fee"] = "1"
    tampered_payload = ".".join([header, b64url_encode(json.dumps(doc).encode()), signature])
    hdr = json.loads(b64url_decode(header))
    tampered_header = ".".join(
        [b64url_encode(json.dumps({**hdr, "typ": "x"}).encode()), payload, signature]
    )
    unknown_kid = ".".join(
        [b64url_encode(json.dumps({**hdr, "kid": "nope"}).encode()), payload, signature]
    )
    alg_none = ".".join(
        [b64url_encode(json.dumps({"alg": "none", "kid": hdr["kid"]}).encode()), payload, ""]
    )
    # HS256 with the public key as the HMAC secret: the classic algorithm-confusion attack.
    public_x = b64url_decode(SigningKey.objects.get().public_jwk["x"])
    hs_header = b64url_encode(
        json.dumps({"alg": "HS256", "kid": hdr["kid"], "typ": hdr["typ"]}).encode()
    )
    mac = hmac.new(public_x, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    hs256 = f"{hs_header}.{payload}.{b64url_encode(mac)}"
    # Duplicate keys, validly signed by the real key: the parser must still refuse them.
    _, private = keys.active_signer()
    duplicate_payload = b'{"schema":"timbre.license/1","license_id":"a","license_id":"b"}'
    duplicate = encode_jws(
        {"alg": "EdDSA", "kid": hdr["kid"], "typ": hdr["typ"]}, duplicate_payload, private
    )

    cases = {
        "tampered payload": (tampered_payload, "bad_signature"),
        "tampered header": (tampered_header, "wrong_type"),
        "unknown kid": (unknown_kid, "unknown_key"),
        "alg none": (alg_none, "alg_not_allowed"),
        "HS256 with the public key": (hs256, "alg_not_allowed"),
        "duplicate JSON keys": (duplicate, "malformed"),
        "garbage": ("not.a.jws!", "malformed"),
        "two parts": ("abc.def", "malformed"),
    }
    results = verify(client, [token for token, _ in cases.values()])
    for (name, (_, reason)), result in zip(cases.items(), results, strict=True):
        assert result["valid"] is False, name
        assert result["reason"] == reason, (name, result)
        assert result["detail"], name


def test_a_signature_over_another_header_fails(client: Client, issued: Any) -> None:
    header, payload, signature = parts(issued.jws)
    hdr = json.loads(b64url_decode(header))
    reordered = b64url_encode(
        json.dumps({"typ": hdr["typ"], "kid": hdr["kid"], "alg": "EdDSA"}).encode()
    )
    assert one(client, f"{reordered}.{payload}.{signature}")["reason"] == "bad_signature"


def test_a_revoked_license_says_so(client: Client, issued: Any) -> None:
    services.license_revoke(actor=issued.voice.performer.user, license=issued, reason="breach")
    result = one(client, issued.jws)
    assert (result["valid"], result["reason"], result["license_status"]) == (
        False,
        "revoked",
        "revoked",
    )
    status = client.get(f"/api/v1/licenses/{issued.license_id}/status").json()
    assert status["status"] == "revoked" and status["revocation_reason"] == "breach"


def test_key_commands_take_kids_that_start_with_a_dash(issued: Any, capsys: Any) -> None:
    SigningKey.objects.filter(pk=issued.signing_key.pk).update(kid="-" + issued.signing_key.kid[1:])
    call_command("license_key", "retire", "--kid=-" + issued.signing_key.kid[1:])
    assert SigningKey.objects.get(pk=issued.signing_key.pk).status == "retired"


def test_a_license_logged_before_its_key_retired_still_verifies(
    client: Client, issued: Any, settings: Any, tmp_path: Any
) -> None:
    old_kid = issued.signing_key.kid
    new_file = tmp_path / "new.pem"
    call_command("license_key", "rotate", "--key-file", str(new_file))
    settings.TIMBRE_LICENSE_KEY_FILE = new_file
    assert SigningKey.objects.get(kid=old_kid).status == "retired"
    result = one(client, issued.jws)
    assert result["valid"] is True and result["key_status"] == "retired"
    jwks = client.get("/.well-known/jwks.json").json()
    assert {k["kid"]: k["status"] for k in jwks["keys"]}[old_kid] == "retired"


def test_a_license_logged_after_its_key_was_compromised_is_invalid(
    client: Client, offer: Any, brand_bob: Any, bob_brand: Any, operator: Any, issued: Any
) -> None:
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    later = services.license_settle_manually(operator=operator, request=req, invoice_ref="2")
    call_command(
        "license_key",
        "compromised",
        f"--kid={issued.signing_key.kid}",
        "--from-index",
        str(later.log_index),
    )
    before, after = verify(client, [issued.jws, later.jws])
    assert before["valid"] is True and before["key_status"] == "compromised"
    assert (after["valid"], after["reason"]) == (False, "key_compromised")


def test_the_server_signs_only_with_its_active_key(
    issued: Any, settings: Any, tmp_path: Any
) -> None:
    from licensing.keys import SigningKeyUnavailable, active_signer

    settings.TIMBRE_LICENSE_KEY_FILE = tmp_path / "stray.pem"  # a key nobody registered
    with pytest.raises(SigningKeyUnavailable, match="but the active key is"):
        active_signer()


def test_a_license_from_elsewhere_is_unknown(client: Client, issued: Any) -> None:
    header, payload, _ = parts(issued.jws)
    _, private = keys.active_signer()
    doc = json.loads(b64url_decode(payload))
    doc["license_id"] = "lic_forged"
    forged = encode_jws(json.loads(b64url_decode(header)), json.dumps(doc).encode(), private)
    assert one(client, forged)["reason"] == "unknown_license"


def test_batches_are_capped_and_inputs_checked(client: Client) -> None:
    too_many = client.post("/api/v1/verify", {"jws": ["x"] * 1001}, content_type="application/json")
    assert too_many.status_code == 400 and "At most 1000" in too_many.json()["detail"]
    for bad in ({"jws": 12}, {"jws": []}, {}, {"jws": [1, 2]}):
        response = client.post("/api/v1/verify", bad, content_type="application/json")
        assert response.status_code == 400, bad
        assert response["Content-Type"] == "application/problem+json"


def test_interop_jwcrypto_verifies_a_license_from_the_jwks_alone(
    client: Client, issued: Any
) -> None:
    jwks = client.get("/.well-known/jwks.json").json()
    entry = jwks["keys"][0]
    key = jw_jwk.JWK(kty=entry["kty"], crv=entry["crv"], x=entry["x"])
    assert key.thumbprint() == entry["kid"] == issued.signing_key.kid
    token = jw_jws.JWS()
    token.deserialize(issued.jws)
    token.verify(key, alg="EdDSA")
    assert json.loads(token.payload)["license_id"] == issued.license_id


def test_interop_the_rfc_8037_example_verifies_with_verifier() -> None:
    # RFC 8037 Appendix A.1 key and A.4 signature of "Example of Ed25519 signing".
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from verifier.jws import decode_jws, jwk_thumbprint, verify_jws_signature

    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    token = (
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    )
    verify_jws_signature(decode_jws(token), Ed25519PublicKey.from_public_bytes(b64url_decode(x)))
    assert (
        jwk_thumbprint({"kty": "OKP", "crv": "Ed25519", "x": x})
        == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


def test_the_fast_path_for_issued_tokens_agrees_with_the_strict_one(
    client: Client, issued: Any
) -> None:
    from licensing import verification

    client.get("/api/v1/log/checkpoint")
    fast = verification.verify_licenses([issued.jws])[0]
    verdict = verification.Verdict()
    assert verification._verify_token(issued.jws, keys.trusted_keys(), verdict)
    assert (fast.kid, fast.key_status, fast.license_id, fast.document) == (
        verdict.kid,
        verdict.key_status,
        verdict.license_id,
        verdict.document,
    )


def test_proofs_kept_for_one_tree_stay_valid_after_the_log_grows(
    client: Client, issued: Any, offer: Any, brand_bob: Any, bob_brand: Any, operator: Any
) -> None:
    from transparency.models import LogEntry
    from verifier.merkle import leaf_hash, verify_inclusion

    client.get("/api/v1/log/checkpoint")
    first = one(client, issued.jws)["inclusion"]
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    services.license_settle_manually(operator=operator, request=req, invoice_ref="3")
    client.get("/api/v1/log/checkpoint")
    second = one(client, issued.jws)["inclusion"]
    assert second["tree_size"] > first["tree_size"]
    leaf = leaf_hash(bytes(LogEntry.objects.get(index=issued.log_index).data))
    for inclusion in (first, second):
        verify_inclusion(
            leaf,
            issued.log_index,
            inclusion["tree_size"],
            [base64.b64decode(p) for p in inclusion["proof"]],
            base64.b64decode(inclusion["root_hash"]),
        )


def test_big_batches_are_checked_in_parallel_with_the_same_verdicts(
    client: Client, issued: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from licensing import verification
    from verifier import batch

    client.get("/api/v1/log/checkpoint")
    header, payload, signature = parts(issued.jws)
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    tokens = [issued.jws, tampered, "garbage", issued.jws] * 5
    serial = [v.as_json() for v in verification.verify_licenses(tokens)]
    monkeypatch.setattr(batch, "PARALLEL_FROM", 2)
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 2)
    parallel = [v.as_json() for v in verification.verify_licenses(tokens)]
    assert parallel == serial
    assert [v["valid"] for v in parallel[:4]] == [True, False, False, True]
    assert batch._pool is not None, "the batch went through the pool"


def test_the_plain_verify_view_keeps_the_documented_contract(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/v1/verify"]
    assert client.get("/api/v1/verify").status_code == 405
    wrong_type = client.post("/api/v1/verify", "jws=x", content_type="text/plain")
    assert wrong_type.status_code == 415
    broken = client.post("/api/v1/verify", '{"jws": ', content_type="application/json")
    assert broken.status_code == 400 and broken.json()["type"] == "/problems/malformed-request"


def test_the_plain_verify_view_is_rate_limited(client: Client, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"public": "2/min"},
    }
    codes = [
        client.post("/api/v1/verify", {"jws": "x.y.z"}, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    cache.clear()
