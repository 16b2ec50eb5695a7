"""POST /v1/book/account/feedKey (SPEC §9): a new feed key, and the two feed links with it;
links holding the old key stop working at once."""

from __future__ import annotations

from django.conf import settings

from tests.api.helpers import ApiClient, assert_error
from tests.factory import make_account, make_token

FEED_KEY = "/v1/book/account/feedKey"


def test_rotating_the_key_answers_the_new_links_and_cuts_off_the_old(api, client, account):
    old = account.feed_key
    old_link = f"/ada/bookings.ics?key={old}"
    assert client.get(old_link).status_code == 200

    response = api("POST", FEED_KEY)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"key", "bookingsUrl", "freebusyUrl"}
    key = body["key"]
    account.refresh_from_db()
    assert key == account.feed_key and key != old and len(key) >= 32
    assert body["bookingsUrl"] == f"{settings.SITE_URL}/ada/bookings.ics?key={key}"
    assert body["freebusyUrl"] == f"{settings.SITE_URL}/ada/freebusy.ics?key={key}"
    assert client.get(old_link).status_code == 404
    assert client.get(f"/ada/freebusy.ics?key={old}").status_code == 404
    for url in (body["bookingsUrl"], body["freebusyUrl"]):
        assert client.get(url.removeprefix(settings.SITE_URL)).status_code == 200


def test_each_rotation_gives_a_new_key(api):
    keys = {api("POST", FEED_KEY).json()["key"] for _ in range(3)}
    assert len(keys) == 3


def test_a_token_rotates_only_its_own_accounts_key(client, account):
    other = make_account(handle="ben")
    before = account.feed_key

    body = ApiClient(client, make_token(other))("POST", FEED_KEY).json()

    account.refresh_from_db()
    other.refresh_from_db()
    assert account.feed_key == before
    assert body["key"] == other.feed_key and "/ben/bookings.ics" in body["bookingsUrl"]


def test_without_a_token_it_is_401_and_nothing_changes(anon, account):
    before = account.feed_key
    assert_error(anon("POST", FEED_KEY), 401, "unauthorized")
    account.refresh_from_db()
    assert account.feed_key == before


def test_only_post(api):
    assert_error(api("GET", FEED_KEY), 405, "method_not_allowed")
