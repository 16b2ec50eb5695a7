"""Busy time of an account: every calendar's stored copy plus its live bookings.

Never does I/O: external calendars are read by `refresh.make_fresh` before a request (or a
booking's lock) needs them, and only their stored copies are read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from django.db.models import Q

from scheduler.calendars import builtin, busy_copy
from scheduler.dbfuncs import busy_pairs, busy_rows
from scheduler.models import Account, Attendee, Calendar


def _external_busy(
    calendar: Calendar, lo: float, hi: float, zone: tzinfo
) -> list[tuple[float, float]]:
    return busy_copy.read(calendar.busy_intervals or (), lo, hi, zone)


def account_busy(
    account: Account,
    lo: datetime,
    hi: datetime,
    *,
    now: datetime | None = None,
    exclude_booking_id: int | None = None,
    tz: tzinfo | str | None = None,
) -> list[tuple[float, float]]:
    """Union input for SPEC §3 rule 4: every calendar's events plus the live bookings the
    account attends.

    All-day and floating events of external calendars are read in `tz` (the profile's zone;
    the account's when not given).
    """
    found = accounts_busy([account], lo, hi, now=now, exclude_booking_id=exclude_booking_id, tz=tz)
    return found[account.pk]


def accounts_busy(
    accounts: Sequence[Account],
    lo: datetime,
    hi: datetime,
    *,
    now: datetime | None = None,
    exclude_booking_id: int | None = None,
    tz: tzinfo | str | None = None,
) -> dict[int, list[tuple[float, float]]]:
    """`account_busy` of several accounts at once (a group profile's hosts): the bookings
    they attend are read in one query."""
    lo_ts, hi_ts = lo.timestamp(), hi.timestamp()
    out: dict[int, list[tuple[float, float]]] = {}
    for account in accounts:
        zone = tz if isinstance(tz, tzinfo) else ZoneInfo(tz or account.timezone)
        busy: list[tuple[float, float]] = []
        calendars = list(account.calendars.all())
        for calendar in calendars:
            if calendar.kind != Calendar.Kind.BUILTIN:
                busy.extend(_external_busy(calendar, lo_ts, hi_ts, zone))
        busy.extend(builtin.busy(calendars, lo, hi))
        out[account.pk] = busy
    # Every booking the accounts attend: their own profiles' and group bookings alike (§8).
    held = Attendee.objects.filter(account__in=[a.pk for a in accounts])
    held = held.live(now).overlapping(lo, hi)
    if exclude_booking_id is not None:
        held = held.filter(~Q(booking_id=exclude_booking_id))
    if len(accounts) == 1:
        out[accounts[0].pk].extend(busy_pairs(held))
    else:
        for account_id, start, end in busy_rows(held):
            out[account_id].append((start, end))
    return out
