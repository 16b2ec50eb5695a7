"""CalDAV against a real Radicale server: busy time read, bookings written, moved, deleted."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import requests
from caldav import DAVClient
from caldav.lib.error import AuthorizationError
from django.test import override_settings

from scheduler.calendars import caldav, ics, refresh
from scheduler.calendars.busy_copy import LOCAL
from scheduler.models import Booking, Calendar, Delivery
from scheduler.services import availability, bookings
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
    assert availability.compute(profile, NOW).slots  # answered without the calendar
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
        made = bookings.book(
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
        bookings.reschedule(
            made, start=moved_start, end=moved_start + timedelta(minutes=30), now=NOW
        )
    vevent = icalendar.Calendar.from_ical(fetch_resource(calendar, made.uid).content).walk(
        "VEVENT"
    )[0]
    assert vevent["DTSTART"].dt == moved_start and int(vevent["SEQUENCE"]) == 1
    assert collection_size(calendar) == 1  # the same resource, replaced

    with django_capture_on_commit_callbacks(execute=True):
        bookings.cancel(Booking.objects.get(pk=made.pk), now=NOW)
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
    slots = availability.compute(profile, NOW).slots
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
        made = bookings.book(
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


# Server-side expansion (CALDAV:expand) against client-side expansion.

ALL_DAY_SERIES = """BEGIN:VEVENT
UID:offsite@example.com
DTSTAMP:20270220T120000Z
SUMMARY:Offsite, two days every week
DTSTART;VALUE=DATE:20270303
DTEND;VALUE=DATE:20270305
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;VALUE=DATE:20270331
END:VEVENT
BEGIN:VEVENT
UID:offsite@example.com
DTSTAMP:20270220T120000Z
RECURRENCE-ID;VALUE=DATE:20270317
SUMMARY:Offsite moved to Friday
DTSTART;VALUE=DATE:20270319
DTEND;VALUE=DATE:20270320
END:VEVENT
BEGIN:VEVENT
UID:offsite@example.com
DTSTAMP:20270220T120000Z
RECURRENCE-ID;VALUE=DATE:20270324
SUMMARY:Offsite called off
DTSTART;VALUE=DATE:20270324
DTEND;VALUE=DATE:20270326
STATUS:CANCELLED
END:VEVENT
"""
UTC_SERIES = """BEGIN:VEVENT
UID:standup@example.com
DTSTAMP:20270220T120000Z
SUMMARY:Stand-up
DTSTART:20270301T083000Z
DTEND:20270301T084500Z
RRULE:FREQ=DAILY;COUNT=20;BYDAY=MO,TU,WE,TH,FR
EXDATE:20270303T083000Z
END:VEVENT
BEGIN:VEVENT
UID:standup@example.com
DTSTAMP:20270220T120000Z
RECURRENCE-ID:20270304T083000Z
SUMMARY:Stand-up, later
DTSTART:20270304T091500Z
DTEND:20270304T093000Z
END:VEVENT
"""
TRANSPARENT = """BEGIN:VEVENT
UID:focus@example.com
DTSTAMP:20270220T120000Z
SUMMARY:Focus time (free)
DTSTART:20270302T130000Z
DTEND:20270302T150000Z
RRULE:FREQ=WEEKLY;COUNT=3
TRANSP:TRANSPARENT
END:VEVENT
"""
FLOATING_SERIES = """BEGIN:VEVENT
UID:run@example.com
DTSTAMP:20270220T120000Z
SUMMARY:Morning run (floating)
DTSTART:20270301T070000
DTEND:20270301T080000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE:20270308T070000
END:VEVENT
BEGIN:VEVENT
UID:run@example.com
DTSTAMP:20270220T120000Z
RECURRENCE-ID:20270315T070000
SUMMARY:Run, later
DTSTART:20270315T180000
DTEND:20270315T190000
END:VEVENT
BEGIN:VEVENT
UID:run@example.com
DTSTAMP:20270220T120000Z
RECURRENCE-ID:20270322T070000
SUMMARY:No run
DTSTART:20270322T070000
DTEND:20270322T080000
STATUS:CANCELLED
END:VEVENT
"""
LO, HI = datetime(2027, 2, 28, tzinfo=UTC), datetime(2027, 4, 10, tzinfo=UTC)


def vcalendar(events: str) -> bytes:
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//tests//EN\n{events}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def put_events(radicale_calendar, events: str) -> None:
    """Each UID of `events` as its own resource (as CalDAV clients store them)."""
    url, username, password = radicale_calendar
    by_uid: dict[str, list] = {}
    for event in icalendar.Calendar.from_ical(vcalendar(events)).walk("VEVENT"):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    for uid, parts in by_uid.items():
        resource = icalendar.Calendar()
        resource.add("PRODID", "-//tests//EN")
        resource.add("VERSION", "2.0")
        for part in parts:
            resource.add_component(part)
        response = requests.put(
            f"{url}{uid}.ics",
            data=resource.to_ical(),
            auth=(username, password),
            headers={"Content-Type": "text/calendar"},
            timeout=10,
        )
        assert response.status_code == 201, response.text


def client_side(events: str) -> list:
    """The busy copy the ICS pipeline makes of the same events, expanded here."""
    return ics.busy_entries(vcalendar(events), LO, HI)


@pytest.fixture
def reports(monkeypatch) -> list[str]:
    """The body of every REPORT the client sends (the real request still goes out)."""
    sent: list[str] = []
    real = DAVClient.report

    def record(self, url: str, query: str = "", depth: int | None = 0):
        sent.append(query)
        return real(self, url, query, depth)

    monkeypatch.setattr(DAVClient, "report", record)
    return sent


VTIMEZONE_NY = (
    (DATA / "weekly.ics")
    .read_text()
    .split("CALSCALE:GREGORIAN\n", 1)[1]
    .split("BEGIN:VEVENT", 1)[0]
)
WEEKLY_EVENTS = (
    (DATA / "weekly.ics").read_text().split("END:VTIMEZONE\n", 1)[1].rsplit("END:VCALENDAR", 1)[0]
)
RICH = WEEKLY_EVENTS + ALL_DAY_SERIES + UTC_SERIES + TRANSPARENT


def test_server_expansion_gives_the_same_busy_time_as_client_expansion(radicale_calendar, reports):
    put_events(radicale_calendar, VTIMEZONE_NY + RICH)
    calendar = caldav_calendar(make_account(), radicale_calendar)

    entries = caldav.busy_entries(calendar, LO, HI)

    assert entries == client_side(VTIMEZONE_NY + RICH)
    assert [utc(2027, 3, 3), utc(2027, 3, 5), LOCAL] in entries  # first offsite
    assert [utc(2027, 3, 19), utc(2027, 3, 20), LOCAL] in entries  # moved offsite (+ one-day)
    assert not any(e[0] <= utc(2027, 3, 31) < e[1] for e in entries if len(e) > 2)  # EXDATE
    assert not any(e[0] <= utc(2027, 3, 24) < e[1] for e in entries if len(e) > 2)  # called off
    assert [utc(2027, 3, 4, 9, 15), utc(2027, 3, 4, 9, 30)] in entries  # moved stand-up
    assert not any(e[0] <= utc(2027, 3, 3, 8, 30) < e[1] for e in entries if len(e) == 2)
    assert not any(e[0] <= utc(2027, 3, 2, 13) < e[1] for e in entries if len(e) == 2)
    # One expanded calendar-query, then one multiget for the all-day series only.
    assert len(reports) == 2
    assert "<C:expand " in reports[0] and "calendar-multiget" in reports[1]
    assert "offsite%40example.com.ics</D:href>" in reports[1].replace("@", "%40")
    assert reports[1].count("<D:href>") == 1


def test_timed_series_are_taken_from_the_servers_expansion(radicale_calendar):
    put_events(radicale_calendar, VTIMEZONE_NY + RICH)
    calendar = caldav_calendar(make_account(), radicale_calendar)

    objects, mode = caldav.read_objects(calendar, LO, HI)

    assert mode == "server"
    by_uid = {str(c.walk("VEVENT")[0]["UID"]): c.walk("VEVENT") for c in objects}
    standups = by_uid["standup@example.com"]
    # Instances as the server made them: no rule left, each with its RECURRENCE-ID, in UTC.
    assert all("RRULE" not in e and "RECURRENCE-ID" in e for e in standups)
    assert len(standups) == 19  # 20 week days, one EXDATE
    weekly = by_uid["weekly-1on1@example.com"]
    assert all("RRULE" not in e for e in weekly)
    assert all(e["DTSTART"].to_ical().endswith(b"Z") for e in weekly)
    # The all-day series was read again unexpanded, to be expanded in the profile's zone.
    assert "RRULE" in by_uid["offsite@example.com"][0]


def test_a_floating_series_makes_radicale_refuse_and_falls_back(radicale_calendar, reports):
    """Radicale answers 500 to expanding a floating series; the unexpanded query follows."""
    events = VTIMEZONE_NY + RICH + FLOATING_SERIES
    put_events(radicale_calendar, events)
    calendar = caldav_calendar(make_account(), radicale_calendar)

    assert caldav.read_objects(calendar, LO, HI)[1] == "client"
    entries = caldav.busy_entries(calendar, LO, HI)

    assert entries == client_side(events)
    assert [utc(2027, 3, 1, 7), utc(2027, 3, 1, 8), LOCAL] in entries
    assert [utc(2027, 3, 15, 18), utc(2027, 3, 15, 19), LOCAL] in entries  # moved run
    assert not any(e[0] == utc(2027, 3, 8, 7) or e[0] == utc(2027, 3, 22, 7) for e in entries)
    assert "<C:expand " in reports[-2] and "<C:expand" not in reports[-1]


def proxy(radicale_calendar, mode: str):
    """A CalDAV front for the Radicale collection that mistreats CALDAV:expand.

    "refuse-501"/"refuse-403": answers the expanded query with that status;
    "garbage": answers it 207 with a body that is not XML; "html": 207 with an HTML page;
    "ignore": drops the expand element and passes the query on (RRULE masters come back).
    """
    url, username, password = radicale_calendar

    def handle(request) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        if b"expand" in body and mode != "ignore":
            code = {"refuse-501": 501, "refuse-403": 403}.get(mode, 207)
            reply = b"<html>not implemented</html>" if mode != "garbage" else b"\x00<<junk"
            send(request, code, reply, "text/plain" if mode == "garbage" else "text/html")
            return
        body = re.sub(rb"<C:expand [^>]*/>", b"", body)
        answer = requests.request(
            "REPORT",
            url,
            data=body,
            auth=(username, password),
            headers={"Depth": "1", "Content-Type": "application/xml"},
            timeout=10,
        )
        send(request, answer.status_code, answer.content, "application/xml; charset=utf-8")

    return handle


def send(request, code: int, body: bytes, content_type: str) -> None:
    request.send_response(code)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@pytest.mark.parametrize("mode", ["refuse-501", "refuse-403", "garbage", "html", "ignore"])
def test_a_server_that_refuses_or_ignores_expand_is_expanded_client_side(
    radicale_calendar, feed_server, reports, mode
):
    put_events(radicale_calendar, VTIMEZONE_NY + RICH)
    feed_server.route("/dav/cal/", proxy(radicale_calendar, mode))
    account = make_account()
    calendar = Calendar.objects.create(
        account=account, kind="caldav", url=feed_server.base + "/dav/cal/"
    )

    entries = caldav.busy_entries(calendar, LO, HI)

    assert entries == client_side(VTIMEZONE_NY + RICH)
    assert "<C:expand " in reports[0]
    # Refused: asked again without expand. Ignored: the one answer is expanded here.
    assert len(reports) == (1 if mode == "ignore" else 2)
    assert caldav.read_objects(calendar, LO, HI)[1] == "client"


def test_a_wrong_password_is_reported_after_the_unexpanded_retry(radicale_calendar, reports):
    calendar = caldav_calendar(make_account(), radicale_calendar, password="wrong")
    with pytest.raises(AuthorizationError):
        caldav.busy_entries(calendar, LO, HI)
    assert len(reports) == 2


def test_one_read_looks_its_host_up_once_and_keeps_that_address(
    radicale_calendar, reports, monkeypatch
):
    """With ALLOW_PRIVATE_CALENDAR_URLS loopback is allowed, but still pinned: the expanded
    query and the multiget of one read both go to the address of the one lookup, even when
    the name no longer resolves afterwards."""
    put_events(radicale_calendar, ALL_DAY_SERIES + UTC_SERIES)
    url, username, password = radicale_calendar
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "radicale.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:
            raise socket.gaierror(socket.EAI_NONAME, "the name server went away")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    named = (url.replace("127.0.0.1", "radicale.test"), username, password)
    calendar = caldav_calendar(make_account(), named)

    entries = caldav.busy_entries(calendar, LO, HI)

    assert entries == client_side(ALL_DAY_SERIES + UTC_SERIES)
    assert len(reports) == 2  # the expanded query and the multiget
    assert lookups == ["radicale.test"]
