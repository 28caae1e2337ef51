"""A real Celery worker process, over the configured broker, runs the registry's tasks."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services
from registry.models import VoiceModel
from tests import factories as f
from tests.helpers import wav_bytes
from tests.worker.helpers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_reads_a_registered_samples_duration(celery_worker_process: Any) -> None:
    assert not settings.CELERY_TASK_ALWAYS_EAGER, "tasks must go through the broker here"
    performer = f.PerformerFactory()
    voice = services.voice_register(
        actor=performer.user,
        performer=performer,
        data=services.VoiceInput(
            display_name="Worker test",
            languages=["en"],
            provider="x",
            model_sha256="e" * 64,
            sample_audio=SimpleUploadedFile("s.wav", wav_bytes(seconds=0.75)),
            sample_name="s.wav",
        ),
    )
    # Committed (transactional test), so the task was sent to the broker on commit.
    inspected = wait_for(
        lambda: VoiceModel.objects.filter(pk=voice.pk, sample_inspected_at__isnull=False).first()
    )
    assert inspected.sample_duration_ms == 750
