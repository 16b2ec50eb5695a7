"""Under /v1/, every error is JSON in SPEC's shape, never Django's HTML page; bodies are JSON
(anything else is 415, SPEC §2) and at most `API_MAX_BODY_BYTES` (413)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse

from scheduler import ratelimit
from scheduler.api.errors import error_response
from scheduler.models import Profile

logger = logging.getLogger(__name__)

# Paths under /v1/ that only read: the OpenAPI document and its docs page.
READ_ONLY = frozenset({"/v1/openapi.json", "/v1/docs"})
# The public booking endpoint: /v1/book/{handle}/{name}/meeting.
PUBLIC_MEETING = re.compile(r"^/v1/book/(?P<handle>[^/]+)/(?P<name>[^/]+)/meeting$")
NOT_HANDLES = frozenset({"account", "group"})


def _public_booking_limit(request: HttpRequest) -> HttpResponse | None:
    """Count a public booking attempt before anything reads its body, so every attempt counts
    (SPEC §11), a malformed one too; 429 once the client is over the limit on that profile."""
    found = PUBLIC_MEETING.match(request.path)
    if request.method != "POST" or found is None or found["handle"] in NOT_HANDLES:
        return None
    profile_id = (
        Profile.objects.at(found["handle"], found["name"])
        .filter(active=True)
        .values_list("pk", flat=True)
        .first()
    )
    if profile_id is None:
        return None  # answered 404 by the API
    retry = ratelimit.attempt(ratelimit.BOOKING, request, profile_id)
    if retry is None:
        return None
    response = error_response(
        429, f"Too many booking attempts from this address; retry in {retry} s"
    )
    response["Retry-After"] = str(retry)
    return response


def _declared_length(request: HttpRequest) -> int | None:
    """The Content-Length header as a number; None when it is not a non-negative integer."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _has_body(request: HttpRequest, length: int) -> bool:
    return length > 0 or "HTTP_TRANSFER_ENCODING" in request.META


def _is_json(request: HttpRequest) -> bool:
    """`application/json`, in any case, with or without parameters such as `charset=utf-8`."""
    media_type = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0]
    return media_type.strip().lower() == "application/json"


class JsonApiErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/v1/"):
            return self.get_response(request)
        if request.method != "HEAD":
            return self._answer(request)
        # HEAD is GET without the body (RFC 9110); ninja routes GET only.
        request.method = "GET"
        response = self._answer(request)
        request.method = "HEAD"
        if not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    def _answer(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/v1/":
            # Not a resource; answered here, before the public pages' CSRF check could
            # answer a form post to a handle "v1" (a reserved word) with 403.
            return error_response(404, "No such resource: /v1/")
        if request.path in READ_ONLY and request.method not in ("GET", "HEAD"):
            # Before CSRF could refuse it as a form post: the method is what is wrong here.
            response = error_response(
                405, f"Method {request.method} is not allowed on {request.path}"
            )
            response["Allow"] = "GET, HEAD"
            return response
        if "\x00" in request.path:
            # No resource has a NUL in its name, and PostgreSQL refuses to compare one.
            return error_response(404, "No such resource")
        limited = _public_booking_limit(request)
        if limited is not None:
            return limited
        limit = settings.API_MAX_BODY_BYTES
        length = _declared_length(request)
        if length is None:
            raw = request.META.get("CONTENT_LENGTH")
            return error_response(400, f"Content-Length {raw!r} is not a number of bytes")
        if length > limit:
            # Refused before anything reads the body.
            return error_response(413, f"The request body is larger than {limit} bytes")
        if _has_body(request, length) and not _is_json(request):
            # A form or text/plain post (which a cross-site page can send without a CORS
            # preflight) is refused whatever it holds; a request without a body needs no type.
            declared = request.META.get("CONTENT_TYPE") or "none"
            return error_response(
                415, f"The request body must be application/json (Content-Type: {declared})"
            )
        response = self.get_response(request)
        if response.status_code in (301, 308) and response.get("Location", "").endswith(
            request.path + "/"
        ):
            # CommonMiddleware's APPEND_SLASH: no /v1/ path ends in a slash, so this is a 404.
            return error_response(404, f"No such resource: {request.path}")
        if response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        message = {
            404: f"No such resource: {request.path}",
            405: f"Method {request.method} is not allowed on {request.path}",
            413: "Request body too large",
        }.get(status, "Request failed")
        replaced = error_response(status, message)
        if status == 405 and response.has_header("Allow"):
            replaced["Allow"] = response["Allow"]
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/v1/"):
            return None
        if isinstance(exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation):
            # Django answers these with a 4xx page, which __call__ turns into JSON.
            return None
        logger.exception("unhandled error on %s", request.path)
        return error_response(500, "Internal error")
