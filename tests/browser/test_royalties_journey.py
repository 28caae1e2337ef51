"""Works recorded through the API show up for the performer; statements agree everywhere."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from core.months import month_start
from registry import services as registry_services
from royalties.models import Payee, Statement
from royalties.statements import period_close
from tests import factories as f
from tests.browser.helpers import person
from tests.royalties.helpers import issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_works_earnings_and_a_closed_statement(browser: Any, live_server: Any) -> None:
    alice = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=alice, display_name="Alice Warm", slug="alice-warm")
    bob = f.MembershipFactory(
        brand__name="Bobcat Audio", user__email="bob@example.com", role="owner"
    ).user
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    lic = issue(
        voice,
        bob,
        operator,
        terms={"per_work": 250, "per_second": "0.5", "minimum_guarantee": 0},
        media=["tv"],
        languages=["en-US"],
    )
    key = registry_services.api_key_create(
        actor=bob, owner=bob.brand_memberships.get().brand, name="k"
    )[1]

    # The brand's pipeline records works through the API, from a browser context.
    api = browser.new_context(base_url=live_server.url)
    works = [
        {
            "license_id": lic.license_id,
            "client_ref": f"spot-{n}",
            "content_sha256": f"{n:064x}",
            "duration_ms": 20_000 + n,
            "language": "en-US",
            "territory": "US",
            "use": "advertising",
            "medium": "tv",
            "title": f"Spot {n}",
        }
        for n in range(12)
    ]
    response = api.request.post(
        live_server.url + "/api/v1/works/bulk",
        data={"works": works},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "browser-batch-1"},
    )
    assert response.status == 201, response.text()
    assert response.json()["recorded"] == 12

    # The performer sees the works and the chart.
    performer = person(browser, live_server, "alice@example.com")
    performer.goto("/studio/works/")
    assert performer.locator("#works code").count() == 12
    performer.goto("/studio/earnings/")
    assert performer.locator("#by-month svg rect.bar").count() == 1
    assert performer.locator("#by-voice").inner_text().count("Alice Warm") >= 1

    # The month ends and is closed.
    this_month = month_start(timezone.localdate())
    next_month = timezone.now() + timedelta(days=32)
    with time_machine.travel(next_month, tick=False):
        period_close(month=this_month)
    stored = Statement.objects.get()
    payee = Payee.objects.get()

    base = f"/statements/{payee.pk}/{this_month:%Y-%m}/USD"
    performer.goto(base + "/")
    assert "frozen" in performer.inner_text(".byline")
    page_closing = int(performer.inner_text("#closing"))
    page_lines = sum(int(x) for x in performer.locator("#lines td.amount").all_inner_texts())

    csv_text = performer.request.get(live_server.url + base + ".csv").text()
    rows = list(csv.reader(io.StringIO(csv_text)))
    csv_closing = int(next(r[1] for r in rows if r and r[0] == "closing"))
    pdf = performer.request.get(live_server.url + base + ".pdf").body()
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)

    assert page_closing == csv_closing == stored.closing == page_lines
    assert f"Closing balance: {stored.closing:,} USD" in pdf_text
    # 12 works of 250 + 0.5/s * ~20 s = 260 each (the odd ms rounds half up): 12 * 260 gross
    assert (
        sum(int(r[4]) for r in rows if len(r) == 6 and r[5] == "recorded")
        == stored.lines[0]["gross"]
    )
    api.close()
