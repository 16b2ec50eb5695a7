"""Black-box conformance of the /v1/ JSON API to SPEC §1, §2, §4 and §5.

Every test speaks to the API as a client would (Django's test client, JSON in and out) and goes
through `Spec`, which also checks what SPEC asks of *every* answer: JSON (never HTML), never a
500, no null anywhere in the body, and — when the operation has one — Aurinko's schema for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

from scheduler.models import ApiToken, Booking, Calendar, Profile
from tests.factory import make_account, make_profile, make_token

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC
PROFILES = "/v1/book/account/profiles"
BOOKINGS = "/v1/book/account/bookings"
CALENDARS = "/v1/book/account/calendars"
AURINKO = Path("/work/shared/aurinko-booking-openapi.yaml")
_LOCAL_AURINKO = Path(__file__).resolve().parents[2] / "shared" / AURINKO.name


def _aurinko_doc() -> dict[str, Any]:
    path = _LOCAL_AURINKO if _LOCAL_AURINKO.is_file() else AURINKO
    return yaml.safe_load(path.read_text())


_DOC = _aurinko_doc()


def _aurinko_schema(operation_id: str) -> dict[str, Any]:
    for item in _DOC["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                media = operation["responses"]["200"]["content"]["application/json"]
                return {**media["schema"], "components": _DOC["components"]}
    raise AssertionError(f"no operation {operation_id} in Aurinko's document")


def _nulls(value: Any, path: str = "$") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}[{i}]")]
    return []


class Spec:
    """A JSON client that checks SPEC's rules for every answer it gets."""

    def __init__(self, client: Client, token: str | None = None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        op: str | None = None,
        content_type: str = "application/json",
        **extra: Any,
    ):
        kwargs: dict[str, Any] = {**self.headers, **extra}
        if body is not None:
            data = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs.update(data=data, content_type=content_type)
        response = self.client.generic(method, path, **_generic(kwargs))
        assert response.status_code != 500, response.content[:300]
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        payload = response.json()
        assert not _nulls(payload), f"null fields in {method} {path}: {_nulls(payload)}"
        if response.status_code >= 400:
            error = payload["error"]
            assert set(error) <= {"code", "message", "fields"} and error["message"], payload
        elif op is not None:
            OAS30Validator(_aurinko_schema(op)).validate(payload)
        return response


def _generic(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Client.generic takes the body as `data` and everything else as WSGI environ entries.
    out = dict(kwargs)
    out.setdefault("data", b"")
    out.setdefault("content_type", "application/octet-stream")
    return out


def error_of(response, status: int, code: str, *fields: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    for field in fields:
        assert field in error.get("fields", {}), error
    return error


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()  # the public booking rate limit counts per address in the cache
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def account(db):
    return make_account(handle="ada", email="ada@example.com", timezone="Europe/Berlin")


@pytest.fixture
def spec(client, account) -> Spec:
    return Spec(client, make_token(account))


@pytest.fixture
def anon(client) -> Spec:
    return Spec(client)


@pytest.fixture
def profile(account) -> Profile:
    # Berlin is UTC+1 in January: work runs 08:00–16:00 UTC.
    return make_profile(
        account,
        name="intro",
        subject="Intro with {{name}}: {{topic}}",
        description="Notes: {{notes:none given}}",
        location="{{room:Lobby}}",
    )


def meeting_path(profile: Profile) -> str:
    return f"{PROFILES}/{profile.pk}/meeting"


def meeting_body(start: str = "2030-01-07T09:00:00Z", end: str = "2030-01-07T09:30:00Z", **kw):
    body: dict[str, Any] = {
        "time": {"start": start, "end": end},
        "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
        "substitutionData": {"topic": "roadmap"},
    }
    body.update(kw)
    return body


def slot_starts(spec: Spec, profile: Profile) -> set[str]:
    query = "?timeMin=2030-01-07T08:00:00Z&timeMax=2030-01-07T16:00:00Z"
    found = spec("GET", meeting_path(profile) + query, op="bookingAccountMeetingTimes")
    assert found.status_code == 200
    return {item["start"] for item in found.json()["items"]}


# --- §1 profile: output fields and defaults -------------------------------------------------


def test_a_new_profile_has_every_field_with_spec_defaults(spec, account):
    created = spec("POST", PROFILES, {"name": "intro"}, op="create")
    assert created.status_code == 201
    body = created.json()
    assert isinstance(body["id"], int)
    expected = {
        "name": "intro",
        "durationMinutes": 30,
        "availabilityStep": 30,
        "bufferBetweenMinutes": 0,
        "startAfterMinutes": 60,
        "timeAvailableFor": "P30D",
        "subject": "",
        "description": "",
        "location": "",
        "startConference": False,
        "schedulerLink": "http://testserver/ada/intro/",
        "active": True,
        "context": "",
    }
    assert {k: body[k] for k in expected} == expected
    for null in ("startTime", "endTime", "openMeetingUrl", "maxBookingsPerDay"):
        assert null not in body
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert body["workHours"] == {
        "timezone": "Europe/Berlin",
        "daySchedules": [
            {"dayOfWeek": d, "workingIntervals": [{"start": "09:00:00", "end": "17:00:00"}]}
            for d in weekdays
        ],
    }
    assert body.get("availabilityIntervals", {"intervals": []}) == {"intervals": []}
    # GET reads back exactly what POST answered.
    assert spec("GET", f"{PROFILES}/{body['id']}", op="getBooking").json() == body


def test_account_work_hours_are_the_default_week_in_its_zone(spec):
    hours = spec("GET", "/v1/book/account/workHours", op="workHours").json()
    assert hours["timezone"] == "Europe/Berlin"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert {
        (i["start"], i["end"]) for d in hours["daySchedules"] for i in d["workingIntervals"]
    } == {("09:00:00", "17:00:00")}


def test_every_field_sent_is_returned_and_times_of_day_written_hh_mm_ss(spec):
    sent = {
        "name": "full_1",
        "durationMinutes": 45,
        "availabilityStep": 15,
        "bufferBetweenMinutes": 10,
        "startAfterMinutes": 0,
        "timeAvailableFor": "P4W",
        "startTime": "2030-01-01T10:00:00+02:00",
        "endTime": "2030-06-01T00:00:00Z",
        "subject": "Über {{topic}} ✓",
        "description": "d",
        "location": "l",
        "openMeetingUrl": "https://meet.example.com/room",
        "startConference": True,
        "workHours": {
            "timezone": "America/New_York",
            "daySchedules": [
                {"dayOfWeek": "saturday", "workingIntervals": [{"start": "22:00", "end": "24:00"}]}
            ],
        },
        "availabilityIntervals": {
            "intervals": [
                {
                    "dateStartInclusive": "2030-02-01",
                    "dateEndInclusive": "2030-02-02",
                    "hours": [{"start": "10:00:30", "end": "11:00"}],
                }
            ]
        },
        "maxBookingsPerDay": 3,
        "active": False,
        "context": '{"crm": 42, "ünï": "cödé"}',
    }
    body = spec("POST", PROFILES, sent, op="create").json()
    same = set(sent) - {"startTime", "workHours", "availabilityIntervals"}
    assert {k: body[k] for k in same} == {k: sent[k] for k in same}
    assert body["startTime"] == "2030-01-01T08:00:00Z"
    assert body["endTime"] == "2030-06-01T00:00:00Z"
    assert body["workHours"]["daySchedules"][0]["workingIntervals"] == [
        {"start": "22:00:00", "end": "24:00:00"}
    ]
    assert body["availabilityIntervals"]["intervals"][0]["hours"] == [
        {"start": "10:00:30", "end": "11:00:00"}
    ]


# --- §1 profile: validation bounds, at both edges -------------------------------------------


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("durationMinutes", [5, 720], [4, 721, 0, -30, 30.5, "30", 10**30, True]),
        ("availabilityStep", [5, 10, 15, 20, 30, 60], [0, 1, 25, 45, 120, "30", None]),
        ("bufferBetweenMinutes", [0, 240], [-1, 241, "0"]),
        ("startAfterMinutes", [0, 100_000], [-1, "60", 1.5]),
        ("timeAvailableFor", ["P30D", "P4W", "P3M", "PT36H", "P1DT12H"], ["30D", "", "P", 30]),
        ("name", ["a", "Intro-call_2", "x" * 100], ["", "a b", "intro/x", "café", "a.b", 5]),
        ("maxBookingsPerDay", [1, None], [0, -1, "2"]),
        ("active", [True, False], ["true", 1, None]),
        ("startConference", [True, False], ["yes", 0]),
        ("openMeetingUrl", ["https://x.example/a", None], ["ftp://x.example", "not a url", 3]),
        ("context", ["", "ünïcødé 🎉"], [5, ["x"], {"a": 1}]),
    ],
)
def test_profile_field_bounds(spec, field, good, bad):
    for n, value in enumerate(good):
        body = {"name": f"p{n}-{field}"[:100], field: value}
        if field == "name":
            body = {"name": value}
        response = spec("POST", PROFILES, body, op="create")
        assert response.status_code == 201, (value, response.content)
        if value is not None:
            assert response.json()[field] == value
        else:
            assert field not in response.json() or field == "availabilityStep"
    before = Profile.objects.count()
    for value in bad:
        response = spec("POST", PROFILES, {"name": "bad", field: value})
        error_of(response, 400, "bad_request", field)
    assert Profile.objects.count() == before


@pytest.mark.parametrize(
    ("hours", "path"),
    [
        ({"dayOfWeek": "Monday"}, "workHours.daySchedules[0].dayOfWeek"),
        ({"dayOfWeek": "mon"}, "workHours.daySchedules[0].dayOfWeek"),
        ({"dayOfWeek": 1}, "workHours.daySchedules[0].dayOfWeek"),
        ({"start": "24:00", "end": "24:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"start": "10:00", "end": "10:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"start": "11:00", "end": "10:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"start": "25:00", "end": "26:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"start": "09:60", "end": "10:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"start": "9:00", "end": "10:00"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"end": "24:01"}, "workHours.daySchedules[0].workingIntervals[0]"),
        ({"timezone": "Mars/Olympus"}, "workHours.timezone"),
    ],
)
def test_work_hours_validation_names_the_path(spec, hours, path):
    interval = {"start": hours.get("start", "09:00"), "end": hours.get("end", "17:00")}
    day = {"dayOfWeek": hours.get("dayOfWeek", "monday"), "workingIntervals": [interval]}
    work = {"timezone": hours.get("timezone", "UTC"), "daySchedules": [day]}
    error = error_of(spec("POST", PROFILES, {"name": "x", "workHours": work}), 400, "bad_request")
    assert any(f.startswith(path) for f in error["fields"]), error
    assert Profile.objects.count() == 0


def test_twenty_four_hundred_is_an_end_only(spec):
    day = {"dayOfWeek": "sunday", "workingIntervals": [{"start": "00:00", "end": "24:00"}]}
    work = {"daySchedules": [day]}
    created = spec("POST", PROFILES, {"name": "x", "workHours": work}, op="create")
    assert created.status_code == 201
    # Without a timezone the account's zone is used and written out.
    assert created.json()["workHours"]["timezone"] == "Europe/Berlin"


def test_work_hours_with_only_a_zone_keep_the_default_week_there(spec):
    # Our reading: daySchedules left out = the default week; daySchedules [] = no hours.
    tokyo = spec("POST", PROFILES, {"name": "t", "workHours": {"timezone": "Asia/Tokyo"}})
    hours = tokyo.json()["workHours"]
    assert hours["timezone"] == "Asia/Tokyo"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    none = spec("POST", PROFILES, {"name": "n", "workHours": {"daySchedules": []}}).json()
    assert none["workHours"] == {"timezone": "Europe/Berlin", "daySchedules": []}
    times = spec("GET", f"{PROFILES}/{none['id']}/meeting").json()
    assert times["items"] == []


def test_start_time_must_be_before_end_time(spec):
    body = {"name": "x", "startTime": "2030-02-01T00:00:00Z", "endTime": "2030-02-01T00:00:00Z"}
    error_of(spec("POST", PROFILES, body), 400, "bad_request", "endTime")
    body["startTime"] = "2030-02-01T00:00:00"  # no offset: not an instant
    body["endTime"] = "2030-03-01T00:00:00Z"
    error_of(spec("POST", PROFILES, body), 400, "bad_request", "startTime")
    body["startTime"] = 1893456000  # seconds since 1970: not ISO 8601
    error_of(spec("POST", PROFILES, body), 400, "bad_request", "startTime")
    intervals = {"intervals": [{"dateStartInclusive": 20300101}]}
    response = spec("POST", PROFILES, {"name": "x", "availabilityIntervals": intervals})
    error_of(response, 400, "bad_request", "availabilityIntervals.intervals[0].dateStartInclusive")


def test_every_bad_field_is_named_in_one_answer(spec):
    body = {"name": "a b", "durationMinutes": 1, "availabilityStep": 7, "active": "no", "x": 1}
    error = error_of(spec("POST", PROFILES, body), 400, "bad_request")
    assert {"name", "durationMinutes", "availabilityStep", "active", "x"} <= set(error["fields"])


def test_name_is_required(spec):
    error_of(spec("POST", PROFILES, {"subject": "x"}), 400, "bad_request", "name")


def test_a_second_profile_with_the_same_name_is_409_conflict(spec, account):
    assert spec("POST", PROFILES, {"name": "intro"}).status_code == 201
    error_of(spec("POST", PROFILES, {"name": "intro"}), 409, "conflict")
    other = spec("POST", PROFILES, {"name": "other"}).json()["id"]
    error_of(spec("PATCH", f"{PROFILES}/{other}", {"name": "intro"}), 409, "conflict")
    assert Profile.objects.get(pk=other).name == "other"
    # Another account may use the name.
    theirs = Spec(spec.client, make_token(make_account()))
    assert theirs("POST", PROFILES, {"name": "intro"}).status_code == 201


# --- §2 PATCH and DELETE --------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(spec):
    sent = {
        "name": "intro",
        "subject": "s {{a}}",
        "durationMinutes": 45,
        "maxBookingsPerDay": 2,
        "openMeetingUrl": "https://meet.example.com/x",
        "context": "ctx",
        "workHours": {
            "timezone": "Asia/Kathmandu",
            "daySchedules": [
                {"dayOfWeek": "tuesday", "workingIntervals": [{"start": "10:00", "end": "12:00"}]}
            ],
        },
    }
    before = spec("POST", PROFILES, sent).json()
    path = f"{PROFILES}/{before['id']}"
    for change in (
        {"bufferBetweenMinutes": 15},
        {"subject": "new"},
        {"active": False},
        {"maxBookingsPerDay": None},
        {"context": ""},
    ):
        answer = spec("PATCH", path, change, op="updateBooking")
        assert answer.status_code == 200 and answer.json() == {"status": "Ok"}
        after = spec("GET", path, op="getBooking").json()
        expected = {**before, **{k: v for k, v in change.items() if v is not None}}
        for k, v in change.items():
            if v is None:
                expected.pop(k)
        assert after == expected
        before = after


def test_patch_with_an_empty_body_changes_nothing(spec):
    before = spec("POST", PROFILES, {"name": "intro", "subject": "x"}).json()
    path = f"{PROFILES}/{before['id']}"
    assert spec("PATCH", path, {}).json() == {"status": "Ok"}
    assert spec("GET", path).json() == before


def test_patch_validates_every_field_and_writes_nothing_on_error(spec):
    before = spec("POST", PROFILES, {"name": "intro"}).json()
    path = f"{PROFILES}/{before['id']}"
    bad = {"durationMinutes": 721, "subject": "ok now", "name": None, "availabilityStep": 7}
    error = error_of(spec("PATCH", path, bad), 400, "bad_request")
    assert {"durationMinutes", "name", "availabilityStep"} <= set(error["fields"])
    assert spec("GET", path).json() == before


def test_patch_end_time_before_the_stored_start_is_400(spec):
    pk = spec("POST", PROFILES, {"name": "x", "startTime": "2030-02-01T00:00:00Z"}).json()["id"]
    response = spec("PATCH", f"{PROFILES}/{pk}", {"endTime": "2030-01-01T00:00:00Z"})
    error_of(response, 400, "bad_request", "endTime")


def test_delete_then_every_path_of_the_profile_is_404(spec):
    pk = spec("POST", PROFILES, {"name": "intro"}).json()["id"]
    path = f"{PROFILES}/{pk}"
    assert spec("DELETE", path, op="deleteBooking").json() == {"status": "Ok"}
    error_of(spec("GET", path), 404, "not_found")
    error_of(spec("PATCH", path, {"subject": "x"}), 404, "not_found")
    error_of(spec("DELETE", path), 404, "not_found")
    error_of(spec("GET", path + "/meeting"), 404, "not_found")
    error_of(spec("POST", path + "/meeting", meeting_body()), 404, "not_found")
    # The name is free again.
    assert spec("POST", PROFILES, {"name": "intro"}).status_code == 201


def test_deleting_a_profile_keeps_its_bookings(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body()).json()
    assert spec("DELETE", f"{PROFILES}/{profile.pk}").json() == {"status": "Ok"}
    kept = spec("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert kept["status"] == "confirmed" and "profileId" not in kept
    # It still blocks its time for the account's other profiles.
    other = make_profile(profile.account, name="other", subject="")
    body = meeting_body(substitutionData={})
    error_of(spec("POST", meeting_path(other), body), 409, "slot_unavailable")
    assert spec("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}
    assert spec("POST", meeting_path(other), body).status_code == 201


# --- §2 lists -------------------------------------------------------------------------------


def test_profile_list_paging(spec, account):
    for n in range(53):
        make_profile(account, name=f"p{n:02d}")
    first = spec("GET", PROFILES, op="getAccBookings").json()
    assert first["offset"] == 0 and first["totalSize"] == 53 and first["done"] is False
    assert len(first["records"]) == 50  # default limit
    last = spec("GET", PROFILES + "?offset=50&limit=200", op="getAccBookings").json()
    assert len(last["records"]) == 3 and last["done"] is True and last["offset"] == 50
    assert {r["id"] for r in first["records"]}.isdisjoint({r["id"] for r in last["records"]})
    one = spec("GET", PROFILES + "?limit=1&offset=52").json()
    assert len(one["records"]) == 1 and one["done"] is True
    beyond = spec("GET", PROFILES + "?offset=1000").json()
    assert beyond == {"offset": 1000, "totalSize": 53, "done": True, "records": []}


@pytest.mark.parametrize("path", [PROFILES, BOOKINGS, CALENDARS])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ],
)
def test_bad_paging_is_400_naming_the_parameter(spec, path, query, field):
    error_of(spec("GET", f"{path}?{query}"), 400, "bad_request", field)


@pytest.mark.parametrize("path", [BOOKINGS, CALENDARS])
def test_other_lists_have_the_same_envelope(spec, path):
    answer = spec("GET", path + "?limit=200&offset=0").json()
    assert set(answer) == {"offset", "totalSize", "done", "records"}
    beyond = spec("GET", path + "?offset=500").json()
    assert beyond["records"] == [] and beyond["done"] is True and beyond["offset"] == 500


# --- §2 authentication and ownership --------------------------------------------------------

ACCOUNT_PATHS = [
    ("GET", "/v1/book/account/workHours"),
    ("GET", PROFILES),
    ("POST", PROFILES),
    ("GET", PROFILES + "/{p}"),
    ("PATCH", PROFILES + "/{p}"),
    ("DELETE", PROFILES + "/{p}"),
    ("GET", PROFILES + "/{p}/meeting"),
    ("POST", PROFILES + "/{p}/meeting"),
    ("POST", "/v1/book/account/reservations/{b}/confirm"),
    ("DELETE", "/v1/book/account/reservations/{b}"),
    ("GET", BOOKINGS),
    ("GET", BOOKINGS + "/{b}"),
    ("DELETE", BOOKINGS + "/{b}"),
    ("POST", BOOKINGS + "/{b}/reschedule"),
    ("GET", CALENDARS),
    ("POST", CALENDARS),
    ("DELETE", CALENDARS + "/{c}"),
]


def _objects(account) -> dict[str, int]:
    profile = make_profile(account, name="mine")
    booking = Booking.objects.create(
        account=account,
        profile=profile,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, minutes=30),
        status=Booking.Status.RESERVED,
        expires_at=NOW + timedelta(days=1),
        name="Ann",
        email="ann@example.com",
    )
    calendar = Calendar.objects.create(
        account=account, kind="ics", role="busy", url="https://example.com/x.ics"
    )
    return {"p": profile.pk, "b": booking.pk, "c": calendar.pk}


def _body_for(method: str, path: str) -> Any:
    if method == "POST" and path.endswith("/meeting"):
        return meeting_body()
    if path.endswith("/reschedule"):
        return {"time": {"start": "2030-01-08T09:00:00Z", "end": "2030-01-08T09:30:00Z"}}
    if method == "POST" and path == CALENDARS:
        return {"type": "ics", "url": "https://example.com/y.ics"}
    if method in ("POST", "PATCH") and path.startswith(PROFILES):
        return {"name": "new-one"}
    return None


@pytest.mark.parametrize(("method", "template"), ACCOUNT_PATHS)
def test_every_account_path_is_401_without_a_good_token(client, account, method, template):
    ids = _objects(account)
    path = template.format(**ids)
    body = _body_for(method, template)
    token, raw = ApiToken.issue(account)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=NOW - timedelta(minutes=1))
    for header in (None, "Bearer nope", "Token abc", f"Bearer {raw}", "Bearer "):
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        response = Spec(client)(method, path, body, **extra)
        error_of(response, 401, "unauthorized")
        assert response.has_header("WWW-Authenticate")
    assert Profile.objects.filter(account=account).count() == 1
    assert Booking.objects.get(pk=ids["b"]).status == Booking.Status.RESERVED
    assert Calendar.objects.filter(pk=ids["c"]).exists()


@pytest.mark.parametrize(("method", "template"), [p for p in ACCOUNT_PATHS if "{" in p[1]])
def test_another_accounts_objects_are_404_on_every_path(spec, method, template):
    other = make_account()
    ids = _objects(other)
    response = spec(method, template.format(**ids), _body_for(method, template))
    error_of(response, 404, "not_found")
    assert Profile.objects.get(pk=ids["p"]).name == "mine"
    assert Booking.objects.get(pk=ids["b"]).status == Booking.Status.RESERVED
    assert Calendar.objects.filter(pk=ids["c"]).exists()


@pytest.mark.parametrize("bad_id", ["0", "-1", "99999999999999999999999", "9223372036854775808"])
@pytest.mark.parametrize(
    ("method", "template"), [p for p in ACCOUNT_PATHS if "{" in p[1] and "{p}" not in p[1]]
)
def test_ids_that_name_nothing_are_404(spec, method, template, bad_id):
    path = template.format(p=bad_id, b=bad_id, c=bad_id)
    error_of(spec(method, path, _body_for(method, template)), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["0", "-1", "99999999999999999999999"])
def test_profile_ids_that_name_nothing_are_404(spec, bad_id):
    for method in ("GET", "PATCH", "DELETE"):
        response = spec(method, f"{PROFILES}/{bad_id}", {} if method == "PATCH" else None)
        error_of(response, 404, "not_found")
    error_of(spec("GET", f"{PROFILES}/{bad_id}/meeting"), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "1e3"])
@pytest.mark.parametrize(
    "path", [PROFILES + "/{}", BOOKINGS + "/{}", "/v1/book/account/reservations/{}/confirm"]
)
def test_ids_that_are_not_numbers_are_400_naming_id(spec, path, bad_id):
    method = "POST" if path.endswith("confirm") else "GET"
    error_of(spec(method, path.format(bad_id)), 400, "bad_request", "id")


# --- §2 public endpoints --------------------------------------------------------------------


def test_public_endpoints_of_an_inactive_profile_are_404(spec, anon, profile):
    public = f"/v1/book/ada/{profile.name}/meeting"
    assert anon("GET", public, op="getMeetingTimes").status_code == 200
    spec("PATCH", f"{PROFILES}/{profile.pk}", {"active": False})
    error_of(anon("GET", public), 404, "not_found")
    error_of(anon("POST", public, meeting_body()), 404, "not_found")
    assert Booking.objects.count() == 0
    # The account API still answers, with no items.
    inactive = spec("GET", meeting_path(profile), op="bookingAccountMeetingTimes").json()
    assert inactive["items"] == [] and inactive["totalSize"] == 0


@pytest.mark.parametrize("path", ["/v1/book/nobody/intro/meeting", "/v1/book/ada/nothing/meeting"])
def test_public_endpoints_of_unknown_handles_and_names_are_404(anon, profile, path):
    error_of(anon("GET", path), 404, "not_found")
    error_of(anon("POST", path, meeting_body()), 404, "not_found")


def test_public_booking_without_a_token_and_reservations_refused(anon, profile):
    public = f"/v1/book/ada/{profile.name}/meeting"
    error_of(
        anon("POST", public + "?reserveForMinutes=10", meeting_body()),
        400,
        "bad_request",
        "reserveForMinutes",
    )
    booked = anon("POST", public, meeting_body(), op="createMeeting")
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"


# --- §5 booking request variants ------------------------------------------------------------


def test_scheduler_info_gives_name_and_email(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body())
    assert (booked.json()["name"], booked.json()["email"]) == ("Ann", "ann@example.com")
    assert booked.json()["subject"] == "Intro with Ann: roadmap"


def test_scheduler_info_wins_over_the_deprecated_top_level_fields(spec, profile):
    body = meeting_body(name="Bob", email="bob@example.com")
    booked = spec("POST", meeting_path(profile), body).json()
    assert (booked["name"], booked["email"]) == ("Ann", "ann@example.com")


def test_top_level_name_and_email_are_accepted(spec, profile):
    body = meeting_body(name="Bob", email="bob@example.com")
    del body["schedulerInfo"]
    booked = spec("POST", meeting_path(profile), body, op="bookingAccountCreateMeeting")
    assert booked.status_code == 201
    assert (booked.json()["name"], booked.json()["email"]) == ("Bob", "bob@example.com")
    assert booked.json()["subject"] == "Intro with Bob: roadmap"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time": None}, "time"),
        ({"time": {"start": "2030-01-07T09:00:00Z"}}, "time.end"),
        ({"time": {"end": "2030-01-07T09:30:00Z"}}, "time.start"),
        ({"time": {"start": "tomorrow", "end": "2030-01-07T09:30:00Z"}}, "time.start"),
        ({"time": {"start": "2030-01-07T09:00:00", "end": "2030-01-07T09:30:00"}}, "time.start"),
        ({"time": {"start": "2030-01-07T09:30:00Z", "end": "2030-01-07T09:00:00Z"}}, "time.end"),
        ({"time": "2030-01-07T09:00:00Z"}, "time"),
        ({"time": {"start": 1893920400, "end": 1893922200}}, "time.start"),
        ({"schedulerInfo": {"name": "A", "email": "not-an-email"}}, "schedulerInfo.email"),
        ({"schedulerInfo": "Ann"}, "schedulerInfo"),
        ({"email": 5}, "email"),
        ({"substitutionData": ["topic"]}, "substitutionData"),
        ({"substitutionData": {"topic": "x", "unknown_key": "y"}}, "substitutionData.unknown_key"),
        ({"substitutionData": {}}, "substitutionData.topic"),
        ({"substitutionData": None}, "substitutionData.topic"),
        ({"substitutionData": {"topic": {"nested": 1}}}, "substitutionData.topic"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_booking_bodies_are_400_naming_the_field(spec, profile, change, field):
    body = meeting_body()
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    error_of(spec("POST", meeting_path(profile), body), 400, "bad_request", field)
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2030-01-07T09:00:00Z", "2030-01-07T09:45:00Z"),  # longer than durationMinutes
        ("2030-01-07T09:00:00Z", "2030-01-07T09:15:00Z"),  # shorter
        ("2030-01-07T09:10:00Z", "2030-01-07T09:40:00Z"),  # off the step
        ("2030-01-07T06:30:00Z", "2030-01-07T07:00:00Z"),  # before work hours
        ("2030-01-07T15:45:00Z", "2030-01-07T16:15:00Z"),  # runs past the end of work
        ("2030-01-05T09:00:00Z", "2030-01-05T09:30:00Z"),  # in the past, and a Saturday
        ("2031-01-07T09:00:00Z", "2031-01-07T09:30:00Z"),  # beyond the horizon
    ],
)
def test_a_time_that_is_not_exactly_a_slot_is_409(spec, profile, start, end):
    # Our reading of "time must be exactly a slot": any other time is 409 slot_unavailable.
    response = spec("POST", meeting_path(profile), meeting_body(start, end))
    error_of(response, 409, "slot_unavailable")
    assert Booking.objects.count() == 0


def test_a_slot_in_another_offset_is_the_same_instant(spec, profile):
    body = meeting_body("2030-01-07T10:00:00+01:00", "2030-01-07T06:00:00-03:30")
    booked = spec("POST", meeting_path(profile), body)
    assert booked.status_code == 201
    assert booked.json()["start"] == "2030-01-07T09:00:00Z"
    assert booked.json()["end"] == "2030-01-07T09:30:00Z"


def test_defaults_fill_optional_variables_and_built_ins_are_filled(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body()).json()
    assert booked["description"] == "Notes: none given"
    assert booked["location"] == "Lobby"
    assert booked["substitutionData"] == {"topic": "roadmap"}
    with_values = meeting_body(
        "2030-01-07T10:00:00Z",
        "2030-01-07T10:30:00Z",
        substitutionData={"topic": "<b>&</b>", "notes": "ünï ✓", "room": ""},
    )
    second = spec("POST", meeting_path(profile), with_values).json()
    # Plain text escapes nothing.
    assert second["subject"] == "Intro with Ann: <b>&</b>"
    assert second["description"] == "Notes: ünï ✓"
    assert second["location"] == ""


def test_a_booking_without_invitee_details_has_no_attendee(
    spec, profile, django_capture_on_commit_callbacks
):
    # Aurinko: without an email "an event will be created without an attendee".
    body = meeting_body()
    del body["schedulerInfo"]
    with django_capture_on_commit_callbacks(execute=True):
        booked = spec("POST", meeting_path(profile), body, op="bookingAccountCreateMeeting")
    assert booked.status_code == 201
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]  # only the host's notice


def test_built_in_variables_are_not_substitution_keys(spec, account):
    profile = make_profile(account, name="b", subject="{{name}} {{email}} {{startTime}}")
    body = meeting_body(substitutionData={"name": "Mallory"})
    error_of(spec("POST", meeting_path(profile), body), 400, "bad_request", "substitutionData.name")
    booked = spec("POST", meeting_path(profile), meeting_body(substitutionData={}))
    assert booked.json()["subject"].startswith("Ann ann@example.com 2030-01-07T10:00:00+01:00")


# --- §5 the booking answer ------------------------------------------------------------------

BOOKING_FIELDS = {
    "id",
    "profileId",
    "start",
    "end",
    "status",
    "name",
    "email",
    "substitutionData",
    "subject",
    "description",
    "location",
    "uid",
    "sequence",
    "createdAt",
    "cancelUrl",
    "rescheduleUrl",
    "delivery",
}
DELIVERY = {"pending", "done", "failed", "none"}


def test_booking_answer_has_every_field(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body(), op="bookingAccountCreateMeeting")
    assert booked.status_code == 201
    body = booked.json()
    assert BOOKING_FIELDS | {"created", "rescheduleToken"} <= set(body)
    assert isinstance(body["id"], str) and body["id"] == str(int(body["id"]))
    assert body["profileId"] == profile.pk
    assert body["start"] == "2030-01-07T09:00:00Z" and body["end"] == "2030-01-07T09:30:00Z"
    assert body["status"] == "confirmed" and body["created"] is True
    assert isinstance(body["sequence"], int) and body["uid"]
    assert set(body["delivery"]) == {"mail", "calendar"}
    assert set(body["delivery"].values()) <= DELIVERY
    for absent in ("expiresAt", "reservationId", "ReservationId"):
        assert absent not in body
    assert body["createdAt"] == "2030-01-07T06:00:00Z"
    read = spec("GET", f"{BOOKINGS}/{body['id']}").json()
    assert BOOKING_FIELDS <= set(read)
    same = BOOKING_FIELDS - {"delivery"}
    assert {k: read[k] for k in same} == {k: body[k] for k in same}
    assert set(read["delivery"].values()) <= DELIVERY


def test_a_taken_slot_is_409_and_writes_nothing(
    spec, anon, profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert spec("POST", meeting_path(profile), meeting_body()).status_code == 201
    sent = len(mail.outbox)
    assert sent == 2  # the invitee's invite and the host's notice
    overlapping = meeting_body("2030-01-07T09:00:00Z", "2030-01-07T09:30:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        error_of(spec("POST", meeting_path(profile), overlapping), 409, "slot_unavailable")
        public = f"/v1/book/ada/{profile.name}/meeting"
        error_of(anon("POST", public, overlapping), 409, "slot_unavailable")
    assert Booking.objects.count() == 1 and len(mail.outbox) == sent


# --- §2/§5 reservations ---------------------------------------------------------------------


def _reserve(spec: Spec, profile: Profile, minutes: int = 10, **kw) -> dict:
    path = meeting_path(profile) + f"?reserveForMinutes={minutes}"
    answer = spec("POST", path, meeting_body(**kw), op="bookingAccountCreateMeeting")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_reservation_answers_its_ids_and_expiry(
    spec, profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        held = _reserve(spec, profile, 15)
    assert held["status"] == "reserved"
    assert held["expiresAt"] == "2030-01-07T06:15:00Z"
    assert held["reservationId"] == held["ReservationId"] == int(held["id"])
    assert type(held["reservationId"]) is int
    assert "2030-01-07T09:00:00Z" not in slot_starts(spec, profile)
    assert len(mail.outbox) == 0  # nothing goes out for a hold


def test_confirm_answers_the_confirmed_booking(spec, profile, django_capture_on_commit_callbacks):
    held = _reserve(spec, profile)
    path = f"/v1/book/account/reservations/{held['ReservationId']}/confirm"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = spec("POST", path, op="bookingAccountReservationConfirm")
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "confirmed" and body["id"] == held["id"]
    assert "expiresAt" not in body
    assert BOOKING_FIELDS <= set(body)
    assert len(mail.outbox) == 2  # invite and host notice
    # Confirming again, or releasing, leaves the confirmed booking alone.
    with django_capture_on_commit_callbacks(execute=True):
        error_of(spec("POST", path), 409, "conflict")
        error_of(spec("DELETE", f"/v1/book/account/reservations/{held['id']}"), 409, "conflict")
    after = spec("GET", f"{BOOKINGS}/{held['id']}").json()
    assert after["status"] == "confirmed" and after["sequence"] == body["sequence"]
    assert len(mail.outbox) == 2  # invite and host notice


def test_release_cancels_the_reservation_and_frees_the_slot(spec, profile):
    held = _reserve(spec, profile)
    path = f"/v1/book/account/reservations/{held['reservationId']}"
    released = spec("DELETE", path, op="bookingAccountReservationDelete")
    assert released.status_code == 200 and released.json() == {"status": "Ok"}
    assert spec("GET", f"{BOOKINGS}/{held['id']}").json()["status"] == "cancelled"
    assert "2030-01-07T09:00:00Z" in slot_starts(spec, profile)
    assert spec("POST", meeting_path(profile), meeting_body()).status_code == 201
    # A released reservation cannot be confirmed afterwards; releasing it again is a no-op.
    error_of(spec("POST", path + "/confirm"), 409, "conflict")
    assert spec("DELETE", path).json() == {"status": "Ok"}
    assert spec("GET", f"{BOOKINGS}/{held['id']}").json()["status"] == "cancelled"


def test_confirming_an_expired_reservation_is_409(spec, profile, frozen):
    held = _reserve(spec, profile, 5)
    frozen.shift(timedelta(minutes=6))
    path = f"/v1/book/account/reservations/{held['id']}/confirm"
    error_of(spec("POST", path), 409, "slot_unavailable")
    assert "2030-01-07T09:00:00Z" in slot_starts(spec, profile)
    # Our reading: it still reads as reserved, with its expiresAt now in the past.
    late = spec("GET", f"{BOOKINGS}/{held['id']}").json()
    assert late["status"] == "reserved" and late["expiresAt"] == "2030-01-07T06:05:00Z"


@pytest.mark.parametrize("minutes", ["0", "-1", "10081", "x", "1.5", "99999999999999999999"])
def test_bad_reserve_for_minutes_is_400(spec, profile, minutes):
    path = meeting_path(profile) + f"?reserveForMinutes={minutes}"
    error_of(spec("POST", path, meeting_body()), 400, "bad_request", "reserveForMinutes")
    assert Booking.objects.count() == 0


def test_reservation_paths_refuse_a_confirmed_bookings_id_without_change(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body()).json()
    error_of(spec("POST", f"/v1/book/account/reservations/{booked['id']}/confirm"), 409, "conflict")
    error_of(spec("DELETE", f"/v1/book/account/reservations/{booked['id']}"), 409, "conflict")
    assert Booking.objects.get(pk=int(booked["id"])).status == Booking.Status.CONFIRMED


# --- §2 bookings list, read and cancel ------------------------------------------------------


def test_bookings_list_filters(spec, profile):
    a = spec("POST", meeting_path(profile), meeting_body()).json()
    b = _reserve(spec, profile, start="2030-01-07T11:00:00Z", end="2030-01-07T11:30:00Z")
    c = spec(
        "POST", meeting_path(profile), meeting_body("2030-01-08T09:00:00Z", "2030-01-08T09:30:00Z")
    ).json()
    spec("DELETE", f"{BOOKINGS}/{c['id']}")

    def ids(query: str) -> list[str]:
        answer = spec("GET", f"{BOOKINGS}?{query}").json()
        assert answer["totalSize"] == len(answer["records"])
        return [r["id"] for r in answer["records"]]

    assert ids("") == [a["id"], b["id"], c["id"]]  # by start
    assert ids("status=confirmed") == [a["id"]]
    assert ids("status=reserved") == [b["id"]]
    assert ids("status=cancelled") == [c["id"]]
    assert ids("timeMin=2030-01-07T09:30:00Z") == [b["id"], c["id"]]  # touching is not inside
    assert ids("timeMin=2030-01-07T09:29:00Z") == [a["id"], b["id"], c["id"]]
    assert ids("timeMax=2030-01-07T11:00:00Z") == [a["id"]]
    assert ids("timeMin=2030-01-07T10:30:00%2B01:00&timeMax=2030-01-08T00:00:00Z") == [b["id"]]
    error_of(spec("GET", f"{BOOKINGS}?status=done"), 400, "bad_request", "status")
    error_of(spec("GET", f"{BOOKINGS}?timeMin=yesterday"), 400, "bad_request", "timeMin")
    error_of(spec("GET", f"{BOOKINGS}?timeMax=2030-01-07T09:00:00"), 400, "bad_request", "timeMax")


def test_cancel_answers_ok_and_frees_the_slot(spec, profile):
    booked = spec("POST", meeting_path(profile), meeting_body()).json()
    assert "2030-01-07T09:00:00Z" not in slot_starts(spec, profile)
    cancelled = spec("DELETE", f"{BOOKINGS}/{booked['id']}")
    assert cancelled.status_code == 200 and cancelled.json() == {"status": "Ok"}
    read = spec("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert read["status"] == "cancelled" and read["uid"] == booked["uid"]
    assert read["sequence"] > booked["sequence"]
    assert "2030-01-07T09:00:00Z" in slot_starts(spec, profile)
    again = spec("POST", meeting_path(profile), meeting_body())
    assert again.status_code == 201 and again.json()["uid"] != booked["uid"]


def test_cancelling_twice_is_ok_and_changes_nothing_more(
    spec, profile, django_capture_on_commit_callbacks
):
    booked = spec("POST", meeting_path(profile), meeting_body()).json()
    path = f"{BOOKINGS}/{booked['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        assert spec("DELETE", path).json() == {"status": "Ok"}
    first = spec("GET", path).json()
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert spec("DELETE", path).json() == {"status": "Ok"}
    assert spec("GET", path).json()["sequence"] == first["sequence"]
    assert len(mail.outbox) == sent


# --- §2 calendars ---------------------------------------------------------------------------

SECRET = "s3cr3t-Pässwörd"


def test_passwords_are_never_returned(spec, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    body = {
        "type": "caldav",
        "role": "busy",
        "url": "https://dav.example.com/cal/",
        "username": "ada",
        "password": SECRET,
    }
    created = spec("POST", CALENDARS, body)
    assert created.status_code == 201
    primary = spec("POST", CALENDARS, {**body, "role": "primary", "url": "https://d.example/c/"})
    assert primary.status_code == 201
    listed = spec("GET", CALENDARS)
    for response in (created, primary, listed):
        assert SECRET not in response.content.decode()
        assert b"password" not in response.content
    assert Calendar.objects.get(pk=created.json()["id"]).password == SECRET


def test_a_password_inside_a_calendar_url_is_refused_and_never_echoed(spec, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    url = f"https://ada:{SECRET}@dav.example.com/cal/"
    response = spec("POST", CALENDARS, {"type": "caldav", "url": url})
    error_of(response, 400, "bad_request", "url")
    assert SECRET not in response.content.decode()
    # One stored another way (admin) is masked on the way out, as is an error quoting it.
    Calendar.objects.create(
        account=account,
        kind="caldav",
        role="busy",
        url=url,
        password="other-secret",
        last_error=f"GET {url} failed; password other-secret refused",
    )
    listed = spec("GET", CALENDARS).content.decode()
    assert SECRET not in listed and "other-secret" not in listed
    assert "https://ada:***@dav.example.com/cal/" in listed


def test_a_new_primary_replaces_the_old(spec, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True  # example.com does not resolve offline
    first = spec("GET", CALENDARS).json()["records"]
    assert [(c["type"], c["role"]) for c in first] == [("builtin", "primary")]
    body = {"type": "caldav", "role": "primary", "url": "https://dav.example.com/a/"}
    one = spec("POST", CALENDARS, body).json()
    two = spec("POST", CALENDARS, {**body, "url": "https://dav.example.com/b/"}).json()
    records = spec("GET", CALENDARS).json()["records"]
    primaries = [c for c in records if c["role"] == "primary"]
    assert [c["id"] for c in primaries] == [two["id"]]
    assert one["id"] not in [c["id"] for c in primaries]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.ics",
        "http://localhost:8000/x.ics",
        "http://10.1.2.3/x.ics",
        "http://192.168.0.1/x.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.ics",
        "http://0.0.0.0/x.ics",
        "file:///etc/passwd",
        "gopher://example.com/",
        "not a url",
    ],
)
def test_calendar_urls_that_are_private_or_not_http_are_400_naming_url(spec, account, url):
    for kind in ("ics", "caldav"):
        response = spec("POST", CALENDARS, {"type": kind, "url": url})
        error_of(response, 400, "bad_request", "url")
    assert Calendar.objects.exclude(kind="builtin").count() == 0


def test_a_feed_needs_a_url(spec, account):
    error_of(spec("POST", CALENDARS, {"type": "ics"}), 400, "bad_request", "url")
    error_of(spec("POST", CALENDARS, {"type": "weird"}), 400, "bad_request", "type")


# --- §2 errors ------------------------------------------------------------------------------

WRONG_METHODS = [
    ("PUT", "/v1/book/account/workHours"),
    ("POST", "/v1/book/account/workHours"),
    ("DELETE", PROFILES),
    ("PUT", PROFILES + "/1"),
    ("POST", PROFILES + "/1"),
    ("DELETE", PROFILES + "/1/meeting"),
    ("GET", "/v1/book/account/reservations/1/confirm"),
    ("GET", "/v1/book/account/reservations/1"),
    ("POST", BOOKINGS),
    ("PATCH", BOOKINGS + "/1"),
    ("GET", BOOKINGS + "/1/reschedule"),
    ("DELETE", CALENDARS),
    ("GET", CALENDARS + "/1"),
    ("DELETE", "/v1/book/ada/intro/meeting"),
    ("POST", "/v1/openapi.json"),
    ("POST", "/v1/docs"),
]


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_methods_are_json_405(spec, method, path):
    response = spec(method, path)
    error_of(response, 405, "method_not_allowed")
    assert response.has_header("Allow")


def test_head_is_get_without_a_body(client, spec, profile):
    answer = spec.client.head(PROFILES, **spec.headers)
    assert answer.status_code == 200 and answer.content == b""
    assert answer["Content-Type"].startswith("application/json")
    assert client.head(PROFILES).status_code == 401
    assert client.head(f"/v1/book/ada/{profile.name}/meeting").status_code == 200
    assert client.head("/v1/book/account/reservations/1", **spec.headers).status_code == 405


@override_settings(API_MAX_BODY_BYTES=2000)
@pytest.mark.parametrize("path", [PROFILES, "/v1/book/ada/intro/meeting"])
def test_oversized_bodies_are_413(spec, profile, path):
    error_of(spec("POST", path, {"name": "x", "context": "y" * 3000}), 413, "payload_too_large")
    assert Profile.objects.count() == 1 and Booking.objects.count() == 0


@pytest.mark.parametrize(
    "raw", ["{", '{"name": "x",}', "nul", "\x00\x01", b"\xff\xfe{", "{'name': 'x'}", ""]
)
def test_malformed_json_is_400(spec, raw):
    error_of(spec("POST", PROFILES, raw), 400, "bad_request")
    assert Profile.objects.count() == 0


@pytest.mark.parametrize("raw", ["[]", '"intro"', "1", "null", "true", '[{"name": "x"}]'])
def test_a_body_that_is_not_an_object_is_400(spec, profile, raw):
    error_of(spec("POST", PROFILES, raw), 400, "bad_request")
    error_of(spec("PATCH", f"{PROFILES}/{profile.pk}", raw), 400, "bad_request")
    error_of(spec("POST", meeting_path(profile), raw), 400, "bad_request")
    assert Profile.objects.count() == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=utf-8"])
def test_a_json_body_is_read_whatever_the_content_type(spec, content_type):
    response = spec("POST", PROFILES, {"name": "intro"}, content_type=content_type)
    assert response.status_code == 201, response.content


def test_form_encoded_body_is_not_read_as_a_profile(spec):
    response = spec(
        "POST", PROFILES, "name=intro", content_type="application/x-www-form-urlencoded"
    )
    error_of(response, 400, "bad_request")
    assert Profile.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "durationMinutes": 10**400},
        {"name": "x", "durationMinutes": 1e308},
        {"name": "x", "durationMinutes": -(10**40)},
        {"name": "x", "maxBookingsPerDay": 2**63},
        {"name": "x", "startAfterMinutes": 2**64},
        {"name": "x", "timeAvailableFor": "P99999999999999999999D"},
        {"name": "x", "startTime": "99999-01-01T00:00:00Z"},
        {"name": "x", "startTime": "0001-01-01T00:00:00Z"},
    ],
)
def test_huge_numbers_are_400(spec, body):
    error = error_of(spec("POST", PROFILES, body), 400, "bad_request")
    assert set(error["fields"]) & (set(body) - {"name"})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400_naming_the_field(spec, value):
    raw = '{"name": "x", "durationMinutes": ' + value + "}"
    error_of(spec("POST", PROFILES, raw), 400, "bad_request", "durationMinutes")
    assert Profile.objects.count() == 0


def test_unicode_round_trips_and_escapes_are_json(spec):
    text = "Zoë’s 会議 🎉 \u202e"
    created = spec("POST", PROFILES, {"name": "u", "subject": text, "context": text}).json()
    assert created["subject"] == text and created["context"] == text
    error = error_of(spec("POST", PROFILES, {"name": "会議"}), 400, "bad_request", "name")
    assert error["message"]


def test_nul_characters_are_400_naming_the_field(spec, profile):
    # PostgreSQL cannot store NUL in text: without the check this was a 500 there.
    body = {"name": "z", "subject": "a\x00b", "context": "\x00"}
    error_of(spec("POST", PROFILES, body), 400, "bad_request", "subject", "context")
    patch = spec("PATCH", f"{PROFILES}/{profile.pk}", {"location": "\x00"})
    error_of(patch, 400, "bad_request", "location")
    booking = meeting_body(substitutionData={"topic": "a\x00"}, name="x")
    response = spec("POST", meeting_path(profile), booking)
    error_of(response, 400, "bad_request", "substitutionData.topic")
    info = meeting_body(schedulerInfo={"name": "A\x00", "email": "a@example.com"})
    error_of(spec("POST", meeting_path(profile), info), 400, "bad_request", "schedulerInfo.name")
    assert Profile.objects.count() == 1 and Booking.objects.count() == 0


def test_nul_in_a_path_is_404(anon, spec, profile):
    error_of(anon("GET", "/v1/book/ada%00/intro/meeting"), 404, "not_found")
    error_of(anon("POST", "/v1/book/ada/intro%00/meeting", meeting_body()), 404, "not_found")
    error_of(spec("GET", f"{PROFILES}/{profile.pk}%00"), 404, "not_found")


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "١٢"])
def test_a_content_length_that_is_not_a_number_is_400(spec, length):
    error_of(spec("POST", PROFILES, {"name": "x"}, CONTENT_LENGTH=length), 400, "bad_request")
    assert Profile.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/unknown",
        "/v1/",
        "/v1/book",
        "/v1/book/account",
        "/v1/book/account/profiles/1/unknown",
        "/v1/book/account/profiles/",
        "/v1/book/ada",
        "/v1/book/ada/intro",
        "/v1/book/ada/intro/meeting/",
    ],
)
def test_unknown_paths_are_json_404(anon, path):
    for method in ("GET", "POST"):
        error_of(anon(method, path), 404, "not_found")


# --- no input yields a 500 -----------------------------------------------------------------

_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        ["monday", "24:00", "23:59:59", "P9999Y", "PT1H", "9999-12-31T23:59:59Z", "0001-01-01"]
        + ["2030-01-07T09:00:00+14:00", "Etc/GMT+12", "https://x.example/", "{{a}}", "\x00"]
    ),
)
_VALUES = st.recursive(
    _ODD,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["start", "end", "dayOfWeek", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
_FULL_PROFILE = {
    "durationMinutes": 30,
    "timeAvailableFor": "P30D",
    "startTime": "2030-01-01T00:00:00Z",
    "endTime": "2031-01-01T00:00:00Z",
    "subject": "{{a}}",
    "openMeetingUrl": "https://m.example/",
    "maxBookingsPerDay": 2,
    "workHours": {
        "timezone": "UTC",
        "daySchedules": [
            {"dayOfWeek": "monday", "workingIntervals": [{"start": "09:00", "end": "17:00"}]}
        ],
    },
    "availabilityIntervals": {
        "intervals": [
            {
                "dateStartInclusive": "2030-01-08",
                "dateEndInclusive": "2030-01-09",
                "hours": [{"start": "10:00", "end": "12:00"}],
            }
        ]
    },
}
_FULL_MEETING = meeting_body(substitutionData={"a": "x"})


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value: ("workHours", "daySchedules", 0, "dayOfWeek"), …"""
    if isinstance(value, dict):
        inner = list(value.items())
    elif isinstance(value, list):
        inner = list(enumerate(value))
    else:
        inner = []
    found = [prefix] if prefix else []
    for key, item in inner:
        found += _paths(item, (*prefix, key))
    return found


def _replaced(base: dict, path: tuple, value: Any) -> dict:
    out = json.loads(json.dumps(base))
    here = out
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return out


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_one_odd_value_anywhere_is_never_a_500(spec, account, data):
    """A valid body with one value anywhere in it replaced by something odd: 2xx or a JSON
    4xx (checked by Spec), never a 500 — on SQLite and PostgreSQL alike."""
    profile = Profile.objects.filter(account=account, name="base").first()
    profile = profile or make_profile(account, name="base", subject="{{a:}}")
    value = data.draw(_VALUES)
    target = data.draw(st.sampled_from(["create", "patch", "meeting"]))
    if target == "meeting":
        body = _replaced(_FULL_MEETING, data.draw(st.sampled_from(_paths(_FULL_MEETING))), value)
        response = spec("POST", meeting_path(profile), body)
    else:
        body = _replaced(_FULL_PROFILE, data.draw(st.sampled_from(_paths(_FULL_PROFILE))), value)
        if target == "create":
            body["name"] = f"n{Profile.objects.count()}"
            response = spec("POST", PROFILES, body)
        else:
            response = spec("PATCH", f"{PROFILES}/{profile.pk}", body)
    assert response.status_code in (200, 201, 400, 409), response.content


# --- over real HTTP -------------------------------------------------------------------------


@pytest.fixture
def one_worker(transactional_db):
    """gunicorn with one worker on the test database: what a client on the network sees."""
    import subprocess

    from django.db import connection

    from tests.fixtures.servers import server_env, start_gunicorn

    proc, base = start_gunicorn(server_env(connection.settings_dict["NAME"]), workers=1)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_client_over_http_gets_json_for_everything(one_worker):
    import http.client
    from urllib.parse import urlsplit

    import requests

    account = make_account(handle="ada", timezone="UTC")
    auth = {"Authorization": f"Bearer {make_token(account)}"}
    base = one_worker + "/v1/book/account"
    # Time is not frozen in the server process, so book the first slot it offers.
    created = requests.post(f"{base}/profiles", json={"name": "intro"}, headers=auth, timeout=10)
    assert created.status_code == 201
    pk = created.json()["id"]
    slots = requests.get(f"{base}/profiles/{pk}/meeting", headers=auth, timeout=10).json()
    body = {"time": slots["items"][0], "schedulerInfo": {"name": "A", "email": "a@example.com"}}
    booked = requests.post(f"{base}/profiles/{pk}/meeting", json=body, headers=auth, timeout=10)
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"
    again = requests.post(f"{base}/profiles/{pk}/meeting", json=body, headers=auth, timeout=10)
    assert again.status_code == 409
    cancelled = requests.delete(f"{base}/bookings/{booked.json()['id']}", headers=auth, timeout=10)
    assert cancelled.json() == {"status": "Ok"}

    answers = [
        requests.get(one_worker + "/v1/unknown", timeout=10),
        requests.get(f"{base}/profiles", timeout=10),
        requests.put(f"{base}/profiles", headers=auth, timeout=10),
        requests.post(f"{base}/profiles", data="{", headers=auth, timeout=10),
        requests.post(f"{base}/profiles", data="x" * 70_000, headers=auth, timeout=10),
    ]
    assert [a.status_code for a in answers] == [404, 401, 405, 400, 413]
    for answer in answers:
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["error"]["message"]

    head = requests.head(f"{base}/profiles", headers=auth, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0

    host = urlsplit(one_worker)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    connection.request("GET", "/v1/book/ada/intro/meeting%00")
    response = connection.getresponse()
    assert response.status == 404 and json.loads(response.read())["error"]
    connection.close()
