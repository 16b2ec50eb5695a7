"""Add-to-calendar links for Google Calendar and Outlook.com (SPEC §10), beside the .ics."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlencode

from scheduler.calendars.ical import Method, event_description, fallback_subject
from scheduler.models import Booking


def _details(booking: Booking) -> dict[str, str]:
    return {
        "title": booking.subject or fallback_subject(booking),
        "details": event_description(booking, Method.PUBLISH),
        "location": booking.location,
    }


def google_calendar_url(booking: Booking) -> str:
    found = _details(booking)
    span = "/".join(f"{t.astimezone(UTC):%Y%m%dT%H%M%SZ}" for t in (booking.start, booking.end))
    query = {
        "action": "TEMPLATE",
        "text": found["title"],
        "dates": span,
        "details": found["details"],
        "location": found["location"],
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_calendar_url(booking: Booking) -> str:
    found = _details(booking)
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": found["title"],
        "startdt": booking.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": booking.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": found["details"],
        "location": found["location"],
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(query)
