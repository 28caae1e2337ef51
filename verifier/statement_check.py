"""``python -m verifier statement``: a payee's signed statement, recomputed.

It checks the statement's signature against the registry's JWKS, reads the log up to the
tree head the statement names and proves it against that root and a signed checkpoint
(the log's key comes from the user, out of band), finds the statement's own
``statement.issued`` entry in the checkpoint, fetches the licenses' signed documents
(an auditor's API key may read them) and checks each against the hash its
``license.issued`` entry logged, then replays the month (:mod:`verifier.royalty`) and
compares it line by line (:func:`verifier.statement.recompute`): it agrees to the minor
unit, or names the first line and field that differ, with both values.

Exit status as the other commands: 0 agrees, 1 does not (or a bad signature, another
log's tree, a statement never logged), 2 the check could not be run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.errors import JSONError, VerificationError
from verifier.http import DEFAULT_TIMEOUT, FetchError, HttpClient
from verifier.jcs import parse_json_strict
from verifier.jws import TYP_LICENSE, TYP_STATEMENT, keys_from_jwks, verify_jws
from verifier.keys import judge_key_status
from verifier.license import key_status_in
from verifier.merkle import EMPTY_ROOT, frontier_append, frontier_root, leaf_hash
from verifier.monitor import LogClient, MonitorError, SignedCheckpoint, trusted_log
from verifier.proofs import encode_hash
from verifier.royalty import Rates, Recorded, RoyaltyTerms, Voided, replay
from verifier.state import proven_events
from verifier.statement import (
    MONTH,
    Statement,
    as_count,
    as_id,
    as_object,
    as_text,
    read_statement,
    recompute,
    split_from_log,
)

__all__ = ["CannotRecompute", "LogFacts", "register"]

JWKS_PATH = ".well-known/jwks.json"
LICENSE_JWS_PATH = "api/v1/licenses/{}/jws"

# A statement names a few hundred licenses at most; a license is a few KiB.
_MAX_INPUT_BYTES = 1 << 20
# Holds that took money back from a license's fee payment, and maybe its guarantee.
_MONEY_HOLDS = ("refunded", "disputed")
_ROYALTY_FIELDS = (
    *("currency", "upfront_fee", "per_work", "per_second", "revenue_share_bps"),
    "minimum_guarantee",
)
_Keys = Mapping[str, Ed25519PublicKey]
# The log serves at most this many entries a request.
_PAGE = 1000


# --- reading the log -------------------------------------------------------------------


def _bad_entry(index: int, why: str) -> VerificationError:
    return VerificationError("log.bad_event", f"entry {index}: {why}")


@dataclass
class LogFacts:
    """What the log up to the statement's tree head says, as a statement needs it."""

    works: list[Recorded | Voided] = field(default_factory=list)
    licenses: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (index, sha256)
    statements: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    money_holds: set[str] = field(default_factory=set)
    # Works logged before work.recorded carried a price and a split: index -> license.
    unpriced: dict[int, str] = field(default_factory=dict)

    def closes(self) -> dict[str, int]:
        """Where each month was closed: its first statement.issued entry."""
        out: dict[str, int] = {}
        for index, event in self.statements:
            out.setdefault(str(event["month"]), index)
        return out

    def read(self, index: int, data: bytes) -> None:
        """Take in entry ``index`` (its leaf bytes) if it is one a statement needs."""
        try:
            event = parse_json_strict(data)
        except JSONError as exc:
            raise _bad_entry(index, f"not strict JSON: {exc.message}") from exc
        if not isinstance(event, dict):
            raise _bad_entry(index, "not a JSON object")
        kind = event.get("type")
        try:
            self._take(index, kind, event)
        except ValueError as exc:
            raise _bad_entry(index, f"{kind}: {exc}") from exc

    def _take(self, index: int, kind: object, event: dict[str, Any]) -> None:
        if kind == "work.recorded":
            if "split" not in event or "price" not in event:
                self.unpriced[index] = as_text(event.get("license_id"), "license_id")
                return
            self.works.append(
                Recorded(
                    index=index,
                    work_id=as_text(event.get("work_id"), "work_id"),
                    license_id=as_text(event.get("license_id"), "license_id"),
                    duration_ms=as_count(event.get("duration_ms"), "duration_ms"),
                    declared_revenue=as_count(event.get("declared_revenue", "0"), "revenue"),
                    split=split_from_log(event["split"]),
                    logged_price=as_count(event["price"], "price"),
                    logged_from_advance=(
                        as_count(event["from_advance"], "from_advance")
                        if "from_advance" in event
                        else None
                    ),
                )
            )
        elif kind == "work.voided":
            self.works.append(
                Voided(
                    index=index,
                    work_id=as_text(event.get("work_id"), "work_id"),
                    license_id=as_text(event.get("license_id"), "license_id"),
                    recorded_index=as_count(event.get("recorded_index"), "recorded_index"),
                )
            )
        elif kind == "license.issued":
            license_id = as_text(event.get("license_id"), "license_id")
            self.licenses.setdefault(
                license_id, (index, as_text(event.get("jws_sha256"), "jws_sha256"))
            )
        elif kind == "license.held" and event.get("reason") in _MONEY_HOLDS:
            self.money_holds.add(as_text(event.get("license_id"), "license_id"))
        elif kind == "statement.issued":
            as_id(event.get("payee_id"), "payee_id")
            as_text(event.get("month"), "month")
            self.statements.append((index, event))


# --- the command ---------------------------------------------------------------------------


class CannotRecompute(Exception):
    """The statement cannot be checked from what the log and the registry give."""


def _payee_works(
    facts: LogFacts, payee_id: str, licenses: Mapping[str, RoyaltyTerms] | None = None
) -> list[Recorded | Voided]:
    """The payee's work entries: works whose logged split names the payee, and their
    voids; only under ``licenses`` when given."""
    recorded = {w.index: w for w in facts.works if isinstance(w, Recorded) and w.names(payee_id)}
    out: list[Recorded | Voided] = []
    for work in facts.works:
        mine = work.index in recorded or (
            isinstance(work, Voided) and work.recorded_index in recorded
        )
        if mine and (licenses is None or work.license_id in licenses):
            out.append(work)
    return out


@dataclass
class _Report:
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)


def _read_file(path: str) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(_MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise CannotRecompute(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > _MAX_INPUT_BYTES:
        raise CannotRecompute(f"{path} is larger than {_MAX_INPUT_BYTES} bytes")
    return data


def _token(data: bytes, what: str) -> str:
    try:
        # Saved with a trailing newline, usually; whitespace is never part of a JWS.
        return data.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise VerificationError("jws.malformed", f"{what} is not ASCII") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # The request carries an API key, which must not follow a redirect elsewhere.
        return None


def _license_jws(registry: HttpClient, license_id: str, key: str | None) -> str:
    """A license's JWS from the registry, read with the API key (an auditor's, or the
    brand's); FetchError when it cannot be had."""
    url = registry.url(LICENSE_JWS_PATH.format(urllib.parse.quote(license_id, safe="")))
    # "*/*" as a fallback: DRF negotiates against its JSON renderer only.
    headers = {"Accept": "application/jose, */*;q=0.1", "User-Agent": "timbre-verifier/1"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - HttpClient checked it
    try:
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=registry.timeout) as resp:
            body: bytes = resp.read(_MAX_INPUT_BYTES + 1)
            content_type = resp.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        hint = (
            " (this key may not read it: the performer's side grants auditors access)"
            if key is not None
            else " (give --key-file: an auditor's API key the performer's side let in)"
        )
        raise FetchError(f"GET {url} failed: HTTP {exc.code} {exc.reason}{hint}") from exc
    except urllib.error.URLError as exc:
        raise FetchError(f"cannot reach {url}: {exc.reason}") from exc
    except (TimeoutError, http.client.HTTPException, OSError) as exc:
        raise FetchError(f"GET {url} failed: {exc}") from exc
    if content_type != "application/jose" or len(body) > _MAX_INPUT_BYTES:
        raise FetchError(f"GET {url} did not answer with a JWS ({content_type})")
    return _token(body, f"the license {license_id} from {url}")


def _terms_of(payload: object, license_id: str) -> RoyaltyTerms:
    """The royalty terms of a verified license payload; ValueError if malformed."""
    doc = as_object(payload, "the license", ("license_id", "terms", "royalty"))
    if doc["license_id"] != license_id:
        raise ValueError(f"it is license {doc['license_id']!r}")
    royalty = as_object(
        doc["royalty"],
        "royalty",
        _ROYALTY_FIELDS,
    )
    terms = as_object(doc["terms"], "terms", ("valid_until",))
    until = terms["valid_until"]
    if not isinstance(until, str) or not MONTH.match(until[:7]):
        raise ValueError("terms.valid_until is not an RFC 3339 time")
    try:
        per_second = Decimal(as_text(royalty["per_second"], "per_second"))
    except InvalidOperation as exc:
        raise ValueError("royalty.per_second is not a decimal") from exc
    if not per_second.is_finite():
        raise ValueError("royalty.per_second is not a decimal")
    union = royalty.get("union")
    pension_health_bps = 0
    if union is not None:
        union = as_object(union, "royalty.union", ("agreement", "pension_health_bps"))
        pension_health_bps = as_count(union["pension_health_bps"], "pension_health_bps")
    return RoyaltyTerms(
        pension_health_bps=pension_health_bps,
        license_id=license_id,
        currency=as_text(royalty["currency"], "currency"),
        rates=Rates(
            per_work=as_count(royalty["per_work"], "per_work"),
            per_second=per_second,
            revenue_share_bps=as_count(royalty["revenue_share_bps"], "revenue_share_bps"),
        ),
        upfront_fee=as_count(royalty["upfront_fee"], "upfront_fee"),
        minimum_guarantee=as_count(royalty["minimum_guarantee"], "minimum_guarantee"),
        term_ends=until[:7],
    )


def _prove_tree(log: LogClient, statement: Statement, checkpoint: SignedCheckpoint) -> None:
    """The statement's tree head must be the log's own: a prefix of the signed checkpoint."""
    where = (
        f"the statement's tree (size {statement.tree_size}, root "
        f"{encode_hash(statement.root_hash)})"
    )
    if statement.tree_size > checkpoint.size:
        raise VerificationError(
            "statement.other_log",
            f"{where} is larger than the log's latest signed checkpoint ({checkpoint.size}): "
            "it is not this log's",
        )
    if statement.tree_size == checkpoint.size or statement.tree_size == 0:
        root = checkpoint.root_hash if statement.tree_size else EMPTY_ROOT
        if not hmac.compare_digest(root, statement.root_hash):
            raise VerificationError("statement.other_log", f"{where} is not this log's tree")
        return
    try:
        proof = log.consistency_proof(statement.tree_size, checkpoint.size)
        proof.verify(statement.root_hash, checkpoint.root_hash)
    except VerificationError as exc:
        raise VerificationError(
            "statement.other_log",
            f"{where} is not a prefix of the log's signed checkpoint of size "
            f"{checkpoint.size} ({exc.code}): the statement is from another log, or the log "
            "forked",
        ) from exc


def _read_log(log: LogClient, statement: Statement) -> LogFacts:
    """Every entry up to the statement's tree head, proven to make its root."""
    facts = LogFacts()
    frontier: list[bytes] = []
    size = 0
    while size < statement.tree_size:
        # A page at a time: only what a statement needs of each entry is kept.
        for data in log.entries(size, min(size + _PAGE, statement.tree_size)):
            frontier, _ = frontier_append(frontier, size, leaf_hash(data))
            facts.read(size, data)
            size += 1
    root = frontier_root(frontier) if size else EMPTY_ROOT
    if not hmac.compare_digest(root, statement.root_hash):
        raise VerificationError(
            "statement.other_log",
            f"the log's first {statement.tree_size} entries do not make the root the "
            "statement names: the registry serves another history than the one it signed",
        )
    return facts


def _find_issued(
    log: LogClient, checkpoint: SignedCheckpoint, statement: Statement, digest: str
) -> int:
    """The index of the statement's own statement.issued entry, proven in the checkpoint;
    and no other statement of the same payee, month and currency."""
    own: int | None = None
    others: list[int] = []
    for item in proven_events(log, checkpoint, [f"payee:{statement.payee_id}"]):
        event = item.event
        if (
            item.type != "statement.issued"
            or event.get("month") != statement.month
            or event.get("currency") != statement.currency
        ):
            continue
        if event.get("statement_sha256") == digest and item.index >= statement.tree_size:
            own = item.index
        else:
            others.append(item.index)
    if own is None:
        logged = (
            f"; the log records another one for the month at index {others[0]}" if others else ""
        )
        raise VerificationError(
            "statement.not_logged",
            f"no statement.issued entry after index {statement.tree_size} in the signed "
            f"checkpoint of size {checkpoint.size} records this statement's SHA-256 "
            f"{digest}{logged}",
        )
    if others:
        raise VerificationError(
            "statement.duplicate",
            f"the log holds another statement of payee {statement.payee_id} for "
            f"{statement.month} in {statement.currency}, at index {others[0]}",
        )
    return own


def _previous(facts: LogFacts, statement: Statement) -> tuple[int, dict[str, Any]] | None:
    """The payee's last statement in the currency before this month, as logged."""
    found = None
    for index, event in facts.statements:
        if (
            event.get("payee_id") == statement.payee_id
            and event.get("currency") == statement.currency
            and str(event.get("month")) < statement.month
        ):
            if found is None or str(event.get("month")) >= str(found[1].get("month")):
                found = (index, event)
    return found


def _check_chain(
    args: argparse.Namespace,
    keys: _Keys,
    facts: LogFacts,
    statement: Statement,
    mine: Sequence[Recorded | Voided],
    report: _Report,
) -> None:
    """Opening balance and counted range against the payee's previous statement."""
    previous = _previous(facts, statement)
    counted = statement.counted
    uncounted = [w for w in mine if w.index < counted.start and w.index not in counted.included]
    if previous is None:
        if args.previous is not None:
            raise VerificationError(
                "statement.previous",
                f"--previous cannot be the payee's previous statement: the log holds none of "
                f"payee {statement.payee_id} in {statement.currency} before {statement.month}",
            )
        if statement.opening != 0:
            raise VerificationError(
                "statement.opening",
                f"the opening balance is {statement.opening}, but the log holds no earlier "
                f"statement of payee {statement.payee_id} in {statement.currency}: it is 0",
            )
        if uncounted:
            raise VerificationError(
                "statement.uncounted",
                f"work entry {uncounted[0].index} ({uncounted[0].work_id}) names this payee, "
                "comes before the entries this first statement counts, and is in none",
            )
        report.say("opening 0: the payee's first statement in this currency (checked)")
        return
    index, event = previous
    if args.previous is None:
        report.say(
            f"opening {statement.opening}: the registry's word (the previous statement, "
            f"{event.get('month')}, is logged at index {index}; give --previous FILE to check "
            "the opening against its closing)"
        )
        return
    token = _token(_read_file(args.previous), args.previous)
    if hashlib.sha256(token.encode("ascii")).hexdigest() != event.get("statement_sha256"):
        raise VerificationError(
            "statement.previous",
            f"--previous is not the payee's previous statement: the log records the "
            f"{event.get('month')} statement (index {index}) with another SHA-256",
        )
    try:
        before = read_statement(verify_jws(token, keys, expected_typ=TYP_STATEMENT).payload)
    except ValueError as exc:
        raise VerificationError("statement.malformed", f"--previous: {exc}") from exc
    if before.closing != statement.opening:
        raise VerificationError(
            "statement.opening",
            f"the opening balance is {statement.opening}; the previous statement "
            f"({before.month}) closed at {before.closing}",
        )
    gap = [
        w
        for w in mine
        if (before.counted.end <= w.index < counted.start and w.index not in counted.included)
        or (
            w.index in before.counted.excluded
            and w.index not in counted.included
            and w.index not in counted.excluded
        )
    ]
    if gap:
        raise VerificationError(
            "statement.uncounted",
            f"work entry {gap[0].index} ({gap[0].work_id}) names this payee and is counted "
            f"neither by the {before.month} statement nor by this one",
        )
    report.say(f"opening {statement.opening}: the {before.month} statement's closing (checked)")


def _run(args: argparse.Namespace) -> int:
    report = _Report()
    try:
        statement = _verify(args, report)
    except (CannotRecompute, MonitorError) as exc:
        print("\n".join(report.lines))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (VerificationError, FetchError):
        # Raised on to verifier.cli, which says why and exits 1 (or 2): what was
        # established before the failure is printed first.
        if report.lines:
            print("\n".join(report.lines))
        raise
    print("\n".join(report.lines))
    print(
        f"ok: the {statement.month} statement of payee {statement.payee_id} agrees with the "
        "log and the signed terms to the minor unit"
    )
    return 0


def _verify(args: argparse.Namespace, report: _Report) -> Statement:
    key = None
    if args.key_file is not None:
        key = _read_file(args.key_file).decode("ascii", "replace").strip()
        if not key or not key.isprintable() or " " in key:
            raise CannotRecompute(f"{args.key_file} does not hold an API key")
    token = _token(_read_file(args.statement), args.statement)
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    trusted = trusted_log(args.verifier_key, args.origin)
    registry = HttpClient(args.url, timeout=args.timeout)
    jwks = registry.get_json(JWKS_PATH)
    keys = keys_from_jwks(jwks)
    verified = verify_jws(token, keys, expected_typ=TYP_STATEMENT)
    try:
        statement = read_statement(verified.payload)
    except ValueError as exc:
        raise VerificationError("statement.malformed", str(exc)) from exc
    report.say(
        f"statement: payee {statement.payee_id} ({statement.payee_kind}), {statement.month}, "
        f"{statement.currency}; signed by key {verified.header['kid']}"
    )
    log = LogClient(registry)
    checkpoint = log.checkpoint(trusted)
    _prove_tree(log, statement, checkpoint)
    facts = _read_log(log, statement)
    report.say(
        f"log: the statement's tree (size {statement.tree_size}) is this log's, in its signed "
        f"checkpoint of size {checkpoint.size}"
    )
    issued_at = _find_issued(log, checkpoint, statement, digest)
    verdict = judge_key_status(key_status_in(jwks, str(verified.header["kid"])), issued_at)
    if verdict.reason is not None:
        raise VerificationError(f"statement.{verdict.reason}", verdict.detail)
    report.say(f"logged: statement.issued at index {issued_at}")
    terms = _licenses(registry, key, keys, facts, statement)
    mine = _payee_works(facts, statement.payee_id, terms)
    for index, license_id in facts.unpriced.items():
        if license_id in terms:
            raise CannotRecompute(
                f"a work of {license_id} (log index {index}) was logged before works carried "
                "their price and split: the license's advance cannot be replayed"
            )
    try:
        replayed = replay(
            payee_id=statement.payee_id,
            month=statement.month,
            tree_size=statement.tree_size,
            terms=terms,
            events=facts.works,
            counted=statement.counted.counts,
            closes=facts.closes(),
            advance_unknown=facts.money_holds & set(terms),
        )
    except ValueError as exc:
        raise VerificationError("log.bad_event", str(exc)) from exc
    _check_chain(args, keys, facts, statement, mine, report)
    result = recompute(statement, replayed, terms)
    counted = [w for w in mine if statement.counted.counts(w.index)]
    report.say(
        f"counted: entries [{statement.counted.start}, {statement.counted.end}), "
        f"{len(statement.counted.excluded)} excluded, {len(statement.counted.included)} "
        f"included: {sum(isinstance(w, Recorded) for w in counted)} works and "
        f"{sum(isinstance(w, Voided) for w in counted)} voids name this payee"
    )
    for license_id, line in result.lines.items():
        values = ", ".join(f"{k} {v}" for k, v in line.values().items())
        report.say(f"line {license_id}: {values}")
    for note in replayed.notes:
        report.say(f"note: {note}")
    for word in result.registry_word:
        report.say(f"registry's word: {word}")
    report.say(f"payouts {statement.payouts}: the registry's word (payouts are not logged)")
    if result.difference is not None:
        raise VerificationError("statement.line_differs", str(result.difference))
    return statement


def _licenses(
    registry: HttpClient, key: str | None, keys: _Keys, facts: LogFacts, statement: Statement
) -> dict[str, RoyaltyTerms]:
    """The signed royalty terms of every license the statement names or the payee's logged
    works name, each fetched from the registry, checked against the registry's keys and
    the hash its license.issued entry logged; those of other currencies are left out."""
    wanted = {line.license_id for line in statement.lines} | {
        w.license_id for w in _payee_works(facts, statement.payee_id)
    }
    out: dict[str, RoyaltyTerms] = {}
    for license_id in sorted(wanted):
        logged = facts.licenses.get(license_id)
        if logged is None:
            raise VerificationError(
                "statement.unknown_license",
                f"{license_id} is named by the statement or the payee's works, but no "
                f"license.issued entry before {statement.tree_size} issues it",
            )
        token = _license_jws(registry, license_id, key)
        if hashlib.sha256(token.encode("ascii")).hexdigest() != logged[1]:
            raise VerificationError(
                "statement.license_mismatch",
                f"the registry served {license_id} with another SHA-256 than its "
                f"license.issued entry (index {logged[0]}) logged",
            )
        payload = verify_jws(token, keys, expected_typ=TYP_LICENSE).payload
        try:
            terms = _terms_of(payload, license_id)
        except ValueError as exc:
            raise VerificationError(
                "statement.license_mismatch", f"{license_id}'s signed document: {exc}"
            ) from exc
        if terms.currency == statement.currency:
            out[license_id] = terms
        elif license_id in {line.license_id for line in statement.lines}:
            raise VerificationError(
                "statement.license_mismatch",
                f"the statement is in {statement.currency}, but {license_id} pays in "
                f"{terms.currency}",
            )
    return out


def register(subparsers: Any) -> None:
    """Add ``statement`` to ``python -m verifier`` (see verifier.cli)."""
    parser = subparsers.add_parser(
        "statement",
        help="recompute a signed royalty statement from the log and the signed licenses",
        description=(
            "Check a payee's signed statement (timbre-statement+jws) against the registry's "
            "JWKS, prove the log up to the tree head it names against a signed checkpoint "
            "(the log's key, --verifier-key, obtained out of band), find its statement.issued "
            "entry, and recompute every line from the logged works and voids and the "
            "licenses' signed royalty terms. Exit 0 when it agrees to the minor unit; 1 with "
            "the first line and field that differ (or a bad signature, another log's tree); "
            "2 when the check could not be run."
        ),
    )
    parser.add_argument("--url", required=True, metavar="URL", help="the registry's base URL")
    parser.add_argument(
        "--statement", required=True, metavar="FILE", help="the signed statement (.jws)"
    )
    parser.add_argument(
        "--verifier-key",
        required=True,
        metavar="KEY",
        help="the log's note verifier key, <name>+<hex id>+<base64 key>, obtained out of band",
    )
    parser.add_argument("--origin", help="the log's origin (default: the key's name)")
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="a file holding an API key that may read the licenses' signed terms: an "
        "auditor's, once the performer's side granted it access (or the brand's)",
    )
    parser.add_argument(
        "--previous",
        metavar="FILE",
        help="the payee's previous signed statement in this currency: the opening balance "
        "and the counted range are checked against it",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a request after this long (default {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(handler=_run)
