"""Timbre's URLs plus the reference views that bench/verify.py measures the API against."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response

from licensing.api import Public
from licensing.serializers import VerifyIn, VerifyOut
from licensing.verification import verify_licenses
from timbre.urls import handler404, handler500
from timbre.urls import urlpatterns as timbre_urlpatterns

_KEY = Ed25519PrivateKey.generate()
_MESSAGE = b"bench" * 100
_SIGNATURE = _KEY.sign(_MESSAGE)
_PUBLIC = _KEY.public_key()


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The floor: a Django view that reads the body and returns a small JSON object."""
    request.body  # noqa: B018 - read the body, as the verify view must
    return JsonResponse({"ok": True})


@csrf_exempt
def bare_ed25519(request: HttpRequest) -> JsonResponse:
    """The floor plus one Ed25519 verification: a calibration point, not a goal."""
    request.body  # noqa: B018
    _PUBLIC.verify(_SIGNATURE, _MESSAGE)
    return JsonResponse({"ok": True})


_VERDICTS: dict[str, dict[str, Any]] = {}


class VerifyRemembered(Public):
    """POST /api/v1/verify with each token's verdict computed once and then remembered:
    what the API layer (throttle, parsing, serializers) costs without verification.
    A calibration point, not a goal: a real verifier must never do this."""

    def post(self, request: Request) -> Response:
        data = VerifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        token = data.validated_data["jws"]
        verdict = _VERDICTS.get(token)
        if verdict is None:
            verdict = _VERDICTS[token] = verify_licenses([token])[0].__dict__
        return Response(VerifyOut({"results": [verdict]}).data)


urlpatterns = [
    path("bench/bare", bare),
    path("bench/bare-ed25519", bare_ed25519),
    path("bench/verify-remembered", VerifyRemembered.as_view()),
    *timbre_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
