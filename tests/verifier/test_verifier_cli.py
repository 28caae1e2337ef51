"""``python -m verifier``: what an auditor runs, with real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.checkpoint import format_checkpoint
from verifier.cli import main
from verifier.jcs import canonical_json
from verifier.jws import TYP_LICENSE, TYP_RECEIPT, jwk_from_public_key, kid_for_public_key, sign_jws
from verifier.merkle import consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes
from verifier.note import make_verifier_key, sign_note
from verifier.proofs import ConsistencyProof, InclusionProof

REPO = Path(__file__).resolve().parents[2]

registry_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
REGISTRY_KID = kid_for_public_key(registry_key.public_key())
mallory_key = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))

ORIGIN = "timbre.example/log"
log_key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
LOG_VERIFIER_KEY = make_verifier_key(ORIGIN, log_key.public_key())

RECEIPT = {"schema": "timbre.receipt/1", "work_id": "wrk_1", "log_index": "4"}
ENTRIES = [canonical_json({"type": "work.recorded", "n": i}) for i in range(11)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _jwks(tmp_path: Path, status: str = "active") -> str:
    jwk = {**jwk_from_public_key(registry_key.public_key()), "kid": REGISTRY_KID, "status": status}
    return _write(tmp_path, "jwks.json", json.dumps({"keys": [jwk]}))


def _checkpoint(tmp_path: Path, size: int, name: str = "checkpoint.txt") -> str:
    body = format_checkpoint(ORIGIN, size, root_from_leaf_hashes(LEAVES[:size]))
    return _write(tmp_path, name, sign_note(body, ORIGIN, log_key))


# --- jws-verify ---------------------------------------------------------------------------


def test_jws_verify_prints_the_payload_of_a_valid_receipt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _write(
        tmp_path, "receipt.jws", sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT) + "\n"
    )
    status = main(["jws-verify", "--jwks", _jwks(tmp_path), "--typ", TYP_RECEIPT, token])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert json.loads(out) == RECEIPT
    assert err == ""


def test_jws_verify_rejects_a_tampered_receipt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, _, signature = sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT).split(".")
    forged_payload = sign_jws(
        {**RECEIPT, "work_id": "wrk_2"}, registry_key, REGISTRY_KID, TYP_RECEIPT
    )
    token = _write(tmp_path, "receipt.jws", f"{header}.{forged_payload.split('.')[1]}.{signature}")
    status = main(["jws-verify", "--jwks", _jwks(tmp_path), token])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err.startswith("invalid: jws.bad_signature: ")


def test_jws_verify_rejects_a_receipt_signed_by_a_key_not_in_the_jwks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = sign_jws(
        RECEIPT, mallory_key, kid_for_public_key(mallory_key.public_key()), TYP_RECEIPT
    )
    status = main(["jws-verify", "--jwks", _jwks(tmp_path), _write(tmp_path, "t.jws", token)])
    assert status == 1
    assert "invalid: jws.unknown_kid" in capsys.readouterr().err


def test_jws_verify_rejects_a_receipt_presented_as_a_license(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _write(tmp_path, "t.jws", sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT))
    assert main(["jws-verify", "--jwks", _jwks(tmp_path), "--typ", TYP_LICENSE, token]) == 1
    assert "invalid: jws.wrong_typ" in capsys.readouterr().err


def test_jws_verify_warns_when_the_key_is_no_longer_active(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _write(tmp_path, "t.jws", sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT))
    assert main(["jws-verify", "--jwks", _jwks(tmp_path, status="compromised"), token]) == 0
    assert "status 'compromised'" in capsys.readouterr().err


def test_jws_verify_rejects_a_jwks_with_duplicate_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks = _write(tmp_path, "jwks.json", '{"keys": [], "keys": []}')
    token = _write(tmp_path, "t.jws", sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT))
    assert main(["jws-verify", "--jwks", jwks, token]) == 1
    assert "invalid: json.duplicate_key" in capsys.readouterr().err


def test_jws_verify_reports_an_unreadable_file_as_an_error_not_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jws-verify", "--jwks", str(tmp_path / "missing.json"), str(tmp_path / "t")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")


# --- inclusion ------------------------------------------------------------------------------


def _inclusion_args(tmp_path: Path, index: int, proof_json: object, size: int = 11) -> list[str]:
    return [
        "inclusion",
        "--leaf-file",
        _write(tmp_path, "leaf.json", ENTRIES[index]),
        "--index",
        str(index),
        "--checkpoint",
        _checkpoint(tmp_path, size),
        "--proof",
        _write(tmp_path, "proof.json", json.dumps(proof_json)),
        "--verifier-key",
        LOG_VERIFIER_KEY,
        "--origin",
        ORIGIN,
    ]


def _inclusion_json(index: int, size: int = 11) -> dict[str, object]:
    proof = InclusionProof(index, size, LEAVES[index], tuple(inclusion_proof(LEAVES, index, size)))
    return proof.to_json()


def test_inclusion_accepts_a_valid_proof(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_inclusion_args(tmp_path, 4, _inclusion_json(4))) == 0
    assert capsys.readouterr().out.startswith(f"ok: entry 4 is in {ORIGIN} at tree size 11")


def test_inclusion_rejects_a_proof_with_a_flipped_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof = _inclusion_json(4)
    hashes = list(proof["proof"])  # type: ignore[call-overload]
    hashes[1] = hashes[2]
    proof["proof"] = hashes
    assert main(_inclusion_args(tmp_path, 4, proof)) == 1
    assert "invalid: merkle.root_mismatch" in capsys.readouterr().err


def test_inclusion_rejects_a_leaf_that_is_not_the_proofs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _inclusion_args(tmp_path, 4, _inclusion_json(5))
    args[args.index("--index") + 1] = "5"  # the proof and index say 5, the leaf file is entry 4
    assert main(args) == 1
    assert "does not hash to the proof's leaf_hash" in capsys.readouterr().err


def test_inclusion_rejects_a_proof_for_another_tree_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_inclusion_args(tmp_path, 4, _inclusion_json(4, size=9))) == 1
    assert "invalid: merkle.proof_mismatch" in capsys.readouterr().err


def test_inclusion_rejects_a_checkpoint_signed_by_another_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _inclusion_args(tmp_path, 4, _inclusion_json(4))
    args[args.index("--verifier-key") + 1] = make_verifier_key(ORIGIN, mallory_key.public_key())
    assert main(args) == 1
    assert "invalid: note.unknown_key" in capsys.readouterr().err


def test_inclusion_rejects_a_checkpoint_for_another_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _inclusion_args(tmp_path, 4, _inclusion_json(4))
    args[args.index("--origin") + 1] = "elsewhere.example/log"
    assert main(args) == 1
    assert "invalid: checkpoint.wrong_origin" in capsys.readouterr().err


def test_inclusion_rejects_a_malformed_proof_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_inclusion_args(tmp_path, 4, {"index": 4, "tree_size": 11})) == 1
    assert "invalid: merkle.malformed_proof" in capsys.readouterr().err


# --- consistency -------------------------------------------------------------------------------


def _consistency_args(tmp_path: Path, old: int, new: int, proof_json: object) -> list[str]:
    return [
        "consistency",
        "--old-checkpoint",
        _checkpoint(tmp_path, old, "old.txt"),
        "--new-checkpoint",
        _checkpoint(tmp_path, new, "new.txt"),
        "--proof",
        _write(tmp_path, "proof.json", json.dumps(proof_json)),
        "--verifier-key",
        LOG_VERIFIER_KEY,
        "--origin",
        ORIGIN,
    ]


def test_consistency_accepts_an_append_only_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof = ConsistencyProof(6, 11, tuple(consistency_proof(LEAVES, 6, 11))).to_json()
    assert main(_consistency_args(tmp_path, 6, 11, proof)) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_consistency_rejects_a_log_that_rewrote_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewritten = [*LEAVES[:2], leaf_hash(b"forged"), *LEAVES[3:]]
    old = _checkpoint(tmp_path, 6, "old.txt")
    new_body = format_checkpoint(ORIGIN, 11, root_from_leaf_hashes(rewritten))
    new = _write(tmp_path, "new.txt", sign_note(new_body, ORIGIN, log_key))
    proof = ConsistencyProof(6, 11, tuple(consistency_proof(rewritten, 6, 11))).to_json()
    args = _consistency_args(tmp_path, 6, 11, proof)
    args[args.index("--old-checkpoint") + 1] = old
    args[args.index("--new-checkpoint") + 1] = new
    assert main(args) == 1
    assert "invalid: merkle.root_mismatch" in capsys.readouterr().err


# --- the real entry point ------------------------------------------------------------------------


def test_python_dash_m_verifier_runs_as_a_subprocess(tmp_path: Path) -> None:
    token = _write(tmp_path, "t.jws", sign_jws(RECEIPT, registry_key, REGISTRY_KID, TYP_RECEIPT))
    result = subprocess.run(
        [sys.executable, "-m", "verifier", "jws-verify", "--jwks", _jwks(tmp_path), token],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == RECEIPT


def test_an_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["monitor-everything"])
    assert exc.value.code == 2
