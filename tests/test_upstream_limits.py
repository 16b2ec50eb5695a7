"""SPEC §11: one whole read of a calendar ends within CALENDAR_TIMEOUT_SECONDS (every request,
fallback query, redirect, name lookup and the full body), each answer is capped at
CALENDAR_MAX_BYTES while it streams, and one host's slow or huge calendar server never slows
another host's pages or bookings.

Real loopback servers throughout (tests/fixtures/feeds.py, Radicale, gunicorn); the faults are
handlers that trickle, stall or flood, and one slow name server (a mocked getaddrinfo).
"""

from __future__ import annotations

import socket
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.test import override_settings

from scheduler.calendars import caldav, fetch, net, refresh
from scheduler.models import Booking, Calendar
from scheduler.rules.availability import DAY_NAMES
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.feeds import huge, static
from tests.fixtures.servers import gunicorn_on_test_db

LIMIT = 1.0
SLACK = 0.5  # scheduling and the last wait; never a second deadline
NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
LO, HI = NOW, NOW + timedelta(days=30)
EMPTY_FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nEND:VCALENDAR\r\n"
EMPTY_MULTISTATUS = b'<?xml version="1.0" encoding="utf-8"?>\n<multistatus xmlns="DAV:"/>'


@pytest.fixture(autouse=True)
def limits():
    with override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True, CALENDAR_TIMEOUT_SECONDS=LIMIT):
        yield


def _consume_body(request) -> None:
    length = int(request.headers.get("Content-Length") or 0)
    if length:
        request.rfile.read(length)


def trickling(*, in_headers: bool = False, interval: float = 0.2, longest: float = 30.0):
    """Sends a byte every `interval` seconds, for as long as the client listens: in the body
    (after a 200 and its headers) or, with `in_headers`, inside a header line."""

    def handle(request) -> None:
        _consume_body(request)
        stop = time.monotonic() + longest
        try:
            if in_headers:
                request.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                request.send_response(200)
                request.send_header("Content-Type", "text/calendar")
                request.end_headers()
                request.wfile.write(b"BEGIN:VCALENDAR\r\n")
            while time.monotonic() < stop:
                time.sleep(interval)
                request.wfile.write(b"x")
        except OSError:
            pass  # the client gave up, as it should
        request.close_connection = True

    return handle


def answering_after(
    seconds: float, code: int, body: bytes, content_type: str = "text/plain", location: str = ""
):
    """Waits `seconds`, then answers: each request alone is well within the limit."""

    def handle(request) -> None:
        _consume_body(request)
        time.sleep(seconds)
        try:
            request.send_response(code)
            if location:
                request.send_header("Location", location)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass

    return handle


def timed(call):
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def dav_calendar(url: str, role: str = "busy") -> Calendar:
    return Calendar.objects.create(account=make_account(), kind="caldav", role=role, url=url)


# ICS feeds


def test_a_trickling_feed_is_cut_off_at_the_deadline(feed_server):
    url = feed_server.route("/slow.ics", trickling())
    seconds, error = timed(lambda: fetch.fetch_feed(url))
    assert isinstance(error, fetch.FetchError)
    assert str(error) == f"{url} did not finish within 1 s"  # the limit, never a clock reading
    assert LIMIT <= seconds < LIMIT + SLACK


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline(feed_server):
    url = feed_server.route("/slow.ics", trickling(in_headers=True))
    seconds, error = timed(lambda: fetch.fetch_feed(url))
    assert str(error) == f"{url} did not answer within 1 s"
    assert LIMIT <= seconds < LIMIT + SLACK


def test_the_deadline_covers_every_redirect(feed_server):
    """Each hop answers in 0.4 s, well within the limit alone; four of them are not."""
    for n in range(4):
        feed_server.route(f"/hop{n}", answering_after(0.4, 302, b"", location=f"/hop{n + 1}"))
    feed_server.route("/hop4", static(EMPTY_FEED))

    seconds, error = timed(lambda: fetch.fetch_feed(feed_server.base + "/hop0"))

    assert isinstance(error, fetch.FetchError) and "did not answer within 1 s" in str(error)
    assert feed_server.hits["/hop2"] == 1 and feed_server.hits["/hop3"] == 0
    assert LIMIT <= seconds < LIMIT + SLACK


def test_a_slow_name_lookup_counts_against_the_deadline(feed_server, monkeypatch):
    real = socket.getaddrinfo

    def slow_name_server(host, *args, **kwargs):
        if host == "slow-dns.example.com":
            time.sleep(3)  # an attacker's name server that takes its time
        return real("127.0.0.1" if host == "slow-dns.example.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_name_server)
    url = feed_server.route("/feed.ics", static(EMPTY_FEED))
    port = feed_server.httpd.server_port
    seconds, error = timed(lambda: fetch.fetch_feed(f"http://slow-dns.example.com:{port}/feed.ics"))
    assert isinstance(error, fetch.FetchError) and "did not answer within 1 s" in str(error)
    assert seconds < LIMIT + SLACK
    assert feed_server.hits["/feed.ics"] == 0 and url


def test_a_feed_within_the_limits_is_read_whole(feed_server):
    body = EMPTY_FEED + b"X" * 300_000  # several chunks
    with override_settings(CALENDAR_MAX_BYTES=len(body)):
        assert fetch.fetch_feed(feed_server.route("/ok.ics", static(body))).body == body
        with pytest.raises(fetch.FetchError, match=f"sent more than {len(body) - 1} bytes"):
            with override_settings(CALENDAR_MAX_BYTES=len(body) - 1):
                fetch.fetch_feed(feed_server.route("/chunked.ics", huge(len(body))))


def test_a_body_shorter_than_its_content_length_is_an_error(feed_server):
    def short(request) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "1000")
        request.end_headers()
        request.wfile.write(EMPTY_FEED)
        request.close_connection = True

    with pytest.raises(fetch.FetchError, match="failed while answering"):
        fetch.fetch_feed(feed_server.route("/short.ics", short))


# CalDAV


@pytest.mark.django_db
def test_a_trickling_caldav_server_is_cut_off_at_the_deadline(feed_server):
    calendar = dav_calendar(feed_server.route("/dav/cal/", trickling()))
    seconds, error = timed(lambda: caldav.busy_entries(calendar, LO, HI))
    assert isinstance(error, net.DeadlineExceeded)
    assert str(error) == f"{calendar.url} did not finish within 1 s"
    assert LIMIT <= seconds < LIMIT + SLACK
    assert feed_server.hits["/dav/cal/"] == 1  # no fallback query after a time-out

    refresh.refresh(calendar, NOW)
    calendar.refresh_from_db()
    assert calendar.last_error == f"DeadlineExceeded: {calendar.url} did not finish within 1 s"


@pytest.mark.django_db
def test_one_deadline_covers_the_expand_query_and_its_fallback(feed_server):
    """The expanded query is refused after 0.6 s, the fallback answers after 0.6 s: each
    within the limit alone, together not."""
    answers = iter(
        [
            answering_after(0.6, 501, b"no expand"),
            answering_after(0.6, 207, EMPTY_MULTISTATUS, "application/xml"),
        ]
    )
    calendar = dav_calendar(feed_server.route("/dav/cal/", lambda request: next(answers)(request)))

    seconds, error = timed(lambda: caldav.read_objects(calendar, LO, HI))

    assert isinstance(error, net.DeadlineExceeded)
    assert str(error) == f"{calendar.url} did not answer within 1 s"
    assert feed_server.hits["/dav/cal/"] == 2
    assert LIMIT <= seconds < LIMIT + SLACK


@pytest.mark.django_db
def test_each_of_the_fallback_queries_gets_what_is_left_of_one_deadline(feed_server):
    answers = iter(
        [
            answering_after(0.3, 501, b"no expand"),
            answering_after(0.3, 207, EMPTY_MULTISTATUS, "application/xml"),
        ]
    )
    calendar = dav_calendar(feed_server.route("/dav/cal/", lambda request: next(answers)(request)))
    assert caldav.read_objects(calendar, LO, HI) == ([], "client")


@pytest.mark.django_db
def test_a_huge_caldav_answer_stops_at_the_cap_without_being_held(feed_server):
    calendar = dav_calendar(feed_server.route("/dav/cal/", huge(50 * 1024 * 1024)))
    cap = 1024 * 1024
    tracemalloc.start()
    try:
        with override_settings(CALENDAR_MAX_BYTES=cap, CALENDAR_TIMEOUT_SECONDS=10):
            seconds, error = timed(lambda: caldav.busy_entries(calendar, LO, HI))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, net.AnswerTooLarge)
    assert str(error) == f"{calendar.url} sent more than {cap} bytes; the limit is {cap}"
    assert seconds < 2
    assert peak < 4 * cap  # what was read, and a little: never the 50 MB
    assert feed_server.hits["/dav/cal/"] == 1  # no fallback query after it


@pytest.mark.django_db
def test_a_caldav_answer_declaring_too_many_bytes_is_refused_before_reading(feed_server):
    calendar = dav_calendar(
        feed_server.route("/dav/cal/", huge(50 * 1024 * 1024, declare_length=True))
    )
    with override_settings(CALENDAR_MAX_BYTES=1024 * 1024):
        with pytest.raises(net.AnswerTooLarge, match="declares 52428800 bytes"):
            caldav.read_objects(calendar, LO, HI)


@pytest.mark.django_db
def test_writes_to_a_trickling_caldav_server_end_at_the_deadline(feed_server):
    calendar = dav_calendar(feed_server.route("/dav/cal/x%40booking.ics", trickling()), "primary")
    calendar.url = feed_server.base + "/dav/cal/"
    calendar.save()
    booking = _unsaved_booking(calendar.account)
    for operation in (caldav.write, caldav.remove):
        seconds, error = timed(lambda operation=operation: operation(calendar, booking))
        assert isinstance(error, net.DeadlineExceeded), error
        assert LIMIT <= seconds < LIMIT + SLACK


def _unsaved_booking(account) -> Booking:
    return Booking(account=account, start=NOW, end=NOW + timedelta(hours=1), uid="x@booking")


# One host's slow or huge server, another host's pages and bookings.

ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for day in DAY_NAMES
    ],
}


@pytest.fixture
def app(transactional_db):
    """gunicorn with 4 workers, a 2 s calendar deadline and a 1 MiB cap."""
    with gunicorn_on_test_db(
        ALLOW_PRIVATE_CALENDAR_URLS="true",
        CALENDAR_TIMEOUT_SECONDS="2",
        CALENDAR_MAX_BYTES=str(1024 * 1024),
    ) as base:
        yield base


def _meeting(base: str, token: str, profile_id: int) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = requests.get(
        f"{base}/v1/book/account/profiles/{profile_id}/meeting?limit=3",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    return time.monotonic() - started, answer


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["trickle", "huge"])
def test_one_hosts_slow_or_huge_calendar_never_slows_another_host(app, feed_server, fault):
    slow_host, other_host = make_account(handle="slow"), make_account(handle="quick")
    slow_token, other_token = make_token(slow_host), make_token(other_host)
    slow_profile = make_profile(slow_host, work_hours=ALL_DAY)
    other_profile = make_profile(other_host, work_hours=ALL_DAY)
    handler = trickling() if fault == "trickle" else huge(200 * 1024 * 1024)
    Calendar.objects.create(
        account=slow_host, kind="ics", url=feed_server.route("/slow.ics", handler)
    )
    Calendar.objects.create(
        account=slow_host, kind="caldav", url=feed_server.route("/dav/", handler)
    )

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(_meeting, app, slow_token, slow_profile.pk)
        deadline = time.monotonic() + 10
        while not feed_server.hits["/slow.ics"] and time.monotonic() < deadline:
            time.sleep(0.02)
        others = [_meeting(app, other_token, other_profile.pk) for _ in range(5)]
        slow_seconds, slow_answer = waiting.result(timeout=60)

    assert all(answer.status_code == 200 for _, answer in others)
    assert max(seconds for seconds, _ in others) < 1.0, others
    # The slow host's own answer comes once its calendars gave up: two reads, 2 s each at most.
    assert slow_answer.status_code == 200, slow_answer.text
    assert slow_seconds < 2 * 2 + 1.5
    errors = sorted(Calendar.objects.filter(account=slow_host).values_list("last_error", flat=True))
    expected = "did not finish within 2 s" if fault == "trickle" else "sent more than 1048576"
    assert all(expected in error for error in errors), errors
