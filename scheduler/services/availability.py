"""A profile's free slots (SPEC §3), and the window and `nextFromDate` of an availability query.

`compute` makes the account's external calendars fresh first (I/O, so never inside a lock),
unless the caller already did and holds the account's lock (`fresh=False`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduler.calendars import refresh
from scheduler.calendars.busy import accounts_busy
from scheduler.models import Account, Booking, Profile
from scheduler.rules import availability, group
from scheduler.rules.availability import add_period, instant_text, local_instant, parse_period
from scheduler.services.errors import InvalidInput


@dataclass(frozen=True)
class Availability:
    lo: datetime
    hi: datetime
    slots: list[tuple[datetime, datetime]]
    horizon: datetime
    # Group profiles: each slot with who is free then (SPEC §8).
    items: list[group.Item] | None = None


def _bookings_per_day(
    profile: Profile,
    zone: ZoneInfo,
    lo: datetime,
    hi: datetime,
    now: datetime,
    exclude_id: int | None = None,
) -> dict[date, int]:
    if not profile.max_bookings_per_day:
        return {}
    rows = Booking.objects.filter(profile=profile).live(now)
    rows = rows.overlapping(lo - timedelta(days=2), hi + timedelta(days=2))
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return dict(Counter(s.astimezone(zone).date() for s in rows.values_list("start", flat=True)))


@dataclass(frozen=True)
class Hosts:
    """Whom a profile books: its account, or a group profile's units and their members."""

    accounts: list[Account]
    units: list[group.Unit]

    @property
    def ids(self) -> list[int]:
        return [a.pk for a in self.accounts]


def hosts(profile: Profile) -> Hosts:
    if not profile.is_group:
        return Hosts([profile.account], [])
    units = profile.group_units()
    ids = {a for unit in units for a in unit.members}
    rows = Account.objects.filter(pk__in=ids).prefetch_related("calendars").order_by("pk")
    return Hosts(list(rows), units)


def members(profile: Profile) -> list[Account]:
    """The accounts whose time a profile books: its account, or a group profile's members."""
    return hosts(profile).accounts


def make_fresh(
    profile: Profile, now: datetime | None, until: datetime, found: Hosts | None = None
) -> None:
    """Read the calendars of every host the profile books (I/O: never under a lock)."""
    refresh.make_fresh_many((found or hosts(profile)).accounts, now, until=until)


def compute(
    profile: Profile,
    now: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    exclude_booking_id: int | None = None,
    fresh: bool = True,
    required: str | None = None,
) -> Availability:
    """The profile's free slots in the window `[lo, hi)` of SPEC §3 rule 1; for a group
    profile (SPEC §8) those where `required` (default: the profile's) units are free.

    `fresh=False` reads the stored calendar copies as they are (no I/O): for callers inside
    the booking transaction, which made them fresh before taking the lock.
    """
    now = now or timezone.now()
    rules = profile.rules()
    lo, hi = availability.window(rules, now, start, end)
    horizon = availability.horizon_end(rules, now)
    if not profile.active or hi <= lo:
        return Availability(lo, hi, [], horizon, [] if profile.is_group else None)
    buffer = timedelta(minutes=rules.buffer_minutes)
    found = hosts(profile)
    if fresh:
        make_fresh(profile, now, until=hi + buffer, found=found)
    per_day = _bookings_per_day(profile, rules.zone, lo, hi, now, exclude_booking_id)
    busy = accounts_busy(
        found.accounts,
        lo - buffer,
        hi + buffer,
        now=now,
        exclude_booking_id=exclude_booking_id,
        tz=rules.zone,  # all-day and floating events are read in the profile's zone (§3)
    )
    if not profile.is_group:
        slots = availability.free_slots(rules, busy[profile.account_id], now, start, end, per_day)
        return Availability(lo, hi, slots, horizon)
    # Each host's free slots are the candidates (the slots with nobody busy) that its own
    # busy time leaves free: `free_of` applies the sweep's overlap test to the candidates.
    candidates = availability.free_slots(rules, (), now, start, end, per_day)
    windows = availability.slot_windows(candidates, rules.buffer_minutes)
    free_by_account = {a: availability.free_of(windows, b) for a, b in busy.items()}
    items = group.items(candidates, found.units, free_by_account, required or profile.required)
    return Availability(lo, hi, [(i.start, i.end) for i in items], horizon, items)


def free_accounts_at(
    profile: Profile,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_id: int | None = None,
    accounts: list[Account] | None = None,
) -> set[int] | None:
    """Which of a group profile's hosts (or `accounts`) are free for exactly `[start, end)`;
    None when it is not one of the profile's candidates at all (no I/O)."""
    rules = profile.rules()
    lo, hi = start - timedelta(minutes=1), end + timedelta(minutes=1)
    per_day = _bookings_per_day(profile, rules.zone, lo, hi, now, exclude_id)
    if (start, end) not in set(availability.free_slots(rules, (), now, lo, hi, per_day)):
        return None
    buffer = timedelta(minutes=rules.buffer_minutes)
    accounts = members(profile) if accounts is None else accounts
    busy = accounts_busy(
        accounts, lo - buffer, hi + buffer, now=now, exclude_booking_id=exclude_id, tz=rules.zone
    )
    windows = availability.slot_windows([(start, end)], rules.buffer_minutes)
    return {a for a, b in busy.items() if availability.free_of(windows, b)[0]}


def is_free(
    profile: Profile, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> bool:
    """Whether `[start, end)` is exactly one of the profile's free slots now (no I/O)."""
    found = compute(
        profile,
        now,
        start - timedelta(minutes=1),
        end + timedelta(minutes=1),
        exclude_booking_id=exclude_id,
        fresh=False,
    )
    return (start, end) in set(found.slots)


@dataclass(frozen=True)
class Answer:
    """An availability query's answer: the window, its slots, and where to go on from."""

    found: Availability
    next_from_date: date | None


def query(
    profile: Profile,
    *,
    time_min: datetime | None = None,
    time_max: datetime | None = None,
    from_date: date | None = None,
    interval_length: str | None = None,
    now: datetime | None = None,
    required: str | None = None,
) -> Answer:
    """SPEC §3's answer for the window an availability query asks for."""
    if time_min is not None and time_max is not None and time_max <= time_min:
        why = f"{instant_text(time_max)} must be after timeMin ({instant_text(time_min)})"
        raise InvalidInput(f"Invalid input: timeMax {why}", {"timeMax": [why]})
    now = now or timezone.now()
    zone = profile.rules().zone
    start = time_min
    if start is None:
        start = local_instant(from_date or now.astimezone(zone).date(), 0, zone)
    end = time_max
    if end is None and interval_length:
        end = add_period(start, parse_period(interval_length), zone)
    found = compute(profile, now, start, end, required=required)
    # Slots can come after the window only while both the horizon and the profile's own end
    # lie beyond it; otherwise a client following nextFromDate would never stop.
    last = min(found.horizon, profile.end_time or found.horizon)
    following = None
    if last > found.hi:
        from_day = None if time_min is not None else start.astimezone(zone).date()
        following = next_from_date(found.lo, found.hi, from_day, zone)
    return Answer(found, following)


def next_from_date(lo: datetime, hi: datetime, from_day: date | None, zone: ZoneInfo) -> date:
    """The local date holding the window's end (the day after, when it ends at midnight), so a
    window cut at mid-day leaves the rest of that day to the next request. A request that
    started at `from_day`'s midnight gets a later date, so a client following nextFromDate
    with the same intervalLength always moves forward; and nothing before `lo` (now plus the
    notice, or the profile's start) can be a slot, so an empty window in the past jumps there."""
    days = [hi.astimezone(zone).date(), lo.astimezone(zone).date()]
    if from_day is not None:
        days.append(from_day + timedelta(days=1))
    return max(days)
