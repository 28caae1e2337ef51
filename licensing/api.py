"""Licensing API: offers, requests, licenses, verification. Thin views over services."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.pagination import CursorPagination
from core.parsing import parse_index
from core.problems import problem_response
from core.throttling import public_rate_limit
from licensing import keys, services
from licensing.models import License, LicenseRequest, Offer
from licensing.policies import readable_licenses
from licensing.serializers import (
    DecisionIn,
    LicenseOut,
    LicenseStatusOut,
    OfferIn,
    OfferOut,
    OfferTermsIn,
    RequestIn,
    RequestOut,
    RevokeIn,
    VerifyIn,
    VerifyOut,
)
from licensing.verification import MAX_BATCH, verify_licenses
from registry.authentication import ApiPrincipal
from registry.models import Brand, User, VoiceModel
from registry.policies import managed_performers


class Public(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"


def _person(request: Request) -> User:
    """A signed-in person (pages' session), or the creator of the API key in use."""
    user = request.user
    if isinstance(user, ApiPrincipal):
        return user.api_key.created_by
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def _brands(request: Request) -> QuerySet[Brand]:
    user = request.user
    if isinstance(user, ApiPrincipal):
        return Brand.objects.filter(pk=user.brand.pk) if user.brand else Brand.objects.none()
    if isinstance(user, User):
        return Brand.objects.filter(memberships__user=user)
    raise NotAuthenticated()


def _session_only(request: Request) -> User:
    if isinstance(request.user, ApiPrincipal):
        raise PermissionDenied("Performers act through the site, signed in, not with API keys.")
    return _person(request)


def _terms(data: dict[str, Any]) -> services.OfferTerms:
    fields = {k: v for k, v in data.items() if k != "title"}
    return services.OfferTerms(**fields)


@extend_schema(tags=["licensing"])
class JwksView(Public):
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Every license-signing key ever used, with its status (RFC 7517)",
        responses={(200, "application/jwk-set+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> JsonResponse:
        return JsonResponse(keys.jwks(), content_type="application/jwk-set+json")


@extend_schema(tags=["licensing"])
class OfferList(ListAPIView):
    serializer_class = OfferOut
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Published offers on active voices", parameters=[OpenApiParameter("voice", int)]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        offers = Offer.objects.filter(
            status=Offer.Status.PUBLISHED, voice__status=VoiceModel.Status.ACTIVE
        ).select_related("voice")
        voice = self.request.query_params.get("voice", "")
        if voice:
            voice_id = parse_index(voice)
            if voice_id is None:
                raise ValidationError({"voice": ["Give a voice id."]})
            offers = offers.filter(voice_id=voice_id)
        return offers


@extend_schema(tags=["licensing"])
class VoiceOffers(APIView):
    @extend_schema(
        summary="Publish an offer on your voice", request=OfferIn, responses={201: OfferOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = _session_only(request)
        voice = get_object_or_404(VoiceModel, pk=pk, performer__in=managed_performers(actor))
        data = OfferIn(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.offer_publish(
            actor=actor,
            voice=voice,
            title=data.validated_data["title"],
            offer_terms=_terms(data.validated_data),
        )
        return Response(OfferOut(offer).data, status=201)


@extend_schema(tags=["licensing"])
class OfferRevise(APIView):
    @extend_schema(
        summary="New terms for new requests (a new version)",
        request=OfferTermsIn,
        responses={201: OfferOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = _session_only(request)
        offer = get_object_or_404(Offer, pk=pk, voice__performer__in=managed_performers(actor))
        data = OfferTermsIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.offer_revise(actor=actor, offer=offer, offer_terms=_terms(data.validated_data))
        return Response(OfferOut(offer).data, status=201)


@extend_schema(tags=["licensing"])
class OfferRequests(APIView):
    @extend_schema(
        summary="Request a license under an offer", request=RequestIn, responses={201: RequestOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        offer = get_object_or_404(Offer, pk=pk, status=Offer.Status.PUBLISHED)
        data = RequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        brands = _brands(request)
        brand_id = v.pop("brand", None)
        brand = (brands.filter(pk=brand_id) if brand_id is not None else brands).first()
        if brand is None or (brand_id is None and brands.count() > 1):
            raise PermissionDenied("Say which of your brands asks (brand).")
        req = services.request_submit(
            actor=_person(request), brand=brand, offer=offer, data=services.RequestInput(**v)
        )
        return Response(RequestOut(req).data, status=201)


def _visible_requests(request: Request) -> QuerySet[LicenseRequest]:
    """A brand sees its own requests; a performer sees those on voices they manage."""
    query = Q(brand__in=_brands(request))
    if isinstance(request.user, User):
        query |= Q(offer_version__offer__voice__performer__in=managed_performers(request.user))
    return (
        LicenseRequest.objects.filter(query)
        .select_related("brand", "offer_version__offer")
        .order_by("-created_at")
    )


@extend_schema(tags=["licensing"])
class RequestList(ListAPIView):
    serializer_class = RequestOut

    @extend_schema(summary="Your brand's requests, or requests for voices you manage")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return _visible_requests(self.request)


@extend_schema(tags=["licensing"])
class RequestDecide(APIView):
    approve = True

    @extend_schema(
        summary="Approve or decline a request (performer)", request=DecisionIn, responses=RequestOut
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = _session_only(request)
        req = get_object_or_404(_visible_requests(request), pk=pk)
        data = DecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        req = services.request_decide(
            actor=actor, request=req, approve=self.approve, note=data.validated_data["note"]
        )
        return Response(RequestOut(req).data)


@extend_schema(tags=["licensing"])
class RequestWithdraw(APIView):
    @extend_schema(summary="Withdraw your request (brand)", request=None, responses=RequestOut)
    def post(self, request: Request, pk: int) -> Response:
        req = get_object_or_404(_visible_requests(request), pk=pk)
        req = services.request_withdraw(actor=_person(request), request=req)
        return Response(RequestOut(req).data)


def _brand_licenses(request: Request) -> QuerySet[License]:
    return License.objects.filter(brand__in=_brands(request)).select_related(
        "brand", "voice", "signing_key"
    )


class ByIssue(CursorPagination):
    ordering = "-issued_at"


@extend_schema(tags=["licensing"])
class LicenseList(ListAPIView):
    serializer_class = LicenseOut
    pagination_class = ByIssue

    @extend_schema(summary="Your brand's licenses")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return _brand_licenses(self.request)


@extend_schema(tags=["licensing"])
class LicenseDetail(APIView):
    @extend_schema(
        summary="One of your brand's licenses, with its signed document", responses=LicenseOut
    )
    def get(self, request: Request, license_id: str) -> Response:
        lic = get_object_or_404(_brand_licenses(request), license_id=license_id)
        return Response(LicenseOut(lic).data)


@extend_schema(tags=["licensing"])
class LicenseJws(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="A license's signed document, as the compact JWS that was logged",
        description=(
            "For whoever may read the license's terms: its brand, those who act for its "
            "voice's performer, auditors the performer's side granted access to, operators. "
            "`python -m verifier statement` reads the royalty terms from it, checked against "
            "the hash its `license.issued` log entry holds."
        ),
        responses={(200, "application/jose"): OpenApiTypes.STR},
    )
    def get(self, request: Request, license_id: str) -> HttpResponse:
        lic = get_object_or_404(readable_licenses(request.user), license_id=license_id[:40])
        return HttpResponse(lic.jws, content_type="application/jose")


@extend_schema(tags=["licensing"])
class LicenseStatus(Public):
    @extend_schema(summary="A license's status now (public)", responses=LicenseStatusOut)
    def get(self, request: Request, license_id: str) -> Response:
        lic = get_object_or_404(
            License.objects.select_related("voice", "signing_key"), license_id=license_id
        )
        return Response(LicenseStatusOut(lic).data)


@extend_schema(tags=["licensing"])
class LicenseRevoke(APIView):
    @extend_schema(
        summary="Revoke a license (performer: breach; brand: surrender; operator)",
        request=RevokeIn,
        responses=LicenseStatusOut,
    )
    def post(self, request: Request, license_id: str) -> Response:
        actor = _person(request)
        query = Q(brand__in=_brands(request))
        if isinstance(request.user, User):
            query |= Q(voice__performer__in=managed_performers(request.user))
            if request.user.is_staff:
                query = Q()
        lic = get_object_or_404(License.objects.filter(query), license_id=license_id)
        data = RevokeIn(data=request.data)
        data.is_valid(raise_exception=True)
        if isinstance(request.user, ApiPrincipal) and data.validated_data["reason"] != "surrender":
            # A key acts for its brand only, never with its creator's other rights.
            raise PermissionDenied("With an API key a brand may only surrender its license.")
        lic = services.license_revoke(
            actor=actor,
            license=lic,
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
        )
        return Response(LicenseStatusOut(lic).data)


def _verify_tokens(body: Any) -> list[str]:
    if not isinstance(body, dict) or "jws" not in body:
        raise ValidationError({"jws": ["This field is required."]})
    tokens = body["jws"]
    if isinstance(tokens, str):
        tokens = [tokens]
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise ValidationError({"jws": ["Give a compact JWS string, or a list of them."]})
    if len(tokens) > MAX_BATCH:
        raise ValidationError({"jws": [f"At most {MAX_BATCH} per call; got {len(tokens)}."]})
    return tokens


@extend_schema(tags=["verification"])
class Verify(Public):
    """What POST /api/v1/verify accepts and answers, for the OpenAPI schema.

    The endpoint itself is `verify` below: a plain Django view with the same contract, as
    it is the registry's hottest public path and DRF's dispatch alone costs more than the
    verification of one license. Schema tests (schemathesis) hold the two to one contract.
    """

    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Verify one license JWS or up to 1000",
        request=VerifyIn,
        responses=VerifyOut,
    )
    def post(self, request: Request) -> Response:
        tokens = _verify_tokens(request.data)
        return Response({"results": [v.as_json() for v in verify_licenses(tokens)]})


@csrf_exempt  # public and anonymous: no cookie is read, so there is nothing to forge
def verify(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = problem_response(
            "method-not-allowed", 405, f"Method {request.method} not allowed."
        )
        response["Allow"] = "POST"
        return response
    wait = public_rate_limit(request, "verify")
    if wait is not None:
        response = problem_response("rate-limited", 429, f"Too many requests; retry in {wait} s.")
        response["Retry-After"] = str(wait)
        return response
    if request.content_type != "application/json":
        return problem_response("unsupported-media-type", 415, "Send application/json.")
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        return problem_response("payload-too-large", 413, "The request body is too large.")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return problem_response("malformed-request", 400, f"JSON parse error - {str(exc)[:200]}")
    try:
        tokens = _verify_tokens(body)
    except ValidationError as exc:
        detail = exc.detail
        assert isinstance(detail, dict)  # _verify_tokens names the field it refuses
        errors = {k: [str(m) for m in v] for k, v in detail.items()}
        first = next(iter(errors.items()))
        return problem_response(
            "validation-error", 400, f"{first[0]}: {first[1][0]}", errors=errors
        )
    return JsonResponse(
        {"results": [v.as_json() for v in verify_licenses(tokens)]},
        json_dumps_params={"separators": (",", ":")},
    )


def license_download(request: Any, license_id: str) -> HttpResponse:
    """The .jws file, for the brand's members (session) only."""
    if not request.user.is_authenticated:
        return HttpResponse(status=404)
    lic = get_object_or_404(License, license_id=license_id, brand__memberships__user=request.user)
    response = HttpResponse(lic.jws, content_type="application/jose")
    response["Content-Disposition"] = f'attachment; filename="{lic.license_id}.jws"'
    return response
