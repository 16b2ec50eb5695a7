"""The built-in calendar: events stored in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from scheduler.dbfuncs import busy_pairs
from scheduler.models import Booking, Calendar, Event

_RECENT_MAX = 512
_recent: dict[str, list[tuple[int, int]]] = {}


def forget_recent() -> None:
    """Drop this process's recent copies (tests that start from an empty cache)."""
    _recent.clear()


def _copy(calendar: Calendar) -> list[tuple[int, int]]:
    """The calendar's own busy events from yesterday on, as (start, end) POSIX seconds.

    Cached under the calendar's `events_version`, which every change of its events bumps
    (scheduler/signals.py), so the key itself says whether the copy is current: no expiry
    and no invalidation across processes needed. Availability windows never start in the
    past, so events that ended before yesterday can be left out.
    """
    # created_at guards against a reused primary key (SQLite reuses them after a rollback).
    key = f"builtin-busy:{calendar.pk}:{calendar.created_at.timestamp()}:{calendar.events_version}"
    pairs = _recent.get(key)
    if pairs is not None:
        return pairs
    pairs = cache.get(key)
    if pairs is None:
        since = timezone.now() - timedelta(days=1)
        events = Event.objects.filter(calendar=calendar, booking__isnull=True, end__gt=since)
        pairs = busy_pairs(events.busy())
        cache.set(key, pairs, timeout=24 * 3600)
    # The key says whether a copy is current, so this process may keep recent ones too and
    # skip unpickling them on every request (a group profile reads ten).
    if len(_recent) >= _RECENT_MAX:
        _recent.pop(next(iter(_recent)))
    _recent[key] = pairs
    return pairs


def busy(calendars: Iterable[Calendar], lo: datetime, hi: datetime) -> list[tuple[float, float]]:
    """Busy time of the builtin calendars' own events (not the ones mirroring bookings: the
    booking rows are read directly)."""
    lo_ts, hi_ts = lo.timestamp(), hi.timestamp()
    out: list[tuple[float, float]] = []
    for calendar in calendars:
        if calendar.kind == Calendar.Kind.BUILTIN:
            out.extend(p for p in _copy(calendar) if p[1] > lo_ts and p[0] < hi_ts)
    return out


def write(calendar: Calendar, booking: Booking) -> None:
    write_many([calendar], booking)


def remove(calendar: Calendar, booking: Booking) -> None:
    remove_many([calendar], booking)


def write_many(calendars: Iterable[Calendar], booking: Booking) -> None:
    """The booking on each of several builtin calendars (a group booking's hosts): the events
    it already has there updated, the others added, in three queries."""
    ids = [c.pk for c in calendars]
    fields = {
        "uid": booking.uid,
        "summary": booking.subject,
        "start": booking.start,
        "end": booking.end,
        "cancelled": False,
    }
    mine = Event.objects.filter(booking=booking, calendar_id__in=ids)
    present = set(mine.values_list("calendar_id", flat=True))
    if present:
        mine.update(**fields)
    Event.objects.bulk_create(
        Event(booking=booking, calendar_id=c, **fields) for c in ids if c not in present
    )


def remove_many(calendars: Iterable[Calendar], booking: Booking) -> None:
    Event.objects.filter(booking=booking, calendar__in=list(calendars)).delete()
