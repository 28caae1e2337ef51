"""Works recorded with real audio, for stamping and reading content credentials."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from registry import services as registry_services
from royalties.services import WorkInput, works_record
from tests.conftest import wav_bytes
from tests.royalties.conftest import issue, license_, operator, voice  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def wav() -> bytes:
    return wav_bytes(seconds=1.0, rate=16000, freq=440.0)


@pytest.fixture
def mp3() -> bytes:
    return (FIXTURES / "tone.mp3").read_bytes()


def record(lic: Any, data: bytes, ref: str = "spot-1") -> Any:
    """Record `data` as a work under `lic`; return the Work."""
    from royalties.models import Work

    item = WorkInput(
        license_id=lic.license_id,
        client_ref=ref,
        content_sha256=hashlib.sha256(data).hexdigest(),
        duration_ms=1000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
        title=f"Spot {ref}",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    assert outcome.status == "recorded", outcome
    return Work.objects.get(work_id=outcome.work_id)


@pytest.fixture
def bob_key(brand_bob: Any) -> str:
    brand = brand_bob.brand_memberships.get().brand
    return registry_services.api_key_create(actor=brand_bob, owner=brand, name="pipeline")[1]
