"""Parsing iCalendar data into a busy copy (SPEC §3 rule 4), and a feed generator for benchmarks.

`busy_entries(data, lo, hi)` is the whole pipeline: Windows zone names are mapped to IANA ones,
a Google feed's X-WR-TIMEZONE is applied (x_wr_timezone.to_standard), recurrences are expanded
with recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides), transparent,
cancelled and zero-length instances are dropped, and each remaining instance becomes an entry of
busy_copy's format.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta

import icalendar
import recurring_ical_events
import x_wr_timezone

from scheduler.calendars import busy_copy
from scheduler.calendars.windows_zones import iana_for_windows

# Floating and all-day instances are compared with the range as wall-clock times by
# recurring-ical-events; the padding keeps instances near the edges for every zone.
PAD = timedelta(days=2)
_TZID_PARAM = re.compile(r';TZID=(?:"([^"]*)"|([^;:]*))', re.IGNORECASE)
_TZID_LINE = re.compile(r"^TZID:(.*)$", re.IGNORECASE)


class FeedError(ValueError):
    """The data is not an iCalendar feed we can read."""


def _unfold(text: str) -> list[str]:
    # RFC 5545 §3.1: a line break followed by a space or tab continues the line.
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def _windows_to_iana(text: str) -> str:
    """Rewrite TZIDs that are Windows zone names to IANA ones and drop their VTIMEZONE blocks.

    Outlook's VTIMEZONE blocks often hold only the current rule, so the IANA zone (with its full
    history and future) is the better reading of "Eastern Standard Time".
    """
    if "TZ" not in text.upper():
        return text
    out: list[str] = []
    skipping = False
    block: list[str] = []
    for line in _unfold(text):
        upper = line.upper()
        if upper.startswith("BEGIN:VTIMEZONE"):
            skipping, block = False, [line]
            continue
        if block:
            block.append(line)
            match = _TZID_LINE.match(line)
            if match and iana_for_windows(match.group(1)):
                skipping = True
            if upper.startswith("END:VTIMEZONE"):
                if not skipping:
                    out.extend(block)
                block, skipping = [], False
            continue
        if upper.startswith("X-WR-TIMEZONE:"):
            zone = iana_for_windows(line.partition(":")[2])
            line = f"X-WR-TIMEZONE:{zone}" if zone else line
        out.append(_TZID_PARAM.sub(_replace_tzid, line) if ";TZID=" in upper else line)
    return "\r\n".join(out) + "\r\n"


def _replace_tzid(match: re.Match[str]) -> str:
    name = match.group(1) if match.group(1) is not None else match.group(2)
    zone = iana_for_windows(name)
    return f";TZID={zone}" if zone else match.group(0)


def load_calendar(data: bytes | str) -> icalendar.Calendar:
    """Parse feed data into one normalized VCALENDAR; FeedError when it is not one."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff \t\r\n")
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise FeedError(f"not an iCalendar feed: it starts with {text[:40]!r}")
    try:
        calendar = icalendar.Calendar.from_ical(_windows_to_iana(text))
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError …
        raise FeedError(f"unreadable iCalendar data: {exc}") from exc
    if calendar.get("X-WR-TIMEZONE"):
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception as exc:  # an unknown zone name
            raise FeedError(f"X-WR-TIMEZONE {calendar['X-WR-TIMEZONE']!r}: {exc}") from exc
    return calendar


def _seconds(value: date | datetime) -> tuple[float, bool]:
    """POSIX seconds and whether they are wall-clock (all-day or floating) seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return busy_copy.local_seconds(value), True
        return value.timestamp(), False
    return busy_copy.local_seconds(datetime(value.year, value.month, value.day)), True


def _blocks(event: icalendar.Event) -> bool:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("STATUS", "")).upper() != "CANCELLED"


Intervals = list[tuple[float, float]]


def blocking_intervals(
    calendar: icalendar.Calendar, lo: datetime, hi: datetime, *, skip_uids: Collection[str] = ()
) -> tuple[Intervals, Intervals]:
    """Fixed intervals (POSIX seconds) and wall-clock ones of every blocking instance near
    `[lo, hi)`; events whose UID is in `skip_uids` are left out."""
    absolute: Intervals = []
    local: Intervals = []
    query = recurring_ical_events.of(calendar, components=["VEVENT"], skip_bad_series=True)
    try:
        instances = query.between(lo - PAD, hi + PAD)
    except Exception as exc:  # a malformed rule that skip_bad_series did not catch
        raise FeedError(f"cannot expand the feed's recurrences: {exc}") from exc
    for event in instances:
        if not _blocks(event) or str(event.get("UID", "")) in skip_uids:
            continue
        start, end = event.get("DTSTART"), event.get("DTEND")
        if start is None:
            continue
        start_s, start_local = _seconds(start.dt)
        end_s, end_local = _seconds(end.dt) if end is not None else (start_s, start_local)
        if end_s <= start_s or start_local != end_local:
            # Zero length (SPEC: ignored), or a start and end of different kinds, which RFC 5545
            # forbids; such an event cannot be placed reliably.
            continue
        (local if start_local else absolute).append((start_s, end_s))
    return absolute, local


def busy_entries(data: bytes | str, lo: datetime, hi: datetime) -> list:
    """The busy copy (busy_copy format) of a feed's blocking event instances in `[lo, hi)`."""
    return busy_copy.encode(*blocking_intervals(load_calendar(data), lo, hi))


def make_feed(
    events: int, *, seed: int = 5, start: datetime | None = None, days: int = 365
) -> bytes:
    """A realistic feed of `events` VEVENTs for benchmarks: one in ten weekly (RRULE), some
    all-day, spread over `days` from `start` (default: today 00:00 UTC)."""
    rng = random.Random(seed)
    origin = start or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//booking-service//make_feed//EN"]
    for number in range(events):
        day = origin + timedelta(days=rng.randrange(days))
        lines += ["BEGIN:VEVENT", f"UID:bench-{number}@make-feed", "DTSTAMP:20260101T000000Z"]
        if number % 20 == 7:
            lines += [
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            ]
        else:
            begin = day + timedelta(minutes=15 * rng.randrange(28, 72))
            finish = begin + timedelta(minutes=rng.choice((15, 30, 45, 60, 90)))
            lines += [f"DTSTART:{begin:%Y%m%dT%H%M%SZ}", f"DTEND:{finish:%Y%m%dT%H%M%SZ}"]
            if number % 10 == 3:
                lines.append(f"RRULE:FREQ=WEEKLY;COUNT={rng.randrange(4, 30)}")
        lines += [f"SUMMARY:Event {number}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
