"""The account's bookings (SPEC §2, §5): list with filters, read, cancel and reschedule."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from scheduler.models import Booking
from tests.api.helpers import (
    BOOKINGS,
    NOW,
    assert_error,
    meeting_body,
    meeting_path,
    reserve,
    slot_starts,
)
from tests.factory import make_account, make_booking, make_profile

# --- the list --------------------------------------------------------------------------------


def test_bookings_list_filters(api, profile):
    a = api("POST", meeting_path(profile), meeting_body()).json()
    b = reserve(api, profile, start="2030-01-07T11:00:00Z", end="2030-01-07T11:30:00Z")
    c = api(
        "POST", meeting_path(profile), meeting_body("2030-01-08T09:00:00Z", "2030-01-08T09:30:00Z")
    ).json()
    api("DELETE", f"{BOOKINGS}/{c['id']}")

    def ids(query: str) -> list[str]:
        answer = api("GET", f"{BOOKINGS}?{query}").json()
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
    assert_error(api("GET", f"{BOOKINGS}?status=done"), 400, "bad_request", "status")
    assert_error(api("GET", f"{BOOKINGS}?timeMin=yesterday"), 400, "bad_request", "timeMin")
    assert_error(
        api("GET", f"{BOOKINGS}?timeMax=2030-01-07T09:00:00"), 400, "bad_request", "timeMax"
    )


def test_bookings_list_filters_and_pages(api, utc_profile):
    first = api("POST", meeting_path(utc_profile), meeting_body()).json()
    second = reserve(api, utc_profile, start="2030-01-08T09:00:00Z", end="2030-01-08T09:30:00Z")
    third = api(
        "POST",
        meeting_path(utc_profile),
        meeting_body("2030-01-09T09:00:00Z", "2030-01-09T09:30:00Z"),
    )
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


# --- read and cancel -------------------------------------------------------------------------


def test_get_and_cancel_a_booking(api, utc_profile):
    booked = api("POST", meeting_path(utc_profile), meeting_body()).json()
    got = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert got["id"] == booked["id"] and got["status"] == "confirmed"
    assert "rescheduleToken" not in got and "created" not in got
    assert api("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}
    cancelled = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert cancelled["status"] == "cancelled" and cancelled["sequence"] == 1
    assert api("DELETE", f"{BOOKINGS}/{booked['id']}").json() == {"status": "Ok"}  # idempotent
    assert api("POST", meeting_path(utc_profile), meeting_body()).status_code == 201


def test_cancel_answers_ok_and_frees_the_slot(api, profile):
    booked = api("POST", meeting_path(profile), meeting_body()).json()
    assert "2030-01-07T09:00:00Z" not in slot_starts(api, profile)
    cancelled = api("DELETE", f"{BOOKINGS}/{booked['id']}")
    assert cancelled.status_code == 200 and cancelled.json() == {"status": "Ok"}
    read = api("GET", f"{BOOKINGS}/{booked['id']}").json()
    assert read["status"] == "cancelled" and read["uid"] == booked["uid"]
    assert read["sequence"] > booked["sequence"]
    assert "2030-01-07T09:00:00Z" in slot_starts(api, profile)
    again = api("POST", meeting_path(profile), meeting_body())
    assert again.status_code == 201 and again.json()["uid"] != booked["uid"]


def test_cancelling_twice_is_ok_and_changes_nothing_more(
    api, profile, django_capture_on_commit_callbacks
):
    booked = api("POST", meeting_path(profile), meeting_body()).json()
    path = f"{BOOKINGS}/{booked['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        assert api("DELETE", path).json() == {"status": "Ok"}
    first = api("GET", path).json()
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert api("DELETE", path).json() == {"status": "Ok"}
    assert api("GET", path).json()["sequence"] == first["sequence"]
    assert len(mail.outbox) == sent


def test_another_accounts_booking_is_404(api):
    theirs = make_booking(make_profile(make_account()), NOW, NOW + timedelta(hours=1))
    assert_error(api("GET", f"{BOOKINGS}/{theirs.pk}"), 404, "not_found")
    assert_error(api("DELETE", f"{BOOKINGS}/{theirs.pk}"), 404, "not_found")
    assert Booking.objects.get(pk=theirs.pk).status == "confirmed"


# --- reschedule ------------------------------------------------------------------------------


def test_reschedule_keeps_the_uid_and_raises_the_sequence(api, utc_profile):
    booked = api("POST", meeting_path(utc_profile), meeting_body()).json()
    other = api(
        "POST",
        meeting_path(utc_profile),
        meeting_body("2030-01-07T11:00:00Z", "2030-01-07T11:30:00Z"),
    )
    url = f"{BOOKINGS}/{booked['id']}/reschedule"
    moved = api(
        "POST", url, {"time": {"start": "2030-01-07T10:00:00Z", "end": "2030-01-07T10:30:00Z"}}
    )
    assert moved.status_code == 200, moved.content
    got = moved.json()
    assert got["uid"] == booked["uid"] and got["sequence"] == 1
    assert got["start"] == "2030-01-07T10:00:00Z"
    # Its old time is free again; another booking's time is not.
    assert api("POST", meeting_path(utc_profile), meeting_body()).status_code == 201
    taken = {"time": {"start": "2030-01-07T11:00:00Z", "end": "2030-01-07T11:30:00Z"}}
    assert_error(api("POST", url, taken), 409, "slot_unavailable")
    api("DELETE", f"{BOOKINGS}/{other.json()['id']}")
    assert_error(api("POST", f"{BOOKINGS}/{other.json()['id']}/reschedule", taken), 409, "conflict")
    assert_error(api("POST", url, {"time": {"start": "x"}}), 400, "bad_request", "time.start")


def test_an_offset_postgresql_cannot_store_is_still_an_instant(api, profile):
    """Python reads offsets up to ±23:59, PostgreSQL only up to ±15:59: instants are taken to
    UTC at the edge, so a +18:08 filter is answered on every database (was a 500 there)."""
    made = api("POST", meeting_path(profile), meeting_body()).json()
    answer = api("GET", "/v1/book/account/bookings?timeMin=2030-01-06T20:00:00%2B18:08")
    assert answer.status_code == 200
    assert [r["id"] for r in answer.json()["records"]] == [made["id"]]
