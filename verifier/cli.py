"""``python -m verifier``: verify Timbre licenses, receipts and log proofs.

Everything works offline on files, except ``monitor``, ``inclusion --url`` and
the URL inputs of ``license``, which ask a Timbre server over HTTP and trust
nothing it says without a signature or a proof.

Exit status: 0 valid, 1 invalid (the reason goes to stderr as
``invalid: <code>: <reason>``), 2 the check could not be run (bad arguments,
unreadable file, unreachable server).

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
import textwrap
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier import logfile, statement_check
from verifier.checkpoint import Checkpoint, open_checkpoint
from verifier.errors import JSONError, VerificationError
from verifier.http import DEFAULT_TIMEOUT, FetchError, HttpClient
from verifier.jcs import parse_json_strict
from verifier.jws import TYP_RECEIPT, keys_from_jwks, verify_jws
from verifier.license import (
    CannotCheck,
    LicenseReport,
    LogInputs,
    failed_report,
    format_report,
    parse_at,
    verify_license,
)
from verifier.merkle import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes
from verifier.monitor import (
    LogClient,
    LogMisbehaviour,
    MonitorError,
    MonitorState,
    SignedCheckpoint,
    TrustedLog,
    check_extends,
    check_inclusion,
    load_state,
    run_monitor,
    trusted_log,
)
from verifier.note import parse_verifier_key
from verifier.proofs import ConsistencyProof, InclusionProof, encode_hash
from verifier.state import EventSource, RegistrySource, Standing, work_in_log

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


def _read_bytes(path: str, limit: int = _MAX_INPUT_BYTES) -> bytes:
    """Read a file, or standard input for ``-``."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise CommandError(f"{path} is larger than {limit} bytes")
    return data


def _read_json(path: str) -> Any:
    return parse_json_strict(_read_bytes(path), max_bytes=_MAX_INPUT_BYTES)


def _open_checkpoint(path: str, verifier_key: str, origin: str) -> Checkpoint:
    verifier = parse_verifier_key(verifier_key)
    return open_checkpoint(_read_bytes(path), [verifier], origin)


def _add_log_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--verifier-key",
        required=required,
        metavar="KEY",
        help="the log's note verifier key, <name>+<hex id>+<base64 key> "
        "(GET /api/v1/log/verifier-key)",
    )
    parser.add_argument(
        "--origin",
        required=required,
        help="the log's origin: the first line every checkpoint must carry",
    )


def _add_network_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--url",
        required=required,
        metavar="URL",
        help="the Timbre server's base URL, e.g. https://timbre.example",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a request after this long (default {DEFAULT_TIMEOUT:g})",
    )


def _log_client(args: argparse.Namespace) -> LogClient:
    return LogClient(HttpClient(args.url, timeout=args.timeout))


def _add_state_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="a monitor's state file (python -m verifier monitor): the log's key is taken "
        "from it, and the registry's checkpoint must extend the one the monitor last saw, so "
        "that an older tree head, from before a void or a revocation, cannot be passed off "
        "(it is not updated)",
    )


def _log_trust(args: argparse.Namespace) -> tuple[TrustedLog, MonitorState | None]:
    """The log's key: from --state (with the monitor's last checkpoint), or --verifier-key."""
    if args.state is not None:
        state = load_state(Path(args.state))
        if state is None:
            raise CommandError(f"no state file at {args.state}; run monitor first")
        if args.verifier_key is not None and (
            trusted_log(args.verifier_key, args.origin).verifier_key != state.trusted.verifier_key
        ):
            raise CommandError(f"--verifier-key is not the key pinned in {args.state}")
        return state.trusted, state
    if args.verifier_key is None:
        raise CommandError(
            "give the log's key: --state FILE (pinned by monitor) or --verifier-key KEY, "
            "obtained out of band, not from the server being checked"
        )
    return trusted_log(args.verifier_key, args.origin), None


def _add_log_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="judge from a downloaded copy of the log (python -m verifier log-download) "
        "instead of asking the registry: every entry is read, none can be left out",
    )


def _event_source(args: argparse.Namespace) -> EventSource:
    """Where the events come from: a downloaded copy (--log), or the registry (--url)."""
    trusted, state = _log_trust(args)
    if getattr(args, "log", None) is not None:
        try:
            copy = logfile.load(Path(args.log), trusted)
        except logfile.LogFileError as exc:
            raise CommandError(str(exc)) from exc
        if state is not None:
            copy_extends(copy, state)
        else:
            print(
                "note: without --state (a monitor's state file), a copy made before a void or "
                f"a revocation would go unnoticed: the answer is as of the copy's tree of "
                f"size {copy.size}",
                file=sys.stderr,
            )
        for kind, count in sorted(copy.unknown_types.items()):
            print(
                f"note: {count} entries of type {kind!r} in the copy, which this verifier does "
                "not know: update the verifier to judge them",
                file=sys.stderr,
            )
        return copy
    client = _log_client(args)
    return RegistrySource(client, _latest_checkpoint(client, trusted, state))


def copy_extends(copy: logfile.LogFile, state: MonitorState) -> None:
    """A copy is as new as what the monitor saw, and agrees with it: its first entries
    make the monitor's tree."""
    seen = state.latest
    evidence = [("seen by the monitor", seen.note), ("in the copy", copy.checkpoint.note)]
    if copy.size < seen.size:
        raise LogMisbehaviour(
            "log.rollback",
            f"the copy is of size {copy.size}, older than the {seen.size} the monitor saw",
            evidence,
        )
    if root_from_leaf_hashes(copy.hashes[: seen.size]) != seen.root_hash:
        raise LogMisbehaviour(
            "log.fork", "the copy's first entries do not make the tree the monitor saw", evidence
        )


def _warn_no_state() -> None:
    print(
        "note: without --state (a monitor's state file), an older tree head the registry "
        "served would go unnoticed: the answer is as of the checkpoint it chose to show",
        file=sys.stderr,
    )


def _latest_checkpoint(
    client: LogClient, trusted: TrustedLog, state: MonitorState | None
) -> SignedCheckpoint:
    latest = client.checkpoint(trusted)
    if state is None:
        _warn_no_state()
    else:
        check_extends(client, state.latest, latest, ("seen by the monitor", "served now"))
    return latest


def _paragraphs(*texts: str) -> str:
    # Raw help formatting keeps the exit-status table intact but wraps nothing,
    # so the prose around it is wrapped here.
    return "\n\n".join(textwrap.fill(text, 79) for text in texts)


_EXIT_STATUS_HELP = """\
exit status:
  0  the check passed
  1  verification failed: a bad signature, a fork or a rollback of the log, a
     proof that does not verify (the reason goes to stderr as
     "invalid: <code>: <reason>")
  2  the check could not be run: bad arguments, no pinned key, an unreadable
     state file, or a server that cannot be reached or answers with an error
"""


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
        description=_paragraphs(
            "Check the checkpoint's signature and origin, then the inclusion proof of the "
            "leaf against the checkpoint's root.",
            "From files (--checkpoint, --proof, --leaf-file), or from a server (--url): then "
            "the latest checkpoint, the proof and the entry (unless --data-file gives your "
            "own copy) are fetched, and nothing is believed without the pinned key and the "
            "proof. With --state (a monitor's state file) the key comes from there and the "
            "checkpoint must also extend the one the monitor last saw.",
        ),
        epilog="usage from a server:\n"
        "  python -m verifier inclusion --url URL --index I (--state FILE | --verifier-key KEY)\n"
        "                               [--data-file FILE] [--origin ORIGIN]\n\n"
        + _EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--leaf-file",
        "--data-file",
        dest="leaf_file",
        metavar="FILE",
        help="the entry's leaf data (raw bytes); with --url optional: check your own copy "
        "instead of the server's",
    )
    parser.add_argument("--index", required=True, type=int, help="the entry's index in the log")
    parser.add_argument("--checkpoint", metavar="FILE", help="signed checkpoint note (file mode)")
    parser.add_argument(
        "--proof",
        metavar="FILE",
        help="inclusion proof JSON (GET /api/v1/log/proof/inclusion) (file mode)",
    )
    _add_log_arguments(parser, required=False)
    _add_network_arguments(parser, required=False)
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="with --url: a monitor state file; its pinned key and last checkpoint are used "
        "(it is not updated)",
    )
    parser.set_defaults(handler=_run_inclusion)


def _run_inclusion(args: argparse.Namespace) -> int:
    if args.url is not None:
        return _run_inclusion_online(args)
    missing = [
        option
        for option, value in (
            ("--leaf-file", args.leaf_file),
            ("--checkpoint", args.checkpoint),
            ("--proof", args.proof),
            ("--verifier-key", args.verifier_key),
            ("--origin", args.origin),
        )
        if value is None
    ]
    if missing:
        raise CommandError(f"inclusion needs --url, or else {', '.join(missing)}")
    if args.state is not None:
        raise CommandError("--state only works with --url")
    return _run_inclusion_offline(args)


def _run_inclusion_offline(args: argparse.Namespace) -> int:
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


def _run_inclusion_online(args: argparse.Namespace) -> int:
    conflicting = [
        option
        for option, value in (("--checkpoint", args.checkpoint), ("--proof", args.proof))
        if value is not None
    ]
    if conflicting:
        raise CommandError(f"{' and '.join(conflicting)} cannot be combined with --url")
    if args.index < 0:
        raise CommandError("--index must not be negative")
    state = None
    if args.state is not None:
        state = load_state(Path(args.state))
        if state is None:
            raise CommandError(f"no state file at {args.state}; run monitor first")
        if args.verifier_key is not None or args.origin is not None:
            raise CommandError("give either --state or --verifier-key/--origin, not both")
        trusted = state.trusted
    elif args.verifier_key is not None:
        trusted = trusted_log(args.verifier_key, args.origin)
    else:
        raise CommandError(
            "inclusion --url needs the log's key: --state FILE (pinned by monitor) or "
            "--verifier-key KEY, obtained out of band, not from the server being checked"
        )
    data = _read_bytes(args.leaf_file) if args.leaf_file is not None else None
    result = check_inclusion(_log_client(args), trusted, args.index, data, state)
    # Printed only now that the entry is proven: unverified log data is never shown.
    try:
        entry = parse_json_strict(result.data)
    except JSONError as exc:
        print(f"warning: entry {args.index} is not strict JSON ({exc.message})", file=sys.stderr)
    else:
        print(json.dumps(entry, indent=2, sort_keys=True, ensure_ascii=False))
    latest = result.checkpoint
    line = (
        f"ok: entry {args.index} is in checkpoint of size {latest.size} "
        f"({trusted.origin}, root {encode_hash(latest.root_hash)})"
    )
    if result.checked_against_state is not None:
        line += f"; it extends size {result.checked_against_state} from {args.state}"
    print(line)
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


# --- monitor --------------------------------------------------------------------------


def _register_monitor(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "monitor",
        help="check that a live log only ever grows (run it from cron)",
        description=_paragraphs(
            "Fetch the log's latest signed checkpoint, verify it with the pinned key, and "
            "check that it extends the checkpoint saved in the state file by the last run "
            "(a consistency proof from the old size to the new). A shrunken log is a "
            "rollback, a checkpoint that is not an extension is a fork; both print the two "
            "conflicting signed checkpoints as evidence. It also reads every new entry, "
            "proves the lot against the new root (the state keeps the tree's compact range) "
            "and checks that each is a well-formed event of a type it knows (types it does "
            "not know, from a newer registry, are noted). The state file is only replaced "
            "when every check passed.",
            "The first run needs --verifier-key: the log's key as obtained out of band, "
            "never from the server being checked. It is pinned in the state file; later "
            "runs refuse a different one.",
        ),
        epilog=_EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_network_arguments(parser, required=True)
    parser.add_argument(
        "--state",
        required=True,
        metavar="FILE",
        help="JSON file holding the pinned key and the last checkpoint seen; created by the "
        "first run",
    )
    parser.add_argument(
        "--verifier-key",
        metavar="KEY",
        help="the log's note verifier key, <name>+<hex id>+<base64 key>; required on the "
        "first run, and must match the pinned key afterwards",
    )
    parser.add_argument(
        "--origin",
        help="the log's origin (default: the key's name); must match the pinned one",
    )
    parser.set_defaults(handler=_run_monitor)


def _run_monitor(args: argparse.Namespace) -> int:
    result = run_monitor(_log_client(args), Path(args.state), args.verifier_key, args.origin)
    latest = result.state.latest
    print(
        f"ok: {result.state.trusted.origin} size {latest.size} "
        f"root {encode_hash(latest.root_hash)} (grew by {result.grew_by}; "
        f"{result.events_checked} events checked)"
    )
    for kind, count in sorted(result.unknown_types.items()):
        print(
            f"note: {count} entries of type {kind!r}, which this verifier does not know: "
            "a newer registry's events; update the verifier to judge them",
            file=sys.stderr,
        )
    return EXIT_VALID


# --- license --------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _client_for(url: str, timeout: float) -> tuple[HttpClient, str]:
    """A client and a path that together GET exactly ``url``.

    HttpClient joins a base and a path with one slash; splitting at the last
    slash keeps the URL as given (a trailing slash, or its absence, matters to
    the server's routing).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.fragment:
        raise CommandError(f"{url} must not carry a fragment")
    head, _, last = parts.path.rpartition("/")
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, head, "", ""))
    path = last + (f"?{parts.query}" if parts.query else "")
    return HttpClient(base, timeout=timeout), path


def _load_jwks(source: str, timeout: float) -> Any:
    if _is_url(source):
        client, path = _client_for(source, timeout)
        return client.get_json(path)
    return _read_json(source)


def _load_note(source: str, timeout: float) -> bytes:
    if _is_url(source):
        client, path = _client_for(source, timeout)
        return client.get_text(path)
    return _read_bytes(source)


def _register_license(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "license",
        help="verify a Timbre license: signature, key status, term, log inclusion, revocation",
        description=_paragraphs(
            "Verify a license (a compact JWS) against the registry's JWK Set: typ "
            "timbre-license+jws, alg EdDSA, the key its kid names, the signature, a "
            "timbre.license/1 payload and its term at --at; print what it grants.",
            "A retired key still vouches for licenses logged before it retired, a "
            "compromised one only for licenses logged before the compromise: for such keys "
            "the license's log index is needed, from --proof with --entry (the leaf data of "
            "its license.issued entry), or from the registry (--log-url). The entry must "
            "record the SHA-256 of this very JWS. With --checkpoint and --verifier-key (the "
            "log's key, obtained out of band) the entry is also proven to be in the log.",
            "Revocation is only known to the registry: without --log-url it is not checked "
            "(and said so), and the license can still pass.",
        ),
        epilog='reasons (stderr "invalid: <reason>: <detail>", and "reason" with --json):\n'
        "  bad_signature unknown_key alg_not_allowed wrong_type malformed too_large bad_jwks\n"
        "  not_yet_valid expired key_compromised key_retired_before_logging\n"
        "  log_index_unknown log_index_mismatch entry_mismatch inclusion_failed\n"
        "  bad_checkpoint revoked suspended\n\n" + _EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "license_file", metavar="FILE", help="file holding the license JWS ('-' for stdin)"
    )
    parser.add_argument(
        "--jwks",
        required=True,
        metavar="FILE_OR_URL",
        help="the registry's JWK Set with key statuses (GET /.well-known/jwks.json)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE_OR_URL",
        help="a signed checkpoint to prove the license's entry against "
        "(GET /api/v1/log/checkpoint); with --log-url and no --checkpoint, the latest",
    )
    parser.add_argument(
        "--verifier-key",
        metavar="KEY",
        help="the log's note verifier key, <name>+<hex id>+<base64 key>, obtained out of band",
    )
    parser.add_argument("--origin", help="the log's origin (default: the key's name)")
    parser.add_argument(
        "--proof",
        metavar="FILE",
        help="inclusion proof JSON of the license's entry (GET /api/v1/log/proof/inclusion)",
    )
    parser.add_argument(
        "--entry",
        metavar="FILE",
        help="the leaf data (raw bytes) of the license's license.issued entry",
    )
    parser.add_argument(
        "--url",
        "--log-url",
        dest="log_url",
        metavar="URL",
        help="the registry's base URL: the license's log index, the events about it and its "
        "voice (revocation, holds, suspension), and their proofs are fetched from it",
    )
    _add_state_argument(parser)
    _add_log_file_argument(parser)
    parser.add_argument(
        "--at",
        metavar="DATE",
        help="check the term at this moment, RFC 3339 or YYYY-MM-DD (UTC midnight); default now",
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"valid", "reason", "checks", "license"}'
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a request after this long (default {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(handler=_run_license)


def _license_log_inputs(args: argparse.Namespace) -> LogInputs:
    if args.log is not None:
        others = [
            name
            for name, value in (
                ("--url", args.log_url),
                ("--checkpoint", args.checkpoint),
                ("--proof", args.proof),
                ("--entry", args.entry),
            )
            if value is not None
        ]
        if others:
            raise CommandError(f"--log is the whole log: drop {', '.join(others)}")
        source = _event_source(args)
        assert isinstance(source, logfile.LogFile)
        return LogInputs(log_file=source)
    state = None
    if args.state is not None:
        if args.log_url is None or args.checkpoint is not None:
            raise CommandError("--state works with --url, against the registry's latest checkpoint")
        trusted, state = _log_trust(args)
        args.verifier_key, args.origin = trusted.verifier_key, trusted.origin
    elif args.log_url is not None and args.verifier_key is not None:
        _warn_no_state()
    if args.checkpoint is not None and args.verifier_key is None:
        raise CommandError("--checkpoint needs --verifier-key: the log's key, obtained out of band")
    if args.verifier_key is None and args.origin is not None:
        raise CommandError("--origin needs --verifier-key")
    if args.log_url is None:
        if args.verifier_key is not None and args.checkpoint is None:
            raise CommandError("--verifier-key needs --checkpoint FILE_OR_URL, or --log-url URL")
        # Without the registry, an index and an entry only mean something together:
        # the proof gives the index, the entry ties it to this license.
        if (args.proof is None) != (args.entry is None):
            raise CommandError(
                "--proof and --entry go together (or use --log-url): the proof gives the "
                "license's log index, the entry shows that it is this license's"
            )
        if args.checkpoint is not None and args.proof is None:
            raise CommandError("--checkpoint needs --proof FILE and --entry FILE, or --log-url")
    registry = HttpClient(args.log_url, timeout=args.timeout) if args.log_url else None
    return LogInputs(
        trusted=trusted_log(args.verifier_key, args.origin) if args.verifier_key else None,
        checkpoint_note=(
            _load_note(args.checkpoint, args.timeout) if args.checkpoint is not None else None
        ),
        proof=InclusionProof.from_json(_read_json(args.proof)) if args.proof else None,
        entry=_read_bytes(args.entry) if args.entry is not None else None,
        registry=registry,
        state=state,
    )


def _run_license(args: argparse.Namespace) -> int:
    try:
        at = parse_at(args.at) if args.at is not None else datetime.now(UTC)
    except ValueError as exc:
        raise CommandError(f"--at: {exc}; give RFC 3339 or YYYY-MM-DD") from exc
    log = _license_log_inputs(args)
    token = _read_bytes(args.license_file)
    report: LicenseReport
    try:
        jwks = _load_jwks(args.jwks, args.timeout)
    except JSONError as exc:
        report = failed_report("signature", "bad_jwks", f"the JWKS is not strict JSON: {exc}")
    else:
        report = verify_license(token, jwks, at, log)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(format_report(report)))
    failure = report.failure
    if failure is not None:
        print(f"invalid: {failure.reason}: {failure.detail}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_VALID


# --- audio (content credentials) --------------------------------------------------------

# Audio files are bigger than documents; the registry stamps up to 100 MB by default.
_MAX_AUDIO_BYTES = 512 * 1024 * 1024


def _register_audio(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "audio",
        help="read an audio file's content credentials (C2PA) and judge them offline",
        description=_paragraphs(
            "Read the C2PA manifest embedded in a WAV, MP3, FLAC or M4A file, check that "
            "it is intact and signed by a certificate chaining to the registry's root, and "
            "print what it says: made by AI, the license, the work, the log index. With "
            "--jwks, also check the work receipt it carries. Needs c2pa-python installed "
            "(only this subcommand does). Valid (exit 0) only when trusted, with a good "
            "receipt if --jwks is given.",
            "With --url and the log's key (--verifier-key, obtained out of band), also judge "
            "the work as the log stands at its latest signed checkpoint: its recording is "
            "proven to be in the log, then every event about the work, its license and its "
            "voice that the registry names is proven too. A voided work, a revoked license or "
            "a suspended one is invalid, and the event that says so is printed with its proof.",
        ),
        epilog="standing (with --url): voided revoked suspended licensed\n\n" + _EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root",
        required=True,
        metavar="FILE",
        help="the registry's root certificate (PEM), from /.well-known/c2pa-root.pem",
    )
    parser.add_argument("--jwks", metavar="FILE", help="the registry's JWKS, to check receipts")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("file", metavar="FILE", help="the audio file")
    _add_network_arguments(parser, required=False)
    parser.add_argument(
        "--verifier-key",
        metavar="KEY",
        help="with --url: the log's note verifier key, obtained out of band",
    )
    parser.add_argument("--origin", help="with --url: the log's origin (default: the key's name)")
    _add_state_argument(parser)
    _add_log_file_argument(parser)
    parser.set_defaults(handler=_run_audio)


def _run_audio(args: argparse.Namespace) -> int:
    from verifier import audio

    try:
        import c2pa  # noqa: F401 - only to say clearly that it is missing
    except ImportError as exc:
        raise CommandError("reading audio credentials needs c2pa-python installed") from exc
    from cryptography import x509

    if args.url is not None and args.log is not None:
        raise CommandError("give the log once: --url URL (the registry) or --log FILE (a copy)")
    judged = args.url is not None or args.log is not None
    if judged and args.verifier_key is None and args.state is None:
        raise CommandError(
            "judging from the log needs its key: --state FILE (pinned by monitor) or "
            "--verifier-key KEY, obtained out of band, not from the server being checked"
        )
    raw_root = _read_bytes(args.root)
    try:
        x509.load_pem_x509_certificates(raw_root)
        root = raw_root.decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommandError(f"{args.root} holds no PEM certificate") from exc
    report = audio.read(_read_bytes(args.file, _MAX_AUDIO_BYTES), root)
    out: dict[str, Any] = report.to_json()
    receipt: tuple[bool, str] | None = None
    if args.jwks:
        keys = keys_from_jwks(_read_json(args.jwks))
        receipt = (
            audio.check_receipt(report.timbre, keys)
            if report.timbre is not None
            else (False, "the credentials carry no Timbre assertion, so no receipt")
        )
        out["receipt"] = {"valid": receipt[0], "detail": receipt[1]}
    standing = None
    if judged and report.trusted and report.timbre is not None:
        standing = _work_standing(args, report.timbre)
        out["standing"] = _standing_json(standing, ok_word="licensed")
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_audio_lines(out)))
    if not report.readable:
        raise VerificationError("audio.unreadable", report.error)
    if report.error:
        raise CommandError(report.error)
    if not report.manifest:
        raise VerificationError("audio.no_manifest", "the file carries no content credentials")
    if not report.valid:
        code = "audio.invalid" if report.tampered else "audio.bad_certificate"
        raise VerificationError(
            code, f"the credentials do not hold: {', '.join(report.failures) or report.state}"
        )
    if not report.trusted:
        raise VerificationError(
            "audio.untrusted", "the credentials are intact but not signed by this root"
        )
    if receipt is not None and not receipt[0]:
        raise VerificationError("audio.bad_receipt", receipt[1])
    if judged and standing is None:
        raise VerificationError(
            "audio.unknown", "the credentials carry no Timbre assertion to look up in the log"
        )
    if standing is not None and not standing.ok:
        raise VerificationError(f"audio.{standing.status}", standing.detail)
    return EXIT_VALID


def _standing_json(standing: Standing, *, ok_word: str) -> dict[str, Any]:
    """A work's standing as printed: its word, why, the tree it was judged at, and the
    events with their proofs."""
    proofs = [e.proof.tree_size for e in standing.events if e.proof is not None]
    return {
        "status": ok_word if standing.ok else standing.status,
        "detail": standing.detail,
        "tree_size": proofs[0] if proofs else None,
        "events": [e.to_json() for e in standing.events],
    }


def _work_standing(args: argparse.Namespace, timbre: dict[str, Any]) -> Standing:
    """The stamped work as the log stands: recorded, voided, its license's standing."""
    voice = timbre.get("voice")
    try:
        log_index = int(str(timbre.get("log_index")))
    except ValueError as exc:
        raise VerificationError(
            "audio.bad_assertion", "the credentials' log_index is not a number"
        ) from exc
    return work_in_log(
        _event_source(args),
        work_id=str(timbre.get("work_id")),
        license_id=str(timbre.get("license_id")),
        voice_id=str(voice.get("id")) if isinstance(voice, dict) else "",
        log_index=log_index,
        content_sha256=str(timbre.get("content_sha256")),
    )


def _audio_lines(out: dict[str, Any]) -> list[str]:
    lines = [f"format: {out['format']}", f"credentials: {out['validation_state'] or 'none'}"]
    if out["failures"]:
        lines.append(f"failures: {', '.join(out['failures'])}")
    if out["signer"]:
        lines.append(f"signed by: {out['signer'].get('issuer', '?')}")
    lines.append(f"made by AI (trained algorithm): {'yes' if out['ai_generated'] else 'no'}")
    timbre = out.get("timbre") or {}
    for name in ("license_id", "work_id", "log_index", "content_sha256"):
        if name in timbre:
            lines.append(f"{name}: {timbre[name]}")
    for name in ("voice", "performer"):
        if isinstance(timbre.get(name), dict):
            lines.append(f"{name}: {timbre[name].get('name')}")
    if "receipt" in out:
        lines.append(f"receipt: {out['receipt']['detail']}")
    standing = out.get("standing")
    if standing is not None:
        lines += _standing_lines(standing)
    return lines


def _standing_lines(standing: dict[str, Any]) -> list[str]:
    lines = [f"standing: {standing['status']}: {standing['detail']}"]
    for item in standing["events"]:
        event = item["event"]
        proof = item.get("proof") or {}
        lines.append(
            f"  log entry {item['index']}: {event.get('type')} at {event.get('at')}, "
            f"proven in the checkpoint of size {proof.get('tree_size')}"
        )
    return lines


def _register_stamp(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "stamp",
        help="have the registry stamp a recorded work's audio with its content credentials",
        description=_paragraphs(
            "Upload the exact audio recorded as a work and save the copy the registry "
            "returns, with its C2PA manifest embedded. Brands stamp from their own pipeline "
            "with this; the API key is read from a file so it never shows in a process list."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", required=True, help="the registry, e.g. https://timbre.example")
    parser.add_argument(
        "--key-file", required=True, metavar="FILE", help="file holding the brand's API key"
    )
    parser.add_argument("--work", required=True, metavar="ID", help="the work's id (wrk_...)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (120)")
    parser.add_argument("input", metavar="IN", help="the recorded audio")
    parser.add_argument("output", metavar="OUT", help="where to write the stamped copy")
    parser.set_defaults(handler=_run_stamp)


def _run_stamp(args: argparse.Namespace) -> int:
    from verifier.audio import sniff
    from verifier.http import post_bytes

    try:
        key = Path(args.key_file).read_text().strip()
    except OSError as exc:
        raise CommandError(f"cannot read {args.key_file}: {exc.strerror or exc}") from exc
    if not key:
        raise CommandError(f"{args.key_file} is empty")
    data = _read_bytes(args.input, _MAX_AUDIO_BYTES)
    work = urllib.parse.quote(args.work, safe="")
    status, content_type, body = post_bytes(
        args.url,
        f"/api/v1/works/{work}/stamp",
        data,
        content_type=sniff(data[:65536]) or "application/octet-stream",
        headers={"Authorization": f"Bearer {key}"},
        timeout=args.timeout,
        max_bytes=_MAX_AUDIO_BYTES,
    )
    if status != 200 or not content_type.startswith("audio/"):
        detail = body[:2000].decode("utf-8", "replace")
        try:
            detail = str(json.loads(detail).get("detail") or detail)
        except (ValueError, AttributeError):
            detail = detail[:200]
        if status in (400, 413, 422):
            # The registry refused this audio (not the one recorded, too large, not audio).
            raise VerificationError("stamp.refused", f"HTTP {status}: {detail}")
        raise CommandError(f"the registry answered HTTP {status} ({content_type}): {detail}")
    try:
        Path(args.output).write_bytes(body)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    print(f"stamped {args.work}: {len(body)} bytes written to {args.output}")
    return EXIT_VALID


# --- log-download -------------------------------------------------------------------------


def _register_log_download(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "log-download",
        help="save a verified copy of the whole log, to judge from it with no server",
        description=_paragraphs(
            "Fetch the latest signed checkpoint (verified with the log's key) and every "
            "entry up to it, check that they make its root, and write them to FILE. Then "
            "`license`, `audio` and `receipt` take --log FILE instead of --url: every entry "
            "is read, so no event about a license or a work can be left out.",
        ),
        epilog=_EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_network_arguments(parser, required=True)
    parser.add_argument("--verifier-key", metavar="KEY", help="the log's key (or --state)")
    parser.add_argument("--origin", help="the log's origin (default: the key's name)")
    _add_state_argument(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write the copy")
    parser.set_defaults(handler=_run_log_download)


def _run_log_download(args: argparse.Namespace) -> int:
    trusted, state = _log_trust(args)
    client = _log_client(args)
    try:
        copy = logfile.download(client, trusted, Path(args.out))
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    if state is not None:
        try:
            copy_extends(copy, state)
        except VerificationError:
            Path(args.out).unlink(missing_ok=True)  # a copy that contradicts the monitor
            raise
    print(
        f"ok: {copy.size} entries of {trusted.origin} up to root "
        f"{encode_hash(copy.checkpoint.root_hash)} written to {args.out}"
    )
    return EXIT_VALID


# --- receipt ------------------------------------------------------------------------------


def _register_receipt(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "receipt",
        help="judge a work receipt: its signature, and the work's standing in the log",
        description=_paragraphs(
            "Verify a work receipt (a compact JWS, typ timbre-receipt+jws) against the "
            "registry's JWK Set, then, as the log stands at its latest signed checkpoint, "
            "prove that the work's recording is logged where the receipt says, and judge it "
            "from every event about the work, its license and the license's voice: voided, "
            "revoked, suspended, or standing. The event that decides is printed with its "
            "proof.",
        ),
        epilog="standing: voided revoked suspended active\n\n" + _EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("receipt_file", metavar="FILE", help="the receipt JWS ('-' for stdin)")
    parser.add_argument(
        "--jwks",
        required=True,
        metavar="FILE_OR_URL",
        help="the registry's JWK Set (GET /.well-known/jwks.json)",
    )
    _add_network_arguments(parser, required=False)
    _add_log_file_argument(parser)
    parser.add_argument(
        "--verifier-key",
        metavar="KEY",
        help="the log's note verifier key, obtained out of band (or --state)",
    )
    parser.add_argument("--origin", help="the log's origin (default: the key's name)")
    _add_state_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the judgement as JSON")
    parser.set_defaults(handler=_run_receipt)


def _run_receipt(args: argparse.Namespace) -> int:
    if (args.url is None) == (args.log is None):
        raise CommandError("give the log: --url URL (the registry) or --log FILE (a copy)")
    try:
        token = _read_bytes(args.receipt_file).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise VerificationError("jws.malformed", "the receipt file is not ASCII") from exc
    keys = keys_from_jwks(_load_jwks(args.jwks, args.timeout))
    payload = verify_jws(token, keys, expected_typ=TYP_RECEIPT).payload
    fields = ("work_id", "license_id", "content_sha256", "log_index")
    if not isinstance(payload, dict) or any(not isinstance(payload.get(f), str) for f in fields):
        raise VerificationError("receipt.malformed", f"not a receipt: it must name {fields}")
    if not payload["log_index"].isdigit():
        raise VerificationError("receipt.malformed", "the receipt's log_index is not a number")
    standing = work_in_log(
        _event_source(args),
        work_id=payload["work_id"],
        license_id=payload["license_id"],
        voice_id="",
        log_index=int(payload["log_index"]),
        content_sha256=payload["content_sha256"],
        duration_ms=str(payload.get("duration_ms")),
        measured=payload.get("duration_measured") is True,
    )
    out = {"receipt": payload, "standing": _standing_json(standing, ok_word="active")}
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"work {_printable(payload['work_id'])} under {_printable(payload['license_id'])}")
        print(f"signature: ok (typ {TYP_RECEIPT})")
        print("\n".join(_standing_lines(out["standing"])))
    if not standing.ok:
        raise VerificationError(f"receipt.{standing.status}", standing.detail)
    return EXIT_VALID


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)


# --- entry point -----------------------------------------------------------------------

COMMANDS: list[Callable[[Subparsers], None]] = [
    _register_jws_verify,
    _register_inclusion,
    _register_consistency,
    _register_monitor,
    _register_license,
    _register_audio,
    _register_stamp,
    _register_receipt,
    _register_log_download,
    statement_check.register,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verifier",
        description=_paragraphs(
            "Verify Timbre licenses, work receipts and transparency-log proofs: offline "
            "from files, or against a live server (monitor, inclusion --url)."
        ),
        epilog=_EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        if isinstance(exc, LogMisbehaviour):
            _print_evidence(exc)
        return EXIT_INVALID
    except (CommandError, CannotCheck, MonitorError, FetchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _print_evidence(exc: LogMisbehaviour) -> None:
    # Two checkpoints signed by the log's own key that cannot both be true are
    # proof of misbehaviour anyone can check: worth keeping, and publishing.
    print("evidence: the log signed both of these checkpoints; keep them:", file=sys.stderr)
    for label, note in exc.evidence:
        print(f"--- checkpoint {label} ---", file=sys.stderr)
        print(note, end="" if note.endswith("\n") else "\n", file=sys.stderr)
