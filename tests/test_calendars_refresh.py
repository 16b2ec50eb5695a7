"""ICS feeds end to end: fetched from a real HTTP server, copied, refreshed, made into slots."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from scheduler.calendars import refresh
from scheduler.calendars.busy import account_busy
from scheduler.calendars.refresh import refresh_calendar
from scheduler.models import Calendar
from scheduler.services import availability
from tests.factory import make_account, make_profile
from tests.fixtures.feeds import DATA, huge, sleeping, static, status

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # a Monday, before the feeds' events
NEW_YORK = ZoneInfo("America/New_York")
WEEKLY = (DATA / "weekly.ics").read_bytes()
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


@pytest.fixture
def allow_loopback():
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True, CALENDAR_TIMEOUT_SECONDS=0.5):
        yield


@pytest.fixture
def host():
    return make_account(timezone="America/New_York")


@pytest.fixture
def profile(host):
    return make_profile(host, duration_minutes=60, availability_step=60)


def make_feed_calendar(account, url: str) -> Calendar:
    return Calendar.objects.create(account=account, kind="ics", role="busy", url=url, name="feed")


def hours_by_day(profile) -> dict[date, list[int]]:
    """Free slot start hours per New York date, computed at NOW."""
    days: dict[date, list[int]] = defaultdict(list)
    for start, _end in availability.compute(profile, NOW).slots:
        local = start.astimezone(NEW_YORK)
        days[local.date()].append(local.hour)
    return dict(days)


ALL_DAY = list(range(9, 17))


def test_a_feed_never_read_is_read_before_availability_is_answered(feed_server, profile):
    url = feed_server.route("/weekly.ics", static(WEEKLY, etag='"v1"'))
    calendar = make_feed_calendar(profile.account, url)

    days = hours_by_day(profile)

    assert feed_server.hits["/weekly.ics"] == 1
    assert days[date(2027, 3, 2)] == [9, 11, 12, 13, 14, 15, 16]  # weekly 10:00 EST
    assert days[date(2027, 3, 4)] == [9, 11, 12, 13, 14, 15, 16]  # its RDATE
    assert days[date(2027, 3, 5)] == [10, 11, 12, 13, 14, 15, 16]  # floating 09:00 in tz
    assert days[date(2027, 3, 9)] == ALL_DAY  # EXDATE
    for day in (10, 11, 12, 19):  # all-day events cover their local dates
        assert date(2027, 3, day) not in days
    assert days[date(2027, 3, 16)] == ALL_DAY  # moved away by RECURRENCE-ID …
    assert days[date(2027, 3, 17)] == [9, 10, 11, 13, 14, 15, 16]  # … to Wednesday noon EDT
    assert days[date(2027, 3, 23)] == ALL_DAY  # the cancelled instance
    assert days[date(2027, 3, 30)] == ALL_DAY  # the transparent instance
    calendar.refresh_from_db()
    assert calendar.last_fetched_at == NOW and calendar.last_error == ""
    assert calendar.etag == '"v1"'
    assert calendar.busy_from <= NOW - timedelta(days=1)
    assert calendar.busy_until >= NOW + timedelta(days=30)


def test_all_day_and_floating_events_follow_the_zone_asked_for(feed_server, host):
    calendar = make_feed_calendar(host, feed_server.route("/w.ics", static(WEEKLY)))
    refresh.refresh(calendar, NOW)
    lo, hi = datetime(2027, 3, 5, tzinfo=UTC), datetime(2027, 3, 6, tzinfo=UTC)
    gym_in_new_york = (datetime(2027, 3, 5, 14, tzinfo=UTC), datetime(2027, 3, 5, 15, tzinfo=UTC))
    gym_in_tokyo = (datetime(2027, 3, 5, 0, tzinfo=UTC), datetime(2027, 3, 5, 1, tzinfo=UTC))

    def busy(**kwargs) -> list[tuple[float, float]]:
        return account_busy(host, lo, hi, now=NOW, **kwargs)

    assert busy() == [tuple(t.timestamp() for t in gym_in_new_york)]  # the account's zone
    assert busy(tz="Asia/Tokyo") == [tuple(t.timestamp() for t in gym_in_tokyo)]


def test_conditional_get_with_etag_keeps_the_copy_on_304(feed_server, host):
    url = feed_server.route("/w.ics", static(WEEKLY, etag='"abc"'))
    calendar = refresh.refresh(make_feed_calendar(host, url), NOW)
    copy = calendar.busy_intervals
    later = NOW + timedelta(minutes=10)

    refresh.refresh(calendar, later)

    assert feed_server.hits["/w.ics"] == 2
    assert feed_server.requests[1]["If-None-Match"] == '"abc"'
    calendar.refresh_from_db()
    assert calendar.last_fetched_at == later
    assert calendar.busy_intervals == copy and calendar.last_error == ""


def test_conditional_get_with_last_modified(feed_server, host):
    stamp = "Sun, 28 Feb 2027 12:00:00 GMT"
    url = feed_server.route("/w.ics", static(WEEKLY, last_modified=stamp))
    calendar = refresh.refresh(make_feed_calendar(host, url), NOW)
    refresh.refresh(calendar, NOW + timedelta(minutes=10))
    assert feed_server.requests[1]["If-Modified-Since"] == stamp
    calendar.refresh_from_db()
    assert calendar.last_modified == stamp and calendar.busy_intervals


def test_a_copy_that_no_longer_reaches_the_horizon_is_fetched_whole(feed_server, host):
    url = feed_server.route("/w.ics", static(WEEKLY, etag='"abc"'))
    calendar = refresh.refresh(make_feed_calendar(host, url), NOW)
    year = make_profile(host, time_available_for="P1Y")  # a longer horizon than the copy's

    availability.compute(year, NOW + timedelta(seconds=5))

    assert feed_server.hits["/w.ics"] == 2
    assert "If-None-Match" not in feed_server.requests[1]  # a 304 could not extend the copy
    calendar.refresh_from_db()
    assert calendar.busy_until >= NOW + timedelta(days=365)


def test_a_fresh_copy_costs_no_fetch_and_one_small_query(
    feed_server, host, django_assert_num_queries
):
    calendar = make_feed_calendar(host, feed_server.route("/w.ics", static(WEEKLY)))
    refresh.refresh(calendar, NOW)
    soon = NOW + timedelta(seconds=299)
    with django_assert_num_queries(1) as captured:
        refresh.make_fresh(host, now=soon, until=soon + timedelta(days=30))
    assert "busy_intervals" not in captured.captured_queries[0]["sql"]
    assert feed_server.hits["/w.ics"] == 1


def test_a_stale_copy_is_refreshed_once_by_a_queued_task(feed_server, profile):
    make_feed_calendar(profile.account, feed_server.route("/w.ics", static(WEEKLY)))
    with time_machine.travel(NOW, tick=False):
        hours_by_day(profile)
    later = NOW + timedelta(seconds=301)
    with time_machine.travel(later, tick=False):
        # The first request answers from the copy and queues the refresh (the immediate
        # backend runs it at once); the second finds it fresh.
        availability.compute(profile, later)
        availability.compute(profile, later)
    assert feed_server.hits["/w.ics"] == 2
    assert Calendar.objects.get(kind="ics").last_fetched_at == later


def test_the_refresh_task_refreshes_by_id(feed_server, host):
    calendar = make_feed_calendar(host, feed_server.route("/w.ics", static(WEEKLY)))
    with time_machine.travel(NOW):
        assert refresh_calendar.call(calendar.pk) == "done"
    calendar.refresh_from_db()
    assert calendar.last_fetched_at is not None and calendar.busy_intervals
    assert refresh_calendar.call(calendar.pk + 1000) == "gone"


FAULTS = {
    "time-out": lambda: sleeping(3),
    "HTTP 500": lambda: status(500),
    "garbage": lambda: static(b"\x00\x8f<html>Sign in to continue</html>" * 100),
    "50 MB stream": lambda: huge(50 * 1024 * 1024),
    "50 MB declared": lambda: huge(50 * 1024 * 1024, declare_length=True),
}
FAULT_ERRORS = {
    "time-out": "did not answer within",
    "HTTP 500": "answered HTTP 500",
    "garbage": "not an iCalendar feed",
    "50 MB stream": "sent more than",
    "50 MB declared": "declares 52428800 bytes",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failed_refresh_keeps_the_last_good_copy(fault, feed_server, profile, client):
    calendar = make_feed_calendar(profile.account, feed_server.route("/w.ics", static(WEEKLY)))
    with time_machine.travel(NOW, tick=False):
        before = hours_by_day(profile)
    copy = Calendar.objects.get(pk=calendar.pk).busy_intervals
    feed_server.route("/w.ics", FAULTS[fault]())
    later = NOW + timedelta(minutes=10)

    with time_machine.travel(later):
        after = hours_by_day(profile)
        response = client.get(f"/v1/book/{profile.account.handle}/{profile.name}/meeting")

    assert response.status_code == 200, response.content
    assert after == before  # the old copy still blocks the same time
    calendar.refresh_from_db()
    assert FAULT_ERRORS[fault] in calendar.last_error
    assert calendar.busy_intervals == copy
    assert calendar.last_fetched_at == NOW
    assert calendar.last_attempt_at >= later


def test_a_feed_that_never_answers_leaves_availability_answering(feed_server, profile):
    calendar = make_feed_calendar(profile.account, feed_server.route("/w.ics", status(503)))
    days = hours_by_day(profile)
    assert days[date(2027, 3, 2)] == ALL_DAY  # nothing known yet, nothing blocked
    calendar.refresh_from_db()
    assert "HTTP 503" in calendar.last_error and calendar.last_fetched_at is None
    # Attempts are spaced: the next request within the retry interval does not wait again.
    availability.compute(profile, NOW + timedelta(seconds=10))
    assert feed_server.hits["/w.ics"] == 1
    availability.compute(profile, NOW + timedelta(seconds=refresh.RETRY_UNREAD_SECONDS))
    assert feed_server.hits["/w.ics"] == 2


def test_a_successful_refresh_clears_the_error(feed_server, host):
    url = feed_server.route("/w.ics", status(500))
    calendar = refresh.refresh(make_feed_calendar(host, url), NOW)
    assert calendar.last_error
    feed_server.route("/w.ics", static(WEEKLY))
    refresh.refresh(calendar, NOW + timedelta(minutes=1))
    calendar.refresh_from_db()
    assert calendar.last_error == "" and calendar.busy_intervals


def test_refresh_refuses_a_private_url_without_the_setting(feed_server, host):
    calendar = make_feed_calendar(host, feed_server.route("/w.ics", static(WEEKLY)))
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=False):
        refresh.refresh(calendar, NOW)
    calendar.refresh_from_db()
    assert "127.0.0.1" in calendar.last_error and feed_server.hits["/w.ics"] == 0


def test_a_whole_refresh_of_the_benchmark_feed(feed_server, host):
    url = feed_server.route("/big.ics", static(_bench_feed(), etag='"x"'))
    calendar = make_feed_calendar(host, url)
    refresh.refresh(calendar)
    calendar.refresh_from_db()
    assert calendar.busy_intervals and calendar.last_error == ""


def _bench_feed() -> bytes:
    from scheduler.calendars.ics import make_feed

    return make_feed(300)


def test_availability_reads_all_day_and_floating_events_in_the_profiles_zone(feed_server):
    """SPEC §3: "in tz", the profile's workHours zone, even when the account's zone differs."""
    account = make_account(timezone="UTC")
    make_feed_calendar(account, feed_server.route("/w.ics", static(WEEKLY)))
    week = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    profile = make_profile(
        account,
        duration_minutes=60,
        availability_step=60,
        work_hours={
            "timezone": "America/New_York",
            "daySchedules": [
                {"dayOfWeek": day, "workingIntervals": [{"start": "09:00", "end": "17:00"}]}
                for day in week
            ],
        },
    )
    days = hours_by_day(profile)
    assert days[date(2027, 3, 5)] == [10, 11, 12, 13, 14, 15, 16]  # the gym at 09:00 New York
    assert date(2027, 3, 11) not in days  # the conference's New York dates
