"""Keeping the parsed busy copies of ics/caldav calendars fresh.

Availability never parses a feed: it reads Calendar.busy_intervals. `ensure_fresh` decides per
calendar, before availability is answered:

- never read, or the copy does not reach the requested window: read now, synchronously (bounded
  by CALENDAR_TIMEOUT_SECONDS), because answering without it would offer busy time as free;
- older than CALENDAR_REFRESH_SECONDS: answer from the copy and queue `tasks.refresh_calendar`
  (stale-while-revalidate); one request claims the refresh with a conditional UPDATE, so a burst
  of requests queues it once;
- a failed attempt keeps the last good copy and records `last_error`; attempts are spaced by
  CALENDAR_REFRESH_SECONDS (RETRY_UNREAD_SECONDS for a calendar with no copy at all).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from scheduler import availability
from scheduler.models import Calendar

logger = logging.getLogger(__name__)

MIN_RANGE = timedelta(days=60)
# The copy reaches this far past the longest horizon, so a 304 can keep it for that long.
RANGE_MARGIN = timedelta(days=7)
PAST = timedelta(days=1)
MAX_RANGE = timedelta(days=3 * 366)
RETRY_UNREAD_SECONDS = 30
_FIELDS = ["last_attempt_at", "last_error"]


def needed_until(calendar: Calendar, now: datetime) -> datetime:
    """The furthest instant any profile of the account can offer: the longest horizon."""
    until = now + MIN_RANGE
    for profile in calendar.account.profiles.all():
        try:
            until = max(until, availability.horizon_end(profile.rules(), now))
        except Exception:  # noqa: BLE001 - a broken profile must not stop the refresh
            logger.warning("profile %s has no usable horizon", profile.pk, exc_info=True)
    return until


def _fetch_entries(calendar: Calendar, lo: datetime, hi: datetime, conditional: bool) -> bool:
    """Put a new copy (or a 304's headers) on `calendar`; True when the copy was replaced."""
    if calendar.kind == Calendar.Kind.CALDAV:
        from scheduler.calendars import caldav

        calendar.busy_intervals = caldav.busy_entries(calendar, lo, hi)
        return True
    from scheduler.calendars import fetch, ics

    fetched = fetch.fetch_feed(
        calendar.url,
        etag=calendar.etag if conditional else "",
        last_modified=calendar.last_modified if conditional else "",
    )
    calendar.etag, calendar.last_modified = fetched.etag[:500], fetched.last_modified[:100]
    if fetched.body is None:
        return False
    calendar.busy_intervals = ics.busy_entries(fetched.body, lo, hi)
    return True


def refresh(
    calendar: Calendar, now: datetime | None = None, *, until: datetime | None = None
) -> Calendar:
    """Fetch and parse one calendar now, its copy reaching the longest horizon (or `until`,
    at most MAX_RANGE ahead). Never raises: a failure is recorded on the calendar
    (last_error, last_attempt_at) and its last good copy is kept."""
    now = now or timezone.now()
    calendar.last_attempt_at = now
    lo, hi = now - PAST, needed_until(calendar, now) + RANGE_MARGIN
    if until is not None:
        hi = max(hi, min(until, now + MAX_RANGE))
    # A 304 can only keep a copy that reaches the horizon; otherwise ask for the whole feed.
    reaches = calendar.busy_until is not None and calendar.busy_until >= hi - RANGE_MARGIN
    conditional = calendar.last_fetched_at is not None and reaches
    try:
        replaced = _fetch_entries(calendar, lo, hi, conditional)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, never raised
        calendar.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("calendar %s refresh failed: %s", calendar.pk, calendar.last_error)
        Calendar.objects.filter(pk=calendar.pk).update(
            last_attempt_at=now, last_error=calendar.last_error
        )
        return calendar
    calendar.last_error = ""
    calendar.last_fetched_at = now
    fields = [*_FIELDS, "last_fetched_at", "etag", "last_modified"]
    if replaced:
        calendar.busy_from, calendar.busy_until = lo, hi
        fields += ["busy_intervals", "busy_from", "busy_until"]
    calendar.save(update_fields=fields)
    return calendar


def refresh_duration(calendar: Calendar) -> float:
    """Seconds one unconditional refresh of `calendar` takes (for the benchmark)."""
    calendar.etag = calendar.last_modified = ""
    calendar.busy_until = None
    started = time.perf_counter()
    refresh(calendar)
    return time.perf_counter() - started


def _claim(calendar: Calendar, now: datetime) -> bool:
    """Mark the attempt; False when another request claimed it first."""
    rows = Calendar.objects.filter(pk=calendar.pk, last_attempt_at=calendar.last_attempt_at)
    if calendar.last_attempt_at is None:
        rows = Calendar.objects.filter(pk=calendar.pk, last_attempt_at__isnull=True)
    claimed = rows.update(last_attempt_at=now) == 1
    if claimed:
        calendar.last_attempt_at = now
    return claimed


def _seconds_since(then: datetime | None, now: datetime) -> float:
    return float("inf") if then is None else (now - then).total_seconds()


def ensure_fresh(
    calendars: list[Calendar], now: datetime | None = None, until: datetime | None = None
) -> list[Calendar]:
    """The calendars with usable busy copies (see the module docstring for the policy).

    Costs no query when every copy is fresh and reaches `until`.
    """
    now = now or timezone.now()
    fresh: list[Calendar] = []
    for calendar in calendars:
        since_attempt = _seconds_since(calendar.last_attempt_at, now)
        reach = None if until is None else min(until, now + MAX_RANGE)
        uncovered = calendar.last_fetched_at is None or (
            reach is not None and (calendar.busy_until is None or calendar.busy_until < reach)
        )
        if uncovered:
            # Right after a failure, wait a little before making requests wait again.
            settled = not calendar.last_error or since_attempt >= RETRY_UNREAD_SECONDS
            if settled and _claim(calendar, now):
                calendar = refresh(calendar, now, until=until)
        elif _seconds_since(calendar.last_fetched_at, now) >= settings.CALENDAR_REFRESH_SECONDS:
            if since_attempt >= settings.CALENDAR_REFRESH_SECONDS and _claim(calendar, now):
                _queue_refresh(calendar)
        fresh.append(calendar)
    return fresh


def _queue_refresh(calendar: Calendar) -> None:
    from scheduler.tasks import refresh_calendar

    try:
        refresh_calendar.enqueue(calendar.pk)
    except Exception:  # noqa: BLE001 - a stale copy is still an answer
        logger.exception("could not queue a refresh of calendar %s", calendar.pk)
