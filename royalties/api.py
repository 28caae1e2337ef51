"""Works API: record (one or bulk, idempotent), list, void, and the public by-hash lookup."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.idempotency import request_digest, with_idempotency
from core.pagination import CursorPagination
from registry.authentication import acting_brand
from registry.models import Brand, User
from royalties import services
from royalties.models import Work
from royalties.selectors import lookup_by_hash

_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELDS = {
    "client_ref": (str, 200, True),
    "content_sha256": (str, 64, True),
    "duration_ms": (int, None, True),
    "language": (str, 35, True),
    "territory": (str, 5, True),
    "use": (str, 30, True),
    "medium": (str, 30, True),
    "title": (str, 300, False),
    "characters": (int, 2**31 - 1, False),
    "declared_revenue": (int, 10**15, False),
}
MAX_DURATION_MS = 24 * 3600 * 1000


class WorkIn(serializers.Serializer):
    """For the schema; bodies are parsed by `parse_work`, which is fast for 10,000 items."""

    license_id = serializers.CharField(required=False, help_text="Required in bulk requests")
    client_ref = serializers.CharField(max_length=200, help_text="Your own id for the work")
    content_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    duration_ms = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MS)
    language = serializers.CharField(max_length=35)
    territory = serializers.CharField(max_length=5)
    use = serializers.CharField(max_length=30)
    medium = serializers.CharField(max_length=30)
    title = serializers.CharField(max_length=300, required=False)
    characters = serializers.IntegerField(min_value=0, required=False)
    declared_revenue = serializers.IntegerField(min_value=0, required=False)


class BulkIn(serializers.Serializer):
    works = WorkIn(many=True)


class OutcomeOut(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["recorded", "rejected"])
    work_id = serializers.CharField(required=False)
    receipt = serializers.CharField(required=False)
    log_index = serializers.IntegerField(required=False)
    price = serializers.IntegerField(required=False)
    currency = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class BulkOut(serializers.Serializer):
    recorded = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = OutcomeOut(many=True)


def parse_work(
    raw: Any, *, license_id: str | None, where: str
) -> tuple[services.WorkInput | None, dict[str, str]]:
    if not isinstance(raw, dict):
        return None, {where: "each work is a JSON object"}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, (kind, limit, required) in _FIELDS.items():
        value = raw.get(name)
        if value is None:
            if required:
                errors[f"{where}.{name}"] = "required"
            continue
        if kind is int and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < 0
            or (limit is not None and value > limit)
        ):
            errors[f"{where}.{name}"] = "a non-negative integer" + (
                f" of at most {limit}" if limit else ""
            )
        elif kind is str and (
            not isinstance(value, str) or (limit and len(value) > limit) or not value.strip()
        ):
            errors[f"{where}.{name}"] = f"a non-empty string of at most {limit} characters"
        else:
            values[name] = value
    lid = license_id if license_id is not None else raw.get("license_id")
    if not isinstance(lid, str) or not lid or len(lid) > 40:
        errors[f"{where}.license_id"] = "required: the license's id"
    sha = values.get("content_sha256")
    if sha is not None and not _SHA256.fullmatch(sha):
        errors[f"{where}.content_sha256"] = "64 lowercase hexadecimal characters"
    duration = values.get("duration_ms")
    if duration is not None and not 1 <= duration <= MAX_DURATION_MS:
        errors[f"{where}.duration_ms"] = f"between 1 and {MAX_DURATION_MS}"
    if errors or not isinstance(lid, str):  # a bad license id is among the errors
        return None, errors
    return services.WorkInput(license_id=lid, **values), {}


def _brand(request: Request) -> tuple[Brand, User]:
    return acting_brand(request, what="record works")


def _record(request: Request, items: list[Any], *, license_id: str | None) -> Response:
    brand, _ = _brand(request)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise ValidationError(
            {
                "Idempotency-Key": [
                    "This header is required: a retry with the same key changes nothing."
                ]
            }
        )
    parsed: list[services.WorkInput] = []
    errors: dict[str, str] = {}
    for i, raw in enumerate(items):
        work, problems = parse_work(raw, license_id=license_id, where=f"works[{i}]")
        errors.update(problems)
        if work is not None:
            parsed.append(work)
        if len(errors) > 50:
            break
    if errors:
        raise ValidationError(errors)

    def run() -> tuple[int, dict[str, Any]]:
        outcomes = services.works_record(brand=brand, items=parsed)
        recorded = sum(1 for o in outcomes if o.status == "recorded")
        body = {
            "recorded": recorded,
            "rejected": len(outcomes) - recorded,
            "results": [o.as_json() for o in outcomes],
        }
        return (201 if recorded else 422), body

    with transaction.atomic():
        status_code, body = with_idempotency(
            owner=f"brand:{brand.pk}",
            key=key,
            body_sha256=request_digest(request.path.encode(), request.body),
            run=run,
        )
    response = Response(body, status=status_code)
    response["Idempotency-Key"] = key
    return response


IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)


@extend_schema(tags=["works"])
class LicenseWorks(APIView):
    @extend_schema(
        summary="Record one work under a license",
        parameters=[IDEMPOTENCY],
        request=WorkIn,
        responses={201: BulkOut, 422: BulkOut},
    )
    def post(self, request: Request, license_id: str) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError({"work": ["Send one work as a JSON object."]})
        return _record(request, [request.data], license_id=license_id)


@extend_schema(tags=["works"])
class BulkWorks(APIView):
    @extend_schema(
        summary="Record up to 10,000 works, each answered on its own",
        parameters=[IDEMPOTENCY],
        request=BulkIn,
        responses={201: BulkOut, 422: BulkOut},
    )
    def post(self, request: Request) -> Response:
        works = request.data.get("works") if isinstance(request.data, dict) else None
        if not isinstance(works, list) or not works:
            raise ValidationError({"works": ['Send {"works": [...]} with at least one work.']})
        if len(works) > services.MAX_BULK:
            raise ValidationError(
                {"works": [f"At most {services.MAX_BULK} works per request; got {len(works)}."]}
            )
        return _record(request, works, license_id=None)


class WorkOut(serializers.Serializer):
    work_id = serializers.CharField()
    license_id = serializers.CharField(source="license.license_id")
    client_ref = serializers.CharField()
    content_sha256 = serializers.CharField()
    duration_ms = serializers.IntegerField()
    language = serializers.CharField()
    territory = serializers.CharField()
    use = serializers.CharField()
    medium = serializers.CharField()
    title = serializers.CharField()
    price = serializers.IntegerField()
    currency = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    log_index = serializers.IntegerField()
    receipt = serializers.CharField()
    voided_at = serializers.DateTimeField(allow_null=True)


class ByRecorded(CursorPagination):
    ordering = "-recorded_at"


@extend_schema(tags=["works"])
class WorkList(ListAPIView):
    serializer_class = WorkOut
    pagination_class = ByRecorded

    @extend_schema(summary="Your brand's works", parameters=[OpenApiParameter("license", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        brand, _ = _brand(self.request)
        works = Work.objects.filter(brand=brand).select_related("license")
        license_id = self.request.query_params.get("license")
        if license_id:
            works = works.filter(license__license_id=license_id[:40])
        return works


@extend_schema(tags=["works"])
class WorkVoid(APIView):
    @extend_schema(
        summary="Void a work within 24 hours (a reversing ledger entry)",
        request=None,
        responses=WorkOut,
    )
    def post(self, request: Request, work_id: str) -> Response:
        brand, user = _brand(request)
        work = services.work_void(brand=brand, work_id=work_id, actor=user)
        return Response(WorkOut(work).data)


class HashMatchOut(serializers.Serializer):
    work_id = serializers.CharField()
    license_id = serializers.CharField()
    license_status = serializers.CharField()
    voice = serializers.DictField()
    performer = serializers.DictField()
    licensee = serializers.DictField()
    recorded_at = serializers.DateTimeField()
    voided = serializers.BooleanField()
    receipt = serializers.CharField()
    log_index = serializers.IntegerField()
    inclusion = serializers.DictField(allow_null=True)


class ByHashOut(serializers.Serializer):
    content_sha256 = serializers.CharField()
    licensed = serializers.BooleanField()
    matches = HashMatchOut(many=True)


@extend_schema(tags=["verification"])
class WorksByHash(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"

    @extend_schema(summary="Is this clip licensed? (public)", responses=ByHashOut)
    def get(self, request: Request, sha256: str) -> Response:
        digest = sha256.lower()
        if not _SHA256.fullmatch(digest):
            raise ValidationError(
                {"sha256": ["64 hexadecimal characters: the SHA-256 of the audio file."]}
            )
        return Response(lookup_by_hash(digest))
