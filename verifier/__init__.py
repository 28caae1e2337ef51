"""Timbre's cryptographic core: one implementation of every format, no Django.

The server signs with it and auditors verify with it (``python -m verifier``).
It depends only on the standard library, ``cryptography`` and ``rfc8785``.
"""

from __future__ import annotations

from verifier.checkpoint import Checkpoint, format_checkpoint, open_checkpoint, parse_checkpoint
from verifier.errors import (
    CheckpointError,
    JSONError,
    JWSError,
    MerkleError,
    NoteError,
    VerificationError,
)
from verifier.jcs import canonical_json, parse_json_strict
from verifier.jws import (
    TYP_LICENSE,
    TYP_RECEIPT,
    VerifiedJWS,
    jwk_from_public_key,
    jwk_thumbprint,
    keys_from_jwks,
    kid_for_public_key,
    sign_jws,
    verify_jws,
)
from verifier.merkle import (
    EMPTY_ROOT,
    Subtree,
    consistency_proof,
    consistency_proof_from,
    frontier_append,
    frontier_coordinates,
    frontier_root,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    node_hash,
    range_hash_from_subtrees,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from verifier.note import (
    NoteSigner,
    NoteVerifier,
    make_signer_key,
    make_verifier_key,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

__all__ = [
    "EMPTY_ROOT",
    "TYP_LICENSE",
    "TYP_RECEIPT",
    "Checkpoint",
    "CheckpointError",
    "JSONError",
    "JWSError",
    "MerkleError",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "Subtree",
    "VerificationError",
    "VerifiedJWS",
    "canonical_json",
    "consistency_proof",
    "consistency_proof_from",
    "format_checkpoint",
    "frontier_append",
    "frontier_coordinates",
    "frontier_root",
    "inclusion_proof",
    "inclusion_proof_from",
    "jwk_from_public_key",
    "jwk_thumbprint",
    "keys_from_jwks",
    "kid_for_public_key",
    "leaf_hash",
    "make_signer_key",
    "make_verifier_key",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_json_strict",
    "parse_signer_key",
    "parse_verifier_key",
    "range_hash_from_subtrees",
    "root_from_leaf_hashes",
    "sign_jws",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
    "verify_jws",
]
