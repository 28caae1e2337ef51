"""Works API: record (one or bulk, idempotent), list, void, usage reports, and the public
by-hash lookup."""

from __future__ import annotations

import json
import re
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, permissions, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.idempotency import request_digest, with_idempotency
from core.pagination import CursorPagination
from core.parsers import JSONParser
from core.parsing import parse_month
from core.problems import PayloadTooLarge
from licensing.policies import readable_licenses
from registry.authentication import acting_brand
from registry.models import Brand, User
from royalties import services, usage
from royalties.models import Work
from royalties.selectors import lookup_by_hash, statement_payees
from royalties.statements import signed_statement

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
MAX_DURATION_MS = services.MAX_DURATION_MS
# Multipart fields of a work (everything but its audio), as the form sends them.
_FORM_ROOM = 64 * 1024


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


class WorkAudioIn(serializers.Serializer):
    """One work with its audio (multipart/form-data): the registry hashes and measures
    the file, and the work is recorded as measured and priced on the measured duration."""

    client_ref = serializers.CharField(max_length=200, help_text="Your own id for the work")
    audio = serializers.FileField(help_text="The work's audio: WAV, MP3, FLAC, Ogg or M4A")
    content_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", required=False, help_text="Optional: must be the file's SHA-256"
    )
    duration_ms = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DURATION_MS,
        required=False,
        help_text="Optional: must agree with the measured duration (100 ms or 1%)",
    )
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
    pension_health = serializers.IntegerField(
        required=False,
        help_text="Under a union agreement: the pension and health charged on top of the price",
    )
    currency = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class BulkOut(serializers.Serializer):
    recorded = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = OutcomeOut(many=True)


def parse_work(
    raw: Any, *, license_id: str | None, where: str, audio: IO[bytes] | None = None
) -> tuple[services.WorkInput | None, dict[str, str]]:
    """One work's fields, checked; with ``audio``, its hash and duration come from the
    file (declared ones are optional and must agree with it)."""
    if not isinstance(raw, dict):
        return None, {where: "each work is a JSON object"}

    def at(name: str) -> str:
        return f"{where}.{name}" if where else name

    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, (kind, limit, required) in _FIELDS.items():
        value = raw.get(name)
        if value is None:
            if required and not (audio is not None and name in _MEASURED_FIELDS):
                errors[at(name)] = "required"
            continue
        if kind is int and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < 0
            or (limit is not None and value > limit)
        ):
            errors[at(name)] = "a non-negative integer" + (f" of at most {limit}" if limit else "")
        elif kind is str and (
            not isinstance(value, str) or (limit and len(value) > limit) or not value.strip()
        ):
            errors[at(name)] = f"a non-empty string of at most {limit} characters"
        elif kind is str and "\x00" in value:
            # PostgreSQL cannot store NUL in text: refused here, not a 500 at the insert.
            errors[at(name)] = "must not contain NUL characters"
        else:
            values[name] = value
    lid = license_id if license_id is not None else raw.get("license_id")
    if not isinstance(lid, str) or not lid or len(lid) > 40:
        errors[at("license_id")] = "required: the license's id"
    sha = values.get("content_sha256")
    if sha is not None and not _SHA256.fullmatch(sha):
        errors[at("content_sha256")] = "64 lowercase hexadecimal characters"
    duration = values.get("duration_ms")
    if duration is not None and not 1 <= duration <= MAX_DURATION_MS:
        errors[at("duration_ms")] = f"between 1 and {MAX_DURATION_MS}"
    if errors or not isinstance(lid, str):  # a bad license id is among the errors
        return None, errors
    if audio is not None:
        try:
            measured = services.work_audio_measure(
                data=audio,
                declared_sha256=values.pop("content_sha256", None),
                declared_ms=values.pop("duration_ms", None),
            )
        except DjangoValidationError as exc:
            return None, {at(k): " ".join(v) for k, v in exc.message_dict.items()}
        values.update(
            content_sha256=measured.content_sha256,
            duration_ms=measured.duration_ms,
            measured=True,
        )
    return services.WorkInput(license_id=lid, **values), {}


# What the registry measures when the audio comes with the work.
_MEASURED_FIELDS = ("content_sha256", "duration_ms")


def _brand(request: Request) -> tuple[Brand, User]:
    return acting_brand(request, what="record works")


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise ValidationError(
            {
                "Idempotency-Key": [
                    "This header is required: a retry with the same key changes nothing."
                ]
            }
        )
    return key


def _record(request: Request, items: list[Any], *, license_id: str | None) -> Response:
    brand, _ = _brand(request)
    key = _idempotency_key(request)
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
    return _recorded(brand, parsed, key, request_digest(request.path.encode(), request.body))


def _recorded(brand: Brand, parsed: list[services.WorkInput], key: str, digest: str) -> Response:
    """Record the parsed works once per Idempotency-Key (``digest`` is what the key is
    bound to: a retry with another request under the same key is refused)."""

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
            owner=f"brand:{brand.pk}", key=key, body_sha256=digest, run=run
        )
    response = Response(body, status=status_code)
    response["Idempotency-Key"] = key
    return response


def _audio_limit() -> int:
    # A work's audio may be as large as the registry stamps (the same file is stamped).
    return int(settings.TIMBRE_MAX_STAMP_BYTES)


class WorkAudioParser(parsers.MultiPartParser):
    """A work's fields with its audio in the `audio` field. A body declared larger than
    the audio limit is refused before Django spools it to disk."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            declared = 0
        if declared > _audio_limit() + _FORM_ROOM:
            raise PayloadTooLarge(f"A work's audio is at most {_audio_limit():,} bytes.")
        return super().parse(stream, media_type, parser_context)


def _form_work(request: Request) -> tuple[dict[str, Any], IO[bytes]]:
    """The work's fields (numbers as numbers) and its audio, from a multipart form."""
    upload = request.FILES.get("audio")
    if upload is None:
        raise ValidationError(
            {"audio": ["Upload the work's audio in the `audio` field (or send JSON)."]}
        )
    if upload.size is not None and upload.size > _audio_limit():
        raise PayloadTooLarge(f"A work's audio is at most {_audio_limit():,} bytes.")
    if upload.size == 0:
        raise ValidationError({"audio": ["The file is empty."]})
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (kind, _, _) in _FIELDS.items():
        value = request.POST.get(name)
        if value is None or value == "":
            continue
        if kind is int:
            text = str(value).strip()
            if not text.isascii() or not text.isdigit() or len(text) > 20:
                errors[name] = "a non-negative whole number (at most 20 digits)"
                continue
            raw[name] = int(text)
        else:
            raw[name] = value
    if errors:
        raise ValidationError(errors)
    return raw, upload


IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)


@extend_schema(tags=["works"])
class LicenseWorks(APIView):
    parser_classes = [JSONParser, WorkAudioParser]

    @extend_schema(
        summary="Record one work under a license: declared, or with its audio (measured)",
        description=(
            "JSON declares the work's `content_sha256` and `duration_ms`: the work is "
            "recorded as *declared*. multipart/form-data sends the audio itself in `audio` "
            "with the other fields: the registry hashes and measures it, and the work is "
            "recorded as *measured* and priced on the measured duration (a declared hash or "
            "duration, if sent too, must agree with the file: a duration within the larger "
            "of 100 ms and 1%). Licenses whose terms say `measured_only` accept only the "
            "latter."
        ),
        parameters=[IDEMPOTENCY],
        request={"application/json": WorkIn, "multipart/form-data": WorkAudioIn},
        responses={201: BulkOut, 422: BulkOut},
    )
    def post(self, request: Request, license_id: str) -> Response:
        if request.content_type.startswith("multipart/form-data"):
            return self._with_audio(request, license_id)
        if not isinstance(request.data, dict):
            raise ValidationError({"work": ["Send one work as a JSON object."]})
        return _record(request, [request.data], license_id=license_id)

    def _with_audio(self, request: Request, license_id: str) -> Response:
        brand, _ = _brand(request)
        key = _idempotency_key(request)
        raw, audio = _form_work(request)
        work, errors = parse_work(raw, license_id=license_id, where="", audio=audio)
        if work is None:
            raise ValidationError(errors)
        # The key is bound to what was sent, not to the multipart bytes: a retry's form
        # has another boundary. The fields, and the audio by its hash, are what was sent.
        digest = request_digest(
            request.path.encode(),
            b"multipart",
            json.dumps(raw, sort_keys=True).encode(),
            work.content_sha256.encode(),
        )
        return _recorded(brand, [work], key, digest)


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
    measured = serializers.BooleanField(
        help_text="The registry measured the duration from the audio (else it was declared)"
    )
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


@extend_schema(tags=["works"])
class LicenseUsageReport(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="A license's usage in a month, one row per work: `2026-11.csv` or `.json`",
        description=(
            "For the license's brand, whoever acts for its voice's performer, and auditors "
            "the performer's side granted access to. Columns are named after DDEX DSR cells "
            "where one fits (see the README, 'Usage reports'). Voided works are listed, "
            "marked `voided`."
        ),
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request, license_id: str, report: str) -> StreamingHttpResponse:
        lic = readable_licenses(request.user).filter(license_id=license_id[:40]).first()
        if lic is None:
            raise NotFound("No license you may read has this id.")
        raw_month, _, kind = report.rpartition(".")
        month = parse_month(raw_month)
        if kind not in ("json", "csv"):
            raise ValidationError(
                {"report": [f"Ask for YYYY-MM.csv or YYYY-MM.json, got {report[:30]!r}."]}
            )
        if month is None:
            raise ValidationError(
                {"month": [f"Give the month as YYYY-MM, got {raw_month[:20]!r}."]}
            )
        name = f"usage-{lic.license_id}-{month.isoformat()[:7]}.{kind}"
        if kind == "csv":
            response = StreamingHttpResponse(usage.csv_lines(lic, month), content_type="text/csv")
        else:
            response = StreamingHttpResponse(
                usage.json_chunks(lic, month), content_type="application/json"
            )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@extend_schema(tags=["works"])
class StatementJws(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="A payee's signed statement of a closed month (timbre-statement+jws)",
        description=(
            "For the payee's own side, and auditors the performer's side granted access to: "
            "`python -m verifier statement` recomputes it from the log."
        ),
        responses={(200, "application/jose"): OpenApiTypes.STR},
    )
    def get(self, request: Request, payee_id: int, month: str, currency: str) -> HttpResponse:
        payee = statement_payees(request.user).filter(pk=payee_id).first()
        parsed = parse_month(month)
        stored = (
            signed_statement(payee, parsed, currency.upper()[:3])
            if payee is not None and parsed is not None
            else None
        )
        if stored is None:
            raise NotFound(
                "No signed statement you may read: the payee is not yours to audit, the month "
                "is open, or it closed before statements were signed."
            )
        return HttpResponse(stored.jws, content_type="application/jose")
