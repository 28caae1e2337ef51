"""Row locks and constraints under real concurrency, on PostgreSQL.

Each test races two or more threads, each on its own database connection, through the
services, then checks the invariant the lock or constraint exists for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from registry import services
from registry.models import ConsentRecord, VoiceModel
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call at the same moment; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the test inspects what each thread met
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_it_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"


def test_two_registrations_of_one_model_leave_exactly_one_voice(db: None) -> None:
    alice = f.PerformerFactory()
    dave = f.PerformerFactory()
    digest = "d" * 64

    def register(performer: Any) -> Callable[[], Any]:
        return lambda: services.voice_register(
            actor=performer.user,
            performer=performer,
            data=services.VoiceInput(
                display_name="Same model", languages=["en"], provider="x", model_sha256=digest
            ),
        )

    for _ in range(5):
        VoiceModel.objects.all().delete()
        results = race(register(alice), register(dave))
        assert VoiceModel.objects.filter(model_sha256=digest).count() == 1
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) == 1
        assert isinstance(failures[0], ValidationError), failures[0]
        assert "already registered" in str(failures[0])


def test_a_voice_is_never_left_active_without_standing_consent(db: None) -> None:
    """Activation and withdrawal both lock the voice row, so one sees the other's result."""
    performer = f.PerformerFactory()
    user = performer.user
    for _ in range(10):
        voice = f.VoiceFactory(performer=performer, status="draft")
        services.consent_give(
            actor=user,
            voice=voice,
            statement_version=services.CONSENT_STATEMENT_VERSION,
            ip_address=None,
            user_agent="",
        )
        race(
            lambda v=voice: services.voice_set_status(actor=user, voice=v, status="active"),
            lambda v=voice: services.consent_withdraw(actor=user, voice=v, reason="race"),
        )
        voice.refresh_from_db()
        if voice.status == "active":
            assert voice.current_consent() is not None
        else:
            assert voice.status in {"draft", "suspended"}
            assert voice.current_consent() is None


def test_the_database_refuses_consent_by_a_representative_without_authority(db: None) -> None:
    voice = f.VoiceFactory(status="draft")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentRecord.objects.create(
            voice=voice,
            statement_version="v",
            statement_text="t",
            statement_sha256="0" * 64,
            given_by=voice.performer.user,
            given_as="estate_executor",
            authority=None,
        )


def test_the_database_refuses_an_api_key_with_two_owners(db: None) -> None:
    from registry.models import ApiKey

    brand = f.BrandFactory()
    auditor = f.AuditorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(
            name="x",
            owner_kind="brand",
            brand=brand,
            auditor=auditor,
            prefix="tmb_",
            key_hash="1" * 64,
            created_by=auditor.user,
        )
