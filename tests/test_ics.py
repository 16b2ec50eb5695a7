"""Parsing feeds into busy copies: exact intervals from realistic Google, Outlook and Apple data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendars import busy_copy, ics
from scheduler.calendars.windows_zones import WINDOWS_TO_IANA, iana_for_windows
from scheduler.rules import intervals

DATA = Path(__file__).resolve().parent / "data"
LO = datetime(2027, 2, 28, tzinfo=UTC)
HI = datetime(2027, 4, 30, tzinfo=UTC)


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def wall(*args: int) -> float:
    """Wall-clock seconds: the local date/time written as if UTC."""
    return datetime(*args, tzinfo=UTC).timestamp()


def entries(name: str, lo: datetime = LO, hi: datetime = HI) -> list:
    return ics.busy_entries((DATA / name).read_bytes(), lo, hi)


def test_google_feed_applies_x_wr_timezone_to_utc_and_floating_times():
    assert entries("google.ics") == [
        # Written in UTC but recurring in Europe/Berlin: 10:00 local stays 10:00 after the
        # change to summer time on 28 March, so the UTC time moves an hour earlier.
        [utc(2027, 3, 1, 9), utc(2027, 3, 1, 9, 30)],
        # The floating 14:00 belongs to the calendar's zone, Berlin (UTC+1).
        [utc(2027, 3, 2, 13), utc(2027, 3, 2, 14)],
        [utc(2027, 3, 8, 9), utc(2027, 3, 8, 9, 30)],
        [utc(2027, 3, 15, 9), utc(2027, 3, 15, 9, 30)],
        [utc(2027, 3, 22, 9), utc(2027, 3, 22, 9, 30)],
        [utc(2027, 3, 29, 8), utc(2027, 3, 29, 8, 30)],
        [utc(2027, 4, 5, 8), utc(2027, 4, 5, 8, 30)],
        # The all-day offsite stays a local date; the transparent birthday is not busy.
        [wall(2027, 3, 3), wall(2027, 3, 4), busy_copy.LOCAL],
    ]


def test_outlook_feed_maps_windows_zone_names_to_iana():
    assert entries("outlook.ics") == [
        [utc(2027, 3, 2, 9), utc(2027, 3, 2, 10)],  # W. Europe Standard Time 10:00 = CET
        [utc(2027, 3, 4, 9), utc(2027, 3, 4, 10)],  # Tokyo Standard Time 18:00, no VTIMEZONE
        # Eastern Standard Time 09:00 on 15 March is EDT (UTC-4). The feed's own VTIMEZONE
        # knows no summer time and would have said 14:00Z.
        [utc(2027, 3, 15, 13), utc(2027, 3, 15, 14)],
    ]


def test_recurrence_exceptions_cancellations_and_all_day_events():
    assert entries("weekly.ics") == [
        [utc(2027, 3, 2, 15), utc(2027, 3, 2, 16)],  # first instance, EST
        [utc(2027, 3, 4, 15), utc(2027, 3, 4, 16)],  # RDATE
        # 9 March: EXDATE. 16 March moved to Wednesday noon EDT by its RECURRENCE-ID.
        [utc(2027, 3, 17, 16), utc(2027, 3, 17, 17)],
        # 23 March: that instance is CANCELLED; 30 March: TRANSPARENT. Neither blocks.
        [wall(2027, 3, 5, 9), wall(2027, 3, 5, 10), busy_copy.LOCAL],  # floating 09:00-10:00
        [wall(2027, 3, 10), wall(2027, 3, 13), busy_copy.LOCAL],  # three all-day dates
        [wall(2027, 3, 19), wall(2027, 3, 20), busy_copy.LOCAL],  # all-day, no DTEND
    ]


def test_only_instances_near_the_range_are_kept():
    # The weekly series ends in March; a range in April sees none of it.
    assert entries("weekly.ics", datetime(2027, 4, 10, tzinfo=UTC), HI) == []


def test_local_entries_are_read_in_the_zone_asked_for():
    copy = entries("weekly.ics")
    lo, hi = utc(2027, 3, 5), utc(2027, 3, 6)
    new_york = busy_copy.read(copy, lo, hi, ZoneInfo("America/New_York"))
    assert new_york == [(utc(2027, 3, 5, 14), utc(2027, 3, 5, 15))]
    kathmandu = busy_copy.read(copy, lo, hi, ZoneInfo("Asia/Kathmandu"))
    assert kathmandu == [(utc(2027, 3, 5, 3, 15), utc(2027, 3, 5, 4, 15))]


def test_all_day_events_cover_their_local_dates_across_a_dst_change():
    # London moves to summer time on 28 March 2027: that local date is 23 hours long.
    copy = busy_copy.encode([], [(wall(2027, 3, 28), wall(2027, 3, 29))])
    found = busy_copy.read(copy, utc(2027, 3, 1), utc(2027, 4, 1), ZoneInfo("Europe/London"))
    assert found == [(utc(2027, 3, 28), utc(2027, 3, 28, 23))]  # a 23-hour local day


def test_fixed_entries_outside_the_window_are_left_out():
    copy = [[utc(2027, 3, 1, 9), utc(2027, 3, 1, 10)], [utc(2027, 3, 2, 9), utc(2027, 3, 2, 10)]]
    found = busy_copy.read(copy, utc(2027, 3, 1, 10), utc(2027, 3, 2, 9), UTC)
    assert found == []  # touching is not overlapping


def test_merge_joins_overlapping_and_touching_intervals():
    assert intervals.merge([(5, 6), (1, 3), (3, 4), (2, 2.5)]) == [(1, 4), (5, 6)]


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>Sign in</body></html>", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nope"],
)
def test_garbage_is_a_feed_error(body):
    with pytest.raises(ics.FeedError):
        ics.busy_entries(body, LO, HI)


def test_quoted_windows_tzid_and_windows_x_wr_timezone_are_mapped():
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:AUS Eastern Standard Time\r\n"
        'BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID="India Standard Time":20270302T100000\r\n'
        'DTEND;TZID="India Standard Time":20270302T110000\r\nEND:VEVENT\r\n'
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20270303T100000\r\nDTEND:20270303T110000\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert ics.busy_entries(body, LO, HI) == [
        [utc(2027, 3, 2, 4, 30), utc(2027, 3, 2, 5, 30)],  # IST is UTC+5:30
        [utc(2027, 3, 2, 23), utc(2027, 3, 3, 0)],  # floating, read in Sydney (UTC+11)
    ]


@pytest.mark.parametrize(
    ("windows", "iana"),
    [
        ("Eastern Standard Time", "America/New_York"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("GMT Standard Time", "Europe/London"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("Central Europe Standard Time", "Europe/Budapest"),
        ("India Standard Time", "Asia/Kolkata"),
        ("AUS Eastern Standard Time", "Australia/Sydney"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("tokyo standard time ", "Asia/Tokyo"),
    ],
)
def test_windows_zone_table(windows, iana):
    assert iana_for_windows(windows) == iana


def test_every_windows_zone_maps_to_a_real_zone():
    for iana in WINDOWS_TO_IANA.values():
        ZoneInfo(iana)
    assert iana_for_windows("Mars Standard Time") is None


def test_make_feed_builds_the_requested_number_of_events():
    start = datetime(2027, 3, 1, tzinfo=UTC)
    feed = ics.make_feed(200, start=start)
    calendar = ics.load_calendar(feed)
    events = calendar.walk("VEVENT")
    assert len(events) == 200
    assert sum(1 for e in events if e.get("RRULE")) == 20
    copy = ics.busy_entries(feed, start, start + timedelta(days=400))
    assert copy and all(e[1] > e[0] for e in copy)
