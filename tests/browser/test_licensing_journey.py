"""The licensing flow end to end, in a real browser, one person at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from licensing import services
from licensing.models import License
from tests import factories as f
from tests.browser.helpers import person
from tests.licensing.helpers import offer_terms

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_request_approve_settle_download_verify_revoke(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    alice = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=alice, display_name="Alice Warm", slug="alice-warm")
    offer = services.offer_publish(
        actor=alice.user, voice=voice, title="Ads in North America", offer_terms=offer_terms()
    )
    f.MembershipFactory(brand__name="Bobcat Audio", user__email="bob@example.com", role="owner")
    f.UserFactory(email="olive@example.com", is_staff=True)

    # The brand asks.
    bob = person(browser, live_server, "bob@example.com")
    bob.goto(f"/offers/{offer.pk}/")
    bob.fill("#id_campaign", "Bobcat launch")
    bob.fill("#id_product", "Headphones")
    bob.fill("#id_script_summary", "Two radio spots announcing our headphones.")
    bob.fill("#id_territories", "US")
    bob.fill("#id_languages", "en-US")
    bob.fill("#id_valid_until", (dt.date.today() + dt.timedelta(days=90)).isoformat())
    bob.click("button:has-text('Send request')")
    bob.wait_for_selector("text=Request sent")

    # The performer approves.
    performer = person(browser, live_server, "alice@example.com")
    performer.goto("/studio/requests/")
    assert "Bobcat launch" in performer.inner_text(".request")
    performer.fill(".request input[name=note]", "Welcome aboard")
    performer.click(".request button:has-text('Approve')")
    performer.wait_for_selector("text=Request approved")

    # The operator records the paid invoice.
    olive = person(browser, live_server, "olive@example.com")
    olive.goto("/operations/payments/")
    olive.fill("#fees input[name=reference]", "INV-2027-001")
    olive.click("button:has-text('Mark paid and issue')")
    olive.wait_for_selector("text=Settled: license")
    lic = License.objects.get()

    # The brand downloads the signed license and sees the label it must show.
    bob.goto("/dashboard/")
    bob.click("text=Requests and licenses")
    bob.click(f"a:has-text('{lic.license_id}') >> nth=0")
    assert lic.license_id in bob.inner_text("#disclosure")
    with bob.expect_download() as download_info:
        bob.click(f"text=Download {lic.license_id}.jws")
    saved = tmp_path / "license.jws"
    download_info.value.save_as(saved)
    assert saved.read_text() == lic.jws

    # Anyone verifies it by uploading the file.
    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto("/verify/")
    visitor.set_input_files("#id_file", str(saved))
    visitor.click("button:has-text('Verify')")
    assert "Valid license" in visitor.inner_text("#verdict")

    # The performer revokes it for breach.
    performer.goto(f"/licenses/{lic.license_id}/")
    performer.select_option("select[name=reason]", "breach")
    performer.click("button:has-text('Revoke license')")
    performer.wait_for_selector(f"text=License {lic.license_id} revoked")

    visitor.goto("/verify/")
    visitor.fill("#id_jws", saved.read_text())
    visitor.click("button:has-text('Verify')")
    verdict = visitor.inner_text("#verdict")
    assert "Not valid: revoked" in verdict and "has been revoked" in verdict
