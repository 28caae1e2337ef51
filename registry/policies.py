"""Who may do what to performers and voices. Read-only; used by services, pages and API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

from registry.models import (
    Authority,
    Brand,
    BrandMembership,
    ConsentRecord,
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
    """Performers this user may act for: themselves, and those they hold active authority for."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return Performer.objects.none()
    return Performer.objects.filter(
        Q(user=user)
        | Q(
            authorities__representative__user=user,
            authorities__status=Authority.Status.ACTIVE,
        )
    ).distinct()


def can_manage_performer(user: Any, performer: Performer) -> bool:
    return managed_performers(user).filter(pk=performer.pk).exists()


def can_manage_voice(user: Any, voice: VoiceModel) -> bool:
    return can_manage_performer(user, voice.performer)


def consent_capacity(user: Any, performer: Performer) -> tuple[str, Authority | None] | None:
    """In what capacity, if any, this user may give or withdraw consent for the performer.

    A living adult consents for themselves; nobody else may, not even their agent. A late
    performer's consent comes from the estate's executor, a minor's from a guardian.
    """
    if not isinstance(user, User):
        return None
    if performer.is_living and not performer.is_minor:
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
