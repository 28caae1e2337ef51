"""A person logged in, in a browser context of their own."""

from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery"  # every factory-made user's password


def person(browser: Any, live_server: Any, email: str) -> Any:
    page = browser.new_context(base_url=live_server.url, accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_load_state()
    return page
