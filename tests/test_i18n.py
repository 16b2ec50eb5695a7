"""Pages and the invitee's mails in English, German, French and Spanish (SPEC §10): chosen by
`?lang=` (remembered), a switcher, or Accept-Language; dates and times written as each locale
writes them, 12-hour for en-US and 24-hour for de, fr, es and en-GB, with a 12/24 toggle; the
host's notice stays in the site's language and zone; every string of the .po files translated.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from scheduler import invites, localize
from scheduler.models import Booking
from tests.factory import make_account, make_booking, make_profile

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; default hours Mon–Fri 09–17 UTC
LANGS = ("de", "fr", "es")
NBSP = "\u00a0"


def _compiled() -> None:
    """The .mo files `make install` builds, compiled here too when missing or stale."""
    for po in (ROOT / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command("compilemessages", locale=[po.parts[-3]], verbosity=0)
            translation.trans_real._translations.clear()  # reread by the next activate


_compiled()


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def profile(db):
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(account, name="intro", subject="Intro call", duration_minutes=30)


def page(client: Client, path: str = "/ada/intro/", language: str = "", **params: str) -> str:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    answer = client.get(path, params, **headers)
    assert answer.status_code == 200, answer.content[:300]
    return answer.content.decode()


def times(html: str) -> list[str]:
    """The labels of the day's time links ("9:00 AM" keeps a no-break space, read as one)."""
    found = re.findall(r'<li><a href="[^"]*slot=[^"]*"[^>]*>([^<]+)</a></li>', html)
    return [label.replace(NBSP, " ") for label in found]


def plain(text: str) -> str:
    return text.replace(NBSP, " ")


# --- choosing the language -----------------------------------------------------------------


@pytest.mark.parametrize(
    "language, words",
    [
        ("de", ["Dauer", "Gastgeber", "Zeitzone", "März 2026", "Montag, 2. März"]),
        ("fr", ["Durée", "Organisateur", "Fuseau horaire", "mars 2026", "lundi 2 mars"]),
        ("es", ["Duración", "Anfitrión", "Zona horaria", "marzo de 2026", "lunes, 2 de marzo"]),
    ],
)
def test_accept_language_gives_the_page_in_that_language(client, profile, language, words):
    answer = client.get("/ada/intro/", HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    html = answer.content.decode()
    assert f'<html lang="{language}">' in html
    assert answer["Content-Language"] == language
    assert "Accept-Language" in answer["Vary"]
    for word in words:
        assert word in html, word
    assert "Duration" not in html and "Time zone" not in html


def test_without_a_choice_the_page_is_english(client, profile):
    html = page(client)
    assert '<html lang="en">' in html and "Duration" in html and "March 2026" in html
    assert page(client, language="pt-BR,ja;q=0.8").count('<html lang="en">') == 1


def test_lang_parameter_switches_and_is_remembered(client, profile):
    answer = client.get("/ada/intro/?lang=fr", HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="fr">' in answer.content.decode()
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    # Later pages, even those reached without the parameter, stay French.
    assert '<html lang="fr">' in page(client, language="de")
    assert "Durée" in page(client, language="de")
    # An unknown language is ignored and changes nothing.
    assert '<html lang="fr">' in page(client, lang="xx")
    assert '<html lang="en">' in page(client, lang="en")


def test_every_page_has_the_switcher_as_plain_links(client, profile):
    html = page(client, language="de", tz="Europe/Paris", month="2026-03")
    switcher = re.search(r'<nav class="locale-bar".*?</nav>', html, re.S).group(0)
    assert 'aria-label="Sprache und Uhrzeitformat"' in switcher
    for code, name in settings.LANGUAGES:
        found = rf'<a href="([^"]+)" lang="{code}" hreflang="{code}"[^>]*>{name}</a>'
        link = re.search(found, switcher)
        assert link, code
        # The link keeps what the visitor was looking at.
        assert "tz=Europe%2FParis" in link.group(1) and "month=2026-03" in link.group(1)
        assert f"lang={code}" in link.group(1)
    assert re.search(r'lang="de" hreflang="de" aria-current="true">Deutsch<', switcher)
    assert "12 Std." in switcher and "24 Std." in switcher
    start = datetime(2026, 3, 3, 9, tzinfo=UTC)
    token = make_booking(profile, start, start.replace(minute=30)).manage_token()
    paths = [f"/bookings/{token}/", f"/bookings/{token}/cancel/", f"/bookings/{token}/reschedule/"]
    for path in [*paths, "/ada/", "/"]:
        assert '<nav class="locale-bar"' in page(client, path, "es"), path
    assert '<nav class="locale-bar"' in client.get("/ada/nobody/").content.decode()


def test_the_language_ends_with_the_request(client, profile):
    page(client, language="es")
    assert translation.get_language() == "en"  # what the thread spoke before


def test_admin_and_api_keep_the_site_language(client, profile):
    admin = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="de", HTTP_COOKIE="django_language=de")
    assert '<html lang="en"' in admin.content.decode() or 'lang="en"' in admin.content.decode()
    assert "Log in" in admin.content.decode()


# --- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, first, day",
    [
        ("en-US,en;q=0.9", "9:00 AM", "Monday, March 2"),
        ("en-GB,en;q=0.9", "09:00", "Monday 2 March"),
        ("en", "09:00", "Monday 2 March"),
        ("de-DE,de;q=0.9", "09:00", "Montag, 2. März"),
        ("fr-FR", "09:00", "lundi 2 mars"),
        ("es-ES", "9:00", "lunes, 2 de marzo"),
    ],
)
def test_times_are_written_as_the_locale_writes_them(client, profile, language, first, day):
    html = page(client, language=language)
    assert times(html)[0] == first
    assert f'<h2 id="times-heading">{day}</h2>' in html


def test_en_us_is_12_hour_and_en_gb_24_hour(client, profile):
    us = times(page(client, language="en-US"))
    assert us[:3] == ["9:00 AM", "9:30 AM", "10:00 AM"] and us[-1] == "4:30 PM"
    assert times(page(Client(), language="en-GB"))[-1] == "16:30"
    assert '<html lang="en-us">' in page(client, language="en-US")


def test_the_clock_toggle_overrides_the_locale_and_is_remembered(client, profile):
    answer = client.get("/ada/intro/?clock=24", HTTP_ACCEPT_LANGUAGE="en-US")
    assert times(answer.content.decode())[0] == "09:00"
    assert answer.cookies[localize.CLOCK_COOKIE].value == "24"
    assert times(page(client, language="en-US"))[0] == "09:00"  # remembered
    german = Client()
    assert times(page(german, language="de", clock="12"))[-1] == "4:30 PM"
    html = page(german, language="de")
    assert times(html)[0] == "9:00 AM"
    # The toggle marks the clock in use and links to the other one.
    assert re.search(r'clock=12" aria-current="true">12 Std\.<', html)
    assert re.search(r'clock=24">24 Std\.<', html)


def test_the_booking_form_heading_and_details_use_the_locale(client, profile):
    html = page(client, language="fr", slot="2026-03-02T13:00:00Z")
    assert "Réserver le lundi 2 mars, 13:00–13:30" in html
    assert "30 minutes, fuseau horaire" in html
    assert "Votre nom" in html and "Adresse e-mail" in html and "Confirmer la réservation" in html


# --- the booking keeps its language: mails and pages ---------------------------------------


def _book_from_the_page(client: Client, language: str, **extra: str) -> Booking:
    answer = client.post(
        "/ada/intro/",
        {"slot": "2026-03-02T13:00:00Z", "name": "Bea", "email": "bea@example.com", **extra},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 302, answer.content[:500]
    return Booking.objects.get()


def _mail_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def test_a_booking_made_in_german_is_mailed_in_german_and_the_host_in_english(
    client, profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book_from_the_page(client, "de-DE,de;q=0.9")
    assert booking.language == "de-DE"
    (invite,) = _mail_to("bea@example.com")
    (notice,) = _mail_to("ada@example.com")
    assert invite.subject == "Einladung: Intro call — Mo., 2. März 2026 13:00 (UTC)"
    text = invite.body
    assert text.startswith("Hallo Bea,\n\nIhr Termin mit Ada Host ist gebucht.")
    # Field names in German, values still in one column.
    what = re.search(r"^(Was: +)Intro call$", text, re.M).group(1)
    assert f"{'Wann:':{len(what)}}Montag, 2. März 2026, 13:00–13:30 (UTC)" in text
    assert f"{'Dauer:':{len(what)}}30 Minuten" in text
    assert "Verschieben: http" in text and "Stornieren:  http" in text
    html = invite.alternatives[0][0]
    assert '<html lang="de-de">' in html and "Ihr Termin ist gebucht" in html
    assert "Gesendet von der Buchungsseite von Ada Host." in html
    ics = invite.attachments[0][1].decode()
    assert "Buchung verwalten:" in ics.replace("\r\n ", "")
    # The host's notice: the site's language and the host's zone.
    assert notice.subject.startswith("New booking: Bea — Mon 2 Mar 2026 13:00")
    assert "booked a meeting with you" in notice.body
    assert "Monday 2 March 2026, 13:00–13:30 (UTC)" in notice.body
    assert '<html lang="en">' in notice.alternatives[0][0]

    mail.outbox.clear()
    with translation.override("fr"):  # whatever the worker's language, the booking's counts
        invites.send_reminder.enqueue(booking.pk, 60, int(booking.start.timestamp()))
    (reminder,) = _mail_to("bea@example.com")
    assert reminder.subject.startswith("Erinnerung: Intro call — Mo., 2. März 2026 13:00")
    assert "Termin mit Ada Host, der in 1 Stunde beginnt." in reminder.body
    assert "Ihr Termin beginnt in 1 Stunde" in reminder.alternatives[0][0]

    mail.outbox.clear()
    token = booking.manage_token()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/bookings/{token}/cancel/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302
    (cancel,) = _mail_to("bea@example.com")
    (host_cancel,) = _mail_to("ada@example.com")
    assert cancel.subject.startswith("Abgesagt: Intro call — Mo., 2. März 2026 13:00")
    assert "Ihr Termin mit Ada Host wurde abgesagt." in cancel.body
    assert "Montag, 2. März 2026, 13:00–13:30 (UTC)" in cancel.body
    assert host_cancel.subject.startswith("Cancelled: Bea — Mon 2 Mar 2026 13:00")
    assert "is cancelled; the time is free again" in host_cancel.body


def test_an_en_us_booking_is_mailed_with_a_12_hour_clock(
    client, profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book_from_the_page(client, "en-US,en;q=0.9")
    assert booking.language == "en-US"
    (invite,) = _mail_to("bea@example.com")
    assert "When:    Monday, March 2, 2026, 1:00 PM–1:30 PM (UTC)" in plain(invite.body)
    assert plain(invite.subject) == "Invitation: Intro call — Mon, Mar 2, 2026 1:00 PM (UTC)"
    (notice,) = _mail_to("ada@example.com")
    assert "Monday 2 March 2026, 13:00–13:30 (UTC)" in notice.body


def test_the_address_check_mail_is_in_the_booking_language(
    client, profile, django_capture_on_commit_callbacks
):
    profile.require_email_verification = True
    profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        _book_from_the_page(client, "es")
    (check,) = _mail_to("bea@example.com")
    assert check.subject.startswith("Confirma tu reserva: Intro call — lun, 2 mar 2026 13:00")
    assert "Hola, Bea:" in check.body
    assert re.search(r"hasta las \d{1,2}:\d\d \(UTC\)", check.body)


def test_an_api_booking_without_a_language_is_mailed_in_the_site_language(profile):
    booking = make_booking(
        profile,
        datetime(2026, 3, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        name="Kei",
        email="kei@example.com",
    )
    messages = dict(invites.booking_messages(booking, "request"))
    subject = messages["invitee"].subject
    assert subject == "Invitation: Meeting with Ada Host — Tue 3 Mar 2026 09:00 (UTC)"


def test_the_booking_pages_speak_the_booking_language_until_the_visitor_picks_one(profile):
    booking = make_booking(
        profile,
        datetime(2026, 3, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        language="de",
    )
    token = booking.manage_token()
    visitor = Client()
    html = page(visitor, f"/bookings/{token}/", "en-US")
    assert '<html lang="de">' in html and "Ihre Buchung" in html
    assert "Dienstag, 3. März 2026, 09:00–09:30" in html
    assert "Diese Buchung stornieren?" in page(visitor, f"/bookings/{token}/cancel/")
    # The visitor's own choice wins, here and on the pages after.
    html = page(visitor, f"/bookings/{token}/", "en-US", lang="en")
    assert '<html lang="en-us">' in html and "Your booking" in html
    assert "Tuesday, March 3, 2026, 9:00 AM–9:30 AM" in plain(html)
    assert "Reschedule your booking" in page(visitor, f"/bookings/{token}/reschedule/", "en-US")


def test_cancelled_status_and_not_found_pages_are_translated(client, profile):
    booking = make_booking(
        profile,
        datetime(2026, 3, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        status=Booking.Status.CANCELLED,
    )
    html = page(client, f"/bookings/{booking.manage_token()}/", "fr")
    assert "Cette réservation est annulée" in html and "Annulée" in html
    missing = client.get("/ada/nobody/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Esta página de reservas no está disponible" in missing


# --- the translations are complete ---------------------------------------------------------


def _untranslated(po: Path) -> list[str]:
    with po.open("rb") as f:
        catalog = read_po(f)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s.strip() for s in strings):
            problems.append(str(message.id))
    return problems


@pytest.mark.parametrize("language", LANGS)
def test_every_string_of_the_po_files_is_translated(language):
    po = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    with po.open("rb") as f:
        assert len(list(read_po(f))) > 150
    assert _untranslated(po) == []


def test_the_po_files_hold_every_string_of_the_pages_and_mails(tmp_path, settings, monkeypatch):
    """Collects the strings afresh (as `make messages` does) into a copy of the .po files: a
    string added to a page or an invitee mail without its translations fails here."""
    for folder in ("scheduler", "templates", "locale"):
        shutil.copytree(
            ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("admin", "__pycache__", "*.mo"),
        )
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=list(LANGS), no_obsolete=True, verbosity=0)
    for language in LANGS:
        po = tmp_path / "locale" / language / "LC_MESSAGES" / "django.po"
        missing = _untranslated(po)
        assert not missing, f"{language}: run `make messages` and translate {missing}"
