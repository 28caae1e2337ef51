"""Recording works: checks, pricing, ledger, receipts, log, idempotency, void, lookup."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from licensing.models import License
from royalties.models import Account, JournalEntry, Posting, Work, WorkAttempt
from tests.royalties.helpers import work
from transparency.models import LogEntry
from verifier.jws import keys_from_jwks, verify_jws

pytestmark = pytest.mark.django_db


def client(key: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return c


def bulk(key: str, works: list[dict[str, Any]], idem: str = "k1") -> Any:
    return client(key).post(
        "/api/v1/works/bulk", {"works": works}, format="json", HTTP_IDEMPOTENCY_KEY=idem
    )


def assert_ledger_balanced() -> None:
    for entry in JournalEntry.objects.all():
        assert entry.postings.aggregate(s=Sum("amount"))["s"] == 0, entry


def test_a_work_is_priced_posted_receipted_and_logged(license_: License, bob_key: str) -> None:
    response = client(bob_key).post(
        f"/api/v1/licenses/{license_.license_id}/works",
        work(n=1, duration_ms=30_000, declared_revenue=10_000),
        format="json",
        HTTP_IDEMPOTENCY_KEY="one",
    )
    assert response.status_code == 201, response.content
    result = response.json()["results"][0]
    # 200 per work + 0.125 * 30 s = 3.75 + 1.5% of 10000 = 150 -> 353.75 -> 354
    assert (result["status"], result["price"], result["currency"]) == ("recorded", 354, "USD")
    jwks = APIClient().get("/.well-known/jwks.json").json()
    _, receipt, _ = verify_jws(
        result["receipt"], keys_from_jwks(jwks), expected_typ="timbre-receipt+jws"
    )
    assert receipt["work_id"] == result["work_id"] and receipt["log_index"] == str(
        result["log_index"]
    )
    assert receipt["content_sha256"] == f"{1:064x}"
    logged = json.loads(bytes(LogEntry.objects.get(index=result["log_index"]).data))
    assert logged["type"] == "work.recorded" and logged["work_id"] == result["work_id"]
    assert_ledger_balanced()
    # The advance (1000) covers it: the brand owes nothing yet; the payee earned 354 - 10% fee.
    receivable = Account.objects.get(kind="brand_receivable")
    assert Posting.objects.filter(account=receivable).aggregate(s=Sum("amount"))["s"] in (None, 0)
    payable = Account.objects.get(kind="payee_payable")
    assert payable.postings.aggregate(s=Sum("amount"))["s"] == -(354 - 35)


def test_a_bulk_request_answers_per_item_and_records_refusals(
    license_: License, bob_key: str
) -> None:
    lid = license_.license_id
    works = [
        work(lid, 1),
        work(lid, 2, territory="FR"),
        work(lid, 3, use="audiobook"),
        work(lid, 4, language="fr-FR"),
        work(lid, 5, medium="radio"),
        work("lic_nope", 6),
        work(lid, 1),  # same client_ref as the first
        work(lid, 7, duration_ms=3_600_000),  # over the seconds cap with the others
    ]
    response = bulk(bob_key, works)
    assert response.status_code == 201, response.content
    reasons = [r.get("reason") for r in response.json()["results"]]
    assert reasons == [
        None,
        "territory_not_licensed",
        "use_not_licensed",
        "language_not_licensed",
        "medium_not_licensed",
        "license_not_found",
        "duplicate_work",
        "seconds_cap_exceeded",
    ]
    assert Work.objects.count() == 1
    assert WorkAttempt.objects.count() == 7
    assert set(WorkAttempt.objects.values_list("reason", flat=True)) >= {
        "territory_not_licensed",
        "license_not_found",
    }


def test_a_retry_with_the_same_key_returns_the_same_answer_and_records_nothing(
    license_: License, bob_key: str
) -> None:
    works = [work(license_.license_id, n) for n in range(5)]
    first = bulk(bob_key, works, idem="batch-7")
    again = bulk(bob_key, works, idem="batch-7")
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert (
        Work.objects.count() == 5
        and LogEntry.objects.filter(event_type="work.recorded").count() == 5
    )
    other = bulk(bob_key, works[:2], idem="batch-7")
    assert other.status_code == 400 and "different request" in other.json()["detail"]


def test_requests_without_a_key_or_with_malformed_works_change_nothing(
    license_: License, bob_key: str
) -> None:
    no_key = client(bob_key).post(
        "/api/v1/works/bulk", {"works": [work(license_.license_id)]}, format="json"
    )
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["errors"]
    bad = bulk(
        bob_key,
        [
            work(license_.license_id, 1),
            work(license_.license_id, 2, content_sha256="xyz", duration_ms=-1),
        ],
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"works[1].content_sha256", "works[1].duration_ms"}
    empty = bulk(bob_key, [])
    assert empty.status_code == 400
    assert Work.objects.count() == 0 and WorkAttempt.objects.count() == 0


def test_caps_on_works(voice: Any, brand_bob: Any, operator: Any, bob_key: str) -> None:
    from tests.royalties.helpers import issue

    lic = issue(
        voice, brand_bob, operator, terms={"max_works": 3}, media=["tv"], languages=["en-US"]
    )
    response = bulk(bob_key, [work(lic.license_id, n) for n in range(5)])
    reasons = [r.get("reason") for r in response.json()["results"]]
    assert reasons == [None, None, None, "works_cap_exceeded", "works_cap_exceeded"]
    # Resent under a new key once the license is full, the works recorded already say so.
    again = bulk(bob_key, [work(lic.license_id, n) for n in range(5)], idem="k2")
    reasons = [r.get("reason") for r in again.json()["results"]]
    assert reasons == ["duplicate_work"] * 3 + ["works_cap_exceeded"] * 2


def test_a_revoked_license_records_nothing(license_: License, bob_key: str) -> None:
    from licensing import services as licensing

    licensing.license_revoke(actor=license_.voice.performer.user, license=license_, reason="breach")
    response = bulk(bob_key, [work(license_.license_id, 1)])
    assert response.status_code == 422
    assert response.json()["results"][0]["reason"] == "license_revoked"


def test_another_brand_cannot_record_under_the_license(license_: License, brand_hank: Any) -> None:
    from registry import services as registry_services

    hank_key = registry_services.api_key_create(
        actor=brand_hank, owner=brand_hank.brand_memberships.get().brand, name="k"
    )[1]
    response = bulk(hank_key, [work(license_.license_id, 1)])
    assert response.json()["results"][0]["reason"] == "license_not_found"
    assert client(hank_key).get("/api/v1/works").json()["results"] == []


def test_voiding_a_work_reverses_it(license_: License, bob_key: str) -> None:
    result = bulk(bob_key, [work(license_.license_id, n) for n in range(3)]).json()["results"]
    work_id = result[0]["work_id"]
    voided = client(bob_key).post(f"/api/v1/works/{work_id}/void")
    assert voided.status_code == 200 and voided.json()["voided_at"]
    again = client(bob_key).post(f"/api/v1/works/{work_id}/void")
    assert again.status_code == 400
    assert_ledger_balanced()
    assert license_.usage.works == 2
    payable = Account.objects.get(kind="payee_payable")
    totals = payable.postings.aggregate(works=Sum("works"), amount=Sum("amount"))
    assert totals["works"] == 2


def test_a_work_booked_before_entries_kept_their_split_is_voided_as_it_was_booked(
    license_: License, bob_key: str, performer_alice: Any
) -> None:
    from django.db import connection

    from royalties import ledger
    from royalties.splits import Share, voice_splits_set

    [recorded] = bulk(bob_key, [work(license_.license_id, 1)]).json()["results"]
    booked = Work.objects.get(work_id=recorded["work_id"]).entry
    first_payee = Account.objects.get(kind="payee_payable").payee
    # As entries were before they kept the split they were made with.
    trigger = "royalties_entry_append_only"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The ledger refuses UPDATE; the deferred balance checks fire first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE royalties_journalentry DISABLE TRIGGER {trigger}")
        JournalEntry.objects.filter(pk=booked.pk).update(split=None)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE royalties_journalentry ENABLE TRIGGER {trigger}")
    # The voice's split changes before the void: the void must not follow it.
    voice_splits_set(
        actor=performer_alice.user,
        voice=license_.voice,
        shares=[Share("performer", "Alice", 5000), Share("agent", "New Agency", 5000)],
    )
    assert client(bob_key).post(f"/api/v1/works/{recorded['work_id']}/void").status_code == 200
    for account in Account.objects.exclude(kind__in=["cash", "advance"]):
        assert ledger.balance(account) == 0, account
    assert ledger.balance(Account.objects.get(kind="payee_payable", payee=first_payee)) == 0
    assert_ledger_balanced()


def test_is_this_clip_licensed(license_: License, bob_key: str) -> None:
    bulk(bob_key, [work(license_.license_id, 9)])
    APIClient().get("/api/v1/log/checkpoint")
    found = APIClient().get(f"/api/v1/works/by-hash/{9:064x}").json()
    assert found["licensed"] is True
    match = found["matches"][0]
    assert match["license_id"] == license_.license_id and match["inclusion"]["proof"] is not None
    assert APIClient().get(f"/api/v1/works/by-hash/{8:064x}").json() == {
        "content_sha256": f"{8:064x}",
        "licensed": False,
        "matches": [],
    }
    assert APIClient().get("/api/v1/works/by-hash/nothex").status_code == 400


def test_huge_numbers_and_deep_json_are_refused_cleanly(license_: License, bob_key: str) -> None:
    too_big = bulk(
        bob_key, [work(license_.license_id, 1, characters=10**30, declared_revenue=10**30)]
    )
    assert too_big.status_code == 400
    assert set(too_big.json()["errors"]) == {"works[0].characters", "works[0].declared_revenue"}
    deep = client(bob_key).post(
        "/api/v1/works/bulk",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep",
    )
    assert deep.status_code == 400 and deep.json()["type"] == "/problems/malformed-request"
    verify = APIClient().post(
        "/api/v1/verify", data="[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert verify.status_code == 400
    assert Work.objects.count() == 0


def test_an_idempotency_key_is_bound_to_its_endpoint(
    voice: Any, brand_bob: Any, operator: Any, license_: License, bob_key: str
) -> None:
    from tests.royalties.helpers import issue

    other = issue(voice, brand_bob, operator, media=["tv"], languages=["en-US"])
    body = work(n=1)
    first = client(bob_key).post(
        f"/api/v1/licenses/{license_.license_id}/works",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    second = client(bob_key).post(
        f"/api/v1/licenses/{other.license_id}/works",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert first.status_code == 201 and second.status_code == 400
    assert "different request" in second.json()["detail"]
