"""The HTTP side: a local server that records each request, runs the test's hooks, checks
the key, keeps idempotency keys as Stripe does, and routes to the resource's endpoint."""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from tests.payments.stripe_fake.lists import Lists
from tests.payments.stripe_fake.store import Handler, Route
from tests.payments.stripe_fake.wire import (
    API_VERSION,
    ApiError,
    Obj,
    Recorded,
    decode_params,
    error_body,
)


@dataclass
class _Failure:
    method: str
    path: str
    status: int
    error: Obj
    headers: dict[str, str]
    saved: bool


@dataclass
class _Saved:
    method: str
    path: str
    params: Obj
    status: int
    body: Obj
    request_id: str


class Server(Lists):
    """Serves the endpoints it is given (``FakeStripe`` gathers its resource mixins')."""

    def __init__(self, routes: list[Route]) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.errors: list[BaseException] = []  # raised by hooks, or by the fake itself (500s)
        self.before: Callable[[Recorded], None] | None = None
        self.after: Callable[[Recorded], None] | None = None
        self._failures: list[_Failure] = []
        self._saved: dict[str, _Saved] = {}
        self._in_flight: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern.replace("{id}", "(?P<id>[^/]+)")), handler)
            for method, pattern, handler in routes
        ]

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is None:
            server = _Server(self)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-stripe",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeStripe is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- inspection and hooks --------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        """Requests made to exactly ``method path`` (e.g. ``("POST", "/v1/transfers")``)."""
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        error: Obj,
        *,
        headers: dict[str, str] | None = None,
        saved: bool = False,
    ) -> None:
        """Answer the next ``method path`` request with ``{"error": error}`` and ``status``.

        Nothing executes. By default the answer is not kept under the request's idempotency
        key, so a retry with the same key runs for real (a failure before Stripe's endpoint
        began); ``saved=True`` keeps it, so retries replay it (as Stripe does for a 500 raised
        during execution). ``headers`` are added to the answer (e.g. Stripe-Should-Retry).
        """
        failure = _Failure(method.upper(), path, status, dict(error), dict(headers or {}), saved)
        with self._lock:
            self._failures.append(failure)

    # -- HTTP ------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        rec = Recorded(
            method=handler.command,
            path=split.path,
            query=decode_params(split.query),
            params=decode_params(body),
            headers=headers,
            idempotency_key=headers.get("idempotency-key"),
        )
        key = rec.idempotency_key if rec.method == "POST" else None
        with self._lock:
            rec.request_id = self._new_id("req_", 14)
            self.requests.append(rec)
            # Stripe has the request from here on: the same key arriving while `before` holds
            # this one is answered 409 idempotency_key_in_use.
            claimed = key is not None and key not in self._saved and key not in self._in_flight
            if claimed:
                self._in_flight.add(str(key))
        try:
            if not self._run_hook(self.before, rec):
                handler.close_connection = True  # nothing executed, and no answer at all
                return
            status, answer, extra = self._answer(rec, claimed)
        finally:
            if claimed:
                with self._lock:
                    self._in_flight.discard(str(key))
        rec.status, rec.response = status, answer
        if not self._run_hook(self.after, rec):
            handler.close_connection = True  # executed, but the answer is lost on the way
            return
        payload = json.dumps(answer, indent=2).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Request-Id", rec.request_id)
        handler.send_header("Stripe-Version", headers.get("stripe-version") or API_VERSION)
        if rec.method == "POST" and rec.idempotency_key:
            handler.send_header("Idempotency-Key", rec.idempotency_key)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _run_hook(self, hook: Callable[[Recorded], None] | None, rec: Recorded) -> bool:
        if hook is None:
            return True
        try:
            hook(rec)
        except Exception as exc:
            with self._lock:
                self.errors.append(exc)
            return False
        return True

    def _answer(self, rec: Recorded, claimed: bool) -> tuple[int, Obj, dict[str, str]]:
        """``claimed``: this request already holds its idempotency key in flight."""
        auth_problem = self._auth_problem(rec.headers.get("authorization", ""))
        if auth_problem:
            body = {"error": {"message": auth_problem, "type": "invalid_request_error"}}
            return 401, body, {"WWW-Authenticate": 'Basic realm="Stripe"'}
        key = rec.idempotency_key if rec.method == "POST" else None
        if key is None:
            status, body, extra, _ = self._execute(rec)
            return status, body, extra
        if not claimed:
            with self._lock:
                early = self._replay(rec, key)
                if early is not None:
                    return early
                self._in_flight.add(key)
        try:
            status, body, extra, keep = self._execute(rec)
            if keep:
                with self._lock:
                    saved = _Saved(rec.method, rec.path, rec.params, status, body, rec.request_id)
                    self._saved[key] = saved
            return status, body, extra
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def _replay(self, rec: Recorded, key: str) -> tuple[int, Obj, dict[str, str]] | None:
        saved = self._saved.get(key)
        if saved is None:
            if key not in self._in_flight:
                return None
            message = (
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                f"going through): {key}. Please try again later."
            )
            body = error_body(
                message,
                "invalid_request_error",
                rec.request_id,
                self._now(),
                code="idempotency_key_in_use",
            )
            return 409, body, {}
        if (saved.method, saved.path) != (rec.method, rec.path):
            message = (
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved.method} {saved.path}' vs '{rec.method} {rec.path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different request."
            )
            return 400, error_body(message, "idempotency_error", rec.request_id, self._now()), {}
        if saved.params != rec.params:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
            return 400, error_body(message, "idempotency_error", rec.request_id, self._now()), {}
        rec.replayed = True
        extra = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return saved.status, copy.deepcopy(saved.body), extra

    def _execute(self, rec: Recorded) -> tuple[int, Obj, dict[str, str], bool]:
        """(status, body, extra headers, keep under the idempotency key)."""
        with self._lock:
            failure = next(
                (f for f in self._failures if (f.method, f.path) == (rec.method, rec.path)), None
            )
            if failure is not None:
                self._failures.remove(failure)
                error = {"error": copy.deepcopy(failure.error)}
                return failure.status, error, dict(failure.headers), failure.saved
            try:
                return 200, self._dispatch(rec), {}, True
            except ApiError as exc:
                return exc.status, exc.body(rec.request_id, self._now()), {}, exc.saved
            except Exception as exc:  # a bug in the fake: a Stripe-shaped 500 the test will see
                self.errors.append(exc)
                body = {"error": {"message": f"FakeStripe crashed: {exc!r}", "type": "api_error"}}
                return 500, body, {"Stripe-Should-Retry": "false"}, False

    @staticmethod
    def _auth_problem(header: str) -> str | None:
        scheme, _, credentials = header.strip().partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = credentials.strip()
        elif scheme.lower() == "basic":  # curl -u sk_test_...:
            try:
                key = base64.b64decode(credentials).decode().partition(":")[0]
            except ValueError:
                key = credentials
        if not key:
            return (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/."
            )
        if key.startswith("sk_test_") and len(key) > len("sk_test_"):
            return None
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
        return f"Invalid API Key provided: {masked}"

    # -- routing ---------------------------------------------------------------------------

    def _dispatch(self, rec: Recorded) -> Obj:
        args = rec.query if rec.method == "GET" else rec.params
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rec.path)
            if match and method == rec.method:
                path_id = unquote(match.group("id")) if "id" in pattern.groupindex else ""
                return self._expand(handler(rec, args, path_id), args.get("expand"))
        raise ApiError(
            404,
            f"Unrecognized request URL ({rec.method}: {rec.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            saved=False,
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: Server) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_DELETE(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are in ``FakeStripe.requests``."""
