"""Statements per payee per month, period close (with the minimum-guarantee true-up).

A statement is read from the ledger alone: the payee's payable account gives opening,
earnings, payouts and closing; the entries that moved it give, per license, the works,
seconds, gross royalties, what the advance covered, and the platform's fee.

At close each statement is also signed (``timbre-statement+jws``, the shape owned by
:mod:`verifier.statement`) and its hash logged (``statement.issued``), so that anyone can
recompute it from the log and the signed licenses (``python -m verifier statement``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.months import bounds, month_start, next_month
from licensing.keys import active_signer
from licensing.models import License
from royalties import advance, ledger
from royalties.models import (
    Account,
    JournalEntry,
    LicenseUsage,
    Payee,
    Period,
    Posting,
    Statement,
    Work,
)
from transparency.selectors import load_head
from transparency.services import event, log_append
from verifier import statement as signed
from verifier.documents import format_rfc3339
from verifier.jws import TYP_STATEMENT, Signer
from verifier.merkle import EMPTY_ROOT
from verifier.royalty import Line, LoggedSplit

_SECOND = timedelta(seconds=1)
Kind = JournalEntry.Kind


@dataclass
class StatementData:
    payee: Payee
    month: date
    currency: str
    opening: int = 0
    earnings: int = 0
    payouts: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.opening + self.earnings - self.payouts

    @property
    def set_aside(self) -> int:
        """Set aside in the payee's blocked trust account in the month (a minor's Coogan
        set-aside): earned, but not in the earnings a payout pays."""
        return sum(int(line.get("set_aside", 0)) for line in self.lines)


# One pass over the payee's own postings up to the month's end (joined to their entries
# for the time and kind, as a plain SUM would be): each payee leg carries the statement's
# dimensions, so no other leg is read. Grouped by before-the-month (the opening balance),
# payout or not, and license.
_PAYOUTS, _PAYOUT_PARAMS = ledger.kinds_in_sql("payout", JournalEntry.PAYOUT_KINDS)
_STATEMENT_SQL = f"""
SELECT e.created_at < %(start)s AS earlier, e.kind IN {_PAYOUTS} AS payout,
       p.license_id, l.license_id, SUM(p.amount), SUM(p.works), SUM(p.milliseconds),
       SUM(p.gross), SUM(p.recouped), SUM(p.fee), SUM(p.set_aside)
FROM royalties_posting p
JOIN royalties_journalentry e ON e.id = p.entry_id
LEFT JOIN licensing_license l ON l.id = p.license_id
WHERE p.account_id = (
    SELECT id FROM royalties_account
    WHERE kind = %(kind)s AND currency = %(currency)s AND payee_id = %(payee)s
    ORDER BY id LIMIT 1
) AND e.created_at < %(end)s
GROUP BY 1, 2, 3, 4
ORDER BY 3
"""  # noqa: S608 — only placeholders are formatted in


def compute(payee: Payee, month: date, currency: str) -> StatementData:
    """The statement as the ledger says it is now. Amounts owed to the payee are positive."""
    start, end = bounds(month)
    data = StatementData(payee=payee, month=month, currency=currency)
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, str | int | None] = {
        "kind": Account.Kind.PAYEE_PAYABLE.value,
        "currency": currency,
        "payee": payee.pk,
        "start": adapt(start),
        "end": adapt(end),
        **_PAYOUT_PARAMS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_STATEMENT_SQL, params)
        grouped = cursor.fetchall()
    for row in grouped:
        earlier, payout, license_pk, name, amount, works, ms, gross, recouped, fee, aside = row
        if earlier:
            data.opening -= int(amount)
        elif payout:
            data.payouts += int(amount)
        else:
            data.lines.append(
                {
                    "license_id": (name or "") if license_pk else "",
                    "works": int(works or 0),
                    "seconds": int(ms or 0) // 1000,
                    "milliseconds": int(ms or 0),
                    "gross": int(gross or 0),
                    "recouped": int(recouped or 0),
                    "fee": int(fee or 0),
                    # Of the payee's part, what went to its blocked trust account (a
                    # minor's Coogan set-aside): not in "amount", which is what it is owed.
                    "set_aside": int(aside or 0),
                    "amount": -int(amount),
                }
            )
    data.earnings = sum(line["amount"] for line in data.lines)
    return data


def currencies_of(payee: Payee) -> list[str]:
    return sorted(
        set(
            Account.objects.filter(kind=Account.Kind.PAYEE_PAYABLE, payee=payee).values_list(
                "currency", flat=True
            )
        )
    )


def _true_ups(month: date) -> int:
    """Licenses whose term ended by the end of `month`: their unrecouped advance is earned."""
    _, end = bounds(month)
    # A guarantee is guaranteed even if the brand never recorded a work: such a license
    # has no usage row yet (works make it), so make it, with its advance, to release it.
    unused = License.objects.filter(
        valid_until__lt=end.date(), usage__isnull=True, offer_version__minimum_guarantee__gt=0
    ).order_by("license_id")
    for lic in unused:
        advance.usage_locked(lic)
    ended = (
        LicenseUsage.objects.select_for_update(of=("self",))
        .filter(advance_released=False, advance_left__gt=0, license__valid_until__lt=end.date())
        .select_related("license__voice__performer")
    )
    released = 0
    for usage in ended:
        advance.release(usage, at=end - _SECOND)
        released += 1
    return released


@transaction.atomic
def period_close(*, month: date) -> Period:
    """Close a past month, and before it every earlier month still open, in order:
    true-ups, then one frozen statement per payee and currency. Months close in order
    so that each statement opens where the previous one closed.

    Safe to run twice: a closed period is returned as it is.
    """
    month = month_start(month)
    if next_month(month) > timezone.now().date():
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    first = JournalEntry.objects.order_by("created_at").values_list("created_at", flat=True).first()
    earlier = month_start(first.date()) if first else month
    while earlier < month:
        _close_one(earlier)
        earlier = next_month(earlier)
    return _close_one(month)


def _close_one(month: date) -> Period:
    period, _ = Period.objects.get_or_create(month=month)
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.closed_at is not None:
        return period
    _true_ups(month)
    _, end = bounds(month)
    accounts = (
        Account.objects.filter(kind=Account.Kind.PAYEE_PAYABLE, postings__entry__created_at__lt=end)
        .select_related("payee")
        .distinct()
    )
    frozen: list[StatementData] = []
    for acct in accounts:
        # royalties.ledger opens a payable account for its payee: one is always named.
        payee = acct.payee
        assert payee is not None
        data = compute(payee, month, acct.currency)
        if not data.lines and not data.opening and not data.payouts:
            continue
        frozen.append(data)
    now = timezone.now()
    _sign_and_log(period, frozen, at=now)
    period.closed_at = now
    period.save(update_fields=["closed_at"])
    return period


def _sign_and_log(period: Period, frozen: list[StatementData], *, at: datetime) -> None:
    """Freeze the statements: each signed, and its hash logged, in one batch.

    Every statement of a close names the same tree head, read after the true-ups (which
    lock the usage rows of the licenses they release, so no event of theirs lands after
    it): every entry a statement counts is in that tree.
    """
    if not frozen:
        return
    head = load_head()
    root = bytes(head.root_hash) if head.size else EMPTY_ROOT
    counted = counted_entries(period.month)
    signing_key, private_key = active_signer()
    signer = Signer(private_key, signing_key.kid, TYP_STATEMENT)
    rows: list[Statement] = []
    events = []
    for data in frozen:
        document = _document(data, counted, tree_size=head.size, root=root, at=at)
        jws = signer.sign(document.to_json())
        digest = hashlib.sha256(jws.encode("ascii")).hexdigest()
        events.append(
            event(
                "statement.issued",
                payee_id=str(data.payee.pk),
                month=document.month,
                currency=data.currency,
                statement_sha256=digest,
            )
        )
        rows.append(
            Statement(
                payee=data.payee,
                period=period,
                currency=data.currency,
                opening=data.opening,
                earnings=data.earnings,
                payouts=data.payouts,
                closing=data.closing,
                lines=data.lines,
                jws=jws,
            )
        )
    for row, entry in zip(rows, log_append(events=events), strict=True):
        row.log_index = entry.index
        row.save()


# The kinds of entry a statement's line recomputes from the log's works and voids; what
# else moved a payee's balance under a license is listed in the line as a part.
_USAGE_KINDS = (Kind.WORKS, Kind.WORK_VOID, Kind.ADVANCE_REAPPLIED)
_PART_KINDS = {Kind.FEE: signed.PART_UPFRONT_FEE, Kind.TRUE_UP: signed.PART_TRUE_UP}


def _parts(data: StatementData) -> dict[str, list[signed.Part]]:
    """Per license: the money in the payee's line that is not works and voids (an upfront
    fee, a true-up, a refund), entry by entry, with the split each was booked with."""
    start, end = bounds(data.month)
    postings = (
        Posting.objects.filter(
            account__kind=Account.Kind.PAYEE_PAYABLE,
            account__payee=data.payee,
            account__currency=data.currency,
            entry__created_at__gte=start,
            entry__created_at__lt=end,
        )
        .exclude(entry__kind__in=[*_USAGE_KINDS, *JournalEntry.PAYOUT_KINDS])
        .select_related("entry", "license")
        .order_by("entry__created_at", "entry_id", "pk")
    )
    parts: dict[str, list[signed.Part]] = {}
    for posting in postings:
        split = posting.entry.split
        parts.setdefault(posting.license.license_id if posting.license else "", []).append(
            signed.Part(
                kind=_PART_KINDS.get(Kind(posting.entry.kind), posting.entry.kind),
                amounts=Line(
                    gross=posting.gross,
                    recouped=posting.recouped,
                    fee=posting.fee,
                    net=-posting.amount,
                    set_aside=posting.set_aside,
                ),
                split=None if not split else _logged_split(split),
            )
        )
    return parts


def _logged_split(split: dict[str, Any]) -> LoggedSplit:
    """An entry's stored split as statements state it (ids as strings)."""
    union = split.get("pension_health")
    return LoggedSplit(
        int(split["fee_bps"]),
        tuple((str(p), int(b)) for p, b in split["payees"]),
        tuple((str(p), int(b)) for p, b in split.get("set_aside", [])),
        None if not union else (str(union[0]), int(union[1])),
    )


def _document(
    data: StatementData, counted: signed.Counted, *, tree_size: int, root: bytes, at: datetime
) -> signed.Statement:
    parts = _parts(data)
    lines = tuple(
        signed.StatementLine(
            license_id=line["license_id"] or "none",
            amounts=Line(
                works=line["works"],
                milliseconds=line["milliseconds"],
                gross=line["gross"],
                recouped=line["recouped"],
                fee=line["fee"],
                net=line["amount"],
                set_aside=line.get("set_aside", 0),
            ),
            parts=tuple(parts.get(line["license_id"], [])),
        )
        for line in sorted(data.lines, key=lambda line: line["license_id"])
    )
    return signed.Statement(
        issuer=settings.TIMBRE_ORIGIN,
        issued_at=format_rfc3339(at),
        payee_id=str(data.payee.pk),
        payee_kind=data.payee.kind,
        month=f"{data.month:%Y-%m}",
        currency=data.currency,
        opening=data.opening,
        lines=lines,
        payouts=data.payouts,
        counted=counted,
        tree_size=tree_size,
        root_hash=root,
    )


def _cut(moment: datetime) -> int:
    """One past the last log entry of a work recorded or voided before ``moment`` (as the
    ledger dates them), or 0: where the months before ``moment`` end in the log."""
    recorded = (
        Work.objects.filter(entry__created_at__lt=moment)
        .order_by("-log_index")
        .values_list("log_index", flat=True)
        .first()
    )
    voided = (
        Work.objects.filter(void_entry__created_at__lt=moment, void_log_index__isnull=False)
        .order_by("-void_log_index")
        .values_list("void_log_index", flat=True)
        .first()
    )
    return max(-1 if recorded is None else recorded, -1 if voided is None else voided) + 1


def _indices(recorded: Q, voided: Q) -> frozenset[int]:
    return frozenset(Work.objects.filter(recorded).values_list("log_index", flat=True)) | (
        frozenset(
            i
            for i in Work.objects.filter(voided, void_log_index__isnull=False).values_list(
                "void_log_index", flat=True
            )
            if i is not None
        )
    )


def counted_entries(month: date) -> signed.Counted:
    """Which ``work.recorded``/``work.voided`` log entries the month's statements count:
    those the ledger booked in the month. The log and the ledger run in the same order
    (an entry is logged in the transaction that books it), so that is a range of the log,
    from where the month before ended to one past the month's last entry; an entry
    logged inside the range but booked after the month (or before the range, booked in
    it), as when two transactions cross the month's turn, is listed apart."""
    start, end = bounds(month_start(month))
    first, last = _cut(start), _cut(end)
    return signed.Counted(
        start=first,
        end=last,
        excluded=_indices(
            Q(log_index__lt=last, entry__created_at__gte=end),
            Q(void_log_index__lt=last, void_entry__created_at__gte=end),
        ),
        included=_indices(
            Q(log_index__lt=first, entry__created_at__gte=start, entry__created_at__lt=end),
            Q(
                void_log_index__lt=first,
                void_entry__created_at__gte=start,
                void_entry__created_at__lt=end,
            ),
        ),
    )


def closed_period_locked(month: date) -> Period | None:
    """The month's period if it is closed, its row locked for the caller's transaction
    (what month-end work that must not run twice at once takes first)."""
    period = Period.objects.select_for_update().filter(month=month_start(month)).first()
    return period if period is not None and period.closed_at is not None else None


def signed_statement(payee: Payee, month: date, currency: str) -> Statement | None:
    """The signed statement of a closed month (None for an open month, or one closed
    before statements were signed)."""
    return (
        Statement.objects.filter(
            payee=payee,
            period__month=month_start(month),
            period__closed_at__isnull=False,
            currency=currency,
        )
        .exclude(jws="")
        .first()
    )


def statement_for(payee: Payee, month: date, currency: str) -> tuple[StatementData, bool]:
    """The frozen statement of a closed month, or the live draft of an open one."""
    stored = Statement.objects.filter(
        payee=payee,
        period__month=month_start(month),
        period__closed_at__isnull=False,
        currency=currency,
    ).first()
    if stored is None:
        return compute(payee, month_start(month), currency), False
    data = StatementData(
        payee=payee,
        month=month_start(month),
        currency=currency,
        opening=stored.opening,
        earnings=stored.earnings,
        payouts=stored.payouts,
        lines=stored.lines,
    )
    return data, True
