"""SPEC §3 conformance, checked as a client: GET …/meeting against a brute-force reference.

The reference below is written from the SPEC text alone (it shares no code with
scheduler/availability.py): it walks every local date, every candidate of every merged
interval, and every busy interval. Each test freezes time, configures a profile through the
API, and compares the whole answer with it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import ApiClient, assert_error
from tests.factory import make_account, make_booking, make_event, make_token
from tests.fixtures.feeds import static

pytestmark = pytest.mark.django_db

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Interval = tuple[datetime, datetime]
_names = itertools.count(1)

# --- the reference, from SPEC §3 alone ------------------------------------------------------

_PERIOD = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?"
)


def ref_add_period(start: datetime, period: str, zone: ZoneInfo) -> datetime:
    """Rule 1: date part by relativedelta on the wall clock, fold=0, then absolute time."""
    match = _PERIOD.fullmatch(period)
    assert match, period
    y, mo, w, d, h, mi, s = (int(g or 0) for g in match.groups())
    wall = start.astimezone(zone).replace(tzinfo=None)
    wall += relativedelta(years=y, months=mo, weeks=w, days=d)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC) + timedelta(
        hours=h, minutes=mi, seconds=s
    )


def ref_local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """A local time of `day` as a UTC instant, fold=0; 24:00 is the next midnight."""
    parts = [int(p) for p in hhmm.split(":")] + [0]
    if parts[0] == 24:
        day, parts = day + timedelta(days=1), [0, 0, 0]
    wall = datetime.combine(day, time(parts[0], parts[1], parts[2]))
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")[:2]
    return int(h) * 60 + int(m)


def ref_hours(profile: dict[str, Any], day: date) -> list[tuple[str, str]]:
    """Rule 2: the first override covering `day`, else every interval of its weekday; merged."""
    hours = None
    for entry in (profile.get("availabilityIntervals") or {}).get("intervals", []):
        last = entry.get("dateEndInclusive", entry["dateStartInclusive"])
        if date.fromisoformat(entry["dateStartInclusive"]) <= day <= date.fromisoformat(last):
            hours = [(h["start"], h["end"]) for h in entry["hours"]]
            break
    if hours is None:
        week = profile.get("workHours") or {
            "daySchedules": [
                {"dayOfWeek": d, "workingIntervals": [{"start": "09:00", "end": "17:00"}]}
                for d in DAYS[:5]
            ]
        }
        hours = [
            (i["start"], i["end"])
            for s in week["daySchedules"]
            if s["dayOfWeek"] == DAYS[day.weekday()]
            for i in s["workingIntervals"]
        ]
    merged: list[list[str]] = []
    for start, end in sorted(hours, key=lambda h: _minutes(h[0])):
        if merged and _minutes(start) <= _minutes(merged[-1][1]):
            if _minutes(end) > _minutes(merged[-1][1]):
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def ref_zone(profile: dict[str, Any], account_tz: str) -> ZoneInfo:
    return ZoneInfo((profile.get("workHours") or {}).get("timezone") or account_tz)


def ref_window(
    profile: dict[str, Any],
    account_tz: str,
    now: datetime,
    query: dict[str, str],
) -> tuple[datetime, datetime, datetime]:
    """`(lo, hi, horizon)` for the query, as rule 1 and the query parameters say."""
    zone = ref_zone(profile, account_tz)
    if "timeMin" in query:
        start = datetime.fromisoformat(query["timeMin"])
    else:
        day = date.fromisoformat(query["fromDate"]) if "fromDate" in query else None
        start = ref_local(day or now.astimezone(zone).date(), "00:00", zone)
    end = None
    if "timeMax" in query:
        end = datetime.fromisoformat(query["timeMax"])
    elif "intervalLength" in query:
        end = ref_add_period(start, query["intervalLength"], zone)
    horizon = ref_add_period(now, profile.get("timeAvailableFor", "P30D"), zone)
    starts = [now + timedelta(minutes=profile.get("startAfterMinutes", 60)), start]
    ends = [horizon] + ([end] if end else [])
    if profile.get("startTime"):
        starts.append(datetime.fromisoformat(profile["startTime"]))
    if profile.get("endTime"):
        ends.append(datetime.fromisoformat(profile["endTime"]))
    return max(starts).astimezone(UTC), min(ends).astimezone(UTC), horizon


def ref_slots(
    profile: dict[str, Any],
    account_tz: str,
    lo: datetime,
    hi: datetime,
    busy: Iterable[Interval] = (),
    counted: Iterable[datetime] = (),
) -> list[Interval]:
    """Rules 2–5 by brute force: every candidate checked against every busy interval."""
    zone = ref_zone(profile, account_tz)
    duration = timedelta(minutes=profile.get("durationMinutes", 30))
    step = timedelta(minutes=profile.get("availabilityStep", 30))
    buffer = timedelta(minutes=profile.get("bufferBetweenMinutes", 0))
    cap = profile.get("maxBookingsPerDay")
    per_day = Counter(s.astimezone(zone).date() for s in counted)
    busy = [(s, e) for s, e in busy if e > s]
    out: set[Interval] = set()
    day = lo.astimezone(zone).date() - timedelta(days=2)
    while day <= hi.astimezone(zone).date() + timedelta(days=2):
        for h_start, h_end in ref_hours(profile, day):
            a, b = ref_local(day, h_start, zone), ref_local(day, h_end, zone)
            s = a
            while s + duration <= b:
                e = s + duration
                free = not any(bs < e + buffer and be > s - buffer for bs, be in busy)
                under_cap = cap is None or per_day[s.astimezone(zone).date()] < cap
                if lo <= s and e <= hi and free and under_cap:
                    out.add((s, e))
                s += step
        day += timedelta(days=1)
    return sorted(out)


# --- client helpers -------------------------------------------------------------------------


def z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def week(zone: str | None, *days: tuple[str, str, str]) -> dict[str, Any]:
    """workHours with the given (dayOfWeek, start, end) intervals, in listing order."""
    out: dict[str, Any] = {
        "daySchedules": [
            {"dayOfWeek": d, "workingIntervals": [{"start": s, "end": e}]} for d, s, e in days
        ]
    }
    if zone:
        out["timezone"] = zone
    return out


def every_day(zone: str | None, start: str, end: str) -> dict[str, Any]:
    return week(zone, *((d, start, end) for d in DAYS))


class Host:
    """An account with a token and a client, as a host's own API client would hold."""

    def __init__(self, client, timezone: str = "UTC", handle: str | None = None):
        kw = {"handle": handle} if handle else {}
        self.account = make_account(timezone=timezone, **kw)
        self.api = ApiClient(client, make_token(self.account))
        self.client = client

    def profile(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        fields.setdefault("name", f"p{next(_names)}")
        response = self.api("POST", "/v1/book/account/profiles", fields)
        assert response.status_code == 201, response.content
        return response.json()["id"], fields

    def meeting(self, pid: int, **query: Any) -> Any:
        url = f"/v1/book/account/profiles/{pid}/meeting"
        return self.api("GET", f"{url}?{urlencode(query)}" if query else url)

    def answer(self, pid: int, **query: Any) -> dict[str, Any]:
        response = self.meeting(pid, **query)
        assert response.status_code == 200, response.content
        return response.json()

    def check(
        self,
        pid: int,
        profile: dict[str, Any],
        now: datetime,
        busy: Sequence[Interval] = (),
        counted: Sequence[datetime] = (),
        **query: str,
    ) -> dict[str, Any]:
        """The answer equals the reference: items, window, sizes, and the echoed fields."""
        answer = self.answer(pid, **query)
        lo, hi, _ = ref_window(profile, self.account.timezone, now, query)
        expected = ref_slots(profile, self.account.timezone, lo, hi, busy, counted)
        assert answer["startTime"] == z(lo)
        assert answer["endTime"] == z(hi)
        # limit defaults to 1000
        assert answer["items"] == [{"start": z(s), "end": z(e)} for s, e in expected[:1000]]
        assert answer["totalSize"] == len(expected) and answer["offset"] == 0
        assert answer["done"] is (len(expected) <= 1000)
        assert answer["durationMinutes"] == profile.get("durationMinutes", 30)
        assert answer["availabilityStep"] == profile.get("availabilityStep", 30)
        assert answer["timeAvailableFor"] == profile.get("timeAvailableFor", "P30D")
        return answer


@pytest.fixture
def freeze():
    """`freeze(instant)` stops the clock there for the rest of the test."""
    travellers = []

    def stop(instant: datetime) -> datetime:
        traveller = time_machine.travel(instant, tick=False)
        traveller.start()
        travellers.append(traveller)
        return instant

    yield stop
    for traveller in reversed(travellers):
        traveller.stop()


@pytest.fixture
def host(client) -> Host:
    return Host(client, "America/New_York")


MONDAY = utc(2030, 1, 7, 6, 0)  # 01:00 in New York, a Monday


# --- query parameters -----------------------------------------------------------------------


def test_time_min_and_max_with_offsets_other_than_z(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0)
    query = {"timeMin": "2030-01-07T19:30:00+05:30", "timeMax": "2030-01-07T08:15:00-08:00"}
    answer = host.check(pid, profile, now, **query)
    assert answer["startTime"] == "2030-01-07T14:00:00Z"  # 09:00 in New York
    assert answer["endTime"] == "2030-01-07T16:15:00Z"
    assert [i["start"] for i in answer["items"]][-1] == "2030-01-07T15:30:00Z"


def test_only_time_min_runs_to_the_horizon(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0, timeAvailableFor="P5D")
    answer = host.check(pid, profile, now, timeMin="2030-01-08T15:00:00Z")
    assert answer["endTime"] == "2030-01-12T06:00:00Z"
    assert "nextFromDate" not in answer


def test_only_time_max_starts_at_the_notice(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=500)
    answer = host.check(pid, profile, now, timeMax="2030-01-08T20:00:00Z")
    assert answer["startTime"] == "2030-01-07T14:20:00Z"  # now + 500 minutes
    assert answer["items"][0]["start"] == "2030-01-07T14:30:00Z"  # the grid from 09:00


def test_from_date_starts_at_local_midnight_and_defaults_to_today(client, freeze):
    host = Host(client, "Asia/Kathmandu")  # +05:45
    now = freeze(utc(2030, 1, 7, 20, 0))  # already Tuesday 01:45 in Kathmandu
    pid, profile = host.profile(startAfterMinutes=0, workHours=every_day(None, "00:00", "24:00"))
    answer = host.check(pid, profile, now, fromDate="2030-01-09", intervalLength="P1D")
    assert answer["startTime"] == "2030-01-08T18:15:00Z"
    assert answer["endTime"] == "2030-01-09T18:15:00Z"
    assert answer["nextFromDate"] == "2030-01-10"
    # No fromDate: today in the profile's zone (Tuesday there), so the day ends at its midnight.
    today = host.check(pid, profile, now, intervalLength="P1D")
    assert today["startTime"] == "2030-01-07T20:00:00Z" and today["endTime"] == answer["startTime"]
    assert today["nextFromDate"] == "2030-01-09"


@pytest.mark.parametrize(
    ("zone", "from_date", "length", "hours"),
    [
        ("America/New_York", "2026-03-08", "P1D", 23),
        ("America/New_York", "2026-11-01", "P1D", 25),
        ("Europe/London", "2026-03-29", "P1D", 23),
        ("Europe/London", "2026-10-25", "P1D", 25),
        ("Australia/Lord_Howe", "2026-04-05", "P1D", 24.5),
        ("Australia/Lord_Howe", "2026-10-04", "P1D", 23.5),
        ("America/New_York", "2026-03-07", "PT36H", 36),  # the time part is absolute
        ("America/New_York", "2026-03-07", "P1DT12H", 24 + 12),  # Saturday has 24 hours
        ("America/New_York", "2026-03-08", "P1DT12H", 23 + 12),
        ("America/New_York", "2026-03-02", "P1W", 7 * 24 - 1),
    ],
)
def test_interval_length_on_the_wall_clock(client, freeze, zone, from_date, length, hours):
    host = Host(client, zone)
    now = freeze(utc(2026, 2, 20, 12))
    pid, profile = host.profile(
        startAfterMinutes=0, timeAvailableFor="P1Y", workHours=every_day(None, "00:00", "24:00")
    )
    answer = host.check(pid, profile, now, fromDate=from_date, intervalLength=length)
    lo = datetime.fromisoformat(answer["startTime"])
    hi = datetime.fromisoformat(answer["endTime"])
    assert lo == at(zone, *date.fromisoformat(from_date).timetuple()[:3])
    assert (hi - lo) == timedelta(hours=hours)


def test_one_month_from_january_31_ends_on_february_28(host, freeze):
    now = freeze(utc(2027, 1, 20))
    pid, profile = host.profile(startAfterMinutes=0, timeAvailableFor="P3M")
    answer = host.check(pid, profile, now, fromDate="2027-01-31", intervalLength="P1M")
    assert answer["endTime"] == z(at("America/New_York", 2027, 2, 28))
    assert answer["nextFromDate"] == "2027-02-28"


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "x"])
def test_limit_outside_1_to_1000_is_400_naming_limit(host, freeze, limit):
    freeze(MONDAY)
    pid, _ = host.profile()
    assert_error(host.meeting(pid, limit=limit), 400, "bad_request", "limit")


def test_limit_and_offset_page_over_the_items(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0, timeAvailableFor="P2W")
    whole = host.check(pid, profile, now)
    assert whole["totalSize"] == 10 * 16  # ten weekdays of sixteen half-hours, limit 1000
    pages, offset = [], 0
    while True:
        page = host.answer(pid, limit=7, offset=offset)
        assert page["offset"] == offset and page["totalSize"] == whole["totalSize"]
        assert page["done"] is (offset + 7 >= whole["totalSize"])
        pages += page["items"]
        if page["done"]:
            break
        offset += 7
    assert pages == whole["items"]
    beyond = host.answer(pid, offset=10_000)
    assert beyond["items"] == [] and beyond["done"] is True and beyond["totalSize"] == 160
    assert len(host.answer(pid, limit=1000)["items"]) == 160


# --- the window [lo, hi) --------------------------------------------------------------------


def test_lo_is_now_plus_notice_in_absolute_minutes(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 3, 8, 6, 7))  # 01:07 EST, an hour before the clocks jump
    pid, profile = host.profile(startAfterMinutes=90, workHours=every_day(None, "00:00", "24:00"))
    answer = host.check(pid, profile, now, fromDate="2026-03-08", intervalLength="P1D")
    assert answer["startTime"] == "2026-03-08T07:37:00Z"  # 03:37 EDT: 90 real minutes
    assert answer["items"][0]["start"] == "2026-03-08T08:00:00Z"  # the grid runs from 00:00


def test_lo_is_the_profiles_start_time_when_later(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=60, startTime="2030-01-08T15:10:00-05:00")
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P3D")
    assert answer["startTime"] == "2030-01-08T20:10:00Z"
    assert answer["items"][0]["start"] == "2030-01-08T20:30:00Z"


def test_lo_is_the_request_start_when_later(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=60, startTime="2030-01-07T00:00:00Z")
    answer = host.check(pid, profile, now, timeMin="2030-01-07T16:45:00Z")
    assert answer["startTime"] == "2030-01-07T16:45:00Z"
    assert answer["items"][0]["start"] == "2030-01-07T17:00:00Z"


def test_hi_is_the_horizon_when_earliest(host, freeze):
    now = freeze(utc(2030, 1, 7, 19, 10))  # 14:10 in New York
    pid, profile = host.profile(startAfterMinutes=0, timeAvailableFor="P1D")
    answer = host.check(pid, profile, now, timeMin="2030-01-07T00:00:00Z")
    assert answer["endTime"] == "2030-01-08T19:10:00Z"
    assert answer["items"][-1] == {"start": "2030-01-08T18:30:00Z", "end": "2030-01-08T19:00:00Z"}
    assert "nextFromDate" not in answer


def test_hi_is_the_profiles_end_time_when_earliest(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0, endTime="2030-01-09T12:15:00-05:00")
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P1W")
    assert answer["endTime"] == "2030-01-09T17:15:00Z"
    assert answer["items"][-1]["end"] == "2030-01-09T17:00:00Z"


def test_hi_is_the_request_end_when_earliest(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0, endTime="2030-02-01T00:00:00Z")
    answer = host.check(pid, profile, now, timeMax="2030-01-08T14:45:00Z")
    assert answer["endTime"] == "2030-01-08T14:45:00Z"
    assert answer["items"][-1]["end"] == "2030-01-08T14:30:00Z"


# --- nextFromDate ---------------------------------------------------------------------------


def test_next_from_date_is_the_day_after_a_window_ending_at_midnight(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(startAfterMinutes=0)
    answer = host.answer(pid, fromDate="2030-01-08", intervalLength="P1W")
    assert answer["nextFromDate"] == "2030-01-15"
    assert "nextFromDate" not in host.answer(pid)  # the window reached the horizon


def test_next_from_date_keeps_the_rest_of_a_day_cut_at_mid_day(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(startAfterMinutes=0)
    # timeMax at 10:00 local: the rest of Wednesday is still to come, so the next page starts
    # at Wednesday's midnight (repeating its morning) rather than skipping to Thursday.
    answer = host.answer(pid, timeMax="2030-01-09T10:00:00-05:00")
    assert answer["nextFromDate"] == "2030-01-09"


def test_next_from_date_always_moves_forward(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(startAfterMinutes=0)
    # A window inside one day that ends mid-day would send the client back to the same day.
    answer = host.answer(pid, fromDate="2030-01-09", intervalLength="PT10H")
    assert answer["nextFromDate"] == "2030-01-10"


def test_next_from_date_is_left_out_when_the_profile_ends_first(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(startAfterMinutes=0, endTime="2030-01-09T12:00:00-05:00")
    for query in ({"fromDate": "2030-01-07", "intervalLength": "P1W"}, {"fromDate": "2030-01-09"}):
        assert "nextFromDate" not in host.answer(pid, **query)


@pytest.mark.parametrize("length", ["P1D", "P2D", "PT30H", "PT10H", "P1W"])
def test_iterating_with_next_from_date_misses_nothing_and_ends(client, freeze, length):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 10, 25, 15, 20))
    pid, profile = host.profile(
        startAfterMinutes=45,
        timeAvailableFor="P10D",
        workHours=every_day(None, "00:00", "24:00"),
        availabilityStep=60,
        durationMinutes=60,
    )
    seen: list[dict[str, str]] = []
    days = [date(2026, 10, 25)]  # today in New York
    query: dict[str, str] = {"intervalLength": length}
    for _ in range(40):
        answer = host.answer(pid, **query)
        seen += answer["items"]
        if "nextFromDate" not in answer:
            break
        days.append(date.fromisoformat(answer["nextFromDate"]))
        query = {"fromDate": answer["nextFromDate"], "intervalLength": length}
    else:
        pytest.fail("nextFromDate never ran out")
    assert all(a < b for a, b in zip(days, days[1:], strict=False))
    lo, hi, _ = ref_window(profile, host.account.timezone, now, {})
    expected = ref_slots(profile, host.account.timezone, lo, hi)
    if length == "PT10H":  # pages cover only ten hours of a day, but no day is skipped
        assert days == [days[0] + timedelta(days=k) for k in range(len(days))]
        # The horizon is 11:20 on Nov 4, after that page's 10:00 end: one more (empty) page.
        assert days[-1] == date(2026, 11, 5)
    else:
        assert sorted({(d["start"], d["end"]) for d in seen}) == [(z(s), z(e)) for s, e in expected]


# --- the horizon ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "period", "horizon"),
    [
        # now read as New York wall time, date part added, made an instant with fold=0
        (at("America/New_York", 2027, 1, 31, 15), "P1M", at("America/New_York", 2027, 2, 28, 15)),
        (at("America/New_York", 2026, 3, 1, 12), "P1W", utc(2026, 3, 8, 16)),
        (at("America/New_York", 2026, 3, 7, 2, 30), "P1D", utc(2026, 3, 8, 7, 30)),  # in the gap
        (at("America/New_York", 2026, 10, 31, 1, 30), "P1D", utc(2026, 11, 1, 5, 30)),
        (at("America/New_York", 2026, 11, 1, 1, 30, fold=1), "P1D", utc(2026, 11, 2, 6, 30)),
        (at("America/New_York", 2026, 3, 7, 12), "PT36H", utc(2026, 3, 9, 5)),
        (at("America/New_York", 2026, 3, 7, 12), "P1DT12H", utc(2026, 3, 9, 4)),
        (at("America/New_York", 2028, 2, 29, 9), "P1Y", at("America/New_York", 2029, 2, 28, 9)),
    ],
)
def test_horizon_is_the_date_part_on_the_wall_clock(host, freeze, now, period, horizon):
    freeze(now)
    pid, profile = host.profile(
        startAfterMinutes=0, timeAvailableFor=period, workHours=every_day(None, "00:00", "24:00")
    )
    assert ref_window(profile, "America/New_York", now, {})[2] == horizon  # the reference agrees
    answer = host.check(pid, profile, now)
    assert answer["endTime"] == z(horizon)


# --- hours per local date -------------------------------------------------------------------


def override(first: str, last: str | None, *hours: tuple[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dateStartInclusive": first,
        "hours": [{"start": s, "end": e} for s, e in hours],
    }
    if last:
        out["dateEndInclusive"] = last
    return out


def starts_by_local_day(answer: dict[str, Any], zone: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in answer["items"]:
        local = datetime.fromisoformat(item["start"]).astimezone(ZoneInfo(zone))
        out.setdefault(local.date().isoformat(), []).append(local.strftime("%H:%M"))
    return out


def test_date_overrides_first_covering_entry_wins_and_empty_is_a_day_off(host, freeze):
    now = freeze(MONDAY)
    intervals = [
        override("2030-01-08", "2030-01-09", ("13:00", "14:00")),  # Tue–Wed, inclusive
        override("2030-01-09", "2030-01-11", ("07:00", "08:00")),  # Wed is taken above
        override("2030-01-12", None, ("10:00", "11:00")),  # a Saturday, one day
        override("2030-01-14", "2030-01-14"),  # Monday off
    ]
    pid, profile = host.profile(startAfterMinutes=0, availabilityIntervals={"intervals": intervals})
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P9D")
    days = starts_by_local_day(answer, "America/New_York")
    assert days["2030-01-07"][0] == "09:00" and len(days["2030-01-07"]) == 16
    assert days["2030-01-08"] == days["2030-01-09"] == ["13:00", "13:30"]
    assert days["2030-01-10"] == days["2030-01-11"] == ["07:00", "07:30"]
    assert days["2030-01-12"] == ["10:00", "10:30"]
    assert "2030-01-13" not in days and "2030-01-14" not in days
    assert len(days["2030-01-15"]) == 16


def test_a_weekday_listed_twice_gives_all_its_intervals_merged(host, freeze):
    now = freeze(MONDAY)
    hours = week(
        None,
        ("monday", "09:00", "10:00"),
        ("tuesday", "09:00", "10:00"),
        ("monday", "10:00", "11:00"),  # touches: one interval 09:00–11:00
        ("monday", "10:30", "12:00"),  # overlaps
        ("monday", "14:00", "15:00"),
    )
    pid, profile = host.profile(startAfterMinutes=0, durationMinutes=90, workHours=hours)
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P2D")
    assert starts_by_local_day(answer, "America/New_York") == {
        "2030-01-07": ["09:00", "09:30", "10:00", "10:30"]
    }


def test_intervals_of_different_dates_never_merge_and_24_00_ends_the_day(host, freeze):
    now = freeze(MONDAY)
    hours = week(None, ("monday", "22:00", "24:00"), ("tuesday", "00:00", "02:00"))
    pid, profile = host.profile(
        startAfterMinutes=0, durationMinutes=60, availabilityStep=30, workHours=hours
    )
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P2D")
    assert starts_by_local_day(answer, "America/New_York") == {
        "2030-01-07": ["22:00", "22:30", "23:00"],  # 23:00–24:00 fits; 23:30 would cross
        "2030-01-08": ["00:00", "00:30", "01:00"],
    }


def test_candidates_step_from_the_interval_start_and_must_fit(host, freeze):
    now = freeze(MONDAY)
    hours = week(None, ("monday", "09:10", "11:00"))
    pid, profile = host.profile(startAfterMinutes=0, durationMinutes=45, workHours=hours)
    answer = host.check(pid, profile, now, fromDate="2030-01-07", intervalLength="P1D")
    assert starts_by_local_day(answer, "America/New_York") == {
        "2030-01-07": ["09:10", "09:40", "10:10"]
    }


# --- DST and odd offsets --------------------------------------------------------------------


def test_spring_forward_gap_times_land_after_it(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 3, 1))
    hours = week(None, ("sunday", "01:00", "04:00"), ("monday", "02:30", "03:30"))
    pid, profile = host.profile(startAfterMinutes=0, durationMinutes=60, workHours=hours)
    answer = host.check(pid, profile, now, fromDate="2026-03-08", intervalLength="P1D")
    # 01:00 EST = 06:00Z to 04:00 EDT = 08:00Z: two real hours.
    assert [i["start"] for i in answer["items"]] == [
        "2026-03-08T06:00:00Z",
        "2026-03-08T06:30:00Z",
        "2026-03-08T07:00:00Z",
    ]


def test_an_interval_starting_in_the_gap_starts_after_it(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 3, 1))
    overrides = {"intervals": [override("2026-03-08", None, ("02:30", "04:00"))]}
    pid, profile = host.profile(startAfterMinutes=0, availabilityIntervals=overrides)
    answer = host.check(pid, profile, now, fromDate="2026-03-08", intervalLength="P1D")
    # 02:30 does not exist: fold=0 reads it with the old offset, 07:30Z (03:30 EDT).
    assert [i["start"] for i in answer["items"]] == ["2026-03-08T07:30:00Z"]


def test_intervals_overlapping_as_instants_after_a_gap_give_no_duplicates(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 3, 1))
    hours = {"intervals": [override("2026-03-08", None, ("01:00", "02:30"), ("03:00", "04:00"))]}
    pid, profile = host.profile(startAfterMinutes=0, availabilityIntervals=hours)
    answer = host.check(pid, profile, now, fromDate="2026-03-08", intervalLength="P1D")
    starts = [i["start"] for i in answer["items"]]
    # 01:00–02:30 is 06:00Z–07:30Z and 03:00–04:00 EDT is 07:00Z–08:00Z.
    assert starts == [f"2026-03-08T{t}:00Z" for t in ("06:00", "06:30", "07:00", "07:30")]


def test_fall_back_hour_is_offered_twice(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 10, 25))
    overrides = {"intervals": [override("2026-11-01", None, ("00:30", "02:00"))]}
    pid, profile = host.profile(
        startAfterMinutes=0, durationMinutes=30, availabilityIntervals=overrides
    )
    answer = host.check(pid, profile, now, fromDate="2026-11-01", intervalLength="P1D")
    # 00:30 EDT = 04:30Z to 02:00 EST = 07:00Z: 01:00 and 01:30 come twice on the wall.
    assert [i["start"][11:16] for i in answer["items"]] == [
        "04:30", "05:00", "05:30", "06:00", "06:30"
    ]  # fmt: skip


def test_an_ambiguous_start_takes_its_first_occurrence(client, freeze):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 10, 25))
    overrides = {"intervals": [override("2026-11-01", None, ("01:30", "03:00"))]}
    pid, profile = host.profile(startAfterMinutes=0, availabilityIntervals=overrides)
    answer = host.check(pid, profile, now, fromDate="2026-11-01", intervalLength="P1D")
    assert answer["items"][0]["start"] == "2026-11-01T05:30:00Z"  # 01:30 EDT
    assert len(answer["items"]) == 5  # 05:30Z to 08:00Z


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
        ("Europe/London", "2026-03-29"),
        ("Europe/London", "2026-10-25"),
        ("Australia/Lord_Howe", "2026-04-05"),
        ("Australia/Lord_Howe", "2026-10-04"),
        ("Asia/Kathmandu", "2026-06-01"),
        ("Pacific/Chatham", "2026-12-31"),  # +13:45 across a year end
        ("America/Santiago", "2026-09-06"),  # no 00:00 that day
        ("America/Santiago", "2026-04-05"),  # 23:00–24:00 twice the day before
    ],
)
def test_dst_days_match_the_reference(client, freeze, zone, day):
    host = Host(client, zone)
    now = freeze(utc(2026, 2, 1))
    hours = week(
        None,
        *((d, "00:00", "03:10") for d in DAYS),
        *((d, "01:45", "02:40") for d in DAYS),
        *((d, "09:05", "17:00") for d in DAYS),
        *((d, "23:15", "24:00") for d in DAYS),
    )
    pid, profile = host.profile(
        startAfterMinutes=0,
        timeAvailableFor="P1Y",
        durationMinutes=25,
        availabilityStep=20,
        workHours=hours,
    )
    first = date.fromisoformat(day) - timedelta(days=1)
    answer = host.check(pid, profile, now, fromDate=first.isoformat(), intervalLength="P3D")
    starts = [i["start"] for i in answer["items"]]
    assert starts == sorted(set(starts))
    public = host.client.get(
        f"/v1/book/{host.account.handle}/{profile['name']}/meeting",
        {"fromDate": first.isoformat(), "intervalLength": "P3D"},
    )
    assert public.json() == answer


# --- busy time ------------------------------------------------------------------------------


def test_busy_is_events_and_live_bookings_of_every_profile(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0)
    _, other_fields = host.profile(startAfterMinutes=0)
    account = host.account
    other = account.profiles.get(name=other_fields["name"])
    mine = account.profiles.get(pk=pid)
    t = lambda h, m=0: at("America/New_York", 2030, 1, 7, h, m)  # noqa: E731
    blocking = [
        (t(9), t(9, 10)),  # a builtin event
        (t(10, 20), t(10, 40)),  # another profile's confirmed booking
        (t(12), t(12, 30)),  # another profile's unexpired reservation
        (t(13, 30), t(14)),  # this profile's booking
    ]
    make_event(account, *blocking[0])
    make_event(account, t(11), t(11, 30), transparent=True)
    make_event(account, t(11, 30), t(12), cancelled=True)
    make_event(account, t(14, 15), t(14, 15))  # zero length
    make_booking(other, *blocking[1])
    make_booking(other, *blocking[2], status="reserved", expires_at=now + timedelta(minutes=5))
    make_booking(other, t(15), t(15, 30), status="reserved", expires_at=now)  # expired
    make_booking(other, t(16), t(16, 30), status="cancelled")
    make_booking(mine, *blocking[3])
    answer = host.check(
        pid, profile, now, busy=blocking, fromDate="2030-01-07", intervalLength="P1D"
    )
    assert starts_by_local_day(answer, "America/New_York")["2030-01-07"] == [
        "09:30", "11:00", "11:30", "12:30", "13:00", "14:00", "14:30", "15:00", "15:30",
        "16:00", "16:30",
    ]  # fmt: skip
    # The reservation stops blocking the moment it expires, with no sweeper.
    later = freeze(now + timedelta(minutes=5))
    again = host.check(
        pid,
        profile,
        later,
        busy=[blocking[0], blocking[1], blocking[3]],
        fromDate="2030-01-07",
        intervalLength="P1D",
    )
    assert "12:00" in starts_by_local_day(again, "America/New_York")["2030-01-07"]


def test_buffer_applies_on_both_sides_and_touching_is_allowed(host, freeze):
    now = freeze(MONDAY)
    pid, profile = host.profile(startAfterMinutes=0, bufferBetweenMinutes=15)
    t = lambda h, m=0: at("America/New_York", 2030, 1, 7, h, m)  # noqa: E731
    # The first: ends within the buffer before the day's first candidate, 09:00.
    busy = [(t(8, 40), t(8, 50)), (t(10, 45), t(11, 15)), (t(13), t(13, 30)), (t(16), t(16, 15))]
    for interval in busy:
        make_event(host.account, *interval)
    answer = host.check(pid, profile, now, busy=busy, fromDate="2030-01-07", intervalLength="P1D")
    starts = starts_by_local_day(answer, "America/New_York")["2030-01-07"]
    # 10:00–10:30 ends 15 minutes before 10:45: the buffer just touches; 10:30 does not fit.
    assert "10:00" in starts and "10:30" not in starts and "11:00" not in starts
    assert "11:30" in starts  # starts 15 minutes after 11:15
    assert "12:00" in starts and "12:30" not in starts and "13:30" not in starts
    assert "13:45" not in starts and "14:00" in starts
    assert starts[0] == "09:30"  # 09:00 starts 10 minutes after a busy end: inside the buffer
    assert starts[-2:] == ["15:00", "16:30"]  # 15:30 would end within 15 minutes of 16:00


# --- maxBookingsPerDay ----------------------------------------------------------------------


def test_max_bookings_per_day_counts_this_profiles_live_bookings_by_local_date(client, freeze):
    host = Host(client, "America/Los_Angeles")
    now = freeze(utc(2030, 1, 6, 12))
    pid, profile = host.profile(
        startAfterMinutes=0, maxBookingsPerDay=2, workHours=every_day(None, "08:00", "24:00")
    )
    _, other_fields = host.profile(startAfterMinutes=0)
    mine = host.account.profiles.get(pk=pid)
    other = host.account.profiles.get(name=other_fields["name"])
    la = lambda d, h, m=0: at("America/Los_Angeles", 2030, 1, d, h, m)  # noqa: E731
    live_mine = [
        (la(7, 22), la(7, 22, 30)),  # Monday 22:00 local, already Tuesday in UTC
        (la(7, 9), la(7, 9, 30)),
        (la(8, 9), la(8, 9, 30)),
    ]
    for s, e in live_mine[:2]:
        make_booking(mine, s, e)
    make_booking(mine, *live_mine[2], status="reserved", expires_at=now + timedelta(hours=1))
    make_booking(mine, la(9, 9), la(9, 9, 30), status="reserved", expires_at=now)  # expired
    make_booking(mine, la(9, 10), la(9, 10, 30), status="cancelled")
    make_booking(other, la(9, 11), la(9, 11, 30))  # another profile: blocks, not counted
    make_booking(other, la(9, 12), la(9, 12, 30))
    busy = [*live_mine, (la(9, 11), la(9, 11, 30)), (la(9, 12), la(9, 12, 30))]
    counted = [s for s, _ in live_mine]
    answer = host.check(
        pid,
        profile,
        now,
        busy=busy,
        counted=counted,
        fromDate="2030-01-07",
        intervalLength="P3D",
    )
    days = starts_by_local_day(answer, "America/Los_Angeles")
    assert "2030-01-07" not in days  # two bookings that day in Los Angeles
    assert len(days["2030-01-08"]) == 32 - 1  # one: the reservation counts, blocks its time
    assert len(days["2030-01-09"]) == 32 - 2  # other profile's bookings only block


# --- inactive, the other fields -------------------------------------------------------------


def test_inactive_profile_is_empty_on_the_account_api_and_404_in_public(host, freeze):
    freeze(MONDAY)
    pid, fields = host.profile(startAfterMinutes=0, active=False)
    answer = host.answer(pid, fromDate="2030-01-07", intervalLength="P1W")
    assert answer["items"] == [] and answer["totalSize"] == 0 and answer["done"] is True
    public = host.client.get(f"/v1/book/{host.account.handle}/{fields['name']}/meeting")
    assert_error(public, 404, "not_found")


def test_answer_echoes_the_profile_and_lists_its_variables(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(
        startAfterMinutes=0,
        durationMinutes=50,
        availabilityStep=15,
        timeAvailableFor="P4W",
        subject="{{topic}} with {{name}} at {{startTime}} ({{company:}})",
        description="{{agenda:TBD}} {{topic:ignored}} {{cancelUrl}} {{openMeetingUrl}}",
        location="{{room:Lobby}} {{email}} {{phone}}",
    )
    answer = host.answer(pid)
    assert answer["durationMinutes"] == 50 and answer["availabilityStep"] == 15
    assert answer["timeAvailableFor"] == "P4W"
    assert answer["subject"] == "{{topic}} with {{name}} at {{startTime}} ({{company:}})"
    assert answer["additionalFields"] == [
        {"name": "topic", "type": "string", "required": True},
        {"name": "company", "type": "string", "default": "", "required": False},
        {"name": "agenda", "type": "string", "default": "TBD", "required": False},
        {"name": "room", "type": "string", "default": "Lobby", "required": False},
        {"name": "phone", "type": "string", "required": True},
    ]


# --- feeds: all-day and floating events -----------------------------------------------------

FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:allday@test\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20300108\r
DTEND;VALUE=DATE:20300109\r
SUMMARY:Holiday\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free-allday@test\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20300110\r
SUMMARY:Reminder\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:floating@test\r
DTSTAMP:20300101T000000Z\r
DTSTART:20300109T100000\r
DTEND:20300109T113000\r
SUMMARY:Floating\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:nothing@test\r
DTSTAMP:20300101T000000Z\r
DTSTART:20300111T100000Z\r
DTEND:20300111T100000Z\r
SUMMARY:Zero length\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_feed_all_day_and_floating_events_are_read_in_the_profiles_zone(
    client, freeze, feed_server
):
    host = Host(client, "UTC")
    now = freeze(utc(2030, 1, 6))
    pid, profile = host.profile(
        startAfterMinutes=0, workHours=every_day("Asia/Tokyo", "00:00", "24:00")
    )
    url = feed_server.route("/cal.ics", static(FEED))
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True):
        response = host.api(
            "POST", "/v1/book/account/calendars", {"type": "ics", "role": "busy", "url": url}
        )
        assert response.status_code == 201, response.content
        tokyo = lambda d, h=0, m=0: at("Asia/Tokyo", 2030, 1, d, h, m)  # noqa: E731
        busy = [(tokyo(8), tokyo(9)), (tokyo(9, 10), tokyo(9, 11, 30))]
        answer = host.check(
            pid, profile, now, busy=busy, fromDate="2030-01-07", intervalLength="P5D"
        )
    days = starts_by_local_day(answer, "Asia/Tokyo")
    assert "2030-01-08" not in days  # the whole Tokyo date, not the UTC one
    assert len(days["2030-01-07"]) == len(days["2030-01-10"]) == len(days["2030-01-11"]) == 48
    assert len(days["2030-01-09"]) == 48 - 3 and "10:30" not in days["2030-01-09"]
    assert feed_server.hits["/cal.ics"] >= 1


# --- random profiles against the reference --------------------------------------------------

ZONES = (
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "America/Santiago",  # its clocks change at midnight: some dates have no 00:00
    "Pacific/Chatham",
)
DST_DAYS = (
    utc(2026, 3, 6, 13),
    utc(2026, 3, 27, 1),
    utc(2026, 10, 30, 22, 7),
    utc(2026, 4, 3, 10, 30),
    utc(2026, 10, 2, 3),
    utc(2026, 12, 29, 23, 50),
    utc(2026, 9, 4, 12),
    utc(2026, 4, 3, 20),
)


@st.composite
def interval(draw: st.DrawFn) -> tuple[str, str]:
    start = draw(st.integers(0, 24 * 12 - 1)) * 5
    end = draw(st.integers(start // 5 + 1, 24 * 12)) * 5
    return f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    now = draw(st.sampled_from(DST_DAYS)) + timedelta(seconds=draw(st.integers(0, 36000)))
    days = draw(st.lists(st.tuples(st.sampled_from(DAYS), interval()), max_size=10))
    profile: dict[str, Any] = {
        "workHours": week(draw(st.sampled_from(ZONES)), *((d, a, b) for d, (a, b) in days)),
        "durationMinutes": draw(st.sampled_from([5, 15, 25, 30, 45, 60, 90])),
        "availabilityStep": draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
        "bufferBetweenMinutes": draw(st.sampled_from([0, 0, 5, 10, 30])),
        "startAfterMinutes": draw(st.integers(0, 3000)),
        "timeAvailableFor": draw(st.sampled_from(["P3D", "P1W", "PT50H", "P2DT7H", "P10D"])),
    }
    if draw(st.booleans()):
        first = draw(st.integers(-2, 5))
        d0 = (now + timedelta(days=first)).date()
        hours = draw(st.lists(interval(), max_size=3))
        profile["availabilityIntervals"] = {
            "intervals": [
                override(d0.isoformat(), (d0 + timedelta(days=draw(st.integers(0, 2)))).isoformat(),
                         *hours)
            ]
        }  # fmt: skip
    busy = [
        (now + timedelta(minutes=a * 5), now + timedelta(minutes=a * 5 + n * 5))
        for a, n in draw(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 40)), max_size=8))
    ]
    if draw(st.booleans()):
        profile["startTime"] = z(now + timedelta(minutes=draw(st.integers(0, 4000))))
    if draw(st.booleans()):
        profile["endTime"] = z(now + timedelta(minutes=draw(st.integers(4001, 9000))))
    if draw(st.booleans()):
        profile["maxBookingsPerDay"] = draw(st.integers(1, 3))
    # One booking per hour at most: PostgreSQL refuses overlapping live bookings.
    hours = draw(st.lists(st.integers(0, 200), max_size=6, unique=True))
    bookings = [
        (now + timedelta(hours=a), now + timedelta(hours=a, minutes=15 * draw(st.integers(1, 4))))
        for a in hours
    ]
    query: dict[str, str] = draw(
        st.sampled_from(
            [
                {},
                {"intervalLength": "P1D"},
                {"fromDate": (now + timedelta(days=1)).date().isoformat(), "intervalLength": "P2D"},
                {"timeMin": z(now + timedelta(hours=5)), "timeMax": z(now + timedelta(hours=70))},
            ]
        )
    )
    return {"now": now, "profile": profile, "busy": busy, "bookings": bookings, "query": query}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
def test_random_profiles_match_the_reference(client, case):
    host = Host(client, "America/New_York")
    with time_machine.travel(case["now"], tick=False):
        pid, profile = host.profile(**case["profile"])
        for start, end in case["busy"]:
            make_event(host.account, start, end)
        mine = host.account.profiles.get(pk=pid)
        for start, end in case["bookings"]:
            make_booking(mine, start, end)
        busy = case["busy"] + case["bookings"]
        counted = [s for s, _ in case["bookings"]]
        host.check(pid, profile, case["now"], busy=busy, counted=counted, **case["query"])


def test_next_from_date_after_time_min_and_max_on_one_day_is_that_day(host, freeze):
    freeze(MONDAY)
    pid, _ = host.profile(startAfterMinutes=0)
    answer = host.answer(
        pid, timeMin="2030-01-09T09:00:00-05:00", timeMax="2030-01-09T10:00:00-05:00"
    )
    assert answer["nextFromDate"] == "2030-01-09"  # a fromDate request covers the rest of it


def test_next_from_date_after_an_empty_window_in_the_past_jumps_to_today(host, freeze):
    freeze(MONDAY)  # Monday 01:00 in New York
    pid, _ = host.profile(startAfterMinutes=0)
    answer = host.answer(pid, fromDate="2029-06-01", intervalLength="P1D")
    assert answer["items"] == [] and answer["nextFromDate"] == "2030-01-07"
    past = host.answer(pid, timeMin="2029-06-01T10:00:00Z", timeMax="2029-06-01T11:00:00Z")
    assert past["nextFromDate"] == "2030-01-07"


@pytest.mark.parametrize(
    ("time_min", "time_max"),
    [
        ("2030-01-09T10:00:00Z", "2030-01-08T10:00:00Z"),
        ("2030-01-09T10:00:00Z", "2030-01-09T05:00:00-05:00"),
    ],
)
def test_time_max_not_after_time_min_is_400_naming_time_max(host, freeze, time_min, time_max):
    freeze(MONDAY)
    pid, _ = host.profile()
    assert_error(
        host.meeting(pid, timeMin=time_min, timeMax=time_max), 400, "bad_request", "timeMax"
    )


GOOGLE_FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
X-WR-TIMEZONE:America/New_York\r
BEGIN:VEVENT\r
UID:standup@test\r
DTSTAMP:20260201T000000Z\r
DTSTART:20260302T140000Z\r
DTEND:20260302T143000Z\r
RRULE:FREQ=WEEKLY;COUNT=3\r
SUMMARY:Standup at 09:00 New York time\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:sunday@test\r
DTSTAMP:20260201T000000Z\r
DTSTART;VALUE=DATE:20260308\r
DTEND;VALUE=DATE:20260309\r
SUMMARY:The 23-hour Sunday\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_feed_with_x_wr_timezone_keeps_its_wall_clock_across_dst(client, freeze, feed_server):
    host = Host(client, "America/New_York")
    now = freeze(utc(2026, 3, 1))
    pid, profile = host.profile(startAfterMinutes=0, workHours=every_day(None, "00:00", "24:00"))
    url = feed_server.route("/google.ics", static(GOOGLE_FEED))
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True):
        response = host.api(
            "POST", "/v1/book/account/calendars", {"type": "ics", "role": "busy", "url": url}
        )
        assert response.status_code == 201, response.content
        ny = lambda d, h=0, m=0: at("America/New_York", 2026, 3, d, h, m)  # noqa: E731
        busy = [(ny(d, 9), ny(d, 9, 30)) for d in (2, 9, 16)] + [(ny(8), ny(9))]
        answer = host.check(
            pid, profile, now, busy=busy, fromDate="2026-03-02", intervalLength="P15D"
        )
    days = starts_by_local_day(answer, "America/New_York")
    assert "09:00" not in days["2026-03-09"] and "10:00" in days["2026-03-09"]  # 13:00Z in EDT
    assert "2026-03-08" not in days
