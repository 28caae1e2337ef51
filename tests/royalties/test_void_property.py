"""Voiding works leaves the books exactly as if they had never been recorded.

Two identical worlds (one in USD, one in EUR, so that even the platform's account is
their own) record the same batches of works at random prices, under a license with a
random minimum guarantee and a voice split among random payees at a random platform fee,
maybe under a union agreement at a random pension and health rate, maybe for a minor
performer with a random Coogan set-aside. In the first, a random subset of the works is
voided along the way; the second never records those works at all. Every account (the
brand's, the platform's, each payee's and its trust's, the union fund's, the license's
advance, cash) and the license's usage must then agree to the minor unit; and no minor
unit is created or lost: the brand pays the prices plus the pension and health, the
platform, the payees and their trusts earn the prices, the fund the pension and health.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.models import UnionAgreement, UnionMinimum
from registry.models import Performer
from royalties import advance, ledger, rules
from royalties.models import Account, LicenseUsage, Payee
from royalties.models import Work as WorkRow
from royalties.services import WorkInput, work_void, works_record
from royalties.splits import Share, voice_splits_set
from tests import factories as f
from tests.royalties.helpers import issue

pytestmark = pytest.mark.django_db

Work = tuple[int, int]  # (duration_ms, declared_revenue)

works = st.tuples(st.integers(1, 120_000), st.integers(0, 50_000))
batches = st.lists(st.lists(works, min_size=1, max_size=6), min_size=1, max_size=5)


def _weights_to_bps(weights: list[int]) -> list[int]:
    total = sum(weights)
    bps = [w * 10_000 // total for w in weights]
    bps[0] += 10_000 - sum(bps)
    return bps


class World:
    """A performer whose voice is split among payees, a brand, and one license."""

    def __init__(
        self,
        tag: str,
        currency: str,
        terms: dict[str, Any],
        split: list[int],
        *,
        union: UnionAgreement | None = None,
        minor: bool = False,
    ) -> None:
        self.currency = currency
        self.union = union
        performer = f.PerformerFactory(user__email=f"performer-{tag}@example.com")
        self.voice = f.VoiceFactory(performer=performer, display_name=f"Voice {tag}")
        shares = [
            Share("performer" if i == 0 else "agent", f"payee {i}", bps)
            for i, bps in enumerate(split)
        ]
        voice_splits_set(actor=performer.user, voice=self.voice, shares=shares)
        self.brand_user = f.MembershipFactory(
            brand__name=f"Brand {tag}", user__email=f"brand-{tag}@example.com", role="owner"
        ).user
        self.brand = self.brand_user.brand_memberships.get().brand
        operator = f.UserFactory(email=f"operator-{tag}@example.com", is_staff=True)
        self.license = issue(
            self.voice,
            self.brand_user,
            operator,
            terms={
                **terms,
                "currency": currency,
                "max_works": None,
                "max_seconds": None,
                "union_agreement": union.code if union is not None else "",
            },
            media=["tv"],
            languages=["en-US"],
        )
        if minor:
            # A minor when the works are booked: the performer's own share is set aside.
            Performer.objects.filter(pk=performer.pk).update(is_minor=True)
            self.voice.performer.refresh_from_db()
        # The guarantee is prepaid before any work, as payments book it at issue.
        with transaction.atomic():
            advance.usage_locked(self.license)
        self.recorded: list[str] = []
        self.refs = 0

    def record(self, batch: list[Work]) -> list[str]:
        items = []
        for duration_ms, revenue in batch:
            self.refs += 1
            items.append(
                WorkInput(
                    license_id=self.license.license_id,
                    client_ref=f"w-{self.refs}",
                    content_sha256=f"{self.refs:064x}",
                    duration_ms=duration_ms,
                    language="en-US",
                    territory="US",
                    use="advertising",
                    medium="tv",
                    declared_revenue=revenue,
                )
            )
        with transaction.atomic():
            outcomes = works_record(brand=self.brand, items=items)
        assert all(o.status == "recorded" for o in outcomes), outcomes
        ids = [str(o.work_id) for o in outcomes]
        self.recorded += ids
        return ids

    def books(self) -> dict[str, Any]:
        def balance(kind: str, **owner: Any) -> int:
            found = Account.objects.filter(kind=kind, currency=self.currency, **owner).first()
            return ledger.balance(found) if found is not None else 0

        payees = [s.payee for s in self.voice.splits.order_by("pk")]
        usage = LicenseUsage.objects.get(license=self.license)
        # The usage row always says what the advance account holds.
        assert usage.advance_left == -balance(Account.Kind.ADVANCE, license=self.license)
        fund = Payee.objects.filter(union_agreement=self.union).first() if self.union else None
        books = {
            "brand": balance(Account.Kind.BRAND_RECEIVABLE, brand=self.brand),
            "platform": balance(Account.Kind.PLATFORM_REVENUE),
            "payees": [balance(Account.Kind.PAYEE_PAYABLE, payee=p) for p in payees],
            "trusts": [balance(Account.Kind.MINOR_TRUST, payee=p) for p in payees],
            "fund": balance(Account.Kind.PAYEE_PAYABLE, payee=fund) if fund else 0,
            "advance": balance(Account.Kind.ADVANCE, license=self.license),
            "cash": balance(Account.Kind.CASH),
            "usage": (usage.works, usage.milliseconds, usage.advance_left),
        }
        # No minor unit created or lost: what the live works cost is exactly what the
        # brand and the advance paid, and exactly what everyone was credited.
        prices = list(
            WorkRow.objects.filter(license=self.license, voided_at__isnull=True).values_list(
                "price", flat=True
            )
        )
        rate = int(self.license.document["royalty"].get("union", {}).get("pension_health_bps", 0))
        pension_health = sum(rules.pension_health(p, rate) for p in prices)
        guarantee = int(self.license.document["royalty"]["minimum_guarantee"])
        used = guarantee - usage.advance_left
        assert books["brand"] + used == sum(prices) + pension_health
        earned = books["platform"] + sum(books["payees"]) + sum(books["trusts"])
        assert -earned == sum(prices)
        assert -books["fund"] == pension_health
        return books


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fee_bps=st.integers(0, 3_000),
    weights=st.lists(st.integers(1, 100), min_size=1, max_size=3),
    per_work=st.integers(0, 500),
    per_second=st.decimals(min_value=0, max_value=3, places=3),
    share_bps=st.integers(0, 2_000),
    guarantee=st.integers(0, 4_000),
    pension_health_bps=st.one_of(st.none(), st.integers(0, 3_000)),
    coogan_bps=st.one_of(st.none(), st.integers(0, 5_000)),
    plan=batches,
    data=st.data(),
)
def test_voided_works_leave_every_account_as_if_never_recorded(
    fee_bps: int,
    weights: list[int],
    per_work: int,
    per_second: Decimal,
    share_bps: int,
    guarantee: int,
    pension_health_bps: int | None,
    coogan_bps: int | None,
    plan: list[list[Work]],
    data: st.DataObject,
) -> None:
    saved_fee = django_settings.TIMBRE_PLATFORM_FEE_BPS
    saved_coogan = django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS
    django_settings.TIMBRE_PLATFORM_FEE_BPS = fee_bps
    django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS = coogan_bps or 0
    savepoint = transaction.savepoint_create()
    try:
        terms = {
            "upfront_fee": 0,
            "per_work": per_work,
            "per_second": str(per_second),
            "revenue_share_bps": share_bps,
            "minimum_guarantee": guarantee,
        }
        split = _weights_to_bps(weights)
        union = None
        if pension_health_bps is not None:
            union = UnionAgreement.objects.create(
                code="sag-aftra",
                name="SAG-AFTRA",
                pension_health_bps=pension_health_bps,
                fund_name="SAG-AFTRA P&H",
            )
            for currency in ("USD", "EUR"):
                UnionMinimum.objects.create(agreement=union, currency=currency, per_work=0)
        minor = coogan_bps is not None
        voiding = World("a", "USD", terms, split, union=union, minor=minor)
        never = World("b", "EUR", terms, split, union=union, minor=minor)
        voided: set[str] = set()
        for batch in plan:
            voiding.record(batch)
            # Void some of what is recorded so far, in any order, now or in a later round.
            live = [w for w in voiding.recorded if w not in voided]
            chosen = data.draw(st.lists(st.sampled_from(live), unique=True), label="void")
            for work_id in chosen:
                work_void(brand=voiding.brand, work_id=work_id)
                voided.add(work_id)
        # The other world records the same works, in the same batches, minus the voided.
        for batch, ids in _batches_of(plan, voiding.recorded):
            survivors = [w for w, work_id in zip(batch, ids, strict=True) if work_id not in voided]
            if survivors:
                never.record(survivors)
        assert voiding.books() == never.books()
    finally:
        transaction.savepoint_rollback(savepoint)
        django_settings.TIMBRE_PLATFORM_FEE_BPS = saved_fee
        django_settings.TIMBRE_COOGAN_SET_ASIDE_BPS = saved_coogan


def _batches_of(plan: list[list[Work]], ids: list[str]) -> list[tuple[list[Work], list[str]]]:
    out, start = [], 0
    for batch in plan:
        out.append((batch, ids[start : start + len(batch)]))
        start += len(batch)
    return out
