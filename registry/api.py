"""Registry API views: parse, authorise, call a service, serialise. Nothing else."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from registry import brand_domains, identity, selectors, services
from registry.authentication import ApiPrincipal
from registry.models import Brand, Delegation, Performer, Representative, User, VoiceModel
from registry.policies import (
    consent_capacity,
    is_brand_owner,
    managed_performers,
    signed_in_user,
)
from registry.serializers import (
    BrandEmailIn,
    BrandVerificationIn,
    BrandVerificationOut,
    ConsentIn,
    ConsentOut,
    ConsentStatementOut,
    ConsentWithdrawIn,
    DelegationIn,
    DelegationOut,
    IdentityIn,
    IdentityOut,
    MeOut,
    StatusIn,
    VoiceCreateIn,
    VoiceOut,
    VoiceUpdateIn,
)


class PublicThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


class IsSignedInPerson(permissions.BasePermission):
    """Voices are managed by people signed in to the site, not by API keys."""

    message = "Managing voices needs a signed-in performer or representative, not an API key."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if isinstance(request.user, ApiPrincipal):
            return False
        return bool(request.user and request.user.is_authenticated)


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


@extend_schema(tags=["voices"])
class VoiceListCreate(ListAPIView):
    serializer_class = VoiceOut
    permission_classes = [IsSignedInPerson]
    throttle_classes = [PublicThrottle]
    throttle_scope = "public"

    @extend_schema(
        summary="Search the public catalog of active voices",
        parameters=[
            OpenApiParameter("q", str, description="Words in the name, description or performer"),
            OpenApiParameter("language", str, description="BCP 47 tag or primary language"),
            OpenApiParameter("style", str),
            OpenApiParameter("use", str),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return selectors.catalog(
            q=params.get("q", "")[:100],
            language=params.get("language", "")[:40],
            style=params.get("style", "")[:40],
            use=params.get("use", "")[:40],
        )

    @extend_schema(
        summary="Register a voice model (as a draft)",
        request={"application/json": VoiceCreateIn, "multipart/form-data": VoiceCreateIn},
        responses={201: VoiceOut},
    )
    def post(self, request: Request) -> Response:
        data = VoiceCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = signed_in_user(request)
        performer = _performer_for(user, v.get("performer"))
        sample = v.get("sample_audio")
        voice = services.voice_register(
            actor=user,
            performer=performer,
            data=services.VoiceInput(
                display_name=v["display_name"],
                description=v["description"],
                languages=v["languages"],
                styles=v["styles"],
                uses=v["uses"],
                provider=v["provider"],
                provider_ref=v["provider_ref"],
                model_sha256=v.get("model_sha256"),
                model_file=v.get("model_file"),
                sample_audio=sample,
                sample_name=getattr(sample, "name", "sample"),
            ),
        )
        return Response(VoiceOut(voice, context={"request": request}).data, status=201)


def _performer_for(user: User, performer_id: int | None) -> Performer:
    if performer_id is None:
        performer = getattr(user, "performer", None)
        if performer is None:
            raise PermissionDenied("Say which performer this voice belongs to (performer).")
        return performer
    performer = managed_performers(user).filter(pk=performer_id).first()
    if performer is None:
        raise PermissionDenied("You do not act for this performer.")
    return performer


def _voice(request: Request, pk: int) -> VoiceModel:
    return get_object_or_404(selectors.voices_visible_to(request.user), pk=pk)


@extend_schema(tags=["voices"])
class VoiceDetail(APIView):
    permission_classes = [IsSignedInPerson]
    throttle_classes = [PublicThrottle]
    throttle_scope = "public"

    @extend_schema(summary="A voice", responses={200: VoiceOut})
    def get(self, request: Request, pk: int) -> Response:
        return Response(VoiceOut(_voice(request, pk), context={"request": request}).data)

    @extend_schema(
        summary="Change a voice's description, languages, styles, uses or sample",
        request={"application/json": VoiceUpdateIn, "multipart/form-data": VoiceUpdateIn},
        responses={200: VoiceOut},
    )
    def patch(self, request: Request, pk: int) -> Response:
        voice = _voice(request, pk)
        data = VoiceUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        sample = changes.pop("sample_audio", None)
        voice = services.voice_update(
            actor=signed_in_user(request),
            voice=voice,
            changes=changes,
            sample_audio=sample,
            sample_name=getattr(sample, "name", "sample"),
        )
        return Response(VoiceOut(voice, context={"request": request}).data)


@extend_schema(tags=["voices"])
class VoiceConsent(APIView):
    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="The consent statement to accept, and the standing consent if any",
        responses={200: ConsentStatementOut},
    )
    def get(self, request: Request, pk: int) -> Response:
        voice = _voice(request, pk)
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        capacity = consent_capacity(request.user, voice.performer)
        if capacity is None:
            raise PermissionDenied("You may not consent for this voice.")
        text = services.consent_statement(voice=voice, giver=request.user, capacity=capacity[0])
        out = {
            "statement_version": services.CONSENT_STATEMENT_VERSION,
            "statement_text": text,
            "current": voice.current_consent(),
        }
        return Response(ConsentStatementOut(out).data)

    @extend_schema(
        summary="Give consent for this voice",
        request={"application/json": ConsentIn, "multipart/form-data": ConsentIn},
        responses={201: ConsentOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        voice = _voice(request, pk)
        data = ConsentIn(data=request.data)
        data.is_valid(raise_exception=True)
        audio = data.validated_data.get("consent_audio")
        record = services.consent_give(
            actor=signed_in_user(request),
            voice=voice,
            statement_version=data.validated_data["statement_version"],
            ip_address=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            consent_audio=audio,
            consent_audio_name=getattr(audio, "name", "consent"),
            term_years=data.validated_data.get("term_years"),
        )
        return Response(ConsentOut(record).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["voices"])
class VoiceConsentWithdraw(APIView):
    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="Withdraw consent: an active voice is suspended",
        request=ConsentWithdrawIn,
        responses={200: VoiceOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        voice = _voice(request, pk)
        data = ConsentWithdrawIn(data=request.data)
        data.is_valid(raise_exception=True)
        voice = services.consent_withdraw(
            actor=signed_in_user(request), voice=voice, reason=data.validated_data["reason"]
        )
        return Response(VoiceOut(voice, context={"request": request}).data)


@extend_schema(tags=["voices"])
class VoiceStatus(APIView):
    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="Activate, suspend or retire a voice", request=StatusIn, responses={200: VoiceOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        voice = _voice(request, pk)
        data = StatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        voice = services.voice_set_status(
            actor=signed_in_user(request),
            voice=voice,
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
        )
        return Response(VoiceOut(voice, context={"request": request}).data)


@extend_schema(tags=["accounts"])
class Me(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="Who is calling: the signed-in person or the API key", responses=MeOut)
    def get(self, request: Request) -> Response:
        user = request.user
        if isinstance(user, ApiPrincipal):
            key = user.api_key
            out: dict[str, Any] = {
                "kind": "api_key",
                "api_key": key,
                "brand": key.brand,
                "auditor": key.auditor is not None,
            }
        else:
            person = signed_in_user(request)
            roles = selectors.roles_of(person)
            out = {
                "kind": "user",
                "email": person.email,
                "display_name": person.display_name,
                "performer": roles.performer,
                "represents": [
                    a.performer for a in selectors.authorities_of(person) if a.is_active
                ],
                "brands": roles.brands,
                "auditor": roles.auditor is not None,
            }
        return Response(MeOut(out).data)


def _delegations_visible(user: User) -> Any:
    """Delegations the user gave (as whoever consents for the performer) or holds."""
    consenting = [p.pk for p in managed_performers(user) if consent_capacity(user, p)]
    return (
        Delegation.objects.filter(Q(performer__in=consenting) | Q(representative__user=user))
        .distinct()
        .order_by("-starts_at", "-pk")
    )


@extend_schema(tags=["delegations"])
class DelegationList(APIView):
    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="Delegations you gave for your performers, and those you hold",
        responses={200: DelegationOut(many=True)},
    )
    def get(self, request: Request) -> Response:
        rows = _delegations_visible(signed_in_user(request))
        return Response(DelegationOut(rows, many=True).data)

    @extend_schema(
        summary="Delegate powers to a representative with verified authority, until a day",
        request=DelegationIn,
        responses={201: DelegationOut},
    )
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        data = DelegationIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        performer = get_object_or_404(managed_performers(user), pk=v["performer"])
        representative = Representative.objects.filter(pk=v["representative"]).first()
        if representative is None:
            raise ValidationError(
                {
                    "representative": [
                        "Delegate only to a representative whose authority for you an operator "
                        "verified."
                    ]
                }
            )
        delegation = services.delegation_grant(
            actor=user,
            performer=performer,
            representative=representative,
            powers=list(v["powers"]),
            ends_on=v["ends_on"],
        )
        return Response(DelegationOut(delegation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["delegations"])
class DelegationRevoke(APIView):
    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="End a delegation at once (the performer's side, or its holder)",
        request=None,
        responses={200: DelegationOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        delegation = get_object_or_404(_delegations_visible(user), pk=pk)
        delegation = services.delegation_revoke(actor=user, delegation=delegation)
        return Response(DelegationOut(delegation).data)


# --- verified brands -------------------------------------------------------------------


def _member_brand(request: Request, pk: int) -> Brand:
    """The brand, if the caller is one of its members (or holds its API key); else 404,
    so that other brands do not even learn whether it exists."""
    user = request.user
    if isinstance(user, ApiPrincipal):
        if user.brand is None or user.brand.pk != pk:
            raise Http404("No such brand.")
        return user.brand
    if not isinstance(user, User):
        raise NotAuthenticated()
    return get_object_or_404(Brand, pk=pk, memberships__user=user)


def _owned_brand(request: Request, pk: int) -> Brand:
    brand = _member_brand(request, pk)
    if not is_brand_owner(request.user, brand):
        raise PermissionDenied("Only the brand's owners verify its legal name and domain.")
    return brand


def _verification_response(brand: Brand, status_code: int = 200) -> Response:
    return Response(
        BrandVerificationOut(selectors.brand_verification_state(brand)).data, status=status_code
    )


class BrandOwnersSignedIn(IsSignedInPerson):
    message = (
        "Verifying a brand needs one of its owners signed in, not an API key: the legal "
        "name and domain are the owners' word."
    )


@extend_schema(tags=["brands"])
class BrandVerificationView(APIView):
    permission_classes = [permissions.IsAuthenticated, BrandOwnersSignedIn]

    @extend_schema(
        summary="The brand's verified legal name and domain, and any pending claim",
        description="Members of the brand (or its API keys) see it; nobody else does.",
        responses={200: BrandVerificationOut},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _verification_response(_member_brand(request, pk))

    @extend_schema(
        summary="Claim a legal name and a domain: returns the TXT record to publish",
        description=(
            "Owners only. Publish a TXT record at `_timbre.<domain>` with the value "
            "`timbre-verification=<token>`, then POST .../verification/check."
        ),
        request=BrandVerificationIn,
        responses={201: BrandVerificationOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        brand = _owned_brand(request, pk)
        data = BrandVerificationIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand_domains.brand_verification_start(
            actor=signed_in_user(request),
            brand=brand,
            legal_name=data.validated_data["legal_name"],
            domain=data.validated_data["domain"],
        )
        return _verification_response(brand, 201)


@extend_schema(tags=["brands"])
class BrandVerificationCheck(APIView):
    permission_classes = [permissions.IsAuthenticated, BrandOwnersSignedIn]

    @extend_schema(
        summary="Look up the TXT record now; verifies the brand when it holds the token",
        description=(
            "Owners only. A record not found (NXDOMAIN, no TXT record, another token) or a "
            "DNS lookup that timed out or failed is a 400 naming what to do."
        ),
        request=None,
        responses={200: BrandVerificationOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        brand = _owned_brand(request, pk)
        brand_domains.brand_verification_check(actor=signed_in_user(request), brand=brand)
        return _verification_response(brand)


@extend_schema(tags=["brands"])
class BrandVerificationEmail(APIView):
    permission_classes = [permissions.IsAuthenticated, BrandOwnersSignedIn]

    @extend_schema(
        summary="Or send a link to an administrative address at the claimed domain",
        description=(
            "Owners only. `mailbox` is one of admin, administrator, webmaster, hostmaster, "
            "postmaster; whoever reads `<mailbox>@<domain>` follows the link within a day "
            "and confirms, which verifies the brand. A new link replaces the last."
        ),
        request=BrandEmailIn,
        responses={202: BrandVerificationOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        brand = _owned_brand(request, pk)
        data = BrandEmailIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand_domains.brand_verification_email_send(
            actor=signed_in_user(request),
            brand=brand,
            mailbox=data.validated_data["mailbox"],
            link_base=settings.TIMBRE_ORIGIN,
        )
        return _verification_response(brand, 202)


def _own_performer(request: Request) -> tuple[User, Performer]:
    if isinstance(request.user, ApiPrincipal) or not request.user.is_authenticated:
        raise NotAuthenticated("Sign in as the performer.")
    user = signed_in_user(request)
    performer = Performer.objects.filter(user=user).first()
    if performer is None:
        raise PermissionDenied("Identity verification is for performers with their own account.")
    return user, performer


def _identity_out(user: User, performer: Performer) -> dict[str, Any]:
    status_ = identity.identity_status(performer)
    challenge = None
    if status_.state != "verified":
        challenge = identity.identity_challenge_issue(actor=user, performer=performer)
    return {
        "state": status_.state,
        "verified_at": performer.identity_verified_at,
        "challenge": challenge,
        "submission": status_.latest,
    }


@extend_schema(tags=["identity"])
class Identity(APIView):
    """The signed-in performer's identity verification: its state, the sentence to
    record, and the evidence to send. An operator decides on the queue page."""

    permission_classes = [IsSignedInPerson]

    @extend_schema(
        summary="Your identity verification and the sentence to record", responses=IdentityOut
    )
    def get(self, request: Request) -> Response:
        user, performer = _own_performer(request)
        return Response(IdentityOut(_identity_out(user, performer)).data)

    @extend_schema(
        summary="Send a recording of the challenge sentence and an identity document",
        request={"multipart/form-data": IdentityIn},
        responses={201: IdentityOut},
    )
    def post(self, request: Request) -> Response:
        user, performer = _own_performer(request)
        data = IdentityIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        identity.identity_submit(
            actor=user,
            performer=performer,
            challenge_id=d["challenge"],
            recording=d["recording"],
            document=d["document"],
        )
        performer.refresh_from_db()
        return Response(
            IdentityOut(_identity_out(user, performer)).data, status=status.HTTP_201_CREATED
        )
