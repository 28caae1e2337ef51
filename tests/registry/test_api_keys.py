"""API keys: made on a page, shown once, stored hashed, revocable, never logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from registry.models import ApiKey, hash_api_key
from tests import factories as f

pytestmark = pytest.mark.django_db


def form_nonce(client: Client, url: str) -> str:
    match = re.search(r'name="nonce" value="([^"]+)"', client.get(url).content.decode())
    assert match, "the key form carries a one-time nonce"
    return match.group(1)


def create_key(client: Client, url: str, name: str = "pipeline") -> str:
    response = client.post(url, {"name": name, "nonce": form_nonce(client, url)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    match = re.search(r'id="new-api-key">(tmb_[A-Za-z0-9_-]+)<', response.content.decode())
    assert match, "the new key is shown on the page"
    return match.group(1)


def brand_url(user: Any) -> str:
    return f"/brands/{user.brand_memberships.get().brand.slug}/"


def test_a_brand_member_creates_a_key_and_calls_me_with_it(client: Client, brand_bob: Any) -> None:
    client.force_login(brand_bob)
    raw = create_key(client, brand_url(brand_bob))
    me = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200, me.content
    body = me.json()
    assert body["kind"] == "api_key"
    assert body["brand"]["name"] == "Bobcat Audio"
    assert body["api_key"]["name"] == "pipeline"
    assert body["api_key"]["last_used_at"] is not None
    assert ApiKey.objects.get().last_used_at is not None


def test_the_key_is_shown_once_and_stored_only_hashed(client: Client, brand_bob: Any) -> None:
    client.force_login(brand_bob)
    raw = create_key(client, brand_url(brand_bob))
    key = ApiKey.objects.get()
    assert key.key_hash == hash_api_key(raw)
    assert raw[:12] == key.prefix and len(raw) > 40
    # Not in any column of any table: dump the whole database and look.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 — table names from introspection
            assert raw not in repr(cursor.fetchall()), f"clear key found in {table}"
    again = client.get(brand_url(brand_bob))
    assert raw not in again.content.decode()
    assert key.prefix in again.content.decode()


def test_an_auditor_gets_a_key_too(client: Client, auditor_ada: Any) -> None:
    client.force_login(auditor_ada)
    raw = create_key(client, "/auditor/", "monitor")
    body = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["auditor"] is True and body["brand"] is None


def test_a_revoked_key_stops_working(client: Client, brand_bob: Any) -> None:
    client.force_login(brand_bob)
    raw = create_key(client, brand_url(brand_bob))
    key = ApiKey.objects.get()
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    response = client.post(f"/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    refused = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/authentication-failed"
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == brand_bob


def test_another_brand_can_neither_see_nor_revoke_the_key(
    client: Client, brand_bob: Any, brand_hank: Any
) -> None:
    client.force_login(brand_bob)
    raw = create_key(client, brand_url(brand_bob))
    key = ApiKey.objects.get()
    hank = Client()
    hank.force_login(brand_hank)
    assert hank.get(brand_url(brand_bob)).status_code == 404
    assert hank.post(brand_url(brand_bob), {"name": "mine", "nonce": "n" * 20}).status_code == 404
    assert hank.post(f"/keys/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_an_outsider_cannot_make_keys_for_a_brand(
    client: Client, brand_bob: Any, outsider_carol: Any
) -> None:
    client.force_login(outsider_carol)
    assert client.post(brand_url(brand_bob), {"name": "x", "nonce": "n" * 20}).status_code == 404
    assert client.get("/auditor/").status_code == 403
    assert not ApiKey.objects.exists()


def test_a_resubmitted_form_makes_no_second_key(client: Client, brand_bob: Any) -> None:
    client.force_login(brand_bob)
    url = brand_url(brand_bob)
    nonce = form_nonce(client, url)
    first = client.post(url, {"name": "pipeline", "nonce": nonce})
    assert 'id="new-api-key"' in first.content.decode()
    again = client.post(url, {"name": "pipeline", "nonce": nonce})  # the browser's reload
    page = again.content.decode()
    assert 'id="new-api-key"' not in page
    assert "already used" in page
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize(
    "header",
    ["Bearer tmb_not-a-real-key", "Bearer ", "Bearer two words", "bearer tmb_x"],
)
def test_it_refuses_unknown_or_malformed_keys(header: str, brand_bob: Any) -> None:
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]


def test_keys_never_reach_the_logs(
    client: Client, brand_bob: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(brand_bob)
    with caplog.at_level(logging.DEBUG):
        raw = create_key(client, brand_url(brand_bob))
        Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        Client().get("/api/v1/voices/999", HTTP_AUTHORIZATION=f"Bearer {raw}")  # a logged 404
        client.post(f"/keys/{ApiKey.objects.get().pk}/revoke/")
        Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")  # a logged 401
    assert caplog.records, "the requests above do log"
    assert raw not in caplog.text
    assert raw[12:] not in caplog.text


def test_last_used_is_recorded_at_most_once_a_minute(brand_bob: Any) -> None:
    from registry import services

    brand = brand_bob.brand_memberships.get().brand
    _, raw = services.api_key_create(actor=brand_bob, owner=brand, name="k")
    Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = ApiKey.objects.get().last_used_at
    Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - timezone.timedelta(minutes=5))
    Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ApiKey.objects.get().last_used_at > timezone.now() - timezone.timedelta(minutes=1)


def test_a_brand_key_cannot_manage_voices(brand_bob: Any, performer_alice: Any) -> None:
    from registry import services

    brand = brand_bob.brand_memberships.get().brand
    _, raw = services.api_key_create(actor=brand_bob, owner=brand, name="k")
    voice = f.VoiceFactory(performer=performer_alice)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = Client().post(
        f"/api/v1/voices/{voice.pk}/status",
        {"status": "retired"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403
    assert Client().get(f"/api/v1/voices/{voice.pk}", **auth).status_code == 200


def test_me_describes_a_signed_in_person(
    client: Client, agent_gina: Any, performer_alice: Any
) -> None:
    client.force_login(agent_gina)
    body = client.get("/api/v1/me").json()
    assert body["kind"] == "user"
    assert body["email"] == "gina@example.com"
    assert [p["stage_name"] for p in body["represents"]] == ["Alice Avery"]
