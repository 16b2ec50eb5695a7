"""Group profiles' availability and assignment (SPEC §8).

First the pure rules of scheduler/rules/group.py on hand-made units; then a brute-force
reference: an organization whose members have random busy time, and group availability
checked item by item against what SPEC §8 says it is, built here from each member's *own*
availability (a personal profile with the group profile's rules, one per member), intersected
(`all`) or joined (`one`) unit by unit.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduler.models import Attendee, Booking, Calendar, Organization, Profile, Unit, UnitMember
from scheduler.rules import group
from scheduler.rules.group import ALL, ONE, Choice, Item
from scheduler.rules.group import Unit as RuleUnit
from scheduler.rules.schedule import default_work_hours
from scheduler.services import availability
from tests.factory import make_account, make_booking, make_event, make_profile

T = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
HALF = timedelta(minutes=30)


def attached(account: int) -> RuleUnit:
    return RuleUnit("", ALL, (account,))


def grp(ext_id: str, required: str, *members: int) -> RuleUnit:
    return RuleUnit(ext_id, required, tuple(sorted(members)))


# --- the pure rules ------------------------------------------------------------------------


def test_unit_keys_name_the_account_or_the_group():
    assert attached(7).key == "account:7" and not attached(7).is_group
    assert grp("sales", ONE, 3, 1).key == "group:sales" and grp("sales", ONE, 1).is_group
    assert grp("sales", ONE, 3, 1).members == (1, 3)


@pytest.mark.parametrize(
    ("unit", "free", "expected"),
    [
        (attached(1), {1}, True),
        (attached(1), {2}, False),
        (grp("g", ALL, 1, 2), {1, 2, 3}, True),
        (grp("g", ALL, 1, 2), {1}, False),
        (grp("g", ONE, 1, 2), {2}, True),
        (grp("g", ONE, 1, 2), {3}, False),
        (grp("g", ONE, 1, 2), set(), False),
    ],
)
def test_a_unit_is_free_as_spec_says(unit, free, expected):
    assert unit.is_free(free) is expected


def test_tie_break_order_is_attached_accounts_by_id_then_groups_in_attach_order():
    units = [grp("zeta", ONE, 9), attached(5), grp("alpha", ALL, 2), attached(3)]
    assert [u.key for u in group.ordered(units)] == [
        "account:3",
        "account:5",
        "group:zeta",
        "group:alpha",
    ]


def test_no_units_no_slots():
    candidates = [(T, T + HALF)]
    assert group.items(candidates, [], {1: {T}}, ALL) == []
    assert group.items(candidates, [], {1: {T}}, ONE) == []
    assert group.choose([], {1}, ALL) is None
    assert group.choose([], {1}, ONE) is None


def test_items_intersect_under_all_and_join_under_one():
    units = group.ordered([attached(1), grp("pair", ALL, 2, 3), grp("desk", ONE, 4, 5)])
    t1, t2, t3, t4 = (T + k * HALF for k in range(4))
    candidates = [(t, t + HALF) for t in (t1, t2, t3, t4)]
    free = {
        1: {t1, t2, t3},
        2: {t1, t2},
        3: {t1, t3},
        4: {t1, t4},
        5: {t2},
    }
    # Under all only t1: at t2 3 is busy (so "pair" is not free), at t3 2, at t4 1.
    assert group.items(candidates, units, free, ALL) == [
        Item(t1, t1 + HALF, (1, 2, 3, 4), ("pair", "desk")),
    ]
    # Under one: any free unit; accountIds are the free accounts of the *free* units only
    # (at t3, 3 is free but its group is not, so 3 is left out).
    assert group.items(candidates, units, free, ONE) == [
        Item(t1, t1 + HALF, (1, 2, 3, 4), ("pair", "desk")),
        Item(t2, t2 + HALF, (1, 5), ("desk",)),
        Item(t3, t3 + HALF, (1,), ()),
        Item(t4, t4 + HALF, (4,), ("desk",)),
    ]


def test_items_name_free_groups_in_attach_order():
    units = group.ordered([grp("zeta", ONE, 1), grp("alpha", ONE, 2)])
    got = group.items([(T, T + HALF)], units, {1: {T}, 2: {T}}, ONE)
    assert got == [Item(T, T + HALF, (1, 2), ("zeta", "alpha"))]


def test_choose_all_sends_every_unit_and_one_member_of_a_one_group():
    units = group.ordered([grp("desk", ONE, 6, 4, 5), attached(3), grp("pair", ALL, 2, 1)])
    free = {1, 2, 3, 4, 5, 6}
    # The member of "desk" with the fewest turns; ties go to the lowest id.
    assert group.choose(units, free, ALL) == Choice((3, 4, 1, 2), "")
    assert group.choose(units, free, ALL, member_turns={4: 2, 5: 1, 6: 1}) == Choice(
        (3, 5, 1, 2), ""
    )
    # A busy `desk` member is skipped; a busy `pair` member makes it no slot.
    assert group.choose(units, free - {4}, ALL) == Choice((3, 5, 1, 2), "")
    assert group.choose(units, free - {1}, ALL) is None
    assert group.choose(units, free - {3}, ALL) is None
    assert group.choose(units, {1, 2, 3}, ALL) is None


def test_choose_one_takes_the_unit_with_fewest_turns_ties_by_order():
    units = group.ordered([grp("b", ONE, 5, 6), grp("a", ALL, 3, 4), attached(2), attached(1)])
    free = {1, 2, 3, 4, 5, 6}
    assert group.choose(units, free, ONE) == Choice((1,), "account:1")
    turns = {"account:1": 1}
    assert group.choose(units, free, ONE, unit_turns=turns) == Choice((2,), "account:2")
    turns = {"account:1": 1, "account:2": 1}
    assert group.choose(units, free, ONE, unit_turns=turns) == Choice((5,), "group:b")
    turns = {"account:1": 1, "account:2": 1, "group:b": 1}
    assert group.choose(units, free, ONE, unit_turns=turns) == Choice((3, 4), "group:a")
    # Busy units are passed over whatever their turns.
    assert group.choose(units, {3, 4, 6}, ONE) == Choice((6,), "group:b")
    assert group.choose(units, {3, 6}, ONE) == Choice((6,), "group:b")
    assert group.choose(units, {3}, ONE) is None
    # The one group's member: fewest member turns, ties lowest id.
    turns = {"account:1": 3, "account:2": 3, "group:a": 3}
    assert group.choose(units, free, ONE, unit_turns=turns, member_turns={5: 1}) == Choice(
        (6,), "group:b"
    )


def test_narrowing_restricts_units_and_members():
    units = group.ordered([attached(1), grp("desk", ONE, 2, 3), grp("pair", ALL, 4, 5)])
    free = {1, 2, 3, 4, 5}
    assert group.choose(units, free, ONE, accounts=[1]) == Choice((1,), "account:1")
    assert group.choose(units, free, ONE, accounts=[3]) == Choice((3,), "group:desk")
    assert group.choose(units, free, ONE, groups=["pair"]) == Choice((4, 5), "group:pair")
    assert group.choose(units, free, ONE, accounts=[5]) == Choice((4, 5), "group:pair")
    # Naming a busy choice leaves nothing to choose.
    assert group.choose(units, free - {3}, ONE, accounts=[3]) is None
    assert group.choose(units, free - {1}, ONE, accounts=[1]) is None
    # Several named: the fewest turns among them.
    turns = {"account:1": 2}
    assert group.choose(units, free, ONE, unit_turns=turns, accounts=[1, 2]) == Choice(
        (2,), "group:desk"
    )
    # Under all, naming a member of a one group sends that member.
    assert group.choose(units, free, ALL, accounts=[3]) == Choice((1, 3, 4, 5), "")
    assert group.choose(units, free - {3}, ALL, accounts=[3]) is None


# --- group availability against a brute-force reference ----------------------------------

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday
_names = itertools.count(1)


def _personal_twin(account, profile: Profile) -> Profile:
    """A personal profile of `account` with exactly the group profile's rules, but no per-day
    cap (that one counts the group profile's bookings; the reference applies it itself)."""
    hours = dict(profile.work_hours or default_work_hours())
    hours["timezone"] = profile.timezone
    return make_profile(
        account,
        name=f"twin{next(_names)}",
        work_hours=hours,
        availability_intervals=profile.availability_intervals,
        duration_minutes=profile.duration_minutes,
        availability_step=profile.availability_step,
        buffer_between_minutes=profile.buffer_between_minutes,
        start_after_minutes=profile.start_after_minutes,
        time_available_for=profile.time_available_for,
        start_time=profile.start_time,
        end_time=profile.end_time,
    )


def reference(profile: Profile, now, start, end, mode: str) -> list[tuple]:
    """SPEC §8's items, from each member's own availability under the same rules."""
    units = []  # (extId, required, members) in tie-break order
    rows = list(Unit.objects.filter(profile=profile).order_by("id"))
    for unit in sorted((u for u in rows if not u.ext_id), key=lambda u: u.members.get().account_id):
        units.append(("", ALL, [unit.members.get().account_id]))
    for unit in (u for u in rows if u.ext_id):
        ids = sorted(m.account_id for m in unit.members.all())
        units.append((unit.ext_id, unit.required, ids))
    if not units:
        return []
    members = sorted({a for _, _, ids in units for a in ids})
    accounts = {a.pk: a for a in profile.organization.accounts.all()}
    # The candidates: the same rules for someone with no busy time at all.
    probe = make_account()
    candidates = availability.compute(_personal_twin(probe, profile), now, start, end).slots
    if profile.max_bookings_per_day:
        zone = ZoneInfo(profile.timezone)
        per_day = Counter(
            b.start.astimezone(zone).date()
            for b in Booking.objects.filter(profile=profile)
            if b.status == "confirmed" or (b.status == "reserved" and b.expires_at > now)
        )
        candidates = [
            (s, e)
            for s, e in candidates
            if per_day[s.astimezone(zone).date()] < profile.max_bookings_per_day
        ]
    own = {
        a: {
            s
            for s, _ in availability.compute(
                _personal_twin(accounts[a], profile), now, start, end
            ).slots
        }
        for a in members
    }
    out = []
    for s, e in candidates:
        free = {a for a in members if s in own[a]}
        free_units = []
        for ext_id, required, ids in units:
            if not ext_id:
                ok = ids[0] in free
            elif required == ALL:
                ok = all(a in free for a in ids)
            else:
                ok = any(a in free for a in ids)
            if ok:
                free_units.append((ext_id, ids))
        if not free_units or (mode == ALL and len(free_units) < len(units)):
            continue
        account_ids = tuple(sorted(a for _, ids in free_units for a in ids if a in free))
        xids = tuple(x for x, _ in free_units if x)
        out.append((s, e, account_ids, xids))
    return out


def _holds(account, start: datetime, end: datetime) -> bool:
    """Whether the account already holds (reserved or confirmed) time overlapping."""
    held = Attendee.objects.filter(account=account, status__in=["reserved", "confirmed"])
    return held.filter(start__lt=end, end__gt=start).exists()


def _random_busy(
    rng: random.Random, account, zone: ZoneInfo, days: list, other_profile, now
) -> None:
    """Events (some transparent or cancelled) and personal bookings (confirmed, cancelled,
    reserved live or expired) spread over the work days, in local times of `zone`."""
    for day in days:
        for _ in range(rng.randint(0, 4)):
            local = datetime.combine(day, datetime.min.time()) + timedelta(
                minutes=rng.randrange(6 * 60, 19 * 60, 5)
            )
            start = local.replace(tzinfo=zone).astimezone(UTC)
            end = start + timedelta(minutes=rng.choice([10, 15, 25, 30, 45, 60, 90, 120]))
            kind = rng.random()
            if kind >= 0.75 and not (0.85 <= kind < 0.9) and _holds(account, start, end):
                kind = 0.0  # PostgreSQL's rule: no two holds of one account overlap
            if kind < 0.6:
                make_event(account, start, end)
            elif kind < 0.7:
                make_event(account, start, end, transparent=True)  # free time: never busy
            elif kind < 0.75:
                make_event(account, start, end, cancelled=True)  # never busy
            elif kind < 0.85:
                make_booking(other_profile, start, end)
            elif kind < 0.9:
                make_booking(other_profile, start, end, status="cancelled")
            elif kind < 0.95:
                make_booking(
                    other_profile,
                    start,
                    end,
                    status="reserved",
                    expires_at=now + timedelta(hours=1),
                )
            else:
                make_booking(
                    other_profile,
                    start,
                    end,
                    status="reserved",
                    expires_at=now - timedelta(minutes=1),
                )


def _group_booking(profile: Profile, hosts: list, start, end, **kw) -> Booking:
    """A booking of a group profile attended by `hosts` (the first its organizer)."""
    booking = Booking.objects.create(
        account=hosts[0],
        profile=profile,
        start=start,
        end=end,
        name="Gus",
        email="gus@example.com",
        group_mode=kw.pop("group_mode", ALL),
        **kw,
    )
    for position, host in enumerate(hosts[1:], start=1):
        Attendee.objects.create(
            booking=booking,
            account=host,
            position=position,
            start=start,
            end=end,
            status=booking.status,
            expires_at=booking.expires_at,
        )
    return booking


def _attach(profile: Profile, *units) -> None:
    """Units in attach order: an Account, or (extId, required, [Account, …])."""
    for spec in units:
        if isinstance(spec, tuple):
            ext_id, required, members = spec
            unit = Unit.objects.create(profile=profile, ext_id=ext_id, required=required)
        else:
            unit, members = Unit.objects.create(profile=profile, ext_id=""), [spec]
        for account in members:
            UnitMember.objects.create(unit=unit, profile=profile, account=account)


def scenario(seed: int, *, zone: str, now: datetime, days: int, **rules) -> tuple:
    """An organization of six members with random busy time; a group profile mixing attached
    accounts, an `all` group and a `one` group (attach order shuffled); another group profile
    whose bookings some members attend; and a few bookings of the profile itself."""
    rng = random.Random(seed)
    org = Organization.objects.create(handle=f"org{seed}", name="Org", timezone=zone)
    hosts = [
        make_account(organization=org, timezone=rng.choice(["UTC", "Asia/Tokyo", zone]))
        for _ in range(6)
    ]
    tz = ZoneInfo(zone)
    local_days = [(now + timedelta(days=k)).astimezone(tz).date() for k in range(-1, days + 1)]
    for host in hosts:
        _random_busy(rng, host, tz, local_days, make_profile(host), now)
    profile = Profile.objects.create(organization=org, name="team", **rules)
    other = Profile.objects.create(organization=org, name="other")
    shuffled = hosts[:]
    rng.shuffle(shuffled)
    units = [
        shuffled[0],
        shuffled[1],
        (f"all-{seed}", ALL, shuffled[2:4]),
        (f"one-{seed}", ONE, shuffled[4:6]),
    ]
    rng.shuffle(units)
    _attach(profile, *units)
    # Group bookings: of another group profile (busy for its attendees), and of this one
    # (busy for its attendees too, and counted by the per-day cap).
    for target in (other, profile, profile):
        for _ in range(50):
            day = rng.choice(local_days[1:-1])
            local = datetime.combine(day, datetime.min.time()) + timedelta(
                minutes=rng.randrange(9 * 60, 16 * 60, 15)
            )
            start = local.replace(tzinfo=tz).astimezone(UTC)
            end = start + timedelta(minutes=45)
            attending = rng.sample(hosts, 2)
            if not any(_holds(host, start, end) for host in attending):
                _group_booking(target, attending, start, end)
                break
    return profile, hosts


def _got(profile, now, start, end, mode):
    found = availability.compute(profile, now, start, end, required=mode)
    assert found.slots == [(i.start, i.end) for i in found.items]
    return [(i.start, i.end, i.account_ids, i.group_xids) for i in found.items]


def _check(profile, now, start, end):
    hosts = {m.account_id for m in UnitMember.objects.filter(profile=profile)}
    seen = {}
    for mode in (ALL, ONE):
        expected = reference(profile, now, start, end, mode)
        got = _got(profile, now, start, end, mode)
        assert len(got) == len(expected)
        for g, x in zip(got, expected, strict=True):
            assert g == x
        seen[mode] = expected
    # The scenario is not trivial: under `one` some slots have hosts busy, and `all` has fewer.
    assert seen[ONE], "no slot at all: the scenario tests nothing"
    assert any(set(item[2]) != hosts for item in seen[ONE])
    assert {i[0] for i in seen[ALL]} <= {i[0] for i in seen[ONE]}
    assert len(seen[ALL]) < len(seen[ONE])
    # Without `required` the profile's own mode applies.
    default = _got(profile, now, start, end, None)
    assert default == seen[profile.required]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_group_availability_matches_the_reference(frozen, seed):
    profile, _ = scenario(
        seed,
        zone="UTC",
        now=NOW,
        days=4,
        duration_minutes=30,
        availability_step=15,
        start_after_minutes=60,
        required=ONE if seed % 2 else ALL,
    )
    _check(profile, NOW, NOW, NOW + timedelta(days=4))


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_group_availability_with_a_buffer_and_a_cap_matches_the_reference(frozen, seed):
    profile, _ = scenario(
        seed,
        zone="America/New_York",
        now=NOW,
        days=5,
        duration_minutes=45,
        availability_step=15,
        buffer_between_minutes=20,
        start_after_minutes=0,
        max_bookings_per_day=1,
        work_hours={
            "daySchedules": [
                {
                    "dayOfWeek": day,
                    "workingIntervals": [
                        {"start": "08:00:00", "end": "12:00:00"},
                        {"start": "13:00:00", "end": "18:30:00"},
                    ],
                }
                for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
            ]
        },
    )
    assert profile.timezone == "America/New_York"  # the organization's zone
    _check(profile, NOW, NOW, NOW + timedelta(days=5))


# Europe/Berlin springs forward on Sunday 2030-03-31 at 02:00 and falls back on 2030-10-27.
SPRING = datetime(2030, 3, 29, 6, 0, tzinfo=UTC)
FALL = datetime(2030, 10, 25, 6, 0, tzinfo=UTC)
EVERY_DAY = {
    "timezone": "Europe/Berlin",
    "daySchedules": [
        {
            "dayOfWeek": day,
            "workingIntervals": [
                {"start": "01:00:00", "end": "04:00:00"},
                {"start": "09:00:00", "end": "17:00:00"},
            ],
        }
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("now", [SPRING, FALL], ids=["spring-forward", "fall-back"])
@pytest.mark.parametrize("seed", [21, 22])
def test_group_availability_across_a_dst_change_matches_the_reference(now, seed):
    with time_machine.travel(now, tick=False):
        profile, _ = scenario(
            seed,
            zone="Europe/Berlin",
            now=now,
            days=4,
            duration_minutes=30,
            availability_step=30,
            buffer_between_minutes=10,
            start_after_minutes=30,
            work_hours=EVERY_DAY,
        )
        _check(profile, now, now, now + timedelta(days=4))
        # The night of the change is in the window and has its odd number of slots.
        night = datetime(now.year, now.month, 31 if now.month == 3 else 27, tzinfo=UTC)
        slots = availability.compute(
            profile, now, night - timedelta(hours=3), night + timedelta(hours=4), required=ONE
        )
        expected_night = 4 if now.month == 3 else 8  # 01:00–04:00 local: 2 or 4 real hours
        probe = _personal_twin(make_account(), profile)
        free = availability.compute(
            probe, now, night - timedelta(hours=3), night + timedelta(hours=4)
        )
        assert len(free.slots) == expected_night
        assert {s for s, _ in slots.slots} <= {s for s, _ in free.slots}


@pytest.mark.django_db
def test_a_profile_without_units_has_no_slots(frozen):
    org = Organization.objects.create(handle="empty", name="Empty", timezone="UTC")
    member = make_account(organization=org)
    profile = Profile.objects.create(organization=org, name="nobody", start_after_minutes=0)
    for mode in (ALL, ONE, None):
        found = availability.compute(profile, NOW, NOW, NOW + timedelta(days=3), required=mode)
        assert found.slots == [] and found.items == []
    # Units that lost their members count as none.
    _attach(profile, member)
    assert availability.compute(profile, NOW, NOW, NOW + timedelta(days=1)).slots
    UnitMember.objects.filter(profile=profile).delete()
    assert availability.compute(profile, NOW, NOW, NOW + timedelta(days=1)).items == []


@pytest.mark.django_db
def test_all_day_events_of_every_member_are_read_in_the_group_profiles_zone(frozen):
    """Ada lives in Tokyo; her feed's all-day event on Tuesday 2030-01-08 covers that date in
    the group profile's zone (UTC), not in hers."""
    org = Organization.objects.create(handle="zones", name="Zones", timezone="UTC")
    ada = make_account(organization=org, timezone="Asia/Tokyo")
    wall = datetime(2030, 1, 8, tzinfo=UTC).timestamp()  # wall-clock seconds of 2030-01-08
    Calendar.objects.create(
        account=ada,
        kind=Calendar.Kind.ICS,
        role=Calendar.Role.BUSY,
        url="https://calendar.example.com/ada.ics",
        busy_intervals=[[wall, wall + 86400, "local"]],
        last_fetched_at=NOW,
        last_attempt_at=NOW,
        busy_from=NOW - timedelta(days=1),
        busy_until=NOW + timedelta(days=400),
    )
    profile = Profile.objects.create(organization=org, name="team", start_after_minutes=0)
    _attach(profile, ada)
    found = availability.compute(profile, NOW, NOW, NOW + timedelta(days=3))
    days = Counter(s.date().isoformat() for s, _ in found.slots)
    # Monday's afternoon stays free (in Tokyo it would already be Tuesday); Tuesday is gone.
    assert days == {"2030-01-07": 16, "2030-01-09": 16}
    assert all(item.account_ids == (ada.pk,) for item in found.items)
