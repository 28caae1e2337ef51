"""RFC 9457 problem details for every API error.

Every error the API returns is ``application/problem+json`` with a stable ``type``
(a relative URI under /problems/, documented there), a human ``title`` and ``detail``,
the HTTP ``status``, and for validation failures an ``errors`` member mapping each field
to its messages, so that clients can both show and act on what is wrong.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"

# slug -> (title, description); the catalogue is rendered at /problems/.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "validation-error": (
        "Your request is not valid",
        "One or more fields are missing or malformed; `errors` names each field.",
    ),
    "malformed-request": (
        "The request body could not be parsed",
        "The body is not well-formed JSON (or not the declared media type).",
    ),
    "unsupported-media-type": (
        "Unsupported media type",
        "The Content-Type of the request is not one this endpoint accepts.",
    ),
    "not-authenticated": (
        "Authentication required",
        "Send `Authorization: Bearer <API key>` or sign in.",
    ),
    "authentication-failed": (
        "Authentication failed",
        "The API key is unknown, malformed or revoked.",
    ),
    "permission-denied": (
        "You may not do this",
        "You are authenticated but not allowed to perform this action on this resource.",
    ),
    "not-found": ("Not found", "The resource does not exist or is not visible to you."),
    "method-not-allowed": ("Method not allowed", "This endpoint does not accept that method."),
    "not-acceptable": ("Not acceptable", "The requested representation is not available."),
    "rate-limited": ("Too many requests", "Slow down; `Retry-After` says when to try again."),
    "payload-too-large": ("Payload too large", "The upload exceeds the size limit."),
    "conflict": ("Conflict", "The resource is not in a state that allows this change."),
    "server-error": ("Internal error", "Something failed on our side; it has been logged."),
    "bad-signature": (
        "The webhook signature is missing or wrong",
        "Stripe-Signature must sign this exact body with the endpoint's secret, within 300 s.",
    ),
    # Refusals of identity and consent rules: each its own type, so a client can act on it.
    "consent-expired": (
        "The voice's consent has expired",
        "The consent behind this voice reached the end of its term (or a guardian's consent "
        "ended at the performer's 18th birthday). Nothing new is licensed or recorded on it "
        "until whoever may consent renews it.",
    ),
    "performer-unverified": (
        "The performer's identity is not verified",
        "A voice goes live only once an operator has verified the performer's identity "
        "(or the representative's authority).",
    ),
    "brand-unverified": (
        "The brand is not verified",
        "This offer accepts requests from brands that have proved control of their domain "
        "only. Verify the brand's domain, then ask again.",
    ),
    "delegation-out-of-scope": (
        "You hold no delegation for this",
        "For a living adult performer, approving requests, publishing offers and changing "
        "splits is the performer's own act, unless the performer delegated that power to "
        "you, in scope and in date.",
    ),
    "guardian-required": (
        "A guardian is required",
        "The performer is under 18: consent and the voice's business need a guardian "
        "whose authority an operator verified.",
    ),
    "post-mortem-term": (
        "Past the end of the post-mortem term",
        "The performer has died; the estate's right in the voice runs for the term the law of "
        "the jurisdiction recorded with the death gives. No license may run past its end, "
        "and the voice retires when it ends.",
    ),
}


class RuleRefused(DjangoValidationError):
    """A service's refusal under a rule that has a problem type of its own (a 400 whose
    ``type`` names the rule). Pages show it like any validation error."""

    def __init__(self, slug: str, errors: dict[str, list[str]]) -> None:
        assert slug in PROBLEM_TYPES, slug
        super().__init__(errors)
        self.problem_slug = slug


class RuleForbidden(PermissionDenied):
    """A refusal of who may act (a 403) under a rule with its own problem type; its
    message says what is missing."""

    def __init__(self, slug: str, detail: str) -> None:
        assert slug in PROBLEM_TYPES, slug
        super().__init__(detail)
        self.problem_slug = slug
        self.detail = detail


_BY_EXCEPTION: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "malformed-request"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.NotAuthenticated, "not-authenticated"),
    (exceptions.AuthenticationFailed, "authentication-failed"),
    (exceptions.PermissionDenied, "permission-denied"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.Throttled, "rate-limited"),
    (exceptions.ValidationError, "validation-error"),
]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this change."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload exceeds the size limit."
    default_code = "payload_too_large"


_BY_EXCEPTION[:0] = [(Conflict, "conflict"), (PayloadTooLarge, "payload-too-large")]


def problem(slug: str, *, status_code: int, detail: str, **extra: Any) -> dict[str, Any]:
    title = PROBLEM_TYPES[slug][0]
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    body.update(extra)
    return body


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail lists into plain strings, keeping the per-field structure."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _summary(errors: Any) -> str:
    if isinstance(errors, dict):
        parts = []
        for field, messages in errors.items():
            first = messages
            while isinstance(first, (list, dict)) and first:
                first = first[0] if isinstance(first, list) else next(iter(first.values()))
            parts.append(f"{field}: {first}")
        return "; ".join(parts)
    if isinstance(errors, list):
        return " ".join(str(e) for e in errors)
    return str(errors)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    typed: str | None = getattr(exc, "problem_slug", None)
    if isinstance(exc, RuleForbidden):
        exc = exceptions.PermissionDenied(exc.detail)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # The service's words say what is missing ("Only the brand's owners ..."); a bare
        # refusal keeps DRF's generic message.
        exc = exceptions.PermissionDenied(str(exc) or None)
    # DRF answers only its own exceptions (Django's are converted above); the rest are 500s.
    if not isinstance(exc, exceptions.APIException):
        return None

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    slug = typed or next(
        (s for cls, s in _BY_EXCEPTION if isinstance(exc, cls)), "validation-error"
    )
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        body = problem(
            slug, status_code=response.status_code, detail=_summary(errors), errors=errors
        )
    else:
        body = problem(slug, status_code=response.status_code, detail=str(_flatten(exc.detail)))
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(slug: str, status_code: int, detail: str, **extra: Any) -> JsonResponse:
    """A problem+json response for views outside DRF."""
    return JsonResponse(
        problem(slug, status_code=status_code, detail=detail, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
