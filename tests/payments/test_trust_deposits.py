"""A minor's Coogan set-aside is paid into the trust account the guardian names: the
month's payout run makes a trust deposit of exactly what was set aside, an operator
records the bank transfer, and the ledger books it out of the blocked trust account and
out of cash. Never twice, never without a named trust, never by anyone but an operator."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import Backend, CashMovement, Payout
from payments.payouts import payout_record_manually, payout_run
from payments.reconcile import reconcile
from payments.trust import trust_deposit_fail, trust_deposit_record
from registry import services as registry_services
from registry.models import Performer
from royalties import ledger
from royalties.models import Account, JournalEntry, Payee, Statement, TrustDeposit
from royalties.services import WorkInput, works_record
from royalties.statements import compute, period_close
from royalties.trust import coogan_trust, coogan_trust_name
from tests import factories as f
from tests.royalties.helpers import issue, run_statement_check

pytestmark = pytest.mark.django_db

# Next year's January, February and March: months of their own, within the default term
# of the consent the factories give today.
YEAR = date.today().year + 1
JAN, FEB, MAR = date(YEAR, 1, 1), date(YEAR, 2, 1), date(YEAR, 3, 1)


def _at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=UTC)


def _minor(voice: Any) -> Any:
    """The performer is a minor; returns their guardian (verified authority)."""
    Performer.objects.filter(pk=voice.performer_id).update(is_minor=True)
    voice.performer.refresh_from_db()
    return f.AuthorityFactory(
        performer=voice.performer, kind="guardian", representative__user__email="rosa@example.com"
    ).representative.user


def _license(voice: Any, brand_user: Any, operator: Any, per_work: int = 2000) -> Any:
    terms = {
        "per_work": per_work,
        "per_second": "0",
        "revenue_share_bps": 0,
        "minimum_guarantee": 0,
        "upfront_fee": 0,
        "max_works": None,
        "max_seconds": None,
    }
    return issue(voice, brand_user, operator, terms=terms, media=["tv"], languages=["en-US"])


def _record(lic: Any, refs: list[str]) -> None:
    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=ref,
            content_sha256=hashlib.sha256(f"{lic.license_id}:{ref}".encode()).hexdigest(),
            duration_ms=15_000,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for ref in refs
    ]
    with transaction.atomic():
        outcomes = works_record(brand=lic.brand, items=items)
    assert all(o.status == "recorded" for o in outcomes), [o.detail for o in outcomes]


def _balance(kind: str, currency: str = "USD", **owner: Any) -> int:
    found = Account.objects.filter(kind=kind, currency=currency, **owner).first()
    return ledger.balance(found) if found is not None else 0


def _payee(voice: Any) -> Payee:
    return Payee.objects.get(performer=voice.performer, kind=Payee.Kind.PERFORMER)


def _name_trust(guardian: Any, payee: Payee, reference: str = "CT-000012345678") -> None:
    coogan_trust_name(
        actor=guardian, payee=payee, institution="First Coogan Trust Bank", reference=reference
    )


@pytest.fixture
def minor_january(voice: Any, brand_bob: Any, operator: Any, time_machine: Any) -> Any:
    """A minor's three works at 20.00 in January, January closed: each work pays the
    performer 1800 (the platform keeps 200), of which 15% (270) is set aside: 4590 owed,
    810 in trust. Returns the guardian."""
    time_machine.move_to(_at(1, 5), tick=False)
    lic = _license(voice, brand_bob, operator)
    guardian = _minor(voice)
    time_machine.move_to(_at(1, 10), tick=False)
    _record(lic, ["a", "b", "c"])
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    return guardian


def test_the_payout_run_pays_the_payee_net_and_deposits_exactly_the_set_aside(
    voice: Any, operator: Any, minor_january: Any
) -> None:
    payee = _payee(voice)
    _name_trust(minor_january, payee)
    run = payout_run(month=JAN)
    [payout] = Payout.objects.filter(payee=payee)
    assert payout.amount == 4590
    [deposit] = TrustDeposit.objects.all()
    assert (deposit.payee, deposit.month, deposit.currency, deposit.amount) == (
        payee,
        JAN,
        "USD",
        810,
    )
    assert deposit.status == TrustDeposit.Status.PENDING
    assert (deposit.institution, deposit.account_reference) == (
        "First Coogan Trust Bank",
        "CT-000012345678",
    )
    assert run.waiting == 0
    # Nothing is booked until the bank transfer is recorded: the set-aside is still held.
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == -810
    client = Client()
    client.force_login(operator)
    page = client.get("/operations/payments/").content.decode()
    assert f'id="trust-deposit-{deposit.pk}"' in page
    assert "First Coogan Trust Bank, account CT-000012345678" in page


def test_recording_it_books_the_trust_out_against_cash_and_the_books_still_agree(
    voice: Any, operator: Any, minor_january: Any, time_machine: Any
) -> None:
    payee = _payee(voice)
    _name_trust(minor_january, payee)
    payout_run(month=JAN)
    deposit = TrustDeposit.objects.get()
    time_machine.move_to(_at(2, 3), tick=False)
    cash_before = _balance(Account.Kind.CASH)
    client = Client()
    client.force_login(operator)
    response = client.post(
        "/operations/payments/",
        {"action": "record-trust-deposit", "id": deposit.pk, "reference": "WIRE-2026-0042"},
    )
    assert response.status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == TrustDeposit.Status.PAID
    assert (deposit.reference, deposit.paid_at) == ("WIRE-2026-0042", _at(2, 3))
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.TRUST_DEPOSIT)
    legs = {(p.account.kind, p.account.payee_id): p.amount for p in entry.postings.all()}
    assert legs == {(Account.Kind.MINOR_TRUST, payee.pk): 810, (Account.Kind.CASH, None): -810}
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == 0
    assert _balance(Account.Kind.CASH) == cash_before - 810
    assert CashMovement.objects.get(entry=entry).backend == Backend.MANUAL
    # Naming another trust later does not rewrite where this deposit went.
    _name_trust(minor_january, payee, reference="NEW-ACCOUNT-9999")
    deposit.refresh_from_db()
    assert deposit.account_reference == "CT-000012345678"
    # The guardian sees what was set aside, what was paid in (when, where, masked) and
    # that nothing is held any more.
    guardian = Client()
    guardian.force_login(voice.performer.user)
    earnings = guardian.get("/studio/earnings/").content.decode()
    assert 'Held in trust: <strong class="amount">0</strong> USD' in earnings
    assert "set aside in all: 810, paid into the trust: 810" in earnings
    assert "First Coogan Trust Bank, account •••• 5678" in earnings
    assert f"3 Feb {YEAR}" in earnings and "Paid into the trust" in earnings
    assert "CT-000012345678" not in earnings
    statement = guardian.get(f"/statements/{payee.pk}/{YEAR}-01/USD/").content.decode()
    assert (
        f"Deposit of January {YEAR}: 810 USD into First Coogan Trust Bank, account •••• 5678 "
        f"— paid into the trust on 3 Feb {YEAR}."
    ) in statement
    # Come of age, the performer still sees what was set aside while a minor.
    Performer.objects.filter(pk=voice.performer_id).update(is_minor=False)
    assert (
        f'id="trust-deposits-{payee.pk}-USD"' in guardian.get("/studio/earnings/").content.decode()
    )
    # The payable account's statement is untouched; cash reconciles.
    payout_record_manually(operator=operator, payout=Payout.objects.get(), reference="SEPA-1")
    time_machine.move_to(_at(3, 1, 1), tick=False)
    period_close(month=FEB)
    february = Statement.objects.get(payee=payee, period__month=FEB)
    assert (february.opening, february.payouts, february.closing) == (4590, 4590, 0)
    assert compute(payee, FEB, "USD").closing == 0
    result = reconcile(month=FEB)
    assert result.ok, result.mismatches
    assert result.totals["manual"] == -(4590 + 810)


def test_a_rerun_makes_nothing_twice(
    voice: Any, operator: Any, minor_january: Any, time_machine: Any
) -> None:
    payee = _payee(voice)
    _name_trust(minor_january, payee)
    payout_run(month=JAN)
    payout_run(month=JAN)
    [deposit] = TrustDeposit.objects.all()
    trust_deposit_record(operator=operator, deposit=deposit, reference="WIRE-1")
    payout_run(month=JAN)
    time_machine.move_to(_at(3, 1, 1), tick=False)
    period_close(month=FEB)
    payout_run(month=FEB)
    assert TrustDeposit.objects.count() == 1
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.TRUST_DEPOSIT).count() == 1
    assert Payout.objects.count() == 1
    with pytest.raises(ValidationError, match="This trust deposit is paid"):
        trust_deposit_record(operator=operator, deposit=deposit, reference="WIRE-1")
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == 0


def test_without_a_named_trust_the_set_aside_waits_until_a_later_run(
    voice: Any, operator: Any, minor_january: Any, time_machine: Any
) -> None:
    payee = _payee(voice)
    run = payout_run(month=JAN)
    assert not TrustDeposit.objects.exists()
    assert run.waiting == 1  # the payout went out; the set-aside waits for its trust
    assert Payout.objects.get().amount == 4590
    guardian = Client()
    guardian.force_login(voice.performer.user)
    earnings = guardian.get("/studio/earnings/").content.decode()
    assert f'id="coogan-waiting-{payee.pk}"' in earnings
    assert "the registry is waiting for the guardian to name one" in earnings
    _name_trust(minor_january, payee)
    time_machine.move_to(_at(3, 1, 1), tick=False)
    period_close(month=FEB)
    later = payout_run(month=FEB)
    assert later.waiting == 0
    [deposit] = TrustDeposit.objects.all()
    assert (deposit.month, deposit.amount) == (FEB, 810)


def test_a_failed_deposit_is_held_again_and_goes_to_the_trust_named_since(
    voice: Any, operator: Any, minor_january: Any
) -> None:
    payee = _payee(voice)
    _name_trust(minor_january, payee, reference="CLOSED-0001")
    payout_run(month=JAN)
    deposit = TrustDeposit.objects.get()
    trust_deposit_fail(operator=operator, deposit=deposit, reason="account closed")
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == -810
    _name_trust(minor_january, payee, reference="OPEN-0002")
    payout_run(month=JAN)
    again = TrustDeposit.objects.get(status=TrustDeposit.Status.PENDING)
    assert (again.amount, again.account_reference) == (810, "OPEN-0002")


def test_only_an_operator_records_a_trust_deposit(
    voice: Any, operator: Any, minor_january: Any
) -> None:
    payee = _payee(voice)
    _name_trust(minor_january, payee)
    payout_run(month=JAN)
    deposit = TrustDeposit.objects.get()
    for someone in (minor_january, voice.performer.user):
        with pytest.raises(PermissionDenied):
            trust_deposit_record(operator=someone, deposit=deposit, reference="MINE")
        client = Client()
        client.force_login(someone)
        response = client.post(
            "/operations/payments/",
            {"action": "record-trust-deposit", "id": deposit.pk, "reference": "MINE"},
        )
        assert response.status_code == 302 and "/login" in response["Location"]
    deposit.refresh_from_db()
    assert deposit.status == TrustDeposit.Status.PENDING
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.TRUST_DEPOSIT).exists()


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("   ", "Give the bank transfer"),
        ("WIRE\x00-1", "none of them control"),
        ("W" * 101, "at most 100 characters"),
    ],
)
def test_a_bad_bank_reference_is_a_clear_400(
    voice: Any, operator: Any, minor_january: Any, reference: str, says: str
) -> None:
    _name_trust(minor_january, _payee(voice))
    payout_run(month=JAN)
    deposit = TrustDeposit.objects.get()
    client = Client()
    client.force_login(operator)
    response = client.post(
        "/operations/payments/",
        {"action": "record-trust-deposit", "id": deposit.pk, "reference": reference},
    )
    assert response.status_code == 400
    assert says in response.content.decode()
    deposit.refresh_from_db()
    assert deposit.status == TrustDeposit.Status.PENDING
    missing = client.post(
        "/operations/payments/",
        {"action": "record-trust-deposit", "id": "999999", "reference": "WIRE-1"},
    )
    assert missing.status_code == 404
    junk = client.post(
        "/operations/payments/",
        {"action": "record-trust-deposit", "id": "abc", "reference": "WIRE-1"},
    )
    assert junk.status_code == 404


def test_the_offline_checker_still_agrees_with_the_statement_after_a_deposit(
    voice: Any,
    operator: Any,
    auditor_ada: Any,
    live_server: Any,
    tmp_path: Path,
    minor_january: Any,
    time_machine: Any,
) -> None:
    payee = _payee(voice)
    # The performer is a minor: their guardian lets the auditor read the statements.
    registry_services.audit_grant_give(
        actor=minor_january, performer=voice.performer, auditor_email="ada@example.com"
    )
    key = tmp_path / "auditor.key"
    key.write_text(
        registry_services.api_key_create(
            actor=auditor_ada, owner=auditor_ada.auditor, name="statements"
        )[1]
    )
    _name_trust(minor_january, payee)
    payout_run(month=JAN)
    time_machine.move_to(_at(2, 4), tick=False)
    trust_deposit_record(operator=operator, deposit=TrustDeposit.objects.get(), reference="W-1")
    payout_record_manually(operator=operator, payout=Payout.objects.get(), reference="SEPA-1")
    time_machine.move_to(_at(3, 1, 1), tick=False)
    period_close(month=FEB)
    for month in (JAN, FEB):
        stored = Statement.objects.get(payee=payee, period__month=month)
        assert (
            run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", str(key)) == 0
        )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    prices=st.lists(st.integers(1, 9_999), min_size=1, max_size=4),
    fee_bps=st.integers(0, 3_000),
    coogan_bps=st.integers(1, 5_000),
)
def test_no_minor_unit_is_created_or_lost_paying_the_trust(
    voice: Any,
    brand_bob: Any,
    operator: Any,
    time_machine: Any,
    prices: list[int],
    fee_bps: int,
    coogan_bps: int,
) -> None:
    """Whatever the prices and rates: the brand owes what the platform kept, the payout
    sent and the trust deposit paid in, to the minor unit; afterwards the payee's payable
    and trust accounts are empty and cash went out by exactly the payout and deposit."""
    saved = django_settings.TIMBRE_PLATFORM_FEE_BPS, django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS
    django_settings.TIMBRE_PLATFORM_FEE_BPS = fee_bps
    django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS = coogan_bps
    savepoint = transaction.savepoint_create()
    try:
        voice.performer.refresh_from_db()  # an adult again: the last example was rolled back
        time_machine.move_to(_at(1, 5), tick=False)
        licenses = [_license(voice, brand_bob, operator, per_work=p) for p in prices]
        guardian = _minor(voice)
        time_machine.move_to(_at(1, 10), tick=False)
        for n, lic in enumerate(licenses):
            _record(lic, [f"w{n}"])
        payee = _payee(voice)
        _name_trust(guardian, payee)
        held = -_balance(Account.Kind.MINOR_TRUST, payee=payee)
        time_machine.move_to(_at(2, 1, 1), tick=False)
        period_close(month=JAN)
        django_settings.TIMBRE_PAYOUT_THRESHOLD, threshold = (
            1,
            django_settings.TIMBRE_PAYOUT_THRESHOLD,
        )
        try:
            payout_run(month=JAN)
        finally:
            django_settings.TIMBRE_PAYOUT_THRESHOLD = threshold
        paid_out = sum(Payout.objects.filter(payee=payee).values_list("amount", flat=True))
        deposits = list(TrustDeposit.objects.filter(payee=payee))
        assert sum(d.amount for d in deposits) == held
        platform = -_balance(Account.Kind.PLATFORM_REVENUE)
        assert _balance(Account.Kind.BRAND_RECEIVABLE, brand=licenses[0].brand) == (
            platform + paid_out + held
        )
        cash = _balance(Account.Kind.CASH)
        for deposit in deposits:
            trust_deposit_record(operator=operator, deposit=deposit, reference=f"W-{deposit.pk}")
        for payout in Payout.objects.filter(payee=payee):
            payout_record_manually(operator=operator, payout=payout, reference=f"S-{payout.pk}")
        assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == 0
        assert _balance(Account.Kind.PAYEE_PAYABLE, payee=payee) == 0
        assert _balance(Account.Kind.CASH) == cash - paid_out - held
        assert coogan_trust(payee, "USD").set_aside == held
    finally:
        transaction.savepoint_rollback(savepoint)
        django_settings.TIMBRE_PLATFORM_FEE_BPS, django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS = saved
