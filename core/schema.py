"""OpenAPI post-processing: document the problem+json errors every operation can return."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "description": "Stable URI reference under /problems/"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Per-field messages, for validation errors",
            "additionalProperties": True,
        },
    },
    "required": ["type", "title", "status", "detail"],
}

_ALWAYS = {"429": "Too many requests"}
_BY_METHOD = {
    "get": {"400": "Bad parameters", "401": "Bad credentials", "404": "Not found"},
    "post": {
        "400": "Invalid input",
        "401": "Bad or missing credentials",
        "403": "Not allowed",
        "404": "Not found",
        "413": "Payload too large",
        "415": "Unsupported media type",
    },
}
_BY_METHOD["patch"] = _BY_METHOD["put"] = _BY_METHOD["delete"] = _BY_METHOD["post"]


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            codes = {**_BY_METHOD.get(method, {}), **_ALWAYS}
            # Rights are checked on every operation, reads included (drafts are private).
            codes.setdefault("403", "Not allowed")
            responses = operation.setdefault("responses", {})
            # Refused by the web server (gunicorn) before the application: no body promised.
            responses.setdefault("414", {"description": "Request line too long"})
            for code, description in codes.items():
                responses.setdefault(code, {"description": description, "content": ref})
    return result
