"""A real Celery worker process, over the configured broker, runs the registry's tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from registry import services
from registry.models import VoiceModel
from tests import factories as f
from tests.conftest import wav_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise pytest.UsageError("worker tests share the test database with the worker: use PostgreSQL")


@pytest.fixture
def celery_worker_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A `celery worker` process on the test database and media folder."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TIMBRE_TESTING": "1",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "timbre",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        print(log.read_text())


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail("the worker did not finish in time")


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
