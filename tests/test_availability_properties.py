"""Property tests: the slot engine against a brute-force reference written here.

The reference shares no code with scheduler/availability.py: it enumerates every local date,
every interval of that date and every k, converts with zoneinfo, and checks each candidate
against every busy interval one by one. Times near DST changes and year ends are favoured.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.rules.availability import (
    ALLOWED_STEPS,
    DateOverride,
    Period,
    Rules,
    free_of,
    free_slots,
    slot_windows,
)

DAY = 86400

# Instants close to a DST change (or a year end) of each zone, so that generated windows
# cross them often.
ANCHORS = {
    "UTC": ["2026-12-31T22:00:00"],
    "America/New_York": ["2026-03-08T07:00:00", "2026-11-01T06:00:00"],
    "Europe/London": ["2026-03-29T01:00:00", "2026-10-25T01:00:00"],
    "Australia/Lord_Howe": ["2026-04-04T15:00:00", "2026-10-03T15:30:00"],
    "Asia/Kathmandu": ["2026-12-31T18:15:00"],
    "America/Santiago": ["2026-04-05T03:00:00", "2026-09-06T04:00:00"],  # changes at midnight
}
COMMON = ["2026-12-31T12:00:00", "2026-06-15T12:00:00"]
PERIODS = [
    Period(days=1),
    Period(days=2),
    Period(days=3),
    Period(seconds=36 * 3600),
    Period(days=1, seconds=6 * 3600),
    Period(weeks=1),
]


# --- the reference -----------------------------------------------------------------------


def ref_instant(day: date, seconds: int, zone: ZoneInfo) -> float:
    if seconds == DAY:
        day, seconds = day + timedelta(days=1), 0
    h, rest = divmod(seconds, 3600)
    wall = datetime(day.year, day.month, day.day, h, rest // 60, rest % 60, tzinfo=zone)
    return wall.timestamp()  # fold=0 is the default


def ref_merge(intervals) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(intervals):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def ref_window(rules: Rules, now: datetime, start, end) -> tuple[float, float]:
    zone = ZoneInfo(rules.timezone)
    wall = now.astimezone(zone)
    naive = datetime(
        wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, wall.microsecond
    )
    p = rules.horizon
    naive += relativedelta(years=p.years, months=p.months, days=7 * p.weeks + p.days)
    horizon = naive.replace(tzinfo=zone).timestamp() + p.seconds
    los = [now.timestamp() + 60 * rules.start_after_minutes]
    his = [horizon]
    for value, into in ((rules.active_from, los), (start, los)):
        if value is not None:
            into.append(value.timestamp())
    for value, into in ((rules.active_until, his), (end, his)):
        if value is not None:
            into.append(value.timestamp())
    return max(los), min(his)


def reference(rules: Rules, busy, now, start, end, counts) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(rules.timezone)
    lo, hi = ref_window(rules, now, start, end)
    dur, step, buf = 60 * rules.duration_minutes, 60 * rules.step_minutes, 60 * rules.buffer_minutes
    day = datetime.fromtimestamp(lo - 2 * DAY, zone).date()
    last = datetime.fromtimestamp(max(lo, hi) + 2 * DAY, zone).date()
    found = set()
    while day <= last:
        override = next((o for o in rules.overrides if o.first <= day <= o.last), None)
        raw = override.hours if override else rules.weekly.get(day.weekday(), ())
        for h_start, h_end in ref_merge(raw):
            a, b = ref_instant(day, h_start, zone), ref_instant(day, h_end, zone)
            k = 0
            while a + k * step + dur <= b:
                s = a + k * step
                k += 1
                e = s + dur
                if s < lo or e > hi:
                    continue
                if any(be > bs and bs < e + buf and be > s - buf for bs, be in busy):
                    continue
                if rules.max_bookings_per_day is not None:
                    local_day = datetime.fromtimestamp(s, zone).date()
                    if counts.get(local_day, 0) >= rules.max_bookings_per_day:
                        continue
                found.add((s, e))
        day += timedelta(days=1)
    return [
        (datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) for s, e in sorted(found)
    ]


# --- generated input ---------------------------------------------------------------------

# Every zone here changes its clocks between 00:00 and 03:00: favour times in that band.
minute_of_day = st.one_of(
    st.integers(0, 24 * 60 - 5).map(lambda m: m - m % 5),
    st.sampled_from([0, 30, 60, 90, 120, 150, 180]),
)


@st.composite
def day_hours(draw, max_size: int = 3) -> tuple[tuple[int, int], ...]:
    out = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, max_size]))):
        start = draw(minute_of_day)
        length = draw(st.one_of(st.integers(5, 24 * 60), st.sampled_from([60, 240, 480, 1440])))
        end = min(24 * 60, start + length)
        out.append((start * 60, end * 60))
    return tuple(out)


@st.composite
def cases(draw):
    zone_name = draw(st.sampled_from(sorted(ANCHORS)))
    zone = ZoneInfo(zone_name)
    anchor = datetime.fromisoformat(draw(st.sampled_from(ANCHORS[zone_name] + COMMON)))
    anchor = anchor.replace(tzinfo=UTC)
    now = anchor + timedelta(seconds=draw(st.integers(-2 * DAY, DAY // 4)))
    local_today = now.astimezone(zone).date()

    weekly = {d: draw(day_hours()) for d in range(7) if draw(st.integers(0, 4))}
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        first = local_today + timedelta(days=draw(st.integers(-1, 4)))
        last = first + timedelta(days=draw(st.integers(0, 2)))
        overrides.append(DateOverride(first, last, draw(day_hours(2))))

    def maybe_instant(earliest: int, latest: int) -> datetime | None:
        """Mostly unbounded, starts mostly early and ends late: most windows hold slots."""
        if draw(st.integers(0, 2)):
            return None
        return now + timedelta(seconds=draw(st.integers(earliest, latest)))

    cap = draw(st.one_of(st.none(), st.integers(1, 2)))
    rules = Rules(
        timezone=zone_name,
        duration_minutes=draw(st.sampled_from([5, 15, 25, 30, 45, 60, 90, 120])),
        step_minutes=draw(st.sampled_from(ALLOWED_STEPS)),
        buffer_minutes=draw(st.sampled_from([0, 0, 5, 15, 30])),
        start_after_minutes=draw(st.integers(0, 240)),
        horizon=draw(st.sampled_from(PERIODS)),
        active_from=maybe_instant(-DAY, 2 * DAY),
        active_until=maybe_instant(DAY // 4, 6 * DAY),
        weekly=weekly,
        overrides=tuple(overrides),
        max_bookings_per_day=cap,
    )
    busy = []
    # On a 5-minute grid of absolute time, as local hours are (every offset here is a
    # multiple of 15 minutes), so that busy time often touches a slot exactly.
    grid = now.timestamp() - now.timestamp() % 300
    for _ in range(draw(st.integers(0, 12))):
        start = grid + 300 * draw(st.integers(-DAY // 300, 6 * DAY // 300))
        busy.append((start, start + draw(st.sampled_from([0, 60, 900, 1800, 3600, 7200, 4000]))))
    counts = {
        local_today + timedelta(days=k): draw(st.sampled_from([0, 1, 1, 2, 2, 3]))
        for k in range(-1, 6)
        if draw(st.booleans())
    }
    start, end = maybe_instant(-DAY, 2 * DAY), maybe_instant(DAY // 4, 6 * DAY)
    return rules, busy, now, start, end, counts


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_matches_brute_force_reference(case):
    rules, busy, now, start, end, counts = case
    got = free_slots(rules, busy, now, start, end, counts)
    expected = reference(rules, busy, now, start, end, counts)
    # Sorted, no duplicates, every slot free, in the window and on the grid, and every free
    # grid candidate present: all of that is "equal to the reference".
    starts = [s for s, _ in got]
    assert starts == sorted(set(starts))
    assert all(e - s == timedelta(minutes=rules.duration_minutes) for s, e in got)
    assert got == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(-DAY, 5 * DAY), st.sampled_from([60, 1800, 3600, 10800]))
def test_more_busy_time_never_adds_slots(case, offset, length):
    rules, busy, now, start, end, counts = case
    before = set(free_slots(rules, busy, now, start, end, counts))
    extra = (now.timestamp() + offset, now.timestamp() + offset + length)
    after = set(free_slots(rules, [*busy, extra], now, start, end, counts))
    assert after <= before
    lo, hi = extra
    for s, e in before - after:
        buffer = 60 * rules.buffer_minutes
        assert s.timestamp() - buffer < hi and e.timestamp() + buffer > lo


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_marking_candidates_with_busy_time_equals_sweeping_with_it(case):
    """Group availability (SPEC §8) marks the slots computed with nobody busy against each
    host's busy time (`free_of`); that must be exactly the host's own `free_slots`."""
    rules, busy, now, start, end, counts = case
    candidates = free_slots(rules, (), now, start, end, counts)
    flags = free_of(slot_windows(candidates, rules.buffer_minutes), busy)
    marked = [slot for slot, ok in zip(candidates, flags, strict=True) if ok]
    assert marked == free_slots(rules, busy, now, start, end, counts)
