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
from tests.royalties.helpers import issue, work

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
