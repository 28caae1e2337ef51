"""Lists as Stripe pages them (newest first, cursors, ``created`` filters) and
``expand[]``, including the fields that exist only when expanded."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from tests.payments.stripe_fake.store import Store
from tests.payments.stripe_fake.wire import ApiError, Obj, invalid


class Lists(Store):
    def _of_kind(self, object_name: str, keep: Callable[[Obj], bool]) -> list[Obj]:
        return [o for o in self.objects.values() if o["object"] == object_name and keep(o)]

    def _order(self, obj: Obj) -> tuple[int, int]:
        return obj["created"], self._seq[obj["id"]]

    def _page(self, items: Iterable[Obj], args: Obj, url: str) -> Obj:
        """A Stripe list: newest first, ``limit`` (10), ``starting_after``/``ending_before``."""
        limit = self._limit(args)
        ordered = sorted(items, key=self._order, reverse=True)
        after, before = args.get("starting_after"), args.get("ending_before")
        if after is not None and before is not None:
            raise invalid(
                "starting_after",
                "You may only specify one of these parameters: ending_before, starting_after.",
            )
        if after is not None:
            cursor = self._order(self._cursor(after, "starting_after"))
            pool = [o for o in ordered if self._order(o) < cursor]
            page = pool[:limit]
        elif before is not None:
            cursor = self._order(self._cursor(before, "ending_before"))
            pool = [o for o in ordered if self._order(o) > cursor]
            page = pool[-limit:]
        else:
            pool = ordered
            page = pool[:limit]
        return {"object": "list", "data": page, "has_more": len(pool) > limit, "url": url}

    def _cursor(self, object_id: Any, param: str) -> Obj:
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or "created" not in obj:
            raise ApiError(
                400,
                f"No such object: '{object_id}'",
                code="resource_missing",
                param=param,
                saved=False,
            )
        return obj

    def _limit(self, args: Obj) -> int:
        limit = self._opt_int(args, "limit")
        if limit is None:
            return 10
        if not 1 <= limit <= 100:
            bound = "less than or equal to 100" if limit > 100 else "greater than or equal to 1"
            raise invalid(
                "limit",
                f"This value must be {bound} (it currently is '{limit}').",
                "parameter_invalid_integer",
            )
        return limit

    def _created_filter(self, args: Obj) -> Callable[[int], bool]:
        raw = args.get("created")
        if raw is None:
            return lambda _t: True
        if isinstance(raw, str):
            exact = self._int_value(raw, "created")
            return lambda t: t == exact
        if not isinstance(raw, dict):
            raise invalid("created", "Invalid object", "parameter_invalid_object")
        ops = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
        checks: list[tuple[Callable[[int, int], bool], int]] = []
        for op, value in raw.items():
            if op not in ops:
                raise ApiError(
                    400,
                    f"Received unknown parameter: created[{op}]",
                    code="parameter_unknown",
                    param=f"created[{op}]",
                    saved=False,
                )
            checks.append((ops[op], self._int_value(value, f"created[{op}]")))
        return lambda t: all(check(t, bound) for check, bound in checks)

    def _include(self, obj: Obj, name: str) -> Obj | None:
        """Includable fields: absent unless expanded."""
        kind, oid = obj.get("object"), obj.get("id", "")
        if kind == "checkout.session" and name == "line_items":
            items = self._private[oid]["line_items"]
            url = f"/v1/checkout/sessions/{oid}/line_items"
            return {"object": "list", "data": items, "has_more": False, "url": url}
        if kind == "charge" and name == "refunds":
            refunds = self._of_kind("refund", lambda r: r["charge"] == oid)
            return self._full_list(refunds, f"/v1/charges/{oid}/refunds")
        if kind == "invoice" and name == "payments":
            payments = self._of_kind("invoice_payment", lambda p: p["invoice"] == oid)
            return self._full_list(payments, "/v1/invoice_payments")
        return None

    def _full_list(self, items: list[Obj], url: str) -> Obj:
        data = sorted(items, key=self._order, reverse=True)
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "total_count": len(data),
            "url": url,
        }

    def _expand(self, obj: Obj, expand: Any) -> Obj:
        out = self._snapshot(obj)
        if expand is None:
            return out
        paths = [expand] if isinstance(expand, str) else expand
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise invalid("expand", "Invalid array", "parameter_invalid_array")
        for path in paths:
            self._expand_path(out, path.split("."), path)
        return out

    def _expand_path(self, node: Any, parts: list[str], full: str) -> None:
        if not parts or node is None:
            return
        if isinstance(node, list):
            for element in node:
                self._expand_path(element, parts, full)
            return
        head, rest = parts[0], parts[1:]
        if isinstance(node, dict) and node.get("object") == "list" and head == "data":
            self._expand_path(node["data"], rest, full)
            return
        cannot = invalid("expand", f"This property cannot be expanded ({full}).")
        if not isinstance(node, dict):
            raise cannot
        if head not in node:
            included = self._include(node, head)
            if included is None:
                raise cannot
            node[head] = self._snapshot(included)
        value = node[head]
        if isinstance(value, str):
            target = self.objects.get(value)
            if target is None:
                raise cannot
            node[head] = self._snapshot(target)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            if not all(v in self.objects for v in value):
                raise cannot
            node[head] = [self._snapshot(self.objects[v]) for v in value]
        self._expand_path(node[head], rest, full)
