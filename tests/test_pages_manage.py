"""The invitee's links: /bookings/<token>/ (confirmation), cancel, reschedule, .ics download."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from icalendar import Calendar

from scheduler.models import Booking
from scheduler.services import bookings
from tests.factory import make_account, make_booking, make_profile

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def booking(db):
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    profile = make_profile(account, name="intro", subject="Intro", location="Room 1")
    return bookings.book(profile, start=at(10), end=at(10, 30), name="Bea", email="bea@example.com")


@pytest.fixture
def token(booking) -> str:
    return booking.manage_token()


def test_manage_page_shows_details_links_in_visitor_zone(client, booking, token):
    html = client.get(f"/bookings/{token}/?tz=America/New_York").content.decode()
    assert "Your booking" in html
    assert "Monday 2 March 2026, 05:00–05:30" in html  # EST, UTC−5
    assert "Room 1" in html and "Ada Host" in html
    assert f'href="/bookings/{token}/invite.ics"' in html
    assert f'href="/bookings/{token}/cancel/?tz=America%2FNew_York"' in html
    assert f'href="/bookings/{token}/reschedule/?tz=America%2FNew_York"' in html


def test_manage_urls_match_the_booking_module(booking, token):
    assert booking.cancel_url().endswith(f"/bookings/{token}/cancel/")
    assert booking.reschedule_url().endswith(f"/bookings/{token}/reschedule/")


@pytest.mark.parametrize("suffix", ["", "cancel/", "reschedule/", "invite.ics"])
def test_bad_tokens_are_404(client, booking, token, suffix):
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "nonsense", f"{booking.pk}.guess"):
        response = client.get(f"/bookings/{bad}/{suffix}")
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()


def test_ics_download(client, booking, token):
    response = client.get(f"/bookings/{token}/invite.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["UID"]) == booking.uid
    assert event.decoded("DTSTART") == at(10)


def test_cancel_get_only_asks_post_cancels(client, booking, token):
    page = client.get(f"/bookings/{token}/cancel/")
    assert page.status_code == 200
    assert "Cancel this booking?" in page.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED  # a mail scanner's GET changes nothing
    response = client.post(f"/bookings/{token}/cancel/", {"tz": "Etc/GMT+5"})
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{token}/?tz=Etc%2FGMT%2B5&done=cancelled"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.sequence == 1
    html = client.get(response["Location"]).content.decode()
    assert "This booking is cancelled" in html
    assert '05:00–05:30</time> <span class="zone">Etc/GMT+5 (UTC−05:00)</span>' in html
    assert "Book another time" in html
    # A second POST (double click, refresh) is harmless.
    assert client.post(f"/bookings/{token}/cancel/").status_code == 200
    booking.refresh_from_db()
    assert booking.sequence == 1


def test_reschedule_moves_keeps_uid_raises_sequence(client, booking, token):
    uid = booking.uid
    page = client.get(f"/bookings/{token}/reschedule/").content.decode()
    assert "Reschedule your booking" in page
    assert ">10:00<" in page  # its own time is not busy for itself
    chosen = client.get(f"/bookings/{token}/reschedule/?slot=2026-03-03T14:00:00Z").content
    assert b"Move to Tuesday 3 March, 14:00\xe2\x80\x9314:30?" in chosen
    assert booking.status == Booking.Status.CONFIRMED
    response = client.post(f"/bookings/{token}/reschedule/", {"slot": "2026-03-03T14:00:00Z"})
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{token}/?done=rescheduled"
    booking.refresh_from_db()
    assert (booking.start, booking.end) == (at(14, day=3), at(14, 30, day=3))
    assert booking.uid == uid and booking.sequence == 1
    assert "Your booking has moved" in client.get(response["Location"]).content.decode()


def test_reschedule_to_taken_time_shows_nearest(client, booking, token):
    make_booking(booking.profile, at(14, day=3), at(15, day=3), email="other@example.com")
    response = client.post(f"/bookings/{token}/reschedule/", {"slot": "2026-03-03T14:00:00Z"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "was just taken or is no longer available" in html
    assert ">Tue 3 Mar, 15:00<" in html and ">Tue 3 Mar, 13:30<" in html
    booking.refresh_from_db()
    assert booking.start == at(10) and booking.sequence == 0


def test_cancelled_booking_cannot_be_rescheduled(client, booking, token):
    bookings.cancel(booking)
    html = client.get(f"/bookings/{token}/reschedule/").content.decode()
    assert "can no longer be moved" in html
    response = client.post(f"/bookings/{token}/reschedule/", {"slot": "2026-03-03T14:00:00Z"})
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.start == at(10)


def test_every_page_has_one_h1_lang_and_labels(client, booking, token):
    pages = [
        f"/bookings/{token}/",
        f"/bookings/{token}/cancel/",
        f"/bookings/{token}/reschedule/?slot=2026-03-03T14:00:00Z",
        "/bookings/bad/",
        "/ada/intro/?slot=2026-03-03T14:00:00Z",
    ]
    for path in pages:
        html = client.get(path).content.decode()
        assert html.count("<h1") == 1, path
        assert '<html lang="en">' in html and 'name="viewport"' in html, path
        assert 'href="#main"' in html, path
        visible = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
        for input_id in visible:
            assert f'for="{input_id}"' in html, f"{path}: #{input_id} has no label"
