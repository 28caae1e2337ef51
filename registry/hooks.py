"""Callbacks that apps above the registry register for its events.

The registry may not import the apps built on it, yet withdrawing consent must revoke
the voice's licenses. Upper apps register a function here in AppConfig.ready(); the
registry calls each one inside its own transaction, so both succeed or neither does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)

ConsentWithdrawn = Callable[..., None]

_consent_withdrawn: list[ConsentWithdrawn] = []
_consent_expired: list[Callable[..., None]] = []


def on_consent_withdrawn(handler: ConsentWithdrawn) -> ConsentWithdrawn:
    if handler not in _consent_withdrawn:
        _consent_withdrawn.append(handler)
    return handler


def consent_withdrawn(*, voice: Any, actor: Any, reason: str) -> None:
    for handler in _consent_withdrawn:
        handler(voice=voice, actor=actor, reason=reason)


def on_consent_expired(handler: Callable[..., None]) -> Callable[..., None]:
    if handler not in _consent_expired:
        _consent_expired.append(handler)
    return handler


def consent_expired(*, voice: Any) -> None:
    for handler in _consent_expired:
        handler(voice=voice)


def send_after_commit(recipients: list[str], subject: str, body: str) -> None:
    """Email once the transaction commits, and never fatally: what happened is on the
    pages whether or not the email gets through. Every app's notices go this way."""
    recipients = [r for r in recipients if r]

    def deliver() -> None:
        try:
            send_mail(f"[Timbre] {subject}", body, None, recipients)
        except Exception:
            logger.exception("could not send %r", subject)

    if recipients:
        transaction.on_commit(deliver)
