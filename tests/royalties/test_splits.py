"""Splits among payees: set on a page, applied to new works, exact to the minor unit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import Client

from royalties import services
from royalties.models import Account, Payee, VoiceSplit

pytestmark = pytest.mark.django_db


def test_a_performer_splits_royalties_with_agents_and_not_with_a_union_fund(
    license_: Any, client: Client, performer_dave: Any
) -> None:
    voice = license_.voice
    client.force_login(voice.performer.user)
    bad = client.post(
        f"/studio/voices/{voice.slug}/splits/", {"shares": "performer, Alice, 80\nagent, Gina, 30"}
    )
    assert "they add up to 110%" in bad.content.decode()
    assert not VoiceSplit.objects.exists()
    # A union's pension and health is charged to brands on top of the price, by the
    # union agreement an offer follows: never carved out of the performer's share.
    union = client.post(
        f"/studio/voices/{voice.slug}/splits/",
        {"shares": "performer, Alice Avery, 85\nagent, Gina Agency, 12.5\nunion, P&H, 2.5"},
    )
    assert "is not a payee kind here (performer, agent)" in union.content.decode()
    assert not VoiceSplit.objects.exists()
    ok = client.post(
        f"/studio/voices/{voice.slug}/splits/",
        {
            "shares": "performer, Alice Avery, 85\n"
            "agent, Gina Agency, 12.5\nagent, Marlow Management, 2.5"
        },
    )
    assert ok.status_code == 302
    assert sorted(VoiceSplit.objects.values_list("bps", flat=True)) == [250, 1250, 8500]

    with transaction.atomic():
        services.works_record(
            brand=license_.brand,
            items=[
                services.WorkInput(
                    license_id=license_.license_id,
                    client_ref=f"s{n}",
                    content_sha256=f"{n:064x}",
                    duration_ms=7_777,
                    language="en-US",
                    territory="US",
                    use="advertising",
                    medium="tv",
                )
                for n in range(3)
            ],
        )
    shares = {
        p.name: -(
            Account.objects.get(kind="payee_payable", payee=p).postings.aggregate(s=Sum("amount"))[
                "s"
            ]
        )
        for p in Payee.objects.all()
    }
    fee = -Account.objects.get(kind="platform_revenue").postings.aggregate(s=Sum("amount"))["s"]
    gross = sum(license_.works.values_list("price", flat=True))
    assert sum(shares.values()) + fee == gross  # not a minor unit created or lost
    assert shares["Alice Avery"] > shares["Gina Agency"] > shares["Marlow Management"] > 0

    client.force_login(performer_dave.user)
    assert client.get(f"/studio/voices/{voice.slug}/splits/").status_code == 404


def test_odd_percentages_and_months_are_refused_cleanly(license_: Any, client: Client) -> None:
    voice = license_.voice
    client.force_login(voice.performer.user)
    page = client.post(f"/studio/voices/{voice.slug}/splits/", {"shares": "performer, X, NaN"})
    assert page.status_code == 200 and "is not a percentage" in page.content.decode()
    for month in ("99999999999999999999-1", "2026-11\n", "2026-13", "26-1"):
        assert client.get("/studio/works/", {"month": month}).status_code == 404
