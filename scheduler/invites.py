"""The emails for each change of a booking (SPEC §5), and the task that sends them.

`booking_ics` wraps the one VEVENT builder (calendars/ical.py) for mail and the "add to
calendar" download, `render_email` turns one kind of message into subject, text and HTML from
three templates, `send_booking_mail` sends the invitee's invite or cancellation plus the host's
notice, and `deliver_mail` is the retried task around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import task

from scheduler import localize, retries
from scheduler.calendars.ical import Method, booking_calendar, booking_hosts, fallback_subject
from scheduler.models import Account, Booking

# Which templates each mail uses: (invitee kind, host kind) per iTIP method.
_KINDS = {Method.REQUEST: ("invite", "host_notice"), Method.CANCEL: ("cancel", "host_cancel")}


def booking_ics(booking: Booking, method: Method | str) -> bytes:
    """A VCALENDAR for `booking`: `request` (invite or update), `cancel`, or `publish`
    (a plain "add to calendar" file)."""
    try:
        method = Method(method)
    except ValueError:
        names = ", ".join(m.value for m in Method)
        raise ValueError(f"method={method!r} is not one of {names}") from None
    return booking_calendar(booking, method)


def render_email(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the mail `kind` (templates/email/<kind>_subject.txt,
    <kind>.txt, <kind>.html); the subject is one line whatever the template's whitespace."""
    subject = render_to_string(f"email/{kind}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"email/{kind}.txt", context)
    html = render_to_string(f"email/{kind}.html", context)
    return subject, text, html


def _when(booking: Booking, zone: ZoneInfo) -> dict[str, str]:
    # Formatted here, in the active language (SPEC §10): the template filters would convert
    # back to the server's zone.
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    return {
        "date": localize.write(start, "full"),
        "short_date": localize.write(start, "short"),
        "start": localize.write(start, "time"),
        "end": localize.write(end, "time"),
        "timezone": str(zone.key),
    }


def _labels() -> dict[str, str]:
    """The invitee's field names in the active language; `text_labels` pads them to one
    width so the plain-text mail's values line up."""
    return {
        "what": _("What"),
        "when": _("When"),
        "length": _("Length"),
        "where": _("Where"),
        "join": _("Join"),
        "host": _("Host"),
    }


def _text_labels(labels: dict[str, str]) -> dict[str, str]:
    width = max(len(name) for name in labels.values()) + 3
    return {key: f"{name}:".ljust(width) for key, name in labels.items()}


def mail_context(booking: Booking) -> dict[str, Any]:
    """Everything the mail templates show: times in the invitee's zone (SPEC §10), and in the
    account's zone for the host."""
    profile = booking.profile
    zone = booking.invitee_zone
    host_zone = ZoneInfo(booking.account.timezone)
    labels = _labels()
    return {
        "booking": booking,
        "account": booking.account,
        "profile": profile,
        "subject": booking.subject or fallback_subject(booking),
        "when": _when(booking, zone),
        "host_when": _when(booking, host_zone),
        "duration_minutes": int((booking.end - booking.start).total_seconds() // 60),
        "meeting_url": booking.meeting_url(),
        # A cancelled booking shows no way to join it, not even as its location (SPEC §10).
        "cancelled": booking.status == Booking.Status.CANCELLED,
        "location": (
            ""
            if booking.status == Booking.Status.CANCELLED
            and booking.location == booking.meeting_url()
            else booking.location
        ),
        "manage_url": booking.manage_url(),
        "cancel_url": booking.cancel_url(),
        "reschedule_url": booking.reschedule_url(),
        "is_update": booking.sequence > 0,
        "site_url": settings.SITE_URL,
        "labels": labels,
        "text_labels": _text_labels(labels),
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
    # Which change of which booking this message tells of: lets a mailbox (or a test) see a
    # message sent twice, since each retry builds a new Message-ID.
    booking = context["booking"]
    message.extra_headers["X-Booking"] = f"{booking.uid} {booking.sequence} {kind}"
    return message


def _host_role(booking: Booking, host: Account) -> str:
    # The organizer keeps the plain "host" key that messages were recorded under before
    # group bookings had several hosts.
    return "host" if host.pk == booking.account_id else f"host-{host.pk}"


def booking_messages(booking: Booking, method: Method | str) -> list[tuple[str, Any]]:
    """(role, message) for the invitee's message (with the iTIP part and the .ics file) and
    each host's notice, in the host's own zone."""
    if method not in _KINDS:
        raise ValueError(f"method={method!r} is not one of request, cancel")
    method = Method(method)
    invitee_kind, host_kind = _KINDS[method]
    messages = []
    if booking.email:
        # The invitee's message and event in their language (SPEC §10).
        with localize.for_invitee(booking.language):
            ics = booking_ics(booking, method)
            invite = _message(
                invitee_kind, mail_context(booking), booking.email, booking.account.email
            )
        # Mail clients read the iTIP method from this part's Content-Type parameter.
        invite.attach_alternative(ics.decode(), f"text/calendar; method={method.value.upper()}")
        invite.attach("invite.ics", ics, "application/ics")
        messages.append(("invitee", invite))
    with localize.for_site():  # the hosts' notices in the site's language
        context = mail_context(booking)
        for host in booking_hosts(booking):
            when = _when(booking, ZoneInfo(host.timezone))
            mine = {**context, "account": host, "host_when": when}
            notice = _message(host_kind, mine, host.email, booking.email or None)
            messages.append((_host_role(booking, host), notice))
    return messages


def send_booking_mail(booking: Booking, method: Method | str) -> None:
    """Send the mails for `method` ("request" or "cancel") over one SMTP connection; any SMTP
    failure is raised so the task can retry. Each message accepted by the server is noted on
    the booking at once, so a retry sends only what has not gone out yet."""
    method = Method(method)
    messages = booking_messages(booking, method)
    sent = list(booking.mail_sent or [])
    with get_connection(fail_silently=False) as connection:
        for role, message in messages:
            key = f"{method.value}:{booking.sequence}:{role}"
            if key in sent:
                continue
            connection.send_messages([message])
            sent.append(key)
            Booking.objects.filter(pk=booking.pk).update(mail_sent=sent)
    booking.mail_sent = sent


@task()
def deliver_mail(booking_id: int, method: str, sequence: int) -> str:
    """Send the invitee's invite (or cancellation) and the hosts' notices; retried on failure."""
    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if booking.sequence > sequence:
        return "superseded"  # a newer change sent its own message
    return retries.attempt(
        deliver_mail,
        retries.MAIL,
        booking,
        (booking_id, method, sequence),
        lambda: send_booking_mail(booking, method),
        done="sent",
    )


# --- one-off messages to the invitee: reminders (SPEC §9) and the address check ------------


def _lead(minutes: int) -> str:
    """60 → "1 hour", 90 → "1 hour 30 minutes", 2880 → "2 days" (in the active language)."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        ngettext("%(count)d day", "%(count)d days", days) % {"count": days} if days else "",
        ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours} if hours else "",
        ngettext("%(count)d minute", "%(count)d minutes", mins) % {"count": mins} if mins else "",
    ]
    return " ".join(p for p in parts if p) or ngettext(
        "%(count)d minute", "%(count)d minutes", 0
    ) % {"count": 0}


def _send_once(booking: Booking, kind: str, key: str, extra: Callable[[], dict[str, Any]]) -> None:
    """Send the invitee's `kind` message, in their language, unless `key` is already in the
    booking's ledger; the key is recorded as soon as the SMTP server accepts the message.
    `extra` gives what this kind adds to the context (called in the invitee's language)."""
    if key in (booking.mail_sent or []) or not booking.email:
        return
    with localize.for_invitee(booking.language):
        context = {**mail_context(booking), **extra()}
        message = _message(kind, context, booking.email, booking.account.email)
    message.extra_headers["X-Booking"] = f"{booking.uid} {booking.sequence} {key}"
    with get_connection(fail_silently=False) as connection:
        connection.send_messages([message])
    sent = [*(booking.mail_sent or []), key]
    Booking.objects.filter(pk=booking.pk).update(mail_sent=sent)
    booking.mail_sent = sent


def reminder_key(minutes: int, start_ts: int) -> str:
    return f"reminder:{minutes}:{start_ts}"


@task()
def send_reminder(booking_id: int, minutes: int, start_ts: int) -> str:
    """The invitee's reminder `minutes` before the start the booking had when it was queued:
    sent once, never for a cancelled or moved booking, nor once the meeting has begun (a
    worker that was down sends an overdue one only while the meeting has not begun)."""
    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if booking.status != Booking.Status.CONFIRMED:
        return "not confirmed"
    if int(booking.start.timestamp()) != start_ts:
        return "moved"  # the reschedule queued its own reminders
    if timezone.now() >= booking.start:
        return "begun"
    key = reminder_key(minutes, start_ts)
    return retries.attempt(
        send_reminder,
        retries.MAIL,
        booking,
        (booking_id, minutes, start_ts),
        lambda: _send_once(booking, "reminder", key, lambda: {"lead": _lead(minutes)}),
        done="sent",
    )


@task()
def send_verification(booking_id: int) -> str:
    """The one mail asking the invitee to confirm their address (SPEC §9)."""
    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if not booking.awaiting_verification or not booking.is_live():
        return "not waiting"
    hold = booking.expires_at.astimezone(booking.invitee_zone)

    def extra() -> dict[str, Any]:
        return {"verify_url": booking.verify_url(), "hold_until": localize.write(hold, "time")}

    return retries.attempt(
        send_verification,
        retries.MAIL,
        booking,
        (booking_id,),
        lambda: _send_once(booking, "verify", "verify:0:invitee", extra),
        done="sent",
    )
