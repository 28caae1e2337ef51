"""``python -m verifier``: verify Timbre licenses, receipts and log proofs offline.

Exit status: 0 valid, 1 invalid (the reason goes to stderr as
``invalid: <code>: <reason>``), 2 the check could not be run (bad arguments,
unreadable file).

Adding a subcommand: write a ``_register_<name>(subparsers)`` function that adds
its parser and sets ``handler`` to a function ``(args) -> int``, then list it in
``COMMANDS``. Handlers raise :class:`~verifier.errors.VerificationError` for
invalid input and :class:`CommandError` when they cannot run; ``main`` turns
both into the exit statuses above.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from verifier.checkpoint import Checkpoint, open_checkpoint
from verifier.errors import VerificationError
from verifier.jcs import parse_json_strict
from verifier.jws import keys_from_jwks, verify_jws
from verifier.merkle import EMPTY_ROOT, leaf_hash
from verifier.note import parse_verifier_key
from verifier.proofs import ConsistencyProof, InclusionProof

__all__ = ["COMMANDS", "CommandError", "build_parser", "main"]

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

# Inputs are documents and proofs, never bulk data: refuse to slurp anything huge.
_MAX_INPUT_BYTES = 16 * 1024 * 1024

Subparsers = Any  # argparse's _SubParsersAction is private; its type is not worth importing
Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """The check could not be run at all (as opposed to: it ran and failed)."""


# --- shared helpers ------------------------------------------------------------------


def _read_bytes(path: str) -> bytes:
    """Read a file, or standard input for ``-``."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(_MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(_MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > _MAX_INPUT_BYTES:
        raise CommandError(f"{path} is larger than {_MAX_INPUT_BYTES} bytes")
    return data


def _read_json(path: str) -> Any:
    return parse_json_strict(_read_bytes(path), max_bytes=_MAX_INPUT_BYTES)


def _open_checkpoint(path: str, verifier_key: str, origin: str) -> Checkpoint:
    verifier = parse_verifier_key(verifier_key)
    return open_checkpoint(_read_bytes(path), [verifier], origin)


def _add_log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verifier-key",
        required=True,
        metavar="KEY",
        help="the log's note verifier key, <name>+<hex id>+<base64 key> "
        "(GET /api/v1/log/verifier-key)",
    )
    parser.add_argument(
        "--origin",
        required=True,
        help="the log's origin: the first line every checkpoint must carry",
    )


# --- jws-verify ------------------------------------------------------------------------


def _register_jws_verify(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "jws-verify",
        help="verify a license or work receipt (JWS) against a JWKS file",
        description="Verify a compact JWS with the key its kid names in a JWK Set, "
        "and print its payload as JSON.",
    )
    parser.add_argument(
        "--jwks", required=True, metavar="FILE", help='JWK Set JSON, {"keys": [...]}'
    )
    parser.add_argument(
        "--typ",
        metavar="TYP",
        help="require this typ, e.g. timbre-license+jws or timbre-receipt+jws",
    )
    parser.add_argument(
        "token_file", metavar="TOKEN_FILE", help="file holding the token ('-' for stdin)"
    )
    parser.set_defaults(handler=_run_jws_verify)


def _run_jws_verify(args: argparse.Namespace) -> int:
    jwks = _read_json(args.jwks)
    keys = keys_from_jwks(jwks)
    try:
        # Tokens are usually saved with a trailing newline; whitespace is never
        # part of a compact JWS, so trimming it cannot change what is verified.
        token = _read_bytes(args.token_file).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise VerificationError("jws.malformed", "token file is not ASCII") from exc
    verified = verify_jws(token, keys, expected_typ=args.typ)
    _warn_about_key_status(jwks, verified.header["kid"])
    print(json.dumps(verified.payload, indent=2, sort_keys=True, ensure_ascii=False))
    return EXIT_VALID


def _warn_about_key_status(jwks: Any, kid: str) -> None:
    # A signature by a retired key is still good for documents logged before the
    # retirement, and one by a compromised key is only good before the compromise;
    # that takes the log to decide, so say so rather than pass silently.
    for jwk in jwks.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            status = jwk.get("status")
            if status not in (None, "active"):
                print(
                    f"warning: key {kid} has status {status!r}; check the document's log index "
                    "against the key's status in the transparency log",
                    file=sys.stderr,
                )


# --- inclusion ------------------------------------------------------------------------


def _register_inclusion(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "inclusion",
        help="prove that a log entry is in a signed checkpoint's tree",
        description="Check the checkpoint's signature and origin, then the inclusion proof "
        "of the leaf against the checkpoint's root.",
    )
    parser.add_argument(
        "--leaf-file", required=True, metavar="FILE", help="the entry's leaf data (raw bytes)"
    )
    parser.add_argument("--index", required=True, type=int, help="the entry's index in the log")
    parser.add_argument(
        "--checkpoint", required=True, metavar="FILE", help="signed checkpoint note"
    )
    parser.add_argument(
        "--proof",
        required=True,
        metavar="FILE",
        help="inclusion proof JSON (GET /api/v1/log/proof/inclusion)",
    )
    _add_log_arguments(parser)
    parser.set_defaults(handler=_run_inclusion)


def _run_inclusion(args: argparse.Namespace) -> int:
    checkpoint = _open_checkpoint(args.checkpoint, args.verifier_key, args.origin)
    proof = InclusionProof.from_json(_read_json(args.proof))
    if proof.index != args.index:
        raise VerificationError(
            "merkle.proof_mismatch", f"proof is for index {proof.index}, not {args.index}"
        )
    if proof.tree_size != checkpoint.size:
        raise VerificationError(
            "merkle.proof_mismatch",
            f"proof is for tree size {proof.tree_size} but the checkpoint is for {checkpoint.size}",
        )
    computed = leaf_hash(_read_bytes(args.leaf_file))
    if computed != proof.leaf_hash:
        raise VerificationError(
            "merkle.proof_mismatch", "the leaf file does not hash to the proof's leaf_hash"
        )
    proof.verify(checkpoint.root_hash)
    print(f"ok: entry {proof.index} is in {checkpoint.origin} at tree size {checkpoint.size}")
    return EXIT_VALID


# --- consistency ------------------------------------------------------------------------


def _register_consistency(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "consistency",
        help="prove that a newer signed checkpoint extends an older one (the log is append-only)",
        description="Check both checkpoints' signatures and origin, then the consistency proof "
        "between their roots.",
    )
    parser.add_argument(
        "--old-checkpoint", required=True, metavar="FILE", help="the older signed checkpoint"
    )
    parser.add_argument(
        "--new-checkpoint", required=True, metavar="FILE", help="the newer signed checkpoint"
    )
    parser.add_argument(
        "--proof",
        required=True,
        metavar="FILE",
        help="consistency proof JSON (GET /api/v1/log/proof/consistency)",
    )
    _add_log_arguments(parser)
    parser.set_defaults(handler=_run_consistency)


def _run_consistency(args: argparse.Namespace) -> int:
    old = _open_checkpoint(args.old_checkpoint, args.verifier_key, args.origin)
    new = _open_checkpoint(args.new_checkpoint, args.verifier_key, args.origin)
    proof = ConsistencyProof.from_json(_read_json(args.proof))
    if (proof.first, proof.second) != (old.size, new.size):
        raise VerificationError(
            "merkle.proof_mismatch",
            f"proof is from size {proof.first} to {proof.second}, "
            f"but the checkpoints are at {old.size} and {new.size}",
        )
    if old.size == 0:
        # Every tree extends the empty tree; there is nothing to prove beyond the
        # old checkpoint really being the empty tree.
        if old.root_hash != EMPTY_ROOT or proof.proof:
            raise VerificationError(
                "merkle.root_mismatch", "a checkpoint of size 0 must carry the empty root"
            )
    else:
        proof.verify(old.root_hash, new.root_hash)
    print(f"ok: {args.origin} at size {new.size} extends size {old.size}")
    return EXIT_VALID


# --- entry point -----------------------------------------------------------------------

COMMANDS: list[Callable[[Subparsers], None]] = [
    _register_jws_verify,
    _register_inclusion,
    _register_consistency,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verifier",
        description="Verify Timbre licenses, work receipts and transparency-log proofs, offline.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except VerificationError as exc:
        print(f"invalid: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
