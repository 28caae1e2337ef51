"""Registry events reach the log through the services."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from registry import services
from registry.models import VoiceModel
from tests import factories as f
from transparency.models import Checkpoint, LogEntry

pytestmark = pytest.mark.django_db


def test_a_voice_is_logged_once_when_it_first_goes_live(performer_alice: Any) -> None:
    user = performer_alice.user
    voice = f.VoiceFactory(performer=performer_alice, status="draft")
    consent = services.consent_give(
        actor=user,
        voice=voice,
        statement_version=services.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
    )
    assert not LogEntry.objects.exists(), "a draft is not public"
    services.voice_set_status(actor=user, voice=voice, status="active")
    entry = LogEntry.objects.get()
    event = json.loads(bytes(entry.data))
    assert event["type"] == "voice.registered"
    assert event["voice"] == {
        "id": str(voice.pk),
        "name": voice.display_name,
        "model_sha256": voice.model_sha256,
    }
    assert event["performer"]["id"] == str(performer_alice.pk)
    assert event["consent"]["statement_sha256"] == consent.statement_sha256
    assert VoiceModel.objects.get(pk=voice.pk).registered_log_index == entry.index

    services.voice_set_status(actor=user, voice=voice, status="suspended")
    services.voice_set_status(actor=user, voice=voice, status="active")
    # Registered once; later changes are logged as what they are.
    assert list(LogEntry.objects.values_list("event_type", flat=True)) == [
        "voice.registered",
        "voice.suspended",
        "voice.reinstated",
    ]


def test_a_fresh_demo_has_a_log_and_a_signed_checkpoint() -> None:
    call_command("seed_demo")
    types = list(LogEntry.objects.values_list("event_type", flat=True))
    assert types.count("voice.registered") == 4
    assert Checkpoint.objects.get().tree_size == len(types)
    call_command("seed_demo")
    assert LogEntry.objects.count() == len(types)
    call_command("log_audit")
