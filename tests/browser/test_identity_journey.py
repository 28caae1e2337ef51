"""A new performer proves who she is in the browser: she records the challenge sentence
with the microphone (Chromium's fake device, through getUserMedia and MediaRecorder) and
uploads an ID; her voice stays off the catalog until an operator verifies her in the
queue. A second sign-up under her name is flagged there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.models import IdentityVerification, Performer, VoiceModel
from tests import factories as f
from tests.browser.helpers import person
from tests.browser.test_journeys import sign_up
from tests.browser.test_phone_layout import WIDTHS, _fits, _login
from tests.helpers import PDF_BYTES, identity_verified, wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_catalog(browser: Any, live_server: Any, name: str) -> str | None:
    """The catalog card's text for the voice ``name``, or None if it is not listed."""
    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto("/")
    cards = visitor.locator(".card", has_text=name)
    text = cards.first.inner_text() if cards.count() else None
    visitor.context.close()
    return text


def test_a_new_performer_is_verified_before_her_voice_goes_live(
    media_browser: Any, live_server: Any, tmp_path: Path
) -> None:
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    page = media_browser.new_context(base_url=live_server.url).new_page()
    page.set_default_timeout(15_000)
    sign_up(
        page,
        "performer",
        "lena@example.com",
        display_name="Lena Lark",
        legal_name="Lena Maria Lark",
        stage_name="Lena Lark",
    )
    page.wait_for_url("**/studio/")
    assert "Verify your identity" in page.inner_text("#identity")

    # She registers a voice and consents; it cannot go live yet.
    page.click("text=Register a voice")
    page.fill("#id_display_name", "Lena Daybreak")
    page.fill("#id_languages", "en-GB")
    page.fill("#id_provider", "ElevenLabs")
    page.fill("#id_model_sha256", "e" * 64)
    sample = tmp_path / "lena.wav"
    sample.write_bytes(wav_bytes(seconds=1))
    page.set_input_files("#id_sample_audio", str(sample))
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Voice registered as a draft")
    page.check("#id_accept")
    page.click("button:has-text('Give consent')")
    page.wait_for_selector("text=Consent recorded")
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=only once an operator has verified the performer's identity")
    assert VoiceModel.objects.get(display_name="Lena Daybreak").status == "draft"

    # She records the challenge sentence with the microphone and uploads her ID.
    page.click("#identity-needed a")
    page.wait_for_url("**/studio/identity/")
    sentence = page.inner_text("#challenge-text")
    page.click("button:has-text('Record')")
    page.wait_for_selector("text=Recording…")
    page.wait_for_timeout(1500)
    page.click("button:has-text('Stop')")
    page.wait_for_selector("text=Listen to it, then submit")
    assert page.evaluate("document.getElementById('id_recording').files[0].type") == "audio/webm"
    passport = tmp_path / "passport.pdf"
    passport.write_bytes(PDF_BYTES)
    page.set_input_files("#id_document", str(passport))
    page.click("button:has-text('Send for verification')")
    page.wait_for_selector("text=An operator will check your evidence")
    submission = IdentityVerification.objects.get()
    assert submission.status == "pending" and submission.challenge_text == sentence
    assert submission.recording_content_type == "audio/webm"
    assert submission.recording.size > 1000  # real Opus audio from the fake microphone
    assert in_catalog(media_browser, live_server, "Lena Daybreak") is None

    # The operator listens beside the sample, looks at the ID, and verifies her.
    olive = person(media_browser, live_server, operator.email)
    olive.goto("/operations/identity/")
    item = olive.locator(f"#submission-{submission.pk}")
    assert sentence in item.inner_text()
    assert item.locator("audio").count() == 2  # the challenge, and the voice's sample
    recording_src = item.locator("audio").first.get_attribute("src")
    heard = olive.request.get(recording_src)
    assert heard.ok and heard.headers["content-type"] == "audio/webm"
    with olive.expect_popup() as popup:
        item.locator("text=View the document").click()
    assert popup.value.url.endswith(f"/identity/{submission.pk}/document")
    item.locator("button:has-text('Verify')").click()
    olive.wait_for_selector("text=Lena Lark: identity verified.")
    assert "Lena Lark" not in olive.inner_text("main section:first-of-type")

    # Now her voice goes live, marked verified.
    page.goto("/studio/")
    page.click("text=Lena Daybreak")
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=The voice is now active")
    card = in_catalog(media_browser, live_server, "Lena Daybreak")
    assert card is not None and "Identity verified" in card

    # Someone else signs up under her name: the operator's queue flags it.
    impostor = media_browser.new_context(base_url=live_server.url).new_page()
    sign_up(
        impostor,
        "performer",
        "not-lena@example.com",
        display_name="Lena",
        legal_name="Lena Smith",
        stage_name="  lena   LARK",
    )
    impostor.wait_for_url("**/studio/")
    olive.goto("/operations/identity/")
    flagged = olive.locator("tr.name-flag", has_text="not-lena@example.com")
    assert flagged.count() == 1
    assert "Lena Lark (Lena Maria Lark)" in flagged.inner_text()


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_identity_pages_fit_the_screen(
    browser: Any, live_server: Any, width: int, height: int
) -> None:
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    famous = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    nina = f.PerformerFactory(
        unverified=True, stage_name="Alice Avery", user__email="nina@example.com"
    )
    f.VoiceFactory(performer=nina, status="draft", display_name="A Voice With A Long Name")
    refused = f.PerformerFactory(unverified=True, user__email="rita@example.com")
    identity_verified(refused, operator, approve=False)
    from registry import identity
    from tests.registry.test_identity import submit

    submit(Performer.objects.get(pk=nina.pk))
    Performer.objects.filter(pk=nina.pk).update(namesake_of=famous)

    pages = {
        "nina@example.com": ["/studio/identity/", "/studio/"],
        "rita@example.com": ["/studio/identity/"],
        "olive@example.com": ["/operations/identity/"],
    }
    for email, paths in pages.items():
        page = _login(browser, live_server, email, width, height)
        for path in paths:
            page.goto(path)
            assert page.locator("h1").count() == 1, path
            _fits(page, width, path)
        page.context.close()
    assert identity.identity_queue()[0][0].flagged
