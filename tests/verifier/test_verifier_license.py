"""``python -m verifier license``: a license checked as an auditor would, from files or a server.

Licenses, JWK Sets, logs and checkpoints are all built here with the verifier's own
signing helpers, so every case states exactly what the registry would have published.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.checkpoint import format_checkpoint
from verifier.cli import main
from verifier.events import subjects as event_subjects
from verifier.jcs import canonical_json
from verifier.jws import (
    TYP_LICENSE,
    TYP_RECEIPT,
    b64url_encode,
    encode_jws,
    jwk_from_public_key,
    kid_for_public_key,
    sign_jws,
)
from verifier.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from verifier.note import make_verifier_key, sign_note
from verifier.proofs import InclusionProof, encode_hash

registry_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KID = kid_for_public_key(registry_key.public_key())
mallory_key = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
MALLORY_KID = kid_for_public_key(mallory_key.public_key())

ORIGIN = "timbre.example/log"
log_key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
LOG_VERIFIER_KEY = make_verifier_key(ORIGIN, log_key.public_key())

LICENSE_ID = "lic_01HZX"
OTHER_LICENSE_ID = "lic_01HZY"
# Where the license's issuance sits in the log built below, and the log's size.
INDEX = 5
SIZE = 9
AT = "2027-01-01"  # inside the term of every license below unless a test says otherwise

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy")


def document(license_id: str = LICENSE_ID, **terms: Any) -> dict[str, Any]:
    return {
        "schema": "timbre.license/1",
        "license_id": license_id,
        "issuer": "https://timbre.example",
        "issued_at": "2026-11-20T09:30:00.000Z",
        "voice": {"id": "3", "name": "Nova", "model_sha256": "ab" * 32},
        "performer": {"id": "2", "name": "Jane Doe"},
        "licensee": {"id": "7", "name": "Acme Ltd"},
        "terms": {
            "uses": ["advertising", "podcast"],
            "territories": ["FR", "DE"],
            "languages": ["fr"],
            "media": ["online"],
            "valid_from": "2026-11-25T00:00:00.000Z",
            "valid_until": "2027-11-24T23:59:59.000Z",
            "max_works": "10",
            "disclosure": "AI-generated voice of Jane Doe, licensed",
            **terms,
        },
        "royalty": {"currency": "EUR", "upfront_fee": "100000"},
    }


def license_jws(doc: dict[str, Any] | None = None, key: Ed25519PrivateKey = registry_key) -> str:
    return sign_jws(doc or document(), key, kid_for_public_key(key.public_key()), TYP_LICENSE)


TOKEN = license_jws()
OTHER_TOKEN = license_jws(document(OTHER_LICENSE_ID))


def issued_entry(token: str, license_id: str = LICENSE_ID, kid: str = KID) -> bytes:
    return canonical_json(
        {
            "type": "license.issued",
            "at": "2026-11-20T09:30:00.000Z",
            "license_id": license_id,
            "jws_sha256": hashlib.sha256(token.encode("ascii")).hexdigest(),
            "kid": kid,
            "voice_id": "3",
            "licensee_id": "7",
        }
    )


def build_log(token: str = TOKEN) -> list[bytes]:
    """Nine entries: the license at INDEX, another license right after it."""
    entries = [canonical_json({"type": "work.recorded", "at": "x", "n": i}) for i in range(SIZE)]
    entries[0] = canonical_json({"type": "key.added", "at": "x", "kid": KID})
    entries[INDEX] = issued_entry(token)
    entries[INDEX + 1] = issued_entry(OTHER_TOKEN, OTHER_LICENSE_ID)
    return entries


def checkpoint_note(entries: list[bytes], key: Ed25519PrivateKey = log_key) -> str:
    root = root_from_leaf_hashes([leaf_hash(e) for e in entries])
    return sign_note(format_checkpoint(ORIGIN, len(entries), root), ORIGIN, key)


def proof_json(entries: list[bytes], index: int) -> dict[str, Any]:
    hashes = [leaf_hash(e) for e in entries]
    proof = InclusionProof(
        index, len(entries), hashes[index], tuple(inclusion_proof(hashes, index, len(entries)))
    )
    return proof.to_json()


def jwks(status: str = "active", **extra: Any) -> dict[str, Any]:
    jwk = {
        **jwk_from_public_key(registry_key.public_key()),
        "kid": KID,
        "alg": "EdDSA",
        "use": "sig",
        "status": status,
        "status_log_index": 0 if status == "active" else 7,
        "added_log_index": 0,
        **extra,
    }
    return {"keys": [jwk]}


def write(tmp_path: Path, name: str, content: str | bytes | dict[str, Any]) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


@dataclass
class Files:
    """An auditor's folder: the license and what the registry published about it."""

    tmp_path: Path
    token: str = TOKEN
    key_set: dict[str, Any] = field(default_factory=jwks)
    entries: list[bytes] = field(default_factory=build_log)

    def license(self) -> str:
        # Saved the way browsers save downloads: with a trailing newline.
        return write(self.tmp_path, "license.jws", self.token + "\n")

    def jwks(self) -> str:
        return write(self.tmp_path, "jwks.json", self.key_set)

    def checkpoint(self, key: Ed25519PrivateKey = log_key) -> str:
        return write(self.tmp_path, "checkpoint.txt", checkpoint_note(self.entries, key))

    def proof(self, index: int = INDEX) -> str:
        return write(self.tmp_path, f"proof-{index}.json", proof_json(self.entries, index))

    def entry(self, index: int = INDEX) -> str:
        return write(self.tmp_path, f"entry-{index}.bin", self.entries[index])

    def args(self, *extra: str, at: str = AT) -> list[str]:
        return ["license", self.license(), "--jwks", self.jwks(), "--at", at, *extra]

    def logged(self, index: int = INDEX) -> list[str]:
        return ["--proof", self.proof(index), "--entry", self.entry(index)]

    def proven(self, index: int = INDEX) -> list[str]:
        checkpoint = ["--checkpoint", self.checkpoint(), "--verifier-key", LOG_VERIFIER_KEY]
        return [*checkpoint, *self.logged(index)]


Run = tuple[int, str, str]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Run:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def assert_invalid(result: Run, reason: str) -> str:
    """The reason line, and anything after it (notes may come before it)."""
    status, _out, err = result
    assert status == 1, err
    assert f"invalid: {reason}: " in err, err
    return err[err.index("invalid: ") :]


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


# --- the signature and the document -----------------------------------------------------


def test_a_valid_license_with_an_active_key_passes_and_is_summarised(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, files.args())
    assert status == 0, err
    assert err == ""
    assert f"license      {LICENSE_ID} (timbre.license/1)" in out
    assert "licensee     Acme Ltd (id 7)" in out
    assert "voice        Nova (id 3)" in out
    assert "performer    Jane Doe (id 2)" in out
    assert "uses         advertising, podcast" in out
    assert "territories  FR, DE" in out
    assert "term         2026-11-25T00:00:00.000Z to 2027-11-24T23:59:59.000Z" in out
    assert f"key          {KID} (active)" in out
    assert f"ok           signature: signed by key {KID}" in out
    assert f"ok           key: key {KID} is active" in out
    # Offline, revocation cannot be known: it must say so, and still pass.
    assert "not checked  revocation: revocation needs the registry" in out
    assert "not checked  log: " in out
    assert out.rstrip().endswith("valid")


def test_the_license_can_come_from_standard_input(
    files: Files, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TOKEN.encode())))
    status, out, err = run(capsys, ["license", "-", "--jwks", files.jwks(), "--at", AT])
    assert status == 0, err
    assert LICENSE_ID in out


def test_a_tampered_payload_fails_the_signature(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    header, _, signature = TOKEN.split(".")
    richer = license_jws(document(uses=["advertising", "podcast", "television"]))
    files.token = f"{header}.{richer.split('.')[1]}.{signature}"
    status, out, err = run(capsys, files.args())
    assert_invalid((status, out, err), "bad_signature")
    # Nothing from an unverified payload is shown as if it were the license.
    assert "television" not in out
    assert "licensee" not in out


def test_a_key_not_in_the_jwks_is_an_unknown_key(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.token = license_jws(key=mallory_key)
    err = assert_invalid(run(capsys, files.args()), "unknown_key")
    assert MALLORY_KID in err


def test_alg_none_is_refused(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    header = b64url_encode(canonical_json({"alg": "none", "kid": KID, "typ": TYP_LICENSE}))
    files.token = f"{header}.{b64url_encode(canonical_json(document()))}."
    assert_invalid(run(capsys, files.args()), "alg_not_allowed")


def test_a_work_receipt_is_not_a_license(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    files.token = sign_jws(document(), registry_key, KID, TYP_RECEIPT)
    assert_invalid(run(capsys, files.args()), "wrong_type")


def test_a_payload_with_duplicate_keys_is_malformed(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = canonical_json(document())[:-1] + b',"license_id":"lic_other"}'
    files.token = encode_jws(
        {"alg": "EdDSA", "kid": KID, "typ": TYP_LICENSE}, payload, registry_key
    )
    err = assert_invalid(run(capsys, files.args()), "malformed")
    assert "duplicate" in err


def test_another_schema_is_malformed(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    files.token = license_jws({**document(), "schema": "timbre.license/2"})
    err = assert_invalid(run(capsys, files.args()), "malformed")
    assert "timbre.license/2" in err


def test_a_jwks_that_lies_about_a_kid_is_refused(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.key_set = jwks(kid=MALLORY_KID)
    assert_invalid(run(capsys, files.args()), "bad_jwks")


# --- the term ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        ("2026-11-24", "not_yet_valid"),
        ("2026-11-24T23:59:59.999Z", "not_yet_valid"),
        ("2026-11-25", None),
        ("2026-11-25T01:00:00+01:00", None),  # the first instant, written in CET
        ("2026-11-25T00:30:00+01:00", "not_yet_valid"),  # 23:30 UTC the day before
        ("2026-11-24T23:30:00-01:00", None),  # 00:30 UTC on the first day
        ("2027-11-24T23:59:59Z", None),
        ("2027-11-25", "expired"),
        ("2030-01-01T00:00:00Z", "expired"),
    ],
)
def test_the_term_is_checked_at_the_moment_asked_for(
    files: Files, capsys: pytest.CaptureFixture[str], at: str, reason: str | None
) -> None:
    result = run(capsys, files.args(at=at))
    if reason is None:
        assert result[0] == 0, result[2]
    else:
        assert_invalid(result, reason)


def test_the_term_defaults_to_now(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    files.token = license_jws(
        document(valid_until="2001-01-01T00:00:00.000Z", valid_from="2000-01-01T00:00:00.000Z")
    )
    argv = ["license", files.license(), "--jwks", files.jwks()]
    assert_invalid(run(capsys, argv), "expired")


def test_an_unreadable_at_is_a_usage_error(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _out, err = run(capsys, files.args(at="next tuesday"))
    assert status == 2
    assert "--at" in err


# --- key status and the log index -------------------------------------------------------


@pytest.mark.parametrize(
    ("retired_at", "reason"),
    [
        (7, None),
        (INDEX + 1, None),
        (INDEX, "key_retired_before_logging"),
        (3, "key_retired_before_logging"),
    ],
)
def test_a_retired_key_vouches_only_for_licenses_logged_before_it_retired(
    files: Files, capsys: pytest.CaptureFixture[str], retired_at: int, reason: str | None
) -> None:
    files.key_set = jwks("retired", status_log_index=retired_at)
    result = run(capsys, files.args(*files.logged()))
    if reason is None:
        assert result[0] == 0, result[2]
        assert f"this license was logged before, at index {INDEX}" in result[1]
        assert f"key          {KID} (retired since log index {retired_at})" in result[1]
    else:
        err = assert_invalid(result, reason)
        assert f"retired at log index {retired_at}" in err


@pytest.mark.parametrize(
    ("compromised_from", "reason"),
    [(INDEX + 1, None), (INDEX, "key_compromised"), (2, "key_compromised")],
)
def test_a_compromised_key_vouches_only_for_licenses_logged_before_the_compromise(
    files: Files, capsys: pytest.CaptureFixture[str], compromised_from: int, reason: str | None
) -> None:
    files.key_set = jwks("compromised", compromised_from_index=compromised_from)
    result = run(capsys, files.args(*files.proven()))
    if reason is None:
        assert result[0] == 0, result[2]
        assert f"compromised from log index {compromised_from}, but this license" in result[1]
    else:
        err = assert_invalid(result, reason)
        assert f"logged at index {INDEX}" in err


def test_a_compromised_key_without_a_starting_index_vouches_for_nothing(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.key_set = jwks("compromised")
    assert_invalid(run(capsys, files.args(*files.logged())), "key_compromised")


@pytest.mark.parametrize("status", ["retired", "compromised"])
def test_a_non_active_key_without_the_log_index_cannot_pass(
    files: Files, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    files.key_set = jwks(status, compromised_from_index=INDEX + 1)
    err = assert_invalid(run(capsys, files.args()), "log_index_unknown")
    assert "--proof" in err
    assert "--log-url" in err


def test_a_forgery_with_a_compromised_key_cannot_borrow_an_old_index(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    # Whoever holds the compromised key signs a richer copy of a genuine license
    # and presents the genuine license's (pre-compromise) proof and entry.
    files.key_set = jwks("compromised", compromised_from_index=INDEX + 1)
    files.token = license_jws(document(territories=["WORLD"]))
    err = assert_invalid(run(capsys, files.args(*files.proven())), "entry_mismatch")
    assert "SHA-256" in err


def test_a_proof_without_its_entry_is_a_usage_error(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _out, err = run(capsys, files.args("--proof", files.proof()))
    assert status == 2
    assert "--entry" in err


# --- inclusion in a signed checkpoint ----------------------------------------------------


def test_inclusion_in_a_signed_checkpoint(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, files.args(*files.proven()))
    assert status == 0, err
    assert f"logged at index {INDEX}, included in checkpoint of size {SIZE}" in out


def test_a_proof_and_entry_without_a_checkpoint_give_an_unproven_index(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, files.args(*files.logged()))
    assert status == 0, err
    assert f"logged at index {INDEX} (per the proof file); not proven" in out


def test_inclusion_of_another_licenses_leaf_is_invalid(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real entry, a real proof, a real checkpoint: just not this license's.
    err = assert_invalid(run(capsys, files.args(*files.proven(INDEX + 1))), "entry_mismatch")
    assert OTHER_LICENSE_ID in err


def test_an_entry_naming_another_key_is_not_this_licenses(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.entries[INDEX] = issued_entry(TOKEN, kid=MALLORY_KID)
    err = assert_invalid(run(capsys, files.args(*files.proven())), "entry_mismatch")
    assert MALLORY_KID in err


def test_without_a_checkpoint_the_entry_must_still_be_the_proofs_leaf(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = files.args("--proof", files.proof(INDEX + 1), "--entry", files.entry(INDEX))
    assert_invalid(run(capsys, argv), "inclusion_failed")


def test_an_entry_that_is_not_the_proofs_leaf_is_invalid(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    # The right entry, but the proof of a different leaf.
    argv = files.args(
        "--checkpoint", files.checkpoint(), "--verifier-key", LOG_VERIFIER_KEY,
        "--proof", files.proof(INDEX + 1), "--entry", files.entry(INDEX),
    )  # fmt: skip
    assert_invalid(run(capsys, argv), "inclusion_failed")


def test_a_license_missing_from_the_checkpoints_tree_is_invalid(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    # The proof comes from a log where the license was added; the checkpoint from
    # the log the registry actually signed, which never had it.
    proof = files.proof()
    files.entries = [*files.entries[:INDEX], b"{}", *files.entries[INDEX + 1 :]]
    argv = files.args(
        "--checkpoint", files.checkpoint(), "--verifier-key", LOG_VERIFIER_KEY,
        "--proof", proof, "--entry", write(files.tmp_path, "e.bin", issued_entry(TOKEN)),
    )  # fmt: skip
    assert_invalid(run(capsys, argv), "inclusion_failed")


def test_a_checkpoint_signed_by_another_key_is_refused(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = files.args(
        "--checkpoint", files.checkpoint(key=mallory_key), "--verifier-key", LOG_VERIFIER_KEY,
        *files.logged(),
    )  # fmt: skip
    err = assert_invalid(run(capsys, argv), "bad_checkpoint")
    assert "note." in err


def test_a_checkpoint_needs_the_logs_key(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run(capsys, files.args("--checkpoint", files.checkpoint(), *files.logged()))
    assert status == 2
    assert "--verifier-key" in err


# --- machine-readable output ------------------------------------------------------------


def test_json_output_of_a_valid_license(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, files.args("--json", *files.proven()))
    assert status == 0, err
    result = json.loads(out)
    assert set(result) == {"valid", "reason", "detail", "checks", "license"}
    assert result["valid"] is True
    assert result["reason"] is None
    assert result["license"] == document()
    checks = result["checks"]
    assert list(checks) == ["signature", "document", "log", "key", "revocation", "term"]
    assert {name: check["outcome"] for name, check in checks.items()} == {
        "signature": "ok",
        "document": "ok",
        "log": "ok",
        "key": "ok",
        "revocation": "not_checked",
        "term": "ok",
    }
    assert checks["key"]["status"] == "active"
    assert checks["key"]["kid"] == KID
    assert checks["log"]["log_index"] == INDEX
    assert checks["log"]["tree_size"] == SIZE
    root = root_from_leaf_hashes([leaf_hash(e) for e in files.entries])
    assert checks["log"]["root_hash"] == encode_hash(root)
    assert checks["term"]["at"] == "2027-01-01T00:00:00Z"


def test_json_output_of_an_invalid_license(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.key_set = jwks("retired", status_log_index=3)
    status, out, err = run(capsys, files.args("--json", *files.logged(), at="2028-01-01"))
    assert status == 1
    result = json.loads(out)
    # The log and the key's retirement outrank a mere expiry.
    assert (result["valid"], result["reason"]) == (False, "key_retired_before_logging")
    assert result["checks"]["term"]["reason"] == "expired"
    assert err.startswith("invalid: key_retired_before_logging: ")


def test_json_output_when_the_signature_fails(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    files.token = license_jws(key=mallory_key)
    status, out, _err = run(capsys, files.args("--json"))
    assert status == 1
    result = json.loads(out)
    assert result["license"] is None
    assert result["checks"] == {
        "signature": {
            "outcome": "failed",
            "reason": "unknown_key",
            "detail": f"no trusted key has kid {MALLORY_KID!r}",
            "code": "jws.unknown_kid",
        }
    }


# --- against a registry over HTTP ---------------------------------------------------------


@dataclass
class FakeRegistry:
    """The registry's public endpoints, answering from what the test put in."""

    key_set: dict[str, Any] = field(default_factory=jwks)
    entries: list[bytes] = field(default_factory=build_log)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Indices the events endpoint names for a subject, besides the ones it finds itself.
    extra_events: dict[str, list[int]] = field(default_factory=dict)
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def set_status(self, license_id: str, status: str, log_index: int, **extra: Any) -> None:
        self.statuses[license_id] = {
            "license_id": license_id,
            "status": status,
            "valid_from": "2026-11-25",
            "valid_until": "2027-11-24",
            "log_index": log_index,
            "revoked_at": None,
            "revocation_reason": "",
            "revocation_log_index": None,
            **extra,
        }

    def events_about(self, subject: str, tree_size: int) -> list[int]:
        found = [
            i
            for i, data in enumerate(self.entries[:tree_size])
            if subject in event_subjects(json.loads(data)) and json.loads(data)["at"] != "x"
        ]
        return sorted(found + self.extra_events.get(subject, []))

    def handle(self, path: str, query: dict[str, Any]) -> tuple[int, str, bytes]:
        hashes = [leaf_hash(e) for e in self.entries]
        if path == "/.well-known/jwks.json":
            return 200, "application/jwk-set+json", json.dumps(self.key_set).encode()
        if path == "/api/v1/log/checkpoint":
            return 200, "text/plain; charset=utf-8", checkpoint_note(self.entries).encode()
        body: Any
        if path.startswith("/api/v1/licenses/") and path.endswith("/status"):
            status = self.statuses.get(path.split("/")[4])
            if status is None:
                return 404, "application/problem+json", b'{"detail": "No such license."}'
            body = status
        elif path == "/api/v1/log/entries":
            body = [
                {
                    "index": i,
                    "data": encode_hash(self.entries[i]),
                    "leaf_hash": encode_hash(hashes[i]),
                }
                for i in range(query["start"], min(query["end"], len(self.entries)))
            ]
        elif path == "/api/v1/log/events":
            subject, size = str(query["subject"]), int(query["tree_size"])
            body = {
                "subject": subject,
                "tree_size": size,
                "indices": self.events_about(subject, size),
            }
        elif path == "/api/v1/log/proof/inclusion":
            body = proof_json(self.entries[: query["tree_size"]], query["index"])
        else:
            return 404, "application/problem+json", b'{"detail": "Not found."}'
        return 200, "application/json", json.dumps(body).encode()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours proxy variables; the fake registry on 127.0.0.1 must be reached directly.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    fake.set_status(LICENSE_ID, "active", INDEX)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake.requests.append(self.path)
            query = {
                k: int(v[0]) if v[0].isdigit() else v[0] for k, v in parse_qs(parts.query).items()
            }
            status, content_type, body = fake.handle(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def online(files: Files, registry: FakeRegistry, *extra: str) -> list[str]:
    jwks_url = f"{registry.url}/.well-known/jwks.json"
    return [
        "license", files.license(), "--jwks", jwks_url, "--log-url", registry.url,
        "--timeout", "5", "--at", AT, *extra,
    ]  # fmt: skip


def test_jwks_from_a_url_and_status_from_the_registry(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, online(files, registry))
    assert status == 0, err
    assert "ok           revocation: not revoked (the registry reports 'active')" in out
    assert f"logged at index {INDEX} (per the registry); not proven" in out
    assert f"/api/v1/licenses/{LICENSE_ID}/status" in registry.requests
    # The index the registry gives is only used once its entry is seen to be this license's.
    assert f"/api/v1/log/entries?start={INDEX}&end={INDEX + 1}" in registry.requests


def test_a_revoked_license_is_invalid(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.set_status(
        LICENSE_ID, "revoked", INDEX, revoked_at="2027-02-01T10:00:00Z", revocation_reason="breach"
    )
    err = assert_invalid(run(capsys, online(files, registry)), "revoked")
    assert "2027-02-01T10:00:00Z (breach)" in err


def test_a_suspended_license_is_invalid(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.set_status(LICENSE_ID, "suspended", INDEX)
    assert_invalid(run(capsys, online(files, registry)), "suspended")


@pytest.mark.parametrize("status", ["key_compromised", "key_retired_before_logging"])
def test_the_registry_saying_its_key_no_longer_vouches_is_believed_over_a_stale_jwks(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    # The JWKS handed in still says the key is active; the registry's status says otherwise.
    registry.set_status(LICENSE_ID, status, INDEX)
    err = assert_invalid(run(capsys, online(files, registry)), status)
    assert "no longer vouches" in err


@pytest.mark.parametrize(("compromised_from", "expected"), [(INDEX + 1, 0), (INDEX, 1)])
def test_the_registry_gives_the_index_a_compromised_key_is_judged_by(
    files: Files,
    registry: FakeRegistry,
    capsys: pytest.CaptureFixture[str],
    compromised_from: int,
    expected: int,
) -> None:
    registry.key_set = jwks("compromised", compromised_from_index=compromised_from)
    status, _out, err = run(capsys, online(files, registry))
    assert status == expected, err
    if expected:
        assert err.startswith("invalid: key_compromised: ")


def test_a_forgery_reusing_a_license_id_is_caught_by_the_registrys_entry(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.key_set = jwks("compromised", compromised_from_index=INDEX + 1)
    files.token = license_jws(document(territories=["WORLD"]))
    assert_invalid(run(capsys, online(files, registry)), "entry_mismatch")


def test_inclusion_proven_from_the_registry_with_a_pinned_log_key(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = online(files, registry, "--verifier-key", LOG_VERIFIER_KEY)
    status, out, err = run(capsys, argv)
    assert status == 0, err
    assert f"logged at index {INDEX}, included in checkpoint of size {SIZE}" in out
    assert f"/api/v1/log/proof/inclusion?index={INDEX}&tree_size={SIZE}" in registry.requests


def test_a_checkpoint_given_by_url(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint_url = f"{registry.url}/api/v1/log/checkpoint"
    argv = online(files, registry, "--checkpoint", checkpoint_url)
    argv += ["--verifier-key", LOG_VERIFIER_KEY, "--origin", ORIGIN]
    status, out, err = run(capsys, argv)
    assert status == 0, err
    assert f"included in checkpoint of size {SIZE}" in out
    assert "/api/v1/log/checkpoint" in registry.requests


def test_a_proof_for_another_index_than_the_registrys_is_invalid(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = online(files, registry, "--proof", files.proof(INDEX + 1))
    assert_invalid(run(capsys, argv), "log_index_mismatch")


def test_json_output_with_the_registry(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.set_status(LICENSE_ID, "revoked", INDEX, revoked_at="2027-02-01T10:00:00Z")
    status, out, _err = run(capsys, online(files, registry, "--json"))
    assert status == 1
    result = json.loads(out)
    assert (result["valid"], result["reason"]) == (False, "revoked")
    assert result["checks"]["revocation"]["registry_status"] == "revoked"
    assert result["checks"]["log"]["index_from"] == "the registry"


def test_a_license_the_registry_does_not_know_cannot_be_checked(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.statuses.clear()
    status, _out, err = run(capsys, online(files, registry))
    assert status == 2
    assert "HTTP 404" in err
    assert "No such license." in err


def test_an_unreachable_registry_cannot_be_checked(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    # A port that was just free and that nothing listens on: connection refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = files.args("--log-url", f"http://127.0.0.1:{port}", "--timeout", "5")
    status, _out, err = run(capsys, argv)
    assert status == 2
    assert err.startswith("error: cannot reach")


# --- standing from the log's events --------------------------------------------------------


def logged(kind: str, **fields: str) -> bytes:
    return canonical_json({"type": kind, "at": "2027-01-05T10:00:00.000Z", **fields})


def proven_online(files: Files, registry: FakeRegistry, *extra: str) -> list[str]:
    return online(files, registry, "--verifier-key", LOG_VERIFIER_KEY, *extra)


def test_a_hold_in_the_log_suspends_the_license_and_its_release_lifts_it(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    held = logged("license.held", license_id=LICENSE_ID, hold_id="4", reason="invoice_overdue")
    registry.entries.append(held)
    err = assert_invalid(run(capsys, proven_online(files, registry, "--json")), "suspended")
    assert "held (invoice_overdue)" in err
    status, out, _ = run(capsys, proven_online(files, registry, "--json"))
    revocation = json.loads(out)["checks"]["revocation"]
    assert revocation["event"]["index"] == SIZE
    assert revocation["event"]["proof"]["tree_size"] == SIZE + 1
    registry.entries.append(
        logged("license.released", license_id=LICENSE_ID, hold_id="4", reason="invoice_overdue")
    )
    status, out, err = run(capsys, proven_online(files, registry))
    assert status == 0, err
    # Its issuance, the hold and the release.
    assert "3 events about it and its voice in the log, each proven" in out


def test_a_suspended_voice_in_the_log_suspends_its_licenses(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.entries.append(logged("consent.withdrawn", voice_id="3"))
    registry.entries.append(logged("voice.suspended", voice_id="3", cause="consent_withdrawn"))
    err = assert_invalid(run(capsys, proven_online(files, registry)), "suspended")
    assert "its voice was suspended (consent withdrawn)" in err
    registry.entries.append(logged("voice.suspended", voice_id="4", cause="operator"))
    registry.entries.append(logged("voice.reinstated", voice_id="3", cause="performer"))
    status, _out, err = run(capsys, proven_online(files, registry))
    assert status == 0, err  # reinstated; another voice's suspension is not its business


def test_the_log_outranks_a_registry_that_says_active(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = hashlib.sha256(TOKEN.encode("ascii")).hexdigest()
    registry.entries.append(
        logged("license.revoked", license_id=LICENSE_ID, reason="breach", jws_sha256=digest)
    )
    err = assert_invalid(run(capsys, proven_online(files, registry)), "revoked")
    assert "the log shows: revoked (breach)" in err


def test_a_registry_naming_someone_elses_event_is_caught(
    files: Files, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    # Entry INDEX + 1 is another license's issuance; naming it as this license's is a lie.
    registry.extra_events[f"license:{LICENSE_ID}"] = [INDEX + 1]
    status, _out, err = run(capsys, proven_online(files, registry))
    assert status == 1
    assert "invalid: log.bad_event:" in err and OTHER_LICENSE_ID in err
