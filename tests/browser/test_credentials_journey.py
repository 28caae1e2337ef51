"""A stamped file uploaded on /verify/ reads "licensed, active"; after the license is
revoked, the same file reads "revoked"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry import services as registry_services
from tests import factories as f
from tests.browser.helpers import person
from tests.credentials.helpers import record
from tests.helpers import wav_bytes
from tests.royalties.helpers import issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stamped_file_reads_licensed_then_revoked(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    alice = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=alice, display_name="Alice Warm", slug="alice-warm")
    bob = f.MembershipFactory(
        brand__name="Bobcat Audio", user__email="bob@example.com", role="owner"
    ).user
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    lic = issue(voice, bob, operator, media=["tv"], languages=["en-US"], territories=["US"])
    audio = wav_bytes(seconds=1.0, rate=16000)
    work = record(lic, audio)
    key = registry_services.api_key_create(
        actor=bob, owner=bob.brand_memberships.get().brand, name="pipeline"
    )[1]

    # The brand's pipeline stamps the work's audio.
    api = browser.new_context(base_url=live_server.url)
    response = api.request.post(
        live_server.url + f"/api/v1/works/{work.work_id}/stamp",
        data=audio,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "audio/wav"},
    )
    assert response.status == 200, response.text()
    stamped = tmp_path / "spot.wav"
    stamped.write_bytes(response.body())

    # Anyone uploads the stamped file on /verify/.
    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto("/verify/")
    visitor.set_input_files("#id_audio", str(stamped))
    visitor.click("button:has-text('Verify')")
    verdict = visitor.inner_text("#credentials")
    assert "Licensed, active" in verdict
    assert work.work_id in verdict and lic.license_id in verdict
    assert "created by a trained algorithm" in verdict

    # The performer revokes the license; the same file now says so.
    performer = person(browser, live_server, "alice@example.com")
    performer.goto(f"/licenses/{lic.license_id}/")
    performer.select_option("select[name=reason]", "breach")
    performer.click("button:has-text('Revoke license')")
    performer.wait_for_selector(f"text=License {lic.license_id} revoked")

    visitor.goto("/verify/")
    visitor.set_input_files("#id_audio", str(stamped))
    visitor.click("button:has-text('Verify')")
    assert "Revoked" in visitor.inner_text("#credentials")
    api.close()
