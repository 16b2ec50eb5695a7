"""The date-and-time picker of the public pages: which month, which day, which times.

Pure helpers apart from one `compute()` call in `build`: the visitor's zone decides local
dates, `?month=YYYY-MM`, `?date=YYYY-MM-DD` and `?slot=<ISO start>` choose what is shown, and
every choice is a plain link so the page works without JavaScript.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

from django.http import QueryDict

from scheduler import booking as booking_ops
from scheduler.forms import parse_slot
from scheduler.models import Profile

Slot = tuple[datetime, datetime]
NEAREST_COUNT = 5


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone the server knows, sorted, for the visitor's zone list."""
    return tuple(sorted(available_timezones()))


def visitor_zone(query: QueryDict, default: str) -> ZoneInfo:
    """`?tz=` when it names a known zone, else the profile's zone."""
    name = query.get("tz", "")
    if name and name in zone_names():
        return ZoneInfo(name)
    return ZoneInfo(default)


def parse_month(value: str) -> date | None:
    try:
        year, month = (int(part) for part in value.split("-"))
        # Far years are no use and would overflow the month arithmetic at year 9999.
        return date(year, month, 1) if 2000 <= year <= 2200 else None
    except (ValueError, TypeError):
        return None


def parse_date(value: str) -> date | None:
    try:
        day = date.fromisoformat(value)
    except (ValueError, TypeError):
        return None
    return day if 2000 <= day.year <= 2200 else None


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


@dataclass
class Day:
    date: date
    in_month: bool
    slots: list[Slot]
    url: str = ""
    selected: bool = False


@dataclass
class Picker:
    """What the picker template shows."""

    zone: ZoneInfo
    month: date
    weeks: list[list[Day]]
    selected: Day | None
    slot_links: list[tuple[Slot, str]]
    prev_url: str | None
    next_url: str | None
    links: dict[Slot, str] = field(default_factory=dict)  # every free slot of the month
    chosen: Slot | None = None  # the ?slot= asked for, when it is free
    asked: datetime | None = None  # the ?slot= asked for, free or not

    @property
    def has_slots(self) -> bool:
        return bool(self.links)

    def nearest(self, target: datetime, count: int = NEAREST_COUNT) -> list[tuple[Slot, str]]:
        """The free slots closest to `target`, in time order, each with its link."""
        closest = sorted(self.links, key=lambda s: abs((s[0] - target).total_seconds()))
        return [(s, self.links[s]) for s in sorted(closest[:count])]


def link(path: str, zone: ZoneInfo, default_zone: str, **params: str) -> str:
    """A page link that keeps the visitor's zone when it is not the default."""
    query = {k: v for k, v in params.items() if v}
    if zone.key != default_zone:
        query = {"tz": zone.key, **query}
    return f"{path}?{urlencode(query)}" if query else path


def _window(profile: Profile, month: date | None, now: datetime, zone: ZoneInfo):
    if month is not None:
        return local_midnight(month, zone), local_midnight(add_months(month, 1), zone)
    # No month asked: look two months ahead and show the first one with free times.
    this_month = now.astimezone(zone).date().replace(day=1)
    return None, local_midnight(add_months(this_month, 2), zone)


def build(
    profile: Profile,
    query: QueryDict,
    path: str,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
) -> Picker:
    """The picker for `query` (`tz`, `month`, `date`, `slot`) with one availability compute."""
    default_zone = profile.timezone
    zone = visitor_zone(query, default_zone)
    asked = parse_slot(query.get("slot", ""))
    picked_date = parse_date(query.get("date", ""))
    month = parse_month(query.get("month", ""))
    if month is None and asked is not None:
        month = asked.astimezone(zone).date().replace(day=1)
    if month is None and picked_date is not None:
        month = picked_date.replace(day=1)
    start, end = _window(profile, month, now, zone)
    found = booking_ops.compute(profile, now, start, end, exclude_booking_id=exclude_booking_id)
    slots = found.slots
    if month is None:
        first = slots[0][0] if slots else now
        month = first.astimezone(zone).date().replace(day=1)
        lo, hi = local_midnight(month, zone), local_midnight(add_months(month, 1), zone)
        slots = [s for s in slots if lo <= s[0] < hi]
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot[0].astimezone(zone).date(), []).append(slot)

    def url(**params: str) -> str:
        return link(path, zone, default_zone, **params)

    if picked_date not in by_day:
        picked_date = asked.astimezone(zone).date() if asked else None
    if picked_date not in by_day:
        picked_date = min(by_day) if by_day else None
    weeks = [
        [
            Day(
                date=d,
                in_month=d.month == month.month,
                slots=by_day.get(d, []) if d.month == month.month else [],
                url=url(month=f"{month:%Y-%m}", date=d.isoformat()) + "#times",
                selected=d == picked_date,
            )
            for d in week
        ]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    ]
    selected = next((d for w in weeks for d in w if d.selected and d.in_month), None)
    links = {s: url(slot=iso(s[0])) + "#book" for s in slots}
    this_month = now.astimezone(zone).date().replace(day=1)
    next_month = add_months(month, 1)
    limit = min(x for x in (found.horizon, profile.end_time) if x is not None)
    return Picker(
        zone=zone,
        month=month,
        weeks=weeks,
        selected=selected,
        slot_links=[(s, links[s]) for s in (selected.slots if selected else [])],
        prev_url=url(month=f"{add_months(month, -1):%Y-%m}") if month > this_month else None,
        next_url=(
            url(month=f"{next_month:%Y-%m}") if local_midnight(next_month, zone) < limit else None
        ),
        links=links,
        chosen=next((s for s in slots if s[0] == asked), None) if asked else None,
        asked=asked,
    )


def iso(instant: datetime) -> str:
    """The `?slot=` spelling of an instant: UTC with `Z`."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
