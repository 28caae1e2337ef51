"""Where the fake keeps Stripe's objects: ids, the clock, lookups, and the snapshot an
object leaves in (a charge's balance transaction turns ``available`` on its date)."""

from __future__ import annotations

import copy
import random
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.payments.stripe_fake.params import EXPAND, Params
from tests.payments.stripe_fake.wire import ApiError, Obj, Recorded

_ALNUM = string.ascii_letters + string.digits

# An endpoint: (the request, its parameters, the id in its path) -> the object answered.
Handler = Callable[[Recorded, Obj, str], Obj]
# (method, path with an ``{id}`` placeholder, handler)
Route = tuple[str, str, Handler]


def _wall_clock() -> int:
    return int(time.time())


class Store(Params):
    """The state under every resource. ``FakeStripe`` is this plus one mixin per resource
    (each in its own module) and the HTTP server."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.events: list[Obj] = []  # every event built, in order (including secondary ones)
        self.clock: Callable[[], int] = _wall_clock
        self._lock = threading.RLock()
        self._seq: dict[str, int] = {}
        self._private: dict[str, Obj] = {}
        self._settling: set[str] = set()  # balance transactions pending until available_on
        self._rng = random.Random()

    def _now(self) -> int:
        return int(self.clock())

    def _rand(self, length: int) -> str:
        return "".join(self._rng.choices(_ALNUM, k=length))

    def _new_id(self, prefix: str, length: int = 24) -> str:
        while True:
            candidate = prefix + self._rand(length)
            if candidate not in self.objects:
                return candidate

    def _store(self, obj: Obj) -> None:
        self.objects[obj["id"]] = obj
        self._seq[obj["id"]] = len(self._seq)

    def _lookup(self, object_id: Any, object_name: str, *, param: str | None = None) -> Obj:
        """``object_id`` as ``object_name``, or Stripe's resource_missing: 404 for an id in
        the path, 400 for one passed as parameter ``param``."""
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj.get("object") != object_name:
            raise ApiError(
                404 if param is None else 400,
                f"No such {object_name}: '{object_id}'",
                code="resource_missing",
                param=param or "id",
                saved=False,
            )
        return obj

    def _own(self, object_id: str, object_name: str) -> Obj:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != object_name:
            raise KeyError(f"no {object_name} {object_id!r}")
        return obj

    @contextmanager
    def _state_change(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except ApiError as exc:
                raise ValueError(exc.message) from exc

    def _retriever(self, object_name: str, allowed: frozenset[str] = EXPAND) -> Handler:
        def retrieve(rec: Recorded, args: Obj, path_id: str) -> Obj:
            self._check_params(args, allowed)
            return self._lookup(path_id, object_name)

        return retrieve

    def _snapshot(self, value: Any) -> Any:
        out = copy.deepcopy(value)
        self._settle(out)
        return out

    def _settle(self, node: Any) -> None:
        """Charge balance transactions are ``pending`` until their ``available_on``."""
        if isinstance(node, dict):
            if node.get("object") == "balance_transaction" and node.get("id") in self._settling:
                status = "available" if node["available_on"] <= self._now() else "pending"
                node["status"] = status
                self.objects[node["id"]]["status"] = status
            for child in node.values():
                self._settle(child)
        elif isinstance(node, list):
            for child in node:
                self._settle(child)
