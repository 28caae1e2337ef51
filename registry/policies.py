"""Who may do what to performers and voices. Read-only; used by services, pages and API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from core.problems import RuleForbidden
from registry.models import (
    Authority,
    Brand,
    BrandMembership,
    ConsentRecord,
    Delegation,
    Performer,
    User,
    VoiceModel,
)


def signed_in_user(request: HttpRequest | Request) -> User:
    """The person signed in to this request.

    Pages behind ``login_required`` or ``staff_member_required``, and API views behind a
    signed-in-person permission, always have one: this only tells the type checker so.
    Anyone else (an anonymous visitor, an API key's principal) is refused.
    """
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("This needs a person signed in.")
    return user


def is_brand_member(user: Any, brand: Brand) -> bool:
    """Whether ``user`` is one of ``brand``'s members (of any role)."""
    return brand.memberships.filter(user=user).exists()


def is_brand_owner(user: Any, brand: Brand) -> bool:
    """Whether ``user`` owns ``brand``: owners speak for it (its legal name and domain)."""
    return brand.memberships.filter(user=user, role=BrandMembership.Role.OWNER).exists()


def managed_performers(user: Any) -> QuerySet[Performer]:
    """Performers this user may act for: themselves while they live, and those they hold
    active authority for. Once a death is recorded the performer's own account no longer
    acts for the voice (whoever holds it now); the estate's executor does."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return Performer.objects.none()
    return Performer.objects.filter(
        Q(user=user, is_living=True)
        | Q(
            authorities__representative__user=user,
            authorities__status=Authority.Status.ACTIVE,
        )
    ).distinct()


def can_manage_performer(user: Any, performer: Performer) -> bool:
    return managed_performers(user).filter(pk=performer.pk).exists()


def can_manage_voice(user: Any, voice: VoiceModel) -> bool:
    return can_manage_performer(user, voice.performer)


def comes_of_age(performer: Performer) -> datetime | None:
    """When a minor performer turns 18 (None when not recorded as a minor)."""
    return performer.comes_of_age()


def is_minor_now(performer: Performer, now: datetime | None = None) -> bool:
    """A minor until the 18th birthday, even before the periodic task records it."""
    return performer.is_minor_on(now)


def consent_capacity(user: Any, performer: Performer) -> tuple[str, Authority | None] | None:
    """In what capacity, if any, this user may give or withdraw consent for the performer.

    A living adult consents for themselves; nobody else may, not even their agent. A late
    performer's consent comes from the estate's executor, a minor's from a guardian, and
    a guardian's capacity ends on the minor's 18th birthday.
    """
    if not isinstance(user, User):
        return None
    if performer.is_living and not is_minor_now(performer):
        if performer.user_id == user.pk:
            return ConsentRecord.GivenAs.PERFORMER, None
        return None
    kind = Authority.Kind.ESTATE_EXECUTOR if not performer.is_living else Authority.Kind.GUARDIAN
    authority = Authority.objects.filter(
        performer=performer,
        representative__user=user,
        kind=kind,
        status=Authority.Status.ACTIVE,
    ).first()
    if authority is None:
        return None
    given_as = (
        ConsentRecord.GivenAs.ESTATE_EXECUTOR
        if kind == Authority.Kind.ESTATE_EXECUTOR
        else ConsentRecord.GivenAs.GUARDIAN
    )
    return given_as, authority


def audited_performers(auditor: Any) -> QuerySet[Performer]:
    """Performers whose side granted this auditor access, and has not revoked it."""
    if auditor is None:
        return Performer.objects.none()
    return Performer.objects.filter(
        audit_grants__auditor=auditor, audit_grants__revoked_at__isnull=True
    ).distinct()


def delegation_for(user: Any, performer: Performer, power: str, day: date) -> Delegation | None:
    """The delegation, if any, by which ``user`` holds ``power`` for ``performer`` on ``day``.

    A delegation holds only while whoever granted it still consents for the performer: a
    performer's own ends at their death (the estate's executor acts then), a guardian's at
    the performer's 18th birthday (the adult performer decides then)."""
    if not isinstance(user, User):
        return None
    for delegation in Delegation.objects.filter(
        performer=performer,
        representative__user=user,
        revoked_at__isnull=True,
        ends_on__gte=day,
    ).select_related("granted_by"):
        if (
            power in delegation.powers
            and delegation.holds_on(day)
            and consent_capacity(delegation.granted_by, performer) is not None
        ):
            return delegation
    return None


def require_power(user: Any, performer: Performer, power: str) -> None:
    """Refuse unless ``user`` may exercise ``power`` (a Delegation.Power) for the performer.

    The performer may, while a living adult. A late performer's estate executor and a
    minor's guardian act with every power, as the ones who consent. Anyone else acting
    for a living adult (an agent, even one with verified authority; a guardian once the
    performer has come of age) needs a delegation of that power, in date.
    """
    if not can_manage_performer(user, performer):
        raise PermissionDenied("You do not act for this voice's performer.")
    living_adult = performer.is_living and not is_minor_now(performer)
    if living_adult and performer.user_id is not None and performer.user_id == user.pk:
        return
    if not living_adult:
        capacity = consent_capacity(user, performer)
        if capacity is not None:
            return
    if delegation_for(user, performer, power, timezone.now().date()) is not None:
        return
    label = dict(Delegation.Power.choices)[power].lower()
    raise RuleForbidden(
        "delegation-out-of-scope",
        f"To {label} for {performer.stage_name}, you need the performer's delegation of that "
        "power, in date; ask the performer to delegate it on their studio page.",
    )


def voice_side_emails(performer: Performer) -> list[str]:
    """Whom the registry tells of what happens to a performer's voices: the performer's
    own account while they live (a late performer's is nobody's to read for them), and
    everyone with verified authority for them (the estate, a guardian, an agent)."""
    emails = [performer.user.email] if performer.user and performer.is_living else []
    emails += performer.authorities.filter(status=Authority.Status.ACTIVE).values_list(
        "representative__user__email", flat=True
    )
    return [e for e in emails if e]
