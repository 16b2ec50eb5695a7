"""CalDAV against a real Radicale server: busy time read, bookings written, moved, deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import requests
from django.test import override_settings

from scheduler import booking
from scheduler.calendars import caldav, refresh
from scheduler.calendars.busy_copy import LOCAL
from scheduler.models import Booking, Calendar, Delivery
from tests.factory import make_account, make_profile
from tests.fixtures.feeds import DATA, redirect
from tests.fixtures.servers import free_port

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def allow_loopback():
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True, CALENDAR_TIMEOUT_SECONDS=2):
        yield


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def put_feed_events(url: str, auth: tuple[str, str], name: str) -> None:
    """Store each UID of a sample feed as its own CalDAV resource, as a client would."""
    feed = icalendar.Calendar.from_ical((DATA / name).read_bytes())
    zones = feed.walk("VTIMEZONE")
    by_uid: dict[str, list] = {}
    for event in feed.walk("VEVENT"):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    for uid, events in by_uid.items():
        resource = icalendar.Calendar()
        resource.add("PRODID", "-//tests//EN")
        resource.add("VERSION", "2.0")
        for component in [*zones, *events]:
            resource.add_component(component)
        response = requests.put(
            f"{url}{uid}.ics",
            data=resource.to_ical(),
            auth=auth,
            headers={"Content-Type": "text/calendar"},
            timeout=10,
        )
        assert response.status_code == 201, response.text


def caldav_calendar(account, radicale_calendar, role: str = "busy", **kwargs) -> Calendar:
    url, username, password = radicale_calendar
    fields = {"url": url, "username": username, "password": password, **kwargs}
    return Calendar.objects.create(account=account, kind="caldav", role=role, **fields)


def test_busy_time_is_read_and_expanded_from_caldav(radicale_calendar):
    url, username, password = radicale_calendar
    put_feed_events(url, (username, password), "weekly.ics")
    calendar = caldav_calendar(make_account(timezone="America/New_York"), radicale_calendar)

    refresh.refresh(calendar, NOW)

    calendar.refresh_from_db()
    assert calendar.last_error == ""
    assert calendar.busy_intervals == [
        [utc(2027, 3, 2, 15), utc(2027, 3, 2, 16)],
        [utc(2027, 3, 4, 15), utc(2027, 3, 4, 16)],  # RDATE
        [utc(2027, 3, 17, 16), utc(2027, 3, 17, 17)],  # the moved instance
        [utc(2027, 3, 5, 9), utc(2027, 3, 5, 10), LOCAL],  # floating
        [utc(2027, 3, 10), utc(2027, 3, 13), LOCAL],  # all-day, three dates
        [utc(2027, 3, 19), utc(2027, 3, 20), LOCAL],
    ]


def test_a_wrong_password_is_recorded_and_keeps_availability_answering(radicale_calendar):
    account = make_account()
    calendar = caldav_calendar(account, radicale_calendar, password="wrong")
    profile = make_profile(account)
    assert booking.compute(profile, NOW).slots  # answered without the calendar
    calendar.refresh_from_db()
    assert "Authorization" in calendar.last_error or "401" in calendar.last_error
    assert calendar.last_fetched_at is None


def fetch_resource(calendar: Calendar, uid: str) -> requests.Response:
    return requests.get(
        caldav.resource_url(calendar, uid),
        auth=(calendar.username, calendar.password),
        timeout=10,
    )


def collection_size(calendar: Calendar) -> int:
    response = requests.request(
        "PROPFIND",
        calendar.url,
        auth=(calendar.username, calendar.password),
        headers={"Depth": "1"},
        timeout=10,
    )
    return response.text.count("<D:response>") + response.text.count("<response>") - 1


def test_bookings_are_put_moved_and_deleted_on_a_caldav_primary(
    radicale_calendar, django_capture_on_commit_callbacks
):
    account = make_account(timezone="UTC", email="ada@example.com", name="Ada Host")
    calendar = caldav_calendar(account, radicale_calendar, role="primary")
    profile = make_profile(account, subject="Intro with {{name}}", location="Room 1")
    start = datetime(2027, 3, 2, 10, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        made = booking.book(
            profile,
            start=start,
            end=start + timedelta(minutes=30),
            name="Bea",
            email="bea@example.com",
            now=NOW,
        )
    made.refresh_from_db()
    assert made.calendar_state == Delivery.DONE, made.calendar_error
    event = icalendar.Calendar.from_ical(fetch_resource(calendar, made.uid).content)
    vevent = event.walk("VEVENT")[0]
    assert str(vevent["UID"]) == made.uid
    assert vevent["DTSTART"].dt == start and vevent["DTEND"].dt == start + timedelta(minutes=30)
    assert vevent["DTSTART"].to_ical() == b"20270302T100000Z"
    assert str(vevent["SUMMARY"]) == "Intro with Bea"
    assert str(vevent["LOCATION"]) == "Room 1"
    assert str(vevent["ORGANIZER"]) == "mailto:ada@example.com"
    assert str(vevent["ATTENDEE"]) == "mailto:bea@example.com"
    assert int(vevent["SEQUENCE"]) == 0

    # Our own event on the primary does not count as outside busy time: it would otherwise
    # block moving the booking by half an hour.
    refresh.refresh(Calendar.objects.get(pk=calendar.pk), NOW)
    assert Calendar.objects.get(pk=calendar.pk).busy_intervals == []
    moved_start = start + timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        booking.reschedule(
            made, start=moved_start, end=moved_start + timedelta(minutes=30), now=NOW
        )
    vevent = icalendar.Calendar.from_ical(fetch_resource(calendar, made.uid).content).walk(
        "VEVENT"
    )[0]
    assert vevent["DTSTART"].dt == moved_start and int(vevent["SEQUENCE"]) == 1
    assert collection_size(calendar) == 1  # the same resource, replaced

    with django_capture_on_commit_callbacks(execute=True):
        booking.cancel(Booking.objects.get(pk=made.pk), now=NOW)
    assert fetch_resource(calendar, made.uid).status_code == 404
    assert Booking.objects.get(pk=made.pk).calendar_state == Delivery.DONE


def test_removing_an_event_that_is_already_gone_succeeds(radicale_calendar):
    account = make_account()
    calendar = caldav_calendar(account, radicale_calendar, role="primary")
    ghost = Booking(account=account, start=NOW, end=NOW + timedelta(hours=1), uid="gone@booking")
    caldav.remove(calendar, ghost)  # 404 counts as removed


def test_other_events_on_the_primary_block_time(radicale_calendar):
    url, username, password = radicale_calendar
    put_feed_events(url, (username, password), "outlook.ics")
    account = make_account()
    caldav_calendar(account, radicale_calendar, role="primary")
    profile = make_profile(account, duration_minutes=60, availability_step=60)
    slots = booking.compute(profile, NOW).slots
    day = [s.hour for s, _ in slots if s.date() == datetime(2027, 3, 2).date()]
    assert day == [10, 11, 12, 13, 14, 15, 16]  # 09:00Z is the budget review


def test_a_caldav_outage_never_loses_a_booking(django_capture_on_commit_callbacks):
    account = make_account()
    calendar = Calendar.objects.create(
        account=account,
        kind="caldav",
        role="primary",
        url=f"http://127.0.0.1:{free_port()}/ada/calendar/",  # nothing listens there
        username="ada",
        password="x",
    )
    profile = make_profile(account)
    start = datetime(2027, 3, 2, 10, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        made = booking.book(
            profile, start=start, end=start + timedelta(minutes=30), email="c@example.com", now=NOW
        )

    made.refresh_from_db()
    assert made.status == Booking.Status.CONFIRMED
    # The immediate backend cannot retry later, so the one attempt is final; a worker would
    # leave it pending and try again.
    assert made.calendar_state in (Delivery.FAILED, Delivery.PENDING)
    assert made.calendar_attempts == 1
    assert "ConnectionError" in made.calendar_error or "refused" in made.calendar_error
    calendar.refresh_from_db()
    assert calendar.last_error  # reading it for availability failed too, and was recorded


def test_caldav_requests_do_not_follow_redirects(feed_server):
    """A redirect would reach a host the SSRF guard never checked."""
    feed_server.route("/dav/cal/x%40booking.ics", redirect("http://10.0.0.1/steal"))
    feed_server.route("/dav/cal/", redirect("http://10.0.0.1/steal"))
    account = make_account()
    calendar = Calendar.objects.create(
        account=account, kind="caldav", role="primary", url=feed_server.base + "/dav/cal/"
    )
    event = Booking(account=account, start=NOW, end=NOW + timedelta(hours=1), uid="x@booking")
    with pytest.raises(Exception, match="Exceeded 0 redirects"):
        caldav.write(calendar, event)
    refresh.refresh(calendar, NOW)
    assert "TooManyRedirects" in calendar.last_error and calendar.last_fetched_at is None
