"""`/` says what the site is; `/{handle}/` lists a host's (or an organization's) active
profiles (SPEC §10); the confirmation's calendar links; no join link once cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

from scheduler.calendars.links import google_calendar_url, outlook_calendar_url
from scheduler.models import Organization, Profile
from scheduler.services import bookings
from tests.factory import make_account, make_booking, make_profile

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_root_says_what_the_site_is(client):
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<h1>Book a meeting</h1>" in text and "booking" in text


def test_a_host_page_lists_active_profiles_only(client, db):
    host = make_account(handle="ada", name="Ada Host")
    make_profile(
        host, name="intro", subject="Intro with {{name}}", description="Company: {{company:}}"
    )
    make_profile(host, name="old", subject="Old thing", active=False)
    page = client.get("/ada/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Ada Host" in text and 'href="/ada/intro/"' in text
    assert "Intro with [name]" in text and "{{" not in text and "Company:" not in text
    assert "Old thing" not in text


def test_an_organization_page_lists_its_group_profiles(client, db):
    org = Organization.objects.create(handle="acme", name="Acme Sales", timezone="UTC")
    Profile.objects.create(organization=org, name="demo", subject="Product demo")
    text = client.get("/acme/").content.decode()
    assert "Acme Sales" in text and 'href="/acme/demo/"' in text and "Product demo" in text


def test_an_unknown_handle_is_404(client, db):
    assert client.get("/nobody/").status_code == 404


def test_confirmation_offers_google_and_outlook_links(client, db):
    profile = make_profile(make_account(handle="ada"), name="intro", subject="Intro")
    start = NOW + timedelta(hours=3)
    booking = make_booking(profile, start, start + timedelta(minutes=30), subject="Intro")
    page = client.get(f"/bookings/{booking.manage_token()}/").content.decode()
    google, outlook = google_calendar_url(booking), outlook_calendar_url(booking)
    assert google.replace("&", "&amp;") in page and outlook.replace("&", "&amp;") in page
    query = parse_qs(urlparse(google).query)
    assert query["dates"] == ["20300107T090000Z/20300107T093000Z"] and query["text"] == ["Intro"]
    assert booking.cancel_url() in query["details"][0]
    query = parse_qs(urlparse(outlook).query)
    assert query["startdt"] == ["2030-01-07T09:00:00Z"] and query["subject"] == ["Intro"]


def test_a_cancelled_booking_shows_no_join_link(client, db):
    profile = make_profile(
        make_account(handle="ada"), name="intro", open_meeting_url="https://meet.example.com/x"
    )
    start = NOW + timedelta(hours=3)
    booking = make_booking(profile, start, start + timedelta(minutes=30))
    assert (
        "https://meet.example.com/x"
        in client.get(f"/bookings/{booking.manage_token()}/").content.decode()
    )
    bookings.cancel(booking)
    for suffix in ("", "cancel/", "reschedule/"):
        page = client.get(f"/bookings/{booking.manage_token()}/{suffix}").content.decode()
        assert "meet.example.com" not in page, suffix
    ics = client.get(f"/bookings/{booking.manage_token()}/invite.ics").content.decode()
    assert "meet.example.com" not in ics
