"""License-signing keys: the private half from a PEM file, the public half in the database.

The active key signs; retired keys still verify what they signed before retirement;
a compromised key invalidates what was logged from the compromise on. Every change of
status is a log entry, so anyone can tell which key was good when.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from licensing.models import SigningKey
from transparency.keys import write_new_key
from transparency.services import event, log_append_one
from verifier.jws import jwk_from_public_key, kid_for_public_key, public_key_from_jwk

_lock = threading.Lock()


class SigningKeyUnavailable(RuntimeError):
    """No usable signing key: the operator must create or point to one."""


def read_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnavailable(f"{path} is not an Ed25519 private key")
    return key


@lru_cache(maxsize=4)
def _cached_private(path: str, mtime: float) -> Ed25519PrivateKey:
    return read_private(Path(path))


def configured_private_key() -> Ed25519PrivateKey:
    """The key in TIMBRE_LICENSE_KEY_FILE (generated there in development)."""
    path = Path(settings.TIMBRE_LICENSE_KEY_FILE)
    with _lock:
        if not path.exists():
            if not (settings.DEBUG or settings.TESTING):
                raise SigningKeyUnavailable(
                    f"TIMBRE_LICENSE_KEY_FILE={path} does not exist; create it with "
                    "`manage.py license_key create --key-file FILE`"
                )
            write_new_key(path)
    return _cached_private(str(path), path.stat().st_mtime)


@transaction.atomic
def key_register(*, public_key: Ed25519PublicKey) -> SigningKey:
    """Make this key the active one, retiring the previous active key; log both events."""
    kid = kid_for_public_key(public_key)
    existing = SigningKey.objects.select_for_update().filter(kid=kid).first()
    if existing is not None:
        if existing.status == SigningKey.Status.ACTIVE:
            return existing
        raise ValidationError(f"key {kid} was used before and is {existing.status}; make a new one")
    for old in SigningKey.objects.select_for_update().filter(status=SigningKey.Status.ACTIVE):
        key_set_status(key=old, status=SigningKey.Status.RETIRED)
    jwk = jwk_from_public_key(public_key)
    entry = log_append_one(item=event("key.added", kid=kid, jwk=jwk))
    return SigningKey.objects.create(
        kid=kid,
        public_jwk=jwk,
        added_log_index=entry.index,
        status_log_index=entry.index,
    )


@transaction.atomic
def key_set_status(
    *, key: SigningKey, status: str, compromised_from_index: int | None = None
) -> SigningKey:
    key = SigningKey.objects.select_for_update().get(pk=key.pk)
    if status == SigningKey.Status.RETIRED:
        if key.status != SigningKey.Status.ACTIVE:
            raise ValidationError(f"only an active key can be retired; {key.kid} is {key.status}")
        entry = log_append_one(item=event("key.retired", kid=key.kid))
    elif status == SigningKey.Status.COMPROMISED:
        if key.status == SigningKey.Status.COMPROMISED:
            raise ValidationError(f"{key.kid} is already marked compromised")
        if compromised_from_index is None or compromised_from_index < key.added_log_index:
            raise ValidationError(
                f"give the log index from which the compromise counts "
                f"(at least {key.added_log_index}, when the key was added)"
            )
        entry = log_append_one(
            item=event("key.compromised", kid=key.kid, from_index=str(compromised_from_index))
        )
        key.compromised_from_index = compromised_from_index
    else:
        raise ValidationError(f"unknown key status {status!r}")
    key.status = status
    key.status_log_index = entry.index
    key.save(update_fields=["status", "status_log_index", "compromised_from_index"])
    return key


def active_signer() -> tuple[SigningKey, Ed25519PrivateKey]:
    """The active key and its private half; they must match, or nothing is signed."""
    private = configured_private_key()
    kid = kid_for_public_key(private.public_key())
    active = SigningKey.objects.filter(status=SigningKey.Status.ACTIVE).first()
    if active is None and (settings.DEBUG or settings.TESTING):
        active = key_register(public_key=private.public_key())
    if active is None:
        raise SigningKeyUnavailable("no active signing key; run `manage.py license_key create`")
    if active.kid != kid:
        raise SigningKeyUnavailable(
            f"TIMBRE_LICENSE_KEY_FILE holds key {kid}, but the active key is {active.kid}"
        )
    return active, private


def trusted_keys() -> dict[str, tuple[SigningKey, Ed25519PublicKey]]:
    return {k.kid: (k, public_key_from_jwk(k.public_jwk)) for k in SigningKey.objects.all()}


def jwks() -> dict[str, list[dict[str, object]]]:
    """Every key ever used, with its status and the log index at which it began."""
    keys = []
    for key in SigningKey.objects.order_by("created_at"):
        item: dict[str, object] = {
            **key.public_jwk,
            "kid": key.kid,
            "alg": "EdDSA",
            "use": "sig",
            "status": key.status,
            "status_log_index": key.status_log_index,
            "added_log_index": key.added_log_index,
        }
        if key.compromised_from_index is not None:
            item["compromised_from_index"] = key.compromised_from_index
        keys.append(item)
    return {"keys": keys}
