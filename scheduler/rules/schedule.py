"""Wire-format weekly hours and date overrides: validation, normalisation, and `Rules`.

Pure functions: no Django. Errors name the exact field path, e.g.
`workHours.daySchedules[0].workingIntervals[1].end`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduler.rules.availability import (
    ALLOWED_STEPS,
    DAY_NAMES,
    DateOverride,
    Rules,
    format_time_of_day,
    instant_text,
    parse_period,
    parse_time_of_day,
)


class RuleError(ValueError):
    """Bad input, with every bad field named: {"field.path": ["why", …]}."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class Limit:
    """An inclusive range of whole numbers a profile field must lie in."""

    lo: int
    hi: int

    def check(self, value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError({field: [f"{value!r} is not a whole number"]})
        if not self.lo <= value <= self.hi:
            raise RuleError({field: [f"{value} is not between {self.lo} and {self.hi}"]})
        return value


# The limits of a profile's numbers: the API schemas, the model's validators and its database
# constraints all read them from here.
DURATION_MINUTES = Limit(5, 720)
BUFFER_MINUTES = Limit(0, 240)
NOTICE_MINUTES = Limit(0, 525_600)
BOOKINGS_PER_DAY = Limit(1, 1000)
RESERVE_MINUTES = Limit(1, 7 * 24 * 60)
# Reminders (SPEC §9): up to MAX_REMINDERS distinct values, each this many minutes before.
REMINDER_MINUTES = Limit(5, 40_320)
MAX_REMINDERS = 5
# Invitee deadlines (SPEC §9): minutes before the start after which the invitee's link no
# longer cancels or moves the booking.
DEADLINE_MINUTES = Limit(0, 525_600)
# A horizon (or a query's intervalLength) longer than this would compute years of slots.
MAX_HORIZON = "P2Y"
_MAX_HORIZON = parse_period(MAX_HORIZON)
# Calendar lengths differ by start date: a period is measured from each month's first day
# of a four-year cycle (leap year included), and its longest length counts.
_PERIOD_STARTS = tuple(datetime(2024 + k // 12, k % 12 + 1, 1) for k in range(48))


def _longest(period: Any) -> float:
    return max(
        (start + period.date_part - start).total_seconds() + period.seconds
        for start in _PERIOD_STARTS
    )


def check_horizon(value: Any, field: str = "timeAvailableFor") -> str:
    """An ISO 8601 period no longer than MAX_HORIZON, compared by real calendar lengths (so
    P24M and P1Y12M are as long as P2Y)."""
    try:
        period = parse_period(value if isinstance(value, str) else "")
    except ValueError as exc:
        raise RuleError({field: [str(exc)]}) from exc
    rough_days = period.years * 366 + period.months * 31 + period.weeks * 7 + period.days
    # Far too long is refused before any date arithmetic, which would overflow.
    if rough_days > 2 * 366 * 2 or _longest(period) > _longest(_MAX_HORIZON):
        raise RuleError({field: [f"{value!r} is longer than the maximum of {MAX_HORIZON}"]})
    return value


def check_active_period(
    start: datetime | None, end: datetime | None, field: str = "endTime"
) -> None:
    """A profile's active period ends after it starts (either end may be open)."""
    if start is not None and end is not None and end <= start:
        raise RuleError({field: [f"must be after startTime ({instant_text(start)})"]})


_ZONES: frozenset[str] | None = None


def is_timezone(name: object) -> bool:
    """A real IANA zone name (not a path, not a POSIX TZ string)."""
    global _ZONES
    if not isinstance(name, str) or not name:
        return False
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if name in _ZONES:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"


def default_work_hours(timezone: str | None = None) -> dict[str, Any]:
    """Monday to Friday, 09:00–17:00."""
    out: dict[str, Any] = {
        "daySchedules": [
            {"dayOfWeek": day, "workingIntervals": [{"start": "09:00:00", "end": "17:00:00"}]}
            for day in DAY_NAMES[:5]
        ]
    }
    if timezone:
        out["timezone"] = timezone
    return out


def check_start(text: Any) -> int:
    """An interval's start as seconds after midnight; ValueError saying why not."""
    return parse_time_of_day(str(text))


def check_end(start: int, text: Any) -> int:
    """An interval's end (24:00 allowed), after its start; ValueError saying why not."""
    end = parse_time_of_day(str(text), allow_end_of_day=True)
    if start >= end:
        raise ValueError(f"must be after start ({format_time_of_day(start)})")
    return end


def check_date_range(first: date, last: date) -> None:
    """An override's last date is not before its first; ValueError saying why not."""
    if last < first:
        raise ValueError("must not be before dateStartInclusive")


def _intervals(value: Any, path: str, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    if not isinstance(value, list):
        errors.setdefault(path, []).append("must be a list of {start, end}")
        return []
    out = []
    for k, item in enumerate(value):
        here = f"{path}[{k}]"
        if not isinstance(item, Mapping):
            errors.setdefault(here, []).append("must be an object {start, end}")
            continue
        extra = set(item) - {"start", "end"}
        for key in sorted(extra):
            errors.setdefault(f"{here}.{key}", []).append("unknown field")
        try:
            start = check_start(item.get("start", ""))
        except ValueError as exc:
            errors.setdefault(f"{here}.start", []).append(str(exc))
            continue
        try:
            end = check_end(start, item.get("end", ""))
        except ValueError as exc:
            errors.setdefault(f"{here}.end", []).append(str(exc))
            continue
        out.append({"start": format_time_of_day(start), "end": format_time_of_day(end)})
    return out


def normalize_work_hours(value: Any, field: str = "workHours") -> dict[str, Any]:
    """Validate `{timezone?, daySchedules:[{dayOfWeek, workingIntervals}]}`; times as HH:MM:SS."""
    errors: dict[str, list[str]] = {}
    if not isinstance(value, Mapping):
        raise RuleError({field: ["must be an object {timezone, daySchedules}"]})
    for key in sorted(set(value) - {"timezone", "daySchedules"}):
        errors.setdefault(f"{field}.{key}", []).append("unknown field")
    out: dict[str, Any] = {}
    tz = value.get("timezone")
    if tz is not None:
        if not is_timezone(tz):
            errors.setdefault(f"{field}.timezone", []).append(
                f"{tz!r} is not an IANA time zone such as Europe/London"
            )
        else:
            out["timezone"] = tz
    schedules = value.get("daySchedules", [])
    if not isinstance(schedules, list):
        errors.setdefault(f"{field}.daySchedules", []).append("must be a list")
        schedules = []
    days = []
    for k, item in enumerate(schedules):
        here = f"{field}.daySchedules[{k}]"
        if not isinstance(item, Mapping):
            errors.setdefault(here, []).append("must be an object {dayOfWeek, workingIntervals}")
            continue
        for key in sorted(set(item) - {"dayOfWeek", "workingIntervals"}):
            errors.setdefault(f"{here}.{key}", []).append("unknown field")
        day = item.get("dayOfWeek")
        if not isinstance(day, str) or day.lower() not in DAY_NAMES:
            errors.setdefault(f"{here}.dayOfWeek", []).append(
                f"{day!r} is not one of {', '.join(DAY_NAMES)}"
            )
            continue
        intervals = _intervals(item.get("workingIntervals", []), f"{here}.workingIntervals", errors)
        days.append({"dayOfWeek": day.lower(), "workingIntervals": intervals})
    if errors:
        raise RuleError(errors)
    out["daySchedules"] = days
    return out


def _date(value: Any, path: str, errors: dict[str, list[str]]) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(path, []).append(f"{value!r} is not a date in YYYY-MM-DD form")
        return None


def normalize_availability_intervals(
    value: Any, field: str = "availabilityIntervals"
) -> dict[str, Any]:
    """Validate `{intervals:[{dateStartInclusive, dateEndInclusive, hours:[…]}]}`."""
    if value is None:
        return {"intervals": []}
    if not isinstance(value, Mapping):
        raise RuleError({field: ["must be an object {intervals}"]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(value) - {"intervals"}):
        errors.setdefault(f"{field}.{key}", []).append("unknown field")
    items = value.get("intervals", [])
    if not isinstance(items, list):
        raise RuleError({f"{field}.intervals": ["must be a list"]})
    out = []
    for k, item in enumerate(items):
        here = f"{field}.intervals[{k}]"
        if not isinstance(item, Mapping):
            errors.setdefault(here, []).append("must be an object")
            continue
        for key in sorted(set(item) - {"dateStartInclusive", "dateEndInclusive", "hours"}):
            errors.setdefault(f"{here}.{key}", []).append("unknown field")
        first = _date(item.get("dateStartInclusive"), f"{here}.dateStartInclusive", errors)
        last = _date(
            item.get("dateEndInclusive", item.get("dateStartInclusive")),
            f"{here}.dateEndInclusive",
            errors,
        )
        hours = _intervals(item.get("hours", []), f"{here}.hours", errors)
        if first and last:
            try:
                check_date_range(first, last)
            except ValueError as exc:
                errors.setdefault(f"{here}.dateEndInclusive", []).append(str(exc))
                continue
        if first and last:
            out.append(
                {
                    "dateStartInclusive": first.isoformat(),
                    "dateEndInclusive": last.isoformat(),
                    "hours": hours,
                }
            )
    if errors:
        raise RuleError(errors)
    return {"intervals": out}


def validate_period(value: Any, field: str = "timeAvailableFor") -> str:
    return check_horizon(value if isinstance(value, str) else str(value), field)


def check_reminders(value: Any, field: str = "reminderMinutes") -> list[int]:
    """Up to MAX_REMINDERS distinct whole numbers within REMINDER_MINUTES, ascending."""
    if not isinstance(value, list):
        raise RuleError({field: [f"{value!r} is not a list of minutes"]})
    errors: dict[str, list[str]] = {}
    if len(value) > MAX_REMINDERS:
        errors[field] = [f"has {len(value)} values; at most {MAX_REMINDERS} are allowed"]
    seen: set[int] = set()
    for i, minutes in enumerate(value):
        try:
            REMINDER_MINUTES.check(minutes, f"{field}[{i}]")
        except RuleError as exc:
            errors.update(exc.errors)
            continue
        if minutes in seen:
            errors[f"{field}[{i}]"] = [f"{minutes} is listed twice"]
        seen.add(minutes)
    if errors:
        raise RuleError(errors)
    return sorted(value)


def validate_step(value: Any, field: str = "availabilityStep") -> int:
    if not isinstance(value, int) or value not in ALLOWED_STEPS:
        raise RuleError({field: [f"{value!r} is not one of {', '.join(map(str, ALLOWED_STEPS))}"]})
    return value


def _seconds(text: str, *, end: bool = False) -> int:
    return parse_time_of_day(text, allow_end_of_day=end)


def build_rules(
    *,
    account_timezone: str,
    work_hours: Mapping[str, Any] | None,
    availability_intervals: Mapping[str, Any] | None,
    duration_minutes: int,
    step_minutes: int,
    buffer_minutes: int,
    start_after_minutes: int,
    time_available_for: str,
    active_from: datetime | None,
    active_until: datetime | None,
    max_bookings_per_day: int | None,
) -> Rules:
    """Stored (already normalised) profile data -> `Rules` for availability.py."""
    hours = work_hours or default_work_hours()
    weekly: dict[int, list[tuple[int, int]]] = {}
    for day in hours.get("daySchedules", []):
        weekday = DAY_NAMES.index(day["dayOfWeek"])
        weekly.setdefault(weekday, []).extend(
            (_seconds(i["start"]), _seconds(i["end"], end=True))
            for i in day.get("workingIntervals", [])
        )
    overrides = tuple(
        DateOverride(
            date.fromisoformat(o["dateStartInclusive"]),
            date.fromisoformat(o["dateEndInclusive"]),
            tuple((_seconds(h["start"]), _seconds(h["end"], end=True)) for h in o["hours"]),
        )
        for o in (availability_intervals or {}).get("intervals", [])
    )
    return Rules(
        timezone=hours.get("timezone") or account_timezone,
        duration_minutes=duration_minutes,
        step_minutes=step_minutes,
        buffer_minutes=buffer_minutes,
        start_after_minutes=start_after_minutes,
        horizon=parse_period(time_available_for),
        active_from=active_from,
        active_until=active_until,
        weekly={k: tuple(v) for k, v in weekly.items()},
        overrides=overrides,
        max_bookings_per_day=max_bookings_per_day,
    )
