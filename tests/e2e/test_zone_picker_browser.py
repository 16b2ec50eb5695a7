"""The zone picker in a real browser (SPEC §10): typing filters the list, the keyboard alone picks
a zone, the browser's own zone is used even under an old alias, and without JavaScript the list,
the search box and its suggestions still change the zone. Each state is screenshotted at a
desktop and a phone width into test-artifacts/ and audited like the page tour."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from tests.e2e.test_pages_tour import VIEWPORTS, audit
from tests.factory import make_account, make_booking, make_profile

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
    return make_profile(account, name="intro", subject="Intro call", work_hours=ALL_WEEK)


def look(page, shots, name: str, viewport: str) -> None:
    shots(page, f"{viewport}-{name}")
    audit(page, viewport)


def times_are_in(page, zone: str) -> None:
    """Every time link reads as its `?slot=` instant does in `zone`."""
    links = page.locator("ul.times a")
    assert links.count() > 0
    for i in range(min(links.count(), 4)):
        link = links.nth(i)
        slot = re.search(r"slot=([0-9TZ:%A-F-]+)", link.get_attribute("href")).group(1)
        instant = datetime.fromisoformat(slot.replace("%3A", ":").replace("Z", "+00:00"))
        local = instant.astimezone(ZoneInfo(zone))
        twelve = f"{local:%I:%M}".lstrip("0") + "\u202f" + f"{local:%p}"  # en-US writes 2:15 PM
        assert link.inner_text() in (f"{local:%H:%M}", twelve), slot


def tab_to(page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab")


def visible_options(page) -> list[str]:
    return page.eval_on_selector("#tz", "s => Array.from(s.options, o => o.value)")


def test_type_tok_and_pick_tokyo_with_the_keyboard(browser, live_server, profile, shots):
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size, timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/")
        assert page.locator("#tz").input_value() == "UTC"
        look(page, shots, "start", viewport)
        page.reload()  # the audit tabbed on; start from the top, as a visitor does
        tab_to(page, "#tz-find")
        page.keyboard.type("tok")
        # "tok" is in Vostok, Tokyo, Vladivostok (twice) and Tokelau; Tokyo starts with it.
        page.wait_for_function("() => document.getElementById('tz').size > 1")
        assert visible_options(page) == [
            "Antarctica/Vostok",
            "Asia/Tokyo",
            "Asia/Ust-Nera",
            "Asia/Vladivostok",
            "Pacific/Fakaofo",
        ]
        assert page.locator("#tz").input_value() == "Asia/Tokyo"
        status = page.locator("#tz-find-status")
        page.wait_for_function("() => document.getElementById('tz-find-status').textContent")
        assert status.inner_text().startswith("5 time zones match")
        look(page, shots, "typed-tok", viewport)
        page.locator("#tz-find").focus()  # where the visitor was before the audit tabbed on
        page.keyboard.press("ArrowDown")  # into the list of matches
        assert page.evaluate("() => document.activeElement.id") == "tz"
        page.keyboard.press("ArrowDown")
        assert page.locator("#tz").input_value() == "Asia/Ust-Nera"
        page.keyboard.press("ArrowUp")
        assert page.locator("#tz").input_value() == "Asia/Tokyo"
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
        assert page.locator("#tz").input_value() == "Asia/Tokyo"
        assert "Japan Time – Tokyo (UTC+09:00)" in page.locator("footer").inner_text()
        times_are_in(page, "Asia/Tokyo")
        look(page, shots, "tokyo", viewport)
        context.close()


def test_escape_leaves_the_list_and_clearing_the_search_restores_it(browser, live_server, profile):
    context = browser.new_context(timezone_id="UTC")
    page = context.new_page()
    page.goto(f"{live_server.url}/ada/intro/")
    every = len(visible_options(page))
    page.locator("#tz-find").fill("berlin")
    assert visible_options(page) == ["Europe/Berlin"]
    page.locator("#tz-find").press("ArrowDown")
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.id") == "tz-find"
    page.locator("#tz-find").fill("")
    assert len(visible_options(page)) == every
    assert page.locator("#tz").get_attribute("size") is None  # a drop-down again
    assert page.locator("#tz").input_value() == "Europe/Berlin"  # the last pick stays chosen
    page.locator("#tz-find").fill("germany")  # Berlin's and Zurich's (Büsingen); Berlin's own
    assert page.locator("#tz").input_value() == "Europe/Berlin"
    page.locator("#tz-find").fill("zzzz")
    page.wait_for_function("() => document.getElementById('tz-find-status').textContent")
    assert page.locator("#tz-find-status").inner_text() == "No time zone matches."
    assert len(visible_options(page)) == every
    context.close()


@pytest.mark.parametrize(
    ("browser_zone", "shown"),
    [("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Oslo", "Europe/Oslo")],
)
def test_the_browser_zone_is_used_even_when_not_in_the_list(
    browser, live_server, profile, browser_zone, shown
):
    context = browser.new_context(timezone_id=browser_zone)
    page = context.new_page()
    page.goto(f"{live_server.url}/ada/intro/")
    page.wait_for_url(re.compile(r"tz="))
    assert page.locator("#tz").input_value() == shown
    times_are_in(page, shown)
    context.close()


def test_change_the_zone_without_javascript(browser, live_server, profile, shots):
    booking = make_booking(
        profile,
        datetime(2030, 1, 9, 9, tzinfo=ZoneInfo("UTC")),
        datetime(2030, 1, 9, 9, 30, tzinfo=ZoneInfo("UTC")),
    )
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/")
        page.get_by_label("Time zone", exact=True).select_option("Asia/Kathmandu")
        page.get_by_role("button", name="Show times").click()
        page.wait_for_url(re.compile(r"tz=Asia%2FKathmandu"))
        times_are_in(page, "Asia/Kathmandu")
        look(page, shots, "nojs-list", viewport)
        page.get_by_label("Find your city or country").fill("tokyo")
        page.get_by_label("Find your city or country").press("Enter")
        page.wait_for_url(re.compile(r"tz=tokyo"))
        assert page.locator("#tz").input_value() == "Asia/Tokyo"
        times_are_in(page, "Asia/Tokyo")
        look(page, shots, "nojs-typed-tokyo", viewport)
        page.get_by_label("Find your city or country").fill("san")
        page.get_by_role("button", name="Find").click()
        page.wait_for_url(re.compile(r"tz=san"))
        assert "Several time zones match “san”" in page.locator("main").inner_text()
        look(page, shots, "nojs-suggestions", viewport)
        page.get_by_role("link", name=re.compile(r"Chile Time – Santiago")).click()
        page.wait_for_url(re.compile(r"tz=America%2FSantiago"))
        times_are_in(page, "America/Santiago")
        page.goto(f"{live_server.url}/ada/intro/?tz=Atlantis")
        assert "No time zone matches “Atlantis”" in page.locator("main").inner_text()
        look(page, shots, "nojs-unknown", viewport)
        page.goto(f"{live_server.url}/bookings/{booking.manage_token()}/?tz=kolkata")
        assert "India Time – Kolkata (UTC+05:30)" in page.locator("summary").inner_text()
        look(page, shots, "nojs-manage-kolkata", viewport)
        context.close()


def test_the_list_speaks_the_page_language(browser, live_server, profile, shots):
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size, timezone_id="UTC", locale="de-DE")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/")
        assert page.locator("html").get_attribute("lang").startswith("de")
        page.locator("#tz-find").fill("tokio")
        assert visible_options(page) == ["Asia/Tokyo"]
        assert page.locator("#tz option:checked").inner_text() == (
            "Japanische Zeit – Tokio (UTC+09:00)"
        )
        look(page, shots, "de-typed-tokio", viewport)
        page.locator("#tz-find").press("Enter")
        page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
        times_are_in(page, "Asia/Tokyo")
        look(page, shots, "de-tokyo", viewport)
        context.close()
