"""What a visitor sees at the edges of the public pages: no free time at all, months outside
the horizon, bad query values, times that are not free, error summaries, and the zone list."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache

from scheduler import picker, zone_picker
from scheduler.models import Booking
from scheduler.services import availability
from tests.factory import make_account, make_booking, make_profile

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; default hours Mon–Fri 09–17 UTC, P30D


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def profile(db):
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(account, name="intro", subject="Intro about {{topic}}")


def get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def days_off(first: str, last: str) -> dict:
    return {"intervals": [{"dateStartInclusive": first, "dateEndInclusive": last, "hours": []}]}


def test_no_free_time_in_the_whole_horizon_says_so_instead_of_an_empty_grid(client, profile):
    profile.availability_intervals = days_off("2026-01-01", "2026-12-31")
    profile.save()
    html = get(client, "/ada/intro/")
    assert "No free times right now" in html
    assert "up to 1 April 2026" in html  # the horizon's last day, P30D from 2 March 08:00
    assert '<table class="month">' not in html
    assert 'id="tz"' not in html


def test_a_month_beyond_the_horizon_shows_the_last_bookable_month(client, profile):
    html = get(client, "/ada/intro/?month=2027-06")
    assert '<h2 id="month-heading">April 2026</h2>' in html
    assert "Times can only be booked up to April 2026" in html
    assert 'rel="next"' not in html  # nothing to go to after the horizon
    assert 'rel="prev"' in html


def test_a_past_month_shows_the_current_month(client, profile):
    html = get(client, "/ada/intro/?month=2025-01")
    assert '<h2 id="month-heading">March 2026</h2>' in html
    assert 'rel="prev"' not in html


def test_a_month_without_free_days_links_to_the_next_free_time(client, profile):
    profile.availability_intervals = days_off("2026-03-01", "2026-03-31")
    profile.time_available_for = "P60D"
    profile.save()
    html = get(client, "/ada/intro/?month=2026-03")
    assert "No free times in March 2026." in html
    assert "The next free time is" in html
    assert "date=2026-04-01#times" in html and "Wednesday 1 April 2026, 09:00" in html
    # With no month asked, the page opens on the first month that has free times.
    assert '<h2 id="month-heading">April 2026</h2>' in get(client, "/ada/intro/")


@pytest.mark.parametrize(
    "query",
    [
        "tz=Mars/Base",
        "tz=../../etc/passwd",
        "month=2026-13",
        "month=9999-12",
        "month=-1",
        "date=2026-02-30",
        "date=x",
        "slot=nope",
        "slot=2026-03-02T09:00:00",  # no offset
        "slot=99999-01-01T00:00:00Z",
        "month=2026-03&date=2026-04-15",  # a date outside the month
    ],
)
def test_bad_query_values_fall_back_to_the_default_view(client, profile, query):
    html = get(client, f"/ada/intro/?{query}")
    assert '<h2 id="month-heading">March 2026</h2>' in html
    assert 'aria-current="date"' in html  # a day with times is still selected
    assert "Traceback" not in html


def test_a_slot_that_is_not_free_shows_the_nearest_free_times_across_months(client, profile):
    # Saturday 28 March 10:00 is outside the work hours; the nearest free times are on the
    # Friday before and the Monday after, and the page opens on that month.
    html = get(client, "/ada/intro/?slot=2026-03-28T10:00:00Z")
    assert "<strong>Saturday 28 March, 10:00</strong> was just taken" in html
    nearest = re.findall(r"<li><a href=\"[^\"]+#book\">([^<]+)</a></li>", html)
    assert nearest and {n[:6] for n in nearest} <= {"Fri 27", "Mon 30"}
    assert "<form" not in html.split('id="message"')[1].split("</div>")[0]


def test_a_slot_in_a_later_month_opens_that_month_with_its_day(client, profile):
    profile.time_available_for = "P60D"
    profile.save()
    html = get(client, "/ada/intro/?slot=2026-04-01T09:00:00Z")
    assert '<h2 id="month-heading">April 2026</h2>' in html
    assert '<h2 id="times-heading">Wednesday 1 April</h2>' in html
    assert 'aria-current="true" class="selected">' in html


def test_field_errors_are_summarised_once_and_linked_to_their_inputs(client, profile):
    response = client.post("/ada/intro/", {"slot": "2026-03-02T09:00:00Z", "email": "nope"})
    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("Please correct the fields marked below.") == 1
    assert '<a href="#id_name">Your name: Enter your name.</a>' in html
    assert '<a href="#id_email">Email address: Enter an email address' in html
    assert '<a href="#id_var_topic">Topic: Enter a value for Topic.</a>' in html
    assert 'aria-describedby="id_email-error"' in html
    assert 'action="/ada/intro/#book"' in html  # the answer scrolls to the form
    assert "<title>Error: " in html


def test_a_tampered_slot_is_not_an_invisible_error(client, profile):
    response = client.post(
        "/ada/intro/",
        {"slot": "2026-13-40", "name": "Bea", "email": "bea@example.com", "var_topic": "x"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "was just taken or is no longer available" in html
    assert '<table class="month">' in html
    assert not Booking.objects.exists()


def test_unknown_and_inactive_profiles_say_which(client, profile):
    unknown = client.get("/ada/nobody/").content.decode()
    assert "There is no booking page at this address" in unknown
    profile.active = False
    profile.save()
    inactive = client.get("/ada/intro/").content.decode()
    assert "Ada Host is not taking bookings through this page" in inactive
    assert "All times are shown" not in inactive  # no times, no zone footer


def test_zone_list_is_grouped_by_region_with_offsets(client, profile):
    html = get(client, "/ada/intro/?tz=Asia/Kathmandu")
    assert '<optgroup label="Asia">' in html
    assert (
        '<option value="Asia/Kathmandu" selected data-countries="Nepal">'
        "Nepal Time – Kathmandu (UTC+05:45)</option>"
    ) in html
    assert "Times in Nepal Time – Kathmandu (UTC+05:45)" in html


def test_utc_offsets_read_naturally():
    winter = datetime(2026, 1, 15, tzinfo=UTC)
    assert zone_picker.utc_offset(picker.ZoneInfo("America/St_Johns"), winter) == "UTC−03:30"
    assert zone_picker.utc_offset(picker.ZoneInfo("Asia/Kathmandu"), winter) == "UTC+05:45"
    summer = datetime(2026, 7, 15, tzinfo=UTC)
    assert picker.zone_label(picker.ZoneInfo("America/New_York"), summer) == (
        "Eastern Time – New York (UTC−04:00)"
    )


def test_the_page_computes_availability_once(client, profile, monkeypatch):
    calls = []
    real = availability.compute

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(picker, "compute", counting)
    get(client, "/ada/intro/?slot=2026-03-28T10:00:00Z")
    assert len(calls) == 1


def test_a_very_long_subject_keeps_a_short_title(client, profile):
    profile.subject = "Planning " * 40
    profile.save()
    html = get(client, "/ada/intro/")
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert len(title) < 110 and title.endswith("· Ada Host")


def test_cancelled_booking_pages_offer_a_new_booking_not_a_move(client, profile):
    booking = make_booking(
        profile,
        datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        status=Booking.Status.CANCELLED,
    )
    token = booking.manage_token()
    manage = get(client, f"/bookings/{token}/")
    assert "<h1>This booking is cancelled</h1>" in manage
    assert "/cancel/" not in manage and "/reschedule/" not in manage
    assert 'href="/ada/intro/">Book another time' in manage
    move = get(client, f"/bookings/{token}/reschedule/")
    assert "<h1>This booking is cancelled</h1>" in move
    assert "book a new time" in move
    assert '<table class="month">' not in move
