"""Callbacks that apps above the registry register for its events.

The registry may not import the apps built on it, yet withdrawing consent must revoke
the voice's licenses. Upper apps register a function here in AppConfig.ready(); the
registry calls each one inside its own transaction, so both succeed or neither does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ConsentWithdrawn = Callable[..., None]

_consent_withdrawn: list[ConsentWithdrawn] = []


def on_consent_withdrawn(handler: ConsentWithdrawn) -> ConsentWithdrawn:
    if handler not in _consent_withdrawn:
        _consent_withdrawn.append(handler)
    return handler


def consent_withdrawn(*, voice: Any, actor: Any, reason: str) -> None:
    for handler in _consent_withdrawn:
        handler(voice=voice, actor=actor, reason=reason)
