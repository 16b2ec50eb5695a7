"""Reminders, invitee deadlines and email verification (SPEC §9), with real parts: the
database task backend run by `db_worker`, an aiosmtpd server, the invitee's pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from scheduler.models import Booking, Event
from scheduler.services import bookings, profiles
from scheduler.services.errors import InvalidInput
from tests.factory import make_account, make_profile
from tests.fixtures.smtp import SmtpServer

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday
START = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    for key, value in server.settings().items():
        setattr(settings, key, value)
    yield server
    server.stop()


def _profile(handle="ada", **kw):
    account = make_account(handle=handle, name="Ada Host", email="ada@example.com")
    defaults = {"work_hours": ALL_DAY, "start_after_minutes": 0, "open_meeting_url": None}
    defaults.update(kw)
    return make_profile(account, **defaults)


def _book(profile, start=START, **kw) -> Booking:
    end = start + timedelta(minutes=profile.duration_minutes)
    return bookings.book(profile, start=start, end=end, name="Bea", email="bea@example.com", **kw)


def _worker() -> None:
    call_command("db_worker", "--batch", verbosity=0)


def _kinds(smtp) -> list[str]:
    return [m["X-Booking"].split(" ", 2)[2] for m in smtp.messages]


def _reminder_tasks():
    return DBTaskResult.objects.filter(task_path__endswith=".send_reminder")


# --- reminders -----------------------------------------------------------------------------


@override_settings(TASKS=DB_TASKS)
def test_each_reminder_is_a_delayed_task_sent_once_at_its_time(transactional_db, clock, smtp):
    profile = _profile(reminder_minutes=[30, 120])
    booking = _book(profile)
    runs = sorted(t.run_after for t in _reminder_tasks())
    assert runs == [START - timedelta(minutes=120), START - timedelta(minutes=30)]
    _worker()  # the invite and the host's notice; no reminder is due yet
    assert sorted(_kinds(smtp)) == ["host_notice", "invite"]
    clock.move_to(START - timedelta(minutes=120))
    _worker()
    _worker()
    reminders = [m for m in smtp.messages if "reminder" in m["X-Booking"]]
    assert len(reminders) == 1
    message = reminders[0]
    assert message["To"] == "bea@example.com"
    assert message["Subject"].strip().startswith("Reminder: ")
    text = message.get_body(("plain",)).get_content()
    assert "starting in 2 hours" in text and "12:00" in text and "(UTC)" in text
    assert booking.cancel_url() in text and booking.reschedule_url() in text
    assert booking.manage_url() in text
    clock.move_to(START - timedelta(minutes=29))
    _worker()
    assert len([m for m in smtp.messages if "reminder" in m["X-Booking"]]) == 2
    clock.move_to(START - timedelta(minutes=10))
    _worker()
    assert len([m for m in smtp.messages if "reminder" in m["X-Booking"]]) == 2


@override_settings(TASKS=DB_TASKS)
def test_a_reminder_carries_the_join_link(transactional_db, clock, smtp):
    profile = _profile(reminder_minutes=[60], open_meeting_url="https://meet.example.com/ada")
    _book(profile)
    clock.move_to(START - timedelta(minutes=60))
    _worker()
    reminder = next(m for m in smtp.messages if "reminder" in m["X-Booking"])
    assert "https://meet.example.com/ada" in reminder.get_body(("html",)).get_content()


@override_settings(TASKS=DB_TASKS)
def test_no_reminder_for_a_cancelled_booking(transactional_db, clock, smtp):
    booking = _book(_profile(reminder_minutes=[60]))
    bookings.cancel(booking)
    clock.move_to(START - timedelta(minutes=60))
    _worker()
    assert not any("reminder" in m["X-Booking"] for m in smtp.messages)


@override_settings(TASKS=DB_TASKS)
def test_a_reschedule_re_times_the_reminders(transactional_db, clock, smtp):
    booking = _book(_profile(reminder_minutes=[60]))
    later = START + timedelta(hours=3)
    bookings.reschedule(booking, start=later, end=later + timedelta(minutes=30))
    clock.move_to(START - timedelta(minutes=60))
    _worker()  # the task queued for the old time sees the booking moved
    assert not any("reminder" in m["X-Booking"] for m in smtp.messages)
    clock.move_to(later - timedelta(minutes=60))
    _worker()
    reminders = [m for m in smtp.messages if "reminder" in m["X-Booking"]]
    assert len(reminders) == 1
    assert "15:00" in reminders[0].get_body(("plain",)).get_content()


@override_settings(TASKS=DB_TASKS)
def test_no_reminder_when_its_time_had_passed_at_booking(transactional_db, clock, smtp):
    soon = NOW + timedelta(minutes=60)
    _book(_profile(reminder_minutes=[120, 30]), start=soon)
    assert [t.run_after for t in _reminder_tasks()] == [soon - timedelta(minutes=30)]


@override_settings(TASKS=DB_TASKS)
def test_a_worker_that_was_down_sends_overdue_reminders_only_before_the_start(
    transactional_db, clock, smtp
):
    _book(_profile(reminder_minutes=[120, 60]))
    clock.move_to(START - timedelta(minutes=10))  # both due long ago: the worker was down
    _worker()
    assert len([m for m in smtp.messages if "reminder" in m["X-Booking"]]) == 2
    smtp.messages.clear()
    other = _book(_profile("bo", reminder_minutes=[60]), start=START + timedelta(days=1))
    clock.move_to(other.start + timedelta(minutes=1))  # the meeting has begun
    _worker()
    assert not any("reminder" in m["X-Booking"] for m in smtp.messages)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([5, 10, 15, 20, 25, 30], "reminderMinutes"),
        ([30, 30], "reminderMinutes[1]"),
        ([4], "reminderMinutes[0]"),
        ([40_321], "reminderMinutes[0]"),
        (["30"], "reminderMinutes[0]"),
        ([1.5], "reminderMinutes[0]"),
        (30, "reminderMinutes"),
    ],
)
def test_bad_reminders_are_refused_naming_the_field(db, value, field):
    with pytest.raises(InvalidInput) as caught:
        profiles.create(make_account(), {"name": "x", "reminderMinutes": value})
    assert field in caught.value.fields


# --- invitee deadlines ---------------------------------------------------------------------


def _token(booking: Booking) -> str:
    return booking.manage_token()


def test_after_the_cancel_deadline_the_invitee_cannot_cancel(client, db, clock):
    booking = _book(_profile(cancel_notice_minutes=240))  # deadline: 08:00, the start 12:00
    clock.move_to(NOW + timedelta(minutes=1))
    page = client.get(f"/bookings/{_token(booking)}/cancel/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "too late to cancel" in text and "ada@example.com" in text and "Ada Host" in text
    refused = client.post(f"/bookings/{_token(booking)}/cancel/")
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    manage = client.get(f"/bookings/{_token(booking)}/").content.decode()
    assert "/cancel/" not in manage and "too late to cancel" in manage
    bookings.cancel(booking)  # the host still can
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_before_the_deadline_the_invitee_cancels(client, db, clock):
    booking = _book(_profile(cancel_notice_minutes=240))
    clock.move_to(NOW - timedelta(minutes=1))
    assert client.post(f"/bookings/{_token(booking)}/cancel/").status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_after_the_reschedule_deadline_the_invitee_cannot_move(client, db, clock):
    booking = _book(_profile(reschedule_notice_minutes=60, cancel_notice_minutes=None))
    clock.move_to(START - timedelta(minutes=59))
    path = f"/bookings/{_token(booking)}/reschedule/"
    assert "too late to move" in client.get(path).content.decode()
    later = START + timedelta(hours=2)
    refused = client.post(path, {"slot": later.isoformat().replace("+00:00", "Z")})
    assert refused.status_code == 403
    booking.refresh_from_db()
    assert booking.start == START and booking.sequence == 0
    with pytest.raises(bookings.TooLate):
        bookings.reschedule(
            booking, start=later, end=later + timedelta(minutes=30), by_invitee=True
        )
    moved = bookings.reschedule(booking, start=later, end=later + timedelta(minutes=30))
    assert moved.start == later  # the host still can
    # Cancelling has no deadline here.
    assert client.post(f"/bookings/{_token(booking)}/cancel/").status_code == 302


@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_bad_deadlines_are_refused(db, value):
    for field in ("cancelNoticeMinutes", "rescheduleNoticeMinutes"):
        with pytest.raises(InvalidInput) as caught:
            profiles.create(make_account(), {"name": "x", field: value})
        assert field in caught.value.fields


# --- email verification --------------------------------------------------------------------


def _verify_link(smtp) -> str:
    mail = next(m for m in smtp.messages if "verify" in m["X-Booking"])
    found = re.search(r"http://\S+/bookings/(\S+)/verify/", mail.get_body(("plain",)).get_content())
    return f"/bookings/{found.group(1)}/verify/"


@override_settings(VERIFICATION_HOLD_MINUTES=15)
def test_a_public_booking_waits_for_the_address_check(client, transactional_db, clock, smtp):
    profile = _profile(require_email_verification=True, reminder_minutes=[60])
    page = client.post(
        f"/ada/{profile.name}/",
        {"slot": "2030-01-07T12:00:00Z", "name": "Bea", "email": "bea@example.com"},
    )
    assert page.status_code == 302
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.RESERVED and booking.awaiting_verification
    assert booking.expires_at == NOW + timedelta(minutes=15)
    assert _kinds(smtp) == ["verify:0:invitee"]  # one mail, to the invitee only
    assert not Event.objects.filter(booking=booking).exists()
    waiting = client.get(page["Location"]).content.decode()
    assert "Check your email" in waiting
    # The manage token (shown to whoever booked) does not confirm it.
    assert client.post(f"/bookings/{booking.manage_token()}/verify/").status_code == 404
    link = _verify_link(smtp)
    assert "Confirm the booking" in client.get(link).content.decode()  # GET changes nothing
    booking.refresh_from_db()
    assert booking.status == Booking.Status.RESERVED
    clock.move_to(NOW + timedelta(minutes=5))
    assert client.post(link).status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and not booking.awaiting_verification
    assert sorted(_kinds(smtp)) == ["host_notice", "invite", "verify:0:invitee"]
    assert Event.objects.filter(booking=booking).count() == 1
    assert client.post(link).status_code in (200, 302)  # a second POST changes nothing
    booking.refresh_from_db()
    assert booking.sequence == 0 and len(smtp.messages) == 3


@override_settings(VERIFICATION_HOLD_MINUTES=15)
def test_an_unconfirmed_hold_frees_its_slot_and_its_link_says_so(
    client, transactional_db, clock, smtp
):
    profile = _profile(require_email_verification=True)
    booking = _book(profile, verify=True)
    assert not bookings.availability.is_free(profile, booking.start, booking.end, NOW)
    clock.move_to(NOW + timedelta(minutes=16))
    assert bookings.availability.is_free(
        profile, booking.start, booking.end, NOW + timedelta(minutes=16)
    )
    link = _verify_link(smtp)
    page = client.get(link).content.decode()
    assert "This hold has expired" in page
    client.post(link)
    booking.refresh_from_db()
    assert booking.status != Booking.Status.CONFIRMED
    assert _kinds(smtp) == ["verify:0:invitee"]


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=1000)
def test_thirty_bot_submissions_without_confirmation_book_nothing(
    client, transactional_db, clock, smtp
):
    profile = _profile(require_email_verification=True)
    for i in range(30):
        start = START + timedelta(minutes=30 * i)
        answer = client.post(
            f"/v1/book/ada/{profile.name}/meeting",
            {
                "time": {
                    "start": start.isoformat().replace("+00:00", "Z"),
                    "end": (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
                },
                "schedulerInfo": {"name": f"bot{i}", "email": f"bot{i}@example.com"},
            },
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        assert answer.json()["status"] == "reserved"
        # Knowing the manage token from the answer confirms nothing.
        client.post(f"/bookings/{answer.json()['rescheduleToken']}/verify/")
    clock.move_to(NOW + timedelta(hours=1))
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 0
    assert all("verify" in m["X-Booking"] for m in smtp.messages)
    assert not Event.objects.exists()


def test_admin_shows_reminders_and_deadlines_on_the_profile(admin_client, db):
    profile = _profile(reminder_minutes=[60], cancel_notice_minutes=120)
    page = admin_client.get(f"/admin/scheduler/profile/{profile.pk}/change/").content.decode()
    for field in (
        "reminder_minutes",
        "cancel_notice_minutes",
        "reschedule_notice_minutes",
        "require_email_verification",
    ):
        assert f'name="{field}"' in page
