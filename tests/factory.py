"""Plain factory helpers for tests: `make_*` functions instead of fixtures files."""

from __future__ import annotations

import itertools
from datetime import datetime

from scheduler.models import Account, ApiToken, Booking, Calendar, Event, Profile

_seq = itertools.count(1)


def make_account(**kw) -> Account:
    n = next(_seq)
    defaults = {
        "handle": f"host{n}",
        "name": f"Host {n}",
        "email": f"host{n}@example.com",
        "timezone": "UTC",
    }
    defaults.update(kw)
    return Account.objects.create(**defaults)


def make_token(account: Account, name: str = "test") -> str:
    _, raw = ApiToken.issue(account, name)
    return raw


def make_profile(account: Account | None = None, **kw) -> Profile:
    account = account or make_account()
    defaults = {"name": f"meet{next(_seq)}", "start_after_minutes": 0}
    defaults.update(kw)
    return Profile.objects.create(account=account, **defaults)


def make_booking(profile: Profile, start: datetime, end: datetime, **kw) -> Booking:
    defaults = {"status": Booking.Status.CONFIRMED, "name": "Ann", "email": "ann@example.com"}
    defaults.update(kw)
    return Booking.objects.create(
        account=profile.account, profile=profile, start=start, end=end, **defaults
    )


def make_event(account: Account, start: datetime, end: datetime, **kw) -> Event:
    calendar = account.primary_calendar()
    assert calendar.kind == Calendar.Kind.BUILTIN
    return Event.objects.create(calendar=calendar, start=start, end=end, **kw)
