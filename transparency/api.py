"""The log over HTTP: public, rate limited, shapes as in DESIGN.md."""

from __future__ import annotations

import base64
import re
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.parsing import parse_index
from transparency import keys, selectors, services
from transparency.models import Checkpoint


def b64(value: bytes | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise ValidationError({name: [f"{name} is required."]})
    value = parse_index(raw)
    if value is None or (len(raw) > 1 and raw[0] == "0"):
        raise ValidationError({name: [f"{name} must be a non-negative integer, got {raw[:40]!r}."]})
    return value


def _proof_error(exc: selectors.ProofRequestError) -> ValidationError:
    return ValidationError({exc.field: [str(exc)]})


class LogView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"


class EntryOut(serializers.Serializer):
    index = serializers.IntegerField()
    data = serializers.CharField(help_text="The leaf bytes (RFC 8785 JSON of the event), base64")  # type: ignore[assignment]  # the serializer metaclass moves fields to _declared_fields: .data stays the output
    leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || data), base64")


class InclusionOut(serializers.Serializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())


class ConsistencyOut(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    proof = serializers.ListField(child=serializers.CharField())


def _text(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


@extend_schema(tags=["log"])
class CheckpointView(LogView):
    @extend_schema(
        summary="The latest signed checkpoint (C2SP signed note), or the one of a given size",
        parameters=[OpenApiParameter("tree_size", int, required=False)],
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="signed note")
        },
    )
    def get(self, request: Request) -> HttpResponse:
        if "tree_size" in request.query_params:
            size = _int_param(request, "tree_size")
            stored = Checkpoint.objects.filter(tree_size=size).first()
            if stored is None:
                raise NotFound(f"No checkpoint was signed at tree size {size}.")
            return _text(stored.note)
        latest = selectors.latest_checkpoint()
        if latest is None or latest.tree_size < selectors.load_head().size:
            latest = services.checkpoint_sign()  # on demand: the tree grew since
        return _text(latest.note)


@extend_schema(tags=["log"])
class VerifierKeyView(LogView):
    @extend_schema(
        summary="The note verifier key that signs checkpoints",
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request: Request) -> HttpResponse:
        return _text(keys.verifier_key() + "\n")


@extend_schema(tags=["log"])
class EntriesView(LogView):
    @extend_schema(
        summary="Entries [start, end), at most 1000",
        parameters=[
            OpenApiParameter("start", int, required=True),
            OpenApiParameter("end", int, required=True),
        ],
        responses={200: EntryOut(many=True)},
    )
    def get(self, request: Request) -> Response:
        start, end = _int_param(request, "start"), _int_param(request, "end")
        try:
            rows = selectors.entries(start, end)
        except selectors.ProofRequestError as exc:
            raise _proof_error(exc) from exc
        return Response(
            [{"index": e.index, "data": b64(e.data), "leaf_hash": b64(e.leaf_hash)} for e in rows]
        )


class EventsOut(serializers.Serializer):
    subject = serializers.CharField()
    tree_size = serializers.IntegerField()
    indices = serializers.ListField(child=serializers.IntegerField())


_SUBJECT_KINDS = ("license", "voice", "work", "payee", "performer", "brand", "key")
# What a subject's id looks like, by kind: the registry's own ids, ASCII only.
_SUBJECT = re.compile(
    r"(?:(?:license|work):[a-z]{3}_[0-9A-Za-z]{1,60}|(?:voice|payee|performer|brand):[1-9][0-9]{0,17}"
    r"|key:[A-Za-z0-9_-]{1,100})",
    re.ASCII,
)


@extend_schema(tags=["log"])
class EventsView(LogView):
    @extend_schema(
        summary=(
            "Where the events about a license, voice, work, payee, performer or key are in the log"
        ),
        description=(
            "The indices of every event that changed the standing of `subject` "
            "(`license:<id>`, `voice:<id>`, `work:<id>`, `payee:<id>`, `performer:<id>`, "
            "`key:<kid>`), within "
            "the first `tree_size` entries (default: the whole log). Fetch each entry and "
            "its inclusion proof to believe it; `python -m verifier` does."
        ),
        parameters=[
            OpenApiParameter("subject", str, required=True),
            OpenApiParameter("tree_size", int, required=False),
        ],
        responses={200: EventsOut},
    )
    def get(self, request: Request) -> Response:
        subject = request.query_params.get("subject", "")
        if _SUBJECT.fullmatch(subject) is None:
            raise ValidationError(
                {
                    "subject": [
                        "Give subject as <kind>:<id>, kind one of "
                        f"{', '.join(_SUBJECT_KINDS)}, and the id as the registry writes it: "
                        "license:lic_01h..., work:wrk_01h..., voice:12, payee:7, performer:3, "
                        "key:<kid>."
                    ]
                }
            )
        size = selectors.load_head().size
        if "tree_size" in request.query_params:
            asked = _int_param(request, "tree_size")
            if asked > size:
                raise ValidationError(
                    {"tree_size": [f"The log has {size} entries; tree_size {asked} is beyond it."]}
                )
            size = asked
        return Response(
            {
                "subject": subject,
                "tree_size": size,
                "indices": selectors.events_about(subject, size),
            }
        )


@extend_schema(tags=["log"])
class InclusionView(LogView):
    @extend_schema(
        summary="Inclusion proof of entry `index` in the tree of `tree_size` (RFC 9162 2.1.3)",
        parameters=[
            OpenApiParameter("index", int, required=True),
            OpenApiParameter("tree_size", int, required=True),
        ],
        responses={200: InclusionOut},
    )
    def get(self, request: Request) -> Response:
        index, tree_size = _int_param(request, "index"), _int_param(request, "tree_size")
        try:
            proof = selectors.inclusion_proof(index, tree_size)
        except selectors.ProofRequestError as exc:
            raise _proof_error(exc) from exc
        leaf = selectors.entries(index, index + 1)[0]
        return Response(
            {
                "index": index,
                "tree_size": tree_size,
                "leaf_hash": b64(leaf.leaf_hash),
                "proof": [b64(p) for p in proof],
            }
        )


@extend_schema(tags=["log"])
class ConsistencyView(LogView):
    @extend_schema(
        summary="Consistency proof between trees of sizes `first` and `second` (RFC 9162 2.1.4)",
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, required=True),
        ],
        responses={200: ConsistencyOut},
    )
    def get(self, request: Request) -> Response:
        first, second = _int_param(request, "first"), _int_param(request, "second")
        try:
            proof = selectors.consistency_proof(first, second)
        except selectors.ProofRequestError as exc:
            raise _proof_error(exc) from exc
        return Response({"first": first, "second": second, "proof": [b64(p) for p in proof]})
