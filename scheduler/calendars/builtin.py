"""The built-in calendar: events stored in the database."""

from __future__ import annotations

from datetime import datetime

from scheduler.dbfuncs import busy_pairs
from scheduler.models import Account, Booking, Calendar, Event


def busy(
    account: Account, lo: datetime, hi: datetime, *, exclude_booking_id: int | None = None
) -> list[tuple[float, float]]:
    events = (
        Event.objects.filter(calendar__account=account, calendar__kind=Calendar.Kind.BUILTIN)
        .busy()
        .overlapping(lo, hi)
    )
    if exclude_booking_id is not None:
        events = events.exclude(booking_id=exclude_booking_id)
    # Events written for bookings mirror the booking rows, which account_busy adds anyway.
    events = events.filter(booking__isnull=True)
    return busy_pairs(events)


def write(calendar: Calendar, booking: Booking) -> None:
    Event.objects.update_or_create(
        booking=booking,
        defaults={
            "calendar": calendar,
            "uid": booking.uid,
            "summary": booking.subject,
            "start": booking.start,
            "end": booking.end,
            "cancelled": False,
        },
    )


def remove(calendar: Calendar, booking: Booking) -> None:
    Event.objects.filter(booking=booking).delete()
