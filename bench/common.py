"""What every benchmark here sets up before Django reads its settings.

Import this module first: it makes a scratch folder, points the signing keys (generated
there on first use), media and email at it, then calls django.setup().
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def setup(name: str) -> Path:
    """Configure and start Django for the benchmark `name`; return its scratch folder."""
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix=f"timbre-bench-{name}-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timbre.settings")
    os.environ.setdefault("TIMBRE_TESTING", "1")
    os.environ["TIMBRE_LOG_KEY_FILE"] = str(scratch / "log.pem")
    os.environ["TIMBRE_LICENSE_KEY_FILE"] = str(scratch / "license.pem")
    os.environ["MEDIA_ROOT"] = str(scratch / "media")
    # Thousands of issuances would mean thousands of notification emails: send none.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    django.setup()
    return scratch
