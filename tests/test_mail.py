"""Mail through a real SMTP server: invites with iTIP parts, host notices, outages and retries."""

from __future__ import annotations

from datetime import timedelta
from email.message import Message

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from icalendar import Calendar

from scheduler.models import Booking, Delivery
from scheduler.services import availability
from tests.factory import make_account, make_profile

ALL_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00", "end": "24:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}
ZERO = timedelta(0)
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def open_profile():
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(
        account,
        name="intro",
        subject="Intro about {{topic}}",
        description="Agenda: {{topic}}",
        location="Room 7",
        work_hours=ALL_WEEK,
        start_after_minutes=0,
    )


def first_slot(profile):
    return availability.compute(profile).slots[0]


def book_via_page(client, profile, start) -> Booking:
    response = client.post(
        f"/ada/{profile.name}/",
        {
            "slot": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "name": "Bea Guest",
            "email": "bea@example.com",
            "var_topic": "Plans",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Booking.objects.get()


def to(messages: list[Message], address: str) -> list[Message]:
    return [m for m in messages if address in m["X-Envelope-To"]]


def subject(message: Message) -> str:
    # A folded encoded-word header parses with a leading space; mail clients strip it too.
    return str(message["Subject"]).strip()


def calendar_parts(message: Message) -> tuple[Message, Message]:
    """(the inline text/calendar alternative, the .ics attachment)."""
    inline = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    files = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert len(inline) == 1 and len(files) == 1
    return inline[0], files[0]


def event_of(part: Message):
    cal = Calendar.from_ical(part.get_payload(decode=True))
    return cal, cal.walk("VEVENT")[0]


@pytest.fixture
def smtp(smtp_server, settings):
    for key, value in smtp_server.settings().items():
        setattr(settings, key, value)
    return smtp_server


def test_booking_sends_invite_and_host_notice(db, client, smtp, django_capture_on_commit_callbacks):
    profile = open_profile()
    start, end = first_slot(profile)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book_via_page(client, profile, start)
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE and booking.mail_attempts == 1
    invite = to(smtp.messages, "bea@example.com")[0]
    assert subject(invite).startswith("Invitation: Intro about Plans")
    assert invite["Reply-To"] == "ada@example.com"
    inline, attachment = calendar_parts(invite)
    assert inline.get_param("method") == "REQUEST"
    assert attachment.get_content_type() == "application/ics"
    assert inline.get_payload(decode=True) == attachment.get_payload(decode=True)
    cal, event = event_of(attachment)
    raw = attachment.get_payload(decode=True).decode()
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == booking.uid
    assert "DTSTAMP:" in raw
    assert event.decoded("DTSTART") == start and event.decoded("DTSTART").utcoffset() == ZERO
    assert event.decoded("DTEND") == end
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in raw  # UTC form, no TZID
    assert str(event["SUMMARY"]) == "Intro about Plans"
    assert str(event["DESCRIPTION"]).startswith("Agenda: Plans\n\nManage this booking: ")
    assert booking.cancel_url() in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "Room 7"
    assert str(event["ORGANIZER"]) == "mailto:ada@example.com"
    assert event["ORGANIZER"].params["CN"] == "Ada Host"
    assert str(event["ATTENDEE"]) == "mailto:bea@example.com"
    assert event["ATTENDEE"].params["RSVP"] == "TRUE"
    assert event["ATTENDEE"].params["CN"] == "Bea Guest"
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    text = invite.get_body(("plain",)).get_content()
    assert booking.cancel_url() in text and booking.reschedule_url() in text
    notice = to(smtp.messages, "ada@example.com")[0]
    body = notice.get_body(("plain",)).get_content()
    assert "Bea Guest" in subject(notice) and "intro" in subject(notice)
    assert "Bea Guest <bea@example.com>" in body
    assert f"{start:%H:%M}–{end:%H:%M} (UTC)" in body and "Profile: intro" in body
    assert notice.get_body(("html",)) is not None


def test_cancel_and_reschedule_send_updates_with_higher_sequence(
    db, client, smtp, django_capture_on_commit_callbacks
):
    profile = open_profile()
    start, _ = first_slot(profile)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book_via_page(client, profile, start)
    token = booking.manage_token()
    new_start = start + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        slot = new_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert client.post(f"/bookings/{token}/reschedule/", {"slot": slot}).status_code == 302
    update = to(smtp.messages, "bea@example.com")[1]
    assert subject(update).startswith("Updated:")
    inline, attachment = calendar_parts(update)
    assert inline.get_param("method") == "REQUEST"
    _, event = event_of(attachment)
    assert str(event["UID"]) == booking.uid
    assert event["SEQUENCE"] == 1 and event.decoded("DTSTART") == new_start
    assert "Rescheduled" in subject(to(smtp.messages, "ada@example.com")[1])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/bookings/{token}/cancel/").status_code == 302
    cancel = to(smtp.messages, "bea@example.com")[2]
    assert subject(cancel).startswith("Cancelled:")
    inline, attachment = calendar_parts(cancel)
    assert inline.get_param("method") == "CANCEL"
    cal, event = event_of(attachment)
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == booking.uid and event["SEQUENCE"] == 2
    host_cancel = to(smtp.messages, "ada@example.com")[2]
    assert subject(host_cancel).startswith("Cancelled: Bea Guest")
    assert len(smtp.messages) == 6


def test_smtp_down_with_immediate_backend_keeps_booking_marks_failed(
    db, client, smtp, django_capture_on_commit_callbacks
):
    profile = open_profile()
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book_via_page(client, profile, first_slot(profile)[0])
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.mail_state == Delivery.FAILED
    assert "ConnectionRefusedError" in booking.mail_error


@override_settings(TASKS=DB_TASKS)
def test_smtp_outage_is_retried_by_the_db_worker(transactional_db, client, smtp):
    profile = open_profile()
    smtp.stop()
    booking = book_via_page(client, profile, first_slot(profile)[0])
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.PENDING  # queued, not yet tried
    call_command("db_worker", "--batch", "--queue-name", "default", verbosity=0)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.mail_state == Delivery.PENDING and booking.mail_attempts == 1
    assert "ConnectionRefusedError" in booking.mail_error
    waiting = DBTaskResult.objects.filter(status="READY")
    assert waiting.count() == 1
    retry = waiting.get()
    assert retry.run_after is not None and retry.run_after > timezone.now()
    assert smtp.messages == []
    # The back-off has not passed: a worker run now does nothing.
    call_command("db_worker", "--batch", "--queue-name", "default", verbosity=0)
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    smtp.start()
    waiting.update(run_after=timezone.now() - timedelta(seconds=1))
    call_command("db_worker", "--batch", "--queue-name", "default", verbosity=0)
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE and booking.mail_error == ""
    assert booking.mail_attempts == 2
    assert {m["X-Envelope-To"] for m in smtp.messages} == {"bea@example.com", "ada@example.com"}


def test_a_retry_after_a_partial_failure_sends_only_what_did_not_go_out(
    db, client, smtp, django_capture_on_commit_callbacks
):
    from scheduler import invites

    profile = open_profile()
    start, _ = first_slot(profile)
    smtp.refused.add("ada@example.com")  # the host's mailbox refuses; the invitee's accepts
    with django_capture_on_commit_callbacks(execute=True):
        booking = book_via_page(client, profile, start)
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.FAILED and "550" in booking.mail_error
    assert len(to(smtp.messages, "bea@example.com")) == 1
    assert booking.mail_sent == ["request:0:invitee"]

    smtp.refused.clear()
    assert invites.deliver_mail.call(booking.pk, "request", booking.sequence) == "sent"
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE
    assert len(to(smtp.messages, "bea@example.com")) == 1  # not sent twice
    assert len(to(smtp.messages, "ada@example.com")) == 1
