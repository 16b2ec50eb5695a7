"""THE JSON client and THE error helper of every /v1/ API test, and the paths and bodies the
API tests share.

`ApiClient` speaks to the API as a client would (Django's test client, JSON in and out) and
checks what SPEC asks of *every* answer: never a 500, always JSON (never an HTML page), no
null anywhere in the body, errors in SPEC's shape, and every success of an operation that
Aurinko's OpenAPI document also has validated against Aurinko's schema for it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.http import HttpResponse
from django.test import Client
from openapi_schema_validator import OAS30Validator

from scheduler.models import Profile

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC: before anyone's work day
PROFILES = "/v1/book/account/profiles"
BOOKINGS = "/v1/book/account/bookings"
CALENDARS = "/v1/book/account/calendars"
RESERVATIONS = "/v1/book/account/reservations"
WORK_HOURS = "/v1/book/account/workHours"

# Aurinko's document lives beside SPEC.md, in the shared/ folder next to the repository; a
# clone elsewhere (CI's fresh clone) uses the copy kept in tests/data, refreshed from shared/.
_NAME = "aurinko-booking-openapi.yaml"
_SHARED = Path(__file__).resolve().parents[3] / "shared" / _NAME
AURINKO_DOC = _SHARED if _SHARED.is_file() else Path(__file__).resolve().parents[1] / "data" / _NAME


# --- Aurinko's schemas -----------------------------------------------------------------------


@cache
def aurinko_doc() -> dict[str, Any]:
    assert AURINKO_DOC.is_file(), f"Aurinko's OpenAPI document is missing: {AURINKO_DOC}"
    return yaml.safe_load(AURINKO_DOC.read_text())


@cache
def _operations() -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, operationId) of every Aurinko operation, literal paths first
    (so `/v1/book/account/…` is never read as the public `/v1/book/{handle}/{name}/…`)."""
    found = []
    for template, item in aurinko_doc()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
                literal = sum(1 for part in template.split("/") if part and "{" not in part)
                found.append((literal, method.upper(), pattern, operation["operationId"]))
    found.sort(key=lambda op: -op[0])
    return [(method, pattern, op_id) for _, method, pattern, op_id in found]


def aurinko_operation(method: str, path: str) -> str | None:
    """The operationId of Aurinko's operation for this request, if Aurinko has one."""
    bare = path.split("?", 1)[0]
    for op_method, pattern, op_id in _operations():
        if op_method == method.upper() and pattern.match(bare):
            return op_id
    return None


def assert_aurinko(operation_id: str, body: Any) -> None:
    """`body` validates against the 200 answer of Aurinko's `operation_id`."""
    doc = aurinko_doc()
    for item in doc["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                media = operation["responses"]["200"]["content"]["application/json"]
                OAS30Validator({**media["schema"], "components": doc["components"]}).validate(body)
                return
    raise AssertionError(f"no operation {operation_id} in Aurinko's document")


# --- the client ------------------------------------------------------------------------------


def _nulls(value: Any, path: str = "$") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}[{i}]")]
    return []


class ApiClient:
    """A JSON client of the /v1/ API that checks SPEC's global rules on every answer.

    `api(method, path, body)` sends `body` as JSON (a str or bytes goes as it is); keyword
    arguments other than the ones below are WSGI environ entries (`HTTP_…`, `CONTENT_LENGTH`).
    """

    def __init__(self, client: Client, token: str | None = None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        allow_500: bool = False,
        **extra: Any,
    ) -> HttpResponse:
        kwargs: dict[str, Any] = {**self.headers, **extra}
        # Client.generic takes the body as `data` and everything else as environ entries.
        kwargs.setdefault("data", b"")
        kwargs.setdefault("content_type", "application/octet-stream")
        if body is not None:
            data = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs.update(data=data, content_type=content_type)
        response = self.client.generic(method, path, **kwargs)
        if not allow_500:
            assert response.status_code != 500, response.content[:300]
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        payload = response.json()
        assert not _nulls(payload), f"null fields in {method} {path}: {_nulls(payload)}"
        if response.status_code >= 400:
            error = payload["error"]
            assert set(error) <= {"code", "message", "fields"} and error["message"], payload
        else:
            operation = aurinko_operation(method, path)
            if operation is not None:
                assert_aurinko(operation, payload)
        return response


def assert_error(response: HttpResponse, status: int, code: str, *fields: str) -> dict[str, Any]:
    """The answer is SPEC's error `status` with `code`, naming at least `fields`."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"], error
    for field in fields:
        assert field in error.get("fields", {}), error
    return error


# --- paths and bodies ------------------------------------------------------------------------


def meeting_path(profile: Profile) -> str:
    return f"{PROFILES}/{profile.pk}/meeting"


def public_path(profile: Profile) -> str:
    return f"/v1/book/{profile.account.handle}/{profile.name}/meeting"


def meeting_body(
    start: str = "2030-01-07T09:00:00Z", end: str = "2030-01-07T09:30:00Z", **extra: Any
) -> dict[str, Any]:
    """A booking request for `[start, end)` by Ann, with the `topic` the test profiles need."""
    body: dict[str, Any] = {
        "time": {"start": start, "end": end},
        "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
        "substitutionData": {"topic": "roadmap"},
    }
    body.update(extra)
    return body


def reserve(api: ApiClient, profile: Profile, minutes: int = 10, **kw: Any) -> dict[str, Any]:
    """Hold a slot for `minutes` (POST …/meeting?reserveForMinutes=N); the reservation."""
    path = f"{meeting_path(profile)}?reserveForMinutes={minutes}"
    answer = api("POST", path, meeting_body(**kw))
    assert answer.status_code == 201, answer.content
    return answer.json()


def slot_starts(api: ApiClient, profile: Profile, day: str = "2030-01-07") -> set[str]:
    """The starts of the profile's free slots on a UTC day."""
    query = f"?timeMin={day}T00:00:00Z&timeMax={day}T23:59:00Z"
    found = api("GET", meeting_path(profile) + query)
    assert found.status_code == 200, found.content
    return {item["start"] for item in found.json()["items"]}
