"""The log's own Ed25519 signing key (distinct from license keys).

Read from the PEM file named by TIMBRE_LOG_KEY_FILE. In development and tests a key is
generated there on first use; in production the file must exist (a mounted secret).
The key never enters the database, logs or pages: only its public half is published.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from verifier.note import make_verifier_key

_lock = threading.Lock()


class LogKeyMissing(RuntimeError):
    pass


def log_origin() -> str:
    """The checkpoint origin: a schema-less URL naming this log, e.g. timbre.example/log."""
    if settings.TIMBRE_LOG_ORIGIN:
        return settings.TIMBRE_LOG_ORIGIN
    parts = urlsplit(settings.TIMBRE_ORIGIN)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


def write_new_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 in one step: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


@lru_cache(maxsize=4)
def _load(path: str, generate: bool) -> Ed25519PrivateKey:
    file = Path(path)
    with _lock:
        if not file.exists():
            if not generate:
                raise LogKeyMissing(
                    f"TIMBRE_LOG_KEY_FILE={path} does not exist; create it with "
                    "`manage.py log_keygen --out FILE`"
                )
            return write_new_key(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise LogKeyMissing(f"TIMBRE_LOG_KEY_FILE={path} is not an Ed25519 private key")
    return key


def signing_key() -> Ed25519PrivateKey:
    return _load(str(settings.TIMBRE_LOG_KEY_FILE), settings.DEBUG or settings.TESTING)


def verifier_key() -> str:
    return make_verifier_key(log_origin(), signing_key().public_key())
