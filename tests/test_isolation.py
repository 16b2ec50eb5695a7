"""No external call inside a transaction: one host's slow calendar never holds up another
host's booking, and concurrent first readers of a never-read calendar wait for one fetch.

Real parts: gunicorn with 4 workers on the suite's database (SQLite here is the case that
matters: a write transaction holds the whole database's lock) and a loopback feed server.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from django.test import override_settings

from scheduler.calendars import refresh
from scheduler.models import Booking, Calendar
from scheduler.rules.availability import DAY_NAMES
from tests.factory import make_account, make_profile, make_token
from tests.fixtures.feeds import static
from tests.fixtures.servers import first_slot, gunicorn_on_test_db

pytestmark = pytest.mark.slow

ALL_DAY = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for day in DAY_NAMES
    ],
}
FEED_DELAY = 10.0


@pytest.fixture
def app(transactional_db):
    """gunicorn that may read loopback feeds and waits long enough for a 10 s feed."""
    with gunicorn_on_test_db(
        ALLOW_PRIVATE_CALENDAR_URLS="true", CALENDAR_TIMEOUT_SECONDS="15"
    ) as base:
        yield base


def _slow(body: bytes, seconds: float):
    serve = static(body)

    def handle(request) -> None:
        time.sleep(seconds)
        serve(request)

    return handle


def _busy_feed(start: datetime, end: datetime) -> bytes:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:away@tests\r\nDTSTAMP:{start:{stamp}}\r\nDTSTART:{start:{stamp}}\r\n"
        f"DTEND:{end:{stamp}}\r\nSUMMARY:Away\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _book(base: str, token: str, profile_id: int, time_: dict) -> requests.Response:
    return requests.post(
        f"{base}/v1/book/account/profiles/{profile_id}/meeting",
        json={"time": time_, "schedulerInfo": {"name": "Ada", "email": "ada@example.com"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_a_slow_feed_never_holds_up_another_hosts_booking(app, feed_server):
    slow_host, other_host = make_account(handle="slow"), make_account(handle="quick")
    slow_token, other_token = make_token(slow_host), make_token(other_host)
    slow_profile = make_profile(slow_host, work_hours=ALL_DAY, start_after_minutes=0)
    other_profile = make_profile(other_host, work_hours=ALL_DAY, start_after_minutes=0)
    # Slots a while ahead: the first may start before a 10 s wait is over.
    slow_slot = first_slot(app, slow_token, slow_profile.pk, 3)  # before the feed exists
    other_slot = first_slot(app, other_token, other_profile.pk, 3)
    empty = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nEND:VCALENDAR\r\n"
    url = feed_server.route("/slow.ics", _slow(empty, FEED_DELAY))
    Calendar.objects.create(account=slow_host, kind="ics", role="busy", url=url)

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(_book, app, slow_token, slow_profile.pk, slow_slot)
        deadline = time.monotonic() + 5
        while feed_server.hits["/slow.ics"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed_server.hits["/slow.ics"] == 1, "the slow host's booking reads its feed"

        started = time.monotonic()
        quick = _book(app, other_token, other_profile.pk, other_slot)
        quick_seconds = time.monotonic() - started
        edited = requests.patch(
            f"{app}/v1/book/account/profiles/{other_profile.pk}",
            json={"subject": "Still editable"},
            headers={"Authorization": f"Bearer {other_token}"},
            timeout=30,
        )
        edit_seconds = time.monotonic() - started - quick_seconds

        slow = waiting.result(timeout=60)
    assert quick.status_code == 201, quick.text
    assert quick_seconds < 1.0, f"another host's booking took {quick_seconds:.1f} s"
    assert edited.status_code == 200 and edit_seconds < 1.0
    # The slow host's booking waited for its feed (read before the lock), then was made.
    assert slow.status_code == 201, slow.text
    assert Booking.objects.count() == 2


def test_concurrent_first_readers_wait_for_one_fetch_and_use_its_copy(app, feed_server):
    host = make_account(handle="away")
    token = make_token(host)
    profile = make_profile(
        host, work_hours=ALL_DAY, start_after_minutes=0, time_available_for="P7D"
    )
    now = datetime.now(UTC).replace(microsecond=0)
    # The host is away for longer than the whole horizon: every slot is busy.
    body = _busy_feed(now - timedelta(days=1), now + timedelta(days=10))
    url = feed_server.route("/away.ics", _slow(body, 1.5))
    Calendar.objects.create(account=host, kind="ics", role="busy", url=url)
    readers = 6
    barrier = threading.Barrier(readers)

    def read(_: int) -> dict:
        barrier.wait(timeout=30)
        answer = requests.get(
            f"{app}/v1/book/account/profiles/{profile.pk}/meeting",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        answer.raise_for_status()
        return answer.json()

    with ThreadPoolExecutor(max_workers=readers) as pool:
        answers = list(pool.map(read, range(readers)))

    assert [a["totalSize"] for a in answers] == [0] * readers  # nobody offered busy time
    assert feed_server.hits["/away.ics"] == 1  # one fetch served them all


NOW = datetime(2030, 1, 7, 8, tzinfo=UTC)


def test_a_read_lease_is_taken_once_and_freed_by_the_read(db, feed_server):
    host = make_account()
    url = feed_server.route("/w.ics", static(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
    calendar = Calendar.objects.create(account=host, kind="ics", role="busy", url=url)
    with time_machine.travel(NOW, tick=False), override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True):
        assert refresh._take_lease(calendar, NOW)
        assert not refresh._take_lease(Calendar.objects.get(pk=calendar.pk), NOW)
        refresh.refresh(Calendar.objects.get(pk=calendar.pk), NOW)
        assert Calendar.objects.get(pk=calendar.pk).reading_until is None
        assert refresh._take_lease(calendar, NOW)


def test_the_lease_of_a_reader_that_died_runs_out(db):
    host = make_account()
    calendar = Calendar.objects.create(
        account=host, kind="ics", role="busy", url="https://feed.example.com/a.ics"
    )
    assert refresh._take_lease(calendar, NOW)
    # The reader died without freeing it: nobody else reads until the lease has run out.
    assert not refresh._take_lease(calendar, NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=refresh.lease_seconds() + 1)
    assert refresh._take_lease(calendar, later)
