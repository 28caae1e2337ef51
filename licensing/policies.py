"""Who may read which licenses: the one rule, for the API, the pages and the exports."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from licensing.models import License
from registry.authentication import ApiPrincipal
from registry.models import User
from registry.policies import audited_performers, managed_performers


def readable_licenses(user: Any) -> QuerySet[License]:
    """The licenses whose signed terms and usage ``user`` (a person, or an API key's
    principal) may read: a brand its own; whoever acts for the voice's performer theirs;
    an auditor those on voices of performers who granted it access; operators all."""
    if isinstance(user, ApiPrincipal):
        if user.brand is not None:
            return License.objects.filter(brand=user.brand)
        return License.objects.filter(voice__performer__in=audited_performers(user.auditor))
    if not isinstance(user, User) or not user.is_authenticated:
        return License.objects.none()
    if user.is_staff:
        return License.objects.all()
    mine = Q(brand__memberships__user=user) | Q(voice__performer__in=managed_performers(user))
    auditor = getattr(user, "auditor", None)
    if auditor is not None:
        mine |= Q(voice__performer__in=audited_performers(auditor))
    return License.objects.filter(mine).distinct()
