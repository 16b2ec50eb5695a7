"""The API's one error module: SPEC's error body, and every exception an answer can come from.

Every error leaves as `{"error": {"code", "message", "fields"?}}`: ninja's validation errors
(a 422 there, a 400 naming every bad field here), authentication, services' errors, and
`ApiError` raised by the routers themselves.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from scheduler.api.schemas import ErrorOut
from scheduler.services.errors import Conflict, InvalidInput, SlotUnavailable

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
}
# Every 4xx this API answers, for the OpenAPI document; ninja's codes_4xx leaves out 413 and 415.
ERRORS = {frozenset({400, 401, 403, 404, 405, 409, 413, 415, 429}): ErrorOut}


def error_response(
    status: int, message: str, code: str | None = None, fields: dict | None = None
) -> JsonResponse:
    """SPEC's error body: `{"error": {"code", "message", "fields"?}}`."""
    body: dict = {"code": code or _CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = JsonResponse({"error": body}, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response


class ApiError(Exception):
    """An error answer in SPEC's shape, raised by a router."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.fields = status, message, code, fields
        self.headers = headers or {}

    @classmethod
    def invalid(cls, fields: dict[str, list[str]]) -> ApiError:
        return cls(400, "Invalid input: " + ", ".join(fields), fields=fields)


def _field_path(loc: tuple | list) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # ("body", <param name>, field, …)
    elif parts and parts[0] in {"query", "path", "header", "cookie"}:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _message(error: dict) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "is required"
    msg = str(error.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        messages = fields.setdefault(_field_path(error.get("loc", ())), [])
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return error_response(400, "Invalid input: " + ", ".join(fields), fields=fields)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = exc.message
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "The request body is not valid JSON"
    return error_response(exc.status_code, message)


def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(401, "A valid 'Authorization: Bearer <token>' header is required")
    response["WWW-Authenticate"] = 'Bearer realm="booking"'
    return response


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    for header, value in exc.headers.items():
        response[header] = value
    return response


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, str(exc) or "No such resource")


def _invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    return error_response(400, exc.message, fields=exc.fields)


def _slot_unavailable(request: HttpRequest, exc: SlotUnavailable) -> HttpResponse:
    return error_response(409, exc.message, "slot_unavailable")


def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return error_response(409, exc.message, "conflict")


def install(api: NinjaAPI) -> None:
    """Answer every error the routers and services raise in SPEC's shape."""
    for exc_class, handler in (
        (ValidationError, _validation_error),
        (AuthenticationError, _auth_error),
        (HttpError, _http_error),
        (ApiError, _api_error),
        (Http404, _not_found),
        (InvalidInput, _invalid_input),
        (SlotUnavailable, _slot_unavailable),
        (Conflict, _conflict),
    ):
        api.add_exception_handler(exc_class, handler)
