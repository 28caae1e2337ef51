"""The ledger and caps under real concurrency, on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from rest_framework.test import APIClient

from royalties import ledger
from royalties.models import Account, JournalEntry, Posting, Work
from tests.royalties.helpers import issue, record_one, work

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def together(n: int, call: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i)
        except Exception as exc:  # the test inspects what each client met
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def post_bulk(key: str, works: list[dict[str, Any]], idem: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.post(
        "/api/v1/works/bulk", {"works": works}, format="json", HTTP_IDEMPOTENCY_KEY=idem
    )


def test_32_clients_race_for_the_last_10_slots(
    voice: Any, brand_bob: Any, operator: Any, bob_key: str
) -> None:
    lic = issue(
        voice, brand_bob, operator, terms={"max_works": 50}, media=["tv"], languages=["en-US"]
    )
    assert (
        post_bulk(bob_key, [work(lic.license_id, n) for n in range(40)], "fill").status_code == 201
    )

    responses = together(
        32, lambda i: post_bulk(bob_key, [work(lic.license_id, 100 + i)], f"race-{i}")
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [422] * 22, statuses
    refused = {r.json()["results"][0]["reason"] for r in responses if r.status_code == 422}
    assert refused == {"works_cap_exceeded"}
    assert Work.objects.filter(license=lic).count() == 50
    assert lic.usage.works == 50


def test_100_retries_of_one_bulk_request_record_it_once(license_: Any, bob_key: str) -> None:
    works = [work(license_.license_id, n) for n in range(20)]
    responses = together(16, lambda i: post_bulk(bob_key, works, "same-key"))
    responses += [post_bulk(bob_key, works, "same-key") for _ in range(84)]
    assert len(responses) == 100
    bodies = {str(r.json()) for r in responses}
    assert len(bodies) == 1, "every retry gets the first answer"
    assert all(r.status_code == 201 for r in responses)
    assert Work.objects.count() == 20


def test_the_database_refuses_to_change_or_delete_a_posting(license_: Any, bob_key: str) -> None:
    post_bulk(bob_key, [work(license_.license_id, 1)], "k")
    posting = Posting.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=posting.amount + 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=posting.entry_id).update(memo="rewritten")


def test_the_database_refuses_an_unbalanced_entry(license_: Any) -> None:
    cash = ledger.account(Account.Kind.CASH, "USD")
    with (
        pytest.raises((IntegrityError, DatabaseError), match="does not balance"),
        transaction.atomic(),
    ):
        entry = JournalEntry.objects.create(idempotency_key="bad", currency="USD", memo="bad")
        Posting.objects.create(entry=entry, account=cash, amount=5)
    assert not JournalEntry.objects.filter(idempotency_key="bad").exists()


def test_a_void_and_a_chargeback_on_one_license_never_deadlock(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    """Both lock the license's usage row before the license: a void that holds the usage
    row while a chargeback arrives makes the chargeback wait, never deadlock."""
    from unittest import mock

    from licensing import services as licensing
    from payments import fees, reversals
    from payments.models import FeePayment
    from royalties import advance
    from royalties.services import work_void
    from tests.licensing.helpers import offer_terms, request_input

    brand = brand_bob.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Race",
        offer_terms=offer_terms(
            upfront_fee=0, minimum_guarantee=3_000, per_work=200, revenue_share_bps=0
        ),
    )
    req = licensing.request_submit(
        actor=brand_bob,
        brand=brand,
        offer=offer,
        data=request_input(media=["tv"], languages=["en-US"], territories=["US"]),
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    lic = fees.fee_settle_manually(operator=operator, request=req, reference="BANK-1")
    FeePayment.objects.filter(license=lic).update(charge_id="ch_race")
    recorded = record_one(lic, "race")

    void_holds_usage = threading.Event()
    real_usage_locked = advance.usage_locked

    def usage_locked(license_: Any) -> Any:
        usage = real_usage_locked(license_)
        if threading.current_thread().name == "void":
            # Hold the usage row while the chargeback starts and takes what it can.
            void_holds_usage.set()
            threading.Event().wait(1.0)
        return usage

    errors: list[tuple[str, BaseException]] = []

    def run(name: str, call: Callable[[], Any]) -> None:
        try:
            with transaction.atomic():
                call()
        except BaseException as exc:
            errors.append((name, exc))
        finally:
            connection.close()

    dispute = {"id": "dp_race", "charge": "ch_race", "amount": 1_000, "status": "needs_response"}
    with mock.patch.object(advance, "usage_locked", usage_locked):
        void = threading.Thread(
            target=run,
            name="void",
            args=("void", lambda: work_void(brand=brand, work_id=recorded.work_id)),
        )
        chargeback = threading.Thread(
            target=run,
            name="chargeback",
            args=("chargeback", lambda: reversals.dispute_created(dispute, {})),
        )
        void.start()
        assert void_holds_usage.wait(10)
        chargeback.start()
        void.join(30)
        chargeback.join(30)
    assert errors == []
    assert FeePayment.objects.get(license=lic).disputed == 1_000
    assert Work.objects.get(work_id=recorded.work_id).voided_at is not None
