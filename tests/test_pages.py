"""The public booking page `/{handle}/{name}/`: month view, times, form, spam controls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings

from scheduler.models import Booking
from tests.factory import make_account, make_booking, make_profile

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; default hours Mon–Fri 09–17 UTC


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()  # rate-limit counters must not leak between tests
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def profile(db):
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(
        account,
        name="intro",
        subject="Intro about {{topic}}",
        description="Company: {{company:ACME}}",
        location="Room {{room:}}",
    )


def url(profile) -> str:
    return f"/{profile.account.handle}/{profile.name}/"


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def post_data(slot: str, **extra: str) -> dict[str, str]:
    data = {"slot": slot, "name": "Bea Guest", "email": "bea@example.com", "var_topic": "Plans"}
    data.update(extra)
    return data


def test_page_shows_profile_month_and_first_day_times(client, profile):
    response = client.get(url(profile))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert "Intro about [topic]" in html and "{{" not in html and "…" not in html
    assert "30 minutes" in html
    assert "Ada Host" in html
    assert "March 2026" in html
    # Monday 2 March is selected and lists its times in the profile's zone (UTC).
    assert 'aria-current="date"' in html
    assert ">09:00<" in html and ">16:30<" in html and ">17:00<" not in html
    # Weekend days have no link; weekdays do.
    assert 'aria-label="Saturday 7 March' not in html
    assert 'aria-label="Friday 6 March, 16 free times"' in html


def test_times_follow_the_visitor_zone(client, profile):
    html = client.get(url(profile) + "?tz=Asia/Kathmandu").content.decode()
    # 09:00 UTC is 14:45 in Kathmandu (+05:45); links keep the zone.
    assert ">14:45<" in html
    assert "tz=Asia%2FKathmandu" in html
    assert '<option value="Asia/Kathmandu" selected' in html


def test_unknown_zone_falls_back_to_profile_zone(client, profile):
    html = client.get(url(profile) + "?tz=Mars/Olympus").content.decode()
    assert ">09:00<" in html


def test_day_selection_and_month_navigation(client, profile):
    html = client.get(url(profile) + "?month=2026-03&date=2026-03-04").content.decode()
    assert '<h2 id="times-heading">Wednesday 4 March</h2>' in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    april = client.get(url(profile) + "?month=2026-04").content.decode()
    assert "April 2026" in april
    assert 'rel="prev"' in april
    # The 30-day horizon ends on 1 April at 08:00: before work starts, and no later month.
    assert 'rel="next"' not in april
    assert "No free times in April 2026." in april


@pytest.mark.parametrize("query", ["?month=9999-12", "?month=x", "?date=2026-02-30", "?slot=zzz"])
def test_garbage_query_is_harmless(client, profile, query):
    assert client.get(url(profile) + query).status_code == 200


def test_unknown_and_inactive_profiles_are_friendly_404s(client, profile):
    response = client.get("/ada/nope/")
    assert response.status_code == 404
    assert "This booking page is not available" in response.content.decode()
    profile.active = False
    profile.save()
    response = client.get(url(profile))
    assert response.status_code == 404
    assert "Ada Host is not taking bookings" in response.content.decode()


def test_choosing_a_slot_shows_the_form(client, profile):
    html = client.get(url(profile) + "?slot=2026-03-02T10:00:00Z").content.decode()
    assert "Book Monday 2 March, 10:00–10:30" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert re.search(r'<label for="id_var_topic">Topic <span class="required">', html)
    assert 'name="var_company" value="ACME"' in html  # default prefilled
    assert re.search(r'<label for="id_var_room">Room <span class="required">\(optional\)', html)
    assert 'name="website"' in html  # the honeypot


def test_booking_redirects_to_the_manage_page(client, profile):
    response = client.post(url(profile) + "?tz=Europe/Paris", post_data("2026-03-02T10:00:00Z"))
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.start == at(10) and booking.end == at(10, 30)
    assert booking.substitution_data == {"topic": "Plans"}
    assert booking.subject == "Intro about Plans"
    assert booking.description == "Company: ACME"  # left out: the default applies
    token = booking.manage_token()
    assert response["Location"] == f"/bookings/{token}/?tz=Europe%2FParis&done=booked"
    html = client.get(response["Location"]).content.decode()
    assert "You are booked" in html
    assert "11:00–11:30" in html  # Paris is UTC+1 in March


def test_taken_slot_shows_form_again_with_nearest_times(client, profile):
    make_booking(profile, at(10), at(10, 30))
    response = client.post(url(profile), post_data("2026-03-02T10:00:00Z", var_company="Initech"))
    html = response.content.decode()
    assert response.status_code == 409
    assert "was just taken or is no longer available" in html
    choices = re.findall(r'name="slot" id="retry-\d" value="([^"]+)"', html)
    assert choices == [f"2026-03-02T{t}:00Z" for t in ("09:00", "09:30", "10:30", "11:00", "11:30")]
    assert 'value="Bea Guest"' in html and 'value="Initech"' in html  # typed values kept
    assert 'type="hidden" name="slot"' not in html
    assert Booking.objects.count() == 1
    again = client.post(url(profile), post_data(choices[2], var_company="Initech"))
    assert again.status_code == 302
    assert Booking.objects.filter(start=at(10, 30), email="bea@example.com").exists()


def test_link_to_taken_slot_shows_nearest_links(client, profile):
    make_booking(profile, at(10), at(10, 30))
    html = client.get(url(profile) + "?slot=2026-03-02T10:00:00Z").content.decode()
    assert "was just taken or is no longer available" in html
    nearest = re.search(r"The nearest free times:(.*?)</ul>", html, re.S).group(1)
    assert re.findall(r">Mon 2 Mar, (\d\d:\d\d)<", nearest) == [
        "09:00",
        "09:30",
        "10:30",
        "11:00",
        "11:30",
    ]
    assert 'name="name"' not in html


def test_field_errors_stand_beside_fields_and_values_are_kept(client, profile):
    response = client.post(
        url(profile), post_data("2026-03-02T10:00:00Z", var_topic="", email="not-an-email")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="id_var_topic-error">.*Enter a value for Topic', html)
    assert re.search(r'id="id_email-error">.*Enter an email address in the form', html)
    assert 'value="Bea Guest"' in html and 'value="not-an-email"' in html
    assert 'aria-invalid="true"' in html
    assert not Booking.objects.exists()


def test_honeypot_books_nothing(client, profile):
    response = client.post(url(profile), post_data("2026-03-02T10:00:00Z", website="spam.biz"))
    assert response.status_code == 400
    assert "We could not accept this form" in response.content.decode()
    assert not Booking.objects.exists()


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_rate_limit_per_ip_answers_429_with_retry_after(client, profile):
    for _ in range(2):
        assert client.post(url(profile), post_data("bad")).status_code == 400
    response = client.post(url(profile), post_data("2026-03-02T10:00:00Z"))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many attempts" in response.content.decode()
    assert not Booking.objects.exists()
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post(url(profile), post_data("2026-03-02T10:00:00Z")).status_code == 302


def test_csrf_is_required(profile):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(profile), post_data("2026-03-02T10:00:00Z")).status_code == 403
    assert not Booking.objects.exists()


def test_page_queries_do_not_grow_with_slots(client, profile, django_assert_max_num_queries):
    for day in range(2, 7):
        make_booking(profile, at(12, day=day), at(13, day=day), email=f"x{day}@example.com")
    with django_assert_max_num_queries(6):
        assert client.get(url(profile)).status_code == 200


def test_profile_end_time_stops_month_navigation(client, profile):
    profile.end_time = NOW + timedelta(days=3)
    profile.save()
    html = client.get(url(profile)).content.decode()
    assert 'rel="next"' not in html


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=1)
def test_rate_limit_window_ends_after_the_hour(client, profile):
    assert client.post(url(profile), post_data("bad")).status_code == 400
    limited = client.post(url(profile), post_data("bad"))
    assert limited.status_code == 429
    with time_machine.travel(NOW + timedelta(seconds=int(limited["Retry-After"]) + 1)):
        assert client.post(url(profile), post_data("bad")).status_code == 400
