"""With no Stripe key, the whole money loop by hand, in a real browser: the operator
settles the fee, the brand records works, the month closes, the brand's invoice is
settled, the payout is recorded, and every statement agrees with the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from licensing import services as licensing
from licensing.models import License
from payments.models import Invoice, Payout
from registry import services as registry_services
from royalties.models import Account, Payee, Posting, Statement
from tests import factories as f
from tests.browser.helpers import person
from tests.licensing.helpers import offer_terms, request_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_fee_works_close_invoice_payout_statements(
    browser: Any, live_server: Any, settings: Any
) -> None:
    assert settings.PAYMENTS_BACKEND == "manual"
    alice = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=alice, display_name="Alice Warm", slug="alice-warm")
    bob_user = f.MembershipFactory(
        brand__name="Bobcat Audio",
        brand__slug="bobcat",
        user__email="bob@example.com",
        role="owner",
    ).user
    brand = bob_user.brand_memberships.get().brand
    f.UserFactory(email="olive@example.com", is_staff=True)
    offer = licensing.offer_publish(
        actor=alice.user,
        voice=voice,
        title="TV spots",
        offer_terms=offer_terms(
            upfront_fee=50_000, minimum_guarantee=10_000, per_work=200, per_second="0"
        ),
    )
    req = licensing.request_submit(
        actor=bob_user,
        brand=brand,
        offer=offer,
        data=request_input(media=["tv"], languages=["en-US"], territories=["US"]),
    )
    licensing.request_decide(actor=alice.user, request=req, approve=True)

    # The brand sees what it owes and how to pay it.
    bob = person(browser, live_server, "bob@example.com")
    bob.goto("/brands/bobcat/billing/")
    assert f"FEE-{req.pk}" in bob.inner_text(f"#due-{req.pk}")
    assert "60000 USD" in bob.inner_text(f"#due-{req.pk}")

    # The operator receives the bank transfer and settles it: the license is issued.
    olive = person(browser, live_server, "olive@example.com")
    olive.goto("/operations/payments/")
    olive.fill(f"#settle-{req.pk} input[name=reference]", f"FEE-{req.pk} BANK-0042")
    olive.click(f"#settle-{req.pk} button:has-text('Mark paid and issue')")
    olive.wait_for_selector("text=Settled: license")
    lic = License.objects.get()
    bob.goto("/brands/bobcat/billing/")
    assert lic.license_id in bob.inner_text("#receipts")

    # The brand's pipeline records 80 works at 2.00: the 100.00 advance covers 50.
    key = registry_services.api_key_create(actor=bob_user, owner=brand, name="pipeline")[1]
    works = [
        {
            "license_id": lic.license_id,
            "client_ref": f"spot-{n}",
            "content_sha256": f"{n:064x}",
            "duration_ms": 15_000,
            "language": "en-US",
            "territory": "US",
            "use": "advertising",
            "medium": "tv",
        }
        for n in range(80)
    ]
    response = bob.request.post(
        live_server.url + "/api/v1/works/bulk",
        data={"works": works},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "loop-1"},
    )
    assert response.status == 201, response.text()

    # A month later the operator closes the month: statements, invoices, payouts. This
    # process travels, live server included, and its clock ticks on from there while the
    # pages load; Chromium keeps its own clock, to which the cookies the server now dates
    # a month on are simply fresh.
    month = timezone.localdate().replace(day=1)
    later = timezone.now() + timedelta(days=32)
    with time_machine.travel(later, tick=True):
        olive = person(browser, live_server, "olive@example.com")  # sessions lapsed meanwhile
        olive.goto("/operations/payments/")
        olive.fill("#month-end input[name=month]", f"{month:%Y-%m}")
        olive.click("#month-end button:has-text('Close, invoice and pay')")
        olive.wait_for_selector(f"text={month:%Y-%m} closed: 1 invoices")
        invoice = Invoice.objects.get()
        assert invoice.amount == 6_000

        bob = person(browser, live_server, "bob@example.com")
        bob.goto("/brands/bobcat/billing/")
        assert "6000 USD" in bob.inner_text(f"#invoice-{invoice.number}")
        assert "open" in bob.inner_text(f"#invoice-{invoice.number}").lower()

        olive.fill(f"#invoice-{invoice.number} input[name=reference]", "BANK-0043")
        olive.click(f"#invoice-{invoice.number} button:has-text('Mark paid')")
        olive.wait_for_selector(f"text=Invoice {invoice.number} settled.")
        payout = Payout.objects.get()
        olive.fill(f"#payout-{payout.pk} input[name=reference]", "SEPA-0044")
        olive.click(f"#payout-{payout.pk} button:has-text('Record as paid')")
        olive.wait_for_selector("text=Payout to Alice Avery recorded.")
        bob.goto("/brands/bobcat/billing/")
        assert "paid" in bob.inner_text(f"#invoice-{invoice.number}").lower()

        # The performer sees the payout, and her statements agree with it.
        performer = person(browser, live_server, "alice@example.com")
        performer.goto("/studio/payouts/")
        history = performer.inner_text("#history")
        assert "SEPA-0044" in history and f"{payout.amount} USD" in history
        payee = Payee.objects.get()
        performer.goto(f"/statements/{payee.pk}/{month:%Y-%m}/USD/")
        closing = int(performer.inner_text("#closing"))
        lines = sum(int(x) for x in performer.locator("#lines td.amount").all_inner_texts())
        following = later.date().replace(day=1)
        performer.goto(f"/statements/{payee.pk}/{following:%Y-%m}/USD/")
        opening = int(performer.inner_text("#opening"))
        paid_out = int(performer.inner_text("#payouts"))
        after = int(performer.inner_text("#closing"))

    stored = Statement.objects.get(payee=payee)
    # fee 45000 (after 10%) + 90% of 16000 royalties
    assert payout.amount == 45_000 + 14_400
    assert closing == lines == stored.closing == payout.amount
    assert opening == closing and paid_out == payout.amount and after == 0
    payable = Posting.objects.filter(
        account__kind=Account.Kind.PAYEE_PAYABLE, account__payee=payee
    ).aggregate(t=Sum("amount"))["t"]
    assert payable == 0
    assert Posting.objects.aggregate(t=Sum("amount"))["t"] == 0
