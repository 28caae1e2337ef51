"""A license's advance (its prepaid minimum guarantee) against voids, refunds,
chargebacks won and the term's true-up: every unit of the guarantee ends with the payees
or back with the brand, never stranded in the advance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.months import month_start, next_month
from licensing import services as licensing
from payments import fees, gateway, reversals
from payments.models import FeePayment
from royalties.models import LicenseUsage, Payee, Work
from royalties.services import work_void
from royalties.splits import Share, voice_splits_set
from royalties.statements import compute, period_close
from tests.licensing.helpers import offer_terms, request_input
from tests.payments.helpers import balance, balances_are_sound, record

pytestmark = pytest.mark.django_db

GUARANTEE = 1_000
TERMS = {
    "upfront_fee": 0,
    "minimum_guarantee": GUARANTEE,
    "per_work": 200,
    "per_second": "0",
    "revenue_share_bps": 0,
    "max_works": None,
    "max_seconds": None,
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _license(voice: Any, brand_user: Any, operator: Any, valid_from: date, until: date) -> Any:
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user, voice=voice, title="Short", offer_terms=offer_terms(**TERMS)
    )
    req = licensing.request_submit(
        actor=brand_user,
        brand=brand,
        offer=offer,
        data=request_input(
            media=["tv"],
            languages=["en-US"],
            territories=["US"],
            valid_from=valid_from,
            valid_until=until,
        ),
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    lic = fees.fee_settle_manually(operator=operator, request=req, reference="BANK-1")
    FeePayment.objects.filter(license=lic).update(charge_id="ch_advance")
    return lic


def _advance_agrees(lic: Any) -> int:
    """The usage row and the ledger say the same of what the advance holds."""
    usage = LicenseUsage.objects.get(license=lic)
    held = -balance("advance", license=lic)
    assert usage.advance_left == held, (usage.advance_left, held)
    return held


def _last_day_of_next_month() -> date:
    return next_month(next_month(month_start(timezone.now().date()))) - timedelta(days=1)


def _chargeback(amount: int) -> dict[str, Any]:
    dispute = {"id": "dp_advance", "charge": "ch_advance", "amount": amount, "status": "lost"}
    with transaction.atomic():
        reversals.dispute_created({**dispute, "status": "needs_response"}, {})
    return dispute


def _win(dispute: dict[str, Any]) -> None:
    with transaction.atomic():
        reversals.dispute_closed({**dispute, "status": "won"}, {})


def _refund(amount: int) -> None:
    refund = [{"id": "re_advance", "amount": amount, "status": "succeeded"}]
    with transaction.atomic(), mock.patch.object(gateway, "refunds_of_charge", lambda _: refund):
        reversals.charge_refunded({"id": "ch_advance"}, {})


def test_a_void_after_the_true_up_is_refused_and_the_guarantee_stands(
    voice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    last = _last_day_of_next_month()
    time_machine.move_to(_at(last, 12), tick=False)
    lic = _license(voice, brand_bob, operator, last, last)
    time_machine.move_to(_at(last, 23), tick=False)
    [work] = record(lic, 1)  # 200, all from the advance
    time_machine.move_to(_at(last + timedelta(days=1), 0, 30), tick=False)
    period_close(month=month_start(last))  # the true-up releases the 800 left
    time_machine.move_to(_at(last + timedelta(days=1), 1), tick=False)
    # Within 24 hours, but its month is closed: its statements are final.
    with pytest.raises(ValidationError, match="month is closed"), transaction.atomic():
        work_void(brand=lic.brand, work_id=work.work_id)
    # The work stands, the guarantee was earned: the payees have all of it, less 10%.
    assert _advance_agrees(lic) == 0
    assert -balance("payee_payable", payee=Payee.objects.get()) == 900
    assert -balance("platform_revenue") == 100
    balances_are_sound()


def test_a_dispute_won_after_the_true_up_releases_what_it_gives_back(
    voice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    last = _last_day_of_next_month()
    time_machine.move_to(_at(last, 12), tick=False)
    lic = _license(voice, brand_bob, operator, last, last)
    dispute = _chargeback(400)
    assert _advance_agrees(lic) == 600
    time_machine.move_to(_at(last + timedelta(days=1), 9), tick=False)
    period_close(month=month_start(last))  # the true-up releases the 600 left
    time_machine.move_to(_at(last + timedelta(days=20), 9), tick=False)
    _win(dispute)
    assert _advance_agrees(lic) == 0
    assert balance("cash") == GUARANTEE
    assert -balance("payee_payable", payee=Payee.objects.get()) == 900
    balances_are_sound()


def test_a_void_after_the_guarantee_was_refunded_does_not_leave_the_brand_billed(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    today = timezone.now().date()
    lic = _license(voice, brand_bob, operator, today, today + timedelta(days=30))
    [work] = record(lic, 1)  # 200 of the advance used
    _refund(GUARANTEE)
    # The 800 unspent went back with the refund; the brand owes the 200 the work used.
    assert balance("brand_receivable", brand=lic.brand) == 200
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=work.work_id)
    # As if the work had never been: the brand owes nothing, the advance holds nothing.
    assert balance("brand_receivable", brand=lic.brand) == 0
    assert _advance_agrees(lic) == 0
    assert -balance("payee_payable", payee=Payee.objects.get()) == 0
    balances_are_sound()


@pytest.mark.parametrize("void_before_winning", [False, True])
def test_a_chargeback_won_leaves_the_books_as_if_it_had_never_been(
    voice: Any, brand_bob: Any, operator: Any, void_before_winning: bool
) -> None:
    today = timezone.now().date()
    lic = _license(voice, brand_bob, operator, today, today + timedelta(days=30))
    works = record(lic, 2)  # 400 of the advance used
    dispute = _chargeback(GUARANTEE)
    assert balance("brand_receivable", brand=lic.brand) == 400
    if void_before_winning:
        with transaction.atomic():
            work_void(brand=lic.brand, work_id=works[0].work_id)
        assert balance("brand_receivable", brand=lic.brand) == 200
    _win(dispute)
    # The guarantee is back, less what the standing works used; the brand owes nothing.
    standing = 1 if void_before_winning else 2
    assert balance("brand_receivable", brand=lic.brand) == 0
    assert _advance_agrees(lic) == GUARANTEE - 200 * standing
    assert balance("cash") == GUARANTEE
    balances_are_sound()


def test_advance_freed_by_a_void_shows_as_recouped_for_every_payee(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    voice_splits_set(
        actor=voice.performer.user,
        voice=voice,
        shares=[Share("performer", "Alice", 7000), Share("agent", "Agency", 3000)],
    )
    today = timezone.now().date()
    lic = _license(voice, brand_bob, operator, today, today + timedelta(days=30))
    ids = [w.work_id for w in record(lic, 6)]  # 1,200: 1,000 from the advance, 200 billed
    assert balance("brand_receivable", brand=lic.brand) == 200
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=ids[0])
    from_advance = {w.work_id: w.from_advance for w in Work.objects.all()}
    assert sum(from_advance[i] for i in ids[1:]) == GUARANTEE
    assert balance("brand_receivable", brand=lic.brand) == 0
    assert _advance_agrees(lic) == 0
    for payee in Payee.objects.order_by("pk"):
        [line] = compute(payee, month_start(today), "USD").lines
        assert (line["works"], line["gross"], line["recouped"]) == (5, 1_000, 1_000)
    balances_are_sound()
