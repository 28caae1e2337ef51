"""Site-wide pages: the problem-type catalogue and error handlers that speak JSON to the API."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.problems import PROBLEM_TYPES, problem_response


def problem_types(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    if slug is not None and slug not in PROBLEM_TYPES:
        raise Http404("No such problem type")
    return render(
        request, "problems.html", {"problem_types": PROBLEM_TYPES.items(), "selected": slug}
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if _is_api(request):
        return problem_response("not-found", 404, "No such endpoint or resource.")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_response("server-error", 500, "Something failed on our side.")
    return render(request, "500.html", status=500)
