"""The post-mortem term: no license request or license runs past it, and the periodic task
retires the voices when it ends (logged, safe to run twice)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from core.problems import RuleRefused
from licensing import services as licensing
from licensing.models import License, LicenseRequest
from registry import services as registry_services
from registry.deaths import years_after
from registry.models import ConsentRecord, VoiceModel
from royalties.estates import Heir, performer_record_death
from royalties.tasks import post_mortem_terms_end
from tests import factories as f
from tests.licensing.helpers import offer_terms, request_input
from tests.royalties.helpers import record_one
from tests.royalties.test_estates import certificate
from transparency.models import LogEntry

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.now().date()


@pytest.fixture
def logged_voice(performer_alice: Any) -> Any:
    """Alice's voice, live and in the log; she consented eleven years ago."""
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    registry_services.consent_give(
        actor=performer_alice.user,
        voice=voice,
        statement_version=registry_services.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
    )
    registry_services.voice_set_status(actor=performer_alice.user, voice=voice, status="active")
    ConsentRecord.objects.filter(voice=voice).update(
        given_at=timezone.now() - dt.timedelta(days=11 * 366)
    )
    voice.refresh_from_db()
    return voice


@pytest.fixture
def offer(logged_voice: Any) -> Any:
    return licensing.offer_publish(
        actor=logged_voice.performer.user,
        voice=logged_voice,
        title="Ads",
        offer_terms=offer_terms(),
    )


def die_in_tennessee(
    operator: Any, performer: Any, *, term_left: int, jurisdiction: str = "US-TN"
) -> Any:
    """Record a Tennessee death (10 years) whose term has ``term_left`` days to run."""
    died = years_after(today() + dt.timedelta(days=term_left), -10)
    return performer_record_death(
        operator=operator,
        performer=performer,
        date_of_death=died,
        jurisdiction=jurisdiction,
        evidence=certificate(),
        evidence_name="probate.pdf",
        heirs=[Heir("Estate of Alice Avery", 10_000)],
    )


def test_a_request_past_the_end_of_the_term_is_refused_with_its_own_problem_type(
    operator: Any, offer: Any, brand_bob: Any
) -> None:
    death = die_in_tennessee(operator, offer.voice.performer, term_left=30)
    assert death.post_mortem_until == today() + dt.timedelta(days=30)
    brand = brand_bob.brand_memberships.get().brand
    with pytest.raises(RuleRefused) as refused:
        licensing.request_submit(
            actor=brand_bob,
            brand=brand,
            offer=offer,
            data=request_input(valid_until=today() + dt.timedelta(days=31)),
        )
    assert refused.value.problem_slug == "post-mortem-term"
    assert str(death.post_mortem_until) in refused.value.message_dict["valid_until"][0]
    # Up to the last day of the term is fine.
    req = licensing.request_submit(
        actor=brand_bob,
        brand=brand,
        offer=offer,
        data=request_input(valid_until=death.post_mortem_until),
    )
    assert req.status == LicenseRequest.Status.SUBMITTED

    # Over the API the refusal is a 400 whose type names the rule.
    client = APIClient()
    client.force_authenticate(brand_bob)
    body = {
        "campaign": "Launch",
        "product": "Widget",
        "script_summary": "30s spot",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en-US"],
        "media": ["tv"],
        "valid_from": str(today()),
        "valid_until": str(today() + dt.timedelta(days=90)),
    }
    response = client.post(f"/api/v1/offers/{offer.pk}/requests", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["type"].endswith("/problems/post-mortem-term")
    assert "valid_until" in response.json()["errors"]


def test_a_license_approved_before_the_death_is_not_issued_past_the_term(
    operator: Any, offer: Any, brand_bob: Any
) -> None:
    brand = brand_bob.brand_memberships.get().brand
    req = licensing.request_submit(
        actor=brand_bob,
        brand=brand,
        offer=offer,
        data=request_input(valid_until=today() + dt.timedelta(days=200)),
    )
    licensing.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    die_in_tennessee(operator, offer.voice.performer, term_left=100)

    with pytest.raises(RuleRefused) as refused:
        licensing.license_settle_manually(operator=operator, request=req, invoice_ref="INV-1")
    assert refused.value.problem_slug == "post-mortem-term"
    assert not License.objects.exists()


def test_the_task_retires_the_voice_when_the_term_ends_once_and_logged(
    operator: Any, offer: Any
) -> None:
    voice = offer.voice
    death = die_in_tennessee(operator, voice.performer, term_left=5)
    assert post_mortem_terms_end() == 0  # the term is still running
    with time_machine.travel(
        dt.datetime.combine(death.post_mortem_until, dt.time(12), tzinfo=dt.UTC)
    ):
        assert post_mortem_terms_end() == 0  # its last day is still in it
    with time_machine.travel(
        dt.datetime.combine(
            death.post_mortem_until + dt.timedelta(days=1), dt.time(1), tzinfo=dt.UTC
        )
    ):
        assert post_mortem_terms_end() == 1
        assert post_mortem_terms_end() == 0  # safe to run twice

    voice.refresh_from_db()
    assert voice.status == VoiceModel.Status.RETIRED
    [retired] = LogEntry.objects.filter(event_type="voice.retired")
    logged = json.loads(bytes(retired.data))
    assert logged["cause"] == "post_mortem_term_ended"
    assert logged["voice_id"] == str(voice.pk)


def test_a_death_recorded_after_its_term_ended_retires_the_voices_at_once(
    operator: Any, logged_voice: Any
) -> None:
    die_in_tennessee(operator, logged_voice.performer, term_left=-1)
    logged_voice.refresh_from_db()
    assert logged_voice.status == VoiceModel.Status.RETIRED
    assert LogEntry.objects.filter(event_type="voice.retired").count() == 1


@pytest.mark.parametrize(("jurisdiction", "continued"), [("US-TN", True), ("GB", False)])
def test_in_tennessee_use_continues_the_term_and_two_years_without_use_end_it(
    operator: Any, offer: Any, brand_bob: Any, jurisdiction: str, continued: bool
) -> None:
    voice = offer.voice
    death = die_in_tennessee(operator, voice.performer, term_left=5, jurisdiction=jurisdiction)
    assert death.post_mortem_years == 10
    brand = brand_bob.brand_memberships.get().brand
    req = licensing.request_submit(
        actor=brand_bob,
        brand=brand,
        offer=offer,
        data=request_input(valid_until=death.post_mortem_until),
    )
    executor = f.AuthorityFactory(performer=voice.performer, kind="estate_executor")
    licensing.request_decide(actor=executor.representative.user, request=req, approve=True)
    lic = licensing.license_settle_manually(operator=operator, request=req, invoice_ref="INV")
    record_one(lic, "used")
    used_on = today()

    day_after = dt.datetime.combine(
        death.post_mortem_until + dt.timedelta(days=1), dt.time(1), tzinfo=dt.UTC
    )
    with time_machine.travel(day_after, tick=False):
        retired = post_mortem_terms_end()
        assert post_mortem_terms_end() == 0  # safe to run twice
    death.refresh_from_db()
    voice.refresh_from_db()
    if not continued:
        assert retired == 1 and voice.status == VoiceModel.Status.RETIRED
        assert not LogEntry.objects.filter(event_type="performer.term_continued").exists()
        return
    # Used within two years: the right runs on to two years after the last use.
    assert retired == 0 and voice.status == VoiceModel.Status.ACTIVE
    assert death.post_mortem_until == years_after(used_on, 2)
    [moved] = LogEntry.objects.filter(event_type="performer.term_continued")
    assert json.loads(bytes(moved.data))["post_mortem_until"] == death.post_mortem_until.isoformat()
    # Two years without use end it.
    with time_machine.travel(
        dt.datetime.combine(
            death.post_mortem_until + dt.timedelta(days=1), dt.time(1), tzinfo=dt.UTC
        ),
        tick=False,
    ):
        assert post_mortem_terms_end() == 1
    voice.refresh_from_db()
    assert voice.status == VoiceModel.Status.RETIRED
    [retired_entry] = LogEntry.objects.filter(event_type="voice.retired")
    assert json.loads(bytes(retired_entry.data))["cause"] == "post_mortem_term_ended"
