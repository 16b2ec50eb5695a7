"""An account's calendar feeds (SPEC §9): its bookings and its free/busy time, read by
calendar apps through a secret per-account key.

- `bookings.ics`: every confirmed booking the account attends (group bookings too), and the
  ones cancelled in the last FEED_CANCELLED_DAYS as `STATUS:CANCELLED`, each the very VEVENT
  of the invites (calendars/ical.py), so UID and SEQUENCE agree and a calendar that got the
  invite too sees one event;
- `freebusy.ics`: one VFREEBUSY of the busy time availability uses (SPEC §3 rule 4), merged
  and clipped to now … now + FEED_FREEBUSY_DAYS; no summaries, invitees or event UIDs.

Each feed comes with its ETag. Building reads external calendars first when their copies are
stale (I/O): call it outside any lock or transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import icalendar
from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from scheduler.calendars import refresh
from scheduler.calendars.busy import account_busy
from scheduler.calendars.ical import PRODID, booking_event
from scheduler.models import Account, Attendee, Booking, new_feed_key
from scheduler.rules.intervals import merge

# How often calendar apps should read the feeds again (RFC 7986; Outlook's older spelling).
REFRESH_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True)
class Feed:
    body: bytes
    # Quoted, ready for the ETag header; weak (W/) when it versions the data, not the bytes.
    etag: str


@dataclass(frozen=True)
class FeedLinks:
    bookings_url: str
    freebusy_url: str


def account_for(handle: str, key: str) -> Account | None:
    """The account whose feeds `handle` and `key` open, or None: an unknown handle (an
    organization's included: they have no feeds), a missing key or a wrong one alike."""
    if not key or len(key) > 200:
        return None
    account = Account.objects.filter(handle=handle).first()
    if account is None or not hmac.compare_digest(account.feed_key.encode(), key.encode()):
        return None
    return account


def rotate_key(account: Account) -> str:
    """A new feed key for `account`: links holding the old one answer 404 from now on."""
    account.feed_key = new_feed_key()
    account.save(update_fields=["feed_key"])
    return account.feed_key


def links(account: Account) -> FeedLinks:
    """The absolute addresses of the account's two feeds, with its current key."""
    query = "?" + urlencode({"key": account.feed_key})

    def url(name: str) -> str:
        return settings.SITE_URL + reverse(name, kwargs={"handle": account.handle}) + query

    return FeedLinks(url("feed-bookings"), url("feed-freebusy"))


def _calendar(name: str, *, publish: bool) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if publish:
        cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH_INTERVAL))
    return cal


def feed_bookings(account: Account, now: datetime) -> list[Booking]:
    """What the bookings feed lists, by start. A cancelled reservation (a released or
    expired hold, which keeps its `expires_at`) never was a booking of the host's calendar,
    so only cancellations of confirmed bookings are listed."""
    since = now - timedelta(days=settings.FEED_CANCELLED_DAYS)
    cancelled = Q(status=Booking.Status.CANCELLED, expires_at__isnull=True) & (
        Q(cancelled_at__gte=since) | Q(cancelled_at__isnull=True, updated_at__gte=since)
    )
    rows = Booking.objects.filter(attendees__account=account).filter(
        Q(status=Booking.Status.CONFIRMED) | cancelled
    )
    return list(rows.select_related("account", "profile").order_by("start", "id"))


def _hosts(bookings: list[Booking]) -> dict[int, list[Account]]:
    """`booking_hosts` of every booking in one query instead of two per booking."""
    hosts: dict[int, list[Account]] = {b.pk: [] for b in bookings}
    rows = Attendee.objects.filter(booking__in=list(hosts)).select_related("account")
    for row in rows.order_by("booking", "position", "id"):
        hosts[row.booking_id].append(row.account)
    return {b.pk: hosts[b.pk] or [b.account] for b in bookings}


def bookings_feed(account: Account, now: datetime) -> Feed:
    """The bookings feed and an ETag hashing its bytes."""
    # No METHOD: this is a copy of the host's calendar, not an iTIP message, so each event
    # reads as on the host's own calendar (the invitee has accepted), and DTSTAMP is when the
    # event last changed (RFC 5545 3.8.7.2) — which keeps the bytes, and so the ETag, the
    # same until something does change.
    cal = _calendar(f"Bookings of {account.name}", publish=False)
    bookings = feed_bookings(account, now)
    hosts = _hosts(bookings)
    for booking in bookings:
        event = booking_event(booking, None, hosts[booking.pk])
        del event["DTSTAMP"]
        event.add("dtstamp", event.decoded("LAST-MODIFIED"))
        cal.add_component(event)
    body = cal.to_ical()
    return Feed(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def busy_periods(
    account: Account, now: datetime
) -> tuple[datetime, datetime, list[tuple[int, int]]]:
    """The freebusy window `[lo, hi)` (whole seconds) and the account's merged busy periods
    overlapping it, as POSIX seconds and not yet clipped. Reads stale external calendars."""
    lo = now.astimezone(UTC).replace(microsecond=0)
    hi = lo + timedelta(days=settings.FEED_FREEBUSY_DAYS)
    refresh.make_fresh(account, now, until=hi)
    # All-day and floating events are read in the account's zone: the feed is the account's,
    # not one profile's.
    busy = account_busy(account, lo, hi, now=now, tz=account.timezone)
    return lo, hi, merge((math.floor(s), math.ceil(e)) for s, e in busy)


def freebusy_feed(account: Account, now: datetime) -> Feed:
    """The free/busy feed. Its ETag is weak and versions the busy data, not the bytes: the
    window moves with every second, but a copy read a while ago still says the same about
    the time both cover until a period ends, a new one enters the window or the data changes."""
    lo, hi, periods = busy_periods(account, now)
    lo_ts, hi_ts = int(lo.timestamp()), int(hi.timestamp())
    freebusy = icalendar.FreeBusy()
    # A VFREEBUSY needs a UID; this one names the account's feed, never an event.
    uid = f"freebusy-{account.handle}@booking"
    freebusy.add("uid", uid)
    freebusy.add("dtstamp", lo)
    freebusy.add("dtstart", lo)
    freebusy.add("dtend", hi)
    organizer = icalendar.vCalAddress(f"mailto:{account.email}")
    organizer.params["CN"] = icalendar.vText(account.name)
    freebusy.add("organizer", organizer)
    for start, end in periods:
        start, end = max(start, lo_ts), min(end, hi_ts)
        if end > start:
            span = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
            freebusy.add("freebusy", span, parameters={"FBTYPE": "BUSY"})
    cal = _calendar(f"Free/busy of {account.name}", publish=True)
    cal.add_component(freebusy)
    version = json.dumps([uid, account.email, account.name, periods]).encode()
    return Feed(cal.to_ical(), f'W/"{hashlib.sha256(version).hexdigest()[:32]}"')
