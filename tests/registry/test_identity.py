"""Verified performers: the challenge, the evidence, the operators' queue, and the rule that
a voice goes live only once the performer's identity (or a representative's authority)
is verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from registry import identity, services
from registry.models import IdentityVerification, Performer, User, VoiceModel
from tests import factories as f
from tests.helpers import PDF_BYTES, identity_verified, wav_bytes, webm_bytes
from transparency.models import LogEntry
from verifier.events import event_problem, subjects

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer_nina(db: None) -> Performer:
    """A performer who signed up and has not proved who she is."""
    return f.PerformerFactory(
        unverified=True,
        stage_name="Nina North",
        legal_name="Nina Northcott",
        user__email="nina@example.com",
    )


@pytest.fixture
def operator_olive(db: None) -> User:
    return f.UserFactory(email="olive@example.com", is_staff=True)


def consented_draft(performer: Performer) -> VoiceModel:
    voice = f.VoiceFactory(performer=performer, status="draft", display_name="Nina Bright")
    services.consent_give(
        actor=performer.user,
        voice=voice,
        statement_version=services.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="test",
    )
    return voice


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(name: str, data: bytes, kind: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, kind)


def submit(performer: Performer, **over: Any) -> IdentityVerification:
    challenge = identity.identity_challenge_issue(actor=performer.user, performer=performer)
    args: dict[str, Any] = {
        "actor": performer.user,
        "performer": performer,
        "challenge_id": challenge.pk,
        "recording": upload("challenge.webm", webm_bytes(2), "audio/webm"),
        "document": upload("passport.pdf", PDF_BYTES, "application/pdf"),
    }
    args.update(over)
    return identity.identity_submit(**args)


def events(kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(e.data))
        for e in LogEntry.objects.filter(event_type=kind).order_by("index")
    ]


# --- the rule: no live voice without verification ------------------------------------


def test_it_refuses_to_activate_an_unverified_performers_voice(newcomer_nina: Performer) -> None:
    voice = consented_draft(newcomer_nina)
    client = APIClient()
    client.force_authenticate(newcomer_nina.user)
    refused = client.post(f"/api/v1/voices/{voice.pk}/status", {"status": "active"}, format="json")
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "/problems/performer-unverified"
    assert "verified" in body["errors"]["performer"][0]
    voice.refresh_from_db()
    assert voice.status == "draft" and voice.registered_log_index is None
    assert not events("voice.registered")
    assert Client().get("/").content.decode().count("Nina Bright") == 0


def test_the_page_says_why_the_voice_did_not_go_live(newcomer_nina: Performer) -> None:
    voice = consented_draft(newcomer_nina)
    client = signed_in(newcomer_nina.user)
    page = client.get(f"/studio/voices/{voice.slug}/").content.decode()
    assert 'id="identity-needed"' in page and "/studio/identity/" in page
    response = client.post(
        f"/studio/voices/{voice.slug}/status/", {"status": "active"}, follow=True
    )
    assert "only once an operator has verified" in response.content.decode()
    voice.refresh_from_db()
    assert voice.status == "draft"


def test_a_verified_performers_voice_goes_live_and_is_marked_verified(
    newcomer_nina: Performer, operator_olive: User
) -> None:
    voice = consented_draft(newcomer_nina)
    identity_verified(newcomer_nina, operator_olive)
    services.voice_set_status(actor=newcomer_nina.user, voice=voice, status="active")
    [registered] = events("voice.registered")
    assert registered["identity"] == "identity_verified"
    assert event_problem(registered) is None
    catalog = Client().get("/").content.decode()
    assert "Nina Bright" in catalog and "Identity verified" in catalog
    page = Client().get(f"/voices/{voice.slug}/").content.decode()
    assert "Identity verified" in page
    api = APIClient().get(f"/api/v1/voices/{voice.pk}").json()
    assert api["performer"]["identity"] == "identity_verified"


def test_an_estate_voice_stands_on_the_executors_verified_authority(
    late_frank: Performer, executor_erin: User
) -> None:
    voice = f.VoiceFactory(performer=late_frank, status="draft", created_by=executor_erin)
    services.consent_give(
        actor=executor_erin,
        voice=voice,
        statement_version=services.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="test",
    )
    services.voice_set_status(actor=executor_erin, voice=voice, status="active")
    assert events("voice.registered")[0]["identity"] == "authority_verified"
    assert "Authority verified" in Client().get(f"/voices/{voice.slug}/").content.decode()


def test_an_estate_voice_without_verified_authority_stays_off(late_frank: Performer) -> None:
    pending = f.AuthorityFactory(performer=late_frank, kind="estate_executor", status="pending")
    assert late_frank.identity_standing() is None
    pending.status = "active"
    pending.save()
    assert late_frank.identity_standing() == "authority"


# --- the performer's evidence --------------------------------------------------------


def test_a_performer_records_the_challenge_and_an_operator_verifies_it(
    newcomer_nina: Performer, operator_olive: User
) -> None:
    nina = signed_in(newcomer_nina.user)
    page = nina.get("/studio/identity/").content.decode()
    challenge = newcomer_nina.identity_challenges.get()
    assert challenge.text in page and "MediaRecorder" not in page  # the script is static
    assert "js/recorder.js" in page
    sent = nina.post(
        "/studio/identity/",
        {
            "challenge": challenge.pk,
            "recording": upload("challenge.webm", webm_bytes(2), "audio/webm"),
            "document": upload("passport.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),
        },
    )
    assert sent.status_code == 302
    submission = IdentityVerification.objects.get()
    assert submission.status == "pending" and submission.challenge_text == challenge.text
    assert submission.recording_content_type == "audio/webm"
    assert submission.document_content_type == "image/png"
    assert len(submission.document_sha256) == 64
    assert "Pending" in nina.get("/studio/identity/").content.decode()
    assert "An operator is checking" in nina.get("/studio/").content.decode()

    olive = signed_in(operator_olive)
    queue = olive.get("/operations/identity/").content.decode()
    assert challenge.text in queue
    assert f"/identity/{submission.pk}/recording" in queue
    assert f"/identity/{submission.pk}/document" in queue
    decided = olive.post(f"/operations/identity/{submission.pk}/decide", {"decision": "approve"})
    assert decided.status_code == 302
    newcomer_nina.refresh_from_db()
    assert newcomer_nina.identity_verified_at is not None
    assert newcomer_nina.identity_standing() == "identity"
    assert challenge.text not in olive.get("/operations/identity/").content.decode()
    assert "Identity verified" in nina.get("/studio/identity/").content.decode()


def test_the_verification_is_logged_with_the_performer_id_only(
    newcomer_nina: Performer, operator_olive: User
) -> None:
    identity_verified(newcomer_nina, operator_olive)
    [logged] = events("performer.verified")
    assert set(logged) == {"type", "at", "performer_id"}
    assert logged["performer_id"] == str(newcomer_nina.pk)
    assert event_problem(logged) is None
    assert subjects(logged) == [f"performer:{newcomer_nina.pk}"]
    text = json.dumps(logged)
    for private in ("Nina", "Northcott", "nina@example.com"):
        assert private not in text


def test_the_event_shapes_refuse_what_does_not_fit() -> None:
    at = "2026-01-01T00:00:00Z"
    assert "performer_id" in str(event_problem({"type": "performer.verified", "at": at}))
    assert event_problem({"type": "performer.verified", "at": at, "performer_id": "x"})
    registered = {"type": "voice.registered", "at": at, "voice": {}, "performer": {}, "consent": {}}
    assert event_problem(registered) is None  # logged before the field existed
    assert event_problem({**registered, "identity": "authority_verified"}) is None
    assert "identity" in str(event_problem({**registered, "identity": "trust me"}))


def test_a_refused_verification_keeps_the_voice_off_the_catalog(
    newcomer_nina: Performer, operator_olive: User
) -> None:
    voice = consented_draft(newcomer_nina)
    submission = submit(newcomer_nina)
    olive = signed_in(operator_olive)
    olive.post(f"/operations/identity/{submission.pk}/decide", {"decision": "refuse"})
    submission.refresh_from_db()
    assert submission.status == "pending"  # a refusal needs a reason
    olive.post(
        f"/operations/identity/{submission.pk}/decide",
        {"decision": "refuse", "reason": "The document is unreadable."},
    )
    submission.refresh_from_db()
    assert submission.status == "refused"
    newcomer_nina.refresh_from_db()
    assert newcomer_nina.identity_standing() is None
    with pytest.raises(ValidationError):
        services.voice_set_status(actor=newcomer_nina.user, voice=voice, status="active")
    assert "Nina Bright" not in Client().get("/").content.decode()
    assert not events("performer.verified")
    nina = signed_in(newcomer_nina.user)
    page = nina.get("/studio/identity/").content.decode()
    assert "The document is unreadable." in page
    assert "The document is unreadable." in nina.get("/studio/").content.decode()
    # She tries again with a fresh sentence.
    fresh = newcomer_nina.identity_challenges.filter(used_at__isnull=True).get()
    assert fresh.text in page and fresh.pk != submission.challenge_id


def test_a_challenge_is_used_once(newcomer_nina: Performer) -> None:
    first = submit(newcomer_nina)
    with pytest.raises(ValidationError) as refused:
        submit(newcomer_nina, challenge_id=first.challenge_id)
    assert "already used" in str(refused.value)
    other = f.PerformerFactory(unverified=True)
    theirs = identity.identity_challenge_issue(actor=other.user, performer=other)
    with pytest.raises(ValidationError) as unknown:
        submit(newcomer_nina, challenge_id=theirs.pk)
    assert "Unknown challenge" in str(unknown.value)


def test_a_new_submission_replaces_a_pending_one(
    newcomer_nina: Performer, django_capture_on_commit_callbacks: Any
) -> None:
    first = submit(newcomer_nina)
    old_files = [Path(first.document.path), Path(first.recording.path)]
    assert all(p.exists() for p in old_files)
    with django_capture_on_commit_callbacks(execute=True):
        second = submit(newcomer_nina)
    first.refresh_from_db()
    assert first.status == "replaced" and not first.document and not first.recording
    assert not any(p.exists() for p in old_files)
    assert [s.pk for s in newcomer_nina.identity_verifications.filter(status="pending")] == [
        second.pk
    ]
    pending, _ = identity.identity_queue()
    assert [item.submission for item in pending] == [second]


def test_only_the_performer_sends_their_own_evidence(
    performer_alice: Performer, agent_gina: User, newcomer_nina: Performer
) -> None:
    with pytest.raises(PermissionDenied):
        identity.identity_challenge_issue(actor=agent_gina, performer=performer_alice)
    challenge = identity.identity_challenge_issue(actor=newcomer_nina.user, performer=newcomer_nina)
    with pytest.raises(PermissionDenied):
        submit(newcomer_nina, actor=performer_alice.user, challenge_id=challenge.pk)
    assert signed_in(agent_gina).get("/studio/identity/").status_code == 403


@pytest.mark.parametrize(
    ("field", "name", "data", "message"),
    [
        ("document", "passport.pdf", b"MZ\x90\x00 not a document", "not a PDF, PNG, JPEG file"),
        ("document", "passport.pdf", b"", "empty"),
        ("recording", "challenge.webm", b"hello, this is text", "not a WAV, MP3, Ogg, WebM file"),
        ("recording", "challenge.webm", webm_bytes(1, 2), "not an audio-only"),
        ("recording", "challenge.webm", webm_bytes(2, doc_type=b"matroska"), "not an audio-only"),
        ("recording", "challenge.webm", webm_bytes(), "not an audio-only"),
        ("recording", "challenge.webm", b"\x1a\x45\xdf\xa3\x00\x00", "not an audio-only"),
    ],
)
def test_it_refuses_evidence_that_is_not_what_it_claims(
    newcomer_nina: Performer, field: str, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        submit(newcomer_nina, **{field: upload(name, data, "application/octet-stream")})
    assert message in " ".join(refused.value.message_dict[field])
    assert not IdentityVerification.objects.exists()


def test_it_accepts_other_recordings_and_refuses_a_large_document(
    newcomer_nina: Performer, settings: Any
) -> None:
    assert submit(newcomer_nina, recording=upload("c.wav", wav_bytes(), "audio/wav"))
    settings.TIMBRE_MAX_EVIDENCE_BYTES = 10
    with pytest.raises(ValidationError) as refused:
        submit(newcomer_nina)
    assert "the limit is 10 bytes" in refused.value.message_dict["document"][0]


# --- who sees the evidence --------------------------------------------------------------


def test_the_evidence_is_private_to_the_performer_and_operators(
    newcomer_nina: Performer, performer_alice: Performer, operator_olive: User, agent_gina: User
) -> None:
    submission = submit(newcomer_nina)
    document = f"/identity/{submission.pk}/document"
    recording = f"/identity/{submission.pk}/recording"
    for path in (document, recording):
        own = signed_in(newcomer_nina.user).get(path)
        assert own.status_code == 200 and own["Cache-Control"] == "private, no-store"
        assert signed_in(operator_olive).get(path).status_code == 200
        assert signed_in(performer_alice.user).get(path).status_code == 404
        assert signed_in(agent_gina).get(path).status_code == 404
        assert Client().get(path).status_code == 302  # to the login page
    shown = signed_in(newcomer_nina.user).get(document)
    assert (
        shown["Content-Type"] == "application/pdf" and shown["X-Content-Type-Options"] == "nosniff"
    )
    assert b"".join(shown.streaming_content) == PDF_BYTES
    heard = signed_in(newcomer_nina.user).get(recording)
    assert heard["Content-Type"] == "audio/webm" and heard["Content-Security-Policy"] == "sandbox"
    # Stored outside MEDIA_ROOT: no public media URL reaches it.
    assert "passport" not in submission.document.name  # stored under a random name
    stored = Path(submission.document.path).resolve()
    assert Path(settings.MEDIA_ROOT).resolve() not in stored.parents
    with pytest.raises(ValueError):
        submission.document.url  # noqa: B018
    # Another performer's API view shows their own state only.
    api = APIClient()
    api.force_authenticate(performer_alice.user)
    assert api.get("/api/v1/identity").json()["submission"] is None


def test_non_staff_cannot_see_the_queue_or_decide(
    newcomer_nina: Performer, performer_alice: Performer, operator_olive: User
) -> None:
    submission = submit(newcomer_nina)
    for user in (newcomer_nina.user, performer_alice.user):
        client = signed_in(user)
        seen = client.get("/operations/identity/")
        assert seen.status_code == 302 and "/admin/login/" in seen.url
        client.post(f"/operations/identity/{submission.pk}/decide", {"decision": "approve"})
    submission.refresh_from_db()
    assert submission.status == "pending"
    with pytest.raises(PermissionDenied):
        identity.identity_decide(operator=newcomer_nina.user, submission=submission, approve=True)
    identity.identity_decide(operator=operator_olive, submission=submission, approve=True)
    with pytest.raises(ValidationError):  # decided once
        identity.identity_decide(
            operator=operator_olive, submission=submission, approve=False, reason="late"
        )


# --- namesakes ------------------------------------------------------------------------


def signup(client: Client, email: str, legal: str, stage: str) -> Performer:
    response = client.post(
        "/signup/",
        {
            "role": "performer",
            "display_name": stage,
            "email": email,
            "password": "a long enough passphrase",
            "legal_name": legal,
            "stage_name": stage,
            "adult": "on",
        },
    )
    assert response.status_code == 302, response.content
    return Performer.objects.get(user__email=email)


def test_a_sign_up_under_a_verified_performers_name_is_flagged(
    performer_alice: Performer, operator_olive: User
) -> None:
    impostor = signup(Client(), "fake@example.com", "Someone Else", "  aLiCe   AVERY ")
    assert impostor.namesake_of == performer_alice
    by_legal = signup(Client(), "legal@example.com", performer_alice.legal_name.upper(), "Ali")
    assert by_legal.namesake_of == performer_alice
    honest = signup(Client(), "other@example.com", "Alice Averyson", "Alicia")
    assert honest.namesake_of is None
    queue = signed_in(operator_olive).get("/operations/identity/").content.decode()
    assert "fake@example.com" in queue and "legal@example.com" in queue
    assert "other@example.com" not in queue
    # Once the impostor sends evidence, the pending submission carries the flag.
    submission = submit(impostor)
    pending, flagged = identity.identity_queue()
    [item] = pending
    assert item.submission == submission and item.namesakes == [performer_alice]
    assert impostor not in [other.performer for other in flagged]
    queue = signed_in(operator_olive).get("/operations/identity/").content.decode()
    assert "Name collision" in queue


def test_a_name_shared_with_an_unverified_performer_is_not_flagged(
    newcomer_nina: Performer,
) -> None:
    twin = signup(Client(), "twin@example.com", "X Y", "Nina North")
    assert twin.namesake_of is None


# --- the API --------------------------------------------------------------------------


def test_a_performer_verifies_through_the_api(
    newcomer_nina: Performer, operator_olive: User, brand_bob: User
) -> None:
    api = APIClient()
    api.force_authenticate(newcomer_nina.user)
    start = api.get("/api/v1/identity").json()
    assert start["state"] == "unverified" and start["challenge"]["text"]
    sent = api.post(
        "/api/v1/identity",
        {
            "challenge": start["challenge"]["id"],
            "recording": upload("c.ogg", b"OggS" + b"\0" * 60, "audio/ogg"),
            "document": upload("id.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 60, "image/jpeg"),
        },
        format="multipart",
    )
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert body["state"] == "pending" and body["submission"]["status"] == "pending"
    assert body["challenge"]["id"] != start["challenge"]["id"]
    again = api.post(
        "/api/v1/identity",
        {
            "challenge": start["challenge"]["id"],
            "recording": upload("c.ogg", b"OggS" + b"\0" * 60, "audio/ogg"),
            "document": upload("id.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 60, "image/jpeg"),
        },
        format="multipart",
    )
    assert again.status_code == 400 and "challenge" in again.json()["errors"]
    submission = IdentityVerification.objects.get(status="pending")
    identity.identity_decide(operator=operator_olive, submission=submission, approve=True)
    done = api.get("/api/v1/identity").json()
    assert done["state"] == "verified" and done["challenge"] is None and done["verified_at"]
    brand = APIClient()
    brand.force_authenticate(brand_bob)
    assert brand.get("/api/v1/identity").status_code == 403
    assert APIClient().get("/api/v1/identity").status_code in (401, 403)


def test_a_sign_up_under_a_late_performers_name_is_flagged(
    late_frank: Performer, executor_erin: User
) -> None:
    """The estate's verified authority stands for Frank: his name is taken."""
    impostor = signup(Client(), "frank@example.com", "Frank Fields", "Frankie")
    assert impostor.namesake_of == late_frank


def test_namesakes_are_found_through_punctuation_word_order_width_and_look_alikes(
    db: None,
) -> None:
    """Found by review: a Cyrillic e, full-width letters, a trailing dot and the surname
    first each slipped past the flag."""
    from registry.identity import verified_namesakes

    june = f.PerformerFactory(stage_name="June Calloway", legal_name="June Ellen Calloway")
    for name in (
        "Jun\u0435 Calloway",  # a Cyrillic e
        "\uff2a\uff55\uff4e\uff45 Calloway",  # full-width
        "June Calloway.",
        "Calloway, June",
    ):
        assert verified_namesakes(legal_name="Someone Else", stage_name=name) == [june], name
    assert verified_namesakes(legal_name="Someone Else", stage_name="Juno Calloway") == []
