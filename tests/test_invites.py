"""The VCALENDAR and the three-part emails built by scheduler.invites (no SMTP here)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from scheduler import invites
from scheduler.models import Booking
from tests.factory import make_account, make_booking, make_profile

START = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
END = datetime(2026, 7, 1, 13, 45, tzinfo=UTC)


@pytest.fixture
def booking(db) -> Booking:
    account = make_account(
        handle="ada", name="Ada & Co", email="ada@example.com", timezone="America/New_York"
    )
    profile = make_profile(
        account,
        name="intro",
        work_hours={"timezone": "Europe/Berlin", "daySchedules": []},
        open_meeting_url="https://meet.example.com/ada",
    )
    return make_booking(
        profile,
        START,
        END,
        name="<b>Bea</b>",
        email="bea@example.com",
        subject="Plans & <ideas>",
        description="Line one\nLine two",
        location="Café, Berlin",
        sequence=3,
    )


def event(data: bytes):
    cal = Calendar.from_ical(data)
    return cal, cal.walk("VEVENT")[0]


@pytest.mark.parametrize(
    ("method", "status"),
    [("request", "CONFIRMED"), ("cancel", "CANCELLED"), ("publish", "CONFIRMED")],
)
def test_ics_carries_every_field(booking, method, status):
    cal, ev = event(invites.booking_ics(booking, method))
    assert str(cal["METHOD"]) == method.upper() and str(cal["VERSION"]) == "2.0"
    assert str(ev["UID"]) == booking.uid
    assert ev.decoded("DTSTART") == START and ev.decoded("DTEND") == END
    assert ev.decoded("DTSTART").utcoffset().total_seconds() == 0
    assert "DTSTAMP" in ev
    assert str(ev["SUMMARY"]) == "Plans & <ideas>"
    if method == "cancel":
        # A cancellation carries neither the manage links nor a way to join (SPEC §10).
        assert str(ev["DESCRIPTION"]) == "Line one\nLine two" and "URL" not in ev
    else:
        # The invitee's event holds the links to manage, move and cancel it (SPEC §10).
        assert str(ev["DESCRIPTION"]) == (
            "Line one\nLine two\n\n"
            f"Manage this booking: {booking.manage_url()}\n"
            f"Reschedule: {booking.reschedule_url()}\n"
            f"Cancel: {booking.cancel_url()}"
        )
        assert str(ev["URL"]) == "https://meet.example.com/ada"
    assert str(ev["LOCATION"]) == "Café, Berlin"
    assert str(ev["ORGANIZER"]) == "mailto:ada@example.com"
    assert ev["ORGANIZER"].params["CN"] == "Ada & Co"
    assert ev["ATTENDEE"].params["RSVP"] == "TRUE"
    assert ev["SEQUENCE"] == 3 and str(ev["STATUS"]) == status


def test_unknown_method_is_refused(booking):
    with pytest.raises(ValueError, match="method='reply'"):
        invites.booking_ics(booking, "reply")
    with pytest.raises(ValueError, match="method='publish'"):
        invites.booking_messages(booking, "publish")


def test_render_email_escapes_html_only_and_keeps_subject_on_one_line(booking):
    context = invites.mail_context(booking)
    subject, text, html = invites.render_email("invite", context)
    assert "\n" not in subject
    assert subject.startswith("Updated: Plans & <ideas>")  # sequence 3: an update
    # Times in the profile's zone (Berlin, UTC+2 in July), not the server's UTC.
    assert "Wednesday 1 July 2026, 15:00–15:45 (Europe/Berlin)" in text
    assert "Hello <b>Bea</b>," in text
    assert "Hello &lt;b&gt;Bea&lt;/b&gt;," in html and "<b>Bea</b>" not in html
    assert "Plans &amp; &lt;ideas&gt;" in html


def test_host_notice_uses_the_account_zone_and_names_the_invitee(booking):
    subject, text, _ = invites.render_email("host_notice", invites.mail_context(booking))
    assert "<b>Bea</b>" in subject and "(intro)" in subject
    assert "Wednesday 1 July 2026, 09:00–09:45 (America/New_York)" in text
    assert "Profile: intro" in text


def test_messages_without_invitee_email_only_notify_the_host(booking):
    booking.email = ""
    messages = invites.booking_messages(booking, "request")
    assert [(role, m.to) for role, m in messages] == [("host", ["ada@example.com"])]
