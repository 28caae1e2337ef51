"""The money loop in a few calls: requests awaiting payment, works recorded, webhooks
delivered as Stripe signs them, a brand paying, a month closed, a payee onboarded; and
the ledger's balances to check them against."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from licensing import services as licensing
from licensing.models import License, LicenseRequest
from payments.models import ConnectedAccount, FeePayment
from royalties.models import Account, JournalEntry, Payee, Posting
from royalties.statements import period_close
from tests.licensing.helpers import offer_terms, request_input

WEBHOOK_SECRET = "whsec_timbre_tests"


def awaiting(voice: Any, brand_user: Any, **terms: Any) -> Any:
    """A request approved by the performer, awaiting the fee (and the guarantee)."""
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Campaign",
        offer_terms=offer_terms(**terms),
    )
    req = licensing.request_submit(
        actor=brand_user,
        brand=brand,
        offer=offer,
        data=request_input(media=["tv"], languages=["en-US"], territories=["US"]),
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    return req


def balances_are_sound() -> None:
    """Every entry sums to zero; nothing is out of balance overall."""
    for entry in JournalEntry.objects.prefetch_related("postings"):
        assert sum(p.amount for p in entry.postings.all()) == 0, entry.idempotency_key
    assert (Posting.objects.aggregate(t=Sum("amount"))["t"] or 0) == 0


def balance(kind: str, currency: str = "USD", **owner: Any) -> int:
    accounts = Account.objects.filter(kind=kind, currency=currency, **owner)
    return Posting.objects.filter(account__in=accounts).aggregate(t=Sum("amount"))["t"] or 0


def this_month() -> date:
    return timezone.now().date().replace(day=1)


def record(lic: Any, count: int, start: int = 0) -> list[Any]:
    """Record `count` 30-second TV spots under `lic` (the brand's pipeline)."""
    from django.db import transaction

    from royalties.services import WorkInput, works_record

    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=f"spot-{lic.pk}-{n}",
            content_sha256=f"{n:064x}",
            duration_ms=30_000,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for n in range(start, start + count)
    ]
    with transaction.atomic():
        return works_record(brand=lic.brand, items=items)


def deliver(
    client: Any,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    body: bytes | None = None,
    signature: str | None = "sign",
) -> Any:
    """POST an event to the webhook endpoint as Stripe does, signed for real."""
    from tests.payments.stripe_fake import encode_event, sign

    payload = encode_event(event) if body is None else body
    headers = {}
    if signature == "sign":
        signed = encode_event(event)
        headers["HTTP_STRIPE_SIGNATURE"] = sign(signed, secret, timestamp=timestamp)
    elif signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    # The event is processed by a task sent after the commit that stored it; the test's
    # transaction never commits, so run what would have run on commit.
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/payments/stripe/webhook", data=payload, content_type="application/json", **headers
        )


# --- the Stripe backend, driven through the fake -------------------------------------------


def pay(client: Client, brand_user: Any, req: LicenseRequest) -> FeePayment:
    """The brand clicks Pay: a Checkout Session opens."""
    client.force_login(brand_user)
    response = client.post(f"/brands/{req.brand.slug}/billing/pay/{req.pk}/")
    payment = FeePayment.objects.get(request=req, status="open")
    assert response.status_code == 302 and response["Location"] == payment.checkout_url
    return payment


def paid(client: Client, fake: Any, brand_user: Any, req: LicenseRequest) -> License:
    payment = pay(client, brand_user, req)
    assert deliver(client, fake.complete_checkout(payment.checkout_session_id)).status_code == 200
    return License.objects.get(request=req)


def closed_month_with_usage(
    client: Client, fake: Any, brand_bob: Any, req: LicenseRequest, next_month: Any
) -> tuple[License, Any]:
    lic = paid(client, fake, brand_bob, req)
    record(lic, 80)  # 16000 in royalties, 10000 of it from the advance
    month = this_month()
    next_month()
    period_close(month=month)
    return lic, month


def connected(client: Client, fake: Any, user: Any) -> ConnectedAccount:
    client.force_login(user)
    payee = payee_of(user)
    assert payee is not None
    response = client.post("/studio/payouts/connect/", {"payee": payee.pk})
    assert response.status_code == 302
    account = ConnectedAccount.objects.get(payee=payee)
    assert response["Location"].startswith("https://connect.stripe.test/")
    deliver(client, fake.account_ready(account.stripe_account_id))
    account.refresh_from_db()
    assert account.transfers_active
    return account


def payee_of(user: Any) -> Payee | None:
    """The payee a person is paid as."""
    return Payee.objects.filter(user=user).order_by("pk").first()
