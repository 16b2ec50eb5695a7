"""Who the client is behind a reverse proxy, and the public rate limit per (client, profile).

SPEC §11: from a trusted proxy (`TRUSTED_PROXIES`) the client is the rightmost
`X-Forwarded-For` address that is not itself trusted, otherwise REMOTE_ADDR; public bookings
(the API and the booking page together) count per (client address, profile).
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings

from scheduler import ratelimit
from scheduler.models import Booking
from scheduler.services import bookings
from tests.factory import make_account, make_profile

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; default hours Mon–Fri 09–17 UTC
PROXY = "10.0.0.2"  # the reverse proxy, as REMOTE_ADDR sees it
PROXIES = "10.0.0.0/8,2001:db8:ffff::/48"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- the client address -----------------------------------------------------------------------


def address(remote: str | None, forwarded: str | None = None) -> str:
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return ratelimit.client_ip(request)


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # No header: the peer.
        (PROXY, None, PROXY),
        ("203.0.113.7", None, "203.0.113.7"),
        # One trusted proxy in front: the address it appended.
        (PROXY, "203.0.113.7", "203.0.113.7"),
        (PROXY, " 203.0.113.7 ", "203.0.113.7"),
        # A chain of trusted proxies: walk past them to the first untrusted address.
        (PROXY, "203.0.113.7, 10.1.2.3, 10.0.0.9", "203.0.113.7"),
        # The client forged entries on the left; only the address our proxy saw counts.
        (PROXY, "198.51.100.66, 10.9.9.9, 203.0.113.7", "203.0.113.7"),
        (PROXY, "1.1.1.1,2.2.2.2,203.0.113.7", "203.0.113.7"),
        # Nothing untrusted in the chain (a request from inside): the peer.
        (PROXY, "10.0.0.3, 10.0.0.4", PROXY),
        (PROXY, "", PROXY),
        # Garbage stops the walk: the last untrusted address before it, else the peer.
        (PROXY, "203.0.113.7, unknown", PROXY),
        (PROXY, "203.0.113.7, not-an-ip, 10.0.0.3", PROXY),
        (PROXY, "203.0.113.7, , 10.0.0.3", PROXY),
        (PROXY, "not-an-ip, 203.0.113.7", "203.0.113.7"),
        (PROXY, "203.0.113.7:51234", PROXY),  # a port makes it not an address
        (PROXY, "999.1.1.1", PROXY),
        (PROXY, "<script>, 10.0.0.3", PROXY),
        # Not from a trusted proxy: a forged header changes nothing.
        ("203.0.113.7", "198.51.100.66", "203.0.113.7"),
        ("203.0.113.7", "198.51.100.66, 10.0.0.3", "203.0.113.7"),
        ("11.0.0.1", "198.51.100.66", "11.0.0.1"),  # just outside 10.0.0.0/8
        # IPv6: trusted v6 proxies, v6 clients (written canonically), v4 behind v6 and back.
        ("2001:db8:ffff::1", "2001:db8:1::42", "2001:db8:1::42"),
        ("2001:db8:ffff::1", "2001:DB8:1:0:0:0:0:42, 2001:db8:ffff:1::5", "2001:db8:1::42"),
        ("2001:db8:ffff::1", "203.0.113.7", "203.0.113.7"),
        (PROXY, "2001:db8:1::42", "2001:db8:1::42"),
        ("2001:db8:1::42", "198.51.100.66", "2001:db8:1::42"),
        ("2001:db8:fffe::1", "198.51.100.66", "2001:db8:fffe::1"),  # just outside the /48
        # IPv4-mapped IPv6 (a dual-stack socket) is the IPv4 address.
        ("::ffff:10.0.0.2", "203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "198.51.100.66", "203.0.113.7"),
        (PROXY, "::ffff:203.0.113.7", "203.0.113.7"),
        # A peer that is no address at all is used as it is.
        ("", "203.0.113.7", "unknown"),
        (None, "203.0.113.7", "unknown"),
    ],
)
@override_settings(TRUSTED_PROXIES=PROXIES)
def test_client_address(remote, forwarded, client):
    assert address(remote, forwarded) == client


@pytest.mark.parametrize("forwarded", ["203.0.113.7", "203.0.113.7, 10.0.0.3"])
def test_without_trusted_proxies_the_header_is_ignored(forwarded):
    with override_settings(TRUSTED_PROXIES=()):
        assert address(PROXY, forwarded) == PROXY
    assert address(PROXY, forwarded) == PROXY  # the default: none


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/8, 2001:db8:ffff::/48",
        ["10.0.0.0/8", "2001:db8:ffff::/48"],
        (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48")),
        "10.0.0.2/8,,2001:db8:ffff::1/48,",  # host bits and empty entries are forgiven
    ],
)
def test_trusted_proxies_take_strings_lists_and_networks(value):
    with override_settings(TRUSTED_PROXIES=value):
        assert ratelimit.trusted_proxies() == (
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("2001:db8:ffff::/48"),
        )
        assert address(PROXY, "203.0.113.7") == "203.0.113.7"


@override_settings(TRUSTED_PROXIES="10.0.0.2")
def test_a_bare_address_trusts_that_address_only():
    assert address("10.0.0.2", "203.0.113.7") == "203.0.113.7"
    assert address("10.0.0.3", "203.0.113.7") == "10.0.0.3"


@override_settings(TRUSTED_PROXIES="10.0.0.0/8,bogus")
def test_a_bad_overridden_value_is_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES.*bogus"):
        address(PROXY, "203.0.113.7")


# --- the setting, read at start-up ------------------------------------------------------------

DUMP = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps([str(n) for n in settings.TRUSTED_PROXIES]))
"""


def start(**env: str) -> subprocess.CompletedProcess:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        "DJANGO_SETTINGS_MODULE": "booking_site.settings",
        "DEBUG": "true",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", DUMP],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_trusted_proxies_setting_defaults_to_none_and_parses_cidrs():
    default = start()
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout) == []
    given = start(TRUSTED_PROXIES=" 10.0.0.0/8 , 172.16.0.1, 2001:db8::/32 ")
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout) == ["10.0.0.0/8", "172.16.0.1/32", "2001:db8::/32"]


@pytest.mark.parametrize("value", ["10.0.0.0/8,nginx", "10.0.0.0/33", "2001:db8::/129", "*"])
def test_a_bad_trusted_proxies_value_stops_start_up(value):
    result = start(TRUSTED_PROXIES=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"TRUSTED_PROXIES={value!r}" in result.stderr


# --- the public booking limit, per (client address, profile) ----------------------------------


@pytest.fixture
def ada(db):
    return make_account(handle="ada", name="Ada Host", email="ada@example.com")


@pytest.fixture
def intro(ada):
    return make_profile(ada, name="intro", subject="Intro")


@pytest.fixture
def consult(ada):
    return make_profile(ada, name="consult", subject="Consult")


def visitor(ip: str, forwarded: str | None = None) -> Client:
    """A browser or API client at `ip`, or behind the proxy at `ip` when `forwarded` is given."""
    extra = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client(**extra)


def page_post(client: Client, profile, slot: str = "junk"):
    """A booking form POST; "junk" is a 400 that still counts."""
    data = {"slot": slot, "name": "Bea Guest", "email": "bea@example.com"}
    return client.post(f"/{profile.account.handle}/{profile.name}/", data)


def api_post(client: Client, profile, start: str = "2026-03-02T09:10:00Z"):
    """A public API booking; the default time is not a slot (409), which still counts."""
    end = (datetime.fromisoformat(start) + timedelta(minutes=30)).isoformat()
    body = {
        "time": {"start": start, "end": end.replace("+00:00", "Z")},
        "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
    }
    return client.post(
        f"/v1/book/{profile.account.handle}/{profile.name}/meeting",
        json.dumps(body),
        content_type="application/json",
    )


def assert_page_limited(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many attempts" in response.content.decode()


def assert_api_limited(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert response.json()["error"]["code"] == "rate_limited"


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_page_limit_is_per_client_and_profile(intro, consult):
    junk = visitor("203.0.113.7")
    assert [page_post(junk, intro).status_code for _ in range(2)] == [400, 400]
    assert_page_limited(page_post(junk, intro))
    # The same client on another profile, and another client on this one, are unaffected.
    assert page_post(junk, consult).status_code == 400
    assert page_post(visitor("203.0.113.8"), intro, "2026-03-02T10:00:00Z").status_code == 302
    assert Booking.objects.filter(profile=intro).count() == 1


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_api_limit_is_per_client_and_profile(intro, consult):
    junk = visitor("203.0.113.7")
    assert [api_post(junk, intro).status_code for _ in range(2)] == [409, 409]
    assert_api_limited(api_post(junk, intro))
    assert api_post(junk, consult).status_code == 409
    other = api_post(visitor("203.0.113.8"), intro, "2026-03-02T10:00:00Z")
    assert other.status_code == 201
    assert Booking.objects.filter(profile=intro).count() == 1


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=3)
def test_api_and_page_share_one_bucket(intro, consult):
    client = visitor("203.0.113.7")
    assert api_post(client, intro).status_code == 409
    assert page_post(client, intro).status_code == 400
    assert api_post(client, intro, "2026-03-02T10:00:00Z").status_code == 201  # success counts
    assert_page_limited(page_post(client, intro))
    assert_api_limited(api_post(client, intro))
    assert page_post(client, consult).status_code == 400
    assert api_post(client, consult).status_code == 409


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2, TRUSTED_PROXIES="10.0.0.0/8")
def test_behind_the_proxy_each_visitor_has_own_bucket(intro):
    """Everyone arrives from the proxy; its X-Forwarded-For tells them apart."""
    junk = visitor(PROXY, "198.51.100.66, 203.0.113.7")
    assert [page_post(junk, intro).status_code for _ in range(2)] == [400, 400]
    assert_page_limited(page_post(junk, intro))
    assert_api_limited(api_post(junk, intro))
    # Another proxy process, same visitor: same bucket; a forged left entry changes nothing.
    assert_page_limited(page_post(visitor("10.0.0.3", "1.2.3.4, 203.0.113.7"), intro))
    # Other visitors through the same proxy book normally.
    fine = visitor(PROXY, "203.0.113.8")
    assert page_post(fine, intro, "2026-03-02T10:00:00Z").status_code == 302
    assert api_post(fine, intro, "2026-03-02T11:00:00Z").status_code == 201
    assert api_post(visitor(PROXY, "2001:db8:1::42"), intro).status_code == 409


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2, TRUSTED_PROXIES="10.0.0.0/8")
def test_a_forger_not_behind_the_proxy_cannot_escape_the_limit(intro):
    for n in range(2):
        assert page_post(visitor("203.0.113.7", f"198.51.100.{n}"), intro).status_code == 400
    assert_page_limited(page_post(visitor("203.0.113.7", "198.51.100.9"), intro))
    assert_api_limited(api_post(visitor("203.0.113.7", "198.51.100.10"), intro))


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_without_trusted_proxies_the_proxy_is_the_client(intro):
    """The default (none trusted): a proxy in front is one client, whatever it forwards."""
    assert page_post(visitor(PROXY, "203.0.113.7"), intro).status_code == 400
    assert page_post(visitor(PROXY, "203.0.113.8"), intro).status_code == 400
    assert_page_limited(page_post(visitor(PROXY, "203.0.113.9"), intro))


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=1)
def test_a_full_bucket_empties_when_the_hour_ends(intro):
    client = visitor("203.0.113.7")
    assert api_post(client, intro).status_code == 409
    limited = page_post(client, intro)
    assert_page_limited(limited)
    with time_machine.travel(NOW + timedelta(seconds=int(limited["Retry-After"]) + 1)):
        assert api_post(client, intro).status_code == 409


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=0)
def test_a_limit_of_zero_refuses_every_public_booking(intro):
    assert_page_limited(page_post(visitor("203.0.113.7"), intro, "2026-03-02T10:00:00Z"))
    assert_api_limited(api_post(visitor("203.0.113.7"), intro, "2026-03-02T10:00:00Z"))
    assert not Booking.objects.exists()


# --- the reschedule page ----------------------------------------------------------------------


def reschedule_post(client: Client, booking: Booking, slot: str = "junk"):
    """A reschedule POST; "junk" is a 409 page that still counts."""
    return client.post(f"/bookings/{booking.manage_token()}/reschedule/", {"slot": slot})


def booked(profile, hour: int) -> Booking:
    start = NOW.replace(hour=hour)
    return bookings.book(
        profile, start=start, end=start + timedelta(minutes=30), name="Bea", email="b@example.com"
    )


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2, TRUSTED_PROXIES="10.0.0.0/8")
def test_reschedule_is_limited_per_client_and_profile(intro, consult):
    first, second, other = booked(intro, 10), booked(intro, 11), booked(consult, 12)
    junk = visitor(PROXY, "203.0.113.7")
    assert [reschedule_post(junk, first).status_code for _ in range(2)] == [409, 409]
    assert_page_limited(reschedule_post(junk, first))
    assert_page_limited(reschedule_post(junk, second))  # the same profile's other booking
    assert reschedule_post(junk, other).status_code == 409  # another profile
    moved = reschedule_post(visitor(PROXY, "203.0.113.8"), first, "2026-03-02T14:00:00Z")
    assert moved.status_code == 302
    first.refresh_from_db()
    assert first.start == NOW.replace(hour=14)


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_reschedules_and_bookings_count_apart(intro):
    """Moving a booking does not use up the booking budget, nor junk bookings block a move."""
    mine = booked(intro, 10)
    client = visitor("203.0.113.7")
    assert [page_post(client, intro).status_code for _ in range(2)] == [400, 400]
    assert_page_limited(page_post(client, intro))
    assert reschedule_post(client, mine, "2026-03-02T14:00:00Z").status_code == 302
    assert reschedule_post(client, mine).status_code == 409
    assert_page_limited(reschedule_post(client, mine))
    assert_api_limited(api_post(client, intro))


@override_settings(PUBLIC_BOOKING_RATE_LIMIT=2)
def test_every_api_attempt_counts_even_one_that_never_reaches_the_view(intro):
    """Malformed JSON, a form post and a body missing `time` are attempts too (SPEC §11)."""
    client = visitor("203.0.113.7")
    url = f"/v1/book/ada/{intro.name}/meeting"
    assert client.post(url, "{", content_type="application/json").status_code == 400
    assert client.post(url, {"time": "x"}).status_code == 415
    assert_api_limited(client.post(url, "{}", content_type="application/json"))
    # An unknown profile has no bucket: its attempts are answered as before, never 429.
    for _ in range(3):
        unknown = client.post("/v1/book/ada/nope/meeting", "{", content_type="application/json")
        assert unknown.status_code == 400
