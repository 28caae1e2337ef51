"""Settings for the benchmark server: Timbre's own, plus bench/urls.py's reference views.

Only bench/verify.py uses this module (for the gunicorn it starts); nothing else changes.
"""

from __future__ import annotations

from timbre.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
