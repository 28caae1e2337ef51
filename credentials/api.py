"""Content credentials over HTTP: stamping a work's audio, reading any file's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import parsers, permissions, serializers
from rest_framework.exceptions import (
    NotFound,
    ValidationError,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.problems import PayloadTooLarge
from credentials import identity, stamping
from credentials.verdicts import WORDS, audio_verdict
from registry.authentication import acting_brand
from verifier.audio import MIME_TYPES

AUDIO_TYPES = sorted(set(MIME_TYPES.values()))


# A stamped file is bigger than the audio it was made from (the manifest and its
# signature, some 14 KB): files are read with this much room over the stamping limit, so
# that whatever the registry stamped it can also read back.
HEADROOM = 1024 * 1024


def _limit() -> int:
    return int(settings.TIMBRE_MAX_STAMP_BYTES) + HEADROOM


def _refuse_declared_too_large(parser_context: Any) -> None:
    request = (parser_context or {}).get("request")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        declared = 0
    if declared > _limit():
        raise PayloadTooLarge(f"Audio files are at most {_limit()} bytes.")


class AudioParser(parsers.BaseParser):
    """The request body is the audio file itself (any audio/* type, or octet-stream)."""

    media_type = "audio/*"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        _refuse_declared_too_large(parser_context)
        data = stream.read(_limit() + 1) if stream is not None else b""
        if len(data) > _limit():
            raise PayloadTooLarge(f"Audio files are at most {_limit()} bytes.")
        return {"audio": data}


class OctetStreamParser(AudioParser):
    media_type = "application/octet-stream"


class AudioUploadParser(parsers.MultiPartParser):
    """A form upload with the file in the `audio` field (as /verify/ sends it)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        # Before Django spools the upload to disk.
        _refuse_declared_too_large(parser_context)
        parsed = super().parse(stream, media_type, parser_context)
        upload = parsed.files.get("audio")
        if upload is None:
            raise ValidationError({"audio": ["Upload the file in the `audio` field."]})
        if upload.size > _limit():
            raise PayloadTooLarge(f"Audio files are at most {_limit()} bytes.")
        return {"audio": upload.read()}


_PARSERS = [AudioParser, OctetStreamParser, AudioUploadParser]
_AUDIO_BODY = {media: OpenApiTypes.BINARY for media in [*AUDIO_TYPES, "application/octet-stream"]}


def _audio(request: Request) -> bytes:
    data = request.data.get("audio") if hasattr(request.data, "get") else None
    if not isinstance(data, bytes) or not data:
        raise ValidationError({"audio": ["Send the audio file as the request body."]})
    return data


@extend_schema(tags=["works"])
class StampWork(APIView):
    parser_classes = _PARSERS

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is audio, not rendered; errors are problem+json whatever the client
        # asked for (Accept: audio/wav must not turn a refusal into a 406).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Stamp a recorded work's audio with content credentials (C2PA)",
        description=(
            "Send the exact audio recorded for the work (its SHA-256 must match) as the "
            "body. The registry measures how long it plays and refuses it when the work's "
            "recorded `duration_ms` differs by more than the larger of 100 ms and 1%, or "
            "when it cannot measure it. The answer is the same audio with an embedded C2PA "
            "manifest signed by the registry: an actions assertion marking it created by a "
            "trained algorithm, and an `org.timbre.license` assertion with the license, "
            "work, voice, performer, receipt and log index. WAV, MP3, FLAC and M4A."
        ),
        request=_AUDIO_BODY,
        parameters=[
            OpenApiParameter("work_id", str, OpenApiParameter.PATH, pattern="^wrk_[0-9a-z]{26}$")
        ],
        responses={
            (200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The stamped audio")
            for media in AUDIO_TYPES
        },
    )
    def post(self, request: Request, work_id: str) -> HttpResponse:
        brand, user = acting_brand(request, what="stamp works")
        data = _audio(request)
        if len(data) > settings.TIMBRE_MAX_STAMP_BYTES:
            raise PayloadTooLarge(
                f"Audio files are stamped up to {settings.TIMBRE_MAX_STAMP_BYTES} bytes."
            )
        try:
            stamped, mime = stamping.stamp(actor=user, brand=brand, work_id=work_id[:40], data=data)
        except DjangoPermissionDenied as exc:
            raise NotFound("No work of yours has this id.") from exc
        extension = next(k for k, v in MIME_TYPES.items() if v == mime)
        response = HttpResponse(stamped, content_type=mime)
        response["Content-Disposition"] = f'attachment; filename="{work_id[:40]}.{extension}"'
        return response


_VerdictOut = inline_serializer(
    "AudioVerdict",
    {
        "content_sha256": serializers.CharField(),
        "verdict": serializers.ChoiceField(choices=sorted(WORDS)),
        "words": serializers.CharField(),
        "credentials": serializers.DictField(),
        "duration": serializers.DictField(
            help_text=(
                "measured_ms (null if the file cannot be measured), words, and when the "
                "credentials carry a valid receipt: receipt_ms, receipt_duration_measured, "
                "receipt_agrees (within the larger of 100 ms and 1%)"
            )
        ),
        "receipt": serializers.DictField(required=False),
        "license": serializers.DictField(required=False),
        "work": serializers.DictField(required=False),
        "lookup": serializers.DictField(required=False),
    },
)


@extend_schema(tags=["verification"])
class VerifyAudio(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"
    parser_classes = _PARSERS

    @extend_schema(
        summary="What an audio file's content credentials say, and its license today (public)",
        request=_AUDIO_BODY,
        responses=_VerdictOut,
    )
    def post(self, request: Request) -> Response:
        return Response(audio_verdict(_audio(request)))


def c2pa_root(request: HttpRequest) -> HttpResponse:
    """The registry's C2PA root certificate: the trust anchor for its content credentials."""
    response = HttpResponse(identity.current().root_pem, content_type="application/x-pem-file")
    response["Cache-Control"] = "public, max-age=3600"
    return response
