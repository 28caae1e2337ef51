from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from registry.selectors import roles_of


def roles(request: HttpRequest) -> dict[str, Any]:
    return {"roles": roles_of(request.user)}
