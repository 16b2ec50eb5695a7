"""Keeping the parsed busy copies of ics/caldav calendars fresh.

Availability never parses a feed: it reads Calendar.busy_intervals. `make_fresh` runs before a
request reads busy time, and before a booking takes its lock, never inside a transaction:

- never read, or the copy does not reach the requested window: read now, because answering
  without it would offer busy time as free. One process takes a lease (`reading_until`) and
  reads; concurrent first readers wait for its copy instead of reading too or answering
  without it. A lease outlives a dead reader by at most the fetch deadline;
- older than CALENDAR_REFRESH_SECONDS: answer from the copy and queue `refresh_calendar`
  (stale-while-revalidate); one request claims the refresh with a conditional UPDATE, so a
  burst of requests queues it once;
- a failed attempt keeps the last good copy and records `last_error`; attempts are spaced by
  CALENDAR_REFRESH_SECONDS (RETRY_UNREAD_SECONDS for a calendar with no copy at all).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from scheduler.calendars import caldav, fetch, ics
from scheduler.models import Account, Calendar
from scheduler.rules import availability

logger = logging.getLogger(__name__)

MIN_RANGE = timedelta(days=60)
# The copy reaches this far past the longest horizon, so a 304 can keep it for that long.
RANGE_MARGIN = timedelta(days=7)
PAST = timedelta(days=1)
MAX_RANGE = timedelta(days=3 * 366)
RETRY_UNREAD_SECONDS = 30
POLL_SECONDS = 0.05
_FIELDS = ["last_attempt_at", "last_error"]
# What deciding needs; the copy itself (busy_intervals) can be large and is read only when used.
_STATE = (
    "id",
    "account_id",
    "kind",
    "url",
    "last_fetched_at",
    "last_attempt_at",
    "last_error",
    "busy_until",
    "reading_until",
)


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
        calendar.busy_intervals = caldav.busy_entries(calendar, lo, hi)
        return True
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
    (last_error, last_attempt_at) and its last good copy is kept. Releases the read lease."""
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
        calendar.reading_until = None
        Calendar.objects.filter(pk=calendar.pk).update(
            last_attempt_at=now, last_error=calendar.last_error, reading_until=None
        )
        return calendar
    calendar.last_error = ""
    calendar.last_fetched_at = now
    calendar.reading_until = None
    fields = [*_FIELDS, "last_fetched_at", "etag", "last_modified", "reading_until"]
    if replaced:
        calendar.busy_from, calendar.busy_until = lo, hi
        fields += ["busy_intervals", "busy_from", "busy_until"]
    calendar.save(update_fields=fields)
    return calendar


@task()
def refresh_calendar(calendar_id: int) -> str:
    """Fetch an ics/caldav calendar again and store its parsed busy copy."""
    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        return "gone"
    now = timezone.now()
    if not _take_lease(calendar, now):
        return "busy"  # another process is reading it right now; its copy will do
    refresh(calendar, now)
    return "done"


def refresh_due(now: datetime | None = None) -> int:
    """Queue a read of every external calendar whose copy will be stale within a minute (or
    that was never read), so requests find fresh copies instead of reading themselves.
    Calendars that failed recently wait as requests would; returns how many were queued."""
    now = now or timezone.now()
    period = settings.CALENDAR_REFRESH_SECONDS
    soon = now - timedelta(seconds=max(period - 60, period / 2))
    due = (
        Calendar.objects.exclude(kind=Calendar.Kind.BUILTIN)
        .filter(Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lte=soon))
        .filter(Q(reading_until__isnull=True) | Q(reading_until__lte=now))
        .only(*_STATE)
    )
    queued = 0
    for calendar in due:
        since_attempt = _seconds_since(calendar.last_attempt_at, now)
        if since_attempt < RETRY_UNREAD_SECONDS:
            continue  # read, or queued to be read, a moment ago
        spacing = RETRY_UNREAD_SECONDS if calendar.last_fetched_at is None else period
        if calendar.last_error and since_attempt < spacing:
            continue
        if _claim(calendar, now):
            queue_refresh(calendar)
            queued += 1
    return queued


def _claim(calendar: Calendar, now: datetime) -> bool:
    """Mark the attempt; False when another request claimed it first."""
    rows = Calendar.objects.filter(pk=calendar.pk, last_attempt_at=calendar.last_attempt_at)
    if calendar.last_attempt_at is None:
        rows = Calendar.objects.filter(pk=calendar.pk, last_attempt_at__isnull=True)
    claimed = rows.update(last_attempt_at=now) == 1
    if claimed:
        calendar.last_attempt_at = now
    return claimed


def lease_seconds() -> float:
    """How long a first read may hold its lease: the fetch's own deadline, plus time to parse
    and store the copy (a large feed takes seconds after its last byte)."""
    return fetch.total_seconds() + 30


def _take_lease(calendar: Calendar, now: datetime) -> bool:
    """Become the one reader of a calendar nobody is reading (or whose reader died)."""
    until = now + timedelta(seconds=lease_seconds())
    free = Q(reading_until__isnull=True) | Q(reading_until__lte=now)
    taken = (
        Calendar.objects.filter(free, pk=calendar.pk).update(
            reading_until=until, last_attempt_at=now
        )
        == 1
    )
    if taken:
        calendar.reading_until, calendar.last_attempt_at = until, now
    return taken


def _wait_for_reader(calendar: Calendar) -> None:
    """Wait (no lock held) until the process holding the lease has stored its copy or given up."""
    deadline = time.monotonic() + lease_seconds()
    rows = Calendar.objects.filter(pk=calendar.pk)
    while time.monotonic() < deadline:
        until = rows.values_list("reading_until", flat=True).first()
        if until is None or until <= timezone.now():
            return
        time.sleep(POLL_SECONDS)


def _seconds_since(then: datetime | None, now: datetime) -> float:
    return float("inf") if then is None else (now - then).total_seconds()


def _uncovered(calendar: Calendar, reach: datetime | None) -> bool:
    if calendar.last_fetched_at is None:
        return True
    return reach is not None and (calendar.busy_until is None or calendar.busy_until < reach)


def _read_first(calendar: Calendar, now: datetime, until: datetime | None) -> None:
    """Read a calendar whose copy is missing or too short, or wait for whoever reads it."""
    for _ in range(2):  # a second round only when the reader we waited for died
        since_attempt = _seconds_since(calendar.last_attempt_at, now)
        # Right after a failure, wait a little before making requests wait again.
        if calendar.last_error and since_attempt < RETRY_UNREAD_SECONDS:
            return
        if _take_lease(calendar, now):
            full = Calendar.objects.get(pk=calendar.pk)
            refresh(full, now, until=until)
            return
        _wait_for_reader(calendar)
        calendar = Calendar.objects.only(*_STATE).get(pk=calendar.pk)
        reach = None if until is None else min(until, now + MAX_RANGE)
        if not _uncovered(calendar, reach) or calendar.last_error:
            return


def make_fresh(
    account: Account, now: datetime | None = None, until: datetime | None = None
) -> None:
    """Make the account's external calendars fit to answer up to `until` (see the module
    docstring). Does I/O: call it before taking a lock, never inside a transaction. Costs one
    small query when every copy is fresh and reaches `until`."""
    make_fresh_many([account], now, until)


def make_fresh_many(
    accounts: Sequence[Account], now: datetime | None = None, until: datetime | None = None
) -> None:
    """`make_fresh` for several accounts (a group profile's hosts), with one query."""
    now = now or timezone.now()
    calendars = Calendar.objects.filter(account__in=[a.pk for a in accounts])
    calendars = calendars.exclude(kind=Calendar.Kind.BUILTIN)
    reach = None if until is None else min(until, now + MAX_RANGE)
    for calendar in calendars.only(*_STATE):
        if _uncovered(calendar, reach):
            _read_first(calendar, now, until)
        elif _seconds_since(calendar.last_fetched_at, now) >= settings.CALENDAR_REFRESH_SECONDS:
            since_attempt = _seconds_since(calendar.last_attempt_at, now)
            if since_attempt >= settings.CALENDAR_REFRESH_SECONDS and _claim(calendar, now):
                queue_refresh(calendar)


def queue_refresh(calendar: Calendar) -> None:
    try:
        refresh_calendar.enqueue(calendar.pk)
    except Exception:  # noqa: BLE001 - a stale copy is still an answer
        logger.exception("could not queue a refresh of calendar %s", calendar.pk)
