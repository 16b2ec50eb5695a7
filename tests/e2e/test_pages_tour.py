"""A visitor's tour of every public page state, at a desktop and a phone viewport.

Each state is screenshotted to test-artifacts/ and checked the way an accessibility audit
would: `<html lang>`, a title, exactly one `h1`, a label for every input, a described error
for every invalid input, visible focus on Tab, text contrast of at least 4.5:1, and no
sideways scrolling on a phone.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from scheduler.forms import VAR_PREFIX
from scheduler.models import Booking
from scheduler.services import availability
from tests.factory import make_account, make_booking, make_profile

pytestmark = [pytest.mark.e2e]

ALL_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "08:00", "end": "18:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ],
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}

# Runs in the page: every problem an audit of the basics would report, as strings.
AUDIT_JS = """
() => {
  const problems = [];
  const lum = (rgb) => {
    const c = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const parse = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  if (!document.documentElement.lang) problems.push("no <html lang>");
  if (!document.title.trim()) problems.push("no <title>");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  for (const input of document.querySelectorAll("input, select, textarea")) {
    if (input.type === "hidden" || input.closest("[aria-hidden=true]")) continue;
    if (!input.labels || input.labels.length === 0) {
      problems.push(`input ${input.name} has no label`);
    }
    if (input.getAttribute("aria-invalid") === "true") {
      const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (!ids.some((id) => document.getElementById(id))) {
        problems.push(`invalid ${input.name} has no described error`);
      }
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const skip = ".hp, .visually-hidden, .skip-link, option";
    if (!node.textContent.trim() || !el || el.closest(skip)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const fg = lum(parse(style.color).slice(0, 3));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const text = node.textContent.trim().slice(0, 30);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} for "${text}"`);
  }
  return problems;
}
"""


@pytest.fixture
def tour(transactional_db, settings):
    cache.clear()
    account = make_account(handle="ada", name="Ada Lovelace", email="ada@example.com")
    profile = make_profile(
        account,
        name="intro",
        subject="Intro call about {{topic}}",
        description="A first conversation.\nCompany: {{company:ACME}}",
        location="Room 7, Analytical Engine Works",
        duration_minutes=45,
        availability_step=15,
        work_hours=ALL_WEEK,
        start_after_minutes=0,
    )
    return account, profile


def focus_is_visible_on_tab(page, presses: int = 12) -> None:
    """Tab through the first controls: each one focused shows an outline."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(presses):
        page.keyboard.press("Tab")
        shown = page.evaluate(
            """() => {
              const el = document.activeElement;
              if (!el || el === document.body) return null;
              const style = getComputedStyle(el);
              return [el.tagName + '.' + el.className, style.outlineStyle, style.outlineWidth];
            }"""
        )
        if shown is None:
            return
        assert shown[1] != "none" and shown[2] != "0px", f"{page.url}: no visible focus {shown}"


def audit(page, viewport: str) -> None:
    problems = page.evaluate(AUDIT_JS)
    assert not problems, f"{page.url}: {problems}"
    if viewport == "desktop":
        focus_is_visible_on_tab(page)
    if viewport == "phone":
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url


def look(page, shots, name: str, viewport: str) -> None:
    shots(page, f"{viewport}-{name}")
    audit(page, viewport)


def test_every_state_looks_right_and_passes_the_audit(browser, live_server, tour, shots, settings):
    account, profile = tour
    base = f"{live_server.url}/ada/intro/"
    for viewport, size in VIEWPORTS.items():
        cache.clear()
        Booking.objects.all().delete()
        context = browser.new_context(viewport=size, timezone_id="Europe/Berlin")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(base)
        page.wait_for_url(re.compile(r"tz=Europe%2FBerlin"))
        look(page, shots, "month", viewport)
        page.locator("a.day.free").nth(1).click()
        look(page, shots, "day", viewport)
        page.locator("ul.times a").nth(2).click()
        look(page, shots, "form", viewport)
        page.get_by_role("button", name="Confirm booking").click()
        look(page, shots, "form-errors", viewport)
        # Someone else takes the chosen time while the visitor types.
        slot = availability.compute(profile, timezone.now()).slots[0]
        page.goto(base + "?tz=Europe/Berlin&slot=" + slot[0].strftime("%Y-%m-%dT%H:%M:%SZ"))
        make_booking(profile, *slot)
        page.get_by_label("Your name").fill("Bea Guest")
        page.get_by_label("Email address").fill("bea@example.com")
        page.locator(f"#id_{VAR_PREFIX}topic").fill("Plans")
        page.get_by_role("button", name="Confirm booking").click()
        look(page, shots, "taken", viewport)
        page.locator("fieldset.retry input").first.check()
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url(re.compile(r"done=booked"))
        look(page, shots, "confirmed", viewport)
        manage = page.url.split("?")[0]
        page.goto(manage + "?tz=Europe/Berlin")
        look(page, shots, "manage", viewport)
        page.goto(manage + "reschedule/?tz=Europe/Berlin")
        look(page, shots, "reschedule", viewport)
        page.locator("ul.times a").nth(1).click()
        look(page, shots, "reschedule-chosen", viewport)
        page.goto(manage + "cancel/?tz=Europe/Berlin")
        look(page, shots, "cancel", viewport)
        page.get_by_role("button", name="Yes, cancel the booking").click()
        page.wait_for_url(re.compile(r"done=cancelled"))
        look(page, shots, "cancelled", viewport)
        page.goto(manage + "reschedule/?tz=Europe/Berlin")
        look(page, shots, "reschedule-cancelled", viewport)
        page.goto(f"{live_server.url}/ada/nobody/")
        look(page, shots, "not-found", viewport)
        settings.PUBLIC_BOOKING_RATE_LIMIT = 0
        free = availability.compute(profile, timezone.now()).slots[0]
        page.goto(base + "?tz=Europe/Berlin&slot=" + free[0].strftime("%Y-%m-%dT%H:%M:%SZ"))
        page.get_by_label("Your name").fill("Bea Guest")
        page.get_by_role("button", name="Confirm booking").click()
        look(page, shots, "rate-limited", viewport)
        settings.PUBLIC_BOOKING_RATE_LIMIT = 10
        context.close()


def test_edge_states(browser, live_server, tour, shots):
    account, profile = tour
    closed = make_profile(account, name="closed", subject="Closed " + "very long " * 20)
    closed.availability_intervals = {
        "intervals": [
            {
                "dateStartInclusive": "2000-01-01",
                "dateEndInclusive": "2200-12-31",
                "hours": [],
            }
        ]
    }
    closed.save()
    far = (timezone.now() + timedelta(days=120)).strftime("%Y-%m")
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size, java_script_enabled=False)
        page = context.new_page()
        states = {
            "no-slots": "/ada/closed/",
            "beyond-horizon": f"/ada/intro/?month={far}",
            "bad-params": "/ada/intro/?tz=Mars/Base&month=2026-13&date=x&slot=nope",
            "slot-not-free": "/ada/intro/?slot=2026-01-01T03:07:00Z",
        }
        for name, path in states.items():
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            look(page, shots, name, viewport)
        context.close()
