"""Checking request parameters as Stripe does: unknown ones refused, types and enums
checked, each failure naming its parameter."""

from __future__ import annotations

import re
from typing import Any

from tests.payments.stripe_fake.wire import ApiError, Obj, invalid, missing

# Top-level parameters each endpoint accepts (from the library's params classes, without its
# request options): anything else is answered with Stripe's "Received unknown parameter".
EXPAND = frozenset({"expand"})
LIST = frozenset({"ending_before", "expand", "limit", "starting_after"})


class Params:
    """Parameter checks shared by every endpoint; each raises Stripe's 400 for its parameter."""

    @staticmethod
    def _check_params(args: Obj, allowed: frozenset[str]) -> None:
        for name in args:
            if name not in allowed:
                raise ApiError(
                    400,
                    f"Received unknown parameter: {name}",
                    code="parameter_unknown",
                    param=name,
                    saved=False,
                )

    @staticmethod
    def _int_value(raw: Any, param: str) -> int:
        if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        raise invalid(param, f"Invalid integer: {raw}", "parameter_invalid_integer")

    def _opt_int(self, args: Obj, name: str, param: str | None = None) -> int | None:
        raw = args.get(name)
        return None if raw is None else self._int_value(raw, param or name)

    def _req_int(self, args: Obj, name: str, param: str | None = None) -> int:
        value = self._opt_int(args, name, param)
        if value is None:
            raise missing(param or name)
        return value

    def _positive_int(self, args: Obj, name: str) -> int:
        value = self._req_int(args, name)
        if value <= 0:
            raise invalid(name, "Invalid positive integer", "parameter_invalid_integer")
        return value

    @staticmethod
    def _req_str(args: Obj, name: str, param: str | None = None) -> str:
        value = args.get(name)
        if value is None or value == "":
            raise missing(param or name)
        if not isinstance(value, str):
            raise invalid(param or name, f"Invalid string: {value!r}")
        return value

    @staticmethod
    def _opt_bool(args: Obj, name: str) -> bool | None:
        raw = args.get(name)
        if raw is None:
            return None
        if raw in ("true", "false"):
            return raw == "true"
        raise invalid(name, f"Invalid boolean: {raw}", "parameter_invalid_boolean")

    @staticmethod
    def _enum(
        args: Obj, name: str, choices: tuple[str, ...], *, required: bool = False
    ) -> str | None:
        value = args.get(name)
        if value is None:
            if required:
                raise missing(name)
            return None
        if value not in choices:
            listed = ", ".join(choices[:-1]) + f", or {choices[-1]}"
            raise invalid(name, f"Invalid {name}: must be one of {listed}")
        return str(value)

    @staticmethod
    def _metadata(args: Obj, param: str = "metadata") -> dict[str, str]:
        raw = args.get("metadata")
        if raw is None or raw == "":
            return {}
        if not isinstance(raw, dict):
            raise invalid(param, "Invalid object", "parameter_invalid_object")
        return {k: v for k, v in raw.items() if v != ""}  # "" unsets a key, as on Stripe
