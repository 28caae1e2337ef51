"""Whom a voice's royalties may be split to: the performer (or the estate) and agents; a
minor's earnings are the minor's own; a voice without splits pays its performer."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from royalties.models import Payee, VoiceSplit
from royalties.splits import Share, split_basis, voice_splits_set
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm")


def test_a_voice_without_splits_pays_its_performer_not_an_agent_another_split_named(
    voice: Any,
) -> None:
    voice_splits_set(
        actor=voice.performer.user,
        voice=voice,
        shares=[Share("agent", "Gina's Agency", 2000), Share("performer", "Alice", 8000)],
    )
    second = f.VoiceFactory(performer=voice.performer, display_name="Alice Bright")
    [(payee, bps)] = split_basis(second).payees
    assert (payee.kind, payee.name, bps) == ("performer", "Alice", 10_000)


@pytest.mark.parametrize("kind", ["union", "estate"])
def test_a_living_performers_split_names_no_union_fund_or_estate(voice: Any, kind: str) -> None:
    with pytest.raises(ValidationError) as refused:
        voice_splits_set(
            actor=voice.performer.user,
            voice=voice,
            shares=[Share(kind, "Someone's fund", 5000), Share("performer", "Alice", 5000)],
        )
    assert "is not a payee kind here" in str(refused.value)
    assert not Payee.objects.filter(kind=kind).exists()


def test_a_payee_name_too_long_or_with_nul_is_refused_not_a_crash(voice: Any) -> None:
    client = Client()
    client.force_login(voice.performer.user)
    for name in ("A" * 200 + "x", "Ali\x00ce"):
        page = client.post(
            f"/studio/voices/{voice.slug}/splits/",
            {"shares": f"performer, {name}, 50\nagent, {name}y, 50"},
        )
        assert page.status_code == 200
        assert "at most 200 characters" in page.content.decode()
    assert not VoiceSplit.objects.exists()


def test_a_minors_earnings_are_their_own_until_18(db: None) -> None:
    """A guardian cannot route a minor's earnings around the set-aside with a split."""
    today = timezone.now().date()
    mia = f.PerformerFactory(
        stage_name="Mia",
        user=None,
        is_minor=True,
        date_of_birth=today.replace(year=today.year - 12),
    )
    guardian = f.AuthorityFactory(performer=mia, kind="guardian").representative.user
    voice = f.VoiceFactory(performer=mia, status="draft", created_by=guardian)
    with pytest.raises(ValidationError) as refused:
        voice_splits_set(
            actor=guardian, voice=voice, shares=[Share("agent", "Mom Management LLC", 10_000)]
        )
    assert "is a minor" in str(refused.value)
    # Even a split recorded some other way does not count while she is a minor.
    agent = Payee.objects.create(kind="agent", name="Mom Management LLC", performer=mia)
    VoiceSplit.objects.create(voice=voice, payee=agent, bps=10_000)
    basis = split_basis(voice)
    [(payee, _)] = basis.payees
    assert payee.kind == "performer" and basis.set_aside == ((payee, 1500),)


def test_a_percentage_with_more_than_two_decimals_is_refused_not_rounded(voice: Any) -> None:
    client = Client()
    client.force_login(voice.performer.user)
    page = client.post(
        f"/studio/voices/{voice.slug}/splits/",
        {"shares": "performer, Alice, 87.505\nagent, Gina, 12.495"},
    )
    assert page.status_code == 200 and "at most two decimals" in page.content.decode()
    assert not VoiceSplit.objects.exists()
