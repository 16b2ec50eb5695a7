"""Profiles (SPEC §1, §2): create, read, PATCH, DELETE, list, and the account's default week."""

from __future__ import annotations

import pytest

from scheduler.models import Booking, Profile
from tests.api.helpers import (
    BOOKINGS,
    PROFILES,
    WORK_HOURS,
    ApiClient,
    assert_error,
    meeting_body,
    meeting_path,
)
from tests.factory import make_account, make_profile, make_token

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


# --- output fields and defaults --------------------------------------------------------------


def test_a_new_profile_has_every_field_with_spec_defaults(api, account):
    created = api("POST", PROFILES, {"name": "intro"})
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
    assert body["workHours"] == {
        "timezone": "Europe/Berlin",
        "daySchedules": [
            {"dayOfWeek": d, "workingIntervals": [{"start": "09:00:00", "end": "17:00:00"}]}
            for d in WEEKDAYS
        ],
    }
    assert body.get("availabilityIntervals", {"intervals": []}) == {"intervals": []}
    # GET reads back exactly what POST answered.
    assert api("GET", f"{PROFILES}/{body['id']}").json() == body


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
    assert hours["timezone"] == account.timezone
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == WEEKDAYS
    assert hours["daySchedules"][0]["workingIntervals"] == [
        {"start": "09:00:00", "end": "17:00:00"}
    ]


def test_account_work_hours_are_the_default_week_in_its_zone(api):
    hours = api("GET", WORK_HOURS).json()
    assert hours["timezone"] == "Europe/Berlin"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == WEEKDAYS
    assert {
        (i["start"], i["end"]) for d in hours["daySchedules"] for i in d["workingIntervals"]
    } == {("09:00:00", "17:00:00")}


def test_work_hours_follow_the_accounts_zone(api, account):
    account.timezone = "America/New_York"
    account.save()
    body = api("GET", WORK_HOURS).json()
    assert body["timezone"] == "America/New_York"
    assert len(body["daySchedules"]) == 5


def test_every_field_sent_is_returned_and_times_of_day_written_hh_mm_ss(api):
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
    body = api("POST", PROFILES, sent).json()
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


def test_create_profile_stores_and_normalises_everything(api):
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


def test_twenty_four_hundred_is_an_end_only(api):
    day = {"dayOfWeek": "sunday", "workingIntervals": [{"start": "00:00", "end": "24:00"}]}
    work = {"daySchedules": [day]}
    created = api("POST", PROFILES, {"name": "x", "workHours": work})
    assert created.status_code == 201
    # Without a timezone the account's zone is used and written out.
    assert created.json()["workHours"]["timezone"] == "Europe/Berlin"


def test_work_hours_with_only_a_zone_keep_the_default_week_there(api):
    # Our reading: daySchedules left out = the default week; daySchedules [] = no hours.
    tokyo = api("POST", PROFILES, {"name": "t", "workHours": {"timezone": "Asia/Tokyo"}})
    hours = tokyo.json()["workHours"]
    assert hours["timezone"] == "Asia/Tokyo"
    assert [d["dayOfWeek"] for d in hours["daySchedules"]] == WEEKDAYS
    none = api("POST", PROFILES, {"name": "n", "workHours": {"daySchedules": []}}).json()
    assert none["workHours"] == {"timezone": "Europe/Berlin", "daySchedules": []}
    times = api("GET", f"{PROFILES}/{none['id']}/meeting").json()
    assert times["items"] == []


# --- validation, every bound at both edges ----------------------------------------------------


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
def test_profile_field_bounds(api, field, good, bad):
    for n, value in enumerate(good):
        body = {"name": f"p{n}-{field}"[:100], field: value}
        if field == "name":
            body = {"name": value}
        response = api("POST", PROFILES, body)
        assert response.status_code == 201, (value, response.content)
        if value is not None:
            assert response.json()[field] == value
        else:
            assert field not in response.json() or field == "availabilityStep"
    before = Profile.objects.count()
    for value in bad:
        response = api("POST", PROFILES, {"name": "bad", field: value})
        assert_error(response, 400, "bad_request", field)
    assert Profile.objects.count() == before


@pytest.mark.parametrize("period", ["P2Y", "P24M", "P1Y12M", "P104W", "P730D"])
def test_a_horizon_of_two_years_is_accepted_however_it_is_written(api, period):
    # Months count by their calendar length, so P24M and P1Y12M are as long as P2Y.
    created = api("POST", PROFILES, {"name": "long", "timeAvailableFor": period})
    assert created.status_code == 201, created.content
    assert created.json()["timeAvailableFor"] == period
    patched = api("PATCH", f"{PROFILES}/{created.json()['id']}", {"timeAvailableFor": period})
    assert patched.status_code == 200, patched.content


@pytest.mark.parametrize("period", ["P25M", "P2Y1M", "P2Y1D", "P3Y", "P106W"])
def test_a_horizon_longer_than_two_years_is_400_naming_time_available_for(api, period):
    response = api("POST", PROFILES, {"name": "long", "timeAvailableFor": period})
    error = assert_error(response, 400, "bad_request", "timeAvailableFor")
    assert "P2Y" in error["fields"]["timeAvailableFor"][0]
    assert Profile.objects.count() == 0


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
def test_work_hours_validation_names_the_path(api, hours, path):
    interval = {"start": hours.get("start", "09:00"), "end": hours.get("end", "17:00")}
    day = {"dayOfWeek": hours.get("dayOfWeek", "monday"), "workingIntervals": [interval]}
    work = {"timezone": hours.get("timezone", "UTC"), "daySchedules": [day]}
    error = assert_error(
        api("POST", PROFILES, {"name": "x", "workHours": work}), 400, "bad_request"
    )
    assert any(f.startswith(path) for f in error["fields"]), error
    assert Profile.objects.count() == 0


def test_start_time_must_be_before_end_time(api):
    body = {"name": "x", "startTime": "2030-02-01T00:00:00Z", "endTime": "2030-02-01T00:00:00Z"}
    assert_error(api("POST", PROFILES, body), 400, "bad_request", "endTime")
    body["startTime"] = "2030-02-01T00:00:00"  # no offset: not an instant
    body["endTime"] = "2030-03-01T00:00:00Z"
    assert_error(api("POST", PROFILES, body), 400, "bad_request", "startTime")
    body["startTime"] = 1893456000  # seconds since 1970: not ISO 8601
    assert_error(api("POST", PROFILES, body), 400, "bad_request", "startTime")
    intervals = {"intervals": [{"dateStartInclusive": 20300101}]}
    response = api("POST", PROFILES, {"name": "x", "availabilityIntervals": intervals})
    assert_error(
        response, 400, "bad_request", "availabilityIntervals.intervals[0].dateStartInclusive"
    )


def test_an_end_time_message_writes_the_start_in_utc_with_z(api):
    body = {
        "name": "x",
        "startTime": "2030-02-01T01:00:00+01:00",
        "endTime": "2030-01-01T00:00:00Z",
    }
    error = assert_error(api("POST", PROFILES, body), 400, "bad_request", "endTime")
    assert error["fields"]["endTime"] == ["must be after startTime (2030-02-01T00:00:00Z)"]


def test_every_bad_field_is_named_in_one_answer(api):
    body = {"name": "a b", "durationMinutes": 1, "availabilityStep": 7, "active": "no", "x": 1}
    error = assert_error(api("POST", PROFILES, body), 400, "bad_request")
    assert {"name", "durationMinutes", "availabilityStep", "active", "x"} <= set(error["fields"])


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
        ({"subject": "x"}, "name"),
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


# --- names -----------------------------------------------------------------------------------


def test_a_second_profile_with_the_same_name_is_409_conflict(api, account):
    assert api("POST", PROFILES, {"name": "intro"}).status_code == 201
    assert_error(api("POST", PROFILES, {"name": "intro"}), 409, "conflict")
    other = api("POST", PROFILES, {"name": "other"}).json()["id"]
    assert_error(api("PATCH", f"{PROFILES}/{other}", {"name": "intro"}), 409, "conflict")
    assert Profile.objects.get(pk=other).name == "other"
    assert Profile.objects.filter(name="intro").count() == 1
    # Another account may use the name, created either way.
    theirs = ApiClient(api.client, make_token(make_account()))
    assert theirs("POST", PROFILES, {"name": "intro"}).status_code == 201


def test_a_name_another_account_already_uses_is_fine(api):
    make_profile(make_account(), name="intro")
    assert api("POST", PROFILES, {"name": "intro"}).status_code == 201


# --- PATCH -----------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(api):
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
    before = api("POST", PROFILES, sent).json()
    path = f"{PROFILES}/{before['id']}"
    for change in (
        {"bufferBetweenMinutes": 15},
        {"subject": "new"},
        {"active": False},
        {"maxBookingsPerDay": None},
        {"context": ""},
    ):
        answer = api("PATCH", path, change)
        assert answer.status_code == 200 and answer.json() == {"status": "Ok"}
        after = api("GET", path).json()
        expected = {**before, **{k: v for k, v in change.items() if v is not None}}
        for k, v in change.items():
            if v is None:
                expected.pop(k)
        assert after == expected
        before = after


def test_patch_changes_only_what_is_sent(api):
    created = api("POST", PROFILES, {"name": "intro", "subject": "Hello", "durationMinutes": 45})
    pk = created.json()["id"]
    response = api("PATCH", f"{PROFILES}/{pk}", {"durationMinutes": 60, "openMeetingUrl": None})
    assert response.status_code == 200 and response.json() == {"status": "Ok"}
    body = api("GET", f"{PROFILES}/{pk}").json()
    assert body["durationMinutes"] == 60 and body["subject"] == "Hello"


def test_patch_with_an_empty_body_changes_nothing(api):
    before = api("POST", PROFILES, {"name": "intro", "subject": "x"}).json()
    path = f"{PROFILES}/{before['id']}"
    assert api("PATCH", path, {}).json() == {"status": "Ok"}
    assert api("GET", path).json() == before


FULL_PROFILE = {
    "name": "full",
    "durationMinutes": 45,
    "availabilityStep": 15,
    "bufferBetweenMinutes": 10,
    "startAfterMinutes": 120,
    "timeAvailableFor": "P24M",
    "startTime": "2030-01-01T10:00:00+02:00",
    "endTime": "2031-01-01T00:00:00Z",
    "subject": "Call about {{topic}}",
    "description": "{{notes:}}",
    "location": "{{room:Lobby}}",
    "openMeetingUrl": "https://meet.example.com/ada",
    "startConference": True,
    "workHours": {
        "timezone": "America/New_York",
        "daySchedules": [
            {"dayOfWeek": "tuesday", "workingIntervals": [{"start": "09:00", "end": "12:30"}]}
        ],
    },
    "availabilityIntervals": {
        "intervals": [
            {"dateStartInclusive": "2030-03-01", "hours": [{"start": "10:00", "end": "11:00"}]}
        ]
    },
    "maxBookingsPerDay": 3,
    "active": False,
    "context": '{"crm": 42}',
}


def test_a_profile_read_by_get_can_be_patched_back_as_it_is(api):
    pk = api("POST", PROFILES, FULL_PROFILE).json()["id"]
    path = f"{PROFILES}/{pk}"
    read = api("GET", path).json()
    assert {"id", "schedulerLink"} <= set(read)  # output-only fields are in what is sent back
    answer = api("PATCH", path, read)
    assert answer.status_code == 200 and answer.json() == {"status": "Ok"}
    assert api("GET", path).json() == read


@pytest.mark.parametrize(
    ("field", "value"), [("id", 999), ("schedulerLink", "http://testserver/ada/other/")]
)
def test_a_changed_output_only_field_is_400_read_only(api, field, value):
    pk = api("POST", PROFILES, FULL_PROFILE).json()["id"]
    path = f"{PROFILES}/{pk}"
    read = api("GET", path).json()
    changed = {**read, field: value, "subject": "changed"}
    error = assert_error(api("PATCH", path, changed), 400, "bad_request")
    assert error["fields"] == {field: ["is read-only"]}
    assert api("GET", path).json() == read  # nothing written, not even the subject


def test_patch_validates_every_field_and_writes_nothing_on_error(api):
    before = api("POST", PROFILES, {"name": "intro"}).json()
    path = f"{PROFILES}/{before['id']}"
    bad = {"durationMinutes": 721, "subject": "ok now", "name": None, "availabilityStep": 7}
    error = assert_error(api("PATCH", path, bad), 400, "bad_request")
    assert {"durationMinutes", "name", "availabilityStep"} <= set(error["fields"])
    assert api("GET", path).json() == before


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


def test_patch_end_time_before_the_stored_start_is_400(api):
    pk = api("POST", PROFILES, {"name": "x", "startTime": "2030-02-01T00:00:00Z"}).json()["id"]
    response = api("PATCH", f"{PROFILES}/{pk}", {"endTime": "2030-01-01T00:00:00Z"})
    assert_error(response, 400, "bad_request", "endTime")


def test_patch_can_clear_nullable_fields(api):
    pk = api("POST", PROFILES, {"name": "intro", "maxBookingsPerDay": 2}).json()["id"]
    api("PATCH", f"{PROFILES}/{pk}", {"maxBookingsPerDay": None, "workHours": None})
    body = api("GET", f"{PROFILES}/{pk}").json()
    assert "maxBookingsPerDay" not in body
    assert len(body["workHours"]["daySchedules"]) == 5


# --- DELETE ----------------------------------------------------------------------------------


def test_delete_profile(api):
    pk = api("POST", PROFILES, {"name": "intro"}).json()["id"]
    response = api("DELETE", f"{PROFILES}/{pk}")
    assert response.json() == {"status": "Ok"}
    assert_error(api("GET", f"{PROFILES}/{pk}"), 404, "not_found")
    assert_error(api("DELETE", f"{PROFILES}/{pk}"), 404, "not_found")


def test_delete_then_every_path_of_the_profile_is_404(api):
    pk = api("POST", PROFILES, {"name": "intro"}).json()["id"]
    path = f"{PROFILES}/{pk}"
    assert api("DELETE", path).json() == {"status": "Ok"}
    assert_error(api("GET", path), 404, "not_found")
    assert_error(api("PATCH", path, {"subject": "x"}), 404, "not_found")
    assert_error(api("DELETE", path), 404, "not_found")
    assert_error(api("GET", path + "/meeting"), 404, "not_found")
    assert_error(api("POST", path + "/meeting", meeting_body()), 404, "not_found")
    # The name is free again.
    assert api("POST", PROFILES, {"name": "intro"}).status_code == 201


def test_deleting_a_profile_keeps_its_bookings(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body()).json()
    assert api("DELETE", f"{PROFILES}/{profile.pk}").json() == {"status": "Ok"}
    kept = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert kept["status"] == "confirmed" and "profileId" not in kept
    # It still blocks its time for the account's other profiles.
    other = make_profile(profile.account, name="other", subject="")
    body = meeting_body(substitutionData={})
    assert_error(api("POST", meeting_path(other), body), 409, "slot_unavailable")
    assert api("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}
    assert api("POST", meeting_path(other), body).status_code == 201
    assert Booking.objects.count() == 2


# --- the list --------------------------------------------------------------------------------


def test_profile_list_paging(api, account):
    for n in range(53):
        make_profile(account, name=f"p{n:02d}")
    first = api("GET", PROFILES).json()
    assert first["offset"] == 0 and first["totalSize"] == 53 and first["done"] is False
    assert len(first["records"]) == 50  # default limit
    last = api("GET", PROFILES + "?offset=50&limit=200").json()
    assert len(last["records"]) == 3 and last["done"] is True and last["offset"] == 50
    assert {r["id"] for r in first["records"]}.isdisjoint({r["id"] for r in last["records"]})
    one = api("GET", PROFILES + "?limit=1&offset=52").json()
    assert len(one["records"]) == 1 and one["done"] is True
    beyond = api("GET", PROFILES + "?offset=1000").json()
    assert beyond == {"offset": 1000, "totalSize": 53, "done": True, "records": []}


def test_profile_list_pages_in_id_order(api, account):
    for n in range(5):
        make_profile(account, name=f"p{n}")
    first = api("GET", f"{PROFILES}?limit=2").json()
    assert first["offset"] == 0 and first["totalSize"] == 5 and first["done"] is False
    assert [r["name"] for r in first["records"]] == ["p0", "p1"]
    last = api("GET", f"{PROFILES}?limit=2&offset=4").json()
    assert last["done"] is True and [r["name"] for r in last["records"]] == ["p4"]
    assert len(api("GET", PROFILES).json()["records"]) == 5
