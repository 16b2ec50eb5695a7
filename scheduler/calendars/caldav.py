"""CalDAV calendars: reading busy time, and writing bookings to a primary calendar.

Reading asks the server for the events with an instance in the range (a time-range REPORT
through `calendar.search`) *unexpanded*, and expands them here with the same code as ICS feeds.
Server-side expansion (RFC 4791 §9.6.5) answers in UTC, which would lose what SPEC §3 needs to
know: that an event is all-day or floating and so belongs to local dates "in tz".

Writing PUTs one VEVENT per booking at `<calendar url>/<uid>.ics`; rescheduling PUTs the same
resource again with a higher SEQUENCE, cancelling DELETEs it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import icalendar
from caldav import DAVClient
from django.conf import settings
from django.utils import timezone

from scheduler.calendars import busy_copy, ics
from scheduler.calendars.ssrf import validate_calendar_url
from scheduler.models import Booking, Calendar

PRODID = "-//booking-service//CalDAV writer//EN"


class CalDAVError(Exception):
    """The CalDAV server refused or failed a request; the message names the URL and status."""


def _client(calendar: Calendar) -> DAVClient:
    validate_calendar_url(calendar.url)
    client = DAVClient(
        url=calendar.url,
        username=calendar.username or None,
        password=calendar.password or None,
        timeout=settings.CALENDAR_TIMEOUT_SECONDS,
        enable_rfc6764=False,
        # Self-hosted servers on a LAN often speak plain HTTP; the SSRF rule decides reachability.
        require_tls=False,
    )
    # A redirect would take the request to a host the SSRF check never saw.
    client.session.max_redirects = 0
    return client


def _collection_url(calendar: Calendar) -> str:
    return calendar.url if calendar.url.endswith("/") else calendar.url + "/"


def resource_url(calendar: Calendar, uid: str) -> str:
    """Where a booking's event lives: the collection URL plus `<uid>.ics`, the UID quoted."""
    return _collection_url(calendar) + quote(uid, safe="") + ".ics"


def busy_entries(calendar: Calendar, lo: datetime, hi: datetime) -> list:
    """The busy copy (busy_copy format) of the CalDAV calendar over `[lo, hi)`.

    Our own bookings on a primary calendar are left out: availability reads them from the
    database, where a cancelled or moved booking stops blocking at once.
    """
    collection = _client(calendar).calendar(url=_collection_url(calendar))
    # The server matches floating and all-day events in its own zone; the padding covers ours.
    objects = collection.search(start=lo - ics.PAD, end=hi + ics.PAD, event=True, expand=False)
    parsed = [ics.load_calendar(obj.data) for obj in objects if obj.data]
    uids = {str(e.get("UID", "")) for cal in parsed for e in cal.walk("VEVENT")}
    ours = set(
        Booking.objects.filter(account_id=calendar.account_id, uid__in=uids).values_list(
            "uid", flat=True
        )
    )
    absolute: ics.Intervals = []
    local: ics.Intervals = []
    for cal in parsed:
        fixed, wall_clock = ics.blocking_intervals(cal, lo, hi, skip_uids=ours)
        absolute += fixed
        local += wall_clock
    return busy_copy.encode(absolute, local)


def _address(email: str) -> icalendar.vCalAddress:
    return icalendar.vCalAddress(f"mailto:{email}")


def event_ical(booking: Booking) -> str:
    """The VCALENDAR holding the booking's VEVENT, times in UTC."""
    account = booking.account
    event = icalendar.Event()
    event.add("UID", booking.uid)
    event.add("DTSTAMP", timezone.now().astimezone(UTC))
    event.add("DTSTART", booking.start.astimezone(UTC))
    event.add("DTEND", booking.end.astimezone(UTC))
    event.add("SEQUENCE", booking.sequence)
    event.add("SUMMARY", booking.subject or "Meeting")
    if booking.description:
        event.add("DESCRIPTION", booking.description)
    if booking.location:
        event.add("LOCATION", booking.location)
    status = "TENTATIVE" if booking.status == Booking.Status.RESERVED else "CONFIRMED"
    event.add("STATUS", status)
    organizer = _address(account.email)
    organizer.params["CN"] = account.name
    event.add("ORGANIZER", organizer)
    if booking.email:
        attendee = _address(booking.email)
        attendee.params.update({"CN": booking.name or booking.email, "ROLE": "REQ-PARTICIPANT"})
        attendee.params.update({"PARTSTAT": "ACCEPTED", "RSVP": "FALSE"})
        event.add("ATTENDEE", attendee)
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add_component(event)
    return cal.to_ical().decode()


def write(calendar: Calendar, booking: Booking) -> None:
    """PUT the booking's event (creating or replacing it); CalDAVError unless the server agrees."""
    url = resource_url(calendar, booking.uid)
    response = _client(calendar).put(
        url, event_ical(booking), {"Content-Type": "text/calendar; charset=utf-8"}
    )
    if response.status not in (200, 201, 204):
        raise CalDAVError(f"PUT {url} answered HTTP {response.status}; expected 201 or 204")


def remove(calendar: Calendar, booking: Booking) -> None:
    """DELETE the booking's event; one that is already gone counts as removed."""
    url = resource_url(calendar, booking.uid)
    response = _client(calendar).delete(url)
    if response.status not in (200, 204, 404, 410):
        raise CalDAVError(f"DELETE {url} answered HTTP {response.status}; expected 204")
