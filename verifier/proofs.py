"""The JSON shapes of log proofs, as served by ``/api/v1/log/proof/...``.

One definition for both sides, so the server's output and the auditor's input
cannot drift apart::

    {"index": I, "tree_size": N, "leaf_hash": "<base64>", "proof": ["<base64>", ...]}
    {"first": M, "second": N, "proof": ["<base64>", ...]}

Hashes are standard base64 (as in the transparency-dev test vectors). Sizes and
indexes are JSON integers; decimal strings are accepted too, since the project
sends counters as strings elsewhere and a reader should not care.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifier.errors import MerkleError
from verifier.merkle import HASH_SIZE, verify_consistency, verify_inclusion

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "decode_hash",
    "encode_hash",
]

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def encode_hash(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def decode_hash(value: object, what: str) -> bytes:
    """A 32-byte hash from canonical standard base64, or ``merkle.malformed_proof``."""
    if not isinstance(value, str):
        raise MerkleError("merkle.malformed_proof", f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MerkleError("merkle.malformed_proof", f"{what} is not valid base64") from exc
    if encode_hash(raw) != value:
        raise MerkleError("merkle.malformed_proof", f"{what} is not canonical base64")
    if len(raw) != HASH_SIZE:
        raise MerkleError(
            "merkle.bad_hash", f"{what} is {len(raw)} bytes; SHA-256 hashes are {HASH_SIZE}"
        )
    return raw


def _count(value: object, what: str) -> int:
    # bool is an int in Python; true/false is never a tree size.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    raise MerkleError("merkle.malformed_proof", f"{what} must be a non-negative integer")


def _hashes(value: object) -> list[bytes]:
    if not isinstance(value, list):
        raise MerkleError("merkle.malformed_proof", "proof must be a list of base64 hashes")
    return [decode_hash(item, f"proof[{position}]") for position, item in enumerate(value)]


def _object(value: object, keys: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MerkleError("merkle.malformed_proof", "proof must be a JSON object")
    missing = [key for key in keys if key not in value]
    if missing:
        raise MerkleError("merkle.malformed_proof", f"proof is missing {', '.join(missing)}")
    return value


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]

    @classmethod
    def from_json(cls, obj: object) -> InclusionProof:
        fields = _object(obj, ("index", "tree_size", "leaf_hash", "proof"))
        return cls(
            index=_count(fields["index"], "index"),
            tree_size=_count(fields["tree_size"], "tree_size"),
            leaf_hash=decode_hash(fields["leaf_hash"], "leaf_hash"),
            proof=tuple(_hashes(fields["proof"])),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": encode_hash(self.leaf_hash),
            "proof": [encode_hash(h) for h in self.proof],
        }

    def verify(self, root: bytes) -> None:
        verify_inclusion(self.leaf_hash, self.index, self.tree_size, self.proof, root)


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: tuple[bytes, ...]

    @classmethod
    def from_json(cls, obj: object) -> ConsistencyProof:
        fields = _object(obj, ("first", "second", "proof"))
        return cls(
            first=_count(fields["first"], "first"),
            second=_count(fields["second"], "second"),
            proof=tuple(_hashes(fields["proof"])),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "proof": [encode_hash(h) for h in self.proof],
        }

    def verify(self, first_root: bytes, second_root: bytes) -> None:
        verify_consistency(self.first, self.second, self.proof, first_root, second_root)
