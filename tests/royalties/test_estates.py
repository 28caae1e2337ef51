"""Recording a performer's death: the log, who may act, the estate as payee from the date
of death (the late-recording correction included), the page and its refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from licensing import services as licensing
from registry import services as registry_services
from registry.models import ConsentRecord, Performer, PerformerDeath
from registry.policies import can_manage_performer, consent_capacity, managed_performers
from royalties import ledger, rules
from royalties.estates import Heir, _moved, performer_record_death
from royalties.models import (
    Account,
    EstateShare,
    JournalEntry,
    Payee,
    Posting,
    VoiceSplit,
    Work,
)
from royalties.services import WorkInput, work_void, works_record
from royalties.splits import Share, voice_splits_set
from royalties.statements import compute, period_close
from tests import factories as f
from tests.licensing.helpers import offer_terms
from tests.royalties.helpers import issue
from transparency.models import LogEntry

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n"


def certificate(data: bytes = PDF, name: str = "death-certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def today() -> dt.date:
    return timezone.now().date()


def record_death(
    operator: Any,
    performer: Any,
    *,
    died: dt.date | None = None,
    jurisdiction: str = "US-CA",
    heirs: list[Heir] | None = None,
    evidence: SimpleUploadedFile | None = None,
) -> PerformerDeath:
    return performer_record_death(
        operator=operator,
        performer=performer,
        date_of_death=died or today(),
        jurisdiction=jurisdiction,
        evidence=evidence or certificate(),
        evidence_name="death-certificate.pdf",
        heirs=heirs or [Heir(name="Estate of Alice Avery", bps=10_000)],
    )


def record(lic: Any, ref: str, *, at: dt.datetime | None = None, ms: int = 1_000) -> Any:
    item = WorkInput(
        license_id=lic.license_id,
        client_ref=ref,
        content_sha256=hashlib.sha256(ref.encode()).hexdigest(),
        duration_ms=ms,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item], now=at)
    assert outcome.status == "recorded", outcome.detail
    return Work.objects.get(work_id=outcome.work_id)


def owed(payee: Payee) -> int:
    """What the ledger owes the payee (its payable account's credit balance)."""
    acct = Account.objects.filter(kind=Account.Kind.PAYEE_PAYABLE, payee=payee).first()
    return 0 if acct is None else -ledger.balance(acct)


def share(price: int, bps: list[int] | None = None) -> list[int]:
    """The payees' parts of a work's price after the platform's 10% fee."""
    return rules.distribute(price, fee_bps=1000, split_bps=bps or [10_000]).payees


@pytest.fixture(autouse=True)
def _consented_long_ago(voice: Any) -> None:
    """Alice consented to her voice two months ago (a death is not dated before it)."""
    ConsentRecord.objects.filter(voice=voice).update(
        given_at=timezone.now() - dt.timedelta(days=60)
    )


@pytest.fixture
def past_license(voice: Any, brand_bob: Any, operator: Any) -> Any:
    """Bob's license on Alice's voice, in force since 40 days ago, no guarantee."""
    return issue(
        voice,
        brand_bob,
        operator,
        terms={"per_work": 333, "per_second": "0.125", "minimum_guarantee": 0},
        valid_from=today() - dt.timedelta(days=40),
        valid_until=today() + dt.timedelta(days=300),
    )


# --- the record and the log ------------------------------------------------------------


def test_it_records_a_death_and_logs_it_without_names_or_evidence(
    operator: Any, voice: Any
) -> None:
    alice = voice.performer
    died = today() - dt.timedelta(days=3)
    death = record_death(operator, alice, died=died, jurisdiction="us-ca")

    alice.refresh_from_db()
    assert alice.is_living is False
    assert death.jurisdiction == "US-CA"
    assert death.post_mortem_years == 70
    assert death.post_mortem_until == died.replace(year=died.year + 70)
    assert death.evidence_sha256 == hashlib.sha256(PDF).hexdigest()
    assert death.evidence_content_type == "application/pdf"
    # Stored under a random name: the file's own name says nothing and guesses nothing.
    assert "certificate" not in death.evidence.name
    entry = LogEntry.objects.get(index=death.log_index)
    logged = json.loads(bytes(entry.data))
    assert logged == {
        "type": "performer.died",
        "at": logged["at"],
        "performer_id": str(alice.pk),
        "date_of_death": died.isoformat(),
        "jurisdiction": "US-CA",
        "post_mortem_until": death.post_mortem_until.isoformat(),
    }
    assert b"Alice" not in bytes(entry.data)


def test_a_country_without_a_statutory_term_gets_the_documented_default(
    operator: Any, voice: Any, settings: Any
) -> None:
    settings.TIMBRE_POST_MORTEM_DEFAULT_YEARS = 10
    death = record_death(operator, voice.performer, jurisdiction="GB")
    assert (death.jurisdiction, death.post_mortem_years) == ("GB", 10)


def test_it_refuses_to_record_a_death_twice(operator: Any, voice: Any) -> None:
    record_death(operator, voice.performer)
    with pytest.raises(ValidationError) as refused:
        record_death(operator, voice.performer)
    assert "already recorded" in str(refused.value)
    assert PerformerDeath.objects.count() == 1
    assert LogEntry.objects.filter(event_type="performer.died").count() == 1


def test_only_an_operator_records_a_death(voice: Any, outsider_carol: Any) -> None:
    with pytest.raises(PermissionDenied):
        record_death(outsider_carol, voice.performer)
    assert Performer.objects.get(pk=voice.performer.pk).is_living


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"died": "tomorrow"}, "date_of_death", "in the future"),
        ({"jurisdiction": "US-ZZ"}, "jurisdiction", "not a jurisdiction the registry knows"),
        ({"jurisdiction": "XX"}, "jurisdiction", "not an ISO 3166 country"),
        ({"jurisdiction": "California"}, "jurisdiction", "not a jurisdiction code"),
        ({"evidence": b"just some text"}, "evidence", ""),
        ({"heirs": [Heir("Ann", 6000), Heir("Ben", 3000)]}, "heirs", "add up to 90%"),
        ({"heirs": [Heir("Ann", 5000), Heir("ann", 5000)]}, "heirs", "once"),
        ({"heirs": [Heir("Ann", 10_000, "nobody@example.com")]}, "heirs", "no account"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(
    operator: Any, voice: Any, change: dict[str, Any], field: str, words: str
) -> None:
    kwargs: dict[str, Any] = {}
    if "died" in change:
        kwargs["died"] = today() + dt.timedelta(days=1)
    if "jurisdiction" in change:
        kwargs["jurisdiction"] = change["jurisdiction"]
    if "evidence" in change:
        kwargs["evidence"] = certificate(change["evidence"], "certificate.pdf")
    if "heirs" in change:
        kwargs["heirs"] = change["heirs"]
    with pytest.raises(ValidationError) as refused:
        record_death(operator, voice.performer, **kwargs)
    assert field in refused.value.message_dict
    assert words in " ".join(refused.value.message_dict[field])
    assert Performer.objects.get(pk=voice.performer.pk).is_living
    assert not PerformerDeath.objects.exists()
    assert not LogEntry.objects.filter(event_type="performer.died").exists()


def test_the_date_of_death_is_not_before_the_performers_own_consent(
    operator: Any, voice: Any
) -> None:
    alice = voice.performer
    ConsentRecord.objects.filter(voice=voice).update(given_at=timezone.now() - dt.timedelta(days=2))
    assert ConsentRecord.objects.filter(voice=voice, given_by=alice.user).exists()
    with pytest.raises(ValidationError) as refused:
        record_death(operator, alice, died=today() - dt.timedelta(days=30))
    assert "cannot be before it" in " ".join(refused.value.message_dict["date_of_death"])
    # Before a voice existed is fine: an estate may model a voice from archive recordings.
    assert record_death(operator, alice, died=today() - dt.timedelta(days=1))


# --- who acts for the voice ------------------------------------------------------------


def test_after_death_the_performers_own_account_can_no_longer_act_and_the_executor_can(
    operator: Any, voice: Any
) -> None:
    alice = voice.performer
    executor = f.AuthorityFactory(
        performer=alice, kind="agent", representative__user__email="erin@example.com"
    ).representative
    assert consent_capacity(alice.user, alice) is not None
    record_death(operator, alice)
    alice.refresh_from_db()
    voice.refresh_from_db()

    assert not can_manage_performer(alice.user, alice)
    assert alice not in managed_performers(alice.user)
    assert consent_capacity(alice.user, alice) is None
    with pytest.raises(PermissionDenied):
        registry_services.consent_withdraw(actor=alice.user, voice=voice, reason="mine")
    with pytest.raises(PermissionDenied):
        registry_services.voice_set_status(actor=alice.user, voice=voice, status="suspended")
    with pytest.raises(PermissionDenied):
        licensing.offer_publish(
            actor=alice.user, voice=voice, title="Mine", offer_terms=offer_terms()
        )
    with pytest.raises(PermissionDenied):
        voice_splits_set(actor=alice.user, voice=voice, shares=[Share("performer", "Me", 10_000)])

    # The estate's executor: pending authority is nothing; verified, they consent and act.
    authority = f.AuthorityFactory(
        performer=alice, representative=executor, kind="estate_executor", status="pending"
    )
    assert consent_capacity(executor.user, alice) is None
    registry_services.authority_verify(authority=authority, operator=operator)
    assert consent_capacity(executor.user, alice) == ("estate_executor", authority)
    registry_services.consent_withdraw(actor=executor.user, voice=voice, reason="estate review")
    record = registry_services.consent_give(
        actor=executor.user,
        voice=voice,
        statement_version=registry_services.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="test",
    )
    assert record.given_as == "estate_executor"
    registry_services.voice_set_status(actor=executor.user, voice=voice, status="active")


# --- the estate as payee ---------------------------------------------------------------


def test_the_estate_is_paid_from_the_date_of_death_even_when_recorded_late(
    operator: Any, past_license: Any
) -> None:
    lic = past_license
    alice = lic.voice.performer
    now = timezone.now()
    before = record(lic, "before", at=now - dt.timedelta(days=20))
    in_window = [
        record(lic, "window-1", at=now - dt.timedelta(days=5)),
        record(lic, "window-2", at=now - dt.timedelta(days=4), ms=2_345),
    ]
    performer_payee = Payee.objects.get(performer=alice, kind="performer")
    assert owed(performer_payee) == sum(share(w.price)[0] for w in [before, *in_window])

    death = record_death(operator, alice, died=(now - dt.timedelta(days=10)).date())
    after = record(lic, "after")

    estate = Payee.objects.get(performer=alice, kind="estate")
    assert estate.name == "Estate of Alice Avery"
    assert list(VoiceSplit.objects.filter(voice=lic.voice).values_list("payee", "bps")) == [
        (estate.pk, 10_000)
    ]
    # Works before the date stay with the performer's payee; from the date, the estate's.
    assert owed(performer_payee) == share(before.price)[0]
    assert owed(estate) == sum(share(w.price)[0] for w in [*in_window, after])
    # One correcting entry per works entry booked since the date, in the open month,
    # balanced, made once (its key names the death and the entry); only money moved.
    transfers = JournalEntry.objects.filter(kind="estate_transfer").order_by("pk")
    assert [t.idempotency_key for t in transfers] == [
        f"estate:{death.pk}:{w.entry_id}" for w in in_window
    ]
    for transfer in transfers:
        legs = Posting.objects.filter(entry=transfer)
        assert legs.aggregate(total=Sum("amount"))["total"] == 0
        assert {(leg.works, leg.milliseconds, leg.gross) for leg in legs} == {(0, 0, 0)}
    # The estate's statement names it; the works the log split to the performer stay
    # counted there (what an auditor recomputes from the log).
    statement = compute(estate, today().replace(day=1), "USD")
    assert statement.earnings == owed(estate)
    assert sum(line["works"] for line in statement.lines) == 1
    # No minor unit created or lost: the payees and the platform hold every price.
    payables = Posting.objects.filter(account__kind__in=["payee_payable", "platform_revenue"])
    prices = sum(w.price for w in Work.objects.all())
    assert -payables.aggregate(total=Sum("amount"))["total"] == prices


def test_heirs_share_the_estate_exactly(operator: Any, past_license: Any) -> None:
    lic = past_license
    alice = lic.voice.performer
    now = timezone.now()
    works = [record(lic, f"w{i}", at=now - dt.timedelta(days=2), ms=1_000 + i) for i in range(5)]
    heirs = [Heir("Ann Avery", 3333), Heir("Ben Avery", 3333), Heir("Cat Avery", 3334)]
    record_death(operator, alice, died=(now - dt.timedelta(days=3)).date(), heirs=heirs)
    later = record(lic, "later", ms=7_777)

    ann, ben, cat = (Payee.objects.get(performer=alice, name=h.name) for h in heirs)
    performer_payee = Payee.objects.get(performer=alice, kind="performer")
    assert owed(performer_payee) == 0
    # The works before the record keep their platform fee; the heirs share the rest.
    payees_part = sum(share(w.price)[0] for w in works) + sum(
        share(later.price, [3333, 3333, 3334])
    )
    assert owed(ann) + owed(ben) + owed(cat) == payees_part
    for heir, bps in ((ann, 3333), (ben, 3333), (cat, 3334)):
        # Within a unit a work of the exact share.
        assert abs(owed(heir) - payees_part * bps // 10_000) <= 6


def test_a_void_after_the_transfer_moves_the_works_part_back_from_the_estate(
    operator: Any, past_license: Any
) -> None:
    lic = past_license
    alice = lic.voice.performer
    kept = record(lic, "kept")
    voided = record(lic, "voided", ms=4_321)
    record_death(operator, alice, died=today())
    estate = Payee.objects.get(performer=alice, kind="estate")
    performer_payee = Payee.objects.get(performer=alice, kind="performer")
    assert owed(estate) == share(kept.price)[0] + share(voided.price)[0]

    work_void(brand=lic.brand, work_id=voided.work_id)

    assert owed(estate) == share(kept.price)[0]
    assert owed(performer_payee) == 0
    back = JournalEntry.objects.get(kind="estate_transfer", reverses__isnull=False)
    assert back.reverses is not None and back.reverses.kind == "estate_transfer"


def test_when_the_date_of_death_is_in_a_closed_month_the_correction_lands_in_the_open_one(
    operator: Any, past_license: Any
) -> None:
    lic = past_license
    alice = lic.voice.performer
    this_month = today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    booked_at = dt.datetime.combine(last_month, dt.time(12), tzinfo=dt.UTC)
    if booked_at.date() < lic.valid_from:
        booked_at = dt.datetime.combine(lic.valid_from, dt.time(12), tzinfo=dt.UTC)
    work = record(lic, "closed-month", at=booked_at)
    performer_payee = Payee.objects.get(performer=alice, kind="performer")
    period_close(month=last_month)
    closed = compute(performer_payee, last_month, "USD")

    record_death(operator, alice, died=last_month)

    # The closed month's statement is as it was; this month's shows the transfer.
    assert compute(performer_payee, last_month, "USD") == closed
    assert closed.closing == share(work.price)[0]
    now_open = compute(performer_payee, this_month, "USD")
    assert now_open.earnings == -share(work.price)[0]
    [transfer] = JournalEntry.objects.filter(kind="estate_transfer")
    assert transfer.created_at.date() >= this_month
    estate = Payee.objects.get(performer=alice, kind="estate")
    assert compute(estate, this_month, "USD").earnings == share(work.price)[0]


# --- the operator's page ---------------------------------------------------------------


def _form(performer: Any, **over: Any) -> dict[str, Any]:
    data = {
        "performer": performer.pk,
        "date_of_death": (today() - dt.timedelta(days=1)).isoformat(),
        "jurisdiction": "US-NY",
        "evidence": certificate(),
        "heirs": "Estate of Alice Avery, 100",
    }
    data.update(over)
    return data


def test_the_page_records_a_death_for_staff(client: Any, operator: Any, voice: Any) -> None:
    client.force_login(operator)
    response = client.post("/operations/estates/", _form(voice.performer))
    assert response.status_code == 302
    death = PerformerDeath.objects.get()
    assert (death.jurisdiction, death.post_mortem_years) == ("US-NY", 40)
    page = client.get("/operations/estates/")
    assert b"Estate of Alice Avery 100%" in page.content


def test_the_page_is_for_staff_only(client: Any, performer_alice: Any, voice: Any) -> None:
    client.force_login(performer_alice.user)
    response = client.post("/operations/estates/", _form(voice.performer))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not PerformerDeath.objects.exists()


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"date_of_death": "2999-01-01"}, b"in the future"),
        ({"jurisdiction": "US-ZZ"}, b"not a jurisdiction the registry knows"),
        ({"evidence": SimpleUploadedFile("c.pdf", b"hello", content_type="application/pdf")}, b""),
        ({"heirs": "Ann, 50\nBen, 40"}, b"add up to 100%"),
        ({"heirs": "Ann fifty"}, b"write `name, percent`"),
        # Found by review: a share rounded without a word, names that crashed the page.
        ({"heirs": "Ann, 50.005\nBen, 49.995"}, b"at most two decimals"),
        ({"heirs": "A" * 201 + ", 50\n" + "A" * 200 + "y, 50"}, b"at most 200 characters"),
        ({"heirs": "Ann\x07, 100"}, b"no control characters"),
        ({"heirs": "Ann\x00, 100"}, b"Null characters are not allowed"),
    ],
)
def test_the_page_answers_bad_input_with_a_400_that_says_what_is_wrong(
    client: Any, operator: Any, voice: Any, over: dict[str, Any], words: bytes
) -> None:
    client.force_login(operator)
    response = client.post("/operations/estates/", _form(voice.performer, **over))
    assert response.status_code == 400
    assert words in response.content
    assert not PerformerDeath.objects.exists()


def test_recording_twice_on_the_page_is_a_clear_400(client: Any, operator: Any, voice: Any) -> None:
    client.force_login(operator)
    assert client.post("/operations/estates/", _form(voice.performer)).status_code == 302
    again = client.post("/operations/estates/", _form(voice.performer))
    assert again.status_code == 400
    assert b"death is already recorded" in again.content
    # The form offers only performers whose death is not recorded, told apart by more
    # than a stage name (namesakes exist).
    namesake = f.PerformerFactory(stage_name=voice.performer.stage_name, legal_name="Other Avery")
    page = client.get("/operations/estates/").content.decode()
    assert f"{voice.performer.stage_name} ({voice.performer.legal_name};" not in page
    assert f"{namesake.stage_name} (Other Avery; {namesake.user.email})" in page


def test_the_voice_page_catalog_and_license_say_licensed_by_the_estate(
    client: Any, operator: Any, voice: Any, past_license: Any
) -> None:
    record_death(operator, voice.performer)
    voice.refresh_from_db()
    page = client.get(f"/voices/{voice.slug}/")
    assert b"licensed by the estate of Alice Avery" in page.content
    catalog = client.get("/")
    assert b"licensed by the estate of Alice Avery" in catalog.content
    client.force_login(past_license.brand.memberships.get().user)
    license_page = client.get(f"/licenses/{past_license.license_id}/")
    assert license_page.status_code == 200
    assert b"licensed by the estate of Alice Avery" in license_page.content


def test_the_estates_statement_is_its_executors_to_read_not_the_late_performers_account(
    client: Any, operator: Any, past_license: Any
) -> None:
    lic = past_license
    alice = lic.voice.performer
    record(lic, "in-window", at=timezone.now() - dt.timedelta(days=2))
    executor = f.AuthorityFactory(
        performer=alice, kind="estate_executor", representative__user__email="erin@example.com"
    ).representative.user
    record_death(operator, alice, died=today() - dt.timedelta(days=3))
    record(lic, "after")
    estate = Payee.objects.get(performer=alice, kind="estate")
    url = f"/statements/{estate.pk}/{today():%Y-%m}/USD/"

    client.force_login(executor)
    page = client.get(url)
    assert page.status_code == 200
    assert "Estate of Alice Avery" in page.text
    client.force_login(alice.user)
    assert client.get(url).status_code in (403, 404)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8),
    booked=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=4),
    heirs=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=4),
    fee_bps=st.integers(min_value=0, max_value=10_000),
    aside_bps=st.integers(min_value=0, max_value=10_000),
)
def test_moving_works_to_the_heirs_creates_and_loses_no_minor_unit(
    prices: list[int], booked: list[int], heirs: list[int], fee_bps: int, aside_bps: int
) -> None:
    """Each work's payees' part leaves the payees it was booked to, exactly, and reaches
    the heirs whole: the moves sum to zero and the platform's fee is never touched. A
    minor's part leaves both the payable and the trust, each what it was credited."""
    booked_bps, heir_bps = rules.allocate(10_000, booked), rules.allocate(10_000, heirs)
    if 0 in booked_bps or 0 in heir_bps:
        return
    payees = tuple((Payee(pk=i + 1), bps) for i, bps in enumerate(booked_bps))
    # The first payee is a minor performer: part of their share was set aside in trust.
    basis = ledger.SplitBasis(fee_bps, payees, ((payees[0][0], aside_bps),) if aside_bps else ())
    shares = [EstateShare(payee_id=100 + i, bps=bps) for i, bps in enumerate(heir_bps)]
    total: dict[int, int] = {}
    trust = 0
    for price in prices:
        for (kind, pk), amount in _moved(price, basis, shares).items():
            total[pk] = total.get(pk, 0) + amount
            if kind == Account.Kind.MINOR_TRUST:
                trust += amount
    assert sum(total.values()) == 0
    parts = [rules.distribute(p, fee_bps=fee_bps, split_bps=booked_bps) for p in prices]
    assert trust == sum(rules.set_aside(d.payees[0], aside_bps) for d in parts)
    for i in range(len(booked_bps)):
        assert total.get(i + 1, 0) == sum(d.payees[i] for d in parts)
    assert all(total.get(100 + i, 0) <= 0 for i in range(len(heir_bps)))
    assert -sum(total.get(100 + i, 0) for i in range(len(heir_bps))) == sum(
        sum(d.payees) for d in parts
    )


def test_a_minors_works_move_to_the_estate_with_what_was_set_aside_in_trust(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    """Found by review: the transfer took the whole share from the payable, though a
    minor's set-aside had gone to the trust, so the trust's part was counted twice."""
    lic = issue(
        voice,
        brand_bob,
        operator,
        terms={
            "per_work": 2000,
            "per_second": "0",
            "revenue_share_bps": 0,
            "minimum_guarantee": 0,
            "upfront_fee": 0,
            "max_works": None,
            "max_seconds": None,
        },
        media=["tv"],
        languages=["en-US"],
    )
    Performer.objects.filter(pk=voice.performer_id).update(is_minor=True)
    voice.performer.refresh_from_db()
    first, _ = record(lic, "a"), record(lic, "b")
    payee = Payee.objects.get(performer=voice.performer, kind="performer")
    trust = Account.objects.get(kind=Account.Kind.MINOR_TRUST, payee=payee)
    assert -ledger.balance(trust) == 2 * 270 and owed(payee) == 2 * 1530
    record_death(operator, voice.performer, died=today())
    estate = Payee.objects.get(performer=voice.performer, kind="estate")
    # The heirs get the whole share; the payable and the trust give back all they got.
    assert (owed(estate), owed(payee), ledger.balance(trust)) == (2 * 1800, 0, 0)
    month = today().replace(day=1)
    [line] = compute(payee, month, "USD").lines
    assert line["set_aside"] == 0  # the statement says what the trust holds: nothing
    for entry in JournalEntry.objects.all():
        assert sum(entry.postings.values_list("amount", flat=True)) == 0
    # A void after the transfer moves the work's part back exactly.
    work_void(brand=lic.brand, work_id=first.work_id)
    assert (owed(estate), owed(payee), ledger.balance(trust)) == (1800, 0, 0)
