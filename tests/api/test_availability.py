"""Availability (SPEC §3) on the account and public endpoints: windows, paging, the query's
validation, and what is not offered. The exact slot rule is tests/test_spec_availability.py's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scheduler.models import Booking
from tests.api.helpers import (
    PROFILES,
    assert_error,
    meeting_body,
    meeting_path,
    public_path,
)
from tests.factory import make_booking, make_event, make_profile

MONDAY_9 = "2030-01-07T09:00:00Z"
MONDAY_930 = "2030-01-07T09:30:00Z"
WHOLE_SECONDS_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def test_availability_with_time_min_and_max(api, utc_profile):
    url = f"{meeting_path(utc_profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T11:00:00Z"
    response = api("GET", url)
    assert response.status_code == 200
    answer = response.json()
    assert answer["items"] == [
        {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T09:30:00Z"},
        {"start": "2030-01-07T09:30:00Z", "end": "2030-01-07T10:00:00Z"},
        {"start": "2030-01-07T10:00:00Z", "end": "2030-01-07T10:30:00Z"},
        {"start": "2030-01-07T10:30:00Z", "end": "2030-01-07T11:00:00Z"},
    ]
    assert answer["startTime"] == MONDAY_9 and answer["endTime"] == "2030-01-07T11:00:00Z"
    assert answer["offset"] == 0 and answer["totalSize"] == 4 and answer["done"] is True
    assert answer["nextFromDate"] == "2030-01-07"
    assert answer["timeAvailableFor"] == "P30D"
    assert answer["durationMinutes"] == 30 and answer["availabilityStep"] == 30
    assert answer["subject"] == "Intro with {{name}}: {{topic}}"
    assert answer["additionalFields"] == [
        {"name": "topic", "type": "string", "required": True},
        {"name": "room", "type": "string", "default": "Lobby", "required": False},
    ]


def test_time_min_with_an_offset_is_read_as_an_instant(api, utc_profile):
    answer = api(
        "GET",
        f"{meeting_path(utc_profile)}?timeMin=2030-01-07T11:00:00%2B02:00"
        "&timeMax=2030-01-07T10:00:00Z",
    ).json()
    assert answer["startTime"] == MONDAY_9
    assert [i["start"] for i in answer["items"]] == [MONDAY_9, MONDAY_930]


def test_from_date_and_interval_length_in_the_profiles_zone(api, account):
    berlin = make_profile(
        account,
        name="berlin",
        work_hours={
            "timezone": "Europe/Berlin",
            "daySchedules": [
                {
                    "dayOfWeek": "tuesday",
                    "workingIntervals": [{"start": "09:00:00", "end": "10:00:00"}],
                }
            ],
        },
    )
    answer = api("GET", f"{meeting_path(berlin)}?fromDate=2030-01-08&intervalLength=P1D").json()
    # Local midnight in Berlin (UTC+1) to the next local midnight.
    assert answer["startTime"] == "2030-01-07T23:00:00Z"
    assert answer["endTime"] == "2030-01-08T23:00:00Z"
    assert [i["start"] for i in answer["items"]] == ["2030-01-08T08:00:00Z", "2030-01-08T08:30:00Z"]
    assert answer["nextFromDate"] == "2030-01-09"


def test_default_window_runs_to_the_horizon(api, utc_profile):
    answer = api("GET", meeting_path(utc_profile)).json()
    assert answer["startTime"] == "2030-01-07T06:00:00Z"  # now + startAfterMinutes (0)
    assert answer["endTime"] == "2030-02-06T06:00:00Z"  # now + P30D
    assert "nextFromDate" not in answer
    assert answer["totalSize"] == 22 * 16  # 22 weekdays of 16 half-hours
    assert answer["items"][0]["start"] == MONDAY_9


def test_the_default_window_starts_on_a_whole_second(api, utc_profile, frozen):
    # Now has microseconds; the window starts at now + startAfterMinutes (0), sent without them.
    frozen.move_to(datetime(2030, 1, 7, 8, 0, 0, 123456, tzinfo=UTC))
    answer = api("GET", meeting_path(utc_profile)).json()
    assert answer["startTime"] == "2030-01-07T08:00:00Z"
    assert answer["endTime"] == "2030-02-06T08:00:00Z"
    instants = [answer["startTime"], answer["endTime"]]
    instants += [t for item in answer["items"] for t in (item["start"], item["end"])]
    for instant in instants:
        assert re.match(WHOLE_SECONDS_UTC, instant), instant


def test_items_page_with_limit_and_offset(api, utc_profile):
    url = f"{meeting_path(utc_profile)}?fromDate=2030-01-07&intervalLength=P1D"
    answer = api("GET", f"{url}&limit=5&offset=10").json()
    assert answer["totalSize"] == 16 and answer["offset"] == 10 and answer["done"] is False
    assert [i["start"] for i in answer["items"]][0] == "2030-01-07T14:00:00Z"
    assert len(answer["items"]) == 5
    assert api("GET", f"{url}&limit=5&offset=15").json()["done"] is True


@pytest.mark.parametrize("length", ["P2Y", "P24M", "P1Y12M"])
def test_an_interval_length_of_two_years_is_accepted_however_it_is_written(
    api, utc_profile, length
):
    response = api(
        "GET", f"{meeting_path(utc_profile)}?fromDate=2030-01-07&intervalLength={length}"
    )
    assert response.status_code == 200, response.content
    # The profile's horizon (P30D) still ends the window.
    assert response.json()["endTime"] == "2030-02-06T06:00:00Z"


def test_unknown_aurinko_params_are_ignored(api, utc_profile):
    response = api("GET", f"{meeting_path(utc_profile)}?required=one&pageToken=abc")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("timeMin=2030-01-07T09:00:00", "timeMin"),
        ("timeMin=tomorrow", "timeMin"),
        ("timeMax=9999-12-31T23:00:00Z", "timeMax"),
        ("fromDate=07/01/2030", "fromDate"),
        ("intervalLength=1 day", "intervalLength"),
        ("intervalLength=P99999Y", "intervalLength"),
        ("intervalLength=P25M", "intervalLength"),
        ("intervalLength=P2Y1M", "intervalLength"),
    ],
)
def test_bad_availability_query_names_the_field(api, utc_profile, query, field):
    assert_error(api("GET", f"{meeting_path(utc_profile)}?{query}"), 400, "bad_request", field)


def test_time_max_before_time_min_is_400_with_both_instants_in_utc(api, utc_profile):
    query = "?timeMin=2030-01-07T10:00:00.250%2B01:00&timeMax=2030-01-07T08:00:00Z"
    error = assert_error(api("GET", meeting_path(utc_profile) + query), 400, "bad_request")
    why = "2030-01-07T08:00:00Z must be after timeMin (2030-01-07T09:00:00Z)"
    assert error["fields"] == {"timeMax": [why]}
    assert error["message"] == f"Invalid input: timeMax {why}"


@pytest.mark.parametrize("endpoint", ["account", "public"])
def test_an_unencoded_plus_in_a_query_instant_is_400_saying_to_encode_it(
    api, anon, utc_profile, endpoint
):
    # Sent raw, the "+" of "+01:00" reaches the server as a space.
    path = meeting_path(utc_profile) if endpoint == "account" else public_path(utc_profile)
    client = api if endpoint == "account" else anon
    response = client("GET", f"{path}?timeMin=2030-01-07T09:00:00+01:00")
    error = assert_error(response, 400, "bad_request", "timeMin")
    assert "%2B" in error["fields"]["timeMin"][0]
    assert "URL-encode" in error["fields"]["timeMin"][0]
    # Encoded, the same instant is fine.
    encoded = client("GET", f"{path}?timeMin=2030-01-07T09:00:00%2B01:00")
    assert encoded.status_code == 200 and encoded.json()["startTime"] == "2030-01-07T08:00:00Z"


def test_busy_time_and_bookings_are_not_offered(api, utc_profile, account):
    make_event(account, datetime(2030, 1, 7, 9, tzinfo=UTC), datetime(2030, 1, 7, 10, tzinfo=UTC))
    make_booking(
        utc_profile,
        datetime(2030, 1, 7, 10, tzinfo=UTC),
        datetime(2030, 1, 7, 10, 30, tzinfo=UTC),
    )
    url = f"{meeting_path(utc_profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T11:00:00Z"
    assert [i["start"] for i in api("GET", url).json()["items"]] == ["2030-01-07T10:30:00Z"]


# --- inactive profiles and the public endpoint -----------------------------------------------


def test_inactive_profile_is_empty_on_the_account_api_and_404_in_public(api, anon, utc_profile):
    utc_profile.active = False
    utc_profile.save()
    answer = api("GET", meeting_path(utc_profile)).json()
    assert answer["items"] == [] and answer["totalSize"] == 0
    assert_error(anon("GET", public_path(utc_profile)), 404, "not_found")
    assert_error(anon("POST", public_path(utc_profile), meeting_body()), 404, "not_found")
    assert Booking.objects.count() == 0


def test_public_endpoints_of_an_inactive_profile_are_404(api, anon, profile):
    public = public_path(profile)
    assert anon("GET", public).status_code == 200
    api("PATCH", f"{PROFILES}/{profile.pk}", {"active": False})
    assert_error(anon("GET", public), 404, "not_found")
    assert_error(anon("POST", public, meeting_body()), 404, "not_found")
    assert Booking.objects.count() == 0
    # The account API still answers, with no items.
    inactive = api("GET", meeting_path(profile)).json()
    assert inactive["items"] == [] and inactive["totalSize"] == 0


def test_public_availability_needs_no_token(anon, utc_profile):
    response = anon("GET", f"{public_path(utc_profile)}?fromDate=2030-01-07&intervalLength=P1D")
    assert response.status_code == 200 and response.json()["totalSize"] == 16


@pytest.mark.parametrize(
    "path",
    [
        "/v1/book/nobody/intro/meeting",
        "/v1/book/ada/nothing/meeting",
        "/v1/book/ada/nope/meeting",
    ],
)
def test_public_endpoints_of_unknown_handles_and_names_are_404(anon, profile, path):
    assert_error(anon("GET", path), 404, "not_found")
    assert_error(anon("POST", path, meeting_body()), 404, "not_found")
