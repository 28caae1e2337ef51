"""Offers, requests, approval, settlement, issuance, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from licensing import services
from licensing.models import License, LicenseRequest
from registry import services as registry_services
from tests import factories as f
from tests.licensing.helpers import offer_terms, request_input
from transparency.models import LogEntry
from verifier.jws import keys_from_jwks, verify_jws

pytestmark = pytest.mark.django_db


def messages(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict


def test_the_whole_flow_issues_a_signed_logged_license(
    offer: Any,
    brand_bob: Any,
    bob_brand: Any,
    operator: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        req = services.request_submit(
            actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
        )
    assert req.status == "submitted"
    assert any("New license request" in m.subject for m in mail.outbox), "the performer is told"
    req = services.request_decide(
        actor=offer.voice.performer.user, request=req, approve=True, note="ok!"
    )
    assert req.status == "awaiting_payment"
    with django_capture_on_commit_callbacks(execute=True):
        lic = services.license_settle_manually(operator=operator, request=req, invoice_ref="INV-7")
    assert lic.payment_ref == "invoice:INV-7"
    assert [t.to_status for t in req.transitions.all()] == [
        "submitted",
        "approved",
        "awaiting_payment",
        "issued",
    ]

    jwks = client.get("/.well-known/jwks.json").json()
    header, document, _ = verify_jws(
        lic.jws, keys_from_jwks(jwks), expected_typ="timbre-license+jws"
    )
    assert header["kid"] == lic.signing_key.kid == jwks["keys"][0]["kid"]
    assert jwks["keys"][0]["status"] == "active"
    assert document["license_id"] == lic.license_id
    verified = bob_brand.verification()
    assert document["licensee"] == {
        "id": str(bob_brand.pk),
        "name": "Bobcat Audio",
        "verified": {
            "legal_name": "Bobcat Audio Ltd",
            "domain": verified.domain,
            "method": "dns",
        },
    }
    assert document["royalty"] == {
        "currency": "USD",
        "upfront_fee": "50000",
        "per_work": "200",
        "per_second": "0.125",
        "revenue_share_bps": "150",
        "minimum_guarantee": "100000",
    }
    assert document["terms"]["territories"] == ["US"]
    assert document["terms"]["valid_from"].endswith("T00:00:00.000Z")
    assert lic.license_id in document["terms"]["disclosure"]

    entry = json.loads(bytes(LogEntry.objects.get(index=lic.log_index).data))
    assert entry["type"] == "license.issued"
    assert entry["jws_sha256"] == hashlib.sha256(lic.jws.encode()).hexdigest()
    assert any(lic.license_id in m.subject for m in mail.outbox)

    # settling twice is a no-op
    again = services.license_issue(request=req, payment_ref="invoice:INV-7")
    assert again.pk == lic.pk and License.objects.count() == 1


def test_an_offer_without_approval_and_fee_issues_at_once(
    voice: Any, brand_bob: Any, bob_brand: Any
) -> None:
    offer = services.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Free podcast use",
        offer_terms=offer_terms(requires_approval=False, upfront_fee=0, minimum_guarantee=0),
    )
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    req.refresh_from_db()
    assert req.status == "issued" and req.license.payment_ref == "no-fee"


def test_a_minimum_guarantee_is_paid_before_issue_even_without_a_fee(
    voice: Any, brand_bob: Any, bob_brand: Any
) -> None:
    offer = services.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Guarantee only",
        offer_terms=offer_terms(requires_approval=False, upfront_fee=0, minimum_guarantee=5_000),
    )
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    req.refresh_from_db()
    assert req.status == "awaiting_payment" and services.amount_due(req) == 5_000
    assert not License.objects.exists()


def test_a_declined_request_stays_declined(offer: Any, brand_bob: Any, bob_brand: Any) -> None:
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    services.request_decide(
        actor=offer.voice.performer.user, request=req, approve=False, note="not for gin"
    )
    with pytest.raises(ValidationError):
        services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    with pytest.raises(ValidationError):
        services.license_issue(request=req, payment_ref="x")
    assert not License.objects.exists()


def test_only_the_performer_side_decides_and_only_operators_settle(
    offer: Any,
    brand_bob: Any,
    bob_brand: Any,
    performer_dave: Any,
) -> None:
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    with pytest.raises(PermissionDenied):
        services.request_decide(actor=performer_dave.user, request=req, approve=True)
    with pytest.raises(PermissionDenied):
        services.request_decide(actor=brand_bob, request=req, approve=True)
    services.request_decide(actor=offer.voice.performer.user, request=req, approve=True)
    with pytest.raises(PermissionDenied):
        services.license_settle_manually(operator=brand_bob, request=req, invoice_ref="mine")
    assert not License.objects.exists()


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"max_term_days": 3654}, "max_term_days", "3653-day (10 year) limit"),
        ({"territories": ["US", "XX"]}, "territories", "'XX' is not an ISO 3166-1"),
        ({"currency": "DOGE"}, "currency", "not a supported ISO 4217"),
        ({"languages": ["english"]}, "languages", "not a valid BCP 47"),
        ({"uses": ["telepathy"]}, "uses", "Unknown: telepathy"),
        ({"per_second": "0.1234567"}, "per_second", "at most 6 places"),
        ({"upfront_fee": -1}, "upfront_fee", "non-negative"),
    ],
)
def test_offer_terms_are_checked(voice: Any, over: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.offer_publish(
            actor=voice.performer.user, voice=voice, title="x", offer_terms=offer_terms(**over)
        )
    assert any(words in m for m in messages(caught.value)[field]), messages(caught.value)


def test_a_minors_voice_is_capped_at_five_years(db: None) -> None:
    minor = f.PerformerFactory(is_minor=True)
    voice = f.VoiceFactory(performer=minor)
    guardian = f.AuthorityFactory(performer=minor, kind="guardian").representative.user
    with pytest.raises(ValidationError) as caught:
        services.offer_publish(
            actor=guardian, voice=voice, title="x", offer_terms=offer_terms(max_term_days=2000)
        )
    assert (
        "1826-day (5 year) limit for a minor's voice" in messages(caught.value)["max_term_days"][0]
    )
    services.offer_publish(
        actor=guardian, voice=voice, title="x", offer_terms=offer_terms(max_term_days=1826)
    )


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"territories": ["US", "FR"]}, "territories", "Outside this offer's territories: FR"),
        ({"uses": ["audiobook"]}, "uses", "Not allowed by this offer: audiobook"),
        ({"languages": ["fr-FR"]}, "languages", "Not offered in: fr-FR"),
        ({"media": ["radio"]}, "media", "Not allowed by this offer: radio"),
        (
            {"valid_until": dt.date.today() + dt.timedelta(days=800)},
            "valid_until",
            "at most 730 days",
        ),
        ({"exclusive": True}, "exclusive", "does not grant exclusivity"),
        ({"campaign": " "}, "campaign", "specifically"),
    ],
)
def test_requests_outside_the_offer_are_refused(
    offer: Any, brand_bob: Any, bob_brand: Any, over: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.request_submit(
            actor=brand_bob, brand=bob_brand, offer=offer, data=request_input(**over)
        )
    assert any(words in m for m in messages(caught.value)[field]), messages(caught.value)
    assert not LicenseRequest.objects.exists()


def test_a_world_offer_covers_every_territory(voice: Any, brand_bob: Any, bob_brand: Any) -> None:
    offer = services.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="x",
        offer_terms=offer_terms(territories=["WORLD"]),
    )
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input(territories=["JP", "de"])
    )
    assert req.territories == ["JP", "DE"]


def test_exclusive_licenses_block_overlapping_ones(
    voice: Any, brand_bob: Any, bob_brand: Any, brand_hank: Any, operator: Any
) -> None:
    offer = services.offer_publish(
        actor=voice.performer.user, voice=voice, title="x", offer_terms=offer_terms(exclusive=True)
    )
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    services.request_decide(actor=voice.performer.user, request=req, approve=True)
    services.license_settle_manually(operator=operator, request=req, invoice_ref="1")

    hank_brand = brand_hank.brand_memberships.get().brand
    with pytest.raises(ValidationError) as caught:
        services.request_submit(
            actor=brand_hank, brand=hank_brand, offer=offer, data=request_input()
        )
    assert "exclusive license overlaps" in messages(caught.value)["exclusive"][0]
    # Another territory does not overlap.
    services.request_submit(
        actor=brand_hank, brand=hank_brand, offer=offer, data=request_input(territories=["CA"])
    )


def test_a_revised_offer_never_changes_licensed_terms(issued: Any, offer: Any) -> None:
    services.offer_revise(
        actor=offer.voice.performer.user, offer=offer, offer_terms=offer_terms(upfront_fee=1)
    )
    issued.refresh_from_db()
    assert issued.offer_version.number == 1 and issued.document["royalty"]["upfront_fee"] == "50000"
    assert offer.current.number == 2 and offer.current.upfront_fee == 1


def test_revocation_is_logged_and_by_the_right_people(
    issued: Any, brand_hank: Any, brand_bob: Any, performer_dave: Any
) -> None:
    for outsider in (brand_hank, performer_dave.user):
        with pytest.raises(PermissionDenied):
            services.license_revoke(actor=outsider, license=issued, reason="breach")
    with pytest.raises(PermissionDenied):
        services.license_revoke(actor=brand_bob, license=issued, reason="breach")
    lic = services.license_revoke(
        actor=issued.voice.performer.user, license=issued, reason="breach", note="used for gin"
    )
    assert lic.status_at() == "revoked"
    entry = json.loads(bytes(LogEntry.objects.get(index=lic.revocation_log_index).data))
    assert entry == {
        **entry,
        "type": "license.revoked",
        "license_id": lic.license_id,
        "reason": "breach",
    }
    with pytest.raises(ValidationError):
        services.license_revoke(actor=issued.voice.performer.user, license=issued, reason="breach")


def test_a_brand_surrenders_its_license(issued: Any, brand_bob: Any) -> None:
    assert services.license_revoke(actor=brand_bob, license=issued, reason="surrender").revoked


def test_withdrawing_consent_revokes_the_voices_licenses(issued: Any) -> None:
    performer = issued.voice.performer
    registry_services.consent_withdraw(actor=performer.user, voice=issued.voice, reason="retiring")
    issued.refresh_from_db()
    assert issued.revoked and issued.revocation_reason == "consent_withdrawn"


def test_requests_expire_when_nobody_acts(offer: Any, brand_bob: Any, bob_brand: Any) -> None:
    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    assert services.requests_expire() == 0
    later = req.expires_at + dt.timedelta(seconds=1)
    assert services.requests_expire(now=later) == 1
    assert services.requests_expire(now=later) == 0
    req.refresh_from_db()
    assert req.status == "expired"


def test_the_expiry_task_lapses_stale_requests(offer: Any, brand_bob: Any, bob_brand: Any) -> None:
    from licensing.tasks import license_requests_expire

    req = services.request_submit(
        actor=brand_bob, brand=bob_brand, offer=offer, data=request_input()
    )
    LicenseRequest.objects.filter(pk=req.pk).update(
        expires_at=req.created_at - dt.timedelta(days=1)
    )
    assert license_requests_expire() == 1
    assert license_requests_expire() == 0
