"""Statements: computed from the ledger, frozen at period close; page, CSV and PDF agree."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from pypdf import PdfReader

from licensing.models import License
from royalties import services
from royalties.models import Payee, Period, Statement
from royalties.statements import compute, period_close
from royalties.tasks import period_close_previous
from tests import factories as f
from tests.royalties.helpers import issue

pytestmark = pytest.mark.django_db

LAST_MONTH = date(2026, 10, 1)
IN_LAST_MONTH = datetime(2026, 10, 15, 12, tzinfo=UTC)


def record(lic: Any, brand: Any, n: int, *, at: datetime | None = None, start: int = 0) -> None:
    items = [
        services.WorkInput(
            license_id=lic.license_id,
            client_ref=f"{lic.license_id}-{start + i}",
            content_sha256=f"{start + i:064x}",
            duration_ms=12_345,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for i in range(n)
    ]
    with transaction.atomic():
        services.works_record(brand=brand, items=items, now=at)


@pytest.fixture
def setup(voice: Any, brand_bob: Any, operator: Any) -> dict[str, Any]:
    lic = issue(
        voice,
        brand_bob,
        operator,
        terms={
            "per_work": 101,
            "per_second": "0.333333",
            "minimum_guarantee": 500,
            "max_works": 50,
        },
        media=["tv"],
        languages=["en-US"],
        valid_from=date(2026, 9, 1),
    )
    brand = brand_bob.brand_memberships.get().brand
    record(lic, brand, 7, at=IN_LAST_MONTH)
    return {"license": lic, "brand": brand, "payee": Payee.objects.get()}


def test_a_statement_adds_up_from_its_lines(setup: dict[str, Any]) -> None:
    data = compute(setup["payee"], LAST_MONTH, "USD")
    (line,) = data.lines
    # each work: 101 + 0.333333 * 12.345 s = 105.11... -> 105; 7 works
    assert (line["works"], line["gross"]) == (7, 7 * 105)
    assert line["recouped"] == 500  # the advance covers the first 500
    # The fee is split off each work's price on its own (10% of 105 is 10.5: the payee
    # wins the tie), so a void can take exactly one work's part back.
    assert line["fee"] == 7 * 10
    assert line["amount"] == line["gross"] - line["fee"]
    assert data.earnings == sum(x["amount"] for x in data.lines)
    assert (data.opening, data.payouts, data.closing) == (0, 0, data.earnings)


def test_closing_a_period_freezes_its_statements(setup: dict[str, Any]) -> None:
    period = period_close(month=LAST_MONTH)
    stored = Statement.objects.get(period=period)
    assert stored.closing == stored.opening + stored.earnings - stored.payouts
    assert period_close(month=LAST_MONTH).closed_at == period.closed_at  # safe to run twice
    assert Statement.objects.count() == 1
    # New works land in the open month, never in the frozen one.
    record(setup["license"], setup["brand"], 2, start=100)
    assert Statement.objects.get(period=period).earnings == stored.earnings
    assert compute(setup["payee"], date.today().replace(day=1), "USD").opening == stored.closing
    with pytest.raises(ValueError, match="has not ended"):
        period_close(month=date.today())


def test_the_minimum_guarantee_is_trued_up_when_the_term_ends(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    lic = issue(
        voice,
        brand_bob,
        operator,
        terms={"per_work": 10, "minimum_guarantee": 10_000},
        media=["tv"],
        languages=["en-US"],
        valid_from=date(2026, 9, 1),
    )
    record(lic, brand_bob.brand_memberships.get().brand, 3, at=IN_LAST_MONTH)
    # Time passes: the term ended on 20 October.
    License.objects.filter(pk=lic.pk).update(valid_until=date(2026, 10, 20))
    period_close(month=LAST_MONTH)
    stored = Statement.objects.get()
    # 3 works of 12 (10 + 0.125/s for 12.345 s) recouped 36; the remaining 9,964 of the
    # guarantee is earned at term end.
    assert sum(line["gross"] for line in stored.lines) == 10_000
    # After the 10% fee, split off each work (1 of 12) and off the true-up (996 of 9,964).
    assert sum(line["fee"] for line in stored.lines) == 3 * 1 + 996
    assert stored.earnings == 10_000 - 999
    lic.usage.refresh_from_db()
    assert lic.usage.advance_left == 0 and lic.usage.advance_released


def test_page_csv_and_pdf_agree_to_the_minor_unit(setup: dict[str, Any], client: Client) -> None:
    period_close(month=LAST_MONTH)
    client.force_login(setup["license"].voice.performer.user)
    base = f"/statements/{setup['payee'].pk}/2026-10/USD"
    page = client.get(base + "/").content.decode()
    stored = Statement.objects.get()
    assert f'<dd id="closing">{stored.closing}</dd>' in page and "frozen" in page

    rows = list(
        csv.reader(io.StringIO(b"".join(client.get(base + ".csv").streaming_content).decode()))
    )
    values = {r[0]: r[1] for r in rows if len(r) == 2}
    assert int(values["closing"]) == stored.closing and int(values["earnings"]) == stored.earnings
    details = [r for r in rows if len(r) == 6 and r[5] in ("recorded", "voided")]
    assert len(details) == 7
    assert sum(int(r[4]) for r in details) == stored.lines[0]["gross"]

    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(client.get(base + ".pdf").content)).pages
    )
    assert f"Closing balance: {stored.closing:,} USD" in text
    assert f"Earnings: {stored.earnings:,} USD" in text


def test_statements_are_private_to_the_payees_side(
    setup: dict[str, Any], client: Client, performer_dave: Any, brand_bob: Any
) -> None:
    base = f"/statements/{setup['payee'].pk}/2026-10/USD/"
    for outsider in (performer_dave.user, brand_bob):
        client.force_login(outsider)
        assert client.get(base).status_code == 404
        assert client.get(base.rstrip("/") + ".csv").status_code == 404


def test_the_earnings_page_charts_months_and_voices(setup: dict[str, Any], client: Client) -> None:
    client.force_login(setup["license"].voice.performer.user)
    page = client.get("/studio/earnings/").content.decode()
    assert "<svg" in page and "Oct 2026" in page and "Alice Warm" in page
    works = client.get("/studio/works/", {"month": "2026-10"}).content.decode()
    assert works.count("<code>wrk_") == 7
    assert client.get("/studio/works/", {"month": "nope"}).status_code == 404


def test_the_brand_sees_usage_against_caps_and_what_it_owes(
    setup: dict[str, Any], client: Client, brand_bob: Any
) -> None:
    client.force_login(brand_bob)
    page = client.get(f"/brands/{setup['brand'].slug}/usage/").content.decode()
    assert "7 / 50" in page
    # 7 * 105 = 735 royalties, 500 covered by the advance: 235 owed
    assert "<strong>235</strong> USD" in page


def test_the_beat_task_closes_last_month_once() -> None:
    f.PerformerFactory()
    first = period_close_previous()
    assert period_close_previous() == first
    assert Period.objects.filter(closed_at__isnull=False).count() == 1


def test_nothing_is_posted_into_a_closed_month(setup: dict[str, Any]) -> None:
    from royalties.ledger import ClosedPeriod

    period_close(month=LAST_MONTH)
    with pytest.raises(ClosedPeriod, match="2026-10 is closed"):
        record(setup["license"], setup["brand"], 1, at=IN_LAST_MONTH, start=500)
    assert Statement.objects.get().earnings == compute(setup["payee"], LAST_MONTH, "USD").earnings
