"""The invitee's own zone (SPEC §10): kept on the booking from the page or the API's
`schedulerInfo.timezone`; their mails and pages show it and name it, the host's notice keeps
the host's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from scheduler.models import Booking
from scheduler.rules import zones
from tests.api.helpers import ApiClient, assert_error
from tests.factory import make_account, make_profile, make_token

NOW = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)
ALL_DAY = {
    "timezone": "Europe/London",
    "daySchedules": [
        {"dayOfWeek": d, "workingIntervals": [{"start": "00:00:00", "end": "24:00:00"}]}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ],
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def profile(db):
    host = make_account(
        handle="lon", name="Lon Host", email="lon@example.com", timezone="Europe/London"
    )
    return make_profile(host, name="intro", work_hours=ALL_DAY, start_after_minutes=0)


def _body(tz=None, **info):
    scheduler = {"name": "Kei", "email": "kei@example.com", **info}
    if tz is not None:
        scheduler["timezone"] = tz
    return {
        "time": {"start": "2030-01-03T15:30:00Z", "end": "2030-01-03T16:00:00Z"},
        "schedulerInfo": scheduler,
    }


def test_a_tokyo_invitee_is_mailed_in_tokyo_time_and_the_host_in_london_time(
    client, profile, django_capture_on_commit_callbacks
):
    api = ApiClient(client, make_token(profile.account))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api("POST", f"/v1/book/account/profiles/{profile.pk}/meeting", _body("Asia/Tokyo"))
    assert answer.status_code == 201, answer.content
    assert answer.json()["timezone"] == "Asia/Tokyo"
    booking = Booking.objects.get()
    assert booking.timezone == "Asia/Tokyo"
    invite = next(m for m in mail.outbox if m.to == ["kei@example.com"])
    notice = next(m for m in mail.outbox if m.to == ["lon@example.com"])
    assert "Friday 4 January 2030, 00:30–01:00 (Asia/Tokyo)" in invite.body
    assert "Fri 4 Jan 2030 00:30 (Asia/Tokyo)" in invite.subject
    assert "Thursday 3 January 2030, 15:30–16:00 (Europe/London)" in notice.body
    # The pages reached from the mail show the booking's zone until the visitor picks another.
    page = client.get(f"/bookings/{booking.manage_token()}/cancel/").content.decode()
    assert "Friday 4 January 2030" in page and "Asia/Tokyo" in page.replace(
        "Asia/Tokyo", "Asia/Tokyo"
    )
    picked = client.get(f"/bookings/{booking.manage_token()}/?tz=Europe/Paris").content.decode()
    assert "Thursday 3 January 2030" in picked


def test_an_alias_is_stored_under_its_canonical_name(client, profile):
    api = ApiClient(client, make_token(profile.account))
    answer = api("POST", f"/v1/book/account/profiles/{profile.pk}/meeting", _body("US/Eastern"))
    assert answer.status_code == 201
    assert Booking.objects.get().timezone == "America/New_York"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Factory", "localtime", "", 7])
def test_an_unknown_zone_is_refused_naming_the_field(client, profile, zone):
    api = ApiClient(client, make_token(profile.account))
    answer = api("POST", f"/v1/book/account/profiles/{profile.pk}/meeting", _body(zone))
    assert_error(answer, 400, "bad_request", "schedulerInfo.timezone")
    assert not Booking.objects.exists()


def test_without_a_zone_the_profile_zone_is_the_invitee_zone(
    client, profile, django_capture_on_commit_callbacks
):
    api = ApiClient(client, make_token(profile.account))
    with django_capture_on_commit_callbacks(execute=True):
        api("POST", f"/v1/book/account/profiles/{profile.pk}/meeting", _body())
    assert Booking.objects.get().timezone == ""
    invite = next(m for m in mail.outbox if m.to == ["kei@example.com"])
    assert "(Europe/London)" in invite.body


def test_the_page_keeps_the_zone_the_visitor_booked_in(client, profile):
    answer = client.post(
        "/lon/intro/?tz=Asia/Tokyo",
        {
            "slot": "2030-01-03T15:30:00Z",
            "name": "Kei",
            "email": "kei@example.com",
            "tz": "Asia/Tokyo",
        },
    )
    assert answer.status_code == 302, answer.content[:400]
    booking = Booking.objects.get()
    assert booking.timezone == "Asia/Tokyo"
    page = client.get(f"/bookings/{booking.manage_token()}/").content.decode()
    assert "Friday 4 January 2030" in page


def test_zones_offered_are_canonical():
    names = zones.offered()
    assert "UTC" in names and "Asia/Tokyo" in names and "America/New_York" in names
    assert not {"US/Eastern", "Factory", "localtime", "GMT+0"} & set(names)
    assert zones.canonical("Tokyo") == "Asia/Tokyo"
    assert zones.canonical("Asia/Calcutta") == "Asia/Kolkata"


def test_the_reschedule_picker_starts_in_the_booking_zone(client, profile):
    api = ApiClient(client, make_token(profile.account))
    api("POST", f"/v1/book/account/profiles/{profile.pk}/meeting", _body("Asia/Tokyo"))
    booking = Booking.objects.get()
    page = client.get(f"/bookings/{booking.manage_token()}/reschedule/").content.decode()
    assert 'data-zone="Asia/Tokyo"' in page
    assert 'value="Asia/Tokyo" selected' in page
