"""Consent with a term: it ends, the end stops new licenses and works (and is logged),
renewal brings the voice back, reminders go out before the end, and a guardian's consent
ends at the performer's 18th birthday."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.problems import RuleForbidden, RuleRefused
from licensing import services as licensing
from registry import services as registry
from registry.models import ConsentRecord, Performer, VoiceModel
from tests import factories as f
from tests.helpers import logged_events
from tests.licensing.helpers import offer_terms, request_input
from tests.royalties.helpers import issue, record_one
from transparency.services import rfc3339

# Notices go out after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(db: None) -> Any:
    return f.UserFactory(email="olive@example.com", is_staff=True)


def _consent(actor: Any, voice: Any, **extra: Any) -> ConsentRecord:
    return registry.consent_give(
        actor=actor,
        voice=voice,
        statement_version=registry.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
        **extra,
    )


@pytest.fixture
def live_voice(performer_alice: Any) -> VoiceModel:
    """Alice's voice, live through consent for one year, so it is in the log."""
    voice = f.VoiceFactory(performer=performer_alice, display_name="Alice Live", status="draft")
    _consent(performer_alice.user, voice, term_years=1)
    return registry.voice_set_status(actor=performer_alice.user, voice=voice, status="active")


def test_the_term_is_chosen_bounded_stated_and_logged(performer_alice: Any) -> None:
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    for bad in (0, 6, -1):
        with pytest.raises(Exception) as refused:
            _consent(performer_alice.user, voice, term_years=bad)
        assert "term_years" in str(refused.value)
    record = _consent(performer_alice.user, voice, term_years=2)
    assert record.term_years == 2
    assert record.expires_at.year == record.given_at.year + 2
    # The signed statement states the term it was given for.
    assert f"until {record.expires_at.date().isoformat()} (2 years)" in record.statement_text
    voice = registry.voice_set_status(actor=performer_alice.user, voice=voice, status="active")
    [registered] = logged_events("voice.registered")
    assert registered["consent"]["expires_at"] == rfc3339(record.expires_at)


def test_no_new_license_or_work_after_the_end_and_renewal_restores(
    live_voice: VoiceModel, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    alice = live_voice.performer.user
    # A two-year license on a voice whose consent runs one year.
    lic = issue(live_voice, brand_bob, operator, valid_until=dt.date.today() + timedelta(days=720))
    assert record_one(lic, "before").status == "recorded"
    consent = live_voice.current_consent()
    assert consent is not None

    # A second after the end, before any task ran: no work, no request, no license.
    time_machine.move_to(consent.expires_at + timedelta(seconds=1), tick=False)
    refused = record_one(lic, "after-end")
    assert refused.status == "rejected" and refused.reason == "consent_expired"
    offer = licensing.offer_publish(
        actor=alice, voice=live_voice, title="More", offer_terms=offer_terms()
    )
    brand = brand_bob.brand_memberships.get().brand
    with pytest.raises(RuleRefused) as no_request:
        licensing.request_submit(actor=brand_bob, brand=brand, offer=offer, data=request_input())
    assert no_request.value.problem_slug == "consent-expired"

    # The periodic task records the end: logged, the voice paused, everyone told.
    mail.outbox.clear()
    assert registry.consents_expire() == 1
    assert registry.consents_expire() == 0  # safe to run twice
    live_voice.refresh_from_db()
    assert live_voice.status == "suspended" and live_voice.consent_expires_at is None
    [expired] = logged_events("consent.expired")
    assert expired["voice_id"] == str(live_voice.pk)
    assert expired["statement_sha256"] == consent.statement_sha256
    assert logged_events("voice.suspended")[-1]["cause"] == "consent_expired"
    told = {to for m in mail.outbox for to in m.to}
    assert "alice@example.com" in told and "bob@example.com" in told
    assert any(lic.license_id in m.subject for m in mail.outbox)
    lic.refresh_from_db()
    assert lic.status_at() == "suspended"

    # Renewal: a new signed record, logged, and the voice and its license are back.
    renewed = _consent(alice, live_voice, term_years=3)
    assert renewed.renews == consent and renewed.statement_sha256 != consent.statement_sha256
    [logged] = logged_events("consent.renewed")
    assert logged["voice_id"] == str(live_voice.pk)
    assert logged["statement_sha256"] == renewed.statement_sha256
    assert logged["given_as"] == "performer"
    assert logged_events("voice.reinstated")[-1]["cause"] == "consent_renewed"
    live_voice.refresh_from_db()
    assert live_voice.status == "active"
    assert record_one(lic, "after-renewal").status == "recorded"


def test_renewal_does_not_undo_what_the_performer_chose(live_voice: VoiceModel) -> None:
    """A voice the performer suspended stays suspended when consent is renewed."""
    alice = live_voice.performer.user
    registry.voice_set_status(actor=alice, voice=live_voice, status="suspended")
    _consent(alice, live_voice)
    live_voice.refresh_from_db()
    assert live_voice.status == "suspended"


def test_the_end_of_consent_on_the_api_is_its_own_problem_type(
    live_voice: VoiceModel, brand_bob: Any, time_machine: Any
) -> None:
    alice = live_voice.performer.user
    offer = licensing.offer_publish(
        actor=alice, voice=live_voice, title="Spots", offer_terms=offer_terms()
    )
    consent = live_voice.current_consent()
    assert consent is not None
    time_machine.move_to(consent.expires_at + timedelta(minutes=1), tick=False)
    client = Client()
    client.force_login(brand_bob)
    body = request_input()
    response = client.post(
        f"/api/v1/offers/{offer.pk}/requests",
        {
            "campaign": body.campaign,
            "product": body.product,
            "script_summary": body.script_summary,
            "uses": body.uses,
            "territories": body.territories,
            "languages": body.languages,
            "media": body.media,
            "valid_from": body.valid_from.isoformat(),
            "valid_until": body.valid_until.isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "/problems/consent-expired"
    assert "has ended" in response.json()["detail"]


def test_reminders_go_out_once_per_step_before_the_end(
    live_voice: VoiceModel, time_machine: Any
) -> None:
    consent = live_voice.current_consent()
    assert consent is not None
    mail.outbox.clear()
    assert registry.consents_remind() == 0  # a year away: nothing yet
    time_machine.move_to(consent.expires_at - timedelta(days=59), tick=False)
    assert registry.consents_remind() == 1
    assert registry.consents_remind() == 0
    [reminder] = mail.outbox
    assert reminder.to == ["alice@example.com"]
    assert str(consent.expires_at.date()) in reminder.subject
    time_machine.move_to(consent.expires_at - timedelta(days=6), tick=False)
    assert registry.consents_remind() == 1
    consent.refresh_from_db()
    assert consent.reminders_sent == [60, 30, 7]
    # Renewed: the new record is far from its end, so nothing more is sent.
    _consent(live_voice.performer.user, live_voice)
    mail.outbox.clear()
    assert registry.consents_remind() == 0 and mail.outbox == []


def test_withdrawal_tells_every_affected_brand(
    live_voice: VoiceModel, brand_bob: Any, operator: Any
) -> None:
    lic = issue(live_voice, brand_bob, operator)
    mail.outbox.clear()
    registry.consent_withdraw(actor=live_voice.performer.user, voice=live_voice, reason="no")
    to_bob = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    assert to_bob and lic.license_id in to_bob[0].subject and "revoked" in to_bob[0].subject


# --- minors ---------------------------------------------------------------------------


@pytest.fixture
def minor_mia(db: None) -> Performer:
    """Mia, 17 and a half, with no account; her guardian Gwen has verified authority."""
    born = timezone.now().date().replace(day=1) - dt.timedelta(days=17 * 365 + 180)
    mia = f.PerformerFactory(stage_name="Mia Minor", user=None, is_minor=True, date_of_birth=born)
    f.AuthorityFactory(
        performer=mia, kind="guardian", representative__user__email="gwen@example.com"
    )
    return mia


def test_a_guardians_consent_ends_at_18_and_the_voice_pauses(
    minor_mia: Performer, time_machine: Any
) -> None:
    gwen = minor_mia.authorities.get().representative.user
    voice = f.VoiceFactory(performer=minor_mia, status="draft", created_by=gwen)
    record = _consent(gwen, voice, term_years=3)
    eighteen = datetime(
        minor_mia.date_of_birth.year + 18,
        minor_mia.date_of_birth.month,
        minor_mia.date_of_birth.day,
        tzinfo=UTC,
    )
    assert record.given_as == "guardian" and record.expires_at == eighteen
    assert "until the performer turns 18" in record.statement_text
    registry.voice_set_status(actor=gwen, voice=voice, status="active")

    time_machine.move_to(eighteen + timedelta(hours=1), tick=False)
    assert registry.consents_expire() == 1
    voice.refresh_from_db()
    minor_mia.refresh_from_db()
    assert voice.status == "suspended" and not minor_mia.is_minor
    assert logged_events("voice.suspended")[-1]["cause"] == "consent_expired"
    # The guardian can no longer consent; the adult performer's own consent is needed.
    with pytest.raises(Exception) as refused:
        _consent(gwen, voice)
    assert "performer" in str(refused.value).lower()


def test_only_a_guardian_consents_for_a_minor(minor_mia: Performer) -> None:
    """A minor's own account cannot consent: the refusal names the rule."""
    minor_mia.user = f.UserFactory(email="mia@example.com")
    minor_mia.save()
    voice = f.VoiceFactory(performer=minor_mia, status="draft", created_by=minor_mia.user)
    with pytest.raises(RuleForbidden) as refused:
        _consent(minor_mia.user, voice)
    assert refused.value.problem_slug == "guardian-required"
    assert "under 18" in str(refused.value)


def test_a_minor_is_recorded_with_a_date_of_birth_by_a_guardian(db: None) -> None:
    import io

    rep = f.RepresentativeFactory()
    today = timezone.now().date()
    twelve = today.replace(year=today.year - 12, day=1)

    def add(**over: Any) -> Any:
        values: dict[str, Any] = {
            "representative": rep,
            "legal_name": "Mia Minor",
            "stage_name": "Mia",
            "bio": "",
            "is_living": True,
            "is_minor": True,
            "kind": "guardian",
            "evidence": io.BytesIO(b"%PDF-1.4 court order"),
            "evidence_name": "order.pdf",
            "date_of_birth": twelve,
        }
        values.update(over)
        return registry.represented_performer_add(**values)

    with pytest.raises(Exception) as no_birth_date:
        add(date_of_birth=None)
    assert "date_of_birth" in str(no_birth_date.value)
    with pytest.raises(RuleRefused) as not_a_guardian:
        add(kind="agent")
    assert not_a_guardian.value.problem_slug == "guardian-required"
    with pytest.raises(RuleRefused) as under_age_as_adult:
        add(is_minor=False, kind="agent")
    assert under_age_as_adult.value.problem_slug == "guardian-required"
    with pytest.raises(Exception) as adult_as_minor:
        add(date_of_birth=today.replace(year=today.year - 30))
    assert "18 or over" in str(adult_as_minor.value)
    with pytest.raises(Exception) as future:
        add(date_of_birth=today + dt.timedelta(days=3))
    assert "real date of birth" in str(future.value)
    assert not Performer.objects.exists()
    authority = add()
    assert authority.performer.date_of_birth == twelve and authority.performer.is_minor


def test_the_pages_say_until_when_consent_runs(
    live_voice: VoiceModel, brand_bob: Any, operator: Any
) -> None:
    consent = live_voice.current_consent()
    assert consent is not None
    until = f"{consent.expires_at:%-d %b %Y}"
    page = Client().get(f"/voices/{live_voice.slug}/").content.decode()
    assert f"Consent to license this voice runs until {until}" in page
    # A two-year license on one year of consent: its brand is warned on the license page.
    lic = issue(live_voice, brand_bob, operator, valid_until=dt.date.today() + timedelta(days=720))
    bob = Client()
    bob.force_login(brand_bob)
    page = bob.get(f"/licenses/{lic.license_id}/").content.decode()
    assert f"The performer's consent runs until {until}, before this license ends" in page


def test_the_set_aside_stops_at_the_18th_birthday_to_the_second(
    minor_mia: Performer, time_machine: Any
) -> None:
    """One rule for who is a minor: the split reads the birthday, not a flag a task sets."""
    from royalties.splits import split_basis

    gwen = minor_mia.authorities.get().representative.user
    voice = f.VoiceFactory(performer=minor_mia, status="draft", created_by=gwen)
    assert split_basis(voice).set_aside  # a minor: part of her share is set aside
    born = minor_mia.date_of_birth
    eighteen = datetime(born.year + 18, born.month, born.day, tzinfo=UTC)
    time_machine.move_to(eighteen - timedelta(seconds=1), tick=False)
    assert split_basis(voice).set_aside
    time_machine.move_to(eighteen, tick=False)
    assert minor_mia.is_minor  # not yet recorded by the task...
    assert not split_basis(voice).set_aside  # ...but an adult's earnings are her own


def test_a_renewal_replaces_the_term_before_it_even_when_shorter(
    performer_alice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    """Found by review: renewing for a shorter term left the older, longer record
    standing, so the registry and the offline verifier disagreed. The latest consent's
    term is the one that holds, as the log states it."""
    alice = performer_alice.user
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    _consent(alice, voice, term_years=5)
    voice = registry.voice_set_status(actor=alice, voice=voice, status="active")
    shorter = _consent(alice, voice, term_years=1)
    assert voice.current_consent() == shorter
    time_machine.move_to(shorter.expires_at + timedelta(days=5), tick=False)
    assert voice.current_consent() is None
    assert registry.consents_expire() == 1
    voice.refresh_from_db()
    assert voice.status == "suspended" and voice.consent_expires_at is None
    [expired] = logged_events("consent.expired")
    assert expired["statement_sha256"] == shorter.statement_sha256


def test_a_performer_who_died_young_is_the_estates(db: None) -> None:
    """Found by review: a date of birth under 18 asked a late performer's executor to
    tick 'Under 18', which a late performer cannot be."""
    import io

    today = timezone.now().date()
    authority = registry.represented_performer_add(
        representative=f.RepresentativeFactory(),
        legal_name="Sam Young",
        stage_name="Sam",
        bio="",
        is_living=False,
        is_minor=False,
        kind="estate_executor",
        evidence=io.BytesIO(b"%PDF-1.4 letters"),
        evidence_name="letters.pdf",
        date_of_birth=today.replace(year=today.year - 15, day=1),
    )
    assert not authority.performer.is_living and not authority.performer.is_minor


def test_come_of_age_the_performer_consents_and_is_verified_before_the_voice_returns(
    minor_mia: Performer, time_machine: Any
) -> None:
    """At 18 the guardian's authority no longer stands for Mia: her own consent and her
    own identity do. Renewing alone does not bring the voice back."""
    gwen = minor_mia.authorities.get().representative.user
    voice = f.VoiceFactory(performer=minor_mia, status="draft", created_by=gwen)
    record = _consent(gwen, voice)
    registry.voice_set_status(actor=gwen, voice=voice, status="active")
    time_machine.move_to(record.expires_at + timedelta(hours=1), tick=False)
    registry.consents_expire()
    minor_mia.refresh_from_db()
    # An operator links the adult's new account to her performer record (the admin).
    minor_mia.user = f.UserFactory(email="mia@example.com")
    minor_mia.save(update_fields=["user"])
    _consent(minor_mia.user, voice)
    voice.refresh_from_db()
    assert voice.status == "suspended"
    with pytest.raises(RuleRefused) as refused:
        registry.voice_set_status(actor=minor_mia.user, voice=voice, status="active")
    assert refused.value.problem_slug == "performer-unverified"
