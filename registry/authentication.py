"""Bearer API keys for brands and auditors.

A key authenticates as an ApiPrincipal, never as the user who created it: a brand's key
acts for the brand, not with its creator's performer or staff rights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from registry.models import ApiKey, Auditor, Brand, User, hash_api_key

# Recording every use would turn each read into a write; a minute's precision is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiPrincipal:
    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    @property
    def brand(self) -> Brand | None:
        return self.api_key.brand

    @property
    def auditor(self) -> Auditor | None:
        return self.api_key.auditor

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}…"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = token.strip()
        if not token or " " in token:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = (
            ApiKey.objects.select_related("brand", "auditor__user")
            .filter(key_hash=hash_api_key(token))
            .first()
        )
        if key is None or key.revoked_at is not None:
            # One message for unknown and revoked keys: it tells a thief nothing.
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return ApiPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="timbre"'


def acting_brand(request: Request, *, what: str) -> tuple[Brand, User]:
    """The brand a request acts for, and the person behind it: a brand's API key (acting
    for the user who created it), or a signed-in member of exactly one brand."""
    user = request.user
    if isinstance(user, ApiPrincipal):
        if user.brand is None:
            raise exceptions.PermissionDenied(f"Only a brand's API key may {what}.")
        return user.brand, user.api_key.created_by
    # Past an API key, only a signed-in person is authenticated: an anonymous user is not.
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    brands = list(Brand.objects.filter(memberships__user=user)[:2])
    if len(brands) != 1:
        raise exceptions.PermissionDenied(f"Use your brand's API key to {what}.")
    return brands[0], user
