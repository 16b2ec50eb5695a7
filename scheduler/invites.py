"""The iCalendar object and the emails for each change of a booking (SPEC §5).

`booking_ics` builds the VCALENDAR (also served as the "add to calendar" download),
`render_email` turns one kind of message into subject, text and HTML from three templates,
and `send_booking_mail` sends the invitee's invite or cancellation plus the host's notice.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from scheduler import booking as booking_ops
from scheduler.models import Booking

METHODS = ("request", "cancel", "publish")
PRODID = "-//booking-service//scheduler//EN"

# Which templates each mail uses: (invitee kind, host kind) per iTIP method.
_KINDS = {"request": ("invite", "host_notice"), "cancel": ("cancel", "host_cancel")}


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def booking_ics(booking: Booking, method: str) -> bytes:
    """A VCALENDAR for `booking`: `request` (invite or update), `cancel`, or `publish`
    (a plain "add to calendar" file). UID is the booking's for its whole life; SEQUENCE is
    the booking's, which every change raises."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    account = booking.account
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method.upper())
    event = Event()
    event.add("uid", booking.uid)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("created", booking.created_at.astimezone(UTC))
    event.add("last-modified", (booking.updated_at or timezone.now()).astimezone(UTC))
    event.add("summary", booking.subject or _fallback_subject(booking))
    event.add("description", booking.description)
    event.add("location", booking.location)
    meeting = booking_ops.meeting_url(booking, booking.profile)
    if meeting:
        event.add("url", meeting)
    event.add("organizer", _address(account.email, account.name))
    if booking.email:
        event.add(
            "attendee",
            _address(
                booking.email,
                booking.name,
                ROLE="REQ-PARTICIPANT",
                PARTSTAT="NEEDS-ACTION",
                RSVP="TRUE",
            ),
        )
    event.add("sequence", booking.sequence)
    cancelled = method == "cancel" or booking.status == Booking.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return cal.to_ical()


def _fallback_subject(booking: Booking) -> str:
    return f"Meeting with {booking.account.name}"


def render_email(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the mail `kind` (templates/email/<kind>_subject.txt,
    <kind>.txt, <kind>.html); the subject is one line whatever the template's whitespace."""
    subject = render_to_string(f"email/{kind}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"email/{kind}.txt", context)
    html = render_to_string(f"email/{kind}.html", context)
    return subject, text, html


def _when(booking: Booking, zone: ZoneInfo) -> dict[str, str]:
    # Formatted here: the template `date` filter would convert back to the server's zone.
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    return {
        "date": f"{start:%A} {start.day} {start:%B %Y}",
        "short_date": f"{start:%a} {start.day} {start:%b %Y}",
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "timezone": str(zone.key),
    }


def mail_context(booking: Booking) -> dict[str, Any]:
    """Everything the mail templates show, times in the profile's zone (the invitee's own
    zone is not known to the server) and the account's zone for the host."""
    profile = booking.profile
    zone = profile.rules().zone if profile else ZoneInfo(booking.account.timezone)
    host_zone = ZoneInfo(booking.account.timezone)
    return {
        "booking": booking,
        "account": booking.account,
        "profile": profile,
        "subject": booking.subject or _fallback_subject(booking),
        "when": _when(booking, zone),
        "host_when": _when(booking, host_zone),
        "duration_minutes": int((booking.end - booking.start).total_seconds() // 60),
        "meeting_url": booking_ops.meeting_url(booking, profile),
        "manage_url": booking_ops.manage_url(booking),
        "cancel_url": booking_ops.cancel_url(booking),
        "reschedule_url": booking_ops.reschedule_url(booking),
        "is_update": booking.sequence > 0,
        "site_url": settings.SITE_URL,
    }


def _message(
    kind: str, context: dict[str, Any], to: str, reply_to: str | None
) -> EmailMultiAlternatives:
    subject, text, html = render_email(kind, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
    )
    message.attach_alternative(html, "text/html")
    return message


def booking_messages(booking: Booking, method: str) -> list[EmailMultiAlternatives]:
    """The invitee's message (with the iTIP part and the .ics file) and the host's notice."""
    if method not in _KINDS:
        raise ValueError(f"method={method!r} is not one of request, cancel")
    invitee_kind, host_kind = _KINDS[method]
    context = mail_context(booking)
    messages = []
    if booking.email:
        ics = booking_ics(booking, method)
        invite = _message(invitee_kind, context, booking.email, booking.account.email)
        # Mail clients read the iTIP method from this part's Content-Type parameter.
        invite.attach_alternative(ics.decode(), f"text/calendar; method={method.upper()}")
        invite.attach("invite.ics", ics, "application/ics")
        messages.append(invite)
    messages.append(_message(host_kind, context, booking.account.email, booking.email or None))
    return messages


def send_booking_mail(booking: Booking, method: str) -> None:
    """Send the mails for `method` ("request" or "cancel") over one SMTP connection; any SMTP
    failure is raised so the task can retry. Each message accepted by the server is noted on
    the booking at once, so a retry sends only what has not gone out yet."""
    messages = booking_messages(booking, method)
    roles = (["invitee"] if booking.email else []) + ["host"]
    sent = list(booking.mail_sent or [])
    with get_connection(fail_silently=False) as connection:
        for role, message in zip(roles, messages, strict=True):
            key = f"{method}:{booking.sequence}:{role}"
            if key in sent:
                continue
            connection.send_messages([message])
            sent.append(key)
            Booking.objects.filter(pk=booking.pk).update(mail_sent=sent)
    booking.mail_sent = sent
