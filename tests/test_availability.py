"""Table tests of the slot engine (SPEC §3): DST days in four zones, a year end, overrides,
empty days, merging, `24:00`, the window, buffers and the per-day cap.

Pure: no database. Property tests against a brute-force reference are in
test_availability_properties.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.rules.availability import (
    DateOverride,
    Period,
    Rules,
    add_period,
    free_slots,
    hours_for_date,
    local_instant,
    merge_busy,
    merge_day_hours,
    parse_period,
    parse_time_of_day,
    window,
)

H = 3600


def hm(text: str) -> int:
    return parse_time_of_day(text, allow_end_of_day=True)


def hours(*pairs: str) -> tuple[tuple[int, int], ...]:
    """hours("09:00-10:00", "11:00-24:00")"""
    return tuple((hm(p.split("-")[0]), hm(p.split("-")[1])) for p in pairs)


def every_day(*pairs: str) -> dict[int, tuple[tuple[int, int], ...]]:
    return dict.fromkeys(range(7), hours(*pairs))


def make_rules(tz: str, weekly=None, **kw) -> Rules:
    kw.setdefault("start_after_minutes", 0)
    return Rules(timezone=tz, weekly=weekly if weekly is not None else {}, **kw)


def at(tz: str, text: str) -> datetime:
    """A local wall time, fold=0."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day_slots(rules: Rules, day: str, busy=(), counts=None) -> list[str]:
    """Slots whose local hours belong to `day`, as local ISO times with their offsets."""
    zone = rules.zone
    d = date.fromisoformat(day)
    lo = local_instant(d, 0, zone) - timedelta(hours=3)
    hi = local_instant(d + timedelta(days=1), 0, zone) + timedelta(hours=3)
    # `now` is chosen so that the notice ends exactly at `lo`.
    now = lo - timedelta(minutes=rules.start_after_minutes)
    found = free_slots(rules, busy, now, lo, hi, counts)
    return [
        s.astimezone(zone).isoformat(timespec="minutes")
        for s, _ in found
        if s.astimezone(zone).date() == d
    ]


def ts(dt: datetime) -> float:
    return dt.timestamp()


# --- DST days --------------------------------------------------------------------------


def test_new_york_spring_forward_skips_the_missing_hour():
    rules = make_rules("America/New_York", every_day("01:00-04:00"))
    assert day_slots(rules, "2026-03-08") == [
        "2026-03-08T01:00-05:00",
        "2026-03-08T01:30-05:00",
        "2026-03-08T03:00-04:00",
        "2026-03-08T03:30-04:00",
    ]


def test_new_york_interval_starting_in_the_gap_starts_after_it():
    # 02:30 does not exist; fold=0 reads it with the old offset: 07:30Z = 03:30 EDT.
    rules = make_rules("America/New_York", every_day("02:30-05:00"))
    assert day_slots(rules, "2026-03-08") == [
        "2026-03-08T03:30-04:00",
        "2026-03-08T04:00-04:00",
        "2026-03-08T04:30-04:00",
    ]


def test_new_york_fall_back_offers_the_repeated_hour_twice():
    rules = make_rules("America/New_York", every_day("00:00-03:00"))
    assert day_slots(rules, "2026-11-01") == [
        "2026-11-01T00:00-04:00",
        "2026-11-01T00:30-04:00",
        "2026-11-01T01:00-04:00",
        "2026-11-01T01:30-04:00",
        "2026-11-01T01:00-05:00",
        "2026-11-01T01:30-05:00",
        "2026-11-01T02:00-05:00",
        "2026-11-01T02:30-05:00",
    ]


def test_new_york_ambiguous_start_takes_the_first_occurrence():
    rules = make_rules("America/New_York", every_day("01:30-02:00"))
    assert day_slots(rules, "2026-11-01") == [
        "2026-11-01T01:30-04:00",
        "2026-11-01T01:00-05:00",
        "2026-11-01T01:30-05:00",
    ]


def test_london_both_transitions():
    rules = make_rules("Europe/London", every_day("00:00-03:00"), duration_minutes=60)
    # 00:00 GMT to 03:00 BST is two hours of absolute time: 60-minute meetings at 00:00 and
    # 00:30 GMT and at 02:00 BST (= 01:00 GMT).
    assert day_slots(rules, "2026-03-29") == [
        "2026-03-29T00:00+00:00",
        "2026-03-29T00:30+00:00",
        "2026-03-29T02:00+01:00",
    ]
    # Fall back: 00:00 BST to 03:00 GMT is four hours.
    assert len(day_slots(rules, "2026-10-25")) == 7


def test_lord_howe_half_hour_shifts():
    rules = make_rules("Australia/Lord_Howe", every_day("01:00-04:00"))
    # Spring forward 02:00 -> 02:30: 2.5 hours of absolute time.
    assert day_slots(rules, "2026-10-04") == [
        "2026-10-04T01:00+10:30",
        "2026-10-04T01:30+10:30",
        "2026-10-04T02:30+11:00",
        "2026-10-04T03:00+11:00",
        "2026-10-04T03:30+11:00",
    ]
    # Fall back 02:00 -> 01:30: 3.5 hours; 01:30 repeats.
    assert day_slots(rules, "2026-04-05") == [
        "2026-04-05T01:00+11:00",
        "2026-04-05T01:30+11:00",
        "2026-04-05T01:30+10:30",
        "2026-04-05T02:00+10:30",
        "2026-04-05T02:30+10:30",
        "2026-04-05T03:00+10:30",
        "2026-04-05T03:30+10:30",
    ]


def test_kathmandu_quarter_hour_offset_and_year_end():
    rules = Rules(
        timezone="Asia/Kathmandu",
        weekly=every_day("09:00-10:00"),
        start_after_minutes=0,
        overrides=(DateOverride(date(2027, 1, 1), date(2027, 1, 1), ()),),
    )
    now = utc("2026-12-30T20:00:00")  # 01:45 on Dec 31 in Kathmandu
    found = free_slots(rules, [], now, end=utc("2027-01-02T12:00:00"))
    assert [s.isoformat() for s, _ in found] == [
        "2026-12-31T03:15:00+00:00",
        "2026-12-31T03:45:00+00:00",
        # 1 January is a day off.
        "2027-01-02T03:15:00+00:00",
        "2027-01-02T03:45:00+00:00",
    ]


def test_local_instant_rules():
    ny = ZoneInfo("America/New_York")
    gap = local_instant(date(2026, 3, 8), hm("02:30"), ny)
    assert gap.astimezone(UTC) == utc("2026-03-08T07:30:00")
    ambiguous = local_instant(date(2026, 11, 1), hm("01:30"), ny)
    assert ambiguous.astimezone(UTC) == utc("2026-11-01T05:30:00")
    midnight = local_instant(date(2026, 12, 31), hm("24:00"), ny)
    assert midnight.astimezone(UTC) == utc("2027-01-01T05:00:00")


# --- hours per date ----------------------------------------------------------------------


def test_override_replaces_weekly_hours_and_first_override_wins():
    rules = Rules(
        timezone="UTC",
        weekly=every_day("09:00-17:00"),
        overrides=(
            DateOverride(date(2026, 5, 4), date(2026, 5, 6), hours("12:00-13:00")),
            DateOverride(date(2026, 5, 5), date(2026, 5, 5), hours("08:00-09:00")),
            DateOverride(date(2026, 5, 7), date(2026, 5, 7), ()),
        ),
    )
    assert hours_for_date(rules, date(2026, 5, 3)) == hours("09:00-17:00")
    assert hours_for_date(rules, date(2026, 5, 4)) == hours("12:00-13:00")
    assert hours_for_date(rules, date(2026, 5, 5)) == hours("12:00-13:00")
    assert hours_for_date(rules, date(2026, 5, 6)) == hours("12:00-13:00")
    assert hours_for_date(rules, date(2026, 5, 7)) == ()  # [] = day off
    assert day_slots(rules, "2026-05-07") == []
    # An override also opens a day the week leaves empty.
    weekend = Rules(
        timezone="UTC",
        weekly={0: hours("09:00-10:00")},
        overrides=(DateOverride(date(2026, 5, 9), date(2026, 5, 9), hours("10:00-11:00")),),
        start_after_minutes=0,
    )
    assert day_slots(weekend, "2026-05-09") == ["2026-05-09T10:00+00:00", "2026-05-09T10:30+00:00"]
    assert day_slots(weekend, "2026-05-10") == []  # Sunday, no hours


def test_weekday_listed_twice_contributes_both():
    from scheduler.rules.schedule import build_rules

    rules = build_rules(
        account_timezone="UTC",
        work_hours={
            "daySchedules": [
                {"dayOfWeek": "monday", "workingIntervals": [{"start": "09:00", "end": "10:00"}]},
                {"dayOfWeek": "monday", "workingIntervals": [{"start": "14:00", "end": "15:00"}]},
            ]
        },
        availability_intervals=None,
        duration_minutes=60,
        step_minutes=60,
        buffer_minutes=0,
        start_after_minutes=0,
        time_available_for="P30D",
        active_from=None,
        active_until=None,
        max_bookings_per_day=None,
    )
    assert day_slots(rules, "2026-05-04") == ["2026-05-04T09:00+00:00", "2026-05-04T14:00+00:00"]


def test_touching_and_overlapping_intervals_merge():
    assert merge_day_hours(hours("10:00-11:00", "09:00-10:00", "10:30-12:00")) == hours(
        "09:00-12:00"
    )
    assert merge_day_hours(hours("09:00-10:00", "10:01-11:00")) == hours(
        "09:00-10:00", "10:01-11:00"
    )
    rules = make_rules("UTC", every_day("09:00-10:00", "10:00-11:00"), duration_minutes=60)
    # 09:30–10:30 spans the join: only offered because the two intervals merged.
    assert day_slots(rules, "2026-05-04") == [
        "2026-05-04T09:00+00:00",
        "2026-05-04T09:30+00:00",
        "2026-05-04T10:00+00:00",
    ]


def test_intervals_of_different_dates_never_merge_across_midnight():
    rules = make_rules(
        "UTC", {0: hours("23:00-24:00"), 1: hours("00:00-01:00")}, duration_minutes=60
    )
    lo, hi = utc("2026-05-04T00:00:00"), utc("2026-05-06T00:00:00")
    found = free_slots(rules, [], lo - timedelta(minutes=rules.start_after_minutes), lo, hi)
    assert [s.isoformat() for s, _ in found] == [
        "2026-05-04T23:00:00+00:00",
        "2026-05-05T00:00:00+00:00",
    ]


def test_end_of_day_24_00_is_offered_up_to_midnight():
    rules = make_rules("Europe/London", every_day("22:00-24:00"), duration_minutes=60)
    assert day_slots(rules, "2026-05-04") == [
        "2026-05-04T22:00+01:00",
        "2026-05-04T22:30+01:00",
        "2026-05-04T23:00+01:00",
    ]


def test_candidates_start_at_interval_start_not_at_the_hour():
    rules = make_rules("UTC", every_day("09:10-10:30"), step_minutes=20, duration_minutes=30)
    assert day_slots(rules, "2026-05-04") == [
        "2026-05-04T09:10+00:00",
        "2026-05-04T09:30+00:00",
        "2026-05-04T09:50+00:00",
    ]


# --- window (rule 1) ---------------------------------------------------------------------


def test_window_takes_latest_start_and_earliest_end():
    rules = make_rules(
        "UTC",
        start_after_minutes=90,
        horizon=Period(days=10),
        active_from=utc("2026-05-05T00:00:00"),
        active_until=utc("2026-05-08T00:00:00"),
    )
    now = utc("2026-05-04T12:00:00")
    assert window(rules, now) == (utc("2026-05-05T00:00:00"), utc("2026-05-08T00:00:00"))
    assert window(rules, now, utc("2026-05-06T00:00:00"), utc("2026-05-07T00:00:00")) == (
        utc("2026-05-06T00:00:00"),
        utc("2026-05-07T00:00:00"),
    )
    later = utc("2026-05-06T12:00:00")
    assert window(rules, later)[0] == utc("2026-05-06T13:30:00")
    short = make_rules("UTC", horizon=Period(days=1))
    assert window(short, now) == (now, utc("2026-05-05T12:00:00"))


def test_start_after_minutes_is_absolute_time_across_dst():
    rules = make_rules("America/New_York", start_after_minutes=120)
    now = at("America/New_York", "2026-03-08T01:30:00")  # EST
    lo, _ = window(rules, now)
    assert lo.astimezone(ZoneInfo("America/New_York")).isoformat() == "2026-03-08T04:30:00-04:00"


def test_horizon_month_end_and_leap_year():
    zone = ZoneInfo("UTC")
    assert add_period(utc("2026-01-31T10:00:00"), parse_period("P1M"), zone) == utc(
        "2026-02-28T10:00:00"
    )
    assert add_period(utc("2028-01-31T10:00:00"), parse_period("P1M"), zone) == utc(
        "2028-02-29T10:00:00"
    )
    assert add_period(utc("2026-01-31T10:00:00"), parse_period("P1Y2M1W3D"), zone) == utc(
        "2027-04-10T10:00:00"  # years and months first, then days
    )


def test_horizon_date_part_is_wall_time_time_part_is_absolute():
    ny = ZoneInfo("America/New_York")
    now = at("America/New_York", "2026-03-07T12:00:00")  # EST, the day before spring forward
    # P1D lands on the same wall time the next day (EDT): 23 hours later.
    assert add_period(now, parse_period("P1D"), ny) == at("America/New_York", "2026-03-08T12:00")
    # PT36H is 36 hours of absolute time: 01:00 EDT on the 9th, not 00:00.
    assert add_period(now, parse_period("PT36H"), ny).astimezone(ny).isoformat() == (
        "2026-03-09T01:00:00-04:00"
    )
    # P1DT12H: the day by wall time, then 12 hours absolute.
    assert add_period(now, parse_period("P1DT12H"), ny).astimezone(ny).isoformat() == (
        "2026-03-09T00:00:00-04:00"
    )


def test_horizon_landing_in_a_gap_takes_fold_0():
    ny = ZoneInfo("America/New_York")
    now = at("America/New_York", "2026-03-07T02:30:00")
    assert add_period(now, parse_period("P1D"), ny).astimezone(UTC) == utc("2026-03-08T07:30")


def test_free_slots_respects_the_window_and_the_grid():
    rules = make_rules("UTC", every_day("09:00-12:00"), start_after_minutes=45)
    now = utc("2026-05-04T09:20:00")  # lo = 10:05, first grid point at or after it: 10:30
    found = free_slots(rules, [], now, end=utc("2026-05-04T12:00:00"))
    assert [s.isoformat() for s, _ in found] == [
        "2026-05-04T10:30:00+00:00",
        "2026-05-04T11:00:00+00:00",
        "2026-05-04T11:30:00+00:00",
    ]
    found = free_slots(rules, [], now, end=utc("2026-05-04T11:45:00"))
    assert [s.isoformat() for s, _ in found][-1] == "2026-05-04T11:00:00+00:00"


def test_empty_or_inverted_window_gives_nothing():
    rules = make_rules("UTC", every_day("00:00-24:00"))
    now = utc("2026-05-04T00:00:00")
    assert free_slots(rules, [], now, start=now + timedelta(hours=2), end=now) == []
    ended = make_rules("UTC", every_day("00:00-24:00"), active_until=now - timedelta(days=1))
    assert free_slots(ended, [], now) == []


# --- periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", Period(days=30)),
        ("P4W", Period(weeks=4)),
        ("P3M", Period(months=3)),
        ("P1Y", Period(years=1)),
        ("PT36H", Period(seconds=36 * H)),
        ("P1DT12H30M15S", Period(days=1, seconds=12 * H + 30 * 60 + 15)),
        ("P1Y2M3W4D", Period(years=1, months=2, weeks=3, days=4)),
    ],
)
def test_parse_period_accepts(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P0D", "30D", "P30", "P-1D", "P1.5D", "p30d", "P30DT", "P1H", "PT1D"]
)
def test_parse_period_refuses(text):
    with pytest.raises(ValueError, match="period"):
        parse_period(text)


@pytest.mark.parametrize(
    ("text", "end", "seconds"),
    [("09:00", False, 9 * H), ("09:00:30", False, 9 * H + 30), ("24:00", True, 24 * H)],
)
def test_parse_time_of_day(text, end, seconds):
    assert parse_time_of_day(text, allow_end_of_day=end) == seconds


@pytest.mark.parametrize("text", ["24:00", "25:00", "9:00", "09:60", "09:00:60", "noon", ""])
def test_parse_time_of_day_refuses(text):
    with pytest.raises(ValueError):
        parse_time_of_day(text)


# --- busy and buffers (rules 4 and 5) ----------------------------------------------------


def test_busy_intervals_merge_touching_and_drop_empty():
    assert merge_busy([(5, 6), (1, 2), (2, 3), (4, 4), (7, 6)]) == ([1, 5], [3, 6])


def test_a_meeting_may_end_when_a_busy_event_starts():
    rules = make_rules("UTC", every_day("09:00-13:00"))
    busy = [(ts(utc("2026-05-04T10:00")), ts(utc("2026-05-04T11:00")))]
    assert day_slots(rules, "2026-05-04", busy) == [
        "2026-05-04T09:00+00:00",
        "2026-05-04T09:30+00:00",  # ends at 10:00, when the event starts
        "2026-05-04T11:00+00:00",  # starts when it ends
        "2026-05-04T11:30+00:00",
        "2026-05-04T12:00+00:00",
        "2026-05-04T12:30+00:00",
    ]


def test_buffer_applies_on_both_sides():
    busy = [(ts(utc("2026-05-04T10:00")), ts(utc("2026-05-04T11:00")))]
    rules = make_rules("UTC", every_day("09:00-13:00"), buffer_minutes=15, step_minutes=15)
    found = day_slots(rules, "2026-05-04", busy)
    assert "2026-05-04T09:15+00:00" in found  # 09:15–09:45, buffer to 10:00: touching
    assert "2026-05-04T09:30+00:00" not in found
    assert "2026-05-04T11:00+00:00" not in found
    assert "2026-05-04T11:15+00:00" in found


def test_zero_length_busy_blocks_nothing():
    rules = make_rules("UTC", every_day("09:00-10:00"))
    instant = ts(utc("2026-05-04T09:15"))
    assert len(day_slots(rules, "2026-05-04", [(instant, instant)])) == 2


# --- maxBookingsPerDay -------------------------------------------------------------------


def test_max_bookings_per_day_closes_full_local_days():
    rules = make_rules("Asia/Kathmandu", every_day("09:00-10:00"), max_bookings_per_day=2)
    assert len(day_slots(rules, "2026-05-04", counts={date(2026, 5, 4): 1})) == 2
    assert day_slots(rules, "2026-05-04", counts={date(2026, 5, 4): 2}) == []
    # Counted by local date: a full 3 May leaves 4 May open.
    assert len(day_slots(rules, "2026-05-04", counts={date(2026, 5, 3): 5})) == 2


# --- a slot is exactly a computed slot ------------------------------------------------------


def test_only_exactly_a_computed_slot_is_a_slot():
    rules = make_rules("UTC", every_day("09:00-12:00"))
    now = utc("2026-05-04T06:00:00")
    start = utc("2026-05-04T10:00:00")

    def is_slot(busy, s, e):
        return (s, e) in free_slots(rules, busy, now, s - timedelta(days=1), e + timedelta(days=1))

    assert is_slot([], start, start + timedelta(minutes=30))
    assert not is_slot([], start, start + timedelta(minutes=60))
    assert not is_slot([], start + timedelta(minutes=10), start + timedelta(minutes=40))
    busy = [(ts(start), ts(start + timedelta(minutes=5)))]
    assert not is_slot(busy, start, start + timedelta(minutes=30))
