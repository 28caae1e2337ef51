"""Reads shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from registry.models import Authority, Brand, BrandVerification, User, VoiceModel
from registry.policies import managed_performers


@dataclass
class Roles:
    performer: Any = None
    representative: Any = None
    brands: list[Brand] = field(default_factory=list)
    auditor: Any = None
    # Paid royalties (a payee of the royalties app, reached by its reverse relation, so the
    # registry imports nothing above it).
    payee: bool = False

    @property
    def manages_voices(self) -> bool:
        return self.performer is not None or self.representative is not None


def roles_of(user: Any) -> Roles:
    if not isinstance(user, User):
        return Roles()
    return Roles(
        performer=getattr(user, "performer", None),
        representative=getattr(user, "representative", None),
        brands=list(Brand.objects.filter(memberships__user=user)),
        auditor=getattr(user, "auditor", None),
        payee=hasattr(user, "payees") and user.payees.exists(),
    )


def catalog(
    *, q: str = "", language: str = "", style: str = "", use: str = ""
) -> QuerySet[VoiceModel]:
    voices = VoiceModel.objects.filter(status=VoiceModel.Status.ACTIVE).select_related("performer")
    if q:
        voices = voices.filter(
            Q(display_name__icontains=q)
            | Q(description__icontains=q)
            | Q(performer__stage_name__icontains=q)
        )
    for prefix, value in (("lang", language), ("style", style), ("use", use)):
        if value:
            voices = voices.filter(search_tokens__contains=f" {prefix}:{value.strip().lower()} ")
    return voices


def voices_visible_to(user: Any) -> QuerySet[VoiceModel]:
    """Active voices for everyone; every status for those who manage the performer."""
    visible = Q(status=VoiceModel.Status.ACTIVE)
    performers = managed_performers(user)
    return VoiceModel.objects.filter(visible | Q(performer__in=performers)).select_related(
        "performer"
    )


def managed_voices(user: Any) -> QuerySet[VoiceModel]:
    return VoiceModel.objects.filter(performer__in=managed_performers(user)).select_related(
        "performer"
    )


def authorities_of(user: Any) -> QuerySet[Authority]:
    if not isinstance(user, User):
        return Authority.objects.none()
    return Authority.objects.filter(representative__user=user).select_related("performer")


def brand_verification_state(brand: Brand) -> dict[str, Any]:
    """A brand's verified claim and its pending one (with the TXT record to publish), for
    its members' page and the API; other brands never see it."""
    claims = {
        c.status: c
        for c in brand.verifications.filter(
            status__in=[BrandVerification.Status.VERIFIED, BrandVerification.Status.PENDING]
        )
    }
    verified = claims.get(BrandVerification.Status.VERIFIED)
    return {
        "brand_id": str(brand.pk),
        "verified": verified is not None,
        "verification": verified,
        "pending": claims.get(BrandVerification.Status.PENDING),
    }
