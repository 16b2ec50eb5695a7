"""The invitee's experience in real Chromium (SPEC §10): a visitor in Tokyo books and sees, and
is mailed, Tokyo time; readable placeholders before booking; the confirmation's calendar
links; a host's page and the site's front page. Screenshots at desktop and phone width, and
the accessibility audit of each state."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from scheduler import invites
from scheduler.models import Booking
from tests.e2e.test_pages_tour import ALL_WEEK, VIEWPORTS, look
from tests.factory import make_account, make_profile

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def host(transactional_db):
    cache.clear()
    account = make_account(
        handle="lon", name="Lon Host", email="lon@example.com", timezone="Europe/London"
    )
    hours = {**ALL_WEEK, "timezone": "Europe/London"}
    make_profile(
        account,
        name="intro",
        subject="Intro with {{name}} about {{topic}}",
        description="A first conversation.\nCompany: {{company:}}\nJoin: {{openMeetingUrl}}",
        location="Video call",
        work_hours=hours,
        start_after_minutes=0,
    )
    return account


def test_a_tokyo_visitor_books_in_tokyo_time(browser, live_server, host, shots):
    for viewport, size in VIEWPORTS.items():
        Booking.objects.all().delete()
        context = browser.new_context(viewport=size, timezone_id="Asia/Tokyo")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/lon/intro/")
        page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
        heading = page.locator("h1").inner_text()
        assert heading == "Intro with [name] about [topic]"
        body = page.locator("main").inner_text()
        assert "{{" not in body and "Company:" not in body and "Join:" not in body
        look(page, shots, "profile-tokyo", viewport)
        page.locator("a.day.free").first.click()
        page.locator("ul.times a").first.click()
        chosen = page.locator("ul.times a[aria-current]").first.inner_text()
        page.get_by_label("Your name").fill("Kei")
        page.get_by_label("Email address").fill("kei@example.com")
        page.locator("input[name$=topic]").fill("Plans")
        look(page, shots, "form-tokyo", viewport)
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url(re.compile(r"done=booked"))
        booking = Booking.objects.get()
        assert booking.timezone == "Asia/Tokyo"
        text = page.locator("main").inner_text()
        assert chosen.split("–")[0].strip() in text and "Tokyo" in text
        assert page.get_by_role("link", name="Google Calendar").is_visible()
        assert page.get_by_role("link", name="Outlook.com").is_visible()
        look(page, shots, "confirmed-tokyo", viewport)
        mail = dict(invites.booking_messages(booking, "request"))
        start = booking.start.astimezone(booking.invitee_zone)
        invitee = mail["invitee"].body
        # In the invitee's language (en-US here: 12-hour) and zone.
        assert f"{start:%H:%M}" in invitee or f"{start.hour % 12 or 12}:{start:%M}" in invitee
        assert "Tokyo" in invitee and "Tokyo" not in mail["host"].body
        context.close()


def test_host_and_front_pages(browser, live_server, host, shots):
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size)
        page = context.new_page()
        assert page.goto(f"{live_server.url}/").status == 200
        look(page, shots, "front", viewport)
        assert page.goto(f"{live_server.url}/lon/").status == 200
        assert page.get_by_role("link", name="Intro with [name] about [topic]").is_visible()
        look(page, shots, "host", viewport)
        page.get_by_role("link", name="Intro with [name] about [topic]").click()
        page.wait_for_url(re.compile(r"/lon/intro/"))
        context.close()
