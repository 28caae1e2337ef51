"""A small, careful HTTP GET client for the log's public API (stdlib ``urllib`` only).

It only moves bytes: it believes nothing it receives. Whatever it returns is
checked by the caller (signatures, proofs). What it does decide is whether an
answer is the log speaking at all: a refused connection, an HTTP error or an
HTML page from a proxy is :class:`FetchError` ("could not check", exit 2),
while a well-formed answer that fails verification is the log's own statement
and becomes a :class:`~verifier.errors.VerificationError` upstream (exit 1).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.errors import JSONError
from verifier.jcs import parse_json_strict

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "FetchError",
    "HttpClient",
    "post_bytes",
]

# Checkpoints, proofs and single entries are a few KiB; the cap stops a hostile
# or broken server from making the auditor allocate without bound.
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20
DEFAULT_TIMEOUT = 20.0

_USER_AGENT = "timbre-verifier/1"
# The problem detail goes into a one-line error message: keep it short.
_MAX_DETAIL_CHARS = 500


class FetchError(Exception):
    """The server could not be asked, or did not answer as the log API does."""


@dataclass(frozen=True)
class HttpClient:
    """GETs paths under ``base_url`` (e.g. ``https://timbre.example``)."""

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        # urllib also opens file:// and ftp:// URLs; an auditor's --url must not
        # be a way to read local files into the verifier.
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FetchError(f"--url must be an http:// or https:// URL, got {self.base_url!r}")
        if parts.query or parts.fragment:
            raise FetchError(f"--url must not carry a query or fragment: {self.base_url!r}")
        if not self.timeout > 0:
            raise FetchError(f"--timeout must be positive, got {self.timeout}")

    def url(self, path: str, params: Mapping[str, int | str] | None = None) -> str:
        # Joined by hand: urljoin would drop a path prefix such as /timbre/ that
        # has no trailing slash, and the API paths are fixed anyway.
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        if params:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        return url

    def get_text(self, path: str, params: Mapping[str, int | str] | None = None) -> bytes:
        """The body of a ``text/plain`` resource (a signed note, a key)."""
        return self._get(path, params, "text/plain")

    def get_json(self, path: str, params: Mapping[str, int | str] | None = None) -> Any:
        """The parsed body of a JSON resource, parsed strictly (see verifier.jcs)."""
        body = self._get(path, params, "application/json")
        # A body that is not even JSON under a JSON content type is the server
        # misbehaving, not a transport accident: let the JSONError through.
        return parse_json_strict(body, max_bytes=self.max_bytes)

    def _get(self, path: str, params: Mapping[str, int | str] | None, media_type: str) -> bytes:
        url = self.url(path, params)
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __post_init__
            url,
            headers={
                # "*/*" as a fallback: content negotiation that knows no text/plain
                # renderer (Django REST framework) would otherwise answer 406.
                "Accept": f"{media_type}, */*;q=0.1",
                "User-Agent": _USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = self._read_capped(response, url)
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raise FetchError(_describe_http_error(url, exc, self.max_bytes)) from exc
        except urllib.error.URLError as exc:
            raise FetchError(f"cannot reach {url}: {_reason(exc.reason)}") from exc
        except TimeoutError as exc:
            raise FetchError(f"GET {url} timed out after {self.timeout:g} s") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise FetchError(f"GET {url} failed: {_reason(exc)}") from exc
        if not _media_type_matches(content_type, media_type):
            # An HTML error page from a proxy or a login portal says nothing about
            # the log; calling it a forged checkpoint would be a false alarm.
            raise FetchError(
                f"GET {url} answered with content type {content_type}, expected {media_type}"
            )
        return body

    def _read_capped(self, response: http.client.HTTPResponse, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"GET {url}: response of {declared} bytes "
                f"exceeds the limit of {self.max_bytes} bytes"
            )
        body = response.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            raise FetchError(f"GET {url}: response exceeds the limit of {self.max_bytes} bytes")
        return body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is returned to the caller as an HTTPError


def post_bytes(
    base_url: str,
    path: str,
    body: bytes,
    *,
    content_type: str,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
) -> tuple[int, str, bytes]:
    """POST ``body`` and return (status, content type, body), whatever the status: the
    caller decides what a refusal means. Transport failures are FetchError."""
    client = HttpClient(base_url, timeout=timeout, max_bytes=max_bytes)
    url = client.url(path)
    request = urllib.request.Request(  # noqa: S310 - scheme checked by HttpClient
        url,
        data=body,
        method="POST",
        headers={**headers, "Content-Type": content_type, "User-Agent": _USER_AGENT},
    )
    # Never follow a redirect: the request carries a credential, which must not be
    # replayed to wherever a redirect points.
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return (
                response.status,
                response.headers.get_content_type(),
                client._read_capped(response, url),
            )
    except urllib.error.HTTPError as exc:
        try:
            detail = exc.read(64 * 1024)
        except (http.client.HTTPException, OSError):
            detail = b""
        return exc.code, exc.headers.get_content_type(), detail
    except urllib.error.URLError as exc:
        raise FetchError(f"cannot reach {url}: {_reason(exc.reason)}") from exc
    except TimeoutError as exc:
        raise FetchError(f"POST {url} timed out after {timeout:g} s") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise FetchError(f"POST {url} failed: {_reason(exc)}") from exc


def _media_type_matches(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    # application/problem+json and friends are JSON too.
    return (
        expected == "application/json"
        and actual.startswith("application/")
        and actual.endswith("+json")
    )


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _describe_http_error(url: str, exc: urllib.error.HTTPError, max_bytes: int) -> str:
    message = f"GET {url} failed: HTTP {exc.code} {exc.reason}"
    detail = _problem_detail(exc, max_bytes)
    return f"{message}: {detail}" if detail else message


def _problem_detail(exc: urllib.error.HTTPError, max_bytes: int) -> str:
    """The RFC 9457 ``detail`` (or ``title``) of an error body, if it has one."""
    if exc.headers is None or not exc.headers.get_content_type().endswith("json"):
        return ""
    try:
        problem = parse_json_strict(exc.read(max_bytes + 1), max_bytes=max_bytes)
    except (JSONError, OSError, http.client.HTTPException):
        return ""
    if not isinstance(problem, dict):
        return ""
    for field in ("detail", "title"):
        value = problem.get(field)
        if isinstance(value, str) and value:
            # The text comes from the server and is printed to a terminal: drop
            # control characters so that it cannot rewrite what the user sees.
            clean = "".join(ch if ch.isprintable() else " " for ch in value)
            return clean[:_MAX_DETAIL_CHARS]
    return ""
