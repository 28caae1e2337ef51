"""A real `celery worker` process on the test database, over the configured broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise pytest.UsageError("worker tests share the test database with the worker: use PostgreSQL")


def start_worker(log: Path, **extra_env: str) -> subprocess.Popen[str]:
    """Start a worker and wait until it is ready to take tasks."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TIMBRE_TESTING": "1",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **extra_env,
    }
    ready_before = log.read_text().count(" ready.")
    with log.open("a") as out:
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
    deadline = time.monotonic() + 60
    while log.read_text().count(" ready.") < ready_before + 1:
        if worker.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return worker


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start workers (with extra environment); all are stopped at the end."""
    started: list[subprocess.Popen[str]] = []
    log = tmp_path / "worker.log"
    log.touch()

    def start(**extra_env: str) -> subprocess.Popen[str]:
        worker = start_worker(log, **extra_env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
    print(log.read_text())


@pytest.fixture
def celery_worker_process(
    worker_factory: Callable[..., subprocess.Popen[str]],
) -> subprocess.Popen[str]:
    return worker_factory()
