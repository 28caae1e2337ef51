"""Usage reports per license and month (CSV and JSON): for the license's brand, the
performer's side, and auditors the performer granted; nobody else."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from registry import services as registry_services
from royalties.services import work_void
from tests.royalties.helpers import record_one

pytestmark = pytest.mark.django_db


def _key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _usage(client: Any, license_id: str, fmt: str = "json", month: str | None = None) -> Any:
    month = month or f"{timezone.now():%Y-%m}"
    return client.get(f"/api/v1/licenses/{license_id}/usage/{month}.{fmt}")


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_brand_reads_its_usage_as_csv_and_json(license_: Any, bob_key: str) -> None:
    first = record_one(license_, '=HYPERLINK("http://evil")')
    second = record_one(license_, "spot-2")
    work_void(brand=license_.brand, work_id=second.work_id)
    client = _key_client(bob_key)

    response = _usage(client, license_.license_id, "csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response).decode())))
    assert [r["WorkId"] for r in rows] == [first.work_id, second.work_id]
    row = rows[0]
    assert row["MessageNotificationPeriod"] == f"{timezone.now():%Y-%m}"
    assert row["DspResourceId"].startswith("'="), "a formula is never left to run"
    assert row["Currency"] == "USD" and row["Price"] == f"{first.price / 100:.2f}"
    assert row["Duration"] == "PT1.000S" and row["DurationMs"] == "1000"
    assert row["DurationSource"] == "declared" and row["Status"] == "recorded"
    assert row["ReceiptSha256"] == hashlib.sha256(first.receipt.encode()).hexdigest()
    assert rows[1]["Status"] == "voided" and rows[1]["VoidedAt"].endswith("Z")

    data = _usage(client, license_.license_id, "json")
    assert data["Content-Type"] == "application/json"
    import json

    report = json.loads(_body(data))
    assert report["license_id"] == license_.license_id
    assert [w["WorkId"] for w in report["works"]] == [first.work_id, second.work_id]
    assert report["works"][0]["LogIndex"] == first.log_index
    # Another month has no works, and is still a report.
    assert json.loads(_body(_usage(client, license_.license_id, month="2001-01")))["works"] == []
    early = json.loads(_body(_usage(client, license_.license_id, month="0001-01")))
    assert early["month"] == "0001-01"


def test_only_those_with_a_right_to_it_read_it(
    license_: Any, brand_hank: Any, auditor_ada: Any, performer_dave: Any
) -> None:
    record_one(license_, "spot-1")
    lid = license_.license_id
    hank_brand = brand_hank.brand_memberships.get().brand
    hank_key = registry_services.api_key_create(actor=brand_hank, owner=hank_brand, name="k")[1]
    assert _usage(_key_client(hank_key), lid).status_code == 404

    performer = license_.voice.performer
    alice = Client()
    alice.force_login(performer.user)
    assert _usage(alice, lid).status_code == 200
    dave = Client()
    dave.force_login(performer_dave.user)
    assert _usage(dave, lid).status_code == 404
    assert _usage(Client(), lid).status_code in (401, 403)

    ada_key = registry_services.api_key_create(
        actor=auditor_ada, owner=auditor_ada.auditor, name="audit"
    )[1]
    assert _usage(_key_client(ada_key), lid).status_code == 404, "no grant yet"
    grant = registry_services.audit_grant_give(
        actor=performer.user, performer=performer, auditor_email="ada@example.com"
    )
    assert _usage(_key_client(ada_key), lid).status_code == 200
    # The grant also opens the license's signed terms, for recomputing statements.
    assert _key_client(ada_key).get(f"/api/v1/licenses/{lid}/jws").status_code == 200
    registry_services.audit_grant_revoke(actor=performer.user, grant=grant)
    assert _usage(_key_client(ada_key), lid).status_code == 404
    assert _key_client(ada_key).get(f"/api/v1/licenses/{lid}/jws").status_code == 404


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ("2026-13.csv", "month"),
        ("9999-12.json", "month"),
        (".csv", "month"),
        ("2026-11%00.json", "month"),
        ("2026-11.xlsx", "report"),
        ("2026-11", "report"),
    ],
)
def test_bad_parameters_get_a_problem_naming_them(
    license_: Any, bob_key: str, report: str, field: str
) -> None:
    url = f"/api/v1/licenses/{license_.license_id}/usage/{report}"
    response = _key_client(bob_key).get(url)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("milliseconds", "expected"),
    [(0, "PT0.000S"), (30_000, "PT30.000S"), (65_250, "PT1M5.250S"), (3_600_000, "PT1H0M0.000S")],
)
def test_durations_are_written_as_dsr_writes_them(milliseconds: int, expected: str) -> None:
    from royalties.usage import iso_duration

    assert iso_duration(milliseconds) == expected


def test_the_brands_usage_page_links_this_months_report(license_: Any, brand_bob: Any) -> None:
    record_one(license_, "spot-1")
    client = Client()
    client.force_login(brand_bob)
    page = client.get(f"/brands/{license_.brand.slug}/usage/").content.decode()
    link = f"/api/v1/licenses/{license_.license_id}/usage/{timezone.now():%Y-%m}.csv"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200 and b"spot-1" in _body(response)
