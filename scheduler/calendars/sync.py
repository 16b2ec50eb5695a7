"""Putting a booking on its hosts' primary calendars, or taking it off.

The builtin calendar is a table in our own database, so it is written inside the booking's
transaction. A CalDAV primary is another server: it is written by `sync_calendar`, a task
queued after commit and retried with back-off.
"""

from __future__ import annotations

import enum

from django_tasks import task

from scheduler import retries
from scheduler.calendars import builtin, caldav
from scheduler.models import Account, Booking, Calendar


class Action(enum.StrEnum):
    WRITE = "write"
    REMOVE = "remove"


def is_local(calendar: Calendar) -> bool:
    """Whether writing to `calendar` is a database write (no I/O) rather than a server call."""
    return calendar.kind != Calendar.Kind.CALDAV


def apply_local(booking: Booking, action: Action, calendars: list[Calendar]) -> None:
    """Write the booking to (or remove it from) several builtin calendars at once."""
    if action == Action.REMOVE:
        builtin.remove_many(calendars, booking)
    else:
        builtin.write_many(calendars, booking)


def apply(booking: Booking, action: Action, calendar: Calendar | None = None) -> None:
    """Write the booking to (or remove it from) `calendar`, the account's primary."""
    calendar = calendar or booking.account.primary_calendar()
    module = builtin if is_local(calendar) else caldav
    if action == Action.REMOVE:
        module.remove(calendar, booking)
    else:
        module.write(calendar, booking)


def apply_remote(booking: Booking, action: Action, account_ids: list[int] | None = None) -> None:
    """Write the booking to (or remove it from) the server-side primaries of its hosts (or of
    `account_ids`); the builtin ones were written in the booking's transaction."""
    ids = account_ids if account_ids is not None else booking.attendee_ids()
    for account in Account.objects.filter(pk__in=ids).order_by("pk"):
        primary = account.primary_calendar()
        if not is_local(primary):
            apply(booking, action, primary)


@task()
def sync_calendar(
    booking_id: int, action: str, sequence: int, account_ids: list[int] | None = None
) -> str:
    """Write the booking to (or remove it from) its hosts' primary calendars (or those of
    `account_ids`: hosts a reschedule took off the booking). Writes go by UID: a retry
    repeats nothing."""
    booking = Booking.objects.select_related("account", "profile").filter(pk=booking_id).first()
    if booking is None:
        return "gone"
    if booking.sequence > sequence:
        return "superseded"
    return retries.attempt(
        sync_calendar,
        retries.CALENDAR,
        booking,
        (booking_id, action, sequence, account_ids),
        lambda: apply_remote(booking, Action(action), account_ids),
    )
