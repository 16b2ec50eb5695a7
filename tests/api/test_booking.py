"""Booking (SPEC §5) through POST …/meeting, on the account and public endpoints, and
reservations: hold, confirm, release, expire."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from scheduler.models import Booking
from tests.api.helpers import (
    BOOKINGS,
    RESERVATIONS,
    ApiClient,
    assert_error,
    meeting_body,
    meeting_path,
    public_path,
    reserve,
    slot_starts,
)
from tests.factory import make_account, make_profile, make_token

MONDAY_9 = "2030-01-07T09:00:00Z"
MONDAY_930 = "2030-01-07T09:30:00Z"
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


# --- the booking answer ----------------------------------------------------------------------


def test_book_answers_201_with_the_booking(api, utc_profile):
    response = api("POST", meeting_path(utc_profile), meeting_body(groupXids=["g"], accountIds=[1]))
    assert response.status_code == 201, response.content
    got = response.json()
    saved = Booking.objects.get()
    assert got["id"] == str(saved.pk) and got["profileId"] == utc_profile.pk
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
    items = api(
        "GET", f"{meeting_path(utc_profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T10:00:00Z"
    )
    assert [i["start"] for i in items.json()["items"]] == [MONDAY_930]


def test_booking_answer_has_every_field(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body())
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
    read = api("GET", f"{BOOKINGS}/{body['id']}").json()
    assert BOOKING_FIELDS <= set(read)
    same = BOOKING_FIELDS - {"delivery"}
    assert {k: read[k] for k in same} == {k: body[k] for k in same}
    assert set(read["delivery"].values()) <= DELIVERY


def test_created_at_and_expires_at_have_whole_seconds(api, utc_profile, frozen):
    frozen.move_to(datetime(2030, 1, 7, 8, 0, 0, 123456, tzinfo=UTC))
    held = reserve(api, utc_profile, 10)
    assert held["createdAt"] == "2030-01-07T08:00:00Z"
    assert held["expiresAt"] == "2030-01-07T08:10:00Z"
    booked = api(
        "POST", meeting_path(utc_profile), meeting_body(MONDAY_930, "2030-01-07T10:00:00Z")
    )
    assert booked.json()["createdAt"] == "2030-01-07T08:00:00Z"
    # …and so they read afterwards, alone and in the list.
    read = api("GET", f"{BOOKINGS}/{held['id']}").json()
    assert (read["createdAt"], read["expiresAt"]) == (held["createdAt"], held["expiresAt"])
    for record in api("GET", BOOKINGS).json()["records"]:
        for key in ("start", "end", "createdAt", "expiresAt"):
            if key in record:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record[key]), record


# --- taken slots and times that are not slots ------------------------------------------------


def test_a_taken_slot_is_409_and_writes_nothing(
    api, anon, profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api("POST", meeting_path(profile), meeting_body()).status_code == 201
    sent = len(mail.outbox)
    assert sent == 2  # the invitee's invite and the host's notice
    overlapping = meeting_body("2030-01-07T09:00:00Z", "2030-01-07T09:30:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(api("POST", meeting_path(profile), overlapping), 409, "slot_unavailable")
        assert_error(anon("POST", public_path(profile), overlapping), 409, "slot_unavailable")
    assert Booking.objects.count() == 1 and len(mail.outbox) == sent


def test_a_taken_or_overlapping_time_is_409(api, utc_profile):
    assert api("POST", meeting_path(utc_profile), meeting_body()).status_code == 201
    assert_error(api("POST", meeting_path(utc_profile), meeting_body()), 409, "slot_unavailable")
    # Overlapping but not identical: also taken.
    late = meeting_body("2030-01-07T09:15:00Z", "2030-01-07T09:45:00Z")
    assert_error(api("POST", meeting_path(utc_profile), late), 409, "slot_unavailable")
    assert Booking.objects.count() == 1


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
def test_a_time_that_is_not_exactly_a_slot_is_409(api, profile, start, end):
    # Our reading of "time must be exactly a slot": any other time is 409 slot_unavailable.
    response = api("POST", meeting_path(profile), meeting_body(start, end))
    assert_error(response, 409, "slot_unavailable")
    assert Booking.objects.count() == 0


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
def test_a_time_that_is_not_a_slot_of_the_utc_week_is_409(api, utc_profile, start, end):
    response = api("POST", meeting_path(utc_profile), meeting_body(start, end))
    assert_error(response, 409, "slot_unavailable")
    assert Booking.objects.count() == 0


def test_a_slot_in_another_offset_is_the_same_instant(api, profile):
    body = meeting_body("2030-01-07T10:00:00+01:00", "2030-01-07T06:00:00-03:30")
    booked = api("POST", meeting_path(profile), body)
    assert booked.status_code == 201
    assert booked.json()["start"] == "2030-01-07T09:00:00Z"
    assert booked.json()["end"] == "2030-01-07T09:30:00Z"


# --- the request: invitee, variables, bad bodies ---------------------------------------------


def test_scheduler_info_gives_name_and_email(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body())
    assert (booked.json()["name"], booked.json()["email"]) == ("Ann", "ann@example.com")
    assert booked.json()["subject"] == "Intro with Ann: roadmap"


def test_scheduler_info_wins_over_the_deprecated_top_level_fields(api, profile):
    body = meeting_body(name="Bob", email="bob@example.com")
    booked = api("POST", meeting_path(profile), body).json()
    assert (booked["name"], booked["email"]) == ("Ann", "ann@example.com")


def test_top_level_name_and_email_are_accepted(api, profile):
    body = meeting_body(name="Bob", email="bob@example.com")
    del body["schedulerInfo"]
    booked = api("POST", meeting_path(profile), body)
    assert booked.status_code == 201
    assert (booked.json()["name"], booked.json()["email"]) == ("Bob", "bob@example.com")
    assert booked.json()["subject"] == "Intro with Bob: roadmap"


def test_defaults_fill_optional_variables_and_built_ins_are_filled(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body()).json()
    assert booked["description"] == "Notes: none given"
    assert booked["location"] == "Lobby"
    assert booked["substitutionData"] == {"topic": "roadmap"}
    with_values = meeting_body(
        "2030-01-07T10:00:00Z",
        "2030-01-07T10:30:00Z",
        substitutionData={"topic": "<b>&</b>", "notes": "ünï ✓", "room": ""},
    )
    second = api("POST", meeting_path(profile), with_values).json()
    # Plain text escapes nothing.
    assert second["subject"] == "Intro with Ann: <b>&</b>"
    assert second["description"] == "Notes: ünï ✓"
    assert second["location"] == ""


def test_built_in_variables_are_not_substitution_keys(api, account):
    profile = make_profile(account, name="b", subject="{{name}} {{email}} {{startTime}}")
    body = meeting_body(substitutionData={"name": "Mallory"})
    assert_error(
        api("POST", meeting_path(profile), body), 400, "bad_request", "substitutionData.name"
    )
    booked = api("POST", meeting_path(profile), meeting_body(substitutionData={}))
    assert booked.json()["subject"].startswith("Ann ann@example.com 2030-01-07T10:00:00+01:00")


@pytest.mark.parametrize("value", [True, 123, 1.5, ["ACME"], {"name": "ACME"}])
@pytest.mark.parametrize("endpoint", ["account", "public"])
def test_substitution_values_must_be_strings(api, anon, account, endpoint, value):
    profile = make_profile(account, name="co", subject="Call", description="{{company:}}")
    path, client = (
        (meeting_path(profile), api) if endpoint == "account" else (public_path(profile), anon)
    )
    body = meeting_body(substitutionData={"company": value})
    error = assert_error(client("POST", path, body), 400, "bad_request")
    assert list(error["fields"]) == ["substitutionData.company"]
    assert Booking.objects.count() == 0
    # The same key with a string value books.
    body = meeting_body(substitutionData={"company": "ACME"})
    assert client("POST", path, body).json()["substitutionData"] == {"company": "ACME"}


def test_an_end_before_start_message_writes_both_instants_in_utc_with_z(api, utc_profile):
    body = meeting_body("2030-01-07T10:30:00.5+01:00", "2030-01-07T09:00:00Z")
    error = assert_error(api("POST", meeting_path(utc_profile), body), 400, "bad_request")
    assert error["fields"] == {
        "time.end": ["2030-01-07T09:00:00Z must be after start (2030-01-07T09:30:00Z)"]
    }


def test_a_booking_without_invitee_details_has_no_attendee(
    api, profile, django_capture_on_commit_callbacks
):
    # Aurinko: without an email "an event will be created without an attendee".
    body = meeting_body()
    del body["schedulerInfo"]
    with django_capture_on_commit_callbacks(execute=True):
        booked = api("POST", meeting_path(profile), body)
    assert booked.status_code == 201
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]  # only the host's notice


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
def test_bad_booking_bodies_are_400_naming_the_field(api, profile, change, field):
    """A key set to None here is left out of the body."""
    body = meeting_body()
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    assert_error(api("POST", meeting_path(profile), body), 400, "bad_request", field)
    assert Booking.objects.count() == 0


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
def test_bad_booking_input_is_400_naming_the_field(api, utc_profile, change, field):
    """Here a key set to None is sent as null."""
    sent = meeting_body()
    sent.update(change)
    assert_error(api("POST", meeting_path(utc_profile), sent), 400, "bad_request", field)
    assert Booking.objects.count() == 0


def test_booking_sends_the_invite_after_commit(
    api, utc_profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booked = api("POST", meeting_path(utc_profile), meeting_body()).json()
    assert any("ann@example.com" in m.to for m in mail.outbox)
    assert api("GET", f"{BOOKINGS}/{booked['id']}").json()["delivery"]["mail"] == "done"


# --- the public endpoint ---------------------------------------------------------------------


def test_public_booking(anon, utc_profile):
    response = anon("POST", public_path(utc_profile), meeting_body())
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"


def test_public_booking_refuses_reservations(anon, utc_profile):
    response = anon("POST", f"{public_path(utc_profile)}?reserveForMinutes=10", meeting_body())
    assert_error(response, 400, "bad_request", "reserveForMinutes")
    assert Booking.objects.count() == 0


def test_public_booking_without_a_token_and_reservations_refused(anon, profile):
    public = public_path(profile)
    assert_error(
        anon("POST", public + "?reserveForMinutes=10", meeting_body()),
        400,
        "bad_request",
        "reserveForMinutes",
    )
    booked = anon("POST", public, meeting_body())
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed"


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=1)
def test_public_booking_is_rate_limited(anon, utc_profile):
    cache.clear()
    assert anon("POST", public_path(utc_profile), meeting_body()).status_code == 201
    response = anon(
        "POST", public_path(utc_profile), meeting_body(MONDAY_930, "2030-01-07T10:00:00Z")
    )
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert Booking.objects.count() == 1
    cache.clear()


# --- reservations ----------------------------------------------------------------------------


def test_a_reservation_answers_its_ids_and_expiry(api, profile, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        held = reserve(api, profile, 15)
    assert held["status"] == "reserved"
    assert held["expiresAt"] == "2030-01-07T06:15:00Z"
    assert held["reservationId"] == held["ReservationId"] == int(held["id"])
    assert type(held["reservationId"]) is int
    assert "2030-01-07T09:00:00Z" not in slot_starts(api, profile)
    assert len(mail.outbox) == 0  # nothing goes out for a hold


def test_reservation_holds_the_slot_and_confirms(api, utc_profile):
    got = reserve(api, utc_profile)
    assert got["status"] == "reserved"
    assert got["reservationId"] == got["ReservationId"] == int(got["id"])
    assert got["expiresAt"] == "2030-01-07T06:10:00Z"
    assert_error(api("POST", meeting_path(utc_profile), meeting_body()), 409, "slot_unavailable")
    confirmed = api("POST", f"{RESERVATIONS}/{got['reservationId']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed" and "expiresAt" not in confirmed.json()
    # Neither endpoint touches a confirmed booking.
    assert_error(api("POST", f"{RESERVATIONS}/{got['id']}/confirm"), 409, "conflict")
    assert_error(api("DELETE", f"{RESERVATIONS}/{got['id']}"), 409, "conflict")
    assert Booking.objects.get().status == "confirmed"


def test_confirm_answers_the_confirmed_booking(api, profile, django_capture_on_commit_callbacks):
    held = reserve(api, profile)
    path = f"{RESERVATIONS}/{held['ReservationId']}/confirm"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api("POST", path)
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "confirmed" and body["id"] == held["id"]
    assert "expiresAt" not in body
    assert BOOKING_FIELDS <= set(body)
    assert len(mail.outbox) == 2  # invite and host notice
    # Confirming again, or releasing, leaves the confirmed booking alone.
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(api("POST", path), 409, "conflict")
        assert_error(api("DELETE", f"{RESERVATIONS}/{held['id']}"), 409, "conflict")
    after = api("GET", f"{BOOKINGS}/{held['id']}").json()
    assert after["status"] == "confirmed" and after["sequence"] == body["sequence"]
    assert len(mail.outbox) == 2  # invite and host notice


def test_release_cancels_the_reservation_and_frees_the_slot(api, profile):
    held = reserve(api, profile)
    path = f"{RESERVATIONS}/{held['reservationId']}"
    released = api("DELETE", path)
    assert released.status_code == 200 and released.json() == {"status": "Ok"}
    assert api("GET", f"{BOOKINGS}/{held['id']}").json()["status"] == "cancelled"
    assert "2030-01-07T09:00:00Z" in slot_starts(api, profile)
    assert api("POST", meeting_path(profile), meeting_body()).status_code == 201
    # A released reservation cannot be confirmed afterwards; releasing it again is a no-op.
    assert_error(api("POST", path + "/confirm"), 409, "conflict")
    assert api("DELETE", path).json() == {"status": "Ok"}
    assert api("GET", f"{BOOKINGS}/{held['id']}").json()["status"] == "cancelled"


def test_released_reservation_is_cancelled_and_frees_the_slot(api, utc_profile):
    got = reserve(api, utc_profile)
    response = api("DELETE", f"{RESERVATIONS}/{got['reservationId']}")
    assert response.json() == {"status": "Ok"}
    assert Booking.objects.get().status == "cancelled"
    assert_error(api("POST", f"{RESERVATIONS}/{got['id']}/confirm"), 409, "conflict")
    assert api("POST", meeting_path(utc_profile), meeting_body()).status_code == 201


def test_confirming_an_expired_reservation_is_409(api, profile, frozen):
    held = reserve(api, profile, 5)
    frozen.shift(timedelta(minutes=6))
    assert_error(api("POST", f"{RESERVATIONS}/{held['id']}/confirm"), 409, "slot_unavailable")
    assert "2030-01-07T09:00:00Z" in slot_starts(api, profile)
    # Our reading: it still reads as reserved, with its expiresAt now in the past.
    late = api("GET", f"{BOOKINGS}/{held['id']}").json()
    assert late["status"] == "reserved" and late["expiresAt"] == "2030-01-07T06:05:00Z"


def test_expired_reservation_stops_blocking_without_a_sweeper(api, utc_profile, frozen):
    got = reserve(api, utc_profile, minutes=5)
    frozen.shift(timedelta(minutes=6))
    url = f"{meeting_path(utc_profile)}?timeMin={MONDAY_9}&timeMax=2030-01-07T10:00:00Z"
    assert api("GET", url).json()["items"][0]["start"] == MONDAY_9
    expired = api("POST", f"{RESERVATIONS}/{got['id']}/confirm")
    assert_error(expired, 409, "slot_unavailable")
    assert api("POST", meeting_path(utc_profile), meeting_body()).status_code == 201


@pytest.mark.parametrize(
    "minutes", ["0", "-1", "-5", "10081", "x", "ten", "1.5", "99999999999999999999"]
)
def test_bad_reserve_for_minutes_is_400(api, profile, minutes):
    path = meeting_path(profile) + f"?reserveForMinutes={minutes}"
    assert_error(api("POST", path, meeting_body()), 400, "bad_request", "reserveForMinutes")
    assert Booking.objects.count() == 0


def test_reservation_paths_refuse_a_confirmed_bookings_id_without_change(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body()).json()
    assert_error(api("POST", f"{RESERVATIONS}/{booked['id']}/confirm"), 409, "conflict")
    assert_error(api("DELETE", f"{RESERVATIONS}/{booked['id']}"), 409, "conflict")
    assert Booking.objects.get(pk=int(booked["id"])).status == Booking.Status.CONFIRMED


def test_reservations_of_another_account_are_404(api, client):
    other = make_profile(make_account(), subject="{{topic}}")
    got = reserve(ApiClient(client, make_token(other.account)), other)
    assert_error(api("POST", f"{RESERVATIONS}/{got['id']}/confirm"), 404, "not_found")
    assert_error(api("DELETE", f"{RESERVATIONS}/{got['id']}"), 404, "not_found")
    assert Booking.objects.get().status == "reserved"
