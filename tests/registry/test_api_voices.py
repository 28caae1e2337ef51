"""POST/GET /api/v1/voices and /api/v1/voices/{id}: the catalog API and registration."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from registry import services
from registry.models import ConsentRecord, VoiceModel
from registry.tasks import voice_sample_inspect
from tests import factories as f
from tests.helpers import sha256_hex, wav_bytes

pytestmark = pytest.mark.django_db

DIGEST = "a" * 64


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def voice_payload(**over: Any) -> dict[str, Any]:
    payload = {
        "display_name": "Alice Bright",
        "languages": ["en-US", "fr"],
        "styles": ["bright"],
        "uses": ["podcast"],
        "provider": "ElevenLabs",
        "provider_ref": "vx-123",
        "model_sha256": DIGEST,
    }
    payload.update(over)
    return payload


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["detail"]
    if field is not None:
        assert field in body["errors"], body
    return body


def test_it_lists_only_active_voices_to_anyone() -> None:
    active = f.VoiceFactory(display_name="Shown")
    f.VoiceFactory(display_name="Draft", status="draft")
    f.VoiceFactory(display_name="Suspended", status="suspended")
    response = client_for().get("/api/v1/voices")
    assert response.status_code == 200
    names = [v["display_name"] for v in response.json()["results"]]
    assert names == ["Shown"]
    assert response.json()["results"][0]["id"] == str(active.pk)


def test_it_filters_by_language_style_use_and_words() -> None:
    f.VoiceFactory(
        display_name="Spanish", languages=["es-419"], styles=["bright"], uses=["dubbing"]
    )
    f.VoiceFactory(display_name="English", languages=["en-GB"], styles=["warm"], uses=["podcast"])
    client = client_for()

    def names(query: str) -> list[str]:
        return [v["display_name"] for v in client.get(f"/api/v1/voices?{query}").json()["results"]]

    assert names("language=es") == ["Spanish"]  # primary language matches regional tags
    assert names("language=es-419") == ["Spanish"]
    assert names("language=en-us") == []
    assert names("style=warm") == ["English"]
    assert names("use=dubbing") == ["Spanish"]
    assert names("q=engl") == ["English"]


def test_it_registers_a_voice_as_a_draft_for_the_performer(performer_alice: Any) -> None:
    response = client_for(performer_alice.user).post(
        "/api/v1/voices", voice_payload(), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["languages"] == ["en-US", "fr"]
    assert body["performer"]["id"] == str(performer_alice.pk)
    voice = VoiceModel.objects.get(pk=body["id"])
    assert voice.status_changes.get().to_status == "draft"


def test_it_hashes_an_uploaded_model_artefact(performer_alice: Any) -> None:
    artefact = b"model weights" * 1000
    payload = voice_payload()
    del payload["model_sha256"]
    payload["model_file"] = SimpleUploadedFile("model.bin", artefact)
    response = client_for(performer_alice.user).post("/api/v1/voices", payload, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["model_sha256"] == sha256_hex(artefact)


def test_it_stores_a_sample_and_queues_its_inspection(
    performer_alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = voice_payload()
    payload["sample_audio"] = SimpleUploadedFile("s.wav", wav_bytes(seconds=0.5), "audio/wav")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(performer_alice.user).post(
            "/api/v1/voices", payload, format="multipart"
        )
    assert response.status_code == 201, response.content
    voice = VoiceModel.objects.get(pk=response.json()["id"])
    assert voice.sample_content_type == "audio/wav"
    assert voice.sample_sha256 == sha256_hex(wav_bytes(seconds=0.5))
    assert len(callbacks) == 1, "inspection is queued once, after the commit"


def test_inspecting_a_sample_is_safe_to_run_twice(performer_alice: Any) -> None:
    payload = voice_payload()
    payload["sample_audio"] = SimpleUploadedFile("s.wav", wav_bytes(seconds=0.5), "audio/wav")
    voice_id = (
        client_for(performer_alice.user)
        .post("/api/v1/voices", payload, format="multipart")
        .json()["id"]
    )
    assert voice_sample_inspect(int(voice_id)) == 500
    assert voice_sample_inspect(int(voice_id)) == 500
    voice = VoiceModel.objects.get(pk=voice_id)
    assert voice.sample_duration_ms == 500 and voice.sample_inspected_at is not None
    # A stale run for a sample that has since been replaced records nothing.
    VoiceModel.objects.filter(pk=voice_id).update(
        sample_sha256="0" * 64, sample_duration_ms=None, sample_inspected_at=None
    )
    voice_sample_inspect(int(voice_id))
    assert VoiceModel.objects.get(pk=voice_id).sample_inspected_at is None
    assert voice_sample_inspect(987654) is None


def test_it_rejects_a_bad_language_code_and_writes_nothing(performer_alice: Any) -> None:
    response = client_for(performer_alice.user).post(
        "/api/v1/voices", voice_payload(languages=["en-US", "english", "en_GB"]), format="json"
    )
    body = assert_problem(response, 400, "languages")
    assert "english" in json.dumps(body["errors"])
    assert not VoiceModel.objects.exists()


def test_it_rejects_a_malformed_digest(performer_alice: Any) -> None:
    response = client_for(performer_alice.user).post(
        "/api/v1/voices", voice_payload(model_sha256="xyz"), format="json"
    )
    assert_problem(response, 400, "model_sha256")
    assert not VoiceModel.objects.exists()


def test_it_rejects_malformed_json(performer_alice: Any) -> None:
    response = client_for(performer_alice.user).post(
        "/api/v1/voices", data='{"display_name": "x",', content_type="application/json"
    )
    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-request"
    assert not VoiceModel.objects.exists()


def test_it_rejects_a_sample_that_is_not_audio(performer_alice: Any) -> None:
    payload = voice_payload()
    payload["sample_audio"] = SimpleUploadedFile("evil.wav", b"<html>not audio</html>", "audio/wav")
    response = client_for(performer_alice.user).post("/api/v1/voices", payload, format="multipart")
    assert_problem(response, 400, "sample_audio")
    assert not VoiceModel.objects.exists()


def test_it_rejects_an_oversized_sample(performer_alice: Any, settings: Any) -> None:
    settings.TIMBRE_MAX_SAMPLE_BYTES = 1000
    payload = voice_payload()
    payload["sample_audio"] = SimpleUploadedFile("big.wav", wav_bytes(seconds=1), "audio/wav")
    response = client_for(performer_alice.user).post("/api/v1/voices", payload, format="multipart")
    body = assert_problem(response, 400, "sample_audio")
    assert "limit is 1,000 bytes" in body["detail"]
    assert not VoiceModel.objects.exists()


def test_it_refuses_the_same_model_twice(performer_alice: Any, performer_dave: Any) -> None:
    assert (
        client_for(performer_alice.user)
        .post("/api/v1/voices", voice_payload(), format="json")
        .status_code
        == 201
    )
    response = client_for(performer_dave.user).post(
        "/api/v1/voices", voice_payload(), format="json"
    )
    assert_problem(response, 400, "model_sha256")
    assert VoiceModel.objects.count() == 1


def test_it_needs_a_signed_in_person_to_register(brand_bob: Any) -> None:
    assert_problem(client_for().post("/api/v1/voices", voice_payload(), format="json"), 401)
    # A brand member is signed in but acts for no performer.
    response = client_for(brand_bob).post("/api/v1/voices", voice_payload(), format="json")
    assert_problem(response, 403)
    assert not VoiceModel.objects.exists()


def test_it_hides_drafts_from_everyone_but_their_managers(
    performer_alice: Any, performer_dave: Any
) -> None:
    draft = f.VoiceFactory(performer=performer_alice, status="draft")
    assert client_for().get(f"/api/v1/voices/{draft.pk}").status_code == 404
    assert client_for(performer_dave.user).get(f"/api/v1/voices/{draft.pk}").status_code == 404
    assert client_for(performer_alice.user).get(f"/api/v1/voices/{draft.pk}").status_code == 200


def test_a_performer_cannot_change_another_performers_voice(
    performer_alice: Any, performer_dave: Any
) -> None:
    voice = f.VoiceFactory(performer=performer_alice, display_name="Alice's")
    client = client_for(performer_dave.user)
    assert_problem(
        client.patch(f"/api/v1/voices/{voice.pk}", {"display_name": "Stolen"}, format="json"), 403
    )
    assert_problem(
        client.post(f"/api/v1/voices/{voice.pk}/status", {"status": "retired"}, format="json"), 403
    )
    assert_problem(
        client.post(f"/api/v1/voices/{voice.pk}/consent/withdraw", {"reason": "x"}, format="json"),
        403,
    )
    assert_problem(
        client.post("/api/v1/voices", voice_payload(performer=performer_alice.pk), format="json"),
        403,
    )
    voice.refresh_from_db()
    assert (voice.display_name, voice.status) == ("Alice's", "active")
    assert voice.current_consent() is not None


def test_the_owner_updates_descriptive_fields_only(performer_alice: Any) -> None:
    voice = f.VoiceFactory(performer=performer_alice)
    client = client_for(performer_alice.user)
    response = client.patch(
        f"/api/v1/voices/{voice.pk}", {"description": "New", "languages": ["de-DE"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["languages"] == ["de-DE"]
    response = client.patch(f"/api/v1/voices/{voice.pk}", {"languages": ["nope!"]}, format="json")
    assert_problem(response, 400, "languages")
    voice.refresh_from_db()
    assert voice.languages == ["de-DE"]
    assert " lang:de " in voice.search_tokens


def test_a_representative_acts_only_for_performers_they_hold_authority_for(
    agent_gina: Any, performer_alice: Any, performer_dave: Any
) -> None:
    client = client_for(agent_gina)
    ok = client.post("/api/v1/voices", voice_payload(performer=performer_alice.pk), format="json")
    assert ok.status_code == 201, ok.content
    refused = client.post(
        "/api/v1/voices",
        voice_payload(performer=performer_dave.pk, model_sha256="b" * 64),
        format="json",
    )
    assert_problem(refused, 403)
    dave_voice = f.VoiceFactory(performer=performer_dave)
    assert_problem(
        client.patch(f"/api/v1/voices/{dave_voice.pk}", {"description": "x"}, format="json"), 403
    )
    assert VoiceModel.objects.filter(performer=performer_dave).count() == 1


def test_a_pending_or_revoked_authority_lets_nobody_act(performer_dave: Any) -> None:
    pending = f.AuthorityFactory(performer=performer_dave, status="pending", verified_at=None)
    client = client_for(pending.representative.user)
    assert_problem(
        client.post("/api/v1/voices", voice_payload(performer=performer_dave.pk), format="json"),
        403,
    )
    pending.status = "active"
    pending.save()
    assert (
        client.post(
            "/api/v1/voices", voice_payload(performer=performer_dave.pk), format="json"
        ).status_code
        == 201
    )
    services.authority_revoke(authority=pending)
    voice = VoiceModel.objects.get()
    assert_problem(
        client.post(f"/api/v1/voices/{voice.pk}/status", {"status": "retired"}, format="json"), 404
    )


def test_a_voice_cannot_become_active_without_consent(performer_alice: Any) -> None:
    client = client_for(performer_alice.user)
    voice_id = client.post("/api/v1/voices", voice_payload(), format="json").json()["id"]
    body = assert_problem(
        client.post(f"/api/v1/voices/{voice_id}/status", {"status": "active"}, format="json"),
        400,
        "consent",
    )
    assert "consent" in body["detail"]
    assert VoiceModel.objects.get(pk=voice_id).status == "draft"


def test_the_full_consent_lifecycle(performer_alice: Any) -> None:
    client = client_for(performer_alice.user)
    client.credentials(HTTP_USER_AGENT="pytest-agent/1.0")
    voice_id = client.post("/api/v1/voices", voice_payload(), format="json").json()["id"]

    statement = client.get(f"/api/v1/voices/{voice_id}/consent").json()
    assert statement["current"] is None
    assert DIGEST in statement["statement_text"]

    refused = client.post(
        f"/api/v1/voices/{voice_id}/consent",
        {"statement_version": statement["statement_version"], "accept": False},
        format="json",
    )
    assert_problem(refused, 400, "accept")
    stale = client.post(
        f"/api/v1/voices/{voice_id}/consent",
        {"statement_version": "timbre-consent/0", "accept": True},
        format="json",
    )
    assert_problem(stale, 400, "statement_version")
    assert not ConsentRecord.objects.exists()

    given = client.post(
        f"/api/v1/voices/{voice_id}/consent",
        {"statement_version": statement["statement_version"], "accept": True},
        format="json",
    )
    assert given.status_code == 201, given.content
    record = ConsentRecord.objects.get()
    assert record.statement_sha256 == sha256_hex(record.statement_text.encode())
    assert record.statement_text == statement["statement_text"]
    assert record.user_agent == "pytest-agent/1.0"
    assert record.ip_address == "127.0.0.1"
    assert record.given_as == "performer"

    assert (
        client.post(
            f"/api/v1/voices/{voice_id}/status", {"status": "active"}, format="json"
        ).json()["status"]
        == "active"
    )
    withdrawn = client.post(
        f"/api/v1/voices/{voice_id}/consent/withdraw", {"reason": "changed my mind"}, format="json"
    )
    assert withdrawn.json()["status"] == "suspended"
    record.refresh_from_db()
    assert record.withdrawn_at is not None and record.withdrawal_reason == "changed my mind"
    again = client.post(f"/api/v1/voices/{voice_id}/status", {"status": "active"}, format="json")
    assert_problem(again, 400, "consent")


def test_an_agent_may_manage_but_not_consent(agent_gina: Any, performer_alice: Any) -> None:
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    client = client_for(agent_gina)
    assert_problem(client.get(f"/api/v1/voices/{voice.pk}/consent"), 403)
    response = client.post(
        f"/api/v1/voices/{voice.pk}/consent",
        {"statement_version": "timbre-consent/2", "accept": True},
        format="json",
    )
    assert_problem(response, 403)
    assert not ConsentRecord.objects.exists()


def test_an_estates_executor_consents_for_a_late_performer(
    executor_erin: Any, late_frank: Any
) -> None:
    voice = f.VoiceFactory(performer=late_frank, status="draft", created_by=executor_erin)
    client = client_for(executor_erin)
    response = client.post(
        f"/api/v1/voices/{voice.pk}/consent",
        {"statement_version": "timbre-consent/2", "accept": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["given_as"] == "estate_executor"
    assert ConsentRecord.objects.get().authority.performer == late_frank


def test_a_minors_voice_is_flagged_and_capped_at_five_years(db: None) -> None:
    minor = f.PerformerFactory(is_minor=True)
    voice = f.VoiceFactory(performer=minor, status="draft")
    body = client_for(minor.user).get(f"/api/v1/voices/{voice.pk}").json()
    assert body["minor_voice"] is True and body["max_license_years"] == 5
    assert f.VoiceFactory().max_license_years == 10


def test_a_minor_cannot_consent_alone_but_their_guardian_can(db: None) -> None:
    minor = f.PerformerFactory(is_minor=True)
    guardian = f.AuthorityFactory(performer=minor, kind="guardian").representative.user
    voice = f.VoiceFactory(performer=minor, status="draft")
    payload = {"statement_version": "timbre-consent/2", "accept": True}
    assert_problem(
        client_for(minor.user).post(f"/api/v1/voices/{voice.pk}/consent", payload, format="json"),
        403,
    )
    response = client_for(guardian).post(
        f"/api/v1/voices/{voice.pk}/consent", payload, format="json"
    )
    assert response.json()["given_as"] == "guardian"
