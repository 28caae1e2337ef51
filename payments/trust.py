"""Trust deposits: a minor's Coogan set-aside, held in its blocked trust account in the
ledger, paid into the trust account the guardian named. The month's payout run makes
them; an operator records each bank transfer, which books the money out of the blocked
account and out of cash. Always by hand: a Coogan account is a bank account, never a
Stripe Connect account."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.months import month_start
from payments.books import manual_source, movement, operator_reference
from payments.models import Backend
from registry.models import User
from royalties import ledger
from royalties.ledger import Kind, Line
from royalties.models import Account, CooganTrust, TrustDeposit
from royalties.selectors import trusts_held


def trust_owed(month: date) -> dict[tuple[int, str], int]:
    """Per payee and currency: what a trust deposit for that month should pay in. Set
    aside up to the month's end, less every deposit booked or under way (whenever it
    was made), as :func:`payments.payouts.owed` is for payouts."""
    # Pending deposits first, then the ledger: a deposit recorded in between is then
    # counted twice (owed too little, paid by the next run), never not at all.
    pending = list(
        TrustDeposit.objects.filter(status=TrustDeposit.Status.PENDING).values_list(
            "payee_id", "currency", "amount"
        )
    )
    held = trusts_held(month_start(month))
    for payee_id, currency, amount in pending:
        if (payee_id, currency) in held:
            held[(payee_id, currency)] -= amount
    return held


def trust_deposits_make(*, month: date) -> int:
    """Make the month's trust deposits: one per payee and currency with a set-aside held
    and a trust account named. Returns how many wait for their guardian to name one.

    The caller holds the closed period's row (the payout run does): one run of a month
    at a time. Run again, it finds the deposits it made and makes none twice."""
    month = month_start(month)
    trusts = {t.payee_id: t for t in CooganTrust.objects.all()}
    waiting = 0
    for (payee_id, currency), amount in sorted(trust_owed(month).items()):
        if amount <= 0:
            continue
        trust = trusts.get(payee_id)
        if trust is None:
            waiting += 1  # held until the guardian names the trust account
            continue
        try:
            with transaction.atomic():
                TrustDeposit.objects.create(
                    payee_id=payee_id,
                    month=month,
                    currency=currency,
                    amount=amount,
                    institution=trust.institution,
                    account_reference=trust.reference,
                )
        except IntegrityError:
            continue  # this month's deposit exists already
    return waiting


def _bank_reference(operator: User, reference: str) -> str:
    reference = operator_reference(
        operator, reference, "records trust deposits", "the bank transfer's"
    )
    if len(reference) > 100 or not reference.isprintable():
        raise ValidationError(
            {"reference": ["A bank reference is at most 100 characters, none of them control."]}
        )
    return reference


@transaction.atomic
def trust_deposit_record(*, operator: User, deposit: TrustDeposit, reference: str) -> TrustDeposit:
    """An operator paid a minor's set-aside into the named trust account by bank
    transfer: record it with the bank's reference, and book it out of the blocked trust
    account and out of cash."""
    reference = _bank_reference(operator, reference)
    # The deposit's row, locked: it is recorded (and booked) once.
    deposit = TrustDeposit.objects.select_for_update().select_related("payee").get(pk=deposit.pk)
    if deposit.status != TrustDeposit.Status.PENDING:
        raise ValidationError({"status": [f"This trust deposit is {deposit.status}."]})
    now = timezone.now()
    deposit.status = TrustDeposit.Status.PAID
    deposit.reference = reference
    deposit.paid_at = now
    deposit.save(update_fields=["status", "reference", "paid_at"])
    currency = deposit.currency
    entry = ledger.post(
        kind=Kind.TRUST_DEPOSIT,
        source=str(deposit.pk),
        currency=currency,
        memo=(
            f"set-aside {deposit.month:%Y-%m} of {deposit.payee.name} paid into the trust "
            f"at {deposit.institution}, account {deposit.masked_account}"
        ),
        lines=[
            Line(
                ledger.account(Account.Kind.MINOR_TRUST, currency, payee=deposit.payee),
                deposit.amount,
            ),
            Line(ledger.account(Account.Kind.CASH, currency), -deposit.amount),
        ],
        at=now,
    )
    movement(entry, manual_source(reference), now, Backend.MANUAL)
    return deposit


@transaction.atomic
def trust_deposit_fail(*, operator: User, deposit: TrustDeposit, reason: str) -> TrustDeposit:
    """The bank could not pay a deposit in (the named account was wrong or closed): the
    money is held again, and the next run pays it into the trust named by then."""
    reason = operator_reference(operator, reason, "records trust deposits", "the bank's")
    deposit = TrustDeposit.objects.select_for_update().get(pk=deposit.pk)
    if deposit.status != TrustDeposit.Status.PENDING:
        raise ValidationError({"status": [f"This trust deposit is {deposit.status}."]})
    deposit.status = TrustDeposit.Status.FAILED
    deposit.error = reason[:500]
    deposit.save(update_fields=["status", "error"])
    return deposit
