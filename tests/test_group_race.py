"""Real parallelism across group and personal profiles (SPEC §8): one member's time is booked
once, however many group and personal bookings race for it.

Like tests/test_concurrency.py: 4 gunicorn workers on the pytest test database (SQLite by
default, PostgreSQL with DATABASE_URL), clients released together by a barrier, real clock (the
slot is read from the live server's own availability, so server and test agree on "now").
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from scheduler.models import Account, AppKey, Attendee, Booking, Organization, Profile
from scheduler.rules.availability import DAY_NAMES
from scheduler.services import groups
from tests.factory import make_account, make_event, make_profile, make_token

GROUP_CLIENTS = 30
PERSONAL_CLIENTS = 10
ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for day in DAY_NAMES
    ],
}
# Slots an hour or more ahead: still free while the race runs, whatever the clock does meanwhile.
AHEAD = timedelta(hours=1)

pytestmark = pytest.mark.slow


def _org(members: int) -> tuple[Organization, tuple[str, str], list[Account]]:
    org = Organization.objects.create(handle="raceteam", name="Race Team", timezone="UTC")
    _, credential = AppKey.issue(org, "race")
    client_id, secret = credential.split(":", 1)
    accounts = [make_account(organization=org) for _ in range(members)]
    return org, (client_id, secret), accounts


def _group_profile(org: Organization, name: str, required: str, account_ids: list[int]) -> Profile:
    profile = Profile.objects.create(
        organization=org, name=name, required=required, work_hours=ALL_DAY, start_after_minutes=0
    )
    groups.attach_accounts(profile, account_ids)
    return profile


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _items(base: str, path: str, auth: tuple[str, str] | str) -> list[dict]:
    """The first 40 availability items of a profile, read through the live server."""
    kwargs = _auth(auth)
    response = requests.get(f"{base}{path}?limit=40", timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()["items"]


def _auth(auth: tuple[str, str] | str) -> dict:
    """An app key (clientId, secret) goes as HTTP Basic; an account token as Bearer."""
    if isinstance(auth, tuple):
        return {"auth": auth}
    return {"headers": {"Authorization": f"Bearer {auth}"}}


def _group_items(base: str, app_key: tuple[str, str], profile: Profile) -> list[dict]:
    return _items(base, f"/v1/book/group/profiles/{profile.pk}/meeting", app_key)


def _ahead(items: list[dict]) -> dict:
    """The first item starting `AHEAD` or later (the live server's clock is this one)."""
    now = datetime.now(UTC)
    for item in items:
        if _instant(item["start"]) >= now + AHEAD:
            return item
    raise AssertionError(f"no slot {AHEAD} ahead: {items}")


def _offers(items: list[dict], slot: dict) -> list[dict]:
    return [i for i in items if (i["start"], i["end"]) == (slot["start"], slot["end"])]


def _personal_offers(base: str, token: str, profile: Profile, slot: dict) -> bool:
    items = _items(base, f"/v1/book/account/profiles/{profile.pk}/meeting", token)
    return bool(_offers(items, slot))


def _race(attempts: list[tuple[str, tuple[str, str] | str]], time: dict) -> Counter:
    """POST every attempt (url, auth) at once; count statuses. A 409 must be slot_unavailable
    and any other failure is counted under its status, so the assertion shows it."""
    barrier = threading.Barrier(len(attempts))
    body = {
        "time": {"start": time["start"], "end": time["end"]},
        "schedulerInfo": {"name": "Racer", "email": "racer@example.com"},
    }

    def attempt(item: tuple[str, tuple[str, str] | str]) -> int | str:
        url, auth = item
        barrier.wait(timeout=30)
        response = requests.post(url, json=body, timeout=60, **_auth(auth))
        if response.status_code == 409:
            code = response.json()["error"]["code"]
            return 409 if code == "slot_unavailable" else f"409 {code}"
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return Counter(pool.map(attempt, attempts))


def _assert_one_holder(account: Account, slot: dict) -> Booking:
    start, end = _instant(slot["start"]), _instant(slot["end"])
    held = Attendee.objects.filter(account=account).live().overlapping(start, end)
    assert held.count() == 1, list(held.values("booking_id", "start", "end", "status"))
    assert Booking.objects.live().overlapping(start, end).count() == 1
    return held.get().booking


def test_group_and_personal_bookings_of_one_member_give_one_booking(live_app):
    """30 bookings of a required=all group profile and 10 of the member's own profile."""
    org, app_key, (member, other, third) = _org(3)
    token = make_token(member)
    team = _group_profile(org, "everyone", "all", [member.pk, other.pk, third.pk])
    personal = make_profile(member, work_hours=ALL_DAY, start_after_minutes=0)
    slot = _ahead(_group_items(live_app, app_key, team))
    assert slot["accountIds"] == sorted([member.pk, other.pk, third.pk])
    assert _personal_offers(live_app, token, personal, slot)

    group_url = f"{live_app}/v1/book/group/profiles/{team.pk}/meeting"
    personal_url = f"{live_app}/v1/book/account/profiles/{personal.pk}/meeting"
    attempts = [(group_url, app_key)] * GROUP_CLIENTS + [(personal_url, token)] * PERSONAL_CLIENTS
    statuses = _race(attempts, slot)

    total = GROUP_CLIENTS + PERSONAL_CLIENTS
    assert statuses == Counter({201: 1, 409: total - 1})
    booking = _assert_one_holder(member, slot)
    if booking.profile_id == team.pk:  # the group won: every member attends, once
        for account in (other, third):
            assert _assert_one_holder(account, slot) == booking
    else:
        assert not Attendee.objects.filter(account__in=[other, third]).exists()


def test_two_group_profiles_sharing_the_member_give_one_booking(live_app):
    """Two group profiles share the member: one required=all; one required=one whose other
    host is busy then, so the member is its only free host. Plus the member's own profile."""
    org, app_key, (member, other, busy) = _org(3)
    token = make_token(member)
    both = _group_profile(org, "pair", "all", [member.pk, other.pk])
    either = _group_profile(org, "either", "one", [member.pk, busy.pk])
    personal = make_profile(member, work_hours=ALL_DAY, start_after_minutes=0)
    slot = _ahead(_group_items(live_app, app_key, both))
    start = _instant(slot["start"])
    make_event(busy, start - timedelta(hours=1), start + timedelta(hours=2), summary="Busy")
    # `either` still offers the slot, with the member its only free host.
    offered = _offers(_group_items(live_app, app_key, either), slot)
    assert [i["accountIds"] for i in offered] == [[member.pk]]
    assert _personal_offers(live_app, token, personal, slot)

    urls = [f"{live_app}/v1/book/group/profiles/{p.pk}/meeting" for p in (both, either)]
    attempts = [(urls[n % 2], app_key) for n in range(GROUP_CLIENTS)]
    personal_url = f"{live_app}/v1/book/account/profiles/{personal.pk}/meeting"
    attempts += [(personal_url, token)] * PERSONAL_CLIENTS
    statuses = _race(attempts, slot)

    total = GROUP_CLIENTS + PERSONAL_CLIENTS
    assert statuses == Counter({201: 1, 409: total - 1})
    booking = _assert_one_holder(member, slot)
    assert not Attendee.objects.filter(account=busy).exists()
    if booking.profile_id == both.pk:
        assert _assert_one_holder(other, slot) == booking
    else:
        assert not Attendee.objects.filter(account=other).exists()
