"""The date-and-time picker of the public pages: which month, which day, which times.

Pure helpers apart from one `compute()` call in `build`: the visitor's zone decides local
dates, `?month=YYYY-MM`, `?date=YYYY-MM-DD` and `?slot=<ISO start>` choose what is shown, and
every choice is a plain link so the page works without JavaScript.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import QueryDict
from django.utils.translation import gettext as _

from scheduler import localize, zone_picker
from scheduler.forms import parse_slot
from scheduler.models import Profile
from scheduler.services.availability import compute

Slot = tuple[datetime, datetime]
NEAREST_COUNT = 5


def zone_label(zone: ZoneInfo, at: datetime | None = None) -> str:
    """What a visitor reads for a zone: its name in the page's language and its offset at `at`
    (now by default), e.g. "Eastern Time – New York (UTC−05:00)"."""
    return zone_picker.label(zone.key, at)


def known_zone(text: str) -> str | None:
    """The canonical name of the zone `text` names (see `visitor_zone`), or None."""
    return zone_picker.resolve(text)


def visitor_zone(query: QueryDict, default: str) -> ZoneInfo:
    """The zone `?tz=` names (an IANA name, an alias, a city or country as typed), else
    `default`."""
    key = zone_picker.resolve(query.get("tz", ""))
    return ZoneInfo(key) if key else ZoneInfo(default)


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


def link(path: str, zone: ZoneInfo, default_zone: str, **params: str) -> str:
    """A page link that keeps the visitor's zone when it is not the default."""
    query = {k: v for k, v in params.items() if v}
    if zone.key != default_zone:
        query = {"tz": zone.key, **query}
    return f"{path}?{urlencode(query)}" if query else path


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
    every: list[Slot] = field(default_factory=list)  # every free slot of the bookable window
    url: Callable[..., str] = field(default=link)
    any_free: bool = False  # anything free at all before the horizon
    moved: str = ""  # why the month shown is not the one asked for
    next_free: tuple[Slot, str] | None = None  # the first free slot after this month
    until: date | None = None  # the last local date that can be booked

    @property
    def has_slots(self) -> bool:
        return bool(self.links)

    @property
    def prev_month(self) -> date:
        return add_months(self.month, -1)

    @property
    def next_month(self) -> date:
        return add_months(self.month, 1)

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)

    def nearest(self, target: datetime, count: int = NEAREST_COUNT) -> list[tuple[Slot, str]]:
        """The free slots closest to `target` in the whole window, in time order, with links."""
        closest = sorted(self.every, key=lambda s: abs((s[0] - target).total_seconds()))
        return [(s, self.url(slot=iso(s[0])) + "#book") for s in sorted(closest[:count])]


def _month_of(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date().replace(day=1)


def _nearest_slot(slots: list[Slot], target: datetime) -> Slot | None:
    return min(slots, key=lambda s: abs((s[0] - target).total_seconds()), default=None)


def _shown_month(
    asked_month: date | None,
    anchor: date | None,
    first: date,
    last: date,
) -> tuple[date, str]:
    """The month to show, kept within the bookable months, and a note when it was moved."""
    month = asked_month or anchor or first
    if month < first:
        return first, ""
    if month > last:
        shown = localize.write(last, "month")
        return last, _("Times can only be booked up to %(month)s; here is %(month)s.") % {
            "month": shown
        }
    return month, ""


def build(
    profile: Profile,
    query: QueryDict,
    path: str,
    now: datetime,
    *,
    exclude_booking_id: int | None = None,
    keep: dict[str, str] | None = None,
) -> Picker:
    """The picker for `query` (`tz`, `month`, `date`, `slot`) with one availability compute;
    every link it makes also carries `keep` (an embedded page's `embed=1&parent=…`).

    The compute covers the whole bookable window, not just the month shown: the page then
    knows whether there is any free time at all, and can offer the nearest free times and
    the next free day even when they lie in another month.
    """
    default_zone = profile.timezone
    zone = visitor_zone(query, default_zone)
    asked = parse_slot(query.get("slot", ""))
    picked_date = parse_date(query.get("date", ""))
    found = compute(profile, now, exclude_booking_id=exclude_booking_id)
    every = found.slots
    chosen = next((s for s in every if s[0] == asked), None) if asked else None
    # A time that is not free leads to the month of the nearest free one instead.
    target = chosen or (_nearest_slot(every, asked) if asked else None)
    anchor = _month_of(target[0], zone) if target else None
    if anchor is None and picked_date is not None:
        anchor = picked_date.replace(day=1)
    first = _month_of(now, zone)
    if every:
        anchor = anchor or _month_of(every[0][0], zone)
    last = max(first, _month_of(found.hi - timedelta(seconds=1), zone))
    month, moved = _shown_month(parse_month(query.get("month", "")), anchor, first, last)
    lo, hi = local_midnight(month, zone), local_midnight(add_months(month, 1), zone)
    slots = [s for s in every if lo <= s[0] < hi]
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot[0].astimezone(zone).date(), []).append(slot)

    def url(**params: str) -> str:
        return link(path, zone, default_zone, **params, **(keep or {}))

    if picked_date not in by_day:
        picked_date = target[0].astimezone(zone).date() if target else None
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
    later = next((s for s in every if s[0] >= hi), None)
    return Picker(
        zone=zone,
        month=month,
        weeks=weeks,
        selected=selected,
        slot_links=[(s, links[s]) for s in (selected.slots if selected else [])],
        prev_url=url(month=f"{add_months(month, -1):%Y-%m}") if month > first else None,
        next_url=url(month=f"{add_months(month, 1):%Y-%m}") if month < last else None,
        links=links,
        chosen=chosen,
        asked=asked,
        every=every,
        url=url,
        any_free=bool(every),
        moved=moved,
        next_free=(
            later,
            url(
                month=f"{_month_of(later[0], zone):%Y-%m}",
                date=f"{later[0].astimezone(zone):%Y-%m-%d}",
            )
            + "#times",
        )
        if later
        else None,
        until=(found.hi - timedelta(seconds=1)).astimezone(zone).date(),
    )


def iso(instant: datetime) -> str:
    """The `?slot=` spelling of an instant: UTC with `Z`."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
