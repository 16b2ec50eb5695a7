"""How each email reads: every kind rendered as the mail would carry it, checked for what a
reader needs, and looked at in a real browser at phone width (screenshots in
test-artifacts/email/)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from scheduler import invites
from scheduler.models import Booking
from tests.factory import make_account, make_booking, make_profile

START = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
END = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
ROOM = "https://meet.example.com/ARatherLongRoomNameWithNoBreaksInIt0123456789abcdefghijkl"
HEADINGS = {
    "invite": "Your meeting is booked",
    "cancel": "Your meeting is cancelled",
    "host_notice": "New booking",
    "host_cancel": "Booking cancelled",
}
KINDS = list(HEADINGS)


@pytest.fixture
def booking(db) -> Booking:
    account = make_account(
        handle="grace", name="Grace Host", email="grace@example.com", timezone="Europe/London"
    )
    profile = make_profile(
        account,
        name="consult",
        subject="Consultation: {{topic}}",
        description="Company: {{company:}}\nWhat we will cover: {{topic}}",
        open_meeting_url=ROOM,
    )
    return make_booking(
        profile,
        START,
        END,
        name="Ada Lovelace",
        email="ada@example.com",
        subject="Consultation: Engines",
        description="Company: \nWhat we will cover: Engines",
        location="Video call",
        substitution_data={"topic": "Engines", "company": ""},
    )


def rendered(kind: str, booking: Booking) -> tuple[str, str, str]:
    booking = copy.copy(booking)  # a cancellation's changes stay with its own mail
    if kind.endswith("cancel"):
        booking.status = Booking.Status.CANCELLED
        booking.sequence = 1
    return invites.render_email(kind, invites.mail_context(booking))


def test_host_notice_shows_the_answers_given_and_skips_empty_ones(booking):
    _, text, html = rendered("host_notice", booking)
    assert "Topic: Engines" in text and ">Topic</th>" in html
    assert "company" not in text.lower() and "company" not in html.lower()


def test_host_notice_has_the_room_and_a_link_to_the_booking(booking):
    _, text, html = rendered("host_notice", booking)
    admin_link = f"/admin/scheduler/booking/{booking.pk}/change/"
    assert f"Join:    {ROOM}" in text and f'href="{ROOM}"' in html
    assert admin_link in text and admin_link in html


@pytest.mark.parametrize("kind", ["cancel", "host_cancel"])
def test_cancellations_do_not_offer_the_room(booking, kind):
    _, text, html = rendered(kind, booking)
    assert ROOM not in text and ROOM not in html


def test_plain_text_labels_line_up(booking):
    _, text, _ = rendered("invite", booking)
    rows = [line for line in text.splitlines() if line.split(":")[0] in {"What", "When", "Length"}]
    assert len(rows) == 3
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in rows}) == 1


def test_every_kind_reads_well_on_a_phone(booking):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    out = ARTIFACTS / "email"
    out.mkdir(parents=True, exist_ok=True)
    # Rendered before the browser starts: ORM calls inside Playwright's context would open a
    # second database connection.
    mails = {kind: rendered(kind, booking)[2] for kind in KINDS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 640})
            for kind, html in mails.items():
                page.set_content(html)
                page.screenshot(path=str(out / f"{kind}.png"), full_page=True)
                # No sideways scrolling: long links wrap inside the card.
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{kind}: {width}px wide"
                heading = page.locator("h1").inner_text()
                assert heading == HEADINGS[kind]
                assert heading and heading in html, kind
                assert page.title(), kind
        finally:
            browser.close()
