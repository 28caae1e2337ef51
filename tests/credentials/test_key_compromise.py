"""A compromised signing key: every place that answers "is this license good?" says the
same thing, for a license logged after the compromise began and for one logged before.

The verify API, the status API, the by-hash lookup, the audio verdict of a stamped file,
the /verify/ page and the license page all ask licensing's one status function."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client

from licensing.keys import key_set_status
from licensing.models import SigningKey
from tests.credentials.helpers import record
from tests.helpers import wav_bytes
from tests.royalties.helpers import issue, record_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_licenses(voice: Any, brand_bob: Any, operator: Any, bob_key: str, client: Client) -> Any:
    """Two licenses signed by the same key, each with a stamped work; the key is then
    marked compromised from the second license's log index."""
    before = issue(voice, brand_bob, operator, campaign="Spring")
    after = issue(voice, brand_bob, operator, campaign="Autumn")
    assert before.signing_key_id == after.signing_key_id
    stamped = {}
    for n, lic in enumerate((before, after)):
        audio = wav_bytes(seconds=0.5, freq=300.0 + 100 * n)
        work = record(lic, audio, ref=f"spot-{n}")
        response = client.post(
            f"/api/v1/works/{work.work_id}/stamp",
            data=audio,
            content_type="audio/wav",
            HTTP_AUTHORIZATION=f"Bearer {bob_key}",
        )
        assert response.status_code == 200, response.content[:300]
        stamped[lic.license_id] = (work, response.content)
    key = SigningKey.objects.get(pk=after.signing_key_id)
    key_set_status(
        key=key, status=SigningKey.Status.COMPROMISED, compromised_from_index=after.log_index
    )
    return before, after, stamped


def answers(client: Client, brand_bob: Any, lic: Any, work: Any, stamped: bytes) -> dict[str, Any]:
    """What each surface says about `lic` today."""
    verify = client.post(
        "/api/v1/verify", {"jws": lic.jws}, content_type="application/json"
    ).json()["results"][0]
    status = client.get(f"/api/v1/licenses/{lic.license_id}/status").json()
    by_hash = client.get(f"/api/v1/works/by-hash/{work.content_sha256}").json()
    by_stamped_hash = client.get(
        f"/api/v1/works/by-hash/{hashlib.sha256(stamped).hexdigest()}"
    ).json()
    audio = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav").json()
    page = client.post("/verify/", {"jws": lic.jws}).content.decode()
    client.force_login(brand_bob)
    license_page = client.get(f"/licenses/{lic.license_id}/").content.decode()
    client.logout()
    return {
        "verify": (verify["valid"], verify["reason"], verify["license_status"]),
        "status": status["status"],
        "by_hash": (by_hash["licensed"], by_hash["matches"][0]["license_status"]),
        "by_stamped_hash": (
            by_stamped_hash["licensed"],
            by_stamped_hash["matches"][0]["license_status"],
        ),
        "audio": (audio["verdict"], audio["license"]["status"]),
        "page": page,
        "license_page": license_page,
    }


def test_a_license_logged_after_the_compromise_is_invalid_everywhere(
    client: Client, brand_bob: Any, two_licenses: Any
) -> None:
    _, after, stamped = two_licenses
    work, audio = stamped[after.license_id]
    said = answers(client, brand_bob, after, work, audio)
    assert said["verify"] == (False, "key_compromised", "key_compromised")
    assert said["status"] == "key_compromised"
    assert said["by_hash"] == (False, "key_compromised")
    assert said["by_stamped_hash"] == (False, "key_compromised")
    assert said["audio"] == ("key_compromised", "key_compromised")
    assert "compromised before this license was logged" in said["page"]
    assert 'id="license-status">key_compromised<' in said["license_page"]
    assert "compromised before this license was logged" in said["license_page"]


def test_a_license_logged_before_the_compromise_stays_valid_everywhere(
    client: Client, brand_bob: Any, two_licenses: Any
) -> None:
    before, _, stamped = two_licenses
    work, audio = stamped[before.license_id]
    said = answers(client, brand_bob, before, work, audio)
    assert said["verify"] == (True, None, "active")
    assert said["status"] == "active"
    assert said["by_hash"] == (True, "active")
    assert said["by_stamped_hash"] == (True, "active")
    assert said["audio"] == ("licensed", "active")
    assert "Valid" in said["page"] or "valid" in said["page"]
    assert 'id="license-status">active<' in said["license_page"]
    assert 'id="status-words"' not in said["license_page"]


def test_no_work_is_recorded_under_a_license_its_key_no_longer_vouches_for(
    two_licenses: Any,
) -> None:

    from licensing.models import License
    from licensing.permission import WorkFacts, WorkPermission

    before, after, _ = two_licenses
    outcome = record_one(after, "late")
    assert (outcome.status, outcome.reason) == ("rejected", "key_compromised")
    # The license logged before the compromise may still take works.
    permission = WorkPermission(before.valid_from)
    facts = WorkFacts("advertising", "US", "en-US", "tv", 1000)
    fresh = License.objects.select_related("signing_key", "voice").get(pk=before.pk)
    assert permission.refusal(fresh, facts, works_used=0, milliseconds_used=0) is None
