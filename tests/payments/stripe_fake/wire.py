"""What crosses the wire: form-encoded parameters in; each request as the fake recorded
it; Stripe-shaped error bodies out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

try:  # events carry the API version the library under test pins, as Stripe's do
    from stripe import api_version as _pinned
except ImportError:  # pragma: no cover - the fake itself needs only the standard library
    _pinned = "2026-10-28.endive"
API_VERSION: str = _pinned

Obj = dict[str, Any]

DAY = 86_400


def decode_params(encoded: str) -> Obj:
    """Decode a Stripe form/query string into nested dicts and lists.

    ``a[b]=1`` -> ``{"a": {"b": "1"}}``; ``a[0][c]=2`` and ``a[]=x`` -> lists. Values stay
    strings, as they are on the wire. Digit keys under ``metadata`` stay dict keys.
    """
    root: Obj = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [key]
        node = root
        for part in parts[:-1]:
            name = part or str(len(node))
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
        node[parts[-1] or str(len(node))] = value
    return _listify(root, "")


def _listify(value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v, k) for k, v in value.items()}
    if key != "metadata" and out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


@dataclass
class Recorded:
    """One request as the fake received it, and what it answered."""

    method: str
    path: str
    query: Obj
    params: Obj
    headers: dict[str, str]
    idempotency_key: str | None
    status: int | None = None  # None while in flight, or when the connection was dropped
    response: Obj | None = None
    request_id: str = ""
    replayed: bool = False  # answered from the idempotency store, nothing executed


class ApiError(Exception):
    """An error answer. ``saved``: kept under the idempotency key (the endpoint had begun
    executing, like Stripe) rather than dropped (parameter validation)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.saved = code, param, saved

    def body(self, request_id: str, now: int) -> Obj:
        return error_body(self.message, self.type, request_id, now, self.code, self.param)


def error_body(
    message: str,
    type: str,
    request_id: str,
    now: int,
    code: str | None = None,
    param: str | None = None,
) -> Obj:
    error: Obj = {}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    error["message"] = message
    if param:
        error["param"] = param
    error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t={now}"
    error["type"] = type
    return {"error": error}


def missing(param: str) -> ApiError:
    return ApiError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param, saved=False
    )


def invalid(param: str, message: str, code: str = "parameter_invalid_string") -> ApiError:
    return ApiError(400, message, code=code, param=param, saved=False)


def empty_list(url: str) -> Obj:
    return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}
