"""Free slots from a profile's rules and the host's busy time (SPEC §3).

Pure functions: no Django, no I/O. Instants are handled as POSIX seconds inside the sweep
because comparing floats is far cheaper than comparing aware datetimes, and they leave as
aware UTC datetimes at the edge.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from scheduler.rules.intervals import merge

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALLOWED_STEPS = (5, 10, 15, 20, 30, 60)
END_OF_DAY = 24 * 3600

_PERIOD_RE = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


@dataclass(frozen=True)
class Period:
    """An ISO 8601 period split into its calendar part and its absolute-time part."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    seconds: int = 0  # the time part (PT36H), added as absolute time

    @property
    def date_part(self) -> relativedelta:
        return relativedelta(years=self.years, months=self.months, weeks=self.weeks, days=self.days)

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days or self.seconds)


def parse_period(text: str) -> Period:
    """Parse `P30D`, `P4W`, `P3M`, `P1Y2M`, `PT36H`…; raise ValueError on anything else."""
    match = _PERIOD_RE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 period such as P30D, P4W or P3M")
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    period = Period(
        years=parts["years"],
        months=parts["months"],
        weeks=parts["weeks"],
        days=parts["days"],
        seconds=parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"],
    )
    if period.is_zero():
        raise ValueError(f"{text!r} is an empty period; give a length such as P30D")
    return period


def parse_time_of_day(text: str, *, allow_end_of_day: bool = False) -> int:
    """`HH:MM` or `HH:MM:SS` to seconds after midnight; `24:00` only when allowed (an end)."""
    match = _TIME_RE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a time of day in HH:MM or HH:MM:SS form")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    if hours == 24 and minutes == 0 and seconds == 0:
        if allow_end_of_day:
            return END_OF_DAY
        raise ValueError("24:00 may only end an interval")
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    return hours * 3600 + minutes * 60 + seconds


def format_time_of_day(seconds: int, *, with_seconds: bool = True) -> str:
    """Seconds after midnight as `HH:MM:SS` (the wire form) or `HH:MM` (for people); the end of
    the day is `24:00`."""
    if seconds >= END_OF_DAY:
        return "24:00:00" if with_seconds else "24:00"
    text = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return f"{text}:{seconds % 60:02d}" if with_seconds else text


DayHours = tuple[tuple[int, int], ...]  # (start, end) seconds after local midnight


@dataclass(frozen=True)
class DateOverride:
    first: date
    last: date
    hours: DayHours  # () = a day off


@dataclass(frozen=True)
class Rules:
    """Everything about a profile that decides its slots."""

    timezone: str
    duration_minutes: int = 30
    step_minutes: int = 30
    buffer_minutes: int = 0
    start_after_minutes: int = 60
    horizon: Period = field(default_factory=lambda: Period(days=30))
    active_from: datetime | None = None
    active_until: datetime | None = None
    weekly: Mapping[int, DayHours] = field(default_factory=dict)  # weekday 0=Monday
    overrides: Sequence[DateOverride] = ()
    max_bookings_per_day: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def local_instant(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """Local wall time -> aware datetime, fold=0: a time in a spring-forward gap lands after
    the gap, an ambiguous fall-back time takes its first occurrence. 24:00 is next midnight."""
    if seconds >= END_OF_DAY:
        day, seconds = day + timedelta(days=1), seconds - END_OF_DAY
    naive = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60))
    return naive.replace(tzinfo=zone, fold=0)


def add_period(start_local: datetime, period: Period, zone: ZoneInfo) -> datetime:
    """Rule 1: the date part by relativedelta on wall time, made an instant with fold=0,
    then the time part as absolute time."""
    wall = start_local.astimezone(zone).replace(tzinfo=None, fold=0) + period.date_part
    # Adding a timedelta to a datetime in a zoneinfo zone moves its wall clock, not the
    # instant: go to UTC first so PT36H is 36 real hours across a DST change.
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return instant + timedelta(seconds=period.seconds)


def horizon_end(rules: Rules, now: datetime) -> datetime:
    return add_period(now, rules.horizon, rules.zone)


def window(
    rules: Rules, now: datetime, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime, datetime]:
    """Rule 1: `[lo, hi)`, the latest start and the earliest end that apply."""
    # In UTC, so the notice is absolute minutes even when `now` carries a zoneinfo zone.
    starts = [now.astimezone(UTC) + timedelta(minutes=rules.start_after_minutes)]
    ends = [horizon_end(rules, now)]
    if rules.active_from is not None:
        starts.append(rules.active_from)
    if rules.active_until is not None:
        ends.append(rules.active_until)
    if start is not None:
        starts.append(start)
    if end is not None:
        ends.append(end)
    return max(starts).astimezone(UTC), min(ends).astimezone(UTC)


def merge_day_hours(hours: Iterable[tuple[int, int]]) -> DayHours:
    """Merge overlapping or touching intervals of one day."""
    return tuple(merge(hours))


def hours_for_date(rules: Rules, day: date) -> DayHours:
    """Rule 2: the first override covering `day`, else the weekly hours of its weekday."""
    for override in rules.overrides:
        if override.first <= day <= override.last:
            return merge_day_hours(override.hours)
    return merge_day_hours(rules.weekly.get(day.weekday(), ()))


def merge_busy(busy: Iterable[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Union of busy intervals (POSIX seconds) as parallel sorted start/end lists;
    zero-length intervals are dropped, touching ones joined."""
    merged = merge(busy)
    return [s for s, _ in merged], [e for _, e in merged]


def slot_windows(
    slots: Sequence[tuple[datetime, datetime]], buffer_minutes: int
) -> tuple[list[float], list[float]]:
    """Each slot widened by the buffer, in POSIX seconds, as parallel lists of starts and
    ends: what rule 5 keeps clear of busy time."""
    buffer = buffer_minutes * 60
    return (
        [s.timestamp() - buffer for s, _ in slots],
        [e.timestamp() + buffer for _, e in slots],
    )


def free_of(
    windows: tuple[list[float], list[float]], busy: Iterable[tuple[float, float]]
) -> list[bool]:
    """For each slot of a profile computed with nobody busy (as `slot_windows`, in order),
    whether it stays free given one more account's `busy` time: rule 5's overlap test, the
    same test `free_slots` applies while it sweeps, so `free_slots(rules, busy, …)` is exactly
    the slots of `free_slots(rules, (), …)` marked True here.

    Slots share one length, so their widened windows are ordered by start and by end alike;
    each busy interval then blocks one contiguous run of them, found by bisection."""
    window_starts, window_ends = windows
    count = len(window_starts)
    out = [True] * count
    for bs, be in busy:
        if be <= bs:
            continue  # zero-length: blocks nothing (as `merge` drops it for the sweep)
        first = bisect.bisect_right(window_ends, bs)  # windows ending after the busy start
        # The earliest of those starts first: at or after the busy end, none overlaps (most
        # busy time lies outside the hours, so most intervals stop here).
        if first == count or window_starts[first] >= be:
            continue
        last = bisect.bisect_left(window_starts, be, first)  # windows starting before its end
        out[first:last] = [False] * (last - first)
    return out


def free_slots(
    rules: Rules,
    busy: Iterable[tuple[float, float]],
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    bookings_per_day: Mapping[date, int] | None = None,
) -> list[tuple[datetime, datetime]]:
    """All slots `[s, e)` of SPEC §3 inside the window, sorted by start: the one entry point,
    used by the service that answers requests and by every test alike.

    `busy` holds (start, end) POSIX seconds from every calendar and live booking of the
    account; `bookings_per_day` counts this profile's live bookings per local date.
    """
    lo, hi = window(rules, now, start, end)
    return _sweep(rules, busy, lo, hi, bookings_per_day)


def _sweep(
    rules: Rules,
    busy: Iterable[tuple[float, float]],
    lo: datetime,
    hi: datetime,
    bookings_per_day: Mapping[date, int] | None = None,
) -> list[tuple[datetime, datetime]]:
    if hi <= lo:
        return []
    zone = rules.zone
    lo_ts, hi_ts = lo.timestamp(), hi.timestamp()
    duration = rules.duration_minutes * 60
    step = rules.step_minutes * 60
    buffer = rules.buffer_minutes * 60
    busy_starts, busy_ends = merge_busy(
        (s, e) for s, e in busy if e > lo_ts - buffer and s < hi_ts + buffer
    )
    n_busy = len(busy_starts)
    cap = rules.max_bookings_per_day
    counts = bookings_per_day or {}

    # Local dates whose hours can reach into the window; one day of slack on each side
    # covers any UTC offset.
    day = lo.astimezone(zone).date() - timedelta(days=1)
    last_day = hi.astimezone(zone).date() + timedelta(days=1)
    out: list[tuple[float, float]] = []
    while day <= last_day:
        if cap is not None and counts.get(day, 0) >= cap:
            day += timedelta(days=1)
            continue
        for h_start, h_end in hours_for_date(rules, day):
            a = local_instant(day, h_start, zone).timestamp()
            b = local_instant(day, h_end, zone).timestamp()
            # Local times in a spring-forward gap map later than the wall clock suggests, so
            # intervals of one date can overlap as instants: find the busy cursor afresh.
            i = bisect.bisect_right(busy_ends, a - buffer)
            s = a
            if s < lo_ts:  # jump to the first grid point at or after lo
                s = a + -(-(lo_ts - a) // step) * step
            last_start = min(b, hi_ts) - duration
            while s <= last_start:
                ws, we = s - buffer, s + duration + buffer
                while i < n_busy and busy_ends[i] <= ws:
                    i += 1
                if i < n_busy and busy_starts[i] < we:
                    # Blocked: jump to the first grid point whose buffered start clears it.
                    clear = busy_ends[i] + buffer
                    s = s + max(1, -(-(clear - s) // step)) * step
                    continue
                out.append((s, s + duration))
                s += step
        day += timedelta(days=1)
    if any(out[k][0] >= out[k + 1][0] for k in range(len(out) - 1)):
        out = sorted(set(out))  # only after a DST gap made two intervals overlap
    return _to_datetimes(out, duration, step)


def _to_datetimes(
    slots: list[tuple[float, float]], duration: int, step: int
) -> list[tuple[datetime, datetime]]:
    # Neighbouring slots are usually one step apart; adding a timedelta is several times
    # cheaper than building each datetime from a timestamp.
    step_td, duration_td = timedelta(seconds=step), timedelta(seconds=duration)
    result: list[tuple[datetime, datetime]] = []
    prev_ts: float | None = None
    prev_dt = datetime.min
    for s, _ in slots:
        prev_dt = prev_dt + step_td if s - step == prev_ts else datetime.fromtimestamp(s, UTC)
        prev_ts = s
        result.append((prev_dt, prev_dt + duration_td))
    return result


def instant_text(instant: datetime) -> str:
    """An instant as people read it in messages: UTC, whole seconds, with `Z`."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
