"""The HTML pages: catalog, voice page, sign-up, studio. They work without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registry.models import Authority, Brand, Performer, User, VoiceModel
from tests import factories as f
from tests.helpers import PDF_BYTES, wav_bytes

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_active_voices_and_filters_them(client: Client) -> None:
    f.VoiceFactory(display_name="Velvet Baritone", languages=["en-GB"], uses=["film_tv"])
    f.VoiceFactory(display_name="Hidden Draft", status="draft")
    f.VoiceFactory(display_name="Spanish Bright", languages=["es-419"])
    page = client.get("/").content.decode()
    assert "Velvet Baritone" in page and "Spanish Bright" in page
    assert "Hidden Draft" not in page
    filtered = client.get("/", {"language": "es", "q": "bright"}).content.decode()
    assert "Spanish Bright" in filtered and "Velvet Baritone" not in filtered
    by_use = client.get("/", {"use": "film_tv"}).content.decode()
    assert "Velvet Baritone" in by_use and "Spanish Bright" not in by_use


def test_the_voice_page_plays_the_sample(client: Client, performer_alice: Any) -> None:
    voice = f.VoiceFactory(performer=performer_alice, display_name="Alice Warm")
    voice.sample_audio.save("s.wav", SimpleUploadedFile("s.wav", wav_bytes()))
    voice.sample_content_type = "audio/wav"
    voice.save()
    page = client.get(f"/voices/{voice.slug}/").content.decode()
    assert "Alice Warm" in page and f"/voices/{voice.slug}/sample" in page
    sample = client.get(f"/voices/{voice.slug}/sample")
    assert sample.status_code == 200 and sample["Content-Type"] == "audio/wav"
    assert b"".join(sample.streaming_content) == wav_bytes()


def test_a_draft_voice_page_is_private(
    client: Client, performer_alice: Any, performer_dave: Any
) -> None:
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    assert client.get(f"/voices/{voice.slug}/").status_code == 404
    client.force_login(performer_dave.user)
    assert client.get(f"/voices/{voice.slug}/").status_code == 404
    assert client.get(f"/studio/voices/{voice.slug}/").status_code == 404
    client.force_login(performer_alice.user)
    assert client.get(f"/studio/voices/{voice.slug}/").status_code == 200


@pytest.mark.parametrize(
    ("role", "extra", "check"),
    [
        (
            "performer",
            {"legal_name": "Pat Q Public", "stage_name": "Pat Sings", "adult": "on"},
            lambda u: u.performer.stage_name == "Pat Sings",
        ),
        (
            "representative",
            {"organisation": "Hale Estate"},
            lambda u: u.representative.organisation == "Hale Estate",
        ),
        (
            "brand",
            {"brand_name": "Fizz Co", "brand_country": "FR"},
            lambda u: (
                Brand.objects.get(memberships__user=u, memberships__role="owner").country == "FR"
            ),
        ),
        ("auditor", {"organisation": "Audit LLP"}, lambda u: u.auditor.organisation == "Audit LLP"),
    ],
)
def test_it_signs_up_each_role(
    client: Client, role: str, extra: dict[str, str], check: Any
) -> None:
    data = {
        "role": role,
        "display_name": "Pat",
        "email": "pat@example.com",
        "password": "a-long-passphrase-42",
        **extra,
    }
    response = client.post("/signup/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="pat@example.com")
    assert check(user)
    assert client.get("/api/v1/me").json()["email"] == "pat@example.com"


def test_sign_up_explains_what_is_missing_and_writes_nothing(
    client: Client, outsider_carol: Any
) -> None:
    page = client.post(
        "/signup/",
        {
            "role": "brand",
            "display_name": "X",
            "email": "x@example.com",
            "password": "a-long-passphrase-42",
        },
    ).content.decode()
    assert "A brand needs a name and a country." in page
    page = client.post(
        "/signup/",
        {
            "role": "performer",
            "display_name": "X",
            "email": "carol@example.com",
            "password": "password",
            "legal_name": "a",
            "stage_name": "b",
        },
    ).content.decode()
    assert "already exists" in page and "too common" in page
    assert "registered by a guardian" in page  # "I am 18 or older" was not ticked
    assert User.objects.count() == 1 and not Performer.objects.exists()


def test_log_in_and_out(client: Client, performer_alice: Any) -> None:
    response = client.post(
        "/login/", {"username": "alice@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get("/dashboard/").url == "/studio/"
    client.post("/logout/")
    assert client.get("/studio/").status_code == 302


def register_form(performer: Performer, **over: Any) -> dict[str, Any]:
    data = {
        "performer": performer.pk,
        "display_name": "Alice Studio",
        "languages": "en-US, pt-BR",
        "styles": "calm",
        "uses": ["podcast", "audiobook"],
        "provider": "Acme TTS",
        "model_sha256": "c" * 64,
    }
    data.update(over)
    return data


def test_a_performer_registers_consents_and_activates_through_the_pages(
    client: Client, performer_alice: Any
) -> None:
    client.force_login(performer_alice.user)
    response = client.post(
        "/studio/voices/new/",
        register_form(performer_alice, sample_audio=SimpleUploadedFile("a.wav", wav_bytes())),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    voice = VoiceModel.objects.get()
    assert voice.languages == ["en-US", "pt-BR"] and voice.status == "draft"
    manage = client.get(response.url).content.decode()
    assert "Consent to register and license a synthetic voice" in manage
    refused = client.post(f"/studio/voices/{voice.slug}/status/", {"status": "active"}, follow=True)
    assert "cannot become active without" in refused.content.decode()
    client.post(
        f"/studio/voices/{voice.slug}/consent/",
        {"statement_version": "timbre-consent/2", "accept": "on", "term_years": "2"},
    )
    client.post(f"/studio/voices/{voice.slug}/status/", {"status": "active"})
    voice.refresh_from_db()
    assert voice.status == "active"
    consent = voice.current_consent()
    assert consent is not None and consent.term_years == 2
    assert f"until {consent.expires_at:%-d %b %Y}" in client.get(response.url).content.decode()
    assert "Alice Studio" in client.get("/").content.decode()


def test_the_register_form_shows_bad_input_beside_the_field(
    client: Client, performer_alice: Any
) -> None:
    client.force_login(performer_alice.user)
    page = client.post(
        "/studio/voices/new/", register_form(performer_alice, languages="english")
    ).content.decode()
    assert "not a valid BCP 47 language tag" in page
    page = client.post(
        "/studio/voices/new/",
        register_form(
            performer_alice, sample_audio=SimpleUploadedFile("x.mp3", b"GIF89a not audio")
        ),
    ).content.decode()
    assert "This file is not a WAV, MP3, Ogg file." in page
    assert not VoiceModel.objects.exists()


def test_the_register_form_offers_only_performers_one_acts_for(
    client: Client, performer_alice: Any, performer_dave: Any
) -> None:
    client.force_login(performer_alice.user)
    page = client.post("/studio/voices/new/", register_form(performer_dave)).content.decode()
    assert "Select a valid choice" in page
    assert not VoiceModel.objects.exists()


def test_a_representative_submits_evidence_and_waits_for_verification(client: Client) -> None:
    rep = f.RepresentativeFactory()
    client.force_login(rep.user)
    bad = client.post(
        "/studio/performers/new/",
        {
            "legal_name": "Late Larry",
            "stage_name": "Larry",
            "kind": "estate_executor",
            "evidence": SimpleUploadedFile("will.pdf", b"MZ\x90\x00 an executable"),
        },
    ).content.decode()
    assert "This file is not a PDF, PNG, JPEG file." in bad
    assert not Performer.objects.exists()
    response = client.post(
        "/studio/performers/new/",
        {
            "legal_name": "Late Larry",
            "stage_name": "Larry",
            "kind": "estate_executor",
            "evidence": SimpleUploadedFile("will.pdf", PDF_BYTES),
        },
    )
    assert response.status_code == 302
    authority = Authority.objects.get()
    assert authority.status == "pending" and authority.performer.is_living is False
    # Until verified the representative acts for nobody.
    assert "Register a voice" not in client.get("/studio/").content.decode()
    assert client.get("/studio/voices/new/").status_code == 403


def test_the_brand_dashboard_is_for_its_members(
    client: Client, brand_bob: Any, outsider_carol: Any
) -> None:
    slug = brand_bob.brand_memberships.get().brand.slug
    client.force_login(brand_bob)
    assert "Bobcat Audio" in client.get(f"/brands/{slug}/").content.decode()
    client.force_login(outsider_carol)
    assert client.get(f"/brands/{slug}/").status_code == 404


def test_the_api_docs_are_served_without_a_cdn(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "https://" not in page.replace("https://swagger.io", "")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/voices" in schema["paths"] and "/api/v1/me" in schema["paths"]
