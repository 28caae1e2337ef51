"""The pages of the record fit a phone and a desk: nothing widens the page sideways (wide
tables scroll inside their card)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from registry import services as registry_services
from royalties.models import Payee
from royalties.services import work_void
from tests import factories as f
from tests.browser.helpers import PASSWORD
from tests.helpers import wav_bytes
from tests.royalties.helpers import issue, record_one

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [(390, 844), (1280, 800)]


def _login(browser: Any, live_server: Any, email: str, width: int, height: int) -> Any:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_load_state()
    return page


def _fits(page: Any, width: int, path: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))""",
        width,
    )
    assert overflow <= width, f"{path} is {overflow}px wide on a {width}px screen: {wide}"


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_records_pages_fit_the_screen(
    browser: Any, live_server: Any, width: int, height: int
) -> None:
    alice = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=alice, display_name="Alice Warm", slug="alice-warm")
    bob = f.MembershipFactory(
        brand__name="Bobcat Audio", brand__slug="bobcat", user__email="bob@example.com"
    ).user
    f.AuditorFactory(user__email="ada@example.com", organisation="Performers' Union")
    operator = f.UserFactory(email="olive@example.com", is_staff=True)
    lic = issue(voice, bob, operator, media=["tv"], languages=["en-US"])
    record_one(lic, "a-rather-long-client-reference-for-the-spring-campaign-spot-0001")
    second = record_one(lic, "spot-2")
    work_void(brand=lic.brand, work_id=second.work_id)
    registry_services.audit_grant_give(
        actor=alice.user, performer=alice, auditor_email="ada@example.com"
    )
    payee = Payee.objects.get()

    page = _login(browser, live_server, "alice@example.com", width, height)
    month = f"{timezone.now():%Y-%m}"
    for path in (
        "/studio/works/",
        "/studio/auditors/",
        f"/statements/{payee.pk}/{month}/USD/",
        f"/licenses/{lic.license_id}/",
    ):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        _fits(page, width, path)

    brand = _login(browser, live_server, "bob@example.com", width, height)
    brand.goto("/brands/bobcat/usage/")
    _fits(brand, width, "/brands/bobcat/usage/")

    # /verify/ with a clip, answered in words.
    brand.goto("/verify/")
    brand.set_input_files(
        "input[name=audio]",
        files=[{"name": "clip.wav", "mimeType": "audio/wav", "buffer": wav_bytes()}],
    )
    brand.click("button[type=submit]")
    brand.wait_for_load_state()
    _fits(brand, width, "/verify/ (answer)")
