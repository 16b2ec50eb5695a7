"""Book through the public page in a real browser: with and without JavaScript, from another
time zone, and with the keyboard alone. Screenshots of every step go to test-artifacts/."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from icalendar import Calendar

from scheduler.models import Booking, Delivery
from tests.factory import make_account, make_profile

pytestmark = [pytest.mark.e2e]

ALL_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "00:00", "end": "24:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}


@pytest.fixture
def profile(transactional_db):
    cache.clear()
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(
        account,
        name="intro",
        subject="Intro about {{topic}}",
        description="Company: {{company:ACME}}",
        location="Room 7",
        work_hours=ALL_WEEK,
        start_after_minutes=0,
    )


def page_url(live_server, profile) -> str:
    return f"{live_server.url}/{profile.account.handle}/{profile.name}/"


def fill_form(page) -> None:
    page.get_by_label("Your name").fill("Bea Guest")
    page.get_by_label("Email address").fill("bea@example.com")
    page.get_by_label("Topic").fill("Plans")


def test_book_with_javascript_then_download_and_cancel(
    browser, live_server, profile, shots, smtp_server, settings
):
    for key, value in smtp_server.settings().items():
        setattr(settings, key, value)
    context = browser.new_context(timezone_id="UTC", accept_downloads=True)
    page = context.new_page()
    page.goto(page_url(live_server, profile))
    shots(page, "profile")
    assert page.locator("h1").inner_text() == "Intro about [topic]"
    page.locator("a.day.free").first.click()
    shots(page, "day")
    first_time = page.locator("ul.times a").first
    label = first_time.inner_text()
    first_time.click()
    shots(page, "form")
    assert page.get_by_label("Company").input_value() == "ACME"
    fill_form(page)
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url(re.compile(r"/bookings/.+done=booked"))
    shots(page, "confirmed")
    assert page.locator("h1").inner_text() == "You are booked"
    booking = Booking.objects.get()
    assert f"{booking.start:%H:%M}" == label
    assert booking.substitution_data == {"topic": "Plans", "company": "ACME"}
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    ics = Calendar.from_ical(open(download_info.value.path(), "rb").read())
    assert str(ics.walk("VEVENT")[0]["UID"]) == booking.uid
    booking.refresh_from_db()
    assert booking.mail_state == Delivery.DONE
    assert {m["X-Envelope-To"] for m in smtp_server.messages} == {
        "bea@example.com",
        "ada@example.com",
    }
    page.get_by_role("link", name="Cancel").click()
    shots(page, "cancel-ask")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    page.get_by_role("button", name="Yes, cancel the booking").click()
    page.wait_for_url(re.compile(r"done=cancelled"))
    shots(page, "cancelled")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    context.close()


def test_book_without_javascript_choosing_a_zone(browser, live_server, profile, shots):
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(page_url(live_server, profile))
    shots(page, "profile-default-zone")
    assert "tz=" not in page.url  # nothing detected without JavaScript
    page.get_by_label("Time zone").select_option("Asia/Kathmandu")
    page.get_by_role("button", name="Show times").click()
    assert "tz=Asia%2FKathmandu" in page.url
    shots(page, "kathmandu")
    first_time = page.locator("ul.times a").first
    label = first_time.inner_text()
    assert label[-2:] in ("15", "45")  # UTC+05:45 shifts every half-hour slot
    first_time.click()
    fill_form(page)
    shots(page, "form")
    page.get_by_role("button", name="Confirm booking").click()
    shots(page, "confirmed")
    assert page.locator("h1").inner_text() == "You are booked"
    booking = Booking.objects.get()
    assert f"{booking.start.astimezone(ZoneInfo('Asia/Kathmandu')):%H:%M}" == label
    context.close()


def test_visitor_zone_is_detected_from_the_browser(browser, live_server, profile, shots):
    context = browser.new_context(timezone_id="America/St_Johns")  # UTC−03:30 in winter
    page = context.new_page()
    page.goto(page_url(live_server, profile))
    page.wait_for_url(re.compile(r"tz=America%2FSt_Johns"))
    shots(page, "detected")
    assert page.get_by_label("Time zone").input_value() == "America/St_Johns"
    first_time = page.locator("ul.times a").first
    label = first_time.inner_text()
    first_time.click()
    fill_form(page)
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url(re.compile(r"done=booked"))
    shots(page, "confirmed")
    booking = Booking.objects.get()
    local = booking.start.astimezone(ZoneInfo("America/St_Johns"))
    assert f"{local:%H:%M}" == label
    assert f"{local:%H:%M}–" in page.locator("main").inner_text()
    context.close()


def tab_until(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches `selector`, checking focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {selector}"
            return
    raise AssertionError(f"{selector} was not reached with Tab")


def test_book_with_the_keyboard_alone(browser, live_server, profile, shots):
    context = browser.new_context(timezone_id="UTC")
    page = context.new_page()
    page.goto(page_url(live_server, profile))
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    shots(page, "skip-link")
    tab_until(page, "a.day.free")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"date="))
    tab_until(page, "ul.times a")
    shots(page, "time-focused")
    label = page.evaluate("() => document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"slot="))
    tab_until(page, "#id_name")
    page.keyboard.type("Bea Guest")
    page.keyboard.press("Tab")
    page.keyboard.type("bea@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Plans")
    shots(page, "form-typed")
    tab_until(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"done=booked"))
    shots(page, "confirmed")
    booking = Booking.objects.get()
    assert f"{booking.start:%H:%M}" == label
    assert booking.name == "Bea Guest" and booking.substitution_data == {
        "topic": "Plans",
        "company": "ACME",
    }
    context.close()


def test_phone_viewport_and_friendly_404(browser, live_server, profile, shots):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(page_url(live_server, profile))
    shots(page, "phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, "the page scrolls sideways on a phone"
    response = page.goto(f"{live_server.url}/ada/missing/")
    assert response.status == 404
    shots(page, "not-found")
    assert page.locator("h1").inner_text() == "This booking page is not available"
    context.close()
