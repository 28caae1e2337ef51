"""Delegation, not assumption: an agent with verified authority acts for a living adult
only within a delegation the performer gave (its powers, its dates), which is logged and
revocable."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from core.problems import RuleForbidden
from licensing import services as licensing
from registry import services as registry
from registry.models import Delegation, Representative
from royalties.splits import Share, voice_splits_set
from tests import factories as f
from tests.helpers import logged_events
from tests.licensing.helpers import offer_terms, request_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def voice(performer_alice: Any) -> Any:
    return f.VoiceFactory(performer=performer_alice, display_name="Alice Warm")


@pytest.fixture
def gina_rep(agent_gina: Any) -> Representative:
    return Representative.objects.get(user=agent_gina)


def _submitted(voice: Any, brand_bob: Any) -> Any:
    offer = licensing.offer_publish(
        actor=voice.performer.user, voice=voice, title="Spots", offer_terms=offer_terms()
    )
    brand = brand_bob.brand_memberships.get().brand
    return licensing.request_submit(actor=brand_bob, brand=brand, offer=offer, data=request_input())


def _grant(voice: Any, rep: Representative, powers: list[str], days: int = 30) -> Delegation:
    return registry.delegation_grant(
        actor=voice.performer.user,
        performer=voice.performer,
        representative=rep,
        powers=powers,
        ends_on=timezone.now().date() + dt.timedelta(days=days),
    )


def test_an_agent_without_delegation_is_refused_approve_publish_and_splits(
    voice: Any, agent_gina: Any, brand_bob: Any
) -> None:
    req = _submitted(voice, brand_bob)
    with pytest.raises(RuleForbidden) as refused:
        licensing.request_decide(actor=agent_gina, request=req, approve=True)
    assert refused.value.problem_slug == "delegation-out-of-scope"
    assert "approve or decline license requests" in str(refused.value)
    with pytest.raises(RuleForbidden):
        licensing.offer_publish(
            actor=agent_gina, voice=voice, title="Mine", offer_terms=offer_terms()
        )
    with pytest.raises(RuleForbidden):
        voice_splits_set(
            actor=agent_gina,
            voice=voice,
            shares=[Share("performer", "Alice", 8000), Share("agent", "Gina", 2000)],
        )
    req.refresh_from_db()
    assert req.status == "submitted"
    assert not voice.splits.exists()


def test_a_scoped_delegation_works_until_its_end_date_and_is_logged(
    voice: Any, agent_gina: Any, gina_rep: Representative, brand_bob: Any, time_machine: Any
) -> None:
    delegation = _grant(voice, gina_rep, ["approve_requests"], days=10)
    [granted] = logged_events("delegation.granted")
    assert granted == {
        **granted,
        "delegation_id": str(delegation.pk),
        "performer_id": str(voice.performer_id),
        "representative_id": str(gina_rep.pk),
        "powers": "approve_requests",
        "ends_on": delegation.ends_on.isoformat(),
    }
    assert "Gina" not in json.dumps(granted)  # no names in the log
    req = _submitted(voice, brand_bob)
    licensing.request_decide(actor=agent_gina, request=req, approve=True)
    req.refresh_from_db()
    assert req.status in ("awaiting_payment", "issued")
    # Out of scope: the delegation names approving only.
    with pytest.raises(RuleForbidden):
        licensing.offer_publish(
            actor=agent_gina, voice=voice, title="Mine", offer_terms=offer_terms()
        )
    # On its last day it holds; the day after, it does not.
    time_machine.move_to(
        dt.datetime.combine(delegation.ends_on, dt.time(23), tzinfo=dt.UTC), tick=False
    )
    licensing.request_decide(actor=agent_gina, request=_submitted(voice, brand_bob), approve=False)
    time_machine.move_to(
        dt.datetime.combine(delegation.ends_on + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC),
        tick=False,
    )
    with pytest.raises(RuleForbidden):
        licensing.request_decide(
            actor=agent_gina, request=_submitted(voice, brand_bob), approve=True
        )


def test_revoked_it_ends_at_once_and_is_logged(
    voice: Any, agent_gina: Any, gina_rep: Representative, brand_bob: Any
) -> None:
    delegation = _grant(voice, gina_rep, ["publish_offers", "change_splits"])
    licensing.offer_publish(
        actor=agent_gina, voice=voice, title="By Gina", offer_terms=offer_terms()
    )
    voice_splits_set(
        actor=agent_gina,
        voice=voice,
        shares=[Share("performer", "Alice", 8000), Share("agent", "Gina", 2000)],
    )
    registry.delegation_revoke(actor=voice.performer.user, delegation=delegation)
    [revoked] = logged_events("delegation.revoked")
    assert revoked["delegation_id"] == str(delegation.pk)
    assert revoked["performer_id"] == str(voice.performer_id)
    with pytest.raises(RuleForbidden):
        licensing.offer_publish(
            actor=agent_gina, voice=voice, title="Again", offer_terms=offer_terms()
        )
    with pytest.raises(ValidationError):
        registry.delegation_revoke(actor=voice.performer.user, delegation=delegation)


def test_who_may_delegate_and_to_whom(
    voice: Any, agent_gina: Any, gina_rep: Representative, performer_dave: Any
) -> None:
    # Only the performer (who consents) delegates, not the agent to themselves.
    with pytest.raises(PermissionDenied):
        registry.delegation_grant(
            actor=agent_gina,
            performer=voice.performer,
            representative=gina_rep,
            powers=["approve_requests"],
            ends_on=timezone.now().date() + dt.timedelta(days=5),
        )
    # Only to a representative whose authority for the performer is verified.
    stranger = f.RepresentativeFactory()
    with pytest.raises(ValidationError) as refused:
        _grant(voice, stranger, ["approve_requests"])
    assert "representative" in refused.value.message_dict
    pending = f.AuthorityFactory(performer=voice.performer, kind="agent", status="pending")
    with pytest.raises(ValidationError):
        _grant(voice, pending.representative, ["approve_requests"])
    # Powers and dates are checked.
    for powers, days, field in (
        ([], 5, "powers"),
        (["sign_anything"], 5, "powers"),
        (["approve_requests"], -1, "ends_on"),
        (["approve_requests"], 5000, "ends_on"),
    ):
        with pytest.raises(ValidationError) as bad:
            _grant(voice, gina_rep, powers, days=days)
        assert field in bad.value.message_dict
    assert not Delegation.objects.exists()


def test_the_api_answers_an_undelegated_agent_with_its_own_problem_type(
    voice: Any, agent_gina: Any, brand_bob: Any
) -> None:
    req = _submitted(voice, brand_bob)
    client = Client()
    client.force_login(agent_gina)
    response = client.post(f"/api/v1/license-requests/{req.pk}/approve", {}, "application/json")
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "/problems/delegation-out-of-scope"
    assert "delegation" in body["detail"]


def test_the_pages_refuse_splits_and_show_delegations(
    voice: Any, agent_gina: Any, gina_rep: Representative
) -> None:
    gina = Client()
    gina.force_login(agent_gina)
    refused = gina.post(f"/studio/voices/{voice.slug}/splits/", {"shares": "performer, Alice, 100"})
    assert refused.status_code == 403
    alice = Client()
    alice.force_login(voice.performer.user)
    ends = (timezone.now().date() + dt.timedelta(days=20)).isoformat()
    response = alice.post(
        "/studio/delegations/",
        {
            "performer": voice.performer_id,
            "representative": gina_rep.pk,
            "powers": ["change_splits"],
            "ends_on": ends,
        },
    )
    assert response.status_code == 302
    page = alice.get("/studio/delegations/").content.decode()
    assert "Change splits" in page and "Active" in page
    assert (
        gina.post(
            f"/studio/voices/{voice.slug}/splits/", {"shares": "performer, Alice, 100"}
        ).status_code
        == 302
    )
    # The agent sees what they hold, and cannot delegate on the performer's behalf.
    held = gina.get("/studio/delegations/").content.decode()
    assert "Delegations you hold" in held and "Delegate a power" not in held
    # Alice ends it from the page.
    delegation = Delegation.objects.get()
    alice.post(f"/studio/delegations/{delegation.pk}/revoke/")
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    # Another performer cannot end (or see) Alice's.
    dave = Client()
    dave.force_login(f.PerformerFactory().user)
    assert dave.post(f"/studio/delegations/{delegation.pk}/revoke/").status_code in (403, 404)


def test_the_api_grants_lists_and_revokes_and_keeps_others_out(
    voice: Any, agent_gina: Any, gina_rep: Representative, performer_dave: Any
) -> None:
    alice = Client()
    alice.force_login(voice.performer.user)
    ends = (timezone.now().date() + dt.timedelta(days=20)).isoformat()
    body = {
        "performer": voice.performer_id,
        "representative": gina_rep.pk,
        "powers": ["approve_requests", "publish_offers"],
        "ends_on": ends,
    }
    bad = alice.post("/api/v1/delegations", {**body, "powers": ["everything"]}, "application/json")
    assert bad.status_code == 400 and "powers" in bad.json()["errors"]
    created = alice.post("/api/v1/delegations", body, "application/json")
    assert created.status_code == 201, created.content
    made = created.json()
    assert made["powers"] == ["approve_requests", "publish_offers"]
    assert made["ends_on"] == ends and made["log_index"] is not None
    gina = Client()
    gina.force_login(agent_gina)
    assert [d["id"] for d in gina.get("/api/v1/delegations").json()] == [made["id"]]
    # Dave neither sees it, nor ends it, nor delegates for Alice.
    dave = Client()
    dave.force_login(performer_dave.user)
    assert dave.get("/api/v1/delegations").json() == []
    assert dave.post(f"/api/v1/delegations/{made['id']}/revoke").status_code == 404
    assert dave.post("/api/v1/delegations", body, "application/json").status_code == 404
    ended = alice.post(f"/api/v1/delegations/{made['id']}/revoke")
    assert ended.status_code == 200 and ended.json()["revoked_at"] is not None
    again = alice.post(f"/api/v1/delegations/{made['id']}/revoke")
    assert again.status_code == 400


def test_the_representative_is_told_when_given_and_when_it_ends(
    voice: Any,
    agent_gina: Any,
    gina_rep: Representative,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        delegation = _grant(voice, gina_rep, ["approve_requests"])
    [given] = mailoutbox
    assert given.to == ["gina@example.com"]
    assert "approve or decline license requests" in given.body
    with django_capture_on_commit_callbacks(execute=True):
        registry.delegation_revoke(actor=voice.performer.user, delegation=delegation)
    ended = mailoutbox[-1]
    assert ended.to == ["gina@example.com"] and "has ended" in ended.subject


def test_an_agent_needs_a_delegation_for_voices_licenses_and_auditors_too(
    voice: Any, agent_gina: Any, gina_rep: Representative, brand_bob: Any
) -> None:
    """Found by review: activating, suspending, retiring and editing a voice, revoking a
    license for breach and letting an auditor read the money went through without."""
    from licensing.models import License

    alice = voice.performer.user
    registry.voice_set_status(actor=alice, voice=voice, status="suspended")
    with pytest.raises(RuleForbidden):
        registry.voice_set_status(actor=agent_gina, voice=voice, status="active")
    with pytest.raises(RuleForbidden):
        registry.voice_update(actor=agent_gina, voice=voice, changes={"display_name": "Gina's"})
    auditor = f.AuditorFactory(user__email="ada@example.com")
    with pytest.raises(RuleForbidden):
        registry.audit_grant_give(
            actor=agent_gina, performer=voice.performer, auditor_email=auditor.user.email
        )
    client = Client()
    client.force_login(agent_gina)
    refused = client.post(
        f"/api/v1/voices/{voice.pk}/status", {"status": "retired"}, "application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/delegation-out-of-scope"
    voice.refresh_from_db()
    assert voice.status == "suspended" and voice.display_name == "Alice Warm"
    # With the power, the agent may.
    _grant(voice, gina_rep, ["manage_voices"])
    registry.voice_set_status(actor=agent_gina, voice=voice, status="active")
    voice.refresh_from_db()
    assert voice.status == "active"
    assert not License.objects.exists()


def test_nobody_delegates_to_themselves(performer_alice: Any) -> None:
    """A guardian (or anyone who consents) cannot hand themselves powers that would
    outlast their own capacity."""
    today = timezone.now().date()
    mia = f.PerformerFactory(
        user=None, is_minor=True, date_of_birth=today.replace(year=today.year - 17)
    )
    guardian = f.AuthorityFactory(performer=mia, kind="guardian")
    with pytest.raises(ValidationError) as refused:
        registry.delegation_grant(
            actor=guardian.representative.user,
            performer=mia,
            representative=guardian.representative,
            powers=["change_splits"],
            ends_on=today + dt.timedelta(days=30),
        )
    assert "themselves" in str(refused.value)


def test_a_delegation_ends_with_its_grantors_capacity_at_18_and_at_death(
    performer_alice: Any, agent_gina: Any, gina_rep: Representative, time_machine: Any
) -> None:
    """Found by review: a guardian's delegation outlived the 18th birthday, and a
    performer's outlived their death (the agent then redirected the estate's money)."""
    today = timezone.now().date()
    born = today.replace(year=today.year - 18) + dt.timedelta(days=30)
    mia = f.PerformerFactory(user=None, is_minor=True, date_of_birth=born)
    guardian = f.AuthorityFactory(performer=mia, kind="guardian")
    agent = f.AuthorityFactory(performer=mia, kind="agent")
    mia_voice = f.VoiceFactory(
        performer=mia, status="draft", created_by=guardian.representative.user
    )
    registry.delegation_grant(
        actor=guardian.representative.user,
        performer=mia,
        representative=agent.representative,
        powers=["manage_voices"],
        ends_on=today + dt.timedelta(days=300),
    )
    registry.voice_update(
        actor=agent.representative.user, voice=mia_voice, changes={"description": "ok"}
    )
    time_machine.move_to(
        dt.datetime.combine(born, dt.time(0), tzinfo=dt.UTC).replace(year=born.year + 18)
        + dt.timedelta(hours=1),
        tick=False,
    )
    with pytest.raises(RuleForbidden):
        registry.voice_update(
            actor=agent.representative.user, voice=mia_voice, changes={"description": "no"}
        )
    # A living adult's delegation ends at their death.
    time_machine.move_to(timezone.now() + dt.timedelta(days=1), tick=False)
    alice_voice = f.VoiceFactory(performer=performer_alice)
    _grant(alice_voice, gina_rep, ["change_splits"], days=200)
    voice_splits_set(
        actor=agent_gina,
        voice=alice_voice,
        shares=[Share("performer", "Alice", 9000), Share("agent", "Gina", 1000)],
    )
    performer_alice.is_living = False
    performer_alice.save(update_fields=["is_living"])
    with pytest.raises(PermissionDenied):
        voice_splits_set(
            actor=agent_gina, voice=alice_voice, shares=[Share("agent", "Gina", 10000)]
        )


def test_a_refusal_on_the_api_says_why(
    voice: Any, agent_gina: Any, gina_rep: Representative
) -> None:
    """Found by review: every plain refusal read 'You do not have permission'."""
    client = Client()
    client.force_login(agent_gina)
    body = {
        "performer": voice.performer_id,
        "representative": gina_rep.pk,
        "powers": ["approve_requests"],
        "ends_on": (timezone.now().date() + dt.timedelta(days=5)).isoformat(),
    }
    refused = client.post("/api/v1/delegations", body, "application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Only whoever consents for the performer delegates their powers."
    )
    # An unknown representative and one without authority read alike: no ids to fish for.
    alice = Client()
    alice.force_login(voice.performer.user)
    unknown = alice.post(
        "/api/v1/delegations", {**body, "representative": 999_999}, "application/json"
    )
    stranger = alice.post(
        "/api/v1/delegations",
        {**body, "representative": f.RepresentativeFactory().pk},
        "application/json",
    )
    assert unknown.json()["errors"] == stranger.json()["errors"]
