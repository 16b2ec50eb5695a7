"""booking.py: the transaction that decides, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection

from scheduler.models import Booking, Event
from scheduler.services import availability, bookings
from scheduler.services.errors import Conflict, InvalidInput, SlotUnavailable
from tests.factory import make_booking, make_profile

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # Monday
NINE = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
HALF = timedelta(minutes=30)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def profile(account):
    return make_profile(account, name="intro", subject="Hi {{name}}")


def test_book_confirms_and_writes_the_builtin_calendar(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF, name="Ann", email="a@example.com")
    assert made.status == Booking.Status.CONFIRMED and made.expires_at is None
    assert made.subject == "Hi Ann"
    event = Event.objects.get(booking=made)
    assert (event.start, event.end, event.uid) == (NINE, NINE + HALF, made.uid)
    assert made.calendar_state == "done" and made.mail_state == "pending"


def test_cancel_removes_the_event_and_raises_the_sequence(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF)
    cancelled = bookings.cancel(made)
    assert cancelled.status == Booking.Status.CANCELLED and cancelled.sequence == 1
    assert not Event.objects.filter(booking=made).exists()
    assert bookings.cancel(cancelled).sequence == 1  # idempotent


def test_reservation_expires_by_itself(profile, frozen):
    held = bookings.book(profile, start=NINE, end=NINE + HALF, reserve_minutes=5)
    assert held.status == Booking.Status.RESERVED and held.expires_at == NOW + timedelta(minutes=5)
    assert not Event.objects.exists()  # a reservation is not on the calendar yet
    with pytest.raises(SlotUnavailable):
        bookings.book(profile, start=NINE, end=NINE + HALF)
    frozen.shift(timedelta(minutes=5))
    assert (NINE, NINE + HALF) in availability.compute(profile).slots
    taken = bookings.book(profile, start=NINE, end=NINE + HALF)
    assert taken.status == Booking.Status.CONFIRMED
    # The expired one in the way was marked, so the database constraint agrees.
    assert Booking.objects.get(pk=held.pk).status == Booking.Status.CANCELLED
    with pytest.raises(Conflict):
        bookings.confirm(held)


def test_confirm_an_expired_reservation_is_slot_unavailable(profile, frozen):
    held = bookings.book(profile, start=NINE, end=NINE + HALF, reserve_minutes=5)
    frozen.shift(timedelta(minutes=6))
    with pytest.raises(SlotUnavailable):
        bookings.confirm(held)
    assert Booking.objects.get(pk=held.pk).status == Booking.Status.RESERVED


def test_release_only_touches_reservations(profile):
    held = bookings.book(profile, start=NINE, end=NINE + HALF, reserve_minutes=5)
    assert bookings.release(held).status == Booking.Status.CANCELLED
    assert bookings.release(held).status == Booking.Status.CANCELLED  # already let go
    made = bookings.book(profile, start=NINE, end=NINE + HALF)
    with pytest.raises(Conflict):
        bookings.release(made)
    assert Booking.objects.get(pk=made.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize("minutes", [0, -1, 7 * 24 * 60 + 1])
def test_reserve_minutes_out_of_range(profile, minutes):
    with pytest.raises(InvalidInput) as caught:
        bookings.book(profile, start=NINE, end=NINE + HALF, reserve_minutes=minutes)
    assert "reserveForMinutes" in caught.value.fields


def test_inactive_profile_cannot_be_booked(profile):
    profile.active = False
    profile.save()
    with pytest.raises(SlotUnavailable):
        bookings.book(profile, start=NINE, end=NINE + HALF)


def test_max_bookings_per_day(account):
    capped = make_profile(account, max_bookings_per_day=1)
    bookings.book(capped, start=NINE, end=NINE + HALF)
    with pytest.raises(SlotUnavailable):
        bookings.book(capped, start=NINE + 2 * HALF, end=NINE + 3 * HALF)
    tuesday = NINE + timedelta(days=1)
    assert bookings.book(capped, start=tuesday, end=tuesday + HALF).pk


def test_bookings_of_other_profiles_of_the_account_block(account, profile):
    other = make_profile(account, duration_minutes=60)
    bookings.book(other, start=NINE, end=NINE + 2 * HALF)
    with pytest.raises(SlotUnavailable):
        bookings.book(profile, start=NINE + HALF, end=NINE + 2 * HALF)


def test_a_lost_race_at_the_database_is_slot_unavailable(profile, monkeypatch):
    """The last line of defence: on PostgreSQL the exclusion constraint itself refuses an
    overlap that got past the check; elsewhere the same path is driven by an injected fault."""
    make_booking(profile, NINE, NINE + HALF)
    monkeypatch.setattr(bookings, "_check_slot", lambda *args, **kwargs: None)
    if connection.vendor != "postgresql":

        def refuse(*args, **kwargs):
            raise IntegrityError("conflicting key value violates exclusion constraint")

        monkeypatch.setattr(Booking.objects, "create", refuse)
    with pytest.raises(SlotUnavailable):
        bookings.book(profile, start=NINE, end=NINE + HALF)
    assert Booking.objects.count() == 1


def test_reschedule_moves_and_keeps_uid(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF)
    moved = bookings.reschedule(made, start=NINE + 2 * HALF, end=NINE + 3 * HALF)
    assert (moved.uid, moved.sequence, moved.start) == (made.uid, 1, NINE + 2 * HALF)
    assert Event.objects.get(booking=made).start == NINE + 2 * HALF
    # Moving onto its own time (minus itself) is fine; onto another booking is not.
    blocker = bookings.book(profile, start=NINE, end=NINE + HALF)
    with pytest.raises(SlotUnavailable):
        bookings.reschedule(moved, start=NINE, end=NINE + HALF)
    bookings.cancel(blocker)
    with pytest.raises(Conflict):
        bookings.reschedule(blocker, start=NINE + 4 * HALF, end=NINE + 5 * HALF)


def test_reschedule_without_its_profile_is_not_allowed(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF)
    profile.delete()
    made.refresh_from_db()
    with pytest.raises(Conflict):
        bookings.reschedule(made, start=NINE + 2 * HALF, end=NINE + 3 * HALF)


def test_substitution_data_is_checked(account):
    templated = make_profile(account, subject="{{topic}}", location="{{room:Lobby}}")
    with pytest.raises(InvalidInput) as caught:
        bookings.book(templated, start=NINE, end=NINE + HALF, substitution_data={"x": "1"})
    assert set(caught.value.fields) == {"substitutionData.x", "substitutionData.topic"}
    for not_text in (7, True, 1.5, ["a"], {"a": "b"}):
        with pytest.raises(InvalidInput) as caught:
            bookings.book(
                templated, start=NINE, end=NINE + HALF, substitution_data={"topic": not_text}
            )
        assert set(caught.value.fields) == {"substitutionData.topic"}
        assert "is not a string" in caught.value.fields["substitutionData.topic"][0]
    made = bookings.book(templated, start=NINE, end=NINE + HALF, substitution_data={"topic": "7"})
    assert (made.subject, made.location) == ("7", "Lobby")


def test_start_conference_gives_each_booking_a_room(account, settings):
    settings.CONFERENCE_URL_TEMPLATE = "https://meet.example.com/{uid}"
    room = make_profile(account, start_conference=True, description="Join {{openMeetingUrl}}")
    made = bookings.book(room, start=NINE, end=NINE + HALF)
    assert made.conference_url == f"https://meet.example.com/{made.uid.split('@')[0]}"
    assert made.description == f"Join {made.conference_url}"
    assert made.location == made.conference_url


def test_manage_token_round_trip(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF)
    token = made.manage_token()
    assert Booking.from_manage_token(token) == made
    assert Booking.from_manage_token(token + "x") is None
    assert Booking.from_manage_token("garbage") is None
    made.secret = "rotated"
    made.save()
    assert Booking.from_manage_token(token) is None


def test_builtin_events_added_after_a_read_block_at_once(db):
    """The builtin calendar's busy copy is cached; a new event must still block its time."""
    from datetime import UTC, datetime

    from tests.factory import make_event, make_profile

    profile = make_profile(time_available_for="P7D")
    now = datetime(2030, 1, 7, 8, tzinfo=UTC)  # a Monday
    first = availability.compute(profile, now).slots[0]
    event = make_event(profile.account, first[0], first[1])
    assert first not in availability.compute(profile, now).slots
    event.delete()
    assert first in availability.compute(profile, now).slots


def test_rescheduling_onto_its_own_time_changes_nothing(profile):
    made = bookings.book(profile, start=NINE, end=NINE + HALF, email="a@example.com")
    same = bookings.reschedule(made, start=NINE, end=NINE + HALF)
    assert same.sequence == 0 and same.mail_state == made.mail_state
    assert Booking.objects.get(pk=made.pk).sequence == 0
