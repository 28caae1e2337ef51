"""The Celery app, configured from Django settings under the ``CELERY_`` namespace.

Without ``CELERY_BROKER_URL`` tasks run eagerly, in-process (development, the SQLite
suite); with it they go to the broker and a ``celery worker`` runs them.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timbre.settings")

app = Celery("timbre")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
