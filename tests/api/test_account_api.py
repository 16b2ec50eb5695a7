"""`GET`, `PATCH /v1/book/account` (SPEC §10 "Details"): the account's name, time zone and the
origins that may embed its booking pages."""

from __future__ import annotations

import pytest

from scheduler.models import Account
from tests.api.helpers import ApiClient, assert_error
from tests.factory import make_account, make_token

ACCOUNT = "/v1/book/account"


def test_get_answers_the_tokens_account(api, account):
    answer = api("GET", ACCOUNT)
    assert answer.status_code == 200
    assert answer.json() == {
        "id": account.pk,
        "handle": "ada",
        "name": "Ada Host",
        "email": "ada@example.com",
        "timezone": "Europe/Berlin",
        "embedOrigins": [],
    }


def test_a_missing_or_wrong_token_is_401(db, anon, client):
    assert_error(anon("GET", ACCOUNT), 401, "unauthorized")
    assert_error(anon("PATCH", ACCOUNT, {"name": "Mallory"}), 401, "unauthorized")
    assert_error(ApiClient(client, "bk_wrong")("GET", ACCOUNT), 401, "unauthorized")


def test_each_token_sees_only_its_own_account(client, api, account):
    other = make_account(handle="bob", name="Bob")
    bob = ApiClient(client, make_token(other))
    assert bob("GET", ACCOUNT).json()["handle"] == "bob"
    assert bob("PATCH", ACCOUNT, {"name": "Bobby"}).status_code == 200
    account.refresh_from_db()
    assert account.name == "Ada Host"


def test_patch_changes_name_zone_and_origins_and_answers_the_account(api, account):
    answer = api(
        "PATCH",
        ACCOUNT,
        {
            "name": "  Ada Lovelace ",
            "timezone": "US/Eastern",
            "embedOrigins": [
                "https://Example.com/",
                "http://127.0.0.1:8080",
                "https://example.com:443",
                "https://bücher.example",
                "http://[::1]:3000",
            ],
        },
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["name"] == "Ada Lovelace"
    assert body["timezone"] == "America/New_York"  # an alias is stored under its canonical name
    # Written as browsers write origins: lowercase, punycode, no default port, no duplicates.
    assert body["embedOrigins"] == [
        "https://example.com",
        "http://127.0.0.1:8080",
        "https://xn--bcher-kva.example",
        "http://[::1]:3000",
    ]
    account.refresh_from_db()
    assert account.embed_origins == body["embedOrigins"]
    assert account.timezone == "America/New_York"
    assert api("GET", ACCOUNT).json() == body


def test_patch_is_partial_and_an_empty_list_clears_the_origins(api, account):
    account.embed_origins = ["https://example.com"]
    account.save()
    assert api("PATCH", ACCOUNT, {"name": "Ada L."}).json()["embedOrigins"] == [
        "https://example.com"
    ]
    assert api("PATCH", ACCOUNT, {}).json()["name"] == "Ada L."
    assert api("PATCH", ACCOUNT, {"embedOrigins": []}).json()["embedOrigins"] == []


def test_a_gets_body_sent_back_unchanged_is_accepted(api):
    body = api("GET", ACCOUNT).json()
    answer = api("PATCH", ACCOUNT, {**body, "name": "Renamed"})
    assert answer.status_code == 200
    assert answer.json() == {**body, "name": "Renamed"}


@pytest.mark.parametrize(
    "origin",
    [
        "example.com",  # no scheme
        "ftp://example.com",
        "https://example.com/booking",  # a path
        "https://example.com?x=1",
        "https://example.com#top",
        "https://*.example.com",  # wildcards are CSP syntax, not an origin
        "*",
        "null",
        "'self'",
        "https://user:pw@example.com",
        "https://exa mple.com",
        "https://example.com; script-src *",  # would inject a CSP directive
        "https://example.com:99999",
        "https://-bad-.example",
        "https://",
        "",
        "https://" + "a" * 300 + ".com",
    ],
)
def test_a_bad_origin_is_400_naming_embed_origins(api, account, origin):
    answer = api("PATCH", ACCOUNT, {"embedOrigins": ["https://fine.example", origin]})
    error = assert_error(answer, 400, "bad_request", "embedOrigins")
    assert set(error["fields"]) == {"embedOrigins"}
    account.refresh_from_db()
    assert account.embed_origins == []  # nothing written


def test_every_bad_field_is_named_and_nothing_is_written(api, account):
    answer = api(
        "PATCH",
        ACCOUNT,
        {"name": "  ", "timezone": "Mars/Base", "embedOrigins": ["https://ok.example", "nope"]},
    )
    error = assert_error(answer, 400, "bad_request", "name", "timezone", "embedOrigins")
    assert "Mars/Base" in error["fields"]["timezone"][0]
    assert "nope" in error["fields"]["embedOrigins"][0]
    stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.timezone, stored.embed_origins) == (
        "Ada Host",
        "Europe/Berlin",
        [],
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": None}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"timezone": None}, "timezone"),
        ({"timezone": 1}, "timezone"),
        ({"timezone": "Factory"}, "timezone"),
        ({"embedOrigins": None}, "embedOrigins"),
        ({"embedOrigins": "https://example.com"}, "embedOrigins"),
        ({"embedOrigins": [f"https://s{n}.example" for n in range(21)]}, "embedOrigins"),
        ({"handle": "someone-else"}, "handle"),
        ({"email": "other@example.com"}, "email"),
        ({"id": 999}, "id"),
        ({"feedKey": "x"}, "feedKey"),
    ],
)
def test_bad_inputs_are_400_naming_the_field(api, body, field):
    assert_error(api("PATCH", ACCOUNT, body), 400, "bad_request", field)


def test_a_body_that_is_not_json_is_refused(api):
    assert_error(api("PATCH", ACCOUNT, "{not json"), 400, "bad_request")
    answer = api("PATCH", ACCOUNT, "name=x", content_type="application/x-www-form-urlencoded")
    assert_error(answer, 415, "unsupported_media_type")


def test_other_methods_are_405(api):
    assert_error(api("POST", ACCOUNT, {"name": "x"}), 405, "method_not_allowed")
    assert_error(api("DELETE", ACCOUNT), 405, "method_not_allowed")


def test_the_operations_are_in_the_openapi_document(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert {"get", "patch"} <= set(paths["/v1/book/account"])
