"""The /v1/ API: auth, profiles, work hours, calendars and the error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from scheduler.models import ApiToken, Calendar, Profile
from tests.factory import make_account, make_profile, make_token

PROFILES = "/v1/book/account/profiles"


class Api:
    """A test client that sends the account's token and JSON bodies."""

    def __init__(self, client: Client, token: str | None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, path: str, body: Any = None, **extra: Any):
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        kwargs: dict[str, Any] = {**self.headers, **extra}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        response = getattr(self.client, method.lower())(path, **kwargs)
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        return response


@pytest.fixture
def api(client, token) -> Api:
    return Api(client, token)


def assert_error(response, status: int, code: str, *fields: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    for field in fields:
        assert field in error.get("fields", {}), error
    return error


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong", "Basic abc", "bk_not-a-bearer", "Bearer " + "x" * 300],
)
def test_missing_or_wrong_token_is_401(client, account, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(PROFILES, **extra)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, account):
    token, raw = ApiToken.issue(account)
    assert Api(client, raw)("GET", PROFILES).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2020-01-01T00:00:00Z")
    assert_error(Api(client, raw)("GET", PROFILES), 401, "unauthorized")


def test_token_records_last_use(api, account):
    assert ApiToken.objects.get(account=account).last_used_at is None
    api("GET", PROFILES)
    assert ApiToken.objects.get(account=account).last_used_at is not None


def test_other_accounts_objects_are_404(api, client):
    other = make_account()
    theirs = make_profile(other)
    for method in ("GET", "PATCH", "DELETE"):
        body = {"subject": "x"} if method == "PATCH" else None
        assert_error(api(method, f"{PROFILES}/{theirs.pk}", body), 404, "not_found")
    assert_error(api("GET", f"{PROFILES}/{theirs.pk}/meeting"), 404, "not_found")
    assert Profile.objects.get(pk=theirs.pk).subject == ""
    # …and the owner still sees it.
    assert Api(client, make_token(other))("GET", f"{PROFILES}/{theirs.pk}").status_code == 200


# --- profiles -------------------------------------------------------------------------------


def test_create_profile_answers_201_with_every_field_and_defaults(api, account):
    response = api("POST", PROFILES, {"name": "intro"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "intro" and isinstance(body["id"], int)
    assert body["durationMinutes"] == 30
    assert body["availabilityStep"] == 30
    assert body["bufferBetweenMinutes"] == 0
    assert body["startAfterMinutes"] == 60
    assert body["timeAvailableFor"] == "P30D"
    assert body["subject"] == body["description"] == body["location"] == body["context"] == ""
    assert body["startConference"] is False and body["active"] is True
    assert body["schedulerLink"] == "http://testserver/ada/intro/"
    assert body["availabilityIntervals"] == {"intervals": []}
    # Null fields are left out, as Aurinko does.
    for absent in ("startTime", "endTime", "openMeetingUrl", "maxBookingsPerDay"):
        assert absent not in body
    hours = body["workHours"]
    assert hours["timezone"] == "UTC"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    assert hours["daySchedules"][0]["workingIntervals"] == [
        {"start": "09:00:00", "end": "17:00:00"}
    ]


def test_create_profile_stores_and_normalises_everything(api, account):
    sent = {
        "name": "deep-dive",
        "durationMinutes": 45,
        "availabilityStep": 15,
        "bufferBetweenMinutes": 10,
        "startAfterMinutes": 0,
        "timeAvailableFor": "P4W",
        "startTime": "2030-01-01T10:00:00+02:00",
        "endTime": "2030-06-01T00:00:00Z",
        "subject": "Call with {{name}} about {{topic}}",
        "description": "Notes: {{notes:}}",
        "location": "{{room:Main}}",
        "openMeetingUrl": "https://meet.example.com/ada",
        "startConference": True,
        "workHours": {
            "timezone": "Europe/Berlin",
            "daySchedules": [
                {"dayOfWeek": "tuesday", "workingIntervals": [{"start": "09:00", "end": "12:30"}]},
                {"dayOfWeek": "sunday", "workingIntervals": [{"start": "20:00", "end": "24:00"}]},
            ],
        },
        "availabilityIntervals": {
            "intervals": [
                {"dateStartInclusive": "2030-02-01", "dateEndInclusive": "2030-02-03", "hours": []},
                {"dateStartInclusive": "2030-03-01", "hours": [{"start": "10:00", "end": "11:00"}]},
            ]
        },
        "maxBookingsPerDay": 3,
        "active": False,
        "context": '{"crm": 42}',
    }
    created = api("POST", PROFILES, sent)
    assert created.status_code == 201, created.content
    body = api("GET", f"{PROFILES}/{created.json()['id']}").json()
    assert body["startTime"] == "2030-01-01T08:00:00Z"
    assert body["endTime"] == "2030-06-01T00:00:00Z"
    assert body["workHours"]["timezone"] == "Europe/Berlin"
    assert body["workHours"]["daySchedules"][0]["workingIntervals"] == [
        {"start": "09:00:00", "end": "12:30:00"}
    ]
    assert body["workHours"]["daySchedules"][1]["workingIntervals"][0]["end"] == "24:00:00"
    assert body["availabilityIntervals"]["intervals"][1] == {
        "dateStartInclusive": "2030-03-01",
        "dateEndInclusive": "2030-03-01",
        "hours": [{"start": "10:00:00", "end": "11:00:00"}],
    }
    for key in (
        "durationMinutes",
        "availabilityStep",
        "bufferBetweenMinutes",
        "startAfterMinutes",
        "timeAvailableFor",
        "subject",
        "description",
        "location",
        "openMeetingUrl",
        "startConference",
        "maxBookingsPerDay",
        "active",
        "context",
    ):
        assert body[key] == sent[key], key


def test_profile_timezone_falls_back_to_the_accounts(api, account):
    account.timezone = "Asia/Kathmandu"
    account.save()
    body = api("POST", PROFILES, {"name": "x", "workHours": {"daySchedules": []}}).json()
    assert body["workHours"] == {"timezone": "Asia/Kathmandu", "daySchedules": []}


def test_every_bad_field_is_named_at_once(api):
    response = api(
        "POST",
        PROFILES,
        {
            "name": "not a slug!",
            "durationMinutes": 4,
            "availabilityStep": 7,
            "bufferBetweenMinutes": 241,
            "startAfterMinutes": -1,
            "timeAvailableFor": "30 days",
            "startTime": "2030-01-02T00:00:00Z",
            "endTime": "2030-01-01T00:00:00Z",
            "openMeetingUrl": "not a url",
            "startConference": "yes",
            "active": 1,
            "maxBookingsPerDay": 0,
            "bogus": True,
            "workHours": {
                "timezone": "Mars/Olympus",
                "daySchedules": [
                    {"dayOfWeek": "funday", "workingIntervals": []},
                    {
                        "dayOfWeek": "monday",
                        "workingIntervals": [{"start": "10:00", "end": "9:00"}],
                    },
                    {
                        "dayOfWeek": "friday",
                        "workingIntervals": [{"start": "12:00", "end": "11:00"}],
                    },
                ],
            },
            "availabilityIntervals": {
                "intervals": [
                    {"dateStartInclusive": "2030-02-05", "dateEndInclusive": "2030-02-01"}
                ]
            },
        },
    )
    assert_error(
        response,
        400,
        "bad_request",
        "name",
        "durationMinutes",
        "availabilityStep",
        "bufferBetweenMinutes",
        "startAfterMinutes",
        "timeAvailableFor",
        "endTime",
        "openMeetingUrl",
        "startConference",
        "active",
        "maxBookingsPerDay",
        "bogus",
        "workHours.timezone",
        "workHours.daySchedules[0].dayOfWeek",
        "workHours.daySchedules[1].workingIntervals[0].end",
        "workHours.daySchedules[2].workingIntervals[0].end",
        "availabilityIntervals.intervals[0].dateEndInclusive",
    )
    assert Profile.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": "x", "durationMinutes": 721}, "durationMinutes"),
        ({"name": "x", "durationMinutes": "30"}, "durationMinutes"),
        ({"name": "x", "durationMinutes": 30.5}, "durationMinutes"),
        ({"name": "x", "timeAvailableFor": "P0D"}, "timeAvailableFor"),
        ({"name": "x", "timeAvailableFor": "P99999Y"}, "timeAvailableFor"),
        ({"name": "x", "startTime": "2030-01-01T10:00:00"}, "startTime"),
        ({"name": "x", "startTime": "9999-12-31T23:59:59Z"}, "startTime"),
        ({"name": "x", "openMeetingUrl": "javascript:alert(1)"}, "openMeetingUrl"),
        ({"name": "x", "workHours": []}, "workHours"),
        ({"name": "x", "workHours": {"days": []}}, "workHours.days"),
        (
            {"name": "x", "workHours": {"daySchedules": [{"dayOfWeek": "monday", "x": 1}]}},
            "workHours.daySchedules[0].x",
        ),
        (
            {
                "name": "x",
                "workHours": {
                    "daySchedules": [
                        {
                            "dayOfWeek": "monday",
                            "workingIntervals": [{"start": "25:00", "end": "26:00"}],
                        }
                    ]
                },
            },
            "workHours.daySchedules[0].workingIntervals[0].start",
        ),
        (
            {"name": "x", "availabilityIntervals": {"intervals": [{"dateStartInclusive": "soon"}]}},
            "availabilityIntervals.intervals[0].dateStartInclusive",
        ),
    ],
)
def test_bad_profile_input_names_the_field(api, body, field):
    assert_error(api("POST", PROFILES, body), 400, "bad_request", field)


def test_body_must_be_an_object_of_json(api):
    assert_error(api("POST", PROFILES, "{not json"), 400, "bad_request")
    assert_error(api("POST", PROFILES, "[1, 2]"), 400, "bad_request")
    assert_error(api("POST", PROFILES, ""), 400, "bad_request", "body")


def test_duplicate_profile_name_is_409(api):
    assert api("POST", PROFILES, {"name": "intro"}).status_code == 201
    assert_error(api("POST", PROFILES, {"name": "intro"}), 409, "conflict")
    other = api("POST", PROFILES, {"name": "other"}).json()
    assert_error(api("PATCH", f"{PROFILES}/{other['id']}", {"name": "intro"}), 409, "conflict")
    assert Profile.objects.filter(name="intro").count() == 1


def test_same_name_in_another_account_is_fine(api):
    make_profile(make_account(), name="intro")
    assert api("POST", PROFILES, {"name": "intro"}).status_code == 201


def test_patch_changes_only_what_is_sent(api):
    created = api("POST", PROFILES, {"name": "intro", "subject": "Hello", "durationMinutes": 45})
    pk = created.json()["id"]
    response = api("PATCH", f"{PROFILES}/{pk}", {"durationMinutes": 60, "openMeetingUrl": None})
    assert response.status_code == 200 and response.json() == {"status": "Ok"}
    body = api("GET", f"{PROFILES}/{pk}").json()
    assert body["durationMinutes"] == 60 and body["subject"] == "Hello"


def test_patch_validates_like_create(api):
    pk = api("POST", PROFILES, {"name": "intro"}).json()["id"]
    response = api(
        "PATCH",
        f"{PROFILES}/{pk}",
        {"durationMinutes": None, "availabilityStep": 11, "workHours": {"timezone": "X"}},
    )
    assert_error(
        response, 400, "bad_request", "durationMinutes", "availabilityStep", "workHours.timezone"
    )
    assert api("GET", f"{PROFILES}/{pk}").json()["durationMinutes"] == 30


def test_patch_checks_end_after_the_stored_start(api):
    pk = api("POST", PROFILES, {"name": "intro", "startTime": "2030-01-02T00:00:00Z"}).json()["id"]
    response = api("PATCH", f"{PROFILES}/{pk}", {"endTime": "2030-01-01T00:00:00Z"})
    assert_error(response, 400, "bad_request", "endTime")


def test_patch_can_clear_nullable_fields(api):
    pk = api("POST", PROFILES, {"name": "intro", "maxBookingsPerDay": 2}).json()["id"]
    api("PATCH", f"{PROFILES}/{pk}", {"maxBookingsPerDay": None, "workHours": None})
    body = api("GET", f"{PROFILES}/{pk}").json()
    assert "maxBookingsPerDay" not in body
    assert len(body["workHours"]["daySchedules"]) == 5


def test_delete_profile(api):
    pk = api("POST", PROFILES, {"name": "intro"}).json()["id"]
    response = api("DELETE", f"{PROFILES}/{pk}")
    assert response.json() == {"status": "Ok"}
    assert_error(api("GET", f"{PROFILES}/{pk}"), 404, "not_found")
    assert_error(api("DELETE", f"{PROFILES}/{pk}"), 404, "not_found")


def test_profile_list_pages(api, account):
    for n in range(5):
        make_profile(account, name=f"p{n}")
    first = api("GET", f"{PROFILES}?limit=2").json()
    assert first["offset"] == 0 and first["totalSize"] == 5 and first["done"] is False
    assert [r["name"] for r in first["records"]] == ["p0", "p1"]
    last = api("GET", f"{PROFILES}?limit=2&offset=4").json()
    assert last["done"] is True and [r["name"] for r in last["records"]] == ["p4"]
    assert len(api("GET", PROFILES).json()["records"]) == 5


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "offset=-1"])
def test_bad_paging_is_400(api, query):
    field = query.split("=")[0]
    assert_error(api("GET", f"{PROFILES}?{query}"), 400, "bad_request", field)


def test_ids_out_of_range_are_404(api):
    assert_error(api("GET", f"{PROFILES}/99999999999999999999999"), 404, "not_found")
    assert_error(api("GET", f"{PROFILES}/0"), 404, "not_found")


def test_work_hours_are_the_accounts_default_week(api, account):
    account.timezone = "America/New_York"
    account.save()
    body = api("GET", "/v1/book/account/workHours").json()
    assert body["timezone"] == "America/New_York"
    assert len(body["daySchedules"]) == 5


# --- error shape on every /v1/ path ---------------------------------------------------------


def test_wrong_method_is_json_405(api):
    response = api("PUT", PROFILES)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/book/account/nope/1", "/v1/book/x/y/z/"])
def test_unknown_paths_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(API_MAX_BODY_BYTES=1000)
def test_oversized_body_is_413(api):
    response = api("POST", PROFILES, {"name": "x", "context": "y" * 2000})
    assert_error(response, 413, "payload_too_large")
    assert Profile.objects.count() == 0


def test_unexpected_exception_is_json_500(api, monkeypatch):
    from scheduler.api import profiles as api_module

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api_module, "profile_out", boom)
    client = api.client
    client.raise_request_exception = False
    response = api("POST", PROFILES, {"name": "x"})
    assert_error(response, 500, "server_error")
    assert "fire" not in response.content.decode()


def test_openapi_and_docs_are_served(client):
    schema = client.get("/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/v1/book/account/profiles/{id}/meeting" in schema["paths"]
    assert client.get("/v1/docs").status_code == 200


# --- calendars ------------------------------------------------------------------------------

CALENDARS = "/v1/book/account/calendars"


def test_builtin_is_the_default_primary(api):
    body = api("GET", CALENDARS).json()
    assert body["totalSize"] == 1
    assert body["records"][0]["type"] == "builtin" and body["records"][0]["role"] == "primary"


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_add_busy_feed_never_returns_the_password(api, account):
    response = api(
        "POST",
        CALENDARS,
        {
            "type": "caldav",
            "role": "busy",
            "url": "https://dav.example.com/cal/",
            "username": "ada",
            "password": "s3cret",
            "name": "Work",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "caldav" and body["role"] == "busy" and body["username"] == "ada"
    assert "password" not in body and "s3cret" not in response.content.decode()
    assert "s3cret" not in api("GET", CALENDARS).content.decode()
    assert Calendar.objects.get(pk=body["id"]).password == "s3cret"


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_new_primary_replaces_the_old(api, account):
    builtin = account.primary_calendar()
    first = api(
        "POST", CALENDARS, {"type": "caldav", "role": "primary", "url": "https://a.example.com/c/"}
    ).json()
    assert not Calendar.objects.filter(pk=builtin.pk).exists()
    second = api(
        "POST", CALENDARS, {"type": "caldav", "role": "primary", "url": "https://b.example.com/c/"}
    ).json()
    roles = {c["id"]: c["role"] for c in api("GET", CALENDARS).json()["records"]}
    assert roles == {first["id"]: "busy", second["id"]: "primary"}
    # Back to builtin: the CalDAV primary stays as a busy source.
    third = api("POST", CALENDARS, {"type": "builtin", "role": "primary"})
    assert third.status_code == 201
    assert Calendar.objects.filter(account=account, role="primary").count() == 1
    assert_error(api("POST", CALENDARS, {"type": "builtin", "role": "primary"}), 409, "conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "ics", "role": "primary", "url": "https://x.example.com/a.ics"}, "role"),
        ({"type": "builtin", "role": "busy"}, "role"),
        ({"type": "ics", "role": "busy"}, "url"),
        ({"type": "caldav", "role": "busy", "url": "ftp://x.example.com/"}, "url"),
        ({"type": "ics", "role": "busy", "url": "https://"}, "url"),
        ({"type": "google", "role": "busy"}, "type"),
        ({"type": "ics", "role": "owner", "url": "https://x.example.com/a.ics"}, "role"),
        ({"type": "ics", "url": "https://x.example.com/a.ics", "colour": "red"}, "colour"),
    ],
)
def test_bad_calendar_input_names_the_field(api, body, field):
    assert_error(api("POST", CALENDARS, body), 400, "bad_request", field)


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=False)
def test_private_calendar_urls_are_refused(api):
    for url in ("http://127.0.0.1/feed.ics", "http://10.0.0.1/feed.ics", "http://[::1]/x.ics"):
        body = {"type": "ics", "role": "busy", "url": url}
        assert_error(api("POST", CALENDARS, body), 400, "bad_request", "url")
    assert Calendar.objects.filter(kind="ics").count() == 0


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_delete_calendar(api, account):
    made = api("POST", CALENDARS, {"type": "ics", "url": "https://x.example.com/a.ics"}).json()
    assert made["role"] == "busy"
    assert api("DELETE", f"{CALENDARS}/{made['id']}").json() == {"status": "Ok"}
    assert_error(api("DELETE", f"{CALENDARS}/{made['id']}"), 404, "not_found")
    builtin = account.primary_calendar()
    assert_error(api("DELETE", f"{CALENDARS}/{builtin.pk}"), 409, "conflict")
    theirs = make_account().primary_calendar()
    assert_error(api("DELETE", f"{CALENDARS}/{theirs.pk}"), 404, "not_found")
