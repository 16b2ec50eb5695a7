"""Visitors in German, French, Spanish and US English book in real Chromium (SPEC §10): the
browser's language picks the pages' language and clock, the switcher changes both with plain
links (also without JavaScript), and every state is screenshotted at desktop and phone width
and passes the accessibility audit of test_pages_tour."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from scheduler.forms import VAR_PREFIX
from scheduler.models import Booking
from tests.e2e.test_pages_tour import ALL_WEEK, VIEWPORTS, audit
from tests.factory import make_account, make_profile

pytestmark = [pytest.mark.e2e]

TWENTY_FOUR = re.compile(r"^\d{1,2}:\d\d$")
TWELVE = re.compile(r"^\d{1,2}:\d\d\s(AM|PM)$")

# What each language calls the things the visitor uses, and how it writes the first day.
LANGUAGES = {
    "de": {
        "locale": "de-DE",
        "name": "Ihr Name",
        "email": "E-Mail-Adresse",
        "confirm": "Buchung bestätigen",
        "booked": "Ihr Termin ist gebucht",
        "month": "Januar 2030",
        "zone": "Zeitzone",
        "cancel": "Ja, Buchung stornieren",
        "cancelled": "Diese Buchung ist storniert",
    },
    "fr": {
        "locale": "fr-FR",
        "name": "Votre nom",
        "email": "Adresse e-mail",
        "confirm": "Confirmer la réservation",
        "booked": "Votre rendez-vous est réservé",
        "month": "janvier 2030",
        "zone": "Fuseau horaire",
        "cancel": "Oui, annuler la réservation",
        "cancelled": "Cette réservation est annulée",
    },
    "es": {
        "locale": "es-ES",
        "name": "Tu nombre",
        "email": "Correo electrónico",
        "confirm": "Confirmar reserva",
        "booked": "Tu reunión está reservada",
        "month": "enero de 2030",
        "zone": "Zona horaria",
        "cancel": "Sí, cancelar la reserva",
        "cancelled": "Esta reserva está cancelada",
    },
}


@pytest.fixture
def host(transactional_db):
    cache.clear()
    account = make_account(handle="ada", name="Ada Lovelace", email="ada@example.com")
    return make_profile(
        account,
        name="intro",
        subject="Intro call about {{topic}}",
        description="A first conversation.",
        location="Room 7, Analytical Engine Works",
        duration_minutes=45,
        availability_step=15,
        work_hours=ALL_WEEK,
        start_after_minutes=0,
    )


def look(page, shots, step: str, viewport: str) -> None:
    shots(page, f"{viewport}-{step}")
    audit(page, viewport)


def time_labels(page) -> list[str]:
    return [t.replace("\u00a0", " ") for t in page.locator("ul.times a").all_inner_texts()]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_visitor_books_in_their_language(browser, live_server, host, shots, language):
    words = LANGUAGES[language]
    for viewport, size in VIEWPORTS.items():
        cache.clear()
        Booking.objects.all().delete()
        context = browser.new_context(
            viewport=size, timezone_id="Europe/Berlin", locale=words["locale"]
        )
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/")
        page.wait_for_url(re.compile(r"tz=Europe%2FBerlin"))
        assert page.locator("html").get_attribute("lang").startswith(language)
        assert page.locator("#month-heading").inner_text() == words["month"]
        assert page.get_by_label(words["zone"], exact=True).count() == 1
        look(page, shots, "month", viewport)
        page.locator("a.day.free").nth(1).click()
        labels = time_labels(page)
        assert labels and all(TWENTY_FOUR.match(t) for t in labels), labels
        page.locator("ul.times a").nth(2).click()
        look(page, shots, "form", viewport)
        page.get_by_role("button", name=words["confirm"]).click()
        look(page, shots, "form-errors", viewport)
        page.get_by_label(words["name"]).fill("Bea Guest")
        page.get_by_label(words["email"]).fill("bea@example.com")
        page.locator(f"#id_{VAR_PREFIX}topic").fill("Pläne")
        page.get_by_role("button", name=words["confirm"]).click()
        page.wait_for_url(re.compile(r"done=booked"))
        assert page.locator("h1").inner_text() == words["booked"]
        look(page, shots, "confirmed", viewport)
        booking = Booking.objects.get()
        assert booking.language.lower() == words["locale"].lower()
        manage = page.url.split("?")[0]
        page.goto(manage + "reschedule/")
        look(page, shots, "reschedule", viewport)
        page.locator("ul.times a").nth(1).click()
        look(page, shots, "reschedule-chosen", viewport)
        page.goto(manage + "cancel/")
        look(page, shots, "cancel", viewport)
        page.get_by_role("button", name=words["cancel"]).click()
        page.wait_for_url(re.compile(r"done=cancelled"))
        assert page.locator("h1").inner_text() == words["cancelled"]
        look(page, shots, "cancelled", viewport)
        context.close()


def test_a_us_visitor_reads_12_hour_times_and_switches(browser, live_server, host, shots):
    for viewport, size in VIEWPORTS.items():
        cache.clear()
        Booking.objects.all().delete()
        context = browser.new_context(viewport=size, timezone_id="America/New_York", locale="en-US")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/")
        page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
        assert page.locator("html").get_attribute("lang") == "en-us"
        labels = time_labels(page)
        assert labels and all(TWELVE.match(t) for t in labels), labels
        look(page, shots, "12-hour", viewport)
        page.locator("ul.times a").first.click()
        heading = page.locator("#book-heading").inner_text().replace("\u00a0", " ")
        assert re.search(r"\d:\d\d (AM|PM)–\d{1,2}:\d\d (AM|PM)$", heading), heading
        look(page, shots, "12-hour-form", viewport)
        page.get_by_label("Your name").fill("Bea Guest")
        page.get_by_label("Email address").fill("bea@example.com")
        page.locator(f"#id_{VAR_PREFIX}topic").fill("Plans")
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url(re.compile(r"done=booked"))
        when = page.locator(".facts time").inner_text().replace("\u00a0", " ")
        assert re.search(r"\d{1,2}:\d\d (AM|PM)–\d{1,2}:\d\d (AM|PM)$", when), when
        look(page, shots, "12-hour-confirmed", viewport)
        assert Booking.objects.get().language == "en-US"
        # The toggle: 24-hour from here on, for this visitor.
        page.locator(".locale-bar").get_by_role("link", name="24-hour").click()
        when = page.locator(".facts time").inner_text()
        assert re.search(r"\d\d:\d\d–\d\d:\d\d$", when), when
        assert page.locator('.locale-bar a[aria-current="true"]', has_text="24-hour").count()
        look(page, shots, "24-hour-confirmed", viewport)
        page.goto(f"{live_server.url}/ada/intro/?tz=America/New_York")
        assert all(TWENTY_FOUR.match(t) for t in time_labels(page))
        context.close()


def test_the_switcher_works_without_javascript(browser, live_server, host, shots):
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(viewport=size, java_script_enabled=False, locale="de-DE")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{live_server.url}/ada/intro/?month=2030-01")
        assert page.locator("html").get_attribute("lang") == "de-de"
        switcher = page.get_by_role("navigation", name="Sprache und Uhrzeitformat")
        switcher.get_by_role("link", name="Français").click()
        assert page.locator("html").get_attribute("lang") == "fr"
        assert "month=2030-01" in page.url
        assert page.locator("#month-heading").inner_text() == "janvier 2030"
        look(page, shots, "francais", viewport)
        # Remembered: the next page without ?lang= stays French.
        page.goto(f"{live_server.url}/ada/intro/")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.get_by_role("navigation", name="Langue et format de l’heure").get_by_role(
            "link", name="Español"
        ).click()
        assert page.locator("html").get_attribute("lang") == "es"
        look(page, shots, "espanol", viewport)
        context.close()
