"""Signed statements (``timbre-statement+jws``): their shape, and their lines recomputed.

At period close the registry signs each payee's statement for the month and logs its
hash (``statement.issued``). The payload (RFC 8785 JSON, ``"schema":
"timbre.statement/1"``; ids, money and counters as strings)::

    {"schema", "issuer", "issued_at",
     "payee": {"id", "kind"}, "month": "YYYY-MM", "currency",
     "opening",
     "lines": [{"license_id", "works", "milliseconds", "gross", "recouped", "fee", "net",
                "set_aside"?,
                "parts": [{"kind", "gross", "recouped", "fee", "net", "set_aside"?,
                           "split"?}]}],
     "earnings", "payouts", "closing",
     "counted": {"from", "to", "excluded": [index...], "included": [index...]},
     "log": {"tree_size", "root_hash"}}

A line is one license: its works (``work.recorded`` less ``work.voided``), their audio
time, the gross royalty, the part the advance covered, the platform's fee (these three
for the whole license, as every payee's statement shows them) and ``net``, this payee's
part that reaches its balance; ``set_aside`` (stated when not zero) is what of a minor's
part went to its blocked trust account instead (Coogan). A union fund's ``net`` is the
pension and health contributions charged on top of the works' prices. Its ``parts``
are the money in the line that is not works and voids (the upfront fee, the guarantee's
true-up, a refunded or disputed fee), with the split each was booked with. ``counted``
says which of the log's ``work.recorded`` and ``work.voided`` entries the month counts:
those in [from, to), except ``excluded``, plus ``included`` (the two lists are empty
unless entries were logged out of booking order at a month's turn). ``log`` is the tree
head at close, which every counted entry is in.

The registry builds the payload with :class:`Statement` and verifiers read it back with
:func:`read_statement`; :func:`recompute` compares it with the month replayed from the
log (:func:`verifier.royalty.replay`). ``python -m verifier statement``
(:mod:`verifier.statement_check`) fetches and proves what that needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier.errors import VerificationError
from verifier.proofs import decode_hash, encode_hash
from verifier.royalty import (
    LINE_FIELDS,
    OPTIONAL_LINE_FIELDS,
    Line,
    LoggedSplit,
    Replay,
    RoyaltyTerms,
)

__all__ = [
    "MONTH",
    "PART_TRUE_UP",
    "PART_UPFRONT_FEE",
    "STATEMENT_SCHEMA",
    "Counted",
    "Difference",
    "Part",
    "Statement",
    "StatementLine",
    "Verdict",
    "as_count",
    "as_id",
    "as_integer",
    "as_object",
    "as_text",
    "read_statement",
    "recompute",
    "split_from_log",
    "split_to_log",
]

STATEMENT_SCHEMA = "timbre.statement/1"

_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,18})\Z")
_COUNT = re.compile(r"(0|[1-9][0-9]{0,18})\Z")
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\Z")

_STATEMENT_FIELDS = (
    *("schema", "issuer", "issued_at", "payee", "month", "currency", "opening", "lines"),
    *("earnings", "payouts", "closing", "counted", "log"),
)


# --- the document ----------------------------------------------------------------------


def split_to_log(
    fee_bps: int,
    payees: Sequence[tuple[int | str, int]],
    set_aside: Sequence[tuple[int | str, int]] = (),
    pension_health: tuple[int | str, int] | None = None,
) -> dict[str, Any]:
    """A split as the log and statements write it (every number a string); the set-aside
    and the union's pension and health only when there are any."""
    out: dict[str, Any] = {
        "fee_bps": str(fee_bps),
        "payees": [[str(p), str(bps)] for p, bps in payees],
    }
    if set_aside:
        out["set_aside"] = [[str(p), str(bps)] for p, bps in set_aside]
    if pension_health is not None:
        out["pension_health"] = [str(pension_health[0]), str(pension_health[1])]
    return out


def _pairs(value: object, what: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        raise ValueError(f'a split\'s {what} are [["<payee id>", "<bps>"], ...]')
    return tuple((as_id(p[0], "payee id"), as_count(p[1], "bps")) for p in value)


def split_from_log(value: object) -> LoggedSplit:
    """A logged split; ValueError if it is not one."""
    if (
        not isinstance(value, dict)
        or not {"fee_bps", "payees"} <= set(value)
        or not set(value) <= {"fee_bps", "payees", "set_aside", "pension_health"}
    ):
        raise ValueError('a split is {"fee_bps", "payees"} (and "set_aside", "pension_health")')
    union = None
    if "pension_health" in value:
        (union,) = _pairs([value["pension_health"]], "pension and health")
    return LoggedSplit(
        as_count(value["fee_bps"], "fee_bps"),
        _pairs(value["payees"], "payees"),
        _pairs(value.get("set_aside", []), "set-asides"),
        union,
    )


@dataclass(frozen=True)
class Part:
    """Money in a line that is not works and voids, as booked."""

    kind: str
    amounts: Line
    split: LoggedSplit | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update({name: str(getattr(self.amounts, name)) for name in _PART_FIELDS})
        if self.amounts.set_aside:
            out["set_aside"] = str(self.amounts.set_aside)
        if self.split is not None:
            out["split"] = split_to_log(
                self.split.fee_bps,
                self.split.payees,
                self.split.set_aside,
                self.split.pension_health,
            )
        return out


_PART_FIELDS = ("gross", "recouped", "fee", "net")
# The registry's words for the ledger's kinds of money a line can hold besides works.
PART_UPFRONT_FEE = "upfront_fee"
PART_TRUE_UP = "true_up"


@dataclass(frozen=True)
class StatementLine:
    license_id: str
    amounts: Line
    parts: tuple[Part, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"license_id": self.license_id}
        out.update(
            {
                name: str(v)
                for name, v in self.amounts.values().items()
                if v or name not in OPTIONAL_LINE_FIELDS
            }
        )
        out["parts"] = [p.to_json() for p in self.parts]
        return out


@dataclass(frozen=True)
class Counted:
    """Which ``work.recorded``/``work.voided`` entries a statement counts."""

    start: int
    end: int
    excluded: frozenset[int] = frozenset()
    included: frozenset[int] = frozenset()

    def counts(self, index: int) -> bool:
        return (self.start <= index < self.end and index not in self.excluded) or (
            index in self.included
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "from": str(self.start),
            "to": str(self.end),
            "excluded": [str(i) for i in sorted(self.excluded)],
            "included": [str(i) for i in sorted(self.included)],
        }


@dataclass(frozen=True)
class Statement:
    issuer: str
    issued_at: str
    payee_id: str
    payee_kind: str
    month: str
    currency: str
    opening: int
    lines: tuple[StatementLine, ...]
    payouts: int
    counted: Counted
    tree_size: int
    root_hash: bytes

    @property
    def earnings(self) -> int:
        return sum(line.amounts.net for line in self.lines)

    @property
    def closing(self) -> int:
        return self.opening + self.earnings - self.payouts

    def to_json(self) -> dict[str, Any]:
        """The payload the registry signs."""
        return {
            "schema": STATEMENT_SCHEMA,
            "issuer": self.issuer,
            "issued_at": self.issued_at,
            "payee": {"id": self.payee_id, "kind": self.payee_kind},
            "month": self.month,
            "currency": self.currency,
            "opening": str(self.opening),
            "lines": [line.to_json() for line in self.lines],
            "earnings": str(self.earnings),
            "payouts": str(self.payouts),
            "closing": str(self.closing),
            "counted": self.counted.to_json(),
            "log": {"tree_size": str(self.tree_size), "root_hash": encode_hash(self.root_hash)},
        }


def as_integer(value: object, what: str) -> int:
    if not isinstance(value, str) or not _INTEGER.match(value) or value == "-0":
        raise ValueError(f"{what} must be an integer written as a string, got {value!r}")
    return int(value)


def as_count(value: object, what: str) -> int:
    if not isinstance(value, str) or not _COUNT.match(value):
        raise ValueError(f"{what} must be a count written as a string, got {value!r}")
    return int(value)


def as_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _COUNT.match(value):
        raise ValueError(f"{what} must be a number written as a string, got {value!r}")
    return value


def as_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def as_object(value: object, what: str, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}")
    return value


def _read_part(value: object, where: str) -> Part:
    obj = as_object(value, where, ("kind", *_PART_FIELDS))
    amounts = Line(**{name: as_integer(obj[name], f"{where}.{name}") for name in _PART_FIELDS})
    amounts.set_aside = as_integer(obj.get("set_aside", "0"), f"{where}.set_aside")
    split = split_from_log(obj["split"]) if "split" in obj else None
    return Part(as_text(obj["kind"], f"{where}.kind"), amounts, split)


def _read_line(value: object, number: int) -> StatementLine:
    where = f"lines[{number}]"
    required = [name for name in LINE_FIELDS if name not in OPTIONAL_LINE_FIELDS]
    obj = as_object(value, where, ("license_id", *required, "parts"))
    amounts = Line(
        **{name: as_integer(obj.get(name, "0"), f"{where}.{name}") for name in LINE_FIELDS}
    )
    parts = obj["parts"]
    if not isinstance(parts, list):
        raise ValueError(f"{where}.parts must be a list")
    return StatementLine(
        as_text(obj["license_id"], f"{where}.license_id"),
        amounts,
        tuple(_read_part(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)),
    )


def _indices(value: object, what: str) -> frozenset[int]:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of indices")
    return frozenset(as_count(v, what) for v in value)


def read_statement(payload: object) -> Statement:
    """A statement payload, parsed and checked for shape and sums; ValueError says what
    is wrong."""
    obj = as_object(
        payload,
        "the statement",
        _STATEMENT_FIELDS,
    )
    if obj["schema"] != STATEMENT_SCHEMA:
        raise ValueError(f"schema is {obj['schema']!r}, not {STATEMENT_SCHEMA!r}")
    payee = as_object(obj["payee"], "payee", ("id", "kind"))
    month = obj["month"]
    if not isinstance(month, str) or not MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    lines = obj["lines"]
    if not isinstance(lines, list):
        raise ValueError("lines must be a list")
    counted = as_object(obj["counted"], "counted", ("from", "to", "excluded", "included"))
    log = as_object(obj["log"], "log", ("tree_size", "root_hash"))
    try:
        root = decode_hash(log["root_hash"], "log.root_hash")
    except VerificationError as exc:
        raise ValueError(exc.message) from exc
    statement = Statement(
        issuer=as_text(obj["issuer"], "issuer"),
        issued_at=as_text(obj["issued_at"], "issued_at"),
        payee_id=as_id(payee["id"], "payee.id"),
        payee_kind=as_text(payee["kind"], "payee.kind"),
        month=month,
        currency=as_text(obj["currency"], "currency"),
        opening=as_integer(obj["opening"], "opening"),
        lines=tuple(_read_line(line, i) for i, line in enumerate(lines)),
        payouts=as_integer(obj["payouts"], "payouts"),
        counted=Counted(
            as_count(counted["from"], "counted.from"),
            as_count(counted["to"], "counted.to"),
            _indices(counted["excluded"], "counted.excluded"),
            _indices(counted["included"], "counted.included"),
        ),
        tree_size=as_count(log["tree_size"], "log.tree_size"),
        root_hash=root,
    )
    if len({line.license_id for line in statement.lines}) != len(statement.lines):
        raise ValueError("a license has one line")
    if as_integer(obj["earnings"], "earnings") != statement.earnings:
        raise ValueError(f"earnings {obj['earnings']} are not the sum of the lines' net")
    if as_integer(obj["closing"], "closing") != statement.closing:
        raise ValueError(f"closing {obj['closing']} is not opening + earnings - payouts")
    if statement.counted.end > statement.tree_size:
        raise ValueError("counted.to is beyond the tree the statement names")
    return statement


# --- recomputing the lines ---------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    license_id: str
    field: str
    stated: int
    recomputed: int

    def __str__(self) -> str:
        return (
            f"line {self.license_id}: {self.field} is {self.stated} in the statement; the log "
            f"and the signed terms give {self.recomputed}"
        )


@dataclass
class Verdict:
    lines: dict[str, Line] = field(default_factory=dict)
    difference: Difference | None = None
    registry_word: list[str] = field(default_factory=list)


def _part_line(part: Part, amount: int, payee_id: str, split: LoggedSplit | None) -> Line:
    """What a part released or paid with ``amount`` gross comes to for the payee."""
    if split is None:
        return Line(
            0,
            0,
            amount,
            part.amounts.recouped,
            part.amounts.fee,
            part.amounts.net,
            part.amounts.set_aside,
        )
    earned = split.earning(amount, payee_id)
    earned.recouped = amount if part.kind == PART_TRUE_UP else 0
    return earned


def recompute(statement: Statement, replayed: Replay, terms: Mapping[str, RoyaltyTerms]) -> Verdict:
    """Each line as the log and the signed terms make it, and the first that differs
    (in the statement's order, then lines the statement lacks)."""
    verdict = Verdict()
    payee = statement.payee_id
    stated = {line.license_id: line for line in statement.lines}
    order = [line.license_id for line in statement.lines] + sorted(
        lid
        for lid in set(replayed.lines) | set(replayed.true_ups)
        if lid not in stated
        and (any(replayed.lines.get(lid, Line()).values().values()) or replayed.true_ups.get(lid))
    )
    for license_id in order:
        line = Line()
        line.add(replayed.lines.get(license_id, Line()))
        mine = stated.get(license_id)
        parts = mine.parts if mine is not None else ()
        lic = terms.get(license_id)
        trusted_advance = license_id not in replayed.advance_unknown
        # Where payments took part of the advance back, the log cannot say what is left.
        released = list(replayed.true_ups.get(license_id, [])) if trusted_advance else []
        for part in parts:
            if part.kind == PART_UPFRONT_FEE and lic is not None:
                line.add(_part_line(part, lic.upfront_fee, payee, part.split))
                verdict.registry_word.append(
                    f"{license_id}: the upfront fee was booked in this month, with the split "
                    "the statement gives"
                )
            elif part.kind == PART_TRUE_UP and trusted_advance:
                amount = released.pop(0) if released else 0
                line.add(_part_line(part, amount, payee, part.split))
                verdict.registry_word.append(
                    f"{license_id}: the guarantee released at the end of the term ({amount}) "
                    "was split as the statement gives"
                )
            else:
                line.add(part.amounts)
                verdict.registry_word.append(
                    f"{license_id}: {part.kind} (net {part.amounts.net}) is the registry's "
                    "word: the log does not record it"
                )
        for amount in released:
            # A release the log calls for and the statement does not state.
            split = replayed.last_split.get(license_id)
            earned = split.earning(amount, payee) if split is not None else Line(gross=amount)
            earned.recouped = amount
            line.add(earned)
        if not trusted_advance and mine is not None:
            line.recouped = mine.amounts.recouped
            verdict.registry_word.append(
                f"{license_id}: a refund or dispute took money back from its fee payment; "
                "payments are not logged, so what its advance covered is the registry's word"
            )
        verdict.lines[license_id] = line
        if verdict.difference is None:
            expected = mine.amounts if mine is not None else Line()
            for name in LINE_FIELDS:
                if getattr(expected, name) != getattr(line, name):
                    verdict.difference = Difference(
                        license_id, name, getattr(expected, name), getattr(line, name)
                    )
                    break
    return verdict
