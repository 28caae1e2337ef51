"""Works recorded with real audio, for stamping and reading content credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry import services as registry_services
from tests.helpers import wav_bytes
from tests.royalties.fixtures import license_, operator, voice  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def wav() -> bytes:
    return wav_bytes(seconds=1.0, rate=16000, freq=440.0)


@pytest.fixture
def mp3() -> bytes:
    return (FIXTURES / "tone.mp3").read_bytes()


@pytest.fixture
def bob_key(brand_bob: Any) -> str:
    brand = brand_bob.brand_memberships.get().brand
    return registry_services.api_key_create(actor=brand_bob, owner=brand, name="pipeline")[1]
