"""What people do on the site, in a real browser, without shortcuts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.models import ConsentRecord, Performer, VoiceModel
from tests import factories as f
from tests.helpers import identity_verified, wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_up(page: Any, role: str, email: str, **fields: str) -> None:
    page.goto("/signup/")
    page.check(f"input[name=role][value={role}]")
    page.fill("#id_display_name", fields.pop("display_name", "Test Person"))
    page.fill("#id_email", email)
    page.fill("#id_password", "a-long-passphrase-42")
    if role == "performer":
        page.check("#id_adult")
    for name, value in fields.items():
        if name == "brand_country":
            page.select_option("#id_brand_country", value)
        else:
            page.fill(f"#id_{name}", value)
    page.click("button:has-text('Create account')")


def test_a_performer_registers_a_voice_with_consent_and_a_visitor_finds_it(
    page: Any, browser: Any, live_server: Any, tmp_path: Path
) -> None:
    sign_up(
        page,
        "performer",
        "rosa@example.com",
        display_name="Rosa Reyes",
        legal_name="Rosa Maria Reyes",
        stage_name="Rosa Reyes",
    )
    page.wait_for_url("**/studio/")

    page.click("text=Register a voice")
    page.fill("#id_display_name", "Rosa Midnight")
    page.fill("#id_description", "Smoky late-night radio voice.")
    page.fill("#id_languages", "es-MX, en-US")
    page.fill("#id_styles", "smoky, calm")
    page.check("input[name=uses][value=podcast]")
    page.fill("#id_provider", "ElevenLabs")
    page.fill("#id_model_sha256", "f" * 64)
    sample = tmp_path / "rosa.wav"
    sample.write_bytes(wav_bytes(seconds=1))
    page.set_input_files("#id_sample_audio", str(sample))
    page.click("button:has-text('Save')")

    page.wait_for_selector("text=Voice registered as a draft")
    assert page.locator(".status").first.inner_text().lower() == "draft"
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=cannot become active without the performer's consent")

    assert "Consent to register and license a synthetic voice" in page.inner_text("pre.statement")
    page.check("#id_accept")
    page.click("button:has-text('Give consent')")
    page.wait_for_selector("text=Consent recorded")
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=only once an operator has verified the performer's identity")
    # An operator verifies her identity (the browser journey of that is in
    # test_identity_journey); then the voice goes live.
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    identity_verified(Performer.objects.get(user__email="rosa@example.com"), operator)
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=The voice is now active")

    voice = VoiceModel.objects.get(display_name="Rosa Midnight")
    assert voice.status == "active" and voice.languages == ["es-MX", "en-US"]
    consent = ConsentRecord.objects.get(voice=voice)
    assert "HeadlessChrome" in consent.user_agent or "Chrome" in consent.user_agent

    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto("/")
    visitor.fill("input[name=language]", "es")
    visitor.fill("input[name=q]", "midnight")
    visitor.click("button:has-text('Find voices')")
    visitor.click("text=Rosa Midnight")
    visitor.wait_for_selector("h1:has-text('Rosa Midnight')")
    assert "Rosa Reyes" in visitor.inner_text(".byline")
    audio_src = visitor.get_attribute("audio", "src")
    sample_response = visitor.request.get(live_server.url + audio_src)
    assert sample_response.status == 200
    assert sample_response.body() == wav_bytes(seconds=1)
    visitor.context.close()


def test_a_brand_member_creates_an_api_key_and_calls_me(page: Any, live_server: Any) -> None:
    sign_up(
        page,
        "brand",
        "maya@example.com",
        display_name="Maya Marketer",
        brand_name="Sunrise Juice",
        brand_country="PT",
    )
    page.wait_for_url("**/brands/**")
    assert "Sunrise Juice" in page.inner_text("h1")

    page.fill("#id_name", "render farm")
    page.click("button:has-text('Create API key')")
    key = page.inner_text("#new-api-key").strip()
    assert key.startswith("tmb_")

    me = page.request.get(
        live_server.url + "/api/v1/me", headers={"Authorization": f"Bearer {key}"}
    )
    assert me.status == 200
    body = me.json()
    assert body["kind"] == "api_key" and body["brand"]["name"] == "Sunrise Juice"

    page.reload()  # re-submits the form: no second key, and the key is not shown again
    assert key not in page.content(), "the key is shown once"
    assert "already used" in page.content()
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("text=revoked")
    again = page.request.get(
        live_server.url + "/api/v1/me", headers={"Authorization": f"Bearer {key}"}
    )
    assert again.status == 401
