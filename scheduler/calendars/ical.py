"""The one builder of a booking's VEVENT: the invite mails, the `.ics` download and the event
written to a CalDAV primary all carry the same event, so UID, SEQUENCE, times and text agree.
"""

from __future__ import annotations

import enum
from datetime import UTC

import icalendar
from django.utils import timezone
from django.utils.translation import gettext as _

from scheduler.models import Account, Booking

PRODID = "-//booking-service//scheduler//EN"


class Method(enum.StrEnum):
    """The iTIP method of a VCALENDAR (RFC 5546); a host calendar's copy has none."""

    REQUEST = "request"
    CANCEL = "cancel"
    PUBLISH = "publish"


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = icalendar.vText(name)
    for key, value in params.items():
        address.params[key] = icalendar.vText(value)
    return address


def fallback_subject(booking: Booking) -> str:
    """In the active language: the invitee's mails and downloads are rendered in theirs."""
    return _("Meeting with %(host)s") % {"host": booking.account.name}


def _status(booking: Booking, method: Method | None) -> str:
    if method == Method.CANCEL or booking.status == Booking.Status.CANCELLED:
        return "CANCELLED"
    if booking.status == Booking.Status.RESERVED:
        return "TENTATIVE"
    return "CONFIRMED"


def booking_hosts(booking: Booking) -> list[Account]:
    """Every host attending, the organizer (the booking's account) first."""
    ids = booking.attendee_ids() or [booking.account_id]
    found = {a.pk: a for a in Account.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def event_description(booking: Booking, method: Method | None) -> str:
    """The booking's description; the invitee's copy (a mail or the download) ends with the
    links to manage, move and cancel it (SPEC §10), while it is live."""
    text = booking.description or ""
    live = booking.status != Booking.Status.CANCELLED and method != Method.CANCEL
    if method is None or not live:
        return text
    links = "\n".join(
        [
            _("Manage this booking: %(url)s") % {"url": booking.manage_url()},
            _("Reschedule: %(url)s") % {"url": booking.reschedule_url()},
            _("Cancel: %(url)s") % {"url": booking.cancel_url()},
        ]
    )
    return f"{text}\n\n{links}" if text else links


def booking_event(
    booking: Booking, method: Method | None, hosts: list[Account] | None = None
) -> icalendar.Event:
    """The booking's VEVENT. UID is the booking's for its whole life; SEQUENCE is the booking's,
    which every change raises. In a mail (`method` given) the invitee still has to answer;
    on the host's own calendar (`method=None`) they have accepted by booking. `hosts` is
    `booking_hosts(booking)` when the caller read it already (a feed reads all at once)."""
    account = booking.account
    now = timezone.now().astimezone(UTC)
    event = icalendar.Event()
    event.add("uid", booking.uid)
    event.add("dtstamp", now)
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("created", booking.created_at.astimezone(UTC))
    event.add("last-modified", (booking.updated_at or now).astimezone(UTC))
    event.add("summary", booking.subject or fallback_subject(booking))
    event.add("description", event_description(booking, method))
    cancelled = booking.status == Booking.Status.CANCELLED or method == Method.CANCEL
    meeting = booking.meeting_url()
    # A cancelled booking shows no way to join it (SPEC §10).
    if not (cancelled and meeting and booking.location == meeting):
        event.add("location", booking.location)
    if meeting and not cancelled:
        event.add("url", meeting)
    event.add("organizer", _address(account.email, account.name))
    # The other hosts of a group booking (SPEC §8): they were booked, so they have accepted.
    for host in (booking_hosts(booking) if hosts is None else hosts)[1:]:
        event.add(
            "attendee",
            _address(
                host.email, host.name, ROLE="REQ-PARTICIPANT", PARTSTAT="ACCEPTED", RSVP="FALSE"
            ),
        )
    if booking.email:
        answer = {"PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
        if method is None:
            answer = {"PARTSTAT": "ACCEPTED", "RSVP": "FALSE"}
        attendee = _address(
            booking.email, booking.name or booking.email, ROLE="REQ-PARTICIPANT", **answer
        )
        event.add("attendee", attendee)
    event.add("sequence", booking.sequence)
    event.add("status", _status(booking, method))
    event.add("transp", "OPAQUE")
    return event


def booking_calendar(booking: Booking, method: Method | None) -> bytes:
    """A VCALENDAR holding the booking's VEVENT, with `METHOD` when it is an iTIP message."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method is not None:
        cal.add("method", method.value.upper())
    cal.add_component(booking_event(booking, method))
    return cal.to_ical()
