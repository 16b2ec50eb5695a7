"""The invitee's zone picker (SPEC §10): canonical zones only, named as people say them with
their offset now, in the page's language, and what a visitor types resolved on the server so
the picker works without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict
from django.utils import translation

from scheduler import picker, zone_picker
from scheduler.models import Booking
from scheduler.rules import zones
from tests.factory import make_account, make_booking, make_profile

JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # default hours Mon–Fri 09–17 UTC


def option_keys() -> list[str]:
    return [key for group in zone_picker.groups() for key, _, _ in group.options]


def option_labels() -> dict[str, str]:
    return {key: label for group in zone_picker.groups() for key, label, _ in group.options}


def zone_of(text: str, default: str = "Europe/London") -> str:
    return picker.visitor_zone(QueryDict(mutable=True) | {"tz": text}, default).key


# The list


def test_the_list_offers_the_canonical_zones_once_each_and_nothing_else():
    keys = option_keys()
    assert sorted(keys) == sorted(zones.offered())
    assert len(keys) == len(set(keys))
    for name in ("US/Eastern", "Asia/Calcutta", "GMT+0", "Etc/GMT+5", "Factory", "localtime"):
        assert name not in keys
    assert not [key for key in keys if key.startswith(("Etc/", "US/", "SystemV/"))]
    assert "UTC" in keys and "Asia/Tokyo" in keys and "America/New_York" in keys


def test_the_list_is_grouped_by_region_utc_first_west_to_east_inside():
    groups = zone_picker.groups()
    assert [g.label for g in groups][:2] == ["UTC", "Africa"]
    assert {"Americas", "Asia", "Europe", "Oceania", "Atlantic Ocean"} <= {g.label for g in groups}
    with time_machine.travel(JANUARY, tick=False):
        europe = next(g for g in zone_picker.groups() if g.label == "Europe")
        labels = [label for _, label, _ in europe.options]
    assert labels.index("British Time – London (UTC+00:00)") < labels.index(
        "Central European Time – Berlin (UTC+01:00)"
    )


def test_labels_name_the_zone_and_city_with_the_offset_now():
    with time_machine.travel(JANUARY, tick=False):
        labels = option_labels()
        assert labels["America/New_York"] == "Eastern Time – New York (UTC−05:00)"
        assert labels["Asia/Tokyo"] == "Japan Time – Tokyo (UTC+09:00)"
        assert labels["America/St_Johns"] == "Newfoundland Time – St. John’s (UTC−03:30)"
        assert labels["Asia/Kathmandu"] == "Nepal Time – Kathmandu (UTC+05:45)"
        assert labels["UTC"] == "Coordinated Universal Time (UTC+00:00)"
        # CLDR's fallback "Kazakhstan (Almaty) Time" becomes the zone's own name and city.
        assert labels["Asia/Almaty"] == "Kazakhstan Time – Almaty (UTC+05:00)"
        assert labels["Pacific/Honolulu"] == "Hawaii Time – Honolulu (UTC−10:00)"
    with time_machine.travel(datetime(2026, 7, 15, tzinfo=UTC), tick=False):
        assert option_labels()["America/New_York"] == "Eastern Time – New York (UTC−04:00)"


@pytest.mark.parametrize(
    ("key", "before", "after", "switch"),
    [
        # New York moves at 02:00 local, 07:00 UTC; St John's at 02:00 local, 05:30 UTC.
        ("America/New_York", "UTC−05:00", "UTC−04:00", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        ("America/St_Johns", "UTC−03:30", "UTC−02:30", datetime(2026, 3, 8, 5, 30, tzinfo=UTC)),
    ],
)
def test_the_cached_list_changes_offset_at_the_transition_itself(key, before, after, switch):
    with time_machine.travel(switch - timedelta(minutes=1), tick=False):
        assert option_labels()[key].endswith(f"({before})")
    with time_machine.travel(switch, tick=False):
        assert option_labels()[key].endswith(f"({after})")


def test_the_list_is_built_once_per_quarter_hour_and_language():
    with time_machine.travel(JANUARY, tick=False):
        english = zone_picker.groups()
        assert zone_picker.groups() is english
        with translation.override("de"):
            assert zone_picker.groups() is not english
    with time_machine.travel(JANUARY + timedelta(minutes=14), tick=False):
        assert zone_picker.groups() is english
    with time_machine.travel(JANUARY + timedelta(minutes=15), tick=False):
        assert zone_picker.groups() is not english


def test_the_list_html_is_escaped_and_selects_only_the_visitor_zone():
    html = zone_picker.options("Europe/Berlin")
    assert 'data-countries="Germany, Denmark, Norway, Sweden, Svalbard &amp; Jan Mayen"' in html
    assert "St. John&#x27;s" in html or "St. John’s" in html
    assert re.findall(r'<option value="([^"]+)" selected', html) == ["Europe/Berlin"]
    assert " selected" not in zone_picker.options("Etc/GMT+5")


def test_labels_and_regions_follow_the_active_language():
    with time_machine.travel(JANUARY, tick=False):
        with translation.override("de"):
            assert option_labels()["Asia/Tokyo"] == "Japanische Zeit – Tokio (UTC+09:00)"
            assert "Amerika" in [g.label for g in zone_picker.groups()]
            assert picker.zone_label(ZoneInfo("Europe/Berlin")) == (
                "Mitteleuropäische Zeit – Berlin (UTC+01:00)"
            )
        with translation.override("fr"):
            assert option_labels()["Europe/Paris"] == "heure d’Europe centrale – Paris (UTC+01:00)"
        with translation.override("es"):
            assert option_labels()["America/New_York"] == "hora oriental – Nueva York (UTC−05:00)"
        with translation.override("en-us"):
            assert option_labels()["Asia/Tokyo"] == "Japan Time – Tokyo (UTC+09:00)"


def test_a_language_babel_does_not_know_falls_back_to_english():
    with time_machine.travel(JANUARY, tick=False), translation.override("xx-nowhere"):
        assert picker.zone_label(ZoneInfo("Asia/Tokyo")) == "Japan Time – Tokyo (UTC+09:00)"


def test_a_zone_outside_the_list_keeps_a_plain_label():
    with time_machine.travel(JANUARY, tick=False):
        assert picker.zone_label(ZoneInfo("Etc/GMT+5")) == "Etc/GMT+5 (UTC−05:00)"
        assert picker.zone_label(ZoneInfo("Europe/Oslo")) == (
            "Central European Time – Oslo (UTC+01:00)"
        )


# What a visitor types


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("US/Eastern", "America/New_York"),  # an alias
        ("Asia/Calcutta", "Asia/Kolkata"),  # an old name browsers still report
        ("tokyo", "Asia/Tokyo"),  # a city
        ("  New York ", "America/New_York"),
        ("st johns", "America/St_Johns"),  # without the punctuation
        ("sao paulo", "America/Sao_Paulo"),  # without the accent
        ("tok", "Asia/Tokyo"),  # the start of one city's name (Vostok only contains it)
        ("germany", "Europe/Berlin"),  # a country's main zone
        ("Norway", "Europe/Berlin"),  # zone1970.tab: Oslo's clocks agree with Berlin's
        ("Europe/Oslo", "Europe/Oslo"),  # a country's own zone is kept
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_visitor_zone_accepts_names_aliases_cities_and_countries(typed, zone):
    assert zone_of(typed) == zone


@pytest.mark.parametrize("typed", ["", "san", "Mars/Base", "Factory", "localtime", "x" * 100])
def test_visitor_zone_falls_back_to_the_default_for_nothing_or_several(typed):
    assert zone_of(typed, "Europe/London") == "Europe/London"


def test_a_city_in_the_page_language_is_found():
    with translation.override("de"):
        assert zone_of("Tokio") == "Asia/Tokyo"
        assert zone_of("Deutschland") == "Europe/Berlin"
    with translation.override("es"):
        assert zone_of("Nueva York") == "America/New_York"


def test_normalise_spells_like_the_search_script():
    assert zone_picker.normalise("St. John’s") == "st johns"
    assert zone_picker.normalise("São_Paulo") == "sao paulo"
    assert zone_picker.normalise("Eastern Time – New York (UTC−05:00)") == (
        "eastern time new york utc-05:00"
    )


# The pages, without JavaScript


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def profile(db, frozen):
    account = make_account(handle="ada", name="Ada Host", email="ada@example.com")
    return make_profile(account, name="intro", subject="Intro")


def test_a_typed_city_shows_times_in_its_zone(client, profile):
    html = client.get("/ada/intro/?tz=tokyo").content.decode()
    # 09:00 UTC on Monday 2 March is 18:00 in Tokyo; links carry the canonical name.
    assert ">18:00<" in html
    assert re.search(r'href="[^"]*\?tz=Asia%2FTokyo[^"]*#times"', html)  # the days' links
    assert re.search(r'<option value="Asia/Tokyo" selected[ >]', html)
    assert "Times in Japan Time – Tokyo (UTC+09:00)" in html
    assert 'id="tz-find"' in html and 'name="tz" type="search" value=""' in html


def test_the_search_form_keeps_the_month_and_day_shown(client, profile):
    html = client.get("/ada/intro/?month=2026-03&date=2026-03-04&tz=Tokyo").content.decode()
    search = html[html.index('class="zone-search"') : html.index('id="tz-find"')]
    assert '<input type="hidden" name="month" value="2026-03">' in search
    assert '<input type="hidden" name="date" value="2026-03-04">' in search
    assert ">18:00<" in html


def test_several_matches_are_offered_as_links(client, profile):
    html = client.get("/ada/intro/?tz=san&month=2026-03").content.decode()
    assert "Several time zones match “san”" in html
    assert 'value="san"' in html  # the search box keeps what was typed
    assert 'href="?month=2026-03&amp;tz=America%2FSantiago"' in html
    assert "Chile Time – Santiago (UTC−03:00)" in html
    assert ">09:00<" in html  # still in the profile's zone meanwhile


def test_an_unknown_zone_says_so_and_keeps_the_default(client, profile):
    html = client.get("/ada/intro/?tz=Mars/Base").content.decode()
    assert "No time zone matches “Mars/Base”" in html
    assert re.search(r'<option value="UTC" selected[ >]', html)
    assert ">09:00<" in html


def test_a_zone_outside_the_list_is_offered_as_the_current_choice(client, profile):
    html = client.get("/ada/intro/?tz=Etc/GMT-14").content.decode()
    assert '<option value="Etc/GMT-14" selected>Etc/GMT-14 (UTC+14:00)</option>' in html
    assert len(re.findall(r"<option [^>]* selected", html)) == 1


def test_a_booking_from_a_typed_city_is_stored_under_the_canonical_zone(client, profile):
    slot = "2026-03-02T10:00:00Z"
    response = client.post(
        "/ada/intro/?tz=tokyo",
        {"slot": slot, "name": "Kei", "email": "kei@example.com", "tz": "tokyo"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert "tz=Asia%2FTokyo" in response["Location"]
    assert Booking.objects.get().timezone == "Asia/Tokyo"


def test_the_manage_page_names_the_zone_and_offers_the_search(client, profile):
    booking = make_booking(
        profile, datetime(2026, 3, 3, 9, tzinfo=UTC), datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    )
    token = booking.manage_token()
    html = client.get(f"/bookings/{token}/?tz=kolkata").content.decode()
    assert "14:30" in html  # 09:00 UTC in Kolkata (+05:30)
    assert "India Time – Kolkata (UTC+05:30)" in html
    assert '<details class="zone-details" open>' in html  # what was typed stays in view
    response = client.post(f"/bookings/{token}/cancel/", {"tz": "kolkata"})
    assert response["Location"].startswith(f"/bookings/{token}/?tz=Asia%2FKolkata")
