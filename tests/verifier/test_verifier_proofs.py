"""The JSON shapes of log proofs shared by the server and the auditor's CLI."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from verifier.errors import MerkleError
from verifier.merkle import consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes
from verifier.proofs import ConsistencyProof, InclusionProof

LEAVES = [leaf_hash(bytes([i])) for i in range(5)]
ROOT = root_from_leaf_hashes(LEAVES)


def _inclusion_json() -> dict[str, Any]:
    return InclusionProof(3, 5, LEAVES[3], tuple(inclusion_proof(LEAVES, 3))).to_json()


def test_an_inclusion_proof_round_trips_through_json_and_verifies() -> None:
    as_json = _inclusion_json()
    assert as_json["leaf_hash"] == base64.b64encode(LEAVES[3]).decode()
    parsed = InclusionProof.from_json(as_json)
    assert parsed.to_json() == as_json
    parsed.verify(ROOT)


def test_a_consistency_proof_round_trips_through_json_and_verifies() -> None:
    as_json = ConsistencyProof(3, 5, tuple(consistency_proof(LEAVES, 3, 5))).to_json()
    parsed = ConsistencyProof.from_json(as_json)
    assert parsed.to_json() == as_json
    parsed.verify(root_from_leaf_hashes(LEAVES[:3]), ROOT)


def test_sizes_may_travel_as_decimal_strings() -> None:
    as_json = {**_inclusion_json(), "index": "3", "tree_size": "5"}
    assert InclusionProof.from_json(as_json).tree_size == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("index", -1),
        ("index", True),  # a bool is an int in Python, never an index
        ("index", 3.0),
        ("index", "03"),
        ("tree_size", None),
        ("leaf_hash", base64.b64encode(LEAVES[3]).decode().rstrip("=")),
        ("leaf_hash", base64.b64encode(LEAVES[3])[:-2].decode() + "9="),  # non-zero pad bits
        ("leaf_hash", base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode()),
        ("leaf_hash", base64.b64encode(LEAVES[3][:31]).decode()),
        ("proof", "not a list"),
        ("proof", [1, 2]),
    ],
)
def test_it_rejects_a_malformed_inclusion_proof(field: str, value: Any) -> None:
    with pytest.raises(MerkleError) as exc:
        InclusionProof.from_json({**_inclusion_json(), field: value})
    assert exc.value.code in {"merkle.malformed_proof", "merkle.bad_hash"}


def test_it_names_the_missing_fields() -> None:
    with pytest.raises(MerkleError, match="leaf_hash, proof"):
        InclusionProof.from_json({"index": 1, "tree_size": 2})
    with pytest.raises(MerkleError):
        ConsistencyProof.from_json([])
