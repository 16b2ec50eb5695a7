"""Admin in Chromium at 1280×800 (SPEC §10, issue 12 point 8): the profile, group profile,
booking and account lists fit the width with no column cut off; work hours are edited with
fields (an error beside the interval that caused it); a booking is rescheduled by choosing one
of its profile's free times. Screenshots of each state go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from scheduler.models import Account, Booking, Profile
from scheduler.services import bookings, groups, profiles
from tests.factory import make_account, make_booking, make_profile

pytestmark = [pytest.mark.e2e]

VIEWPORT = {"width": 1280, "height": 800}
PASSWORD = "pw-boss-12345"

# Runs in the page: how far anything sticks out on the right, the document's and every
# scrolling changelist table's (admin puts the table in an `overflow-x: auto` box, so a
# table too wide is cut off there without the page itself scrolling).
OVERFLOW_JS = """
() => {
  const doc = document.scrollingElement;
  const out = {page: doc.scrollWidth, viewport: doc.clientWidth, boxes: []};
  for (const box of document.querySelectorAll(".results, #changelist, #content")) {
    const sel = box.id || box.className;
    out.boxes.push({sel, scroll: box.scrollWidth, client: box.clientWidth});
  }
  const table = document.querySelector("#result_list");
  out.tableRight = table ? Math.ceil(table.getBoundingClientRect().right) : 0;
  return out;
}
"""

KATHMANDU_WEEK = {
    "timezone": "Asia/Kathmandu",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "08:00:00", "end": "12:00:00"}]}
        for day in ("monday", "tuesday", "wednesday")
    ]
    + [
        {
            "dayOfWeek": "saturday",
            "workingIntervals": [
                {"start": "10:00:00", "end": "11:00:00"},
                {"start": "20:00:00", "end": "24:00:00"},
            ],
        }
    ],
}


def _url(live_server, model, view: str, *args) -> str:
    return live_server.url + reverse(f"admin:scheduler_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def office(transactional_db):
    """A superuser and the kind of data that makes lists wide: long names, e-mail addresses
    and hours, a team with a group profile, bookings with several hosts."""
    boss = User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    demo = make_account(
        handle="demo", name="Demo Host", email="demo.host@example.com",
        timezone="Europe/London", owner=boss,
    )  # fmt: skip
    org = groups.create_organization("acme-consulting", "Acme Consulting Partners", "UTC")
    team = [
        make_account(
            handle=f"consultant-{n}",
            name=f"Consultant Number {n} with a Longer Name",
            email=f"consultant.number.{n}@acme-consulting.example.com",
            timezone=zone,
            organization=org,
            owner=boss,
        )
        for n, zone in enumerate(("America/Argentina/Buenos_Aires", "Asia/Kathmandu", "UTC"))
    ]
    consult = make_profile(
        demo,
        name="consultation-for-new-clients",
        subject="Consultation: {{topic}}",
        duration_minutes=60,
        start_after_minutes=0,
    )
    make_profile(demo, name="deep-dive-architecture-review", work_hours=KATHMANDU_WEEK)
    for account in team:
        make_profile(account, name="weekly-office-hours-and-questions", work_hours=KATHMANDU_WEEK)
    group = profiles.create(
        org,
        {"name": "team-intro-call-with-all-partners", "required": "all", "startAfterMinutes": 0},
    )
    groups.attach_accounts(group, [a.pk for a in team])
    start = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)  # Tuesday 10:00 in London
    ada = make_booking(
        consult, start, start + timedelta(hours=1),
        name="Ada Augusta King, Countess of Lovelace",
        email="ada.lovelace@analytical-engines.example.org",
    )  # fmt: skip
    for n in range(6):
        when = start + timedelta(days=1 + n, hours=n % 3)
        make_booking(
            consult, when, when + timedelta(hours=1),
            name=f"Invitee With A Rather Long Name {n}",
            email=f"invitee.{n}@example-company-{n}.com",
        )  # fmt: skip
    slot = datetime(2030, 1, 9, 14, 0, tzinfo=UTC)
    bookings.book(group, start=slot, end=slot + timedelta(minutes=30), name="Team Guest",
                  email="team.guest@example.com")  # fmt: skip
    return {"boss": boss, "org": org, "consult": consult, "group": group, "ada": ada}


def _part(shots, locator, step: str) -> None:
    """A screenshot of one part of the page, numbered with the full-page ones."""
    shots.count += 1
    locator.screenshot(path=str(shots.dir / f"{shots.count:02d}-{step}.png"))


def _login(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return context, page


def test_changelists_fit_1280_px(browser, live_server, office, shots, settings):
    settings.SITE_URL = live_server.url
    settings.CALENDAR_REFRESH_SECONDS = 10**6
    context, page = _login(browser, live_server)
    org = office["org"]
    lists = {
        "profiles": _url(live_server, Profile, "changelist"),
        "group-profiles": _url(live_server, Profile, "changelist")
        + f"?organization__id__exact={org.pk}",
        "bookings": _url(live_server, Booking, "changelist"),
        "bookings-upcoming": _url(live_server, Booking, "changelist") + "?when=upcoming",
        "accounts": _url(live_server, Account, "changelist"),
    }
    problems = []
    try:
        for name, url in lists.items():
            page.goto(url)
            page.wait_for_selector("#result_list")
            shots(page, name)
            assert page.locator("#result_list tbody tr").count() >= 1, name
            found = page.evaluate(OVERFLOW_JS)
            wide = [b for b in found["boxes"] if b["scroll"] > b["client"]]
            if found["page"] > VIEWPORT["width"] or found["tableRight"] > VIEWPORT["width"] or wide:
                problems.append((name, found))
        # A group profile's page: its hours table, hosts and groups fit too.
        page.goto(_url(live_server, Profile, "change", office["group"].pk))
        shots(page, "group-profile")
        found = page.evaluate(OVERFLOW_JS)
        if found["page"] > VIEWPORT["width"]:
            problems.append(("group-profile", found))
    finally:
        context.close()
    assert problems == []


def test_work_hours_edited_with_fields_in_the_browser(browser, live_server, office, shots):
    profile = office["consult"]
    context, page = _login(browser, live_server)
    try:
        page.goto(_url(live_server, Profile, "change", profile.pk))
        page.locator(".field-work_hours").scroll_into_view_if_needed()
        shots(page, "profile-default-hours")
        hours = page.locator("fieldset.module", has=page.locator(".field-work_hours"))
        _part(shots, hours, "hours-default")
        assert page.locator(".field-work_hours").get_by_text("daySchedules").count() == 0
        page.get_by_label("Time zone", exact=True).select_option("Asia/Tokyo")
        page.get_by_label("These hours:").check()
        page.get_by_label("Monday, interval 1, start").fill("09:00")
        page.get_by_label("Monday, interval 1, end").fill("12:00")
        page.get_by_label("Monday, interval 2, start").fill("11:00")
        page.get_by_label("Monday, interval 2, end").fill("00:00")
        page.get_by_label("Override 1, from").fill("2030-12-24")
        page.get_by_label("Override 1, to").fill("2030-12-26")
        page.get_by_label("Override 1, unavailable all day").check()
        page.get_by_role("button", name="Save and continue editing").click()
        error = page.locator(".field-work_hours td.errors")
        error.scroll_into_view_if_needed()
        assert "overlaps 09:00–12:00" in error.inner_text()
        shots(page, "profile-overlap-error")
        _part(shots, hours, "hours-overlap-error")
        page.get_by_label("Monday, interval 2, start").fill("13:00")
        page.get_by_role("button", name="Save and continue editing").click()
        page.wait_for_selector(".messagelist .success")
        page.locator(".field-hours_summary").scroll_into_view_if_needed()
        shots(page, "profile-saved")
        _part(shots, hours, "hours-saved")
        found = page.evaluate(OVERFLOW_JS)
        assert found["page"] <= VIEWPORT["width"], found
    finally:
        context.close()
    profile.refresh_from_db()
    assert profile.work_hours["timezone"] == "Asia/Tokyo"
    assert profile.work_hours["daySchedules"][0]["workingIntervals"] == [
        {"start": "09:00:00", "end": "12:00:00"},
        {"start": "13:00:00", "end": "24:00:00"},
    ]
    assert profile.availability_intervals["intervals"][0]["hours"] == []


def test_reschedule_in_the_browser(browser, live_server, office, shots, settings):
    settings.SITE_URL = live_server.url
    settings.CALENDAR_REFRESH_SECONDS = 10**6
    booking = office["ada"]
    context, page = _login(browser, live_server)
    try:
        page.goto(_url(live_server, Booking, "change", booking.pk))
        assert "Tue 08 Jan 2030 10:00–11:00 (Europe/London)" in page.content()
        shots(page, "booking")
        page.get_by_role("link", name="Reschedule…").click()
        page.wait_for_selector(".reschedule-day")
        shots(page, "reschedule")
        found = page.evaluate(OVERFLOW_JS)
        assert found["page"] <= VIEWPORT["width"], found
        page.get_by_role("button", name="Thursday 10 January, 15:00–16:00").click()
        page.wait_for_selector(".messagelist li")
        assert "Moved to Thu 10 Jan 2030 15:00–16:00 (Europe/London)" in page.content()
        shots(page, "rescheduled")
    finally:
        context.close()
    booking.refresh_from_db()
    assert booking.start == datetime(2030, 1, 10, 15, 0, tzinfo=UTC)
    assert booking.sequence == 1
