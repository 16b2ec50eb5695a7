"""The /v1/ availability, booking, reservation and bookings endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from scheduler.models import Booking
from tests.factory import make_account, make_booking, make_event, make_profile, make_token
from tests.test_api import Api, assert_error

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday, before the 09:00 UTC start of work
MONDAY_9 = "2030-01-07T09:00:00Z"
MONDAY_930 = "2030-01-07T09:30:00Z"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(client, token) -> Api:
    return Api(client, token)


@pytest.fixture
def profile(account):
    return make_profile(
        account, name="intro", subject="Intro with {{name}}: {{topic}}", location="{{room:Lobby}}"
    )


def meeting(profile) -> str:
    return f"/v1/book/account/profiles/{profile.pk}/meeting"


def public(profile) -> str:
    return f"/v1/book/{profile.account.handle}/{profile.name}/meeting"


def body(start: str = MONDAY_9, end: str = MONDAY_930, **extra):
    out = {
        "time": {"start": start, "end": end},
        "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
        "substitutionData": {"topic": "roadmap"},
    }
    out.update(extra)
    return out


# --- availability ---------------------------------------------------------------------------


def test_availability_with_time_min_and_max(api, profile):
    response = api("GET", f"{meeting(profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T11:00:00Z")
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


def test_time_min_with_an_offset_is_read_as_an_instant(api, profile):
    answer = api(
        "GET",
        f"{meeting(profile)}?timeMin=2030-01-07T11:00:00%2B02:00&timeMax=2030-01-07T10:00:00Z",
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
    answer = api("GET", f"{meeting(berlin)}?fromDate=2030-01-08&intervalLength=P1D").json()
    # Local midnight in Berlin (UTC+1) to the next local midnight.
    assert answer["startTime"] == "2030-01-07T23:00:00Z"
    assert answer["endTime"] == "2030-01-08T23:00:00Z"
    assert [i["start"] for i in answer["items"]] == ["2030-01-08T08:00:00Z", "2030-01-08T08:30:00Z"]
    assert answer["nextFromDate"] == "2030-01-09"


def test_default_window_runs_to_the_horizon(api, profile):
    answer = api("GET", meeting(profile)).json()
    assert answer["startTime"] == "2030-01-07T06:00:00Z"  # now + startAfterMinutes (0)
    assert answer["endTime"] == "2030-02-06T06:00:00Z"  # now + P30D
    assert "nextFromDate" not in answer
    assert answer["totalSize"] == 22 * 16  # 22 weekdays of 16 half-hours
    assert answer["items"][0]["start"] == MONDAY_9


def test_items_page_with_limit_and_offset(api, profile):
    url = f"{meeting(profile)}?fromDate=2030-01-07&intervalLength=P1D"
    answer = api("GET", f"{url}&limit=5&offset=10").json()
    assert answer["totalSize"] == 16 and answer["offset"] == 10 and answer["done"] is False
    assert [i["start"] for i in answer["items"]][0] == "2030-01-07T14:00:00Z"
    assert len(answer["items"]) == 5
    assert api("GET", f"{url}&limit=5&offset=15").json()["done"] is True


def test_unknown_aurinko_params_are_ignored(api, profile):
    response = api("GET", f"{meeting(profile)}?required=one&pageToken=abc")
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
    ],
)
def test_bad_availability_query_names_the_field(api, profile, query, field):
    assert_error(api("GET", f"{meeting(profile)}?{query}"), 400, "bad_request", field)


def test_busy_time_and_bookings_are_not_offered(api, profile, account):
    make_event(account, datetime(2030, 1, 7, 9, tzinfo=UTC), datetime(2030, 1, 7, 10, tzinfo=UTC))
    make_booking(
        profile, datetime(2030, 1, 7, 10, tzinfo=UTC), datetime(2030, 1, 7, 10, 30, tzinfo=UTC)
    )
    answer = api("GET", f"{meeting(profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T11:00:00Z")
    assert [i["start"] for i in answer.json()["items"]] == ["2030-01-07T10:30:00Z"]


def test_inactive_profile_is_empty_on_the_account_api_and_404_in_public(api, client, profile):
    profile.active = False
    profile.save()
    answer = api("GET", meeting(profile)).json()
    assert answer["items"] == [] and answer["totalSize"] == 0
    assert_error(client.get(public(profile)), 404, "not_found")
    response = Api(client, None)("POST", public(profile), body())
    assert_error(response, 404, "not_found")
    assert Booking.objects.count() == 0


def test_public_availability_needs_no_token(client, profile):
    response = client.get(f"{public(profile)}?fromDate=2030-01-07&intervalLength=P1D")
    assert response.status_code == 200 and response.json()["totalSize"] == 16
    assert_error(client.get("/v1/book/nobody/intro/meeting"), 404, "not_found")
    assert_error(client.get(f"/v1/book/{profile.account.handle}/nope/meeting"), 404, "not_found")


# --- booking --------------------------------------------------------------------------------


def test_book_answers_201_with_the_booking(api, profile):
    response = api("POST", meeting(profile), body(groupXids=["g"], accountIds=[1]))
    assert response.status_code == 201, response.content
    got = response.json()
    saved = Booking.objects.get()
    assert got["id"] == str(saved.pk) and got["profileId"] == profile.pk
    assert got["start"] == MONDAY_9 and got["end"] == MONDAY_930
    assert got["status"] == "confirmed" and got["created"] is True
    assert got["name"] == "Ann" and got["email"] == "ann@example.com"
    assert got["substitutionData"] == {"topic": "roadmap"}
    assert got["subject"] == "Intro with Ann: roadmap" and got["location"] == "Lobby"
    assert got["uid"] == saved.uid and got["sequence"] == 0
    assert got["cancelUrl"].startswith("http://testserver/bookings/")
    assert got["cancelUrl"].endswith("/cancel/")
    assert got["rescheduleUrl"].endswith("/reschedule/")
    assert got["rescheduleToken"] in got["cancelUrl"]
    assert got["delivery"]["calendar"] in {"pending", "done"}
    assert got["delivery"]["mail"] in {"pending", "done", "failed"}
    assert got["createdAt"].endswith("Z")
    for absent in ("expiresAt", "reservationId", "ReservationId"):
        assert absent not in got
    # The slot is gone now.
    items = api("GET", f"{meeting(profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T10:00:00Z")
    assert [i["start"] for i in items.json()["items"]] == [MONDAY_930]


def test_a_taken_slot_is_409_and_writes_nothing(api, profile):
    assert api("POST", meeting(profile), body()).status_code == 201
    assert_error(api("POST", meeting(profile), body()), 409, "slot_unavailable")
    # Overlapping but not identical: also taken.
    late = body("2030-01-07T09:15:00Z", "2030-01-07T09:45:00Z")
    assert_error(api("POST", meeting(profile), late), 409, "slot_unavailable")
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2030-01-07T09:10:00Z", "2030-01-07T09:40:00Z"),  # off the step grid
        ("2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z"),  # wrong length
        ("2030-01-07T07:00:00Z", "2030-01-07T07:30:00Z"),  # outside work hours
        ("2030-01-05T09:00:00Z", "2030-01-05T09:30:00Z"),  # in the past
        ("2031-01-06T09:00:00Z", "2031-01-06T09:30:00Z"),  # beyond the horizon
    ],
)
def test_a_time_that_is_not_a_slot_is_409(api, profile, start, end):
    assert_error(api("POST", meeting(profile), body(start, end)), 409, "slot_unavailable")
    assert Booking.objects.count() == 0


def test_top_level_name_and_email_are_accepted(api, profile):
    sent = body(name="Bob", email="bob@example.com")
    del sent["schedulerInfo"]
    got = api("POST", meeting(profile), sent).json()
    assert got["name"] == "Bob" and got["email"] == "bob@example.com"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schedulerInfo": {"name": "A", "email": "not-an-email"}}, "schedulerInfo.email"),
        ({"email": "x@"}, "email"),
        ({"substitutionData": {}}, "substitutionData.topic"),
        ({"substitutionData": {"topic": "a", "colour": "b"}}, "substitutionData.colour"),
        ({"substitutionData": {"topic": {"nested": 1}}}, "substitutionData.topic"),
        ({"time": {"start": MONDAY_930, "end": MONDAY_9}}, "time.end"),
        ({"time": {"start": "2030-01-07T09:00:00", "end": MONDAY_930}}, "time.start"),
        ({"time": None}, "time"),
        ({"when": "now"}, "when"),
    ],
)
def test_bad_booking_input_is_400_naming_the_field(api, profile, change, field):
    sent = body()
    sent.update(change)
    assert_error(api("POST", meeting(profile), sent), 400, "bad_request", field)
    assert Booking.objects.count() == 0


def test_booking_sends_the_invite_after_commit(api, profile, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booked = api("POST", meeting(profile), body()).json()
    assert any("ann@example.com" in m.to for m in mail.outbox)
    assert (
        api("GET", f"/v1/book/account/bookings/{booked['id']}").json()["delivery"]["mail"] == "done"
    )


def test_public_booking(client, profile):
    response = Api(client, None)("POST", public(profile), body())
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"


def test_public_booking_refuses_reservations(client, profile):
    response = Api(client, None)("POST", f"{public(profile)}?reserveForMinutes=10", body())
    assert_error(response, 400, "bad_request", "reserveForMinutes")
    assert Booking.objects.count() == 0


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=1)
def test_public_booking_is_rate_limited(client, profile):
    cache.clear()
    anonymous = Api(client, None)
    assert anonymous("POST", public(profile), body()).status_code == 201
    response = anonymous("POST", public(profile), body(MONDAY_930, "2030-01-07T10:00:00Z"))
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert Booking.objects.count() == 1
    cache.clear()


# --- reservations ---------------------------------------------------------------------------


def reserve(api, profile, minutes: int = 10, start: str = MONDAY_9, end: str = MONDAY_930):
    return api("POST", f"{meeting(profile)}?reserveForMinutes={minutes}", body(start, end))


def test_reservation_holds_the_slot_and_confirms(api, profile):
    response = reserve(api, profile)
    assert response.status_code == 201
    got = response.json()
    assert got["status"] == "reserved"
    assert got["reservationId"] == got["ReservationId"] == int(got["id"])
    assert got["expiresAt"] == "2030-01-07T06:10:00Z"
    assert_error(api("POST", meeting(profile), body()), 409, "slot_unavailable")
    confirmed = api("POST", f"/v1/book/account/reservations/{got['reservationId']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed" and "expiresAt" not in confirmed.json()
    # Neither endpoint touches a confirmed booking.
    again = api("POST", f"/v1/book/account/reservations/{got['id']}/confirm")
    assert_error(again, 409, "conflict")
    assert_error(api("DELETE", f"/v1/book/account/reservations/{got['id']}"), 409, "conflict")
    assert Booking.objects.get().status == "confirmed"


def test_released_reservation_is_cancelled_and_frees_the_slot(api, profile):
    got = reserve(api, profile).json()
    response = api("DELETE", f"/v1/book/account/reservations/{got['reservationId']}")
    assert response.json() == {"status": "Ok"}
    assert Booking.objects.get().status == "cancelled"
    assert_error(api("POST", f"/v1/book/account/reservations/{got['id']}/confirm"), 409, "conflict")
    assert api("POST", meeting(profile), body()).status_code == 201


def test_expired_reservation_stops_blocking_without_a_sweeper(api, profile, frozen):
    got = reserve(api, profile, minutes=5).json()
    frozen.shift(timedelta(minutes=6))
    items = api("GET", f"{meeting(profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T10:00:00Z")
    assert items.json()["items"][0]["start"] == MONDAY_9
    expired = api("POST", f"/v1/book/account/reservations/{got['id']}/confirm")
    assert_error(expired, 409, "slot_unavailable")
    assert api("POST", meeting(profile), body()).status_code == 201


@pytest.mark.parametrize("minutes", ["0", "-5", "10081", "ten"])
def test_bad_reserve_for_minutes_is_400(api, profile, minutes):
    response = api("POST", f"{meeting(profile)}?reserveForMinutes={minutes}", body())
    assert_error(response, 400, "bad_request", "reserveForMinutes")


def test_reservations_of_another_account_are_404(api, client, profile):
    other = make_profile(make_account(), subject="{{topic}}")
    theirs = Api(client, make_token(other.account))
    got = reserve(theirs, other).json()
    assert_error(
        api("POST", f"/v1/book/account/reservations/{got['id']}/confirm"), 404, "not_found"
    )
    assert_error(api("DELETE", f"/v1/book/account/reservations/{got['id']}"), 404, "not_found")
    assert Booking.objects.get().status == "reserved"


# --- bookings -------------------------------------------------------------------------------

BOOKINGS = "/v1/book/account/bookings"


def test_bookings_list_filters_and_pages(api, profile):
    first = api("POST", meeting(profile), body()).json()
    second = reserve(api, profile, start="2030-01-08T09:00:00Z", end="2030-01-08T09:30:00Z").json()
    third = api("POST", meeting(profile), body("2030-01-09T09:00:00Z", "2030-01-09T09:30:00Z"))
    api("DELETE", f"{BOOKINGS}/{third.json()['id']}")
    make_booking(make_profile(make_account()), NOW, NOW + timedelta(hours=1))  # someone else's

    everything = api("GET", BOOKINGS).json()
    assert everything["totalSize"] == 3 and everything["done"] is True
    assert [b["id"] for b in everything["records"]] == [
        first["id"],
        second["id"],
        third.json()["id"],
    ]
    assert [b["id"] for b in api("GET", f"{BOOKINGS}?status=reserved").json()["records"]] == [
        second["id"]
    ]
    window = api("GET", f"{BOOKINGS}?timeMin=2030-01-08T00:00:00Z&timeMax=2030-01-09T00:00:00Z")
    assert [b["id"] for b in window.json()["records"]] == [second["id"]]
    paged = api("GET", f"{BOOKINGS}?limit=1&offset=1").json()
    assert [b["id"] for b in paged["records"]] == [second["id"]] and paged["done"] is False
    assert_error(api("GET", f"{BOOKINGS}?status=maybe"), 400, "bad_request", "status")


def test_get_and_cancel_a_booking(api, profile):
    booked = api("POST", meeting(profile), body()).json()
    got = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert got["id"] == booked["id"] and got["status"] == "confirmed"
    assert "rescheduleToken" not in got and "created" not in got
    assert api("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}
    cancelled = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert cancelled["status"] == "cancelled" and cancelled["sequence"] == 1
    assert api("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}  # idempotent
    assert api("POST", meeting(profile), body()).status_code == 201


def test_another_accounts_booking_is_404(api, profile):
    theirs = make_booking(make_profile(make_account()), NOW, NOW + timedelta(hours=1))
    assert_error(api("GET", f"{BOOKINGS}/{theirs.pk}"), 404, "not_found")
    assert_error(api("DELETE", f"{BOOKINGS}/{theirs.pk}"), 404, "not_found")
    assert Booking.objects.get(pk=theirs.pk).status == "confirmed"


def test_reschedule_keeps_the_uid_and_raises_the_sequence(api, profile):
    booked = api("POST", meeting(profile), body()).json()
    other = api("POST", meeting(profile), body("2030-01-07T11:00:00Z", "2030-01-07T11:30:00Z"))
    url = f"{BOOKINGS}/{booked['id']}/reschedule"
    moved = api(
        "POST", url, {"time": {"start": "2030-01-07T10:00:00Z", "end": "2030-01-07T10:30:00Z"}}
    )
    assert moved.status_code == 200, moved.content
    got = moved.json()
    assert got["uid"] == booked["uid"] and got["sequence"] == 1
    assert got["start"] == "2030-01-07T10:00:00Z"
    # Its old time is free again; another booking's time is not.
    assert api("POST", meeting(profile), body()).status_code == 201
    taken = {"time": {"start": "2030-01-07T11:00:00Z", "end": "2030-01-07T11:30:00Z"}}
    assert_error(api("POST", url, taken), 409, "slot_unavailable")
    api("DELETE", f"{BOOKINGS}/{other.json()['id']}")
    assert_error(api("POST", f"{BOOKINGS}/{other.json()['id']}/reschedule", taken), 409, "conflict")
    assert_error(api("POST", url, {"time": {"start": "x"}}), 400, "bad_request", "time.start")
