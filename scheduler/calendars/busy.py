"""Busy time of an account: every calendar's stored copy plus its live bookings.

Never does I/O: external calendars are read by `refresh.make_fresh` before a request (or a
booking's lock) needs them, and only their stored copies are read here.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from django.db.models import Q

from scheduler.calendars import builtin, busy_copy
from scheduler.dbfuncs import busy_pairs
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
    lo_ts, hi_ts = lo.timestamp(), hi.timestamp()
    zone = tz if isinstance(tz, tzinfo) else ZoneInfo(tz or account.timezone)
    busy: list[tuple[float, float]] = []
    calendars = list(account.calendars.all())
    external = [c for c in calendars if c.kind != Calendar.Kind.BUILTIN]
    for calendar in external:
        busy.extend(_external_busy(calendar, lo_ts, hi_ts, zone))
    busy.extend(builtin.busy(calendars, lo, hi))
    # Every booking the account attends: its own profiles' and group bookings alike (§8).
    held = Attendee.objects.filter(account=account).live(now).overlapping(lo, hi)
    if exclude_booking_id is not None:
        held = held.filter(~Q(booking_id=exclude_booking_id))
    busy.extend(busy_pairs(held))
    return busy
