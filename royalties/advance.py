"""A license's advance (its minimum guarantee, prepaid): the one place that changes it.

The brand prepays the guarantee; works recorded under the license draw it down before
the brand owes anything; a refund or chargeback takes back what is unspent and charges
the brand for what works used; a void gives a work's part back (to the brand, if it was
charged for it, else to the works recorded after it); at the end of the term what is
left is earned by the payees (the true-up), and so is anything that comes back later.
Each change moves ``LicenseUsage`` and the license's advance account together, under the
usage row's lock, so that the row always says what the account holds.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from licensing.models import License
from royalties import ledger, rules
from royalties.ledger import Accounts, Kind, Line
from royalties.models import Account, JournalEntry, LicenseUsage, Work
from royalties.splits import split_basis


def prepaid(*, lic: License, amount: int, at: datetime | None = None) -> JournalEntry | None:
    """Book the guarantee the brand prepaid into the license's advance (once per license,
    whoever books it first: the payment, or the first work of a license settled
    without one)."""
    if not amount:
        return None
    currency = lic.document["royalty"]["currency"]
    return ledger.post(
        kind=Kind.ADVANCE,
        source=lic.license_id,
        currency=currency,
        memo=f"minimum guarantee prepaid for {lic.license_id}",
        lines=[
            Line(ledger.account(Account.Kind.CASH, currency), amount, lic),
            Line(ledger.account(Account.Kind.ADVANCE, currency, license=lic), -amount, lic),
        ],
        at=at,
    )


def usage_locked(lic: License) -> LicenseUsage:
    """The license's usage row, locked: the lock for its works, caps and advance. Made,
    with the advance booked, on first use."""
    usage = LicenseUsage.objects.select_for_update().filter(license=lic).first()
    if usage is not None:
        return usage
    advance = int(lic.document["royalty"]["minimum_guarantee"])
    try:
        with transaction.atomic():
            LicenseUsage.objects.create(license=lic, advance_left=advance)
    except IntegrityError:
        pass  # made by a concurrent request; lock theirs below
    else:
        prepaid(lic=lic, amount=advance)
    return LicenseUsage.objects.select_for_update().get(license=lic)


def draw(usage: LicenseUsage, price: int) -> int:
    """A work priced ``price`` is recorded: how much of it the advance covers (the rest
    the brand owes). The caller saves the usage row with the work."""
    recouped = rules.recoup(price, usage.advance_left)
    usage.advance_left = recouped.advance_left
    return recouped.from_advance


def take_back(usage: LicenseUsage, wanted: int) -> tuple[int, int]:
    """Money leaves the advance (a refund or chargeback of the guarantee): what is unspent
    of ``wanted`` comes out of it, and what works had already used is charged to the
    brand. Returns (unspent, charged); the caller books both."""
    unspent = max(min(wanted, usage.advance_left), 0)
    charged = wanted - unspent
    usage.advance_left -= unspent
    usage.advance_charged += charged
    usage.save(update_fields=["advance_left", "advance_charged"])
    return unspent, charged


def give_back(
    usage: LicenseUsage, *, returned: int, uncharged: int, source: str, at: datetime
) -> None:
    """A chargeback is reversed (the dispute was won): ``returned`` comes back into the
    advance, and the brand is no longer charged ``uncharged`` for used advance. If a void
    meanwhile gave some of that charge back to the brand already, it moves back into the
    advance now: the books end as if the chargeback had never been."""
    usage.advance_left += returned
    usage.advance_charged -= uncharged
    if usage.advance_charged < 0:
        _to_brand(usage, usage.advance_charged, source=source, at=at)
        usage.advance_left -= usage.advance_charged
        usage.advance_charged = 0
    usage.save(update_fields=["advance_left", "advance_charged"])
    _release_late(usage, cause=source, at=at)


def void_work(usage: LicenseUsage, work: Work, *, at: datetime) -> None:
    """``work`` is voided: its part of the advance comes back, as it would have had the
    work never been recorded. If a refund had charged the brand for advance the works had
    used, the brand is charged that much less first; what is left goes to the works
    recorded after it that the brand was billed for, oldest first (the ledger moves it
    from the brand to the advance; the payees' statements see it as recouped); and if
    the term is over and its advance was released, the rest is released too."""
    freed = work.from_advance
    owed_back = min(freed, usage.advance_charged)
    if owed_back:
        _to_brand(usage, owed_back, source=work.work_id, at=at)
        usage.advance_charged -= owed_back
    usage.advance_left += freed - owed_back
    if usage.advance_left and freed - owed_back:
        _reapply(usage, work, at=at)
    usage.save(update_fields=["advance_left", "advance_charged"])
    _release_late(usage, cause=work.work_id, at=at)


def _to_brand(usage: LicenseUsage, amount: int, *, source: str, at: datetime) -> None:
    """Give ``amount`` of the advance back to the brand, against what it was charged
    (negative: charge it again)."""
    lic = usage.license
    currency = lic.document["royalty"]["currency"]
    ledger.post(
        kind=Kind.ADVANCE_TO_BRAND,
        source=source,
        currency=currency,
        memo=f"used advance of {lic.license_id} given back to the brand it was charged to",
        lines=[
            Line(ledger.account(Account.Kind.ADVANCE, currency, license=lic), amount, lic),
            Line(
                ledger.account(Account.Kind.BRAND_RECEIVABLE, currency, brand=lic.brand),
                -amount,
                lic,
            ),
        ],
        at=at,
    )


def _reapply(usage: LicenseUsage, voided: Work, *, at: datetime) -> None:
    later = (
        Work.objects.select_for_update()
        .filter(
            license_id=usage.license_id,
            log_index__gt=voided.log_index,
            voided_at__isnull=True,
        )
        .order_by("log_index")
    )
    moved = 0
    for work in later.iterator():
        if not usage.advance_left:
            break
        owed = work.price - work.from_advance
        if owed <= 0:
            continue
        applied = min(owed, usage.advance_left)
        Work.objects.filter(pk=work.pk).update(from_advance=work.from_advance + applied)
        usage.advance_left -= applied
        moved += applied
    if not moved:
        return
    lic = voided.license
    currency = voided.currency
    accounts = Accounts()
    basis = split_basis(lic.voice)
    lines = [
        Line(accounts.get(Account.Kind.ADVANCE, currency, license=lic), moved, lic),
        Line(accounts.get(Account.Kind.BRAND_RECEIVABLE, currency, brand=lic.brand), -moved, lic),
    ]
    # No money moves for the payees; their statements' "recouped" does.
    lines += [
        Line(
            accounts.get(Account.Kind.PAYEE_PAYABLE, currency, payee=payee), 0, lic, recouped=moved
        )
        for payee, _ in basis.payees
    ]
    ledger.post(
        kind=Kind.ADVANCE_REAPPLIED,
        source=voided.work_id,
        currency=currency,
        memo=f"advance freed by voiding {voided.work_id}, applied to later works",
        lines=lines,
        at=at,
    )


def release(usage: LicenseUsage, *, at: datetime) -> None:
    """The license's term is over: the advance left is earned by the payees (the
    guarantee was guaranteed), less the platform's fee."""
    _true_up(usage, source=usage.license.license_id, at=at)
    usage.advance_released = True
    usage.save(update_fields=["advance_left", "advance_released"])


def _release_late(usage: LicenseUsage, *, cause: str, at: datetime) -> None:
    """Advance that came back after the term's true-up (a void, a dispute won) is
    released at once: nothing else would ever release it."""
    if usage.advance_released and usage.advance_left > 0:
        _true_up(usage, source=f"{usage.license.license_id}:{cause}", at=at)
        usage.save(update_fields=["advance_left"])


def _true_up(usage: LicenseUsage, *, source: str, at: datetime) -> None:
    lic = usage.license
    amount = rules.true_up(usage.advance_left)
    if amount:
        currency = lic.document["royalty"]["currency"]
        accounts = Accounts()
        basis = split_basis(lic.voice)
        ledger.post(
            kind=Kind.TRUE_UP,
            source=source,
            currency=currency,
            memo=f"minimum guarantee true-up for {lic.license_id}",
            lines=[
                Line(accounts.get(Account.Kind.ADVANCE, currency, license=lic), amount, lic),
                *ledger.split_lines(
                    [amount],
                    basis=basis,
                    currency=currency,
                    lic=lic,
                    accounts=accounts,
                    recouped=amount,
                ),
            ],
            at=at,
            split=basis,
        )
    usage.advance_left = 0
