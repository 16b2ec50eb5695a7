"""The account's calendars (SPEC §1, §2): the builtin default, busy sources, a new primary,
passwords never returned, and URLs that are refused."""

from __future__ import annotations

import pytest
from django.test import override_settings

from scheduler.models import Calendar
from tests.api.helpers import CALENDARS, assert_error
from tests.factory import make_account

SECRET = "s3cr3t-Pässwörd"


def test_builtin_is_the_default_primary(api):
    body = api("GET", CALENDARS).json()
    assert body["totalSize"] == 1
    assert body["records"][0]["type"] == "builtin" and body["records"][0]["role"] == "primary"


# --- passwords -------------------------------------------------------------------------------


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_add_busy_feed_never_returns_the_password(api, account):
    response = api(
        "POST",
        CALENDARS,
        {
            "type": "caldav",
            "role": "busy",
            "url": "https://dav.example.com/cal/",
            "username": "ada",
            "password": "s3cret",
            "name": "Work",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "caldav" and body["role"] == "busy" and body["username"] == "ada"
    assert "password" not in body and "s3cret" not in response.content.decode()
    assert "s3cret" not in api("GET", CALENDARS).content.decode()
    assert Calendar.objects.get(pk=body["id"]).password == "s3cret"


def test_passwords_are_never_returned(api, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    body = {
        "type": "caldav",
        "role": "busy",
        "url": "https://dav.example.com/cal/",
        "username": "ada",
        "password": SECRET,
    }
    created = api("POST", CALENDARS, body)
    assert created.status_code == 201
    primary = api("POST", CALENDARS, {**body, "role": "primary", "url": "https://d.example/c/"})
    assert primary.status_code == 201
    listed = api("GET", CALENDARS)
    for response in (created, primary, listed):
        assert SECRET not in response.content.decode()
        assert b"password" not in response.content
    assert Calendar.objects.get(pk=created.json()["id"]).password == SECRET


def test_a_password_inside_a_calendar_url_is_refused_and_never_echoed(api, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True
    url = f"https://ada:{SECRET}@dav.example.com/cal/"
    response = api("POST", CALENDARS, {"type": "caldav", "url": url})
    assert_error(response, 400, "bad_request", "url")
    assert SECRET not in response.content.decode()
    # One stored another way (admin) is masked on the way out, as is an error quoting it.
    Calendar.objects.create(
        account=account,
        kind="caldav",
        role="busy",
        url=url,
        password="other-secret",
        last_error=f"GET {url} failed; password other-secret refused",
    )
    listed = api("GET", CALENDARS).content.decode()
    assert SECRET not in listed and "other-secret" not in listed
    assert "https://ada:***@dav.example.com/cal/" in listed


# --- the primary -----------------------------------------------------------------------------


def test_a_new_primary_replaces_the_old(api, account, settings):
    settings.ALLOW_PRIVATE_CALENDAR_URLS = True  # example.com does not resolve offline
    first = api("GET", CALENDARS).json()["records"]
    assert [(c["type"], c["role"]) for c in first] == [("builtin", "primary")]
    body = {"type": "caldav", "role": "primary", "url": "https://dav.example.com/a/"}
    one = api("POST", CALENDARS, body).json()
    two = api("POST", CALENDARS, {**body, "url": "https://dav.example.com/b/"}).json()
    records = api("GET", CALENDARS).json()["records"]
    primaries = [c for c in records if c["role"] == "primary"]
    assert [c["id"] for c in primaries] == [two["id"]]
    assert one["id"] not in [c["id"] for c in primaries]


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_new_primary_replaces_the_old_and_keeps_it_as_busy(api, account):
    builtin = account.primary_calendar()
    first = api(
        "POST", CALENDARS, {"type": "caldav", "role": "primary", "url": "https://a.example.com/c/"}
    ).json()
    assert not Calendar.objects.filter(pk=builtin.pk).exists()
    second = api(
        "POST", CALENDARS, {"type": "caldav", "role": "primary", "url": "https://b.example.com/c/"}
    ).json()
    roles = {c["id"]: c["role"] for c in api("GET", CALENDARS).json()["records"]}
    assert roles == {first["id"]: "busy", second["id"]: "primary"}
    # Back to builtin: the CalDAV primary stays as a busy source.
    third = api("POST", CALENDARS, {"type": "builtin", "role": "primary"})
    assert third.status_code == 201
    assert Calendar.objects.filter(account=account, role="primary").count() == 1
    assert_error(api("POST", CALENDARS, {"type": "builtin", "role": "primary"}), 409, "conflict")


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "ics", "role": "primary", "url": "https://x.example.com/a.ics"}, "role"),
        ({"type": "builtin", "role": "busy"}, "role"),
        ({"type": "ics", "role": "busy"}, "url"),
        ({"type": "ics"}, "url"),
        ({"type": "caldav", "role": "busy", "url": "ftp://x.example.com/"}, "url"),
        ({"type": "ics", "role": "busy", "url": "https://"}, "url"),
        ({"type": "google", "role": "busy"}, "type"),
        ({"type": "weird"}, "type"),
        ({"type": "ics", "role": "owner", "url": "https://x.example.com/a.ics"}, "role"),
        ({"type": "ics", "url": "https://x.example.com/a.ics", "colour": "red"}, "colour"),
    ],
)
def test_bad_calendar_input_names_the_field(api, body, field):
    assert_error(api("POST", CALENDARS, body), 400, "bad_request", field)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.ics",
        "http://localhost:8000/x.ics",
        "http://10.1.2.3/x.ics",
        "http://192.168.0.1/x.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.ics",
        "http://0.0.0.0/x.ics",
        "file:///etc/passwd",
        "gopher://example.com/",
        "not a url",
    ],
)
def test_calendar_urls_that_are_private_or_not_http_are_400_naming_url(api, account, url):
    for kind in ("ics", "caldav"):
        response = api("POST", CALENDARS, {"type": kind, "url": url})
        assert_error(response, 400, "bad_request", "url")
    assert Calendar.objects.exclude(kind="builtin").count() == 0


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=False)
def test_private_calendar_urls_are_refused(api):
    for url in ("http://127.0.0.1/feed.ics", "http://10.0.0.1/feed.ics", "http://[::1]/x.ics"):
        body = {"type": "ics", "role": "busy", "url": url}
        assert_error(api("POST", CALENDARS, body), 400, "bad_request", "url")
    assert Calendar.objects.filter(kind="ics").count() == 0


# --- delete ----------------------------------------------------------------------------------


@override_settings(ALLOW_PRIVATE_CALENDAR_URLS=True)
def test_delete_calendar(api, account):
    made = api("POST", CALENDARS, {"type": "ics", "url": "https://x.example.com/a.ics"}).json()
    assert made["role"] == "busy"
    assert api("DELETE", f"{CALENDARS}/{made['id']}").json() == {"status": "Ok"}
    assert_error(api("DELETE", f"{CALENDARS}/{made['id']}"), 404, "not_found")
    builtin = account.primary_calendar()
    assert_error(api("DELETE", f"{CALENDARS}/{builtin.pk}"), 409, "conflict")
    theirs = make_account().primary_calendar()
    assert_error(api("DELETE", f"{CALENDARS}/{theirs.pk}"), 404, "not_found")
