"""Random sequences of recording and voiding: the ledger's invariants hold after every step."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import date
from typing import Any

import pytest
import time_machine
from django.db import transaction

from royalties import ledger, services
from royalties.models import Account, LicenseUsage, Posting, Work
from tests.royalties.helpers import issue

pytestmark = pytest.mark.django_db


def check_invariants() -> None:
    per_currency: dict[str, int] = defaultdict(int)
    by_entry: dict[int, int] = defaultdict(int)
    by_account: dict[int, int] = defaultdict(int)
    for entry_id, account_id, amount, currency in Posting.objects.values_list(
        "entry_id", "account_id", "amount", "entry__currency"
    ):
        by_entry[entry_id] += amount
        by_account[account_id] += amount
        per_currency[currency] += amount
    assert all(total == 0 for total in by_entry.values()), "every entry balances"
    assert all(total == 0 for total in per_currency.values()), "postings sum to zero per currency"
    for acct in Account.objects.all():
        assert ledger.balance(acct) == by_account.get(acct.pk, 0), acct
    for usage in LicenseUsage.objects.all():
        live = Work.objects.filter(license=usage.license, voided_at__isnull=True)
        assert usage.works == live.count()
        assert usage.milliseconds == sum(live.values_list("duration_ms", flat=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recording_and_voiding_keep_the_ledger_whole(
    seed: int, voice: Any, brand_bob: Any, operator: Any
) -> None:
    rng = random.Random(seed)
    brand = brand_bob.brand_memberships.get().brand
    licenses = [
        issue(
            voice,
            brand_bob,
            operator,
            terms={
                "per_work": rng.randrange(0, 500),
                "per_second": "0.333333",
                "minimum_guarantee": rng.randrange(0, 3000),
                "revenue_share_bps": rng.randrange(0, 2000),
                "max_works": 60,
            },
            media=["tv"],
            languages=["en-US"],
        )
        for _ in range(2)
    ]
    serial = 0
    for _step in range(40):
        action = rng.random()
        if action < 0.7:
            items = []
            for _ in range(rng.randrange(1, 8)):
                serial += 1
                items.append(
                    services.WorkInput(
                        license_id=rng.choice(licenses).license_id,
                        client_ref=f"w{serial}",
                        content_sha256=f"{serial:064x}",
                        duration_ms=rng.randrange(1, 120_000),
                        language="en-US",
                        territory=rng.choice(["US", "US", "FR"]),
                        use="advertising",
                        medium="tv",
                        declared_revenue=rng.randrange(0, 100_000),
                    )
                )
            with transaction.atomic():
                services.works_record(brand=brand, items=items)
        else:
            live = list(
                Work.objects.filter(voided_at__isnull=True).values_list("work_id", flat=True)
            )
            if live:
                services.work_void(brand=brand, work_id=rng.choice(live))
        check_invariants()
    assert Work.objects.exists()


@pytest.mark.parametrize("seed", [7, 8])
def test_months_of_recording_voiding_and_closing_keep_the_ledger_whole(
    seed: int, voice: Any, brand_bob: Any, operator: Any
) -> None:
    """The same invariants across simulated months, closing each one as it ends."""
    from datetime import UTC, datetime, timedelta

    from core.months import month_start, next_month
    from royalties.models import Statement
    from royalties.statements import period_close

    rng = random.Random(seed)
    brand = brand_bob.brand_memberships.get().brand
    with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC), tick=False):
        lic = issue(
            voice,
            brand_bob,
            operator,
            terms={
                "per_work": 120,
                "per_second": "0.25",
                "minimum_guarantee": 5000,
                "max_works": 500,
            },
            media=["tv"],
            languages=["en-US"],
            valid_from=date(2026, 1, 1),
        )
    clock = datetime(2026, 1, 6, tzinfo=UTC)
    serial = 0
    closed: list[Any] = []
    for _step in range(60):
        clock += timedelta(hours=rng.randrange(1, 72))
        with time_machine.travel(clock, tick=False):
            action = rng.random()
            if action < 0.6:
                items = []
                for _ in range(rng.randrange(1, 5)):
                    serial += 1
                    items.append(
                        services.WorkInput(
                            license_id=lic.license_id,
                            client_ref=f"m{serial}",
                            content_sha256=f"{serial:064x}",
                            duration_ms=rng.randrange(1, 90_000),
                            language="en-US",
                            territory="US",
                            use="advertising",
                            medium="tv",
                        )
                    )
                with transaction.atomic():
                    services.works_record(brand=brand, items=items)
            elif action < 0.85:
                recent = list(
                    Work.objects.filter(
                        voided_at__isnull=True, recorded_at__gte=clock - timedelta(hours=24)
                    ).values_list("work_id", flat=True)
                )
                if recent:
                    services.work_void(brand=brand, work_id=rng.choice(recent))
            else:
                last = month_start(month_start(clock.date()) - timedelta(days=1))
                if last >= date(2026, 1, 1) and last not in closed:
                    period_close(month=last)
                    closed.append(last)
        check_invariants()
    assert closed, "the sequence closed at least one month"
    assert Work.objects.count() > 20 and Work.objects.filter(voided_at__isnull=False).exists()
    # Each frozen statement still adds up, and follows on from the one before it.
    statements = list(Statement.objects.order_by("period__month"))
    months = sorted({s.period.month for s in statements})
    assert months[-1] == max(closed)
    assert all(b == next_month(a) for a, b in itertools.pairwise(months)), "none skipped"
    for before, after in itertools.pairwise(statements):
        assert after.opening == before.closing
    for s in statements:
        assert s.closing == s.opening + s.earnings - s.payouts
        assert s.earnings == sum(line["amount"] for line in s.lines)
